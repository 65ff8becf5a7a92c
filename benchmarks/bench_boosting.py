"""LightGBM against scikit-learn's HistGradientBoostingClassifier as the study's strong
classifier, on the folds of the cybersecurity tests: minority F1, PR-AUC, ROC-AUC, time.

    python benchmarks/bench_boosting.py --data-dir ../shared/data [--tests KEY ...]

Each test is cut into the study's stratified 5 folds (`quick-cyber` settings); on each
training fold, as it is and randomly oversampled to balance, both libraries are fitted
with their defaults on one thread (LightGBM `n_jobs=1`; scikit-learn's OpenMP pool
limited to one thread) and scored on the test fold. Everything printed is measured here.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from imblearn.over_sampling import RandomOverSampler
from threadpoolctl import threadpool_limits

from gan_oversampling.evaluation.classifiers import make_classifier
from gan_oversampling.evaluation.metrics import score_fitted
from gan_oversampling.study.presets import resolve_study
from gan_oversampling.study.runner import check_study
from gan_oversampling.study.units import PreparedTest, derive_seed

CLASSIFIERS = ("lightgbm", "hist-gradient-boosting")
DEFAULT_TESTS = ("tor-n100-ir0.1", "tor-n1000-ir0.1", "cira-n1000-ir0.1",
                 "cic_syscalls_adware-n100-ir0.4", "cic_syscalls_adware-n1000-ir0.1")
ARMS = ("none", "random")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--tests", nargs="+", default=list(DEFAULT_TESTS), metavar="KEY",
                        help="quick-cyber test keys")
    return parser.parse_args(argv)


def fold_rows(test: PreparedTest, arm: str, fold: int):
    X_train, y_train, X_test, y_test = test.fold_data[fold]
    if arm == "random":
        sampler = RandomOverSampler(random_state=derive_seed(0, test.case.key, fold, arm))
        X_train, y_train = sampler.fit_resample(X_train, y_train)
    return X_train, y_train, X_test, y_test


def measure(test: PreparedTest, name: str, arm: str) -> dict[str, float]:
    scores, seconds = [], 0.0
    for fold in range(len(test.folds)):
        X_train, y_train, X_test, y_test = fold_rows(test, arm, fold)
        classifier = make_classifier(name, derive_seed(0, test.case.key, fold, "classifier"))
        started = time.perf_counter()
        with threadpool_limits(1):
            classifier.fit(X_train, y_train)
        seconds += time.perf_counter() - started
        per_class, overall = score_fitted(classifier, X_test, y_test)
        scores.append({"minority_f1": per_class[1]["f1"], **overall})
    means = {key: float(np.nanmean([row[key] for row in scores])) for key in scores[0]}
    return {**means, "fit_seconds": seconds}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    spec = resolve_study("quick-cyber")
    checked = check_study(spec, data_dir=args.data_dir,
                          filters={"dataset": sorted({k.split("-n")[0] for k in args.tests})})
    cases = [case for case in checked.cases if case.key in args.tests]
    columns = ("minority_f1", "pr_auc", "roc_auc", "fit_seconds")
    print(f"{'test':34} {'arm':7} {'classifier':24} " + " ".join(f"{c:>11}" for c in columns))
    totals: dict[tuple[str, str], list[dict]] = {}
    for case in cases:
        test = PreparedTest.build(case, *checked.source.load(case), spec, checked.source)
        for arm in ARMS:
            for name in CLASSIFIERS:
                result = measure(test, name, arm)
                totals.setdefault((arm, name), []).append(result)
                print(f"{case.key:34} {arm:7} {name:24} "
                      + " ".join(f"{result[c]:11.4f}" for c in columns))
    print("\nmean over the tests")
    for (arm, name), results in totals.items():
        means = [np.mean([r[c] for r in results]) for c in columns]
        print(f"{'':34} {arm:7} {name:24} " + " ".join(f"{m:11.4f}" for m in means))


if __name__ == "__main__":
    main()
