"""Executors: the same study results in-process and on worker processes; stopping cleanly.

Heavy modules are imported inside the tests: spawned workers import this module to find
the job functions below, and should start fast.
"""

from __future__ import annotations

import os
import platform
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gan_oversampling.errors import UserError
from gan_oversampling.study import executors
from gan_oversampling.study.executors import (
    InlineExecutor,
    ProcessExecutor,
    available_cpus,
    choose_executor,
    reuse_freed_memory,
)

SRC = Path(__file__).resolve().parents[1] / "src"


# ------------------------------------------------------------ jobs run by the workers


def _counting_work(job: int, progress):
    """Job j yields units (j, 0), (j, 1), (j, 2) and the worker's pid."""
    for index in range(3):
        progress(1.0, f"job {job}")
        yield (job, index, os.getpid())


def _failing_work(job: int, progress):
    if job == 0:
        raise UserError("job 0 cannot run")
    yield (job, os.getpid())


# A job that works this long is certainly interrupted, not finished, when a test ends it;
# also the generous bound within which a stopped worker must be gone.
_LONG = 600.0


def _sleeping_work(job: int, progress):
    """Tells its pid, then works for a long time."""
    progress(0.0, str(os.getpid()))
    yield (job, os.getpid())
    deadline = time.monotonic() + _LONG
    while time.monotonic() < deadline:
        time.sleep(0.05)


def _is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    status = Path(f"/proc/{pid}/status")
    try:
        return "\nState:\tZ" in status.read_text()  # exited, not yet reaped
    except OSError:
        return True


def _wait_until_gone(pids, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(_is_gone(pid) for pid in pids):
            return True
        time.sleep(0.1)
    return False


# ------------------------------------------------------------ a tiny study end to end

TINY = {
    "name": "tiny",
    "methods": ["none", "cgan"],
    "data": {
        "kind": "mnist",
        "rotations": [30, 90],
        "sides": [4],
        "majority_sizes": [100],
        "imbalance_ratios": [0.4],
    },
    "cgan": {"iterations": 10, "device": "cpu"},
}


def _run_tiny(db: Path, executor) -> tuple[list, list, float, float]:
    """Run the tiny study into `db`; (score rows, loss rows, progress total, planned work)."""
    from gan_oversampling.study.runner import RunStarted, UnitFinished, WorkDone, run_study
    from gan_oversampling.study.spec import parse_study
    from gan_oversampling.study.store import ResultsStore

    spec = parse_study(TINY, "tiny study")
    events: list = []
    with ResultsStore.open(db) as store:
        written = run_study(spec, store, executor, events.append)
    assert written == 4
    assert isinstance(events[0], RunStarted) and events[0].n_pending == 4
    finished = [event for event in events[1:] if isinstance(event, UnitFinished)]
    assert len({(event.test_key, event.method) for event in finished}) == len(finished) == 4
    assert all(isinstance(event, WorkDone | UnitFinished) for event in events[1:])
    advanced = [event.work for event in events[1:] if isinstance(event, WorkDone)]
    with sqlite3.connect(db) as connection:
        scores = connection.execute(
            "SELECT test_key, method, fold, class_label, precision, recall, f1, support"
            " FROM results ORDER BY 1, 2, 3, 4"
        ).fetchall()
        losses = connection.execute(
            "SELECT u.test_key, l.fold, l.data FROM losses l JOIN units u USING(unit_id)"
            " ORDER BY 1, 2"
        ).fetchall()
    return scores, losses, sum(advanced), events[0].total_work


def test_results_are_identical_inline_and_on_worker_processes(tmp_path):
    inline = _run_tiny(tmp_path / "inline.sqlite", InlineExecutor(threads=1))
    spread = _run_tiny(tmp_path / "spread.sqlite", ProcessExecutor(workers=2, threads=1))
    scores, losses, advanced, work = inline
    assert len(scores) == 2 * 2 * 5 * 2  # tests x methods x folds x classes
    assert len(losses) == 2 * 5  # one loss curve per CGAN fold
    assert spread[0] == scores
    assert spread[1] == losses  # the CGANs themselves trained bit for bit alike
    assert advanced == pytest.approx(work) and spread[2] == pytest.approx(work)


# ------------------------------------------------------------ the executors themselves


def test_every_unit_of_every_job_arrives_once_with_its_progress():
    units, advanced = [], []
    ProcessExecutor(workers=2, threads=1).run(
        _counting_work, list(range(5)), units.append, lambda w, d: advanced.append((w, d))
    )
    assert sorted(u[:2] for u in units) == [(j, i) for j in range(5) for i in range(3)]
    assert os.getpid() not in {u[2] for u in units}  # computed by the workers
    for job in range(5):
        # a job's units arrive in the order it yields them
        assert [u[1] for u in units if u[0] == job] == [0, 1, 2]
    assert sum(w for w, _ in advanced) == 15
    assert {d for _, d in advanced} == {f"job {j}" for j in range(5)}


def test_inline_executor_runs_in_this_process_and_restores_threads():
    import torch

    before = torch.get_num_threads()
    seen_threads = []

    def work(job, progress):
        seen_threads.append(torch.get_num_threads())
        yield from _counting_work(job, progress)

    units = []
    InlineExecutor(threads=1).run(work, [0, 1], units.append, lambda *_: None)
    assert [u[:2] for u in units] == [(j, i) for j in range(2) for i in range(3)]
    assert {u[2] for u in units} == {os.getpid()}
    assert seen_threads == [1, 1] and torch.get_num_threads() == before


def test_no_jobs_starts_no_worker():
    units = []
    ProcessExecutor(workers=2).run(_failing_work, [], units.append, lambda *_: None)
    assert units == []


def test_a_worker_error_reaches_the_caller_as_it_was_raised():
    with pytest.raises(UserError, match="job 0 cannot run"):
        ProcessExecutor(workers=2, threads=1).run(
            _failing_work, [0, 1], lambda _: None, lambda *_: None
        )


def _dying_work(job: int, progress):
    yield (job, os.getpid())
    if job == 1:
        os._exit(9)  # as if killed for lack of memory


def test_a_dead_worker_ends_the_run_with_one_clear_line():
    units = []
    with pytest.raises(UserError, match="a worker process died"):
        ProcessExecutor(workers=2, threads=1).run(
            _dying_work, [0, 1, 2, 3], units.append, lambda *_: None
        )


def test_an_interrupt_stops_the_workers_at_once():
    pids: list[int] = []

    def interrupt(_unit):
        raise KeyboardInterrupt

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        ProcessExecutor(workers=2, threads=1).run(
            _sleeping_work, [0, 1], interrupt, lambda _, d: pids.append(int(d))
        )
    assert time.monotonic() - started < _LONG  # stopped, not run to their end
    assert pids and _wait_until_gone(pids, _LONG)


PARENT_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from test_executors import _sleeping_work
from gan_oversampling.study.executors import ProcessExecutor

def show(unit):
    print(unit[1], flush=True)

if __name__ == "__main__":
    ProcessExecutor(workers=1, threads=1).run(_sleeping_work, [0], show, lambda *_: None)
"""


def test_workers_exit_when_their_parent_is_killed(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent(PARENT_SCRIPT.format(tests=str(Path(__file__).parent))))
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    # stderr dropped: the killed parent's resource tracker reports its queue as leaked
    parent = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )
    worker_pid = None
    try:
        worker_pid = int(parent.stdout.readline())
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        assert _wait_until_gone([worker_pid], _LONG)
    finally:
        parent.kill()
        parent.wait()
        if worker_pid is not None and not _is_gone(worker_pid):
            os.kill(worker_pid, signal.SIGKILL)


# ------------------------------------------------------------ choosing an executor


@pytest.mark.parametrize(
    ("n_cpus", "workers", "threads", "expected"),
    [
        (2, None, None, ProcessExecutor(2, 1)),
        (8, None, None, ProcessExecutor(8, 1)),
        (8, None, 2, ProcessExecutor(4, 2)),
        (8, 2, None, ProcessExecutor(2, 4)),
        (2, 3, None, ProcessExecutor(3, 1)),
        (1, None, None, InlineExecutor(1)),
        (2, None, 2, InlineExecutor(2)),
        (2, 1, None, InlineExecutor(2)),
    ],
)
def test_choose_executor_on_cpu(monkeypatch, n_cpus, workers, threads, expected):
    monkeypatch.setattr(executors, "_workers_that_fit_in_memory", lambda: 1000)
    chosen = choose_executor(n_cpus, "cpu", workers=workers, threads=threads)
    assert repr(chosen) == repr(expected)
    assert chosen.n_workers == (workers or getattr(expected, "workers", 1))


def test_default_workers_are_as_many_as_memory_holds(monkeypatch):
    monkeypatch.setattr(executors, "_workers_that_fit_in_memory", lambda: 3)
    # the cores left over go to the workers' threads
    assert repr(choose_executor(16, "cpu")) == repr(ProcessExecutor(3, 5))
    assert repr(choose_executor(16, "cpu", threads=2)) == repr(ProcessExecutor(3, 2))
    # asked for explicitly, more workers are the user's call
    assert repr(choose_executor(16, "cpu", workers=8)) == repr(ProcessExecutor(8, 2))
    assert executors._workers_that_fit_in_memory() >= 1


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="a glibc setting")
def test_freed_memory_is_kept_for_reuse_under_glibc():
    assert reuse_freed_memory() is True


def test_choose_executor_runs_inline_on_cuda():
    import torch

    assert repr(choose_executor(16, "cuda")) == repr(InlineExecutor(None))
    assert repr(choose_executor(16, torch.device("cuda:0"), threads=4)) == repr(InlineExecutor(4))
    with pytest.raises(UserError, match="workers=2 with a CUDA device"):
        choose_executor(16, "cuda", workers=2)


def test_choose_executor_defaults_to_this_machine():
    chosen = choose_executor(device="cpu")
    cpus = available_cpus()
    assert cpus >= 1
    assert chosen.n_workers == cpus
    assert chosen.threads == 1


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_bad_counts_are_refused(bad):
    for name in ("workers", "threads"):
        with pytest.raises(UserError, match=f"{name} must be an integer >= 1"):
            choose_executor(2, "cpu", **{name: bad})
    with pytest.raises(UserError, match="n_cpus must be an integer >= 1"):
        choose_executor(bad, "cpu")
    with pytest.raises(UserError, match="workers must be"):
        ProcessExecutor(workers=bad).run(_counting_work, [0], print, print)
    with pytest.raises(UserError, match="threads must be"):
        ProcessExecutor(threads=bad).run(_counting_work, [0], print, print)
    with pytest.raises(UserError, match="threads must be"):
        InlineExecutor(threads=bad).run(_counting_work, [0], print, print)


def test_unknown_device_is_refused_by_the_study_before_any_executor():
    from gan_oversampling.study.spec import parse_study

    spec = parse_study(TINY, "tiny study")
    with pytest.raises(UserError, match="device='tpu'"):
        spec.with_device("tpu")
    assert spec.with_device("cpu").device == "cpu"


# ------------------------------------------------------------ grouping for workers


def _cases(features: list[int]):
    from gan_oversampling.difficulty.base import TestCase

    return [
        (TestCase("s", f"t{i}-f{f}", {"features": f}), ["none", "cgan"])
        for i, f in enumerate(features)
    ]


@pytest.mark.parametrize(
    ("features", "max_gans", "n_workers", "sizes"),
    [
        ([16, 16], 20, 1, [2]),
        ([16, 16], 20, 2, [1, 1]),
        ([16, 16, 16, 16, 16], 20, 2, [2, 3]),
        ([16] * 9, 20, 2, [2, 2, 3, 2]),  # 4 groups: both workers busy to the end
        ([16] * 9, 10, 1, [2, 2, 1, 2, 2]),
        ([16, 784, 16, 784], 20, 2, [1, 1, 1, 1]),
        ([16, 784, 16, 784], 20, 1, [2, 2]),
        ([16], 20, 4, [1]),
        ([16, 16], 3, 1, [1, 1]),  # fewer GANs allowed than one test's folds: one test each
    ],
)
def test_groups_share_a_feature_count_and_feed_every_worker(features, max_gans, n_workers, sizes):
    from gan_oversampling.study.runner import batch_groups
    from gan_oversampling.study.spec import parse_study

    spec = parse_study(TINY, "tiny study")
    pending = _cases(features)
    groups = list(batch_groups(pending, max_gans, spec, n_workers))
    assert [len(g) for g in groups] == sizes
    for group in groups:
        assert len({case.factors["features"] for case, _ in group}) == 1
    assert sorted(case.key for g in groups for case, _ in g) == sorted(c.key for c, _ in pending)
