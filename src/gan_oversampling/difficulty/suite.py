"""Several tabular sources as one family of tests (a study's `kind = "suite"` data).

Each part (the cybersecurity datasets, an NSL-KDD or KDD Cup 99 task list, a user's
table) keeps its own tests, rows and per-fold preprocessing; the suite lists them side
by side. So that every test has the same factors, a part's `task` becomes the suite's
`dataset` (an NSL-KDD task is a dataset of its own, as a cybersecurity dataset is).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from gan_oversampling.difficulty.base import Source, TestCase
from gan_oversampling.errors import UserError

DATASET = "dataset"
TASK = "task"


class SuiteSource:
    """The tests of several sources, each loaded by its own source."""

    name = "suite"

    def __init__(self, parts: list[Source]) -> None:
        self.parts = {part.name: part for part in parts}

    def cases(self) -> list[TestCase]:
        """Every part's tests in the parts' order; UserError when two share a key."""
        cases, seen = [], {}
        for part in self.parts.values():
            for case in part.cases():
                if case.key in seen:
                    raise UserError(f"test {case.key} is in both the {seen[case.key]} and the "
                                    f"{part.name} part of the suite")
                seen[case.key] = part.name
                cases.append(replace(case, factors=_with_dataset(case.factors, part.name)))
        return cases

    def load(self, case: TestCase) -> tuple[np.ndarray, np.ndarray]:
        return self._part(case).load(case)

    def make_preprocessor(self, case: TestCase):
        make = getattr(self._part(case), "make_preprocessor", None)
        return make(case) if make is not None else None

    def sample_columns(self, case: TestCase, fitted) -> list[dict] | None:
        columns = getattr(self._part(case), "sample_columns", None)
        return columns(case, fitted) if columns is not None else None

    def check_leaks(self) -> None:
        """Each part's leak guard (a feature that alone separates a pool's classes)."""
        for part in self.parts.values():
            check = getattr(part, "check_leaks", None)
            if check is not None:
                check()

    def _part(self, case: TestCase) -> Source:
        if case.source not in self.parts:
            raise UserError(f"test case {case.key!r} is from source {case.source!r}, which is "
                            "not a part of this suite")
        return self.parts[case.source]


def _with_dataset(factors: dict, part: str) -> dict:
    """`dataset` first (a task's name, else the part's own dataset, else the part's name),
    then the part's other factors."""
    rest = {name: level for name, level in factors.items() if name not in (DATASET, TASK)}
    dataset = factors.get(TASK, factors.get(DATASET, part))
    return {DATASET: dataset, **rest}
