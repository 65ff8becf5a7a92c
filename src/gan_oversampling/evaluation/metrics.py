"""Scores of one fold: per class (precision, recall, F1) and for the fold as a whole.

The fold-level scores are those practitioners of imbalanced learning read beside F1:
threshold-free ranking (PR-AUC, ROC-AUC), threshold-bound balance (balanced accuracy,
MCC, G-mean) and calibration (Brier score, expected calibration error). Each comes from
scikit-learn or imbalanced-learn; only the ECE, which neither library has, is computed
here. A score that cannot be computed (ROC-AUC on a test fold of one class, a Brier score
without probabilities) is NaN, stored as NULL.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from imblearn.metrics import geometric_mean_score
from sklearn.metrics import (
    average_precision_score,
    balanced_accuracy_score,
    brier_score_loss,
    matthews_corrcoef,
    precision_recall_fscore_support,
    roc_auc_score,
)

from gan_oversampling.errors import UserError

# The fold-level scores, in the order they are stored and shown.
FOLD_METRICS = ("pr_auc", "roc_auc", "balanced_accuracy", "mcc", "g_mean", "brier", "ece")
# Scores that need predicted probabilities (a classifier without them gets NaN).
PROBABILITY_METRICS = ("brier", "ece")
# Scores where lower is better.
LOWER_IS_BETTER = ("brier", "ece")
ECE_BINS = 10


def per_class_scores(y_true, y_pred, labels: Sequence = (0, 1)) -> list[dict]:
    """Precision, recall, F1 and support of each label, one dict per label, in ``labels`` order.

    Matches scikit-learn's ``classification_report``: a ratio with a zero denominator
    scores 0. So a class absent from the test fold (support 0) gets recall 0 and F1 0,
    and precision 0 too, whether or not it was predicted.
    """
    labels = _check_score_labels(labels)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    return [
        {
            "class_label": label,
            "precision": float(precision[index]),
            "recall": float(recall[index]),
            "f1": float(f1[index]),
            "support": int(support[index]),
        }
        for index, label in enumerate(labels)
    ]


def fold_scores(y_true, y_pred, minority_score=None, minority_probability=None) -> dict:
    """The fold-level scores of a binary fold (1 = minority), as {name: float or NaN}.

    `minority_score`: a score that ranks the rows by how minority-like they are (a
    probability or a decision function), for PR-AUC and ROC-AUC; `minority_probability`:
    the predicted probability of the minority class, for the Brier score and the ECE.
    Either may be None (NaN for the scores that need it). PR-AUC is the average precision
    of the minority class.
    """
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    both_classes = len(np.unique(y_true)) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a class absent from the fold: sklearn warns
        scores = {
            "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
            "mcc": float(matthews_corrcoef(y_true, y_pred)),
            "g_mean": float(geometric_mean_score(y_true, y_pred, labels=[0, 1])),
        }
    ranked = minority_score is not None and both_classes
    scores["pr_auc"] = float(average_precision_score(y_true, minority_score)) if ranked else np.nan
    scores["roc_auc"] = float(roc_auc_score(y_true, minority_score)) if ranked else np.nan
    calibrated = minority_probability is not None
    scores["brier"] = (float(brier_score_loss(y_true, minority_probability, pos_label=1))
                       if calibrated else np.nan)
    scores["ece"] = (expected_calibration_error(y_true, minority_probability)
                     if calibrated else np.nan)
    return {name: scores[name] for name in FOLD_METRICS}


def expected_calibration_error(y_true, probability, n_bins: int = ECE_BINS) -> float:
    """Expected calibration error of the predicted minority probability.

    The rows fall into `n_bins` equal-width bins of [0, 1] by their probability (the bins
    of scikit-learn's `calibration_curve(strategy="uniform")`); in each non-empty bin the
    gap between the share of minority rows and the mean probability is weighted by the
    bin's share of rows: sum over bins of (n_b / n) |mean(y) - mean(p)|. 0 is perfectly
    calibrated. scikit-learn gives the per-bin points but not the bins' sizes, so the sum
    is taken here.
    """
    y_true = np.asarray(y_true, dtype=float)
    probability = np.asarray(probability, dtype=float)
    if y_true.shape != probability.shape or y_true.size == 0:
        raise ValueError("expected_calibration_error needs as many probabilities as labels")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # calibration_curve's binning: an edge belongs to the bin below it, 1.0 to the last.
    bins = np.searchsorted(edges[1:-1], probability)
    size = np.bincount(bins, minlength=n_bins)
    positives = np.bincount(bins, weights=y_true, minlength=n_bins)
    confidence = np.bincount(bins, weights=probability, minlength=n_bins)
    filled = size > 0
    gaps = np.abs(positives[filled] - confidence[filled]) / size[filled]
    return float(np.sum(gaps * size[filled]) / y_true.size)


def evaluate_fold(classifier, X_train, y_train, X_test, y_test, labels: Sequence = (0, 1)):
    """Fit ``classifier`` (a fresh estimator; it is not cloned) and score its test predictions."""
    classifier.fit(X_train, y_train)
    return per_class_scores(y_test, classifier.predict(X_test), labels=labels)


def score_fitted(classifier, X_test, y_test, labels: Sequence = (0, 1)
                 ) -> tuple[list[dict], dict]:
    """Per-class and fold-level scores of a fitted binary classifier on a test fold.

    Probabilities come from `predict_proba` where the classifier has it; one without it
    (an SVM) ranks by its `decision_function`, which serves PR-AUC and ROC-AUC but not
    the calibration scores (NaN).
    """
    y_pred = classifier.predict(X_test)
    probability = None
    if hasattr(classifier, "predict_proba"):
        column = list(classifier.classes_).index(1) if 1 in classifier.classes_ else None
        if column is not None:
            probability = classifier.predict_proba(X_test)[:, column]
    ranking = probability
    if ranking is None and hasattr(classifier, "decision_function"):
        ranking = classifier.decision_function(X_test)
    per_class = per_class_scores(y_test, y_pred, labels=labels)
    return per_class, fold_scores(y_test, y_pred, ranking, probability)


def _check_score_labels(labels: Sequence) -> list:
    # Plain Python values, so that score rows serialise as they are.
    label_list = np.asarray(list(labels)).tolist()
    if not label_list:
        raise UserError("labels to score must not be empty")
    if len(set(label_list)) != len(label_list):
        raise UserError(f"labels to score must be distinct; got {label_list}")
    return label_list
