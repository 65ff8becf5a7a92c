"""The `gan_stops` table of the results store: how each trained GAN stopped.

One row per GAN (study, test, method, fold), for finished and for failed units alike (a
diverged GAN fails its unit): the iterations it trained, why it stopped ("fixed",
"patience", "maximum", "diverged"), the iteration of the generator kept, the oracle and
its curve of (iteration, value) evaluations (JSON), and what broke for a diverged GAN.
Rows are written inside the transaction of their unit (`ResultsStore.write_unit`,
`write_failure`), so a unit and its GANs' records are saved together or not at all.
"""

from __future__ import annotations

import json
import sqlite3

import pandas as pd

from gan_oversampling.samplers.base import StopRecord

SCHEMA = """
CREATE TABLE IF NOT EXISTS gan_stops(
    study TEXT NOT NULL REFERENCES studies(study),
    test_key TEXT NOT NULL,
    method TEXT NOT NULL,
    fold INTEGER NOT NULL,
    stop_iteration INTEGER NOT NULL,
    reason TEXT NOT NULL,
    best_iteration INTEGER NOT NULL,
    oracle TEXT,
    curve TEXT NOT NULL,
    detail TEXT,
    PRIMARY KEY(study, test_key, method, fold)
);
"""
COLUMNS = ["test_key", "method", "fold", "stop_iteration", "reason", "best_iteration",
           "oracle", "curve", "detail"]


def write(db: sqlite3.Connection, study: str, test_key: str, method: str,
          stops: dict[int, StopRecord]) -> None:
    """Record how each fold's GAN stopped, replacing an older record of a retried unit."""
    db.executemany(
        "INSERT OR REPLACE INTO gan_stops VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (study, test_key, method, fold, stop.iterations, stop.reason, stop.best_iteration,
             stop.oracle, json.dumps(stop.curve), stop.detail)
            for fold, stop in stops.items()
        ],
    )


def read(db: sqlite3.Connection, study: str) -> pd.DataFrame:
    """One row per GAN of `study`: the `COLUMNS` (curve as a list of [iteration, value]),
    then the factors of its test."""
    frame = pd.read_sql_query(
        f"SELECT {', '.join('g.' + column for column in COLUMNS)},"
        " coalesce(u.factors, f.factors) AS factors FROM gan_stops g"
        " LEFT JOIN units u USING(study, test_key, method)"
        " LEFT JOIN faults f USING(study, test_key, method)"
        " WHERE g.study = ? ORDER BY g.rowid", db, params=(study,),
    )
    if frame.empty:
        return empty_frame()
    frame["curve"] = [json.loads(text) for text in frame["curve"]]
    factors = pd.DataFrame([json.loads(text or "{}") for text in frame["factors"]],
                           index=frame.index)
    return pd.concat([frame.drop(columns=["factors"]), factors], axis=1)


def empty_frame() -> pd.DataFrame:
    return pd.DataFrame(columns=COLUMNS)
