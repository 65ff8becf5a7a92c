"""The report's section on data complexity: each generator's minority-F1 gain over the
baseline set against each measure stored for the tests (study/measures.py), and the
measure that ranks the tests by that gain best.

Spearman's rank correlation (scipy) over tests, with a 95% interval from Fisher's z
transform with Bonett and Wright's (2000) standard error for a rank correlation,
sqrt((1 + rho^2 / 2) / (n - 3)), and Holm-adjusted p-values over the measures. Ranks,
because a measure need not be linear in the gain; one value per test, so folds never pose
as tests. Files: complexity.csv (per test: the measures and the gains),
complexity_correlations.csv and one scatter plot per generator.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from gan_oversampling.difficulty.complexity import FAMILY_OF, MEASURES
from gan_oversampling.report import comparisons, factor_model, plots, statistics, tables
from gan_oversampling.report.document import Image, Section, Table
from gan_oversampling.report.statistics import CONFIDENCE
from gan_oversampling.samplers.registry import BASELINE

MIN_TESTS = 4  # Fisher's z interval needs n - 3 >= 1

CAVEATS = (
    "What these plots do not show: a correlation over tests is not a cause. The measures "
    "move with the factors that made the tests (C1 and C2 are the imbalance ratio under "
    "another name; the neighbourhood measures grow as N falls and overlap rises), so a "
    "measure can stand in for a factor. They are computed once on each whole test dataset, "
    "not on the training folds a generator sees. The best measure is picked after looking "
    "at all of them, so its correlation overstates how well it would rank new tests; the "
    "Holm-adjusted p-values allow for the number of measures, the intervals do not."
)


def complexity_sections(study, folder: Path) -> list:
    """[Data complexity] when the study stored measures; [] otherwise."""
    measures = measure_table(study.store.complexity_frame(study.name))
    if measures.empty:
        return []
    used, _ = comparisons.analysed_frame(study.frame, statistics.settings_of(study.spec))
    generators = tables.methods_of_kind(used, "generative") if BASELINE in set(
        used["method"]) else []
    gains = {generator: gains_by_test(used, generator) for generator in generators}
    per_test = measures.join(pd.DataFrame({f"gain_{g}": gain for g, gain in gains.items()}))
    per_test.rename_axis("test_key").to_csv(folder / "complexity.csv")
    blocks: list = [
        f"{len(measures)} tests measured ({', '.join(measures.columns)}; larger is harder "
        "for every measure). Their means over the tests at each level of each factor (on "
        "MNIST the rotation reads as overlap here):",
        Table("Data complexity measures, mean over the tests at each factor level",
              by_factor_level(measures, study.frame), 3)]
    correlations = []
    for generator, gain in gains.items():
        table = correlation_table(measures, gain)
        table.insert(0, "generator", generator)
        correlations.append(table)
        name = generator.upper()
        path = plots.gain_scatter(measures, gain, table, folder / f"complexity_{generator}.png",
                                  f"{name} minority-F1 gain over the baseline")
        blocks += [best_measure_sentence(table, name),
                   Image(path.name, f"{name} gain against each measure"),
                   Table(f"{name} minority-F1 gain against each measure (Spearman)",
                         table.drop(columns="generator"), 3)]
    if correlations:
        pd.concat(correlations).to_csv(folder / "complexity_correlations.csv", index=False)
        blocks.append(CAVEATS)
    else:
        blocks.append("No generator and baseline pair in this study: no gain to set "
                      "against the measures.")
    return [Section("Data complexity", blocks)]


def measure_table(stored: pd.DataFrame) -> pd.DataFrame:
    """Tests x measures (NaN: not computable), measures in their family order."""
    if stored.empty:
        return pd.DataFrame()
    wide = stored.pivot_table(index="test_key", columns="measure", values="value",
                              aggfunc="first", sort=False, dropna=False)
    return wide[[name for name in MEASURES if name in wide.columns]]


def by_factor_level(measures: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """factor, level, tests, then each measure's mean over the measured tests at that level;
    first a row over all tests. Factors with a single level are left out."""
    factors = [f for f in tables.factor_columns(frame) if frame[f].nunique() > 1]
    levels = frame.drop_duplicates("test_key").set_index("test_key")[factors]
    joined = measures.join(levels, how="inner")
    rows = [{"factor": "all", "level": "", "tests": len(measures), **measures.mean()}]
    for factor in factors:
        for level, group in joined.groupby(factor, sort=True):
            rows.append({"factor": factor, "level": tables.level_text(level),
                         "tests": len(group), **group[measures.columns].mean()})
    return pd.DataFrame(rows)


def gains_by_test(frame: pd.DataFrame, generator: str) -> pd.Series:
    """Per complete test: the generator's fold-mean minority F1 minus the baseline's
    (averaged over repeats, when repeated)."""
    gain = factor_model.gains(frame, generator, BASELINE)
    return gain.groupby("test_key", sort=False)["gain"].mean()


def correlation_table(measures: pd.DataFrame, gain: pd.Series) -> pd.DataFrame:
    """Per measure: family, tests, Spearman rho, its 95% interval, p and Holm's p."""
    rows = []
    for measure in measures.columns:
        paired = pd.concat([measures[measure], gain], axis=1, join="inner").dropna()
        rho, low, high, p_value = spearman_interval(paired.iloc[:, 0], paired.iloc[:, 1])
        rows.append({"measure": measure, "family": FAMILY_OF.get(measure, ""),
                     "n_tests": len(paired), "spearman_rho": rho, "ci_low": low,
                     "ci_high": high, "p_value": p_value})
    table = pd.DataFrame(rows)
    table["p_holm"] = statistics.holm(table["p_value"].to_numpy())
    return table


def spearman_interval(x, y) -> tuple[float, float, float, float]:
    """Spearman's rho, its 95% interval (Fisher z, Bonett-Wright standard error) and p;
    NaN where a side is constant or fewer than MIN_TESTS pairs."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    nan = float("nan")
    if len(x) < MIN_TESTS or np.ptp(x) == 0 or np.ptp(y) == 0:
        return nan, nan, nan, nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # p of a perfect rank correlation
        result = stats.spearmanr(x, y)
    rho = float(result.statistic)
    spread = stats.norm.ppf(0.5 + CONFIDENCE / 2) * np.sqrt((1 + rho**2 / 2) / (len(x) - 3))
    with np.errstate(divide="ignore"):
        centre = np.arctanh(rho)  # infinite for rho = +-1, whose interval is the point
    low, high = np.tanh(centre - spread), np.tanh(centre + spread)
    return rho, float(low), float(high), float(result.pvalue)


def best_measure_sentence(table: pd.DataFrame, name: str) -> str:
    """Which measure ranks the tests by the gain best, in words."""
    usable = table.dropna(subset=["spearman_rho"])
    if usable.empty:
        return (f"No measure could be set against {name}'s gain: it needs {MIN_TESTS} tests "
                "or more on which both vary.")
    best = usable.loc[usable["spearman_rho"].abs().idxmax()]
    rho, low, high = best["spearman_rho"], best["ci_low"], best["ci_high"]
    direction = "the harder, the larger" if rho > 0 else "the harder, the smaller"
    verdict = ("its interval excludes zero" if low > 0 or high < 0 else
               "its interval includes zero: no measure ranks the gain clearly on these tests")
    return (f"Of {len(usable)} measures, {best['measure']} ({best['family']}) ranks the tests "
            f"by {name}'s minority-F1 gain over the baseline best: Spearman rho = {rho:+.2f} "
            f"(95% interval {low:+.2f} to {high:+.2f}, {int(best['n_tests'])} tests; "
            f"{direction} the gain); {verdict} (Holm-adjusted p = {best['p_holm']:.3g}).")
