"""Binary tasks on NSL-KDD and KDD Cup 99 (10%): "normal vs U2R", "smurf vs R2L", ...

A task's labels may be attack names, "normal" or families (DoS, Probe, R2L, U2R), which
stand for their attacks. The grid and its preprocessing are those of `difficulty.tasks`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gan_oversampling.datasets.kdd import KDD_FAMILIES, expand_labels, load_kdd
from gan_oversampling.datasets.tabular import RawTable
from gan_oversampling.difficulty.tasks import BinaryTask, TaskGrid, TaskSource
from gan_oversampling.errors import UserError

if TYPE_CHECKING:
    from gan_oversampling.study.data_spec import KddData, KddTask


class KddSource(TaskSource):
    """NSL-KDD or KDD Cup 99 (10%) binary tasks x majority size x imbalance ratio.

    The NSL-KDD pool is KDDTrain+_20Percent plus KDDTest+ (47,736 rows): the training file
    alone holds 11 U2R rows. `load` returns raw rows (an object array, numbers and category
    strings) to be encoded by `make_preprocessor`, or, with scaling "whole", rows already
    encoded and scaled on the whole test dataset (float32).
    """

    def __init__(self, data: KddData, data_dir: str | Path | None = None):
        self.data = data
        self.data_dir = data_dir
        self.name = self.origin = data.kind

    def grid(self) -> TaskGrid:
        data = self.data
        table = load_kdd(data.kind, self.data_dir)
        tasks = tuple(_resolve_kdd_task(task, table, data.kind) for task in data.tasks)
        return TaskGrid(data.kind, table, tasks, tuple(data.majority_sizes),
                        tuple(data.imbalance_ratios), data.scaling, {"dataset": data.kind},
                        task_in_key=True, allowed_leaks=tuple(data.allow_leaks),
                        feature_counts=data.feature_counts, overlaps=data.overlaps)


def _resolve_kdd_task(task: KddTask, table: RawTable, dataset: str) -> BinaryTask:
    """Family names expanded to attacks; every named attack must occur in the data."""
    present = set(table.label_names)
    for label in (*task.majority, *task.minority):
        if label not in KDD_FAMILIES and label not in present:
            raise UserError(
                f"task {task.name}: label {label!r} has no rows in {dataset}; use a family "
                f"({', '.join(KDD_FAMILIES)}) or one of: {', '.join(sorted(present))}"
            )
    return BinaryTask(task.name, expand_labels(task.majority), expand_labels(task.minority))
