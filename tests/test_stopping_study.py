"""Stopping rules seen from outside the trainer: the imbalanced-learn sampler, a study's
results store (`gan_stops`) and the report's account of how the GANs trained."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from gan_oversampling.gan.cgan import CGANConfig
from gan_oversampling.gan.records import StopRecord
from gan_oversampling.report import training
from gan_oversampling.report.build import build_report
from gan_oversampling.samplers.base import TrainingFold
from gan_oversampling.samplers.cgan import CGANOversampler, resample_cgan
from gan_oversampling.study.executors import InlineExecutor
from gan_oversampling.study.records import UnitFailure, UnitResult
from gan_oversampling.study.runner import run_study
from gan_oversampling.study.spec import parse_study
from gan_oversampling.study.store import SCHEMA_VERSION, ResultsStore

SMALL = CGANConfig(latent_dim=8, generator_hidden=(16, 16, 16),
                   discriminator_hidden=(16, 16, 16), device="cpu")
PATIENCE = dict(stopping="patience", oracle="cas-real", iterations=20, eval_every=5, patience=1)


# Tiny products parallelise badly, and stall on a busy machine (see the README).
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _imbalanced(n_majority=40, n_minority=12, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], [n_majority, n_minority])
    return rng.uniform(-1, 1, (len(y), 4)) + y[:, None] * 0.5, y


# ---------------------------------------------------------------- the sampler


def test_the_sampler_stops_with_patience_and_says_how():
    X, y = _imbalanced()
    sampler = CGANOversampler(config=SMALL, random_state=0, **PATIENCE)
    X_res, y_res = sampler.fit_resample(X, y)
    assert np.bincount(y_res).tolist() == [40, 40]
    stop = sampler.stop_
    assert stop.reason in ("patience", "maximum") and stop.oracle == "cas-real"
    assert sampler.losses_.shape == (stop.iterations, 3)
    assert [iteration for iteration, _ in stop.curve] == list(range(5, stop.iterations + 1, 5))
    assert stop.best_iteration in [iteration for iteration, _ in stop.curve]
    again = CGANOversampler(config=SMALL, random_state=0, **PATIENCE).fit_resample(X, y)[0]
    np.testing.assert_array_equal(X_res, again)
    fixed = CGANOversampler(config=SMALL, random_state=0, iterations=20)
    fixed.fit_resample(X, y)
    assert (fixed.stop_.reason, fixed.stop_.iterations, fixed.stop_.curve) == ("fixed", 20, [])


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(stopping="early"), "stopping"),
        (dict(stopping="patience", oracle="fid"), "oracle"),
        (dict(stopping="patience", patience=0), "patience"),
        (dict(stopping="patience", patience=True), "patience"),
        (dict(stopping="patience", holdout=0.9), "holdout"),
        (dict(stopping="patience", min_iterations=-1), "min_iterations"),
        (dict(adam_step="both"), "adam_step"),
        (dict(oracle="c2st"), "applies only with stopping = 'patience'"),
        (dict(stopping="patience", iterations=10), "exceeds iterations"),
    ],
)
def test_bad_stopping_parameters_raise_sklearns_parameter_error(params, message):
    X, y = _imbalanced()
    with pytest.raises(InvalidParameterError, match=message):
        CGANOversampler(config=SMALL, random_state=0, **params).fit_resample(X, y)


def test_too_few_minority_rows_to_hold_out_is_a_value_error():
    X, y = _imbalanced(n_minority=1)
    with pytest.raises(ValueError, match="at least 2 rows of each oversampled class"):
        CGANOversampler(config=SMALL, random_state=0, **PATIENCE).fit_resample(X, y)


def test_progress_counts_every_iteration_also_when_gans_stop_early():
    folds = [TrainingFold(*_imbalanced(seed=k), {1: 28}, (k, k + 1)) for k in range(2)]
    config = SMALL.model_copy(update={**PATIENCE, "iterations": 40})
    work: list[float] = []
    result = resample_cgan(folds, config, [0, 1], work.append)
    assert sum(work) == pytest.approx(2 * 40 / 100)  # the work the plan counted
    assert all(fold.stop is not None for fold in result.folds)


# ---------------------------------------------------------------- the results store


def _unit(key: str, generator_losses: np.ndarray, stops: dict) -> UnitResult:
    losses = np.column_stack([np.full_like(generator_losses, 0.6)] * 2 + [generator_losses])
    return UnitResult(
        study="s", test_key=key, method="cgan", source="cyber", factors={"n_majority": 100},
        seed=0, iterations=100, classifier="knn", cv="stratified-5", fit_seconds=1.0,
        eval_seconds=0.1, versions={}, scores=[], losses={0: losses.astype(np.float32)},
        stops=stops)


def test_stops_of_finished_and_failed_units_are_stored_with_their_factors(tmp_path):
    curve = [(50, 0.25), (100, 0.5)]
    kept = StopRecord(100, "maximum", 100, "mmd", curve)
    broken = StopRecord(3, "diverged", 0, "mmd", [], "diverged at iteration 3 (x)")
    with ResultsStore.open(tmp_path / "r.sqlite") as store:
        store.register_study("s", "h", "{}")
        store.write_unit(_unit("t1", np.full(100, 0.7), {0: kept}))
        store.write_failure(UnitFailure("s", "t2", "cgan", {"n_majority": 200}, "fold 0: x",
                                        {0: broken}))
        stops = store.stops_frame("s")
    assert stops[["test_key", "stop_iteration", "reason", "n_majority"]].values.tolist() == [
        ["t1", 100, "maximum", 100], ["t2", 3, "diverged", 200]]
    assert stops.loc[0, "curve"] == [[50, 0.25], [100, 0.5]]
    assert stops.loc[1, "detail"] == "diverged at iteration 3 (x)"


def test_a_version_two_database_gets_the_stops_table_when_a_run_opens_it(tmp_path):
    db = tmp_path / "old.sqlite"
    with ResultsStore.open(db) as store:
        store.register_study("s", "h", "{}")
        store.write_unit(_unit("t1", np.full(10, 0.7), {}))
    with closing(sqlite3.connect(db)) as connection, connection:
        connection.execute("DROP TABLE gan_stops")
        connection.execute("PRAGMA user_version = 2")
    with ResultsStore.open(db, readonly=True) as store:  # read as it is
        assert store.stops_frame("s").empty and store.done_units("s") == {("t1", "cgan")}
    with ResultsStore.open(db) as store:
        assert store.stops_frame("s").empty
    with closing(sqlite3.connect(db)) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4


# ---------------------------------------------------------------- the report


def test_dominance_is_measured_from_the_stored_generator_losses(tmp_path):
    dominated = np.where(np.arange(100) < 80, 12.0, 0.7)  # 80% of iterations above 3.0
    with ResultsStore.open(tmp_path / "r.sqlite") as store:
        store.register_study("s", "h", "{}")
        store.write_unit(_unit("t1", dominated, {}))
        store.write_unit(_unit("t2", np.full(100, 0.7), {}))
        table = training.dominance_table(store, "s", ["cgan"])
    assert table["share_above"].tolist() == pytest.approx([0.8, 0.0])
    sentence = training.dominance_sentence(table)
    assert sentence.startswith("Warning: the discriminator dominated in 1 of 2 GANs (50%)")
    assert "in 80% of their iterations" in sentence and "generator loss of 12.0" in sentence
    calm = training.dominance_sentence(table[table["test_key"] == "t2"])
    assert calm.startswith("In no GAN did the discriminator dominate")


def _study(name: str, cgan: dict):
    return parse_study({
        "name": name, "methods": ["none", "cgan"],
        "data": {"kind": "mnist", "rotations": [90], "sides": [4], "majority_sizes": [100],
                 "imbalance_ratios": [0.4, 0.2]},
        "evaluation": {"cv": "stratified", "classifier": "logistic-regression"},
        "cgan": {"latent_dim": 8, "generator_hidden": [16, 16, 16],
                 "discriminator_hidden": [16, 16, 16], **cgan},
    }, "test")


def test_a_study_stores_every_gans_stop_and_the_report_plots_them(tmp_path):
    spec = _study("patience", {**PATIENCE, "oracle": "mmd", "iterations": 30})
    with ResultsStore.open(tmp_path / "r.sqlite") as store:
        assert run_study(spec, store, InlineExecutor(threads=1)) == 4
        stops = store.stops_frame("patience")
        losses = store.losses("patience", stops.loc[0, "test_key"], "cgan")
    assert len(stops) == 10 and set(stops["fold"]) == set(range(5))
    assert set(stops["reason"]) <= {"patience", "maximum"}
    assert set(stops["imbalance_ratio"]) == {0.4, 0.2}
    for fold, curve in losses.items():  # the stored losses end where the GAN stopped
        assert len(curve) == stops[(stops["test_key"] == stops.loc[0, "test_key"])
                                   & (stops["fold"] == fold)]["stop_iteration"].item()
    report = build_report(tmp_path / "r.sqlite", tmp_path / "report", n_sample_tests=0)
    markdown = (report / "report.md").read_text(encoding="utf-8")
    assert "## How the generators stopped" in markdown and "10 generators trained" in markdown
    assert (report / "oracle_curves.png").stat().st_size > 0
    assert "discriminator" in markdown


def test_diverged_gans_are_stored_and_counted_in_the_report(tmp_path):
    spec = _study("broken", {"iterations": 3, "learning_rate": 1e10})
    with ResultsStore.open(tmp_path / "r.sqlite") as store:
        run_study(spec, store, InlineExecutor(threads=1))
        stops = store.stops_frame("broken")
        failed = store.failed_units("broken")
    assert len(failed) == 2 and len(stops) == 10
    diverged = stops[stops["reason"] == "diverged"]
    assert len(diverged) >= 2 and diverged["detail"].str.startswith("diverged at iteration").all()
    report = build_report(tmp_path / "r.sqlite", tmp_path / "report", n_sample_tests=0)
    markdown = (report / "report.md").read_text(encoding="utf-8")
    assert f"{len(diverged)} diverged (non-finite or exploding" in markdown
