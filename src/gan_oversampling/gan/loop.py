"""The one batched training loop: K models of any family, one per training set, trained as
one computation.

    seed every model -> start the stack -> per iteration: one step of every model,
    record its losses, report progress -> at each check the rule asks for: stop the models
    that diverged, score the others (evaluating rules), keep the best generator of each,
    and cut the stack to the models still training.

Each model owns one seeded torch.Generator that feeds all its draws (weights, rows, noise,
labels, dropout) in a fixed order, so a model's result does not depend on the other models
it is batched with. The generator kept for each model is its last one (fixed rule) or its
best-scoring one (patience rule). The family (`gan.family`) is all the loop knows of what
it trains.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from gan_oversampling.errors import UserError
from gan_oversampling.gan.checks import TrainingChecks, make_judges
from gan_oversampling.gan.config import TrainingSettings, resolve_device
from gan_oversampling.gan.family import Family
from gan_oversampling.gan.layers import member
from gan_oversampling.gan.precision import resolve_dtype
from gan_oversampling.gan.records import StopRecord
from gan_oversampling.gan.stopping import loss_fault, make_rule


@dataclass
class TrainedModels:
    """The K trained generators (stacked), their losses and the training wall time.

    `losses[k, i]` holds model k's losses (named by `family.loss_names`) at iteration i
    (zeros after the model stopped); `stops[k]` says how model k's training ended.
    """

    family: Family
    model: torch.nn.Module
    losses: np.ndarray
    seconds: float
    settings: TrainingSettings
    stops: tuple[StopRecord, ...]

    @property
    def n_models(self) -> int:
        return len(self.stops)

    def losses_of(self, k: int) -> np.ndarray:
        """Model k's losses (iterations it trained, n_losses)."""
        _check_member(k, self.n_models)
        return self.losses[k, : self.stops[k].iterations]

    def divergence(self, k: int) -> str | None:
        """Why model k diverged ("diverged at iteration N (...)"), or None if it did not:
        a loss that is not finite or beyond `LOSS_BOUND`, or weights that are not finite."""
        _check_member(k, self.n_models)
        found = loss_fault(self.losses[k], self.family.loss_names)
        if found is not None:
            return found[1]
        stop = self.stops[k]
        return stop.detail if stop.reason == "diverged" else None

    def generate(self, k: int, labels: np.ndarray, seed: int) -> np.ndarray:
        """Rows (n, n_features) float32 in [-1, 1] from model k for encoded `labels`.

        Every draw comes from a CPU generator seeded with `seed`, so the same seed gives
        the same rows.
        """
        _check_member(k, self.n_models)
        n_classes = self.model.n_classes
        labels = checked_labels(np.asarray(labels), n_classes, "labels")
        if not isinstance(seed, int | np.integer) or seed < 0:
            raise UserError(f"seed must be an integer >= 0, got {seed!r}")
        if len(labels) == 0:
            return np.empty((0, self.model.n_features), dtype=np.float32)
        noise_source = torch.Generator().manual_seed(int(seed))
        return self.family.sample(member(self.model, k), labels, noise_source, self.settings)


def train_models(
    family: Family,
    train_sets: list[tuple[np.ndarray, np.ndarray]],
    n_classes: int,
    settings: TrainingSettings,
    seeds: list[int],
    progress: Callable[[int], None] | None = None,
    targets: Sequence[Sequence[int]] | None = None,
) -> TrainedModels:
    """Train one model of `family` per (X, y) training set, all K at once; model k is
    seeded with seeds[k].

    X: (n_k, F) features in [-1, 1]; y: (n_k,) labels encoded 0..n_classes-1. The sets may
    differ in row count but not in feature count. `progress(i)` is called after iteration i
    (the last call may come before `settings.iterations` when every model stopped early).
    `targets[k]`: the codes of the classes model k will oversample, which an oracle judges
    (default: each set's least frequent class).
    """
    if not isinstance(settings, family.settings_model):
        raise UserError(f"{family.name} trains with {family.settings_model.__name__} "
                        f"settings, got {type(settings).__name__}")
    train_sets = _checked_inputs(train_sets, n_classes, seeds)
    if len({family.batch_key(X) for X, _ in train_sets}) > 1:
        raise UserError(f"{family.name}: these training sets cannot share one stack (their "
                        "columns' layouts differ); train them in separate calls")
    targets = _checked_targets(targets, train_sets, n_classes)
    device = resolve_device(settings.device)
    settings = settings.model_copy(update={"dtype": resolve_dtype(settings.dtype, device)})
    rule = make_rule(settings)
    judges = make_judges(settings, train_sets, targets, seeds) if rule.evaluates else None
    rngs = [torch.Generator(device=device).manual_seed(int(seed)) for seed in seeds]
    stack = family.start([j.fit_set for j in judges] if judges else train_sets,
                         n_classes, settings, rngs, device, layout_rows=train_sets[0][0])
    kept = copy.deepcopy(stack.model)
    checks = TrainingChecks(family, settings, rule, judges, kept, len(seeds))
    losses = torch.zeros(len(seeds), settings.iterations, len(family.loss_names),
                         device=device)
    start = time.perf_counter()
    for it in range(settings.iterations):
        losses[stack.member_index, it] = stack.step(it)
        if progress is not None:
            progress(it + 1)
        if rule.checks_after(it + 1):
            stack = checks.check(stack, it + 1, losses)
            if stack is None:
                break
    losses_np = losses.cpu().numpy()  # also waits for the device to finish
    seconds = time.perf_counter() - start
    model = kept.eval().requires_grad_(False)
    return TrainedModels(family, model, losses_np, seconds, settings, tuple(checks.stops))


def _checked_targets(targets, train_sets, n_classes) -> list[np.ndarray]:
    """Per set, the codes of the classes to judge; UserError for codes out of range."""
    if targets is None:
        return [_least_frequent(y, n_classes) for _, y in train_sets]
    if len(targets) != len(train_sets):
        raise UserError(f"got targets for {len(targets)} training sets, need {len(train_sets)}")
    checked = []
    for k, codes in enumerate(targets):
        codes = np.unique(np.asarray(codes, dtype=np.int64))
        if codes.size == 0 or codes.min() < 0 or codes.max() >= n_classes:
            raise UserError(f"training set {k}: targets must be class codes 0..{n_classes - 1}")
        checked.append(codes)
    return checked


def _least_frequent(y: np.ndarray, n_classes: int) -> np.ndarray:
    counts = np.bincount(y, minlength=n_classes).astype(float)
    counts[counts == 0] = np.inf  # a class absent from the set is not oversampled
    return np.array([np.argmin(counts)])


def _checked_inputs(train_sets, n_classes, seeds) -> list[tuple[np.ndarray, np.ndarray]]:
    """The training sets as (float32 X, int64 y) arrays; UserError on anything unusable."""
    if isinstance(n_classes, bool) or not isinstance(n_classes, int | np.integer) or n_classes < 2:
        raise UserError(f"n_classes must be an integer >= 2, got {n_classes!r}")
    if not train_sets:
        raise UserError("train_sets is empty: give at least one (X, y) training set")
    if len(seeds) != len(train_sets):
        raise UserError(
            f"got {len(seeds)} seeds for {len(train_sets)} training sets: need one each"
        )
    for seed in seeds:
        if not isinstance(seed, int | np.integer) or seed < 0:
            raise UserError(f"seeds must be integers >= 0, got {seed!r}")
    n_features, checked = None, []
    for k, (x, y) in enumerate(train_sets):
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
            raise UserError(f"training set {k}: X must be a non-empty 2-D array, got {x.shape}")
        if not np.issubdtype(x.dtype, np.number) or not np.isfinite(x).all():
            raise UserError(f"training set {k}: X must hold finite numbers")
        n_features = x.shape[1] if n_features is None else n_features
        if x.shape[1] != n_features:
            raise UserError(f"training set {k} has {x.shape[1]} features, set 0 has {n_features}")
        y = checked_labels(np.asarray(y), n_classes, f"training set {k}: y")
        if len(y) != len(x):
            raise UserError(f"training set {k}: {len(x)} rows in X but {len(y)} labels in y")
        checked.append((x.astype(np.float32), y.astype(np.int64)))
    return checked


def checked_labels(labels: np.ndarray, n_classes: int, what: str) -> np.ndarray:
    if labels.ndim != 1 or (labels.size and not np.issubdtype(labels.dtype, np.integer)):
        raise UserError(f"{what} must be a 1-D array of integer labels 0..{n_classes - 1}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise UserError(
            f"{what} holds label {labels.min() if labels.min() < 0 else labels.max()}; "
            f"labels must be encoded 0..{n_classes - 1}"
        )
    return labels


def _check_member(k: int, n_models: int) -> None:
    if not isinstance(k, int | np.integer) or not 0 <= k < n_models:
        raise UserError(f"model index {k!r} out of range: 0..{n_models - 1}")
