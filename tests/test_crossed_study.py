"""A study crossing classifiers and methods end to end, on the same folds: the classifier as
a factor, one resampling shared by the classifiers of a test, and a suite of data kinds."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from gan_oversampling.difficulty.base import TestCase
from gan_oversampling.errors import UserError
from gan_oversampling.report import tables
from gan_oversampling.report.build import build_report
from gan_oversampling.study.runner import check_study, crossed_cases, repeated_cases, run_study
from gan_oversampling.study.spec import parse_study
from gan_oversampling.study.store import ResultsStore

CLASSIFIERS = ["logistic-regression", "lightgbm"]
METHODS = ["none", "random-under", "class-weight", "threshold", "cgan", "cgan+threshold"]
KEYS = [f"tor-n100-ir0.4-{name}" for name in CLASSIFIERS]
N_FOLDS = 3
PROBABILITY_SCORES = ["pr_auc", "roc_auc", "brier", "ece"]


def _spec(**changes):
    return parse_study({
        "name": "crossed",
        "data": {"kind": "cyber", "datasets": ["tor"], "majority_sizes": [100],
                 "imbalance_ratios": [0.4]},
        "methods": METHODS,
        "cgan": {"iterations": 10, "device": "cpu", "generator_hidden": [32, 32, 32],
                 "discriminator_hidden": [32, 32, 32]},
        "evaluation": {"cv": "stratified", "n_splits": N_FOLDS, "classifier": CLASSIFIERS},
        "statistics": {"bootstrap_samples": 200},
        **changes,
    }, "test study")


@pytest.fixture(scope="module")
def crossed_run(shared_data, tmp_path_factory):
    pytest.importorskip("lightgbm", reason="the optional lightgbm package")
    folder = tmp_path_factory.mktemp("crossed")
    db = folder / "results.sqlite"
    with ResultsStore.open(db) as store:
        written = run_study(_spec(), store, data_dir=shared_data)
        frame = store.scores_frame("crossed")
        samples = list(store.samples("crossed"))
        losses = {key: store.losses("crossed", key, "cgan") for key in KEYS}
    return {"db": db, "folder": folder, "written": written, "frame": frame,
            "samples": samples, "losses": losses}


def test_each_classifier_is_a_test_of_its_own(crossed_run):
    frame = crossed_run["frame"]
    assert crossed_run["written"] == len(KEYS) * len(METHODS)
    units = frame.drop_duplicates(["test_key", "method"])
    assert sorted(units["test_key"].unique()) == sorted(KEYS)
    for key, classifier in zip(KEYS, CLASSIFIERS, strict=True):
        assert set(units.loc[units["test_key"] == key, "classifier"]) == {classifier}
    assert tables.factor_columns(frame)[-1] == "classifier"
    assert frame[["mcc", "balanced_accuracy", "g_mean"]].notna().all().all()


def test_every_method_and_classifier_is_scored_on_the_same_test_folds(crossed_run):
    frame = crossed_run["frame"]
    support = frame.pivot_table(index=["fold", "class_label"],
                                columns=["test_key", "method"], values="support")
    assert support.shape[1] == len(KEYS) * len(METHODS)
    assert (support.nunique(axis=1) == 1).all()


def test_the_classifiers_of_a_test_share_one_cgan_per_fold(crossed_run):
    generated = {key: rows for key, method, kind, _, rows in crossed_run["samples"]
                 if method == "cgan" and kind == "generated"}
    np.testing.assert_array_equal(generated[KEYS[0]], generated[KEYS[1]])
    first, second = crossed_run["losses"].values()
    for fold in range(N_FOLDS):
        np.testing.assert_array_equal(first[fold], second[fold])
    # One CGAN per fold for both classifiers and for `cgan+threshold`: every unit that
    # reuses it is charged the same resampling seconds, and stores the same rows.
    units = crossed_run["frame"].drop_duplicates(["test_key", "method"]).set_index(
        ["test_key", "method"])
    seconds = {units.loc[(key, method), "fit_seconds"]
               for key in KEYS for method in ("cgan", "cgan+threshold")}
    assert len(seconds) == 1 and seconds.pop() > 0
    combined = {key: rows for key, method, kind, _, rows in crossed_run["samples"]
                if method == "cgan+threshold" and kind == "generated"}
    np.testing.assert_array_equal(combined[KEYS[0]], generated[KEYS[0]])


def test_a_tuned_threshold_keeps_the_probabilities_of_what_it_tunes(crossed_run):
    # The tuner refits the same classifier (same seed) on the same rows: ranking and
    # calibration are those of the method without it; only the predictions move.
    minority = crossed_run["frame"].query("class_role == 'minority'")
    for plain, tuned in (("none", "threshold"), ("cgan", "cgan+threshold")):
        for key in KEYS:
            rows = minority[minority["test_key"] == key].set_index(["method", "fold"])
            np.testing.assert_allclose(rows.loc[tuned, PROBABILITY_SCORES],
                                       rows.loc[plain, PROBABILITY_SCORES], rtol=1e-9)


def test_class_weights_change_what_the_classifier_learns(crossed_run):
    minority = crossed_run["frame"].query("class_role == 'minority'")
    for key in KEYS:
        rows = minority[minority["test_key"] == key].set_index(["method", "fold"])
        assert not np.allclose(rows.loc["class-weight", "brier"], rows.loc["none", "brier"])


def test_the_report_crosses_methods_with_classifiers(crossed_run):
    out = build_report(crossed_run["db"], crossed_run["folder"] / "report", n_sample_tests=0)
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "classifier = lightgbm" in markdown or "classifier = logistic-regression" in markdown
    metrics = pd.read_csv(out / "metrics.csv")
    assert sorted(set(zip(metrics["classifier"], metrics["method"], strict=True))) == sorted(
        (c, m) for c in CLASSIFIERS for m in METHODS)
    stats = pd.read_csv(out / "statistics.csv")
    assert set(stats.loc[stats["factor"] == "classifier", "level"]) == set(CLASSIFIERS)
    assert set(pd.read_csv(out / "cost.csv")["classifier"]) == set(CLASSIFIERS)
    # The headline has the primary score per method and classifier, as in metrics.csv.
    table = markdown.split("*Mean minority F1 over tests, per classifier*")[1].split("\n\n")[1]
    lines = table.splitlines()
    assert lines[0] == "| method | " + " | ".join(sorted(CLASSIFIERS)) + " |"
    for line in lines[2:]:
        method, *cells = [cell.strip() for cell in line.strip("|").split("|")]
        for classifier, cell in zip(sorted(CLASSIFIERS), cells, strict=True):
            mean = metrics.loc[(metrics["method"] == method)
                               & (metrics["classifier"] == classifier), "minority_f1"]
            assert float(cell) == pytest.approx(mean.iloc[0], abs=5e-5)
    assert len(lines) == 2 + len(METHODS)


def test_a_resumed_crossed_study_runs_nothing_again(crossed_run, shared_data):
    with ResultsStore.open(crossed_run["db"]) as store:
        assert run_study(_spec(), store, data_dir=shared_data) == 0


def test_the_classifier_filter_selects_its_tests(shared_data):
    checked = check_study(_spec(), data_dir=shared_data, filters={"classifier": ["lightgbm"]})
    assert [case.key for case in checked.cases] == [KEYS[1]]
    one = check_study(_spec(evaluation={"cv": "stratified", "n_splits": N_FOLDS,
                                        "classifier": ["lightgbm"]}), data_dir=shared_data)
    assert [case.key for case in one.cases] == ["tor-n100-ir0.4"]  # one classifier: no cross


def test_a_missing_classifier_package_stops_the_study_before_any_file(shared_data, tmp_path,
                                                                     monkeypatch):
    monkeypatch.setitem(sys.modules, "lightgbm", None)  # makes the import fail
    with pytest.raises(UserError, match=r"needs the lightgbm package") as caught:
        check_study(_spec(), data_dir=shared_data)
    assert "\n" not in str(caught.value)


def test_crossed_draws_keep_their_rows_apart_and_their_classifiers_together():
    case = TestCase("cyber", "tor-n100-ir0.1", {"n_majority": 100})
    cases = repeated_cases(crossed_cases([case], ["a", "b"]), 3, 2)
    assert [c.key for c in cases] == ["tor-n100-ir0.1-a", "tor-n100-ir0.1-a-r1",
                                      "tor-n100-ir0.1-b", "tor-n100-ir0.1-b-r1"]
    assert [c.rows_key for c in cases] == ["tor-n100-ir0.1", "tor-n100-ir0.1-r1"] * 2
    assert {c.point for c in cases} == {"tor-n100-ir0.1"}
    assert cases[1].factors == {"n_majority": 100, "classifier": "a", "repeat": 1}
    assert cases[0].draw_seed == cases[2].draw_seed != cases[1].draw_seed
    # The report reads a crossed test's draws as one test of that classifier.
    frame = pd.DataFrame({"test_key": [c.key for c in cases],
                          "repeat": [c.factors["repeat"] for c in cases]})
    assert list(tables.by_grid_point(frame)["test_key"]) == [
        "tor-n100-ir0.1-a", "tor-n100-ir0.1-a", "tor-n100-ir0.1-b", "tor-n100-ir0.1-b"]


def test_a_suite_lists_the_tests_of_its_parts(shared_data):
    spec = _spec(data={"kind": "suite", "parts": [
        {"kind": "cyber", "datasets": ["tor"], "majority_sizes": [100],
         "imbalance_ratios": [0.4]},
        {"kind": "nsl-kdd", "tasks": [{"name": "normal-vs-R2L", "majority": ["normal"],
                                       "minority": ["R2L"]}],
         "majority_sizes": [50], "imbalance_ratios": [0.2]}]},
        evaluation={"cv": "stratified", "n_splits": N_FOLDS})
    checked = check_study(spec, data_dir=shared_data)
    factors = {case.key: case.factors for case in checked.cases}
    assert list(factors) == ["tor-n100-ir0.4", "normal-vs-R2L-n50-ir0.2"]
    assert factors["normal-vs-R2L-n50-ir0.2"]["dataset"] == "normal-vs-R2L"
    assert factors["tor-n100-ir0.4"]["dataset"] == "tor"
    assert [list(f) for f in factors.values()] == [
        ["dataset", "features", "n_majority", "imbalance_ratio"]] * 2
    kdd = checked.cases[1]
    X, y = checked.source.load(kdd)
    assert np.bincount(y).tolist() == [50, 10]
    assert checked.source.make_preprocessor(kdd) is not None  # NSL-KDD scales per fold
    assert checked.source.make_preprocessor(checked.cases[0]) is None


@pytest.mark.parametrize(("data", "message"), [
    ({"kind": "suite", "parts": []}, "data.parts: needs at least one part"),
    ({"kind": "suite", "parts": [{"kind": "cyber"}, {"kind": "cyber"}]},
     "each data kind may be one part only"),
    ({"kind": "suite", "parts": [{"kind": "mnist"}]}, "data.parts.0"),
])
def test_bad_suites_are_one_line(data, message):
    with pytest.raises(UserError, match=message) as caught:
        parse_study({"name": "x", "data": data}, "study")
    assert "\n" not in str(caught.value)


def test_classifier_lists_are_checked_and_one_is_no_list():
    single = parse_study({"name": "x", "evaluation": {"classifier": ["svm"]}}, "study")
    plain = parse_study({"name": "x", "evaluation": {"classifier": "svm"}}, "study")
    assert single.evaluation.classifier == "svm"
    assert single.settings_hash() == plain.settings_hash()
    for bad, message in (([], "needs at least one classifier"),
                         (["svm", "svm"], "classifiers must be unique"),
                         (["svm", "tree"], "evaluation.classifier")):
        with pytest.raises(UserError, match=message):
            parse_study({"name": "x", "evaluation": {"classifier": bad}}, "study")
