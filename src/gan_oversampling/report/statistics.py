"""Paired statistics of methods over tests, each computed by its reference library.

A *test* (one dataset at one level of each factor) is the unit: the Wilcoxon test, the
bootstrap and the Friedman test see one number per test (its fold mean), so folds never
pose as independent datasets. Folds enter only the correlated Bayesian t-test, which is
built for them: it corrects the variance of the mean of K correlated fold differences
(Nadeau-Bengio, correlation 1/K). With repeated cross-validation a test's K x R fold
differences go into the same test with `runs=R`.

Libraries: scipy (Wilcoxon, bootstrap, Friedman), baycomp (the
correlated Bayesian t-test of Benavoli et al. 2017), scikit-posthocs (Nemenyi);
Holm's adjustment is checked against statsmodels.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from gan_oversampling.study.spec import StatisticsSpec

REPEAT = "repeat"  # the column numbering repeated cross-validations of a test, if any
CONFIDENCE = 0.95  # of every interval
DECISION = 0.95  # posterior probability at which a test's verdict is called
VERDICTS = ("win", "tie", "loss", "undecided")


# The `[statistics]` table of a study: ROPE, the minority-row minimum, bootstrap size, seed.
Settings = StatisticsSpec


def settings_of(spec: dict) -> Settings:
    """The statistics settings of a stored study; one stored before they existed gets the
    defaults."""
    return Settings.model_validate(spec.get("statistics") or {})


# -- frequentist, over tests -------------------------------------------------------------------
def rank_biserial(differences) -> float:
    """Matched-pairs rank-biserial correlation (Kerby 2014) of paired differences.

    (R+ - R-) / (R+ + R-), with R+ and R- the sums of the ranks of |d| over the positive and
    negative differences. Zero differences are dropped, as Wilcoxon's test (zero_method
    "wilcox") drops them, so the effect size and the p-value describe the same pairs.
    +1: every pair favours the first method; -1: every pair the second.
    """
    d = np.asarray(differences, dtype=float)
    d = d[d != 0]
    if d.size == 0:
        return float("nan")
    ranks = stats.rankdata(np.abs(d))
    return float((ranks[d > 0].sum() - ranks[d < 0].sum()) / ranks.sum())


def wilcoxon(differences) -> tuple[float, float]:
    """Two-sided Wilcoxon signed-rank test of paired differences: (statistic, p-value).

    NaN when no difference is non-zero: there is nothing to rank.
    """
    d = np.asarray(differences, dtype=float)
    if np.count_nonzero(d) == 0:
        return float("nan"), float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns about small samples; p says enough
        result = stats.wilcoxon(d)
    return float(result.statistic), float(result.pvalue)


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values; NaNs stay NaN and are not
    counted in the family.

    The same numbers as statsmodels' `multipletests(method="holm")` (the tests check it),
    computed here because that function runs a full garbage collection on every call:
    half a second each with the report's modules loaded, for dozens of families
    (`benchmarks/bench_holm.py`: 0.14 s against 14 us per call here).
    """
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    known = np.flatnonzero(~np.isnan(p))
    order = known[np.argsort(p[known], kind="stable")]
    steps = p[order] * np.arange(len(order), 0, -1)  # the i-th smallest times (m - i + 1)
    adjusted[order] = np.minimum(np.maximum.accumulate(steps), 1.0)
    return adjusted


def bootstrap_interval(values, n_resamples: int, seed: int) -> tuple[float, float]:
    """Percentile bootstrap interval (95%) of the mean, resampling the values given (tests).

    NaN below two values; a point when all values are equal (every resample is the same).
    The percentile method is used because it never fails: BCa needs a jackknife that is
    undefined on the many constant or two-valued samples small studies give.
    """
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if v.size < 2:
        return float("nan"), float("nan")
    if np.all(v == v[0]):
        return float(v[0]), float(v[0])
    result = stats.bootstrap(
        (v,), np.mean, n_resamples=n_resamples, confidence_level=CONFIDENCE,
        method="percentile", rng=np.random.default_rng(seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


# -- Bayesian, on the folds of each test -------------------------------------------------------
@dataclass(frozen=True)
class Posterior:
    """Student-t posterior of a test's mean difference (second minus first method)."""

    mean: float
    var: float
    df: float


def correlated_posterior(first, second, runs: int = 1) -> Posterior:
    """The correlated Bayesian t-test's posterior for one test (baycomp), from the paired
    fold scores of two methods. Needs two folds at least (NaN otherwise)."""
    from baycomp.single import CorrelatedTTest

    first, second = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    if first.size < 2:
        return Posterior(float("nan"), float("nan"), float("nan"))
    mean, var, df = CorrelatedTTest.compute_statistics(first, second, runs)
    return Posterior(float(mean), float(var), float(df))


def rope_probabilities(first, second, rope: float, runs: int = 1) -> tuple[float, float, float]:
    """(P(second worse), P(equivalent within +-rope), P(second better)) for one test, by
    baycomp's correlated t-test; NaNs with fewer than two folds."""
    from baycomp import two_on_single

    first, second = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    if first.size < 2:
        return float("nan"), float("nan"), float("nan")
    probabilities = two_on_single(first, second, rope, runs)
    if rope == 0:  # baycomp then returns (left, right) only
        return float(probabilities[0]), 0.0, float(probabilities[1])
    worse, equivalent, better = probabilities
    return float(worse), float(equivalent), float(better)


def posterior_draws(posteriors: list[Posterior], n_draws: int, seed: int) -> np.ndarray:
    """Draws from each test's posterior, one row per test (tests x n_draws)."""
    rng = np.random.default_rng(seed)
    mean = np.array([p.mean for p in posteriors])[:, None]
    scale = np.sqrt(np.array([p.var for p in posteriors]))[:, None]
    df = np.array([p.df for p in posteriors])[:, None]
    return mean + scale * rng.standard_t(df, size=(len(posteriors), n_draws))


def mean_rope_probabilities(draws: np.ndarray, rope: float) -> tuple[float, float, float]:
    """(P(worse), P(equivalent), P(better)) of the mean difference over the tests whose
    posterior draws are the rows of `draws`.

    This is how the per-test correlated t-tests are combined: each test's posterior is a
    Student t (baycomp), the tests' posteriors are taken as independent, and the mean over
    these tests is sampled. The probabilities speak about these tests, not about a
    population of tests (that needs baycomp's hierarchical model, which requires Stan).
    """
    if draws.size == 0 or np.isnan(draws).any():
        return float("nan"), float("nan"), float("nan")
    average = draws.mean(axis=0)
    worse = float(np.mean(average < -rope))
    better = float(np.mean(average > rope))
    return worse, 1.0 - worse - better, better


def verdict(p_worse: float, p_equivalent: float, p_better: float) -> str:
    """A test's verdict: the outcome with posterior probability >= DECISION, else undecided."""
    if p_better >= DECISION:
        return "win"
    if p_worse >= DECISION:
        return "loss"
    if p_equivalent >= DECISION:
        return "tie"
    return "undecided"


# -- all methods at once -----------------------------------------------------------------------
@dataclass
class Friedman:
    statistic: float
    p_value: float
    average_ranks: pd.Series  # method -> average rank (1 = best), best first
    posthoc: pd.DataFrame  # Nemenyi p-values, methods x methods


def friedman_nemenyi(by_test: pd.DataFrame) -> Friedman | None:
    """Friedman's test over tests (rows) and methods (columns, higher is better), with
    Nemenyi's post-hoc test (scikit-posthocs); None below 3 methods or 2 tests."""
    import scikit_posthocs

    by_test = by_test.dropna()
    if by_test.shape[1] < 3 or by_test.shape[0] < 2:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant rows make scipy warn; NaN then says it
        statistic, p_value = stats.friedmanchisquare(*by_test.to_numpy().T)
        posthoc = scikit_posthocs.posthoc_nemenyi_friedman(by_test.to_numpy())
    methods = list(by_test.columns)
    posthoc.index, posthoc.columns = methods, methods
    ranks = by_test.rank(axis=1, ascending=False, method="average").mean()
    return Friedman(float(statistic), float(p_value), ranks.sort_values(kind="stable"),
                    posthoc)
