"""A study run as the CLI shows it: plan, progress bar with ETA, headline at the end."""

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

from gan_oversampling.study.executors import choose_executor
from gan_oversampling.study.runner import (
    RunOptions,
    plan_run,
    run_pending,
    select_cases,
    select_listed,
)
from gan_oversampling.study.spec import StudySpec
from gan_oversampling.study.store import ResultsStore


def execute_study(
    spec: StudySpec,
    *,
    db_path: Path,
    data_dir: Path | None,
    filters: dict[str, list[str]],
    max_gans_per_batch: int,
    console: Console,
    workers: int | None = None,
    threads: int | None = None,
) -> int:
    """Run what is pending of `spec` into `db_path`; returns the number of units written.

    `workers` processes with `threads` torch threads each (None: chosen for this machine).
    """
    options = RunOptions(db_path, data_dir, filters, max_gans_per_batch)
    executor = choose_executor(device=spec.cgan.device, workers=workers, threads=threads)
    source = spec.data.build_source(data_dir)
    cases = select_cases(select_listed(source.cases(), spec.tests), filters)
    with ResultsStore.open(db_path) as store:
        store.register_study(spec.name, spec.settings_hash(), spec.model_dump_json())
        plan = plan_run(spec, store, cases)
        console.print(
            f"study [bold]{spec.name}[/bold]: {plan.n_selected} tests x {len(spec.methods)} "
            f"methods; {plan.n_done} units already done, "
            f"{sum(len(m) for _, m in plan.pending)} to run"
            + (f" (a subset of {spec.subset_of})" if spec.subset_of else "")
        )
        written = 0
        if plan.pending:
            with _progress_bar(console) as bar:
                task = bar.add_task("starting", total=plan.work(spec))

                def advance(work: float, description: str) -> None:
                    bar.update(task, advance=work, description=description)

                written = run_pending(spec, source, plan, store, options, advance, executor)
    _print_headline(db_path, spec.name, console)
    return written


def _progress_bar(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:<32}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
    )


def _print_headline(db_path: Path, study: str, console: Console) -> None:
    from gan_oversampling.report.build import headline_rows

    columns, rows = headline_rows(db_path, study)
    from rich.table import Table

    table = Table(title=f"{study}: mean F1 per class over the tests run")
    for column in columns:
        table.add_column(str(column))
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    console.print(table)
