"""How fast CGANs train on this CPU, measured against what the machine itself can do.

    python benchmarks/bench_gan.py [--iterations 60] [--threads N] [--quick]

For 784, 196, 64 and 16 features, in one process: the machine's GEMM rate (a large square
product, and the products of one CGAN iteration at their real shapes, float32 and
bfloat16), fused Adam's cost per parameter, and two floors per GAN-iteration: the shape
floor (the iteration's products at the rate they reach at their own shapes, plus Adam)
and the peak floor (the same FLOPs at the square-GEMM rate, plus Adam: what the machine
could at best do). Then the plain one-GAN loop (`gan.reference`), and the batched trainer
at K=5 and at the runner's group size, each against both floors. Then the aggregate
throughput of P worker processes with T threads each, for every P x T that uses all
cores, against both floors of that layout. Nothing is hard-coded: every number, goal
verdict included, comes from this run. The load average is printed before and after,
since other jobs on the machine slow every figure: the floors are measured in the same
run and rise with load too, but less: they are best-of-rounds timings of short products,
which catch the quiet moments that whole training runs do not. `--quick` (10 iterations,
784 and 16 features only, shorter timing rounds) takes a few minutes.
"""

from __future__ import annotations

import argparse
import inspect
import math
import multiprocessing
import os
import platform
import statistics
import time

import numpy as np
import torch

from gan_oversampling.gan.cgan import CGANConfig, make_config, train_cgans
from gan_oversampling.gan.models import BatchedDiscriminator, BatchedGenerator
from gan_oversampling.gan.reference import train_cgan_reference
from gan_oversampling.study.executors import (
    available_cpus,
    choose_executor,
    reuse_freed_memory,
)
from gan_oversampling.study.runner import run_study

FEATURES = (784, 196, 64, 16)
TRAIN_ROWS = 448  # a training fold of a test with N=400, IR=0.4 under 5-fold CV
FLOOR_GOAL = 1.5  # batched at most this many times the floor, at every feature count
NAIVE_GOAL = 3.0  # batched at least this many times the naive throughput, on average


# ------------------------------------------------------------------ what one iteration does


def gemm_plan(config: CGANConfig, n_features: int) -> list[tuple[str, int, int, int]]:
    """Every matrix product of one CGAN iteration: (kind, width in, width out, count).

    Generator layers: forward twice (fakes in inference mode, then the G step), one
    backward (input and weight gradients; the first layer's input gradient trains the
    label embedding). Discriminator layers: forward three times (real, fake, G step),
    input gradients three times, weight gradients twice (its weights stay fixed in the
    G step).
    """
    g_widths = (config.latent_dim, *config.generator_hidden, n_features)
    d_widths = (n_features, *config.discriminator_hidden, 1)
    plan = []
    for widths, counts in ((g_widths, (2, 1, 1)), (d_widths, (3, 3, 2))):
        for w_in, w_out in zip(widths[:-1], widths[1:], strict=True):
            for kind, count in zip(("fwd", "grad_in", "grad_w"), counts, strict=True):
                plan.append((kind, w_in, w_out, count))
    return plan


def iteration_flops(config: CGANConfig, n_features: int) -> float:
    plan = gemm_plan(config, n_features)
    return sum(2.0 * config.batch_size * w_in * w_out * n for _, w_in, w_out, n in plan)


# ------------------------------------------------------------------ timing helpers


TIMING = {"min_seconds": 0.05, "rounds": 3}  # --quick shortens them


def best_seconds(fn, min_seconds: float | None = None, rounds: int | None = None) -> float:
    """Seconds per call: the best of `rounds` means, each over enough calls to take about
    `min_seconds`, after one warm call that also sizes the rounds."""
    min_seconds = TIMING["min_seconds"] if min_seconds is None else min_seconds
    rounds = TIMING["rounds"] if rounds is None else rounds
    started = time.perf_counter()
    fn()
    repeats = max(1, math.ceil(min_seconds / max(time.perf_counter() - started, 1e-9)))
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(repeats):
            fn()
        best = min(best, (time.perf_counter() - started) / repeats)
    return best


def square_gflops(dtype: torch.dtype, largest: int = 2048) -> float:
    """GFLOP/s of a square product; the size doubles from 256 while one product is quick,
    so that a slow type (bfloat16 without hardware support) stays affordable."""
    size, rng = 256, torch.Generator().manual_seed(0)
    while True:
        a = torch.rand(size, size, generator=rng).to(dtype)
        b = torch.rand(size, size, generator=rng).to(dtype)
        started = time.perf_counter()
        a @ b
        if size >= largest or time.perf_counter() - started > 0.02:
            return 2.0 * size**3 / best_seconds(lambda a=a, b=b: a @ b) / 1e9
        size *= 2


def shape_gemm_seconds(
    config: CGANConfig, n_features: int, n_gans: int, dtype: torch.dtype
) -> float:
    """Seconds per GAN for the products of one iteration, batched over `n_gans` as the
    trainer runs them (each GAN its own weights)."""
    rng = torch.Generator().manual_seed(0)
    batch, total = config.batch_size, 0.0
    for kind, w_in, w_out, count in gemm_plan(config, n_features):
        weight = torch.rand(n_gans, w_in, w_out, generator=rng).to(dtype)
        x = torch.rand(n_gans, batch, w_in, generator=rng).to(dtype)
        dy = torch.rand(n_gans, batch, w_out, generator=rng).to(dtype)
        bias = torch.rand(n_gans, 1, w_out, generator=rng).to(dtype)
        product = {
            "fwd": lambda b=bias, x=x, w=weight: torch.baddbmm(b, x, w),
            "grad_in": lambda dy=dy, w=weight: torch.bmm(dy, w.transpose(1, 2)),
            "grad_w": lambda x=x, dy=dy: torch.bmm(x.transpose(1, 2), dy),
        }[kind]
        total += count * best_seconds(product)
    return total / n_gans


def flat_gemm_gflops(config: CGANConfig, n_features: int, n_gans: int) -> float:
    """Forward products with all GANs' rows in one (K*32 x in) @ (in x out) matrix product,
    as if the GANs shared weights: what bigger products would reach."""
    rng = torch.Generator().manual_seed(0)
    flops, seconds = 0.0, 0.0
    for kind, w_in, w_out, _ in gemm_plan(config, n_features):
        if kind != "fwd":
            continue
        x = torch.rand(n_gans * config.batch_size, w_in, generator=rng)
        weight = torch.rand(w_in, w_out, generator=rng)
        flops += 2.0 * x.shape[0] * w_in * w_out
        seconds += best_seconds(lambda x=x, w=weight: x @ w)
    return flops / seconds / 1e9


def adam_ns_per_parameter(config: CGANConfig, n_features: int, n_gans: int) -> float:
    """torch.optim.Adam(fused=True) over the parameters of K generators and discriminators."""
    gen = BatchedGenerator(n_gans, 2, n_features, config)
    disc = BatchedDiscriminator(n_gans, 2, n_features, config)
    params = [*gen.parameters(), *disc.parameters()]
    rng = torch.Generator().manual_seed(0)
    for param in params:
        param.grad = torch.rand(param.shape, generator=rng).mul_(1e-3)
    adam = torch.optim.Adam(params, lr=config.learning_rate, betas=(config.beta1, 0.999),
                            fused=True)
    n_params = sum(p.numel() for p in params)
    return best_seconds(adam.step) / n_params * 1e9


def per_gan_parameters(config: CGANConfig, n_features: int) -> tuple[int, int]:
    """Parameters of one generator and one discriminator, as stored (padding included)."""
    gen = BatchedGenerator(1, 2, n_features, config)
    disc = BatchedDiscriminator(1, 2, n_features, config)
    return sum(p.numel() for p in gen.parameters()), sum(p.numel() for p in disc.parameters())


def training_set(n_features: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = (np.arange(TRAIN_ROWS) % 10 >= 7).astype(np.int64)  # 30% minority
    rows = rng.uniform(-1.0, 1.0, (TRAIN_ROWS, n_features)).astype(np.float32)
    return rows, rng.permutation(labels)


def naive_ms(config: CGANConfig, n_features: int, iterations: int) -> float:
    """The reference loop's ms per iteration (its one model build included, about 1%)."""
    x, y = training_set(n_features, 0)
    train_cgan_reference(x, y, 2, make_config(config, iterations=2), seed=0)
    started = time.perf_counter()
    train_cgan_reference(x, y, 2, make_config(config, iterations=iterations), seed=0)
    return (time.perf_counter() - started) / iterations * 1e3


def batched_ms(config: CGANConfig, n_features: int, n_gans: int, iterations: int) -> float:
    """The batched trainer's ms per GAN-iteration (training loop only)."""
    sets = [training_set(n_features, seed) for seed in range(n_gans)]
    seeds = list(range(n_gans))
    train_cgans(sets, 2, make_config(config, iterations=2), seeds)
    trained = train_cgans(sets, 2, make_config(config, iterations=iterations), seeds)
    return trained.seconds / (iterations * n_gans) * 1e3


# ------------------------------------------------------------------ several processes


def _process_worker(threads, n_features, n_gans, iterations, barrier, results) -> None:
    reuse_freed_memory()  # as the study's worker processes do
    torch.set_num_threads(threads)
    config = CGANConfig(device="cpu")
    sets = [training_set(n_features, seed) for seed in range(n_gans)]
    seeds = list(range(n_gans))
    train_cgans(sets, 2, make_config(config, iterations=2), seeds)
    barrier.wait()
    started = time.monotonic()
    train_cgans(sets, 2, make_config(config, iterations=iterations), seeds)
    results.put((started, time.monotonic()))


def processes_throughput(
    n_processes: int, threads: int, n_features: int, n_gans: int, iterations: int
) -> float:
    """GAN-iterations per second of `n_processes` processes training K GANs each at once."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(n_processes), context.Queue()
    workers = [
        context.Process(
            target=_process_worker,
            args=(threads, n_features, n_gans, iterations, barrier, results),
        )
        for _ in range(n_processes)
    ]
    for worker in workers:
        worker.start()
    spans = [results.get() for _ in workers]
    for worker in workers:
        worker.join()
    wall = max(end for _, end in spans) - min(start for start, _ in spans)
    return n_processes * n_gans * iterations / wall


def process_layouts(n_cpus: int) -> list[tuple[int, int]]:
    """Every (processes, threads) with processes x threads = n_cpus."""
    return [(n_cpus // t, t) for t in range(n_cpus, 0, -1) if n_cpus % t == 0]


# ------------------------------------------------------------------ the report


def floor_parts(config: CGANConfig, n_features: int) -> tuple[float, float, float]:
    """(GEMM seconds, Adam seconds, Adam ns/parameter) of one GAN-iteration at the current
    thread count, from products and Adam measured alone at K=5."""
    n_gans = 5
    gemm_s = shape_gemm_seconds(config, n_features, n_gans, torch.float32)
    n_g, n_d = per_gan_parameters(config, n_features)
    adam_ns = adam_ns_per_parameter(config, n_features, n_gans)
    return gemm_s, adam_ns * (2 * n_d + n_g) / 1e9, adam_ns  # D, D and G updates


def measure_features(config, n_features, k_large, iterations, square: float) -> dict:
    gemm_s, adam_s, adam_ns = floor_parts(config, n_features)
    flops = iteration_flops(config, n_features)
    bf16_s = shape_gemm_seconds(config, n_features, 5, torch.bfloat16)
    return {
        "features": n_features,
        "mflops": flops / 1e6,
        "shape_gflops": flops / gemm_s / 1e9,
        "flat_gflops": flat_gemm_gflops(config, n_features, 5),
        "bf16_shape_gflops": flops / bf16_s / 1e9,
        "adam_ns": adam_ns,
        "adam_ms": adam_s * 1e3,
        "floor_ms": (gemm_s + adam_s) * 1e3,
        # MFLOP / (GFLOP/s) is milliseconds.
        "peak_floor_ms": flops / 1e6 / square + adam_s * 1e3,
        "naive_ms": naive_ms(config, n_features, iterations),
        "batched5_ms": batched_ms(config, n_features, 5, iterations),
        "batched_large_ms": batched_ms(config, n_features, k_large, iterations),
    }


def print_row(row: dict, k_large: int) -> None:
    print(
        f"\n{row['features']} features: {row['mflops']:.0f} MFLOP of matrix products per "
        f"GAN-iteration\n"
        f"  GEMM at the GAN's shapes, K=5 batched: {row['shape_gflops']:.1f} GFLOP/s fp32, "
        f"{row['bf16_shape_gflops']:.1f} bf16; one (K*32 x in) @ (in x out) product: "
        f"{row['flat_gflops']:.1f} fp32\n"
        f"  fused Adam: {row['adam_ns']:.2f} ns/parameter = {row['adam_ms']:.2f} ms per "
        f"GAN-iteration (D, D, G)\n"
        f"  floors per GAN-iteration: shape floor {row['floor_ms']:.2f} ms (GEMMs at their "
        f"shapes + Adam), peak floor {row['peak_floor_ms']:.2f} ms (square-GEMM rate + Adam)\n"
        f"  naive reference loop: {row['naive_ms']:.2f} ms/iteration\n"
        f"  batched trainer: {row['batched5_ms']:.2f} ms/GAN-iteration at K=5, "
        f"{row['batched_large_ms']:.2f} at K={k_large}"
    )


def goal_line(label: str, ratios: list[float], floor: str) -> str:
    verdict = "holds" if max(ratios) <= FLOOR_GOAL else "does not hold"
    return (f"{label}: {statistics.mean(ratios):.2f}x the {floor} floor on average, worst "
            f"{max(ratios):.2f}x: within {FLOOR_GOAL}x of it at every feature count: {verdict}")


def print_summary(rows: list[dict], k_large: int) -> None:
    large = f"K={k_large}"
    print(f"\n{'features':>8} {'shape fl':>8} {'peak fl':>8} {'K=5':>7} {large:>7} "
          f"{'naive':>7} {'K=5/shape':>10} {large + '/shape':>10} {large + '/peak':>10} "
          f"{'naive/' + large:>11}   (ms per GAN-iteration)")
    for r in rows:
        print(f"{r['features']:>8} {r['floor_ms']:>8.2f} {r['peak_floor_ms']:>8.2f} "
              f"{r['batched5_ms']:>7.2f} {r['batched_large_ms']:>7.2f} {r['naive_ms']:>7.2f} "
              f"{r['batched5_ms'] / r['floor_ms']:>10.2f} "
              f"{r['batched_large_ms'] / r['floor_ms']:>10.2f} "
              f"{r['batched_large_ms'] / r['peak_floor_ms']:>10.2f} "
              f"{r['naive_ms'] / r['batched_large_ms']:>11.2f}")
    for key, label in (("batched5_ms", "K=5"), ("batched_large_ms", large)):
        for floor_key, floor in (("floor_ms", "shape"), ("peak_floor_ms", "peak")):
            print(goal_line(label, [r[key] / r[floor_key] for r in rows], floor))
        speedup = statistics.mean(r["naive_ms"] / r[key] for r in rows)
        print(f"{label}: naive/batched mean {speedup:.2f}: {NAIVE_GOAL}x or more the naive "
              f"throughput on average: {'holds' if speedup >= NAIVE_GOAL else 'does not hold'}")


def print_processes(config, rows, n_cpus, n_gans, iterations) -> None:
    """Aggregate throughput of every layout against the layout's two floors: one process's
    floor at T threads (shape floor, or FLOPs at the T-thread square-GEMM rate plus Adam),
    divided by P (shared memory bandwidth not counted)."""
    layouts = process_layouts(n_cpus)
    default = choose_executor(n_cpus, "cpu")
    default_layout = (default.n_workers, default.threads or n_cpus)
    square = {}
    for _, threads in layouts:
        torch.set_num_threads(threads)
        square[threads] = square_gflops(torch.float32)
    print(f"\nP processes x T threads, each process training K={n_gans} CGANs for {iterations} "
          f"iterations; aggregate ms per GAN-iteration (shape floor, peak floor); square GEMM "
          + ", ".join(f"{t} thread(s) {rate:.1f} GFLOP/s" for t, rate in square.items())
          + f"; the executors' default here: {default_layout[0]}x{default_layout[1]}")
    over_shape, over_peak, speedups = [], [], []
    for row in rows:
        shown, aggregate = [], {}
        for n_processes, threads in layouts:
            torch.set_num_threads(threads)
            gemm_s, adam_s, _ = floor_parts(config, row["features"])
            floor = (gemm_s + adam_s) * 1e3 / n_processes
            peak = (row["mflops"] / square[threads] + adam_s * 1e3) / n_processes
            rate = processes_throughput(n_processes, threads, row["features"], n_gans, iterations)
            aggregate[(n_processes, threads)] = (1e3 / rate, floor, peak)
            shown.append(f"{n_processes}x{threads}: {1e3 / rate:.2f} ({floor:.2f}, {peak:.2f})")
        ms, floor, peak = aggregate.get(default_layout, min(aggregate.values()))
        over_shape.append(ms / floor)
        over_peak.append(ms / peak)
        speedups.append(row["naive_ms"] / ms)
        print(f"{row['features']:>5} features: {', '.join(shown)}; default layout: "
              f"{ms / floor:.2f}x its shape floor, {ms / peak:.2f}x its peak floor, "
              f"{row['naive_ms'] / ms:.2f}x the naive loop")
    print(goal_line("default layout", over_shape, "shape"))
    print(goal_line("default layout", over_peak, "peak"))
    mean = statistics.mean(speedups)
    print(f"default layout: {mean:.2f}x the naive throughput on average: {NAIVE_GOAL}x or "
          f"more: {'holds' if mean >= NAIVE_GOAL else 'does not hold'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=None, help="default: 60, 10 quick")
    parser.add_argument("--threads", type=int, default=None, help="default: all cores")
    parser.add_argument("--process-gans", type=int, default=None,
                        help="CGANs per process in the multi-process measurement "
                             "(default: the runner's group size)")
    parser.add_argument("--features", type=int, nargs="+", default=None,
                        help=f"default: {' '.join(map(str, FEATURES))}; the ends when quick")
    parser.add_argument("--quick", action="store_true",
                        help="10 iterations, shorter timing rounds, 784 and 16 features")
    args = parser.parse_args()
    if args.iterations is None:
        args.iterations = 10 if args.quick else 60
    if args.features is None:
        args.features = [FEATURES[0], FEATURES[-1]] if args.quick else list(FEATURES)
    if args.quick:
        TIMING.update(min_seconds=0.02, rounds=2)
    counts = (args.iterations, args.threads or 1, args.process_gans or 1, *args.features)
    if min(counts) < 1:
        parser.error("--iterations, --threads, --process-gans and --features must be >= 1")
    n_cpus = available_cpus()
    threads = args.threads or n_cpus
    torch.set_num_threads(threads)
    kept = reuse_freed_memory()  # as the study's executors do
    config = CGANConfig(device="cpu")
    # The runner's group size: CGANs that train as one computation in a study.
    k_large = inspect.signature(run_study).parameters["max_gans"].default
    print(f"{platform.machine()} ({torch.backends.cpu.get_cpu_capability()}), {n_cpus} CPUs, "
          f"torch {torch.__version__}, {threads} threads, {args.iterations} iterations, "
          f"freed memory kept for reuse: {kept}; "
          f"load average before: {', '.join(f'{v:.2f}' for v in os.getloadavg())}"
          + ("; a loaded machine: other jobs compete for the CPUs"
             if os.getloadavg()[0] >= 0.5 * n_cpus else ""))
    square = square_gflops(torch.float32)
    print(f"large square GEMM: {square:.1f} GFLOP/s fp32, "
          f"{square_gflops(torch.bfloat16):.1f} GFLOP/s bf16")
    rows = []
    for n_features in args.features:
        rows.append(measure_features(config, n_features, k_large, args.iterations, square))
        print_row(rows[-1], k_large)
    print_summary(rows, k_large)
    print_processes(config, rows, n_cpus, args.process_gans or k_large, args.iterations)
    torch.set_num_threads(threads)
    print(f"load average after: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
