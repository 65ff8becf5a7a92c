"""Data complexity measures: computed per test (seeded, by problexity), stored once, and set
against the generators' gains in the report."""

from __future__ import annotations

import json
import sqlite3
import sys
from contextlib import closing

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from gan_oversampling.difficulty import complexity
from gan_oversampling.difficulty.complexity import DEFAULT_MEASURES, MEASURES, measure_test
from gan_oversampling.errors import UserError
from gan_oversampling.report import complexity as report_complexity
from gan_oversampling.report.build import build_report
from gan_oversampling.study.executors import InlineExecutor
from gan_oversampling.study.records import UnitResult
from gan_oversampling.study.runner import check_study, run_study
from gan_oversampling.study.spec import parse_study
from gan_oversampling.study.store import SCHEMA_VERSION, ResultsStore

problexity = pytest.importorskip("problexity")


def _blobs(n_majority=60, n_minority=20, seed=0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(0, 1, (n_majority, 4)), rng.normal(1, 1, (n_minority, 4))])
    return X, np.repeat([0, 1], [n_majority, n_minority])


# -- measuring -----------------------------------------------------------------------------
def test_every_measure_is_seeded_and_leaves_numpys_global_stream_alone():
    X, y = _blobs()
    np.random.seed(5)
    expected_draw = np.random.random()
    np.random.seed(5)
    first = measure_test(X, y, MEASURES, seed=1, max_rows=1000)
    assert np.random.random() == expected_draw  # the caller's stream is where it was
    again = measure_test(X, y, MEASURES, seed=1, max_rows=1000)
    assert [m.measure for m in first] == list(MEASURES)
    assert [m.value for m in first] == [m.value for m in again]
    # A measure's value does not depend on the measures asked with it.
    alone = {name: measure_test(X, y, [name], seed=1, max_rows=1000)[0].value
             for name in ("L3", "N4")}
    assert alone == {m.measure: m.value for m in first if m.measure in alone}
    assert all(m.seconds >= 0 and m.n_rows == 80 for m in first)


def test_values_are_problexitys_and_constant_columns_are_dropped():
    X, y = _blobs()
    constant = np.full((len(y), 1), -0.91304348)
    widened = np.hstack([X, constant])
    for name in ("F1", "F3", "N1", "N3", "C2"):
        ours = measure_test(widened, y, [name], seed=0, max_rows=1000)[0].value
        assert ours == pytest.approx(getattr(problexity, name.lower())(X, y), rel=1e-12)


def test_degenerate_tests_give_nan_not_an_error():
    X, y = _blobs()
    one_class = measure_test(X, np.zeros_like(y), ["F1", "N1", "L2"], seed=0, max_rows=1000)
    assert all(np.isnan(m.value) for m in one_class)
    flat = measure_test(np.ones_like(X), y, ["F1", "N3"], seed=0, max_rows=1000)
    assert all(np.isnan(m.value) for m in flat)


def test_a_large_test_is_measured_on_a_stratified_sample():
    X, y = _blobs(300, 100)
    first = measure_test(X, y, ["N3", "C2"], seed=2, max_rows=40)
    assert [m.n_rows for m in first] == [40, 40]
    assert first[1].value == pytest.approx(problexity.c2(None, np.repeat([0, 1], [30, 10])))
    assert [m.value for m in first] == [m.value for m in
                                        measure_test(X, y, ["N3", "C2"], seed=2, max_rows=40)]


def test_missing_problexity_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "problexity", None)
    with pytest.raises(UserError) as caught:
        complexity.check_available()
    assert "\n" not in str(caught.value)
    assert "pip install 'gan-oversampling[complexity]'" in str(caught.value)
    spec = _spec()
    with pytest.raises(UserError, match="need the problexity package"):
        check_study(spec)


# -- the study file ------------------------------------------------------------------------
def _spec(measures=("F1", "N3"), **more):
    raw = {"name": "measured", "methods": ["none"],
           "data": {"kind": "mnist", "rotations": [90], "sides": [4], "majority_sizes": [100],
                    "imbalance_ratios": [0.4, 0.2]},
           "evaluation": {"classifier": "logistic-regression"}, **more}
    if measures is not None:
        raw["complexity"] = {"measures": list(measures)}
    return parse_study(raw, "test")


def test_complexity_table_defaults_and_bad_values():
    assert _spec(measures=None).complexity is None
    empty_table = parse_study({"name": "x", "complexity": {}}, "study")
    assert empty_table.complexity.measures == list(DEFAULT_MEASURES)
    for table, message in (({"measures": ["F9"]}, "complexity.measures.0: Input should be"),
                           ({"measures": []}, "needs at least one measure"),
                           ({"measures": ["F1", "F1"]}, "measures must be unique"),
                           ({"max_rows": 5}, "greater than or equal to 10"),
                           ({"max_rows": True}, "not true or false"),
                           ({"every": 1}, "complexity.every: unknown field")):
        with pytest.raises(UserError, match=message) as caught:
            parse_study({"name": "x", "complexity": table}, "study")
        assert "\n" not in str(caught.value)


def test_measures_do_not_change_the_settings_hash():
    assert _spec().settings_hash() == _spec(measures=None).settings_hash()
    assert _spec().settings_hash() == _spec(measures=MEASURES).settings_hash()


# -- the runner and the store --------------------------------------------------------------
def _run(spec, db):
    with ResultsStore.open(db) as store:
        run_study(spec, store, InlineExecutor(threads=1))
        return store.complexity_frame(spec.name)


def test_measures_are_computed_once_per_test_and_missing_ones_later(tmp_path):
    db = tmp_path / "r.sqlite"
    first = _run(_spec(("F1", "N3")), db)
    assert sorted(zip(first["test_key"], first["measure"], strict=True)) == [
        (key, name) for key in ("rot90-side4-n100-ir0.2", "rot90-side4-n100-ir0.4")
        for name in ("F1", "N3")]
    with closing(sqlite3.connect(db)) as connection:
        stamps = connection.execute("SELECT * FROM complexity ORDER BY rowid").fetchall()
    second = _run(_spec(("F1", "N3", "C2")), db)  # resumes: the settings hash is the same
    with closing(sqlite3.connect(db)) as connection:
        again = connection.execute("SELECT * FROM complexity ORDER BY rowid").fetchall()
    assert again[: len(stamps)] == stamps  # nothing measured twice
    assert sorted(second.loc[second["measure"] == "C2", "value"]) == pytest.approx(
        sorted(problexity.c2(None, np.repeat([0, 1], [100, n])) for n in (20, 40)))


def test_stored_values_round_trip_with_nan_as_null(tmp_path):
    with ResultsStore.open(tmp_path / "r.sqlite") as store:
        store.register_study("s", "h", "{}")
        store.write_measures("s", "t1", [complexity.Measured("F1", 0.25, 0.5, 80),
                                         complexity.Measured("N3", float("nan"), 0.1, 80)])
        frame = store.complexity_frame("s")
    assert list(frame["measure"]) == ["F1", "N3"] and frame["value"].iloc[0] == 0.25
    assert np.isnan(frame["value"].iloc[1]) and list(frame["n_rows"]) == [80, 80]


def test_a_version_two_database_gets_the_table_when_a_run_opens_it(tmp_path):
    db = tmp_path / "old.sqlite"
    _run(_spec(measures=None), db)
    with closing(sqlite3.connect(db)) as connection, connection:
        connection.execute("DROP TABLE complexity")
        connection.execute("PRAGMA user_version = 2")
    with ResultsStore.open(db, readonly=True) as store:  # read as it is
        assert store.complexity_frame("measured").empty
    build_report(db, tmp_path / "report", n_sample_tests=0)  # and reported, without measures
    assert "Data complexity" not in (tmp_path / "report" / "report.md").read_text()
    assert len(_run(_spec(), db)) == 4  # resumes, measures
    with closing(sqlite3.connect(db)) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4


# -- the report ----------------------------------------------------------------------------
GAINS = [0.30, 0.05, 0.22, -0.04, 0.12, 0.18, 0.01, 0.26]


def _unit(key: str, method: str, minority_f1: float) -> UnitResult:
    scores = [{"fold": fold, "class_label": label, "class_role": role, "precision": 0.5,
               "recall": 0.5, "f1": minority_f1 if label == 1 else 0.9, "support": 20}
              for fold in range(3) for label, role in ((0, "majority"), (1, "minority"))]
    return UnitResult(study="s", test_key=key, method=method, source="cyber",
                      factors={"dataset": "tor", "n_majority": int(key[1:])},
                      seed=0, iterations=None, classifier="knn", cv="stratified-3",
                      fit_seconds=0.1, eval_seconds=0.1, versions={}, scores=scores)


def _reported_db(tmp_path, measures: dict[str, list[float]]):
    db = tmp_path / "r.sqlite"
    with ResultsStore.open(db) as store:
        store.register_study("s", "h", json.dumps({"name": "s", "methods": ["none", "cgan"]}))
        for number, gain in enumerate(GAINS):
            key = f"n{100 + number}"
            store.write_unit(_unit(key, "none", 0.4))
            store.write_unit(_unit(key, "cgan", 0.4 + gain))
            store.write_measures("s", key, [complexity.Measured(name, values[number], 0.0, 10)
                                            for name, values in measures.items()])
    return db


def test_report_sets_the_gain_against_each_measure_and_names_the_best(tmp_path):
    noise = [0.3, 0.1, 0.5, 0.2, 0.9, 0.4, 0.8, 0.6]
    measures = {"N3": [0.5 + g for g in GAINS], "F1": noise, "C2": [0.3] * 8}
    out = build_report(_reported_db(tmp_path, measures), tmp_path / "report", n_sample_tests=0)
    table = pd.read_csv(out / "complexity_correlations.csv").set_index("measure")
    assert list(table.index) == ["F1", "N3", "C2"]  # in family order
    assert table.loc["N3", "spearman_rho"] == pytest.approx(1.0)
    assert table.loc["F1", "spearman_rho"] == pytest.approx(stats.spearmanr(noise, GAINS)[0])
    assert table.loc["F1", "ci_low"] < table.loc["F1", "spearman_rho"] < table.loc["F1", "ci_high"]
    assert np.isnan(table.loc["C2", "spearman_rho"])  # constant over the tests
    per_test = pd.read_csv(out / "complexity.csv", index_col="test_key")
    assert per_test["gain_cgan"].to_numpy() == pytest.approx(GAINS)
    markdown = (out / "report.md").read_text()
    assert "## Data complexity" in markdown and "![CGAN gain" in markdown
    assert "Of 2 measures, N3 (neighbourhood) ranks the tests by CGAN's" in markdown
    assert "its interval excludes zero" in markdown and "is not a cause" in markdown
    # F1's mean over every test, then over the tests of each level (one test each here).
    assert f"| all |  | 8 | {np.mean(noise):.3f} |" in markdown
    assert f"| n_majority | 103 | 1 | {noise[3]:.3f} |" in markdown
    assert (out / "complexity_cgan.png").stat().st_size > 0


def test_a_weak_best_measure_is_said_to_be_weak(tmp_path):
    measures = {"F1": [0.3, 0.1, 0.5, 0.2, 0.9, 0.4, 0.8, 0.6]}
    out = build_report(_reported_db(tmp_path, measures), tmp_path / "report", n_sample_tests=0)
    assert "its interval includes zero: no measure ranks the gain clearly" in (
        out / "report.md").read_text()


def test_spearman_interval_follows_fisher_z_and_needs_four_varying_pairs():
    x, y = [1, 2, 3, 4, 5, 6], [2, 1, 4, 3, 6, 5]
    rho, low, high, p_value = report_complexity.spearman_interval(x, y)
    assert (rho, p_value) == pytest.approx(tuple(stats.spearmanr(x, y)))
    half_width = 1.959964 * np.sqrt((1 + rho**2 / 2) / 3)
    assert (low, high) == pytest.approx(np.tanh(np.arctanh(rho) + np.array([-1, 1]) * half_width))
    assert all(np.isnan(report_complexity.spearman_interval([1, 2, 3], [3, 1, 2])))
    assert all(np.isnan(report_complexity.spearman_interval([1, 1, 1, 1], [1, 2, 3, 4])))
