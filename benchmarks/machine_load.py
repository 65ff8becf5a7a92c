"""The machine's load, as every benchmark here reports it beside its ratios."""

from __future__ import annotations

import os


def load_text() -> str:
    """The 1-minute load average, flagged when other jobs were running: before a
    benchmark starts any work, a load of 1 or more is theirs."""
    value = os.getloadavg()[0]
    return f"{value:.2f}" + (" (a loaded machine: other jobs compete for the CPUs)"
                             if value >= 1.0 else "")
