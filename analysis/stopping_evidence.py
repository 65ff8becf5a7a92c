"""Does stopping each CGAN by an oracle do better than a fixed number of iterations?

Runs a study (a preset or a study file; `--only` selects tests as `run` does) once with
the fixed rule and once per oracle with the patience rule, each variant a study of its own
in one results file (resumable: run the same command again to continue), then prints per
variant the CGAN's mean minority and majority F1, the CGAN against the best classic
oversampler of each test (wins / ties / losses on fold-mean minority F1, a tie within
`--tie`), the GAN iterations trained in all, the mean iteration of the generators kept
and the seconds the CGANs took:

    python analysis/stopping_evidence.py paper-cyber --db results/stopping.sqlite \\
        --only n_majority=100,1000 --only imbalance_ratio=0.1,0.4

The baseline and the classic oversamplers run once, in the fixed variant; every variant's
CGAN is compared with them on the same folds. When the study as given already trains a
fixed number of iterations (every preset does), it is the fixed variant under its own
name, so a results file of a finished run of it is reused, not trained again.
`--max-iterations` lets the patience rule train longer than the fixed rule (default: as
long).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from gan_oversampling.errors import UserError
from gan_oversampling.gan.cgan import make_config
from gan_oversampling.gan.config import ORACLE_NAMES, resolve_device
from gan_oversampling.report import tables
from gan_oversampling.report.statistics import bootstrap_interval
from gan_oversampling.samplers.registry import CGAN, names_of_kind
from gan_oversampling.study.executors import choose_executor
from gan_oversampling.study.presets import CLASSIC_AND_CGAN, resolve_study
from gan_oversampling.study.runner import RunStarted, check_study, run_study
from gan_oversampling.study.store import ResultsStore


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        variants = variants_of(resolve_study(args.study), args)
        filters = _filters(args.only)
        walls = {spec.name: _run(spec, args, filters) for spec in variants}
        keys = selected_keys(variants[0], args.data_dir, filters)
        print(summary(variants, Path(args.db), args.tie, walls, keys).to_string(index=False))
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", help="a preset name or a study file")
    parser.add_argument("--db", required=True, help="results file for every variant")
    parser.add_argument("--only", action="append", default=[], metavar="FACTOR=LEVEL[,LEVEL]")
    parser.add_argument("--oracles", default=",".join(ORACLE_NAMES),
                        help=f"comma-separated, of {', '.join(ORACLE_NAMES)}")
    parser.add_argument("--iterations", type=int, help="fixed rule (default: the study's)")
    parser.add_argument("--max-iterations", type=int, help="patience rule (default: as fixed)")
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--patience", type=int, default=10)
    parser.add_argument("--min-iterations", type=int, default=0)
    parser.add_argument("--tie", type=float, default=0.005, help="minority F1 difference")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--workers", type=int, default=None)
    return parser.parse_args(argv)


def variants_of(base, args) -> list:
    """The fixed variant (baseline, the published study's classic oversamplers, CGAN), then
    one CGAN-only variant per oracle; settings are validated as a study file's are."""
    oracles = [name.strip() for name in args.oracles.split(",") if name.strip()]
    unknown = sorted(set(oracles) - set(ORACLE_NAMES))
    if unknown or not oracles:
        raise UserError(f"--oracles: unknown {', '.join(unknown) or 'none given'}; "
                        f"known: {', '.join(ORACLE_NAMES)}")
    iterations = args.iterations or base.cgan.iterations
    fixed_cgan = make_config(base.cgan, iterations=iterations)
    # The study as given is the fixed variant when it already is one, so a results file
    # of that study (say, a finished paper-cyber run) is reused rather than run again.
    as_given = base.cgan.stopping == "fixed" and iterations == base.cgan.iterations
    variants = [base.model_copy(update={
        "name": base.name if as_given else f"{base.name}-fixed-{iterations}",
        "cgan": fixed_cgan, "methods": _with_classic(base.methods)})]
    for oracle in oracles:
        cgan = make_config(base.cgan, stopping="patience", oracle=oracle,
                           iterations=args.max_iterations or iterations,
                           eval_every=args.eval_every, patience=args.patience,
                           min_iterations=args.min_iterations)
        variants.append(base.model_copy(update={
            "name": f"{base.name}-patience-{oracle}", "cgan": cgan, "methods": [CGAN]}))
    return variants


def _with_classic(methods: list[str]) -> list[str]:
    return list(methods) + [name for name in CLASSIC_AND_CGAN if name not in methods]


def _filters(items: list[str]) -> dict[str, list[str]]:
    filters: dict[str, list[str]] = {}
    for item in items:
        factor, sep, levels = item.partition("=")
        if not sep or not factor.strip() or not levels.strip():
            raise UserError(f"--only '{item}' is not FACTOR=LEVEL[,LEVEL...]")
        filters.setdefault(factor.strip(), []).extend(v.strip() for v in levels.split(","))
    return filters


def _run(spec, args, filters) -> float:
    """Run what is pending of one variant; its wall time in seconds."""
    torch.set_num_threads(1)
    device = resolve_device(spec.device)
    spec = spec.with_device(str(device))
    executor = choose_executor(device=device, workers=args.workers, threads=1)

    def report(event) -> None:
        if isinstance(event, RunStarted):
            print(f"{spec.name}: {event.n_tests} tests, {event.n_pending} units to run",
                  file=sys.stderr)

    started = time.perf_counter()
    with ResultsStore.open(Path(args.db)) as store:
        run_study(spec, store, executor, report, data_dir=args.data_dir, filters=filters)
    return time.perf_counter() - started


def selected_keys(spec, data_dir, filters) -> set[str]:
    """The keys of the tests `filters` selects (a results file may hold more of them)."""
    checked = check_study(spec, data_dir=Path(data_dir) if data_dir else None,
                          filters=filters)
    return {case.key for case in checked.cases}


def summary(variants, db: Path, tie: float, walls: dict[str, float] | None = None,
            keys: set[str] | None = None) -> pd.DataFrame:
    """One row per variant (see the module's description) over the tests `keys` (default:
    every stored one); `walls`: seconds of the runs just made, by study name."""
    walls = walls or {}
    with ResultsStore.open(db, readonly=True) as store:
        frames = {spec.name: _only(store.scores_frame(spec.name), keys) for spec in variants}
        stops = {spec.name: _only(store.stops_frame(spec.name), keys) for spec in variants}
        iterations = {spec.name: _iterations(store, stops[spec.name], spec.name, keys)
                      for spec in variants}
        failed = {spec.name: len(store.failed_units(spec.name)) for spec in variants}
    fixed = frames[variants[0].name]
    if fixed.empty:
        raise UserError(f"{db} holds no results of {variants[0].name}")
    classic = fixed[fixed["method"].isin(names_of_kind("classic"))]
    rows = []
    fixed_cgan = _rows_of(fixed, CGAN)
    for spec in variants:
        cgan = _rows_of(frames[spec.name], CGAN)
        rows.append({"variant": _label(spec), **_against_classic(classic, cgan, tie),
                     "minority F1 - fixed [95%]":
                         "" if spec is variants[0] else _against_fixed(fixed_cgan, cgan),
                     "GAN iterations": iterations[spec.name],
                     "mean iteration kept": _mean_kept(stops[spec.name], spec),
                     "diverged GANs": int((stops[spec.name]["reason"] == "diverged").sum()),
                     "failed units": failed[spec.name],
                     "CGAN seconds": round(float(
                         cgan.drop_duplicates("test_key")["fit_seconds"].sum()), 1),
                     "wall seconds now": round(walls.get(spec.name, np.nan), 1)})
    return pd.DataFrame(rows)


def _against_fixed(fixed: pd.DataFrame, cgan: pd.DataFrame) -> str:
    """The mean over tests of this variant's CGAN minority F1 minus the fixed rule's, with
    its bootstrap 95% interval (resampling tests), as the report computes intervals."""
    if cgan.empty or fixed.empty:
        return ""
    by_test = tables.minority_f1_by_test(pd.concat([fixed.assign(method="fixed"), cgan]))
    difference = (by_test[CGAN] - by_test["fixed"]).dropna()
    low, high = bootstrap_interval(difference.to_numpy(), 10_000, seed=0)
    return f"{difference.mean():+.4f} [{low:+.4f}, {high:+.4f}]"


def _mean_kept(stops: pd.DataFrame, spec) -> float:
    """The mean iteration of the generators kept (the last one under the fixed rule)."""
    if stops.empty:
        return float(spec.cgan.iterations) if spec.cgan.stopping == "fixed" else np.nan
    return round(float(stops["best_iteration"].mean()), 1)


def _only(frame: pd.DataFrame, keys: set[str] | None) -> pd.DataFrame:
    return frame if keys is None or frame.empty else frame[frame["test_key"].isin(keys)]


def _iterations(store: ResultsStore, stops: pd.DataFrame, study: str,
                keys: set[str] | None) -> int:
    """GAN iterations trained in all; from the stored losses for a results file written
    before stop records were kept (every such GAN ran the fixed rule)."""
    if not stops.empty:
        return int(stops["stop_iteration"].sum())
    return sum(len(losses) for key, _, losses, _names in store.all_losses(study, CGAN)
               if keys is None or key in keys)


def _rows_of(frame: pd.DataFrame, method: str) -> pd.DataFrame:
    return frame[frame["method"] == method] if not frame.empty else frame


def _against_classic(classic: pd.DataFrame, cgan: pd.DataFrame, tie: float) -> dict:
    """Mean F1 of the CGAN over the tests it and the classic methods both have, and its
    wins / ties / losses against the best classic method of each test (minority F1)."""
    if cgan.empty or classic.empty:
        return {"tests": 0}
    both = pd.concat([classic, cgan], ignore_index=True)
    by_test = tables.minority_f1_by_test(both)
    majority = tables.fold_means(both)
    majority = majority[(majority["class_role"] == "majority") & (majority["method"] == CGAN)
                        & majority["test_key"].isin(by_test.index)]
    difference = by_test[CGAN] - by_test.drop(columns=CGAN).max(axis=1)
    wins, losses = int((difference > tie).sum()), int((difference < -tie).sum())
    return {"tests": len(by_test), "CGAN minority F1": round(by_test[CGAN].mean(), 4),
            "CGAN majority F1": round(majority["f1"].mean(), 4),
            "wins/ties/losses": f"{wins}/{len(by_test) - wins - losses}/{losses}",
            "mean difference": round(float(np.mean(difference)), 4)}


def _label(spec) -> str:
    settings = spec.cgan
    if settings.stopping == "fixed":
        return f"fixed {settings.iterations}"
    return f"patience {settings.oracle} (max {settings.iterations})"


if __name__ == "__main__":
    raise SystemExit(main())
