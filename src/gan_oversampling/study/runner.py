"""Run a study: every pending (test, method) unit, grouped so CGANs train many at once.

Tests that share a feature count are grouped, and the CGANs of all their training folds
train as one batched computation. A GAN's result does not depend on its group, so the
grouping changes speed, never results. Each unit is stored as soon as it is finished.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from gan_oversampling.difficulty.base import TestCase
from gan_oversampling.errors import UserError
from gan_oversampling.gan.train import train_cgans
from gan_oversampling.samplers.cgan import oversample_with_trained
from gan_oversampling.study.executors import Executor, InlineExecutor
from gan_oversampling.study.spec import StudySpec
from gan_oversampling.study.store import ResultsStore, UnitResult
from gan_oversampling.study.units import (
    N_SAMPLE_ROWS,
    PreparedTest,
    derive_seed,
    fold_augment,
    real_samples,
    score_unit,
)

Progress = Callable[[float, str], None]  # (work units advanced, description)


@dataclass
class RunOptions:
    db_path: Path
    data_dir: Path | None = None
    filters: dict[str, list[str]] = field(default_factory=dict)
    max_gans_per_batch: int = 20  # CGANs trained as one computation (several tests' folds)


@dataclass
class RunPlan:
    """What a run will do: the selected tests and, per test, the methods still to run."""

    pending: list[tuple[TestCase, list[str]]]
    n_selected: int
    n_done: int

    def work(self, spec: StudySpec) -> float:
        """Total work in progress-bar units: a CGAN fold counts its iterations / 100."""
        per_fold = {m: (spec.cgan.iterations / 100 if m == "cgan" else 1.0) for m in spec.methods}
        n_folds = spec.evaluation.n_splits
        return sum(per_fold[m] * n_folds for _, methods in self.pending for m in methods)


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


def plan_run(spec: StudySpec, store: ResultsStore, cases: list[TestCase]) -> RunPlan:
    done = store.done_units(spec.name)
    pending = []
    for case in cases:
        methods = [m for m in spec.methods if (case.key, m) not in done]
        if methods:
            pending.append((case, methods))
    n_done = sum(1 for case in cases for m in spec.methods if (case.key, m) in done)
    return RunPlan(pending=pending, n_selected=len(cases), n_done=n_done)


def run_pending(
    spec: StudySpec,
    source,
    plan: RunPlan,
    store: ResultsStore,
    options: RunOptions,
    progress: Progress,
    executor: Executor | None = None,
) -> int:
    """Run every pending unit on `executor` (default: this process); returns how many units
    were written. Units are written here, one transaction each, as they arrive."""
    executor = executor or InlineExecutor()
    groups = list(
        _groups(plan.pending, options.max_gans_per_batch, spec, executor.n_workers)
    )
    written = 0

    def write(unit: UnitResult) -> None:
        nonlocal written
        store.write_unit(unit)
        written += 1

    executor.run(partial(compute_group, spec, source), groups, write, progress)
    return written


def compute_group(spec: StudySpec, source, group: list, progress: Progress) -> Iterator[UnitResult]:
    """The units of one group, each as soon as it is finished: the other methods test by
    test, then the CGAN unit of every test, their CGANs trained as one batch."""
    tests = [PreparedTest.build(case, *source.load(case), spec, source) for case, _ in group]
    methods_of = {case.key: methods for case, methods in group}
    for test in tests:
        for method in methods_of[test.case.key]:
            if method == "cgan":
                continue
            started = time.perf_counter()
            augmented = fold_augment(spec, test, method)
            unit = score_unit(spec, test, method, augmented, time.perf_counter() - started)
            if method == "none":
                unit.samples = real_samples(test)
            progress(spec.evaluation.n_splits, f"{test.case.key} {method}")
            yield unit
    cgan_tests = [t for t in tests if "cgan" in methods_of[t.case.key]]
    if cgan_tests:
        yield from _cgan_group_units(spec, cgan_tests, progress)


def _cgan_group_units(spec, tests: list[PreparedTest], progress) -> Iterator[UnitResult]:
    """Train the CGANs of every fold of these tests as one batch, then score each test."""
    train_sets, seeds = [], []
    for test in tests:
        train_sets += test.training_sets()
        seeds += [derive_seed(spec.seed, test.case.key, f, "cgan") for f in range(len(test.folds))]
    label = tests[0].case.key if len(tests) == 1 else f"{len(tests)} tests"
    n_gans = len(train_sets)

    reported = 0

    def on_iteration(done_iterations: int) -> None:
        nonlocal reported
        if done_iterations - reported >= 10 or done_iterations == spec.cgan.iterations:
            progress(n_gans * (done_iterations - reported) / 100, f"{label} cgan x{n_gans}")
            reported = done_iterations

    started = time.perf_counter()
    trained = train_cgans(train_sets, 2, spec.cgan, seeds, progress=on_iteration)
    train_seconds = time.perf_counter() - started
    for t_index, test in enumerate(tests):
        first = t_index * len(test.folds)
        augmented = []
        for fold, ((X_train, y_train), deficit) in enumerate(
            zip(test.training_sets(), test.minority_deficits(), strict=True)
        ):
            seed = derive_seed(spec.seed, test.case.key, fold, "cgan-sample")
            augmented.append(
                oversample_with_trained(trained, first + fold, X_train, y_train, {1: deficit}, seed)
            )
        generated = trained.generate(
            first, np.ones(N_SAMPLE_ROWS, dtype=np.int64), derive_seed(spec.seed, "report")
        )
        extras = {
            "samples": {**real_samples(test), ("generated", 1): generated},
            "losses": {f: trained.losses[first + f] for f in range(len(test.folds))},
        }
        # The group's training time is shared evenly by its tests.
        yield score_unit(spec, test, "cgan", augmented, train_seconds / len(tests), extras)


def _groups(pending, max_gans: int, spec: StudySpec, n_workers: int = 1) -> Iterable[list]:
    """Tests with the same feature count, up to `max_gans` CGANs per group.

    With several workers, a feature count's tests are cut into a multiple of the number
    of workers of equal-sized groups (where it has that many tests), so that no worker
    is left alone with a last group while the others idle.
    """
    limit = max(1, max_gans // spec.evaluation.n_splits)
    workers = max(1, n_workers)
    by_features: dict = {}
    for case, methods in sorted(pending, key=lambda item: str(_feature_count(item[0]))):
        by_features.setdefault(_feature_count(case), []).append((case, methods))
    for tests in by_features.values():
        n_groups = -(-len(tests) // limit)
        n_groups = min(len(tests), -(-n_groups // workers) * workers)
        bounds = np.linspace(0, len(tests), n_groups + 1).round().astype(int)
        for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
            yield tests[start:stop]


def _feature_count(case: TestCase):
    return case.factors.get("features", case.factors.get("dataset", case.key))
