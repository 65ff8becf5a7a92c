"""Real and generated rows of tabular data, in the table's own columns and values.

The store keeps sample rows as the methods saw them (categories one-hot, numbers scaled to
[-1, 1] on the first training fold) with how they decode (`difficulty.tasks.
encoded_columns`): a number comes back as low + (x + 1) / 2 * (high - low), a category as
the largest output of its one-hot block (a generator's blocks are not exactly one-hot).
Data stored without that description (the cybersecurity arrays, already scaled by their
author) keep their values and are named by position.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NAMED_COLUMNS_SHOWN = 40
UNNAMED_COLUMNS_SHOWN = 8  # positions of pre-scaled arrays say little: a glance is enough
ROWS_SHOWN = 3


def minority_comparison(key: str, sets: list, columns: list[dict] | None
                        ) -> tuple[str, pd.DataFrame] | None:
    """(caption, table) of a test's real against generated minority rows, decoded; None
    without both. `sets`: the test's stored (method, kind, class label, rows)."""
    real = next((rows for _, kind, label, rows in sets if kind == "real" and label == 1), None)
    generated = next(((method, rows) for method, kind, label, rows in sets
                      if kind == "generated" and label == 1), None)
    if real is None or generated is None:
        return None
    method, rows = generated
    table, left_out = comparison_table(decode_rows(real, columns), decode_rows(rows, columns),
                                       method, named=bool(columns))
    units = "in the table's own units" if columns else "as stored"
    more = f"; {left_out} more columns not shown" if left_out else ""
    return (f"Test {key}: minority rows of the first training fold, real against {method}, "
            f"{units}{more}", table)


def decode_rows(rows: np.ndarray, columns: list[dict] | None) -> pd.DataFrame:
    """Encoded rows as a frame of the table's columns (numbers unscaled, categories named);
    with no description, or one that does not fit the rows, the rows as they are."""
    rows = np.asarray(rows, dtype=np.float64)
    if not columns or _encoded_width(columns) != rows.shape[1]:
        return pd.DataFrame(rows, columns=[f"feature {j}" for j in range(rows.shape[1])])
    decoded, start = {}, 0
    for column in columns:
        if "categories" in column:
            categories = np.asarray(column["categories"], dtype=object)
            block = rows[:, start : start + len(categories)]
            decoded[column["column"]] = categories[block.argmax(axis=1)]
            start += len(categories)
        else:
            low, high = column["low"], column["high"]
            decoded[column["column"]] = low + (rows[:, start] + 1) / 2 * (high - low)
            start += 1
    return pd.DataFrame(decoded)


def _encoded_width(columns: list[dict]) -> int:
    return sum(len(column["categories"]) if "categories" in column else 1 for column in columns)


def comparison_table(real: pd.DataFrame, generated: pd.DataFrame, method: str,
                     named: bool) -> tuple[pd.DataFrame, int]:
    """Per column: real against generated rows, each summarised (mean and standard deviation
    of a number, most common category and its share) and its first rows. Returns the table
    and how many columns it leaves out."""
    limit = NAMED_COLUMNS_SHOWN if named else UNNAMED_COLUMNS_SHOWN
    shown = list(real.columns[:limit])
    table = pd.DataFrame({"column": shown})
    for label, frame in (("real", real), (method, generated)):
        table[f"{label}: mean (sd) or most common"] = [summary(frame[name]) for name in shown]
    for label, frame in (("real", real), (method, generated)):
        for row in range(min(ROWS_SHOWN, len(frame))):
            table[f"{label} row {row + 1}"] = [value_text(frame[name].iloc[row]) for name in shown]
    return table, len(real.columns) - len(shown)


def summary(values: pd.Series) -> str:
    if not len(values):
        return ""
    if pd.api.types.is_numeric_dtype(values):
        return f"{value_text(values.mean())} (sd {value_text(values.std(ddof=0))})"
    counts = values.value_counts()
    return f"{counts.index[0]} ({counts.iloc[0] / len(values):.0%})"


def value_text(value) -> str:
    """A value as a reader wants it: 4 significant digits for numbers, whole numbers bare."""
    if isinstance(value, float | np.floating):
        return str(int(value)) if float(value).is_integer() else f"{value:.4g}"
    return str(value)
