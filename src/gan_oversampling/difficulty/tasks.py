"""Binary tasks over a labelled table ("these labels vs those") as a grid of test datasets.

A task's pool holds the rows of its majority labels (class 0) and of its minority labels
(class 1), in file order; its variants are built like the cybersecurity ones
(`difficulty.tabular.case_rows`). The raw rows mix numbers and categories, so the source
gives a preprocessor: categorical columns one-hot encoded over a vocabulary fixed from every
row of the data (the same features in every fold), numeric columns min-max scaled to [-1, 1]
on the training fold only, test values clipped to [-1, 1]. With scaling "whole" the scaler
is instead fitted on the whole test dataset, as the original study did, and `load` returns
scaled rows.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder

from gan_oversampling.datasets.tabular import RawTable
from gan_oversampling.difficulty.base import (
    TestCase,
    check_feasible,
    column_levels,
    table_factors,
    table_key,
)
from gan_oversampling.difficulty.leaks import refuse_leaks, table_leaks
from gan_oversampling.difficulty.tabular import case_rows
from gan_oversampling.difficulty.transforms import table_with_columns
from gan_oversampling.errors import UserError


@dataclass(frozen=True)
class BinaryTask:
    """Rows labelled `majority` (class 0) against rows labelled `minority` (class 1)."""

    name: str
    majority: tuple[str, ...]
    minority: tuple[str, ...]


def table_preprocessor(table: RawTable) -> ColumnTransformer:
    """Unfitted: one-hot categories (fixed vocabulary), numbers min-max scaled to [-1, 1].

    Output columns: the one-hot blocks first, then the numeric columns, in file order.
    """
    encoder = OneHotEncoder(
        categories=[list(vocabulary) for vocabulary in table.vocabularies],
        sparse_output=False,
        dtype=np.float64,
    )
    # clip=True keeps test values beyond the training range inside the tanh range [-1, 1].
    scaler = MinMaxScaler(feature_range=(-1, 1), clip=True)
    return ColumnTransformer(
        [("categories", encoder, table.categorical_positions),
         ("numbers", scaler, table.numeric_positions)],
        sparse_threshold=0,
    )


def encoded_columns(table: RawTable, fitted: ColumnTransformer) -> list[dict]:
    """How the output of a fitted `table_preprocessor` decodes, one entry per table column
    in output order: {"column", "categories"} for a one-hot block (one output per
    category), {"column", "low", "high"} for a number scaled from [low, high] to [-1, 1]."""
    columns: list[dict] = [{"column": name, "categories": list(vocabulary)}
                           for name, vocabulary in zip(table.categorical, table.vocabularies,
                                                       strict=True)]
    if table.numeric_names:
        scaler = fitted.named_transformers_["numbers"]
        columns += [{"column": name, "low": float(low), "high": float(high)}
                    for name, low, high in zip(table.numeric_names, scaler.data_min_,
                                               scaler.data_max_, strict=True)]
    return columns


@dataclass(frozen=True)
class TaskGrid:
    """Tasks x majority sizes x imbalance ratios over one table: the cases and their rows."""

    source: str
    table: RawTable
    tasks: tuple[BinaryTask, ...]  # labels already expanded from family names
    sizes: tuple[int, ...]
    ratios: tuple[float, ...]
    scaling: str
    leading_factors: dict
    task_in_key: bool
    allowed_leaks: tuple[str, ...] = ()
    feature_counts: Sequence[int] | None = None  # levels of difficulty.transforms
    overlaps: Sequence[float] | None = None

    def cases(self) -> list[TestCase]:
        return [case for case, _ in self._cases_with_tasks()]

    def check_leaks(self, origin: str, remedy: str = "") -> None:
        """UserError when a feature alone separates the classes of a task's pool
        (`difficulty.leaks`), unless `allowed_leaks` names it."""
        leaks = {f"task {task.name}" if self.task_in_key else "":
                 table_leaks(self.table, *self._class_rows(task)) for task in self.tasks}
        refuse_leaks(leaks, self.allowed_leaks, self.table.columns, origin, remedy)

    def load(self, case: TestCase) -> tuple[np.ndarray, np.ndarray]:
        X, y = self._raw_rows(case)
        if self.scaling == "whole":
            X = table_preprocessor(_columns_of(self.table, case)).fit_transform(X)
            X = X.astype(np.float32)
        return X, y

    def sample_columns(self, case: TestCase, fitted: ColumnTransformer | None) -> list[dict]:
        """How encoded rows of `case` decode (`encoded_columns`): with the preprocessor
        fitted on a training fold, or (scaling "whole") the one `load` fits."""
        table = _columns_of(self.table, case)
        if fitted is None:
            fitted = table_preprocessor(table).fit(self._raw_rows(case)[0])
        return encoded_columns(table, fitted)

    def _raw_rows(self, case: TestCase) -> tuple[np.ndarray, np.ndarray]:
        factors, task = self._known(case)
        majority, minority = self._class_rows(task)
        pool_rows = np.concatenate([majority, minority])
        pool_y = np.repeat(np.array([0, 1], dtype=np.int64), [len(majority), len(minority)])
        rows, y = case_rows(pool_y, factors, case.draw_seed)
        return _columns_of(self.table, case).rows(pool_rows[rows]), y

    def make_preprocessor(self, case: TestCase) -> ColumnTransformer | None:
        if self.scaling == "whole":
            return None
        return table_preprocessor(_columns_of(self.table, case))

    def _class_rows(self, task: BinaryTask) -> tuple[np.ndarray, np.ndarray]:
        return self.table.rows_with_labels(task.majority), self.table.rows_with_labels(
            task.minority
        )

    def _cases_with_tasks(self) -> list[tuple[TestCase, BinaryTask]]:
        columns = column_levels(self.feature_counts, len(self.table.columns), self.source)
        pairs = []
        for task in self.tasks:
            majority, minority = self._class_rows(task)
            counts = {0: len(majority), 1: len(minority)}
            where = f"{self.source} task {task.name}"
            for n_columns, overlap, n_majority, ratio in itertools.product(
                columns, self.overlaps or [None], self.sizes, self.ratios
            ):
                check_feasible(counts, n_majority, ratio, where=where)
                features = table_with_columns(self.table, n_columns).encoded_width
                pairs.append((self._case(task, table_factors(n_columns, features, overlap),
                                         n_majority, ratio), task))
        return pairs

    def _known(self, case: TestCase) -> tuple[dict, BinaryTask]:
        """The factors (as this grid defines them) and the task of a case of this grid."""
        if case.source != self.source:
            raise UserError(
                f"test case {case.key!r} is from source {case.source!r}, not {self.source!r}"
            )
        for known, task in self._cases_with_tasks():
            if known.key == case.point:
                return known.factors, task
        raise UserError(f"unknown {self.source} test case {case.key!r} (not in this grid)")

    def _case(self, task: BinaryTask, transformed: dict, n_majority: int, ratio: float
              ) -> TestCase:
        factors = dict(self.leading_factors)
        if self.task_in_key:
            factors["task"] = task.name
        factors.update(transformed, n_majority=n_majority, imbalance_ratio=ratio)
        key = table_key(task.name if self.task_in_key else "", factors)
        return TestCase(source=self.source, key=key, factors=factors)


def _columns_of(table: RawTable, case: TestCase) -> RawTable:
    """The table with the columns the case's `columns` level keeps (all without one)."""
    return table_with_columns(table, case.factors.get("columns"))


class TaskSource:
    """A source whose cases and rows come from a `TaskGrid` that a subclass builds.

    The grid is built again on each call: the table behind it is cached by its loader
    (and re-read when its file changes), so this costs little and sees an edited file.
    """

    name: str
    origin: str  # how messages name the data: "nsl-kdd", "table file flows.csv"
    leak_remedy = ""  # a way out of a leak that the source offers besides allow_leaks

    def grid(self) -> TaskGrid:
        raise NotImplementedError

    def cases(self) -> list[TestCase]:
        """Every test case, task outermost and imbalance ratio innermost."""
        return self.grid().cases()

    def load(self, case: TestCase) -> tuple[np.ndarray, np.ndarray]:
        """The rows of `case` (raw, or scaled with scaling "whole") and y int64."""
        return self.grid().load(case)

    def make_preprocessor(self, case: TestCase) -> ColumnTransformer | None:
        """A fresh, unfitted encoder and scaler for one fold; None with scaling "whole"."""
        return self.grid().make_preprocessor(case)

    def sample_columns(self, case: TestCase, fitted: ColumnTransformer | None) -> list[dict]:
        """How the encoded rows of `case` decode back to the table's columns, given the
        preprocessor fitted on a training fold (None with scaling "whole")."""
        return self.grid().sample_columns(case, fitted)

    def check_leaks(self) -> None:
        """UserError when a feature alone separates the classes of a pool (see
        `difficulty.leaks`) and the study does not allow it."""
        self.grid().check_leaks(self.origin, self.leak_remedy)
