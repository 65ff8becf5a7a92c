"""The Dask executor on a real local cluster: the same results as in-process, and a worker
killed mid-study loses nothing and counts nothing twice.

Functions that tasks run are defined at module level: workers import this module to find
them.
"""

from __future__ import annotations

import functools
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from gan_oversampling.errors import UserError
from stored_rows import stored_rows

distributed = pytest.importorskip("distributed")

from gan_oversampling.study.dask_executor import (  # noqa: E402
    MISSING_DASK,
    DaskExecutor,
    _task_slots,
    import_distributed,
)

SRC = Path(__file__).resolve().parents[1] / "src"
SAFETY_TIMEOUT = 300  # seconds; only a hung run ever reaches it

STUDY = """
name = "tiny-dask"
methods = ["none", "cgan"]

[data]
kind = "mnist"
rotations = [90, 30]
sides = [4]
majority_sizes = [100, 200]
imbalance_ratios = [0.4]

[evaluation]
classifier = "logistic-regression"

[cgan]
iterations = 10
latent_dim = 8
generator_hidden = [16, 16]
discriminator_hidden = [16, 16]
device = "cpu"
"""
N_UNITS = 4 * 2  # tests x methods
MAX_GANS = 5  # one test's 5 folds per group: 4 jobs


def _spec():
    import tomllib

    from gan_oversampling.study.spec import parse_study

    return parse_study(tomllib.loads(STUDY), "dask test study")


def _run(db: Path, executor, store_class=None) -> float:
    """Run the study into `db`; returns the progress reported, as a share of the plan."""
    from gan_oversampling.study.runner import RunStarted, UnitFinished, WorkDone, run_study
    from gan_oversampling.study.store import ResultsStore

    events: list = []
    with (store_class or ResultsStore).open(db) as store:
        written = run_study(_spec(), store, executor, events.append, max_gans=MAX_GANS)
    assert written == N_UNITS
    assert isinstance(events[0], RunStarted) and events[0].n_pending == N_UNITS
    assert sum(isinstance(event, UnitFinished) for event in events) == N_UNITS
    assert all(isinstance(event, WorkDone | UnitFinished) for event in events[1:])
    work = [event.work for event in events[1:] if isinstance(event, WorkDone)]
    return sum(work) / events[0].total_work


@pytest.fixture(scope="module")
def inline_rows(tmp_path_factory) -> tuple[list, list, list]:
    from threadpoolctl import threadpool_limits

    from gan_oversampling.study.executors import InlineExecutor

    db = tmp_path_factory.mktemp("inline") / "inline.sqlite"
    # One BLAS thread, as on Dask's workers: the logistic regressions' tiny products ran
    # three times slower with two threads on a busy machine.
    with threadpool_limits(1):
        assert _run(db, InlineExecutor(threads=1)) == pytest.approx(1.0)
    rows = stored_rows(db)
    assert len(rows[0]) == N_UNITS * 5 * 2  # units x folds x classes
    assert len(rows[1]) == 4 * 5  # one loss curve per CGAN fold
    return rows


def test_cli_on_a_local_dask_cluster_gives_the_inline_results(tmp_path, inline_rows):
    study = tmp_path / "study.toml"
    study.write_text(STUDY)
    db = tmp_path / "dask.sqlite"
    result = _cli("run", study, "--db", db, "--executor", "dask", "--workers", "2",
                  "--max-gans", MAX_GANS)
    assert result.returncode == 0, result.stderr
    assert stored_rows(db) == inline_rows  # every score, loss curve and sample, bit for bit


# ------------------------------------------------------------ a worker killed mid-study


def _stalling_work(work, names: dict, job, progress):
    """`work`, except that the first job to finish announces its worker and waits: the
    test kills that worker, so the job's units are lost and it runs again elsewhere."""
    units = list(work(job, progress))
    victim = distributed.Variable(names["victim"])
    with distributed.Lock(names["lock"]):
        try:
            victim.get(timeout=0)
            chosen = False  # another job's worker was chosen, or this is the rerun
        except TimeoutError:
            victim.set(distributed.get_worker().address)
            chosen = True
    if chosen and not distributed.Event(names["never"]).wait(timeout=SAFETY_TIMEOUT):
        raise RuntimeError("the test did not kill this worker")
    return units


class _StallingDaskExecutor(DaskExecutor):
    def __init__(self, address: str, names: dict):
        super().__init__(address, threads=1, device="cpu")
        self.names = names

    def run(self, work, jobs, on_unit, progress):
        super().run(functools.partial(_stalling_work, work, self.names), jobs, on_unit, progress)


@pytest.mark.filterwarnings("ignore:Port .* is already in use")  # another cluster's port
def test_a_worker_killed_mid_study_loses_nothing_and_counts_nothing_twice(
    tmp_path, inline_rows
):
    from gan_oversampling.study.store import ResultsStore

    written = threading.Event()

    class SignallingStore(ResultsStore):
        def write_unit(self, unit):
            super().write_unit(unit)
            written.set()

    names = {name: f"{name}-{uuid.uuid4().hex}" for name in ("victim", "lock", "never")}
    db = tmp_path / "killed.sqlite"
    outcome: dict = {}

    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                 dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        executor = _StallingDaskExecutor(cluster.scheduler_address, names)

        def study() -> None:
            try:
                outcome["progress"] = _run(db, executor, SignallingStore)
            except BaseException as exc:  # re-raised by the test below
                outcome["error"] = exc

        runner = threading.Thread(target=study, daemon=True)
        runner.start()
        victim = distributed.Variable(names["victim"], client=client).get(
            timeout=SAFETY_TIMEOUT
        )
        assert written.wait(SAFETY_TIMEOUT), "no unit was written"
        pid = client.run(os.getpid, workers=[victim])[victim]
        os.kill(pid, signal.SIGKILL)
        runner.join(SAFETY_TIMEOUT)
        assert not runner.is_alive(), "the study did not finish"
    if "error" in outcome:
        raise outcome["error"]
    assert outcome["progress"] == pytest.approx(1.0)  # the lost run's progress not counted
    with sqlite3.connect(db) as connection:
        units = connection.execute("SELECT test_key, method FROM units").fetchall()
    assert len(units) == len(set(units)) == N_UNITS
    assert stored_rows(db) == inline_rows


# ------------------------------------------------------------ settings and errors


class _FakeClient:
    def __init__(self, workers: dict):
        self.workers = workers

    def scheduler_info(self, n_workers=None):
        return {"workers": self.workers}


def test_tasks_go_to_the_gpu_workers_when_the_cluster_has_them():
    cpu_only = _FakeClient({"a": {"nthreads": 2, "resources": {}}, "b": {"nthreads": 1}})
    mixed = _FakeClient({
        "a": {"nthreads": 4, "resources": {}},
        "g": {"nthreads": 1, "resources": {"GPU": 2}},
    })
    assert _task_slots(cpu_only, gpu=False) == ["a", "a", "b"]
    assert _task_slots(cpu_only, gpu=True) == []
    assert _task_slots(mixed, gpu=True) == ["g", "g"]
    assert not DaskExecutor(device="auto")._wants_gpu(cpu_only)
    assert DaskExecutor(device="auto")._wants_gpu(mixed)
    assert DaskExecutor(device="cuda")._wants_gpu(mixed)
    assert not DaskExecutor(device="cpu")._wants_gpu(mixed)  # CPU asked for: any worker


def test_without_dask_one_clear_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # makes `import distributed` fail
    with pytest.raises(UserError) as caught:
        import_distributed()
    assert str(caught.value) == MISSING_DASK


def test_bad_counts_are_refused():
    with pytest.raises(UserError, match="threads must be"):
        DaskExecutor(threads=0).run(print, [0], print, print)
    with pytest.raises(UserError, match="workers must be"):
        DaskExecutor(n_workers=0).run(print, [0], print, print)


def _cli(*args):
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    env.pop("GAN_OVERSAMPLING_DATA", None)
    return subprocess.run(
        [sys.executable, "-m", "gan_oversampling.cli", *map(str, args)],
        capture_output=True, text=True, env=env, timeout=SAFETY_TIMEOUT,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler needs --executor dask"),
        (["--executor", "dask", "--scheduler", "tcp://127.0.0.1:1", "--workers", "2"],
         "--workers sizes a local Dask cluster"),
        (["--executor", "dusk"], "dusk"),
    ],
)
def test_bad_executor_options_are_one_line(tmp_path, args, message):
    result = _cli("run", "quick", "--db", tmp_path / "r.sqlite", *args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    assert any(message in line for line in lines), result.stderr
    assert not list(tmp_path.glob("*.sqlite"))
