"""The report folder: what may be written into it, and how a new report replaces an old one.

A report never deletes what it did not write: its marker file lists the files it wrote, and
a later report removes only those it no longer writes.
"""

from __future__ import annotations

import os
from pathlib import Path

from gan_oversampling.errors import UserError

MARKER = ".gan-oversampling-report"  # marks a folder a report wrote; lists its files


def check_target(target: Path) -> None:
    if not target.exists():
        return
    if not target.is_dir():
        raise UserError(f"report folder {target} is a file; give another output folder")
    if any(target.iterdir()) and not (target / MARKER).exists():
        raise UserError(f"{target} holds files that are not a gan-oversampling report; "
                        "give another output folder or empty it")


def move_into_place(partial: Path, target: Path) -> None:
    if not target.exists():
        os.replace(partial, target)
        return
    written = sorted(path.name for path in partial.iterdir() if path.name != MARKER)
    for name in _files_listed(target / MARKER):
        if name not in written and "/" not in name and name != MARKER:
            (target / name).unlink(missing_ok=True)  # an earlier report's, not this one's
    for name in written:
        os.replace(partial / name, target / name)
    os.replace(partial / MARKER, target / MARKER)  # last: the folder is complete


def _files_listed(marker: Path) -> list[str]:
    """The files an earlier report wrote, as its marker lists them (after its first line)."""
    try:
        return [line for line in marker.read_text(encoding="utf-8").splitlines()[1:] if line]
    except (OSError, UnicodeDecodeError):
        return []
