"""The maths of a Gaussian-multinomial diffusion on table rows, as TabDDPM has it
(Kotelnikov et al., 2023): the noise schedule, its respacing, the Gaussian forward and
reverse steps of the numeric columns and the multinomial ones of the one-hot blocks.

Steps are 0-based indices into a schedule: index 0 is the first noising step (t = 1 in the
papers' notation), index n - 1 the last. A `Schedule` is the training one (`cosine`) or a
strided subsequence of it for sampling (`respaced`); both read the same way, so the
Gaussian and the multinomial part are respaced alike.

One-hot blocks are handled on a grid (`BlockGrid`): the categorical columns gathered into
(..., n_blocks, widest block) with padding, so a softmax, a log-sum-exp or a Gumbel-max
runs over every block at once. Log-probabilities of impossible values (and of the pads)
are `LOG_ZERO`: finite, unlike -inf, so differences and their gradients stay finite; its
exp (about 1e-13) vanishes next to 1 in float32, so each block's probabilities still sum
to 1. It is not more negative because exp of arguments below about -87 (float32's
denormals) runs an order of magnitude slower on CPU, and log x_0 + log alphabar_t must stay
above that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from gan_oversampling.layout import FeatureLayout

LOG_ZERO = -30.0
_MAX_BETA = 0.999  # guided diffusion's and TabDDPM's cap on a cosine beta
_COSINE_OFFSET = 0.008  # Nichol & Dhariwal's s


def cosine_betas(timesteps: int) -> np.ndarray:
    """The cosine schedule of Nichol & Dhariwal (2021): beta_t = 1 - f(t/T) / f((t-1)/T)
    with f(u) = cos((u + s) / (1 + s) * pi / 2)^2, each capped at 0.999 (float64)."""
    u = np.arange(timesteps + 1, dtype=np.float64) / timesteps
    f = np.cos((u + _COSINE_OFFSET) / (1 + _COSINE_OFFSET) * math.pi / 2) ** 2
    return np.minimum(1.0 - f[1:] / f[:-1], _MAX_BETA)


def respaced_steps(timesteps: int, n_steps: int) -> np.ndarray:
    """`n_steps` evenly spaced indices of 0..timesteps-1, the first and the last included
    (Nichol & Dhariwal's `space_timesteps`); one step is the last index alone, so sampling
    still starts from the prior."""
    if n_steps == 1:
        return np.array([timesteps - 1])
    return np.unique(np.round(np.linspace(0, timesteps - 1, n_steps)).astype(np.int64))


@dataclass(frozen=True)
class Schedule:
    """Diffusion steps: `steps[i]` is the training index step i stands for (what the
    denoiser is told), `betas[i]` its noise (float64)."""

    steps: np.ndarray
    betas: np.ndarray

    @classmethod
    def cosine(cls, timesteps: int) -> Schedule:
        return cls(np.arange(timesteps), cosine_betas(timesteps))

    @property
    def alphabar(self) -> np.ndarray:
        return np.cumprod(1.0 - self.betas)

    def respaced(self, n_steps: int) -> Schedule:
        """The subsequence of `n_steps` steps, with beta_i = 1 - alphabar_{t_i} /
        alphabar_{t_(i-1)} so that it keeps the alphabar of the steps it takes."""
        steps = respaced_steps(len(self.betas), n_steps)
        kept = self.alphabar[steps]
        previous = np.concatenate([[1.0], kept[:-1]])
        return Schedule(self.steps[steps], 1.0 - kept / previous)

    def tensors(self, device) -> ScheduleTensors:
        return ScheduleTensors.of(self, device)


@dataclass(frozen=True)
class ScheduleTensors:
    """The per-step coefficients of a schedule as float32 tensors (computed in float64)."""

    steps: torch.Tensor  # the denoiser's timestep index of each step
    log_alpha: torch.Tensor
    log_1m_alpha: torch.Tensor
    log_alphabar: torch.Tensor
    log_1m_alphabar: torch.Tensor
    sqrt_alphabar: torch.Tensor
    sqrt_1m_alphabar: torch.Tensor
    recip_sqrt_alphabar: torch.Tensor
    eps_to_x0: torch.Tensor  # sqrt(1 / alphabar - 1)
    mean_x0: torch.Tensor  # posterior mean coefficients of x_0 and of x_t
    mean_xt: torch.Tensor
    sample_std: torch.Tensor  # TabDDPM's reverse noise, sqrt(beta_t); none on the step to x_0

    @classmethod
    def of(cls, schedule: Schedule, device) -> ScheduleTensors:
        betas = schedule.betas
        alphabar = np.cumprod(1.0 - betas)
        previous = np.concatenate([[1.0], alphabar[:-1]])
        values = dict(
            log_alpha=np.log1p(-betas), log_1m_alpha=np.log(betas),
            log_alphabar=np.log(alphabar), log_1m_alphabar=np.log(-np.expm1(np.log(alphabar))),
            sqrt_alphabar=np.sqrt(alphabar), sqrt_1m_alphabar=np.sqrt(1.0 - alphabar),
            recip_sqrt_alphabar=np.sqrt(1.0 / alphabar), eps_to_x0=np.sqrt(1.0 / alphabar - 1),
            mean_x0=betas * np.sqrt(previous) / (1.0 - alphabar),
            mean_xt=(1.0 - previous) * np.sqrt(1.0 - betas) / (1.0 - alphabar),
            sample_std=np.sqrt(betas),
        )
        tensors = {name: torch.tensor(value, dtype=torch.float32, device=device)
                   for name, value in values.items()}
        steps = torch.as_tensor(schedule.steps, dtype=torch.int64, device=device)
        return cls(steps=steps, **tensors)

    def at(self, name: str, index: torch.Tensor, dims: int = 1) -> torch.Tensor:
        """Coefficient `name` at step indices `index`, with `dims` trailing unit dims."""
        return getattr(self, name)[index].view(*index.shape, *([1] * dims))


# -- Gaussian part ---------------------------------------------------------------------
def gaussian_forward(x0: torch.Tensor, noise: torch.Tensor, index: torch.Tensor,
                     table: ScheduleTensors) -> torch.Tensor:
    """x_t = sqrt(alphabar_t) x_0 + sqrt(1 - alphabar_t) noise, for index (K, B)."""
    return table.at("sqrt_alphabar", index) * x0 + table.at("sqrt_1m_alphabar", index) * noise


def gaussian_reverse_mean(x_t: torch.Tensor, eps: torch.Tensor, index: torch.Tensor,
                          table: ScheduleTensors, clip: bool = False) -> torch.Tensor:
    """The posterior mean of x_(t-1) with x_0 predicted from the predicted noise `eps`;
    with `clip`, the predicted x_0 is kept inside the data's range [-1, 1] first (DDPM's
    sampler does so for images): early in sampling x_0 = (x_t - sqrt(1 - alphabar) eps) /
    sqrt(alphabar) divides by a number near 0, and an error of eps explodes."""
    x0 = table.at("recip_sqrt_alphabar", index) * x_t - table.at("eps_to_x0", index) * eps
    if clip:
        x0 = x0.clamp(-1.0, 1.0)
    return table.at("mean_x0", index) * x0 + table.at("mean_xt", index) * x_t


# -- multinomial part ------------------------------------------------------------------
class BlockGrid:
    """The one-hot blocks of a layout as a padded grid over the categorical columns.

    `categorical` lists the feature indices of every block, in block order; a grid cell
    (b, j) is column j of block b, `valid` says which cells exist.
    """

    def __init__(self, layout: FeatureLayout, device):
        sizes = layout.block_sizes
        self.n_blocks, self.width = len(sizes), max(sizes, default=0)
        self.categorical = torch.as_tensor(
            np.concatenate(layout.blocks) if sizes else np.empty(0, np.int64),
            dtype=torch.int64, device=device)
        cells = np.zeros((self.n_blocks, self.width), dtype=np.int64)
        valid = np.zeros((self.n_blocks, self.width), dtype=bool)
        start = 0
        for block, size in enumerate(sizes):
            cells[block, :size] = np.arange(start, start + size)
            valid[block, :size] = True
            start += size
        self.cells = torch.as_tensor(cells.reshape(-1), device=device)
        self.valid = torch.as_tensor(valid, device=device)
        self.log_k = torch.log(torch.tensor(sizes, dtype=torch.float32,
                                            device=device)).view(-1, 1)

    def to_grid(self, columns: torch.Tensor, fill: float = LOG_ZERO) -> torch.Tensor:
        """(..., n_categorical) values in block order -> (..., n_blocks, width)."""
        grid = columns.index_select(-1, self.cells).view(*columns.shape[:-1], self.n_blocks,
                                                         self.width)
        return grid.masked_fill(~self.valid, fill)

    def from_grid(self, grid: torch.Tensor) -> torch.Tensor:
        """(..., n_blocks, width) -> (..., n_categorical) in block order."""
        return grid[..., self.valid]

    def mask(self, log_probs: torch.Tensor) -> torch.Tensor:
        return log_probs.masked_fill(~self.valid, LOG_ZERO)

    @staticmethod
    def log_of(one_hot_grid: torch.Tensor) -> torch.Tensor:
        """Log-probabilities of a one-hot grid: 0 where it holds 1, LOG_ZERO elsewhere."""
        return (one_hot_grid - 1.0) * -LOG_ZERO

    def normalised(self, log_scores: torch.Tensor) -> torch.Tensor:
        """Log-probabilities within each block (a log-softmax over the valid cells)."""
        masked = self.mask(log_scores)
        return masked - torch.logsumexp(masked, dim=-1, keepdim=True)

    def sample(self, log_probs: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
        """One category per block by Gumbel-max on uniforms in [0, 1) of the grid's shape;
        the draw as a one-hot grid (float, pads 0)."""
        if not self.n_blocks:
            return torch.zeros_like(log_probs)
        gumbel = -torch.log(-torch.log(uniforms + 1e-30) + 1e-30)
        # Pads at -inf: LOG_ZERO plus a large Gumbel draw could beat the cells of a block
        # of thousands of categories.
        scores = log_probs.masked_fill(~self.valid, -math.inf) + gumbel
        choice = scores.argmax(dim=-1, keepdim=True)
        picked = torch.zeros_like(log_probs).scatter_(-1, choice, 1.0)
        return picked.masked_fill_(~self.valid, 0.0)


def _uniform_mix(log_x: torch.Tensor, log_keep: torch.Tensor, log_spread: torch.Tensor,
                 grid: BlockGrid) -> torch.Tensor:
    """log(keep * x + (1 - keep) / K) per cell, from log keep and log(1 - keep)."""
    return grid.mask(torch.logaddexp(log_x + log_keep, log_spread - grid.log_k))


def multinomial_forward(log_x0: torch.Tensor, index: torch.Tensor, table: ScheduleTensors,
                        grid: BlockGrid) -> torch.Tensor:
    """log q(x_t | x_0) = log Cat(alphabar_t x_0 + (1 - alphabar_t) / K)."""
    return _uniform_mix(log_x0, table.at("log_alphabar", index, 2),
                        table.at("log_1m_alphabar", index, 2), grid)


def multinomial_posterior(log_x0: torch.Tensor, log_xt: torch.Tensor, index: torch.Tensor,
                          table: ScheduleTensors, grid: BlockGrid) -> torch.Tensor:
    """log q(x_(t-1) | x_t, x_0) per block, for x_0 as log-probabilities (the true one-hot
    or the denoiser's prediction) and index (K, B).

    It is proportional to q(x_(t-1) | x_0) q(x_t | x_(t-1)), the latter as a function of
    x_(t-1) being alpha_t [x_(t-1) = x_t] + (1 - alpha_t) / K; at the first step
    q(x_0 | x_0) is x_0 itself.
    """
    previous = (index - 1).clamp(min=0)
    from_x0 = _uniform_mix(log_x0, table.at("log_alphabar", previous, 2),
                           table.at("log_1m_alphabar", previous, 2), grid)
    from_x0 = torch.where((index == 0).view(*index.shape, 1, 1), log_x0, from_x0)
    to_xt = _uniform_mix(log_xt, table.at("log_alpha", index, 2),
                         table.at("log_1m_alpha", index, 2), grid)
    return grid.normalised(from_x0 + to_xt)


def multinomial_kl(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """KL(p || q) per block, summing the grid's last dimension (pads weigh exp(LOG_ZERO))."""
    return (log_p.exp() * (log_p - log_q)).sum(dim=-1)


def multinomial_loss(log_x0: torch.Tensor, log_xt: torch.Tensor, log_x0_model: torch.Tensor,
                     index: torch.Tensor, table: ScheduleTensors, grid: BlockGrid
                     ) -> torch.Tensor:
    """TabDDPM's L_t per row and block (K, B, n_blocks): the KL between the true posterior
    and the one with the predicted x_0, at the first step the cross-entropy of x_0."""
    log_true = multinomial_posterior(log_x0, log_xt, index, table, grid)
    log_model = multinomial_posterior(log_x0_model, log_xt, index, table, grid)
    kl = multinomial_kl(log_true, log_model)
    cross_entropy = -(log_x0.exp() * log_model).sum(dim=-1)
    return torch.where((index == 0).unsqueeze(-1), cross_entropy, kl)
