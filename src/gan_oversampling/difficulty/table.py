"""A user's own labelled table (.csv or .parquet) as a grid of test datasets.

One binary task: rows whose label is in `majority` (class 0) against rows whose label is in
`minority` (class 1); labels are compared as strings; other rows are left out. Every column
but the label is a feature: the `categorical` ones are one-hot encoded (vocabulary from every
row of the file), the others must be numbers and are min-max scaled to [-1, 1] (see
`difficulty.kdd`). Missing values are an error, never imputed.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.compose import ColumnTransformer

from gan_oversampling.datasets.tabular import RawTable, table_from_frame
from gan_oversampling.datasets.verify import sha256_file
from gan_oversampling.difficulty.base import TestCase
from gan_oversampling.difficulty.kdd import (
    BinaryTask,
    TaskGrid,
    check_label_list,
    check_scaling,
    disjoint_classes,
)
from gan_oversampling.difficulty.tabular import (
    PAPER_MAJORITY_SIZES,
    PAPER_RATIOS,
    check_levels,
    check_ratio,
    check_size,
)
from gan_oversampling.errors import UserError

TABLE_SUFFIXES = (".csv", ".parquet")
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_SHOWN_LABELS = 20


class TableSource:
    """A user's table: majority size x imbalance ratio, like the cybersecurity variants.

    `path` is used as given: a relative path is relative to the current directory. With
    `sha256`, the file must have that checksum. `load` returns raw rows (object array) for
    `make_preprocessor`, or with `scaling="whole"` rows scaled on the whole test dataset.
    """

    name = "table"

    def __init__(
        self,
        path: str | Path,
        label_column: str,
        majority: Sequence[str],
        minority: Sequence[str],
        majority_sizes: Sequence[int] = PAPER_MAJORITY_SIZES,
        imbalance_ratios: Sequence[float] = PAPER_RATIOS,
        categorical: Sequence[str] = (),
        sha256: str | None = None,
        scaling: str = "fold",
    ):
        self.path = path
        self.label_column = label_column
        self.majority = majority
        self.minority = minority
        self.majority_sizes = majority_sizes
        self.imbalance_ratios = imbalance_ratios
        self.categorical = categorical
        self.sha256 = sha256
        self.scaling = scaling

    def cases(self) -> list[TestCase]:
        """Every test case, majority size outermost and imbalance ratio innermost."""
        return self._grid().cases()

    def load(self, case: TestCase) -> tuple[np.ndarray, np.ndarray]:
        """The rows of `case` (raw, or scaled with scaling "whole") and y int64."""
        return self._grid().load(case)

    def make_preprocessor(self, case: TestCase) -> ColumnTransformer | None:
        """A fresh, unfitted encoder and scaler for one fold; None with scaling "whole"."""
        return self._grid().make_preprocessor()

    def _grid(self) -> TaskGrid:
        scaling = check_scaling(self.scaling)
        sizes = check_levels(self.majority_sizes, "majority_sizes", check_size)
        ratios = check_levels(self.imbalance_ratios, "imbalance_ratios", check_ratio)
        majority = check_label_list(self.majority, "majority")
        minority = check_label_list(self.minority, "minority")
        table = read_table(self.path, self.label_column, self.categorical, self.sha256)
        origin = f"table file {self.path}"
        _check_labels_present(table, (*majority, *minority), origin)
        task = BinaryTask("table", *disjoint_classes("table", majority, minority))
        return TaskGrid(self.name, table, (task,), sizes, ratios, scaling,
                        {"dataset": Path(self.path).name}, task_in_key=False)


def read_table(
    path: str | Path,
    label_column: str,
    categorical: Sequence[str] = (),
    sha256: str | None = None,
) -> RawTable:
    """A .csv or .parquet file as a RawTable, checked (sha256, columns, values) and cached."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"table file {path} does not exist")
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise UserError(
            f"table file {path} must end in {' or '.join(TABLE_SUFFIXES)}, not {path.suffix!r}"
        )
    if not isinstance(label_column, str) or not label_column:
        raise UserError(f"label_column must be a column name, got {label_column!r}")
    categorical = check_categorical(categorical, label_column)
    if sha256 is not None and (not isinstance(sha256, str) or not _SHA256.match(sha256)):
        raise UserError(f"sha256 {sha256!r} not allowed: it must be 64 hexadecimal digits")
    stat = path.stat()
    return _cached_table(
        str(path.resolve()), stat.st_mtime_ns, stat.st_size, label_column, categorical,
        sha256.lower() if sha256 else None,
    )


def check_categorical(categorical: Sequence[str], label_column: str) -> tuple[str, ...]:
    if isinstance(categorical, str | bytes) or not isinstance(categorical, Sequence):
        raise UserError(f"categorical must be a list of column names, got {categorical!r}")
    if len(set(categorical)) != len(categorical):
        raise UserError(f"categorical repeats a column: {list(categorical)}")
    if label_column in categorical:
        raise UserError(f"the label column '{label_column}' cannot also be categorical")
    return tuple(categorical)


# Keyed by the file's size and modification time too, so an edited file is read again.
@functools.lru_cache(maxsize=4)
def _cached_table(
    path: str, _mtime_ns: int, _size: int, label_column: str, categorical: tuple[str, ...],
    sha256: str | None,
) -> RawTable:
    origin = f"table file {path}"
    if sha256 is not None:
        actual = sha256_file(path)
        if actual != sha256:
            raise UserError(f"{origin} has sha256 {actual}, not the {sha256} the study names")
    frame = _read_frame(Path(path), label_column, categorical, origin)
    if len(frame) == 0:
        raise UserError(f"{origin} has no rows")
    if len(frame.columns) < 2:
        raise UserError(f"{origin} has no feature column besides '{label_column}'")
    return table_from_frame(frame, label_column, categorical, origin)


def _read_frame(path: Path, label_column: str, categorical: tuple[str, ...], origin: str):
    import pandas as pd

    try:
        if path.suffix.lower() == ".parquet":
            frame = _read_parquet(path)
            columns = [str(name) for name in frame.columns]
        else:
            columns = [str(name) for name in pd.read_csv(path, nrows=0).columns]
        _check_columns(columns, label_column, categorical, origin)
        if path.suffix.lower() != ".parquet":
            # Labels and categories stay text: "01" and "1" are different labels.
            text_columns = {name: str for name in (label_column, *categorical)}
            frame = pd.read_csv(path, dtype=text_columns)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise UserError(f"{origin} cannot be read: {str(error).splitlines()[0]}") from None
    return frame


def _read_parquet(path: Path):
    import pandas as pd

    if importlib.util.find_spec("pyarrow") is None:
        raise UserError(
            f"install pyarrow to read parquet (pip install pyarrow), or save {path.name} as .csv"
        )
    try:
        return pd.read_parquet(path, engine="pyarrow")
    except Exception as error:  # pyarrow raises many types for a damaged file
        raise UserError(f"table file {path} cannot be read as parquet: {error}") from None


def _check_columns(columns: list[str], label_column: str, categorical: tuple, origin: str):
    if label_column not in columns:
        raise UserError(
            f"{origin} has no label column '{label_column}'; its columns: {', '.join(columns)}"
        )
    unknown = [name for name in categorical if name not in columns]
    if unknown:
        raise UserError(
            f"{origin} has no column(s) {', '.join(unknown)} (listed as categorical); "
            f"its columns: {', '.join(columns)}"
        )


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

