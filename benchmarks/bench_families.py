"""How fast each generator family trains batched, against the naive loop and its floors.

    python benchmarks/bench_families.py [--families cgan wgan-gp tab-ddpm] [--features 30]
                                        [--members 5] [--iterations 40] [--threads 1]

Per family, in one process and one run: the batched loop (`gan.loop.train_models`)
training K models at once, against the naive way (the same loop on one model at a time,
K times), in milliseconds per model-iteration; and against two floors of one training
iteration, both read off the iteration itself, not written down by hand. The products of
one `Stack.step` (every mm, bmm, baddbmm and addmm it dispatches, forward and backward,
recorded with torch's dispatch mode) are replayed at their own shapes: the *shape floor*
is their best-of-rounds time, what the kernels reach at these shapes. The *peak floor* is
their FLOPs at the rate of a large square product, what the machine could at best do.
Ratios come from the same run, since these machines are noisy; the load average is
printed before and after. The training rows are synthetic: numeric columns and one
one-hot block of four categories (so `wgan-gp` and `tab-ddpm` use their categorical
parts), two classes at 3:1.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from gan_oversampling.gan.config import make_settings, resolve_device
from gan_oversampling.gan.loop import train_models
from gan_oversampling.gan.registry import FAMILIES
from machine_load import load_text

_PRODUCTS = {torch.ops.aten.mm.default, torch.ops.aten.bmm.default,
             torch.ops.aten.baddbmm.default, torch.ops.aten.addmm.default}


def training_set(n_rows: int, n_features: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows in [-1, 1]: numeric columns, then a one-hot block of 4; labels 0/1 at 3:1."""
    rng = np.random.default_rng(seed)
    numeric = np.tanh(rng.normal(size=(n_rows, n_features - 4)))
    block = np.eye(4)[rng.integers(0, 4, n_rows)]
    y = (rng.random(n_rows) < 0.25).astype(np.int64)
    return np.hstack([numeric, block]).astype(np.float32), y


class ProductRecorder(TorchDispatchMode):
    """Records the shapes of every matrix product dispatched while it is active."""

    def __init__(self):
        super().__init__()
        self.calls: Counter = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func in _PRODUCTS:
            shapes = tuple(tuple(arg.shape) for arg in args if isinstance(arg, torch.Tensor))
            self.calls[(func, shapes)] += 1
        return func(*args, **(kwargs or {}))


def best_seconds(call, rounds: int = 5, repeats: int = 20) -> float:
    call()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(repeats):
            call()
        times.append((time.perf_counter() - started) / repeats)
    return min(times)


def product_flops(func, shapes) -> float:
    """FLOPs of one product: 2 x (output elements) x (inner size)."""
    if func is torch.ops.aten.mm.default:
        (m, k), (_, n) = shapes
        return 2.0 * m * k * n
    if func is torch.ops.aten.addmm.default:
        _, (m, k), (_, n) = shapes
        return 2.0 * m * k * n
    if func is torch.ops.aten.bmm.default:
        (b, m, k), (_, _, n) = shapes
        return 2.0 * b * m * k * n
    _, (b, m, k), (_, _, n) = shapes  # baddbmm
    return 2.0 * b * m * k * n


def replay_seconds(calls: Counter) -> float:
    """Seconds of the recorded products at their own shapes (best of rounds)."""
    rng = torch.Generator().manual_seed(0)
    total = 0.0
    for (func, shapes), count in calls.items():
        tensors = [torch.rand(shape, generator=rng) for shape in shapes]
        total += count * best_seconds(lambda f=func, t=tensors: f(*t))
    return total


def square_gflops(size: int = 1024) -> float:
    rng = torch.Generator().manual_seed(0)
    a, b = torch.rand(size, size, generator=rng), torch.rand(size, size, generator=rng)
    return 2.0 * size**3 / best_seconds(lambda: a @ b, repeats=5) / 1e9


def step_products(family, settings, sets) -> Counter:
    """The products of one training iteration of a stack of len(sets) models."""
    device = resolve_device(settings.device)
    rngs = [torch.Generator(device=device).manual_seed(k) for k in range(len(sets))]
    stack = family.start(sets, 2, settings, rngs, device, layout_rows=sets[0][0])
    stack.step(0)  # warm-up: lazily built optimiser state
    recorder = ProductRecorder()
    with recorder:
        stack.step(1)
    return recorder.calls


def ms_per_model_iteration(family, settings, sets) -> float:
    seeds = list(range(len(sets)))
    trained = train_models(family, sets, 2, settings, seeds)
    return trained.seconds / (settings.iterations * len(sets)) * 1e3


def measure(name: str, n_features: int, members: int, iterations: int, peak: float) -> dict:
    family = FAMILIES[name]
    settings = make_settings(family.settings_model, None, name, iterations=iterations,
                             device="cpu")
    sets = [training_set(400, n_features, seed) for seed in range(members)]
    ms_per_model_iteration(family, settings.model_copy(update={"iterations": 2}), sets[:1])
    batched = ms_per_model_iteration(family, settings, sets)
    naive = statistics.fmean(ms_per_model_iteration(family, settings, [data]) for data in sets)
    calls = step_products(family, settings, sets)
    flops = sum(product_flops(func, shapes) * count for (func, shapes), count in calls.items())
    shape_floor = replay_seconds(calls) / members * 1e3
    peak_floor = flops / (peak * 1e9) / members * 1e3
    return {"family": name, "batched": batched, "naive": naive, "shape": shape_floor,
            "peak": peak_floor, "products": sum(calls.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES))
    parser.add_argument("--features", type=int, default=30)
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"load before: {load_text()}; torch {torch.__version__}, {args.threads} thread(s), "
          f"K={args.members} models of 400 rows x {args.features} features, "
          f"{args.iterations} iterations, each family's default settings")
    peak = square_gflops()
    print(f"square 1024 product: {peak:.0f} GFLOP/s (float32)")
    print(f"{'family':<10} {'batched':>8} {'naive':>8} {'naive/':>7} {'shape':>8} "
          f"{'peak':>8} {'batched/':>9} {'batched/':>9} {'products':>9}")
    print(f"{'':<10} {'ms':>8} {'ms':>8} {'batched':>7} {'floor ms':>8} {'floor ms':>8} "
          f"{'shape':>9} {'peak':>9} {'per step':>9}")
    for name in args.families:
        row = measure(name, args.features, args.members, args.iterations, peak)
        print(f"{row['family']:<10} {row['batched']:>8.3f} {row['naive']:>8.3f} "
              f"{row['naive'] / row['batched']:>7.2f} {row['shape']:>8.3f} {row['peak']:>8.3f} "
              f"{row['batched'] / row['shape']:>9.2f} {row['batched'] / row['peak']:>9.2f} "
              f"{row['products']:>9}")
    print("ms: per model and training iteration. The floors count matrix products only "
          "(not Adam, activations, sampling of rows and noise).")
    print(f"load after: {load_text()}")


if __name__ == "__main__":
    main()
