"""Oversampling with a conditional GAN, as an imbalanced-learn sampler."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Mapping

import numpy as np
from imblearn.over_sampling.base import BaseOverSampler
from sklearn.utils import check_random_state

from gan_oversampling.errors import UserError
from gan_oversampling.gan.config import CGANConfig, make_config
from gan_oversampling.gan.train import TrainedCGANs, train_cgans

_SEED_LIMIT = 2**31 - 1


class CGANOversampler(BaseOverSampler):
    """Oversample with one conditional GAN trained on all classes of the data.

    The CGAN of Nazari & Branco (2021): a generator conditioned on the class label, trained
    against a conditional discriminator for a fixed number of iterations, then asked for
    the missing rows of each class to oversample. Generated rows are appended after the
    original ones. Any number of classes works: one generator serves them all.

    Features are expected in [-1, 1], the range of the generator's tanh output; they are
    not rescaled here (scale them first, e.g. with MinMaxScaler(feature_range=(-1, 1))).

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        Which classes to oversample and how far, with imbalanced-learn's meaning.
    random_state : int, RandomState instance or None, default=None
        Seeds the GAN's training and the generated rows; None draws fresh seeds.
    latent_dim, batch_size, iterations, learning_rate, dtype, device :
        CGAN settings (see `CGANConfig`); they override those of `config`.
    config : CGANConfig or None, default=None
        The other CGAN settings (layer sizes, Adam betas, dropout, ...); None for the
        defaults of the original study.
    verbose : bool, default=False
        Report training progress on standard error.

    Attributes
    ----------
    sampling_strategy_ : dict
        Class label -> number of rows generated.
    losses_ : ndarray of shape (iterations, 3)
        Binary cross-entropies per iteration: discriminator on real rows, on fake rows,
        generator.
    training_seconds_ : float
        Wall time of the GAN's training.
    """

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        # Validated together, with one-line messages, by CGANConfig.
        **{
            name: "no_validation"
            for name in (
                "latent_dim",
                "batch_size",
                "iterations",
                "learning_rate",
                "dtype",
                "device",
                "config",
                "verbose",
            )
        },
    }

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        random_state=None,
        latent_dim: int = 50,
        batch_size: int = 32,
        iterations: int = 1500,
        learning_rate: float = 2e-4,
        dtype: str = "float32",
        device: str = "auto",
        config: CGANConfig | None = None,
        verbose: bool = False,
    ):
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.latent_dim = latent_dim
        self.batch_size = batch_size
        self.iterations = iterations
        self.learning_rate = learning_rate
        self.dtype = dtype
        self.device = device
        self.config = config
        self.verbose = verbose

    def _check_X_y(self, X, y):
        # The GAN needs dense features.
        return super()._check_X_y(X, y, accept_sparse=False)

    def _fit_resample(self, X, y):
        config = self._make_config()
        train_seed, sample_seed = _draw_seeds(self.random_state)
        classes, codes = np.unique(y, return_inverse=True)
        _warn_outside_tanh_range(X)
        trained = train_cgans(
            [(X.astype(np.float32), codes)],
            len(classes),
            config,
            [train_seed],
            progress=_progress_printer(config.iterations) if self.verbose else None,
        )
        self.losses_ = trained.losses[0]
        self.training_seconds_ = trained.seconds
        return oversample_with_trained(
            trained, 0, X, y, self.sampling_strategy_, sample_seed, classes=classes
        )

    def _make_config(self) -> CGANConfig:
        if self.config is not None and not isinstance(self.config, CGANConfig):
            raise UserError(
                f"config must be a CGANConfig or None, got {type(self.config).__name__}"
            )
        return make_config(
            self.config,
            latent_dim=self.latent_dim,
            batch_size=self.batch_size,
            iterations=self.iterations,
            learning_rate=self.learning_rate,
            dtype=self.dtype,
            device=self.device,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


def oversample_with_trained(
    trained: TrainedCGANs,
    k: int,
    X: np.ndarray,
    y: np.ndarray,
    counts: Mapping,
    seed: int,
    classes: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """X and y with `counts[label]` rows from generator k appended per label, in that order.

    `classes[i]` is the label the generators know as code i; None when the labels are the
    codes themselves (0..n_classes-1). X keeps its dtype when it is floating point.
    """
    X, y = np.asarray(X), np.asarray(y)
    n_classes = trained.generator.n_classes
    classes = np.arange(n_classes) if classes is None else np.asarray(classes)
    if len(classes) != n_classes:
        raise UserError(f"got {len(classes)} classes for generators of {n_classes} classes")
    if X.ndim != 2 or X.shape[1] != trained.generator.n_features:
        raise UserError(
            f"X has shape {X.shape}; the generators make {trained.generator.n_features} features"
        )
    if len(y) != len(X):
        raise UserError(f"X has {len(X)} rows but y has {len(y)} labels")
    labels, codes = _labels_to_generate(counts, classes)
    generated = trained.generate(k, codes, seed)
    dtype = np.result_type(X.dtype, np.float32)
    X_resampled = np.vstack([X.astype(dtype, copy=False), generated.astype(dtype)])
    y_resampled = np.concatenate([y, labels.astype(y.dtype, copy=False)])
    return X_resampled, y_resampled


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


def _draw_seeds(random_state) -> tuple[int, int]:
    """Training and generation seeds; a fresh entropy source when random_state is None."""
    if random_state is None:
        seeds = np.random.default_rng().integers(_SEED_LIMIT, size=2)
    else:
        seeds = check_random_state(random_state).randint(_SEED_LIMIT, size=2)
    return int(seeds[0]), int(seeds[1])


def _warn_outside_tanh_range(X: np.ndarray) -> None:
    low, high = float(np.min(X)), float(np.max(X))
    if low < -1 - 1e-6 or high > 1 + 1e-6:
        warnings.warn(
            f"features span [{low:.3g}, {high:.3g}] but the CGAN generates values in [-1, 1]; "
            "scale them to [-1, 1] first",
            UserWarning,
            stacklevel=3,
        )


def _progress_printer(total: int):
    step = max(1, total // 10)

    def report(done: int) -> None:
        if done % step == 0 or done == total:
            print(f"CGAN training: iteration {done}/{total}", file=sys.stderr)

    return report
