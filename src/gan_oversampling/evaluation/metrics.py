"""Per-class scores of one fold."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

from gan_oversampling.errors import UserError


def per_class_scores(y_true, y_pred, labels: Sequence = (0, 1)) -> list[dict]:
    """Precision, recall, F1 and support of each label, one dict per label, in ``labels`` order.

    Matches scikit-learn's ``classification_report``: a ratio with a zero denominator
    scores 0. So a class absent from the test fold (support 0) gets recall 0 and F1 0,
    and precision 0 too, whether or not it was predicted.
    """
    labels = _check_score_labels(labels)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    return [
        {
            "class_label": label,
            "precision": float(precision[index]),
            "recall": float(recall[index]),
            "f1": float(f1[index]),
            "support": int(support[index]),
        }
        for index, label in enumerate(labels)
    ]


def evaluate_fold(classifier, X_train, y_train, X_test, y_test, labels: Sequence = (0, 1)):
    """Fit ``classifier`` (a fresh estimator; it is not cloned) and score its test predictions."""
    classifier.fit(X_train, y_train)
    return per_class_scores(y_test, classifier.predict(X_test), labels=labels)


def _check_score_labels(labels: Sequence) -> list:
    # Plain Python values, so that score rows serialise as they are.
    label_list = np.asarray(list(labels)).tolist()
    if not label_list:
        raise UserError("labels to score must not be empty")
    if len(set(label_list)) != len(label_list):
        raise UserError(f"labels to score must be distinct; got {label_list}")
    return label_list
