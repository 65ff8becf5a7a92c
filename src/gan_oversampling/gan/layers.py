"""The stacked building blocks every batched family uses, and how a stack is cut.

K independent models are computed as one: every dense layer of model k is slice k of a
stacked weight (K, in, out) and bias (K, 1, out), applied with one `torch.baddbmm` on
activations (K, batch, in); embeddings are (K, n_classes, dim) tables gathered per model.
Every state tensor of a stacked network has the K models on its first dimension, so a
stack can be cut to some of its models (`stacked_copy`) or have one model's weights copied
into another stack (`copy_members`) without knowing what the network is. A stacked network
offers `like(n_members)`: a fresh network of the same kind and shape holding n models.
Weights of model k are drawn from model k's own torch.Generator, which keeps a model
independent of the others it is batched with.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import torch
from torch import nn

_ADAM_BLOCK = 16


def glorot_uniform(
    fan_in: int, fan_out: int, generator: torch.Generator, device: torch.device
) -> torch.Tensor:
    """A (fan_in, fan_out) kernel drawn like Keras' glorot_uniform."""
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    draw = torch.rand(fan_in, fan_out, generator=generator, device=device)
    return draw.mul_(2 * limit).sub_(limit)


def keras_embedding(
    n_classes: int, dim: int, generator: torch.Generator, device: torch.device
) -> torch.Tensor:
    """A (n_classes, dim) table drawn like Keras' Embedding default, uniform(-0.05, 0.05)."""
    draw = torch.rand(n_classes, dim, generator=generator, device=device)
    return draw.mul_(0.1).sub_(0.05)


def gather_rows(table: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Row `labels[k, b]` of `table[k]`, for tables (K, n_classes, dim) and labels (K, B)."""
    # Whole rows picked from the flattened tables: on CPU about ten times faster than
    # torch.gather's element-wise index, forward and backward, with the same values.
    n_members, n_classes, dim = table.shape
    offsets = torch.arange(0, n_members * n_classes, n_classes, device=labels.device)
    rows = torch.index_select(
        table.reshape(n_members * n_classes, dim), 0, (labels + offsets.unsqueeze(1)).reshape(-1)
    )
    return rows.view(*labels.shape, dim)


class StackedParameter(nn.Module):
    """K copies of one parameter of shape `shape`, read as a (K, *shape) tensor by `value()`.

    torch's fused CPU Adam runs 16-float blocks vectorised and the remainder of a tensor
    element by element, which rounds differently. When a model's share is not a whole
    number of blocks, it is stored padded to one, so that no model's values fall in that
    remainder whatever K is: model k then trains bit for bit as it would alone. The padding
    has zero gradient and stays zero.
    """

    def __init__(self, n_members: int, shape: tuple[int, ...], fill: float, device):
        super().__init__()
        self.shape = shape
        self.numel = math.prod(shape)
        padded_numel = -(-self.numel // _ADAM_BLOCK) * _ADAM_BLOCK
        self.padded = padded_numel != self.numel
        storage_shape = (n_members, padded_numel) if self.padded else (n_members, *shape)
        self.data = nn.Parameter(torch.zeros(storage_shape, device=device))
        with torch.no_grad():
            self.value().fill_(fill)

    def value(self) -> torch.Tensor:
        if not self.padded:
            return self.data
        return self.data[:, : self.numel].view(-1, *self.shape)


class StackedDense(nn.Module):
    """K dense layers of the same shape; weight (K, in, out), bias (K, 1, out)."""

    def __init__(self, n_members: int, width_in: int, width_out: int, device: torch.device):
        super().__init__()
        self.weight = StackedParameter(n_members, (width_in, width_out), 0.0, device)
        self.bias = StackedParameter(n_members, (1, width_out), 0.0, device)

    def reset_member(self, k: int, generator: torch.Generator) -> None:
        """Glorot-uniform weights and zero bias for model k (Keras' Dense default)."""
        weight = self.weight.value()
        _, width_in, width_out = weight.shape
        weight[k] = glorot_uniform(width_in, width_out, generator, weight.device)
        self.bias.value()[k] = 0.0

    def reset_member_torch(self, k: int, generator: torch.Generator) -> None:
        """torch's nn.Linear default for model k: weight and bias uniform within
        +-1/sqrt(fan_in) (Kaiming uniform with a = sqrt(5))."""
        weight = self.weight.value()
        _, width_in, width_out = weight.shape
        bound = 1.0 / math.sqrt(width_in)
        for tensor in (weight[k], self.bias.value()[k]):
            draw = torch.rand(tensor.shape, generator=generator, device=weight.device)
            tensor.copy_(draw.mul_(2 * bound).sub_(bound))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        weight, bias = self.weight.value(), self.bias.value()
        if min(inputs.shape[1], *weight.shape[1:]) == 1:
            # A matrix-vector product takes another BLAS path for one model than for
            # several; the broadcast form keeps model k's result bit-identical whatever K is.
            return (inputs.unsqueeze(-1) * weight.unsqueeze(1)).sum(dim=2) + bias
        return torch.baddbmm(bias, inputs, weight)


def adam(module: nn.Module, learning_rate: float, betas: tuple[float, float], eps: float,
         weight_decay: float = 0.0, decoupled: bool = False) -> torch.optim.Optimizer:
    """Adam (AdamW with `decoupled`) over a stacked module: Adam is elementwise, so one
    optimiser over stacked parameters is K independent ones. The fused kernel where torch
    has it."""
    kind = torch.optim.AdamW if decoupled else torch.optim.Adam
    settings = dict(lr=learning_rate, betas=betas, eps=eps, weight_decay=weight_decay)
    try:
        return kind(module.parameters(), fused=True, **settings)
    except (RuntimeError, TypeError):
        return kind(module.parameters(), **settings)


def set_adam_step(optimiser: torch.optim.Optimizer, steps_done: int) -> None:
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


def copy_members(source: nn.Module, source_rows: list[int],
                 target: nn.Module, target_rows: list[int]) -> None:
    """Copy the stacked weights and statistics of `source_rows` into `target_rows`."""
    targets = target.state_dict()
    with torch.no_grad():
        for name, tensor in source.state_dict().items():
            targets[name][target_rows] = tensor[source_rows].to(targets[name].device)


def stacked_copy(module: nn.Module, index: torch.Tensor | list[int]) -> nn.Module:
    """A new stacked network of the same kind holding only the models of `index`."""
    index = torch.as_tensor(index, dtype=torch.int64)
    copy = module.like(len(index))
    copy.load_state_dict({name: tensor[index.to(tensor.device)]
                          for name, tensor in module.state_dict().items()})
    return copy.train(module.training)


def member(module: nn.Module, k: int) -> nn.Module:
    """Model k of a stacked network alone, as a stack of one."""
    return stacked_copy(module, [k])


def sliced_adam_state(optimiser: torch.optim.Optimizer, index: torch.Tensor) -> dict:
    """An optimiser's state dict with every per-model moment cut to the models of `index`;
    the step counts are shared by all models and stay."""
    state = optimiser.state_dict()
    state["state"] = {
        key: {name: (value[index] if value.dim() > 0 else value.clone())
              for name, value in entry.items()}
        for key, entry in state["state"].items()
    }
    return state


def sliced_optimiser(optimiser: torch.optim.Optimizer, module: nn.Module, index: torch.Tensor,
                     make) -> torch.optim.Optimizer:
    """`make(module)`, a fresh optimiser over the cut `module`, holding `optimiser`'s state
    of the models of `index`."""
    fresh = make(module)
    fresh.load_state_dict(sliced_adam_state(optimiser, index))
    return fresh


def stack_training_sets(train_sets, device) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """All sets in one zero-padded (K, max_n, F) tensor, labels (K, max_n), row counts."""
    counts = [len(y) for _, y in train_sets]
    n_features = train_sets[0][0].shape[1]
    x_pool = torch.zeros(len(train_sets), max(counts), n_features)
    y_pool = torch.zeros(len(train_sets), max(counts), dtype=torch.int64)
    for k, (x, y) in enumerate(train_sets):
        x_pool[k, : counts[k]] = torch.from_numpy(np.asarray(x))
        y_pool[k, : counts[k]] = torch.from_numpy(np.asarray(y))
    return x_pool.to(device), y_pool.to(device), counts


def pool_rows(x_pool: torch.Tensor, y_pool: torch.Tensor, rows: torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows (K, B, F) and labels (K, B) of each model's pool at the drawn `rows` (K, B)."""
    member_index = torch.arange(len(x_pool), device=x_pool.device).unsqueeze(1)
    return x_pool[member_index, rows], y_pool[member_index, rows]


def autocast(dtype: str, device: torch.device):
    """The matrix products' precision: bfloat16 under `dtype="bfloat16"`, else as is."""
    if dtype == "bfloat16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
