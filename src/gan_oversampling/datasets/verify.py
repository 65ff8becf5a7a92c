"""Finding the user's data directory and checking data files against pinned checksums."""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
import zlib
from pathlib import Path

from gan_oversampling.errors import UserError

DATA_DIR_ENV = "GAN_OVERSAMPLING_DATA"

_CHUNK_BYTES = 1 << 20

# Files already hashed in this process, keyed by what would change if the file were replaced,
# so that a study loading the same file many times hashes it once.
_verified: set[tuple[str, int, int, int, str, bool]] = set()
_verified_lock = threading.Lock()


def resolve_data_dir(data_dir: str | Path | None) -> Path | None:
    """The data directory to read from: the explicit option, else $GAN_OVERSAMPLING_DATA, else None.

    None means "use the copies bundled with the package" where a loader has them.
    """
    if data_dir is None or str(data_dir) == "":
        data_dir = os.environ.get(DATA_DIR_ENV) or None
    if data_dir is None:
        return None
    path = Path(data_dir).expanduser()
    if not path.is_dir():
        what = "is not a directory" if path.exists() else "does not exist"
        raise UserError(f"data directory {path} {what} (set --data-dir or {DATA_DIR_ENV})")
    return path.resolve()


def sha256_file(path: str | Path, decompress_gzip: bool = False) -> str:
    """Hex sha256 of a file's bytes, or of its gzip-decompressed content, read in chunks."""
    digest = hashlib.sha256()
    opener = gzip.open if decompress_gzip else open
    with opener(path, "rb") as stream:
        while chunk := stream.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def require_file(
    path: Path, expected_sha256: str, *, decompressed: bool, where_to_get: str
) -> Path:
    """Return `path` once its sha256 (of the decompressed content if `decompressed`) is right.

    A missing, unreadable, corrupt or truncated file raises UserError saying where to get it.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"missing data file {path}: {where_to_get}")
    cache_key = _cache_key(path, expected_sha256, decompressed)
    with _verified_lock:
        if cache_key in _verified:
            return path
    actual = _hash_or_none(path, decompressed, where_to_get)
    if actual != expected_sha256.lower():
        raise UserError(f"corrupt data file {path} (sha256 mismatch): {where_to_get}")
    with _verified_lock:
        _verified.add(cache_key)
    return path


def _cache_key(
    path: Path, expected_sha256: str, decompressed: bool
) -> tuple[str, int, int, int, str, bool]:
    stat = path.stat()
    return (
        str(path.resolve()),
        stat.st_ino,
        stat.st_size,
        stat.st_mtime_ns,
        expected_sha256.lower(),
        decompressed,
    )


def _hash_or_none(path: Path, decompressed: bool, where_to_get: str) -> str | None:
    """The file's hash; None when its gzip stream is broken (a corrupt file, not a crash)."""
    try:
        return sha256_file(path, decompress_gzip=decompressed)
    except PermissionError as error:
        raise UserError(
            f"cannot read data file {path} ({error.strerror}): {where_to_get}"
        ) from None
    except (EOFError, zlib.error, gzip.BadGzipFile):
        return None
    except OSError as error:
        if decompressed:
            return None
        raise UserError(f"cannot read data file {path} ({error}): {where_to_get}") from None
