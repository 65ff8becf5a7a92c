"""The oracles of the patience rule: the hold-out split, each oracle against the library
called directly or a case computed by hand, and what each one prefers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score

from gan_oversampling.errors import UserError
from gan_oversampling.gan.config import ORACLE_NAMES
from gan_oversampling.gan.oracles import (
    ORACLES,
    CASReal,
    CASSyn,
    FrechetAutoencoder,
    MaximumMeanDiscrepancy,
    TwoSampleTest,
    frechet_distance,
    hold_out,
    make_oracle,
    median_distance,
    mmd_squared,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # the autoencoder's tiny products


def _fold(n_majority=60, n_minority=20, n_features=3, seed=0):
    """Majority around -0.5, minority around +0.5: a separable training fold."""
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], [n_majority, n_minority])
    X = np.where(y[:, None] == 1, 0.5, -0.5) + rng.normal(0, 0.15, (len(y), n_features))
    return X, y


def _split(seed=0, **fold):
    X, y = _fold(**fold)
    return hold_out(X, y, np.array([1]), 0.25, np.random.default_rng(seed))


def _like_class(labels: np.ndarray, centre_of: dict, seed=1) -> np.ndarray:
    """Rows drawn like the real ones, around the centre given for each label."""
    rng = np.random.default_rng(seed)
    centres = np.array([centre_of[int(label)] for label in labels])[:, None]
    return centres + rng.normal(0, 0.15, (len(labels), 3))


REAL = {0: -0.5, 1: 0.5}
SWAPPED = {0: 0.5, 1: -0.5}


# ---------------------------------------------------------------- hold-out


def test_hold_out_is_stratified_seeded_and_disjoint():
    X, y = _fold(60, 20)
    data = hold_out(X, y, np.array([1]), 0.25, np.random.default_rng(3))
    assert np.bincount(data.y_held).tolist() == [15, 5]
    assert np.bincount(data.y_fit).tolist() == [45, 15]
    fit_rows = {tuple(row) for row in data.X_fit}
    assert not fit_rows & {tuple(row) for row in data.X_held}
    assert len(fit_rows) + len(data.X_held) == len(X)
    again = hold_out(X, y, np.array([1]), 0.25, np.random.default_rng(3))
    np.testing.assert_array_equal(again.X_held, data.X_held)
    other = hold_out(X, y, np.array([1]), 0.25, np.random.default_rng(4))
    assert not np.array_equal(other.X_held, data.X_held)


def test_hold_out_keeps_at_least_one_row_on_each_side():
    X, y = _fold(60, 2)
    data = hold_out(X, y, np.array([1]), 0.1, np.random.default_rng(0))
    assert np.bincount(data.y_held).tolist() == [6, 1]  # 0.2 of a row rounds up to one
    data = hold_out(X, y, np.array([1]), 0.5, np.random.default_rng(0))
    assert np.bincount(data.y_fit).tolist() == [30, 1]
    X, y = np.vstack([X, X[:1]]), np.concatenate([y, [2]])  # a class of one row, not judged
    data = hold_out(X, y, np.array([1]), 0.5, np.random.default_rng(0))
    assert 2 in data.y_fit and 2 not in data.y_held


def test_hold_out_refuses_an_oversampled_class_of_one_row():
    X, y = _fold(30, 1)
    with pytest.raises(UserError, match="at least 2 rows of each oversampled class; class 1 has 1"):
        hold_out(X, y, np.array([1]), 0.2, np.random.default_rng(0))


def test_every_configured_oracle_exists_and_unknown_names_are_refused():
    assert set(ORACLES) == set(ORACLE_NAMES)
    with pytest.raises(UserError, match="unknown oracle 'fid'"):
        make_oracle("fid", _split(), np.random.default_rng(0))


# ---------------------------------------------------------------- numerics by hand


def test_median_distance_by_hand():
    assert median_distance(np.array([[0.0], [3.0], [4.0]])) == 3.0  # distances 3, 4, 1
    assert median_distance(np.zeros((4, 2))) == 1.0  # all rows equal: a unit bandwidth
    assert median_distance(np.zeros((1, 2))) == 1.0


def test_mmd_by_hand():
    # k(x, y) = exp(-gamma |x - y|^2); real {0, 1}, generated {2}, gamma 0.5.
    real, generated = np.array([[0.0], [1.0]]), np.array([[2.0]])
    k_real = (2 + 2 * math.exp(-0.5)) / 4
    k_cross = (math.exp(-2.0) + math.exp(-0.5)) / 2
    expected = k_real + 1.0 - 2 * k_cross
    assert mmd_squared(real, generated, 0.5) == pytest.approx(expected, rel=1e-12)
    assert mmd_squared(real, real, 0.5) == pytest.approx(0.0, abs=1e-12)


def test_frechet_distance_by_hand():
    # One dimension: (m1 - m2)^2 + (s1 - s2)^2 for standard deviations s1, s2.
    value = frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([-1.0]),
                             np.array([[1.0]]))
    assert value == pytest.approx(4.0 + 1.0)
    # Diagonal covariances: the sum over dimensions.
    value = frechet_distance(np.zeros(2), np.diag([9.0, 1.0]), np.ones(2), np.diag([1.0, 4.0]))
    assert value == pytest.approx(2.0 + (3 - 1) ** 2 + (1 - 2) ** 2)
    # A degenerate (rank-deficient) covariance, as one held-out row gives, stays finite.
    value = frechet_distance(np.zeros(2), np.zeros((2, 2)), np.zeros(2), np.eye(2))
    assert value == pytest.approx(2.0, abs=1e-5)


# ---------------------------------------------------------------- each oracle


def test_cas_real_is_the_library_classifier_scored_on_the_held_out_rows():
    data = _split()
    oracle = CASReal(data, np.random.default_rng(0))
    assert np.bincount(oracle.labels).tolist() == [0, 45]  # as many as the majority has
    rows = _like_class(oracle.labels, REAL)
    model = LogisticRegression(max_iter=1000).fit(
        np.vstack([data.X_fit[data.y_fit == 0], rows]), np.repeat([0, 1], [45, 45]))
    expected = f1_score(data.y_held, model.predict(data.X_held))
    assert oracle.score(rows) == pytest.approx(expected)
    assert oracle.score(rows) == 1.0 and oracle.gap(1.0) == 0.0
    assert oracle.score(_like_class(oracle.labels, SWAPPED)) == 0.0


def test_cas_syn_scores_generated_rows_with_a_classifier_of_the_held_out_rows():
    data = _split()
    oracle = CASSyn(data, np.random.default_rng(0))
    assert set(oracle.labels) == {0, 1}
    rows = _like_class(oracle.labels, REAL)
    model = LogisticRegression(max_iter=1000).fit(data.X_held, data.y_held)
    assert oracle.score(rows) == pytest.approx(f1_score(oracle.labels, model.predict(rows)))
    assert oracle.score(rows) == 1.0
    assert oracle.score(_like_class(oracle.labels, SWAPPED)) == 0.0
    X, y = _fold(60, 20)
    one_class = hold_out(X, y, np.array([1]), 0.25, np.random.default_rng(0))
    one_class = type(one_class)(one_class.X_fit, one_class.y_fit, one_class.X_held[:3],
                                np.ones(3, dtype=int), one_class.targets)
    with pytest.raises(UserError, match="held-out rows of two classes"):
        CASSyn(one_class, np.random.default_rng(0))


def test_two_sample_test_is_the_detection_auc():
    data = _split()
    oracle = TwoSampleTest(data, np.random.default_rng(0))
    n_fit, n_held = 15, 5
    assert len(oracle.labels) == n_fit + n_held and set(oracle.labels) == {1}
    far = _like_class(oracle.labels, {1: -0.9})
    model = LogisticRegression(max_iter=1000).fit(
        np.vstack([data.X_fit[data.y_fit == 1], far[:n_fit]]), np.repeat([1, 0], [n_fit, n_fit]))
    expected = roc_auc_score(np.repeat([1, 0], [n_held, n_held]), model.predict_proba(
        np.vstack([data.X_held[data.y_held == 1], far[n_fit:]]))[:, 1])
    assert oracle.score(far) == pytest.approx(expected) == 1.0
    assert oracle.gap(oracle.score(far)) == 0.5
    alike = oracle.gap(oracle.score(_like_class(oracle.labels, REAL, seed=5)))
    assert alike < 0.5


def test_mmd_oracle_uses_the_median_bandwidth_of_the_training_rows():
    data = _split()
    oracle = MaximumMeanDiscrepancy(data, np.random.default_rng(0))
    assert len(oracle.labels) == 200 and set(oracle.labels) == {1}
    assert oracle.gamma == pytest.approx(1 / (2 * median_distance(data.X_fit) ** 2))
    rows = _like_class(oracle.labels, REAL)
    expected = mmd_squared(data.X_held[data.y_held == 1], rows, oracle.gamma)
    assert oracle.score(rows) == pytest.approx(expected)
    assert oracle.score(rows) < oracle.score(_like_class(oracle.labels, SWAPPED))


def test_frechet_autoencoder_prefers_rows_like_the_real_ones_and_repeats_itself():
    data = _split(n_features=3)
    oracle = FrechetAutoencoder(data, np.random.default_rng(0))
    assert len(oracle.labels) == 200
    alike, swapped = (_like_class(oracle.labels, centres) for centres in (REAL, SWAPPED))
    assert oracle.score(alike) < oracle.score(swapped)
    again = FrechetAutoencoder(data, np.random.default_rng(0))
    assert again.score(alike) == oracle.score(alike)
    assert oracle.encode(data.X_held).shape == (len(data.X_held), 3)  # bottleneck <= features
