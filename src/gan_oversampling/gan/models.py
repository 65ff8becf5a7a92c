"""K independent CGAN generators and discriminators, computed as one batched network.

Every dense layer of GAN k is slice k of a stacked weight (K, in, out) and bias (K, 1, out),
applied with one `torch.baddbmm` on activations of shape (K, batch, in). Embeddings are
(K, n_classes, dim) tables gathered per GAN and batch normalisation reduces over each GAN's
own batch (dim 1), so the K networks never mix. Weights of GAN k are drawn from GAN k's own
torch.Generator, which keeps a GAN independent of the others it is batched with.
"""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from gan_oversampling.gan.layers import (
    StackedDense,
    StackedParameter,
    gather_rows,
    keras_embedding,
)

if TYPE_CHECKING:
    from gan_oversampling.gan.cgan import CGANConfig


class _TrainingBatchNorm(torch.autograd.Function):
    """Batch normalisation over dim 1 with batch statistics, with a hand-written backward.

    Autograd through mean/var broadcasts over the middle dimension, which is several times
    slower on CPU than these few fused passes. `F.batch_norm` on the (B, K*W) view is no
    substitute: benchmarks/bench_batchnorm.py measured it, forward + backward on one thread,
    0.8-1.4x this layer's time at K=5 and K=20 (mostly slower at the study's K=20) and
    0.55-0.75x only at K=1; and it rounds differently (outputs ~1e-6 apart), so the
    study's training losses would no longer be bit-identical.
    """

    @staticmethod
    def forward(ctx, inputs, gamma, beta, eps):
        mean = inputs.mean(dim=1, keepdim=True)
        centered = inputs - mean
        var = (centered * centered).mean(dim=1, keepdim=True)
        inv_std = torch.rsqrt(var + eps)
        normalised = centered.mul_(inv_std)
        ctx.save_for_backward(normalised, inv_std, gamma)
        ctx.mark_non_differentiable(mean, var)
        return torch.addcmul(beta, normalised, gamma), mean, var

    @staticmethod
    def backward(ctx, grad_out, _grad_mean, _grad_var):
        normalised, inv_std, gamma = ctx.saved_tensors
        batch = grad_out.shape[1]
        grad_beta = grad_out.sum(dim=1, keepdim=True)
        grad_gamma = (grad_out * normalised).sum(dim=1, keepdim=True)
        grad_in = torch.addcmul(grad_out - grad_beta / batch, normalised, grad_gamma / -batch)
        return grad_in.mul_(gamma * inv_std), grad_gamma, grad_beta, None


class _StackedBatchNorm(nn.Module):
    """K batch normalisations with Keras semantics; statistics over each GAN's batch (dim 1)."""

    def __init__(self, n_gans: int, width: int, momentum: float, eps: float, device):
        super().__init__()
        self.momentum = momentum
        self.eps = eps
        self.gamma = StackedParameter(n_gans, (1, width), 1.0, device)
        self.beta = StackedParameter(n_gans, (1, width), 0.0, device)
        self.register_buffer("running_mean", torch.zeros(n_gans, 1, width, device=device))
        self.register_buffer("running_var", torch.ones(n_gans, 1, width, device=device))

    def forward(self, inputs: torch.Tensor, training: bool) -> torch.Tensor:
        # Statistics in float32 even when the matrix products run in bfloat16.
        inputs = inputs.float()
        if training:
            gamma, beta = self.gamma.value(), self.beta.value()
            outputs, mean, var = _TrainingBatchNorm.apply(inputs, gamma, beta, self.eps)
            self._update_running_stats(mean, var, inputs.shape[1])
            return outputs
        scale = self.gamma.value() * torch.rsqrt(self.running_var + self.eps)
        shift = self.beta.value() - self.running_mean * scale
        return torch.addcmul(shift, inputs, scale)

    @torch.no_grad()
    def _update_running_stats(self, mean: torch.Tensor, var: torch.Tensor, batch: int) -> None:
        # Keras and torch both track the unbiased batch variance.
        unbiased = var * (batch / (batch - 1)) if batch > 1 else var
        self.running_mean.lerp_(mean, 1.0 - self.momentum)
        self.running_var.lerp_(unbiased, 1.0 - self.momentum)


class _BatchedNetwork(nn.Module):
    """What the K generators and the K discriminators share: a label embedding, then
    stacked dense layers (`hidden`, then `output`), all drawn the same way."""

    embedding: StackedParameter
    hidden: nn.ModuleList
    output: StackedDense
    n_classes: int

    @torch.no_grad()
    def reset_parameters(self, generators: list[torch.Generator]) -> None:
        """Draw GAN k's weights from `generators[k]` (embedding first, then layers in order)."""
        for k, generator in enumerate(generators):
            table = self.embedding.value()
            table[k] = keras_embedding(self.n_classes, table.shape[-1], generator, table.device)
            for dense in (*self.hidden, self.output):
                dense.reset_member(k, generator)


class BatchedGenerator(_BatchedNetwork):
    """K generators: z * embedding[label] -> [dense, LeakyReLU, batch norm] x n -> dense, tanh."""

    def __init__(
        self,
        n_gans: int,
        n_classes: int,
        n_features: int,
        config: CGANConfig,
        device: torch.device | str = "cpu",
    ):
        super().__init__()
        self.n_gans, self.n_classes, self.n_features = n_gans, n_classes, n_features
        self.config = config
        device = torch.device(device)
        self.embedding = StackedParameter(n_gans, (n_classes, config.latent_dim), 0.0, device)
        widths = (config.latent_dim, *config.generator_hidden)
        self.hidden = nn.ModuleList(
            StackedDense(n_gans, w_in, w_out, device) for w_in, w_out in pairwise(widths)
        )
        self.norms = nn.ModuleList(
            _StackedBatchNorm(n_gans, width, config.bn_momentum, config.bn_eps, device)
            for width in config.generator_hidden
        )
        self.output = StackedDense(n_gans, widths[-1], n_features, device)

    def forward(self, z: torch.Tensor, labels: torch.Tensor, training: bool) -> torch.Tensor:
        """Rows (K, B, n_features) in [-1, 1] for noise z (K, B, latent) and labels (K, B).

        `training` selects batch statistics (and updates the running ones) over running
        statistics, the Keras train/inference distinction.
        """
        h = z * gather_rows(self.embedding.value(), labels)
        slope = self.config.leaky_slope
        for dense, norm in zip(self.hidden, self.norms, strict=True):
            h = norm(F.leaky_relu(dense(h), slope), training)
        return torch.tanh(self.output(h))

    @property
    def device(self) -> torch.device:
        return self.embedding.data.device

    def like(self, n_gans: int) -> BatchedGenerator:
        return BatchedGenerator(n_gans, self.n_classes, self.n_features, self.config,
                                self.device)


class BatchedDiscriminator(_BatchedNetwork):
    """K discriminators: x * embedding[label] -> dense, LeakyReLU -> [dense, LeakyReLU,
    dropout] x (n - 1) -> dense to one logit.

    Dropout masks come from the caller (already scaled by 1 / keep probability) so that
    each GAN's masks are drawn from its own random stream.
    """

    def __init__(
        self,
        n_gans: int,
        n_classes: int,
        n_features: int,
        config: CGANConfig,
        device: torch.device | str = "cpu",
    ):
        super().__init__()
        self.n_gans, self.n_classes, self.n_features = n_gans, n_classes, n_features
        self.config = config
        device = torch.device(device)
        self.embedding = StackedParameter(n_gans, (n_classes, n_features), 0.0, device)
        widths = (n_features, *config.discriminator_hidden)
        self.hidden = nn.ModuleList(
            StackedDense(n_gans, w_in, w_out, device) for w_in, w_out in pairwise(widths)
        )
        self.output = StackedDense(n_gans, widths[-1], 1, device)

    def like(self, n_gans: int) -> BatchedDiscriminator:
        return BatchedDiscriminator(n_gans, self.n_classes, self.n_features, self.config,
                                    self.embedding.data.device)

    @property
    def dropout_widths(self) -> tuple[int, ...]:
        """Widths of the layers followed by dropout, in order."""
        return self.config.discriminator_hidden[1:]

    def forward(
        self, x: torch.Tensor, labels: torch.Tensor, masks: list[torch.Tensor] | None
    ) -> torch.Tensor:
        """Logits (K, B) for rows x (K, B, n_features) and labels (K, B).

        `masks` holds one (K, B, width) dropout mask per entry of `dropout_widths`, or is
        None for no dropout.
        """
        h = x * gather_rows(self.embedding.value(), labels)
        slope = self.config.leaky_slope
        for depth, dense in enumerate(self.hidden):
            h = F.leaky_relu(dense(h), slope)
            if depth > 0 and masks is not None:
                h = h * masks[depth - 1]
        return self.output(h).squeeze(-1).float()
