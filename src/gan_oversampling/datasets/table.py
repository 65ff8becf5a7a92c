"""A user's own labelled table (.csv or .parquet), read into a RawTable and cached.

Labels and categorical columns are read as text; every other column but the label and the
excluded ones must be numeric. Missing values are an error, never imputed. With a pinned
sha256 the file must have that checksum.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Sequence
from pathlib import Path

from gan_oversampling.datasets.tabular import RawTable, table_from_frame
from gan_oversampling.datasets.verify import sha256_file
from gan_oversampling.errors import UserError


def read_table(
    path: str | Path,
    label_column: str,
    categorical: Sequence[str] = (),
    sha256: str | None = None,
    exclude: Sequence[str] = (),
) -> RawTable:
    """A .csv or .parquet file (by its suffix) as a RawTable, checked against the file's
    columns, values and `sha256` (when given), and cached until the file changes. The
    `exclude`d columns are dropped unread (they may hold anything).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"table file {path} does not exist")
    stat = path.stat()
    return _cached_table(
        str(path.resolve()), stat.st_mtime_ns, stat.st_size, label_column, tuple(categorical),
        sha256.lower() if sha256 else None, tuple(exclude),
    )


# Keyed by the file's size and modification time too, so an edited file is read again.
@functools.lru_cache(maxsize=4)
def _cached_table(
    path: str, _mtime_ns: int, _size: int, label_column: str, categorical: tuple[str, ...],
    sha256: str | None, exclude: tuple[str, ...],
) -> RawTable:
    origin = f"table file {path}"
    if sha256 is not None:
        actual = sha256_file(path)
        if actual != sha256:
            raise UserError(f"{origin} has sha256 {actual}, not the {sha256} the study names")
    frame = _read_frame(Path(path), label_column, categorical, exclude, origin)
    if len(frame) == 0:
        raise UserError(f"{origin} has no rows")
    if len(frame.columns) < 2:
        besides = "', '".join((label_column, *exclude))
        raise UserError(f"{origin} has no feature column besides '{besides}'")
    return table_from_frame(frame, label_column, categorical, origin)


def _read_frame(path: Path, label_column: str, categorical: tuple[str, ...],
                exclude: tuple[str, ...], origin: str):
    import pandas as pd

    try:
        if path.suffix.lower() == ".parquet":
            frame = _read_parquet(path).rename(columns=str)
            columns = list(frame.columns)
        else:
            columns = [str(name) for name in pd.read_csv(path, nrows=0).columns]
        _check_columns(columns, label_column, categorical, exclude, origin)
        kept = [name for name in columns if name not in exclude]
        if path.suffix.lower() == ".parquet":
            return frame[kept]
        # Labels and categories stay text: "01" and "1" are different labels. Every column
        # is read (pandas skips a ragged row's extra fields when told which to keep).
        text_columns = {name: str for name in (label_column, *categorical)}
        return pd.read_csv(path, dtype=text_columns)[kept]
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise UserError(f"{origin} cannot be read: {str(error).splitlines()[0]}") from None


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


def _check_columns(columns: list[str], label_column: str, categorical: tuple,
                   exclude: tuple, origin: str):
    if label_column not in columns:
        raise UserError(
            f"{origin} has no label column '{label_column}'; its columns: {', '.join(columns)}"
        )
    for listed, where in ((categorical, "listed as categorical"), (exclude, "listed in exclude")):
        unknown = [name for name in listed if name not in columns]
        if unknown:
            raise UserError(
                f"{origin} has no column(s) {', '.join(unknown)} ({where}); "
                f"its columns: {', '.join(columns)}"
            )
