"""Quality of generated rows, as SDMetrics and synthcity measure it, for one training fold.

A study scores what a classifier learns from oversampled rows; these measures say what the
rows themselves are like, so that a report can tell a generator that learns the minority
class from one that memorises it (random oversampling at a hundred times the price) or
one whose rows any classifier tells from real ones:

- column shapes (SDMetrics' fidelity): per numeric column the two-sample Kolmogorov-Smirnov
  statistic, per one-hot block the total variation distance of the category frequencies,
  between the training fold's real minority rows and the generated rows; 0 is identical;
- detection (synthcity's detection score): how well a logistic regression tells held-out
  real minority rows (the test fold's) from as many generated rows, as the ROC AUC of
  cross-validated predictions: 0.5 cannot tell, 1 always tells;
- privacy (distance to closest record, DCR): how far each generated row lies from its
  closest real training row, and the share of near-copies.

Distances are Euclidean after min-max scaling with the training fold's ranges (each
feature's range to [0, 1], a constant feature to 0), so no feature weighs more for its
units. The column layout comes from `layout.FeatureLayout`, read off the training rows.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np
from scipy.stats import ks_2samp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.neighbors import NearestNeighbors

from gan_oversampling.layout import FeatureLayout
from gan_oversampling.threads import one_blas_thread

MINORITY = 1
MIN_ROWS = 2  # rows on each side below which a distribution comparison says nothing
DETECTION_FOLDS = 5
NEAR_COPY_PERCENTILE = 5.0
NAN = math.nan


@dataclass(frozen=True)
class GeneratedQuality:
    """The measures of one fold's generated rows; NaN where not computable (too few rows).

    `ks_mean`: mean KS statistic over numeric columns; `tv_mean`: mean total variation over
    one-hot blocks; `fidelity`: 1 - the mean of both over every column and block (SDMetrics'
    column-shape score, 1 is best); `detection_auc`: see `detection_auc`; `dcr_median` and
    `near_copy_share`: see `closest_records`; the row counts they rest on.
    """

    ks_mean: float
    tv_mean: float
    fidelity: float
    detection_auc: float
    dcr_median: float
    near_copy_share: float
    n_generated: int
    n_real_test: int

    def as_dict(self) -> dict:
        return asdict(self)


MEASURES = tuple(field.name for field in fields(GeneratedQuality))


def generated_quality(X_train: np.ndarray, y_train: np.ndarray, generated: np.ndarray,
                      X_test: np.ndarray, y_test: np.ndarray, *, seed: int = 0
                      ) -> GeneratedQuality:
    """The quality of `generated` minority rows (label 1) against the real rows of one
    fold: its training rows (`X_train`, `y_train`, as the generator saw them) and its
    held-out test rows. Deterministic given `seed`."""
    X_train = np.asarray(X_train, dtype=np.float64)
    y_train = np.asarray(y_train)
    generated = np.asarray(generated, dtype=np.float64).reshape(-1, X_train.shape[1])
    real_test = np.asarray(X_test, dtype=np.float64)[np.asarray(y_test) == MINORITY]
    n_generated, n_real_test = len(generated), len(real_test)
    if not n_generated or not len(X_train) or not np.isfinite(generated).all():
        # Nothing to compare (a study never scores non-finite rows either).
        return GeneratedQuality(NAN, NAN, NAN, NAN, NAN, NAN, n_generated, n_real_test)
    is_minority = y_train == MINORITY
    low, span = X_train.min(axis=0), np.ptp(X_train, axis=0)

    def scale(rows: np.ndarray) -> np.ndarray:
        return np.divide(rows - low, span, out=np.zeros_like(rows), where=span > 0)

    rng = np.random.default_rng(seed)
    # One BLAS thread: a study runs one worker per core, and these are small products.
    with one_blas_thread():
        ks, tv, fidelity = column_shapes(X_train[is_minority], generated,
                                         FeatureLayout.detect(X_train))
        auc = detection_auc(scale(real_test), scale(generated), rng)
        dcr, near = closest_records(scale(X_train), is_minority, scale(generated))
    return GeneratedQuality(ks, tv, fidelity, auc, dcr, near, n_generated, n_real_test)


def column_shapes(real: np.ndarray, generated: np.ndarray, layout: FeatureLayout
                  ) -> tuple[float, float, float]:
    """(mean KS over numeric columns, mean TV over one-hot blocks, fidelity)."""
    if len(real) < MIN_ROWS or len(generated) < MIN_ROWS:
        return NAN, NAN, NAN
    ks = [float(ks_2samp(real[:, c], generated[:, c]).statistic) for c in layout.numeric]
    tv = [total_variation(real[:, block], generated[:, block]) for block in layout.blocks]
    both = ks + tv
    return _mean(ks), _mean(tv), 1.0 - _mean(both) if both else NAN


def total_variation(real: np.ndarray, generated: np.ndarray) -> float:
    """Half the L1 distance between the category frequencies of one one-hot block; a row's
    category is its largest column (a generator's blocks are not exactly one-hot)."""
    n_categories = real.shape[1]
    p = np.bincount(real.argmax(axis=1), minlength=n_categories) / len(real)
    q = np.bincount(generated.argmax(axis=1), minlength=n_categories) / len(generated)
    return float(0.5 * np.abs(p - q).sum())


def detection_auc(real: np.ndarray, generated: np.ndarray, rng: np.random.Generator) -> float:
    """ROC AUC of a logistic regression telling `real` from `generated` rows (scaled),
    from out-of-fold probabilities of a stratified k-fold, k = min(5, rows per side).
    Both sides get min(n_real, n_generated) rows, drawn with `rng`, so that an AUC of 0.5
    means indistinguishable whatever the counts. NaN under 2 rows a side."""
    n = min(len(real), len(generated))
    if n < MIN_ROWS:
        return NAN
    real = real[np.sort(rng.choice(len(real), n, replace=False))]
    generated = generated[np.sort(rng.choice(len(generated), n, replace=False))]
    X = np.vstack([real, generated])
    y = np.r_[np.zeros(n, dtype=int), np.ones(n, dtype=int)]
    folds = StratifiedKFold(min(DETECTION_FOLDS, n), shuffle=True,
                            random_state=int(rng.integers(2**31 - 1)))
    probability = cross_val_predict(LogisticRegression(max_iter=1000), X, y, cv=folds,
                                    method="predict_proba")[:, 1]
    return float(roc_auc_score(y, probability))


def closest_records(train: np.ndarray, is_minority: np.ndarray, generated: np.ndarray
                    ) -> tuple[float, float]:
    """(median DCR, near-copy share) of `generated` rows against the real `train` rows
    (all classes), both scaled.

    A generated row's DCR is its distance to the closest real training row. It is a
    near-copy when its DCR is at or below the 5th percentile of the real minority rows'
    own leave-one-out distances (each real minority row's distance to its closest OTHER
    training row): closer to a training row than 95% of real rows are to their neighbours.
    Exact copies (random oversampling) have DCR 0 and so all count, also where the real
    rows hold duplicates and the percentile is 0 (hence "at or below"). NaN without a
    generated row or under 2 training rows; the share is NaN without a minority row."""
    if not len(generated) or len(train) < MIN_ROWS:
        return NAN, NAN
    search = NearestNeighbors(algorithm="brute").fit(train)
    closest = search.kneighbors(generated, 1, return_distance=False)[:, 0]
    dcr = _distances(generated, train[closest])
    minority = np.flatnonzero(is_minority)
    if not len(minority):
        return float(np.median(dcr)), NAN
    pairs = search.kneighbors(train[minority], 2, return_distance=False)
    # Leave the row itself out; with a duplicate it may come second, and either is at 0.
    other = np.where(pairs[:, 0] == minority, pairs[:, 1], pairs[:, 0])
    threshold = np.percentile(_distances(train[minority], train[other]), NEAR_COPY_PERCENTILE)
    return float(np.median(dcr)), float(np.mean(dcr <= threshold))


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Euclidean distances computed from the differences: the search's dot-product
    shortcut leaves a copy a tiny distance away instead of exactly 0."""
    return np.sqrt(((a - b) ** 2).sum(axis=1))


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else NAN
