"""The MNIST digits: the four IDX files, checked against pinned checksums and parsed."""

from __future__ import annotations

import functools
import gzip
from pathlib import Path
from typing import Literal

import numpy as np

from gan_oversampling.datasets.verify import DATA_DIR_ENV, require_file, resolve_data_dir
from gan_oversampling.errors import UserError

VENDORED_DIR = Path(__file__).parent / "vendored" / "mnist"

# sha256 of the decompressed content: the same bytes whatever gzip settings made the .gz file.
MNIST_SHA256 = {
    "train-images.idx3-ubyte.gz": (
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
    ),
    "train-labels.idx1-ubyte.gz": (
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"
    ),
    "t10k-images.idx3-ubyte.gz": (
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
    ),
    "t10k-labels.idx1-ubyte.gz": (
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
    ),
}

SPLIT_FILES = {
    "train": ("train-images.idx3-ubyte.gz", "train-labels.idx1-ubyte.gz"),
    "test": ("t10k-images.idx3-ubyte.gz", "t10k-labels.idx1-ubyte.gz"),
}

# IDX magic numbers: two zero bytes, type code 0x08 (unsigned byte), number of dimensions.
_IMAGES_MAGIC = 0x00000803
_LABELS_MAGIC = 0x00000801

WHERE_TO_GET = (
    "put the four MNIST IDX files, gzip-compressed and named train-images.idx3-ubyte.gz, "
    "train-labels.idx1-ubyte.gz, t10k-images.idx3-ubyte.gz and t10k-labels.idx1-ubyte.gz "
    "(from http://yann.lecun.com/exdb/mnist/ or a mirror), in <data dir>/mnist/, "
    f"or name no data directory (no --data-dir, no {DATA_DIR_ENV}) to use the bundled copy"
)


def mnist_dir(data_dir: str | Path | None = None) -> Path:
    """Where the MNIST files are read from: `<data dir>/mnist/`, or the bundled copy."""
    resolved = resolve_data_dir(data_dir)
    return VENDORED_DIR if resolved is None else resolved / "mnist"


def load_mnist(
    split: Literal["train", "test"] = "train", data_dir: str | Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST images uint8 (n, 28, 28) and labels uint8 (n,), read-only, in file order.

    Every file is checked against its pinned checksum first; the parsed arrays are cached
    in-process, so repeated calls are cheap and return the same (read-only) arrays.
    """
    if split not in SPLIT_FILES:
        raise UserError(f"unknown MNIST split {split!r} (allowed: 'train', 'test')")
    folder = mnist_dir(data_dir)
    paths = []
    for name in SPLIT_FILES[split]:
        path = require_file(
            folder / name, MNIST_SHA256[name], decompressed=True, where_to_get=WHERE_TO_GET
        )
        paths.append(path.resolve())
    images_path, labels_path = paths
    return _read_split(images_path, labels_path, _signature(images_path), _signature(labels_path))


def parse_idx(content: bytes, expected_magic: int, source: str) -> np.ndarray:
    """Parse one uncompressed IDX buffer of unsigned bytes into a read-only uint8 array.

    `source` names the file in error messages.
    """
    if len(content) < 4:
        raise UserError(f"not an IDX file: {source} (shorter than its header)")
    magic = int.from_bytes(content[:4], "big")
    if magic != expected_magic:
        raise UserError(
            f"not the expected IDX file: {source} (magic number 0x{magic:08x}, "
            f"expected 0x{expected_magic:08x})"
        )
    n_dims = expected_magic & 0xFF
    header_bytes = 4 + 4 * n_dims
    if len(content) < header_bytes:
        raise UserError(f"truncated IDX file: {source} (header cut short)")
    shape = tuple(
        int.from_bytes(content[4 + 4 * axis : 8 + 4 * axis], "big") for axis in range(n_dims)
    )
    expected_bytes = header_bytes + int(np.prod(shape, dtype=np.int64))
    if len(content) != expected_bytes:
        raise UserError(
            f"malformed IDX file: {source} (header says shape {shape}, "
            f"{expected_bytes} bytes; file has {len(content)})"
        )
    array = np.frombuffer(content, dtype=np.uint8, offset=header_bytes).reshape(shape)
    array.setflags(write=False)
    return array


def _signature(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


@functools.lru_cache(maxsize=4)
def _read_split(
    images_path: Path,
    labels_path: Path,
    images_signature: tuple[int, int],
    labels_signature: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray]:
    # The signatures only key the cache: a file replaced on disk is read again.
    images = parse_idx(_gunzip(images_path), _IMAGES_MAGIC, str(images_path))
    labels = parse_idx(_gunzip(labels_path), _LABELS_MAGIC, str(labels_path))
    if images.shape[1:] != (28, 28):
        raise UserError(f"MNIST images in {images_path} are {images.shape[1:]}, expected 28x28")
    if len(images) != len(labels):
        raise UserError(
            f"MNIST files disagree: {len(images)} images in {images_path}, "
            f"{len(labels)} labels in {labels_path}"
        )
    return images, labels


def _gunzip(path: Path) -> bytes:
    with gzip.open(path, "rb") as stream:
        return stream.read()
