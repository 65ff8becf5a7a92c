"""Tabular test datasets: variants of a pool by majority size and imbalance ratio, and the
author's seven cybersecurity datasets (PROTOCOL.md section 2).

A variant of a pool, as the author built it: shuffle each class with `random_state=0`, take
the first N majority rows and the first int(N * IR) minority rows, concatenate [majority,
minority] and shuffle that with `random_state=0` again. Every shuffle here is
`sklearn.utils.shuffle(..., random_state=0)`, that is the permutation
`numpy.random.RandomState(0).permutation(n)`; for a given pool a smaller N takes a prefix of
the rows a larger N takes.

Another draw of the same variant (a study's repeats) runs the same recipe with another
seed in place of 0 (`draw_seed`): other rows of the pool, in another order.
"""

from __future__ import annotations

import functools
import itertools
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gan_oversampling.datasets.tabular import (
    CYBER_DIR,
    CYBER_ROOT_DATASETS,
    load_cyber_root,
    load_cyber_variant,
    require_data_root,
)
from gan_oversampling.difficulty.base import (
    TestCase,
    check_feasible,
    column_levels,
    known_factors,
    table_factors,
    table_key,
)
from gan_oversampling.difficulty.leaks import refuse_leaks, separating_numbers
from gan_oversampling.difficulty.transforms import TRANSFORM_SEED, kept_columns, overlap_rows
from gan_oversampling.errors import UserError

if TYPE_CHECKING:
    from gan_oversampling.study.data_spec import CyberData

SHUFFLE_SEED = 0
# The variant that holds every row of the smaller ones: the pool of datasets without root arrays.
POOL_VARIANT = (1000, 0.4)


def shuffled_order(n_rows: int, seed: int = SHUFFLE_SEED) -> np.ndarray:
    """The order `sklearn.utils.shuffle(rows, random_state=seed)` puts `n_rows` rows in."""
    return np.random.RandomState(seed).permutation(n_rows)


def variant_rows(
    pool_y: np.ndarray, n_majority: int, ir: float, draw_seed: int = SHUFFLE_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Which pool rows a variant holds, in the variant's order, and their labels (int64)."""
    pool_y = _check_labels(pool_y)
    majority = np.flatnonzero(pool_y == 0)
    minority = np.flatnonzero(pool_y == 1)
    n_minority = check_feasible(
        {0: len(majority), 1: len(minority)}, n_majority, ir, where="the pool"
    )
    chosen = np.concatenate([
        majority[shuffled_order(len(majority), draw_seed)][:n_majority],
        minority[shuffled_order(len(minority), draw_seed)][:n_minority],
    ])
    labels = np.repeat(np.array([0, 1], dtype=np.int64), [n_majority, n_minority])
    order = shuffled_order(len(chosen), draw_seed)
    return chosen[order], labels[order]


def case_rows(pool_y: np.ndarray, factors: dict, draw_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The pool rows of a test with these factors, in its order, and their labels: the
    variant of its size and ratio, then its overlap level (none without one). Another draw
    replaces other minority rows too (seed 0 is the overlap transform's own)."""
    rows, y = variant_rows(pool_y, factors["n_majority"], factors["imbalance_ratio"], draw_seed)
    rows = overlap_rows(rows, y, pool_y, factors.get("overlap", 0), draw_seed or TRANSFORM_SEED)
    return rows, y


def build_variant(
    pool_X: np.ndarray, pool_y: np.ndarray, n_majority: int, ir: float,
    draw_seed: int = SHUFFLE_SEED,
) -> tuple[np.ndarray, np.ndarray]:
    """One test dataset of a pool, built as the author did (see the module docstring).

    Returns the pool's rows (same dtype) and labels int64. Bit for bit, this reproduces each
    of the author's shipped variants from its pool (see `cyber_pool`).
    """
    if len(pool_X) != len(pool_y):
        raise UserError(f"pool has {len(pool_X)} rows but {len(pool_y)} labels")
    rows, labels = variant_rows(pool_y, n_majority, ir, draw_seed)
    return pool_X[rows], labels


def pool_from_variant(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A pool from which `build_variant` rebuilds `(X, y)` and every smaller variant of it.

    `(X, y)` must be a variant as `build_variant` makes it. Undoing its last shuffle gives
    [first N majority rows, first M minority rows] of the per-class shuffled order; undoing
    the per-class shuffle of N (resp. M) rows then gives rows that shuffle back into that order.
    Re-shuffling the variant's classes as they stand would instead pick other rows (the
    per-class shuffle of 1,000 rows is not the one of the original, larger pool).
    """
    y = _check_labels(y)
    assembled = np.argsort(shuffled_order(len(y)))
    X, y = X[assembled], y[assembled]
    n_majority = int((y == 0).sum())
    if not (y[:n_majority] == 0).all():
        raise UserError("these rows are not a variant built by build_variant (classes interleave)")
    parts = [X[:n_majority], X[n_majority:]]
    pool_X = np.concatenate([part[np.argsort(shuffled_order(len(part)))] for part in parts])
    return pool_X, y.copy()


def _check_labels(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or not np.isin(y, (0, 1)).all():
        raise UserError("pool labels must be a 1-d array of 0 (majority) and 1 (minority)")
    return y.astype(np.int64)


def cyber_pool(name: str, data_dir: str | Path | None) -> tuple[np.ndarray, np.ndarray]:
    """The pool the author drew `name`'s variants from: X float64 in [-1, 1], y int64; read-only.

    For cic_syscalls_adware and iscx_defacement it is the full root arrays (1,795 + 1,253 and
    2,709 + 2,477 rows). The other five were shipped only as variants: their pool is rebuilt
    from the 1000_0.4 variant (`pool_from_variant`), so it holds 1,000 + 400 rows and
    reproduces every shipped variant, but grids beyond N 1,000 or 400 minority rows are not
    feasible for them.
    """
    root = require_data_root(data_dir, "the cyber datasets need", CYBER_DIR)
    return _cached_pool(name, str(root))


@functools.lru_cache(maxsize=8)
def _cached_pool(name: str, root: str) -> tuple[np.ndarray, np.ndarray]:
    if name in CYBER_ROOT_DATASETS:
        return load_cyber_root(name, root)
    pool_X, pool_y = pool_from_variant(*load_cyber_variant(name, *POOL_VARIANT, root))
    pool_X.setflags(write=False)
    pool_y.setflags(write=False)
    return pool_X, pool_y


class CyberSource:
    """The author's seven cybersecurity datasets: dataset x majority size x imbalance ratio.

    Variants are built here from each dataset's pool (`cyber_pool`), not read from the
    shipped variant files, so grids beyond the shipped 16 work where the pool has the rows.
    The features are already scaled to [-1, 1] in the files: `make_preprocessor` returns None
    and no further scaling is done.
    """

    name = "cyber"

    def __init__(self, data: CyberData, data_dir: str | Path | None = None):
        self.data = data
        self.data_dir = data_dir

    def cases(self) -> list[TestCase]:
        """Every test case: dataset outermost, then columns, overlap, majority size and
        imbalance ratio innermost (columns and overlap only where the study asks)."""
        data = self.data
        cases = []
        for dataset in data.datasets:
            pool_X, pool_y = cyber_pool(dataset, self.data_dir)
            counts = {0: int((pool_y == 0).sum()), 1: int((pool_y == 1).sum())}
            where = f"cyber dataset {dataset}"
            columns = column_levels(data.feature_counts, pool_X.shape[1], where)
            for n_columns, overlap, n_majority, ratio in itertools.product(
                columns, data.overlaps or [None], data.majority_sizes, data.imbalance_ratios
            ):
                check_feasible(counts, n_majority, ratio, where=where)
                features = n_columns or pool_X.shape[1]
                factors = {"dataset": dataset, **table_factors(n_columns, features, overlap),
                           "n_majority": n_majority, "imbalance_ratio": ratio}
                cases.append(TestCase(self.name, table_key(dataset, factors), factors))
        return cases

    def load(self, case: TestCase) -> tuple[np.ndarray, np.ndarray]:
        """The test dataset of `case`: X float32 (n, features) in [-1, 1], y int64 (n,)."""
        factors = known_factors(self.name, self.cases(), case)
        pool_X, pool_y = cyber_pool(factors["dataset"], self.data_dir)
        rows, y = case_rows(pool_y, factors, case.draw_seed)
        X = pool_X[rows]
        if "columns" in factors:
            X = X[:, kept_columns(pool_X.shape[1], factors["columns"])]
        return X.astype(np.float32), y

    def make_preprocessor(self, case: TestCase) -> None:
        """None: the author's files are already scaled to [-1, 1]."""
        return None

    def check_leaks(self) -> None:
        """UserError when a feature alone separates the classes of a dataset's pool (see
        `difficulty.leaks`; none of the seven does) and `allow_leaks` does not name it.
        The files name no columns: the message calls them "feature 0", ..."""
        leaks, widest = {}, 0
        for dataset in self.data.datasets:
            pool_X, pool_y = cyber_pool(dataset, self.data_dir)
            names = cyber_feature_names(pool_X.shape[1])
            leaks[dataset] = [names[j] for j in np.flatnonzero(separating_numbers(pool_X, pool_y))]
            widest = max(widest, len(names))
        refuse_leaks(leaks, self.data.allow_leaks, cyber_feature_names(widest), "cyber")


def cyber_feature_names(n_features: int) -> list[str]:
    """How messages and `allow_leaks` name the unnamed columns of a cyber dataset."""
    return [f"feature {j}" for j in range(n_features)]

