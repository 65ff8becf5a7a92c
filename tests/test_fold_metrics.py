"""The fold-level scores: each against scikit-learn, imbalanced-learn or a hand computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC

from gan_oversampling.evaluation.metrics import (
    FOLD_METRICS,
    expected_calibration_error,
    fold_scores,
    per_class_scores,
    score_fitted,
)

# A hand-sized fold: 6 majority rows, 4 minority rows.
Y_TRUE = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
PROBABILITY = np.array([0.05, 0.15, 0.35, 0.45, 0.55, 0.15, 0.85, 0.65, 0.35, 0.95])
Y_PRED = (PROBABILITY > 0.5).astype(int)  # one false positive (0.55), one miss (0.35)


def test_threshold_scores_equal_a_hand_computation():
    scores = fold_scores(Y_TRUE, Y_PRED, PROBABILITY, PROBABILITY)
    tp, fn, tn, fp = 3, 1, 5, 1
    recall_minority, recall_majority = tp / (tp + fn), tn / (tn + fp)
    assert scores["balanced_accuracy"] == pytest.approx((recall_minority + recall_majority) / 2)
    mcc = (tp * tn - fp * fn) / math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    assert scores["mcc"] == pytest.approx(mcc)
    assert scores["g_mean"] == pytest.approx(math.sqrt(recall_minority * recall_majority))
    assert scores["brier"] == pytest.approx(np.mean((PROBABILITY - Y_TRUE) ** 2))
    assert list(scores) == list(FOLD_METRICS)


def test_ranking_scores_equal_a_hand_computation():
    scores = fold_scores(Y_TRUE, Y_PRED, PROBABILITY, PROBABILITY)
    # ROC-AUC: the share of (minority, majority) pairs ranked right, ties counting half.
    pairs = [(p, q) for p in PROBABILITY[Y_TRUE == 1] for q in PROBABILITY[Y_TRUE == 0]]
    right = sum(1.0 if p > q else 0.5 if p == q else 0.0 for p, q in pairs)
    assert scores["roc_auc"] == pytest.approx(right / len(pairs))
    # Average precision: the precision at each minority row's rank, averaged.
    order = np.argsort(-PROBABILITY, kind="stable")
    hits = Y_TRUE[order]
    precisions = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    assert scores["pr_auc"] == pytest.approx(precisions[hits == 1].mean())


def test_ece_equals_a_hand_computed_case():
    # Bins of width 0.1: [0.0, 0.1] holds 0.05 (y 0); (0.1, 0.2] holds 0.15 and 0.15 (y 0, 0);
    # (0.3, 0.4] holds 0.35 and 0.35 (y 0, 1); (0.4, 0.5] 0.45 (0); (0.5, 0.6] 0.55 (0);
    # (0.6, 0.7] 0.65 (1); (0.8, 0.9] 0.85 (1); (0.9, 1.0] 0.95 (1).
    gaps = [(1, 0.05), (2, 0.15), (2, 0.15), (1, 0.45), (1, 0.55), (1, 0.35), (1, 0.15),
            (1, 0.05)]
    expected = sum(size * gap for size, gap in gaps) / 10
    assert expected_calibration_error(Y_TRUE, PROBABILITY) == pytest.approx(expected)
    assert fold_scores(Y_TRUE, Y_PRED, PROBABILITY, PROBABILITY)["ece"] == pytest.approx(expected)


def test_ece_weighs_the_bins_of_sklearns_calibration_curve():
    rng = np.random.default_rng(3)
    probability = rng.uniform(size=500)
    y = (rng.uniform(size=500) < probability**2).astype(int)
    observed, predicted = calibration_curve(y, probability, n_bins=10, strategy="uniform")
    sizes = np.bincount(np.searchsorted(np.linspace(0, 1, 11)[1:-1], probability), minlength=10)
    sizes = sizes[sizes > 0]
    expected = np.sum(sizes * np.abs(observed - predicted)) / len(y)
    assert expected_calibration_error(y, probability) == pytest.approx(expected)


def test_ece_edges_and_bad_input():
    assert expected_calibration_error([0, 1], [0.0, 1.0]) == 0.0  # perfectly sure and right
    assert expected_calibration_error([1, 1], [0.0, 0.0]) == 1.0  # sure and wrong
    with pytest.raises(ValueError, match="as many probabilities as labels"):
        expected_calibration_error([0, 1], [0.5])
    with pytest.raises(ValueError, match="as many probabilities as labels"):
        expected_calibration_error([], [])


def test_scores_that_cannot_be_computed_are_nan():
    one_class = fold_scores([0, 0, 0], [0, 1, 0], [0.1, 0.6, 0.2], [0.1, 0.6, 0.2])
    assert np.isnan(one_class["roc_auc"]) and np.isnan(one_class["pr_auc"])
    assert one_class["brier"] == pytest.approx((0.01 + 0.36 + 0.04) / 3)
    no_probability = fold_scores(Y_TRUE, Y_PRED)
    assert all(np.isnan(no_probability[name]) for name in ("pr_auc", "roc_auc", "brier", "ece"))
    assert not np.isnan(no_probability["mcc"])


def test_score_fitted_reads_probabilities_or_the_decision_function():
    rng = np.random.default_rng(0)
    y = np.array([0] * 60 + [1] * 20)
    X = rng.normal(size=(80, 3)) + y[:, None]
    model = LogisticRegression().fit(X, y)
    per_class, overall = score_fitted(model, X, y)
    assert per_class == per_class_scores(y, model.predict(X))
    expected = fold_scores(y, model.predict(X), model.predict_proba(X)[:, 1],
                           model.predict_proba(X)[:, 1])
    assert overall == pytest.approx(expected)
    svm = SVC().fit(X, y)  # no probabilities: ranking from its decision function
    _, overall = score_fitted(svm, X, y)
    assert overall["roc_auc"] == pytest.approx(
        fold_scores(y, svm.predict(X), svm.decision_function(X))["roc_auc"])
    assert np.isnan(overall["brier"]) and np.isnan(overall["ece"])


def test_a_classifier_that_never_saw_the_minority_has_no_minority_probability():
    model = DummyClassifier(strategy="constant", constant=0).fit([[0], [1]], [0, 0])
    _, overall = score_fitted(model, [[0], [1]], [0, 1])
    assert np.isnan(overall["brier"]) and overall["balanced_accuracy"] == 0.5
