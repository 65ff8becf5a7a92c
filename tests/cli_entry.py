"""The command line's entry point called in the test's own process (it starts much faster
than a subprocess): exit code, standard output and standard error."""

from __future__ import annotations

import sys

from gan_oversampling import cli


def call_main(capsys, *args) -> tuple[int, str, str]:
    argv = sys.argv
    sys.argv = ["gan-oversampling", *map(str, args)]
    try:
        cli.main()
        code = 0
    except SystemExit as exc:
        code = exc.code
    finally:
        sys.argv = argv
    out, err = capsys.readouterr()
    return code, out, err
