"""Plain records of a generator's training that every layer may read without torch: how a
model's training ended, and what counts as divergence."""

from __future__ import annotations

from dataclasses import dataclass, field

STOP_REASONS = ("fixed", "patience", "maximum", "diverged")
# A loss beyond this is no training any more: even a CGAN generator facing a dominating
# discriminator has binary cross-entropies of 20 to 60, a WGAN critic's estimates stay in
# the hundreds, while a diverged model's values run to 1e25 and on to inf/NaN.
LOSS_BOUND = 1e6


@dataclass
class StopRecord:
    """How one model's training ended.

    `iterations`: iterations it trained (for a diverged model, the first broken one);
    `reason`: one of `STOP_REASONS`; `best_iteration`: the iteration whose generator was
    kept; `curve`: the oracle's (iteration, value) evaluations, empty without an oracle;
    `detail`: what broke, for a diverged model.
    """

    iterations: int
    reason: str
    best_iteration: int
    oracle: str | None = None
    curve: list[tuple[int, float]] = field(default_factory=list)
    detail: str | None = None
