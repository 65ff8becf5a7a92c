"""MNIST-derived test datasets: upright 4s (majority) against rotated 4s (minority).

Four difficulty factors: class overlap (rotation angle; a smaller angle overlaps more),
dimensionality (image side after area resize), sample size (majority rows) and imbalance
(minority rows per majority row).
"""

from __future__ import annotations

import functools
import itertools
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sklearn.utils import shuffle

from gan_oversampling.datasets.mnist import load_mnist
from gan_oversampling.datasets.verify import resolve_data_dir
from gan_oversampling.difficulty.base import TestCase, check_feasible, format_level, known_factors
from gan_oversampling.difficulty.images import area_resize, rotate_images, to_unit_range
from gan_oversampling.errors import UserError

if TYPE_CHECKING:
    from gan_oversampling.study.data_spec import MnistData

DIGIT = 4
MNIST_SIDE = 28
SHUFFLE_SEED = 0
PREVIEW_IMAGES = 10


def build_pool(
    rotation: float, side: int, data_dir: str | Path | None = None,
    draw_seed: int = SHUFFLE_SEED,
) -> tuple[np.ndarray, np.ndarray]:
    """The shuffled source pool for one (rotation, side): X float32 (11684, side, side), y int64.

    Class 0 holds the 5,842 training 4s, class 1 the same 4s rotated by `rotation` degrees
    counter-clockwise; both in [-1, 1], area-resized to `side` after rotating, then shuffled
    together with `draw_seed` (the published protocol's 0; another seed draws other rows
    into the tests). The arrays are cached and read-only.
    """
    resolved = resolve_data_dir(data_dir)
    # float/int so that 30 and 30.0 share one cache entry, whichever is asked first.
    return _shuffled_pool(
        float(rotation), int(side), None if resolved is None else str(resolved), int(draw_seed)
    )


@functools.lru_cache(maxsize=8)
def _shuffled_pool(
    rotation: float, side: int, data_dir: str | None, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    pool_X, pool_y = shuffle(*_images(rotation, side, data_dir), random_state=seed)
    pool_X.setflags(write=False)
    pool_y.setflags(write=False)
    return pool_X, pool_y


@functools.lru_cache(maxsize=8)
def _images(rotation: float, side: int, data_dir: str | None) -> tuple[np.ndarray, np.ndarray]:
    """The upright and rotated 4s, in that order, before the shuffle."""
    images, labels = load_mnist("train", data_dir)
    upright = to_unit_range(images[labels == DIGIT])
    rotated = rotate_images(upright, rotation)
    if side != MNIST_SIDE:
        upright = area_resize(upright, side)
        rotated = area_resize(rotated, side)
    pool_X = np.concatenate([upright, rotated])
    pool_y = np.repeat(np.array([0, 1], dtype=np.int64), [len(upright), len(rotated)])
    return pool_X, pool_y


def make_test_dataset(
    pool_X: np.ndarray, pool_y: np.ndarray, n_majority: int, ir: float,
    draw_seed: int = SHUFFLE_SEED,
) -> tuple[np.ndarray, np.ndarray]:
    """One test dataset: the first `n_majority` class-0 rows and the first int(n_majority * ir)
    class-1 rows of the pool, in pool order, shuffled (`draw_seed`, the protocol's 0) and
    flattened.

    Returns X float32 (n, features) and y int64 (n,). A smaller N takes a prefix of the rows
    a larger N takes.
    """
    pool_X, pool_y = _check_pool(pool_X, pool_y)
    majority_rows = np.flatnonzero(pool_y == 0)
    minority_rows = np.flatnonzero(pool_y == 1)
    counts = {0: len(majority_rows), 1: len(minority_rows)}
    n_minority = check_feasible(counts, n_majority, ir, where="the pool")
    chosen = np.concatenate([majority_rows[:n_majority], minority_rows[:n_minority]])
    X = pool_X[chosen].reshape(len(chosen), -1).astype(np.float32)
    y = pool_y[chosen].astype(np.int64)
    return shuffle(X, y, random_state=draw_seed)


class MnistSource:
    """The grid of MNIST test datasets: rotation x side x majority size x imbalance ratio."""

    name = "mnist"

    def __init__(self, data: MnistData, data_dir: str | Path | None = None):
        self.data = data
        self.data_dir = data_dir

    def cases(self) -> list[TestCase]:
        """Every test case, rotation outermost and imbalance ratio innermost."""
        resolve_data_dir(self.data_dir)  # a wrong data directory fails before any case runs
        data = self.data
        return [
            _make_case(self.name, rotation, side, n_majority, ratio)
            for rotation, side, n_majority, ratio in itertools.product(
                data.rotations, data.sides, data.majority_sizes, data.imbalance_ratios
            )
        ]

    def load(self, case: TestCase) -> tuple[np.ndarray, np.ndarray]:
        """The test dataset of `case`: X float32 (n, side * side), y int64 (n,)."""
        factors = known_factors(self.name, self.cases(), case)
        pool_X, pool_y = build_pool(
            factors["rotation"], factors["side"], self.data_dir, case.draw_seed
        )
        return make_test_dataset(
            pool_X, pool_y, factors["n_majority"], factors["imbalance_ratio"], case.draw_seed
        )

    def preview(self, case: TestCase) -> list[tuple[str, np.ndarray]]:
        """Rows to draw for `case`: (title, up to 10 majority images), then the minority's."""
        X, y = self.load(case)
        factors = case.factors
        angle = format_level(factors["rotation"])
        return [
            (f"majority (class 0)\nupright 4s, N={factors['n_majority']}",
             X[y == 0][:PREVIEW_IMAGES]),
            (f"minority (class 1)\n4s rotated {angle} deg, {int((y == 1).sum())} rows",
             X[y == 1][:PREVIEW_IMAGES]),
        ]


def _make_case(source: str, rotation: float, side: int, n_majority: int, ratio: float) -> TestCase:
    # pydantic leaves defaults as written: the default rotations are ints, given ones floats.
    rotation = float(rotation)
    key = f"rot{format_level(rotation)}-side{side}-n{n_majority}-ir{format_level(ratio)}"
    factors = {
        "rotation": int(rotation) if rotation.is_integer() else rotation,
        "side": side,
        "features": side * side,
        "n_majority": n_majority,
        "imbalance_ratio": ratio,
    }
    return TestCase(source=source, key=key, factors=factors)


def _check_pool(pool_X: np.ndarray, pool_y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pool_X = np.asarray(pool_X)
    pool_y = np.asarray(pool_y)
    if pool_X.ndim < 2 or pool_y.ndim != 1 or len(pool_X) != len(pool_y):
        raise UserError(
            f"pool arrays do not match: X {pool_X.shape}, y {pool_y.shape} "
            "(expected X (n, ...) and y (n,))"
        )
    if not np.isin(pool_y, (0, 1)).all():
        raise UserError("pool labels must be 0 (majority) or 1 (minority)")
    return pool_X, pool_y
