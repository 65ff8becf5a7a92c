"""Several oversamplers compared in one study, end to end: run, store, report."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from gan_oversampling.errors import UserError
from gan_oversampling.report import tables
from gan_oversampling.report.build import build_report
from gan_oversampling.samplers.ctgan import MISSING_PACKAGE
from gan_oversampling.samplers.registry import get_method
from gan_oversampling.study.runner import run_study
from gan_oversampling.study.spec import parse_study
from gan_oversampling.study.store import ResultsStore
from gan_oversampling.study.units import PreparedTest, training_folds

METHODS = ["none", "random", "smote", "borderline-smote", "adasyn", "cgan"]
N_FOLDS = 5
TEST_SIZES = {"tor-n100-ir0.1": 110, "tor-n100-ir0.4": 140}


def _spec(methods=METHODS, name: str = "methods"):
    return parse_study(
        {
            "name": name,
            "data": {
                "kind": "cyber",
                "datasets": ["tor"],
                "majority_sizes": [100],
                "imbalance_ratios": [0.1, 0.4],
            },
            "methods": methods,
            # Small layers: the test checks the plumbing, not the GAN.
            "cgan": {"iterations": 10, "device": "cpu", "generator_hidden": [32, 32, 32],
                     "discriminator_hidden": [32, 32, 32]},
            "evaluation": {"cv": "stratified", "n_splits": N_FOLDS,
                           "classifier": "logistic-regression"},
        },
        "test study",
    )


def _run(spec, db_path, data_dir) -> int:
    # In this process: a patched import (the ctgan test) holds here, not in spawned workers.
    with ResultsStore.open(db_path) as store:
        return run_study(spec, store, data_dir=data_dir)


@pytest.fixture(scope="module")
def study_run(shared_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("methods")
    db_path = folder / "results.sqlite"
    written = _run(_spec(), db_path, shared_data)
    with ResultsStore.open(db_path, create=False) as store:
        frame = store.scores_frame("methods")
    return {"db": db_path, "folder": folder, "written": written, "frame": frame}


def test_every_unit_is_stored_with_every_fold_and_class(study_run):
    frame = study_run["frame"]
    assert study_run["written"] == len(TEST_SIZES) * len(METHODS)
    rows = frame.groupby(["test_key", "method"]).size()
    assert sorted(rows.index) == sorted((key, m) for key in TEST_SIZES for m in METHODS)
    assert (rows == N_FOLDS * 2).all()
    for _, unit in frame.groupby(["test_key", "method"]):
        assert sorted(zip(unit["fold"], unit["class_label"], strict=True)) == [
            (fold, label) for fold in range(N_FOLDS) for label in (0, 1)
        ]
    assert frame[["precision", "recall", "f1"]].apply(lambda c: c.between(0, 1)).all().all()


def test_all_methods_are_scored_on_the_same_test_folds(study_run):
    frame = study_run["frame"]
    support = frame.pivot_table(
        index=["test_key", "fold", "class_label"], columns="method", values="support"
    )
    assert list(support.columns.sort_values()) == sorted(METHODS)
    assert (support.nunique(axis=1) == 1).all()
    # The test folds partition each test dataset: every row is tested exactly once.
    per_test = frame[frame["method"] == "none"].groupby("test_key")["support"].sum()
    assert per_test.to_dict() == TEST_SIZES


def test_units_record_what_ran(study_run):
    units = study_run["frame"].drop_duplicates(["test_key", "method"])
    assert set(units["classifier"]) == {"logistic-regression"}
    assert set(units["cv"]) == {f"stratified-{N_FOLDS}"}
    cgan = units[units["method"] == "cgan"]
    assert (cgan["iterations"] == 10).all()
    assert units.loc[units["method"] != "cgan", "iterations"].isna().all()
    assert (units["fit_seconds"] >= 0).all()


def test_a_second_run_resumes_without_redoing_anything(study_run, shared_data):
    assert _run(_spec(), study_run["db"], shared_data) == 0
    with ResultsStore.open(study_run["db"], create=False) as store:
        assert len(store.scores_frame("methods")) == len(study_run["frame"])


def test_method_tables_rank_every_method_on_every_test(study_run):
    frame = study_run["frame"]
    summary = tables.method_summary(frame)
    assert sorted(summary["method"]) == sorted(METHODS)
    assert summary["average_rank"].is_monotonic_increasing
    assert summary["average_rank"].between(1, len(METHODS)).all()
    # Every test has at least one winner (shared bests count for each).
    assert summary["wins"].sum() >= len(TEST_SIZES)
    duel = tables.generator_vs_best_classic(frame, "cgan")
    assert sorted(duel["test_key"]) == sorted(TEST_SIZES)
    assert set(duel["best_classic"]) <= {"random", "smote", "borderline-smote", "adasyn"}
    assert set(duel["verdict"]) <= {"win", "tie", "loss", "undecided"}
    np.testing.assert_allclose(
        duel["difference"], duel["cgan_minority_f1"] - duel["best_classic_minority_f1"]
    )


def test_report_holds_the_method_comparison(study_run):
    out = build_report(study_run["db"], study_run["folder"] / "report")
    page = (out / "index.html").read_text(encoding="utf-8")
    markdown = (out / "report.md").read_text(encoding="utf-8")
    for text in (page, markdown):
        assert "Methods compared" in text
        assert "Methods ranked by minority F1 per test" in text
        assert "CGAN against the best classic oversampler (minority F1)" in text
        for method in ("borderline-smote", "adasyn", "smote", "random", "cgan", "none"):
            assert method in text
    # One name for each method in every file: the one the study file gives it.
    headline = pd.read_csv(out / "headline.csv", index_col="class_role")
    assert set(headline.columns) == {*METHODS, "n_tests"}
    assert set(pd.read_csv(out / "factors.csv")["method"]) == set(METHODS)
    assert set(pd.read_csv(out / "statistics.csv")["comparator"]) == set(METHODS) - {"cgan"}
    assert {column.split("_")[0] for column in pd.read_csv(out / "per_test.csv").columns
            if column.endswith("_f1")} == set(METHODS)
    assert "baseline" not in "".join(headline.columns)
    assert (headline["n_tests"] == len(TEST_SIZES)).all()


def test_oversampling_touches_the_training_folds_only(shared_data):
    spec = _spec()
    source = spec.data.build_source(shared_data)
    case = source.cases()[0]
    test = PreparedTest.build(case, *source.load(case), spec, source)
    for name in ("random", "smote", "borderline-smote", "adasyn"):
        method = get_method(name)
        augmented = method.resample(training_folds(spec, test, method)).folds
        for fold, (X_train, y_train, X_test, _) in zip(augmented, test.fold_data, strict=True):
            X_aug, y_aug = fold.X, fold.y
            np.testing.assert_array_equal(X_aug[: len(X_train)], X_train)
            np.testing.assert_array_equal(y_aug[: len(y_train)], y_train)
            assert np.bincount(y_aug)[0] == np.bincount(y_train)[0]
            if name == "random":
                assert _rows_within(X_aug, X_train)
                assert not _rows_within(X_test, X_aug)


def _rows_within(rows: np.ndarray, pool: np.ndarray) -> bool:
    known = {row.tobytes() for row in pool}
    return all(row.tobytes() in known for row in rows)


def test_ctgan_in_a_study_without_the_package_is_a_user_error(
    shared_data, tmp_path, monkeypatch
):
    monkeypatch.setitem(sys.modules, "ctgan", None)  # makes `import ctgan` fail
    spec = _spec(methods=["none", "ctgan"], name="with-ctgan")
    with pytest.raises(UserError) as caught:
        _run(spec, tmp_path / "results.sqlite", shared_data)
    assert str(caught.value) == MISSING_PACKAGE
