"""Data complexity measures of a test dataset, computed by the `problexity` package.

The difficulty factors say how a test was made (a ratio, a rotation, an overlap level);
these measures say how hard its data turned out to be, so that results can be read against
both. Four families (Lorena et al., "How complex is your classification problem?", ACM
Computing Surveys 2019), as problexity computes them; every one grows with difficulty:

- feature overlap: F1 (maximum Fisher's discriminant ratio), F1v (its directional
  version), F2 (volume of the overlapping region), F3 (maximum individual feature
  efficiency), F4 (collective feature efficiency);
- linearity: L1, L2, L3 (a linear SVM's error distance, error rate and non-linearity);
- neighbourhood: N1 (fraction of borderline points), N2 (intra/extra class nearest-neighbour
  distances), N3 (leave-one-out 1-NN error), N4 (1-NN non-linearity), T1 (fraction of
  hyperspheres covering the data), LSC (local set average cardinality);
- class imbalance: C1 (entropy of the class proportions), C2 (imbalance ratio).

problexity is GPL-3.0 and pulls in igraph, so it is an optional extra
(`pip install 'gan-oversampling[complexity]'`).
"""

from __future__ import annotations

import time
import warnings
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from sklearn.utils import resample

from gan_oversampling.errors import UserError

FAMILIES = {
    "feature overlap": ("F1", "F1v", "F2", "F3", "F4"),
    "linearity": ("L1", "L2", "L3"),
    "neighbourhood": ("N1", "N2", "N3", "N4", "T1", "LSC"),
    "class imbalance": ("C1", "C2"),
}
MEASURES = tuple(name for names in FAMILIES.values() for name in names)
FAMILY_OF = {name: family for family, names in FAMILIES.items() for name in names}
# Every family, each well under a second on the largest shipped tests (1,400 rows x 784 or
# 444 features; README, "Data complexity measures"). F1v (a loop over pairs of features),
# F4, N1, N2, T1 and LSC (n x n distance matrices) take seconds there: they are asked for.
DEFAULT_MEASURES = ("F1", "F3", "L2", "N3", "N4", "C2")
MISSING_PACKAGE = (
    "the complexity measures need the problexity package: pip install "
    "'gan-oversampling[complexity]' (GPL-3.0 licence, not installed by default), or leave "
    "the [complexity] table out of the study file"
)


@dataclass(frozen=True)
class Measured:
    """One measure of one test: its value (NaN where problexity cannot compute it on these
    rows), the seconds it took and the rows it was computed on."""

    measure: str
    value: float
    seconds: float
    n_rows: int


def check_available() -> None:
    """UserError naming the package and the extra when problexity is not installed."""
    import_problexity()


def import_problexity():
    """The problexity module; UserError (MISSING_PACKAGE) when it is not installed."""
    try:
        import problexity
    except ImportError:
        raise UserError(MISSING_PACKAGE) from None
    return problexity


def measure_test(X: np.ndarray, y: np.ndarray, measures: Sequence[str], seed: int,
                 max_rows: int) -> list[Measured]:
    """The `measures` of one test dataset (X numeric, y 0/1), in the order given.

    A test of more than `max_rows` rows is measured on a stratified random sample of that
    many (some measures hold an n x n distance matrix). Columns that are constant over the
    measured rows are dropped first: they carry no class information, and problexity's F1
    divides by their variance, which rounding makes a tiny number instead of zero. Each
    measure gets its own random stream (L3 and N4 draw points, the linear SVM shuffles),
    fixed by `seed` and its name, so a value does not depend on the other measures asked.
    """
    problexity = import_problexity()
    X, y = _measured_rows(np.asarray(X, dtype=np.float64), np.asarray(y), seed, max_rows)
    X = X[:, np.ptp(X, axis=0) > 0]
    results = []
    for name in measures:
        function = getattr(problexity, name.lower())
        started = time.perf_counter()
        with _global_stream(seed, name), warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")  # divisions by zero, a linear SVM's convergence
            value = _value_or_nan(function, X, y)
        results.append(Measured(name, value, time.perf_counter() - started, len(y)))
    return results


def _measured_rows(X: np.ndarray, y: np.ndarray, seed: int, max_rows: int):
    if len(y) <= max_rows:
        return X, y
    return resample(X, y, replace=False, n_samples=max_rows, stratify=y, random_state=seed)


def _value_or_nan(function, X: np.ndarray, y: np.ndarray) -> float:
    if X.shape[1] == 0 or len(np.unique(y)) < 2:
        return float("nan")  # no feature varies, or one class: nothing to measure
    try:
        value = float(function(X, y))
    except Exception:  # problexity fails on degenerate rows (a class of one row)
        return float("nan")
    return value if np.isfinite(value) else float("nan")


@contextmanager
def _global_stream(seed: int, name: str) -> Iterator[None]:
    """numpy's global random state seeded for one measure, and restored afterwards:
    problexity and scikit-learn's LinearSVC(random_state=None) draw from it."""
    saved = np.random.get_state()
    entropy = [seed, zlib.crc32(name.encode())]
    np.random.seed(np.random.SeedSequence(entropy).generate_state(1)[0])
    try:
        yield
    finally:
        np.random.set_state(saved)
