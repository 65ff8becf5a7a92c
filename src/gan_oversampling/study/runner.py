"""Run a study: every pending (test, method) unit, grouped so CGANs train many at once.

Tests that share a feature count are grouped, and the CGANs of all their training folds
train as one batched computation. A GAN's result does not depend on its group, so the
grouping changes speed, never results. Each unit is stored as soon as it is finished;
a unit that cannot be computed is stored as failed, with its reason, and the rest go on.

`check_study` does everything that can be checked before training (data, test selection,
folds of every selected test) and writes nothing; `run_study` calls it unless handed its
result, so a caller can check a study before creating its results file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np

from gan_oversampling.difficulty import complexity
from gan_oversampling.difficulty.base import REPEAT, TestCase
from gan_oversampling.errors import UserError
from gan_oversampling.evaluation.classifiers import make_classifier
from gan_oversampling.evaluation.folds import make_folds
from gan_oversampling.samplers.registry import get_method
from gan_oversampling.study.costs import WorkCosts
from gan_oversampling.study.executors import Executor, InlineExecutor
from gan_oversampling.study.measures import measure_tests
from gan_oversampling.study.records import UnitFailure, UnitResult
from gan_oversampling.study.spec import StudySpec
from gan_oversampling.study.store import ResultsStore
from gan_oversampling.study.units import (
    CLASSIFIER,
    PreparedTest,
    Progress,
    ResampledCache,
    by_rows,
    classifier_of,
    derive_seed,
    failure,
    reason_text,
    run_method,
)


@dataclass(frozen=True)
class RunStarted:
    """What a run will do, sent before any work: tests selected, units done and to run."""

    study: str
    n_tests: int
    n_methods: int
    n_done: int
    n_pending: int
    total_work: float  # progress units, the sum of every later WorkDone's `work`
    subset_of: str | None
    n_failed_before: int = 0  # units that failed in an earlier run and are not retried
    n_draws: int = 1  # draws (repeats) of each test selected; n_tests counts every draw


@dataclass(frozen=True)
class WorkDone:
    work: float
    description: str


@dataclass(frozen=True)
class UnitFailed:
    """A unit could not be computed; it is stored as failed and the run goes on."""

    test_key: str
    method: str
    reason: str


@dataclass(frozen=True)
class UnitFinished:
    """A unit's results are stored."""

    test_key: str
    method: str


ProgressEvent = RunStarted | WorkDone | UnitFailed | UnitFinished


@dataclass(frozen=True)
class CheckedStudy:
    """A study whose data, test selection and folds have been checked (`check_study`)."""

    spec: StudySpec
    source: object
    cases: list[TestCase]


@dataclass
class RunPlan:
    """What a run will do: the selected tests and, per test, the methods still to run."""

    pending: list[tuple[TestCase, list[str]]]
    n_selected: int
    n_done: int
    n_failed: int = 0  # failed before and skipped

    def work(self, spec: StudySpec, costs: WorkCosts | None = None) -> float:
        """Total work in the progress unit of `costs` (estimated seconds; nominal work
        units without timings, see `study.costs`): each unit's classifier fits, and each
        test's resampling once per resampling method, since the classifiers of a test and
        the methods that resample alike (`cgan`, `cgan+threshold`) share its resampled
        folds."""
        costs = costs or WorkCosts()
        resampled = {(case.rows_key, get_method(m).resampling): (case, m)
                     for case, methods in self.pending for m in methods}
        total = sum(costs.test_resampling(spec, get_method(m), [case.key])
                    for case, m in resampled.values())
        return total + sum(costs.unit_fits(spec, case, get_method(m), classifier_of(spec, case))
                           for case, methods in self.pending for m in methods)


def run_study(
    spec: StudySpec,
    store: ResultsStore,
    executor: Executor | None = None,
    on_progress: Callable[[ProgressEvent], None] | None = None,
    *,
    data_dir: Path | None = None,
    filters: dict[str, list[str]] | None = None,
    max_gans: int = 20,
    checked: CheckedStudy | None = None,
    retry_failed: bool = False,
    costs: WorkCosts | None = None,
) -> int:
    """Run what is pending of `spec` into `store` on `executor` (default: this process);
    returns the number of units written with results. No output: `on_progress` gets a
    `RunStarted`, then `WorkDone` events as work finishes, a `UnitFinished` for each unit
    stored and a `UnitFailed` for each unit that fails (None: no events). `checked`: the
    result of `check_study` (else it is called here). Units that failed in an earlier run
    are skipped unless `retry_failed`. The data complexity measures the study asks for
    are computed first, for every selected test that lacks them (study/measures.py).
    `costs` (timed by `study.plan`) weigh the progress events, so that an ETA counts every
    piece of work in seconds; without them the work is counted in nominal units."""
    on_progress = on_progress or (lambda event: None)
    if checked is None:
        checked = check_study(spec, data_dir=data_dir, filters=filters)
    store.register_study(spec.name, spec.settings_hash(), spec.model_dump_json())
    plan = plan_run(spec, store, checked.cases, retry_failed=retry_failed)
    on_progress(
        RunStarted(
            spec.name, plan.n_selected, len(spec.methods), plan.n_done,
            sum(len(methods) for _, methods in plan.pending), plan.work(spec, costs),
            spec.subset_of,
            plan.n_failed, len({case.factors.get(REPEAT, 0) for case in checked.cases}),
        )
    )
    measure_tests(spec, checked.source, checked.cases, store,
                  lambda description: on_progress(WorkDone(0.0, description)))
    if not plan.pending:
        return 0
    return run_pending(
        spec, checked.source, plan, store,
        lambda work, description: on_progress(WorkDone(work, description)),
        executor, max_gans, on_unit=on_progress, costs=costs,
    )


def check_study(
    spec: StudySpec,
    *,
    data_dir: Path | None = None,
    filters: dict[str, list[str]] | None = None,
) -> CheckedStudy:
    """Everything that can be checked before training, writing nothing: the methods' and
    classifiers' packages, the data source, the leak guard of a tabular source (a feature
    that alone separates the classes), the selected tests (`filters`), and the folds of
    every selected test (too many stratified folds for a class shows here). UserError on
    the first problem."""
    for name in spec.methods:
        get_method(name).check_available()
    for name in spec.evaluation.classifiers:
        make_classifier(name, 0)  # a classifier of an optional package that is missing
    if spec.complexity is not None:
        complexity.check_available()
    source = spec.data.build_source(data_dir)
    listed = select_listed(source.cases(), spec.tests)
    crossed = crossed_cases(listed, spec.evaluation.classifiers)
    cases = select_cases(repeated_cases(crossed, spec.seed, spec.repeats), filters or {})
    check_leaks = getattr(source, "check_leaks", None)
    if check_leaks is not None:
        check_leaks()
    evaluation = spec.evaluation
    for case in cases:
        _, y = source.load(case)
        try:
            make_folds(y, evaluation.cv, evaluation.n_splits, evaluation.cv_seed)
        except UserError as exc:
            raise UserError(f"test {case.key}: {exc}") from None
    return CheckedStudy(spec, source, cases)


def draw_seed(study_seed: int, repeat: int) -> int:
    """The seed that draws the rows of a test's `repeat`: the published protocol's 0 for
    the first draw of study seed 0 (so the paper presets keep their data), else a seed
    derived from both, so that every (seed, repeat) draws other rows."""
    if study_seed == 0 and repeat == 0:
        return 0
    return derive_seed(study_seed, "draw", repeat)


def repeated_cases(cases: list[TestCase], study_seed: int, repeats: int) -> list[TestCase]:
    """Each test `repeats` times, each draw with its own seed (`draw_seed`), the draws of
    a test next to each other."""
    return [
        case.repeated(repeat, draw_seed(study_seed, repeat), numbered=repeats > 1)
        for case in cases
        for repeat in range(repeats)
    ]


def crossed_cases(cases: list[TestCase], classifiers: list[str]) -> list[TestCase]:
    """Each test once per classifier when a study names several (the classifier becomes a
    factor, the key gets its name: `tor-n100-ir0.1-lightgbm`); the tests as they are for
    one. The classifiers of a test share its rows, folds and resampled folds."""
    if len(classifiers) == 1:
        return cases
    return [case.crossed(CLASSIFIER, name) for case in cases for name in classifiers]


def select_cases(cases: list[TestCase], filters: dict[str, list[str]]) -> list[TestCase]:
    """Keep the tests whose factors match every filter (`side=4`, `n_majority=100,1000`)."""
    if not cases or not filters:
        return cases
    known = list(cases[0].factors)
    for factor in filters:
        if factor not in known:
            raise UserError(f"unknown factor '{factor}' in filter; known: {', '.join(known)}")
    selected = [
        case
        for case in cases
        if all(_level_matches(case.factors[f], wanted) for f, wanted in filters.items())
    ]
    if not selected:
        shown = " ".join(f"{f}={','.join(v)}" for f, v in filters.items())
        raise UserError(f"no test of the study matches the filter {shown}")
    return selected


def select_listed(cases: list[TestCase], points: list[dict] | None) -> list[TestCase]:
    """The tests a study lists (a fractional design); each listed point must exist."""
    if points is None:
        return cases
    selected = []
    for point in points:
        wanted = {factor: [str(level)] for factor, level in point.items()}
        matches = select_cases(cases, wanted) if cases else []
        selected += [case for case in matches if case not in selected]
    return [case for case in cases if case in selected]


def _level_matches(level, wanted: list[str]) -> bool:
    for text in wanted:
        try:
            if float(text) == float(level):
                return True
        except (TypeError, ValueError):
            if str(level) == text:
                return True
    return False


def plan_run(
    spec: StudySpec, store: ResultsStore, cases: list[TestCase], *, retry_failed: bool = False
) -> RunPlan:
    """The units still to run. A failed unit is skipped unless `retry_failed`: its fault
    (a diverged GAN, a one-class fold) comes back with the same seed and data."""
    done = store.done_units(spec.name)
    skipped = set() if retry_failed else set(store.failed_units(spec.name))
    pending = []
    for case in cases:
        methods = [m for m in spec.methods if (case.key, m) not in done | skipped]
        if methods:
            pending.append((case, methods))
    n_done = sum(1 for case in cases for m in spec.methods if (case.key, m) in done)
    n_failed = sum(1 for case in cases for m in spec.methods if (case.key, m) in skipped)
    return RunPlan(pending=pending, n_selected=len(cases), n_done=n_done, n_failed=n_failed)


def run_pending(
    spec: StudySpec,
    source,
    plan: RunPlan,
    store: ResultsStore,
    progress: Progress,
    executor: Executor | None = None,
    max_gans: int = 20,
    on_unit: Callable[[UnitFinished | UnitFailed], None] | None = None,
    costs: WorkCosts | None = None,
) -> int:
    """Run every pending unit on `executor` (default: this process); returns how many units
    were written with results. Units are written here, one transaction each, as they
    arrive, and reported to `on_unit` once written; a failed unit is recorded as such."""
    executor = executor or InlineExecutor()
    groups = list(batch_groups(plan.pending, max_gans, spec, executor.n_workers))
    on_unit = on_unit or (lambda event: None)
    written = 0

    def write(unit: UnitResult | UnitFailure) -> None:
        nonlocal written
        if isinstance(unit, UnitFailure):
            store.write_failure(unit)
            on_unit(UnitFailed(unit.test_key, unit.method, unit.reason))
            return
        store.write_unit(unit)
        written += 1
        on_unit(UnitFinished(unit.test_key, unit.method))

    executor.run(partial(compute_group, spec, source, costs=costs or WorkCosts()), groups,
                 write, progress)
    return written


def compute_group(
    spec: StudySpec, source, group: list, progress: Progress, costs: WorkCosts | None = None
) -> Iterator[UnitResult | UnitFailure]:
    """The units of one group, each as soon as it is finished: test by test the methods
    that resample fold by fold, then each method that batches tests, for all the group's
    tests at once (their GANs train as one batch). A test that cannot be prepared fails
    every unit of it."""
    tests, prepared = [], {}
    for case, methods in group:
        try:
            if case.rows_key not in prepared:  # the classifiers of a test share its folds
                prepared[case.rows_key] = PreparedTest.build(case, *source.load(case), spec,
                                                             source)
            tests.append(replace(prepared[case.rows_key], case=case))
        except Exception as exc:  # one test's data must not stop the others
            reason = f"preparing the test failed: {reason_text(exc)}"
            for name in methods:
                yield failure(spec, case, name, reason)
    methods_of = {case.key: methods for case, methods in group}
    cache: ResampledCache = {}  # each test's folds, resampled once per resampling method
    for copies in by_rows(tests).values():
        for name in spec.methods:
            method = get_method(name)
            pending = [test for test in copies if name in methods_of[test.case.key]]
            if not method.batches_tests and pending:
                yield from run_method(spec, pending, method, progress, cache, costs)
    for name in spec.methods:
        method = get_method(name)
        batch = [test for test in tests if name in methods_of[test.case.key]]
        if method.batches_tests and batch:
            yield from run_method(spec, batch, method, progress, cache, costs)


def batch_groups(pending, max_gans: int, spec: StudySpec, n_workers: int = 1) -> Iterable[list]:
    """Tests with the same feature count, up to `max_gans` CGANs per group.

    With several workers, a feature count's tests are cut into a multiple of the number
    of workers of equal-sized groups (where it has that many tests), so that no worker
    is left alone with a last group while the others idle.
    """
    limit = max(1, max_gans // spec.evaluation.n_splits)
    workers = max(1, n_workers)
    by_features: dict = {}
    for case, methods in sorted(pending, key=lambda item: str(_feature_count(item[0]))):
        # The classifiers of a test stay in one group: its folds are resampled once.
        rows = by_features.setdefault(_feature_count(case), {})
        rows.setdefault(case.rows_key, []).append((case, methods))
    for bundles in by_features.values():
        tests = list(bundles.values())
        n_groups = -(-len(tests) // limit)
        n_groups = min(len(tests), -(-n_groups // workers) * workers)
        bounds = np.linspace(0, len(tests), n_groups + 1).round().astype(int)
        for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
            yield [item for copies in tests[start:stop] for item in copies]


def _feature_count(case: TestCase):
    return case.factors.get("features", case.factors.get("dataset", case.key))
