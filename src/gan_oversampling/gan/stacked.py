"""The GANs still training, as one stacked computation, and how a finished GAN leaves it.

`StackedGANs` holds everything the training loop touches per GAN: the stacked generator
and discriminator, their Adam states, one seeded torch.Generator per GAN, the padded pool
of training rows and the per-iteration draw buffers. `keep(rows)` compacts all of it to
the GANs of those rows, so that a stopped GAN stops costing time. Every GAN's values sit in
its own slice (the stacked layout keeps a GAN's Adam update and products bit-identical
whatever the batch), so compaction changes no GAN's result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gan_oversampling.gan.config import CGANConfig
from gan_oversampling.gan.models import BatchedDiscriminator, BatchedGenerator


@dataclass
class StackedGANs:
    """GAN `members[i]` (its index among all GANs of the call) trains in row i."""

    members: list[int]
    gen: BatchedGenerator
    disc: BatchedDiscriminator
    opt_g: torch.optim.Adam
    opt_d: torch.optim.Adam
    rngs: list[torch.Generator]
    x_pool: torch.Tensor  # (K, max rows, features), zero-padded
    y_pool: torch.Tensor  # (K, max rows)
    counts: list[int]  # rows of each GAN's training set
    draws: IterationDraws
    config: CGANConfig

    def __post_init__(self) -> None:
        self.member_index = torch.as_tensor(self.members, device=self.device)

    @classmethod
    def start(cls, train_sets: list[tuple[np.ndarray, np.ndarray]], n_classes: int,
              config: CGANConfig, seeds: list[int], device: torch.device) -> StackedGANs:
        """Fresh GANs, GAN k's weights drawn from a generator seeded with seeds[k]."""
        n_gans, n_features = len(train_sets), train_sets[0][0].shape[1]
        rngs = [torch.Generator(device=device).manual_seed(int(seed)) for seed in seeds]
        gen = BatchedGenerator(n_gans, n_classes, n_features, config, device)
        disc = BatchedDiscriminator(n_gans, n_classes, n_features, config, device)
        gen.reset_parameters(rngs)
        disc.reset_parameters(rngs)
        x_pool, y_pool, counts = _stack_training_sets(train_sets, device)
        draws = IterationDraws(n_gans, n_classes, config, disc.dropout_widths, device)
        return cls(list(range(n_gans)), gen, disc, adam(gen, config), adam(disc, config),
                   rngs, x_pool, y_pool, counts, draws, config)

    @property
    def device(self) -> torch.device:
        return self.x_pool.device

    def real_rows(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Rows (K, B, F) and labels (K, B) of each GAN's pool at the drawn `rows` (K, B)."""
        gan_index = torch.arange(len(self.members), device=self.device).unsqueeze(1)
        return self.x_pool[gan_index, rows], self.y_pool[gan_index, rows]

    def keep(self, rows: list[int]) -> StackedGANs:
        """The same GANs but only those of `rows`, in that order."""
        index = torch.as_tensor(rows, dtype=torch.int64, device=self.device)
        gen = _stacked_copy(self.gen, index)
        disc = _stacked_copy(self.disc, index)
        opt_g, opt_d = adam(gen, self.config), adam(disc, self.config)
        opt_g.load_state_dict(_sliced_adam_state(self.opt_g, index))
        opt_d.load_state_dict(_sliced_adam_state(self.opt_d, index))
        draws = IterationDraws(len(rows), self.gen.n_classes, self.config,
                               disc.dropout_widths, self.device)
        return StackedGANs(
            [self.members[row] for row in rows], gen, disc, opt_g, opt_d,
            [self.rngs[row] for row in rows], self.x_pool[index], self.y_pool[index],
            [self.counts[row] for row in rows], draws, self.config,
        )


class IterationDraws:
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


def adam(module: torch.nn.Module, config: CGANConfig) -> torch.optim.Adam:
    settings = dict(
        lr=config.learning_rate, betas=(config.beta1, config.beta2), eps=config.adam_eps
    )
    try:
        return torch.optim.Adam(module.parameters(), fused=True, **settings)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(module.parameters(), **settings)


def set_adam_step(optimiser: torch.optim.Adam, steps_done: int) -> None:
    """Make `optimiser`'s next step use the bias correction of step `steps_done + 1`.

    Adam adds one to each parameter's `step` before using it (in the plain and the fused
    implementation alike). A parameter without state yet gets it from a step on a zero
    gradient, which leaves its weights and moments at zero change.
    """
    params = [p for group in optimiser.param_groups for p in group["params"]]
    if any(not optimiser.state[p] for p in params):
        saved = [p.grad for p in params]
        for p in params:
            p.grad = torch.zeros_like(p)
        optimiser.step()
        for p, grad in zip(params, saved, strict=True):
            p.grad = grad
    for p in params:
        optimiser.state[p]["step"].fill_(steps_done)


def copy_members(source: torch.nn.Module, source_rows: list[int],
                 target: torch.nn.Module, target_rows: list[int]) -> None:
    """Copy the stacked weights and statistics of `source_rows` into `target_rows`."""
    targets = target.state_dict()
    with torch.no_grad():
        for name, tensor in source.state_dict().items():
            targets[name][target_rows] = tensor[source_rows].to(targets[name].device)


def _stacked_copy(module, index: torch.Tensor):
    """A new stacked network of the same kind holding only the GANs of `index`."""
    copy = type(module)(len(index), module.n_classes, module.n_features, module.config,
                        index.device)
    copy.load_state_dict({name: tensor[index] for name, tensor in module.state_dict().items()})
    return copy.train(module.training)


def _sliced_adam_state(optimiser: torch.optim.Adam, index: torch.Tensor) -> dict:
    """Adam's state dict with every per-GAN moment cut to the GANs of `index`; the step
    counts are shared by all GANs and stay."""
    state = optimiser.state_dict()
    state["state"] = {
        key: {name: (value[index] if value.dim() > 0 else value.clone())
              for name, value in entry.items()}
        for key, entry in state["state"].items()
    }
    return state


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
