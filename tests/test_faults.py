"""Faults inside a study: a diverged GAN, a training fold of one class. The unit is recorded
as failed with its reason, the other units run, the report lists the failures."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing

import numpy as np
import pytest

from gan_oversampling.errors import UserError
from gan_oversampling.gan.cgan import FAMILY
from gan_oversampling.gan.loop import TrainedModels
from gan_oversampling.gan.records import LOSS_BOUND, StopRecord
from gan_oversampling.report.build import build_report
from gan_oversampling.samplers.cgan import CGANOversampler, GANDivergedError
from gan_oversampling.study.executors import InlineExecutor
from gan_oversampling.study.runner import UnitFailed, run_study
from gan_oversampling.study.spec import parse_study
from gan_oversampling.study.store import SCHEMA_VERSION, ResultsStore


def _spec(**changes):
    raw = {
        "name": "faults",
        "methods": ["none", "cgan"],
        "data": {"kind": "mnist", "rotations": [90], "sides": [4], "majority_sizes": [100],
                 "imbalance_ratios": [0.4, 0.2]},
        "evaluation": {"classifier": "logistic-regression"},
        "cgan": {"iterations": 5},
    }
    for key, value in changes.items():
        raw[key] = {**raw[key], **value} if isinstance(value, dict) else value
    return parse_study(raw, "test")


def _run(spec, db, **options):
    events = []
    with ResultsStore.open(db) as store:
        written = run_study(spec, store, InlineExecutor(threads=1), events.append, **options)
        return written, store.failed_units(spec.name), events


def test_a_diverged_gan_fails_its_units_and_the_study_goes_on(tmp_path):
    spec = _spec(cgan={"learning_rate": 1e10})
    written, failed, events = _run(spec, tmp_path / "r.sqlite")
    assert written == 2  # both baselines
    assert set(failed) == {("rot90-side4-n100-ir0.4", "cgan"), ("rot90-side4-n100-ir0.2", "cgan")}
    assert all("diverged at iteration" in reason for reason in failed.values())
    assert [e.method for e in events if isinstance(e, UnitFailed)] == ["cgan", "cgan"]
    with closing(sqlite3.connect(tmp_path / "r.sqlite")) as connection:
        methods = {row[0] for row in connection.execute("SELECT method FROM results")}
    assert methods == {"none"}  # no row of a broken generator was scored

    out = build_report(tmp_path / "r.sqlite", tmp_path / "report", n_sample_tests=0)
    markdown = (out / "report.md").read_text()
    assert "## Failed units" in markdown and "2 units could not be computed" in markdown
    assert "diverged at iteration" in markdown


def test_failed_units_are_skipped_on_resume_and_retried_on_request(tmp_path):
    spec = _spec(cgan={"learning_rate": 1e10})
    _run(spec, tmp_path / "r.sqlite")
    written, failed, events = _run(spec, tmp_path / "r.sqlite")
    assert written == 0 and events[0].n_pending == 0 and events[0].n_failed_before == 2
    written, failed, events = _run(spec, tmp_path / "r.sqlite", retry_failed=True)
    assert events[0].n_pending == 2 and len(failed) == 2  # the same seed fails the same way


def test_losses_beyond_the_bound_are_divergence():
    losses = np.full((2, 6, 3), 0.7, dtype=np.float32)
    losses[1, 3, 2] = 1e25  # finite, but no training any more
    stops = (StopRecord(6, "fixed", 6), StopRecord(6, "fixed", 6))
    trained = TrainedModels(FAMILY, None, losses, 0.0, None, stops)
    assert trained.divergence(0) is None
    reason = trained.divergence(1)
    assert reason.startswith("diverged at iteration 4 (generator loss 1e+25")
    assert f"beyond {LOSS_BOUND:g}" in reason


def test_the_sampler_refuses_to_return_rows_of_a_diverged_gan():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 4)), np.array([0] * 30 + [1] * 10)
    with pytest.raises(GANDivergedError, match="diverged at iteration"):
        CGANOversampler(iterations=5, learning_rate=1e10, random_state=0).fit_resample(X, y)


def test_a_training_fold_of_one_class_fails_with_its_reason(tmp_path):
    # n 100, ratio 0.01: one minority row, so unstratified KFold leaves one training fold
    # without it.
    spec = _spec(methods=["none"], data={"imbalance_ratios": [0.01, 0.4]})
    written, failed, _ = _run(spec, tmp_path / "r.sqlite")
    assert written == 1
    [reason] = failed.values()
    assert "holds only the majority class" in reason and "stratified" in reason


def test_checks_before_writing_leave_no_file(tmp_path):
    spec = _spec(evaluation={"cv": "stratified", "n_splits": 5},
                 data={"imbalance_ratios": [0.04]})  # 4 minority rows for 5 folds
    from gan_oversampling.study.runner import check_study

    with pytest.raises(UserError, match="test rot90-side4-n100-ir0.04: stratified folds"):
        check_study(spec)


def test_changed_settings_name_the_fields_that_differ(tmp_path):
    _run(_spec(methods=["none"]), tmp_path / "r.sqlite")
    with pytest.raises(UserError) as caught:
        _run(_spec(methods=["none"], seed=3, cgan={"iterations": 7}), tmp_path / "r.sqlite")
    message = str(caught.value)
    assert "cgan.iterations (5 stored, 7 now)" in message and "seed (0 stored, 3 now)" in message


def test_a_version_one_database_is_upgraded_in_place(tmp_path):
    db = tmp_path / "old.sqlite"
    _run(_spec(methods=["none"]), db)
    with closing(sqlite3.connect(db)) as connection, connection:
        connection.execute("DROP TABLE faults")
        connection.execute("DROP TABLE sample_columns")
        connection.execute("PRAGMA user_version = 1")
    with ResultsStore.open(db, readonly=True) as store:  # read as it is
        assert store.failed_units("faults") == {} and len(store.done_units("faults")) == 2
        assert store.sample_columns("faults") == {}
    written, failed, events = _run(_spec(methods=["none"]), db)  # resumes
    assert events[0].n_done == 2 and written == 0 and failed == {}
    with closing(sqlite3.connect(db)) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
        assert connection.execute("SELECT count(*) FROM faults").fetchone()[0] == 0
        assert connection.execute("SELECT count(*) FROM sample_columns").fetchone()[0] == 0


def test_register_study_checks_and_inserts_in_one_transaction(tmp_path):
    db = tmp_path / "r.sqlite"
    with ResultsStore.open(db) as store:
        store.register_study("s", "h1", json.dumps({"seed": 0}))
        store._db.execute("PRAGMA busy_timeout = 0")
        with closing(sqlite3.connect(db)) as other:
            other.execute("BEGIN IMMEDIATE")  # another program writing
            with pytest.raises(UserError, match="database is locked: another program holds"):
                store.register_study("t", "h1", "{}")
            other.rollback()
        store.register_study("s", "h1", json.dumps({"seed": 0}))


def test_foreign_and_empty_files_are_refused_without_a_change(tmp_path):
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    with pytest.raises(UserError, match="is empty: not a gan-oversampling results database"):
        ResultsStore.open(empty, readonly=True)
    assert empty.stat().st_size == 0
    theirs = tmp_path / "theirs.sqlite"
    with closing(sqlite3.connect(theirs)) as connection:
        connection.execute("PRAGMA user_version = 7")  # no tables, but marked as theirs
    size = theirs.stat().st_size
    with pytest.raises(UserError, match="not a gan-oversampling results database"):
        ResultsStore.open(theirs)
    with closing(sqlite3.connect(theirs)) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == 7
    assert theirs.stat().st_size == size
