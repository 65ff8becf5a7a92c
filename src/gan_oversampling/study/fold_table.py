"""The fold-level scores in the results store: their table, and the `results` view that
shows them beside each class's precision, recall and F1.

Schema 3 added both. A file of an older schema gets the table and the rebuilt view when a
run opens it; its units have no fold-level scores, which read as NULL (NaN).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gan_oversampling.evaluation.metrics import FOLD_METRICS

TABLE = f"""
CREATE TABLE IF NOT EXISTS fold_metrics(
    unit_id INTEGER NOT NULL REFERENCES units(unit_id) ON DELETE CASCADE,
    fold INTEGER NOT NULL,
    {"".join(f"{name} REAL, " for name in FOLD_METRICS)}
    PRIMARY KEY(unit_id, fold)
);
"""
# One row per test, fold, method and class; the fold-level scores repeat on both classes.
# Rebuilt on every open for writing, so a file of an older schema gets the new columns.
RESULTS_VIEW = f"""
DROP VIEW IF EXISTS results;
CREATE VIEW results AS
    SELECT u.study, u.test_key, u.method, u.source, u.factors, u.seed, u.iterations,
           u.classifier, u.cv, u.fit_seconds, u.eval_seconds, u.versions, u.finished_at,
           s.fold, s.class_label, s.class_role, s.precision, s.recall, s.f1, s.support,
           {", ".join(f"m.{name}" for name in FOLD_METRICS)}
    FROM scores s JOIN units u USING(unit_id)
    LEFT JOIN fold_metrics m ON m.unit_id = s.unit_id AND m.fold = s.fold;
"""
INSERT = f"INSERT INTO fold_metrics VALUES (?, ?{', ?' * len(FOLD_METRICS)})"


def rows(unit_id: int, fold_metrics: list[dict]) -> list[tuple]:
    """The table rows of one unit's fold-level scores (NaN stored as NULL)."""
    return [(unit_id, int(scores["fold"]), *(_real_or_null(scores[name]) for name in FOLD_METRICS))
            for scores in fold_metrics]


def with_every_metric(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with a float column for each fold-level score: a file opened read-only from
    before they were stored has none (NaN)."""
    missing = {name: np.nan for name in FOLD_METRICS if name not in frame.columns}
    frame = frame.assign(**missing)
    return frame.astype({name: float for name in FOLD_METRICS})


def _real_or_null(value) -> float | None:
    value = float(value)
    return None if np.isnan(value) else value
