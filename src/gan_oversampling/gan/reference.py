"""The plain one-GAN-at-a-time CGAN, written with ordinary torch modules.

It is the baseline that the batched trainer (`gan_oversampling.gan.train`) is measured and
checked against: same architecture, same Keras-style initialisation, same iteration, and
the same order of random draws from one seeded torch.Generator, but one network per
module, the default Adam implementation and a loss read back every iteration.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gan_oversampling.gan.cgan import CGANConfig
from gan_oversampling.gan.layers import glorot_uniform, keras_embedding


class SeededDropout(nn.Module):
    """Inverted dropout drawing its masks from a given torch.Generator.

    nn.Dropout reads the global random state; this one keeps every draw seeded.
    """

    def __init__(self, rate: float, generator: torch.Generator):
        super().__init__()
        self.rate = rate
        self.generator = generator

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0:
            return inputs
        keep = 1.0 - self.rate
        uniforms = torch.rand(inputs.shape, generator=self.generator, device=inputs.device)
        return inputs * (uniforms < keep) / keep


class ReferenceGenerator(nn.Module):
    """z * embedding[label] -> [Linear, LeakyReLU, BatchNorm1d] x n -> Linear, tanh."""

    def __init__(self, n_classes: int, n_features: int, config: CGANConfig):
        super().__init__()
        self.embedding = nn.Embedding(n_classes, config.latent_dim)
        layers: list[nn.Module] = []
        width = config.latent_dim
        for hidden in config.generator_hidden:
            layers += [
                nn.Linear(width, hidden),
                nn.LeakyReLU(config.leaky_slope),
                # torch's momentum weighs the new batch; Keras' weighs the running value.
                nn.BatchNorm1d(hidden, momentum=1.0 - config.bn_momentum, eps=config.bn_eps),
            ]
            width = hidden
        layers += [nn.Linear(width, n_features), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.body(z * self.embedding(labels))


class ReferenceDiscriminator(nn.Module):
    """x * embedding[label] -> Linear, LeakyReLU -> [Linear, LeakyReLU, dropout] x (n - 1)
    -> Linear to one logit."""

    def __init__(
        self, n_classes: int, n_features: int, config: CGANConfig, generator: torch.Generator
    ):
        super().__init__()
        self.embedding = nn.Embedding(n_classes, n_features)
        layers: list[nn.Module] = []
        width = n_features
        for depth, hidden in enumerate(config.discriminator_hidden):
            layers += [nn.Linear(width, hidden), nn.LeakyReLU(config.leaky_slope)]
            if depth > 0:
                layers.append(SeededDropout(config.dropout, generator))
            width = hidden
        layers.append(nn.Linear(width, 1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.body(x * self.embedding(labels)).squeeze(-1)


@torch.no_grad()
def keras_initialise(module: nn.Module, generator: torch.Generator) -> None:
    """Keras defaults: embeddings uniform(-0.05, 0.05), kernels glorot_uniform, zero biases,
    batch norm scale 1, offset 0 and running statistics (0, 1)."""
    for layer in module.modules():
        if isinstance(layer, nn.BatchNorm1d):
            layer.reset_parameters()
        elif isinstance(layer, nn.Embedding):
            n_rows, dim = layer.weight.shape
            layer.weight.copy_(keras_embedding(n_rows, dim, generator, layer.weight.device))
        elif isinstance(layer, nn.Linear):
            kernel = glorot_uniform(
                layer.in_features, layer.out_features, generator, layer.weight.device
            )
            layer.weight.copy_(kernel.T)
            layer.bias.zero_()


def train_cgan_reference(
    X: np.ndarray, y: np.ndarray, n_classes: int, config: CGANConfig, seed: int
) -> tuple[ReferenceGenerator, np.ndarray]:
    """Train one CGAN on CPU; returns the generator (in eval mode) and losses (iterations, 3).

    y holds labels encoded 0..n_classes-1; the loss columns are d_real, d_fake, g.
    """
    rng = torch.Generator().manual_seed(seed)
    n_features = X.shape[1]
    # Built on the meta device so that torch's own initialisation draws nothing from the
    # global random state; every weight is then drawn from `rng`.
    with torch.device("meta"):
        generator = ReferenceGenerator(n_classes, n_features, config)
        discriminator = ReferenceDiscriminator(n_classes, n_features, config, rng)
    generator.to_empty(device="cpu")
    discriminator.to_empty(device="cpu")
    keras_initialise(generator, rng)
    keras_initialise(discriminator, rng)
    adam = dict(lr=config.learning_rate, betas=(config.beta1, config.beta2), eps=config.adam_eps)
    opt_g = torch.optim.Adam(generator.parameters(), **adam)
    opt_d = torch.optim.Adam(discriminator.parameters(), **adam)
    x_all = torch.as_tensor(np.asarray(X, dtype=np.float32))
    y_all = torch.as_tensor(np.asarray(y, dtype=np.int64))
    batch = config.batch_size
    ones, zeros = torch.ones(batch), torch.zeros(batch)
    losses = np.zeros((config.iterations, 3))
    for it in range(config.iterations):
        rows = torch.randint(0, len(x_all), (batch,), generator=rng)
        z = torch.randn(batch, config.latent_dim, generator=rng)
        sampled_labels = torch.randint(0, n_classes, (batch,), generator=rng)
        x_real, y_real = x_all[rows], y_all[rows]
        generator.eval()
        with torch.no_grad():
            x_fake = generator(z, y_real)
        for column, (x_batch, target) in enumerate(((x_real, ones), (x_fake, zeros))):
            loss = F.binary_cross_entropy_with_logits(discriminator(x_batch, y_real), target)
            opt_d.zero_grad()
            loss.backward()
            opt_d.step()
            losses[it, column] = loss.item()
        generator.train()
        discriminator.requires_grad_(False)
        logits = discriminator(generator(z, sampled_labels), sampled_labels)
        loss = F.binary_cross_entropy_with_logits(logits, ones)
        opt_g.zero_grad()
        loss.backward()
        opt_g.step()
        discriminator.requires_grad_(True)
        losses[it, 2] = loss.item()
    return generator.eval(), losses
