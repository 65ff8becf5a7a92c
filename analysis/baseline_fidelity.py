"""Where the baseline F1 of a study comes from: classifier, fold scheme, random streams.

For every selected test of a study (default: `paper-mnist`) this trains the baseline
classifier (no oversampling) on the study's own folds, under several variants:

  paper        the study's classifier and folds; seed 0 is the study's own seed, so its
               scores equal the stored baseline of a run of the same study
  keras        the same network built and fitted by Keras 3 (torch backend): Dense(10,
               relu) -> Dense(1, sigmoid), Adam(1e-3), binary cross-entropy, 20 epochs,
               batch 32, the last 20% of the training fold held back
  keras-logits the same, with the loss computed from the logits, as Keras 2 on TensorFlow
               did for a sigmoid output (Keras 3 on torch clips probabilities at 1e-7)
  no-holdback  the study's classifier trained on every row of the training fold
  stratified   the study's classifier on stratified folds (a minority row in every fold)

Each variant runs with `--seeds` classifier seeds; the spread of the study-wide means over
seeds is what random streams alone can move the headline by.

    python analysis/baseline_fidelity.py --variants paper,keras --seeds 3 --out fidelity.csv

`keras` needs `pip install keras` (3.x); it runs on the torch backend, no TensorFlow.
Prints one line per variant and seed, then mean and standard deviation over the seeds.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

from gan_oversampling.cli import _parse_filters as parse_filters
from gan_oversampling.errors import UserError
from gan_oversampling.evaluation.folds import make_folds
from gan_oversampling.evaluation.metrics import per_class_scores
from gan_oversampling.evaluation.paper_mlp import PaperMLP
from gan_oversampling.study.presets import resolve_study
from gan_oversampling.study.runner import select_cases, select_listed
from gan_oversampling.study.units import derive_seed

VARIANTS = ("paper", "keras", "keras-logits", "no-holdback", "stratified")
ROLES = ("majority", "minority")


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        rows = run(args)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    _print_summary(rows)
    if args.out:
        _write_csv(rows, Path(args.out))
    return 0


def _parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default="paper-mnist", help="preset name or TOML file")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--only", action="append", default=[], help="FACTOR=L1,L2 filter")
    parser.add_argument("--variants", default="paper,keras,no-holdback,stratified")
    parser.add_argument("--seeds", type=int, default=3, help="classifier seeds per variant")
    parser.add_argument("--out", default=None, help="CSV of per-test scores")
    return parser.parse_args(argv)


def run(args) -> list[dict]:
    import torch

    torch.set_num_threads(1)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown or args.seeds < 1:
        raise UserError(f"variants must be among {', '.join(VARIANTS)}; seeds >= 1")
    spec = resolve_study(args.study)
    source = spec.data.build_source(args.data_dir)
    filters = parse_filters(args.only)
    cases = select_cases(select_listed(source.cases(), spec.tests), filters)
    fit = {v: _fitter(v) for v in variants}
    rows = []
    for number, case in enumerate(cases, 1):
        X, y = source.load(case)
        started = time.perf_counter()
        for variant in variants:
            scheme = "stratified" if variant == "stratified" else spec.evaluation.cv
            folds = make_folds(y, scheme, spec.evaluation.n_splits, spec.evaluation.cv_seed)
            for seed_index in range(args.seeds):
                f1 = _fold_mean_f1(fit[variant], spec, case, X, y, folds, seed_index)
                rows.append(
                    {
                        "variant": variant,
                        "seed_index": seed_index,
                        "test_key": case.key,
                        **case.factors,
                        "majority_f1": f1[0],
                        "minority_f1": f1[1],
                    }
                )
        print(
            f"[{number}/{len(cases)}] {case.key} {time.perf_counter() - started:.1f}s",
            file=sys.stderr,
        )
    return rows


def _fold_mean_f1(fit, spec, case, X, y, folds, seed_index: int) -> tuple[float, float]:
    per_fold = []
    for fold, (train, test) in enumerate(folds):
        # Seed 0 is the study's own classifier seed for this fold; others extend it.
        extra = () if seed_index == 0 else (seed_index,)
        seed = derive_seed(spec.seed, case.key, fold, "classifier", *extra)
        predicted = fit(X[train], y[train], X[test], seed)
        scores = per_class_scores(y[test], predicted, (0, 1))
        per_fold.append([row["f1"] for row in scores])
    means = np.mean(per_fold, axis=0)
    return float(means[0]), float(means[1])


def _fitter(variant: str):
    if variant.startswith("keras"):
        return partial(_keras_fit, from_logits=variant == "keras-logits")
    validation_split = 0.0 if variant == "no-holdback" else 0.2

    def fit(X_train, y_train, X_test, seed):
        model = PaperMLP(validation_split=validation_split, random_state=seed)
        return model.fit(X_train, y_train).predict(X_test)

    return fit


def _keras_fit(X_train, y_train, X_test, seed, from_logits=False):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((X_train.shape[1],)),
            keras.layers.Dense(10, activation="relu"),
            keras.layers.Dense(1, activation=None if from_logits else "sigmoid"),
        ]
    )
    loss = keras.losses.BinaryCrossentropy(from_logits=from_logits)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss=loss)
    # Keras's validation_split=0.2 keeps rows [0, int(n * 0.8)) and never trains on the rest;
    # slicing here does the same without scoring the held-back rows every epoch.
    kept = int(len(y_train) * 0.8)
    model.fit(
        X_train[:kept],
        y_train[:kept].astype("float32"),
        epochs=20,
        batch_size=32,
        shuffle=True,
        verbose=0,
    )
    outputs = model.predict(X_test, batch_size=256, verbose=0)[:, 0]
    # A logit above 0 is a probability above 0.5.
    return (outputs > (0.0 if from_logits else 0.5)).astype(np.int64)


def _print_summary(rows: list[dict]) -> None:
    by_run: dict[tuple[str, int], list[dict]] = {}
    for row in rows:
        by_run.setdefault((row["variant"], row["seed_index"]), []).append(row)
    print(f"{'variant':<12} {'seed':>4} {'tests':>5} {'majority F1':>12} {'minority F1':>12}")
    means: dict[str, list[tuple[float, float]]] = {}
    for (variant, seed_index), run_rows in by_run.items():
        pair = tuple(float(np.mean([r[f"{role}_f1"] for r in run_rows])) for role in ROLES)
        means.setdefault(variant, []).append(pair)
        print(f"{variant:<12} {seed_index:>4} {len(run_rows):>5} {pair[0]:>12.6f} {pair[1]:>12.6f}")
    print("over seeds (mean +- standard deviation of the study-wide means):")
    for variant, pairs in means.items():
        values = np.array(pairs)
        spread = values.std(axis=0, ddof=1) if len(values) > 1 else np.zeros(2)
        print(
            f"{variant:<12} majority {values[:, 0].mean():.4f} +- {spread[0]:.4f}   "
            f"minority {values[:, 1].mean():.4f} +- {spread[1]:.4f}"
        )


def _write_csv(rows: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    raise SystemExit(main())
