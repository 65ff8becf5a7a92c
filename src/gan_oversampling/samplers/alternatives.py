"""Other ways to handle imbalance than oversampling, as registry entries.

- `random-under`: random undersampling of the majority class to the minority's count
  (imbalanced-learn's RandomUnderSampler).
- `easy-ensemble`: imbalanced-learn's EasyEnsembleClassifier around the study's own
  classifier: each member is fitted on all minority rows and as many majority rows drawn
  at random, and their probabilities are averaged. It is chosen over the balanced random
  forest because it wraps any classifier, so it crosses with the study's weak and strong
  learners like every other method, where the balanced forest is one classifier of its own.
- `class-weight`: the classifier weighs each class by n / (2 x its rows) in its loss
  (scikit-learn's `class_weight="balanced"`; the paper's network by a weighted loss).
- `threshold`: the decision threshold is tuned on inner stratified folds of the training
  fold to maximise an objective (scikit-learn's TunedThresholdClassifierCV), then the
  classifier is refitted on the whole training fold; where its scores on an inner fold
  are constant, it keeps its default threshold (`TunedOrDefaultThreshold`).

`class-weight`, `threshold` and `easy-ensemble` change how the classifier learns (the
method's `adapt_classifier` hook), so any resampling method can be combined with them
(`cgan+threshold`, see `samplers.registry`).
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from imblearn.ensemble import EasyEnsembleClassifier
from imblearn.under_sampling import RandomUnderSampler
from pydantic import Field
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, TunedThresholdClassifierCV

from gan_oversampling.samplers.base import (
    Method,
    TrainingFold,
    keep_folds,
    require_rows,
    resample_one_by_one,
)
from gan_oversampling.samplers.objectives import OBJECTIVE_SCORERS
from gan_oversampling.settings import StrictModel

ThresholdObjective = Literal["minority-f1", "balanced-accuracy", "mcc", "g-mean"]


class ThresholdSettings(StrictModel):
    """The `[threshold]` table: what the threshold maximises and the inner folds it uses."""

    objective: ThresholdObjective = "minority-f1"
    # Inner stratified folds of the training fold; fewer when a class has fewer rows.
    inner_folds: Annotated[int, Field(ge=2, le=10)] = 5


class EnsembleSettings(StrictModel):
    """The `[easy-ensemble]` table: how many undersampled members are averaged."""

    n_estimators: Annotated[int, Field(ge=1, le=100)] = 10


class ShrinkingStratifiedKFold:
    """Stratified K folds shuffled with a seed, with K shrunk to the smallest class's rows
    (a training fold of 100 majority rows at ratio 0.1 holds 8 minority rows)."""

    def __init__(self, n_splits: int, random_state: int) -> None:
        self.n_splits = n_splits
        self.random_state = random_state

    def _folds(self, y) -> StratifiedKFold:
        smallest = int(np.unique(np.asarray(y), return_counts=True)[1].min())
        if smallest < 2:
            raise ValueError("threshold tuning needs at least 2 rows of each class in a "
                             "training fold")
        return StratifiedKFold(min(self.n_splits, smallest), shuffle=True,
                               random_state=self.random_state)

    def split(self, X, y, groups=None):
        return self._folds(y).split(X, y)

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        return self.n_splits if y is None else self._folds(y).get_n_splits()


# -- hooks ------------------------------------------------------------------------------------
def _check_class_weight(classifier) -> None:
    if "class_weight" not in classifier.get_params():
        raise ValueError(f"{type(classifier).__name__} takes no class weights")


def _class_weight(classifier, settings, seed: int):
    return classifier.set_params(class_weight="balanced")


class TunedOrDefaultThreshold(TunedThresholdClassifierCV):
    """scikit-learn's TunedThresholdClassifierCV, except where the classifier's scores on
    an inner fold are all alike (LightGBM grows no tree on a few dozen rows): there is
    no threshold to tune, and scikit-learn refuses with a ValueError that would fail the
    unit and drop the test from every comparison. The classifier then keeps its default
    threshold (0.5 on probabilities, 0 on a decision function), fitted on the whole
    training fold as a tuned one is; `threshold_tuned_` says which happened."""

    def fit(self, X, y, **params):
        try:
            super().fit(X, y, **params)
        except ValueError as error:
            if "constant predictions" not in str(error):
                raise
            self._curve_scorer = self._get_curve_scorer()
            self.estimator_ = clone(self.estimator).fit(X, y, **params)
            self.best_threshold_ = 0.5 if hasattr(self.estimator_, "predict_proba") else 0.0
            self.best_score_ = float("nan")
            self.threshold_tuned_ = False
        else:
            self.threshold_tuned_ = True
        return self


def _tuned_threshold(classifier, settings: ThresholdSettings, seed: int):
    return TunedOrDefaultThreshold(
        classifier,
        scoring=OBJECTIVE_SCORERS[settings.objective],
        cv=ShrinkingStratifiedKFold(settings.inner_folds, seed),
    )


def _easy_ensemble(classifier, settings: EnsembleSettings, seed: int):
    return EasyEnsembleClassifier(
        n_estimators=settings.n_estimators, estimator=classifier, random_state=seed, n_jobs=1
    )


def _random_under(fold: TrainingFold, settings) -> RandomUnderSampler:
    require_rows("random-under", fold.y, 1)
    return RandomUnderSampler(random_state=fold.seeds[0])


RANDOM_UNDER = Method(
    name="random-under",
    kind="alternative",
    summary="random undersampling: majority rows dropped at random down to the minority's count",
    resample=resample_one_by_one(_random_under),
    seed_streams=("random-under",),
)
EASY_ENSEMBLE = Method(
    name="easy-ensemble",
    kind="alternative",
    summary="EasyEnsemble: the classifier fitted on balanced undersamples, probabilities averaged",
    resample=keep_folds,
    resamples=False,
    settings_model=EnsembleSettings,
    adapt_classifier=_easy_ensemble,
    adapter="easy-ensemble",
)
CLASS_WEIGHT = Method(
    name="class-weight",
    kind="alternative",
    summary="class weights: each class weighs n / (2 x its rows) in the classifier's loss",
    resample=keep_folds,
    resamples=False,
    adapt_classifier=_class_weight,
    adapter="class-weight",
    check_classifier=_check_class_weight,
)
THRESHOLD = Method(
    name="threshold",
    kind="alternative",
    summary="threshold tuning: the decision threshold maximising an objective on inner folds",
    resample=keep_folds,
    resamples=False,
    settings_model=ThresholdSettings,
    adapt_classifier=_tuned_threshold,
    adapter="threshold",
)

ALTERNATIVE_METHODS = (RANDOM_UNDER, EASY_ENSEMBLE, CLASS_WEIGHT, THRESHOLD)
