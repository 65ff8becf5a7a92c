import sqlite3

import numpy as np
import pytest

from gan_oversampling.errors import UserError
from gan_oversampling.study.records import UnitResult
from gan_oversampling.study.store import SCHEMA_VERSION, ResultsStore


def _unit(key="t1", method="none", f1=0.5):
    scores = [
        {"fold": fold, "class_label": label, "class_role": role, "precision": f1,
         "recall": f1, "f1": f1, "support": 10}
        for fold in range(2)
        for label, role in ((0, "majority"), (1, "minority"))
    ]
    return UnitResult(
        study="s", test_key=key, method=method, source="mnist",
        factors={"side": 4, "imbalance_ratio": 0.1}, seed=0, iterations=None,
        classifier="paper-mlp", cv="kfold-5", fit_seconds=1.0, eval_seconds=0.5,
        versions={"torch": "x"}, scores=scores,
        samples={("generated", 1): np.ones((3, 16), dtype=np.float32)},
        losses={0: np.zeros((7, 3), dtype=np.float32)},
    )


def test_unit_round_trip(tmp_path):
    with ResultsStore.open(tmp_path / "r.sqlite") as store:
        store.register_study("s", "h1", "{}")
        store.write_unit(_unit())
        frame = store.scores_frame("s")
        assert len(frame) == 4
        assert set(frame["class_role"]) == {"majority", "minority"}
        assert list(frame["side"]) == [4] * 4  # factors become columns
        assert store.done_units("s") == {("t1", "none")}
        [(key, method, kind, label, rows)] = list(store.samples("s"))
        assert (key, kind, label, rows.shape) == ("t1", "generated", 1, (3, 16))
        assert store.losses("s", "t1", "none")[0].shape == (7, 3)


def test_losses_keep_their_names_and_older_units_read_as_the_cgan_s(tmp_path):
    path = tmp_path / "r.sqlite"
    named = _unit(key="t2", method="wgan-gp")
    named.losses = {0: np.arange(20, dtype=np.float32).reshape(5, 4)}
    named.loss_names = ("critic loss", "gradient penalty", "generator", "auxiliary")
    with ResultsStore.open(path) as store:
        store.register_study("s", "h1", "{}")
        store.write_unit(_unit(method="cgan"))  # stored without names, as before schema 4
        store.write_unit(named)
        assert store.loss_names("s", "t2", "wgan-gp") == named.loss_names
        np.testing.assert_array_equal(store.losses("s", "t2", "wgan-gp")[0], named.losses[0])
        assert store.loss_names("s", "t1", "cgan")[2] == "generator loss"
        [(key, fold, losses, names)] = list(store.all_losses("s", "wgan-gp"))
        assert (key, fold, losses.shape, names) == ("t2", 0, (5, 4), named.loss_names)
    with sqlite3.connect(path) as db:  # a file of schema 3 has no loss_columns at all
        db.execute("DROP TABLE loss_columns")
    with ResultsStore.open(path, readonly=True) as store:
        assert store.losses("s", "t1", "cgan")[0].shape == (7, 3)
        assert len(store.loss_names("s", "t2", "wgan-gp")) == 3


def test_reopen_keeps_units_and_refuses_other_settings(tmp_path):
    path = tmp_path / "r.sqlite"
    with ResultsStore.open(path) as store:
        store.register_study("s", "h1", "{}")
        store.write_unit(_unit())
    with ResultsStore.open(path) as store:
        store.register_study("s", "h1", "{}")  # same settings: fine
        assert store.done_units("s") == {("t1", "none")}
        with pytest.raises(UserError, match="other settings"):
            store.register_study("s", "h2", "{}")


def test_a_unit_is_written_whole_or_not_at_all(tmp_path):
    with ResultsStore.open(tmp_path / "r.sqlite") as store:
        store.register_study("s", "h1", "{}")
        store.write_unit(_unit())
        broken = _unit(key="t2")
        broken.scores.append(dict(broken.scores[0]))  # duplicate primary key mid-unit
        with pytest.raises(sqlite3.IntegrityError):
            store.write_unit(broken)
        assert store.done_units("s") == {("t1", "none")}
        assert len(store.scores_frame("s")) == 4
        with pytest.raises(sqlite3.IntegrityError):  # the same unit twice is refused
            store.write_unit(_unit())


def test_foreign_files_are_refused(tmp_path):
    text = tmp_path / "notes.sqlite"
    text.write_text("hello, this is not a database at all" * 40)
    with pytest.raises(UserError, match="not a gan-oversampling results database"):
        ResultsStore.open(text)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE customers(id INTEGER)")
    with pytest.raises(UserError, match="not a gan-oversampling results database"):
        ResultsStore.open(other)
    with sqlite3.connect(other) as db:  # untouched
        assert db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 1


def test_missing_database_and_folder(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        ResultsStore.open(tmp_path / "absent.sqlite", create=False)
    with ResultsStore.open(tmp_path / "new" / "folder" / "r.sqlite") as store:
        assert store.path.parent.is_dir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="cannot create"):
        ResultsStore.open(tmp_path / "file" / "r.sqlite")
    with pytest.raises(UserError, match="is a folder"):
        ResultsStore.open(tmp_path)


# -- schema 3: the fold-level scores ---------------------------------------------------------
# The `results` view as schema 2 wrote it, before the fold-level scores.
SCHEMA_2_VIEW = """
DROP VIEW results;
CREATE VIEW results AS
    SELECT u.study, u.test_key, u.method, u.source, u.factors, u.seed, u.iterations,
           u.classifier, u.cv, u.fit_seconds, u.eval_seconds, u.versions, u.finished_at,
           s.fold, s.class_label, s.class_role, s.precision, s.recall, s.f1, s.support
    FROM scores s JOIN units u USING(unit_id);
DROP TABLE fold_metrics;
PRAGMA user_version = 2;
"""
METRICS = ("pr_auc", "roc_auc", "balanced_accuracy", "mcc", "g_mean", "brier", "ece")


def _with_fold_metrics(unit: UnitResult, value: float) -> UnitResult:
    unit.fold_metrics = [{"fold": fold, **dict.fromkeys(METRICS, value), "brier": np.nan}
                         for fold in range(2)]
    return unit


def _schema_2_file(path):
    """A results file as schema 2 left it: one unit, no fold-level scores anywhere."""
    with ResultsStore.open(path) as store:
        store.register_study("s", "h1", "{}")
        store.write_unit(_unit())
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA_2_VIEW)


def test_fold_metrics_round_trip_with_null_for_what_was_not_computed(tmp_path):
    with ResultsStore.open(tmp_path / "r.sqlite") as store:
        store.register_study("s", "h1", "{}")
        store.write_unit(_with_fold_metrics(_unit(), 0.75))
        frame = store.scores_frame("s")
    assert (frame[[m for m in METRICS if m != "brier"]] == 0.75).all().all()
    assert frame["brier"].isna().all()  # NaN is stored as NULL and read back as NaN
    with sqlite3.connect(tmp_path / "r.sqlite") as db:
        nulls = db.execute("SELECT count(*) FROM fold_metrics WHERE brier IS NULL").fetchone()
    assert nulls == (2,)


def test_a_schema_2_file_gains_the_fold_scores_when_a_run_opens_it(tmp_path):
    path = tmp_path / "old.sqlite"
    _schema_2_file(path)
    with ResultsStore.open(path, readonly=True) as store:  # read-only: read, never migrated
        old = store.scores_frame("s")
    assert old[list(METRICS)].isna().all().all() and len(old) == 4
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (2,)
    with ResultsStore.open(path) as store:
        store.register_study("s", "h1", "{}")
        assert store.done_units("s") == {("t1", "none")}  # the old unit still counts
        store.write_unit(_with_fold_metrics(_unit(key="t2"), 0.5))
        frame = store.scores_frame("s")
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    before, after = frame[frame["test_key"] == "t1"], frame[frame["test_key"] == "t2"]
    assert before[list(METRICS)].isna().all().all()  # old rows: NULL
    assert (after["mcc"] == 0.5).all() and after["brier"].isna().all()
    assert before["f1"].tolist() == old["f1"].tolist()  # the old scores are untouched


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "new.sqlite"
    with ResultsStore.open(path):
        pass
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 5")
    with pytest.raises(UserError, match="written by a newer gan-oversampling"):
        ResultsStore.open(path)
