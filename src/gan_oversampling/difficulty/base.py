"""What every source of test datasets provides: a list of test cases and a loader."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class TestCase:
    """One test dataset of a study, named by its difficulty factors.

    `key` is unique within a study and stable across runs (it keys the results store);
    `factors` maps each factor name to its level, in display order.
    """

    __test__ = False  # not a pytest class

    source: str
    key: str
    factors: dict[str, float | int | str] = field(hash=False, compare=False)


class Source(Protocol):
    """A family of test datasets (MNIST-derived, a tabular collection, a user's file)."""

    name: str

    def cases(self) -> list[TestCase]:
        """Every test case of the grid, in a stable order."""
        ...

    def load(self, case: TestCase) -> tuple[np.ndarray, np.ndarray]:
        """The test dataset: X float32 (n, features), y int64 (n,), 0 = majority, 1 = minority."""
        ...
