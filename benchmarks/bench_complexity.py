"""What each data complexity measure costs on real tests of the shipped grids.

Every measure of `difficulty/complexity.py` is computed on a few real test datasets, as a
study computes them (study/measures.py), and its seconds are printed per test: the largest
MNIST test (side 28, N 1,000, ratio 0.4: 1,400 rows x 784 features), the widest cyber test
(cic_syscallsbinders_adware, N 1,000, ratio 0.4: 1,400 x 444), an NSL-KDD test
(normal vs DoS, N 150, ratio 0.4: 210 x 122) and a small cyber test (tor, N 200, ratio 0.4:
280 x 22). Needs the data folder for all but MNIST.

    python benchmarks/bench_complexity.py --data-dir ../shared/data [--measures F1 N3]
"""

from __future__ import annotations

import argparse

from gan_oversampling.difficulty.complexity import MEASURES, measure_test
from gan_oversampling.study.data_spec import CyberData, KddData, MnistData
from gan_oversampling.study.measures import measured_rows
from machine_load import load_text

TESTS = {
    "mnist side 28, N 1000, ir 0.4": MnistData(rotations=[30], sides=[28], majority_sizes=[1000],
                                               imbalance_ratios=[0.4]),
    "cic_syscallsbinders_adware N 1000, ir 0.4": CyberData(
        datasets=["cic_syscallsbinders_adware"], majority_sizes=[1000], imbalance_ratios=[0.4]),
    "nsl-kdd normal-vs-DoS N 150, ir 0.4": KddData(
        kind="nsl-kdd", tasks=[{"name": "normal-vs-DoS", "majority": ["normal"],
                                "minority": ["DoS"]}],
        majority_sizes=[150], imbalance_ratios=[0.4]),
    "tor N 200, ir 0.4": CyberData(datasets=["tor"], majority_sizes=[200], imbalance_ratios=[0.4]),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--measures", nargs="+", default=list(MEASURES), choices=MEASURES)
    args = parser.parse_args()
    print(f"1-minute load average: {load_text()}")
    print("| test | rows x features | " + " | ".join(args.measures) + " | all |")
    print("|---|---|" + "---|" * (len(args.measures) + 1))
    for title, data in TESTS.items():
        source = data.build_source(args.data_dir)
        case = source.cases()[0]
        X, y = measured_rows(source, case)
        measured = measure_test(X, y, args.measures, seed=0, max_rows=len(y))
        seconds = [m.seconds for m in measured]
        cells = " | ".join(f"{s:.3f}" for s in seconds)
        print(f"| {title} | {X.shape[0]} x {X.shape[1]} | {cells} | {sum(seconds):.2f} |",
              flush=True)


if __name__ == "__main__":
    main()
