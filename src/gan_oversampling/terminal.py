"""What a study run shows on the terminal: its plan, a progress bar with ETA, the headline.

The study runs without any of this (`study.runner.run_study`); the CLI hands it
`RunDisplay` as its progress callback.
"""

from __future__ import annotations

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
from gan_oversampling.study.runner import ProgressEvent, RunStarted, UnitFailed


class RunDisplay:
    """A progress callback for `run_study`: prints the plan, then drives a progress bar."""

    def __init__(self, console: Console):
        self.console = console
        self.bar: Progress | None = None
        self.task = None

    def __call__(self, event: ProgressEvent) -> None:
        if isinstance(event, RunStarted):
            self._start(event)
        elif isinstance(event, UnitFailed):
            self.console.print(f"failed: {event.test_key} {event.method}: {event.reason}",
                               markup=False, highlight=False)
        elif self.bar is not None:
            self.bar.update(self.task, advance=event.work, description=event.description)

    def __enter__(self) -> RunDisplay:
        return self

    def __exit__(self, *exc_info) -> None:
        if self.bar is not None:
            self.bar.stop()

    def _start(self, plan: RunStarted) -> None:
        self.console.print(
            f"study [bold]{plan.study}[/bold]: {_tests_text(plan)} x {plan.n_methods} "
            f"methods; {plan.n_done} units already done, {plan.n_pending} to run"
            + (f" (a subset of {plan.subset_of})" if plan.subset_of else "")
            + (f"; {plan.n_failed_before} failed before and skipped (--retry-failed runs "
               "them)" if plan.n_failed_before else "")
        )
        if plan.n_pending:
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


def print_headline(db_path: Path, study: str, console: Console) -> None:
    """The study's mean F1 per class and method, as a terminal table."""
    from gan_oversampling.report.build import headline_rows

    try:
        columns, rows = headline_rows(db_path, study)
    except UserError as exc:  # no unit finished (all failed): nothing to show
        console.print(f"no headline: {exc}", markup=False, highlight=False)
        return
    table = Table(title=f"{study}: mean F1 per class over the tests run")
    for column in columns:
        table.add_column(str(column))
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    console.print(table)


def print_failures(failed: dict[tuple[str, str], str], db_path: Path, console: Console) -> None:
    """How many units of the study failed, and where their reasons are."""
    if not failed:
        return
    units = "unit" if len(failed) == 1 else "units"
    console.print(
        f"{len(failed)} {units} failed (reasons: `gan-oversampling report {db_path}`, "
        "section 'Failed units'); they are skipped on resume, --retry-failed runs them again",
        markup=False, highlight=False,
    )


def _tests_text(plan: RunStarted) -> str:
    if plan.n_draws == 1:
        return f"{plan.n_tests} tests"
    return f"{plan.n_tests // plan.n_draws} tests x {plan.n_draws} draws"
