"""One unit of work: a method evaluated on every fold of one test dataset.

The protocol of each fold: oversample the training fold only (or not, for the baseline),
shuffle the augmented rows (`random_state=0`, as the original does), fit a fresh
classifier, score each class on the untouched test fold.
"""

from __future__ import annotations

import hashlib
import platform
import time
from dataclasses import dataclass
from functools import cache

import numpy as np
from sklearn.utils import shuffle

from gan_oversampling import __version__
from gan_oversampling.difficulty.base import TestCase
from gan_oversampling.evaluation.classifiers import make_classifier
from gan_oversampling.evaluation.folds import make_folds
from gan_oversampling.evaluation.metrics import evaluate_fold
from gan_oversampling.samplers.classic import make_fold_sampler
from gan_oversampling.study.spec import StudySpec
from gan_oversampling.study.store import UnitResult

LABELS = (0, 1)
ROLES = {0: "majority", 1: "minority"}
N_SAMPLE_ROWS = 10  # rows kept per class for the report's sample grids


def derive_seed(study_seed: int, *parts: object) -> int:
    """A stable 31-bit seed for one purpose (a fold's GAN, a fold's classifier, ...)."""
    text = "/".join(str(part) for part in (study_seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") >> 1


@dataclass
class PreparedTest:
    """A test dataset cut into folds, shared by every method so all see the same folds.

    A source may scale or encode features (`make_preprocessor`); the preprocessor is then
    fitted on each training fold alone and applied to that fold's test rows.
    """

    case: TestCase
    folds: list[tuple[np.ndarray, np.ndarray]]
    fold_data: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]

    @classmethod
    def build(cls, case: TestCase, X: np.ndarray, y: np.ndarray, spec: StudySpec, source=None):
        evaluation = spec.evaluation
        folds = make_folds(y, evaluation.cv, evaluation.n_splits, evaluation.cv_seed)
        make_preprocessor = getattr(source, "make_preprocessor", None)
        fold_data = []
        for train, test in folds:
            X_train, X_test = X[train], X[test]
            preprocessor = make_preprocessor(case) if make_preprocessor else None
            if preprocessor is not None:
                X_train = preprocessor.fit_transform(X_train).astype(np.float32)
                X_test = preprocessor.transform(X_test).astype(np.float32)
            fold_data.append((X_train, y[train], X_test, y[test]))
        return cls(case, folds, fold_data)

    def training_sets(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(X_train, y_train) for X_train, y_train, _, _ in self.fold_data]

    def minority_deficits(self) -> list[int]:
        """Rows to generate per training fold: #majority - #minority (never negative)."""
        counts = [np.bincount(y_train, minlength=2) for _, y_train in self.training_sets()]
        return [max(0, int(c[0] - c[1])) for c in counts]


def fold_augment(spec: StudySpec, test: PreparedTest, method: str):
    """Training folds oversampled one by one (or left alone for 'none')."""
    augmented = []
    for fold, (X_train, y_train) in enumerate(test.training_sets()):
        if method == "none":
            augmented.append((X_train, y_train))
            continue
        seed = derive_seed(spec.seed, test.case.key, fold, method)
        sampler = make_fold_sampler(method, y_train, seed)
        augmented.append(sampler.fit_resample(X_train, y_train))
    return augmented


def score_unit(
    spec: StudySpec,
    test: PreparedTest,
    method: str,
    augmented: list[tuple[np.ndarray, np.ndarray]],
    fit_seconds: float,
    extras: dict | None = None,
) -> UnitResult:
    """Fit the classifier on each (augmented) training fold and score the test fold."""
    started = time.perf_counter()
    scores = []
    for fold, ((X_train, y_train), (_, _, X_test, y_test)) in enumerate(
        zip(augmented, test.fold_data, strict=True)
    ):
        if method != "none":
            X_train, y_train = shuffle(X_train, y_train, random_state=0)
        classifier = make_classifier(
            spec.evaluation.classifier, derive_seed(spec.seed, test.case.key, fold, "classifier")
        )
        rows = evaluate_fold(classifier, X_train, y_train, X_test, y_test, LABELS)
        scores += [
            {**row, "fold": fold, "class_role": ROLES[int(row["class_label"])]} for row in rows
        ]
    extras = extras or {}
    return UnitResult(
        study=spec.name,
        test_key=test.case.key,
        method=method,
        source=test.case.source,
        factors=dict(test.case.factors),
        seed=spec.seed,
        iterations=spec.cgan.iterations if method == "cgan" else None,
        classifier=spec.evaluation.classifier,
        cv=f"{spec.evaluation.cv}-{spec.evaluation.n_splits}",
        fit_seconds=fit_seconds,
        eval_seconds=time.perf_counter() - started,
        versions=library_versions(),
        scores=scores,
        samples=extras.get("samples", {}),
        losses=extras.get("losses", {}),
    )


def real_samples(test: PreparedTest) -> dict[tuple[str, int], np.ndarray]:
    """The first rows of each class of the first training fold, for the report."""
    X_train, y_train = test.training_sets()[0]
    return {("real", label): X_train[y_train == label][:N_SAMPLE_ROWS] for label in LABELS}


@cache
def library_versions() -> dict[str, str]:
    import imblearn
    import sklearn
    import torch

    return {
        "gan_oversampling": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "scikit-learn": sklearn.__version__,
        "imbalanced-learn": imblearn.__version__,
        "torch_threads": str(torch.get_num_threads()),
        "machine": platform.machine(),
    }
