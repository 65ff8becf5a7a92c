"""The report beyond F1: the primary-metric switch, every score's table, the warnings on
ranking and calibration, and the cost table, each against numbers computed here."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from gan_oversampling.report import comparisons, other_metrics, statistics, tables
from gan_oversampling.report.build import build_report
from gan_oversampling.report.statistics import Settings
from gan_oversampling.study.records import UnitResult
from gan_oversampling.study.store import ResultsStore

N_FOLDS = 3
TESTS = {f"t{i}": {"size": size} for i, size in enumerate([100, 200] * 4)}
# Per method: minority F1, PR-AUC (each plus a per-test offset), then ROC-AUC, Brier, ECE
# and the unit's resampling seconds, the same on every test.
METHODS = {
    "none": {"f1": 0.40, "pr_auc": 0.60, "roc_auc": 0.900, "brier": 0.050, "ece": 0.040,
             "fit_seconds": 0.0},
    "smote": {"f1": 0.50, "pr_auc": 0.58, "roc_auc": 0.880, "brier": 0.090, "ece": 0.041,
              "fit_seconds": 1.0},
    "cgan": {"f1": 0.60, "pr_auc": 0.70, "roc_auc": 0.905, "brier": 0.051, "ece": 0.040,
             "fit_seconds": 10.0},
}
EVAL_SECONDS = 0.5


def _unit(study: str, key: str, factors: dict, method: str, offset: float,
          classifier: str = "logistic-regression", metrics: bool = True) -> UnitResult:
    values = METHODS[method]
    scores = [{"fold": fold, "class_label": label, "class_role": role, "precision": 0.5,
               "recall": 0.5, "f1": values["f1"] + offset if label else 0.9, "support": 10}
              for fold in range(N_FOLDS) for label, role in ((0, "majority"), (1, "minority"))]
    fold_metrics = [{"fold": fold, "pr_auc": values["pr_auc"] + offset,
                     "roc_auc": values["roc_auc"], "balanced_accuracy": 0.7, "mcc": 0.3,
                     "g_mean": 0.6, "brier": values["brier"], "ece": values["ece"]}
                    for fold in range(N_FOLDS)] if metrics else []
    return UnitResult(
        study=study, test_key=key, method=method, source="cyber", factors=factors, seed=0,
        iterations=None, classifier=classifier, cv="stratified-3",
        fit_seconds=values["fit_seconds"], eval_seconds=EVAL_SECONDS, versions={"numpy": "2"},
        scores=scores, fold_metrics=fold_metrics)


def _db(path, primary: str = "minority-f1", metrics: bool = True):
    spec = {"name": "m", "data": {"kind": "cyber"}, "methods": list(METHODS),
            "statistics": {"bootstrap_samples": 500, "primary_metric": primary}}
    offsets = np.random.default_rng(0).uniform(-0.05, 0.05, len(TESTS))
    with ResultsStore.open(path) as store:
        store.register_study("m", "hash", json.dumps(spec))
        for (key, factors), offset in zip(TESTS.items(), offsets, strict=True):
            for method in METHODS:
                store.write_unit(_unit("m", key, factors, method, float(offset),
                                       metrics=metrics))
    return path


def _frame(path) -> pd.DataFrame:
    with ResultsStore.open(path, readonly=True) as store:
        return store.scores_frame("m")


def test_every_metric_table_holds_each_methods_mean(tmp_path):
    frame = _frame(_db(tmp_path / "r.sqlite"))
    table = other_metrics.metrics_table(frame).set_index("method")
    minority = frame[frame["class_role"] == "minority"]
    for method, values in METHODS.items():
        rows = minority[minority["method"] == method]
        assert table.loc[method, "minority_f1"] == pytest.approx(rows["f1"].mean())
        assert table.loc[method, "pr_auc"] == pytest.approx(rows["pr_auc"].mean())
        assert table.loc[method, "brier"] == pytest.approx(values["brier"])
        assert table.loc[method, "majority_f1"] == pytest.approx(0.9)


def test_warnings_name_the_methods_that_lower_roc_auc_or_worsen_calibration(tmp_path):
    frame = _frame(_db(tmp_path / "r.sqlite"))
    settings = Settings(bootstrap_samples=500)
    changes = other_metrics.calibration_changes(frame, settings)
    warned = changes[changes["warn"]].set_index(["method", "score"])
    # smote: ROC-AUC 0.880 vs 0.900 and Brier 0.090 vs 0.050 are beyond the ROPE of 0.01;
    # its ECE (+0.001) and every change of the CGAN (+0.005, +0.001, 0) are within it.
    assert sorted(warned.index) == [("smote", "Brier score"), ("smote", "ROC-AUC")]
    assert warned.loc[("smote", "ROC-AUC"), "mean_difference"] == pytest.approx(-0.02)
    assert warned.loc[("smote", "Brier score"), "tests_worse"] == len(TESTS)
    words = other_metrics.warnings(changes, settings.rope)
    assert words[0].startswith("Warnings (worse than the baseline by more than ±0.01")
    assert "2 of 6 comparisons" in words[0]
    assert ("Warning: smote lowers ROC-AUC: 0.880 against the baseline's 0.900 (mean "
            "difference -0.020, 95% CI [-0.020, -0.020]), lower on 8 of 8 tests.") in words
    assert any(w.startswith("Warning: smote worsens the Brier score: 0.090 against the "
                            "baseline's 0.050 (mean difference +0.040") for w in words)
    loose = other_metrics.calibration_changes(frame, Settings(rope=0.05,
                                                              bootstrap_samples=500))
    assert not loose["warn"].any()


def test_cost_is_the_gain_per_extra_second(tmp_path):
    frame = _frame(_db(tmp_path / "r.sqlite"))
    cost = other_metrics.cost_table(frame, other_metrics.ALL_SCORES[0]).set_index("method")
    for method in ("smote", "cgan"):
        extra = METHODS[method]["fit_seconds"]  # the baseline resamples nothing
        gain = METHODS[method]["f1"] - METHODS["none"]["f1"]
        assert cost.loc[method, "seconds_per_test"] == pytest.approx(extra + EVAL_SECONDS)
        assert cost.loc[method, "extra_seconds"] == pytest.approx(extra)
        assert cost.loc[method, "minority_f1_gain"] == pytest.approx(gain)
        assert cost.loc[method, "gain_per_extra_second"] == pytest.approx(gain / extra)
    assert np.isnan(cost.loc["none", "gain_per_extra_second"])  # no extra cost


def test_the_primary_metric_decides_what_the_statistics_compare(tmp_path):
    frame = _frame(_db(tmp_path / "r.sqlite"))
    default = comparisons.statistics_table(frame, Settings(bootstrap_samples=500))
    assert set(default["score"]) == {"minority F1", "majority F1"}
    assert set(default["class_role"]) == {"minority", "majority"}
    switched = comparisons.statistics_table(
        frame, Settings(bootstrap_samples=500, primary_metric="pr-auc"))
    assert set(switched["score"]) == {"PR-AUC"} and set(switched["class_role"]) == {"all"}
    row = switched[(switched["comparator"] == "smote") & (switched["factor"] == "all")].iloc[0]
    # CGAN's PR-AUC is 0.12 above SMOTE's on every test (the offsets cancel).
    assert row["mean_difference"] == pytest.approx(0.12)
    assert row["mean_generator"] == pytest.approx(
        frame.loc[(frame["method"] == "cgan") & (frame["class_role"] == "minority"),
                  "pr_auc"].mean())
    f1_row = default[(default["comparator"] == "smote") & (default["factor"] == "all")
                     & (default["score"] == "minority F1")].iloc[0]
    assert f1_row["mean_difference"] == pytest.approx(0.10)


def test_the_report_speaks_of_the_primary_metric(tmp_path):
    out = build_report(_db(tmp_path / "r.sqlite", primary="pr-auc"), tmp_path / "report",
                       n_sample_tests=0)
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "On these 8 tests CGAN beats smote on PR-AUC" in markdown
    assert "Methods ranked by PR-AUC per test" in markdown
    assert "Average rank by PR-AUC" in markdown
    assert "## Every metric" in markdown and "## Cost" in markdown
    assert "Warning: smote lowers ROC-AUC" in markdown
    assert set(pd.read_csv(out / "statistics.csv")["score"]) == {"PR-AUC"}
    for name in ("metrics.csv", "calibration.csv", "cost.csv"):
        assert (out / name).is_file()
    default = build_report(_db(tmp_path / "f1.sqlite"), tmp_path / "f1", n_sample_tests=0)
    assert "CGAN beats smote on minority F1" in (default / "report.md").read_text()


def test_results_without_fold_scores_fall_back_to_minority_f1(tmp_path):
    db = _db(tmp_path / "old.sqlite", primary="mcc", metrics=False)
    out = build_report(db, tmp_path / "report", n_sample_tests=0)
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert ("The study names MCC as its primary metric, but its results hold no MCC"
            in markdown)
    assert "CGAN beats smote on minority F1" in markdown
    assert "The fold-level scores are blank" in markdown
    assert "No method has ROC-AUC, Brier or ECE values beside the baseline's" in markdown


def test_cost_leaves_the_ratio_blank_where_the_extra_seconds_are_clock_noise(tmp_path):
    frame = _frame(_db(tmp_path / "r.sqlite"))
    smote = frame["method"] == "smote"
    # The baseline takes EVAL_SECONDS (0.5 s): 0.04 s more is within 10% of it, 0.06 s not.
    for fit_seconds, blank in ((0.04, True), (0.06, False)):
        timed = frame.assign(fit_seconds=frame["fit_seconds"].mask(smote, fit_seconds))
        cost = other_metrics.cost_table(timed, other_metrics.ALL_SCORES[0]).set_index("method")
        assert cost.loc["smote", "extra_seconds"] == pytest.approx(fit_seconds)
        ratio = cost.loc["smote", "gain_per_extra_second"]
        assert np.isnan(ratio) if blank else ratio == pytest.approx(0.10 / fit_seconds)


def _change_row(method: str, score: str, difference: float, classifier: str | None) -> dict:
    row = {"method": method, "score": score, "baseline": 0.5, "with_method": 0.5 + difference,
           "mean_difference": difference, "ci_low": difference, "ci_high": difference,
           "tests_worse": 3, "n_tests": 4, "warn": True}
    return row if classifier is None else {"classifier": classifier, **row}


def test_many_warnings_become_one_table_of_methods_by_score():
    rows = [_change_row(method, "Brier score", 0.02 * (i + 1), classifier)
            for i, method in enumerate(["smote", "random", "adasyn", "prowsyn"])
            for classifier in ("lightgbm", "paper-mlp")]
    rows.append(_change_row("smote", "ROC-AUC", -0.05, "lightgbm"))
    rows.append({**_change_row("cgan", "ECE", 0.001, "lightgbm"), "warn": False})
    changes = pd.DataFrame(rows)
    blocks = other_metrics.warnings(changes, 0.01)
    assert blocks[0].endswith("9 of 10 comparisons.") and len(blocks) == 2
    table = blocks[1].frame
    assert list(table.index) == ["smote", "random", "adasyn", "prowsyn"]
    assert list(table.columns) == ["ROC-AUC", "Brier score", "ECE"]
    assert table.loc["smote", "Brier score"] == "lightgbm +0.020 (3/4); paper-mlp +0.020 (3/4)"
    assert table.loc["smote", "ROC-AUC"] == "lightgbm -0.050 (3/4)"
    assert table.loc["random", "ROC-AUC"] == "" and table.loc["adasyn", "ECE"] == ""
    # A few warnings stay sentences, one each.
    few = other_metrics.warnings(changes.iloc[:2], 0.01)
    assert len(few) == 3 and few[1].startswith("Warning: smote worsens the Brier score with "
                                               "lightgbm: 0.520 against the baseline's 0.500")


def test_a_headline_of_many_methods_has_a_row_per_method():
    from gan_oversampling.report.build import WIDE_HEADLINE, _headline_block

    methods = [f"m{i}" for i in range(WIDE_HEADLINE + 1)]
    headline = pd.DataFrame([[0.9] * len(methods), [0.1 * i for i in range(len(methods))]],
                            index=pd.Index(["majority", "minority"], name="class_role"),
                            columns=methods).assign(n_tests=12)
    block = _headline_block(headline)
    assert list(block.frame.index) == methods and block.caption.endswith("; 12 tests")
    assert list(block.frame.columns) == ["majority F1", "minority F1"]
    assert block.frame.loc["m3", "minority F1"] == pytest.approx(0.3)
    narrow = _headline_block(headline[methods[:WIDE_HEADLINE]].assign(n_tests=12))
    assert list(narrow.frame.index) == ["majority", "minority"]


def _grid_db(path, cells: dict) -> pd.DataFrame:
    """A store whose CGAN beats the baseline by `cells[(n, ratio)]` (one gain per test)."""
    spec = {"name": "m", "data": {"kind": "cyber"}, "methods": list(METHODS),
            "statistics": {"bootstrap_samples": 500}}
    with ResultsStore.open(path) as store:
        store.register_study("m", "hash", json.dumps(spec))
        for (n, ratio), gains in cells.items():
            for i, gain in enumerate(gains):
                factors = {"n_majority": n, "imbalance_ratio": ratio}
                key = f"n{n}-ir{ratio}-{i}"
                for method in METHODS:
                    # Each test's offset moves none and CGAN alike, but CGAN's by `gain` more.
                    offset = gain - 0.2 if method == "cgan" else 0.0
                    store.write_unit(_unit("m", key, factors, method, offset))
    return _frame(path)


def test_the_grid_of_size_and_ratio_holds_each_cells_mean_gain_and_interval(tmp_path):
    from gan_oversampling.report import grid

    cells = {(100, 0.1): [0.30, 0.40, 0.50], (100, 0.4): [0.10, 0.12],
             (1000, 0.1): [0.05, -0.01], (1000, 0.4): [0.0, 0.0]}
    frame = _grid_db(tmp_path / "g.sqlite", cells)
    settings = Settings(bootstrap_samples=500)
    score = other_metrics.ALL_SCORES[0]
    levels_of = frame.drop_duplicates("test_key").set_index("test_key")
    table = grid.gain_grid(tables.score_by_test(frame, score), levels_of, "cgan", "none",
                           settings)
    assert list(table.index) == ["100", "1000"] and list(table.columns) == ["0.1", "0.4"]
    low, high = statistics.bootstrap_interval(np.array([0.30, 0.40, 0.50]), 500, 0)
    assert table.loc["100", "0.1"] == f"+0.400 [{low:+.3f}, {high:+.3f}] (3)"
    assert table.loc["1000", "0.4"] == "+0.000 [+0.000, +0.000] (2)"  # every resample alike
    assert table.loc["1000", "0.1"].startswith("+0.020 [")
    blocks = grid.grid_blocks(frame, {"cgan": ["none", "smote"]},
                              [score, other_metrics.ALL_SCORES[1]], score, settings)
    # Against the baseline on both compared scores, against SMOTE on the primary only.
    assert [block.caption.split(",")[:2] for block in blocks] == [
        ["cgan - none", " minority F1"], ["cgan - none", " majority F1"],
        ["cgan - smote", " minority F1"]]
    one_ratio = frame[frame["imbalance_ratio"] == 0.1]
    assert grid.grid_blocks(one_ratio, {"cgan": ["none"]}, [score], score, settings) == []
