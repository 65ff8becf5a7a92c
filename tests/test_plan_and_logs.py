"""`plan` (what a run will do, counted on the real folds, and its estimated time) and what
`run` writes to a log: a line per finished unit, tables at full width."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from rich.console import Console

from cli_entry import call_main
from gan_oversampling import terminal
from gan_oversampling.evaluation.folds import make_folds
from gan_oversampling.samplers.base import BatchResult, Method
from gan_oversampling.study import plan
from gan_oversampling.study.presets import resolve_study
from gan_oversampling.study.runner import (
    RunStarted,
    UnitFailed,
    UnitFinished,
    WorkDone,
    check_study,
)
from gan_oversampling.study.spec import load_study_file
from table_files import study_toml, write_flows

ALL_METHODS = ("none", "random", "smote", "borderline-smote", "adasyn", "cgan")


@pytest.fixture
def study(tmp_path):
    csv = tmp_path / "flows.csv"
    write_flows(csv)
    path = tmp_path / "flows.toml"
    path.write_text(study_toml(csv))
    return path


def test_plan_counts_are_those_of_the_real_folds(study):
    checked = check_study(load_study_file(study))
    tests = plan.plan_tests(checked)
    assert [test.key for test in tests] == [case.key for case in checked.cases]
    for test, case in zip(tests, checked.cases, strict=True):
        X, y = checked.source.load(case)
        folds = make_folds(y, "stratified", 5, 0)
        assert (test.majority_rows, test.minority_rows) == tuple(np.bincount(y))
        assert test.test_minority_rows == tuple(int(y[held].sum()) for _, held in folds)
        assert test.train_rows == tuple(tuple(np.bincount(y[kept])) for kept, _ in folds)
        assert test.min_minority_per_test_fold == min(int(y[held].sum()) for _, held in folds)
        encoder = checked.source.make_preprocessor(case).fit(X[folds[0][0]])
        assert test.n_features == encoder.transform(X[:1]).shape[1] == 3 + 2


def test_plan_counts_on_unstratified_mnist_folds():
    checked = check_study(resolve_study("quick"), filters={"side": ["4"]})
    for test, case in zip(plan.plan_tests(checked), checked.cases, strict=True):
        _, y = checked.source.load(case)
        held_out = [int(y[held].sum()) for _, held in make_folds(y, "kfold", 5, 0)]
        assert test.test_minority_rows == tuple(held_out) and test.n_features == 16


def test_plan_command_prints_tests_units_warning_and_estimate(study, capsys):
    code, out, err = call_main(capsys, "plan", study, "--workers", "1")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("study flows: 2 tests x 2 methods (none, cgan) = 4 units; "
                               "stratified 5-fold")
    tests = plan.plan_tests(check_study(load_study_file(study)))
    for test in tests:
        row = next(line for line in lines if line.startswith(test.key + " "))
        expected = [test.key, "5", "50", str(test.minority_rows),
                    str(test.min_minority_per_test_fold)]
        flagged = test.min_minority_per_test_fold < 5
        assert row.split() == expected + (["under", "5"] if flagged else [])
    flagged = sum(test.min_minority_per_test_fold < 5 for test in tests)
    assert flagged > 0  # 12 and 20 minority rows in 5 folds
    assert f"warning: {flagged} of 2 tests have a test fold with fewer than 5 minority" in out
    assert re.search(r"^estimated wall time: about \d+ (s|min) on 1 process x \d+ torch thread",
                     out, re.MULTILINE)
    assert "an estimate, not a measurement" in out


def test_plan_without_an_estimate_trains_nothing(study, capsys, monkeypatch):
    monkeypatch.setattr(plan, "estimate_wall_time", _must_not_run)
    code, out, _ = call_main(capsys, "plan", study, "--no-estimate",
                             "--only", "imbalance_ratio=0.4")
    assert code == 0 and "1 tests x 2 methods" in out and "estimated" not in out


def _must_not_run(*args, **kwargs):
    raise AssertionError("timed work without being asked")


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--only", "colour=red"], "unknown factor 'colour' in filter"),
     (["--only", "n_majority"], "filter 'n_majority' is not FACTOR=LEVEL"),
     (["--workers", "0"], "Invalid value for '--workers'")],
)
def test_plan_refuses_bad_input_in_one_line(study, capsys, args, message):
    code, out, err = call_main(capsys, "plan", study, "--no-estimate", *args)
    assert code == 2 and out == "" and err.count("\n") == 1 and message in err, err


def test_estimate_divides_by_the_speed_of_busy_workers(study, monkeypatch):
    checked = check_study(load_study_file(study))
    tests = plan.plan_tests(checked)
    monkeypatch.setattr(plan, "_group_costs",
                        lambda *args: ([30.0, 20.0, 10.0], [], plan.WorkCosts()))
    for speed, wall in [(1.0, 30.0), (0.5, 60.0)]:
        monkeypatch.setattr(plan, "parallel_speed", lambda workers, speed=speed: speed)
        estimate = plan.estimate_wall_time(checked, tests, workers=2, threads=1, max_gans=20)
        assert estimate.seconds == pytest.approx(wall) and estimate.parallel_speed == speed


def test_parallel_speed_is_a_share_of_one_worker_alone():
    assert plan.parallel_speed(1) == 1.0  # nothing to probe
    assert 0.0 < plan.parallel_speed(2) <= 1.0


def test_estimate_scales_two_short_runs_to_the_full_count_of_steps(monkeypatch):
    # A method that takes 1 s to set up and 0.5 s per step, on a clock it advances itself.
    clock = [0.0]

    def resample(folds, settings, classes, progress=None):
        clock[0] += 1.0 + 0.5 * settings.iterations
        return BatchResult([], 0.0)

    from gan_oversampling.gan.cgan import CGANConfig

    monkeypatch.setattr(plan.time, "perf_counter", lambda: clock[0])
    trains = Method("toy", "generative", "toy", resample, training_steps="iterations")
    seconds = plan._training_seconds(trains, CGANConfig(iterations=1500), [])
    assert seconds == pytest.approx(1.0 + 0.5 * 1500)
    short = plan._training_seconds(trains, CGANConfig(iterations=4), [])  # timed whole
    assert short == pytest.approx(1.0 + 0.5 * 4)


@pytest.fixture
def crossed_study(tmp_path):
    csv = tmp_path / "flows.csv"
    write_flows(csv)
    path = tmp_path / "crossed.toml"
    text = study_toml(csv, methods=("none", "smote", "threshold", "cgan", "cgan+threshold"))
    path.write_text(text.replace('classifier = "logistic-regression"',
                                 'classifier = ["logistic-regression", "paper-mlp"]'))
    return path


def test_plan_of_a_study_crossing_classifiers_prints_an_estimate(crossed_study, capsys):
    code, out, err = call_main(capsys, "plan", crossed_study, "--workers", "1")
    assert code == 0, err
    assert "4 tests x 5 methods" in out and "estimated wall time: about" in out
    assert ("stratified 5-fold; classifiers logistic-regression, paper-mlp (each test once "
            "with each)") in out.splitlines()[0]
    assert "-paper-mlp " in out and "-logistic-regression " in out


def test_a_crossed_estimate_times_each_classifier_as_each_method_adapts_it(crossed_study,
                                                                             monkeypatch):
    checked = check_study(load_study_file(crossed_study))
    tests = plan.plan_tests(checked)
    timed = []
    monkeypatch.setattr(plan, "_classifier_seconds_per_row",
                        lambda spec, name, adapter, X, y: timed.append((name, adapter)) or
                        {"logistic-regression": 1.0, "paper-mlp": 10.0}[name]
                        * (3.0 if adapter else 1.0))
    monkeypatch.setattr(plan, "_training_seconds", lambda method, settings, folds: 0.0)
    batched = []
    monkeypatch.setattr(plan._BatchCost, "_time",
                        lambda self, name, cases: batched.append(
                            (name, [case.rows_key for case in cases])) or 100.0)
    costs, untimed, _ = plan._group_costs(checked, tests, 1, 1000)
    assert set(timed) == {(name, adapter) for name in ("logistic-regression", "paper-mlp")
                          for adapter in (None, "threshold")} and len(timed) == 4
    # The GANs of a test train once for both classifiers and both CGAN methods.
    rows_keys = [key for _, keys in batched for key in keys]
    assert {name for name, _ in batched} == {"cgan"}
    assert sorted(rows_keys) == sorted({case.rows_key for case in checked.cases})
    assert untimed == []
    # ...and every classifier fit is counted, each at its own cost, on the rows it gets.
    fits = 0.0
    for test in tests:
        per_row = 10.0 if test.key.endswith("paper-mlp") else 1.0
        for majority, minority in test.train_rows:
            whole, balanced = majority + minority, 2 * majority
            fits += per_row * (whole + 2 * balanced + 3 * whole + 3 * balanced)
    assert sum(costs) == pytest.approx(fits + 100.0 * len(batched))


@pytest.mark.parametrize(
    ("costs", "workers", "wall"),
    [([3, 1, 1, 1], 2, 3), ([2, 2, 2], 2, 4), ([2, 2, 2], 1, 6), ([5], 4, 5), ([], 2, 0)],
)
def test_groups_go_to_the_first_free_worker(costs, workers, wall):
    assert plan._makespan(costs, workers) == wall


def _display() -> tuple[terminal.RunDisplay, io.StringIO]:
    out = io.StringIO()
    return terminal.RunDisplay(Console(file=out, width=60)), out


def test_a_log_gets_a_line_per_finished_unit_with_elapsed_time_and_eta(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(terminal.time, "monotonic", lambda: now[0])
    display, out = _display()
    display(RunStarted("s", 2, 2, 0, 3, total_work=10.0, subset_of=None))
    for seconds, event in [(20, WorkDone(2.0, "a none")), (0, UnitFinished("a", "none")),
                           (30, WorkDone(3.0, "a cgan")), (0, UnitFailed("a", "cgan", "it broke")),
                           (50, WorkDone(5.0, "b none")), (0, UnitFinished("b", "none"))]:
        now[0] += seconds
        display(event)
    assert out.getvalue().splitlines()[1:] == [
        "20% of the work done (now: a none); elapsed 0:00:20, ETA 0:01:20",  # 2 of 10 in 20 s
        "[1/3] a none done; elapsed 0:00:20, ETA 0:01:20",
        "50% of the work done (now: a cgan); elapsed 0:00:50, ETA 0:00:50",
        "[2/3] a cgan failed: it broke; elapsed 0:00:50, ETA 0:00:50",
        "[3/3] b none done; elapsed 0:01:40, ETA 0:00:00",  # 100%: the unit's line says it
    ]


def test_tables_in_a_log_keep_their_full_width():
    out = io.StringIO()
    wide = ["a-rather-long-test-key-" + "x" * 40, "0.123456", "0.654321"]
    terminal.print_table(Console(file=out, width=40), "title", ["test", "none", "cgan"], [wide])
    lines = out.getvalue().splitlines()
    assert lines == ["title", "test" + " " * 61 + "none      cgan",
                     "  ".join(wide)]


def test_run_into_a_log(tmp_path, capsys):
    csv = tmp_path / "flows.csv"
    write_flows(csv)
    path = tmp_path / "flows.toml"
    path.write_text(study_toml(csv, methods=ALL_METHODS, ratios=(0.4,)))
    code, out, err = call_main(capsys, "run", path, "--db", tmp_path / "r.sqlite",
                               "--workers", "1")
    assert code == 0, err
    lines = out.splitlines()
    units = [line for line in lines if line.startswith("[")]
    pattern = r"\[(\d)/6\] n50-ir0.4 (\S+) done; elapsed \d+:\d\d:\d\d, ETA (\d+:\d\d:\d\d)"
    matches = [re.fullmatch(pattern, line) for line in units]
    assert all(matches), units
    assert [int(match[1]) for match in matches] == [1, 2, 3, 4, 5, 6]
    assert sorted(match[2] for match in matches) == sorted(ALL_METHODS)
    assert matches[-1][3] == "0:00:00"
    header = next(line for line in lines if line.startswith("class "))
    columns = header.split()
    assert columns[:2] == ["class", "none"] and columns[-1] == "tests" and len(header) > 80
    assert sorted(columns[1:-1]) == sorted(ALL_METHODS)
    assert "…" not in out  # nothing cut to a terminal's width
