"""Which factor decides the gain: a generator's gain over a comparator in the primary score
(minority F1 unless the study names another), per test, regressed on the study's factors
(statsmodels).

Every factor enters as categorical (one coefficient per level against its first level), so
no shape (linear, logarithmic) is assumed for sizes or ratios; the model is additive (no
interactions: a grid of 144 tests has no room for them). Tests are the unit: one gain per
test, ordinary least squares. With repeated cross-validation (a `repeat` column with more
than one value) each repeat is a row and the test a random intercept (a mixed model).
A factor whose dummies the earlier factors already span (MNIST's `features` is `side`
squared) is left out, and said so.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gan_oversampling.report import tables
from gan_oversampling.report.scores import MINORITY_F1, Score
from gan_oversampling.report.statistics import REPEAT

ALPHA = 0.05


@dataclass
class FactorModel:
    target: str  # "<generator> - <comparator>"
    kind: str  # "OLS" or "mixed (test as random intercept)"
    n_tests: int
    residual_df: float
    coefficients: pd.DataFrame  # term, factor, level, estimate, ci_low, ci_high, p_value
    effects: pd.DataFrame  # per factor, see `_factor_effect`; largest spread first
    left_out: list[str] = field(default_factory=list)  # "factor (why)"


def gains(frame: pd.DataFrame, generator: str, comparator: str,
          score: Score = MINORITY_F1) -> pd.DataFrame:
    """Per complete test (per repeat, when repeated): its factors and `gain`, the fold-mean
    `score` of the generator minus that of the comparator."""
    keys = ["test_key", REPEAT] if REPEAT in frame.columns else ["test_key"]
    rows = frame[(frame["class_role"] == score.role)
                 & frame["test_key"].isin(tables.complete_tests(frame))
                 & frame["method"].isin([generator, comparator])]
    means = rows.pivot_table(index=keys, columns="method", values=score.column, aggfunc="mean",
                             sort=False)
    # A method without this score (never stored) has no column: no gain to model.
    means = means.reindex(columns=[generator, comparator])
    gain = (means[generator] - means[comparator]).rename("gain").reset_index()
    factors = [f for f in tables.factor_columns(frame) if f != REPEAT]
    levels = frame.drop_duplicates("test_key")[["test_key", *factors]]
    return gain.merge(levels, on="test_key", how="left")


def fit(gain: pd.DataFrame, target: str) -> FactorModel | None:
    """The gain on every usable factor; None when no factor varies or too few tests."""
    factors = [f for f in gain.columns if f not in ("test_key", REPEAT, "gain")]
    design, used, left_out = _design(gain, factors)
    residual_df = len(gain) - design.shape[1]
    if not used or residual_df < 1:
        return None
    result, kind = _fit(gain, design)
    if result is None:
        # The tests' random intercepts cannot be told from the fixed effects (too few
        # tests per level): read each test's mean over its draws instead.
        gain = _test_means(gain, factors)
        design, used, left_out = _design(gain, factors)
        residual_df = len(gain) - design.shape[1]
        if not used or residual_df < 1:
            return None
        result, kind = _ols(gain, design), "OLS on each test's mean over its draws"
    names = list(design.columns)
    low, high = np.asarray(result.conf_int(ALPHA))[: len(names)].T
    coefficients = pd.DataFrame({
        "target": target, "term": names,
        "factor": [name.split("=", 1)[0] if "=" in name else "" for name in names],
        "level": [name.split("=", 1)[1] if "=" in name else "" for name in names],
        "estimate": np.asarray(result.params)[: len(names)], "ci_low": low, "ci_high": high,
        "p_value": np.asarray(result.pvalues)[: len(names)],
    })
    effects = pd.DataFrame([_factor_effect(result, names, gain, factor) for factor in used])
    effects.insert(0, "target", target)
    effects = effects.sort_values("spread", ascending=False, kind="stable")
    return FactorModel(target, kind, gain["test_key"].nunique(), float(residual_df),
                       coefficients, effects.reset_index(drop=True), left_out)


def _design(gain: pd.DataFrame, factors: list[str]):
    """Intercept plus one dummy per non-first level of each factor that adds to the span."""
    design = pd.DataFrame({"intercept": np.ones(len(gain))}, index=gain.index)
    used, left_out = [], []
    for factor in factors:
        levels = tables.factor_levels(gain, factor)
        if len(levels) < 2:
            left_out.append(f"{factor} (one level)")
            continue
        dummies = pd.DataFrame(
            {f"{factor}={tables.level_text(level)}": (gain[factor] == level).astype(float)
             for level in levels[1:]}, index=gain.index)
        candidate = pd.concat([design, dummies], axis=1)
        if np.linalg.matrix_rank(candidate.to_numpy()) < candidate.shape[1]:
            left_out.append(f"{factor} (aliased with the factors before it)")
            continue
        design, used = candidate, [*used, factor]
    return design, used, left_out


def _repeated(gain: pd.DataFrame) -> bool:
    return REPEAT in gain.columns and gain[REPEAT].nunique() > 1


def _test_means(gain: pd.DataFrame, factors: list[str]) -> pd.DataFrame:
    means = gain.groupby("test_key", sort=False).agg(
        gain=("gain", "mean"), **{factor: (factor, "first") for factor in factors})
    return means.reset_index()


def _ols(gain: pd.DataFrame, design: pd.DataFrame):
    import statsmodels.api as sm

    return sm.OLS(gain["gain"], design).fit()


def _fit(gain: pd.DataFrame, design: pd.DataFrame):
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    if not _repeated(gain):
        return _ols(gain, design), "OLS"
    model = sm.MixedLM(gain["gain"], design, groups=gain["test_key"])
    with warnings.catch_warnings():
        # A between-test variance estimated at zero (repeats that agree) is a valid fit;
        # statsmodels warns about the boundary all the same.
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            result = model.fit(reml=True)
        except (np.linalg.LinAlgError, ValueError):
            return None, ""
    if not np.isfinite(np.asarray(result.bse)[: design.shape[1]]).all():
        return None, ""
    return result, "mixed (test as random intercept)"


def _factor_effect(result, names: list[str], gain: pd.DataFrame, factor: str) -> dict:
    """The factor's joint Wald test (all its levels' coefficients zero), and the spread of
    its estimated level effects: the highest level minus the lowest, with a 95% interval."""
    levels = tables.factor_levels(gain, factor)
    columns = [f"{factor}={tables.level_text(level)}" for level in levels]

    def contrast(weights: dict[str, float], n_params: int) -> np.ndarray:
        # A mixed model's wald_test takes every parameter (the random intercept's variance
        # last), its t_test the fixed effects only; OLS has fixed effects only.
        row = np.zeros(n_params)
        for name, weight in weights.items():
            if name in names:  # the first level is the reference, absent from the design
                row[names.index(name)] = weight
        return row

    every = len(np.asarray(result.params))
    restriction = np.array([contrast({name: 1.0}, every) for name in columns[1:]])
    wald = result.wald_test(restriction, scalar=True)
    effect = {name: (float(result.params.iloc[names.index(name)]) if name in names else 0.0)
              for name in columns}
    high = max(effect, key=effect.get)
    low = min(effect, key=effect.get)
    spread = result.t_test(contrast({high: 1.0, low: -1.0}, len(names))[None, :])
    ci_low, ci_high = np.asarray(spread.conf_int(ALPHA)).ravel()
    return {
        "factor": factor, "levels": len(levels),
        "wald_statistic": float(np.squeeze(wald.statistic)), "p_value": float(wald.pvalue),
        "best_level": high.split("=", 1)[1], "best_effect": effect[high],
        "worst_level": low.split("=", 1)[1], "worst_effect": effect[low],
        "spread": effect[high] - effect[low], "spread_ci_low": float(ci_low),
        "spread_ci_high": float(ci_high),
    }


def models(frame: pd.DataFrame, comparisons_of: dict[str, list[str]],
           score: Score = MINORITY_F1) -> list[FactorModel]:
    """One model per generator and comparator (`{generator: [comparator, ...]}`) of the
    gain in `score`; those that cannot be fitted are skipped."""
    fitted = []
    for generator, comparators in comparisons_of.items():
        for comparator in comparators:
            target = f"{generator} - {comparator}"
            gain = gains(frame, generator, comparator, score)
            if gain["gain"].isna().all():  # a score this study never stored
                continue
            model = fit(gain, target)
            if model is not None:
                fitted.append(model)
    return fitted
