"""Classifiers, cross-validation folds and per-class metrics of the study."""

from gan_oversampling.evaluation.classifiers import (
    CLASSIFIERS,
    classifier_names,
    make_classifier,
)
from gan_oversampling.evaluation.folds import make_folds
from gan_oversampling.evaluation.metrics import evaluate_fold, per_class_scores
from gan_oversampling.evaluation.paper_mlp import PaperMLP

__all__ = [
    "CLASSIFIERS",
    "PaperMLP",
    "classifier_names",
    "evaluate_fold",
    "make_classifier",
    "make_folds",
    "per_class_scores",
]
