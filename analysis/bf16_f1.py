"""Does training the CGANs with bfloat16 matrix products change a study's F1?

Runs the CGAN arm of a study (default: `paper-mnist`, on the 8 tests of the `quick`
design) with `dtype = "bfloat16"` into its own results file, then compares each test's
per-class F1 with the float32 run of the same study (same folds, same seeds):

    python analysis/bf16_f1.py --fp32-db results.sqlite --db bf16.sqlite

On a CPU without native bfloat16 (no AMX or AVX512-BF16) a bf16 product is about 100
times slower than fp32, so `--emulate` computes the same numbers at fp32 speed: every
operand and result of the CGANs' matrix products is rounded to bfloat16 and the sums are
accumulated in fp32, which is what AMX units and GPU tensor cores do under autocast.
Resumable like a study run: finished tests are kept.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

from gan_oversampling.errors import UserError
from gan_oversampling.gan.config import resolve_device
from gan_oversampling.study.executors import choose_executor
from gan_oversampling.study.presets import resolve_study
from gan_oversampling.study.runner import RunStarted, run_study
from gan_oversampling.study.store import ResultsStore


class Bfloat16Products(TorchFunctionMode):
    """Rounds the operands and the result of every `torch.baddbmm` to bfloat16.

    Autograd sees the roundings as dtype casts, so gradients are rounded where autocast
    rounds them too: at each product's inputs and output."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is torch.baddbmm:
            bias, inputs, weight = (_to_bf16_grid(t) for t in args[:3])
            return _to_bf16_grid(func(bias, inputs, weight, *args[3:], **kwargs))
        return func(*args, **kwargs)


def _to_bf16_grid(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.to(torch.bfloat16).to(torch.float32)


def emulated_bf16(work, job, progress):
    """A runner job computed under `Bfloat16Products` (module level: workers import it)."""
    with Bfloat16Products():
        yield from work(job, progress)


class EmulatingExecutor:
    """Wraps an executor so that each job runs with bf16-rounded matrix products."""

    def __init__(self, inner):
        self.inner = inner
        self.n_workers = inner.n_workers

    def run(self, work, jobs, on_unit, progress):
        self.inner.run(partial(emulated_bf16, work), jobs, on_unit, progress)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        fp32_spec, bf16_spec = _specs(args)
        _run(bf16_spec, args)
        _compare(fp32_spec, bf16_spec, Path(args.fp32_db), Path(args.db))
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def _parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default="paper-mnist")
    parser.add_argument("--tests-of", default="quick", help="preset whose test list to use")
    parser.add_argument("--fp32-db", required=True, help="results file of the fp32 run")
    parser.add_argument("--db", required=True, help="results file for the bf16 run")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--emulate", action="store_true", help="bf16 rounding at fp32 speed")
    parser.add_argument("--workers", type=int, default=None)
    return parser.parse_args(argv)


def _specs(args):
    fp32_spec = resolve_study(args.study)
    tests = resolve_study(args.tests_of).tests if args.tests_of else fp32_spec.tests
    fp32_spec = fp32_spec.model_copy(update={"tests": tests})
    # Emulation computes in fp32 under the rounding mode; the study name says which it was.
    dtype, suffix = ("float32", "bf16-emulated") if args.emulate else ("bfloat16", "bf16")
    cgan = fp32_spec.cgan.model_copy(update={"dtype": dtype})
    bf16_spec = fp32_spec.model_copy(
        update={"name": f"{fp32_spec.name}-{suffix}", "methods": ["cgan"], "cgan": cgan}
    )
    return fp32_spec, bf16_spec


def _run(spec, args) -> None:
    torch.set_num_threads(1)
    device = resolve_device(spec.device)
    spec = spec.with_device(str(device))
    executor = choose_executor(device=device, workers=args.workers, threads=1)
    if args.emulate:
        executor = EmulatingExecutor(executor)

    def report(event) -> None:
        if isinstance(event, RunStarted):
            print(f"{spec.name}: {event.n_tests} tests, {event.n_pending} units to run",
                  file=sys.stderr)

    with ResultsStore.open(Path(args.db)) as store:
        written = run_study(spec, store, executor, report, data_dir=args.data_dir)
    print(f"{written} units written", file=sys.stderr)


def _cgan_f1(db: Path, study: str) -> dict[str, tuple[float, float]]:
    if not db.exists():
        raise UserError(f"no results file at {db}")
    query = (
        "SELECT test_key, class_role, AVG(f1) FROM results "
        "WHERE study = ? AND method = 'cgan' GROUP BY test_key, class_role"
    )
    with sqlite3.connect(db) as connection:
        rows = connection.execute(query, (study,)).fetchall()
    by_test: dict[str, dict[str, float]] = {}
    for test_key, role, f1 in rows:
        by_test.setdefault(test_key, {})[role] = f1
    return {key: (roles["majority"], roles["minority"]) for key, roles in by_test.items()}


def _compare(fp32_spec, bf16_spec, fp32_db: Path, bf16_db: Path) -> None:
    fp32 = _cgan_f1(fp32_db, fp32_spec.name)
    bf16 = _cgan_f1(bf16_db, bf16_spec.name)
    shared = sorted(set(fp32) & set(bf16))
    if not shared:
        raise UserError(f"no test has CGAN results in both {fp32_db} and {bf16_db}")
    print(f"{'test':<28} {'fp32 maj':>9} {'bf16 maj':>9} {'fp32 min':>9} {'bf16 min':>9}")
    for key in shared:
        print(
            f"{key:<28} {fp32[key][0]:>9.4f} {bf16[key][0]:>9.4f} "
            f"{fp32[key][1]:>9.4f} {bf16[key][1]:>9.4f}"
        )
    fp32_means = np.mean([fp32[key] for key in shared], axis=0)
    bf16_means = np.mean([bf16[key] for key in shared], axis=0)
    differences = bf16_means - fp32_means
    print(
        f"mean over {len(shared)} tests: majority fp32 {fp32_means[0]:.4f} bf16 "
        f"{bf16_means[0]:.4f} ({differences[0]:+.4f}); minority fp32 {fp32_means[1]:.4f} "
        f"bf16 {bf16_means[1]:.4f} ({differences[1]:+.4f})"
    )


if __name__ == "__main__":
    raise SystemExit(main())
