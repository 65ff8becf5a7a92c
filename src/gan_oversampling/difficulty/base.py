"""What every source of test datasets provides, and the level helpers their grids share."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from gan_oversampling.errors import UserError


@dataclass(frozen=True)
class TestCase:
    """One test dataset of a study, named by its difficulty factors.

    `key` is unique within a study and stable across runs (it keys the results store);
    `factors` maps each factor name to its level, in display order. A source builds its
    rows with the shuffles of the published protocol (seed 0) unless `draw_seed` says
    otherwise; a repeated draw of a grid point (`repeated`) keeps the point's key in
    `grid_key`, which is what the source looks up.
    """

    __test__ = False  # not a pytest class

    source: str
    key: str
    factors: dict[str, float | int | str] = field(hash=False, compare=False)
    draw_seed: int = 0
    grid_key: str = ""
    data_key: str = ""

    @property
    def point(self) -> str:
        """The key of this test's point in its source's grid."""
        return self.grid_key or self.key

    @property
    def rows_key(self) -> str:
        """The key of the rows this test runs on: its own, or for a test crossed with a
        study factor (`crossed`) the key of the test it crosses, which shares its rows."""
        return self.data_key or self.key

    def crossed(self, factor: str, level: str) -> TestCase:
        """This test under one level of a study factor that is no property of its data (a
        classifier): key `<key>-<level>`, the factor added; the same rows (`rows_key`)."""
        return replace(self, key=f"{self.key}-{level}", factors={**self.factors, factor: level},
                       grid_key=self.point, data_key=self.rows_key)

    def repeated(self, repeat: int, draw_seed: int, *, numbered: bool) -> TestCase:
        """Draw `repeat` of this grid point, its rows drawn with `draw_seed`. `numbered`:
        the study has several repeats, so the repeat becomes a factor, and repeats after
        the first get their own key (`<key>-r<repeat>`; repeat 0 keeps the test's key)."""
        if not numbered:
            return replace(self, draw_seed=draw_seed, grid_key=self.point)
        suffix = "" if repeat == 0 else f"-r{repeat}"
        data_key = f"{self.data_key}{suffix}" if self.data_key else ""
        return replace(self, key=f"{self.key}{suffix}", factors={**self.factors, REPEAT: repeat},
                       draw_seed=draw_seed, grid_key=self.point, data_key=data_key)


REPEAT = "repeat"  # the factor numbering the draws of one grid point


class Source(Protocol):
    """A family of test datasets (MNIST-derived, a tabular collection, a user's file).

    Sources are built from an already validated data spec (`study.spec`) and trust its
    levels; they still refuse what only the data can tell (missing files, a class with too
    few rows). A source whose rows need encoding or scaling per training fold also has
    `make_preprocessor(case)`, returning an unfitted transformer or None.
    """

    name: str

    def cases(self) -> list[TestCase]:
        """Every test case of the grid, in a stable order."""
        ...

    def load(self, case: TestCase) -> tuple[np.ndarray, np.ndarray]:
        """The test dataset: X (n, features), y int64 (n,), 0 = majority, 1 = minority."""
        ...


def format_level(value: float) -> str:
    """A stable, short text for a level: 30.0 -> '30', 0.1 -> '0.1', -17.5 -> '-17.5'."""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def minority_count(n_majority: int, ir: float) -> int:
    """int(N * IR), truncated as the study protocol does: int(200 * 0.1) is 20."""
    n_minority = int(n_majority * ir)
    # The spec refuses such grids when it is parsed; this guards direct callers.
    if n_minority < 1:
        raise UserError(
            f"n_majority {n_majority} with imbalance_ratio {format_level(ir)} gives no minority "
            f"rows (int({n_majority} * {format_level(ir)}) = 0); use a larger n_majority or ratio"
        )
    return n_minority


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


def known_factors(source: str, cases: list[TestCase], case: TestCase) -> dict:
    """The factors of `case` as this source's grid defines them; UserError if not in the grid."""
    if case.source != source:
        raise UserError(f"test case {case.key!r} is from source {case.source!r}, not {source!r}")
    for known in cases:
        if known.key == case.point:
            return known.factors
    raise UserError(f"unknown {source} test case {case.key!r} (not in this grid)")


def column_levels(feature_counts: list[int] | None, n_columns: int, where: str) -> list:
    """The `columns` levels of a tabular grid: [None] (not a factor) when none are asked;
    UserError for a level above the source's `n_columns` feature columns."""
    if feature_counts is None:
        return [None]
    too_many = [count for count in feature_counts if count > n_columns]
    if too_many:
        raise UserError(
            f"{where} has {n_columns} feature columns; feature_counts "
            f"{', '.join(map(str, too_many))} ask for more"
        )
    return list(feature_counts)


def table_factors(n_columns: int | None, features: int, overlap: float | None) -> dict:
    """The factors a tabular test adds after its dataset (and task): `columns` and
    `overlap` only where the study makes them factors, so other keys stay as they were."""
    factors: dict = {} if n_columns is None else {"columns": n_columns}
    factors["features"] = int(features)
    if overlap is not None:
        factors["overlap"] = overlap
    return factors


def table_key(prefix: str, factors: dict) -> str:
    """A tabular test's key: '<prefix>-' (if any), then 'cols<k>-' and 'ov<level>-' where
    they are factors, then 'n<N>-ir<ratio>'."""
    parts = [prefix] if prefix else []
    if "columns" in factors:
        parts.append(f"cols{factors['columns']}")
    if "overlap" in factors:
        parts.append(f"ov{format_level(factors['overlap'])}")
    parts += [f"n{factors['n_majority']}", f"ir{format_level(factors['imbalance_ratio'])}"]
    return "-".join(parts)
