"""The conditional GAN of the original study (Nazari & Branco, 2021) as a generator family.

One iteration per GAN, as in the original code: draw a batch of training rows with
replacement, generate fakes for the same labels (generator in inference mode), one
discriminator Adam step on the real batch (target 1), one on the fakes (target 0), then one
generator step through the discriminator (its weights fixed, its dropout active) on the same
noise with uniformly drawn labels (target 1, generator in training mode). The networks are
in `gan.models`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field, field_validator

from gan_oversampling.gan.config import TrainingSettings, make_settings, positive_layer_sizes
from gan_oversampling.gan.family import Family, Stack, TrainSets
from gan_oversampling.gan.layers import (
    adam,
    autocast,
    pool_rows,
    set_adam_step,
    sliced_optimiser,
    stack_training_sets,
    stacked_copy,
)
from gan_oversampling.gan.loop import train_models
from gan_oversampling.gan.models import BatchedDiscriminator, BatchedGenerator

LOSS_NAMES = ("discriminator loss on real rows", "discriminator loss on fakes",
              "generator loss")


class CGANConfig(TrainingSettings):
    """Architecture, optimiser and run settings of the CGAN.

    Layer sizes, activations and optimiser settings follow the Keras 2 code of the
    original study; `bn_momentum` keeps the Keras meaning
    (running = momentum * running + (1 - momentum) * batch). `adam_step = "shared"`
    reproduces the original code's one Adam step counter for the discriminator and the
    generator (it advances three times per iteration); "separate" gives each optimiser its
    own. The training settings it shares with every family are `TrainingSettings`'.
    """

    latent_dim: int = Field(50, ge=1)
    beta1: float = Field(0.5, ge=0, lt=1)
    beta2: float = Field(0.999, ge=0, lt=1)
    adam_eps: float = Field(1e-7, gt=0)
    generator_hidden: tuple[int, ...] = (256, 512, 1024)
    discriminator_hidden: tuple[int, ...] = (512, 512, 512)
    dropout: float = Field(0.4, ge=0, lt=1)
    leaky_slope: float = Field(0.2, ge=0)
    bn_momentum: float = Field(0.8, gt=0, lt=1)
    bn_eps: float = Field(1e-3, gt=0)
    adam_step: Literal["separate", "shared"] = "separate"

    @field_validator("generator_hidden", "discriminator_hidden")
    @classmethod
    def _positive_layer_sizes(cls, sizes: tuple[int, ...]) -> tuple[int, ...]:
        return positive_layer_sizes(sizes)


def make_config(base: CGANConfig | None = None, **overrides) -> CGANConfig:
    """A validated config (`base` or the defaults, with `overrides`); bad values raise UserError."""
    return make_settings(CGANConfig, base, "CGAN", **overrides)


class CGANStack(Stack):
    """The CGANs still training: stacked generator and discriminator, their Adam states,
    one seeded torch.Generator per GAN, the padded pool of training rows and the
    per-iteration draw buffers."""

    def __init__(self, members, gen: BatchedGenerator, disc: BatchedDiscriminator, opt_g,
                 opt_d, rngs, x_pool, y_pool, counts, config: CGANConfig):
        self.members, self.model, self.disc = members, gen, disc
        self.opt_g, self.opt_d, self.rngs = opt_g, opt_d, rngs
        self.x_pool, self.y_pool, self.counts, self.config = x_pool, y_pool, counts, config
        self.draws = IterationDraws(len(members), gen.n_classes, config, disc.dropout_widths,
                                    x_pool.device)

    def step(self, iteration: int) -> torch.Tensor:
        config, draws, gen, disc = self.config, self.draws, self.model, self.disc
        device = self.x_pool.device
        shared_steps = config.adam_step == "shared"  # one counter for D and G, as Keras had
        draws.refill(self.rngs, self.counts)
        x_real, y_real = pool_rows(self.x_pool, self.y_pool, draws.rows)
        with torch.no_grad(), autocast(config.dtype, device):
            x_fake = gen(draws.z, y_real, training=False)
        losses = []
        for step, x_batch, real in ((0, x_real, True), (1, x_fake, False)):
            with autocast(config.dtype, device):
                logits = disc(x_batch, y_real, draws.masks(step))
            loss = F.softplus(-logits if real else logits).mean(dim=1)
            self.opt_d.zero_grad(set_to_none=True)
            loss.sum().backward()
            if shared_steps:
                set_adam_step(self.opt_d, 3 * iteration + step)
            self.opt_d.step()
            losses.append(loss.detach())
        with autocast(config.dtype, device):
            fake = gen(draws.z, draws.labels, training=True)
            logits = disc(fake, draws.labels, draws.masks(2))
        loss = F.softplus(-logits).mean(dim=1)
        self.opt_g.zero_grad(set_to_none=True)
        loss.sum().backward(inputs=list(gen.parameters()))  # the discriminator stays fixed
        if shared_steps:
            set_adam_step(self.opt_g, 3 * iteration + 2)
        self.opt_g.step()
        losses.append(loss.detach())
        return torch.stack(losses, dim=1)

    def keep(self, rows: list[int]) -> CGANStack:
        index = torch.as_tensor(rows, dtype=torch.int64, device=self.x_pool.device)
        gen, disc = stacked_copy(self.model, index), stacked_copy(self.disc, index)
        make = self._optimiser
        return CGANStack(
            [self.members[row] for row in rows], gen, disc,
            sliced_optimiser(self.opt_g, gen, index, make),
            sliced_optimiser(self.opt_d, disc, index, make),
            [self.rngs[row] for row in rows], self.x_pool[index], self.y_pool[index],
            [self.counts[row] for row in rows], self.config,
        )

    def networks(self):
        return (self.model, self.disc)

    def _optimiser(self, module) -> torch.optim.Optimizer:
        config = self.config
        return adam(module, config.learning_rate, (config.beta1, config.beta2), config.adam_eps)


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


class CGANFamily(Family):
    name = "cgan"
    summary = "the conditional GAN of Nazari & Branco (2021), trained on each training fold"
    settings_model = CGANConfig
    loss_names = LOSS_NAMES
    # Settings added after the first results databases, with the value that reproduces
    # what those versions did.
    legacy_settings = {"output_range": "tanh", "stopping": "fixed", "oracle": "cas-real",
                       "eval_every": 100, "patience": 10, "min_iterations": 0,
                       "min_delta": 0.0, "holdout": 0.2, "adam_step": "separate"}

    def start(self, train_sets: TrainSets, n_classes: int, settings: CGANConfig, rngs,
              device, layout_rows=None) -> CGANStack:
        n_gans, n_features = len(train_sets), train_sets[0][0].shape[1]
        gen = BatchedGenerator(n_gans, n_classes, n_features, settings, device)
        disc = BatchedDiscriminator(n_gans, n_classes, n_features, settings, device)
        gen.reset_parameters(rngs)
        disc.reset_parameters(rngs)
        x_pool, y_pool, counts = stack_training_sets(train_sets, device)
        betas, eps = (settings.beta1, settings.beta2), settings.adam_eps
        return CGANStack(list(range(n_gans)), gen, disc,
                         adam(gen, settings.learning_rate, betas, eps),
                         adam(disc, settings.learning_rate, betas, eps),
                         rngs, x_pool, y_pool, counts, settings)

    def sample(self, single: BatchedGenerator, labels: np.ndarray, noise: torch.Generator,
               settings: CGANConfig) -> np.ndarray:
        z = torch.randn(len(labels), single.config.latent_dim, generator=noise)
        device = single.device
        labels_t = torch.as_tensor(labels, dtype=torch.int64, device=device)
        with torch.no_grad(), autocast(single.config.dtype, device):
            rows = single(z.to(device)[None], labels_t[None], training=False)[0]
        return rows.float().cpu().numpy()


FAMILY = CGANFamily()


def train_cgans(train_sets: TrainSets, n_classes: int, config: CGANConfig, seeds: list[int],
                progress=None, targets=None):
    """`gan.loop.train_models` for the CGAN family (`TrainedModels`)."""
    return train_models(FAMILY, train_sets, n_classes, config, seeds, progress, targets)


def generate_rows(single: BatchedGenerator, labels: np.ndarray,
                  noise: torch.Generator) -> np.ndarray:
    """Rows of a one-GAN generator in inference mode (`CGANFamily.sample`)."""
    return FAMILY.sample(single, labels, noise, single.config)
