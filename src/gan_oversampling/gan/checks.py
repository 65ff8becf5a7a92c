"""What the batched loop does when its stopping rule asks for a check.

Every model still training is checked: one whose losses (since the last check) or weights
are no longer finite numbers, or whose losses ran beyond `LOSS_BOUND`, stops as
"diverged". With an evaluating rule each other model's generator is scored by its own
judge (its oracle on its own held-out rows, noise from its own seeded generator); the best
generator of each model is copied into `kept`, and the rule says who stops. The models that
stop leave the stacked computation (`Stack.keep`). Nothing here knows the family: a judge
scores rows that `Family.sample` made.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from gan_oversampling.errors import UserError
from gan_oversampling.gan.config import TrainingSettings
from gan_oversampling.gan.family import Family, Stack
from gan_oversampling.gan.layers import copy_members, member
from gan_oversampling.gan.oracles import Oracle, hold_out, make_oracle
from gan_oversampling.gan.stopping import StoppingRule, StopRecord, Track, loss_fault

_ORACLE_STREAM = 1  # a model's judge draws from (its seed, this), apart from its training


@dataclass
class Judge:
    """One model's oracle, the rows the model trains on, and the noise of its evaluations."""

    fit_set: tuple[np.ndarray, np.ndarray]
    oracle: Oracle
    noise: torch.Generator

    def score(self, family: Family, model: nn.Module, row: int,
              settings: TrainingSettings) -> float:
        rows = family.sample(member(model, row), self.oracle.labels, self.noise, settings)
        return self.oracle.score(rows)


def make_judges(settings: TrainingSettings, train_sets: list[tuple[np.ndarray, np.ndarray]],
                targets: list[np.ndarray], seeds: list[int]) -> list[Judge]:
    """Per training set: hold out `settings.holdout` of every class (stratified, drawn from
    the set's seed) and fit `settings.oracle` to the split."""
    judges = []
    for k, ((X, y), classes, seed) in enumerate(zip(train_sets, targets, seeds, strict=True)):
        rng = np.random.default_rng([int(seed), _ORACLE_STREAM])
        try:
            data = hold_out(X, y, classes, settings.holdout, rng)
            oracle = make_oracle(settings.oracle, data, rng)
        except UserError as error:
            raise UserError(f"training set {k}: {error}") from None
        noise = torch.Generator().manual_seed(int(rng.integers(2**31 - 1)))
        judges.append(Judge((data.X_fit, data.y_fit), oracle, noise))
    return judges


class TrainingChecks:
    """The stopping bookkeeping of all models of one training call."""

    def __init__(self, family: Family, settings: TrainingSettings, rule: StoppingRule,
                 judges: list[Judge] | None, kept: nn.Module, n_members: int):
        self.family, self.settings, self.rule, self.judges = family, settings, rule, judges
        self.kept = kept
        self.oracle = settings.oracle if judges else None
        self.tracks = [Track() for _ in range(n_members)]
        self.stops: list[StopRecord | None] = [None] * n_members
        self.last_check = 0

    def check(self, batch: Stack, iteration: int, losses: torch.Tensor) -> Stack | None:
        """Check every model of `batch` after `iteration`; returns the models that go on
        training (None when none does)."""
        faults = self._faults(batch, iteration, losses)
        staying = []
        for row, k in enumerate(batch.members):
            if row in faults:
                self._stop(k, *faults[row])
                continue
            if self.judges is not None:
                self._evaluate(batch, row, k, iteration)
            if self.stops[k] is None and iteration == self.rule.iterations:
                if not self.rule.keeps_best:
                    copy_members(batch.model, [row], self.kept, [k])
                self._stop(k, iteration, self.rule.end_reason)
            if self.stops[k] is None:
                staying.append(row)
        self.last_check = iteration
        if len(staying) == len(batch.members):
            return batch
        return batch.keep(staying) if staying else None

    def _evaluate(self, batch: Stack, row: int, k: int, iteration: int) -> None:
        value = self.judges[k].score(self.family, batch.model, row, self.settings)
        oracle = self.judges[k].oracle
        improved, reason = self.rule.observe(self.tracks[k], iteration, value, oracle.gap(value))
        if improved:
            copy_members(batch.model, [row], self.kept, [k])
        if reason is not None:
            self._stop(k, iteration, reason)

    def _stop(self, k: int, iteration: int, reason: str, detail: str | None = None) -> None:
        track = self.tracks[k]
        best = track.best_iteration if self.rule.keeps_best else iteration
        self.stops[k] = StopRecord(iteration, reason, best, self.oracle, list(track.curve),
                                   detail)

    def _faults(self, batch: Stack, iteration: int, losses: torch.Tensor
                ) -> dict[int, tuple[int, str, str]]:
        """Row -> (iteration, "diverged", why) for every model of `batch` that diverged."""
        window = losses[batch.member_index, self.last_check:iteration].cpu().numpy()
        finite = _finite_weights(batch).cpu().numpy()
        faults = {}
        for row in range(len(batch.members)):
            found = loss_fault(window[row], self.family.loss_names, self.last_check + 1)
            if found is None and not finite[row]:
                found = (iteration, f"diverged at iteration {iteration} (weights are not "
                                    "finite numbers)")
            if found is not None:
                faults[row] = (found[0], "diverged", found[1])
        return faults


def _finite_weights(batch: Stack) -> torch.Tensor:
    """(K,) True where every weight of a model's networks is finite."""
    finite = torch.ones(len(batch.members), dtype=torch.bool, device=batch.member_index.device)
    for network in batch.networks():
        for parameter in network.parameters():
            finite &= torch.isfinite(parameter.detach().reshape(len(finite), -1)).all(dim=1)
    return finite
