"""The GAN's hand-written training batch norm against `F.batch_norm` on a (B, K*W) view.

    python benchmarks/bench_batchnorm.py [--repeats 9] [--threads 1] [--iterations 5]

The generator normalises activations (K, B, W), K GANs with a batch of B rows each,
over each GAN's own batch. `_StackedBatchNorm` does it with `_TrainingBatchNorm`, an
autograd Function with a hand-written backward, and updates its running statistics with
two lerps. The alternative transposes to (B, K, W), reshapes to (B, K*W) (a copy when
K > 1), and lets `F.batch_norm(training=True)` normalise the K*W columns and update the
flattened running buffers (torch momentum 1 - Keras momentum), then views the result back
as (K, B, W).

Timed: one forward + backward of the whole training-mode layer (running statistics
included), at the GAN's shapes: K in {1, 5, 20}, B = 32, W in {256, 512, 1024}. The two
are interleaved, each ratio the median over repeats of the per-repeat ratio, so load from
other jobs hits both alike; one torch thread, as in the study's default 2 processes x 1
thread. Checked: largest absolute difference of outputs, of the three gradients and of
the running statistics; and whether `train_cgans` with the alternative patched in gives
bit-identical losses (np.array_equal) over a few iterations. The 1-minute load average is
printed before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from unittest import mock

import numpy as np
import torch
import torch.nn.functional as F

from gan_oversampling.gan.cgan import CGANConfig, make_config, train_cgans
from gan_oversampling.gan.models import _StackedBatchNorm
from machine_load import load_text

GANS = (1, 5, 20)
WIDTHS = (256, 512, 1024)
BATCH = 32


def flat_view_forward(self: _StackedBatchNorm, inputs: torch.Tensor, training: bool):
    """`_StackedBatchNorm.forward` with training-mode statistics from F.batch_norm."""
    inputs = inputs.float()
    if not training:
        scale = self.gamma.value() * torch.rsqrt(self.running_var + self.eps)
        shift = self.beta.value() - self.running_mean * scale
        return torch.addcmul(shift, inputs, scale)
    n_gans, batch, width = inputs.shape
    columns = inputs.transpose(0, 1).reshape(batch, n_gans * width)
    outputs = F.batch_norm(
        columns,
        self.running_mean.view(-1),  # (K, 1, W) buffers: views, updated in place
        self.running_var.view(-1),
        weight=self.gamma.value().reshape(-1),
        bias=self.beta.value().reshape(-1),
        training=True,
        momentum=1.0 - self.momentum,
        eps=self.eps,
    )
    return outputs.view(batch, n_gans, width).transpose(0, 1)


def layer(n_gans: int, width: int) -> _StackedBatchNorm:
    config = CGANConfig()
    norm = _StackedBatchNorm(n_gans, width, config.bn_momentum, config.bn_eps, "cpu")
    with torch.no_grad():  # gamma and beta away from 1 and 0, as after some training
        rng = torch.Generator().manual_seed(1)
        norm.gamma.value().copy_(1.0 + 0.1 * torch.randn(n_gans, 1, width, generator=rng))
        norm.beta.value().copy_(0.1 * torch.randn(n_gans, 1, width, generator=rng))
    return norm


def step_inputs(n_gans: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    rng = torch.Generator().manual_seed(0)
    # LeakyReLU outputs, which the generator normalises: mostly positive, some small negative.
    raw = torch.randn(n_gans, BATCH, width, generator=rng) * 2.0 + 0.5
    return F.leaky_relu(raw, 0.2), torch.randn(n_gans, BATCH, width, generator=rng)


def run_step(forward, norm, inputs, grad_out) -> list[torch.Tensor]:
    """Forward + backward; returns outputs, input/gamma/beta gradients, running stats."""
    x = inputs.clone().requires_grad_(True)
    norm.zero_grad(set_to_none=True)
    outputs = forward(norm, x, True)
    outputs.backward(grad_out)
    return [outputs.detach(), x.grad, norm.gamma.data.grad, norm.beta.data.grad,
            norm.running_mean.clone(), norm.running_var.clone()]


def value_differences(n_gans: int, width: int) -> list[float]:
    inputs, grad_out = step_inputs(n_gans, width)
    hand = run_step(_StackedBatchNorm.forward, layer(n_gans, width), inputs, grad_out)
    flat = run_step(flat_view_forward, layer(n_gans, width), inputs, grad_out)
    return [float((a - b).abs().max()) for a, b in zip(hand, flat, strict=True)]


def timed_ratio(n_gans: int, width: int, repeats: int) -> tuple[float, float, float]:
    """(hand us, F.batch_norm us, median per-repeat ratio F.batch_norm / hand)."""
    inputs, grad_out = step_inputs(n_gans, width)
    norms = {"hand": layer(n_gans, width), "flat": layer(n_gans, width)}
    forwards = {"hand": _StackedBatchNorm.forward, "flat": flat_view_forward}
    # Calls per timing sized from a warm call to take about 20 ms.
    started = time.perf_counter()
    for name in forwards:
        run_step(forwards[name], norms[name], inputs, grad_out)
    calls = max(3, int(0.02 / max((time.perf_counter() - started) / 2, 1e-7)))
    per_call: dict[str, list[float]] = {name: [] for name in forwards}
    for _ in range(repeats):
        for name, forward in forwards.items():
            started = time.perf_counter()
            for _ in range(calls):
                run_step(forward, norms[name], inputs, grad_out)
            per_call[name].append((time.perf_counter() - started) / calls)
    ratio = statistics.median(f / h for f, h in zip(per_call["flat"], per_call["hand"],
                                                    strict=True))
    return (statistics.median(per_call["hand"]) * 1e6,
            statistics.median(per_call["flat"]) * 1e6, ratio)


def training_check(iterations: int) -> str:
    """Whether train_cgans' losses stay bit-identical with F.batch_norm patched in."""
    rng = np.random.default_rng(0)
    sets = []
    for _ in range(5):
        y = rng.integers(0, 2, 60)
        sets.append((rng.uniform(-1, 1, (60, 16)).astype(np.float32), y))
    config = make_config(CGANConfig(device="cpu"), iterations=iterations)
    seeds = list(range(5))
    hand = train_cgans(sets, 2, config, seeds)
    with mock.patch.object(_StackedBatchNorm, "forward", flat_view_forward):
        flat = train_cgans(sets, 2, config, seeds)
    if np.array_equal(hand.losses, flat.losses):
        return f"losses bit-identical over {iterations} iterations, K=5, default architecture"
    differing = np.argwhere(hand.losses != flat.losses)
    first = int(differing[:, 1].min())
    return (f"losses differ from iteration {first} on (max |d| "
            f"{np.abs(hand.losses - flat.losses).max():.1e} over {iterations} iterations, "
            f"K=5, default architecture)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--threads", type=int, default=1, help="the study's default is 1")
    parser.add_argument("--iterations", type=int, default=5,
                        help="train_cgans iterations of the bit-identity check")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), {args.repeats} interleaved "
          f"repeats, {os.cpu_count()} CPUs; 1-minute load average before: {load_text()}")
    print(f"{'K':>3} {'W':>5} {'hand us':>9} {'F.bn us':>9} {'F.bn/hand':>10} "
          f"{'max |d| out':>12} {'d_in':>8} {'d_gamma':>8} {'d_beta':>8} {'run_mean':>8} "
          f"{'run_var':>8}")
    for n_gans in GANS:
        for width in WIDTHS:
            hand_us, flat_us, ratio = timed_ratio(n_gans, width, args.repeats)
            diffs = value_differences(n_gans, width)
            print(f"{n_gans:>3} {width:>5} {hand_us:>9.1f} {flat_us:>9.1f} {ratio:>10.2f} "
                  f"{diffs[0]:>12.1e} " + " ".join(f"{d:>8.1e}" for d in diffs[1:])
                  + f"   (load {os.getloadavg()[0]:.2f})")
    print("F.bn/hand = median over repeats of (F.batch_norm layer time / hand-written layer"
          " time), forward + backward; above 1 means the hand-written layer is faster")
    print(f"train_cgans with F.batch_norm: {training_check(args.iterations)}")
    print(f"1-minute load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
