"""What a study will run, seen before it runs: its tests, their folds and an estimated time.

`plan_tests` reads each selected test and cuts it into the folds a run cuts
(`units.PreparedTest`), so its counts are the run's own. `estimate_wall_time` times the
study's own work on this machine for a moment (a few CGAN iterations of each batch shape,
one resample per resampling method, one fit of each classifier as each method adapts it:
plain, class-weighted, with a tuned threshold, in an ensemble) and scales it to the
study's iterations and rows. It also measures how fast several busy workers run here
against one alone: on a machine shared with other jobs, two workers may split one core's
worth between them.
Nothing is trained to the end and nothing is written.
"""

from __future__ import annotations

import heapq
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from gan_oversampling.evaluation.classifiers import make_classifier
from gan_oversampling.samplers.base import Method
from gan_oversampling.samplers.registry import get_method
from gan_oversampling.study.costs import WorkCosts
from gan_oversampling.study.runner import CheckedStudy, batch_groups
from gan_oversampling.study.units import LABELS, PreparedTest, classifier_of, training_folds

# Training steps timed per batch shape: the difference of the two runs gives the time of
# a step without the fixed costs (setting up, generating), which are counted once.
SHORT_STEPS, LONG_STEPS = 2, 10
# The probe of parallel speed: products of this size, this many per worker (~0.2 s alone).
_PROBE_SIDE, _PROBE_PRODUCTS = 384, 100


@dataclass(frozen=True)
class TestPlan:
    """One test as a run will see it; rows per class of each training and test fold."""

    __test__ = False  # not a pytest class

    key: str
    n_features: int  # after encoding, as methods and classifier get them
    majority_rows: int
    minority_rows: int
    train_rows: tuple[tuple[int, int], ...]  # (majority, minority) per training fold
    test_minority_rows: tuple[int, ...]  # minority rows per test fold

    @property
    def min_minority_per_test_fold(self) -> int:
        return min(self.test_minority_rows)


@dataclass(frozen=True)
class WallTime:
    """An estimated wall time, with what it assumes."""

    seconds: float
    workers: int
    threads: int
    device: str
    parallel_speed: float = 1.0  # of each busy worker, against one alone (see the module)
    untimed: tuple[str, ...] = ()  # methods that could not be timed (left out)
    costs: WorkCosts = field(default_factory=WorkCosts)  # what it was computed from


def product_precisions(spec) -> dict[str, tuple[str, str]]:
    """Method -> (dtype, why) of its matrix products, for the methods that train networks
    (`dtype = "auto"` resolved as a run resolves it on this machine)."""
    found = {}
    for name in spec.methods:
        precision = get_method(name).precision(spec.method_settings(name))
        if precision is not None:
            found[name] = precision
    return found


def plan_tests(checked: CheckedStudy) -> list[TestPlan]:
    """Every selected test of a checked study with the counts of its real folds."""
    return [_test_plan(_prepared(checked, case)) for case in checked.cases]


def _prepared(checked: CheckedStudy, case) -> PreparedTest:
    return PreparedTest.build(case, *checked.source.load(case), checked.spec, checked.source)


def _test_plan(test: PreparedTest) -> TestPlan:
    counts = [(np.bincount(y_train, minlength=2), np.bincount(y_test, minlength=2))
              for _, y_train, _, y_test in test.fold_data]
    whole = counts[0][0] + counts[0][1]
    return TestPlan(
        key=test.case.key,
        n_features=int(test.fold_data[0][0].shape[1]),
        majority_rows=int(whole[0]),
        minority_rows=int(whole[1]),
        train_rows=tuple((int(train[0]), int(train[1])) for train, _ in counts),
        test_minority_rows=tuple(int(test_counts[1]) for _, test_counts in counts),
    )


def estimate_wall_time(checked: CheckedStudy, tests: list[TestPlan], *, workers: int,
                       threads: int, max_gans: int) -> WallTime:
    """The run's wall time on `workers` processes of `threads` torch threads, from a short
    timing of the study's own work here and now (see the module docstring); its `costs`
    are what a run's progress and ETA count in."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        groups, untimed, costs = _group_costs(checked, tests, workers, max_gans)
        speed = parallel_speed(workers)
    finally:
        torch.set_num_threads(previous)
    return WallTime(_makespan(groups, workers) / speed, workers, threads,
                    str(checked.spec.device), speed, tuple(untimed), costs)


def parallel_speed(workers: int) -> float:
    """How fast each of `workers` busy threads computes here, against one alone (at most 1).

    Threads of this process stand in for the run's worker processes: matrix products
    release Python's lock, and the operating system shares the machine among threads and
    processes alike."""
    if workers <= 1:
        return 1.0
    import torch

    generator = torch.Generator().manual_seed(0)
    left, right = torch.randn(2, _PROBE_SIDE, _PROBE_SIDE, generator=generator).unbind()

    def products() -> None:
        for _ in range(_PROBE_PRODUCTS):
            torch.mm(left, right)

    products()  # warm up
    started = time.perf_counter()
    products()
    alone = time.perf_counter() - started
    threads = [threading.Thread(target=products) for _ in range(workers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    together = time.perf_counter() - started
    return min(1.0, alone / together)


def time_work(checked: CheckedStudy, tests: list[TestPlan], workers: int, max_gans: int
              ) -> tuple[WorkCosts, list[str]]:
    """What each piece of the study's work costs here (`WorkCosts`), and the methods that
    could not be timed."""
    spec = checked.spec
    plans = {plan.key: plan for plan in tests}
    largest = max(checked.cases, key=lambda case: sum(plans[case.key].train_rows[0]))
    fit_per_row, resample_per_row, untimed = _per_row_costs(spec, _prepared(checked, largest))
    batch_cost = _BatchCost(checked)
    for group in batch_groups([(case, spec.methods) for case in checked.cases], max_gans, spec,
                              workers):
        shared = list({case.rows_key: case for case, _ in group}.values())
        for name in _resamplings(spec):
            if get_method(name).batches_tests:
                batch_cost(name, shared, plans[shared[0].key].n_features)
    folds = {plan.key: (plan.n_features, plan.train_rows) for plan in tests}
    costs = WorkCosts(fit_per_row, resample_per_row, dict(batch_cost.seconds), folds)
    return costs, sorted(set(untimed + batch_cost.untimed))


def _group_costs(checked: CheckedStudy, tests: list[TestPlan], workers: int, max_gans: int
                 ) -> tuple[list[float], list[str], WorkCosts]:
    """Seconds of each group of the run, in the order a run hands groups to workers; the
    methods that could not be timed; the costs they were computed from."""
    costs, untimed = time_work(checked, tests, workers, max_gans)
    spec = checked.spec
    groups = [_group_seconds(spec, costs, group) for group in
              batch_groups([(case, spec.methods) for case in checked.cases], max_gans, spec,
                           workers)]
    return groups, untimed, costs


def _group_seconds(spec, costs: WorkCosts, group: list) -> float:
    """Seconds of one group of the run: every unit's fits, and each resampling once per
    test (the classifiers of a test share its resampled folds)."""
    cases = [case for case, _ in group]
    seconds = sum(costs.unit_fits(spec, case, get_method(name), classifier_of(spec, case))
                  for case in cases for name in spec.methods)
    shared = [case.key for case in {case.rows_key: case for case in cases}.values()]
    for name in _resamplings(spec):
        seconds += costs.test_resampling(spec, get_method(name), shared)
    return seconds


def _resamplings(spec) -> list[str]:
    """The registry entries that resample in a study: methods that share one (`cgan` and
    `cgan+threshold`) share its resampled folds in a run, so it is counted once."""
    return list(dict.fromkeys(get_method(name).resampling for name in spec.methods))


def _per_row_costs(spec, test: PreparedTest) -> tuple[dict, dict, list[str]]:
    """Seconds per training row: of one fit of each classifier as each method adapts it,
    and of each method that resamples fold by fold, timed on the first training fold of
    the largest test."""
    X_train, y_train = test.training_sets()[0]
    fits = _classifier_costs(spec, X_train, y_train)
    costs: dict = {}
    untimed = []
    for name in _resamplings(spec):
        method = get_method(name)
        if method.batches_tests:
            continue
        folds = training_folds(spec, test, method)[:1]
        try:
            seconds = _training_seconds(method, spec.method_settings(name), folds)
        except Exception:  # a method that fails here fails in the run too
            untimed.append(name)
            continue
        costs[name] = seconds / len(y_train)
    return fits, costs, untimed


def _classifier_costs(spec, X: np.ndarray, y: np.ndarray) -> dict:
    """(classifier, adapter) -> seconds per row of one fit of the classifier as the method
    `adapter` adapts it (None: as it is), on the fold balanced (its minority rows
    repeated), as after oversampling. Each classifier is fitted once on a few rows first,
    so that its first call's costs (imports, setting up) are not counted."""
    minority = np.flatnonzero(y == 1)
    extra = np.resize(minority, max(0, int((y == 0).sum()) - len(minority)))
    balanced = np.concatenate([np.arange(len(y)), extra])
    warm_up = np.concatenate([np.flatnonzero(y == 0)[:32], minority[:32]])
    adapters = {get_method(name).adapter for name in spec.methods}
    costs = {}
    for classifier in spec.evaluation.classifiers:
        make_classifier(classifier, 0).fit(X[warm_up], y[warm_up])
        for adapter in adapters:
            costs[classifier, adapter] = _classifier_seconds_per_row(
                spec, classifier, adapter, X[balanced], y[balanced])
    return costs


def _classifier_seconds_per_row(spec, classifier: str, adapter: str | None, X: np.ndarray,
                                y: np.ndarray) -> float:
    """One fit on `X`, `y` per row, the classifier adapted as the method `adapter` adapts
    it."""
    fresh = make_classifier(classifier, 0)
    if adapter is not None:
        fresh = get_method(adapter).adapt_classifier(fresh, spec.method_settings(adapter), 0)
    started = time.perf_counter()
    fresh.fit(X, y)
    return (time.perf_counter() - started) / len(y)


def _training_seconds(method: Method, settings, folds) -> float:
    """Seconds of `method` on `folds`; a method that trains is timed for SHORT_STEPS and
    LONG_STEPS steps, and the difference scaled to its full count of steps."""
    def timed(run_settings) -> float:
        started = time.perf_counter()
        method.resample(folds, run_settings, LABELS)
        return time.perf_counter() - started

    steps = getattr(settings, method.training_steps or "", None)
    if steps is None or steps <= LONG_STEPS:
        return timed(settings)
    short = timed(settings.model_copy(update={method.training_steps: SHORT_STEPS}))
    long = timed(settings.model_copy(update={method.training_steps: LONG_STEPS}))
    per_step = max(0.0, long - short) / (LONG_STEPS - SHORT_STEPS)
    return max(0.0, short - SHORT_STEPS * per_step) + per_step * steps


class _BatchCost:
    """Seconds of a method that trains a group's folds as one batch, timed once per batch
    shape (folds, features) on the first group of that shape."""

    def __init__(self, checked: CheckedStudy):
        self.checked = checked
        self.seconds: dict[tuple, float] = {}
        self.untimed: list[str] = []

    def __call__(self, name: str, cases: list, n_features: int) -> float:
        spec = self.checked.spec
        shape = (name, len(cases) * spec.evaluation.n_splits, n_features)
        if shape not in self.seconds:
            self.seconds[shape] = self._time(name, cases)
        return self.seconds[shape]

    def _time(self, name: str, cases: list) -> float:
        spec, method = self.checked.spec, get_method(name)
        tests = [_prepared(self.checked, case) for case in cases]
        folds = [fold for test in tests for fold in training_folds(spec, test, method)]
        settings = spec.method_settings(name)
        if not self.seconds:  # the first one pays for starting up: not counted
            _warm_up(method, settings, folds[:1])
        try:
            return _training_seconds(method, settings, folds)
        except Exception:  # a batch that fails here fails in the run too
            self.untimed.append(name)
            return 0.0


def _warm_up(method: Method, settings, folds) -> None:
    steps = {method.training_steps: 1} if method.training_steps else {}
    try:
        method.resample(folds, settings.model_copy(update=steps), LABELS)
    except Exception:  # timed again, and reported, by the caller
        return


def _makespan(costs: list[float], workers: int) -> float:
    """When the last of `workers` is done, each taking the next group as it gets free."""
    finish = [0.0] * max(1, workers)
    for seconds in costs:
        heapq.heapreplace(finish, finish[0] + seconds)
    return max(finish)

