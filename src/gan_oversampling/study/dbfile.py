"""The results file as the operating system sees it: one writer at a time, honest messages.

A run holds an exclusive lock on a sidecar file (`<db>.lock`) for as long as its store is
open. The OS drops the lock when the process ends, however it ends (kill -9 included), so
a resume never finds a stale lock; a second run on the same database is refused at once.
The sidecar is left in place: removing it while another process is about to lock it
would let two runs hold "the" lock on two different files.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from gan_oversampling.errors import UserError

try:
    import fcntl
except ImportError:  # not a POSIX system: runs are not guarded against each other
    fcntl = None  # type: ignore[assignment]

T = TypeVar("T")


class RunLock:
    """An exclusive, non-blocking lock on `<db>.lock`; UserError if another run holds it."""

    def __init__(self, db_path: Path):
        self.path = db_path.with_name(db_path.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        if fcntl is None:
            return self
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise UserError(f"cannot create the lock file {self.path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise UserError(
                f"another run is writing {self.path.with_suffix('')} (it holds "
                f"{self.path.name}); wait for it to finish or use another --db"
            ) from None
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = None


def describe(error: sqlite3.Error, path: Path | str) -> str:
    """One line a user can act on, for an SQLite error on the results file `path`."""
    name = getattr(error, "sqlite_errorname", "") or ""
    text = str(error)
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
        return f"{path}: database is locked: another program holds it; try again when it is done"
    if name.startswith("SQLITE_READONLY") or "readonly" in text:
        return f"cannot write {path}: the results file (or its folder) is read-only"
    if name == "SQLITE_FULL" or "database or disk is full" in text:
        return (f"cannot write {path}: the disk is full; units finished before are saved, "
                "free some space and run again to resume")
    if name == "SQLITE_NOTADB" or "not a database" in text:
        return f"{path} is not a gan-oversampling results database"
    if name.startswith("SQLITE_CORRUPT") or "malformed" in text:
        return f"{path} is damaged (SQLite: {text}); restore it from a copy or start another"
    if name.startswith("SQLITE_CANTOPEN") or "unable to open" in text:
        return f"cannot open {path}: check that the file and its folder exist and are readable"
    if name.startswith("SQLITE_IOERR") or "disk I/O error" in text:
        return f"cannot read or write {path}: disk I/O error ({text})"
    return f"{path}: database error: {text}"


def mapped_errors(method: Callable[..., T]) -> Callable[..., T]:
    """A store method whose SQLite errors become one-line UserErrors naming the file.

    An IntegrityError is a broken promise of the code (a unit written twice), not
    something a user can act on, so it stays what it is.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as exc:
            raise UserError(describe(exc, self.path)) from None

    return wrapper


def settings_diff(stored: object, new: object, prefix: str = "") -> list[str]:
    """The dotted paths where two study settings differ, each with both values."""
    if isinstance(stored, dict) and isinstance(new, dict):
        paths = []
        for key in sorted(set(stored) | set(new), key=str):
            if key == "description" or (prefix and key == "device"):
                continue  # neither makes results of another study
            paths += settings_diff(stored.get(key, _ABSENT), new.get(key, _ABSENT),
                                   f"{prefix}{key}.")
        return paths
    if stored == new:
        return []
    return [f"{prefix.rstrip('.')} ({_shown(stored)} stored, {_shown(new)} now)"]


_ABSENT = object()


def _shown(value: object) -> str:
    if value is _ABSENT:
        return "absent"
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."
