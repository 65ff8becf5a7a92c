"""The study's numbers as tables: pure pandas, computed from `ResultsStore.scores_frame`.

Every F1 follows the protocol: per-class F1 per fold, the arithmetic mean of the folds,
then the mean over tests.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from gan_oversampling.report import statistics
from gan_oversampling.report.published import (
    PUBLISHED_MNIST_F1,
    PUBLISHED_MNIST_TESTS,
    PUBLISHED_SOURCE,
)
from gan_oversampling.report.scores import MINORITY_F1, Score
from gan_oversampling.samplers.registry import BASELINE, method_kind
from gan_oversampling.study.fold_table import FOLD_METRICS

METRICS = ["precision", "recall", "f1"]
ROLES = ["majority", "minority"]
CLASSIFIER = "classifier"

# Columns of a scores frame that are not difficulty factors.
BASE_COLUMNS = {
    "study", "test_key", "method", "source", "seed", "iterations", CLASSIFIER, "cv",
    "fit_seconds", "eval_seconds", "versions", "finished_at", "fold", "class_label",
    "class_role", "precision", "recall", "f1", "support", *FOLD_METRICS,
}


def signed(value: float) -> str:
    """A difference as +0.123; one that rounds to zero is +0.000, never -0.000."""
    return "n/a" if np.isnan(value) else f"{round(float(value), 3) + 0.0:+.3f}"


def factor_columns(frame: pd.DataFrame) -> list[str]:
    """The difficulty factors of the study, in the order the store gives them (the repeat
    numbering a test's draws is not one), then the classifier when the study crosses
    several (each test is then run once per classifier)."""
    factors = [
        column for column in frame.columns
        if column not in BASE_COLUMNS and column != statistics.REPEAT
    ]
    return factors + ([CLASSIFIER] if crosses_classifiers(frame) else [])


def crosses_classifiers(frame: pd.DataFrame) -> bool:
    return CLASSIFIER in frame.columns and frame[CLASSIFIER].nunique() > 1


def unit_draw(frame: pd.DataFrame) -> list[str]:
    """The column telling a test's draws apart, when the study has repeats."""
    return [statistics.REPEAT] if statistics.REPEAT in frame.columns else []


def by_grid_point(frame: pd.DataFrame) -> pd.DataFrame:
    """Scores with every draw of a test under the test's key: a study with repeats stores
    draw r > 0 of test `k` as `k-r<r>` (with its `repeat`); the report treats a test's
    draws as one test measured R times."""
    if statistics.REPEAT not in frame.columns:
        return frame
    repeats = frame[statistics.REPEAT].astype(int)
    suffixes = np.where(repeats > 0, "-r" + repeats.astype(str), "")
    keys = [key.removesuffix(suffix) if suffix else key
            for key, suffix in zip(frame["test_key"], suffixes, strict=True)]
    return frame.assign(test_key=keys, **{statistics.REPEAT: repeats})


def method_order(frame: pd.DataFrame) -> list[str]:
    """Methods as stored (the names a study file gives them), the baseline ("none") first,
    the others in first-appearance order. Every table, CSV and plot names them so."""
    methods = list(dict.fromkeys(frame["method"]))
    return sorted(methods, key=lambda method: method != BASELINE)


def test_order(frame: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(frame["test_key"]))


def complete_tests(frame: pd.DataFrame) -> list[str]:
    """Tests that hold results for every method of the study (a fair, paired comparison)."""
    methods_per_test = frame.groupby("test_key", sort=False)["method"].nunique()
    n_methods = frame["method"].nunique()
    return [key for key, count in methods_per_test.items() if count == n_methods]


def fold_means(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean precision, recall and F1 (and the fold-level scores, where stored) over folds,
    one row per (test, method, class role)."""
    keys = ["test_key", "method", "class_role"]
    scores = METRICS + [name for name in FOLD_METRICS if name in frame.columns]
    means = frame.groupby(keys, sort=False)[scores].mean().reset_index()
    factors = factor_columns(frame)
    test_factors = frame.drop_duplicates("test_key")[["test_key", *factors]]
    return means.merge(test_factors, on="test_key", how="left")


def per_test_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per test: its factors, then `<method>_<role>_<metric>` fold means."""
    means = fold_means(frame)
    wide = means.pivot_table(
        index="test_key", columns=["method", "class_role"], values=METRICS, aggfunc="first"
    )
    columns = [
        (metric, method, role)
        for method in method_order(frame)
        for role in ROLES
        for metric in METRICS
        if (metric, method, role) in wide.columns
    ]
    wide = wide[columns]
    wide.columns = [f"{method}_{role}_{metric}" for metric, method, role in columns]
    factors = frame.drop_duplicates("test_key").set_index("test_key")[factor_columns(frame)]
    table = factors.join(wide).reindex(test_order(frame))
    return table.rename_axis("test_key").reset_index()


def _complete_means(frame: pd.DataFrame) -> pd.DataFrame:
    means = fold_means(frame)
    return means[means["test_key"].isin(complete_tests(frame))]


def headline_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean over tests of the fold-mean F1: rows majority/minority, one column per method.

    Only tests with results for every method count, so the methods are compared on the
    same tests; `n_tests` says how many.
    """
    means = _complete_means(frame)
    table = means.pivot_table(index="class_role", columns="method", values="f1", aggfunc="mean")
    methods = [method for method in method_order(frame) if method in table.columns]
    table = table.reindex(index=[role for role in ROLES if role in table.index], columns=methods)
    table["n_tests"] = means["test_key"].nunique()
    table.columns.name = None
    return table


def published_comparison(headline: pd.DataFrame, study_spec: dict,
                         frame: pd.DataFrame | None = None) -> pd.DataFrame | None:
    """This run's headline next to the published one (MNIST studies only).

    With the scores `frame`, each of our means gets its 95% bootstrap interval over tests
    (`<label>_ci_low`, `<label>_ci_high`) and `inside_<label>` says whether the published
    value lies in it. The note in `attrs["note"]` says how far the comparison holds.
    """
    if (study_spec.get("data") or {}).get("kind") != "mnist":
        return None
    labels = [label for label in PUBLISHED_MNIST_F1["minority"] if label in headline.columns]
    roles = [role for role in ROLES if role in headline.index]
    if not labels or not roles:
        return None
    table = pd.DataFrame(index=pd.Index(roles, name="class_role"))
    for label in labels:
        published = [PUBLISHED_MNIST_F1[role][label] for role in roles]
        table[label] = headline.loc[roles, label].to_numpy()
        table[f"published_{label}"] = published
        table[f"difference_{label}"] = table[label] - table[f"published_{label}"]
    if frame is not None:
        _add_intervals(table, frame, labels, statistics.settings_of(study_spec))
    table.attrs["note"] = _comparison_note(int(headline["n_tests"].iloc[0]), study_spec)
    return table


def _add_intervals(table: pd.DataFrame, frame: pd.DataFrame, labels: list[str],
                   settings) -> None:
    """Bootstrap intervals (resampling tests) of our means, and whether the published value
    lies inside: a difference from the published mean is only worth a word when it does not."""
    means = _complete_means(frame)
    for label in labels:
        bounds = [statistics.bootstrap_interval(
            means.loc[(means["method"] == label) & (means["class_role"] == role), "f1"],
            settings.bootstrap_samples, settings.seed) for role in table.index]
        table[f"{label}_ci_low"] = [low for low, _ in bounds]
        table[f"{label}_ci_high"] = [high for _, high in bounds]
        published = table[f"published_{label}"]
        table[f"inside_{label}"] = np.where(
            table[f"{label}_ci_low"].isna(), "n/a",
            np.where(published.between(table[f"{label}_ci_low"], table[f"{label}_ci_high"]),
                     "yes", "no"))


def _comparison_note(n_tests: int, study_spec: dict) -> str:
    note = (f"Published values: {PUBLISHED_SOURCE}, mean over {PUBLISHED_MNIST_TESTS} tests; "
            f"{BASELINE} is the classifier without oversampling, the paper's baseline.")
    if n_tests < PUBLISHED_MNIST_TESTS:
        note += (
            f" This study ran {n_tests} of the {PUBLISHED_MNIST_TESTS} tests,"
            " so the comparison is indicative only."
        )
    if study_spec.get("subset_of"):
        note += f" The study is a subset of the '{study_spec['subset_of']}' grid."
    return note


def factor_levels(frame: pd.DataFrame, factor: str) -> list:
    """The levels a factor takes, numerically sorted when they are all numbers."""
    levels = list(dict.fromkeys(frame[factor].dropna()))
    if all(isinstance(level, int | float | np.number) for level in levels):
        return sorted(levels)
    return levels


def factor_table(frame: pd.DataFrame, factor: str) -> pd.DataFrame:
    """Long format: mean F1 over the (complete) tests at each level of one factor.

    Columns: factor, level, method (label), class_role, f1, n_tests.
    """
    means = _complete_means(frame).dropna(subset=[factor])
    grouped = means.groupby([factor, "method", "class_role"], sort=False)
    table = grouped.agg(f1=("f1", "mean"), n_tests=("test_key", "nunique")).reset_index()
    level_rank = {level: rank for rank, level in enumerate(factor_levels(means, factor))}
    method_rank = {method: rank for rank, method in enumerate(method_order(frame))}
    table = table.assign(
        _level=table[factor].map(level_rank),
        _method=table["method"].map(method_rank),
        _role=table["class_role"].map({role: rank for rank, role in enumerate(ROLES)}),
    ).sort_values(["_level", "_method", "_role"])
    table = table.rename(columns={factor: "level"}).drop(columns=["_level", "_method", "_role"])
    table.insert(0, "factor", factor)
    return table.reset_index(drop=True)


def factor_table_wide(long_table: pd.DataFrame) -> pd.DataFrame:
    """One row per level, one `<method> <role>` column per line of the factor plot."""
    wide = long_table.pivot_table(
        index="level", columns=["class_role", "method"], values="f1", aggfunc="first", sort=False
    )
    wide.columns = [f"{role} F1 {method}" for role, method in wide.columns]
    minority_first = sorted(wide.columns, key=lambda name: not name.startswith("minority"))
    return wide.reindex(columns=minority_first)


def score_by_test(frame: pd.DataFrame, score: Score = MINORITY_F1) -> pd.DataFrame:
    """Fold-mean `score`, one row per complete test, one column per stored method."""
    means = _complete_means(frame)
    rows = means[means["class_role"] == score.role]
    table = rows.pivot_table(index="test_key", columns="method", values=score.column,
                             aggfunc="first", dropna=False)
    tests = [key for key in test_order(frame) if key in table.index]
    methods = [method for method in method_order(frame) if method in table.columns]
    return table.reindex(index=tests, columns=methods)


def minority_f1_by_test(frame: pd.DataFrame) -> pd.DataFrame:
    """Fold-mean minority F1, one row per complete test, one column per stored method."""
    return score_by_test(frame, MINORITY_F1)


def method_summary(frame: pd.DataFrame, score: Score = MINORITY_F1) -> pd.DataFrame:
    """Per method: mean F1 per class (and the mean `score`, when it is not minority F1),
    average rank by `score` (1 = best, ties averaged) and wins (tests where it has the
    best `score`; a shared best counts for each)."""
    by_test = score_by_test(frame, score)
    ranks = by_test.rank(axis=1, ascending=score.lower_is_better, method="average")
    best = by_test.min(axis=1) if score.lower_is_better else by_test.max(axis=1)
    wins = by_test.eq(best, axis=0).sum()
    headline = headline_table(frame)
    columns = {
        "method": list(by_test.columns),
        "majority_f1": [headline.loc["majority", m] for m in by_test.columns],
        "minority_f1": [headline.loc["minority", m] for m in by_test.columns],
    }
    if score != MINORITY_F1:
        columns[score.column] = by_test.mean().to_numpy()
    summary = pd.DataFrame(
        {**columns, "average_rank": ranks.mean().to_numpy(), "wins": wins.to_numpy().astype(int)}
    )
    return summary.sort_values("average_rank", kind="stable").reset_index(drop=True)


def methods_of_kind(frame: pd.DataFrame, kind: str) -> list[str]:
    """The stored methods of one kind ("baseline", "classic", "generative"), in order."""
    return [method for method in method_order(frame) if method_kind(method) == kind]


def generator_vs_best_classic(frame: pd.DataFrame, generator: str, rope: float | None = None,
                              score: Score = MINORITY_F1) -> pd.DataFrame | None:
    """Per test: a generator's `score` against the best classic oversampler's; None
    without both.

    The verdict comes from the correlated Bayesian t-test on the test's paired fold scores
    (baycomp, region of practical equivalence +-rope): "win", "loss" or "tie" (practically
    equivalent) when that outcome has posterior probability >= 0.95, else "undecided".
    """
    rope = statistics.Settings().rope if rope is None else rope
    by_test = score_by_test(frame, score)
    classic = [method for method in methods_of_kind(frame, "classic") if method in by_test]
    if generator not in by_test.columns or not classic:
        return None
    best_method = by_test[classic].idxmax(axis=1)
    best_f1 = by_test[classic].max(axis=1)
    draws = unit_draw(frame)
    folds = frame[frame["class_role"] == score.role].pivot_table(
        index="test_key", columns=["method", *draws, "fold"], values=score.column,
        aggfunc="first")
    # baycomp's `runs`: the cross-validations (draws) of a test; its folds are K x runs.
    runs = frame[statistics.REPEAT].nunique() if draws else 1
    probabilities = [statistics.rope_probabilities(folds.loc[key, best].dropna(),
                                                   folds.loc[key, generator].dropna(), rope,
                                                   runs)
                     for key, best in best_method.items()]
    return pd.DataFrame(
        {
            "test_key": by_test.index,
            f"{generator}_{_column_name(score)}": by_test[generator].to_numpy(),
            "best_classic": best_method.to_numpy(),
            f"best_classic_{_column_name(score)}": best_f1.to_numpy(),
            "difference": (by_test[generator] - best_f1).to_numpy(),
            "p_better": [better for _, _, better in probabilities],
            "p_equivalent": [equivalent for _, equivalent, _ in probabilities],
            "p_worse": [worse for worse, _, _ in probabilities],
            "verdict": [statistics.verdict(*p) for p in probabilities],
        }
    )


def _column_name(score: Score) -> str:
    return "minority_f1" if score == MINORITY_F1 else score.column


def timings_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per method: units run, total and mean fitting seconds, total evaluation seconds."""
    units = frame.drop_duplicates(["test_key", *unit_draw(frame), "method"])
    grouped = units.groupby("method", sort=False)
    table = grouped.agg(
        units=("test_key", "size"),
        total_fit_seconds=("fit_seconds", "sum"),
        mean_fit_seconds=("fit_seconds", "mean"),
        total_eval_seconds=("eval_seconds", "sum"),
    )
    table = table.reindex(method_order(frame))
    return table.rename_axis("method").reset_index()


def versions_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Each library and the version(s) it had across the study's units."""
    seen: dict[str, list[str]] = {}
    for text in dict.fromkeys(frame["versions"]):
        for library, version in json.loads(text).items():
            versions = seen.setdefault(library, [])
            if str(version) not in versions:
                versions.append(str(version))
    return pd.DataFrame(
        {"library": list(seen), "version": [", ".join(found) for found in seen.values()]}
    )


def number_text(value, digits: int) -> str:
    """A table cell as text: floats with a fixed number of decimals, blanks for gaps."""
    if isinstance(value, float | np.floating):
        return "" if np.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def level_text(value) -> str:
    """A factor level as text; columns with gaps load as floats, yet 1500.0 reads as 1500."""
    if pd.isna(value):
        return ""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)
