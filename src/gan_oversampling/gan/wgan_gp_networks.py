"""The stacked networks of the `wgan-gp` family: K generators, K critics and K auxiliary
classifiers, each computed as one batched network (see `gan.layers`).

The class label conditions the generator and the critic as a one-hot vector concatenated
to their input (to the noise, to the row). The critic normalises with LayerNorm, never with
batch statistics: the gradient penalty needs the critic's gradient with respect to each row
on its own, and a row's score must not depend on the other rows of its batch. The
generator ends in tanh for numeric columns and in a Gumbel-softmax for each one-hot block
(`FeatureLayout`): soft while training, an exact one-hot sample when rows are generated.
Every random draw comes from the caller, so each model's draws come from its own stream.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from gan_oversampling.gan.layers import StackedDense, StackedParameter
from gan_oversampling.layout import FeatureLayout

if TYPE_CHECKING:
    from gan_oversampling.gan.wgan_gp import WGANGPConfig

# Uniform draws are kept above this, so that Gumbel noise -log(-log(u)) stays finite.
SMALLEST_UNIFORM = torch.finfo(torch.float32).tiny


class StackedLayerNorm(nn.Module):
    """K layer normalisations over the last dimension, with per-model gain and shift of
    shape (K, 1, width): each row is normalised by its own mean and variance only."""

    def __init__(self, n_members: int, width: int, eps: float, device):
        super().__init__()
        self.eps = eps
        self.gamma = StackedParameter(n_members, (1, width), 1.0, device)
        self.beta = StackedParameter(n_members, (1, width), 0.0, device)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        normalised = F.layer_norm(inputs, inputs.shape[-1:], eps=self.eps)
        return torch.addcmul(self.beta.value(), normalised, self.gamma.value())


class _StackedMLP(nn.Module):
    """Dense layers with LeakyReLU (`hidden`, each optionally layer-normalised before its
    activation), then a dense `output`; weights drawn like torch's nn.Linear."""

    n_classes: int
    n_features: int
    config: WGANGPConfig

    def _build(self, n_members: int, width_in: int, hidden: tuple[int, ...], width_out: int,
               normalise_from: int | None, device: torch.device) -> None:
        widths = (width_in, *hidden)
        self.hidden = nn.ModuleList(
            StackedDense(n_members, w_in, w_out, device) for w_in, w_out in pairwise(widths))
        self.norms = nn.ModuleList(
            StackedLayerNorm(n_members, width, self.config.layer_norm_eps, device)
            if normalise_from is not None and depth >= normalise_from else nn.Identity()
            for depth, width in enumerate(hidden))
        self.output = StackedDense(n_members, widths[-1], width_out, device)

    def trunk(self, h: torch.Tensor) -> torch.Tensor:
        slope = self.config.leaky_slope
        for dense, norm in zip(self.hidden, self.norms, strict=True):
            h = F.leaky_relu(norm(dense(h)), slope)
        return self.output(h)

    @torch.no_grad()
    def reset_parameters(self, generators: list[torch.Generator]) -> None:
        """Draw model k's weights from `generators[k]`, layer by layer."""
        for k, generator in enumerate(generators):
            for dense in (*self.hidden, self.output):
                dense.reset_member_torch(k, generator)

    @property
    def device(self) -> torch.device:
        return self.output.bias.data.device

    def _with_label(self, inputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        one_hot = F.one_hot(labels, self.n_classes).to(inputs.dtype)
        return torch.cat([inputs, one_hot], dim=-1)


class StackedGenerator(_StackedMLP):
    """K generators: [noise, one-hot label] -> [dense, LeakyReLU] x n -> dense -> tanh for
    numeric columns, Gumbel-softmax for each one-hot block."""

    def __init__(self, n_members: int, n_classes: int, layout: FeatureLayout,
                 config: WGANGPConfig, device: torch.device | str = "cpu"):
        super().__init__()
        self.n_members, self.n_classes, self.n_features = n_members, n_classes, layout.n_features
        self.layout, self.config = layout, config
        device = torch.device(device)
        self._build(n_members, config.latent_dim + n_classes, config.generator_hidden,
                    layout.n_features, None, device)
        self.heads = OutputHeads(layout, device)

    def forward(self, z: torch.Tensor, labels: torch.Tensor, uniforms: torch.Tensor,
                hard: bool) -> torch.Tensor:
        """Rows (K, B, n_features) for noise z (K, B, latent), labels (K, B) and the
        uniforms (K, B, heads.n_categorical) of the blocks' Gumbel noise."""
        logits = self.trunk(self._with_label(z, labels))
        return self.heads(logits, uniforms, self.config.gumbel_temperature, hard)

    def like(self, n_members: int) -> StackedGenerator:
        return StackedGenerator(n_members, self.n_classes, self.layout, self.config,
                                self.device)


class StackedCritic(_StackedMLP):
    """K critics: [row, one-hot label] -> dense, LeakyReLU -> [dense, LayerNorm,
    LeakyReLU] x (n - 1) -> dense to one unbounded score."""

    def __init__(self, n_members: int, n_classes: int, n_features: int,
                 config: WGANGPConfig, device: torch.device | str = "cpu"):
        super().__init__()
        self.n_members, self.n_classes, self.n_features = n_members, n_classes, n_features
        self.config = config
        self._build(n_members, n_features + n_classes, config.critic_hidden, 1, 1,
                    torch.device(device))

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Scores (K, B) of rows x (K, B, n_features) for labels (K, B)."""
        return self.trunk(self._with_label(x, labels)).squeeze(-1).float()

    def like(self, n_members: int) -> StackedCritic:
        return StackedCritic(n_members, self.n_classes, self.n_features, self.config,
                             self.device)


class StackedClassifier(_StackedMLP):
    """K auxiliary classifiers: row -> dense, LeakyReLU -> [dense, LayerNorm, LeakyReLU]
    x (n - 1) -> dense to one logit per class. They never see the label as input."""

    def __init__(self, n_members: int, n_classes: int, n_features: int,
                 config: WGANGPConfig, device: torch.device | str = "cpu"):
        super().__init__()
        self.n_members, self.n_classes, self.n_features = n_members, n_classes, n_features
        self.config = config
        self._build(n_members, n_features, config.aux_hidden, n_classes, 1,
                    torch.device(device))

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Cross-entropies (K, B) of rows x (K, B, n_features) for their labels (K, B)."""
        logits = self.trunk(x).float()
        return F.cross_entropy(logits.flatten(0, 1), labels.flatten(),
                               reduction="none").view(labels.shape)

    def like(self, n_members: int) -> StackedClassifier:
        return StackedClassifier(n_members, self.n_classes, self.n_features, self.config,
                                 self.device)


class OutputHeads:
    """The generator's last activations, column by column of a `FeatureLayout`.

    Blocks of the same size are computed together as a (K, B, n_blocks, size) tensor; the
    pieces come out in the order [numeric, blocks of each size] and are put back in column
    order by one index. Holds index tensors only, no weights.
    """

    def __init__(self, layout: FeatureLayout, device: torch.device):
        self.numeric = torch.as_tensor(layout.numeric, dtype=torch.int64, device=device)
        by_size: dict[int, list] = {}
        for block in layout.blocks:
            by_size.setdefault(len(block), []).append(block.tolist())
        self.groups = [torch.as_tensor(blocks, dtype=torch.int64, device=device)
                       for _, blocks in sorted(by_size.items())]
        order = torch.cat([self.numeric, *(group.flatten() for group in self.groups)])
        self.column_order = torch.argsort(order)
        self.n_categorical = sum(group.numel() for group in self.groups)

    def __call__(self, logits: torch.Tensor, uniforms: torch.Tensor, temperature: float,
                 hard: bool) -> torch.Tensor:
        pieces, offset = [torch.tanh(logits[..., self.numeric].float())], 0
        for group in self.groups:
            block_logits = logits[..., group].float()
            gumbel = gumbel_noise(uniforms[..., offset : offset + group.numel()])
            offset += group.numel()
            perturbed = block_logits + gumbel.view(block_logits.shape)
            if hard:  # the Gumbel-max trick: an exact sample of softmax(logits)
                chosen = F.one_hot(perturbed.argmax(dim=-1), group.shape[1])
                pieces.append(chosen.to(perturbed.dtype).flatten(-2))
            else:
                pieces.append(torch.softmax(perturbed / temperature, dim=-1).flatten(-2))
        return torch.cat(pieces, dim=-1)[..., self.column_order]


def gumbel_noise(uniforms: torch.Tensor) -> torch.Tensor:
    """Standard Gumbel draws -log(-log(u)) from uniforms in (0, 1)."""
    return -torch.log(-torch.log(uniforms))


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor,
                     fake: torch.Tensor, epsilon: torch.Tensor) -> torch.Tensor:
    """Per model (K,): the mean over rows of (||grad_x critic(x_hat)||_2 - 1)^2 at
    x_hat = epsilon * real + (1 - epsilon) * fake (Gulrajani et al., 2017).

    `real` and `fake` are (K, B, F) without gradient, `epsilon` (K, B, 1); `critic` maps
    rows (K, B, F) to scores (K, B). The penalty keeps its graph, so the critic's weights
    get its gradient (a double backward).
    """
    mixed = torch.lerp(fake, real, epsilon).requires_grad_(True)
    (grads,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    # A small constant under the root keeps its gradient finite at a zero gradient.
    norms = torch.sqrt(grads.float().pow(2).sum(dim=-1) + 1e-12)
    return (norms - 1.0).pow(2).mean(dim=1)
