"""The data complexity measures of a study's tests (its `[complexity]` table), computed once
per test and stored, so that the report can set the generators' gains against them.

A test is measured on its whole test dataset, encoded and scaled as the classifier sees it:
a source that scales per training fold has its scaler fitted on the whole test dataset for
this purpose alone (the measures describe the test; no model is trained on them). Measures
already stored are not computed again: a study that asks for more measures later, or is
interrupted, computes only what is missing.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gan_oversampling.difficulty.base import TestCase
from gan_oversampling.difficulty.complexity import measure_test
from gan_oversampling.study.spec import StudySpec
from gan_oversampling.study.store import ResultsStore
from gan_oversampling.study.units import derive_seed


def measure_tests(spec: StudySpec, source, cases: list[TestCase], store: ResultsStore,
                  progress: Callable[[str], None] = lambda description: None) -> int:
    """Compute and store the measures the study asks for and `store` lacks, test by test
    (each test in one transaction); returns the number of tests measured."""
    settings = spec.complexity
    if settings is None:
        return 0
    stored = store.complexity_frame(spec.name).groupby("test_key")["measure"].agg(set)
    measured = 0
    for case in cases:
        missing = [name for name in settings.measures if name not in stored.get(case.key, ())]
        if not missing:
            continue
        progress(f"{case.key} complexity")
        X, y = measured_rows(source, case)
        seed = derive_seed(spec.seed, case.key, "complexity")
        store.write_measures(spec.name, case.key,
                             measure_test(X, y, missing, seed, settings.max_rows))
        measured += 1
    return measured


def measured_rows(source, case: TestCase) -> tuple[np.ndarray, np.ndarray]:
    """The test dataset of `case` as numbers: encoded and scaled on the whole test dataset
    where the source scales per fold."""
    X, y = source.load(case)
    make_preprocessor = getattr(source, "make_preprocessor", None)
    preprocessor = make_preprocessor(case) if make_preprocessor else None
    if preprocessor is not None:
        X = preprocessor.fit_transform(X)
    return np.asarray(X, dtype=np.float64), y
