"""The command line: run a study, report it, look at its datasets."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gan_oversampling.errors import UserError

try:  # typer ships its own copy of click's exceptions
    import typer._click.exceptions as _click
except ImportError:
    import click.exceptions as _click

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="When does oversampling the minority class with a conditional GAN help a classifier?",
)
datasets_app = typer.Typer(no_args_is_help=True, help="Look at the test datasets of a study.")
app.add_typer(datasets_app, name="datasets")
console = Console()
errors = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (default: $GAN_OVERSAMPLING_DATA, else "
                 "the bundled MNIST copy)."),
]


Only = Annotated[
    list[str] | None,
    typer.Option(help="Run part of the grid: FACTOR=LEVEL[,LEVEL...] (repeatable)."),
]
Device = Annotated[str | None, typer.Option(help="auto, cpu, cuda or cuda:N.")]
Workers = Annotated[
    int | None,
    typer.Option(min=1, help="Worker processes on CPU (default: cores / threads)."),
]
Threads = Annotated[
    int | None,
    typer.Option(min=1, help="Torch threads per worker (default: 1, or cores / workers)."),
]
MaxGans = Annotated[
    int, typer.Option(min=1, help="CGANs trained together as one batched computation.")
]


class ExecutorKind(StrEnum):
    local = "local"
    dask = "dask"


@app.command()
def run(
    study: Annotated[str, typer.Argument(help="A preset (see `presets`) or a .toml study file.")],
    db: Annotated[Path, typer.Option(help="SQLite results database (created if absent).")] = Path(
        "results/results.sqlite"
    ),
    data_dir: DataDir = None,
    only: Only = None,
    retry_failed: Annotated[
        bool, typer.Option(help="Run again the units an earlier run recorded as failed.")
    ] = False,
    device: Device = None,
    workers: Workers = None,
    threads: Threads = None,
    max_gans: MaxGans = 20,
    executor_kind: Annotated[
        ExecutorKind,
        typer.Option("--executor", help="local: processes on this machine; dask: a Dask "
                     "cluster (--scheduler), or a local one started for the run."),
    ] = ExecutorKind.local,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Address of a Dask scheduler (tcp://HOST:8786); needs --executor dask."),
    ] = None,
    estimate: Annotated[
        bool, typer.Option(help="Time a little of the study's work first (as `plan` does), "
                           "so that the ETA weighs training, resampling and fits in seconds.")
    ] = True,
) -> None:
    """Run a study (resumable: finished units are kept and skipped; failed units are
    recorded with their reason and skipped too, unless --retry-failed)."""
    from gan_oversampling.study.presets import resolve_study
    from gan_oversampling.study.runner import check_study, run_study
    from gan_oversampling.study.store import ResultsStore
    from gan_oversampling.terminal import RunDisplay, print_failures, print_headline

    spec = resolve_study(study)
    if device is not None:
        spec = spec.with_device(device)
    if executor_kind is ExecutorKind.dask:
        executor, data_dir = _dask_executor(spec, scheduler, workers, threads, data_dir)
    else:
        if scheduler is not None:
            raise UserError("--scheduler needs --executor dask")
        spec, executor = _local_executor(spec, workers, threads)
    # Data, tests and folds are checked before the results file is created or touched.
    checked = check_study(spec, data_dir=data_dir, filters=_parse_filters(only or []))
    costs = _timed_costs(checked, executor, max_gans) if estimate else None
    try:
        with ResultsStore.open(db) as store, RunDisplay(console) as display:
            run_study(
                spec, store, executor, display,
                max_gans=max_gans, checked=checked, retry_failed=retry_failed, costs=costs,
            )
            failed = store.failed_units(spec.name)
    except KeyboardInterrupt:
        # Caught here: the CLI framework would end a Ctrl-C with status 130 and no word.
        errors.print("interrupted: finished units are saved; run the same command to resume")
        raise typer.Exit(130) from None
    print_headline(db, spec.name, console)
    print_failures(failed, db, console)


@app.command()
def plan(
    study: Annotated[str, typer.Argument(help="A preset (see `presets`) or a .toml study file.")],
    data_dir: DataDir = None,
    only: Only = None,
    device: Device = None,
    workers: Workers = None,
    threads: Threads = None,
    max_gans: MaxGans = 20,
    estimate: Annotated[
        bool, typer.Option(help="Time a little of the study's work here to estimate its "
                           "wall time (a few seconds to a minute).")
    ] = True,
) -> None:
    """Show what `run` would do, training nothing: every test with its features, rows per
    class and minority rows per test fold, the units, and an estimated wall time."""
    from gan_oversampling.study.plan import estimate_wall_time, plan_tests, product_precisions
    from gan_oversampling.study.presets import resolve_study
    from gan_oversampling.study.runner import check_study
    from gan_oversampling.terminal import print_plan

    spec = resolve_study(study)
    if device is not None:
        spec = spec.with_device(device)
    spec, executor = _local_executor(spec, workers, threads)
    checked = check_study(spec, data_dir=data_dir, filters=_parse_filters(only or []))
    tests = plan_tests(checked)
    wall_time = None
    if estimate:
        import torch

        wall_time = estimate_wall_time(
            checked, tests, workers=executor.n_workers,
            threads=executor.threads or torch.get_num_threads(), max_gans=max_gans,
        )
    print_plan(spec, tests, wall_time, console, product_precisions(spec))


@app.command()
def report(
    db: Annotated[Path, typer.Argument(help="A results database written by `run`.")],
    out: Annotated[Path | None, typer.Option(help="Report folder (default: DB-report).")] = None,
    study: Annotated[str | None, typer.Option(help="Which study, if the db holds several.")] = None,
) -> None:
    """Write a report folder (HTML, Markdown, CSV, plots) from a results database."""
    from gan_oversampling.report.build import build_report

    out_dir = out or db.with_name(db.stem + "-report")  # the database is opened read-only
    written = build_report(db, out_dir, study=study)
    console.print(f"report written to {written / 'index.html'}")


@app.command()
def presets(
    name: Annotated[str | None, typer.Argument(help="Show this preset as a study file.")] = None,
) -> None:
    """List the built-in studies, or print one as a TOML study file to start from."""
    from gan_oversampling.study.presets import PRESETS, preset_as_toml, resolve_study

    if name is None:
        for preset in sorted(PRESETS):
            console.print(f"[bold]{preset}[/bold]: {resolve_study(preset).description}")
        return
    if name not in PRESETS:
        raise UserError(f"unknown preset '{name}'; known: {', '.join(sorted(PRESETS))}")
    sys.stdout.write(preset_as_toml(name))


@datasets_app.command("show")
def datasets_show(
    rotation: Annotated[float, typer.Option(help="Rotation of the minority fours (degrees).")],
    side: Annotated[int, typer.Option(help="Image side after resizing (28 = original).")],
    n: Annotated[int, typer.Option("--n", help="Majority size N.")],
    ir: Annotated[float, typer.Option("--ir", help="Imbalance ratio (minority / majority).")],
    out: Annotated[Path, typer.Option(help="PNG file to write.")] = Path("dataset.png"),
    data_dir: DataDir = None,
) -> None:
    """Save a PNG of real majority and minority images of one MNIST test dataset."""
    from gan_oversampling.report.samples import save_image_grid
    from gan_oversampling.study.spec import parse_study

    # The levels go through the study spec, so they are checked as a study file's would be.
    levels = {"kind": "mnist", "rotations": [rotation], "sides": [side],
              "majority_sizes": [n], "imbalance_ratios": [ir]}
    origin = (f"datasets show (rotation {rotation:g}, side {side}, n_majority {n}, "
              f"imbalance_ratio {ir:g})")
    source = parse_study({"name": "datasets-show", "data": levels}, origin).data.build_source(
        data_dir
    )
    if out.is_dir():
        raise UserError(f"--out {out} is a folder; give the path of a .png file to write")
    (case,) = source.cases()
    try:
        path = save_image_grid(source.preview(case), side=side, path=out, n_per_row=10)
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror or exc}") from None
    console.print(f"saved {path}")


@datasets_app.command("verify")
def datasets_verify(data_dir: DataDir = None) -> None:
    """Check every data file that the data directory holds against its pinned sha256."""
    from gan_oversampling.datasets.catalog import verify_all

    for line in verify_all(data_dir):
        console.print(line)


def _timed_costs(checked, executor, max_gans: int):
    """What each piece of the run's work costs here, timed as `plan` times it (the run's
    ETA counts in these seconds); prints the estimated wall time."""
    import torch

    from gan_oversampling.study.plan import estimate_wall_time, plan_tests
    from gan_oversampling.terminal import print_estimate

    threads = getattr(executor, "threads", None) or torch.get_num_threads()
    wall_time = estimate_wall_time(checked, plan_tests(checked), workers=executor.n_workers,
                                   threads=threads, max_gans=max_gans)
    print_estimate(wall_time, console, brief=True)
    return wall_time.costs


def _local_executor(spec, workers: int | None, threads: int | None):
    from gan_oversampling.gan.config import resolve_device
    from gan_oversampling.study.executors import choose_executor

    # The device is resolved once, here; the study then names it exactly ("cpu", "cuda").
    resolved = resolve_device(spec.device)
    spec = spec.with_device(str(resolved))
    return spec, choose_executor(device=resolved, workers=workers, threads=threads)


def _dask_executor(spec, scheduler: str | None, workers: int | None, threads: int | None,
                   data_dir: Path | None):
    from gan_oversampling.datasets.verify import resolve_data_dir
    from gan_oversampling.study.dask_executor import DaskExecutor, import_distributed

    import_distributed()
    if scheduler is not None and workers is not None:
        raise UserError("--workers sizes a local Dask cluster; a cluster at --scheduler has the "
                        "workers started there with `dask worker`")
    # The device is resolved on the workers ("auto": a worker's GPU where it has one), and
    # the data directory here, so that workers read the one this command names.
    executor = DaskExecutor(scheduler, n_workers=workers, threads=threads or 1,
                            device=spec.device)
    return executor, resolve_data_dir(data_dir)


def _parse_filters(items: list[str]) -> dict[str, list[str]]:
    filters: dict[str, list[str]] = {}
    for item in items:
        factor, sep, levels = item.partition("=")
        if not sep or not factor.strip() or not levels.strip():
            raise UserError(f"filter '{item}' is not FACTOR=LEVEL[,LEVEL...]")
        filters.setdefault(factor.strip(), []).extend(v.strip() for v in levels.split(","))
    return filters


def main() -> None:
    """Entry point: user errors, usage errors included, become one line and exit status 2,
    never a traceback."""
    import sqlite3

    command = typer.main.get_command(app)
    try:
        code = command.main(standalone_mode=False, prog_name="gan-oversampling")
    except UserError as exc:
        _fail(str(exc))
    except sqlite3.Error as exc:  # a results file that failed below the store's own checks
        from gan_oversampling.study.dbfile import describe

        _fail(describe(exc, "the results database"))
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        _fail("interrupted", 130)
    except _click.ClickException as exc:
        # No arguments at all has already shown the help; anything else is a usage error.
        if not isinstance(exc, _click.NoArgsIsHelpError):
            _fail(exc.format_message())
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, status: int = 2) -> None:
    errors.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    sys.exit(status)


if __name__ == "__main__":
    main()
