"""MNIST-derived test datasets: upright 4s (majority) against rotated 4s (minority).

Four difficulty factors: class overlap (rotation angle; a smaller angle overlaps more),
dimensionality (image side after area resize), sample size (majority rows) and imbalance
(minority rows per majority row).
"""

from __future__ import annotations

import functools
import itertools
import math
import numbers
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.utils import shuffle

from gan_oversampling.datasets.mnist import load_mnist
from gan_oversampling.datasets.verify import resolve_data_dir
from gan_oversampling.difficulty.base import TestCase
from gan_oversampling.difficulty.images import area_resize, rotate_images, to_unit_range
from gan_oversampling.errors import UserError
from gan_oversampling.report.samples import save_image_grid

PAPER_ROTATIONS = (30, 45, 90)
PAPER_SIDES = (28, 14, 8, 4)
PAPER_MAJORITY_SIZES = (1000, 400, 200, 100)
PAPER_RATIOS = (0.4, 0.2, 0.1)

DIGIT = 4
N_TRAIN_FOURS = 5842
MNIST_SIDE = 28
SHUFFLE_SEED = 0


def build_pool(
    rotation: float, side: int, data_dir: str | Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The shuffled source pool for one (rotation, side): X float32 (11684, side, side), y int64.

    Class 0 holds the 5,842 training 4s, class 1 the same 4s rotated by `rotation` degrees
    counter-clockwise; both in [-1, 1], area-resized to `side` after rotating. The arrays are
    cached and read-only.
    """
    rotation = _check_rotation(rotation)
    side = _check_side(side)
    resolved = resolve_data_dir(data_dir)
    return _cached_pool(rotation, side, None if resolved is None else str(resolved))


@functools.lru_cache(maxsize=16)
def _cached_pool(rotation: float, side: int, data_dir: str | None) -> tuple[np.ndarray, np.ndarray]:
    images, labels = load_mnist("train", data_dir)
    upright = to_unit_range(images[labels == DIGIT])
    rotated = rotate_images(upright, rotation)
    if side != MNIST_SIDE:
        upright = area_resize(upright, side)
        rotated = area_resize(rotated, side)
    pool_X = np.concatenate([upright, rotated])
    pool_y = np.repeat(np.array([0, 1], dtype=np.int64), [len(upright), len(rotated)])
    pool_X, pool_y = shuffle(pool_X, pool_y, random_state=SHUFFLE_SEED)
    pool_X.setflags(write=False)
    pool_y.setflags(write=False)
    return pool_X, pool_y


def make_test_dataset(
    pool_X: np.ndarray, pool_y: np.ndarray, n_majority: int, ir: float
) -> tuple[np.ndarray, np.ndarray]:
    """One test dataset: the first `n_majority` class-0 rows and the first int(n_majority * ir)
    class-1 rows of the pool, in pool order, shuffled (seed 0) and flattened.

    Returns X float32 (n, features) and y int64 (n,). A smaller N takes a prefix of the rows
    a larger N takes.
    """
    pool_X, pool_y = _check_pool(pool_X, pool_y)
    majority_rows = np.flatnonzero(pool_y == 0)
    minority_rows = np.flatnonzero(pool_y == 1)
    n_majority = _check_majority(n_majority, limit=len(majority_rows))
    ir = _check_ratio(ir)
    n_minority = _minority_count(n_majority, ir)
    if n_minority > len(minority_rows):
        raise UserError(
            f"the pool has {len(minority_rows)} minority rows; n_majority {n_majority} with "
            f"imbalance_ratio {ir} needs {n_minority}"
        )
    chosen = np.concatenate([majority_rows[:n_majority], minority_rows[:n_minority]])
    X = pool_X[chosen].reshape(len(chosen), -1).astype(np.float32)
    y = pool_y[chosen].astype(np.int64)
    return shuffle(X, y, random_state=SHUFFLE_SEED)


def show_test_dataset(
    rotation: float,
    side: int,
    n_majority: int,
    ir: float,
    path: str | Path,
    data_dir: str | Path | None = None,
) -> Path:
    """Save a PNG with a row of 10 majority and a row of (up to) 10 minority images."""
    X, y = make_test_dataset(*build_pool(rotation, side, data_dir), n_majority, ir)
    angle = _format_level(_check_rotation(rotation))
    rows = [
        (f"majority (class 0)\nupright 4s, N={n_majority}", X[y == 0][:10]),
        (f"minority (class 1)\n4s rotated {angle} deg, {int((y == 1).sum())} rows", X[y == 1][:10]),
    ]
    return save_image_grid(rows, side=int(side), path=Path(path), n_per_row=10)


class MnistSource:
    """The grid of MNIST test datasets: rotation x side x majority size x imbalance ratio."""

    name = "mnist"

    def __init__(
        self,
        rotations: Sequence[float] = PAPER_ROTATIONS,
        sides: Sequence[int] = PAPER_SIDES,
        majority_sizes: Sequence[int] = PAPER_MAJORITY_SIZES,
        imbalance_ratios: Sequence[float] = PAPER_RATIOS,
        data_dir: str | Path | None = None,
    ):
        self.rotations = rotations
        self.sides = sides
        self.majority_sizes = majority_sizes
        self.imbalance_ratios = imbalance_ratios
        self.data_dir = data_dir

    def cases(self) -> list[TestCase]:
        """Every test case, rotation outermost and imbalance ratio innermost."""
        rotations, sides, sizes, ratios = self._validate()
        return [
            _make_case(self.name, rotation, side, n_majority, ratio)
            for rotation, side, n_majority, ratio in itertools.product(
                rotations, sides, sizes, ratios
            )
        ]

    def load(self, case: TestCase) -> tuple[np.ndarray, np.ndarray]:
        """The test dataset of `case`: X float32 (n, side * side), y int64 (n,)."""
        if case.source != self.name:
            raise UserError(f"test case {case.key!r} is from source {case.source!r}, not 'mnist'")
        known = {known_case.key: known_case for known_case in self.cases()}
        if case.key not in known:
            raise UserError(f"unknown mnist test case {case.key!r} (not in this grid)")
        factors = known[case.key].factors
        pool_X, pool_y = build_pool(factors["rotation"], factors["side"], self.data_dir)
        return make_test_dataset(pool_X, pool_y, factors["n_majority"], factors["imbalance_ratio"])

    def _validate(self) -> tuple[tuple[float, ...], tuple[int, ...], tuple[int, ...], tuple]:
        resolve_data_dir(self.data_dir)  # a wrong data directory fails before any case runs
        rotations = _check_levels(self.rotations, "rotations", _check_rotation)
        sides = _check_levels(self.sides, "sides", _check_side)
        sizes = _check_levels(
            self.majority_sizes, "majority_sizes", lambda n: _check_majority(n, N_TRAIN_FOURS)
        )
        ratios = _check_levels(self.imbalance_ratios, "imbalance_ratios", _check_ratio)
        for n_majority, ratio in itertools.product(sizes, ratios):
            _minority_count(n_majority, ratio)
        return rotations, sides, sizes, ratios


def _make_case(source: str, rotation: float, side: int, n_majority: int, ratio: float) -> TestCase:
    key = f"rot{_format_level(rotation)}-side{side}-n{n_majority}-ir{_format_level(ratio)}"
    factors = {
        "rotation": int(rotation) if rotation.is_integer() else rotation,
        "side": side,
        "features": side * side,
        "n_majority": n_majority,
        "imbalance_ratio": ratio,
    }
    return TestCase(source=source, key=key, factors=factors)


def _format_level(value: float) -> str:
    """A stable, short text for a level: 30.0 -> '30', 0.1 -> '0.1', 17.5 -> '17.5'."""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def _check_levels(levels: Sequence, factor: str, check) -> tuple:
    if isinstance(levels, str | bytes) or not isinstance(levels, Sequence | np.ndarray):
        raise UserError(f"{factor} must be a list of levels, got {levels!r}")
    if len(levels) == 0:
        raise UserError(f"{factor} must hold at least one level")
    checked = tuple(check(level) for level in levels)
    texts = [_format_level(level) for level in checked]
    duplicates = sorted({text for text in texts if texts.count(text) > 1})
    if duplicates:
        raise UserError(f"{factor} repeats the level(s) {', '.join(duplicates)}")
    return checked


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_rotation(rotation: float) -> float:
    if not _is_real(rotation) or not math.isfinite(rotation):
        raise UserError(f"rotation {rotation!r} not allowed: it must be a finite number of degrees")
    return float(rotation)


def _check_side(side: int) -> int:
    if isinstance(side, bool) or not isinstance(side, numbers.Integral):
        raise UserError(f"side {side!r} not allowed: it must be an integer from 2 to {MNIST_SIDE}")
    if not 2 <= side <= MNIST_SIDE:
        raise UserError(f"side {side} not allowed: it must be from 2 to {MNIST_SIDE}")
    return int(side)


def _check_majority(n_majority: int, limit: int) -> int:
    if isinstance(n_majority, bool) or not isinstance(n_majority, numbers.Integral):
        raise UserError(
            f"n_majority {n_majority!r} not allowed: it must be an integer from 1 to {limit}"
        )
    if not 1 <= n_majority <= limit:
        raise UserError(f"n_majority {n_majority} not allowed: it must be from 1 to {limit}")
    return int(n_majority)


def _check_ratio(ratio: float) -> float:
    if not _is_real(ratio) or not math.isfinite(ratio) or not 0 < ratio <= 1:
        raise UserError(f"imbalance_ratio {ratio!r} not allowed: it must be a number in (0, 1]")
    return float(ratio)


def _minority_count(n_majority: int, ratio: float) -> int:
    # int() truncates, as the study protocol does: int(200 * 0.1) is 20, int(5 * 0.1) is 0.
    n_minority = int(n_majority * ratio)
    if n_minority < 1:
        raise UserError(
            f"n_majority {n_majority} with imbalance_ratio {ratio} gives no minority rows "
            f"(int({n_majority} * {ratio}) = 0); use a larger n_majority or ratio"
        )
    return n_minority


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
