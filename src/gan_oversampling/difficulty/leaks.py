"""The leak guard: a single feature that separates the two classes of a pool perfectly.

A number column separates them when one class's values all lie below the other's (some
threshold makes no error); a category column when no category occurs in both classes.
Checked on the whole pool a task draws its tests from, such a column is rarely a finding:
it is an id of rows sorted by class, a second label, a field filled in after the fact.
A classifier then learns the column, and every method scores the same near-perfect F1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gan_oversampling.datasets.tabular import RawTable
from gan_oversampling.errors import UserError

_SHOWN_COLUMNS = 20


def separating_numbers(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per column of X, whether a threshold separates class 0 from class 1 without error."""
    X = np.asarray(X, dtype=np.float64)
    majority, minority = X[y == 0], X[y == 1]
    if not len(majority) or not len(minority):
        return np.zeros(X.shape[1], dtype=bool)
    below = majority.max(axis=0) < minority.min(axis=0)
    above = minority.max(axis=0) < majority.min(axis=0)
    return below | above


def separating_categories(codes: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per column of category codes, whether no category occurs in both classes."""
    separates = np.zeros(codes.shape[1], dtype=bool)
    if not (y == 0).any() or not (y == 1).any():
        return separates
    for j in range(codes.shape[1]):
        shared = np.intersect1d(codes[y == 0, j], codes[y == 1, j])
        separates[j] = shared.size == 0
    return separates


def table_leaks(table: RawTable, majority_rows: np.ndarray, minority_rows: np.ndarray
                ) -> list[str]:
    """The feature columns of `table` that alone separate the two row sets, in file order."""
    rows = np.concatenate([majority_rows, minority_rows])
    y = np.repeat([0, 1], [len(majority_rows), len(minority_rows)])
    found = set(np.asarray(table.numeric_names)[separating_numbers(table.numeric[rows], y)])
    found |= set(np.asarray(table.categorical, dtype=object)[
        separating_categories(table.codes[rows], y)])
    return [name for name in table.columns if name in found]


def refuse_leaks(leaks: dict[str, list[str]], allowed: Sequence[str], features: Sequence[str],
                 origin: str, remedy: str = "") -> None:
    """UserError naming the leaking columns not in `allowed` (`leaks`: per pool, named by
    its task, or "" for a source of one pool), or the `allowed` names that are no feature
    column. `remedy` adds a way out to the message."""
    unknown = [name for name in allowed if name not in features]
    if unknown:
        shown = ", ".join(features[:_SHOWN_COLUMNS])
        hidden = len(features) - _SHOWN_COLUMNS
        more = f" and {hidden} more" if hidden > 0 else ""
        raise UserError(
            f"{origin}: allow_leaks names {', '.join(unknown)}, not a feature column; "
            f"features: {shown}{more}"
        )
    refused = {pool: [name for name in names if name not in allowed]
               for pool, names in leaks.items()}
    refused = {pool: names for pool, names in refused.items() if names}
    if not refused:
        return
    found = "; ".join(f"{', '.join(names)} ({pool})" if pool else ", ".join(names)
                      for pool, names in refused.items())
    columns = list(dict.fromkeys(name for names in refused.values() for name in names))
    quoted = ", ".join(f'"{name}"' for name in columns)
    raise UserError(
        f"{origin}: column(s) {found} alone separate the majority from the minority class "
        "without an error (a threshold or a set of categories): a leak such as an id or a "
        f"copy of the label; {remedy}if genuine, allow with data.allow_leaks = [{quoted}]"
    )
