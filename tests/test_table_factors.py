"""Dimensionality (`feature_counts`) and class overlap (`overlaps`) on tabular grids: the
seeded transforms, their validation, what they leave as it was, and their effect measured
on every shipped tabular dataset."""

from __future__ import annotations

import numpy as np
import pytest

from gan_oversampling.datasets.kdd import KDD_CATEGORICAL, KDD_COLUMNS
from gan_oversampling.datasets.tabular import table_from_frame
from gan_oversampling.difficulty.tabular import variant_rows
from gan_oversampling.difficulty.transforms import (
    OVERLAP_LEVELS,
    kept_columns,
    overlap_rows,
    table_with_columns,
)
from gan_oversampling.errors import UserError
from gan_oversampling.study.data_spec import CyberData, KddData, TableData
from gan_oversampling.study.spec import parse_study
from test_analysis import _load  # the analysis scripts, loaded as modules


def _pool(n_majority=60, n_minority=30):
    return np.repeat(np.array([0, 1], dtype=np.int64), [n_majority, n_minority])


# -- columns -------------------------------------------------------------------------------
def test_kept_columns_are_seeded_sorted_and_nested():
    assert np.array_equal(kept_columns(30, 7, seed=3), kept_columns(30, 7, seed=3))
    assert not np.array_equal(kept_columns(30, 7, seed=3), kept_columns(30, 7, seed=4))
    kept = [set(kept_columns(30, k)) for k in range(1, 31)]
    assert all(smaller < larger for smaller, larger in zip(kept, kept[1:], strict=False))
    assert kept[-1] == set(range(30))
    assert list(kept_columns(30, 7)) == sorted(kept_columns(30, 7))


@pytest.mark.parametrize("n_kept", [0, 31, -1])
def test_kept_columns_refuse_impossible_counts(n_kept):
    with pytest.raises(UserError, match=f"cannot keep {n_kept} of 30 feature columns"):
        kept_columns(30, n_kept)


def test_a_categorical_column_is_kept_or_dropped_whole():
    import pandas as pd

    frame = pd.DataFrame({"size": [1.0, 2.0, 3.0], "proto": ["tcp", "udp", "icmp"],
                          "flag": ["a", "b", "a"], "rate": [0.1, 0.2, 0.3], "y": ["n", "x", "n"]})
    table = table_from_frame(frame, "y", ["proto", "flag"], "frame")
    assert table_with_columns(table, None) is table
    for n_kept in range(1, 5):
        kept = table_with_columns(table, n_kept)
        names = [table.columns[i] for i in kept_columns(4, n_kept)]
        assert kept.columns == tuple(names)
        widths = {"size": 1, "rate": 1, "proto": 3, "flag": 2}
        assert kept.encoded_width == sum(widths[name] for name in names)
        rows = kept.rows(np.arange(3))
        for position, name in enumerate(names):
            assert list(rows[:, position]) == list(frame[name])


# -- overlap -------------------------------------------------------------------------------
def test_overlap_level_zero_is_the_identity():
    pool_y = _pool()
    rows, y = variant_rows(pool_y, 40, 0.5)
    assert overlap_rows(rows, y, pool_y, 0.0) is rows


def test_overlap_replaces_that_share_of_minority_rows_by_outside_majority_rows():
    pool_y = _pool()
    rows, y = variant_rows(pool_y, 40, 0.5)  # 40 of 60 majority, 20 of 30 minority rows
    minority = y == 1
    for level in (0.25, 0.5, 0.75, 1.0):
        moved = overlap_rows(rows, y, pool_y, level)
        changed = moved != rows
        assert not changed[~minority].any()  # the majority stays as it is
        assert changed.sum() == int(np.floor(level * minority.sum() + 0.5))
        assert (pool_y[moved[changed]] == 0).all()
        assert not np.isin(moved[changed], rows).any()  # rows the test does not hold


def test_overlap_levels_are_nested_and_seeded():
    pool_y = _pool()
    rows, y = variant_rows(pool_y, 40, 0.5)
    replaced = [set(np.flatnonzero(overlap_rows(rows, y, pool_y, level) != rows))
                for level in (0.25, 0.5, 0.75, 1.0)]
    assert all(lower < higher for lower, higher in zip(replaced, replaced[1:], strict=False))
    same = overlap_rows(rows, y, pool_y, 0.5, seed=1)
    assert np.array_equal(same, overlap_rows(rows, y, pool_y, 0.5, seed=1))
    assert not np.array_equal(same, overlap_rows(rows, y, pool_y, 0.5, seed=2))


def test_a_pool_without_outside_majority_rows_lends_the_tests_own():
    pool_y = _pool()
    rows, y = variant_rows(pool_y, 60, 0.5)  # every majority row is in the test
    moved = overlap_rows(rows, y, pool_y, 1.0)
    assert (pool_y[moved] == 0).all() and set(moved) <= set(rows[y == 0])


@pytest.mark.parametrize("level", [-0.1, 1.5])
def test_overlap_refuses_levels_outside_zero_one(level):
    pool_y = _pool()
    rows, y = variant_rows(pool_y, 40, 0.5)
    with pytest.raises(UserError, match=r"outside \[0, 1\]"):
        overlap_rows(rows, y, pool_y, level)


# -- the study file ------------------------------------------------------------------------
CYBER = {"kind": "cyber", "datasets": ["tor"], "majority_sizes": [100],
         "imbalance_ratios": [0.4]}


@pytest.mark.parametrize("field, levels, message", [
    ("feature_counts", [0], "greater than or equal to 1"),
    ("feature_counts", [5, 5], "levels must be unique"),
    ("feature_counts", [], "needs at least one level"),
    ("feature_counts", [True], "must be a number, not true or false"),
    ("feature_counts", [2.5], "valid integer"),
    ("overlaps", [1.5], "less than or equal to 1"),
    ("overlaps", [-0.25], "greater than or equal to 0"),
    ("overlaps", [float("nan")], "must be a finite number"),
    ("overlaps", [0.5, 0.5], "levels must be unique"),
    ("overlaps", "0.5", "valid list"),
])
def test_bad_levels_are_refused_in_one_line(field, levels, message):
    with pytest.raises(UserError) as caught:
        parse_study({"name": "x", "data": {**CYBER, field: levels}}, "study file s.toml")
    text = str(caught.value)
    assert "\n" not in text and f"data.{field}" in text and message in text


def test_mnist_has_its_own_overlap_and_dimensionality_factors():
    with pytest.raises(UserError, match="data.overlaps: unknown field"):
        parse_study({"name": "x", "data": {"kind": "mnist", "overlaps": [0.5]}}, "study")


def test_without_the_new_fields_the_settings_hash_is_unchanged():
    plain = parse_study({"name": "x", "data": CYBER}, "study")
    spelled = parse_study({"name": "x", "data": {**CYBER, "feature_counts": None,
                                                 "overlaps": None}}, "study")
    assert spelled.settings_hash() == plain.settings_hash()
    for field, levels in (("feature_counts", [5]), ("overlaps", [0.0])):
        changed = parse_study({"name": "x", "data": {**CYBER, field: levels}}, "study")
        assert changed.settings_hash() != plain.settings_hash()


# -- the sources, on the shipped data ------------------------------------------------------
def test_cyber_grid_with_columns_and_overlap(shared_data):
    source = CyberData(**CYBER, feature_counts=[5, 22], overlaps=[0, 0.5]).build_source(
        shared_data)
    cases = source.cases()
    assert [case.key for case in cases] == [
        "tor-cols5-ov0-n100-ir0.4", "tor-cols5-ov0.5-n100-ir0.4",
        "tor-cols22-ov0-n100-ir0.4", "tor-cols22-ov0.5-n100-ir0.4"]
    assert list(cases[1].factors) == ["dataset", "columns", "features", "overlap",
                                      "n_majority", "imbalance_ratio"]
    plain_X, plain_y = CyberData(**CYBER).build_source(shared_data).load(
        CyberData(**CYBER).build_source(shared_data).cases()[0])
    X, y = source.load(cases[2])  # every column, overlap 0: the test as it was
    assert np.array_equal(X, plain_X) and np.array_equal(y, plain_y)
    X, y = source.load(cases[1])
    assert X.shape == (140, 5) and np.array_equal(y, plain_y)
    assert np.array_equal(X[y == 0], plain_X[y == 0][:, kept_columns(22, 5)])
    moved = (X[y == 1] != plain_X[y == 1][:, kept_columns(22, 5)]).any(axis=1)
    assert moved.sum() == 20  # half of the 40 minority rows


def test_more_columns_than_a_dataset_has_is_one_line(shared_data):
    source = CyberData(**CYBER, feature_counts=[23]).build_source(shared_data)
    with pytest.raises(UserError, match="cyber dataset tor has 22 feature columns; "
                                        "feature_counts 23 ask for more"):
        source.cases()


@pytest.mark.parametrize("scaling", ["fold", "whole"])
def test_kdd_columns_give_the_width_the_preprocessor_makes(shared_data, scaling):
    data = KddData(kind="nsl-kdd", tasks=[{"name": "u", "majority": ["normal"],
                                           "minority": ["U2R"]}],
                   majority_sizes=[50], imbalance_ratios=[0.4], scaling=scaling,
                   feature_counts=[3, 41], overlaps=[0.75])
    source = data.build_source(shared_data)
    for case in source.cases():
        assert case.key == f"u-cols{case.factors['columns']}-ov0.75-n50-ir0.4"
        X, _ = source.load(case)
        preprocessor = source.make_preprocessor(case)
        encoded = X if preprocessor is None else preprocessor.fit_transform(X)
        assert encoded.shape == (70, case.factors["features"])
    with pytest.raises(UserError, match="nsl-kdd has 41 feature columns"):
        KddData(**{**data.model_dump(), "feature_counts": [42]}).build_source(
            shared_data).cases()


def test_a_study_runs_on_a_subset_of_columns_with_overlap(shared_data, tmp_path):
    from gan_oversampling.study.executors import InlineExecutor
    from gan_oversampling.study.runner import run_study
    from gan_oversampling.study.store import ResultsStore

    spec = parse_study({
        "name": "kdd-factors", "methods": ["none", "smote"],
        "data": {"kind": "nsl-kdd", "tasks": [{"name": "u", "majority": ["normal"],
                                               "minority": ["U2R"]}],
                 "majority_sizes": [50], "imbalance_ratios": [0.4], "feature_counts": [3, 41],
                 "overlaps": [0, 0.75]},
        "evaluation": {"cv": "stratified", "classifier": "logistic-regression"},
    }, "study")
    with ResultsStore.open(tmp_path / "r.sqlite") as store:
        assert run_study(spec, store, InlineExecutor(threads=1), data_dir=shared_data) == 8
        frame = store.scores_frame("kdd-factors")
    assert sorted(frame["test_key"].unique()) == sorted(
        f"u-cols{k}-ov{level}-n50-ir0.4" for k in (3, 41) for level in ("0", "0.75"))
    assert {"columns", "features", "overlap"} <= set(frame.columns)


# -- the effect, measured on every shipped tabular dataset ---------------------------------
# Measured on one test per dataset of N 200 and ratio 0.4 (280 rows; README, "Overlap and
# dimensionality on tables"): feature overlap (F1) and neighbourhood (N1, N3, T1).
RISING = ("F1", "N1", "N3", "T1")


def test_overlap_measures_rise_with_the_level_on_every_shipped_dataset(shared_data, tmp_path):
    pytest.importorskip("problexity")
    analysis = _load("overlap_measures")
    table = analysis.write_table_csv(shared_data, tmp_path / "kddtest21.csv")
    specs = analysis.shipped_data(shared_data, table, OVERLAP_LEVELS, 200, 0.4)
    assert len(specs) == 10  # seven cyber datasets, NSL-KDD, KDD Cup 99, a table
    chance = 2 * (200 / 280) * (80 / 280)  # 1-NN error when the classes are alike
    for name, data in specs.items():
        levels = analysis.level_measures(data, shared_data, RISING)
        assert list(levels["overlap"]) == list(OVERLAP_LEVELS)
        for measure in RISING:
            assert (np.diff(levels[measure]) > 0).all(), (name, measure, list(levels[measure]))
        # From the data as they are (level 0, the identity) to hard: a 1-NN error of at
        # least 70% of its chance value.
        assert levels["N3"].iloc[-1] >= 0.7 * chance, (name, list(levels["N3"]))


def test_the_table_written_for_the_measurements_reads_as_a_users_table(shared_data, tmp_path):
    analysis = _load("overlap_measures")
    path = analysis.write_table_csv(shared_data, tmp_path / "kddtest21.csv")
    data = TableData(kind="table", path=str(path), label_column="family",
                     majority=["normal"], minority=["Probe"], categorical=list(KDD_CATEGORICAL),
                     majority_sizes=[100], imbalance_ratios=[0.4])
    source = data.build_source(shared_data)
    X, y = source.load(source.cases()[0])
    assert X.shape == (140, len(KDD_COLUMNS)) and int(y.sum()) == 40
