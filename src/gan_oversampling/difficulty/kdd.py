"""Binary tasks on labelled tables ("these labels vs those"): NSL-KDD and KDD Cup 99.

A task's pool holds the rows of its majority labels (class 0) and of its minority labels
(class 1), in file order; its variants are built like the cybersecurity ones
(`difficulty.tabular.variant_rows`). The raw rows mix numbers and categories, so the source
gives a preprocessor: categorical columns one-hot encoded over a vocabulary fixed from every
row of the data (the same features in every fold), numeric columns min-max scaled to [-1, 1]
on the training fold only, test values clipped to [-1, 1]. With `scaling="whole"` the scaler
is instead fitted on the whole test dataset, as the author did, and `load` returns scaled rows.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder

from gan_oversampling.datasets.kdd import (
    KDD_DATASETS,
    KDD_FAMILIES,
    KDD_NORMAL,
    expand_labels,
    load_kdd,
)
from gan_oversampling.datasets.tabular import RawTable
from gan_oversampling.difficulty.base import TestCase
from gan_oversampling.difficulty.tabular import (
    check_feasible,
    check_levels,
    check_ratio,
    check_size,
    format_level,
    variant_rows,
)
from gan_oversampling.errors import UserError

SCALINGS = ("fold", "whole")
KDD_MAJORITY_SIZES = (50, 100)
KDD_RATIOS = (0.1, 0.2, 0.3, 0.4)
_TASK_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class BinaryTask:
    """Rows labelled `majority` (class 0) against rows labelled `minority` (class 1)."""

    name: str
    majority: tuple[str, ...]
    minority: tuple[str, ...]


DEFAULT_KDD_TASKS = tuple(
    BinaryTask(f"normal-vs-{family}", (KDD_NORMAL,), (family,)) for family in KDD_FAMILIES
)


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

    def cases(self) -> list[TestCase]:
        return [case for case, _ in self._cases_with_tasks()]

    def load(self, case: TestCase) -> tuple[np.ndarray, np.ndarray]:
        factors, task = self._known(case)
        majority, minority = self._class_rows(task)
        pool_rows = np.concatenate([majority, minority])
        pool_y = np.repeat(np.array([0, 1], dtype=np.int64), [len(majority), len(minority)])
        rows, y = variant_rows(pool_y, factors["n_majority"], factors["imbalance_ratio"])
        X = self.table.rows(pool_rows[rows])
        if self.scaling == "whole":
            X = table_preprocessor(self.table).fit_transform(X).astype(np.float32)
        return X, y

    def make_preprocessor(self) -> ColumnTransformer | None:
        return table_preprocessor(self.table) if self.scaling == "fold" else None

    def _class_rows(self, task: BinaryTask) -> tuple[np.ndarray, np.ndarray]:
        return self.table.rows_with_labels(task.majority), self.table.rows_with_labels(
            task.minority
        )

    def _cases_with_tasks(self) -> list[tuple[TestCase, BinaryTask]]:
        features = self.table.encoded_width
        pairs = []
        for task in self.tasks:
            majority, minority = self._class_rows(task)
            counts = {0: len(majority), 1: len(minority)}
            for n_majority, ratio in itertools.product(self.sizes, self.ratios):
                check_feasible(counts, n_majority, ratio, where=f"{self.source} task {task.name}")
                pairs.append((self._case(task, features, n_majority, ratio), task))
        return pairs

    def _known(self, case: TestCase) -> tuple[dict, BinaryTask]:
        """The factors (as this grid defines them) and the task of a case of this grid."""
        if case.source != self.source:
            raise UserError(
                f"test case {case.key!r} is from source {case.source!r}, not {self.source!r}"
            )
        for known, task in self._cases_with_tasks():
            if known.key == case.key:
                return known.factors, task
        raise UserError(f"unknown {self.source} test case {case.key!r} (not in this grid)")

    def _case(self, task: BinaryTask, features: int, n_majority: int, ratio: float) -> TestCase:
        prefix = f"{task.name}-" if self.task_in_key else ""
        factors = dict(self.leading_factors)
        if self.task_in_key:
            factors["task"] = task.name
        factors.update(features=features, n_majority=n_majority, imbalance_ratio=ratio)
        key = f"{prefix}n{n_majority}-ir{format_level(ratio)}"
        return TestCase(source=self.source, key=key, factors=factors)


class KddSource:
    """NSL-KDD or KDD Cup 99 (10%) binary tasks x majority size x imbalance ratio.

    The NSL-KDD pool is KDDTrain+_20Percent plus KDDTest+ (47,736 rows): the training file
    alone holds 11 U2R rows. A task's labels may be attack names, "normal" or families (DoS,
    Probe, R2L, U2R), which stand for their attacks. `load` returns raw rows (an object
    array, numbers and category strings) to be encoded by `make_preprocessor`, or, with
    `scaling="whole"`, rows already encoded and scaled on the whole test dataset (float32).
    """

    def __init__(
        self,
        dataset: str = "nsl-kdd",
        tasks: Sequence[BinaryTask | Mapping] = DEFAULT_KDD_TASKS,
        majority_sizes: Sequence[int] = KDD_MAJORITY_SIZES,
        imbalance_ratios: Sequence[float] = KDD_RATIOS,
        data_dir: str | Path | None = None,
        scaling: str = "fold",
    ):
        self.dataset = dataset
        self.tasks = tasks
        self.majority_sizes = majority_sizes
        self.imbalance_ratios = imbalance_ratios
        self.data_dir = data_dir
        self.scaling = scaling

    @property
    def name(self) -> str:
        return self.dataset

    def cases(self) -> list[TestCase]:
        """Every test case, task outermost and imbalance ratio innermost."""
        return self._grid().cases()

    def load(self, case: TestCase) -> tuple[np.ndarray, np.ndarray]:
        """The rows of `case` (raw, or scaled with scaling "whole") and y int64."""
        return self._grid().load(case)

    def make_preprocessor(self, case: TestCase) -> ColumnTransformer | None:
        """A fresh, unfitted encoder and scaler for one fold; None with scaling "whole"."""
        return self._grid().make_preprocessor()

    def _grid(self) -> TaskGrid:
        if self.dataset not in KDD_DATASETS:
            raise UserError(
                f"unknown KDD dataset {self.dataset!r}; known: {', '.join(KDD_DATASETS)}"
            )
        scaling = check_scaling(self.scaling)
        sizes = check_levels(self.majority_sizes, "majority_sizes", check_size)
        ratios = check_levels(self.imbalance_ratios, "imbalance_ratios", check_ratio)
        table = load_kdd(self.dataset, self.data_dir)
        tasks = tuple(
            _resolve_kdd_task(task, table, self.dataset) for task in check_tasks(self.tasks)
        )
        return TaskGrid(self.dataset, table, tasks, sizes, ratios, scaling,
                        {"dataset": self.dataset}, task_in_key=True)


def check_scaling(scaling: str) -> str:
    if scaling not in SCALINGS:
        raise UserError(f"scaling {scaling!r} not allowed: use one of {', '.join(SCALINGS)}")
    return scaling


def check_tasks(tasks: Sequence[BinaryTask | Mapping]) -> tuple[BinaryTask, ...]:
    """Tasks as BinaryTask, with names fit for test keys, unique, and non-empty label lists."""
    if isinstance(tasks, str | bytes | Mapping) or not isinstance(tasks, Sequence):
        raise UserError(f"tasks must be a list of {{name, majority, minority}}, got {tasks!r}")
    if not tasks:
        raise UserError("tasks must hold at least one task")
    checked = tuple(_as_task(task) for task in tasks)
    names = [task.name for task in checked]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise UserError(f"task names must be unique; repeated: {', '.join(repeated)}")
    return checked


def _as_task(task: BinaryTask | Mapping) -> BinaryTask:
    if isinstance(task, Mapping):
        unknown = set(task) - {"name", "majority", "minority"}
        if unknown or not {"name", "majority", "minority"} <= set(task):
            raise UserError(f"a task needs exactly name, majority and minority; got {dict(task)}")
        task = BinaryTask(task["name"], task["majority"], task["minority"])
    if not isinstance(task, BinaryTask):
        raise UserError(f"a task must be {{name, majority, minority}}, got {task!r}")
    if not isinstance(task.name, str) or not _TASK_NAME.match(task.name):
        raise UserError(f"task name {task.name!r} not allowed: use letters, digits, '_', '.', '-'")
    return BinaryTask(
        task.name,
        check_label_list(task.majority, f"task {task.name} majority"),
        check_label_list(task.minority, f"task {task.name} minority"),
    )


def check_label_list(labels: Sequence[str], what: str) -> tuple[str, ...]:
    """A non-empty list of distinct label strings."""
    if isinstance(labels, str | bytes) or not isinstance(labels, Sequence):
        raise UserError(f"{what} must be a list of labels, got {labels!r}")
    if not labels or not all(isinstance(label, str) and label for label in labels):
        raise UserError(f"{what} must be a non-empty list of non-empty label strings")
    if len(set(labels)) != len(labels):
        raise UserError(f"{what} repeats a label: {list(labels)}")
    return tuple(labels)


def _resolve_kdd_task(task: BinaryTask, table: RawTable, dataset: str) -> BinaryTask:
    """Family names expanded to attacks; every named label must occur in the data."""
    present = set(table.label_names)
    for label in (*task.majority, *task.minority):
        if label not in KDD_FAMILIES and label not in present:
            raise UserError(
                f"task {task.name}: label {label!r} has no rows in {dataset}; use a family "
                f"({', '.join(KDD_FAMILIES)}) or one of: {', '.join(sorted(present))}"
            )
    majority, minority = expand_labels(task.majority), expand_labels(task.minority)
    return BinaryTask(task.name, *disjoint_classes(task.name, majority, minority))


def disjoint_classes(name: str, majority: tuple, minority: tuple) -> tuple[tuple, tuple]:
    both = sorted(set(majority) & set(minority))
    if both:
        raise UserError(f"task {name}: label(s) {', '.join(both)} in both majority and minority")
    return majority, minority
