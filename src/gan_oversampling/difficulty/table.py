"""A user's own labelled table (.csv or .parquet) as a grid of test datasets.

One binary task: rows whose label is in `majority` (class 0) against rows whose label is in
`minority` (class 1); labels are compared as strings; other rows are left out. Every column
but the label and the excluded ones is a feature: the `categorical` ones are one-hot encoded
(vocabulary from every row of the file), the others are min-max scaled to [-1, 1] (see
`difficulty.tasks`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gan_oversampling.datasets.table import read_table
from gan_oversampling.datasets.tabular import RawTable
from gan_oversampling.difficulty.tasks import BinaryTask, TaskGrid, TaskSource
from gan_oversampling.errors import UserError

if TYPE_CHECKING:
    from gan_oversampling.study.data_spec import TableData

_SHOWN_LABELS = 20


class TableSource(TaskSource):
    """A user's table: majority size x imbalance ratio, like the cybersecurity variants.

    `data.path` is used as given: a relative path is relative to the current directory.
    `load` returns raw rows (object array) for `make_preprocessor`, or with scaling "whole"
    rows scaled on the whole test dataset.
    """

    name = "table"
    leak_remedy = "drop it with data.exclude, or "

    def __init__(self, data: TableData):
        self.data = data
        self.origin = f"table file {data.path}"

    def grid(self) -> TaskGrid:
        data = self.data
        table = read_table(data.path, data.label_column, data.categorical, data.sha256,
                           data.exclude)
        _check_labels_present(table, (*data.majority, *data.minority), f"table file {data.path}")
        task = BinaryTask("table", tuple(data.majority), tuple(data.minority))
        return TaskGrid(self.name, table, (task,), tuple(data.majority_sizes),
                        tuple(data.imbalance_ratios), data.scaling,
                        {"dataset": Path(data.path).name}, task_in_key=False,
                        allowed_leaks=tuple(data.allow_leaks),
                        feature_counts=data.feature_counts, overlaps=data.overlaps)


def _check_labels_present(table: RawTable, labels: tuple[str, ...], origin: str) -> None:
    present = set(table.label_names)
    missing = [label for label in labels if label not in present]
    if missing:
        shown = sorted(present)[:_SHOWN_LABELS]
        more = f" and {len(present) - len(shown)} more" if len(present) > len(shown) else ""
        raise UserError(
            f"{origin}: no row has the label(s) {', '.join(missing)}; labels present: "
            f"{', '.join(shown)}{more}"
        )
