"""Why a tuned threshold scores its candidates with the objectives of
`samplers/objectives.py` instead of scikit-learn's metric functions.

TunedThresholdClassifierCV scores 100 candidate thresholds on each of 5 inner folds: 500
calls of the objective per training fold. This fits the `threshold` method's tuner on
training folds of the sizes the studies have (a logistic regression, the cheapest
classifier, where the scoring weighs most), once scored by scikit-learn's and
imbalanced-learn's functions and once by ours, and prints per objective both seconds
per fit, measured in one run, their ratio, a plain fit of the classifier for scale, and
whether the two picked the same threshold.

    python benchmarks/bench_threshold.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from imblearn.metrics import geometric_mean_score
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import make_scorer
from sklearn.model_selection import TunedThresholdClassifierCV

from gan_oversampling.samplers.alternatives import ShrinkingStratifiedKFold
from gan_oversampling.samplers.objectives import OBJECTIVE_SCORERS
from machine_load import load_text

LIBRARY = {
    "minority-f1": "f1",
    "balanced-accuracy": "balanced_accuracy",
    "mcc": "matthews_corrcoef",
    "g-mean": make_scorer(geometric_mean_score),
}
# (majority, minority, features): a small cybersecurity test, an NSL-KDD one, the largest.
FOLDS = ((80, 8, 22), (120, 36, 119), (800, 320, 130))


def training_fold(majority: int, minority: int, features: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], [majority, minority])
    X = rng.normal(size=(len(y), features)) + 0.6 * y[:, None]
    return X, y


def timed_fit(scoring, X, y, repeats: int) -> tuple[float, float]:
    """(seconds per fit, the threshold picked)."""
    best = np.inf
    for _ in range(repeats):
        tuner = TunedThresholdClassifierCV(LogisticRegression(max_iter=1000), scoring=scoring,
                                           cv=ShrinkingStratifiedKFold(5, 0))
        started = time.perf_counter()
        tuner.fit(X, y)
        best = min(best, time.perf_counter() - started)
    return best, float(tuner.best_threshold_)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="fits timed; the fastest kept")
    args = parser.parse_args()
    print(f"1-minute load average: {load_text()}")
    print("rows (majority+minority) x features | objective | library s | ours s | ratio | "
          "plain fit s | same threshold")
    for majority, minority, features in FOLDS:
        X, y = training_fold(majority, minority, features)
        started = time.perf_counter()
        LogisticRegression(max_iter=1000).fit(X, y)
        plain = time.perf_counter() - started
        for name, scoring in LIBRARY.items():
            library, library_threshold = timed_fit(scoring, X, y, args.repeats)
            ours, our_threshold = timed_fit(OBJECTIVE_SCORERS[name], X, y, args.repeats)
            print(f"{majority}+{minority} x {features} | {name} | {library:.3f} | {ours:.3f} | "
                  f"{library / ours:.1f}x | {plain:.3f} | "
                  f"{np.isclose(library_threshold, our_threshold)}")


if __name__ == "__main__":
    main()
