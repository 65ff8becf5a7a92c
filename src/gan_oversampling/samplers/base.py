"""The one interface every method of a study implements.

A method is an entry of the registry (`samplers.registry`): a name, a kind, an optional
settings model (its table in a study file), one function that resamples a BATCH of
training folds and, for a method that changes how the classifier learns (class weights,
a tuned decision threshold, an undersampling ensemble), one hook that adapts the study's
classifier. A generator such as the CGAN trains the models of all folds of the batch as
one computation; a classic method loops over them. The imbalanced-learn samplers that
users import (`CGANOversampler`, ...) call the same function with a batch of one fold, so
what a user imports is what a study measures.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from imblearn.utils import check_sampling_strategy
from pydantic import BaseModel

from gan_oversampling.errors import UserError
from gan_oversampling.gan.records import StopRecord

__all__ = ["StopRecord"]  # re-exported: the study reads training records from here

# baseline: the fold as it is; classic: an oversampler of imbalanced-learn or smote-variants
# (with or without cleaning); generative: a trained generator; alternative: another way to
# handle imbalance (undersampling, class weights, a tuned threshold, an ensemble).
MethodKind = Literal["baseline", "classic", "generative", "alternative"]
# Work advanced, in progress units: one fold of a classic method is 1; a GAN fold counts
# its iterations / 100, so the bar moves with the time spent.
WorkProgress = Callable[[float], None]
SEED_LIMIT = 2**31 - 1


@dataclass(frozen=True)
class TrainingFold:
    """One training fold to oversample.

    `counts[label]` is how many rows of that class to generate (imbalanced-learn's
    `sampling_strategy_`); `seeds` holds one seed per entry of the method's `seed_streams`.
    """

    X: np.ndarray
    y: np.ndarray
    counts: Mapping[Any, int]
    seeds: tuple[int, ...] = ()


@dataclass
class Resampled:
    """A fold with its generated rows appended after the original ones.

    `fault` says why a method could not oversample this fold (a diverged GAN); X and y
    are then the fold as it was, and a study records the fold's unit as failed.
    """

    X: np.ndarray
    y: np.ndarray
    # Per-iteration training losses (iterations, n_losses), for methods that train.
    losses: np.ndarray | None = None
    fault: str | None = None
    stop: StopRecord | None = None  # how a GAN's training ended, for methods that train one


@dataclass
class BatchResult:
    folds: list[Resampled]
    fit_seconds: float  # wall time of the whole batch


ResampleFolds = Callable[..., BatchResult]
# (classifier, settings, seed) -> the classifier to fit in its place.
AdaptClassifier = Callable[[Any, Any, int], Any]


@dataclass(frozen=True)
class Method:
    """One method as a study runs it.

    `resample(folds, settings, classes, progress)` returns one `Resampled` per fold, in
    order. `classes` are the labels every fold of the batch shares (a conditional
    generator is conditioned on all of them, also when a fold lacks one).
    `seed_streams` name the per-fold seeds the method draws from; a study derives each
    from its seed, the test and the fold under that name, so renaming one changes results.

    `adapt_classifier(classifier, settings, seed)`, when given, returns what is fitted
    in place of the study's fresh classifier (the same object with class weights, or a
    wrapper around it); `settings` are those of the registry entry named `adapter`.
    `check_classifier(classifier)` raises ValueError when the hook cannot adapt that
    classifier; a study calls it when the study file is read.
    """

    name: str
    kind: MethodKind
    summary: str
    resample: ResampleFolds
    seed_streams: tuple[str, ...] = ()
    settings_model: type[BaseModel] | None = None
    # True: the folds of many tests go to one call (their GANs train as one batch).
    batches_tests: bool = False
    work_per_fold: Callable[[Any], float] = field(default=lambda settings: 1.0)
    # The settings field that counts training steps ("iterations"), which a time estimate
    # shortens and scales back; None for a method that does not train.
    training_steps: str | None = None
    requires: str | None = None  # an optional package it needs, for the message
    # Raises UserError when the method cannot run here (a missing package); a study calls
    # it before anything is written.
    check_available: Callable[[], Any] = field(default=lambda: None)
    # False: the training folds reach the classifier as they are (in their order).
    resamples: bool = True
    adapt_classifier: AdaptClassifier | None = None
    adapter: str | None = None  # the entry whose settings `adapt_classifier` reads
    check_classifier: Callable[[Any], None] = field(default=lambda classifier: None)
    resampler: str | None = None  # the entry whose resampling this is, if not its own
    # Names of the per-iteration losses a training method reports (None: it reports none).
    loss_names: tuple[str, ...] | None = None
    # The study's settings hash: settings at the value results files written before them
    # were trained with are left out (so those files resume); `unread_settings(table)`
    # names the settings these values do not read; an `always_hashed` table stays in the
    # hash at its defaults (results files of older versions hashed it).
    legacy_settings: Mapping[str, Any] = field(default_factory=dict)
    unread_settings: Callable[[Mapping], tuple[str, ...]] = field(default=lambda table: ())
    always_hashed: bool = False
    # (dtype, why) of the matrix products under `settings`, for `plan`; None: no products.
    precision: Callable[[Any], tuple[str, str] | None] = field(default=lambda settings: None)

    @property
    def resampling(self) -> str:
        """The registry entry that resamples for this method: methods with the same one
        resample a fold alike (same function, settings and seeds)."""
        return self.resampler or self.name

    def iterations(self, settings: Any) -> int | None:
        """Training iterations per fold, for the results store; None for no training."""
        return getattr(settings, "iterations", None)


def rows_to_balance(y: np.ndarray) -> dict:
    """Rows to generate per class so that every class reaches the largest one's count
    (imbalanced-learn's sampling_strategy="auto")."""
    return dict(check_sampling_strategy("auto", np.asarray(y), "over-sampling"))


def draw_seeds(random_state, n_seeds: int) -> tuple[int, ...]:
    """`n_seeds` seeds from an imbalanced-learn `random_state` (None: numpy's global state,
    so `np.random.seed` makes a fit repeatable, as with SMOTE)."""
    from sklearn.utils import check_random_state

    seeds = check_random_state(random_state).randint(SEED_LIMIT, size=n_seeds)
    return tuple(int(seed) for seed in seeds)


def resample_one_by_one(make_sampler: Callable[[TrainingFold, Any], Any]) -> ResampleFolds:
    """A batch function for methods that oversample each fold on its own (an imbalanced-learn
    sampler per fold, built by `make_sampler(fold, settings)`)."""

    def resample(
        folds: Sequence[TrainingFold],
        settings: Any = None,
        classes: Sequence | None = None,
        progress: WorkProgress | None = None,
    ) -> BatchResult:
        started = time.perf_counter()
        resampled = []
        for fold in folds:
            X, y = make_sampler(fold, settings).fit_resample(fold.X, fold.y)
            resampled.append(Resampled(X, y))
            if progress is not None:
                progress(1.0)
        return BatchResult(resampled, time.perf_counter() - started)

    return resample


def keep_folds(
    folds: Sequence[TrainingFold],
    settings=None,
    classes=None,
    progress: WorkProgress | None = None,
) -> BatchResult:
    """A batch function that hands every fold on as it is (methods that do not resample)."""
    for _ in folds:
        if progress is not None:
            progress(1.0)
    return BatchResult([Resampled(fold.X, fold.y) for fold in folds], 0.0)


def target_counts(fold: TrainingFold) -> dict:
    """`fold.counts` as an imbalanced-learn over-sampling dict: rows wanted per class after
    resampling (the counts now plus those to generate)."""
    labels, present = np.unique(fold.y, return_counts=True)
    now = dict(zip(labels.tolist(), present.tolist(), strict=True))
    return {label: now.get(label, 0) + int(n) for label, n in fold.counts.items()}


def smallest_class(y: np.ndarray, n_classes: int = 2) -> int:
    """Rows of the smallest class among labels 0..n_classes-1 (0 when one is absent)."""
    y = np.asarray(y)
    if not len(y):
        return 0
    if np.issubdtype(y.dtype, np.integer) and y.min() >= 0:
        return int(np.bincount(y, minlength=n_classes).min())
    return int(np.unique(y, return_counts=True)[1].min())


def require_rows(method: str, y: np.ndarray, minimum: int) -> int:
    """The smallest class's row count; UserError when it is below `minimum`."""
    smallest = smallest_class(y)
    if smallest < minimum:
        rows = "row" if minimum == 1 else "rows"
        raise UserError(
            f"oversampler '{method}' needs at least {minimum} minority {rows} in a training fold"
        )
    return smallest


def reject_booleans(estimator, names: Sequence[str]) -> None:
    """sklearn's integer intervals let True and False through (bool is an int); refuse
    them as sklearn refuses other bad values."""
    from sklearn.utils._param_validation import InvalidParameterError

    for name in names:
        value = getattr(estimator, name)
        if isinstance(value, bool):
            raise InvalidParameterError(
                f"The {name!r} parameter of {type(estimator).__name__} must be an int, not "
                f"a boolean. Got {value!r} instead."
            )
