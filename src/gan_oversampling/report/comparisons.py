"""Every generator against the baseline and each classic oversampler: the statistics of
`report/statistics.py` per class, over all tests and over the tests at each factor level.

A test is the unit of pairing: per test, the fold scores of two methods are paired by
fold (the same test folds serve every method); over tests, their fold means are paired.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gan_oversampling.report import statistics, tables
from gan_oversampling.report.scores import MINORITY_F1, PRIMARY_CHOICES, Score, compared_scores
from gan_oversampling.report.statistics import REPEAT, Settings

ALL = "all"  # the `factor` of the rows over every test


# -- which tests ------------------------------------------------------------------------------
def small_tests(frame: pd.DataFrame, minimum: int) -> pd.DataFrame:
    """Per test: the fewest minority rows in any of its test folds, and whether that is
    below `minimum` (flagged: an F1 on 2 rows moves by 0.5 with one prediction)."""
    minority = frame[frame["class_role"] == "minority"]
    fewest = minority.groupby("test_key", sort=False)["support"].min()
    return pd.DataFrame({"test_key": fewest.index, "min_minority_rows": fewest.to_numpy(),
                         "flagged": (fewest < minimum).to_numpy()})


def analysed_frame(frame: pd.DataFrame, settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows the statistics use (flagged tests left out when the settings say so) and
    the flags of every test."""
    flags = small_tests(frame, settings.min_minority_per_test_fold)
    if not settings.exclude_small_tests:
        return frame, flags
    kept = flags.loc[~flags["flagged"], "test_key"]
    return frame[frame["test_key"].isin(kept)], flags


def pairs(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """(generator, comparator): each generative method against the baseline, each classic
    oversampler and each alternative (undersampling, class weights, ...) of the study."""
    comparators = [*tables.methods_of_kind(frame, "baseline"),
                   *tables.methods_of_kind(frame, "classic"),
                   *tables.methods_of_kind(frame, "alternative")]
    return [(generator, comparator) for generator in tables.methods_of_kind(frame, "generative")
            for comparator in comparators]


def best_ranked(frame: pd.DataFrame, kind: str = "classic",
                score: Score = MINORITY_F1) -> str | None:
    """The method of `kind` with the best average rank by `score` (ties: higher mean)."""
    candidates = tables.methods_of_kind(frame, kind)
    if not candidates or not tables.complete_tests(frame):
        return None
    summary = tables.method_summary(frame, score)
    summary = summary[summary["method"].isin(candidates)]
    mean = "minority_f1" if score == MINORITY_F1 else score.column
    best = summary.sort_values(["average_rank", mean], ascending=[True, False])
    return str(best["method"].iloc[0])


def best_ranked_classic(frame: pd.DataFrame, score: Score = MINORITY_F1) -> str | None:
    """The classic oversampler with the best average rank by `score` (ties: higher mean)."""
    return best_ranked(frame, "classic", score)


def subsets(frame: pd.DataFrame) -> list[tuple[str, object, list[str]]]:
    """(factor, level, tests): every complete test, then those at each level of each
    factor that takes two levels or more and is not an alias (see `aliases`)."""
    tests = tables.complete_tests(frame)
    found = [(ALL, "", tests)]
    levels_of = frame.drop_duplicates("test_key").set_index("test_key").loc[tests]
    aliased = aliases(frame)
    for factor in _factors(frame):
        levels = tables.factor_levels(levels_of, factor)
        if len(levels) < 2 or factor in aliased:
            continue
        for level in levels:
            found.append((factor, level, list(levels_of.index[levels_of[factor] == level])))
    return found


def _factors(frame: pd.DataFrame) -> list[str]:
    return [factor for factor in tables.factor_columns(frame) if factor != REPEAT]


def aliases(frame: pd.DataFrame) -> dict[str, str]:
    """Factors that split the tests exactly as an earlier factor does (MNIST's `features`
    is `side` squared): factor -> that earlier factor. Their levels would repeat the same
    statistics under another name."""
    tests = frame.drop_duplicates("test_key")
    seen: dict[tuple, str] = {}
    found = {}
    for factor in _factors(frame):
        # The partition, whatever the level names: codes numbered in first-seen order.
        partition = tuple(pd.factorize(tests[factor])[0])
        if partition in seen:
            found[factor] = seen[partition]
        else:
            seen[partition] = factor
    return found


# -- the statistics table ---------------------------------------------------------------------
def fold_scores(frame: pd.DataFrame, score: Score = MINORITY_F1) -> pd.DataFrame:
    """`score` per (test, [repeat,] fold), one column per method, complete tests only.
    With repeated cross-validation a test's K x R folds all stay with the test."""
    keys = ["test_key", *([REPEAT] if REPEAT in frame.columns else []), "fold"]
    rows = frame[(frame["class_role"] == score.role)
                 & frame["test_key"].isin(tables.complete_tests(frame))]
    return rows.pivot_table(index=keys, columns="method", values=score.column, aggfunc="first",
                            sort=False)


def statistics_table(frame: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """One row per (generator, comparator, score, factor, level), see `_subset_row`, on
    the scores the settings' primary metric names (`scores.compared_scores`).

    Holm's adjustment runs over the pairs compared on the same tests and score (one
    family per score and subset of tests).
    """
    rows = []
    for score in compared_scores(PRIMARY_CHOICES[settings.primary_metric]):
        scores = fold_scores(frame, score)
        if scores.empty:
            continue
        for generator, comparator in pairs(frame):
            if {generator, comparator} <= set(scores.columns):  # a score never stored: none
                rows += _pair_rows(scores, frame, generator, comparator, score, settings)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    family = table.groupby(["score", "factor", "level"], sort=False)["p_value"]
    table.insert(table.columns.get_loc("p_value") + 1, "p_holm",
                 family.transform(lambda p: statistics.holm(p.to_numpy())))
    return table


def _pair_rows(scores, frame, generator, comparator, score, settings) -> list[dict]:
    inner = [name for name in scores.index.names if name != "test_key"]
    first = scores[comparator].unstack(inner)
    second = scores[generator].unstack(inner).reindex(index=first.index, columns=first.columns)
    # baycomp's `runs`: the number of cross-validation repeats (Nadeau-Bengio's rho = 1/K).
    runs = scores.index.get_level_values(REPEAT).nunique() if REPEAT in inner else 1
    folds = [(a[~np.isnan(a)], b[~np.isnan(b)])
             for a, b in zip(first.to_numpy(), second.to_numpy(), strict=True)]
    posteriors = [statistics.correlated_posterior(a, b, runs) for a, b in folds]
    per_test = [statistics.rope_probabilities(a, b, settings.rope, runs) for a, b in folds]
    draws = statistics.posterior_draws(posteriors, settings.bootstrap_samples, settings.seed)
    row_of = {key: index for index, key in enumerate(first.index)}
    first_means, second_means = first.mean(axis=1), second.mean(axis=1)
    rows = []
    for factor, level, tests in subsets(frame):
        indices = [row_of[key] for key in tests if key in row_of]
        if not indices:
            continue
        rows.append({
            "generator": generator, "comparator": comparator,
            "score": score.label, "class_role": score.class_role, "factor": factor,
            "level": level,
            **_subset_row(first_means.iloc[indices], second_means.iloc[indices],
                          draws[indices], [per_test[i] for i in indices], settings),
        })
    return rows


def _subset_row(first: pd.Series, second: pd.Series, draws: np.ndarray, per_test: list,
                settings: Settings) -> dict:
    """n_tests; the mean fold-mean score of each method and their difference (generator minus
    comparator) with its bootstrap interval over tests; Wilcoxon's statistic and p-value
    and the rank-biserial effect size over the tests' fold-mean differences; the
    posterior probabilities that the mean difference over these tests is below -rope,
    within +-rope, above +rope; per test, how many tests each verdict got."""
    difference = (second - first).to_numpy()
    low, high = statistics.bootstrap_interval(difference, settings.bootstrap_samples,
                                              settings.seed)
    statistic, p_value = statistics.wilcoxon(difference)
    worse, equivalent, better = statistics.mean_rope_probabilities(draws, settings.rope)
    verdicts = [statistics.verdict(*probabilities) for probabilities in per_test]
    return {
        "n_tests": len(difference), "mean_generator": second.mean(),
        "mean_comparator": first.mean(), "mean_difference": difference.mean(),
        "ci_low": low, "ci_high": high, "wilcoxon_statistic": statistic, "p_value": p_value,
        "rank_biserial": statistics.rank_biserial(difference),
        "p_better": better, "p_equivalent": equivalent, "p_worse": worse,
        **{f"tests_{name}": verdicts.count(name) for name in statistics.VERDICTS},
    }


# -- intervals of means -----------------------------------------------------------------------
def mean_interval(frame: pd.DataFrame, method: str, role: str, settings: Settings,
                  tests: list[str] | None = None, means: pd.DataFrame | None = None
                  ) -> tuple[float, float, float]:
    """(mean, low, high): a method's mean fold-mean F1 over the complete tests (or those of
    them in `tests`) and its 95% bootstrap interval, resampling tests. `means`:
    `tables.fold_means(frame)`, when the caller has it already."""
    means = tables.fold_means(frame) if means is None else means
    complete = set(tables.complete_tests(frame))
    tests = [key for key in (complete if tests is None else tests) if key in complete]
    rows = means[(means["method"] == method) & (means["class_role"] == role)
                 & means["test_key"].isin(tests)]
    low, high = statistics.bootstrap_interval(rows["f1"], settings.bootstrap_samples,
                                              settings.seed)
    return float(rows["f1"].mean()), low, high


def factor_intervals(frame: pd.DataFrame, factor: str, settings: Settings) -> pd.DataFrame:
    """`tables.factor_table` plus ci_low and ci_high: the 95% bootstrap interval over the
    tests at each level (for error bars)."""
    table = tables.factor_table(frame, factor)
    means = tables.fold_means(frame)
    level_of = frame.drop_duplicates("test_key").set_index("test_key")[factor]
    bounds = [mean_interval(frame, row.method, row.class_role, settings,
                            list(level_of.index[level_of == row.level]), means)[1:]
              for row in table.itertuples()]
    table["ci_low"] = [low for low, _ in bounds]
    table["ci_high"] = [high for _, high in bounds]
    return table
