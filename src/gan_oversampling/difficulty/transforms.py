"""Dimensionality and class overlap as factors of a tabular grid: two seeded transforms.

**Columns** (`feature_counts`, factor `columns`). A test keeps k of the source's feature
columns: the first k of one seeded permutation of them, in file order, so a smaller level
keeps a subset of a larger level's columns. A random subset rather than PCA or a random
projection, because:

- a categorical column is kept or dropped whole, with all of its one-hot columns;
- the kept features are the table's own columns, which a reader can name;
- each keeps its own range and is scaled to [-1, 1] as before, the range the CGAN's tanh
  output covers; a projection mixes columns into values outside it;
- nothing is fitted, so no row of a test fold can shape the choice (PCA fitted on the pool
  would see the rows that later form the test folds).

**Overlap** (`overlaps`, factor `overlap`). At level t a test replaces round(t x m) of its
m minority rows, chosen by a seeded permutation, by majority rows of the pool drawn at
random: the minority class becomes the mixture (1 - t) P_minority + t P_majority, so the
total variation distance between the two classes shrinks by exactly the factor 1 - t.
Level 0 leaves the test as it is; at level 1 the minority is a sample of the majority.
The same permutation and draws serve every level, so a higher level replaces a superset
of the rows a lower one does. Replacement rather than moving rows (measured on the seven
cyber datasets, README "Overlap and dimensionality on tables"): rows stay real rows, with
their discrete counts and categories (a category cannot be averaged), while moving each
minority row toward a random majority row lowered or kept the 1-NN error at level 0.25 on
six of them (moved rows leave their neighbours before they reach the majority's), and
shifting the minority toward the majority's mean lowered it on six and let a single
feature separate the classes of three (a shifted count is off the majority's grid).

The replacement rows are majority rows of the pool that are not in the test, where the pool
has any; only a pool whose every majority row is in the test (the author's five cyber
datasets shipped as 1,000 + 400 rows, at N 1,000) lends the test's own majority rows,
which then occur with both labels, the limit of overlap. Both transforms act on the test
dataset before its folds are cut and depend on no fold, so they carry nothing from a test
fold into training.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from gan_oversampling.datasets.tabular import RawTable
from gan_oversampling.errors import UserError

TRANSFORM_SEED = 0
# From the data as they are to a 1-NN error near its chance value (README, "Overlap and
# dimensionality on tables"); the README's example and analysis/overlap_measures.py use them.
# Level 1 is allowed but degenerate: classes that no classifier can tell apart.
OVERLAP_LEVELS = (0.0, 0.25, 0.5, 0.75)


def kept_columns(n_columns: int, n_kept: int, seed: int = TRANSFORM_SEED) -> np.ndarray:
    """Positions of the `n_kept` columns a test keeps out of `n_columns`, ascending."""
    if not 1 <= n_kept <= n_columns:
        raise UserError(f"cannot keep {n_kept} of {n_columns} feature columns")
    order = np.random.default_rng(seed).permutation(n_columns)
    return np.sort(order[:n_kept])


@functools.lru_cache(maxsize=16)
def table_with_columns(table: RawTable, n_kept: int | None) -> RawTable:
    """`table` restricted to the columns a test with `n_kept` columns keeps (`kept_columns`);
    the table itself for None. A categorical column keeps its whole vocabulary."""
    if n_kept is None:
        return table
    kept = {table.columns[i] for i in kept_columns(len(table.columns), n_kept)}
    numeric = [j for j, i in enumerate(table.numeric_positions) if table.columns[i] in kept]
    categorical = [j for j, name in enumerate(table.categorical) if name in kept]
    return dataclasses.replace(
        table,
        columns=tuple(name for name in table.columns if name in kept),
        categorical=tuple(table.categorical[j] for j in categorical),
        numeric=table.numeric[:, numeric],
        codes=table.codes[:, categorical],
        vocabularies=tuple(table.vocabularies[j] for j in categorical),
    )


def overlap_rows(rows: np.ndarray, y: np.ndarray, pool_y: np.ndarray, level: float,
                 seed: int = TRANSFORM_SEED) -> np.ndarray:
    """The pool rows of a test at overlap `level`: `rows` (the test's pool rows, labels
    `y`) with round(level x minority rows) minority rows replaced by pool majority rows.

    Level 0 returns `rows` itself. Which rows are replaced, and by which, is drawn once for
    all levels from `seed`, so levels are nested.
    """
    if not 0 <= level <= 1:
        raise UserError(f"overlap level {level} is outside [0, 1]")
    if level == 0:
        return rows
    rng = np.random.default_rng(seed)
    minority = np.flatnonzero(y == 1)
    order = minority[rng.permutation(len(minority))]
    partners = rng.choice(_partner_rows(rows, y, pool_y), size=len(minority))
    n_replaced = int(np.floor(level * len(minority) + 0.5))  # half rounds up
    replaced = np.array(rows, copy=True)
    replaced[order[:n_replaced]] = partners[:n_replaced]
    return replaced


def _partner_rows(rows: np.ndarray, y: np.ndarray, pool_y: np.ndarray) -> np.ndarray:
    """Pool majority rows outside the test; the test's own majority rows if none is."""
    outside = np.ones(len(pool_y), dtype=bool)
    outside[rows] = False
    candidates = np.flatnonzero((pool_y == 0) & outside)
    return candidates if len(candidates) else np.asarray(rows)[y == 0]
