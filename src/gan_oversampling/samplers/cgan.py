"""Oversampling with a conditional GAN: the study's batch function and the imbalanced-learn
sampler, which is that function applied to one fold."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from numbers import Integral, Real

import numpy as np
from imblearn.over_sampling.base import BaseOverSampler
from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions

from gan_oversampling.errors import UserError
from gan_oversampling.gan.config import ORACLE_NAMES, CGANConfig, make_config
from gan_oversampling.gan.train import train_cgans
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

SEED_STREAMS = ("cgan", "cgan-sample")  # training, then generation
_PROGRESS_EVERY = 10  # iterations between progress reports
# Settings a CGANOversampler takes itself; None leaves them to `config`.
_OVERRIDES = ("iterations", "latent_dim", "batch_size", "learning_rate", "output_range",
              "dtype", "device", "stopping", "oracle", "eval_every", "patience",
              "min_iterations", "holdout", "adam_step")


def resample_cgan(
    folds: Sequence[TrainingFold],
    config: CGANConfig,
    classes: Sequence,
    progress: WorkProgress | None = None,
) -> BatchResult:
    """Train one CGAN per fold, all as one batched computation, and append to each fold
    `fold.counts[label]` generated rows per label.

    Fold k's GAN trains from `fold.seeds[0]` and generates from `fold.seeds[1]`; it is
    conditioned on every label of `classes`. Rows come back in each fold's units (see
    `FeatureRanges`); a floating X keeps its dtype, an integer X gets whole numbers.
    """
    started = time.perf_counter()
    classes = np.asarray(classes)
    ranges = [FeatureRanges.fit(fold.X) for fold in folds]
    train_sets = [
        (fold_ranges.to_tanh(fold.X), _codes(fold.y, classes))
        for fold, fold_ranges in zip(folds, ranges, strict=True)
    ]
    to_generate = [_labels_to_generate(fold.counts, classes) for fold in folds]
    reporter = _iteration_reporter(progress, len(folds), config.iterations)
    trained = train_cgans(
        train_sets,
        len(classes),
        config,
        [fold.seeds[0] for fold in folds],
        progress=reporter,
        targets=[_oversampled(codes, train_set[1]) for (_, codes), train_set
                 in zip(to_generate, train_sets, strict=True)],
    )
    if reporter is not None:
        reporter(config.iterations)  # the iterations of GANs that stopped early count as done
    resampled = []
    for k, (fold, fold_ranges) in enumerate(zip(folds, ranges, strict=True)):
        labels, codes = to_generate[k]
        losses, stop = trained.losses_of(k), trained.stops[k]
        fault = trained.divergence(k)
        raw = None if fault else trained.generate(k, codes, fold.seeds[1])
        if raw is not None and not np.isfinite(raw).all():
            fault = "diverged: the generator's rows are not finite numbers (NaN or infinity)"
        if fault:
            # Rows of a broken generator never reach a classifier.
            resampled.append(Resampled(fold.X, fold.y, losses=losses, fault=fault, stop=stop))
            continue
        rows = fold_ranges.from_tanh(raw, config.output_range == "training")
        X, y = _append(fold.X, fold.y, rows, labels, fold_ranges)
        resampled.append(Resampled(X, y, losses=losses, stop=stop))
    return BatchResult(resampled, time.perf_counter() - started)


METHOD = Method(
    name="cgan",
    kind="generative",
    summary="the conditional GAN of Nazari & Branco (2021), trained on each training fold",
    resample=resample_cgan,
    seed_streams=SEED_STREAMS,
    settings_model=CGANConfig,
    batches_tests=True,
    work_per_fold=lambda config: config.iterations / 100,
    training_steps="iterations",
)


class CGANOversampler(BaseOverSampler):
    """Oversample with one conditional GAN trained on all classes of the data.

    The CGAN of Nazari & Branco (2021): a generator conditioned on the class label, trained
    against a conditional discriminator for a fixed number of iterations (or until an
    oracle stops improving, `stopping="patience"`), then asked for the missing rows of each
    class to oversample. Generated rows are appended after the
    original ones. Any number of classes works: one generator serves them all. A study
    runs exactly this code (`resample_cgan`) on the folds of many tests at once.

    Features may have any range. The generator ends in tanh, so a feature whose training
    values leave [-1, 1] is min-max scaled into it for training and generated rows are
    scaled back; features inside [-1, 1] are used as they are. With
    `output_range="training"` (the default) generated values stay inside each feature's
    training range and features whose training values are all whole numbers (flags,
    counts) come back as whole numbers; "tanh" keeps the raw output, as the original study
    did. A floating X keeps its dtype; an integer X gets integers.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        Which classes to oversample and how far, with imbalanced-learn's meaning.
    random_state : int, RandomState instance or None, default=None
        Seeds the GAN's training and the generated rows; None uses numpy's global random
        state (so `np.random.seed` makes a fit repeatable).
    iterations, latent_dim, batch_size, learning_rate, output_range, dtype, device :
        CGAN settings (see `CGANConfig`); None takes them from `config`.
    stopping, oracle, eval_every, patience, min_iterations, holdout :
        How long the GAN trains (see `CGANConfig` and `gan.stopping`): "fixed" trains
        `iterations`; "patience" holds out `holdout` of the rows, scores the generator with
        `oracle` every `eval_every` iterations, keeps the best one and stops after
        `patience` evaluations without improvement (not before `min_iterations`, at most
        after `iterations`). None takes them from `config`.
    adam_step : {"separate", "shared"} or None
        "shared" reproduces the original code's one Adam step counter for both networks.
    config : CGANConfig or None, default=None
        Every CGAN setting (layer sizes, Adam betas, dropout, ...); None for the defaults
        of the original study. The parameters above, when not None, override it.
    verbose : bool, default=False
        Report training progress on standard error.

    Attributes
    ----------
    sampling_strategy_ : dict
        Class label -> number of rows generated.
    config_ : CGANConfig
        The settings the fit used.
    losses_ : ndarray of shape (iterations, 3)
        Binary cross-entropies per iteration: discriminator on real rows, on fake rows,
        generator.
    training_seconds_ : float
        Wall time of training and generation.
    stop_ : StopRecord
        How training ended: `iterations` trained, `reason` ("fixed", "patience",
        "maximum"), `best_iteration` (the generator kept) and the oracle's `curve` of
        (iteration, value) evaluations.
    """

    _positive_int = [Interval(Integral, 1, None, closed="left"), None]
    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "random_state": ["random_state"],
        "iterations": _positive_int,
        "latent_dim": _positive_int,
        "batch_size": _positive_int,
        "learning_rate": [Interval(Real, 0, None, closed="neither"), None],
        "output_range": [StrOptions({"training", "tanh"}), None],
        "dtype": [StrOptions({"float32", "bfloat16"}), None],
        "device": [str, None],  # the name is checked by CGANConfig
        "stopping": [StrOptions({"fixed", "patience"}), None],
        "oracle": [StrOptions(set(ORACLE_NAMES)), None],
        "eval_every": _positive_int,
        "patience": _positive_int,
        "min_iterations": [Interval(Integral, 0, None, closed="left"), None],
        "holdout": [Interval(Real, 0, 0.5, closed="right"), None],
        "adam_step": [StrOptions({"separate", "shared"}), None],
        "config": [CGANConfig, None],
        "verbose": ["boolean"],
    }

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        random_state=None,
        iterations=None,
        latent_dim=None,
        batch_size=None,
        learning_rate=None,
        output_range=None,
        dtype=None,
        device=None,
        stopping=None,
        oracle=None,
        eval_every=None,
        patience=None,
        min_iterations=None,
        holdout=None,
        adam_step=None,
        config=None,
        verbose=False,
    ):
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.iterations = iterations
        self.latent_dim = latent_dim
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.output_range = output_range
        self.dtype = dtype
        self.device = device
        self.stopping = stopping
        self.oracle = oracle
        self.eval_every = eval_every
        self.patience = patience
        self.min_iterations = min_iterations
        self.holdout = holdout
        self.adam_step = adam_step
        self.config = config
        self.verbose = verbose

    def _validate_params(self):
        super()._validate_params()
        reject_booleans(self, ("iterations", "latent_dim", "batch_size", "eval_every",
                               "patience", "min_iterations", "holdout"))

    def _check_X_y(self, X, y):
        # The GAN needs dense features.
        return super()._check_X_y(X, y, accept_sparse=False)

    def _fit_resample(self, X, y):
        overrides = {name: getattr(self, name) for name in _OVERRIDES}
        try:
            given = {name: value for name, value in overrides.items() if value is not None}
            self.config_ = make_config(self.config, **given)
        except UserError as error:  # a setting only CGANConfig can judge (a device name)
            raise InvalidParameterError(str(error)) from None
        fold = TrainingFold(X, y, self.sampling_strategy_, draw_seeds(self.random_state, 2))
        printer = _progress_printer(self.config_.iterations) if self.verbose else None
        try:
            result = resample_cgan([fold], self.config_, np.unique(y), printer)
        except UserError as error:  # data the settings cannot work with (too few rows)
            raise ValueError(str(error)) from None
        self.losses_, self.stop_ = result.folds[0].losses, result.folds[0].stop
        if result.folds[0].fault:
            raise GANDivergedError(
                f"CGAN training {result.folds[0].fault}; try a smaller learning_rate"
            )
        self.training_seconds_ = result.fit_seconds
        return result.folds[0].X, result.folds[0].y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


class GANDivergedError(RuntimeError):
    """The GAN's training diverged: its losses or generated rows are unusable."""


def _codes(y: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Labels as codes 0..len(classes)-1 (their position in `classes`)."""
    lookup = {label: code for code, label in enumerate(classes.tolist())}
    try:
        return np.fromiter((lookup[label] for label in np.asarray(y).tolist()), dtype=np.int64)
    except KeyError as missing:
        raise UserError(f"label {missing} is not one of the classes {classes.tolist()}") from None


def _labels_to_generate(counts: Mapping, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def _append(X, y, rows: np.ndarray, labels: np.ndarray, ranges: FeatureRanges):
    """X and y with the generated rows and their labels appended."""
    X, y = np.asarray(X), np.asarray(y)
    if np.issubdtype(X.dtype, np.integer) or X.dtype == bool:
        dtype = X.dtype
        rows = ranges.rounded(rows)
    else:
        dtype = np.result_type(X.dtype, np.float32)
    X_resampled = np.vstack([X.astype(dtype, copy=False), rows.astype(dtype)])
    return X_resampled, np.concatenate([y, labels.astype(y.dtype, copy=False)])


def _iteration_reporter(progress: WorkProgress | None, n_gans: int, total: int):
    """A train_cgans callback that reports work (iterations / 100 per GAN) every few
    iterations."""
    if progress is None:
        return None
    reported = 0

    def on_iteration(done: int) -> None:
        nonlocal reported
        if done - reported >= _PROGRESS_EVERY or (done == total and done > reported):
            progress(n_gans * (done - reported) / 100)
            reported = done

    return on_iteration


def _progress_printer(total: int) -> WorkProgress:
    step = max(1, total // 10)
    done = 0

    def report(work: float) -> None:
        nonlocal done
        before, done = done, done + round(work * 100)  # work is iterations / 100
        if done // step > before // step or done == total:
            print(f"CGAN training: iteration {done}/{total}", file=sys.stderr)

    return report
