"""The `generated_quality` table of the results store: how good each fold's generated rows
are (`evaluation.quality`).

One row per (unit, fold) of a method that appends rows to the training folds: the column
shapes (mean KS over numbers, mean TV over categories, fidelity), the detection AUC, the
median distance to the closest real training row and the share of near-copies, and the row
counts they rest on; a measure that could not be computed is NULL. Rows are written
inside the transaction of their unit (`ResultsStore.write_unit`) and go with it.
"""

from __future__ import annotations

import json
import math
import sqlite3

import pandas as pd

SCHEMA = """
CREATE TABLE IF NOT EXISTS generated_quality(
    unit_id INTEGER NOT NULL REFERENCES units(unit_id) ON DELETE CASCADE,
    fold INTEGER NOT NULL,
    ks_mean REAL,
    tv_mean REAL,
    fidelity REAL,
    detection_auc REAL,
    dcr_median REAL,
    near_copy_share REAL,
    n_generated INTEGER NOT NULL,
    n_real_test INTEGER NOT NULL,
    PRIMARY KEY(unit_id, fold)
);
"""
# The fields of `evaluation.quality.GeneratedQuality`, in order (not imported from there:
# reading a results file needs no scikit-learn).
MEASURES = ["ks_mean", "tv_mean", "fidelity", "detection_auc", "dcr_median",
            "near_copy_share", "n_generated", "n_real_test"]
COUNTS = ("n_generated", "n_real_test")
COLUMNS = ["test_key", "method", "fold", *MEASURES]


def write(db: sqlite3.Connection, unit_id: int, quality: dict[int, dict]) -> None:
    """Record the quality of each fold's generated rows of one unit; NaN as NULL."""
    db.executemany(
        f"INSERT INTO generated_quality VALUES ({', '.join('?' * (len(MEASURES) + 2))})",
        [(unit_id, int(fold), *(_value(measures[name], name) for name in MEASURES))
         for fold, measures in sorted(quality.items())],
    )


def read(db: sqlite3.Connection, study: str) -> pd.DataFrame:
    """One row per (test, method, fold) of `study` with stored quality: the `COLUMNS`
    (NULL as NaN), then the factors of its test."""
    frame = pd.read_sql_query(
        "SELECT u.test_key, u.method, q.fold, "
        + ", ".join(f"q.{name}" for name in MEASURES)
        + ", u.factors FROM generated_quality q JOIN units u USING(unit_id)"
        " WHERE u.study = ? ORDER BY u.unit_id, q.fold", db, params=(study,),
    )
    if frame.empty:
        return empty_frame()
    measures = [name for name in MEASURES if name not in COUNTS]
    frame[measures] = frame[measures].astype(float)
    factors = pd.DataFrame([json.loads(text) for text in frame["factors"]], index=frame.index)
    factors = factors.drop(columns=[name for name in factors if name in COLUMNS])
    return pd.concat([frame.drop(columns=["factors"]), factors], axis=1)


def empty_frame() -> pd.DataFrame:
    return pd.DataFrame(columns=COLUMNS)


def _value(value, name: str):
    if name in COUNTS:
        return int(value)
    value = float(value)
    return value if math.isfinite(value) else None
