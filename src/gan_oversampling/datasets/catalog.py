"""Every data file the tool knows, with its pinned checksum: what `datasets verify` checks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gan_oversampling.datasets import mnist
from gan_oversampling.datasets.kdd import kdd_files
from gan_oversampling.datasets.tabular import cyber_files
from gan_oversampling.datasets.verify import require_file, resolve_data_dir
from gan_oversampling.errors import UserError


@dataclass(frozen=True)
class DataFile:
    relative_path: str  # inside the data directory
    sha256: str
    decompressed: bool  # whether the checksum is of the gzip's content
    where_to_get: str


def known_files() -> list[DataFile]:
    files = [
        DataFile(f"mnist/{name}", digest, True, mnist.WHERE_TO_GET)
        for name, digest in mnist.MNIST_SHA256.items()
    ]
    # The tabular files are pinned by the checksum of the file itself (.gz included).
    files += [
        DataFile(path, digest, False, where_to_get)
        for path, digest, where_to_get in (*cyber_files(), *kdd_files())
    ]
    return files


def verify_all(data_dir: str | Path | None) -> Iterator[str]:
    """One line per known file: ok, or absent; a corrupt file raises UserError."""
    root = resolve_data_dir(data_dir)
    if root is None:
        root = mnist.VENDORED_DIR.parent
    found = 0
    for entry in known_files():
        path = root / entry.relative_path
        if not path.exists():
            yield f"absent   {path}"
            continue
        require_file(path, entry.sha256, decompressed=entry.decompressed,
                     where_to_get=entry.where_to_get)
        found += 1
        yield f"ok       {path}"
    if found == 0:
        raise UserError(f"no known data file in {root}")
