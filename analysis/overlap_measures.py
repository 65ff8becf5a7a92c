"""The data complexity measures per overlap level on every shipped tabular dataset.

One test per dataset (N 200, ratio 0.4 unless told) at each overlap level of
`difficulty.transforms.OVERLAP_LEVELS`, built by the study's own sources and measured as a
study measures it (study/measures.py): the seven cyber datasets, NSL-KDD normal vs R2L,
KDD Cup 99 normal vs Probe, and a user table: NSL-KDD's KDDTest-21 file written as a CSV
(header, attack families as labels, three categorical columns), normal vs Probe. Prints a
Markdown table, one row per dataset and level, then the same measures on MNIST (side 8) at
each rotation, the overlap factor of the imagery grid (a smaller angle overlaps more).

With `--alternatives` it prints instead, for the seven cyber datasets, F1 and N3 per level
under the study's transform (minority rows replaced by majority rows) and two that were
not chosen: each minority row moved the fraction `level` of the way toward a random
majority row of the pool, and the minority shifted by `level` times the difference of the
pool's class means.

    python analysis/overlap_measures.py --data-dir ../shared/data [--measures F1 N3]
    python analysis/overlap_measures.py --data-dir ../shared/data --alternatives
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from gan_oversampling.datasets.kdd import (
    KDD_ATTACK_FAMILY,
    KDD_CATEGORICAL,
    KDD_COLUMNS,
    NSL_KDD_DIR,
)
from gan_oversampling.datasets.tabular import CYBER_DATASETS
from gan_oversampling.difficulty.complexity import MEASURES, measure_test
from gan_oversampling.difficulty.tabular import build_variant, cyber_pool
from gan_oversampling.difficulty.transforms import OVERLAP_LEVELS
from gan_oversampling.study.data_spec import CyberData, KddData, MnistData, TableData
from gan_oversampling.study.measures import measured_rows

# Every measure but the class-imbalance ones, which the overlap leaves as they are.
OVERLAP_SENSITIVE = tuple(m for m in MEASURES if m not in ("C1", "C2"))
TABLE_FILE = "KDDTest-21.txt"


def write_table_csv(data_dir: Path, path: Path) -> Path:
    """NSL-KDD's KDDTest-21 as a user's table: a header row, families as labels."""
    names = [*KDD_COLUMNS, "attack", "difficulty"]
    frame = pd.read_csv(Path(data_dir) / NSL_KDD_DIR / TABLE_FILE, header=None, names=names)
    frame["family"] = frame["attack"].map(KDD_ATTACK_FAMILY).fillna(frame["attack"])
    frame.drop(columns=["attack", "difficulty"]).to_csv(path, index=False)
    return path


def shipped_data(data_dir: Path, table_path: Path, overlaps, n_majority: int, ratio: float
                 ) -> dict:
    """name -> the data spec of one test per overlap level, for every shipped dataset."""
    grid = {"majority_sizes": [n_majority], "imbalance_ratios": [ratio],
            "overlaps": list(overlaps)}
    specs = {name: CyberData(datasets=[name], **grid) for name in CYBER_DATASETS}
    specs["nsl-kdd normal-vs-R2L"] = KddData(
        kind="nsl-kdd", tasks=[{"name": "R2L", "majority": ["normal"], "minority": ["R2L"]}],
        **grid)
    specs["kddcup99 normal-vs-Probe"] = KddData(
        kind="kddcup99", tasks=[{"name": "Probe", "majority": ["normal"],
                                 "minority": ["Probe"]}], **grid)
    specs["table (KDDTest-21) normal-vs-Probe"] = TableData(
        kind="table", path=str(table_path), label_column="family", majority=["normal"],
        minority=["Probe"], categorical=list(KDD_CATEGORICAL), **grid)
    return specs


def level_measures(data, data_dir: Path, measures, factor: str = "overlap") -> pd.DataFrame:
    """One row per test of `data`: its level of `factor`, then each measure."""
    source = data.build_source(data_dir)
    rows = []
    for case in source.cases():
        X, y = measured_rows(source, case)
        values = {m.measure: m.value for m in measure_test(X, y, measures, 0, len(y))}
        rows.append({factor: case.factors[factor], **values})
    return pd.DataFrame(rows)


def print_rows(name: str, levels: pd.DataFrame, factor: str, measures) -> None:
    for _, row in levels.iterrows():
        cells = " | ".join(f"{row[m]:.3f}" for m in measures)
        print(f"| {name} | {row[factor]:g} | {cells} |", flush=True)


def interpolated(pool_X: np.ndarray, pool_y: np.ndarray, level: float) -> np.ndarray:
    """Each minority row moved `level` of the way toward a random majority row (seed 0)."""
    minority, majority = np.flatnonzero(pool_y == 1), np.flatnonzero(pool_y == 0)
    partners = np.random.default_rng(0).choice(majority, size=len(minority))
    moved = pool_X.copy()
    moved[minority] += level * (pool_X[partners] - pool_X[minority])
    return moved


def shifted(pool_X: np.ndarray, pool_y: np.ndarray, level: float) -> np.ndarray:
    """The minority shifted by `level` times (majority mean - minority mean)."""
    moved = pool_X.copy()
    moved[pool_y == 1] += level * (pool_X[pool_y == 0].mean(0) - pool_X[pool_y == 1].mean(0))
    return moved


def alternatives(data_dir: Path, n_majority: int, ratio: float) -> None:
    """F1 and N3 per level: the study's replacement against interpolation and shift."""
    measures = ("F1", "N3")
    levels = " / ".join(f"{level:g}" for level in OVERLAP_LEVELS)
    print(f"| dataset | transform | F1 at overlap {levels} | N3 at overlap {levels} |")
    print("|---|---|---|---|")
    for name in CYBER_DATASETS:
        data = CyberData(datasets=[name], majority_sizes=[n_majority], imbalance_ratios=[ratio],
                         overlaps=list(OVERLAP_LEVELS))
        rows = {"replaced (the study's)": level_measures(data, data_dir, measures)}
        pool_X, pool_y = cyber_pool(name, data_dir)
        for title, transform in (("interpolated", interpolated), ("shifted", shifted)):
            values = []
            for level in OVERLAP_LEVELS:
                X, y = build_variant(transform(pool_X, pool_y, level), pool_y, n_majority, ratio)
                values.append({m.measure: m.value for m in measure_test(X, y, measures, 0, len(y))})
            rows[title] = pd.DataFrame(values)
        for title, table in rows.items():
            cells = [" / ".join(f"{v:.2f}" for v in table[m]) for m in measures]
            print(f"| {name} | {title} | {cells[0]} | {cells[1]} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--measures", nargs="+", default=list(OVERLAP_SENSITIVE),
                        choices=MEASURES)
    parser.add_argument("--n-majority", type=int, default=200)
    parser.add_argument("--ratio", type=float, default=0.4)
    parser.add_argument("--alternatives", action="store_true")
    args = parser.parse_args()
    if args.alternatives:
        alternatives(args.data_dir, args.n_majority, args.ratio)
        return
    with tempfile.TemporaryDirectory() as folder:
        table = write_table_csv(args.data_dir, Path(folder) / "kddtest21.csv")
        specs = shipped_data(args.data_dir, table, OVERLAP_LEVELS, args.n_majority, args.ratio)
        print("| dataset | overlap | " + " | ".join(args.measures) + " |")
        print("|---|---|" + "---|" * len(args.measures))
        for name, data in specs.items():
            print_rows(name, level_measures(data, args.data_dir, args.measures), "overlap",
                       args.measures)
    mnist = MnistData(rotations=[90, 45, 30], sides=[8], majority_sizes=[args.n_majority],
                      imbalance_ratios=[args.ratio])
    print("\n| MNIST, side 8 | rotation | " + " | ".join(args.measures) + " |")
    print("|---|---|" + "---|" * len(args.measures))
    print_rows("fours vs rotated fours", level_measures(mnist, None, args.measures, "rotation"),
               "rotation", args.measures)


if __name__ == "__main__":
    main()
