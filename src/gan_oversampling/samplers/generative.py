"""What every generator family needs to oversample, written once: the study's batch
function, the registry entry and the imbalanced-learn sampler of a family.

A study hands `resample` the training folds of many tests; it scales each fold's features
into the generator's [-1, 1] range (`FeatureRanges`), encodes the labels, trains one model
per fold with the batched loop (`gan.loop`), asks each for the fold's missing rows and
scales them back. A diverged model's fold comes back with its fault and its rows as they
were: rows of a broken generator never reach a classifier. The sampler a user imports
(`CGANOversampler`, `WGANGPOversampler`, ...) runs the same function on a batch of one
fold, so what a user imports is what a study measures.
"""

from __future__ import annotations

import inspect
import sys
import time
from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from typing import ClassVar, Literal, get_args, get_origin

import numpy as np
from imblearn.over_sampling.base import BaseOverSampler
from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions

from gan_oversampling.errors import UserError
from gan_oversampling.gan.config import PATIENCE_SETTINGS, make_settings, resolve_device
from gan_oversampling.gan.family import Family
from gan_oversampling.gan.loop import train_models
from gan_oversampling.gan.precision import auto_precision
from gan_oversampling.samplers.base import (
    BatchResult,
    Method,
    Resampled,
    TrainingFold,
    WorkProgress,
    draw_seeds,
    reject_booleans,
)
from gan_oversampling.samplers.feature_ranges import FeatureRanges

_PROGRESS_EVERY = 10  # iterations between progress reports


def resample_with(family: Family):
    """The batch function of `family`: see the module's docstring."""

    def resample(folds: Sequence[TrainingFold], settings, classes: Sequence,
                 progress: WorkProgress | None = None) -> BatchResult:
        """Train one model per fold and append to each fold `fold.counts[label]` generated
        rows per label. Fold k's model trains from `fold.seeds[0]` and generates from
        `fold.seeds[1]`; it is conditioned on every label of `classes`. Rows come back in
        each fold's units; a floating X keeps its dtype, an integer X gets whole numbers."""
        started = time.perf_counter()
        classes = np.asarray(classes)
        scale_all = family.feature_scaling == "all"
        ranges = [FeatureRanges.fit(fold.X, scale_all) for fold in folds]
        train_sets = [(fold_ranges.to_tanh(fold.X), codes_of(fold.y, classes))
                      for fold, fold_ranges in zip(folds, ranges, strict=True)]
        to_generate = [labels_to_generate(fold.counts, classes) for fold in folds]
        resampled: list[Resampled | None] = [None] * len(folds)
        for group in _batches(family, train_sets):
            reporter = _iteration_reporter(progress, len(group), settings.iterations)
            trained = train_models(
                family, [train_sets[k] for k in group], len(classes), settings,
                [folds[k].seeds[0] for k in group], progress=reporter,
                targets=[_oversampled(to_generate[k][1], train_sets[k][1]) for k in group],
            )
            if reporter is not None:
                reporter(settings.iterations)  # iterations of models that stopped count
            for member, k in enumerate(group):
                resampled[k] = _resampled_fold(folds[k], ranges[k], to_generate[k], trained,
                                               member, settings)
        return BatchResult(resampled, time.perf_counter() - started)

    return resample


def _batches(family: Family, train_sets) -> list[list[int]]:
    """Fold indices grouped by the family's batch key, in order of first appearance."""
    groups: dict = {}
    for k, (X, _) in enumerate(train_sets):
        groups.setdefault(family.batch_key(X), []).append(k)
    return list(groups.values())


def _resampled_fold(fold: TrainingFold, ranges: FeatureRanges, to_generate, trained,
                    member: int, settings) -> Resampled:
    labels, codes = to_generate
    losses, stop = trained.losses_of(member), trained.stops[member]
    fault = trained.divergence(member)
    raw = None if fault else trained.generate(member, codes, fold.seeds[1])
    if raw is not None and not np.isfinite(raw).all():
        fault = "diverged: the generator's rows are not finite numbers (NaN or infinity)"
    if fault:
        return Resampled(fold.X, fold.y, losses=losses, fault=fault, stop=stop)
    rows = ranges.from_tanh(raw, settings.output_range == "training")
    X, y = append_rows(fold.X, fold.y, rows, labels, ranges)
    return Resampled(X, y, losses=losses, stop=stop)


def generative_method(family: Family, **overrides) -> Method:
    """The registry entry of a family: its name, settings table, seeds and losses."""
    entry = dict(
        name=family.name,
        kind="generative",
        summary=family.summary,
        resample=resample_with(family),
        seed_streams=(family.name, f"{family.name}-sample"),  # training, then generation
        settings_model=family.settings_model,
        batches_tests=True,
        work_per_fold=lambda settings: settings.iterations / 100,
        training_steps="iterations",
        loss_names=family.loss_names,
        legacy_settings=dict(family.legacy_settings),
        unread_settings=_unread_by_the_fixed_rule,
        precision=product_precision,
    )
    entry.update(overrides)
    return Method(**entry)


def product_precision(settings) -> tuple[str, str]:
    """The dtype a family's matrix products run in under `settings`, and why."""
    if settings.dtype != "auto":
        return settings.dtype, "set by the study"
    resolved = auto_precision(resolve_device(settings.device))
    return resolved.dtype, f"auto: {resolved.reason}"


def _unread_by_the_fixed_rule(table: Mapping) -> tuple[str, ...]:
    return PATIENCE_SETTINGS if table.get("stopping") == "fixed" else ()


class GANDivergedError(RuntimeError):
    """A generator's training diverged: its losses or generated rows are unusable."""


class GenerativeOversampler(BaseOverSampler):
    """The imbalanced-learn sampler of a generator family (`family`, set by a subclass).

    Its parameters are `sampling_strategy`, `random_state`, every setting of the family's
    settings model (None takes it from `config`, or the default), `config` (a whole
    settings object) and `verbose`; the constraints of each setting are read off the
    settings model, so they are declared once. Generated rows are appended after the
    original ones; any number of classes works (one conditional model serves them all).
    Features may have any range: a feature whose training values leave [-1, 1] is min-max
    scaled into it for training and generated rows are scaled back; with
    `output_range="training"` (the default) generated values stay inside each feature's
    training range and whole-number features come back whole. A floating X keeps its
    dtype; an integer X gets integers.

    Attributes: `sampling_strategy_` (class label -> rows generated), `config_` (the
    settings the fit used), `losses_` (iterations, n_losses) named by `loss_names_`,
    `training_seconds_`, `stop_` (how training ended: iterations, reason, the iteration
    kept, the oracle's curve).
    """

    family: ClassVar[Family | None] = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("family") is None:
            return
        fields = cls.family.settings_model.model_fields
        cls._setting_names = tuple(fields)
        cls._parameter_constraints = {
            **BaseOverSampler._parameter_constraints,
            "random_state": ["random_state"],
            **{name: _constraint(info) for name, info in fields.items()},
            "config": [cls.family.settings_model, None],
            "verbose": ["boolean"],
        }
        cls.__init__ = _make_init(cls._setting_names)

    def _validate_params(self):
        super()._validate_params()
        fields = self.family.settings_model.model_fields
        reject_booleans(self, [name for name in self._setting_names
                               if fields[name].annotation in (int, float)])

    def _check_X_y(self, X, y):
        # The networks need dense features.
        return super()._check_X_y(X, y, accept_sparse=False)

    def _fit_resample(self, X, y):
        family = self.family
        if family is None:
            raise TypeError("GenerativeOversampler is a base: use the sampler of a family "
                            "(CGANOversampler, WGANGPOversampler, TabDDPMOversampler)")
        given = {name: getattr(self, name) for name in self._setting_names
                 if getattr(self, name) is not None}
        try:
            self.config_ = make_settings(family.settings_model, self.config, family.name,
                                         **given)
        except UserError as error:  # a setting only the model can judge (a device name)
            raise InvalidParameterError(str(error)) from None
        fold = TrainingFold(X, y, self.sampling_strategy_, draw_seeds(self.random_state, 2))
        printer = _progress_printer(family.name, self.config_.iterations) if self.verbose \
            else None
        try:
            result = resample_with(family)([fold], self.config_, np.unique(y), printer)
        except UserError as error:  # data the settings cannot work with (too few rows)
            raise ValueError(str(error)) from None
        resampled = result.folds[0]
        self.losses_, self.stop_ = resampled.losses, resampled.stop
        self.loss_names_ = family.loss_names
        if resampled.fault:
            raise GANDivergedError(
                f"{family.name} training {resampled.fault}; try a smaller learning_rate")
        self.training_seconds_ = result.fit_seconds
        return resampled.X, resampled.y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


def _make_init(setting_names: tuple[str, ...]):
    """An `__init__` that only stores its keyword parameters (scikit-learn's convention),
    with a real signature, so `get_params`, `clone` and `repr` see every setting."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    defaults = {"sampling_strategy": "auto", "random_state": None,
                **dict.fromkeys(setting_names), "config": None, "verbose": False}
    parameters += [inspect.Parameter(name, keyword, default=value)
                   for name, value in defaults.items()]
    signature = inspect.Signature(parameters)

    def __init__(self, **params):
        bound = signature.bind(self, **params)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        arguments.pop("self")
        BaseOverSampler.__init__(self, sampling_strategy=arguments.pop("sampling_strategy"))
        for name, value in arguments.items():
            setattr(self, name, value)

    __init__.__signature__ = signature
    return __init__


def _constraint(info) -> list:
    """scikit-learn's constraint for one setting, read off its pydantic field."""
    annotation = info.annotation
    if get_origin(annotation) is Literal:
        return [StrOptions(set(get_args(annotation))), None]
    if annotation in (int, float):
        low = high = None
        closed_low = closed_high = False
        for bound in info.metadata:
            for name, is_low, closed in (("ge", True, True), ("gt", True, False),
                                         ("le", False, True), ("lt", False, False)):
                if hasattr(bound, name):
                    if is_low:
                        low, closed_low = getattr(bound, name), closed
                    else:
                        high, closed_high = getattr(bound, name), closed
        closed = {(True, True): "both", (True, False): "left",
                  (False, True): "right", (False, False): "neither"}[(closed_low, closed_high)]
        return [Interval(Integral if annotation is int else Real, low, high, closed=closed),
                None]
    if get_origin(annotation) is tuple:
        return [tuple, list, None]
    if isinstance(annotation, type):
        return [annotation, None]
    raise TypeError(f"setting {info!r}: no scikit-learn constraint for {annotation!r}")


def codes_of(y: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Labels as codes 0..len(classes)-1 (their position in `classes`)."""
    lookup = {label: code for code, label in enumerate(classes.tolist())}
    try:
        return np.fromiter((lookup[label] for label in np.asarray(y).tolist()), dtype=np.int64)
    except KeyError as missing:
        raise UserError(f"label {missing} is not one of the classes {classes.tolist()}") from None


def labels_to_generate(counts: Mapping, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The labels of the rows to generate, and their codes, class by class."""
    labels, codes = [], []
    for label, count in counts.items():
        matches = np.flatnonzero(classes == label)
        if len(matches) != 1:
            raise UserError(
                f"cannot generate class {label!r}: known classes are {classes.tolist()}"
            )
        if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 0:
            raise UserError(f"count for class {label!r} must be an integer >= 0, got {count!r}")
        labels += [label] * int(count)
        codes += [int(matches[0])] * int(count)
    return np.asarray(labels, dtype=classes.dtype), np.asarray(codes, dtype=np.int64)


def _oversampled(codes: np.ndarray, y_codes: np.ndarray) -> np.ndarray:
    """The classes an oracle judges: those rows are generated of, else the least frequent
    class of the fold (a fold with nothing to generate)."""
    if codes.size:
        return np.unique(codes)
    present, counts = np.unique(y_codes, return_counts=True)
    return present[[np.argmin(counts)]]


def append_rows(X, y, rows: np.ndarray, labels: np.ndarray, ranges: FeatureRanges):
    """X and y with the generated rows and their labels appended."""
    X, y = np.asarray(X), np.asarray(y)
    if np.issubdtype(X.dtype, np.integer) or X.dtype == bool:
        dtype = X.dtype
        rows = ranges.rounded(rows)
    else:
        dtype = np.result_type(X.dtype, np.float32)
    X_resampled = np.vstack([X.astype(dtype, copy=False), rows.astype(dtype)])
    return X_resampled, np.concatenate([y, labels.astype(y.dtype, copy=False)])


def _iteration_reporter(progress: WorkProgress | None, n_models: int, total: int):
    """A train_models callback that reports work (iterations / 100 per model) every few
    iterations."""
    if progress is None:
        return None
    reported = 0

    def on_iteration(done: int) -> None:
        nonlocal reported
        if done - reported >= _PROGRESS_EVERY or (done == total and done > reported):
            progress(n_models * (done - reported) / 100)
            reported = done

    return on_iteration


def _progress_printer(name: str, total: int) -> WorkProgress:
    step = max(1, total // 10)
    done = 0

    def report(work: float) -> None:
        nonlocal done
        before, done = done, done + round(work * 100)  # work is iterations / 100
        if done // step > before // step or done == total:
            print(f"{name} training: iteration {done}/{total}", file=sys.stderr)

    return report
