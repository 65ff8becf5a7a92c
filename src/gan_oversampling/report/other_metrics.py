"""The report beyond its primary score: every score per method (and per classifier when a
study crosses several), what each method does to ranking and calibration against the
baseline, with a warning where it makes them worse, and what each method costs.

Oversampling moves the decision threshold, not the ranking: it rarely raises ROC-AUC, and
it shifts the predicted probabilities away from the real class frequencies, which the
Brier score and the expected calibration error measure. A user choosing a method for its
F1 should see that price, in numbers. Every number is a mean over the complete tests of
each test's fold mean (the tests' pairing as in the statistics).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gan_oversampling.report import statistics, tables
from gan_oversampling.report.document import Section, Table
from gan_oversampling.report.scores import ALL_SCORES, FOLD_SCORES, Score, usable_primary
from gan_oversampling.report.tables import signed
from gan_oversampling.samplers.registry import BASELINE

CALIBRATION = (FOLD_SCORES["roc-auc"], FOLD_SCORES["brier"], FOLD_SCORES["ece"])
# More warnings than this are shown as one table rather than a sentence each.
SENTENCE_WARNINGS = 8
# Extra seconds below this share of the baseline's are timing noise, not a cost.
NOISE_SHARE = 0.1


def sections(frame: pd.DataFrame, spec: dict, folder: Path) -> list:
    """[Every metric, Ranking and calibration, Cost], their CSVs written into `folder`."""
    settings = statistics.settings_of(spec)
    every = metrics_table(frame)
    every.to_csv(folder / "metrics.csv", index=False)
    blocks: list = [Table("Every score, mean over the complete tests of each test's fold mean",
                          every, 4), *_missing_notes(every)]
    found = [Section("Every metric", blocks)]
    if BASELINE not in set(frame["method"]):
        return found
    changes = calibration_changes(frame, settings)
    changes.to_csv(folder / "calibration.csv", index=False)
    found.append(Section("Ranking and calibration against the baseline",
                         [*warnings(changes, settings.rope),
                          Table("ROC-AUC, Brier score and ECE: each method against the "
                                "baseline (difference: method minus baseline)", changes, 4)]))
    primary = usable_primary(frame, spec)
    cost = cost_table(frame, primary)
    cost.to_csv(folder / "cost.csv", index=False)
    found.append(Section("Cost", [_cost_note(primary), Table(
        f"Seconds per test and {primary.label} gained per extra second", cost, 4)]))
    return found


# -- per test ---------------------------------------------------------------------------------
def _by_test(frame: pd.DataFrame, score: Score) -> pd.DataFrame:
    """`score` per complete test (rows) and method (columns, stored names)."""
    return tables.score_by_test(frame, score)


def _classifier_of(frame: pd.DataFrame) -> pd.Series:
    """Each test's classifier (the frame's tests keep one each)."""
    return frame.drop_duplicates("test_key").set_index("test_key")[tables.CLASSIFIER]


def _groups(frame: pd.DataFrame, by_test: pd.DataFrame) -> list[tuple[str | None, list[str]]]:
    """(classifier or None, its tests): one group per classifier of a crossing study, else
    one group of every test."""
    if not tables.crosses_classifiers(frame):
        return [(None, list(by_test.index))]
    classifier = _classifier_of(frame).reindex(by_test.index)
    return [(name, list(classifier.index[classifier == name]))
            for name in dict.fromkeys(classifier)]


def _leading(classifier: str | None) -> dict:
    return {} if classifier is None else {"classifier": classifier}


# -- tables -----------------------------------------------------------------------------------
def metrics_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per (classifier,) method: the mean of every score (blank where none was stored)."""
    columns = {score: _by_test(frame, score) for score in ALL_SCORES}
    rows = []
    for classifier, tests in _groups(frame, columns[ALL_SCORES[0]]):
        for method in columns[ALL_SCORES[0]].columns:
            rows.append({**_leading(classifier), "method": method,
                         **{score_column(score): by_test.loc[tests, method].mean()
                            for score, by_test in columns.items()}})
    return pd.DataFrame(rows)


def calibration_changes(frame: pd.DataFrame, settings) -> pd.DataFrame:
    """Per (classifier,) method and score (ROC-AUC, Brier, ECE): baseline and method means,
    their mean difference with its 95% bootstrap interval over tests, the tests where the
    method is worse, and `warn`: worse than the baseline by more than the ROPE."""
    rows = []
    for score in CALIBRATION:
        by_test = _by_test(frame, score)
        if BASELINE not in by_test.columns:
            continue
        for classifier, tests in _groups(frame, by_test):
            for method in by_test.columns.drop(BASELINE):
                pair = by_test.loc[tests, [BASELINE, method]].dropna()
                if pair.empty:
                    continue
                rows.append({**_leading(classifier), "method": method,
                             "score": score.label, **_change(pair, method, score, settings)})
    return pd.DataFrame(rows)


def _change(pair: pd.DataFrame, method: str, score: Score, settings) -> dict:
    difference = (pair[method] - pair[BASELINE]).to_numpy()
    low, high = statistics.bootstrap_interval(difference, settings.bootstrap_samples,
                                              settings.seed)
    worse = difference > 0 if score.lower_is_better else difference < 0
    mean = float(difference.mean())
    harm = mean if score.lower_is_better else -mean
    return {"baseline": pair[BASELINE].mean(), "with_method": pair[method].mean(),
            "mean_difference": mean, "ci_low": low, "ci_high": high,
            "tests_worse": int(worse.sum()), "n_tests": len(difference),
            "warn": bool(harm > settings.rope)}


def warnings(changes: pd.DataFrame, rope: float) -> list:
    """One sentence per method and score that the baseline beats by more than the ROPE;
    more than `SENTENCE_WARNINGS` of them: one table, a row per method."""
    if changes.empty:
        return ["No method has ROC-AUC, Brier or ECE values beside the baseline's (they are "
                "stored from this version on, and Brier and ECE need probabilities)."]
    flagged = changes[changes["warn"]]
    found: list = [f"Warnings (worse than the baseline by more than ±{rope:g}, the setting "
                   f"statistics.rope): {len(flagged)} of {len(changes)} comparisons."]
    if len(flagged) > SENTENCE_WARNINGS:
        return [*found, _warning_table(flagged)]
    for row in flagged.itertuples():
        verb = "lowers ROC-AUC" if row.score == "ROC-AUC" else f"worsens the {row.score}"
        where = f" with {row.classifier}" if "classifier" in changes.columns else ""
        direction = "higher" if row.score != "ROC-AUC" else "lower"
        found.append(
            f"Warning: {row.method} {verb}{where}: {row.with_method:.3f} against the "
            f"baseline's {row.baseline:.3f} (mean difference {signed(row.mean_difference)}, "
            f"95% CI [{signed(row.ci_low)}, {signed(row.ci_high)}]), {direction} on "
            f"{row.tests_worse} of {row.n_tests} tests.")
    return found


def _warning_table(flagged: pd.DataFrame) -> Table:
    """Method by score: each warning as its mean difference and the tests it holds on,
    per classifier where the study crosses several."""
    crossed = "classifier" in flagged.columns

    def cell(rows: pd.DataFrame) -> str:
        return "; ".join(
            (f"{row.classifier} " if crossed else "")
            + f"{signed(row.mean_difference)} ({row.tests_worse}/{row.n_tests})"
            for row in rows.itertuples())

    shown = pd.DataFrame({
        score.label: {method: cell(rows) for method, rows in
                      flagged[flagged["score"] == score.label].groupby("method", sort=False)}
        for score in CALIBRATION
    }).reindex(list(dict.fromkeys(flagged["method"]))).astype(object).fillna("")
    shown = shown.rename_axis("method")
    where = ", per classifier" if crossed else ""
    return Table("Warnings: mean difference against the baseline (tests where the method is "
                 f"worse / tests){where}; every comparison is in the table below", shown,
                 index=True)


def cost_table(frame: pd.DataFrame, primary: Score) -> pd.DataFrame:
    """Per (classifier,) method: mean seconds per test (resampling and the classifier's
    fits and scoring of every fold), the extra seconds over the baseline, the mean gain in
    the primary score over the baseline and that gain per extra second (blank where the
    method costs no more than the baseline, or so little more that the ratio would divide
    by the noise of the clock: `NOISE_SHARE` of the baseline's seconds)."""
    by_test = _by_test(frame, primary)
    seconds = _seconds_by_test(frame).reindex(index=by_test.index, columns=by_test.columns)
    rows = []
    for classifier, tests in _groups(frame, by_test):
        for method in by_test.columns:
            baseline = float(seconds.loc[tests, BASELINE].mean())
            extra = float(seconds.loc[tests, method].mean()) - baseline
            gain = float((by_test.loc[tests, method] - by_test.loc[tests, BASELINE]).mean())
            measurable = extra > NOISE_SHARE * baseline and extra > 0
            rows.append({**_leading(classifier), "method": method,
                         "seconds_per_test": seconds.loc[tests, method].mean(),
                         "extra_seconds": extra, f"{score_column(primary)}_gain": gain,
                         "gain_per_extra_second": gain / extra if measurable else np.nan})
    return pd.DataFrame(rows)


def _seconds_by_test(frame: pd.DataFrame) -> pd.DataFrame:
    """Seconds of each unit (resampling plus classifier), the mean over a test's draws."""
    units = frame.drop_duplicates(["test_key", *tables.unit_draw(frame), "method"])
    units = units.assign(seconds=units["fit_seconds"] + units["eval_seconds"])
    return units.pivot_table(index="test_key", columns="method", values="seconds",
                             aggfunc="mean")


def _cost_note(primary: Score) -> str:
    return (
        "Seconds are the wall time a unit recorded: the method's resampling of a test's "
        "training folds (a batch of GANs' time shared evenly by its tests) plus fitting and "
        "scoring the classifier on every fold. Workers run one thread each, so on a CPU this "
        "is CPU time; a GAN trained on a GPU counts GPU wall time. Gain per extra second: "
        f"the mean {primary.label} gain over the baseline divided by the mean extra seconds "
        "per test; what a second of the method's extra cost buys. It is blank where the "
        f"method takes no more than {1 + NOISE_SHARE:g} times the baseline's seconds: "
        "there the ratio would divide by the noise of the clock."
    )


def _missing_notes(every: pd.DataFrame) -> list[str]:
    fold_columns = [score_column(score) for score in FOLD_SCORES.values()]
    if every.empty or every[fold_columns].isna().all().all():
        return ["The fold-level scores are blank: these results were stored before they "
                "were computed."]
    blank = every[every["brier"].isna()]
    if blank.empty:
        return []
    if "classifier" in blank.columns:
        names = ", ".join(f"{row.method} with {row.classifier}" for row in blank.itertuples())
    else:
        names = ", ".join(blank["method"])
    return ["Brier score and ECE need predicted probabilities, which these gave none of "
            f"(an SVM has only a decision function): {names}; their cells are blank."]


def score_column(score: Score) -> str:
    """A score's column in these tables: minority_f1, majority_f1, pr_auc, ..."""
    return f"{score.role}_f1" if score.per_class else score.column
