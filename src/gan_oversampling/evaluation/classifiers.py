"""Registry of the classifiers a study can name: weak learners (logistic regression, the
paper's one-layer network) and strong ones (gradient-boosted trees)."""

from __future__ import annotations

from collections.abc import Callable

from sklearn.base import ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
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


LIGHTGBM_MISSING = (
    "classifier 'lightgbm' needs the lightgbm package: pip install 'gan-oversampling[boosting]'"
)


def _lightgbm(random_state: int) -> ClassifierMixin:
    try:
        from lightgbm import LGBMClassifier
    except ImportError:
        raise UserError(LIGHTGBM_MISSING) from None
    # The library's defaults; one thread, as every worker of a study has one core, and
    # quiet (it logs every split it cannot make on small folds).
    return LGBMClassifier(random_state=random_state, n_jobs=1, verbose=-1)


def _hist_gradient_boosting(random_state: int) -> ClassifierMixin:
    return HistGradientBoostingClassifier(random_state=random_state)


CLASSIFIERS: dict[str, Callable[[int], ClassifierMixin]] = {
    "paper-mlp": _paper_mlp,
    "logistic-regression": _logistic_regression,
    "random-forest": _random_forest,
    "knn": _knn,
    "svm": _svm,
    "lightgbm": _lightgbm,
    "hist-gradient-boosting": _hist_gradient_boosting,
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
