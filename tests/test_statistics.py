"""The report's statistics: each against a hand-computed small case and against the library
called directly; the comparison table, flags and settings."""

from __future__ import annotations

import baycomp
import numpy as np
import pandas as pd
import pytest
import scikit_posthocs
from scipy import stats as scipy_stats
from statsmodels.stats.multitest import multipletests

from gan_oversampling.report import comparisons, statistics
from gan_oversampling.report.scores import MINORITY_F1
from gan_oversampling.study.spec import StatisticsSpec

FIVE_PAIRS = [0.3, -0.1, 0.2, 0.5, -0.4]  # |d| ranks 3, 1, 2, 5, 4: R+ = 10, R- = 5


def scores_frame(gains: dict[str, float], tests: dict[str, dict], n_folds: int = 5,
                 seed: int = 0, support: int = 10, noise: float = 0.03) -> pd.DataFrame:
    """A scores frame: per test (its factors in `tests`) and method, minority F1 0.5 plus
    the method's gain plus fold noise; majority F1 0.9 plus noise."""
    rng = np.random.default_rng(seed)
    records = []
    for key, factors in tests.items():
        for method, gain in gains.items():
            for fold in range(n_folds):
                for label, role, base in ((0, "majority", 0.9), (1, "minority", 0.5 + gain)):
                    value = float(np.clip(base + rng.normal(0, noise), 0, 1))
                    records.append({
                        "study": "s", "test_key": key, "method": method, "source": "x",
                        "seed": 0, "iterations": None, "classifier": "c", "cv": "cv",
                        "fit_seconds": 1.0, "eval_seconds": 0.1, "versions": "{}",
                        "finished_at": "", "fold": fold, "class_label": label,
                        "class_role": role, "precision": value, "recall": value, "f1": value,
                        "support": 40 if label == 0 else support, **factors})
    return pd.DataFrame(records)


def grid(n_per_cell: int = 2) -> dict[str, dict]:
    """Tests over two factors: size (100, 200) x ratio (0.1, 0.4), n_per_cell each."""
    return {f"s{size}-r{ratio}-{i}": {"size": size, "ratio": ratio}
            for size in (100, 200) for ratio in (0.1, 0.4) for i in range(n_per_cell)}


SETTINGS = statistics.Settings(bootstrap_samples=2000, seed=1)


# -- statistics.py: hand cases and the libraries --------------------------------------------------
def test_rank_biserial_by_hand():
    assert statistics.rank_biserial(FIVE_PAIRS) == pytest.approx((10 - 5) / 15)
    assert statistics.rank_biserial([*FIVE_PAIRS, 0.0]) == pytest.approx(1 / 3)  # zero dropped
    assert statistics.rank_biserial([0.1, 0.2]) == 1.0
    assert statistics.rank_biserial([-0.1, -0.2]) == -1.0
    assert np.isnan(statistics.rank_biserial([0.0, 0.0]))


def test_wilcoxon_by_hand_and_against_scipy():
    statistic, p_value = statistics.wilcoxon(FIVE_PAIRS)
    # W = min(R+, R-) = 5; of the 32 sign patterns of ranks 1..5, 10 have R- <= 5:
    # exact two-sided p = 2 * 10 / 32.
    assert statistic == 5.0
    assert p_value == pytest.approx(20 / 32)
    rng = np.random.default_rng(0)
    sample = rng.normal(0.05, 0.1, 30)
    direct = scipy_stats.wilcoxon(sample)
    assert statistics.wilcoxon(sample) == pytest.approx((direct.statistic, direct.pvalue))
    assert np.isnan(statistics.wilcoxon([0.0, 0.0, 0.0])[1])


def test_holm_by_hand_and_against_statsmodels():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04; running max
    np.testing.assert_allclose(statistics.holm(p), [0.03, 0.06, 0.06, 0.02])
    rng = np.random.default_rng(2)
    for size in (1, 2, 7, 30):
        sample = rng.uniform(0, 0.3, size)
        np.testing.assert_allclose(statistics.holm(sample),
                                   multipletests(sample, method="holm")[1])
    with_gap = statistics.holm([0.01, np.nan, 0.02])
    assert np.isnan(with_gap[1])
    np.testing.assert_allclose(with_gap[[0, 2]], [0.02, 0.02])
    assert statistics.holm([0.9, 0.8]).max() == 1.0


def test_bootstrap_interval_holds_the_mean_repeats_and_is_scipys():
    values = np.random.default_rng(3).normal(0.1, 0.05, 40)
    low, high = statistics.bootstrap_interval(values, 2000, seed=5)
    assert low < values.mean() < high
    assert statistics.bootstrap_interval(values, 2000, seed=5) == (low, high)
    assert statistics.bootstrap_interval(values, 2000, seed=6) != (low, high)
    direct = scipy_stats.bootstrap((values,), np.mean, n_resamples=2000, method="percentile",
                                   rng=np.random.default_rng(5)).confidence_interval
    assert (low, high) == pytest.approx((direct.low, direct.high))
    assert all(np.isnan(statistics.bootstrap_interval([0.3], 100, 0)))
    assert statistics.bootstrap_interval([0.2, 0.2, 0.2], 100, 0) == (0.2, 0.2)


def test_correlated_t_test_by_hand_and_against_baycomp():
    first = np.array([0.50, 0.55, 0.60, 0.52, 0.58])
    second = np.array([0.56, 0.58, 0.63, 0.60, 0.60])
    d = second - first
    posterior = statistics.correlated_posterior(first, second)
    # Nadeau-Bengio: the variance of the mean difference is s^2 (1/n + rho/(1-rho)), rho = 1/K.
    assert posterior.mean == pytest.approx(d.mean())
    assert posterior.var == pytest.approx(d.var(ddof=1) * (1 / 5 + 1 / 4))
    assert posterior.df == 4
    rope = 0.01
    worse, equivalent, better = statistics.rope_probabilities(first, second, rope)
    scale = np.sqrt(posterior.var)
    assert worse == pytest.approx(scipy_stats.t.cdf(-rope, 4, d.mean(), scale))
    assert better == pytest.approx(1 - scipy_stats.t.cdf(rope, 4, d.mean(), scale))
    assert worse + equivalent + better == pytest.approx(1)
    assert (worse, equivalent, better) == pytest.approx(
        baycomp.two_on_single(first, second, rope))
    no_rope = statistics.rope_probabilities(first, second, 0.0)
    assert no_rope[1] == 0.0 and no_rope[2] == pytest.approx(
        baycomp.two_on_single(first, second, 0.0)[1])
    assert all(np.isnan(statistics.rope_probabilities([0.5], [0.6], rope)))


def test_mean_over_tests_probabilities():
    first = np.array([0.50, 0.55, 0.60, 0.52, 0.58])
    second = first + np.array([0.02, 0.0, 0.03, 0.01, 0.015])
    one = statistics.correlated_posterior(first, second)
    draws = statistics.posterior_draws([one], 200_000, seed=0)
    sampled = statistics.mean_rope_probabilities(draws, 0.01)
    exact = statistics.rope_probabilities(first, second, 0.01)
    assert sampled == pytest.approx(exact, abs=0.005)  # one test: its own posterior
    # Point posteriors (constant fold differences): the mean of +0.03 and -0.01 is +0.01.
    points = [statistics.Posterior(0.03, 0.0, 4), statistics.Posterior(-0.01, 0.0, 4)]
    mean_draws = statistics.posterior_draws(points, 100, seed=0)
    np.testing.assert_allclose(mean_draws.mean(axis=0), 0.01)
    assert statistics.mean_rope_probabilities(mean_draws, 0.005) == (0.0, 0.0, 1.0)
    assert statistics.mean_rope_probabilities(mean_draws, 0.02) == (0.0, 1.0, 0.0)
    again = statistics.posterior_draws([one, one], 1000, seed=3)
    np.testing.assert_array_equal(again, statistics.posterior_draws([one, one], 1000, seed=3))


@pytest.mark.parametrize(("probabilities", "expected"), [
    ((0.01, 0.03, 0.96), "win"), ((0.95, 0.05, 0.0), "loss"), ((0.0, 0.97, 0.03), "tie"),
    ((0.2, 0.5, 0.3), "undecided"), ((np.nan, np.nan, np.nan), "undecided")])
def test_verdicts(probabilities, expected):
    assert statistics.verdict(*probabilities) == expected


def test_friedman_nemenyi_against_the_libraries():
    rng = np.random.default_rng(4)
    by_test = pd.DataFrame(rng.uniform(size=(12, 4)) + [0.0, 0.1, 0.3, 0.05],
                           columns=["baseline", "smote", "cgan", "random"])
    result = statistics.friedman_nemenyi(by_test)
    direct = scipy_stats.friedmanchisquare(*by_test.to_numpy().T)
    assert (result.statistic, result.p_value) == pytest.approx((direct.statistic,
                                                                direct.pvalue))
    posthoc = scikit_posthocs.posthoc_nemenyi_friedman(by_test.to_numpy())
    np.testing.assert_allclose(result.posthoc.to_numpy(), posthoc.to_numpy())
    assert list(result.posthoc.columns) == list(by_test.columns)
    ranks = by_test.rank(axis=1, ascending=False).mean()
    assert result.average_ranks.to_dict() == pytest.approx(ranks.to_dict())
    assert result.average_ranks.is_monotonic_increasing
    # By hand: three tests where the order is always cgan, smote, baseline.
    ordered = pd.DataFrame({"baseline": [0.1, 0.2, 0.3], "smote": [0.4, 0.5, 0.6],
                            "cgan": [0.7, 0.8, 0.9]})
    assert statistics.friedman_nemenyi(ordered).average_ranks.to_dict() == {
        "cgan": 1.0, "smote": 2.0, "baseline": 3.0}
    # Friedman's chi-square, n = 3, k = 3, ranks 1, 2, 3 every time: 12n/(k(k+1)) * sum of
    # (R_j - (k+1)/2)^2 = 12*3/12 * (1 + 0 + 1) = 6.
    assert statistics.friedman_nemenyi(ordered).statistic == pytest.approx(6.0)
    assert statistics.friedman_nemenyi(ordered[["smote", "cgan"]]) is None


# -- settings ---------------------------------------------------------------------------------
def test_settings_defaults_for_older_studies_and_validation():
    assert statistics.settings_of({"name": "old"}) == StatisticsSpec()
    assert StatisticsSpec().rope == 0.01 and StatisticsSpec().min_minority_per_test_fold == 5
    chosen = statistics.settings_of({"statistics": {"rope": 0.02, "exclude_small_tests": True}})
    assert chosen.rope == 0.02 and chosen.exclude_small_tests
    with pytest.raises(ValueError):
        StatisticsSpec(rope=-0.1)


# -- comparisons.py ---------------------------------------------------------------------------
def test_statistics_table_matches_the_libraries_called_directly():
    frame = scores_frame({"none": 0.0, "smote": 0.2, "random": 0.21, "cgan": 0.23}, grid(3))
    table = comparisons.statistics_table(frame, SETTINGS)
    row = table[(table["comparator"] == "smote") & (table["class_role"] == "minority")
                & (table["factor"] == "all")].iloc[0]
    folds = frame[frame["class_role"] == "minority"].pivot_table(
        index=["test_key", "fold"], columns="method", values="f1")
    per_test = folds.groupby(level="test_key").mean()
    difference = per_test["cgan"] - per_test["smote"]
    assert row["n_tests"] == 12
    assert row["mean_difference"] == pytest.approx(difference.mean())
    assert row["p_value"] == pytest.approx(scipy_stats.wilcoxon(difference).pvalue)
    assert row["rank_biserial"] == pytest.approx(statistics.rank_biserial(difference))
    low, high = statistics.bootstrap_interval(difference, 2000, 1)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high))
    verdicts = [statistics.verdict(*baycomp.two_on_single(
        folds.loc[key, "smote"].to_numpy(), folds.loc[key, "cgan"].to_numpy(), 0.01))
        for key in per_test.index]
    assert row["tests_win"] == verdicts.count("win")
    assert row["tests_undecided"] == verdicts.count("undecided")
    assert row["p_better"] + row["p_equivalent"] + row["p_worse"] == pytest.approx(1)
    family = table[(table["class_role"] == "minority") & (table["factor"] == "all")]
    np.testing.assert_allclose(family["p_holm"],
                               multipletests(family["p_value"], method="holm")[1])
    assert set(family["comparator"]) == {"none", "smote", "random"}


def test_statistics_table_rows_per_factor_level():
    tests = grid(2)
    for factors in tests.values():
        factors["double"] = factors["size"] * 2  # an alias of size
        factors["source"] = "one"  # a single level
    frame = scores_frame({"none": 0.0, "cgan": 0.2}, tests)
    assert comparisons.aliases(frame) == {"double": "size"}
    table = comparisons.statistics_table(frame, SETTINGS)
    minority = table[table["class_role"] == "minority"]
    assert list(zip(minority["factor"], minority["level"], strict=True)) == [
        ("all", ""), ("size", 100), ("size", 200), ("ratio", 0.1), ("ratio", 0.4)]
    assert list(minority["n_tests"]) == [8, 4, 4, 4, 4]
    assert (table["generator"] == "cgan").all() and (table["comparator"] == "none").all()


def test_small_tests_are_flagged_and_excluded_on_request():
    frame = pd.concat([scores_frame({"none": 0.0, "cgan": 0.2}, grid(1), support=10),
                       scores_frame({"none": 0.0, "cgan": 0.2},
                                    {"tiny": {"size": 100, "ratio": 0.1}}, support=2)])
    flags = comparisons.small_tests(frame, 5).set_index("test_key")
    assert flags.loc["tiny", "flagged"] and flags.loc["tiny", "min_minority_rows"] == 2
    assert flags["flagged"].sum() == 1
    kept, _ = comparisons.analysed_frame(frame, SETTINGS)
    assert kept["test_key"].nunique() == 5
    left, _ = comparisons.analysed_frame(
        frame, SETTINGS.model_copy(update={"exclude_small_tests": True}))
    assert "tiny" not in set(left["test_key"]) and left["test_key"].nunique() == 4


def test_best_ranked_classic_and_pairs():
    frame = scores_frame({"none": 0.0, "smote": 0.1, "random": 0.2, "cgan": 0.15,
                          "ctgan": 0.05}, grid(2))
    assert comparisons.best_ranked_classic(frame) == "random"
    assert comparisons.pairs(frame) == [(g, c) for g in ("cgan", "ctgan")
                                        for c in ("none", "smote", "random")]


def test_factor_intervals_hold_each_levels_mean():
    frame = scores_frame({"none": 0.0, "cgan": 0.2}, grid(3))
    table = comparisons.factor_intervals(frame, "size", SETTINGS)
    assert (table["ci_low"] <= table["f1"]).all() and (table["f1"] <= table["ci_high"]).all()
    assert (table["ci_high"] > table["ci_low"]).all()
    again = comparisons.factor_intervals(frame, "size", SETTINGS)
    pd.testing.assert_frame_equal(table, again)


def test_statistics_settings_change_the_report_not_the_results_hash():
    from gan_oversampling.study.presets import preset_as_toml, resolve_study
    from gan_oversampling.study.spec import parse_study

    spec = resolve_study("quick")
    other = spec.model_copy(update={"statistics": StatisticsSpec(rope=0.05, seed=3)})
    assert other.settings_hash() == spec.settings_hash()
    assert "[statistics]" in preset_as_toml("quick")
    raw = {"name": "s", "statistics": {"rope": 0.02, "min_minority_per_test_fold": 3}}
    assert parse_study(raw, "test").statistics.min_minority_per_test_fold == 3
    with pytest.raises(Exception, match="statistics"):
        parse_study({"name": "s", "statistics": {"ropes": 0.02}}, "test")


def test_repeated_cross_validation_keeps_the_test_as_the_unit():
    tests = grid(2)
    frame = pd.concat([scores_frame({"none": 0.0, "cgan": 0.02}, tests, seed=s).assign(repeat=s)
                       for s in (0, 1)])
    table = comparisons.statistics_table(frame, SETTINGS)
    minority = table[table["class_role"] == "minority"]
    assert list(minority["factor"]) == ["all", "size", "size", "ratio", "ratio"]
    assert minority["n_tests"].iloc[0] == 8
    scores = comparisons.fold_scores(frame, MINORITY_F1)
    assert list(scores.index.names) == ["test_key", "repeat", "fold"] and len(scores) == 80
    # Each test's 2 x 5 folds go into one correlated t-test with runs = 2.
    verdicts = [statistics.verdict(*baycomp.two_on_single(
        rows["none"].to_numpy(), rows["cgan"].to_numpy(), 0.01, 2))
        for _, rows in scores.groupby(level="test_key")]
    overall = minority.iloc[0]
    assert {v: overall[f"tests_{v}"] for v in statistics.VERDICTS} == {
        v: verdicts.count(v) for v in statistics.VERDICTS}
