"""The settings every generator family shares: how long it trains, where, in which
precision, how it stops and what its rows may hold. A family's own settings model
(`CGANConfig`, `WGANGPConfig`, ...) extends `TrainingSettings`, so a study file keeps flat
keys (`[wgan-gp] iterations = 500`) and the batched loop reads the same fields from all."""

from __future__ import annotations

import re
from typing import Any, Literal, get_args

import torch
from pydantic import Field, ValidationError, ValidationInfo, field_validator

from gan_oversampling.errors import UserError, one_line
from gan_oversampling.settings import StrictModel

_DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")
# The oracles of the patience rule (gan.oracles implements them under these names).
OracleName = Literal["cas-real", "cas-syn", "c2st", "mmd", "frechet-ae"]
ORACLE_NAMES: tuple[str, ...] = get_args(OracleName)
# Settings that only the patience rule reads.
PATIENCE_SETTINGS = ("oracle", "eval_every", "patience", "min_iterations", "min_delta",
                     "holdout")
# Values a study file may still name with the fixed rule: the default oracle was
# "cas-real" before the stopping evidence (README) made it "mmd", and files printed by
# `presets` then name it.
_FORMER_DEFAULTS = {"oracle": "cas-real"}


class TrainingSettings(StrictModel):
    """What the batched loop reads of every family.

    `iterations`: training iterations (one optimiser step of the generating network each,
    and whatever the family does around it); `batch_size`: rows drawn per iteration, with
    replacement, from each model's training fold; `dtype="bfloat16"` runs the matrix
    products in bfloat16 (weights stay float32), `dtype="auto"` does so only where the
    hardware computes bf16 natively (`gan.precision`); `device` is "auto" (CUDA when available,
    else CPU), "cpu", "cuda" or "cuda:N". `output_range` says what generated rows may hold:
    "training" keeps each feature inside its range on the training rows and rounds features
    whose training values are all whole numbers; "tanh" keeps the model's raw output in
    [-1, 1], as the original study did.

    `stopping` decides how long each model trains (see `gan.stopping`): "fixed" trains
    `iterations` iterations; "patience" holds out `holdout` of each training fold
    (stratified), scores the generator with `oracle` (see `gan.oracles`) every
    `eval_every` iterations, keeps the best-scoring generator and stops once `patience`
    evaluations in a row brought no improvement larger than `min_delta`, never before
    `min_iterations` and at most after `iterations`.
    """

    iterations: int = Field(1500, ge=1)
    batch_size: int = Field(32, ge=1)
    learning_rate: float = Field(2e-4, gt=0)
    dtype: Literal["float32", "bfloat16", "auto"] = "float32"
    output_range: Literal["training", "tanh"] = "training"
    device: str = "auto"
    stopping: Literal["fixed", "patience"] = "fixed"
    # The oracle that lost least to the fixed rule on both image and table tests (README,
    # "Fixed or patience: measured"), and the cheapest to evaluate.
    oracle: OracleName = "mmd"
    eval_every: int = Field(100, ge=1, validate_default=True)
    patience: int = Field(10, ge=1)
    min_iterations: int = Field(0, ge=0, validate_default=True)
    min_delta: float = Field(0.0, ge=0)
    holdout: float = Field(0.2, gt=0, le=0.5)

    @field_validator("device")
    @classmethod
    def _known_device_name(cls, name: str) -> str:
        if not _DEVICE_PATTERN.match(name):
            raise ValueError("must be 'auto', 'cpu', 'cuda' or 'cuda:N'")
        return name

    @field_validator(*PATIENCE_SETTINGS)
    @classmethod
    def _only_with_the_patience_rule(cls, value: Any, info: ValidationInfo) -> Any:
        # Fields are validated in order: `iterations` and `stopping` come first.
        if info.data.get("stopping") == "fixed":
            default = cls.model_fields[info.field_name].default
            if value not in (default, _FORMER_DEFAULTS.get(info.field_name, default)):
                raise ValueError("applies only with stopping = 'patience'")
        elif info.field_name in ("eval_every", "min_iterations"):
            iterations = info.data.get("iterations")
            if iterations is not None and value > iterations:
                raise ValueError(f"exceeds iterations ({iterations}), the most a model "
                                 "trains with stopping = 'patience'")
        return value


def positive_layer_sizes(sizes: tuple[int, ...]) -> tuple[int, ...]:
    """A validator body for hidden-layer settings: a non-empty list of sizes >= 1."""
    if not sizes or any(size < 1 for size in sizes):
        raise ValueError("must be a non-empty list of layer sizes >= 1")
    return sizes


def make_settings(model: type[TrainingSettings], base: TrainingSettings | None = None,
                  what: str = "generator", **overrides: Any) -> TrainingSettings:
    """Validated settings of `model` (`base` or the defaults, with `overrides`); bad values
    raise UserError naming the setting."""
    fields = (base or model()).model_dump()
    fields.update(overrides)
    try:
        return model(**fields)
    except ValidationError as error:
        raise UserError(f"bad {what} setting {one_line(error, show_input=True)}") from None


def resolve_device(name: str) -> torch.device:
    """The torch device for a validated `device` name; UserError if it is not available."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(f"device {name!r} requested but CUDA is not available; use 'cpu'")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UserError(
                f"device {name!r} does not exist: {torch.cuda.device_count()} CUDA device(s)"
            )
    return device
