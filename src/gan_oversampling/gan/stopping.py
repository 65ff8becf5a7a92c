"""When a GAN stops training: the stopping rules, and what each GAN's training leaves.

A rule is asked after every iteration whether to check the GANs now (`checks_after`); at a
check the trainer stops every GAN whose losses or weights stopped being finite numbers
(reason "diverged", whatever the rule) and, if the rule `evaluates`, scores each other
GAN's generator with its oracle and hands the score to `observe`, which says whether the
generator is the best so far (the trainer keeps a copy of it) and whether the GAN stops.

- `FixedRule` ("fixed"): every GAN trains all `iterations`, as the original study did; the
  generator of the last iteration is kept. It checks for divergence every
  `FIXED_CHECK_EVERY` iterations, so a broken GAN stops costing time.
- `PatienceRule` ("patience", the AutoGAN scheme): an evaluation every `eval_every`
  iterations; the best-scoring generator is kept; a GAN stops ("patience") when `patience`
  evaluations in a row did not beat the best by more than `min_delta`, but never before
  `min_iterations`; one that never stops ends at `iterations` ("maximum").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from gan_oversampling.gan.config import CGANConfig

STOP_REASONS = ("fixed", "patience", "maximum", "diverged")
FIXED_CHECK_EVERY = 100
# A binary cross-entropy beyond this is no training any more: even a generator facing a
# dominating discriminator has losses of 20 to 60, while a diverged one's logits (and
# losses) run to 1e25 and on to inf/NaN.
LOSS_BOUND = 1e6
LOSS_NAMES = ("discriminator loss on real rows", "discriminator loss on fakes",
              "generator loss")


@dataclass
class StopRecord:
    """How one GAN's training ended.

    `iterations`: iterations it trained (for a diverged GAN, the first broken one);
    `reason`: one of `STOP_REASONS`; `best_iteration`: the iteration whose generator was
    kept; `curve`: the oracle's (iteration, value) evaluations, empty without an oracle;
    `detail`: what broke, for a diverged GAN.
    """

    iterations: int
    reason: str
    best_iteration: int
    oracle: str | None = None
    curve: list[tuple[int, float]] = field(default_factory=list)
    detail: str | None = None


@dataclass
class Track:
    """What a rule remembers of one GAN between evaluations."""

    best_gap: float = math.inf
    best_iteration: int = 0
    stale: int = 0  # evaluations since the last improvement
    curve: list[tuple[int, float]] = field(default_factory=list)


class FixedRule:
    """Train every GAN all `iterations`; keep the last generator."""

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


def make_rule(config: CGANConfig) -> StoppingRule:
    """The stopping rule `config.stopping` names, with its settings."""
    if config.stopping == "patience":
        return PatienceRule(config.iterations, config.eval_every, config.patience,
                            config.min_iterations, config.min_delta)
    return FixedRule(config.iterations)


def loss_fault(losses: np.ndarray, first_iteration: int = 1) -> tuple[int, str] | None:
    """The first iteration whose losses show divergence, and why, as (iteration,
    "diverged at iteration N (...)"), for losses (n_iterations, 3) starting at iteration
    `first_iteration`; None if every loss is finite and within `LOSS_BOUND`."""
    bad = ~np.isfinite(losses) | (np.abs(np.nan_to_num(losses)) > LOSS_BOUND)
    rows = np.flatnonzero(bad.any(axis=1))
    if not rows.size:
        return None
    row = int(rows[0])
    which = int(np.flatnonzero(bad[row])[0])
    value = float(losses[row, which])
    what = (f"{LOSS_NAMES[which]} {value:.3g}" if np.isfinite(value)
            else f"{LOSS_NAMES[which]} is {value}")
    limit = f" beyond {LOSS_BOUND:g}" if np.isfinite(value) else ""
    iteration = first_iteration + row
    return iteration, f"diverged at iteration {iteration} ({what}{limit})"
