"""The results store: one SQLite file, one committed transaction per finished unit.

A unit is one (study, test, method): every fold's scores, its timings, a few generated
rows and the GAN losses. It is written in a single transaction, so an interrupted run
(Ctrl-C, kill -9) leaves either the whole unit or nothing, and a re-run skips it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from gan_oversampling.errors import UserError

APPLICATION_ID = 0x47414E4F  # "GANO": marks a file as one of our results databases
SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS studies(
    study TEXT PRIMARY KEY,
    settings_hash TEXT NOT NULL,
    spec TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS units(
    unit_id INTEGER PRIMARY KEY,
    study TEXT NOT NULL REFERENCES studies(study),
    test_key TEXT NOT NULL,
    method TEXT NOT NULL,
    source TEXT NOT NULL,
    factors TEXT NOT NULL,
    seed INTEGER NOT NULL,
    iterations INTEGER,
    classifier TEXT NOT NULL,
    cv TEXT NOT NULL,
    fit_seconds REAL NOT NULL,
    eval_seconds REAL NOT NULL,
    versions TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    UNIQUE(study, test_key, method)
);
CREATE TABLE IF NOT EXISTS scores(
    unit_id INTEGER NOT NULL REFERENCES units(unit_id) ON DELETE CASCADE,
    fold INTEGER NOT NULL,
    class_label INTEGER NOT NULL,
    class_role TEXT NOT NULL,
    precision REAL NOT NULL,
    recall REAL NOT NULL,
    f1 REAL NOT NULL,
    support INTEGER NOT NULL,
    PRIMARY KEY(unit_id, fold, class_label)
);
CREATE TABLE IF NOT EXISTS samples(
    unit_id INTEGER NOT NULL REFERENCES units(unit_id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    class_label INTEGER NOT NULL,
    n_rows INTEGER NOT NULL,
    n_features INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY(unit_id, kind, class_label)
);
CREATE TABLE IF NOT EXISTS losses(
    unit_id INTEGER NOT NULL REFERENCES units(unit_id) ON DELETE CASCADE,
    fold INTEGER NOT NULL,
    iterations INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY(unit_id, fold)
);
CREATE VIEW IF NOT EXISTS results AS
    SELECT u.study, u.test_key, u.method, u.source, u.factors, u.seed, u.iterations,
           u.classifier, u.cv, u.fit_seconds, u.eval_seconds, u.versions, u.finished_at,
           s.fold, s.class_label, s.class_role, s.precision, s.recall, s.f1, s.support
    FROM scores s JOIN units u USING(unit_id);
"""


@dataclass
class UnitResult:
    """Everything a finished unit writes: per-fold, per-class scores and what explains them."""

    study: str
    test_key: str
    method: str
    source: str
    factors: dict
    seed: int
    iterations: int | None
    classifier: str
    cv: str
    fit_seconds: float
    eval_seconds: float
    versions: dict
    scores: list[dict]  # fold, class_label, class_role, precision, recall, f1, support
    samples: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)  # (kind, label)
    losses: dict[int, np.ndarray] = field(default_factory=dict)  # fold -> (iterations, 3)


class ResultsStore:
    """A results database; open it with `ResultsStore.open(path)`."""

    def __init__(self, connection: sqlite3.Connection, path: Path):
        self._db = connection
        self.path = path

    @classmethod
    def open(cls, path: str | Path, *, create: bool = True) -> ResultsStore:
        path = Path(path)
        if not path.exists():
            if not create:
                raise UserError(f"results database {path} does not exist")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise UserError(f"cannot create results database {path}: {exc}") from None
        elif path.is_dir():
            raise UserError(f"results database {path} is a folder, not a file")
        try:
            db = sqlite3.connect(path, timeout=30.0)
            _check_ours(db, path, is_new=path.stat().st_size == 0)
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA journal_mode = WAL")
            with db:
                db.executescript(SCHEMA)
                db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise UserError(f"{path} is not a gan-oversampling results database ({exc})") from None
        return cls(db, path)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- studies -------------------------------------------------------------------------
    def register_study(self, study: str, settings_hash: str, spec_json: str) -> None:
        """Record a study's settings; refuse to mix results of other settings under its name."""
        row = self._db.execute(
            "SELECT settings_hash FROM studies WHERE study = ?", (study,)
        ).fetchone()
        if row is None:
            with self._db:
                self._db.execute(
                    "INSERT INTO studies VALUES (?, ?, ?, ?)",
                    (study, settings_hash, spec_json, _now()),
                )
        elif row[0] != settings_hash:
            raise UserError(
                f"{self.path} already holds study '{study}' run with other settings; "
                "use another --db or give the study another name"
            )

    def studies(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT study FROM studies ORDER BY created_at")]

    def study_spec(self, study: str) -> dict:
        row = self._db.execute("SELECT spec FROM studies WHERE study = ?", (study,)).fetchone()
        if row is None:
            raise UserError(f"{self.path} holds no study '{study}'")
        return json.loads(row[0])

    # -- units ---------------------------------------------------------------------------
    def done_units(self, study: str) -> set[tuple[str, str]]:
        rows = self._db.execute("SELECT test_key, method FROM units WHERE study = ?", (study,))
        return {(key, method) for key, method in rows}

    def write_unit(self, unit: UnitResult) -> None:
        """Write one finished unit in a single transaction (all of it or none of it)."""
        with self._db:
            cursor = self._db.execute(
                "INSERT INTO units(study, test_key, method, source, factors, seed, iterations,"
                " classifier, cv, fit_seconds, eval_seconds, versions, finished_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    unit.study, unit.test_key, unit.method, unit.source,
                    json.dumps(unit.factors), unit.seed, unit.iterations, unit.classifier,
                    unit.cv, unit.fit_seconds, unit.eval_seconds, json.dumps(unit.versions),
                    _now(),
                ),
            )
            unit_id = cursor.lastrowid
            self._db.executemany(
                "INSERT INTO scores VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (unit_id, s["fold"], int(s["class_label"]), s["class_role"],
                     float(s["precision"]), float(s["recall"]), float(s["f1"]),
                     int(s["support"]))
                    for s in unit.scores
                ],
            )
            self._db.executemany(
                "INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (unit_id, kind, int(label), rows.shape[0], rows.shape[1],
                     np.ascontiguousarray(rows, dtype=np.float32).tobytes())
                    for (kind, label), rows in unit.samples.items()
                ],
            )
            self._db.executemany(
                "INSERT INTO losses VALUES (?, ?, ?, ?)",
                [
                    (unit_id, fold, curve.shape[0],
                     np.ascontiguousarray(curve, dtype=np.float32).tobytes())
                    for fold, curve in unit.losses.items()
                ],
            )

    # -- reading -------------------------------------------------------------------------
    def scores_frame(self, study: str | None = None) -> pd.DataFrame:
        """One row per (test, method, fold, class), with each factor as its own column."""
        query = "SELECT * FROM results"
        params: tuple = ()
        if study is not None:
            query += " WHERE study = ?"
            params = (study,)
        frame = pd.read_sql_query(query + " ORDER BY rowid", self._db, params=params)
        if frame.empty:
            return frame
        factors = pd.DataFrame([json.loads(text) for text in frame["factors"]], index=frame.index)
        return pd.concat([frame.drop(columns=["factors"]), factors], axis=1)

    def samples(self, study: str) -> Iterator[tuple[str, str, str, int, np.ndarray]]:
        """(test_key, method, kind, class_label, rows) for every stored sample set."""
        rows = self._db.execute(
            "SELECT u.test_key, u.method, s.kind, s.class_label, s.n_rows, s.n_features, s.data"
            " FROM samples s JOIN units u USING(unit_id) WHERE u.study = ? ORDER BY u.unit_id",
            (study,),
        )
        for key, method, kind, label, n_rows, n_features, blob in rows:
            yield key, method, kind, label, _decode(blob, n_rows, n_features)

    def losses(self, study: str, test_key: str, method: str) -> dict[int, np.ndarray]:
        rows = self._db.execute(
            "SELECT l.fold, l.iterations, l.data FROM losses l JOIN units u USING(unit_id)"
            " WHERE u.study = ? AND u.test_key = ? AND u.method = ? ORDER BY l.fold",
            (study, test_key, method),
        )
        return {fold: _decode(blob, iters, 3) for fold, iters, blob in rows}


def _decode(blob: bytes, n_rows: int, n_columns: int) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32).reshape(n_rows, n_columns)


def _check_ours(db: sqlite3.Connection, path: Path, *, is_new: bool) -> None:
    with closing(db.execute("PRAGMA application_id")) as cursor:
        application_id = cursor.fetchone()[0]
    if is_new or application_id == APPLICATION_ID:
        if not is_new:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise UserError(
                    f"{path} was written by a newer gan-oversampling (schema {version})"
                )
        return
    tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    if application_id != 0 or tables > 0:
        raise UserError(f"{path} is not a gan-oversampling results database")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
