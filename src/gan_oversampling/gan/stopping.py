"""When a model stops training: the stopping rules, and what each model's training leaves.

A rule is asked after every iteration whether to check the models now (`checks_after`); at
a check the trainer stops every model whose losses or weights stopped being finite numbers
(reason "diverged", whatever the rule) and, if the rule `evaluates`, scores each other
model's generator with its oracle and hands the score to `observe`, which says whether the
generator is the best so far (the trainer keeps a copy of it) and whether the model stops.

- `FixedRule` ("fixed"): every model trains all `iterations`, as the original study did; the
  generator of the last iteration is kept. It checks for divergence every
  `FIXED_CHECK_EVERY` iterations, so a broken model stops costing time.
- `PatienceRule` ("patience", the AutoGAN scheme): an evaluation every `eval_every`
  iterations; the best-scoring generator is kept; a model stops ("patience") when `patience`
  evaluations in a row did not beat the best by more than `min_delta`, but never before
  `min_iterations`; one that never stops ends at `iterations` ("maximum").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from gan_oversampling.gan.config import TrainingSettings
from gan_oversampling.gan.records import LOSS_BOUND, STOP_REASONS, StopRecord

__all__ = ["LOSS_BOUND", "STOP_REASONS", "FixedRule", "PatienceRule", "StopRecord", "Track",
           "loss_fault", "make_rule"]
FIXED_CHECK_EVERY = 100


@dataclass
class Track:
    """What a rule remembers of one model between evaluations."""

    best_gap: float = math.inf
    best_iteration: int = 0
    stale: int = 0  # evaluations since the last improvement
    curve: list[tuple[int, float]] = field(default_factory=list)


class FixedRule:
    """Train every model all `iterations`; keep the last generator."""

    name = "fixed"
    evaluates = False
    keeps_best = False
    end_reason = "fixed"

    def __init__(self, iterations: int, check_every: int = FIXED_CHECK_EVERY):
        self.iterations, self.check_every = iterations, check_every

    def checks_after(self, iteration: int) -> bool:
        return iteration % self.check_every == 0 or iteration == self.iterations


class PatienceRule:
    """Evaluate every `eval_every` iterations, keep the best generator, stop after
    `patience` evaluations without an improvement (larger than `min_delta`), never before
    `min_iterations`, at most after `iterations`."""

    name = "patience"
    evaluates = True
    keeps_best = True
    end_reason = "maximum"

    def __init__(self, iterations: int, eval_every: int, patience: int,
                 min_iterations: int = 0, min_delta: float = 0.0):
        self.iterations, self.eval_every, self.patience = iterations, eval_every, patience
        self.min_iterations, self.min_delta = min_iterations, min_delta

    def checks_after(self, iteration: int) -> bool:
        return iteration % self.eval_every == 0 or iteration == self.iterations

    def observe(self, track: Track, iteration: int, value: float, gap: float
                ) -> tuple[bool, str | None]:
        """Record an evaluation (`value` as the oracle gave it, `gap` its distance from
        the oracle's ideal, lower is better); returns (best so far?, reason to stop or
        None). The first evaluation is always the best so far; a score that is not a
        number never improves."""
        track.curve.append((iteration, float(value)))
        gap = math.inf if math.isnan(gap) else gap
        improved = track.best_iteration == 0 or gap < track.best_gap - self.min_delta
        if improved:
            track.best_gap, track.best_iteration, track.stale = gap, iteration, 0
        else:
            track.stale += 1
        if track.stale >= self.patience and iteration >= self.min_iterations:
            return improved, "patience"
        return improved, None


StoppingRule = FixedRule | PatienceRule


def make_rule(config: TrainingSettings) -> StoppingRule:
    """The stopping rule `config.stopping` names, with its settings."""
    if config.stopping == "patience":
        return PatienceRule(config.iterations, config.eval_every, config.patience,
                            config.min_iterations, config.min_delta)
    return FixedRule(config.iterations)


def loss_fault(losses: np.ndarray, names: Sequence[str], first_iteration: int = 1
               ) -> tuple[int, str] | None:
    """The first iteration whose losses show divergence, and why, as (iteration,
    "diverged at iteration N (...)"), for losses (n_iterations, len(names)) starting at
    iteration `first_iteration`; None if every loss is finite and within `LOSS_BOUND`."""
    bad = ~np.isfinite(losses) | (np.abs(np.nan_to_num(losses)) > LOSS_BOUND)
    rows = np.flatnonzero(bad.any(axis=1))
    if not rows.size:
        return None
    row = int(rows[0])
    which = int(np.flatnonzero(bad[row])[0])
    value = float(losses[row, which])
    what = f"{names[which]} {value:.3g}" if np.isfinite(value) else f"{names[which]} is {value}"
    limit = f" beyond {LOSS_BOUND:g}" if np.isfinite(value) else ""
    iteration = first_iteration + row
    return iteration, f"diverged at iteration {iteration} ({what}{limit})"
