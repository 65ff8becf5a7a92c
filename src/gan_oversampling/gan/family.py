"""What a generator family is: the one interface the batched loop (`gan.loop`), the
stopping rules and the samplers (`samplers.generative`) read, so none of them knows which
family it trains.

A family declares its settings model (the only declaration of its settings; a subclass of
`TrainingSettings`, so the loop reads iterations, device, dtype and the stopping fields
the same way from all), the names of the losses one training step reports, how to start
K models stacked as one computation (`start`, one model per training fold), and how one
model generates rows for class labels (`sample`). A started `Stack` makes one training
step over all its models (`step`), and keeps only some of them (`keep`) when the others
stop: compaction changes no model's result, since every model sits in its own slice.

A new family is one module that defines its settings, its stacked networks, its `Stack`
and a `Family` object, plus its line in `gan.registry`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from gan_oversampling.gan.config import TrainingSettings

TrainSets = list[tuple[np.ndarray, np.ndarray]]  # (X in [-1, 1] float32, y codes int64)


class Stack(ABC):
    """K models training as one computation; model `members[i]` (its index among all
    models of the training call) sits in slice i of every stacked tensor.

    `model` is the stacked network that generates (the generator, the denoiser): what the
    loop keeps of each model, scores with an oracle and hands to `Family.sample`. Like
    every stacked network of a family it holds the K models on the first dimension of
    every parameter and buffer, has `n_classes` and `n_features`, and `like(n)` makes a
    fresh network of its kind and shape with n models (`gan.layers.stacked_copy` cuts and
    copies stacks through these alone).
    """

    members: list[int]
    model: nn.Module

    @abstractmethod
    def step(self, iteration: int) -> torch.Tensor:
        """One training iteration (0-based) of every model; the losses (K, n_losses)."""

    @abstractmethod
    def keep(self, rows: list[int]) -> Stack:
        """The same models but only those of slices `rows`, in that order, with their
        optimiser states and random streams."""

    @abstractmethod
    def networks(self) -> Sequence[nn.Module]:
        """Every stacked network whose weights must stay finite (divergence check)."""

    @property
    def member_index(self) -> torch.Tensor:
        """`members` as a tensor on the models' device, made once per stack (on a GPU each
        new one is a blocking copy)."""
        if getattr(self, "_member_index", None) is None:
            device = next(self.model.parameters()).device
            self._member_index = torch.as_tensor(self.members, device=device)
        return self._member_index


class Family(ABC):
    """A generator family; one instance of it (`FAMILY`) lives in its module."""

    name: ClassVar[str]
    summary: ClassVar[str]  # one line for the registry: what it is, after whom
    settings_model: ClassVar[type[TrainingSettings]]
    loss_names: ClassVar[tuple[str, ...]]
    # How the sampler glue scales a fold's features into [-1, 1]: "outside" scales only
    # features that leave it (the original CGAN's data trains as it did), "all" every
    # feature but 0/1 columns (numbers on one scale, as WGAN and diffusion models expect).
    feature_scaling: ClassVar[str] = "outside"
    # Settings a results file written before the setting existed was trained with:
    # at this value the setting is left out of the study's hash, so such a file resumes.
    legacy_settings: ClassVar[dict] = {}

    @abstractmethod
    def start(self, train_sets: TrainSets, n_classes: int, settings: TrainingSettings,
              rngs: list[torch.Generator], device: torch.device,
              layout_rows: np.ndarray) -> Stack:
        """Fresh models, model k's weights and every later draw from `rngs[k]`.

        `layout_rows`: the rows a family reads the structure of the data from (its
        columns' layout): the first model's whole training fold, also when the models
        train on the part the patience rule leaves them (a category held out with every
        one of its rows is still a category). Every set of one call has the same
        `batch_key`."""

    @abstractmethod
    def sample(self, single: nn.Module, labels: np.ndarray, noise: torch.Generator,
               settings: TrainingSettings) -> np.ndarray:
        """Rows (n, n_features) float32 in [-1, 1] of a one-model stack for encoded
        `labels`, every random draw from the CPU generator `noise`."""

    def batch_key(self, X: np.ndarray) -> Hashable:
        """Folds with the same key can train in one stack (default: all). A family whose
        networks depend on the columns' layout (one-hot blocks) keys on it, so a fold's
        model never depends on the folds it is batched with."""
        return None

    def __repr__(self) -> str:
        return f"<generator family {self.name}>"
