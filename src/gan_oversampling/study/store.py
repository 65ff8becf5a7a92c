"""The results store: one SQLite file, one committed transaction per finished unit.

A unit is one (study, test, method): every fold's scores, its timings, a few generated
rows and the GAN losses. It is written in a single transaction, so an interrupted run
(Ctrl-C, kill -9) leaves either the whole unit or nothing, and a re-run skips it. A unit
that cannot be computed (a diverged GAN, a fold a classifier cannot be fitted on) is
recorded in `faults` with its reason instead; a re-run skips it too unless told to retry.
The data complexity measures of each test are kept in `complexity`, one row per measure.

One run writes at a time (`dbfile.RunLock`); readers (`open(..., readonly=True)`) never
write, so a read-only results file can be reported.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from gan_oversampling.errors import UserError
from gan_oversampling.study import fold_table, gan_stops, quality_table
from gan_oversampling.study.dbfile import RunLock, describe, mapped_errors, settings_diff
from gan_oversampling.study.records import LEGACY_LOSS_NAMES, SCHEMA, UnitFailure, UnitResult

APPLICATION_ID = 0x47414E4F  # "GANO": marks a file as one of our results databases
# 2 added `faults`; 3 `sample_columns`, `complexity`, `gan_stops` and `fold_metrics` (with
# its columns in the `results` view, see fold_table.py); 4 `generated_quality` (the
# quality of each fold's generated rows, see quality_table.py) and `loss_columns` (the
# names of a unit's losses: generator families report different ones). An older file gets
# the tables it lacks when a run opens it, nothing else changes; an older version refuses
# a file of schema 4, whose losses it could not read.
SCHEMA_VERSION = 4

class ResultsStore:
    """A results database; open it with `ResultsStore.open(path)`."""

    def __init__(self, connection: sqlite3.Connection, path: Path, lock: RunLock | None = None):
        self._db = connection
        self.path = path
        self._lock = lock

    @classmethod
    def open(cls, path: str | Path, *, create: bool = True, readonly: bool = False
             ) -> ResultsStore:
        """Open (or create) a results database for a run, holding its run lock; with
        `readonly`, open an existing one for reading only (no lock, no write)."""
        path = Path(path)
        if path.is_dir():
            raise UserError(f"results database {path} is a folder, not a file")
        if readonly:
            return cls._open_readonly(path)
        is_new = not path.exists()
        if is_new:
            if not create:
                raise UserError(f"results database {path} does not exist")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise UserError(f"cannot create results database {path}: {exc}") from None
        lock = RunLock(path).acquire()
        try:
            db = sqlite3.connect(path, timeout=30.0)
            try:
                _check_ours(db, path, is_new=path.stat().st_size == 0)
                db.execute("PRAGMA foreign_keys = ON")
                db.execute("PRAGMA journal_mode = WAL")
                with db:
                    db.executescript(SCHEMA + fold_table.TABLE + fold_table.RESULTS_VIEW)
                    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            except BaseException:
                db.close()
                raise
        except BaseException as exc:
            lock.release()
            if is_new:  # a file this call created and could not make ours goes again
                for leftover in (path, *(Path(f"{path}{end}") for end in ("-wal", "-shm"))):
                    leftover.unlink(missing_ok=True)
            if isinstance(exc, sqlite3.Error):
                raise UserError(describe(exc, path)) from None
            raise
        return cls(db, path, lock)

    @classmethod
    def _open_readonly(cls, path: Path) -> ResultsStore:
        if not path.exists():
            raise UserError(f"results database {path} does not exist")
        if path.stat().st_size == 0:
            raise UserError(f"{path} is empty: not a gan-oversampling results database")
        try:
            db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0)
            try:
                _check_ours(db, path, is_new=False, readonly=True)
            except BaseException:
                db.close()
                raise
        except sqlite3.Error as exc:
            raise UserError(describe(exc, path)) from None
        return cls(db, path)

    def close(self) -> None:
        self._db.close()
        if self._lock is not None:
            self._lock.release()

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- studies -------------------------------------------------------------------------
    @mapped_errors
    def register_study(self, study: str, settings_hash: str, spec_json: str) -> None:
        """Record a study's settings; refuse to mix results of other settings under its name.

        Insert and check are one transaction, so two processes cannot both insert."""
        with self._db:
            self._db.execute(
                "INSERT INTO studies VALUES (?, ?, ?, ?) ON CONFLICT(study) DO NOTHING",
                (study, settings_hash, spec_json, _now()),
            )
            stored_hash, stored_spec = self._db.execute(
                "SELECT settings_hash, spec FROM studies WHERE study = ?", (study,)
            ).fetchone()
        if stored_hash != settings_hash:
            differences = settings_diff(_json_or_none(stored_spec), _json_or_none(spec_json))
            raise UserError(
                f"{self.path} already holds study '{study}' run with other settings ("
                + ("; ".join(differences) if differences else "settings differ")
                + "); use another --db or give the study another name"
            )

    @mapped_errors
    def studies(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT study FROM studies ORDER BY created_at")]

    @mapped_errors
    def study_spec(self, study: str) -> dict:
        row = self._db.execute("SELECT spec FROM studies WHERE study = ?", (study,)).fetchone()
        if row is None:
            raise UserError(f"{self.path} holds no study '{study}'")
        return json.loads(row[0])

    # -- units ---------------------------------------------------------------------------
    @mapped_errors
    def done_units(self, study: str) -> set[tuple[str, str]]:
        rows = self._db.execute("SELECT test_key, method FROM units WHERE study = ?", (study,))
        return {(key, method) for key, method in rows}

    @mapped_errors
    def failed_units(self, study: str) -> dict[tuple[str, str], str]:
        """(test_key, method) -> reason, for every unit of `study` recorded as failed."""
        if not self._has_table("faults"):  # a version-1 file opened read-only
            return {}
        rows = self._db.execute(
            "SELECT test_key, method, reason FROM faults WHERE study = ? ORDER BY rowid",
            (study,),
        )
        return {(key, method): reason for key, method, reason in rows}

    @mapped_errors
    def failures_frame(self, study: str) -> pd.DataFrame:
        """One row per failed unit: test_key, method, reason, failed_at, then the factors."""
        if not self._has_table("faults"):
            return pd.DataFrame(columns=["test_key", "method", "reason", "failed_at"])
        frame = pd.read_sql_query(
            "SELECT test_key, method, reason, failed_at, factors FROM faults WHERE study = ?"
            " ORDER BY rowid", self._db, params=(study,),
        )
        factors = pd.DataFrame([json.loads(text) for text in frame["factors"]], index=frame.index)
        return pd.concat([frame.drop(columns=["factors"]), factors], axis=1)

    @mapped_errors
    def write_failure(self, failure: UnitFailure) -> None:
        """Record a unit that could not be computed (replacing an older record of it)."""
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO faults VALUES (?, ?, ?, ?, ?, ?)",
                (failure.study, failure.test_key, failure.method, json.dumps(failure.factors),
                 failure.reason, _now()),
            )
            gan_stops.write(self._db, failure.study, failure.test_key, failure.method,
                            failure.stops)

    @mapped_errors
    def write_unit(self, unit: UnitResult) -> None:
        """Write one finished unit in a single transaction (all of it or none of it)."""
        with self._db:
            # A unit retried after a failure is no longer failed.
            self._db.execute(
                "DELETE FROM faults WHERE study = ? AND test_key = ? AND method = ?",
                (unit.study, unit.test_key, unit.method),
            )
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
            if unit.samples and unit.sample_columns is not None:
                self._db.execute("INSERT INTO sample_columns VALUES (?, ?)",
                                 (unit_id, json.dumps(unit.sample_columns)))
            self._db.executemany(fold_table.INSERT, fold_table.rows(unit_id, unit.fold_metrics))
            self._db.executemany(
                "INSERT INTO losses VALUES (?, ?, ?, ?)",
                [
                    (unit_id, fold, curve.shape[0],
                     np.ascontiguousarray(curve, dtype=np.float32).tobytes())
                    for fold, curve in unit.losses.items()
                ],
            )
            if unit.losses and unit.loss_names:
                self._db.execute("INSERT INTO loss_columns VALUES (?, ?)",
                                 (unit_id, json.dumps(list(unit.loss_names))))
            gan_stops.write(self._db, unit.study, unit.test_key, unit.method, unit.stops)
            quality_table.write(self._db, unit_id, unit.quality)

    # -- complexity measures -------------------------------------------------------------
    @mapped_errors
    def write_measures(self, study: str, test_key: str, measured: list) -> None:
        """One test's complexity measures (`difficulty.complexity.Measured`), in one
        transaction; NaN (not computable) is stored as NULL."""
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO complexity VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(study, test_key, m.measure, m.value if np.isfinite(m.value) else None,
                  m.seconds, m.n_rows, _now()) for m in measured],
            )

    @mapped_errors
    def complexity_frame(self, study: str) -> pd.DataFrame:
        """One row per (test, measure): test_key, measure, value (NaN: not computable),
        seconds, n_rows; empty for a file older than the table, opened read-only."""
        columns = ["test_key", "measure", "value", "seconds", "n_rows"]
        if not self._has_table("complexity"):
            return pd.DataFrame(columns=columns)
        return pd.read_sql_query(
            f"SELECT {', '.join(columns)} FROM complexity WHERE study = ? ORDER BY rowid",
            self._db, params=(study,), dtype={"value": float})

    # -- reading -------------------------------------------------------------------------
    def _has_table(self, name: str) -> bool:
        query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return self._db.execute(query, (name,)).fetchone() is not None

    @mapped_errors
    def scores_frame(self, study: str | None = None) -> pd.DataFrame:
        """One row per (test, method, fold, class), each factor a column of its own, and
        the fold-level scores (NaN where there are none)."""
        query = "SELECT * FROM results"
        params: tuple = ()
        if study is not None:
            query += " WHERE study = ?"
            params = (study,)
        frame = pd.read_sql_query(query + " ORDER BY rowid", self._db, params=params)
        frame = fold_table.with_every_metric(frame)
        if frame.empty:
            return frame
        factors = pd.DataFrame([json.loads(text) for text in frame["factors"]], index=frame.index)
        # A study crossing classifiers has a `classifier` factor: the unit's column.
        factors = factors.drop(columns=[name for name in factors if name in frame.columns])
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

    @mapped_errors
    def sample_columns(self, study: str) -> dict[str, list[dict]]:
        """test_key -> how its sample rows decode to the table's columns, where stored."""
        if not self._has_table("sample_columns"):  # an older file opened read-only
            return {}
        rows = self._db.execute(
            "SELECT u.test_key, c.columns FROM sample_columns c JOIN units u USING(unit_id)"
            " WHERE u.study = ? ORDER BY u.unit_id", (study,),
        )
        return {key: json.loads(text) for key, text in rows}

    def stops_frame(self, study: str) -> pd.DataFrame:
        """How every GAN of `study` stopped (see `gan_stops.read`); empty for a results file
        written before version 3 and opened read-only."""
        if not self._has_table("gan_stops"):
            return gan_stops.empty_frame()
        return gan_stops.read(self._db, study)

    @mapped_errors
    def quality_frame(self, study: str) -> pd.DataFrame:
        """The quality of the generated rows of every fold of `study` that has it (see
        `quality_table.read`); empty for an older results file opened read-only."""
        if not self._has_table("generated_quality"):
            return quality_table.empty_frame()
        return quality_table.read(self._db, study)

    def all_losses(self, study: str, method: str
                   ) -> Iterator[tuple[str, int, np.ndarray, tuple[str, ...]]]:
        """(test_key, fold, losses (iterations, L), the L names) of every stored model of
        `method`."""
        rows = self._db.execute(
            f"SELECT u.test_key, l.fold, l.iterations, l.data, {self._names_column()}"
            f" FROM losses l JOIN units u USING(unit_id) {self._names_join()}"
            " WHERE u.study = ? AND u.method = ? ORDER BY u.unit_id, l.fold", (study, method),
        )
        for key, fold, iterations, blob, names in rows:
            names = _loss_names(names)
            yield key, fold, _decode(blob, iterations, len(names)), names

    @mapped_errors
    def losses(self, study: str, test_key: str, method: str) -> dict[int, np.ndarray]:
        """Fold -> losses (iterations, L) of one unit; `loss_names` says what they are."""
        rows = self._db.execute(
            f"SELECT l.fold, l.iterations, l.data, {self._names_column()} FROM losses l"
            f" JOIN units u USING(unit_id) {self._names_join()}"
            " WHERE u.study = ? AND u.test_key = ? AND u.method = ? ORDER BY l.fold",
            (study, test_key, method),
        )
        return {fold: _decode(blob, iters, len(_loss_names(names)))
                for fold, iters, blob, names in rows}

    @mapped_errors
    def loss_names(self, study: str, test_key: str, method: str) -> tuple[str, ...]:
        """The names of one unit's stored losses (the CGAN's for a file of schema 3)."""
        if not self._has_table("loss_columns"):
            return LEGACY_LOSS_NAMES
        row = self._db.execute(
            "SELECT c.names FROM loss_columns c JOIN units u USING(unit_id)"
            " WHERE u.study = ? AND u.test_key = ? AND u.method = ?",
            (study, test_key, method),
        ).fetchone()
        return _loss_names(row[0] if row else None)

    def _names_column(self) -> str:
        return "c.names" if self._has_table("loss_columns") else "NULL"

    def _names_join(self) -> str:
        return "LEFT JOIN loss_columns c USING(unit_id)" if self._has_table("loss_columns") \
            else ""


def _loss_names(stored: str | None) -> tuple[str, ...]:
    return tuple(json.loads(stored)) if stored else LEGACY_LOSS_NAMES


def _decode(blob: bytes, n_rows: int, n_columns: int) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32).reshape(n_rows, n_columns)


def _check_ours(db: sqlite3.Connection, path: Path, *, is_new: bool, readonly: bool = False
                ) -> None:
    """UserError unless `path` is a new file, one of our databases, or (to be written) an
    empty SQLite file that no other program has marked as its own."""
    with closing(db.execute("PRAGMA application_id")) as cursor:
        application_id = cursor.fetchone()[0]
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if is_new or application_id == APPLICATION_ID:
        if not is_new and version > SCHEMA_VERSION:
            raise UserError(f"{path} was written by a newer gan-oversampling (schema {version})")
        return
    tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    if readonly or application_id != 0 or version != 0 or tables > 0:
        raise UserError(f"{path} is not a gan-oversampling results database")


def _json_or_none(text: str) -> object:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
