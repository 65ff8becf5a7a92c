"""The factor model against statsmodels' formula interface, the answer's words against the
numbers they come from, and the report's new sections on hand-made stores."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from gan_oversampling.report import answer, comparisons, factor_model, tables
from gan_oversampling.report.build import build_report
from gan_oversampling.study.records import UnitResult
from gan_oversampling.study.store import ResultsStore
from test_statistics import grid, scores_frame


# -- the factor model -------------------------------------------------------------------------
def _gains(noise: float = 0.01, seed: int = 0) -> pd.DataFrame:
    """gain = 0.1 + 0.2 [size = 200] + 0.05 [ratio = 0.2] - 0.1 [ratio = 0.4] + noise."""
    rng = np.random.default_rng(seed)
    rows = [{"test_key": f"t{size}-{ratio}-{i}", "size": size, "ratio": ratio,
             "gain": 0.1 + 0.2 * (size == 200) + {0.1: 0.0, 0.2: 0.05, 0.4: -0.1}[ratio]
             + rng.normal(0, noise)}
            for size in (100, 200) for ratio in (0.1, 0.2, 0.4) for i in range(4)]
    return pd.DataFrame(rows)


def test_factor_model_recovers_the_effects_and_equals_statsmodels_formula():
    gains = _gains()
    model = factor_model.fit(gains, "cgan - baseline")
    estimates = model.coefficients.set_index("term")["estimate"]
    assert estimates["size=200"] == pytest.approx(0.2, abs=0.02)
    assert estimates["ratio=0.4"] == pytest.approx(-0.1, abs=0.02)
    direct = smf.ols("gain ~ C(size) + C(ratio)", data=gains).fit()
    np.testing.assert_allclose(model.coefficients["estimate"], direct.params.to_numpy())
    np.testing.assert_allclose(model.coefficients[["ci_low", "ci_high"]],
                               direct.conf_int().to_numpy())
    effects = model.effects.set_index("factor")
    assert list(model.effects["factor"]) == ["size", "ratio"]  # largest spread first
    # ratio: best level 0.2 (+0.05), worst 0.4 (-0.1): spread 0.15.
    assert effects.loc["ratio", "spread"] == pytest.approx(0.15, abs=0.02)
    assert (effects.loc["ratio", "best_level"], effects.loc["ratio", "worst_level"]) == (
        "0.2", "0.4")
    assert effects.loc["ratio", "spread_ci_low"] < 0.15 < effects.loc["ratio", "spread_ci_high"]
    joint = direct.f_test("C(ratio)[T.0.2] = 0, C(ratio)[T.0.4] = 0")
    assert effects.loc["ratio", "p_value"] == pytest.approx(float(joint.pvalue))
    assert model.kind == "OLS" and model.residual_df == 24 - 4


def test_factor_model_leaves_out_aliases_and_constants_and_needs_residuals():
    gains = _gains().assign(double=lambda g: g["size"] * 2, source="one")
    model = factor_model.fit(gains, "x")
    assert model.left_out == ["double (aliased with the factors before it)",
                              "source (one level)"]
    assert factor_model.fit(gains.iloc[:0].assign(), "x") is None
    two = gains.drop_duplicates(["size"]).head(2)[["test_key", "size", "gain"]]
    assert factor_model.fit(two, "x") is None  # intercept + one dummy on two tests


def test_repeats_make_a_mixed_model_with_the_test_as_random_intercept():
    frame = scores_frame({"none": 0.0, "cgan": 0.2}, grid(3))
    repeated = pd.concat([frame.assign(repeat=0),
                          scores_frame({"none": 0.0, "cgan": 0.2}, grid(3), seed=9)
                          .assign(repeat=1)])
    gains = factor_model.gains(repeated, "cgan", "none")
    assert len(gains) == 2 * 12 and "repeat" in gains.columns
    model = factor_model.fit(gains, "cgan - baseline")
    assert model.kind.startswith("mixed") and model.n_tests == 12
    assert set(model.effects["factor"]) == {"size", "ratio"}


def test_repeats_of_too_few_tests_for_any_model_give_no_model_not_an_error():
    # Two tests, one per level: the mixed model has no finite standard errors (on other
    # such data statsmodels raises a singular matrix); the tests' means leave no residual
    # degree of freedom.
    gains = _gains(seed=1).drop_duplicates(["size"])[["test_key", "size", "gain"]]
    repeated = pd.concat([gains.assign(repeat=0),
                          gains.assign(repeat=1, gain=gains["gain"] + 0.01)])
    assert factor_model.fit(repeated, "cgan - baseline") is None


# -- the words --------------------------------------------------------------------------------
def _row(**values) -> SimpleNamespace:
    row = {"generator": "cgan", "comparator": "smote", "score": "minority F1",
           "n_tests": 30, "mean_difference": 0.021, "ci_low": 0.005, "ci_high": 0.036,
           "p_holm": 0.003, "rank_biserial": 0.41, "p_better": 0.97, "p_equivalent": 0.03,
           "p_worse": 0.0}
    return SimpleNamespace(**{**row, **values})


def test_comparison_sentence_follows_the_numbers():
    text = answer.comparison_sentence(_row(), 0.01)
    assert text.startswith("On these 30 tests CGAN beats smote on minority F1")
    for part in ("probability 0.97", "probability 0.03", "< 0.01", "+0.021",
                 "95% CI [+0.005, +0.036]", "p = 0.003", "r = +0.410", "±0.01"):
        assert part in text
    worse = answer.comparison_sentence(
        _row(p_better=0.0, p_equivalent=0.02, p_worse=0.98, mean_difference=-0.05), 0.01)
    assert "CGAN loses to smote" in worse and "-0.050" in worse
    same = answer.comparison_sentence(_row(p_better=0.01, p_equivalent=0.99, p_worse=0.0), 0.02)
    assert "is practically equivalent to" in same and "±0.02" in same
    open_ = answer.comparison_sentence(_row(p_better=0.6, p_equivalent=0.3, p_worse=0.1), 0.01)
    assert "no clear verdict" in open_
    later = answer.comparison_sentence(_row(score="majority F1"), 0.01, first=False)
    assert later.startswith("On majority F1 it beats smote")
    tiny = answer.comparison_sentence(_row(mean_difference=-0.0004, ci_low=-0.0002), 0.01)
    assert "mean difference +0.000" in tiny and "[+0.000, " in tiny and "-0.000" not in tiny


def test_where_sentence_picks_the_extreme_levels():
    levels = pd.DataFrame({
        "comparator": "smote", "factor": ["size", "size", "ratio"], "level": [100, 200, 0.1],
        "mean_difference": [0.05, -0.02, 0.12], "ci_low": [0.0, -0.05, 0.08],
        "ci_high": [0.1, 0.01, 0.16], "n_tests": [6, 6, 4]})
    text = answer.where_sentence(levels)
    assert "does best at ratio = 0.1 (+0.120, 95% CI [+0.080, +0.160], 4 tests)" in text
    assert "worst at size = 200 (-0.020" in text
    assert answer.where_sentence(levels.iloc[:0]) is None


def test_factor_sentence_names_the_factor_or_none():
    model = factor_model.fit(_gains(), "cgan - smote")
    text = answer.factor_sentence(model)
    assert "puts size first" in text and "at size = 200 than at 100" in text
    flat = factor_model.fit(_gains().assign(gain=lambda g: np.random.default_rng(1).normal(
        0, 0.1, len(g))), "cgan - smote")
    assert "finds no factor" in answer.factor_sentence(flat)


def test_caveats_come_from_the_numbers():
    overall = pd.DataFrame([vars(_row(ci_low=-0.01, p_equivalent=0.2))])
    context = answer.Context(rope=0.01, n_tests=4, flagged=3, fewest_rows=2, minimum=5,
                             excluded=False)
    found = " ".join(answer.caveats(overall, [], context))
    assert "only 4 tests" in found and "cannot reach p < 0.05" in found
    assert "includes zero" in found and "not excluded (probability 0.20)" in found
    assert "3 tests have a test fold with fewer than 5 minority rows (as few as 2)" in found
    assert "kept in these statistics" in found
    calm = answer.Context(rope=0.01, n_tests=40, flagged=0, fewest_rows=9, minimum=5,
                          excluded=False)
    assert answer.caveats(pd.DataFrame([vars(_row(p_equivalent=0.01))]), [], calm) == []


def test_rank_and_mean_orders_are_reconciled_when_they_disagree():
    # cgan wins 3 of 4 tests narrowly and loses one badly: best rank, lower mean than smote.
    by_test = pd.DataFrame({"cgan": [0.62, 0.62, 0.62, 0.20], "smote": [0.60, 0.60, 0.60, 0.70],
                            "baseline": [0.1, 0.1, 0.1, 0.1]})
    ranks = by_test.rank(axis=1, ascending=False).mean()
    summary = pd.DataFrame({"method": ranks.index, "minority_f1": by_test.mean().to_numpy(),
                            "average_rank": ranks.to_numpy()}).sort_values("average_rank")
    text = answer.rank_mean_sentence(summary, by_test)
    assert text.startswith("CGAN ranks ahead of smote (average rank 1.25 vs 1.75)")
    assert "(0.515 vs 0.625)" in text
    assert "ahead on 3 of 4 tests, by 0.020 on average, and behind on 1, by 0.500" in text
    agreeing = summary.assign(minority_f1=[0.9, 0.5, 0.1])
    assert answer.rank_mean_sentence(agreeing, by_test) is None


def test_the_answer_changes_with_the_results():
    def words(cgan_gain: float) -> str:
        frame = scores_frame({"none": 0.0, "smote": 0.2, "cgan": cgan_gain}, grid(3))
        settings = comparisons.Settings(bootstrap_samples=500)
        stats = comparisons.statistics_table(frame, settings)
        context = answer.Context(0.01, 12, 0, 10, 5, False)
        return " ".join(answer.answer_paragraphs(stats, [], "smote", context))

    better, worse = words(0.3), words(0.1)
    assert "CGAN beats smote on minority F1" in better
    assert "CGAN loses to smote on minority F1" in worse
    assert better != worse


# -- the report -------------------------------------------------------------------------------
def _store(path, spec: dict, frame: pd.DataFrame):
    with ResultsStore.open(path) as store:
        store.register_study(spec["name"], "hash", json.dumps(spec))
        for (key, method), unit in frame.groupby(["test_key", "method"], sort=False):
            factors = {f: unit[f].iloc[0].item() if hasattr(unit[f].iloc[0], "item")
                       else unit[f].iloc[0] for f in tables.factor_columns(frame)}
            scores = unit[["fold", "class_label", "class_role", "precision", "recall", "f1",
                           "support"]].to_dict("records")
            store.write_unit(UnitResult(
                study=spec["name"], test_key=key, method=method, source="x", factors=factors,
                seed=0, iterations=None, classifier="c", cv="cv", fit_seconds=1.0,
                eval_seconds=0.1, versions={"numpy": "2"}, scores=scores))
    return path


SPEC = {"name": "stats", "data": {"kind": "cyber"},
        "methods": ["none", "smote", "random", "cgan"]}


def test_report_leads_with_the_answer_and_writes_the_statistics(tmp_path):
    frame = scores_frame({"none": 0.0, "smote": 0.2, "random": 0.21, "cgan": 0.25}, grid(3))
    small = scores_frame({"none": 0.0, "smote": 0.2, "random": 0.21, "cgan": 0.25},
                         {"tiny": {"size": 100, "ratio": 0.1}}, support=2)
    spec = {**SPEC, "statistics": {"bootstrap_samples": 500}}
    db = _store(tmp_path / "r.sqlite", spec, pd.concat([frame, small]))
    out = build_report(db, tmp_path / "report", n_sample_tests=0)
    markdown = (out / "report.md").read_text()
    assert markdown.index("## The answer") < markdown.index("## Statistics") < markdown.index(
        "## Overview")
    assert "On these 13 tests CGAN" in markdown
    assert "1 tests have a test fold with fewer than 5 minority rows (as few as 2)" in markdown
    assert "critical-difference diagram" in markdown and (out / "cd_diagram.png").is_file()
    stats = pd.read_csv(out / "statistics.csv")
    assert set(stats["comparator"]) == {"none", "smote", "random"}
    assert set(stats["factor"]) == {"all", "size", "ratio"}
    assert set(pd.read_csv(out / "factor_effects.csv")["factor"]) == {"size", "ratio"}
    assert len(pd.read_csv(out / "factor_model.csv")) > 0
    assert pd.read_csv(out / "test_flags.csv")["flagged"].sum() == 1
    assert "undecided (correlated Bayesian t-test" in markdown


def test_the_answer_speaks_of_the_best_ranked_other_method_too(tmp_path):
    gains = {"none": 0.0, "smote": 0.2, "class-weight": 0.1, "threshold": 0.3, "cgan": 0.25}
    spec = {**SPEC, "methods": list(gains), "statistics": {"bootstrap_samples": 500}}
    out = build_report(_store(tmp_path / "r.sqlite", spec, scores_frame(gains, grid(3))),
                       tmp_path / "report", n_sample_tests=0)
    markdown = (out / "report.md").read_text()
    answer_words = markdown.split("## Statistics")[0]
    assert "CGAN loses to threshold on minority F1" in answer_words
    assert "CGAN beats smote on minority F1" in answer_words
    assert "class-weight" not in answer_words  # ranked below the tuned threshold
    assert "the best-ranked other method threshold" in markdown
    assert "CGAN against threshold by factor level" in markdown
    targets = set(pd.read_csv(out / "factor_model.csv")["target"])
    assert targets == {"cgan - none", "cgan - smote", "cgan - threshold"}


def test_excluding_small_tests_changes_the_statistics(tmp_path):
    frame = pd.concat([
        scores_frame({"none": 0.0, "smote": 0.2, "cgan": 0.25}, grid(2)),
        scores_frame({"none": 0.0, "smote": 0.2, "cgan": 0.25},
                     {"tiny": {"size": 100, "ratio": 0.1}}, support=1)])
    spec = {**SPEC, "methods": ["none", "smote", "cgan"],
            "statistics": {"exclude_small_tests": True, "bootstrap_samples": 500}}
    out = build_report(_store(tmp_path / "r.sqlite", spec, frame), tmp_path / "report")
    stats = pd.read_csv(out / "statistics.csv")
    assert (stats.loc[stats["factor"] == "all", "n_tests"] == 8).all()
    assert "they are left out of these statistics" in (out / "report.md").read_text()


def test_published_values_get_our_interval(tmp_path):
    tests = {f"t{i}": {"side": 8, "n_majority": n} for i, n in enumerate([100, 200] * 4)}
    frame = scores_frame({"none": -0.07, "cgan": 0.2}, tests)
    spec = {"name": "mini", "data": {"kind": "mnist"}, "methods": ["none", "cgan"],
            "statistics": {"bootstrap_samples": 500}}
    out = build_report(_store(tmp_path / "r.sqlite", spec, frame), tmp_path / "report",
                       n_sample_tests=0)
    with ResultsStore.open(tmp_path / "r.sqlite", create=False) as store:
        stored = store.scores_frame("mini")
    comparison = tables.published_comparison(tables.headline_table(stored), spec, stored)
    for label in ("none", "cgan"):
        low, high = comparison[f"{label}_ci_low"], comparison[f"{label}_ci_high"]
        assert (low <= comparison[label]).all() and (comparison[label] <= high).all()
        inside = comparison[f"published_{label}"].between(low, high)
        assert list(comparison[f"inside_{label}"]) == ["yes" if i else "no" for i in inside]
    assert "inside_cgan" in (out / "report.md").read_text()
