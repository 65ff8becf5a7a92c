"""Cross-validation folds of a test dataset."""

from __future__ import annotations

from typing import Literal

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold

from gan_oversampling.errors import UserError

FoldScheme = Literal["kfold", "stratified"]
FOLD_SCHEMES: tuple[str, ...] = ("kfold", "stratified")


def make_folds(
    y,
    scheme: FoldScheme = "kfold",
    n_splits: int = 5,
    random_state: int = 0,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffled (train indices, test indices) pairs over the rows of ``y``.

    "kfold" ignores the labels, as the imagery study of the paper does: with few minority
    rows a test fold may hold none. "stratified" keeps the class proportions in every fold.
    """
    labels = _check_labels(y)
    _check_split_count(n_splits, len(labels))
    if scheme == "kfold":
        splitter = KFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    elif scheme == "stratified":
        _check_class_sizes(labels, n_splits)
        splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    else:
        allowed = ", ".join(FOLD_SCHEMES)
        raise UserError(f"unknown fold scheme {scheme!r}; allowed: {allowed}")
    placeholder_features = np.zeros((len(labels), 1))
    return [
        (train.astype(np.int64), test.astype(np.int64))
        for train, test in splitter.split(placeholder_features, labels)
    ]


def _check_labels(y) -> np.ndarray:
    labels = np.asarray(y)
    if labels.ndim != 1:
        raise UserError(f"fold labels must be one-dimensional; got shape {labels.shape}")
    return labels


def _check_split_count(n_splits, n_rows: int) -> None:
    if isinstance(n_splits, bool) or not isinstance(n_splits, int | np.integer):
        raise UserError(f"n_splits must be an integer >= 2; got {n_splits!r}")
    if n_splits < 2:
        raise UserError(f"n_splits must be >= 2; got {n_splits}")
    if n_splits > n_rows:
        raise UserError(f"n_splits={n_splits} is more than the {n_rows} rows to split")


def _check_class_sizes(labels: np.ndarray, n_splits: int) -> None:
    classes, counts = np.unique(labels, return_counts=True)
    for label, count in zip(classes.tolist(), counts.tolist(), strict=True):
        if count < n_splits:
            raise UserError(
                f"stratified folds need at least n_splits={n_splits} rows per class; "
                f"class {label!r} has {count}"
            )
