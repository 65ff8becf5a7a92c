"""The report's account of how the GANs trained: when and why each stopped (the
`gan_stops` records), its oracle's curve, and whether its discriminator dominated (the
stored losses).

A discriminator dominates when it rejects generated rows with near certainty: the
generator's loss -log D(G(z)) then sits far above log 2 (0.69, where the discriminator
cannot tell), and the generator learns from a saturated signal.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from gan_oversampling.report import plots, tables
from gan_oversampling.report.document import Image, Section, Table
from gan_oversampling.study import gan_stops

# The discriminator gives generated rows under 5% probability: -log(0.05) = 3.0.
DOMINANCE_LOSS = 3.0
DOMINANCE_SHARE = 0.5  # of a GAN's iterations, for the GAN to count as dominated
REASON_ORDER = ["fixed", "patience", "maximum", "diverged"]
# The loss -log D(G(z)) of a GAN trained with binary cross-entropy, by its stored name.
BCE_GENERATOR_LOSS = "generator loss"


def training_sections(store, study: str, frame: pd.DataFrame, folder: Path) -> list:
    """[How the generators stopped] for a study that trained any, else []."""
    stops = store.stops_frame(study)
    dominance = dominance_table(store, study, tables.methods_of_kind(frame, "generative"))
    if stops.empty and dominance.empty:
        return []
    blocks: list = []
    if not dominance.empty:
        blocks += [dominance_sentence(dominance),
                   Table("Discriminator dominance per method", dominance_summary(dominance), 2)]
    if stops.empty:
        blocks.append("This results file holds no record of when each model stopped (it was "
                      "written by an earlier version).")
        return [Section("How the generators stopped", blocks)]
    blocks += [stops_sentence(stops), Table("Why the generators stopped", stop_table(stops), 1)]
    curves = plots.oracle_curves_plot(stops, folder / "oracle_curves.png")
    if curves is not None:
        blocks.append(Image(curves.name, "oracle value against iteration, one line per model"))
    factors = stop_factors(stops)
    by_factor = plots.stop_iterations_plot(stops, factors, folder / "stop_iterations.png")
    if by_factor is not None:
        blocks += [Image(by_factor.name, "stop iterations by factor level"),
                   Table("Iterations trained by factor level", stops_by_factor(stops, factors),
                         1)]
    return [Section("How the generators stopped", blocks)]


# -- stops ----------------------------------------------------------------------------------
def stop_table(stops: pd.DataFrame) -> pd.DataFrame:
    """Per method and reason: GANs, and the iterations trained and kept (median, range)."""
    grouped = stops.groupby(["method", "reason"], sort=False)
    table = pd.DataFrame({
        "models": grouped.size(),
        "median iterations trained": grouped["stop_iteration"].median(),
        "fewest": grouped["stop_iteration"].min(),
        "most": grouped["stop_iteration"].max(),
        "median iteration kept": grouped["best_iteration"].median(),
    }).reset_index()
    table["order"] = table["reason"].map(REASON_ORDER.index)
    return table.sort_values(["method", "order"], kind="stable").drop(columns="order")


def stops_sentence(stops: pd.DataFrame) -> str:
    counts = stops["reason"].value_counts()
    parts = [f"{counts[reason]} {_reason_words(reason)}" for reason in REASON_ORDER
             if reason in counts]
    text = f"{len(stops)} generators trained: " + ", ".join(parts) + "."
    diverged = int(counts.get("diverged", 0))
    if diverged:
        text += (f" {diverged} diverged (non-finite or exploding losses or weights): their "
                 "units failed and are listed under Failed units; no row of theirs was scored.")
    return text


def stop_factors(stops: pd.DataFrame) -> list[str]:
    return [column for column in stops.columns
            if column not in gan_stops.COLUMNS and column != "repeat"]


def stops_by_factor(stops: pd.DataFrame, factors: list[str]) -> pd.DataFrame:
    """Per factor level: GANs, median and range of the iterations trained, diverged GANs."""
    rows = []
    for factor in factors:
        for level, group in stops.groupby(factor, sort=True):
            trained = group["stop_iteration"]
            rows.append({"factor": factor, "level": tables.level_text(level), "models": len(group),
                         "median iterations trained": trained.median(),
                         "fewest": trained.min(), "most": trained.max(),
                         "diverged": int((group["reason"] == "diverged").sum())})
    return pd.DataFrame(rows)


def _reason_words(reason: str) -> str:
    return {"fixed": "trained the fixed number of iterations",
            "patience": "stopped when their oracle stopped improving",
            "maximum": "reached the maximum number of iterations",
            "diverged": "diverged"}[reason]


# -- dominance ------------------------------------------------------------------------------
def dominance_table(store, study: str, methods: list[str]) -> pd.DataFrame:
    """One row per stored GAN of `methods`: the share of its iterations whose generator loss
    exceeded `DOMINANCE_LOSS`, and its median generator loss."""
    rows = []
    for method in methods:
        for key, fold, losses, names in store.all_losses(study, method):
            if BCE_GENERATOR_LOSS not in names:
                continue  # dominance is read off a GAN's binary cross-entropy
            generator_loss = losses[:, names.index(BCE_GENERATOR_LOSS)]
            if not len(generator_loss):
                continue
            rows.append({"method": method, "test_key": key, "fold": fold,
                         "share_above": float(np.mean(generator_loss > DOMINANCE_LOSS)),
                         "median_generator_loss": float(np.median(generator_loss))})
    return pd.DataFrame(rows)


def dominance_summary(dominance: pd.DataFrame) -> pd.DataFrame:
    dominated = dominance["share_above"] > DOMINANCE_SHARE
    summary = dominance.assign(dominated=dominated).groupby("method", sort=False).agg(
        GANs=("fold", "size"), dominated=("dominated", "sum"),
        median_generator_loss=("median_generator_loss", "median"))
    return summary.reset_index().rename(columns={
        "median_generator_loss": "median generator loss (all GANs)"})


def dominance_sentence(dominance: pd.DataFrame) -> str:
    """One warning with the numbers when a discriminator dominated in any GAN."""
    dominated = dominance[dominance["share_above"] > DOMINANCE_SHARE]
    balance = f"log 2 = {math.log(2):.2f} is the loss where the discriminator cannot tell"
    if dominated.empty:
        return (f"In no GAN did the discriminator dominate: no generator loss stayed above "
                f"{DOMINANCE_LOSS:g} for more than half of training ({balance}).")
    share = len(dominated) / len(dominance)
    return (f"Warning: the discriminator dominated in {len(dominated)} of {len(dominance)} GANs "
            f"({share:.0%}): their generator loss stayed above {DOMINANCE_LOSS:g} (the "
            f"discriminator gave generated rows under 5% probability; {balance}) in "
            f"{dominated['share_above'].median():.0%} of their iterations (median), with a "
            f"median generator loss of {dominated['median_generator_loss'].median():.1f}. "
            "Such generators learn from a saturated signal.")
