"""Our CGAN against CTGAN as oversamplers of cybersecurity training folds: time and F1.

    python benchmarks/bench_ctgan.py --data-dir ../shared/data [--datasets tor cira ...]
        [--variants 200:0.1 1000:0.4] [--iterations 1500] [--ctgan-epochs 300] [--folds 1]
        [--stopping patience --oracle mmd --patience 5]

For each variant (dataset, majority size N, imbalance ratio IR) the same stratified
5-fold split as the cybersecurity study; on each training fold used, our CGANOversampler
(the paper's settings) and CTGAN (its own defaults) are fitted and asked for the missing
minority rows; the paper's MLP is trained on each augmented fold, and on the fold as it is
(the baseline), and scored on the test fold. By default only the first of the 5 folds
is used, which keeps the run near 10 minutes on 2 CPU cores (each further fold adds about
as much again); --folds 5 runs them all. Everything printed is measured in this run;
the verdict on the goal (ours at least 10x faster at equal or better minority F1) too.
CTGAN needs the optional `ctgan` package (BUSL-1.1 licence).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import torch
from sklearn.utils import shuffle

from gan_oversampling.datasets.tabular import CYBER_DATASETS
from gan_oversampling.difficulty.base import format_level
from gan_oversampling.difficulty.tabular import build_variant, cyber_pool
from gan_oversampling.errors import UserError
from gan_oversampling.evaluation.classifiers import make_classifier
from gan_oversampling.evaluation.folds import make_folds
from gan_oversampling.evaluation.metrics import evaluate_fold
from gan_oversampling.gan.config import ORACLE_NAMES
from gan_oversampling.samplers.cgan import CGANOversampler
from gan_oversampling.samplers.ctgan import CTGANOversampler, import_ctgan
from gan_oversampling.study.units import derive_seed

DEFAULT_DATASETS = ("tor", "cira", "cic_syscalls_adware")  # 22, 29 and 130 features
DEFAULT_VARIANTS = ("200:0.1", "1000:0.4")  # small and strongly imbalanced; large and mild
N_SPLITS = 5
SPEED_GOAL = 10.0  # CTGAN seconds / our seconds
F1_TOLERANCE = 0.005  # "equal" minority F1, as the study's report counts a tie
METHODS = ("baseline", "cgan", "ctgan")


@dataclass
class Variant:
    dataset: str
    n_majority: int
    ratio: float
    n_features: int = 0
    X: np.ndarray | None = None
    y: np.ndarray | None = None
    seconds: dict[str, list[float]] = field(default_factory=lambda: {"cgan": [], "ctgan": []})
    cgan_iterations: list[int] = field(default_factory=list)
    f1: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.dataset}-n{self.n_majority}-ir{format_level(self.ratio)}"

    def add_f1(self, method: str, role: str, value: float) -> None:
        self.f1.setdefault((method, role), []).append(value)

    def mean_f1(self, method: str, role: str) -> float:
        return float(np.mean(self.f1[(method, role)]))

    def ratio_of_times(self) -> float:
        return sum(self.seconds["ctgan"]) / sum(self.seconds["cgan"])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True,
                        help="the folder holding cyber-autogan/")
    parser.add_argument("--datasets", nargs="+", default=list(DEFAULT_DATASETS),
                        choices=list(CYBER_DATASETS), metavar="NAME")
    parser.add_argument("--variants", nargs="+", default=list(DEFAULT_VARIANTS),
                        metavar="N:IR", help="majority size and imbalance ratio")
    parser.add_argument("--iterations", type=int, default=1500, help="our CGAN's iterations")
    parser.add_argument("--stopping", choices=("fixed", "patience"), default="fixed",
                        help="our CGAN's stopping rule (--iterations is then the most)")
    parser.add_argument("--oracle", choices=ORACLE_NAMES, default="mmd",
                        help="the patience rule's oracle")
    parser.add_argument("--patience", type=int, default=10,
                        help="evaluations without improvement before it stops")
    parser.add_argument("--eval-every", type=int, default=100, help="iterations between them")
    parser.add_argument("--ctgan-epochs", type=int, default=300, help="CTGAN's epochs")
    parser.add_argument("--folds", type=int, default=1,
                        help=f"how many of the {N_SPLITS} stratified folds to use (1-{N_SPLITS})")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (the study's CPU workers use 1 each)")
    parser.add_argument("--device", default="cpu", help="our CGAN's device")
    args = parser.parse_args(argv)
    if not 1 <= args.folds <= N_SPLITS:
        parser.error(f"--folds must be between 1 and {N_SPLITS}, got {args.folds}")
    for name in ("iterations", "ctgan_epochs", "threads", "patience", "eval_every"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    args.variant_levels = [_parse_variant(text, parser) for text in args.variants]
    return args


def _parse_variant(text: str, parser: argparse.ArgumentParser) -> tuple[int, float]:
    try:
        size, ratio = text.split(":")
        return int(size), float(ratio)
    except ValueError:
        parser.error(f"a variant is N:IR, e.g. 200:0.1; got {text!r}")
        raise  # parser.error exits; this keeps the type checker content


# ----------------------------------------------------------------------------- measuring
def load_variant(variant: Variant, data_dir: Path) -> None:
    pool_X, pool_y = cyber_pool(variant.dataset, data_dir)
    try:
        X, y = build_variant(pool_X, pool_y, variant.n_majority, variant.ratio)
    except UserError as error:
        raise UserError(f"variant {variant.key}: {error}") from None
    variant.X, variant.y = X.astype(np.float32), y
    variant.n_features = X.shape[1]


def run_variant(variant: Variant, args: argparse.Namespace) -> None:
    X, y = variant.X, variant.y
    folds = make_folds(y, "stratified", N_SPLITS, 0)[: args.folds]
    for fold, (train, test) in enumerate(folds):
        run_fold(variant, fold, (X[train], y[train], X[test], y[test]), args)


def run_fold(variant: Variant, fold: int, data, args: argparse.Namespace) -> None:
    X_train, y_train, X_test, y_test = data
    classifier_seed = derive_seed(0, variant.key, fold, "classifier")
    _score(variant, "baseline", (X_train, y_train), X_test, y_test, classifier_seed)
    samplers = {
        "cgan": CGANOversampler(
            iterations=args.iterations, latent_dim=50, batch_size=32, learning_rate=2e-4,
            device=args.device, random_state=derive_seed(0, variant.key, fold, "cgan"),
            **stopping_of(args),
        ),
        "ctgan": CTGANOversampler(
            epochs=args.ctgan_epochs, batch_size=500,
            random_state=derive_seed(0, variant.key, fold, "ctgan"),
        ),
    }
    line = [f"  {variant.key} fold {fold}: train {len(y_train)} rows"]
    for method, sampler in samplers.items():
        started = time.perf_counter()
        augmented = sampler.fit_resample(X_train, y_train)
        seconds = time.perf_counter() - started
        variant.seconds[method].append(seconds)
        if method == "cgan":
            variant.cgan_iterations.append(int(sampler.stop_.iterations))
        # As the study does: shuffle the augmented fold before the classifier sees it.
        augmented = shuffle(*augmented, random_state=0)
        _score(variant, method, augmented, X_test, y_test, classifier_seed)
        line.append(f"{method} {seconds:.1f}s F1 min {variant.f1[(method, 'minority')][-1]:.3f}")
    line.append(f"load {os.getloadavg()[0]:.2f}")
    print(", ".join(line), flush=True)


def stopping_of(args: argparse.Namespace) -> dict:
    if args.stopping == "fixed":
        return {"stopping": "fixed"}
    return {"stopping": "patience", "oracle": args.oracle, "patience": args.patience,
            "eval_every": args.eval_every}


def _score(variant: Variant, method: str, train, X_test, y_test, seed: int) -> None:
    classifier = make_classifier("paper-mlp", seed)
    rows = evaluate_fold(classifier, *train, X_test, y_test, (0, 1))
    for row in rows:
        role = "majority" if int(row["class_label"]) == 0 else "minority"
        variant.add_f1(method, role, float(row["f1"]))


# ----------------------------------------------------------------------------- reporting
def print_header(args: argparse.Namespace) -> None:
    versions = {name: _version(name) for name in
                ("torch", "numpy", "scikit-learn", "imbalanced-learn", "pandas", "ctgan", "rdt")}
    print("CGAN against CTGAN as oversamplers (cybersecurity variants)")
    print(f"python {platform.python_version()} on {platform.machine()}, "
          + ", ".join(f"{name} {version}" for name, version in versions.items()))
    print(f"CPUs available: {len(os.sched_getaffinity(0))}; torch threads: "
          f"{torch.get_num_threads()} (interop {torch.get_num_interop_threads()}); "
          f"CUDA available: {torch.cuda.is_available()}")
    print(f"load average at start (1/5/15 min): {_load_text()}; other jobs on the machine "
          "slow every figure")
    rule = (f"a fixed {args.iterations} iterations" if args.stopping == "fixed" else
            f"the patience rule (oracle {args.oracle} every {args.eval_every} iterations, "
            f"patience {args.patience}, at most {args.iterations} iterations)")
    print(f"our CGAN: the paper's settings, {rule}, latent 50, batch 32, "
          f"Adam lr 2e-4 beta1 0.5, generator 256-512-1024, discriminator 512x3, "
          f"device {args.device}")
    print(f"CTGAN: its defaults but epochs: {args.ctgan_epochs} epochs, embedding 128, "
          "generator 256-256, discriminator 256-256, lr 2e-4 (decay 1e-6), pac 10, "
          "1 discriminator step, batch 500 capped at the fold's rows rounded down to a "
          "multiple of 10; device: CTGAN's choice (a GPU when torch sees one)")
    print("classifier: the paper's MLP (10 ReLU units, sigmoid, 20 epochs, batch 32)")
    used = "the first fold" if args.folds == 1 else f"the first {args.folds} folds"
    folds_note = "" if args.folds == N_SPLITS else (
        f" (only {used} of the {N_SPLITS}, to keep the run short; --folds {N_SPLITS} for all)")
    print(f"folds: stratified {N_SPLITS}-fold, seed 0{folds_note}")
    print("fit seconds: wall time of fit_resample (training plus generating the rows)")
    print(flush=True)


def print_results(variants: list[Variant]) -> None:
    header = (f"{'variant':<32}{'feat':>5}{'folds':>6}{'cgan it':>8}{'cgan s':>9}{'ctgan s':>9}"
              f"{'ratio':>7}"
              f"  {'min F1 base/cgan/ctgan':>23}  {'maj F1 base/cgan/ctgan':>23}")
    print()
    print(header)
    print("-" * len(header))
    for variant in variants:
        print(f"{variant.key:<32}{variant.n_features:>5}{len(variant.seconds['cgan']):>6}"
              f"{np.mean(variant.cgan_iterations):>8.0f}"
              f"{np.mean(variant.seconds['cgan']):>9.1f}{np.mean(variant.seconds['ctgan']):>9.1f}"
              f"{variant.ratio_of_times():>7.1f}  {_f1_triple(variant, 'minority'):>23}"
              f"  {_f1_triple(variant, 'majority'):>23}")
    print()
    print_overall(variants)


def _f1_triple(variant: Variant, role: str) -> str:
    return "/".join(f"{variant.mean_f1(method, role):.3f}" for method in METHODS)


def print_overall(variants: list[Variant]) -> None:
    seconds = {m: sum(sum(v.seconds[m]) for v in variants) for m in ("cgan", "ctgan")}
    ratio = seconds["ctgan"] / seconds["cgan"]
    ratios = np.array([v.ratio_of_times() for v in variants])
    f1 = {(m, role): float(np.mean([v.mean_f1(m, role) for v in variants]))
          for m in METHODS for role in ("minority", "majority")}
    print(f"overall: fit seconds cgan {seconds['cgan']:.1f}, ctgan {seconds['ctgan']:.1f}; "
          f"ratio of totals {ratio:.1f}; per-variant ratios from {ratios.min():.1f} to "
          f"{ratios.max():.1f} (geometric mean {np.exp(np.log(ratios).mean()):.1f})")
    for role in ("minority", "majority"):
        print(f"mean {role} F1 over variants: baseline {f1[('baseline', role)]:.3f}, "
              f"cgan {f1[('cgan', role)]:.3f}, ctgan {f1[('ctgan', role)]:.3f}")
    f1_ok = [v.mean_f1("cgan", "minority") >= v.mean_f1("ctgan", "minority") - F1_TOLERANCE
             for v in variants]
    fast = int((ratios >= SPEED_GOAL).sum())
    print(f"variants where ours is >= {SPEED_GOAL:g}x faster: {fast} of {len(variants)}; "
          f"where its minority F1 is equal (within {F1_TOLERANCE}) or better: "
          f"{sum(f1_ok)} of {len(variants)}")
    speed_holds = ratio >= SPEED_GOAL
    f1_holds = f1[("cgan", "minority")] >= f1[("ctgan", "minority")] - F1_TOLERANCE
    print(f"goal, ours >= {SPEED_GOAL:g}x faster (ratio of totals): "
          f"{'holds' if speed_holds else 'does not hold'} ({ratio:.1f}x)")
    print(f"goal, equal or better mean minority F1: {'holds' if f1_holds else 'does not hold'} "
          f"(cgan {f1[('cgan', 'minority')]:.3f}, ctgan {f1[('ctgan', 'minority')]:.3f})")
    print(f"goal overall: {'holds' if speed_holds and f1_holds else 'does not hold'}")


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _load_text() -> str:
    return "/".join(f"{value:.2f}" for value in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        import_ctgan()
        variants = [Variant(dataset, n, ratio) for dataset in args.datasets
                    for n, ratio in args.variant_levels]
        for variant in variants:
            load_variant(variant, args.data_dir)
        print_header(args)
        started = time.perf_counter()
        for variant in variants:
            run_variant(variant, args)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print_results(variants)
    print(f"\nwall time {time.perf_counter() - started:.0f}s; "
          f"load average at end (1/5/15 min): {_load_text()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
