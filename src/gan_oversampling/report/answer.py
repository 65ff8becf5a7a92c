"""The answer in words, built from the computed statistics and nothing else.

Every number in a sentence comes from a row of `comparisons.statistics_table`, a fitted
`factor_model.FactorModel` or the method summary; which verb a sentence uses follows the
posterior probabilities (the same DECISION level as the per-test verdicts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gan_oversampling.report.scores import MINORITY_F1, Score
from gan_oversampling.report.statistics import DECISION
from gan_oversampling.report.tables import signed
from gan_oversampling.samplers.registry import BASELINE

FEW_TESTS = 10  # below this, say that the intervals and tests have little power
WILCOXON_FLOOR = 6  # the two-sided exact Wilcoxon test cannot reach p < 0.05 on fewer pairs


@dataclass
class Context:
    """What the words need besides the statistics table."""

    rope: float
    n_tests: int  # tests the statistics use
    flagged: int  # tests with a test fold below the minority-row minimum
    fewest_rows: int  # the fewest minority rows in any test fold
    minimum: int  # that minimum (a setting)
    excluded: bool  # whether flagged tests are left out of the statistics
    primary: Score = MINORITY_F1  # the score the statistics compare methods on


# -- number formats ---------------------------------------------------------------------------
def probability(value: float) -> str:
    if np.isnan(value):
        return "n/a"
    if value > 0.995:
        return "> 0.99"
    if value < 0.005:
        return "< 0.01"
    return f"{value:.2f}"


def p_text(value: float) -> str:
    if np.isnan(value):
        return "p n/a"
    return "p < 0.001" if value < 0.001 else f"p = {value:.3f}"


def interval(low: float, high: float) -> str:
    if np.isnan(low):
        return "95% CI n/a"
    return f"95% CI [{signed(low)}, {signed(high)}]"


def name(method: str) -> str:
    """Generators are named by acronyms (CGAN, CTGAN, also in a combination such as
    CGAN+threshold), the others as stored; the baseline says what it is, for sentences
    such as "CGAN beats none (no oversampling)"."""
    if method == BASELINE:
        return f"{BASELINE} (no oversampling)"
    first, plus, rest = method.partition("+")
    first = {"tab-ddpm": "TabDDPM"}.get(first, first)  # not an acronym: its authors' spelling
    return (first.upper() if first in ("cgan", "ctgan", "wgan-gp") else first) + plus + rest


# -- sentences --------------------------------------------------------------------------------
def verdict_phrase(row) -> str:
    if row.p_better >= DECISION:
        return "beats"
    if row.p_worse >= DECISION:
        return "loses to"
    if row.p_equivalent >= DECISION:
        return "is practically equivalent to"
    return "has no clear verdict against"


def comparison_sentence(row, rope: float, first: bool = True) -> str:
    """One comparison on one class over all tests: posterior probabilities, then the mean
    difference with its bootstrap interval, then Wilcoxon and the effect size. `first`:
    the paragraph's first sentence, which names the tests and the generator."""
    opening = (f"On these {row.n_tests} tests {name(row.generator)} {verdict_phrase(row)} "
               f"{name(row.comparator)} on {row.score}" if first else
               f"On {row.score} it {verdict_phrase(row)} {name(row.comparator)}")
    return (
        f"{opening}: it is better with probability "
        f"{probability(row.p_better)}, equivalent (within ±{rope:g}) with probability "
        f"{probability(row.p_equivalent)} and worse with probability "
        f"{probability(row.p_worse)}; mean difference {signed(row.mean_difference)} "
        f"({interval(row.ci_low, row.ci_high)}); Wilcoxon signed-rank {p_text(row.p_holm)} "
        f"(Holm), rank-biserial r = {signed(row.rank_biserial)}."
    )


def where_sentence(levels: pd.DataFrame) -> str | None:
    """The factor levels with the largest and the smallest mean difference (one comparison,
    one class), each with its interval; None without levels."""
    levels = levels.dropna(subset=["mean_difference"])
    if levels.empty:
        return None
    ordered = levels.sort_values("mean_difference", ascending=False, kind="stable")
    most, least = ordered.iloc[0], ordered.iloc[-1]
    opponent = name(most["comparator"])
    return (
        f"Against {opponent} it does best at {_level(most)} ({signed(most['mean_difference'])}, "
        f"{interval(most['ci_low'], most['ci_high'])}, {most['n_tests']} tests) and worst at "
        f"{_level(least)} ({signed(least['mean_difference'])}, "
        f"{interval(least['ci_low'], least['ci_high'])}, {least['n_tests']} tests)."
    )


def _level(row) -> str:
    level = row["level"]
    if isinstance(level, float) and level.is_integer():
        level = int(level)
    return f"{row['factor']} = {level}"


def factor_sentence(model) -> str:
    """Which factor moves the gain most in the factor model, with its interval and test."""
    where = f"the factor model ({model.kind}, {model.n_tests} tests)"
    significant = model.effects[model.effects["p_value"] < 0.05]
    if significant.empty:
        smallest = model.effects.sort_values("p_value").iloc[0]
        return (f"For {model.target}, {where} finds no factor that moves the gain beyond "
                f"chance (smallest joint-test {p_text(smallest['p_value'])}, "
                f"for {smallest['factor']}).")
    top = significant.iloc[0]  # effects are sorted by spread, largest first
    return (
        f"For {model.target}, {where} puts {top['factor']} first: the gain is "
        f"{top['spread']:.3f} higher at {top['factor']} = {top['best_level']} than at "
        f"{top['worst_level']} ({interval(top['spread_ci_low'], top['spread_ci_high'])}; "
        f"joint test of the factor {p_text(top['p_value'])})."
    )


def rank_mean_sentence(summary: pd.DataFrame, by_test: pd.DataFrame,
                       score: Score = MINORITY_F1) -> str | None:
    """One sentence when the order by average rank and the order by mean `score`
    disagree: at the first place where they differ, the two methods head to head.

    `summary`: `tables.method_summary` (labels); `by_test`: the score per test with the
    same labels as columns.
    """
    mean = "minority_f1" if score == MINORITY_F1 else score.column
    by_rank = list(summary["method"])
    by_mean = list(summary.sort_values(mean, ascending=False, kind="stable")["method"])
    place = next((i for i, (a, b) in enumerate(zip(by_rank, by_mean, strict=True)) if a != b),
                 None)
    if place is None:
        return None
    ranked, meaned = by_rank[place], by_mean[place]
    row = summary.set_index("method")
    difference = by_test[ranked] - by_test[meaned]
    ahead, behind = difference[difference > 0], difference[difference < 0]
    return (
        f"{name(ranked)} ranks ahead of {name(meaned)} (average rank "
        f"{row.loc[ranked, 'average_rank']:.2f} vs {row.loc[meaned, 'average_rank']:.2f}) yet "
        f"has the lower mean {score.label} ({row.loc[ranked, mean]:.3f} vs "
        f"{row.loc[meaned, mean]:.3f}) because ranks count only each test's order "
        f"among all methods while the mean counts sizes: head to head it is ahead on "
        f"{len(ahead)} of {len(difference)} tests, by {_mean(ahead):.3f} on average, and "
        f"behind on {len(behind)}, by {_mean(-behind):.3f} on average."
    )


def _mean(values: pd.Series) -> float:
    return float(values.mean()) if len(values) else 0.0


# -- what cannot be concluded -----------------------------------------------------------------
def caveats(overall: pd.DataFrame, models: list, context: Context) -> list[str]:
    """The limits of the answer, each from a number: few tests, intervals across zero,
    equivalence not excluded, flagged tests, a thin factor model; and the scope."""
    found = []
    if context.n_tests < FEW_TESTS:
        found.append(f"only {context.n_tests} tests: the bootstrap intervals understate the "
                      "uncertainty at this size and the tests have little power")
    if context.n_tests < WILCOXON_FLOOR:
        found.append(f"with fewer than {WILCOXON_FLOOR} tests the Wilcoxon test cannot reach "
                      "p < 0.05 at all")
    primary = overall[overall["score"] == context.primary.label]
    for row in primary.itertuples():
        opponent = f"{name(row.generator)} against {name(row.comparator)}"
        if row.ci_low <= 0 <= row.ci_high:
            found.append(f"the interval of {opponent} ({context.primary.label}) includes "
                         "zero, so the "
                         "direction is not established beyond these tests")
        if 1 - DECISION <= row.p_equivalent < DECISION:
            found.append(f"a practically equivalent result for {opponent} (within "
                         f"±{context.rope:g}) is not excluded (probability "
                         f"{probability(row.p_equivalent)})")
    found += [f"the factor model of {m.target} rests on {m.residual_df:.0f} residual "
              "degree(s) of freedom" for m in models if m.residual_df < 5]
    if context.flagged:
        treated = ("left out of these statistics" if context.excluded
                   else "kept in these statistics (set statistics.exclude_small_tests to "
                        "leave them out)")
        found.append(f"{context.flagged} tests have a test fold with fewer than "
                      f"{context.minimum} minority rows (as few as {context.fewest_rows}), "
                      f"where one prediction moves F1 a lot; they are {treated}")
    return found


SCOPE = (
    "The probabilities are about the mean over these tests (each test's folds through the "
    "correlated Bayesian t-test); the bootstrap intervals and the Wilcoxon tests treat the "
    "tests as a sample and speak, loosely, for other data at these factor levels; nothing "
    "here speaks for levels the study did not run."
)


def answer_paragraphs(stats: pd.DataFrame, models: list, best_classic: str | None,
                      context: Context, best_alternative: str | None = None) -> list[str]:
    """The answer: per generator, against the baseline, the best-ranked classic
    oversampler and the best-ranked other method (a tuned threshold, class weights, ...;
    when the study has any), on the primary score (minority then majority F1 by default),
    where it gains most and least, which factor the model puts first; then what cannot
    be concluded."""
    if stats.empty:
        return ["No generative method was compared with another method on complete tests, "
                "so there is no answer to give."]
    overall = stats[stats["factor"] == "all"]
    paragraphs = []
    chosen = [BASELINE, best_classic, best_alternative]
    for (generator, comparator), rows in overall.groupby(["generator", "comparator"],
                                                         sort=False):
        if comparator not in chosen:
            continue
        sentences = [comparison_sentence(row, context.rope, first=index == 0)
                     for index, row in enumerate(rows.itertuples())]
        levels = stats[(stats["generator"] == generator) & (stats["comparator"] == comparator)
                       & (stats["score"] == context.primary.label) & (stats["factor"] != "all")]
        sentences.append(where_sentence(levels))
        target = f"{generator} - {comparator}"
        sentences += [factor_sentence(m) for m in models if m.target == target]
        paragraphs.append(" ".join(s for s in sentences if s))
    limits = caveats(overall[overall["comparator"].isin(chosen)], models, context)
    if limits:
        paragraphs.append("What these numbers cannot say: " + "; ".join(limits) + ".")
    paragraphs.append(SCOPE)
    return paragraphs
