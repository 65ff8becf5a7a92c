"""Training K independent CGANs as one batched computation.

One iteration per GAN, as in the original study: draw a batch of training rows with
replacement, generate fakes for the same labels (generator in inference mode), one
discriminator Adam step on the real batch (target 1), one on the fakes (target 0), then one
generator step through the discriminator (its weights fixed, its dropout active) on the same
noise with uniformly drawn labels (target 1, generator in training mode).

Each GAN owns one seeded torch.Generator that feeds all its draws (weights, rows, noise,
labels, dropout) in a fixed order, so a GAN's result does not depend on the other GANs
it is batched with. Adam is elementwise, so one optimiser over the stacked parameters is
K independent Adams.

Each GAN stops on its own (`gan.stopping`): at the checks its rule asks for, a diverged
GAN stops, an evaluating rule scores the others (`gan.checks`), and the GANs that stop
leave the stacked computation (`gan.stacked`); the generator kept for each GAN is its last
one (fixed rule) or its best-scoring one (patience rule).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from gan_oversampling.errors import UserError
from gan_oversampling.gan.checks import TrainingChecks, make_judges
from gan_oversampling.gan.config import CGANConfig, resolve_device
from gan_oversampling.gan.models import BatchedGenerator, autocast, generate_rows
from gan_oversampling.gan.stacked import StackedGANs, set_adam_step
from gan_oversampling.gan.stopping import LOSS_BOUND, StopRecord, loss_fault, make_rule

__all__ = ["LOSS_BOUND", "TrainedCGANs", "train_cgans"]


@dataclass
class TrainedCGANs:
    """The K trained generators (stacked), their losses and the training wall time.

    `losses[k, i]` holds GAN k's (d_real, d_fake, g) binary cross-entropies at iteration i
    (zeros after the GAN stopped); `stops[k]` says how GAN k's training ended.
    """

    generator: BatchedGenerator
    losses: np.ndarray
    seconds: float
    config: CGANConfig
    stops: tuple[StopRecord, ...] = ()

    @property
    def n_gans(self) -> int:
        return self.generator.n_gans

    def losses_of(self, k: int) -> np.ndarray:
        """GAN k's losses (iterations it trained, 3)."""
        _check_member(k, self.n_gans)
        return self.losses[k, : self.stops[k].iterations] if self.stops else self.losses[k]

    def divergence(self, k: int) -> str | None:
        """Why GAN k diverged ("diverged at iteration N (...)"), or None if it did not:
        a loss that is not finite or beyond `LOSS_BOUND`, or weights that are not finite."""
        _check_member(k, self.n_gans)
        found = loss_fault(self.losses[k])
        if found is not None:
            return found[1]
        stop = self.stops[k] if self.stops else None
        return stop.detail if stop is not None and stop.reason == "diverged" else None

    def generate(self, k: int, labels: np.ndarray, seed: int) -> np.ndarray:
        """Rows (n, n_features) float32 in [-1, 1] from generator k for encoded `labels`.

        The generator runs in inference mode; the noise comes from a CPU generator seeded
        with `seed`, so the same seed gives the same rows.
        """
        _check_member(k, self.n_gans)
        labels = _checked_labels(np.asarray(labels), self.generator.n_classes, "labels")
        if not isinstance(seed, int | np.integer) or seed < 0:
            raise UserError(f"seed must be an integer >= 0, got {seed!r}")
        if len(labels) == 0:
            return np.empty((0, self.generator.n_features), dtype=np.float32)
        noise_source = torch.Generator().manual_seed(int(seed))
        return generate_rows(self.generator.member(k), labels, noise_source)


def train_cgans(
    train_sets: list[tuple[np.ndarray, np.ndarray]],
    n_classes: int,
    config: CGANConfig,
    seeds: list[int],
    progress: Callable[[int], None] | None = None,
    targets: Sequence[Sequence[int]] | None = None,
) -> TrainedCGANs:
    """Train one CGAN per (X, y) training set, all K at once; GAN k is seeded with seeds[k].

    X: (n_k, F) features in [-1, 1]; y: (n_k,) labels encoded 0..n_classes-1. The sets may
    differ in row count but not in feature count. `progress(i)` is called after iteration i
    (the last call may come before `config.iterations` when every GAN stopped early).
    `targets[k]`: the codes of the classes GAN k will oversample, which an oracle judges
    (default: each set's least frequent class).
    """
    train_sets = _checked_inputs(train_sets, n_classes, seeds)
    targets = _checked_targets(targets, train_sets, n_classes)
    device = resolve_device(config.device)
    rule = make_rule(config)
    judges = make_judges(config, train_sets, targets, seeds) if rule.evaluates else None
    batch = StackedGANs.start([j.fit_set for j in judges] if judges else train_sets,
                              n_classes, config, seeds, device)
    kept = BatchedGenerator(len(seeds), n_classes, batch.gen.n_features, config, device)
    checks = TrainingChecks(rule, judges, kept, config.oracle if judges else None)
    losses = torch.zeros(len(seeds), config.iterations, 3, device=device)
    shared_steps = config.adam_step == "shared"  # one step counter for D and G, as Keras had
    start = time.perf_counter()
    for it in range(config.iterations):
        batch.draws.refill(batch.rngs, batch.counts)
        x_real, y_real = batch.real_rows(batch.draws.rows)
        with torch.no_grad(), autocast(config, device):
            x_fake = batch.gen(batch.draws.z, y_real, training=False)
        for step, x_batch, real in ((0, x_real, True), (1, x_fake, False)):
            with autocast(config, device):
                logits = batch.disc(x_batch, y_real, batch.draws.masks(step))
            loss = F.softplus(-logits if real else logits).mean(dim=1)
            batch.opt_d.zero_grad(set_to_none=True)
            loss.sum().backward()
            if shared_steps:
                set_adam_step(batch.opt_d, 3 * it + step)
            batch.opt_d.step()
            losses[batch.member_index, it, step] = loss.detach()
        with autocast(config, device):
            fake = batch.gen(batch.draws.z, batch.draws.labels, training=True)
            logits = batch.disc(fake, batch.draws.labels, batch.draws.masks(2))
        loss = F.softplus(-logits).mean(dim=1)
        batch.opt_g.zero_grad(set_to_none=True)
        loss.sum().backward(inputs=list(batch.gen.parameters()))  # the discriminator stays fixed
        if shared_steps:
            set_adam_step(batch.opt_g, 3 * it + 2)
        batch.opt_g.step()
        losses[batch.member_index, it, 2] = loss.detach()
        if progress is not None:
            progress(it + 1)
        if rule.checks_after(it + 1):
            batch = checks.check(batch, it + 1, losses)
            if batch is None:
                break
    losses_np = losses.cpu().numpy()  # also waits for the device to finish
    seconds = time.perf_counter() - start
    generator = kept.eval().requires_grad_(False)
    return TrainedCGANs(generator, losses_np, seconds, config, tuple(checks.stops))


def _checked_targets(targets, train_sets, n_classes) -> list[np.ndarray]:
    """Per set, the codes of the classes to judge; UserError for codes out of range."""
    if targets is None:
        return [_least_frequent(y, n_classes) for _, y in train_sets]
    if len(targets) != len(train_sets):
        raise UserError(f"got targets for {len(targets)} training sets, need {len(train_sets)}")
    checked = []
    for k, codes in enumerate(targets):
        codes = np.unique(np.asarray(codes, dtype=np.int64))
        if codes.size == 0 or codes.min() < 0 or codes.max() >= n_classes:
            raise UserError(f"training set {k}: targets must be class codes 0..{n_classes - 1}")
        checked.append(codes)
    return checked


def _least_frequent(y: np.ndarray, n_classes: int) -> np.ndarray:
    counts = np.bincount(y, minlength=n_classes).astype(float)
    counts[counts == 0] = np.inf  # a class absent from the set is not oversampled
    return np.array([np.argmin(counts)])


def _checked_inputs(train_sets, n_classes, seeds) -> list[tuple[np.ndarray, np.ndarray]]:
    """The training sets as (float32 X, int64 y) arrays; UserError on anything unusable."""
    if isinstance(n_classes, bool) or not isinstance(n_classes, int | np.integer) or n_classes < 2:
        raise UserError(f"n_classes must be an integer >= 2, got {n_classes!r}")
    if not train_sets:
        raise UserError("train_sets is empty: give at least one (X, y) training set")
    if len(seeds) != len(train_sets):
        raise UserError(
            f"got {len(seeds)} seeds for {len(train_sets)} training sets: need one each"
        )
    for seed in seeds:
        if not isinstance(seed, int | np.integer) or seed < 0:
            raise UserError(f"seeds must be integers >= 0, got {seed!r}")
    n_features, checked = None, []
    for k, (x, y) in enumerate(train_sets):
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
            raise UserError(f"training set {k}: X must be a non-empty 2-D array, got {x.shape}")
        if not np.issubdtype(x.dtype, np.number) or not np.isfinite(x).all():
            raise UserError(f"training set {k}: X must hold finite numbers")
        n_features = x.shape[1] if n_features is None else n_features
        if x.shape[1] != n_features:
            raise UserError(f"training set {k} has {x.shape[1]} features, set 0 has {n_features}")
        y = _checked_labels(np.asarray(y), n_classes, f"training set {k}: y")
        if len(y) != len(x):
            raise UserError(f"training set {k}: {len(x)} rows in X but {len(y)} labels in y")
        checked.append((x.astype(np.float32), y.astype(np.int64)))
    return checked


def _checked_labels(labels: np.ndarray, n_classes: int, what: str) -> np.ndarray:
    if labels.ndim != 1 or (labels.size and not np.issubdtype(labels.dtype, np.integer)):
        raise UserError(f"{what} must be a 1-D array of integer labels 0..{n_classes - 1}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise UserError(
            f"{what} holds label {labels.min() if labels.min() < 0 else labels.max()}; "
            f"labels must be encoded 0..{n_classes - 1}"
        )
    return labels


def _check_member(k: int, n_gans: int) -> None:
    if not isinstance(k, int | np.integer) or not 0 <= k < n_gans:
        raise UserError(f"GAN index {k!r} out of range: 0..{n_gans - 1}")
