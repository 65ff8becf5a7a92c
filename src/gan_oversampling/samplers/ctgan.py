"""Oversampling with CTGAN (Xu et al., 2019), as an imbalanced-learn sampler.

CTGAN comes from the optional `ctgan` package (BUSL-1.1 licence, not open source), so it is
imported only when a CTGANOversampler is fitted.
"""

from __future__ import annotations

import numbers
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
import torch
from imblearn.over_sampling.base import BaseOverSampler
from pydantic import Field
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval

from gan_oversampling.errors import UserError
from gan_oversampling.samplers.base import (
    Method,
    TrainingFold,
    draw_seeds,
    reject_booleans,
    require_rows,
    resample_one_by_one,
    target_counts,
)
from gan_oversampling.settings import StrictModel

MISSING_PACKAGE = (
    "the 'ctgan' method needs the ctgan package: pip install ctgan "
    "(BUSL-1.1 licence, not installed by default)"
)
LABEL_COLUMN = "label"
PAC = 10  # CTGAN's discriminator judges rows in packs of this many
# Conditioning makes the asked-for class likely, not certain: rows CTGAN generates with
# another label are dropped and drawn again, at most this many times.
_MAX_DRAWS = 10


class CTGANOversampler(BaseOverSampler):
    """Oversample with CTGAN trained on all classes, the class label as a discrete column.

    CTGAN models each numeric column with a mixture of Gaussians and trains a conditional
    generator by sampling training rows class by class. The rows of each class to
    oversample are generated conditioned on that class; a generated row whose label column
    came out as another class is discarded and drawn again (up to 10 draws, after which
    the remaining rows are kept with the class they were conditioned on; their count is
    in `n_unmatched_`). Generated rows are appended after the original ones.

    CTGAN draws from numpy's and torch's global random state. Here those are seeded from
    `random_state` for the fit and restored afterwards, so results repeat and no other
    random draw of the process is disturbed.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        Which classes to oversample and how far, with imbalanced-learn's meaning.
    random_state : int, RandomState instance or None, default=None
        Seeds CTGAN's training and sampling; None draws a fresh seed.
    epochs : int, default=300
        CTGAN's training epochs. A fold smaller than the batch makes one step per epoch.
    batch_size : int, default=500
        CTGAN's batch size, an upper bound: each fit uses the fold's row count rounded
        down to a multiple of 10 when that is smaller (see `batch_size_`).
    verbose : bool, default=False
        Show CTGAN's progress bar.

    Attributes
    ----------
    sampling_strategy_ : dict
        Class label -> number of rows generated.
    batch_size_ : int
        The batch size the fit used.
    training_seconds_ : float
        Wall time of CTGAN's training.
    n_unmatched_ : dict
        Class label -> generated rows kept although CTGAN labelled them otherwise.
    """

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "random_state": ["random_state"],
        "epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, PAC, None, closed="left")],
        "verbose": ["boolean"],
    }

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        random_state=None,
        epochs: int = 300,
        batch_size: int = 500,
        verbose: bool = False,
    ):
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.epochs = epochs
        self.batch_size = batch_size
        self.verbose = verbose

    def _validate_params(self):
        super()._validate_params()
        reject_booleans(self, ("epochs", "batch_size"))

    def _check_X_y(self, X, y):
        # CTGAN reads a dense table.
        return super()._check_X_y(X, y, accept_sparse=False)

    def _fit_resample(self, X, y):
        epochs, batch_size = int(self.epochs), int(self.batch_size)
        ctgan_class = import_ctgan()
        self.batch_size_ = fold_batch_size(batch_size, len(X))
        self.training_seconds_ = 0.0
        self.n_unmatched_ = {label: 0 for label in self.sampling_strategy_}
        if sum(self.sampling_strategy_.values()) == 0:
            return X, y
        classes, codes = np.unique(y, return_inverse=True)
        (seed,) = draw_seeds(self.random_state, 1)
        with _seeded_global_rng(seed), _quiet_mixture_fits():
            model = ctgan_class(epochs=epochs, batch_size=self.batch_size_, verbose=self.verbose)
            started = time.perf_counter()
            model.fit(_as_table(X, codes), discrete_columns=[LABEL_COLUMN])
            self.training_seconds_ = time.perf_counter() - started
            generated = self._generate(model, classes, X.shape[1])
        return _append(X, y, generated)

    def _generate(self, model, classes: np.ndarray, n_features: int) -> list:
        generated = []
        for label, count in self.sampling_strategy_.items():
            if count == 0:
                continue
            code = str(int(np.flatnonzero(classes == label)[0]))
            rows, unmatched = sample_class(model, code, int(count), n_features)
            self.n_unmatched_[label] = unmatched
            generated.append((label, rows))
        return generated

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


def import_ctgan():
    """The CTGAN class; UserError naming the package when it is not installed."""
    try:
        from ctgan import CTGAN
    except ImportError:
        raise UserError(MISSING_PACKAGE) from None
    return CTGAN


def fold_batch_size(batch_size: int, n_rows: int) -> int:
    """The batch size for a fold of `n_rows`: at most the fold, a multiple of 10, at least 10.

    CTGAN requires an even batch that splits into packs of 10 rows. It draws each batch
    with replacement, so a batch larger than the fold only repeats rows, at the cost of
    larger steps: with the default 500 a fold of 180 rows would train on batches that are
    mostly duplicates.
    """
    return max(PAC, min(batch_size, n_rows) // PAC * PAC)


def sample_class(model, code: str, count: int, n_features: int) -> tuple[np.ndarray, int]:
    """`count` rows conditioned on class `code`, those labelled `code` first; and how many
    rows had to be kept with another generated label."""
    feature_columns = _feature_names(n_features)
    kept: list[np.ndarray] = []
    n_kept = 0
    for _ in range(_MAX_DRAWS):
        if n_kept >= count:
            break
        # Draw more than missing: some rows come out with another label.
        drawn = model.sample(
            2 * (count - n_kept), condition_column=LABEL_COLUMN, condition_value=code
        )
        matching = drawn[drawn[LABEL_COLUMN].astype(str) == code]
        kept.append(matching[feature_columns].to_numpy(dtype=np.float64))
        n_kept += len(matching)
    unmatched = max(0, count - n_kept)
    if unmatched:
        drawn = model.sample(unmatched, condition_column=LABEL_COLUMN, condition_value=code)
        kept.append(drawn[feature_columns].to_numpy(dtype=np.float64)[:unmatched])
    return np.concatenate(kept)[:count], unmatched


def _as_table(X: np.ndarray, codes: np.ndarray) -> pd.DataFrame:
    table = pd.DataFrame(np.asarray(X, dtype=np.float64), columns=_feature_names(X.shape[1]))
    table[LABEL_COLUMN] = [str(code) for code in codes]
    return table


def _feature_names(n_features: int) -> list[str]:
    return [f"x{i}" for i in range(n_features)]


def _append(X: np.ndarray, y: np.ndarray, generated: list) -> tuple[np.ndarray, np.ndarray]:
    """X and y with the generated rows appended, class by class; float X keeps its dtype."""
    dtype = np.result_type(X.dtype, np.float32)
    blocks = [X.astype(dtype, copy=False)] + [rows.astype(dtype) for _, rows in generated]
    labels = [y] + [np.full(len(rows), label, dtype=y.dtype) for label, rows in generated]
    return np.vstack(blocks), np.concatenate(labels)


@contextmanager
def _seeded_global_rng(seed: int) -> Iterator[None]:
    """numpy's and torch's global generators seeded with `seed`, restored on exit."""
    numpy_state = np.random.get_state()
    cuda_devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=cuda_devices):
        torch.manual_seed(seed)
        np.random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(numpy_state)


@contextmanager
def _quiet_mixture_fits() -> Iterator[None]:
    # CTGAN fits a Gaussian mixture per numeric column; on columns with few distinct values
    # (binary flags, counts) those fits stop before converging as a matter of course.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        yield



class CTGANSettings(StrictModel):
    """The `[ctgan]` table of a study file."""

    epochs: int = Field(300, ge=1)
    batch_size: int = Field(500, ge=PAC)


def _fold_sampler(fold: TrainingFold, settings: CTGANSettings) -> CTGANOversampler:
    require_rows("ctgan", fold.y, 1)
    return CTGANOversampler(
        sampling_strategy=target_counts(fold),
        random_state=fold.seeds[0],
        epochs=settings.epochs,
        batch_size=settings.batch_size,
    )


METHOD = Method(
    name="ctgan",
    kind="generative",
    summary="CTGAN (Xu et al., 2019; optional package), trained on each training fold",
    resample=resample_one_by_one(_fold_sampler),
    seed_streams=("ctgan",),
    settings_model=CTGANSettings,
    training_steps="epochs",
    requires=MISSING_PACKAGE,
    check_available=import_ctgan,
)
