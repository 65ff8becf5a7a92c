"""One unit of work: a method evaluated on every fold of one test dataset.

Every method goes through the same steps, read off its registry entry (`samplers.registry`).

The protocol of each fold: resample the training fold only (or not, for the baseline
and the methods that change how the classifier learns instead), shuffle the resampled
rows (`random_state=0`, as the original does), fit a fresh classifier (adapted by the
method's hook, if it has one: class weights, a tuned threshold, an ensemble), score each
class and the fold as a whole on the untouched test fold.

Tests crossed with several classifiers (`TestCase.crossed`) share their rows and seeds:
their training folds are resampled once, and each classifier learns from the same rows.

A unit that cannot be computed becomes a `UnitFailure` with its reason: the method failed
or diverged on a fold, it produced non-finite rows (which never reach a classifier), or
the classifier cannot be fitted (a training fold of one class, which unstratified folds
make when a test has few minority rows).

A method that appends rows to every training fold (the oversamplers of imbalanced-learn,
every generator) has the quality of its generated rows measured on each fold
(`evaluation.quality`), once per resampling like the folds themselves.
"""

from __future__ import annotations

import hashlib
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
from sklearn.utils import shuffle

from gan_oversampling import __version__
from gan_oversampling.difficulty.base import TestCase
from gan_oversampling.errors import UnitFault, UserError
from gan_oversampling.evaluation.classifiers import make_classifier
from gan_oversampling.evaluation.folds import make_folds
from gan_oversampling.evaluation.metrics import score_fitted
from gan_oversampling.evaluation.quality import generated_quality
from gan_oversampling.samplers.base import Method, Resampled, StopRecord, TrainingFold
from gan_oversampling.study.costs import WorkCosts
from gan_oversampling.study.records import UnitFailure, UnitResult
from gan_oversampling.study.spec import StudySpec

LABELS = (0, 1)
ROLES = {0: "majority", 1: "minority"}
CLASSIFIER = "classifier"  # the factor of a study that crosses several classifiers
N_SAMPLE_ROWS = 10  # rows kept per class for the report's sample grids
Progress = Callable[[float, str], None]  # (work units advanced, description)
_REASON_LIMIT = 300  # characters of a failure's reason


def derive_seed(study_seed: int, *parts: object) -> int:
    """A stable 31-bit seed for one purpose (a fold's GAN, a fold's classifier, ...)."""
    text = "/".join(str(part) for part in (study_seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") >> 1


@dataclass
class PreparedTest:
    """A test dataset cut into folds, shared by every method so all see the same folds.

    A source may scale or encode features (`make_preprocessor`); the preprocessor is then
    fitted on each training fold alone and applied to that fold's test rows. A source that
    can say how its encoded rows decode (`sample_columns`) gives `sample_columns` for the
    first training fold, whose rows the report shows.
    """

    case: TestCase
    folds: list[tuple[np.ndarray, np.ndarray]]
    fold_data: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
    sample_columns: list[dict] | None = None

    @classmethod
    def build(cls, case: TestCase, X: np.ndarray, y: np.ndarray, spec: StudySpec, source=None):
        evaluation = spec.evaluation
        folds = make_folds(y, evaluation.cv, evaluation.n_splits, evaluation.cv_seed)
        make_preprocessor = getattr(source, "make_preprocessor", None)
        fold_data, fitted = [], []
        for train, test in folds:
            X_train, X_test = X[train], X[test]
            preprocessor = make_preprocessor(case) if make_preprocessor else None
            if preprocessor is not None:
                X_train = preprocessor.fit_transform(X_train).astype(np.float32)
                X_test = preprocessor.transform(X_test).astype(np.float32)
            fold_data.append((X_train, y[train], X_test, y[test]))
            fitted.append(preprocessor)
        describe = getattr(source, "sample_columns", None)
        columns = describe(case, fitted[0]) if describe else None
        return cls(case, folds, fold_data, columns)

    def training_sets(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(X_train, y_train) for X_train, y_train, _, _ in self.fold_data]



def classifier_of(spec: StudySpec, case: TestCase) -> str:
    """The classifier a test is scored with: its `classifier` factor in a study that
    crosses several, else the study's one."""
    return str(case.factors.get(CLASSIFIER, spec.evaluation.classifiers[0]))


def training_folds(spec: StudySpec, test: PreparedTest, method: Method) -> list[TrainingFold]:
    """The test's training folds as `method` gets them: each with the rows it must generate
    (the minority class up to the majority's count) and its seeds."""
    folds = []
    for fold, (X_train, y_train) in enumerate(test.training_sets()):
        seeds = tuple(
            derive_seed(spec.seed, test.case.rows_key, fold, stream)
            for stream in method.seed_streams
        )
        folds.append(TrainingFold(X_train, y_train, minority_deficit(y_train), seeds))
    return folds


def minority_deficit(y_train: np.ndarray) -> dict[int, int]:
    """Minority rows to generate: #majority - #minority, never negative (a fold of an
    unstratified split may hold few or no minority rows)."""
    counts = np.bincount(y_train, minlength=2)
    return {1: max(0, int(counts[0] - counts[1]))}


@dataclass
class CachedFolds:
    """A test's folds as one resampling method left them, the seconds it took, and the
    quality of the rows it generated (fold -> measures; measured when first scored)."""

    folds: list[Resampled]
    fit_seconds: float
    quality: dict[int, dict] | None = None


# (resampling method, rows_key) -> that test's resampled folds.
ResampledCache = dict[tuple[str, str], CachedFolds]


def run_method(
    spec: StudySpec,
    tests: list[PreparedTest],
    method: Method,
    progress: Progress,
    cache: ResampledCache | None = None,
    costs: WorkCosts | None = None,
) -> list[UnitResult | UnitFailure]:
    """One unit per test: `method` resamples the training folds of all `tests` in one call
    (a generator trains their models as one batch), then each test is scored. Tests that
    share their rows (the classifiers of a test) are resampled once, and so are the
    methods that resample alike (`cgan` and `cgan+threshold`) when they share `cache`.
    A test whose folds break the method, or whose scoring fails, gets a `UnitFailure`.
    Progress is reported in the unit of `costs` (`study.costs`)."""
    cache = {} if cache is None else cache
    costs = costs or WorkCosts()
    shared = by_rows(tests)
    to_resample = [copies[0] for copies in shared.values()
            if (method.resampling, copies[0].case.rows_key) not in cache]
    if to_resample:
        try:
            _resample(spec, to_resample, method, progress, cache, costs)
        except Exception as exc:  # a fault of the method on these folds, not of the study
            if len(shared) > 1:
                # One test can break a whole batch; alone, each test gets its own verdict (a
                # GAN's result does not depend on its batch, so the others come out the same).
                return [unit for copies in shared.values()
                        for unit in run_method(spec, copies, method, progress, cache, costs)]
            return [failure(spec, test.case, method.name,
                            f"{method.name} failed: {reason_text(exc)}") for test in tests]
    units = []
    for test in tests:
        cached = cache[(method.resampling, test.case.rows_key)]
        units.append(_scored(spec, test, method, cached))
        fitted = [len(fold.y) for fold in cached.folds]
        seconds = costs.fits(classifier_of(spec, test.case), method, fitted)
        if seconds > 0:
            progress(seconds, f"{test.case.key} {method.name} fits")
    return units


def _resample(spec: StudySpec, tests: list[PreparedTest], method: Method, progress: Progress,
              cache: ResampledCache, costs: WorkCosts) -> None:
    """Resample the training folds of `tests` in one call into `cache`. A batch's time is
    shared evenly by its tests; each method and classifier that reuses a test's folds is
    charged that whole share, what the resampling would cost it alone."""
    folds = [fold for test in tests for fold in training_folds(spec, test, method)]
    label = tests[0].case.rows_key if len(tests) == 1 else f"{len(tests)} tests"
    description = f"{label} {method.name}" + (f" x{len(folds)}" if method.batches_tests else "")
    settings = spec.method_settings(method.name)
    # The method reports its own work units; they are scaled to what the call costs.
    nominal = method.work_per_fold(settings) * len(folds)
    planned = sum(costs.test_resampling(spec, method, [test.case.key]) for test in tests)
    scale = planned / nominal if nominal > 0 else 0.0
    result = method.resample(folds, settings, LABELS,
                             lambda work: progress(work * scale, description))
    first = 0
    for test in tests:
        resampled = result.folds[first : first + len(test.folds)]
        cache[(method.resampling, test.case.rows_key)] = CachedFolds(
            resampled, result.fit_seconds / len(tests))
        first += len(test.folds)


def _scored(spec: StudySpec, test: PreparedTest, method: Method, cached: CachedFolds
            ) -> UnitResult | UnitFailure:
    faults = [(k, fold.fault) for k, fold in enumerate(cached.folds) if fold.fault]
    if faults:
        k, fault = faults[0]
        return failure(spec, test.case, method.name, f"fold {k}: {fault}",
                       training_stops(cached.folds))
    try:
        unit = score_unit(spec, test, method, cached.folds, cached.fit_seconds)
        # After scoring, which rejects non-finite rows with its own reason. Measured once:
        # the classifiers of a test and `cgan`/`cgan+threshold` share these rows.
    except Exception as exc:
        return failure(spec, test.case, method.name, reason_text(exc))
    if cached.quality is None:
        try:
            cached.quality = fold_quality(spec, test, method, cached.folds)
        except Exception:  # a diagnostic of the rows: it never fails a scored unit
            cached.quality = {}
    unit.quality = dict(cached.quality)
    return unit


def by_rows(tests: list[PreparedTest]) -> dict[str, list[PreparedTest]]:
    """The tests grouped by the rows they share (the classifiers of one test), in order."""
    groups: dict[str, list[PreparedTest]] = {}
    for test in tests:
        groups.setdefault(test.case.rows_key, []).append(test)
    return groups


def failure(spec: StudySpec, case: TestCase, method: str, reason: str,
            stops: dict[int, StopRecord] | None = None) -> UnitFailure:
    return UnitFailure(spec.name, case.key, method, dict(case.factors), reason, stops or {})


def training_stops(resampled: list[Resampled]) -> dict[int, StopRecord]:
    """Fold -> how its GAN's training ended, for the folds of a method that trains GANs."""
    return {fold: rows.stop for fold, rows in enumerate(resampled) if rows.stop is not None}


def reason_text(error: BaseException) -> str:
    """An exception as one short line: a fault says what it is; anything else is named."""
    text = " ".join(str(error).split())
    if not isinstance(error, UnitFault | UserError):
        text = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return text if len(text) <= _REASON_LIMIT else text[: _REASON_LIMIT - 3] + "..."


def score_unit(
    spec: StudySpec,
    test: PreparedTest,
    method: Method,
    resampled: list[Resampled],
    fit_seconds: float,
) -> UnitResult:
    """Fit the classifier on each (resampled) training fold and score the test fold."""
    started = time.perf_counter()
    scores, fold_metrics = [], []
    for fold, (fold_rows, (_, _, X_test, y_test)) in enumerate(
        zip(resampled, test.fold_data, strict=True)
    ):
        X_train, y_train = fold_rows.X, fold_rows.y
        if method.resamples:
            # The original shuffles the augmented rows before fitting.
            X_train, y_train = shuffle(X_train, y_train, random_state=0)
        if not np.isfinite(np.asarray(X_train, dtype=np.float64)).all():
            raise UnitFault(f"fold {fold}: {method.name} produced rows that are not finite "
                            "numbers (NaN or infinity)")
        classifier = fold_classifier(spec, test.case, method, fold)
        try:
            classifier.fit(X_train, y_train)
            rows, overall = score_fitted(classifier, X_test, y_test, LABELS)
        except Exception as exc:
            raise UnitFault(_fit_failure(spec, test.case, fold, y_train, exc)) from exc
        scores += [
            {**row, "fold": fold, "class_role": ROLES[int(row["class_label"])]} for row in rows
        ]
        fold_metrics.append({"fold": fold, **overall})
    return UnitResult(
        study=spec.name,
        test_key=test.case.key,
        method=method.name,
        source=test.case.source,
        factors=dict(test.case.factors),
        seed=spec.seed,
        iterations=method.iterations(spec.method_settings(method.name)),
        classifier=classifier_of(spec, test.case),
        cv=f"{spec.evaluation.cv}-{spec.evaluation.n_splits}",
        fit_seconds=fit_seconds,
        eval_seconds=time.perf_counter() - started,
        versions=library_versions(),
        scores=scores,
        fold_metrics=fold_metrics,
        samples=_report_samples(test, method, resampled),
        sample_columns=test.sample_columns,
        losses={f: r.losses for f, r in enumerate(resampled) if r.losses is not None},
        loss_names=method.loss_names,
        stops=training_stops(resampled),
    )


def fold_quality(spec: StudySpec, test: PreparedTest, method: Method,
                 resampled: list[Resampled]) -> dict[int, dict]:
    """Fold -> the quality of its generated rows (`evaluation.quality`): the label-1 rows
    appended to the training fold. Only for a method that keeps every training fold's rows
    as they were, in order, and appends rows to at least one; {} for the others (the
    baseline, the methods that change the classifier, undersampling, and the oversamplers
    that clean rows afterwards, such as SMOTE-Tomek: their added rows are not all there is).
    """
    if not method.resamples:
        return {}
    kept = [_keeps_rows(rows, X_train, y_train)
            for rows, (X_train, y_train) in zip(resampled, test.training_sets(), strict=True)]
    if not all(kept):
        return {}
    quality = {}
    for fold, (rows, (X_train, y_train, X_test, y_test)) in enumerate(
        zip(resampled, test.fold_data, strict=True)
    ):
        n_real = len(y_train)
        if len(rows.y) > n_real:
            generated = rows.X[n_real:][np.asarray(rows.y[n_real:]) == 1]
            seed = derive_seed(spec.seed, test.case.rows_key, fold, "quality")
            quality[fold] = generated_quality(X_train, y_train, generated, X_test, y_test,
                                              seed=seed).as_dict()
    return quality


def _keeps_rows(rows: Resampled, X_train: np.ndarray, y_train: np.ndarray) -> bool:
    """Whether the resampled fold starts with the training fold's rows, unchanged."""
    n_real = len(y_train)
    return (len(rows.y) >= n_real and np.array_equal(rows.y[:n_real], y_train)
            and np.array_equal(rows.X[:n_real], X_train))


def fold_classifier(spec: StudySpec, case: TestCase, method: Method, fold: int):
    """A fresh classifier for one fold, seeded from the test's rows and the fold, adapted
    by the method's hook (with its own seed) when it has one."""
    classifier = make_classifier(
        classifier_of(spec, case), derive_seed(spec.seed, case.rows_key, fold, "classifier")
    )
    if method.adapt_classifier is None:
        return classifier
    seed = derive_seed(spec.seed, case.rows_key, fold, method.adapter)
    return method.adapt_classifier(classifier, spec.method_settings(method.adapter), seed)


def _fit_failure(spec: StudySpec, case: TestCase, fold: int, y_train: np.ndarray,
                 error: Exception) -> str:
    classifier = classifier_of(spec, case)
    present = np.unique(y_train)
    if len(present) == 1:
        role = ROLES.get(int(present[0]), f"class {present[0]}")
        hint = ("; stratified folds (evaluation.cv = \"stratified\") keep both classes in "
                "every fold" if spec.evaluation.cv == "kfold" else "")
        return (f"fold {fold}: the training fold holds only the {role} class; the "
                f"{classifier} classifier cannot be fitted on one class{hint}")
    return f"fold {fold}: the {classifier} classifier failed: {reason_text(error)}"


def _report_samples(test: PreparedTest, method: Method, resampled: list[Resampled]) -> dict:
    """Real rows (with the baseline) or real and generated rows (with a generator) of the
    first fold, for the report's sample grids; nothing for the other methods."""
    if method.kind not in ("baseline", "generative"):
        return {}
    samples = real_samples(test)
    if method.kind == "generative":
        n_real = len(test.training_sets()[0][1])
        first = resampled[0]
        generated = first.X[n_real:][first.y[n_real:] == 1][:N_SAMPLE_ROWS]
        samples[("generated", 1)] = np.asarray(generated, dtype=np.float32)
    return samples


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
