"""The report's first two sections: the answer in words, then the statistics behind it
(and their CSVs: statistics.csv, factor_model.csv, factor_effects.csv, test_flags.csv,
and the critical-difference diagram)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from gan_oversampling.report import (
    answer,
    comparisons,
    factor_model,
    grid,
    plots,
    scores,
    statistics,
    tables,
)
from gan_oversampling.report.document import Image, Section, Table

OVERALL_COLUMNS = {
    "generator": "generator", "comparator": "against", "score": "score",
    "n_tests": "tests", "mean_difference": "mean difference", "ci_low": "95% CI low",
    "ci_high": "95% CI high", "p_holm": "Wilcoxon p (Holm)", "rank_biserial": "rank-biserial",
    "p_better": "P(better)", "p_equivalent": "P(equivalent)", "p_worse": "P(worse)",
    "tests_win": "tests won", "tests_tie": "tests tied", "tests_loss": "tests lost",
    "tests_undecided": "tests undecided",
}
LEVEL_COLUMNS = {"factor": "factor", "level": "level", **{
    key: value for key, value in OVERALL_COLUMNS.items()
    if key not in ("generator", "score", "tests_win", "tests_tie", "tests_loss",
                   "tests_undecided")}}


def statistics_sections(frame: pd.DataFrame, spec: dict, folder: Path) -> list:
    """[The answer, Statistics] for the study's scores `frame` and stored `spec`."""
    settings = statistics.settings_of(spec)
    used, flags = comparisons.analysed_frame(frame, settings)
    primary, missing = _primary(used, settings)
    if missing:
        settings = settings.model_copy(update={"primary_metric": primary.name})
    flags.to_csv(folder / "test_flags.csv", index=False)
    stats = comparisons.statistics_table(used, settings)
    stats.to_csv(folder / "statistics.csv", index=False)
    best = comparisons.best_ranked_classic(used, primary)
    alternative = comparisons.best_ranked(used, "alternative", primary)
    chosen = [*tables.methods_of_kind(used, "baseline"),
              *(method for method in (best, alternative) if method)]
    targets = {generator: chosen for generator in tables.methods_of_kind(used, "generative")}
    models = factor_model.models(used, targets, primary)
    _model_csvs(models, folder)
    context = _context(used, flags, settings, primary)
    words = answer.answer_paragraphs(stats, models, best, context, alternative)
    blocks = [*missing, _method_note(settings, context, best, alternative),
              *_alias_note(used), *_overall_blocks(stats), *_level_blocks(stats, chosen, primary),
              *grid.grid_blocks(used, targets, scores.compared_scores(primary), primary,
                                settings),
              *_friedman_blocks(used, folder, primary), *_model_blocks(models, primary),
              *_flag_blocks(flags, settings)]
    return [Section("The answer", words), Section("Statistics", blocks)]


def _primary(used: pd.DataFrame, settings) -> tuple[scores.Score, list[str]]:
    """The study's primary score, or minority F1 with a note when the results hold none
    of it (stored before fold-level scores were)."""
    primary = scores.PRIMARY_CHOICES[settings.primary_metric]
    if scores.stored(used, primary):
        return primary, []
    return scores.MINORITY_F1, [
        f"The study names {primary.label} as its primary metric, but its results hold no "
        f"{primary.label} (they were stored before it was computed): the statistics below "
        "compare minority F1."]


def _context(used: pd.DataFrame, flags: pd.DataFrame, settings,
             primary: scores.Score) -> answer.Context:
    flagged = flags[flags["flagged"]]
    return answer.Context(
        rope=settings.rope, n_tests=len(tables.complete_tests(used)), flagged=len(flagged),
        fewest_rows=int(flags["min_minority_rows"].min()) if len(flags) else 0,
        minimum=settings.min_minority_per_test_fold, excluded=settings.exclude_small_tests,
        primary=primary)


def _method_note(settings, context: answer.Context, best: str | None,
                 alternative: str | None) -> str:
    against = f"; the best-ranked classic oversampler is {best}" if best else ""
    if alternative:
        against += f", the best-ranked other method {alternative}"
    compared = ("minority and majority F1" if context.primary == scores.MINORITY_F1
                else context.primary.label)
    return (
        f"Every generator against the baseline, each classic oversampler and each other "
        f"method, on the {context.n_tests} complete tests{against}, by {compared} (the "
        "study's primary metric, setting statistics.primary_metric). Mean difference: "
        "generator minus the other, of the tests' fold-mean score, with a 95% percentile "
        "bootstrap interval "
        f"resampling tests ({settings.bootstrap_samples} resamples, seed {settings.seed}). "
        "Wilcoxon signed-rank test over tests (scipy), Holm-adjusted over the comparisons "
        "made on the same tests and score; rank-biserial: matched-pairs effect size, +1 "
        "when every test favours the generator. P(better), P(equivalent), P(worse): the "
        "correlated Bayesian t-test for cross-validation (Benavoli et al. 2017, baycomp) on "
        "each test's paired folds, with a region of practical equivalence of "
        f"±{settings.rope:g} (setting statistics.rope), combined over tests as the "
        "posterior of their mean; a test is won, tied or lost when its own posterior gives "
        f"that outcome a probability of at least {statistics.DECISION}, else undecided. "
        "All rows, every factor level included: statistics.csv."
    )


def _alias_note(used: pd.DataFrame) -> list[str]:
    found = comparisons.aliases(used)
    return [f"{factor} has no rows of its own: it splits the tests exactly as {earlier} does."
            for factor, earlier in found.items()]


def _overall_blocks(stats: pd.DataFrame) -> list:
    if stats.empty:
        return ["No generative method and comparator share complete tests: no statistics."]
    overall = stats[stats["factor"] == comparisons.ALL]
    return [Table("Generators against the other methods, all tests",
                  _renamed(overall, OVERALL_COLUMNS), 4)]


def _level_blocks(stats: pd.DataFrame, chosen: list[str], primary: scores.Score) -> list:
    if stats.empty:
        return []
    blocks = []
    levels = stats[(stats["factor"] != comparisons.ALL) & (stats["score"] == primary.label)]
    for (generator, comparator), rows in levels.groupby(["generator", "comparator"],
                                                        sort=False):
        if comparator not in chosen:
            continue
        rows = rows.assign(level=rows["level"].map(tables.level_text))
        blocks.append(Table(f"{answer.name(generator)} against {comparator} by factor level "
                            f"({primary.label})", _renamed(rows, LEVEL_COLUMNS), 4))
    return blocks


def _friedman_blocks(used: pd.DataFrame, folder: Path, primary: scores.Score) -> list:
    if not tables.complete_tests(used):
        return []
    by_test = tables.score_by_test(used, primary)
    result = statistics.friedman_nemenyi(by_test)
    if result is None:
        return []
    path = plots.cd_diagram(result.average_ranks, result.posthoc, folder / "cd_diagram.png",
                            f"Average rank by {primary.label} (1 = best)")
    ranks = result.average_ranks.rename("average rank").rename_axis("method").reset_index()
    return [
        f"Across all methods ({primary.label}, {len(by_test.dropna())} tests): Friedman "
        f"chi-square {result.statistic:.2f}, {answer.p_text(result.p_value)}. Nemenyi's "
        "post-hoc test (scikit-posthocs) joins, in the critical-difference diagram, the "
        "methods it cannot tell apart at the 0.05 level.",
        Image(path.name, "critical-difference diagram of the methods"),
        Table(f"Average rank by {primary.label}", ranks, 3),
        Table("Nemenyi post-hoc p-values", result.posthoc, 4, index=True),
    ]


def _model_blocks(models: list, primary: scores.Score) -> list:
    blocks = []
    for model in models:
        left_out = (" Left out: " + ", ".join(model.left_out) + ".") if model.left_out else ""
        blocks.append(
            f"Factor model of the {primary.label} gain {model.target} ({model.kind}, "
            f"{model.n_tests} tests, {model.residual_df:.0f} residual degrees of freedom; "
            f"every factor categorical, against its first level).{left_out}")
        effects = model.effects.drop(columns=["target"])
        blocks.append(Table(f"Factors of {model.target}: joint test and spread of the level "
                            "effects (highest level minus lowest, 95% CI)", effects, 4))
        coefficients = model.coefficients.drop(columns=["target", "factor", "level"])
        blocks.append(Table(f"Coefficients of {model.target} (95% CI)", coefficients, 4))
    return blocks


def _flag_blocks(flags: pd.DataFrame, settings) -> list:
    flagged = flags[flags["flagged"]]
    treated = "left out of" if settings.exclude_small_tests else "kept in"
    text = (f"{len(flagged)} of {len(flags)} tests have a test fold with fewer than "
            f"{settings.min_minority_per_test_fold} minority rows (setting "
            f"statistics.min_minority_per_test_fold); they are {treated} the statistics "
            "above (statistics.exclude_small_tests) and kept in the tables below.")
    if flagged.empty:
        return [text]
    return [text, Table("Tests with few minority rows per test fold",
                        flagged.drop(columns=["flagged"]))]


def _model_csvs(models: list, folder: Path) -> None:
    coefficients = [model.coefficients.assign(model=model.kind) for model in models]
    effects = [model.effects for model in models]
    (pd.concat(coefficients, ignore_index=True) if coefficients else pd.DataFrame()).to_csv(
        folder / "factor_model.csv", index=False)
    (pd.concat(effects, ignore_index=True) if effects else pd.DataFrame()).to_csv(
        folder / "factor_effects.csv", index=False)


def _renamed(rows: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    return rows[list(columns)].rename(columns=columns).reset_index(drop=True)
