"""The methods beside the oversamplers, each on its own: undersampling, SMOTE with cleaning,
the smote-variants oversamplers, class weights, a tuned threshold, EasyEnsemble, and the
combinations of a resampler with a classifier hook."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest
import torch
from imblearn.ensemble import EasyEnsembleClassifier
from imblearn.metrics import geometric_mean_score
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    balanced_accuracy_score,
    f1_score,
    make_scorer,
    matthews_corrcoef,
)
from sklearn.model_selection import StratifiedKFold, TunedThresholdClassifierCV

from gan_oversampling.errors import UserError
from gan_oversampling.evaluation.paper_mlp import PaperMLP, _flat_layers, _write_gradients
from gan_oversampling.samplers import objectives, variants
from gan_oversampling.samplers.alternatives import (
    EnsembleSettings,
    ShrinkingStratifiedKFold,
    ThresholdSettings,
)
from gan_oversampling.samplers.base import TrainingFold
from gan_oversampling.samplers.registry import get_method
from gan_oversampling.study.spec import parse_study


def imbalanced(n_majority=90, n_minority=12, seed=0, shift=1.5):
    rng = np.random.default_rng(seed)
    y = np.array([0] * n_majority + [1] * n_minority)
    X = (rng.normal(size=(len(y), 4)) + shift * y[:, None]).astype(np.float32)
    return X, y


def resample(name, X, y, seed=7):
    method = get_method(name)
    fold = TrainingFold(X, y, {1: int((y == 0).sum() - (y == 1).sum())},
                        tuple(seed for _ in method.seed_streams))
    return method.resample([fold]).folds[0]


# -- resampling -----------------------------------------------------------------------------
def test_random_under_drops_majority_rows_to_the_minority_count():
    X, y = imbalanced()
    fold = resample("random-under", X, y)
    assert np.bincount(fold.y).tolist() == [12, 12]
    assert {row.tobytes() for row in fold.X} <= {row.tobytes() for row in X}
    again, other = resample("random-under", X, y), resample("random-under", X, y, seed=8)
    np.testing.assert_array_equal(fold.X, again.X)
    assert not np.array_equal(fold.X, other.X)


@pytest.mark.parametrize("name", ["smote-tomek", "smote-enn"])
def test_smote_with_cleaning_oversamples_then_removes_rows(name):
    X, y = imbalanced(shift=0.8)
    fold = resample(name, X, y)
    counts = np.bincount(fold.y)
    assert counts[1] > 12  # SMOTE added minority rows
    assert counts[0] <= 90 and len(fold.y) < 2 * 90  # cleaning removed some
    np.testing.assert_array_equal(fold.X, resample(name, X, y).X)
    assert not np.array_equal(fold.X, resample(name, X, y, seed=8).X)


def test_smote_with_cleaning_needs_two_minority_rows():
    X, y = imbalanced(n_minority=1)
    with pytest.raises(UserError, match="oversampler 'smote-enn' needs at least 2 minority"):
        resample("smote-enn", X, y)


@pytest.mark.parametrize("name", ["polynom-fit-smote", "prowsyn"])
def test_smote_variants_balance_the_fold_with_the_folds_seed(name):
    pytest.importorskip("smote_variants", reason="the optional smote-variants package")
    X, y = imbalanced()
    fold = resample(name, X, y)
    np.testing.assert_array_equal(fold.X[: len(X)], X)  # the fold's rows come first
    assert fold.X.dtype == X.dtype
    # Balanced; the star topology of polynom-fit-SMOTE gives every minority row the same
    # whole number of new rows, which lands within half a round of the majority count.
    assert abs(np.bincount(fold.y)[1] - 90) <= 12 / 2
    np.testing.assert_array_equal(fold.X, resample(name, X, y).X)
    # ProWSyn draws its rows at random; the star topology places them at fixed points.
    other_seed = resample(name, X, y, seed=8).X
    assert np.array_equal(fold.X, other_seed) == (name == "polynom-fit-smote")


@pytest.mark.parametrize("name", ["polynom-fit-smote", "prowsyn"])
def test_smote_variants_refuse_folds_they_would_hand_back_unchanged(name):
    pytest.importorskip("smote_variants", reason="the optional smote-variants package")
    X, y = imbalanced(n_minority=2)
    with pytest.raises(UserError, match=f"oversampler '{name}' needs at least 3 minority rows"):
        resample(name, X, y)


def test_smote_variants_without_the_package_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "smote_variants", None)  # makes the import fail
    with pytest.raises(UserError) as caught:
        get_method("prowsyn").check_available()
    assert str(caught.value) == variants.MISSING_PACKAGE
    assert "\n" not in variants.MISSING_PACKAGE


# -- class weights --------------------------------------------------------------------------
def test_class_weight_sets_balanced_weights_on_the_classifier():
    method = get_method("class-weight")
    adapted = method.adapt_classifier(LogisticRegression(), None, 3)
    assert adapted.class_weight == "balanced"
    assert not method.resamples


def test_paper_mlp_weighted_gradients_match_autograd():
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(7, 5, generator=generator)
    targets = torch.tensor([[0.0], [0.0], [1.0], [0.0], [1.0], [0.0], [0.0]])
    weights = torch.where(targets > 0, 2.5, 0.7)
    layers = _flat_layers(5, 4, 1, "cpu")
    layers.flat.copy_(torch.randn(layers.flat.shape, generator=generator))
    grads = _flat_layers(5, 4, 1, "cpu")
    loss = _write_gradients(layers, grads, inputs, targets, weights)

    params = [p.clone().requires_grad_() for p in
              (layers.kernel_1, layers.bias_1, layers.kernel_2, layers.bias_2)]
    logits = torch.relu(inputs @ params[0] + params[1]) @ params[2] + params[3]
    # Keras with class weights: each row's loss times its weight, summed over the batch size.
    reference = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, targets, weight=weights)
    reference.backward()
    assert float(loss) == pytest.approx(reference.item(), rel=1e-5)
    mine = (grads.kernel_1, grads.bias_1, grads.kernel_2, grads.bias_2)
    for hand, auto in zip(mine, params, strict=True):
        torch.testing.assert_close(hand, auto.grad, rtol=1e-5, atol=1e-6)


def test_paper_mlp_class_weights_raise_minority_recall():
    X, y = imbalanced(n_majority=400, n_minority=40, shift=1.0)
    order = np.random.default_rng(1).permutation(len(y))
    X, y = X[order], y[order]
    plain = PaperMLP(random_state=0).fit(X, y)
    weighted = PaperMLP(random_state=0, class_weight="balanced").fit(X, y)
    assert weighted.predict(X)[y == 1].mean() > plain.predict(X)[y == 1].mean()
    explicit = PaperMLP(random_state=0, class_weight={0: 1.0, 1: 1.0}).fit(X, y)
    np.testing.assert_allclose(explicit.predict_proba(X), plain.predict_proba(X), rtol=1e-6)


def test_paper_mlp_refuses_bad_class_weights():
    X, y = imbalanced()
    with pytest.raises(ValueError, match="class_weight must be None, 'balanced' or a dict"):
        PaperMLP(class_weight="heavy").fit(X, y)


def test_class_weight_with_a_classifier_without_weights_is_one_line():
    with pytest.raises(UserError) as caught:
        parse_study({"name": "x", "methods": ["none", "smote+class-weight"],
                     "evaluation": {"classifier": ["logistic-regression", "knn"]}}, "study")
    message = str(caught.value)
    assert "method 'smote+class-weight' cannot be used with classifier 'knn'" in message
    assert "KNeighborsClassifier takes no class weights" in message and "\n" not in message
    for classifier in ("paper-mlp", "logistic-regression", "random-forest", "svm", "lightgbm",
                       "hist-gradient-boosting"):
        parse_study({"name": "x", "methods": ["class-weight"],
                     "evaluation": {"classifier": classifier}}, "study")


# -- a tuned threshold ----------------------------------------------------------------------
def test_inner_folds_shrink_to_the_smallest_class_and_follow_the_seed():
    X, y = imbalanced(n_minority=3)
    splitter = ShrinkingStratifiedKFold(5, random_state=4)
    folds = list(splitter.split(X, y))
    assert len(folds) == splitter.get_n_splits(X, y) == 3
    assert splitter.get_n_splits() == 5
    expected = StratifiedKFold(3, shuffle=True, random_state=4).split(X, y)
    for (train, test), (expected_train, expected_test) in zip(folds, expected, strict=True):
        np.testing.assert_array_equal(train, expected_train)
        np.testing.assert_array_equal(test, expected_test)
    with pytest.raises(ValueError, match="at least 2 rows of each class"):
        list(ShrinkingStratifiedKFold(5, 4).split(*imbalanced(n_minority=1)))


def test_threshold_tuning_maximises_the_objective_on_inner_folds():
    X, y = imbalanced(shift=1.0)
    method = get_method("threshold")
    tuned = method.adapt_classifier(LogisticRegression(), ThresholdSettings(objective="mcc"), 9)
    tuned.fit(X, y)
    by_hand = TunedThresholdClassifierCV(
        LogisticRegression(), scoring="matthews_corrcoef",
        cv=StratifiedKFold(5, shuffle=True, random_state=9)).fit(X, y)
    assert tuned.best_threshold_ == pytest.approx(by_hand.best_threshold_)
    assert tuned.best_score_ == pytest.approx(by_hand.best_score_)
    # The threshold moves the predictions, not the probabilities.
    plain = LogisticRegression().fit(X, y)
    np.testing.assert_allclose(tuned.predict_proba(X), plain.predict_proba(X))
    minority = plain.predict_proba(X)[:, 1]
    np.testing.assert_array_equal(tuned.predict(X), minority >= tuned.best_threshold_)
    assert tuned.best_threshold_ != 0.5


LIBRARY_OBJECTIVES = {
    "minority-f1": lambda t, p: f1_score(t, p, zero_division=0.0),
    "balanced-accuracy": balanced_accuracy_score,
    "mcc": matthews_corrcoef,
    "g-mean": geometric_mean_score,
}


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")
@pytest.mark.parametrize("name", sorted(LIBRARY_OBJECTIVES))
def test_each_objective_is_the_librarys_score(name):
    ours, library = objectives.OBJECTIVE_FUNCTIONS[name], LIBRARY_OBJECTIVES[name]
    rng = np.random.default_rng(3)
    cases = [(rng.integers(0, 2, size), rng.integers(0, 2, size))
             for size in (2, 5, 17, 60) for _ in range(25)]
    truth = np.array([0, 0, 1, 1, 0, 1])
    # Degenerate matrices: nothing or everything predicted positive, perfect, inverted,
    # and a class absent from the truth.
    cases += [(truth, np.zeros(6, int)), (truth, np.ones(6, int)), (truth, truth),
              (truth, 1 - truth), (np.zeros(6, int), truth), (np.ones(6, int), truth)]
    for y_true, y_pred in cases:
        assert ours(y_true, y_pred) == pytest.approx(library(y_true, y_pred), abs=1e-12), (
            y_true, y_pred)


@pytest.mark.parametrize("objective", sorted(LIBRARY_OBJECTIVES))
def test_the_tuned_threshold_is_the_one_the_librarys_scores_pick(objective):
    library_scorer = make_scorer(LIBRARY_OBJECTIVES[objective])
    for seed in range(3):
        X, y = imbalanced(n_minority=15, seed=seed, shift=0.8)
        tuned = get_method("threshold").adapt_classifier(
            LogisticRegression(), ThresholdSettings(objective=objective), seed).fit(X, y)
        by_library = TunedThresholdClassifierCV(
            LogisticRegression(), scoring=library_scorer,
            cv=StratifiedKFold(5, shuffle=True, random_state=seed)).fit(X, y)
        assert tuned.best_threshold_ == pytest.approx(by_library.best_threshold_)
        assert tuned.best_score_ == pytest.approx(by_library.best_score_)


def test_a_classifier_with_constant_scores_keeps_its_default_threshold():
    X, y = imbalanced()
    constant = DummyClassifier(strategy="prior")
    tuned = get_method("threshold").adapt_classifier(constant, ThresholdSettings(), 0)
    tuned.fit(X, y)  # scikit-learn alone refuses: "makes constant predictions"
    assert not tuned.threshold_tuned_ and tuned.best_threshold_ == 0.5
    assert np.isnan(tuned.best_score_)
    plain = DummyClassifier(strategy="prior").fit(X, y)
    np.testing.assert_array_equal(tuned.predict(X), plain.predict(X))
    np.testing.assert_allclose(tuned.predict_proba(X), plain.predict_proba(X))
    with pytest.raises(ValueError, match="constant predictions"):
        TunedThresholdClassifierCV(DummyClassifier(strategy="prior")).fit(X, y)
    learning = get_method("threshold").adapt_classifier(LogisticRegression(),
                                                        ThresholdSettings(), 0)
    assert learning.fit(X, y).threshold_tuned_


def test_a_threshold_tuner_still_raises_other_errors():
    X, y = imbalanced()
    tuned = get_method("threshold").adapt_classifier(
        LogisticRegression(C=-1.0), ThresholdSettings(), 0)
    with pytest.raises(ValueError, match="C"):
        tuned.fit(X, y)


def test_threshold_settings_are_checked():
    assert ThresholdSettings().objective == "minority-f1"
    for bad, where in (({"objective": "accuracy"}, "threshold.objective"),
                       ({"inner_folds": 1}, "threshold.inner_folds"),
                       ({"inner_folds": True}, "threshold.inner_folds"),
                       ({"folds": 3}, "threshold.folds: unknown field")):
        with pytest.raises(UserError, match=where):
            parse_study({"name": "x", "methods": ["threshold"], "threshold": bad}, "study")


# -- an undersampling ensemble --------------------------------------------------------------
def test_easy_ensemble_wraps_the_studys_classifier_with_the_folds_seed():
    X, y = imbalanced()
    method = get_method("easy-ensemble")
    ensemble = method.adapt_classifier(LogisticRegression(), EnsembleSettings(n_estimators=4), 5)
    assert isinstance(ensemble, EasyEnsembleClassifier)
    assert ensemble.n_estimators == 4 and isinstance(ensemble.estimator, LogisticRegression)
    first = ensemble.fit(X, y).predict_proba(X)
    again = method.adapt_classifier(LogisticRegression(), EnsembleSettings(n_estimators=4), 5)
    np.testing.assert_array_equal(again.fit(X, y).predict_proba(X), first)
    members = ensemble.estimators_
    assert len(members) == 4
    # Each member learned from a balanced undersample: as many majority as minority rows.
    for member in members:
        assert member.steps[0][1].sample_indices_.size == 2 * 12
    with pytest.raises(UserError, match="easy-ensemble.n_estimators"):
        parse_study({"name": "x", "methods": ["easy-ensemble"],
                     "easy-ensemble": {"n_estimators": 0}}, "study")


# -- combinations ---------------------------------------------------------------------------
def test_a_combination_resamples_like_its_first_part_and_adapts_like_its_second():
    cgan, threshold = get_method("cgan"), get_method("threshold")
    combined = get_method("cgan+threshold")
    assert combined.resample is cgan.resample and combined.kind == "generative"
    assert combined.seed_streams == cgan.seed_streams and combined.batches_tests
    assert combined.adapt_classifier is threshold.adapt_classifier
    assert combined.adapter == "threshold"
    spec = parse_study({"name": "x", "methods": ["none", "cgan+threshold"],
                        "cgan": {"iterations": 7}, "threshold": {"objective": "g-mean"}},
                       "study")
    assert spec.method_settings("cgan+threshold").iterations == 7
    assert spec.method_settings(combined.adapter).objective == "g-mean"
    assert get_method("random-under+easy-ensemble").kind == "alternative"


@pytest.mark.parametrize(("name", "message"), [
    ("threshold+cgan", "the first part must resample the training folds"),
    ("none+threshold", "the first part must resample the training folds"),
    ("smote+cgan", "the second part must change how the classifier learns"),
    ("smote+threshold+class-weight", "a combination is <resampling method>+<"),
    ("smote+thresholds", "a combination is <resampling method>+<"),
])
def test_bad_combinations_are_one_line(name, message):
    with pytest.raises(UserError, match=re.escape(message)) as caught:
        parse_study({"name": "x", "methods": [name]}, "study")
    assert "\n" not in str(caught.value)
