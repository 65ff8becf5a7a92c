"""What each oracle of the patience rule costs: its setup per GAN and one evaluation.

    python benchmarks/bench_oracles.py --data-dir ../shared/data [--variants tor:100:0.1 ...]

For each variant (cyber dataset, majority size N, imbalance ratio IR) the first training
fold of the study's stratified 5-fold split is split as the patience rule splits it (20%
held out), and each oracle is set up on it, then evaluates a generator of the study's
architecture (freshly initialised: the cost does not depend on how trained it is)
`--evaluations` times. An evaluation is what the trainer does per GAN: generate the rows
the oracle asks for, then score them. Printed: the median of the evaluations and the setup
time, in milliseconds, with the rows generated per evaluation. Compare with the cost of
training: 100 iterations of a GAN (the default `eval_every`) in a batch of 20 GANs.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from gan_oversampling.difficulty.tabular import build_variant, cyber_pool
from gan_oversampling.evaluation.folds import make_folds
from gan_oversampling.gan.cgan import CGANConfig, generate_rows, train_cgans
from gan_oversampling.gan.config import ORACLE_NAMES
from gan_oversampling.gan.models import BatchedGenerator
from gan_oversampling.gan.oracles import hold_out, make_oracle

DEFAULT_VARIANTS = ("tor:100:0.1", "tor:1000:0.4", "cic_syscallsbinders_adware:1000:0.4")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True,
                        help="the folder holding cyber-autogan/")
    parser.add_argument("--variants", nargs="+", default=list(DEFAULT_VARIANTS),
                        metavar="DATASET:N:IR")
    parser.add_argument("--evaluations", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args(argv)
    if args.evaluations < 1 or args.threads < 1:
        parser.error("--evaluations and --threads must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{args.threads} thread(s), load {os.getloadavg()[0]:.1f}")
    config = CGANConfig(device="cpu")
    for text in args.variants:
        dataset, n_majority, ratio = text.split(":")
        X, y = build_variant(*cyber_pool(dataset, args.data_dir), int(n_majority), float(ratio))
        train, _ = make_folds(y, "stratified", 5, 0)[0]
        X_fold, y_fold = X[train].astype(np.float32), y[train]
        print(f"\n{text}: training fold {len(y_fold)} rows ({int(y_fold.sum())} minority), "
              f"{X.shape[1]} features; 100 GAN iterations in a batch of 20: "
              f"{_training_ms(X_fold, y_fold, config):.0f} ms per GAN")
        for name in ORACLE_NAMES:
            setup, evaluation, n_rows = _oracle_ms(name, X_fold, y_fold, config, args)
            print(f"  {name:<11} setup {setup:8.1f} ms   evaluation {evaluation:8.1f} ms "
                  f"({n_rows} rows generated)")
    return 0


def _training_ms(X: np.ndarray, y: np.ndarray, config: CGANConfig) -> float:
    """Milliseconds per GAN of 100 iterations, 20 GANs batched (after a warm-up)."""
    sets = [(X, y)] * 20
    train_cgans(sets[:2], 2, config.model_copy(update={"iterations": 5}), [0, 1])
    trained = train_cgans(sets, 2, config.model_copy(update={"iterations": 100}),
                          list(range(20)))
    return trained.seconds * 1000 / 20


def _oracle_ms(name: str, X: np.ndarray, y: np.ndarray, config: CGANConfig, args
               ) -> tuple[float, float, int]:
    rng = np.random.default_rng([0, 1])
    started = time.perf_counter()
    oracle = make_oracle(name, hold_out(X, y, np.array([1]), 0.2, rng), rng)
    setup = (time.perf_counter() - started) * 1000
    generator = BatchedGenerator(1, 2, X.shape[1], config)
    generator.reset_parameters([torch.Generator().manual_seed(0)])
    generator.eval()
    noise = torch.Generator().manual_seed(0)
    times = []
    for _ in range(args.evaluations):
        started = time.perf_counter()
        oracle.score(generate_rows(generator, oracle.labels, noise))
        times.append((time.perf_counter() - started) * 1000)
    return setup, float(np.median(times)), len(oracle.labels)


if __name__ == "__main__":
    raise SystemExit(main())
