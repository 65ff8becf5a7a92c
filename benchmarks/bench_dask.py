"""The Dask executor against the local one, on the same study and the same machine.

    python benchmarks/bench_dask.py [--rounds 3] [--iterations 200] [--workers 2]

Both run the same small MNIST study (8 tests, two feature counts, the paper's classifier,
CGANs of `--iterations` iterations) into a fresh results database: the local executor on
`--workers` spawned processes of one torch thread, the Dask executor on a LocalCluster of
`--workers` single-threaded worker processes that it starts and closes itself. A run's
wall time covers everything a user waits for: starting the workers (and, for Dask, the
scheduler), loading the data in each worker, training, writing, stopping.

The runs are interleaved in alternating order (local, dask; dask, local; ...) and each
round's ratio is dask / local of that round, so load from other jobs, which comes and
goes, hits both alike; the median ratio is the figure. The 1-minute load average is
printed with each run.
Both databases of a round must hold the same rows: the check is part of the measurement.
"""

from __future__ import annotations

import argparse
import logging
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from gan_oversampling.study.dask_executor import DaskExecutor
from gan_oversampling.study.executors import ProcessExecutor
from gan_oversampling.study.runner import run_study
from gan_oversampling.study.spec import parse_study
from gan_oversampling.study.store import ResultsStore


def study(iterations: int):
    return parse_study(
        {
            "name": "bench-dask",
            "methods": ["none", "cgan"],
            "data": {
                "kind": "mnist",
                "rotations": [30, 90],
                "sides": [8, 4],
                "majority_sizes": [100],
                "imbalance_ratios": [0.4, 0.1],
            },
            "cgan": {"iterations": iterations, "device": "cpu"},
        },
        "bench_dask",
    )


def timed_run(spec, executor, db: Path) -> float:
    started = time.perf_counter()
    with ResultsStore.open(db) as store:
        run_study(spec, store, executor)
    return time.perf_counter() - started


def rows(db: Path) -> list:
    with sqlite3.connect(db) as connection:
        return connection.execute(
            "SELECT u.test_key, u.method, s.fold, s.class_label, s.f1 FROM scores s"
            " JOIN units u USING(unit_id) ORDER BY 1, 2, 3, 4"
        ).fetchall()


def load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    # Dask reports a closing cluster's connections at INFO/WARNING; not a result here.
    logging.getLogger("distributed").setLevel(logging.ERROR)

    spec = study(args.iterations)
    executors = {
        "local": ProcessExecutor(workers=args.workers, threads=1),
        "dask": DaskExecutor(n_workers=args.workers, threads=1, device="cpu"),
    }
    print(f"study: 8 tests, 40 CGANs x {args.iterations} iterations, 80 classifier fits; "
          f"{args.workers} workers x 1 thread; {os.cpu_count()} CPUs; {load()}")
    ratios = []
    with tempfile.TemporaryDirectory() as folder:
        for round_ in range(1, args.rounds + 1):
            seconds = {}
            # Alternating order (local first, then dask first, ...): when the load from
            # other jobs drifts, the run that comes second in every round would gain or lose.
            order = list(executors) if round_ % 2 else list(reversed(executors))
            for name in order:
                executor = executors[name]
                db = Path(folder) / f"{name}-{round_}.sqlite"
                seconds[name] = timed_run(spec, executor, db)
                print(f"round {round_}  {name:5s} {seconds[name]:7.1f} s  ({load()})", flush=True)
            same = rows(Path(folder) / f"local-{round_}.sqlite") == rows(
                Path(folder) / f"dask-{round_}.sqlite"
            )
            ratios.append(seconds["dask"] / seconds["local"])
            print(f"round {round_}  dask / local = {ratios[-1]:.3f}  "
                  f"(results {'identical' if same else 'DIFFER'})", flush=True)
    print(f"median dask / local over {args.rounds} rounds: {statistics.median(ratios):.3f} "
          f"(min {min(ratios):.3f}, max {max(ratios):.3f}); {load()}")


if __name__ == "__main__":
    main()
