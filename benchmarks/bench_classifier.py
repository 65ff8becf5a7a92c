"""The paper classifier's hand-written backward pass and Adam against autograd.

    python benchmarks/bench_classifier.py [--repeats 7] [--threads 1] [--seeds 3]

`PaperMLP.fit` (hand-written gradients, one flat parameter buffer, Keras-form Adam) is
timed against two autograd versions of the same network, fitted from the same start on
the same rows and shuffles:

- autograd-flat: the parameters are views of one leaf tensor with requires_grad, the loss
  is `F.binary_cross_entropy_with_logits`, and the same `_KerasAdam` steps on its .grad;
- nn.Linear: two `nn.Linear` layers and a Keras-form Adam applied to each parameter's .grad.

The fits are interleaved (hand, autograd-flat, nn.Linear, hand, ...) and each ratio is the
median over repeats of the per-repeat ratio, so load from other jobs, which comes and goes,
hits all three alike. Shapes are the study's training sets (rows x features, binary, 20%
held back as Keras's validation split), one torch thread as in the study's workers. The
predictions are compared on several seeds: bit-identical, or the largest probability
difference and the count of differing labels. The 1-minute load average is printed before
and after: timings on a loaded machine are noisier, the ratios less so.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gan_oversampling.evaluation.paper_mlp import (
    ADAM_BETA_1,
    ADAM_BETA_2,
    ADAM_EPSILON,
    PaperMLP,
    _KerasAdam,
)
from machine_load import load_text

SHAPES = ((1400, 784), (1400, 16), (160, 196), (140, 22))


class AutogradFlatMLP(PaperMLP):
    """PaperMLP whose training step is autograd over one flat leaf tensor.

    Weights, shuffles and the Adam form are PaperMLP's own: only the gradient computation
    differs, so any change in predictions comes from autograd's arithmetic.
    """

    def _train(self, inputs, targets, generator):
        flat = self._layers.flat.requires_grad_(True)
        n_features, n_outputs = inputs.shape[1], self._layers.bias_2.shape[0]
        # Views taken after requires_grad, so their gradients accumulate into flat.grad.
        layers = _views_of(flat, n_features, self.hidden_units, n_outputs)
        optimiser = _KerasAdam(flat.data, float(self.learning_rate))

        def step(batch, batch_targets):
            hidden = torch.addmm(layers[1], batch, layers[0]).relu()
            logits = torch.addmm(layers[3], hidden, layers[2])
            loss = F.binary_cross_entropy_with_logits(logits, batch_targets)
            flat.grad = None
            loss.backward()
            optimiser.step(flat.grad)
            return loss

        loss_curve = _epochs(self, inputs, targets, generator, step)
        flat.requires_grad_(False)
        return loss_curve


class LinearModuleMLP(PaperMLP):
    """PaperMLP trained as two nn.Linear layers with a per-tensor Keras-form Adam."""

    def _train(self, inputs, targets, generator):
        kernel_1, bias_1 = self._layers.kernel_1, self._layers.bias_1
        kernel_2, bias_2 = self._layers.kernel_2, self._layers.bias_2
        network = nn.Sequential(
            nn.Linear(*kernel_1.shape), nn.ReLU(), nn.Linear(*kernel_2.shape)
        )
        with torch.no_grad():
            for linear, kernel, bias in ((network[0], kernel_1, bias_1),
                                         (network[2], kernel_2, bias_2)):
                linear.weight.copy_(kernel.T)
                linear.bias.copy_(bias)
        optimisers = [_KerasAdam(p.data, float(self.learning_rate)) for p in network.parameters()]

        def step(batch, batch_targets):
            loss = F.binary_cross_entropy_with_logits(network(batch), batch_targets)
            network.zero_grad(set_to_none=True)
            loss.backward()
            with torch.no_grad():
                for optimiser, param in zip(optimisers, network.parameters(), strict=True):
                    optimiser.step(param.grad)
            return loss

        loss_curve = _epochs(self, inputs, targets, generator, step)
        with torch.no_grad():  # back into PaperMLP's layout, which predict() reads
            kernel_1.copy_(network[0].weight.T)
            bias_1.copy_(network[0].bias)
            kernel_2.copy_(network[2].weight.T)
            bias_2.copy_(network[2].bias)
        return loss_curve


def _epochs(model: PaperMLP, inputs, targets, generator, step) -> list[float]:
    """PaperMLP's epoch loop (same shuffles, same batches) around a training `step`."""
    n_rows, loss_curve = inputs.shape[0], []
    for _ in range(model.epochs):
        order = torch.randperm(n_rows, generator=generator)
        epoch_inputs, epoch_targets = inputs[order], targets[order]
        weighted_loss = torch.zeros(())
        for start in range(0, n_rows, model.batch_size):
            batch = epoch_inputs[start : start + model.batch_size]
            loss = step(batch, epoch_targets[start : start + model.batch_size])
            weighted_loss += loss.detach() * batch.shape[0]
        loss_curve.append(float(weighted_loss) / n_rows)
    return loss_curve


def _views_of(flat, n_features, n_hidden, n_outputs) -> list[torch.Tensor]:
    shapes = [(n_features, n_hidden), (n_hidden,), (n_hidden, n_outputs), (n_outputs,)]
    views, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        views.append(flat[start : start + size].view(shape))
        start += size
    return views


IMPLEMENTATIONS = {
    "hand": PaperMLP,
    "autograd-flat": AutogradFlatMLP,
    "nn.Linear": LinearModuleMLP,
}


def study_like_rows(n_rows: int, n_features: int, seed: int):
    """Rows in [-1, 1] (the study scales features so), 30% minority with a shifted mean."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n_rows) < 0.3).astype(np.int64)
    X = np.clip(rng.normal(0.3 * (2 * y[:, None] - 1), 0.6, (n_rows, n_features)), -1, 1)
    return X.astype(np.float32), y


def compare_predictions(n_rows: int, n_features: int, seeds: int) -> dict[str, str]:
    """Per autograd version: 'bit-identical' or how far its predictions are from hand's."""
    verdicts = {}
    for name, cls in IMPLEMENTATIONS.items():
        if name == "hand":
            continue
        max_diff, flipped, identical = 0.0, 0, True
        for seed in range(seeds):
            X, y = study_like_rows(n_rows, n_features, seed)
            hand = PaperMLP(random_state=seed).fit(X, y)
            other = cls(random_state=seed).fit(X, y)
            same_weights = torch.equal(hand._layers.flat, other._layers.flat)
            p_hand, p_other = hand.predict_proba(X)[:, 1], other.predict_proba(X)[:, 1]
            identical &= same_weights and np.array_equal(p_hand, p_other)
            max_diff = max(max_diff, float(np.abs(p_hand - p_other).max()))
            flipped += int((hand.predict(X) != other.predict(X)).sum())
        verdicts[name] = (
            "bit-identical weights and probabilities"
            if identical
            else f"max |dp| {max_diff:.1e}, {flipped} labels differ over {seeds} seeds"
        )
    return verdicts


def time_fits(n_rows: int, n_features: int, repeats: int) -> dict[str, list[float]]:
    """Seconds per fit, interleaved across implementations, `repeats` rounds."""
    X, y = study_like_rows(n_rows, n_features, 0)
    for cls in IMPLEMENTATIONS.values():  # warm-up: first calls pay for lazy initialisation
        cls(random_state=0, epochs=1).fit(X, y)
    seconds: dict[str, list[float]] = {name: [] for name in IMPLEMENTATIONS}
    for repeat in range(repeats):
        for name, cls in IMPLEMENTATIONS.items():
            started = time.perf_counter()
            cls(random_state=repeat).fit(X, y)
            seconds[name].append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1, help="the study's workers use 1")
    parser.add_argument("--seeds", type=int, default=3, help="seeds for the prediction check")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), {args.repeats} interleaved "
          f"repeats, {os.cpu_count()} CPUs; 1-minute load average before: {load_text()}")
    print(f"Keras Adam: beta_1={ADAM_BETA_1}, beta_2={ADAM_BETA_2}, epsilon={ADAM_EPSILON}")
    header = (f"{'rows x features':>16} {'hand ms':>9} {'flat ms':>9} {'Linear ms':>10} "
              f"{'flat/hand':>10} {'Linear/hand':>12}")
    print(header)
    verdicts = {}
    for n_rows, n_features in SHAPES:
        seconds = time_fits(n_rows, n_features, args.repeats)
        ms = {name: statistics.median(times) * 1e3 for name, times in seconds.items()}
        ratios = {
            name: statistics.median(o / h for o, h in zip(times, seconds["hand"], strict=True))
            for name, times in seconds.items()
        }
        print(f"{f'{n_rows} x {n_features}':>16} {ms['hand']:>9.1f} {ms['autograd-flat']:>9.1f}"
              f" {ms['nn.Linear']:>10.1f} {ratios['autograd-flat']:>10.2f} "
              f"{ratios['nn.Linear']:>12.2f}   (load {os.getloadavg()[0]:.2f})")
        verdicts[(n_rows, n_features)] = compare_predictions(n_rows, n_features, args.seeds)
    print("ratio = median over repeats of (autograd version's fit time / hand-written's);"
          " above 1 means the hand-written code is faster")
    for (n_rows, n_features), per_version in verdicts.items():
        for name, verdict in per_version.items():
            print(f"{n_rows} x {n_features}, {name} vs hand: {verdict}")
    print(f"1-minute load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
