"""The objectives a tuned threshold maximises, computed from the four counts of a binary
confusion matrix (the minority class is label 1).

scikit-learn's TunedThresholdClassifierCV scores every candidate threshold (100 of them)
on every inner fold with the objective's function. scikit-learn's metric functions check
and encode their inputs on each call, which on the small folds of these studies costs
about 5 ms a call: 85% of a tuned fit, 20 times the classifier's own fit
(`benchmarks/bench_threshold.py`). These functions take the labels as they come (0/1
arrays from the tuner itself) and agree with scikit-learn's and imbalanced-learn's to
rounding (tested), including their value on a degenerate matrix.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import make_scorer


def _counts(y_true, y_pred) -> tuple[int, int, int, int]:
    """(tp, fp, fn, tn) with label 1 positive."""
    truth, predicted = np.asarray(y_true) == 1, np.asarray(y_pred) == 1
    tp = int(np.count_nonzero(truth & predicted))
    fp = int(np.count_nonzero(predicted)) - tp
    fn = int(np.count_nonzero(truth)) - tp
    return tp, fp, fn, truth.size - tp - fp - fn


def minority_f1(y_true, y_pred) -> float:
    tp, fp, fn, _ = _counts(y_true, y_pred)
    denominator = 2 * tp + fp + fn
    return 2 * tp / denominator if denominator else 0.0  # scikit-learn: 0 with a warning


def balanced_accuracy(y_true, y_pred) -> float:
    """The mean recall of the classes present in y_true (scikit-learn ignores an absent
    one)."""
    tp, fp, fn, tn = _counts(y_true, y_pred)
    recalls = [hits / (hits + misses) for hits, misses in ((tn, fp), (tp, fn)) if hits + misses]
    return float(np.mean(recalls)) if recalls else 0.0


def g_mean(y_true, y_pred) -> float:
    """The geometric mean of the recalls of the classes in y_true or y_pred; a class absent
    from y_true has recall 0 (imbalanced-learn's, without its correction)."""
    tp, fp, fn, tn = _counts(y_true, y_pred)
    recalls = [hits / (hits + misses) if hits + misses else 0.0
               for hits, misses, seen in ((tn, fp, tn + fp + fn), (tp, fn, tp + fp + fn))
               if seen]
    return float(np.prod(recalls) ** (1 / len(recalls))) if recalls else 0.0


def mcc(y_true, y_pred) -> float:
    tp, fp, fn, tn = _counts(y_true, y_pred)
    denominator = (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)
    return (tp * tn - fp * fn) / np.sqrt(float(denominator)) if denominator else 0.0


OBJECTIVE_FUNCTIONS = {
    "minority-f1": minority_f1,
    "balanced-accuracy": balanced_accuracy,
    "mcc": mcc,
    "g-mean": g_mean,
}
OBJECTIVE_SCORERS = {name: make_scorer(function) for name, function in
                     OBJECTIVE_FUNCTIONS.items()}
