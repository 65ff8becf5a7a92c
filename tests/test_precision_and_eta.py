"""`dtype = "auto"` (bf16 products only where the hardware computes them natively), a run's
progress counted in the seconds `plan` times (so its ETA weighs fits and resampling), and
the BLAS thread cap of worker processes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cli_entry import call_main
from gan_oversampling.gan import precision
from gan_oversampling.gan.cgan import make_config, train_cgans
from gan_oversampling.study import plan
from gan_oversampling.study.costs import WorkCosts
from gan_oversampling.study.runner import RunStarted, WorkDone, check_study, run_study
from gan_oversampling.study.spec import load_study_file
from gan_oversampling.study.store import ResultsStore
from table_files import study_toml, write_flows


@pytest.fixture
def machine(monkeypatch):
    """Set what the CPU's flags and a timed product say; the caches are cleared around."""
    def set_machine(flags, speedup):
        precision._cpu_precision.cache_clear()
        monkeypatch.setattr(precision, "cpu_flags", lambda: flags)
        monkeypatch.setattr(precision, "bf16_speedup", lambda: speedup)
    yield set_machine
    precision._cpu_precision.cache_clear()


@pytest.mark.parametrize(
    ("flags", "speedup", "dtype", "words"),
    [({"avx2", "fma"}, 3.0, "float32", "no native bf16 instructions"),
     ({"avx512f", "avx512_bf16"}, 1.9, "bfloat16", "avx512_bf16; a 32x512x512 product ran 1.90x"),
     ({"amx_bf16"}, 1.05, "float32", "bf16 is not faster here"),
     (None, 1.3, "float32", "CPU flags unreadable"),
     (None, 2.5, "bfloat16", "CPU flags unreadable")],
)
def test_auto_takes_bf16_only_where_flags_and_a_timed_product_agree(machine, flags, speedup,
                                                                    dtype, words):
    machine(flags, speedup)
    chosen = precision.auto_precision(torch.device("cpu"))
    assert chosen.dtype == dtype and words in chosen.reason
    assert precision.resolve_dtype("auto", torch.device("cpu")) == dtype
    # A dtype the study names is used as it is, whatever the machine.
    assert precision.resolve_dtype("float32", torch.device("cpu")) == "float32"
    assert precision.resolve_dtype("bfloat16", torch.device("cpu")) == "bfloat16"


def test_a_cpu_without_bf16_flags_is_not_even_timed(machine, monkeypatch):
    machine({"sse2"}, None)
    monkeypatch.setattr(precision, "bf16_speedup", lambda: pytest.fail("timed"))
    assert precision.auto_precision(torch.device("cpu")).dtype == "float32"


@pytest.mark.parametrize(("capability", "dtype"), [((7, 5), "float32"), ((8, 0), "bfloat16"),
                                                   ((9, 0), "bfloat16")])
def test_auto_on_a_gpu_reads_its_compute_capability(monkeypatch, capability, dtype):
    precision._cuda_precision.cache_clear()
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda index: capability)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index: "a GPU")
    try:
        chosen = precision.auto_precision(torch.device("cuda"))
    finally:
        precision._cuda_precision.cache_clear()
    assert chosen.dtype == dtype and f"compute capability {capability[0]}." in chosen.reason


def test_the_cpu_flags_are_read_off_this_machine():
    flags = precision.cpu_flags()
    assert flags is None or (isinstance(flags, set) and flags)


def test_the_timed_product_gives_a_positive_ratio():
    assert precision.bf16_speedup() > 0


@pytest.mark.parametrize("native", ["float32", "bfloat16"])
def test_auto_trains_with_the_resolved_dtype(monkeypatch, native):
    monkeypatch.setattr(precision, "auto_precision",
                        lambda device: precision.Precision(native, "measured"))
    X = np.random.default_rng(0).uniform(-1, 1, (24, 4)).astype(np.float32)
    y = np.array([0] * 16 + [1] * 8)
    config = make_config(iterations=3, dtype="auto", generator_hidden=(8,),
                         discriminator_hidden=(8, 8), device="cpu")
    trained = train_cgans([(X, y)], 2, config, [0])
    assert trained.settings.dtype == native
    explicit = train_cgans([(X, y)], 2, make_config(config, dtype=native), [0])
    np.testing.assert_array_equal(trained.losses, explicit.losses)  # the same computation
    assert trained.generate(0, y[-3:], 1).shape == (3, 4)


@pytest.fixture
def study(tmp_path):
    csv = tmp_path / "flows.csv"
    write_flows(csv)
    path = tmp_path / "flows.toml"
    text = study_toml(csv, methods=("none", "smote", "cgan"), ratios=(0.4,))
    path.write_text(text.replace("[cgan]\n", '[cgan]\ndtype = "auto"\n'))
    return path


def test_plan_says_which_precision_auto_takes_and_why(study, capsys, machine):
    machine({"avx512_bf16"}, 2.0)
    code, out, err = call_main(capsys, "plan", study, "--no-estimate")
    assert code == 0, err
    line = next(line for line in out.splitlines() if line.startswith("cgan: "))
    assert line.startswith("cgan: matrix products in bfloat16 (auto: native bf16 on this CPU")
    assert not any(line.startswith(("none:", "smote:")) for line in out.splitlines())


def _events(study_path, db, costs):
    spec = load_study_file(study_path)
    events = []
    with ResultsStore.open(db) as store:
        run_study(spec, store, None, events.append, costs=costs)
    started = next(event for event in events if isinstance(event, RunStarted))
    done = [event for event in events if isinstance(event, WorkDone)]
    return started, done


def test_timed_progress_counts_fits_and_resampling_and_adds_up(study, tmp_path):
    spec = load_study_file(study)
    checked = check_study(spec)
    tests = plan.plan_tests(checked)
    costs, _ = plan.time_work(checked, tests, 1, 20)
    # Made-up costs make every piece's share known: a fit 1 ms per row, SMOTE 2 ms per
    # row, a batch of CGANs 1 s per fold.
    costs = WorkCosts({key: 1e-3 for key in costs.fit_per_row}, {"smote": 2e-3, "none": 0.0},
                      {key: 1.0 * key[1] for key in costs.batch_seconds}, costs.folds)
    started, done = _events(study, tmp_path / "timed.sqlite", costs)
    assert sum(event.work for event in done) == pytest.approx(started.total_work, rel=0.02)
    n_folds = spec.evaluation.n_splits
    train_rows = sum(sum(rows) for test in tests for rows in test.train_rows)
    planned_smote = 2e-3 * train_rows
    planned_cgan = 1.0 * n_folds * len(tests)
    assert started.total_work > planned_smote + planned_cgan  # fits are counted too
    fits = [event for event in done if event.description.endswith(" fits")]
    assert sorted(event.description for event in fits) == sorted(
        f"{test.key} {method} fits" for test in tests for method in spec.methods)
    assert all(event.work > 0 for event in fits)


def test_untimed_progress_keeps_the_nominal_units(study, tmp_path):
    spec = load_study_file(study)
    started, done = _events(study, tmp_path / "nominal.sqlite", None)
    n_tests = started.n_tests
    iterations = spec.method_settings("cgan").iterations
    expected = n_tests * spec.evaluation.n_splits * (1 + 1 + iterations / 100)
    assert started.total_work == pytest.approx(expected)
    assert sum(event.work for event in done) == pytest.approx(expected)


def test_the_run_command_prints_its_estimate_and_an_eta_in_timed_seconds(study, tmp_path,
                                                                         capsys):
    code, out, err = call_main(capsys, "run", study, "--db", tmp_path / "r.sqlite",
                               "--workers", "1")
    assert code == 0, err
    assert out.splitlines()[0].startswith("estimated wall time: about ")
    assert "ETA" in out


def test_cap_blas_threads_holds_for_the_process():
    from threadpoolctl import threadpool_info

    from gan_oversampling import threads

    before = {pool["filepath"]: pool["num_threads"] for pool in threadpool_info()}
    try:
        threads.cap_blas_threads(1)
        assert all(pool["num_threads"] == 1 for pool in threadpool_info())
    finally:
        threads._worker_limits[0].restore_original_limits()
        threads._worker_limits.clear()
    assert {pool["filepath"]: pool["num_threads"] for pool in threadpool_info()} == before


def _blas_threads_of_worker(job, progress):
    from threadpoolctl import threadpool_info

    yield job, sorted({pool["num_threads"] for pool in threadpool_info()})


def test_worker_processes_cap_their_blas_threads_to_their_share():
    from gan_oversampling.study.executors import ProcessExecutor

    units = []
    ProcessExecutor(workers=2, threads=1).run(_blas_threads_of_worker, [0, 1], units.append,
                                              lambda work, text: None)
    assert sorted(units) == [(0, [1]), (1, [1])]
