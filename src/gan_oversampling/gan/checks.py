"""What the batched trainer does when its stopping rule asks for a check.

Every GAN still training is checked: one whose losses (since the last check) or weights
are no longer finite numbers, or whose losses ran beyond `LOSS_BOUND`, stops as
"diverged". With an evaluating rule each other GAN's generator is scored by its own judge
(its oracle on its own held-out rows, noise from its own seeded generator); the best
generator of each GAN is copied into `kept`, and the rule says who stops. The GANs that
stop leave the stacked computation (`StackedGANs.keep`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gan_oversampling.errors import UserError
from gan_oversampling.gan.config import CGANConfig
from gan_oversampling.gan.models import BatchedGenerator, generate_rows
from gan_oversampling.gan.oracles import Oracle, hold_out, make_oracle
from gan_oversampling.gan.stacked import StackedGANs, copy_members
from gan_oversampling.gan.stopping import StoppingRule, StopRecord, Track, loss_fault

_ORACLE_STREAM = 1  # a GAN's judge draws from (its seed, this), apart from its training


@dataclass
class Judge:
    """One GAN's oracle, the rows the GAN trains on, and the noise of its evaluations."""

    fit_set: tuple[np.ndarray, np.ndarray]
    oracle: Oracle
    noise: torch.Generator

    def score(self, gen: BatchedGenerator, row: int) -> float:
        return self.oracle.score(generate_rows(gen.member(row), self.oracle.labels, self.noise))


def make_judges(config: CGANConfig, train_sets: list[tuple[np.ndarray, np.ndarray]],
                targets: list[np.ndarray], seeds: list[int]) -> list[Judge]:
    """Per training set: hold out `config.holdout` of every class (stratified, drawn from
    the set's seed) and fit `config.oracle` to the split."""
    judges = []
    for k, ((X, y), classes, seed) in enumerate(zip(train_sets, targets, seeds, strict=True)):
        rng = np.random.default_rng([int(seed), _ORACLE_STREAM])
        try:
            data = hold_out(X, y, classes, config.holdout, rng)
            oracle = make_oracle(config.oracle, data, rng)
        except UserError as error:
            raise UserError(f"training set {k}: {error}") from None
        noise = torch.Generator().manual_seed(int(rng.integers(2**31 - 1)))
        judges.append(Judge((data.X_fit, data.y_fit), oracle, noise))
    return judges


class TrainingChecks:
    """The stopping bookkeeping of all GANs of one training call."""

    def __init__(self, rule: StoppingRule, judges: list[Judge] | None, kept: BatchedGenerator,
                 oracle: str | None):
        self.rule, self.judges, self.kept, self.oracle = rule, judges, kept, oracle
        self.tracks = [Track() for _ in range(kept.n_gans)]
        self.stops: list[StopRecord | None] = [None] * kept.n_gans
        self.last_check = 0

    def check(self, batch: StackedGANs, iteration: int, losses: torch.Tensor
              ) -> StackedGANs | None:
        """Check every GAN of `batch` after `iteration`; returns the GANs that go on
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
                    copy_members(batch.gen, [row], self.kept, [k])
                self._stop(k, iteration, self.rule.end_reason)
            if self.stops[k] is None:
                staying.append(row)
        self.last_check = iteration
        if len(staying) == len(batch.members):
            return batch
        return batch.keep(staying) if staying else None

    def _evaluate(self, batch: StackedGANs, row: int, k: int, iteration: int) -> None:
        value = self.judges[k].score(batch.gen, row)
        oracle = self.judges[k].oracle
        improved, reason = self.rule.observe(self.tracks[k], iteration, value, oracle.gap(value))
        if improved:
            copy_members(batch.gen, [row], self.kept, [k])
        if reason is not None:
            self._stop(k, iteration, reason)

    def _stop(self, k: int, iteration: int, reason: str, detail: str | None = None) -> None:
        track = self.tracks[k]
        best = track.best_iteration if self.rule.keeps_best else iteration
        self.stops[k] = StopRecord(iteration, reason, best, self.oracle, list(track.curve),
                                   detail)

    def _faults(self, batch: StackedGANs, iteration: int, losses: torch.Tensor
                ) -> dict[int, tuple[int, str, str]]:
        """Row -> (iteration, "diverged", why) for every GAN of `batch` that diverged."""
        window = losses[batch.member_index, self.last_check:iteration].cpu().numpy()
        finite = _finite_weights(batch).cpu().numpy()
        faults = {}
        for row in range(len(batch.members)):
            found = loss_fault(window[row], self.last_check + 1)
            if found is None and not finite[row]:
                found = (iteration, f"diverged at iteration {iteration} (weights are not "
                                    "finite numbers)")
            if found is not None:
                faults[row] = (found[0], "diverged", found[1])
        return faults


def _finite_weights(batch: StackedGANs) -> torch.Tensor:
    """(K,) True where every weight of a GAN's generator and discriminator is finite."""
    finite = torch.ones(len(batch.members), dtype=torch.bool, device=batch.device)
    for network in (batch.gen, batch.disc):
        for parameter in network.parameters():
            finite &= torch.isfinite(parameter.detach().reshape(len(finite), -1)).all(dim=1)
    return finite
