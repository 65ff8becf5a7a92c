"""Runs the command line, stopping itself (SIGSTOP) at a chosen point of writing results.

The reliability tests start this script instead of `python -m gan_oversampling.cli`, wait
until the process is stopped (a state the OS reports, not a guess about time), then kill
the process or one of its workers. Usage:

    python stop_run.py inside-unit N ARGS...   stop inside the transaction of unit N
    python stop_run.py after-unit N ARGS...    stop the process group after unit N is saved
"""

from __future__ import annotations

import os
import signal
import sys

from gan_oversampling import cli
from gan_oversampling.study.store import ResultsStore


class _StopInside:
    """A connection that stops the process between two statements of unit N's transaction."""

    def __init__(self, connection, stop_at: int):
        self._connection, self._stop_at, self._units = connection, stop_at, 0

    def __getattr__(self, name):
        return getattr(self._connection, name)

    def __enter__(self):
        return self._connection.__enter__()

    def __exit__(self, *exc_info):
        return self._connection.__exit__(*exc_info)

    def executemany(self, sql, rows):
        if sql.startswith("INSERT INTO scores"):
            self._units += 1
            if self._units == self._stop_at:  # the unit's row is in, its scores not yet
                os.kill(os.getpid(), signal.SIGSTOP)
        return self._connection.executemany(sql, rows)


def main() -> None:
    mode, stop_at, *args = sys.argv[1:]
    stop_at = int(stop_at)
    original_init, original_write = ResultsStore.__init__, ResultsStore.write_unit
    written = 0

    def init(self, connection, path, lock=None):
        if mode == "inside-unit":
            connection = _StopInside(connection, stop_at)
        original_init(self, connection, path, lock)

    def write_unit(self, unit):
        nonlocal written
        original_write(self, unit)
        written += 1
        if mode == "after-unit" and written == stop_at:
            os.killpg(os.getpgid(0), signal.SIGSTOP)  # the workers stop with us

    ResultsStore.__init__, ResultsStore.write_unit = init, write_unit
    sys.argv = ["gan-oversampling", *args]
    cli.main()


if __name__ == "__main__":
    main()
