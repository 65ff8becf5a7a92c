"""Labelled PNG grids of image samples (real majority vs minority, real vs generated)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from gan_oversampling.errors import UserError

_CELL_INCHES = 0.8
_LABEL_INCHES = 2.2
_DPI = 100


def save_image_grid(
    rows: list[tuple[str, np.ndarray]], side: int, path: Path, n_per_row: int = 10
) -> Path:
    """Draw one labelled row per (label, images) pair and write it to `path` as PNG.

    Images are (m, side * side) vectors or (m, side, side) arrays with pixels in [-1, 1]
    (-1 black, 1 white); each row shows its first `n_per_row` images. The file is written
    whole or not at all.
    """
    n_per_row = _check_count(n_per_row, "n_per_row")
    side = _check_count(side, "side")
    grids = [(str(label), _as_images(images, side, label)[:n_per_row]) for label, images in rows]
    if not grids:
        raise UserError("an image grid needs at least one row")
    figure = _draw(grids, n_per_row)
    return _write_png_atomically(figure, Path(path))


def _check_count(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise UserError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _as_images(images: np.ndarray, side: int, label: str) -> np.ndarray:
    array = np.asarray(images, dtype=np.float32)
    flat_ok = array.ndim == 2 and array.shape[1] == side * side
    square_ok = array.ndim == 3 and array.shape[1:] == (side, side)
    if not (flat_ok or square_ok):
        raise UserError(
            f"images of row {label!r} have shape {array.shape}; expected (m, {side * side}) "
            f"or (m, {side}, {side})"
        )
    return array.reshape(len(array), side, side)


def _draw(grids: list[tuple[str, np.ndarray]], n_per_row: int) -> Figure:
    n_rows = len(grids)
    width = _LABEL_INCHES + n_per_row * _CELL_INCHES
    figure = Figure(figsize=(width, n_rows * _CELL_INCHES + 0.2), dpi=_DPI)
    left = _LABEL_INCHES / width
    axes_grid = figure.subplots(n_rows, n_per_row, squeeze=False)
    figure.subplots_adjust(left=left, right=0.99, top=0.95, bottom=0.05, wspace=0.05, hspace=0.1)
    for (label, images), axes_row in zip(grids, axes_grid, strict=True):
        for column, axes in enumerate(axes_row):
            axes.set_xticks([])
            axes.set_yticks([])
            if column < len(images):
                axes.imshow(
                    images[column], cmap="gray", vmin=-1.0, vmax=1.0, interpolation="nearest"
                )
            else:
                axes.set_frame_on(False)
        axes_row[0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    return figure


def _write_png_atomically(figure: Figure, path: Path) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
        )
    except OSError as error:
        raise UserError(f"cannot write image grid {path}: {error.strerror or error}") from None
    os.close(handle)
    try:
        figure.savefig(temporary, format="png")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
