"""Oracles: how good a generator is, judged on its training fold alone.

With the patience rule, each training fold is split once (stratified, seeded): the GAN
trains on one part, and a slice of `holdout` of every class is held out from GAN training.
An oracle looks at these two parts only, never at the test fold. At each evaluation the
trainer generates rows for the oracle's `labels` and the oracle scores them; `gap(value)`
is the score's distance from the oracle's ideal (lower is better), which the stopping rule
compares across evaluations.

"Oversampled classes" are the classes the GAN will generate rows of (the minority class of
a study). Classifiers are scikit-learn's logistic regression (deterministic), as the
detection metrics of synthetic-data evaluation use. An oracle computes on one BLAS thread:
its value is then the same on every machine, and its small fits run several times faster
than on threads that share busy cores. Costs per evaluation are measured by
`benchmarks/bench_oracles.py` (see the README).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import scipy.linalg
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, pairwise_distances, roc_auc_score
from sklearn.metrics.pairwise import rbf_kernel

from gan_oversampling.errors import UserError
from gan_oversampling.gan.layers import glorot_uniform
from gan_oversampling.threads import one_blas_thread

# Rows generated per evaluation by the oracles that compare distributions.
DISTRIBUTION_ROWS = 200
_BANDWIDTH_ROWS = 1000  # rows the median heuristic looks at, at most
_AE_HIDDEN, _AE_BOTTLENECK, _AE_STEPS, _AE_LEARNING_RATE = 64, 8, 300, 1e-3


@dataclass(frozen=True)
class OracleData:
    """One GAN's training fold, split: `X_fit, y_fit` train the GAN, `X_held, y_held` are
    held out from its training; `targets` are the codes of the oversampled classes."""

    X_fit: np.ndarray
    y_fit: np.ndarray
    X_held: np.ndarray
    y_held: np.ndarray
    targets: np.ndarray

    def of_targets(self, held: bool) -> tuple[np.ndarray, np.ndarray]:
        """Rows and labels of the oversampled classes, held out or not."""
        X, y = (self.X_held, self.y_held) if held else (self.X_fit, self.y_fit)
        rows = np.isin(y, self.targets)
        return X[rows], y[rows]


def hold_out(X: np.ndarray, y: np.ndarray, targets: np.ndarray, fraction: float,
             rng: np.random.Generator) -> OracleData:
    """Split a training fold: of every class with n >= 2 rows, round(fraction * n) rows
    (at least one, at most n - 1), drawn by `rng`, are held out. UserError when an
    oversampled class has fewer than 2 rows (none could be held out)."""
    held = []
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        if len(rows) < 2:
            if label in targets:
                raise UserError(f"holding out rows for the oracle needs at least 2 rows of "
                                f"each oversampled class; class {label} has {len(rows)}")
            continue
        n_held = min(len(rows) - 1, max(1, round(fraction * len(rows))))
        held.append(rng.choice(rows, n_held, replace=False))
    is_held = np.zeros(len(y), dtype=bool)
    is_held[np.concatenate(held)] = True
    return OracleData(X[~is_held], y[~is_held], X[is_held], y[is_held], np.asarray(targets))


class Oracle:
    """What every oracle offers: the labels of the rows it wants generated, a score of
    those rows (`_score`, computed on one BLAS thread), and the score's distance from the
    ideal."""

    name: ClassVar[str]
    labels: np.ndarray

    def score(self, rows: np.ndarray) -> float:
        with one_blas_thread():
            return self._score(rows)

    def _score(self, rows: np.ndarray) -> float:
        raise NotImplementedError

    def gap(self, value: float) -> float:
        return value  # a distance: 0 is ideal


class CASReal(Oracle):
    """Classification accuracy score on real rows (CAS-real): a logistic regression trained
    on generated rows of the oversampled classes plus the GAN's real training rows of the
    other classes, scored on the held-out real rows: F1 of the oversampled classes (macro
    over them). 1 is best. Measures whether generated rows teach a classifier what the
    real ones would. Cost: one classifier fit on (classes x largest class) rows per
    evaluation."""

    name = "cas-real"

    def __init__(self, data: OracleData, rng: np.random.Generator):
        self.data = data
        per_class = np.bincount(data.y_fit).max()
        self.labels = np.repeat(data.targets, per_class)
        others = ~np.isin(data.y_fit, data.targets)
        self.X_others, self.y_others = data.X_fit[others], data.y_fit[others]

    def _score(self, rows: np.ndarray) -> float:
        model = _fit_classifier(np.vstack([self.X_others, rows]),
                                np.concatenate([self.y_others, self.labels]))
        return _target_f1(self.data.y_held, model.predict(self.data.X_held), self.data.targets)

    def gap(self, value: float) -> float:
        return 1.0 - value


class CASSyn(Oracle):
    """Classification accuracy score on synthetic rows (CAS-syn): a logistic regression
    trained once on the held-out real rows scores generated rows of every class: F1 of the
    oversampled classes against the labels the rows were generated for. 1 is best.
    Measures whether generated rows fall on their own class's side of the real boundary
    (not their variety). Cost: one prediction per evaluation; one fit in all."""

    name = "cas-syn"

    def __init__(self, data: OracleData, rng: np.random.Generator):
        classes = np.unique(data.y_held)
        if len(classes) < 2:
            raise UserError("the cas-syn oracle needs held-out rows of two classes or more")
        self.targets = data.targets
        self.model = _fit_classifier(data.X_held, data.y_held)
        self.labels = np.repeat(classes, np.bincount(data.y_fit).max())

    def _score(self, rows: np.ndarray) -> float:
        return _target_f1(self.labels, self.model.predict(rows), self.targets)

    def gap(self, value: float) -> float:
        return 1.0 - value


class TwoSampleTest(Oracle):
    """Classifier two-sample test (C2ST, detection): a logistic regression learns to tell
    the GAN's real training rows of the oversampled classes from as many generated ones,
    then ranks the held-out real rows against new generated ones: the ROC AUC. 0.5 (the
    classifier cannot tell them apart) is best. Measures how detectable generated rows
    are. Cost: one classifier fit on twice the oversampled classes' rows per evaluation."""

    name = "c2st"

    def __init__(self, data: OracleData, rng: np.random.Generator):
        (self.real_fit, labels_fit), (self.real_held, labels_held) = (
            data.of_targets(held=False), data.of_targets(held=True))
        self.labels = np.concatenate([labels_fit, labels_held])

    def _score(self, rows: np.ndarray) -> float:
        n_fit, n_held = len(self.real_fit), len(self.real_held)
        model = _fit_classifier(np.vstack([self.real_fit, rows[:n_fit]]),
                                np.repeat([1, 0], [n_fit, n_fit]))
        tested = np.vstack([self.real_held, rows[n_fit:]])
        return float(roc_auc_score(np.repeat([1, 0], [n_held, n_held]),
                                   model.predict_proba(tested)[:, 1]))

    def gap(self, value: float) -> float:
        return abs(value - 0.5)


class MaximumMeanDiscrepancy(Oracle):
    """Maximum mean discrepancy (squared, biased V-statistic) between the held-out real
    rows of the oversampled classes and `DISTRIBUTION_ROWS` generated ones, with an RBF
    kernel exp(-|x - y|^2 / (2 s^2)) whose bandwidth s is the median distance between the
    GAN's real training rows (median heuristic, fixed once so evaluations compare). 0 is
    best. Measures every difference of the two distributions the kernel sees. Cost: kernel
    matrices of (held-out + generated) rows per evaluation."""

    name = "mmd"

    def __init__(self, data: OracleData, rng: np.random.Generator):
        self.real, labels = data.of_targets(held=True)
        self.labels = np.resize(labels, max(DISTRIBUTION_ROWS, len(labels)))
        rows = data.X_fit
        if len(rows) > _BANDWIDTH_ROWS:
            rows = rows[rng.choice(len(rows), _BANDWIDTH_ROWS, replace=False)]
        self.gamma = 1.0 / (2.0 * median_distance(rows) ** 2)
        self.real_term = rbf_kernel(self.real, gamma=self.gamma).mean()

    def _score(self, rows: np.ndarray) -> float:
        return mmd_squared(self.real, rows, self.gamma, self.real_term)


class FrechetAutoencoder(Oracle):
    """Frechet distance in the bottleneck of a small autoencoder trained on the GAN's real
    training rows (all classes): between the Gaussians fitted to the held-out real rows of
    the oversampled classes and to `DISTRIBUTION_ROWS` generated ones, as FID does in an
    image network's features. 0 is best. Measures the first two moments of the rows in a
    learned summary of the data. Covariances are the maximum-likelihood ones (divided by
    n), defined for a single held-out row. Cost: the autoencoder's training once per GAN;
    an encoding and a matrix square root per evaluation."""

    name = "frechet-ae"

    def __init__(self, data: OracleData, rng: np.random.Generator):
        self.encode = train_autoencoder(data.X_fit, int(rng.integers(2**31 - 1)))
        real, labels = data.of_targets(held=True)
        self.real_moments = _moments(self.encode(real))
        self.labels = np.resize(labels, max(DISTRIBUTION_ROWS, len(labels)))

    def _score(self, rows: np.ndarray) -> float:
        return frechet_distance(*self.real_moments, *_moments(self.encode(rows)))


ORACLES: dict[str, type[Oracle]] = {
    oracle.name: oracle
    for oracle in (CASReal, CASSyn, TwoSampleTest, MaximumMeanDiscrepancy, FrechetAutoencoder)
}


def make_oracle(name: str, data: OracleData, rng: np.random.Generator) -> Oracle:
    """The oracle called `name`, fitted to one GAN's split training fold."""
    if name not in ORACLES:
        raise UserError(f"unknown oracle {name!r}; known: {', '.join(ORACLES)}")
    with one_blas_thread():
        return ORACLES[name](data, rng)


# -- numerics -------------------------------------------------------------------------------
def median_distance(rows: np.ndarray) -> float:
    """Median Euclidean distance between distinct rows (1.0 when all rows coincide)."""
    distances = pairwise_distances(rows)[np.triu_indices(len(rows), k=1)]
    median = float(np.median(distances)) if distances.size else 0.0
    return median if median > 0 else 1.0


def mmd_squared(real: np.ndarray, generated: np.ndarray, gamma: float,
                real_term: float | None = None) -> float:
    """Biased estimate of MMD^2 with the kernel exp(-gamma |x - y|^2)."""
    if real_term is None:
        real_term = rbf_kernel(real, gamma=gamma).mean()
    value = (real_term + rbf_kernel(generated, gamma=gamma).mean()
             - 2.0 * rbf_kernel(real, generated, gamma=gamma).mean())
    return max(0.0, float(value))  # never below 0 but for rounding


def frechet_distance(mean_a: np.ndarray, cov_a: np.ndarray, mean_b: np.ndarray,
                     cov_b: np.ndarray) -> float:
    """|mean_a - mean_b|^2 + tr(cov_a + cov_b - 2 (cov_a cov_b)^(1/2)), computed as
    pytorch-fid does (scipy's sqrtm, a small ridge when the product has no finite root)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)  # singular is expected
        root = scipy.linalg.sqrtm(cov_a @ cov_b)
        if not np.isfinite(root).all():
            ridge = np.eye(len(mean_a)) * 1e-6
            root = scipy.linalg.sqrtm((cov_a + ridge) @ (cov_b + ridge))
    difference = mean_a - mean_b
    value = difference @ difference + np.trace(cov_a) + np.trace(cov_b) \
        - 2.0 * np.trace(np.real(root))
    return max(0.0, float(value))


def train_autoencoder(X: np.ndarray, seed: int):
    """An encoder (rows -> bottleneck codes) of a small autoencoder, F -> 64 -> 8 -> 64 ->
    F (ReLU, tanh output), trained full-batch with Adam on mean squared error; the weights
    are drawn from a generator seeded with `seed`."""
    source = torch.Generator().manual_seed(seed)
    n_features = X.shape[1]
    bottleneck = min(_AE_BOTTLENECK, n_features)
    widths = [n_features, _AE_HIDDEN, bottleneck, _AE_HIDDEN, n_features]
    weights = [glorot_uniform(a, b, source, torch.device("cpu")).requires_grad_()
               for a, b in zip(widths[:-1], widths[1:], strict=True)]
    biases = [torch.zeros(b, requires_grad=True) for b in widths[1:]]

    def forward(h: torch.Tensor, layers: range) -> torch.Tensor:
        for i in layers:
            h = h @ weights[i] + biases[i]
            h = torch.relu(h) if i in (0, 2) else (torch.tanh(h) if i == 3 else h)
        return h

    rows = torch.as_tensor(X, dtype=torch.float32)
    optimiser = torch.optim.Adam([*weights, *biases], lr=_AE_LEARNING_RATE)
    for _ in range(_AE_STEPS):
        optimiser.zero_grad(set_to_none=True)
        torch.mean((forward(rows, range(4)) - rows) ** 2).backward()
        optimiser.step()

    def encode(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return forward(torch.as_tensor(batch, dtype=torch.float32), range(2)).double().numpy()

    return encode


def _moments(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return codes.mean(axis=0), np.atleast_2d(np.cov(codes, rowvar=False, bias=True))


def _fit_classifier(X: np.ndarray, y: np.ndarray) -> LogisticRegression:
    with warnings.catch_warnings():
        # An oracle's classifier need not converge fully to rank generators.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return LogisticRegression(max_iter=1000).fit(X, y)


def _target_f1(y_true: np.ndarray, y_pred: np.ndarray, targets: np.ndarray) -> float:
    return float(f1_score(y_true, y_pred, labels=targets, average="macro", zero_division=0))
