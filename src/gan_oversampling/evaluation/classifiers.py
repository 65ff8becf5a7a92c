"""Registry of the classifiers a study can name."""

from __future__ import annotations

from collections.abc import Callable

from sklearn.base import ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC

from gan_oversampling.errors import UserError
from gan_oversampling.evaluation.paper_mlp import PaperMLP


def _paper_mlp(random_state: int) -> ClassifierMixin:
    return PaperMLP(random_state=random_state)


def _logistic_regression(random_state: int) -> ClassifierMixin:
    return LogisticRegression(max_iter=1000, random_state=random_state)


def _random_forest(random_state: int) -> ClassifierMixin:
    return RandomForestClassifier(n_estimators=100, n_jobs=1, random_state=random_state)


def _knn(random_state: int) -> ClassifierMixin:
    # k-nearest neighbours draws nothing at random; the seed is accepted for a uniform call.
    del random_state
    return KNeighborsClassifier(n_neighbors=5)


def _svm(random_state: int) -> ClassifierMixin:
    return SVC(kernel="rbf", random_state=random_state)


CLASSIFIERS: dict[str, Callable[[int], ClassifierMixin]] = {
    "paper-mlp": _paper_mlp,
    "logistic-regression": _logistic_regression,
    "random-forest": _random_forest,
    "knn": _knn,
    "svm": _svm,
}


def classifier_names() -> list[str]:
    """Names accepted by :func:`make_classifier`, in registry order."""
    return list(CLASSIFIERS)


def make_classifier(name: str, random_state: int) -> ClassifierMixin:
    """A fresh, unfitted classifier for ``name``, seeded with ``random_state``."""
    if name not in CLASSIFIERS:
        known = ", ".join(classifier_names())
        raise UserError(f"unknown classifier {name!r}; known classifiers: {known}")
    return CLASSIFIERS[name](random_state)
