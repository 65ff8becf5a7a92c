"""Every stored value of a results database that a seed decides, in a fixed order: what
two runs must share to count as the same run."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path


def stored_rows(db: Path) -> tuple[list, list, list]:
    """Scores (per class and per fold), GAN loss curves and sample rows."""
    with closing(sqlite3.connect(db)) as connection:
        scores = connection.execute(
            "SELECT test_key, method, fold, class_label, precision, recall, f1, support,"
            " pr_auc, roc_auc, balanced_accuracy, mcc, g_mean, brier, ece"
            " FROM results ORDER BY 1, 2, 3, 4").fetchall()
        losses = connection.execute(
            "SELECT u.test_key, u.method, l.fold, l.data FROM losses l JOIN units u"
            " USING(unit_id) ORDER BY 1, 2, 3").fetchall()
        samples = connection.execute(
            "SELECT u.test_key, u.method, s.kind, s.class_label, s.data FROM samples s"
            " JOIN units u USING(unit_id) ORDER BY 1, 2, 3, 4").fetchall()
    return scores, losses, samples
