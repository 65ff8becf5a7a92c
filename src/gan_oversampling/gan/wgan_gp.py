"""A conditional Wasserstein GAN with gradient penalty and an auxiliary classifier, after
Engelmann & Lessmann (2021), "Conditional Wasserstein GAN-based oversampling of tabular
data for imbalanced learning", Expert Systems with Applications 174, as a generator family.

One iteration is one generator update, after `critic_steps` critic updates. Each critic
update draws a batch of training rows with replacement, generates fakes for their labels
(soft Gumbel-softmax blocks, no gradient to the generator), and takes one Adam step on

    E[D(fake)] - E[D(real)] + penalty_weight * E[(||grad_x D(x_hat)||_2 - 1)^2],

x_hat a per-row uniform mix of a real row and its fake (Gulrajani et al., 2017); then the
auxiliary classifier takes one Adam step on the cross-entropy of the same real rows'
labels. The generator update draws the labels of another batch of real rows and
minimises the Wasserstein loss -E[D(fake)] plus the auxiliary classifier's cross-entropy
on the fakes for the labels they were generated for (each row's cross-entropy floored at
`aux_floor`), weighted by `aux_weight` times the size of the Wasserstein loss, as the
reference code does. The critic and the classifier stay fixed in that step. The networks
are in `gan.wgan_gp_networks`.
"""

from __future__ import annotations

import numpy as np
import torch
from pydantic import Field, field_validator

from gan_oversampling.gan.config import TrainingSettings, make_settings, positive_layer_sizes
from gan_oversampling.gan.family import Family, Stack, TrainSets
from gan_oversampling.gan.layers import (
    adam,
    autocast,
    pool_rows,
    sliced_optimiser,
    stack_training_sets,
    stacked_copy,
)
from gan_oversampling.gan.wgan_gp_networks import (
    SMALLEST_UNIFORM,
    StackedClassifier,
    StackedCritic,
    StackedGenerator,
    gradient_penalty,
)
from gan_oversampling.layout import FeatureLayout

# The critic loss is the whole objective, penalty_weight x penalty included; the penalty
# is also reported alone, unweighted.
LOSS_NAMES = ("critic loss", "gradient penalty", "generator loss (Wasserstein)",
              "auxiliary classifier loss on real rows",
              "auxiliary classifier loss on generated rows")


class WGANGPConfig(TrainingSettings):
    """Architecture, optimiser and run settings of the conditional WGAN-GP.

    `iterations` counts generator updates; each comes after `critic_steps` critic updates
    (and as many auxiliary classifier updates), every update on its own `batch_size` rows.
    Defaults and their sources:

    - `critic_steps` = 3: reference code (`d_updates_per_g`; the WGAN-GP paper used 5).
    - `penalty_weight` = 10: WGAN-GP paper (Gulrajani et al. 2017) and the reference
      code's default (its tutorial uses 15).
    - `learning_rate` = 1e-4, `beta1` = 0.0, `beta2` = 0.9 (Adam, generator and critic):
      reference code, which follows the WGAN-GP paper; `adam_eps` = 1e-8: torch's
      default, which the reference code uses.
    - `latent_dim` = 30, noise uniform on [0, 1): reference code.
    - `generator_hidden` = (128, 64), `critic_hidden` = (128, 64, 32): reference code's
      tutorial; LeakyReLU with `leaky_slope` = 0.01 (torch's default slope, which the
      reference code uses); LayerNorm (`layer_norm_eps` = 1e-5, torch's default) after
      every critic layer but the first: reference code; weights drawn like nn.Linear.
    - `gumbel_temperature` = 0.66: reference code.
    - `aux_hidden` = (64, 64), `aux_learning_rate` = 5e-4 (Adam, betas as above),
      `aux_weight` = 0.1, `aux_floor` = 0.3 (each row's cross-entropy on the fakes is
      floored there, so classes that the classifier already separates pull no further):
      reference code. The reference pretrains the classifier for 30 epochs before the GAN;
      here it trains alongside the critic from the first iteration (ours), so a model is
      one computation of a fixed number of steps.
    - `batch_size` = 64: reference code's tutorial.
    - `iterations` = 1000: ours. The reference tutorial trains 300 epochs of batches of 64,
      which is 100 to 1,600 generator updates on the study's folds of 50 to 1,000 rows;
      1,000 sits inside that range. Ours, measured: one fold of 1,000 rows, float32 on
      CPU, one thread, on a shared 2-core machine (load average 4 to 7): 17 s per fold
      against the CGAN's 32 s at its defaults (1,500 iterations, batch 32) with 40
      features, 39 s against 42 s with 444; one iteration costs 0.85 to 0.95 of a CGAN
      iteration (3 critic updates with the penalty's double backward, on smaller layers).

    The condition is a one-hot vector of the class concatenated to the generator's noise
    and to the critic's input row; the auxiliary classifier sees rows only.
    """

    iterations: int = Field(1000, ge=1)
    batch_size: int = Field(64, ge=1)
    learning_rate: float = Field(1e-4, gt=0)
    critic_steps: int = Field(3, ge=1)
    penalty_weight: float = Field(10.0, ge=0)
    beta1: float = Field(0.0, ge=0, lt=1)
    beta2: float = Field(0.9, ge=0, lt=1)
    adam_eps: float = Field(1e-8, gt=0)
    latent_dim: int = Field(30, ge=1)
    generator_hidden: tuple[int, ...] = (128, 64)
    critic_hidden: tuple[int, ...] = (128, 64, 32)
    leaky_slope: float = Field(0.01, ge=0)
    layer_norm_eps: float = Field(1e-5, gt=0)
    gumbel_temperature: float = Field(0.66, gt=0)
    aux_hidden: tuple[int, ...] = (64, 64)
    aux_learning_rate: float = Field(5e-4, gt=0)
    aux_weight: float = Field(0.1, ge=0)
    aux_floor: float = Field(0.3, ge=0)

    @field_validator("generator_hidden", "critic_hidden", "aux_hidden")
    @classmethod
    def _positive_layer_sizes(cls, sizes: tuple[int, ...]) -> tuple[int, ...]:
        return positive_layer_sizes(sizes)


def make_config(base: WGANGPConfig | None = None, **overrides) -> WGANGPConfig:
    """A validated config (`base` or the defaults, with `overrides`); bad values raise
    UserError naming the setting."""
    return make_settings(WGANGPConfig, base, "wgan-gp", **overrides)


class WGANGPStack(Stack):
    """The WGAN-GPs still training: stacked generator, critic and auxiliary classifier,
    their Adam states, one seeded torch.Generator per model, the padded pool of training
    rows and the per-iteration draw buffers."""

    def __init__(self, members, nets: tuple[StackedGenerator, StackedCritic,
                                            StackedClassifier],
                 optimisers: tuple, rngs, x_pool, y_pool, counts, config: WGANGPConfig):
        self.members, self.rngs, self.config = members, rngs, config
        self.model, self.critic, self.aux = nets
        self.opt_g, self.opt_c, self.opt_a = optimisers
        self.x_pool, self.y_pool, self.counts = x_pool, y_pool, counts
        self.draws = IterationDraws(len(members), config, self.model.heads.n_categorical,
                                    x_pool.device)

    def step(self, iteration: int) -> torch.Tensor:
        draws, config = self.draws, self.config
        draws.refill(self.rngs, self.counts)
        critic_losses, penalties, aux_losses = [], [], []
        for step in range(config.critic_steps):
            critic_loss, penalty, aux_loss = self._critic_step(step)
            critic_losses.append(critic_loss)
            penalties.append(penalty)
            aux_losses.append(aux_loss)
        wasserstein, aux_fake = self._generator_step(config.critic_steps)
        return torch.stack([torch.stack(critic_losses).mean(dim=0),
                            torch.stack(penalties).mean(dim=0), wasserstein,
                            torch.stack(aux_losses).mean(dim=0), aux_fake], dim=1)

    def _critic_step(self, step: int) -> tuple[torch.Tensor, ...]:
        """One critic update, then one auxiliary classifier update, on batch `step`."""
        draws, config, critic = self.draws, self.config, self.critic
        device = self.x_pool.device
        real, labels = pool_rows(self.x_pool, self.y_pool, draws.rows[:, step])
        with torch.no_grad(), autocast(config.dtype, device):
            fake = self.model(draws.z[:, step], labels, draws.uniforms[:, step], hard=False)
        with autocast(config.dtype, device):
            distance = critic(fake, labels).mean(dim=1) - critic(real, labels).mean(dim=1)
            penalty = gradient_penalty(lambda rows: critic(rows, labels), real, fake,
                                       draws.epsilon[:, step])
        loss = distance + config.penalty_weight * penalty
        self.opt_c.zero_grad(set_to_none=True)
        loss.sum().backward(inputs=list(critic.parameters()))
        self.opt_c.step()
        with autocast(config.dtype, device):
            aux_loss = self.aux(real, labels).mean(dim=1)
        self.opt_a.zero_grad(set_to_none=True)
        aux_loss.sum().backward()
        self.opt_a.step()
        return loss.detach(), penalty.detach(), aux_loss.detach()

    def _generator_step(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        draws, config, gen = self.draws, self.config, self.model
        device = self.x_pool.device
        _, labels = pool_rows(self.x_pool, self.y_pool, draws.rows[:, step])
        with autocast(config.dtype, device):
            fake = gen(draws.z[:, step], labels, draws.uniforms[:, step], hard=False)
            wasserstein = -self.critic(fake, labels).mean(dim=1)
            aux_fake = self.aux(fake, labels)
        floored = aux_fake.clamp(min=config.aux_floor).mean(dim=1)
        loss = wasserstein + config.aux_weight * wasserstein.detach().abs() * floored
        self.opt_g.zero_grad(set_to_none=True)
        loss.sum().backward(inputs=list(gen.parameters()))  # critic, classifier stay fixed
        self.opt_g.step()
        return wasserstein.detach(), aux_fake.detach().mean(dim=1)

    def keep(self, rows: list[int]) -> WGANGPStack:
        index = torch.as_tensor(rows, dtype=torch.int64, device=self.x_pool.device)
        nets = tuple(stacked_copy(net, index) for net in self.networks())
        makers = (self._optimiser, self._optimiser, self._aux_optimiser)
        optimisers = tuple(
            sliced_optimiser(old, net, index, make) for old, net, make
            in zip((self.opt_g, self.opt_c, self.opt_a), nets, makers, strict=True))
        return WGANGPStack(
            [self.members[row] for row in rows], nets, optimisers,
            [self.rngs[row] for row in rows], self.x_pool[index], self.y_pool[index],
            [self.counts[row] for row in rows], self.config)

    def networks(self):
        return (self.model, self.critic, self.aux)

    def _optimiser(self, module) -> torch.optim.Optimizer:
        config = self.config
        return adam(module, config.learning_rate, (config.beta1, config.beta2), config.adam_eps)

    def _aux_optimiser(self, module) -> torch.optim.Optimizer:
        config = self.config
        return adam(module, config.aux_learning_rate, (config.beta1, config.beta2),
                    config.adam_eps)


class IterationDraws:
    """Per-iteration random draws of all K models, each model from its own generator.

    Per model and iteration the order is fixed: the row indices of the `critic_steps`
    critic batches and the generator batch, their noise, the critic batches' interpolation
    weights, then the uniforms of the Gumbel noise of every batch.
    """

    def __init__(self, n_members: int, config: WGANGPConfig, n_categorical: int, device):
        batches, batch = config.critic_steps + 1, config.batch_size
        self.rows = torch.empty(n_members, batches, batch, dtype=torch.int64, device=device)
        self.z = torch.empty(n_members, batches, batch, config.latent_dim, device=device)
        self.epsilon = torch.empty(n_members, batches - 1, batch, 1, device=device)
        self.uniforms = torch.empty(n_members, batches, batch, n_categorical, device=device)

    def refill(self, rngs: list[torch.Generator], counts: list[int]) -> None:
        for k, rng in enumerate(rngs):
            self.rows[k].random_(0, counts[k], generator=rng)
            self.z[k].uniform_(generator=rng)
            self.epsilon[k].uniform_(generator=rng)
            self.uniforms[k].uniform_(generator=rng)
        self.uniforms.clamp_(min=SMALLEST_UNIFORM)


class WGANGPFamily(Family):
    name = "wgan-gp"
    summary = ("a conditional Wasserstein GAN with gradient penalty and an auxiliary "
               "classifier (Engelmann & Lessmann, 2021), trained on each training fold")
    settings_model = WGANGPConfig
    loss_names = LOSS_NAMES
    feature_scaling = "all"  # every number min-max scaled on the fold (0/1 columns kept)

    def batch_key(self, X: np.ndarray):
        return FeatureLayout.detect(X).signature()

    def start(self, train_sets: TrainSets, n_classes: int, settings: WGANGPConfig, rngs,
              device, layout_rows: np.ndarray) -> WGANGPStack:
        n_members = len(train_sets)
        layout = FeatureLayout.detect(layout_rows)
        nets = (StackedGenerator(n_members, n_classes, layout, settings, device),
                StackedCritic(n_members, n_classes, layout.n_features, settings, device),
                StackedClassifier(n_members, n_classes, layout.n_features, settings, device))
        for net in nets:
            net.reset_parameters(rngs)
        x_pool, y_pool, counts = stack_training_sets(train_sets, device)
        betas, eps = (settings.beta1, settings.beta2), settings.adam_eps
        optimisers = (adam(nets[0], settings.learning_rate, betas, eps),
                      adam(nets[1], settings.learning_rate, betas, eps),
                      adam(nets[2], settings.aux_learning_rate, betas, eps))
        return WGANGPStack(list(range(n_members)), nets, optimisers, rngs, x_pool, y_pool,
                           counts, settings)

    def sample(self, single: StackedGenerator, labels: np.ndarray, noise: torch.Generator,
               settings: WGANGPConfig) -> np.ndarray:
        config, device = single.config, single.device
        z = torch.rand(len(labels), config.latent_dim, generator=noise)
        uniforms = torch.rand(len(labels), single.heads.n_categorical, generator=noise)
        uniforms.clamp_(min=SMALLEST_UNIFORM)
        labels_t = torch.as_tensor(labels, dtype=torch.int64, device=device)
        with torch.no_grad(), autocast(config.dtype, device):
            rows = single(z.to(device)[None], labels_t[None], uniforms.to(device)[None],
                          hard=True)[0]
        return rows.float().cpu().numpy()


FAMILY = WGANGPFamily()


def train_wgan_gps(train_sets: TrainSets, n_classes: int, config: WGANGPConfig,
                   seeds: list[int], progress=None, targets=None):
    """`gan.loop.train_models` for the WGAN-GP family (`TrainedModels`)."""
    from gan_oversampling.gan.loop import train_models

    return train_models(FAMILY, train_sets, n_classes, config, seeds, progress, targets)
