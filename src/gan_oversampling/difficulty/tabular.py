"""Tabular test datasets: variants of a pool by majority size and imbalance ratio, and the
author's seven cybersecurity datasets (PROTOCOL.md section 2).

A variant of a pool, as the author built it: shuffle each class with `random_state=0`, take
the first N majority rows and the first int(N * IR) minority rows, concatenate [majority,
minority] and shuffle that with `random_state=0` again. Every shuffle here is
`sklearn.utils.shuffle(..., random_state=0)`, that is the permutation
`numpy.random.RandomState(0).permutation(n)`; for a given pool a smaller N takes a prefix of
the rows a larger N takes.
"""

from __future__ import annotations

import functools
import itertools
import math
import numbers
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from gan_oversampling.datasets.tabular import (
    CYBER_DATASETS,
    CYBER_DIR,
    CYBER_ROOT_DATASETS,
    load_cyber_root,
    load_cyber_variant,
    require_data_root,
)
from gan_oversampling.difficulty.base import TestCase
from gan_oversampling.errors import UserError

SHUFFLE_SEED = 0
PAPER_MAJORITY_SIZES = (100, 200, 500, 1000)
PAPER_RATIOS = (0.1, 0.2, 0.3, 0.4)
# The variant that holds every row of the smaller ones: the pool of datasets without root arrays.
POOL_VARIANT = (1000, 0.4)


def shuffled_order(n_rows: int) -> np.ndarray:
    """The order `sklearn.utils.shuffle(rows, random_state=0)` puts `n_rows` rows in."""
    return np.random.RandomState(SHUFFLE_SEED).permutation(n_rows)


def variant_rows(pool_y: np.ndarray, n_majority: int, ir: float) -> tuple[np.ndarray, np.ndarray]:
    """Which pool rows a variant holds, in the variant's order, and their labels (int64)."""
    pool_y = _check_labels(pool_y)
    majority = np.flatnonzero(pool_y == 0)
    minority = np.flatnonzero(pool_y == 1)
    n_minority = check_feasible(
        {0: len(majority), 1: len(minority)}, n_majority, ir, where="the pool"
    )
    chosen = np.concatenate([
        majority[shuffled_order(len(majority))][:n_majority],
        minority[shuffled_order(len(minority))][:n_minority],
    ])
    labels = np.repeat(np.array([0, 1], dtype=np.int64), [n_majority, n_minority])
    order = shuffled_order(len(chosen))
    return chosen[order], labels[order]


def build_variant(
    pool_X: np.ndarray, pool_y: np.ndarray, n_majority: int, ir: float
) -> tuple[np.ndarray, np.ndarray]:
    """One test dataset of a pool, built as the author did (see the module docstring).

    Returns the pool's rows (same dtype) and labels int64. Bit for bit, this reproduces each
    of the author's shipped variants from its pool (see `cyber_pool`).
    """
    if len(pool_X) != len(pool_y):
        raise UserError(f"pool has {len(pool_X)} rows but {len(pool_y)} labels")
    rows, labels = variant_rows(pool_y, n_majority, ir)
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


def check_feasible(counts: dict[int, int], n_majority: int, ir: float, where: str) -> int:
    """The minority row count int(N * IR); UserError when a class has too few rows."""
    n_minority = minority_count(n_majority, ir)
    for label, needed in ((0, n_majority), (1, n_minority)):
        if needed > counts[label]:
            role = "majority" if label == 0 else "minority"
            raise UserError(
                f"{where}: the {role} class has {counts[label]} rows; n_majority {n_majority} "
                f"with imbalance_ratio {format_level(ir)} needs {needed}"
            )
    return n_minority


def minority_count(n_majority: int, ir: float) -> int:
    # int() truncates, as the study protocol does: int(200 * 0.1) is 20, int(5 * 0.1) is 0.
    n_minority = int(n_majority * ir)
    if n_minority < 1:
        raise UserError(
            f"n_majority {n_majority} with imbalance_ratio {format_level(ir)} gives no minority "
            f"rows (int({n_majority} * {format_level(ir)}) = 0); use a larger n_majority or ratio"
        )
    return n_minority


def format_level(value: float) -> str:
    """A stable, short text for a level: 100.0 -> '100', 0.1 -> '0.1'."""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def check_levels(levels: Sequence, factor: str, check: Callable) -> tuple:
    """Each level checked, non-empty, without repeats."""
    if isinstance(levels, str | bytes) or not isinstance(levels, Sequence | np.ndarray):
        raise UserError(f"{factor} must be a list of levels, got {levels!r}")
    if len(levels) == 0:
        raise UserError(f"{factor} must hold at least one level")
    checked = tuple(check(level) for level in levels)
    texts = [format_level(level) if _is_real(level) else str(level) for level in checked]
    duplicates = sorted({text for text in texts if texts.count(text) > 1})
    if duplicates:
        raise UserError(f"{factor} repeats the level(s) {', '.join(duplicates)}")
    return checked


def check_size(n_majority: int) -> int:
    if isinstance(n_majority, bool) or not isinstance(n_majority, numbers.Integral):
        raise UserError(f"n_majority {n_majority!r} not allowed: it must be an integer >= 1")
    if n_majority < 1:
        raise UserError(f"n_majority {n_majority} not allowed: it must be >= 1")
    return int(n_majority)


def check_ratio(ratio: float) -> float:
    if not _is_real(ratio) or not math.isfinite(ratio) or not 0 < ratio <= 1:
        raise UserError(f"imbalance_ratio {ratio!r} not allowed: it must be a number in (0, 1]")
    return float(ratio)


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


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
    name = _check_cyber_name(name)
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

    def __init__(
        self,
        datasets: Sequence[str] = CYBER_DATASETS,
        majority_sizes: Sequence[int] = PAPER_MAJORITY_SIZES,
        imbalance_ratios: Sequence[float] = PAPER_RATIOS,
        data_dir: str | Path | None = None,
    ):
        self.datasets = datasets
        self.majority_sizes = majority_sizes
        self.imbalance_ratios = imbalance_ratios
        self.data_dir = data_dir

    def cases(self) -> list[TestCase]:
        """Every test case, dataset outermost and imbalance ratio innermost."""
        datasets, sizes, ratios = self._validate()
        cases = []
        for dataset in datasets:
            pool_X, pool_y = cyber_pool(dataset, self.data_dir)
            counts = {0: int((pool_y == 0).sum()), 1: int((pool_y == 1).sum())}
            for n_majority, ratio in itertools.product(sizes, ratios):
                check_feasible(counts, n_majority, ratio, where=f"cyber dataset {dataset}")
                cases.append(_cyber_case(self.name, dataset, pool_X.shape[1], n_majority, ratio))
        return cases

    def load(self, case: TestCase) -> tuple[np.ndarray, np.ndarray]:
        """The test dataset of `case`: X float32 (n, features) in [-1, 1], y int64 (n,)."""
        factors = known_factors(self.name, self.cases(), case)
        pool_X, pool_y = cyber_pool(factors["dataset"], self.data_dir)
        X, y = build_variant(pool_X, pool_y, factors["n_majority"], factors["imbalance_ratio"])
        return X.astype(np.float32), y

    def make_preprocessor(self, case: TestCase) -> None:
        """None: the author's files are already scaled to [-1, 1]."""
        return None

    def _validate(self) -> tuple[tuple[str, ...], tuple[int, ...], tuple[float, ...]]:
        require_data_root(self.data_dir, "the cyber datasets need", CYBER_DIR)
        datasets = check_levels(self.datasets, "datasets", _check_cyber_name)
        sizes = check_levels(self.majority_sizes, "majority_sizes", check_size)
        ratios = check_levels(self.imbalance_ratios, "imbalance_ratios", check_ratio)
        return datasets, sizes, ratios


def known_factors(source: str, cases: list[TestCase], case: TestCase) -> dict:
    """The factors of `case` as this source's grid defines them; UserError if not in the grid."""
    if case.source != source:
        raise UserError(f"test case {case.key!r} is from source {case.source!r}, not {source!r}")
    for known in cases:
        if known.key == case.key:
            return known.factors
    raise UserError(f"unknown {source} test case {case.key!r} (not in this grid)")


def _check_cyber_name(name: str) -> str:
    if name not in CYBER_DATASETS:
        raise UserError(f"unknown cyber dataset {name!r}; known: {', '.join(CYBER_DATASETS)}")
    return name


def _cyber_case(source: str, dataset: str, features: int, n_majority: int, ratio: float):
    return TestCase(
        source=source,
        key=f"{dataset}-n{n_majority}-ir{format_level(ratio)}",
        factors={
            "dataset": dataset,
            "features": int(features),
            "n_majority": n_majority,
            "imbalance_ratio": ratio,
        },
    )
