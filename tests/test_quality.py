"""Quality of generated rows: the measures on hand-made rows, which methods get them, their
table in the results store, and the report's section, end to end on a tiny study."""

from __future__ import annotations

import math
import sqlite3
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from gan_oversampling.difficulty.base import TestCase
from gan_oversampling.evaluation import quality as quality_module
from gan_oversampling.evaluation.quality import MEASURES, generated_quality, total_variation
from gan_oversampling.report.build import build_report
from gan_oversampling.report.quality import TITLE, quality_sections
from gan_oversampling.samplers.base import Resampled
from gan_oversampling.samplers.registry import get_method
from gan_oversampling.study import quality_table, units
from gan_oversampling.study.records import UnitResult
from gan_oversampling.study.runner import run_study
from gan_oversampling.study.spec import parse_study
from gan_oversampling.study.store import ResultsStore
from gan_oversampling.study.units import PreparedTest, fold_quality


def _fold(rng, n_majority=300, n_minority=300, n_test=300, features=3):
    """Training and test rows: majority around 0, minority around 3."""
    def rows(n0, n1):
        X = np.vstack([rng.normal(0, 1, (n0, features)), rng.normal(3, 1, (n1, features))])
        return X, np.r_[np.zeros(n0, dtype=int), np.ones(n1, dtype=int)]

    return (*rows(n_majority, n_minority), *rows(n_test, n_test))


# -- the measures ---------------------------------------------------------------------------
def test_exact_copies_of_training_rows_are_all_near_copies_at_distance_zero():
    rng = np.random.default_rng(0)
    X_train, y_train, X_test, y_test = _fold(rng, n_minority=40)
    copies = X_train[y_train == 1][rng.integers(0, 40, 260)]
    measured = generated_quality(X_train, y_train, copies, X_test, y_test, seed=0)
    assert measured.near_copy_share == 1.0
    assert measured.dcr_median == 0.0
    assert measured.n_generated == 260


def test_copies_count_also_where_real_rows_hold_duplicates():
    rng = np.random.default_rng(1)
    X_train, y_train, X_test, y_test = _fold(rng, n_minority=30)
    X_train = np.vstack([X_train, X_train])  # every row twice: the 5th percentile is 0
    y_train = np.r_[y_train, y_train]
    copies = X_train[y_train == 1][:50]
    measured = generated_quality(X_train, y_train, copies, X_test, y_test, seed=0)
    assert measured.near_copy_share == 1.0


def test_rows_of_the_real_distribution_are_hard_to_detect_and_rarely_near_copies():
    rng = np.random.default_rng(2)
    X_train, y_train, X_test, y_test = _fold(rng)
    fresh = rng.normal(3, 1, (400, 3))
    measured = generated_quality(X_train, y_train, fresh, X_test, y_test, seed=0)
    assert abs(measured.detection_auc - 0.5) < 0.1
    assert measured.near_copy_share < 0.2
    assert measured.ks_mean < 0.15 and measured.fidelity > 0.85
    assert math.isnan(measured.tv_mean)  # no one-hot block


def test_rows_far_away_are_told_apart_and_have_other_column_shapes():
    rng = np.random.default_rng(3)
    X_train, y_train, X_test, y_test = _fold(rng)
    far = rng.normal(40, 1, (400, 3))
    measured = generated_quality(X_train, y_train, far, X_test, y_test, seed=0)
    assert measured.detection_auc > 0.99
    assert measured.ks_mean == pytest.approx(1.0)
    assert measured.fidelity == pytest.approx(0.0)
    assert measured.near_copy_share == 0.0 and measured.dcr_median > 1


def test_total_variation_of_a_collapsed_category_block_as_by_hand():
    # Two numeric columns, then a block of three categories held by 50%, 30%, 20% of the
    # real minority rows; every generated row falls into the first (not exactly one-hot).
    rng = np.random.default_rng(4)
    categories = np.eye(3)[np.repeat([0, 1, 2], [50, 30, 20])]
    minority = np.hstack([rng.normal(0, 1, (100, 2)), categories])
    majority = np.hstack([rng.normal(0, 1, (100, 2)), np.eye(3)[rng.integers(0, 3, 100)]])
    X_train, y_train = np.vstack([majority, minority]), np.r_[np.zeros(100), np.ones(100)]
    generated = np.hstack([rng.normal(0, 1, (80, 2)), np.tile([0.8, 0.15, 0.05], (80, 1))])
    measured = generated_quality(X_train, y_train.astype(int), generated, X_train,
                                 y_train.astype(int), seed=0)
    by_hand = 0.5 * (abs(0.5 - 1.0) + abs(0.3 - 0.0) + abs(0.2 - 0.0))
    assert measured.tv_mean == pytest.approx(by_hand) == pytest.approx(0.5)
    ks = np.mean([quality_module.ks_2samp(minority[:, c], generated[:, c]).statistic
                  for c in (0, 1)])
    assert measured.ks_mean == pytest.approx(ks)
    assert measured.fidelity == pytest.approx(1 - (2 * ks + by_hand) / 3)
    assert total_variation(categories, categories) == 0.0


def test_too_few_rows_give_nan_and_no_error():
    rng = np.random.default_rng(5)
    X_train, y_train, X_test, y_test = _fold(rng, n_minority=1, n_test=1)
    one = generated_quality(X_train, y_train, rng.normal(3, 1, (1, 3)), X_test, y_test)
    assert math.isnan(one.ks_mean) and math.isnan(one.fidelity)
    assert math.isnan(one.detection_auc)  # one real test row and one generated
    assert one.n_real_test == 1 and one.n_generated == 1
    assert np.isfinite(one.dcr_median)  # a distance needs a single row
    none = generated_quality(X_train, y_train, np.empty((0, 3)), X_test, y_test)
    assert all(math.isnan(getattr(none, name)) for name in MEASURES if not name.startswith("n_"))
    broken = generated_quality(X_train, y_train, np.full((5, 3), np.nan), X_test, y_test)
    assert math.isnan(broken.dcr_median) and broken.n_generated == 5


def test_the_same_seed_gives_the_same_measures():
    rng = np.random.default_rng(6)
    X_train, y_train, X_test, y_test = _fold(rng, n_test=60)
    generated = rng.normal(2.5, 1, (200, 3))
    first = generated_quality(X_train, y_train, generated, X_test, y_test, seed=7)
    again = generated_quality(X_train, y_train, generated, X_test, y_test, seed=7)
    assert first == again
    assert list(first.as_dict()) == list(MEASURES) == quality_table.MEASURES


# -- which methods are measured -------------------------------------------------------------
def _prepared(rng) -> PreparedTest:
    X_train, y_train, X_test, y_test = _fold(rng, n_majority=40, n_minority=10, n_test=10)
    case = TestCase("synthetic", "t", {"n": 40})
    return PreparedTest(case, [], [(X_train, y_train, X_test, y_test)] * 2)


def test_only_methods_that_append_rows_to_every_fold_are_measured():
    rng = np.random.default_rng(8)
    test = _prepared(rng)
    spec = SimpleNamespace(seed=0)
    X, y = test.training_sets()[0]
    appended = Resampled(np.vstack([X, rng.normal(3, 1, (30, 3))]), np.r_[y, np.ones(30, int)])
    cleaned = Resampled(appended.X[2:], appended.y[2:])  # rows removed after oversampling
    kept = Resampled(X, y)
    measured = fold_quality(spec, test, get_method("random"), [appended, appended])
    assert sorted(measured) == [0, 1] and measured[0]["n_generated"] == 30
    assert fold_quality(spec, test, get_method("smote-tomek"), [appended, cleaned]) == {}
    assert fold_quality(spec, test, get_method("none"), [kept, kept]) == {}
    assert fold_quality(spec, test, get_method("random"), [kept, kept]) == {}
    assert sorted(fold_quality(spec, test, get_method("random"), [appended, kept])) == [0]


# -- the store ------------------------------------------------------------------------------
def _unit(quality: dict) -> UnitResult:
    scores = [{"fold": 0, "class_label": label, "class_role": role, "precision": 0.5,
               "recall": 0.5, "f1": 0.5, "support": 10}
              for label, role in ((0, "majority"), (1, "minority"))]
    return UnitResult(study="s", test_key="t1", method="cgan", source="cyber",
                      factors={"imbalance_ratio": 0.1}, seed=0, iterations=10,
                      classifier="logistic-regression", cv="stratified-2", fit_seconds=1.0,
                      eval_seconds=0.5, versions={}, scores=scores, quality=quality)


def test_quality_round_trip_with_nan_as_null_and_an_older_file_reads_empty(tmp_path):
    measures = {"ks_mean": 0.2, "tv_mean": math.nan, "fidelity": 0.8, "detection_auc": 0.6,
                "dcr_median": 0.1, "near_copy_share": 0.05, "n_generated": 90,
                "n_real_test": 5}
    path = tmp_path / "r.sqlite"
    with ResultsStore.open(path) as store:
        store.register_study("s", "h", "{}")
        store.write_unit(_unit({0: measures, 1: {**measures, "ks_mean": 0.3}}))
        frame = store.quality_frame("s")
    assert list(frame.columns) == [*quality_table.COLUMNS, "imbalance_ratio"]
    assert list(frame["fold"]) == [0, 1] and list(frame["ks_mean"]) == [0.2, 0.3]
    assert frame["tv_mean"].isna().all() and frame["n_generated"].tolist() == [90, 90]
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE generated_quality")
    with ResultsStore.open(path, readonly=True) as store:
        assert store.quality_frame("s").empty


def test_the_section_says_so_in_one_line_without_stored_quality(tmp_path):
    store = SimpleNamespace(quality_frame=lambda study: quality_table.empty_frame())
    [section] = quality_sections(store, "s", pd.DataFrame({"method": ["none"]}), tmp_path)
    assert section.title == TITLE and len(section.blocks) == 1
    assert not (tmp_path / "quality.csv").exists()


# -- end to end -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_study(shared_data, tmp_path_factory):
    spec = parse_study({
        "name": "quality",
        "data": {"kind": "cyber", "datasets": ["tor"], "majority_sizes": [100],
                 "imbalance_ratios": [0.2]},
        "methods": ["none", "random", "cgan", "cgan+threshold"],
        "cgan": {"iterations": 10, "device": "cpu", "generator_hidden": [16, 16, 16],
                 "discriminator_hidden": [16, 16, 16]},
        "evaluation": {"cv": "stratified", "n_splits": 3, "classifier": "logistic-regression"},
    }, "test study")
    folder = tmp_path_factory.mktemp("quality")
    calls = []
    with pytest.MonkeyPatch.context() as patch:
        def counted(*args, **kwargs):
            calls.append(1)
            return generated_quality(*args, **kwargs)

        patch.setattr(units, "generated_quality", counted)
        with ResultsStore.open(folder / "r.sqlite") as store:
            run_study(spec, store, data_dir=shared_data)
            frame = store.quality_frame("quality")
    report = build_report(folder / "r.sqlite", folder / "report")
    return {"frame": frame, "calls": len(calls), "report": report}


def test_a_study_stores_quality_for_methods_that_add_rows_once_per_resampling(tiny_study):
    frame = tiny_study["frame"]
    folds = frame.groupby("method")["fold"].apply(sorted).to_dict()
    assert folds == {"random": [0, 1, 2], "cgan": [0, 1, 2], "cgan+threshold": [0, 1, 2]}
    assert tiny_study["calls"] == 2 * 3  # random's and the CGAN's folds, each measured once
    random = frame[frame["method"] == "random"]
    assert (random["near_copy_share"] == 1.0).all() and (random["dcr_median"] == 0.0).all()
    cgan, threshold = (frame[frame["method"] == m].reset_index(drop=True)[list(MEASURES)]
                       for m in ("cgan", "cgan+threshold"))
    pd.testing.assert_frame_equal(cgan, threshold)
    assert (frame["n_generated"] > 0).all() and frame["detection_auc"].notna().all()


def test_the_report_has_the_quality_section_and_its_csv(tiny_study):
    report = tiny_study["report"]
    text = (report / "report.md").read_text()
    assert f"## {TITLE}" in text and "near-copies" in text and "detection AUC" in text
    assert TITLE in (report / "index.html").read_text()
    written = pd.read_csv(report / "quality.csv")
    assert set(written["method"]) == {"random", "cgan", "cgan+threshold"}
    assert list(written.columns[:3]) == ["method", "test_key", "fold"]
