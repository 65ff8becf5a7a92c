"""The scores a report reads, and which of them its statistics compare methods on.

Per-class scores (F1) have a row per class in the scores frame; fold-level scores
(PR-AUC, ROC-AUC, balanced accuracy, MCC, G-mean, Brier, ECE) repeat on both class rows
of a fold, so each is read off the minority rows. The study's `statistics.primary_metric`
names the score of the statistics, the answer and the rankings; minority F1, the
published studies' score, is the default, and it brings majority F1 along as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from gan_oversampling.report.statistics import settings_of


@dataclass(frozen=True)
class Score:
    name: str  # as a study file names it: "minority-f1"
    column: str  # its column in the scores frame: "f1", "pr_auc"
    role: str  # the class rows it is read from
    label: str  # in words: "minority F1", "PR-AUC"
    per_class: bool = False  # a score of one class (else of the whole fold)
    lower_is_better: bool = False

    @property
    def class_role(self) -> str:
        """The `class_role` of its statistics rows: the class, or "all" for a fold score."""
        return self.role if self.per_class else "all"


MINORITY_F1 = Score("minority-f1", "f1", "minority", "minority F1", per_class=True)
MAJORITY_F1 = Score("majority-f1", "f1", "majority", "majority F1", per_class=True)
FOLD_SCORES = {
    score.name: score
    for score in (
        Score("pr-auc", "pr_auc", "minority", "PR-AUC"),
        Score("roc-auc", "roc_auc", "minority", "ROC-AUC"),
        Score("balanced-accuracy", "balanced_accuracy", "minority", "balanced accuracy"),
        Score("mcc", "mcc", "minority", "MCC"),
        Score("g-mean", "g_mean", "minority", "G-mean"),
        Score("brier", "brier", "minority", "Brier score", lower_is_better=True),
        Score("ece", "ece", "minority", "ECE", lower_is_better=True),
    )
}
# What `statistics.primary_metric` may name: the scores where higher is better.
PRIMARY_CHOICES = {
    MINORITY_F1.name: MINORITY_F1,
    **{name: score for name, score in FOLD_SCORES.items() if not score.lower_is_better},
}
# Every score of the "every metric" table, in its order.
ALL_SCORES = (MINORITY_F1, MAJORITY_F1, *FOLD_SCORES.values())


def primary_score(spec: dict) -> Score:
    """The score a stored study's statistics compare methods on."""
    return PRIMARY_CHOICES[settings_of(spec).primary_metric]


def compared_scores(primary: Score) -> list[Score]:
    """The scores of the statistics table: the primary one, and majority F1 beside
    minority F1 (what the published studies report)."""
    return [MINORITY_F1, MAJORITY_F1] if primary == MINORITY_F1 else [primary]


def stored(frame, score: Score) -> bool:
    """Whether the scores `frame` holds any value of `score` (results stored before the
    fold-level scores were have none)."""
    return score.column in frame.columns and bool(frame[score.column].notna().any())


def usable_primary(frame, spec: dict) -> Score:
    """The study's primary score, or minority F1 when the results hold none of it."""
    primary = primary_score(spec)
    return primary if stored(frame, primary) else MINORITY_F1
