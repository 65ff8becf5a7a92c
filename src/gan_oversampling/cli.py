"""The command line: run a study, report it, look at its datasets."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gan_oversampling.errors import UserError

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


@app.command()
def run(
    study: Annotated[str, typer.Argument(help="A preset (see `presets`) or a .toml study file.")],
    db: Annotated[Path, typer.Option(help="SQLite results database (created if absent).")] = Path(
        "results/results.sqlite"
    ),
    data_dir: DataDir = None,
    only: Annotated[
        list[str] | None,
        typer.Option(help="Run part of the grid: FACTOR=LEVEL[,LEVEL...] (repeatable)."),
    ] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu, cuda or cuda:N.")] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Worker processes on CPU (default: cores / threads)."),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(min=1, help="Torch threads per worker (default: 1, or cores / workers)."),
    ] = None,
    max_gans: Annotated[
        int, typer.Option(min=1, help="CGANs trained together as one batched computation.")
    ] = 20,
) -> None:
    """Run a study (resumable: finished units are kept and skipped)."""
    from gan_oversampling.study.execute import execute_study
    from gan_oversampling.study.presets import resolve_study

    spec = resolve_study(study)
    if device is not None:
        spec = spec.model_copy(update={"cgan": spec.cgan.model_copy(update={"device": device})})
    try:
        execute_study(
            spec,
            db_path=db,
            data_dir=data_dir,
            filters=_parse_filters(only or []),
            max_gans_per_batch=max_gans,
            console=console,
            workers=workers,
            threads=threads,
        )
    except KeyboardInterrupt:
        # Caught here: the CLI framework would end a Ctrl-C with status 130 and no word.
        errors.print("interrupted: finished units are saved; run the same command to resume")
        raise typer.Exit(130) from None


@app.command()
def report(
    db: Annotated[Path, typer.Argument(help="A results database written by `run`.")],
    out: Annotated[Path | None, typer.Option(help="Report folder (default: DB-report).")] = None,
    study: Annotated[str | None, typer.Option(help="Which study, if the db holds several.")] = None,
) -> None:
    """Write a report folder (HTML, Markdown, CSV, plots) from a results database."""
    from gan_oversampling.report.build import build_report

    out_dir = out or db.with_name(db.stem + "-report")
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
    from gan_oversampling.difficulty.mnist import show_test_dataset

    path = show_test_dataset(rotation, side, n, ir, out, data_dir=data_dir)
    console.print(f"saved {path}")


@datasets_app.command("verify")
def datasets_verify(data_dir: DataDir = None) -> None:
    """Check every data file that the data directory holds against its pinned sha256."""
    from gan_oversampling.datasets.catalog import verify_all

    for line in verify_all(data_dir):
        console.print(line)


def _parse_filters(items: list[str]) -> dict[str, list[str]]:
    filters: dict[str, list[str]] = {}
    for item in items:
        factor, sep, levels = item.partition("=")
        if not sep or not factor.strip() or not levels.strip():
            raise UserError(f"filter '{item}' is not FACTOR=LEVEL[,LEVEL...]")
        filters.setdefault(factor.strip(), []).extend(v.strip() for v in levels.split(","))
    return filters


def main() -> None:
    """Entry point: user errors become one line and exit status 2, never a traceback."""
    try:
        app()
    except UserError as exc:
        errors.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
