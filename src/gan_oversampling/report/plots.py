"""PNG figures of a study. Figures are drawn off-screen (Agg), never through pyplot's
global state, so building a report never opens a window and never leaks figures."""

from __future__ import annotations

import os
from numbers import Number
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from gan_oversampling.report.comparisons import factor_intervals
from gan_oversampling.report.statistics import Settings
from gan_oversampling.report.tables import factor_columns, factor_levels, level_text

# The CGAN's losses, binary cross-entropies, as results files before loss names held them.
LOSS_NAMES = ("discriminator loss on real rows", "discriminator loss on fakes", "generator loss")
PANEL_ROLES = [("minority", "Minority class F1"), ("majority", "Majority class F1")]
DPI = 110


def _save(figure: Figure, path: Path) -> Path:
    """Write next to the target, then rename, so a PNG is never seen half-written."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    FigureCanvasAgg(figure)
    try:
        figure.savefig(partial, format="png", dpi=DPI, bbox_inches="tight")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def factor_plot(frame: pd.DataFrame, factor: str, path: Path,
                settings: Settings | None = None) -> Path | None:
    """Minority and majority F1 against the levels of one factor, one line per method,
    with error bars: the 95% bootstrap interval of each level's mean over its tests.

    Returns None, writing nothing, when the factor has fewer than two levels.
    """
    long_table = factor_intervals(frame, factor, settings or Settings())
    levels = factor_levels(long_table, "level")
    if len(levels) < 2:
        return None
    positions = {level: index for index, level in enumerate(levels)}
    figure = Figure(figsize=(10, 4), layout="constrained")
    axes = figure.subplots(1, 2, sharey=False)
    for panel, (role, title) in zip(axes, PANEL_ROLES, strict=True):
        rows = long_table[long_table["class_role"] == role]
        offsets = _offsets(rows["method"].nunique())
        for (method, lines), offset in zip(rows.groupby("method", sort=False), offsets,
                                           strict=True):
            # Methods are nudged apart along x so that their error bars do not overlap.
            x_values = np.array([positions[level] for level in lines["level"]]) + offset
            errors = np.vstack([lines["f1"] - lines["ci_low"], lines["ci_high"] - lines["f1"]])
            panel.errorbar(x_values, lines["f1"], yerr=np.nan_to_num(errors.clip(min=0)),
                           marker="o", capsize=3, label=method)
        panel.set_xticks(range(len(levels)), [str(level) for level in levels])
        panel.set_xlabel(factor)
        panel.set_ylabel("F1: mean over tests, 95% bootstrap interval")
        panel.set_title(title)
        panel.grid(alpha=0.3)
        panel.legend()
    figure.suptitle(f"F1 by {factor}")
    return _save(figure, path)


def _offsets(n_lines: int, width: float = 0.2) -> np.ndarray:
    return np.linspace(-width / 2, width / 2, n_lines) if n_lines > 1 else np.zeros(1)


def factor_plots(frame: pd.DataFrame, out_dir: Path, settings: Settings | None = None
                 ) -> tuple[dict[str, Path], list[str]]:
    """One plot per factor into out_dir; returns the plots written and the factors skipped."""
    written: dict[str, Path] = {}
    skipped: list[str] = []
    for factor in factor_columns(frame):
        path = factor_plot(frame, factor, Path(out_dir) / f"factor_{file_safe(factor)}.png",
                           settings)
        if path is None:
            skipped.append(factor)
        else:
            written[factor] = path
    return written, skipped


def cd_diagram(average_ranks: pd.Series, posthoc: pd.DataFrame, path: Path,
               title: str = "") -> Path:
    """Critical-difference diagram (scikit-posthocs): methods at their average rank, a bar
    joining those that the post-hoc test cannot tell apart (p >= 0.05)."""
    import scikit_posthocs

    figure = Figure(figsize=(8, 0.6 + 0.35 * len(average_ranks)), layout="constrained")
    axes = figure.subplots()
    scikit_posthocs.critical_difference_diagram(average_ranks, posthoc, ax=axes)
    axes.set_title(title or "Average rank (1 = best)", pad=24)
    return _save(figure, path)


def loss_plot(losses_by_fold: dict[int, np.ndarray], path: Path, title: str = "",
              names: tuple[str, ...] = LOSS_NAMES) -> Path:
    """Each named loss per training iteration, one panel per loss, one line per fold."""
    if not losses_by_fold:
        raise ValueError("loss_plot needs the losses of at least one fold")
    figure = Figure(figsize=(4 * len(names), 3.6), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(names), sharex=True))
    for fold, curve in sorted(losses_by_fold.items()):
        iterations = np.arange(1, curve.shape[0] + 1)
        for column, panel in enumerate(axes):
            panel.plot(iterations, curve[:, column], linewidth=0.8, label=f"fold {fold}")
    for panel, name in zip(axes, names, strict=True):
        panel.set_title(name)
        panel.set_xlabel("iteration")
        panel.grid(alpha=0.3)
    axes[0].legend(fontsize="small")
    figure.suptitle(title or "training losses")
    return _save(figure, path)


def file_safe(name: str) -> str:
    return "".join(char if char.isalnum() or char in "-_" else "_" for char in name)


def gain_scatter(measures: pd.DataFrame, gain: pd.Series, correlations: pd.DataFrame,
                 path: Path, title: str) -> Path:
    """One panel per measure: each test's gain (y) against its value of the measure (x),
    titled with Spearman's rho; a line marks no gain."""
    columns = min(4, len(measures.columns))
    rows = -(-len(measures.columns) // columns)
    figure = Figure(figsize=(3.2 * columns, 2.8 * rows), layout="constrained")
    axes = np.atleast_1d(figure.subplots(rows, columns, squeeze=False)).ravel()
    rho = correlations.set_index("measure")["spearman_rho"]
    for panel, measure in zip(axes, measures.columns, strict=False):
        paired = pd.concat([measures[measure], gain], axis=1, join="inner").dropna()
        panel.scatter(paired.iloc[:, 0], paired.iloc[:, 1], s=14, alpha=0.7)
        panel.axhline(0, color="grey", linewidth=0.8)
        value = rho.get(measure, np.nan)
        shown = f"rho = {value:+.2f}" if np.isfinite(value) else "no rho (too few or constant)"
        panel.set_title(f"{measure}: {shown}", fontsize="medium")
        panel.set_xlabel(measure)
        panel.grid(alpha=0.3)
    for panel in axes[len(measures.columns):]:
        panel.set_visible(False)
    for panel in axes[::columns]:
        panel.set_ylabel("minority-F1 gain")
    figure.suptitle(title)
    return _save(figure, path)


def oracle_curves_plot(stops: pd.DataFrame, path: Path) -> Path | None:
    """Each GAN's oracle value against iteration (one thin line per GAN, a dot at the
    evaluation whose generator was kept), a panel per oracle. None without curves."""
    with_curves = stops[stops["curve"].map(len) > 0]
    if with_curves.empty:
        return None
    oracles = list(dict.fromkeys(with_curves["oracle"]))
    figure = Figure(figsize=(5.5 * len(oracles), 3.8), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(oracles)))
    for panel, oracle in zip(axes, oracles, strict=True):
        for _, gan in with_curves[with_curves["oracle"] == oracle].iterrows():
            curve = np.asarray(gan["curve"], dtype=float)
            line, = panel.plot(curve[:, 0], curve[:, 1], linewidth=0.7, alpha=0.5)
            kept = curve[curve[:, 0] == gan["best_iteration"]]
            panel.plot(kept[:, 0], kept[:, 1], "o", markersize=3, color=line.get_color())
        panel.set_title(f"oracle {oracle} ({(with_curves['oracle'] == oracle).sum()} GANs)")
        panel.set_xlabel("iteration")
        panel.set_ylabel("oracle value (dot: generator kept)")
        panel.grid(alpha=0.3)
    return _save(figure, path)


def stop_iterations_plot(stops: pd.DataFrame, factors: list[str], path: Path) -> Path | None:
    """The iterations each GAN trained, by level of each factor (box plots). None when
    every GAN trained as long (nothing to compare) or no factor has two levels."""
    factors = [factor for factor in factors if stops[factor].nunique() > 1]
    if stops["stop_iteration"].nunique() < 2 or not factors:
        return None
    figure = Figure(figsize=(4 * len(factors), 3.6), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(factors), sharey=True))
    for panel, factor in zip(axes, factors, strict=True):
        levels = sorted(stops[factor].unique(), key=_level_key)
        groups = [stops.loc[stops[factor] == level, "stop_iteration"] for level in levels]
        panel.boxplot(groups)
        panel.set_xticks(range(1, len(levels) + 1), [level_text(level) for level in levels])
        panel.set_xlabel(factor)
        panel.grid(alpha=0.3)
    axes[0].set_ylabel("iterations trained")
    figure.suptitle("When the GANs stopped, by factor level")
    return _save(figure, path)


def _level_key(level) -> tuple:
    return (0, float(level), "") if isinstance(level, Number) else (1, 0.0, str(level))
