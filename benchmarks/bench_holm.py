"""Why the report adjusts p-values with its own Holm step-down instead of statsmodels'.

statsmodels' `multipletests` runs a full garbage collection on every call; with the
report's modules loaded (torch, scikit-learn, pandas) that costs far more than the
arithmetic, and a report adjusts dozens of families. This prints both times per call,
measured in one run, their ratio, and checks the two give the same numbers.

    python benchmarks/bench_holm.py [--calls 20]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from statsmodels.stats.multitest import multipletests

import gan_oversampling.report.build  # noqa: F401  (the modules a report has loaded)
import gan_oversampling.study.runner  # noqa: F401
from gan_oversampling.report.statistics import holm
from machine_load import load_text


def seconds_per_call(function, p_values: np.ndarray, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        function(p_values)
    return (time.perf_counter() - started) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()
    p_values = np.random.default_rng(0).uniform(size=6)
    np.testing.assert_allclose(holm(p_values), multipletests(p_values, method="holm")[1])
    print(f"1-minute load average: {load_text()}")
    ours = seconds_per_call(holm, p_values, args.calls)
    theirs = seconds_per_call(lambda p: multipletests(p, method="holm"), p_values, args.calls)
    print(f"per call: ours {ours * 1e6:.1f} us, statsmodels {theirs * 1e3:.1f} ms, "
          f"ratio {theirs / ours:.0f}x (same adjusted p-values)")


if __name__ == "__main__":
    main()
