"""The report's account of the generated rows themselves (the `generated_quality` records,
see `evaluation.quality`): how closely they follow the real minority rows column by
column, how easily a classifier tells them from real ones, and how close they lie to
training rows. A generator whose rows are mostly near-copies of its training rows is
random oversampling at a far higher price; one whose rows a classifier always tells from
real ones has not learnt the minority class. File: quality.csv (per method, test, fold).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from gan_oversampling.report import tables
from gan_oversampling.report.document import Section, Table

TITLE = "Quality of generated rows"
NEAR_COPY_FLAG = 0.5  # median share of near-copies from which a method is flagged
DETECTION_FLAG = 0.9  # median detection AUC from which generated rows are easy to tell
MIN_FOLDS_FOR_RANGE = 3  # an interquartile range of fewer folds says little
RANDOM = "random"  # random oversampling: its rows are copies by construction
# Stored measure -> column name in the report, with the decimals it is shown with.
SHOWN = {
    "fidelity": ("fidelity (column shapes)", 2),
    "ks_mean": ("KS (numbers)", 2),
    "tv_mean": ("TV (categories)", 2),
    "detection_auc": ("detection AUC", 2),
    "dcr_median": ("median distance to closest training row", 3),
    "near_copy_share": ("near-copies", 2),
}
DEFINITIONS = (
    "Measured on every fold of each method that adds rows to the training fold (the "
    "oversamplers and generators; not the methods that remove rows after oversampling): "
    "fidelity is 1 minus the mean of the Kolmogorov-Smirnov statistic of each numeric "
    "column and the total variation distance of each category's frequencies, between the "
    "real and the generated minority rows of the training fold (1: the same column "
    "shapes); the detection AUC is that of a logistic regression telling the test fold's "
    "real minority rows from as many generated ones (0.5: indistinguishable, 1: always "
    "told apart; on a test fold of few minority rows it is noisy and may fall under 0.5, "
    "as cross-validated scores of rows that cannot be told apart do); distances are "
    "Euclidean with each feature scaled to its training range [0, 1]; a near-copy is a "
    "generated row closer to a training row than 95% of the real minority rows are to "
    "their closest other training row (random oversampling: all of them). Cells: median "
    "over folds, with the interquartile range in brackets.")


def quality_sections(store, study: str, frame: pd.DataFrame, folder: Path) -> list[Section]:
    """[The quality section]; one line where the results file holds no quality."""
    quality = store.quality_frame(study)
    if quality.empty:
        return [Section(TITLE, ["No quality of generated rows is stored: no method of this "
                                "study adds rows, or its results file was written by an "
                                "earlier version."])]
    methods = _methods(quality, frame)
    first = ["method", "test_key", "fold"]
    quality = quality.assign(method=pd.Categorical(quality["method"], methods))
    written = quality.sort_values(first, kind="stable")
    written[[*first, *written.columns.drop(first)]].to_csv(folder / "quality.csv", index=False)
    medians = quality.groupby("method", observed=True)[list(SHOWN)].median()
    blocks: list = [DEFINITIONS, near_copy_sentence(medians["near_copy_share"]),
                    detection_sentence(medians["detection_auc"]),
                    Table("Quality of the generated rows per method (median over folds)",
                          summary_table(quality, methods), index=True)]
    return [Section(TITLE, blocks)]


def summary_table(quality: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    """Per method: folds, then each measure as "median (q1-q3)" text."""
    rows = {}
    for method in methods:
        group = quality[quality["method"] == method]
        row = {"folds": len(group)}
        for measure, (name, digits) in SHOWN.items():
            row[name] = spread_text(group[measure], digits)
        rows[method] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("method")


def spread_text(values: pd.Series, digits: int) -> str:
    """The median, with the interquartile range where there are folds enough and it is
    not a single value; blank where nothing was computable."""
    values = values.dropna().astype(float)
    if values.empty:
        return ""
    median = f"{values.median():.{digits}f}"
    low, high = (f"{values.quantile(q):.{digits}f}" for q in (0.25, 0.75))
    if len(values) < MIN_FOLDS_FOR_RANGE or low == high:
        return median
    return f"{median} ({low}-{high})"


def near_copy_sentence(shares: pd.Series) -> str:
    """Flags every method (random oversampling aside) whose median near-copy share is at
    least `NEAR_COPY_FLAG`."""
    flagged = [method for method, share in shares.items()
               if share >= NEAR_COPY_FLAG and _resampler(method) != RANDOM]
    if not flagged:
        return (f"No method other than random oversampling has {NEAR_COPY_FLAG:.0%} or more "
                "of its rows as near-copies of training rows (median over folds).")
    parts = [f"{method} ({shares[method]:.0%} near-copies)" for method in flagged]
    its, it = ("their", "they behave") if len(flagged) > 1 else ("its", "it behaves")
    return (f"Warning: {_listed(parts)}: most of {its} rows are near-copies of training "
            f"rows: {it} like random oversampling, at a far higher price.")


def detection_sentence(aucs: pd.Series) -> str:
    """Flags every method whose median detection AUC is at least `DETECTION_FLAG`."""
    flagged = [method for method, auc in aucs.items() if auc >= DETECTION_FLAG]
    if not flagged:
        return (f"No method's generated rows are easy to tell from real ones (median "
                f"detection AUC under {DETECTION_FLAG:g}).")
    parts = [f"{method} (AUC {aucs[method]:.2f})" for method in flagged]
    return (f"Detection AUC of {DETECTION_FLAG:g} or more for {_listed(parts)}: generated "
            "rows are easy to tell from real ones, so a classifier learns from rows unlike "
            "the real minority class.")


def _methods(quality: pd.DataFrame, frame: pd.DataFrame) -> list[str]:
    """The methods with stored quality, in the report's order."""
    stored = set(quality["method"])
    ordered = [method for method in tables.method_order(frame) if method in stored]
    return ordered + [method for method in dict.fromkeys(quality["method"])
                      if method not in ordered]


def _resampler(method: str) -> str:
    return method.split("+")[0]  # `random+threshold` resamples as `random` does


def _listed(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
