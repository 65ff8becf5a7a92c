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
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from gan_oversampling.errors import UserError
from gan_oversampling.gan.config import CGANConfig, resolve_device
from gan_oversampling.gan.models import BatchedDiscriminator, BatchedGenerator

# A binary cross-entropy beyond this is no training any more: a healthy CGAN's losses stay
# below about 20, while a diverged one's logits (and losses) run to 1e25 and on to inf/NaN.
LOSS_BOUND = 1e6
_LOSS_NAMES = ("discriminator loss on real rows", "discriminator loss on fakes",
               "generator loss")


@dataclass
class TrainedCGANs:
    """The K trained generators (stacked), their losses and the training wall time.

    `losses[k, i]` holds GAN k's (d_real, d_fake, g) binary cross-entropies at iteration i.
    """

    generator: BatchedGenerator
    losses: np.ndarray
    seconds: float
    config: CGANConfig

    @property
    def n_gans(self) -> int:
        return self.generator.n_gans

    def divergence(self, k: int) -> str | None:
        """Why GAN k diverged ("diverged at iteration N (...)"), or None if it did not:
        a loss that is not finite or beyond `LOSS_BOUND`."""
        _check_member(k, self.n_gans)
        losses = self.losses[k]
        bad = ~np.isfinite(losses) | (np.abs(np.nan_to_num(losses)) > LOSS_BOUND)
        iterations = np.flatnonzero(bad.any(axis=1))
        if not iterations.size:
            return None
        it = int(iterations[0])
        which = int(np.flatnonzero(bad[it])[0])
        value = float(losses[it, which])
        what = (f"{_LOSS_NAMES[which]} {value:.3g}" if np.isfinite(value)
                else f"{_LOSS_NAMES[which]} is {value}")
        limit = f" beyond {LOSS_BOUND:g}" if np.isfinite(value) else ""
        return f"diverged at iteration {it + 1} ({what}{limit})"

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
        z = torch.randn(len(labels), self.config.latent_dim, generator=noise_source)
        single = self.generator.member(k)
        device = single.device
        labels_t = torch.as_tensor(labels, dtype=torch.int64, device=device)
        with torch.no_grad(), _autocast(self.config, device):
            rows = single(z.to(device)[None], labels_t[None], training=False)[0]
        return rows.float().cpu().numpy()


def train_cgans(
    train_sets: list[tuple[np.ndarray, np.ndarray]],
    n_classes: int,
    config: CGANConfig,
    seeds: list[int],
    progress: Callable[[int], None] | None = None,
) -> TrainedCGANs:
    """Train one CGAN per (X, y) training set, all K at once; GAN k is seeded with seeds[k].

    X: (n_k, F) features in [-1, 1]; y: (n_k,) labels encoded 0..n_classes-1. The sets may
    differ in row count but not in feature count. `progress(i)` is called after iteration i.
    """
    train_sets = _checked_inputs(train_sets, n_classes, seeds)
    device = resolve_device(config.device)
    n_gans, n_features = len(train_sets), train_sets[0][0].shape[1]
    rngs = [torch.Generator(device=device).manual_seed(int(seed)) for seed in seeds]
    gen = BatchedGenerator(n_gans, n_classes, n_features, config, device)
    disc = BatchedDiscriminator(n_gans, n_classes, n_features, config, device)
    gen.reset_parameters(rngs)
    disc.reset_parameters(rngs)
    opt_g, opt_d = _adam(gen, config), _adam(disc, config)
    g_params = list(gen.parameters())
    x_pool, y_pool, counts = _stack_training_sets(train_sets, device)
    draws = _IterationDraws(n_gans, n_classes, config, disc.dropout_widths, device)
    losses = torch.zeros(n_gans, config.iterations, 3, device=device)
    gan_index = torch.arange(n_gans, device=device).unsqueeze(1)
    start = time.perf_counter()
    for it in range(config.iterations):
        draws.refill(rngs, counts)
        x_real, y_real = x_pool[gan_index, draws.rows], y_pool[gan_index, draws.rows]
        with torch.no_grad(), _autocast(config, device):
            x_fake = gen(draws.z, y_real, training=False)
        for step, x_batch, real in ((0, x_real, True), (1, x_fake, False)):
            with _autocast(config, device):
                logits = disc(x_batch, y_real, draws.masks(step))
            loss = F.softplus(-logits if real else logits).mean(dim=1)
            opt_d.zero_grad(set_to_none=True)
            loss.sum().backward()
            opt_d.step()
            losses[:, it, step] = loss.detach()
        with _autocast(config, device):
            fake = gen(draws.z, draws.labels, training=True)
            logits = disc(fake, draws.labels, draws.masks(2))
        loss = F.softplus(-logits).mean(dim=1)
        opt_g.zero_grad(set_to_none=True)
        loss.sum().backward(inputs=g_params)  # the discriminator stays fixed
        opt_g.step()
        losses[:, it, 2] = loss.detach()
        if progress is not None:
            progress(it + 1)
    losses_np = losses.cpu().numpy()  # also waits for the device to finish
    seconds = time.perf_counter() - start
    return TrainedCGANs(gen.eval().requires_grad_(False), losses_np, seconds, config)


class _IterationDraws:
    """Per-iteration random draws of all K GANs, each GAN from its own generator.

    Per GAN and iteration the order is fixed: row indices, noise, generator-step labels,
    then the uniforms for the dropout masks of the three discriminator passes.
    """

    def __init__(self, n_gans, n_classes, config: CGANConfig, dropout_widths, device):
        batch = config.batch_size
        self.n_classes, self.batch = n_classes, batch
        self.keep = 1.0 - config.dropout
        self.widths = dropout_widths if config.dropout > 0 else ()
        self.rows = torch.empty(n_gans, batch, dtype=torch.int64, device=device)
        self.z = torch.empty(n_gans, batch, config.latent_dim, device=device)
        self.labels = torch.empty(n_gans, batch, dtype=torch.int64, device=device)
        # Uniform draws, turned in place into the scaled dropout masks of the iteration.
        self.mask_values = torch.empty(n_gans, 3 * batch * sum(self.widths), device=device)

    def refill(self, rngs: list[torch.Generator], counts: list[int]) -> None:
        for k, rng in enumerate(rngs):
            self.rows[k].random_(0, counts[k], generator=rng)
            self.z[k].normal_(generator=rng)
            self.labels[k].random_(0, self.n_classes, generator=rng)
            if self.widths:
                self.mask_values[k].uniform_(generator=rng)
        if self.widths:
            self.mask_values.lt_(self.keep).mul_(1.0 / self.keep)

    def masks(self, step: int) -> list[torch.Tensor] | None:
        """Dropout masks (K, B, width) of discriminator pass `step` (0 real, 1 fake, 2 G)."""
        if not self.widths:
            return None
        masks, offset = [], step * self.batch * sum(self.widths)
        for width in self.widths:
            size = self.batch * width
            masks.append(self.mask_values[:, offset : offset + size].view(-1, self.batch, width))
            offset += size
        return masks


def _adam(module: torch.nn.Module, config: CGANConfig) -> torch.optim.Adam:
    settings = dict(
        lr=config.learning_rate, betas=(config.beta1, config.beta2), eps=config.adam_eps
    )
    try:
        return torch.optim.Adam(module.parameters(), fused=True, **settings)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(module.parameters(), **settings)


def _autocast(config: CGANConfig, device: torch.device):
    if config.dtype == "bfloat16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _stack_training_sets(train_sets, device) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """All sets in one zero-padded (K, max_n, F) tensor, labels (K, max_n), row counts."""
    counts = [len(y) for _, y in train_sets]
    n_features = train_sets[0][0].shape[1]
    x_pool = torch.zeros(len(train_sets), max(counts), n_features)
    y_pool = torch.zeros(len(train_sets), max(counts), dtype=torch.int64)
    for k, (x, y) in enumerate(train_sets):
        x_pool[k, : counts[k]] = torch.from_numpy(x)
        y_pool[k, : counts[k]] = torch.from_numpy(y)
    return x_pool.to(device), y_pool.to(device), counts


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
