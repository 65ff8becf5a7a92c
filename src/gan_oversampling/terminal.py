"""What the command line shows: a run's plan, its progress with ETA, tables, a study's plan.

The study runs without any of this (`study.runner.run_study`); the CLI hands it
`RunDisplay` as its progress callback. On a terminal progress is a live bar and tables are
drawn; written to a file or a pipe (a log), progress is one plain line per finished unit
and one per tenth of the work done (CGANs of a batch finish together, after long
training), and tables are plain text at their full width, never cut to the terminal's.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from gan_oversampling.errors import UserError
from gan_oversampling.study.runner import (
    ProgressEvent,
    RunStarted,
    UnitFailed,
    UnitFinished,
    WorkDone,
)


class RunDisplay:
    """A progress callback for `run_study`: prints the plan, then drives a progress bar
    (on a terminal) or prints lines with elapsed time and ETA: one per finished unit, one
    per tenth of the work done."""

    def __init__(self, console: Console):
        self.console = console
        self.bar: Progress | None = None
        self.task = None
        self.started = time.monotonic()
        self.total_work = self.done_work = 0.0
        self.n_units = self.n_finished = self.tenths_shown = 0

    def __call__(self, event: ProgressEvent) -> None:
        if isinstance(event, RunStarted):
            self._start(event)
        elif isinstance(event, WorkDone):
            self.done_work += event.work
            if self.bar is not None:
                self.bar.update(self.task, advance=event.work, description=event.description)
            else:
                self._work_line(event)
        elif self.bar is not None:
            if isinstance(event, UnitFailed):
                self.console.print(f"failed: {event.test_key} {event.method}: {event.reason}",
                                   markup=False, highlight=False)
        else:
            self._unit_line(event)

    def __enter__(self) -> RunDisplay:
        return self

    def __exit__(self, *exc_info) -> None:
        if self.bar is not None:
            self.bar.stop()

    def _start(self, plan: RunStarted) -> None:
        self.started = time.monotonic()
        self.total_work, self.n_units = plan.total_work, plan.n_pending
        plain_line(
            self.console,
            f"study {plan.study}: {_tests_text(plan)} x {plan.n_methods} "
            f"methods; {plan.n_done} units already done, {plan.n_pending} to run"
            + (f" (a subset of {plan.subset_of})" if plan.subset_of else "")
            + (f"; {plan.n_failed_before} failed before and skipped (--retry-failed runs "
               "them)" if plan.n_failed_before else ""),
        )
        if plan.n_pending and self.console.is_terminal:
            self.bar = Progress(
                TextColumn("{task.description:<32}"),
                BarColumn(),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=self.console,
            )
            self.task = self.bar.add_task("starting", total=plan.total_work)
            self.bar.start()

    def _unit_line(self, event: UnitFinished | UnitFailed) -> None:
        self.n_finished += 1
        outcome = "done" if isinstance(event, UnitFinished) else f"failed: {event.reason}"
        plain_line(self.console, f"[{self.n_finished}/{self.n_units}] {event.test_key} "
                                 f"{event.method} {outcome}; {self._times()}")

    def _work_line(self, event: WorkDone) -> None:
        tenths = int(10 * self.done_work / self.total_work) if self.total_work > 0 else 0
        if self.tenths_shown < tenths < 10:
            self.tenths_shown = tenths
            plain_line(self.console, f"{10 * tenths}% of the work done (now: "
                                     f"{event.description}); {self._times()}")

    def _times(self) -> str:
        """Elapsed time and ETA, the ETA from the share of the work done so far."""
        elapsed = time.monotonic() - self.started
        left = self.total_work - self.done_work
        eta = (clock(elapsed * left / self.done_work) if self.done_work > 0 and left > 0
               else "0:00:00" if left <= 0 else "unknown")
        return f"elapsed {clock(elapsed)}, ETA {eta}"


def clock(seconds: float) -> str:
    """A duration as h:mm:ss."""
    return str(timedelta(seconds=round(max(0.0, seconds))))


def plain_line(console: Console, text: str) -> None:
    """One line as it is: no markup, no highlighting, never wrapped or cut."""
    console.out(text, highlight=False)


def print_table(console: Console, title: str, columns: list[str], rows: list[list[str]]) -> None:
    """A table: drawn on a terminal; plain text at full width anywhere else (a log)."""
    if console.is_terminal:
        table = Table(title=title)
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*row)
        console.print(table)
        return
    widths = [max(len(cell) for cell in column) for column in zip(columns, *rows, strict=True)]
    plain_line(console, title)
    for cells in (columns, *rows):
        plain_line(console, "  ".join(cell.ljust(width)
                                      for cell, width in zip(cells, widths, strict=True)).rstrip())


def print_headline(db_path: Path, study: str, console: Console) -> None:
    """The study's mean F1 per class and method, as a table."""
    from gan_oversampling.report.build import headline_rows

    try:
        columns, rows = headline_rows(db_path, study)
    except UserError as exc:  # no unit finished (all failed): nothing to show
        plain_line(console, f"no headline: {exc}")
        return
    print_table(console, f"{study}: mean F1 per class over the tests run",
                [str(column) for column in columns], [[str(cell) for cell in row] for row in rows])


def print_failures(failed: dict[tuple[str, str], str], db_path: Path, console: Console) -> None:
    """How many units of the study failed, and where their reasons are."""
    if not failed:
        return
    units = "unit" if len(failed) == 1 else "units"
    plain_line(
        console,
        f"{len(failed)} {units} failed (reasons: `gan-oversampling report {db_path}`, "
        "section 'Failed units'); they are skipped on resume, --retry-failed runs them again",
    )


def _classifiers_text(classifiers: list[str]) -> str:
    if len(classifiers) == 1:
        return f"classifier {classifiers[0]}"
    return f"classifiers {', '.join(classifiers)} (each test once with each)"


def print_plan(spec, tests: list, estimate, console: Console,
               precisions: dict[str, tuple[str, str]] | None = None) -> None:
    """What `run` would do: per test its features, rows and minority rows per test fold
    (`study.plan.TestPlan`), the units, the precision of each network method's matrix
    products (`study.plan.product_precisions`) and the estimated wall time (`WallTime`, or
    None)."""
    precisions = precisions or {}
    few = spec.statistics.min_minority_per_test_fold
    evaluation = spec.evaluation
    n_units = len(tests) * len(spec.methods)
    draws = f" ({spec.repeats} draws of each grid point)" if spec.repeats > 1 else ""
    plain_line(console, f"study {spec.name}: {len(tests)} tests{draws} x {len(spec.methods)} "
                        f"methods ({', '.join(spec.methods)}) = {n_units} units; "
                        f"{evaluation.cv} {evaluation.n_splits}-fold; "
                        f"{_classifiers_text(evaluation.classifiers)}")
    rows = [[plan.key, str(plan.n_features), str(plan.majority_rows), str(plan.minority_rows),
             str(plan.min_minority_per_test_fold),
             f"under {few}" if plan.min_minority_per_test_fold < few else ""]
            for plan in tests]
    print_table(console, "Tests (rows per class; minority rows per test fold: fewest of the folds)",
                ["test", "features", "majority", "minority", "minority per test fold", "warning"],
                rows)
    flagged = sum(plan.min_minority_per_test_fold < few for plan in tests)
    if flagged:
        plain_line(console, f"warning: {flagged} of {len(tests)} tests have a test fold with "
                            f"fewer than {few} minority rows: their minority F1 rests on a "
                            "handful of rows")
    for name, (dtype, why) in precisions.items():
        plain_line(console, f"{name}: matrix products in {dtype} ({why})")
    if estimate is not None:
        print_estimate(estimate, console)


def print_estimate(estimate, console: Console, brief: bool = False) -> None:
    """The estimated wall time (`study.plan.WallTime`), with what it assumes unless
    `brief`."""
    processes = "process" if estimate.workers == 1 else "processes"
    plain_line(console, f"estimated wall time: {about(estimate.seconds)} on {estimate.workers} "
                        f"{processes} x {estimate.threads} torch thread(s), device "
                        f"{estimate.device}")
    if brief:
        return
    plain_line(console, "  an estimate, not a measurement: a few training iterations of each "
                        "batch shape, one resample per method and one classifier fit were "
                        "timed on this machine just now and scaled to the study's iterations "
                        "and rows; it assumes the machine stays as busy as it was, and fitting "
                        "and resampling time growing in proportion to the rows")
    if estimate.workers > 1:
        plain_line(console, f"  {estimate.workers} busy workers ran here each at "
                            f"{estimate.parallel_speed:.2f} of the speed of one alone (1.00: "
                            "a core each); the estimate counts with that")
    if estimate.untimed:
        plain_line(console, f"  not counted (failed when timed, as their units will): "
                            f"{', '.join(estimate.untimed)}")


def about(seconds: float) -> str:
    """A rough duration: 'about 40 s', 'about 12 min', 'about 2 h 05 min'."""
    if seconds < 60:
        return f"about {max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min"
    return f"about {minutes // 60} h {minutes % 60:02d} min"


def _tests_text(plan: RunStarted) -> str:
    if plan.n_draws == 1:
        return f"{plan.n_tests} tests"
    return f"{plan.n_tests // plan.n_draws} tests x {plan.n_draws} draws"
