"""Turn a results database into a report folder: index.html, report.md, CSVs and PNG plots.

The report is written under a temporary sibling folder first, so a failure never leaves a
half-written report (an earlier report stays as it was). A new folder is then renamed into
place; into an existing report folder each file is moved on its own (each atomically), and
only files an earlier report wrote (listed in its marker file) are removed: files a user
put there stay. The results database is opened read-only.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gan_oversampling.errors import UserError
from gan_oversampling.report import (
    answer,
    complexity,
    evidence,
    other_metrics,
    plots,
    quality,
    sample_rows,
    scores,
    statistics,
    tables,
    training,
)
from gan_oversampling.report.document import Image, Section, Table, render_html, render_markdown
from gan_oversampling.report.folder import MARKER, check_target, move_into_place
from gan_oversampling.study.dbfile import describe
from gan_oversampling.study.store import ResultsStore

CLASS_NAMES = {0: "majority", 1: "minority"}  # short: grid row labels have little room
# More methods than this: the headline shows one row per method instead of one column.
WIDE_HEADLINE = 6


@dataclass
class Study:
    store: ResultsStore
    name: str
    spec: dict
    frame: pd.DataFrame
    failures: pd.DataFrame  # units that could not be computed, with their reasons


# -- entry points ---------------------------------------------------------------------------
def build_report(
    db_path: Path, out_dir: Path, study: str | None = None, n_sample_tests: int = 4
) -> Path:
    """Write the report of one study of `db_path` into `out_dir` (replacing an older one)."""
    if not isinstance(n_sample_tests, int) or isinstance(n_sample_tests, bool) \
            or n_sample_tests < 0:
        raise UserError(f"n_sample_tests must be an integer >= 0, got {n_sample_tests!r}")
    target = Path(out_dir).resolve()
    check_target(target)
    with ResultsStore.open(db_path, readonly=True) as store:
        loaded = _load_study(store, study)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        except OSError as exc:
            raise UserError(f"cannot write the report folder {target}: {exc.strerror}") from None
        try:
            os.chmod(partial, 0o755)
            _write_report(loaded, partial, n_sample_tests)
            move_into_place(partial, target)
        except sqlite3.Error as exc:  # read while the samples and losses are drawn
            raise UserError(describe(exc, store.path)) from None
        except OSError as exc:
            raise UserError(f"cannot write the report into {target}: {exc}") from None
        finally:
            shutil.rmtree(partial, ignore_errors=True)
    return Path(out_dir)


def headline_rows(db_path: Path, study: str | None = None) -> tuple[list[str], list[list[str]]]:
    """The headline as (column names, rows of text), ready for a terminal table."""
    with ResultsStore.open(db_path, readonly=True) as store:
        loaded = _load_study(store, study)
    return _headline_cells(loaded.frame, loaded.spec)


def _headline_cells(frame: pd.DataFrame, spec: dict) -> tuple[list[str], list[list[str]]]:
    headline = tables.headline_table(frame)
    comparison = tables.published_comparison(headline, spec)
    methods = [column for column in headline.columns if column != "n_tests"]
    columns = ["class", *methods, "tests"]
    published = [] if comparison is None else [c for c in comparison if c.startswith("published")]
    columns += [name.replace("_", " ") for name in published]
    rows = []
    for role in headline.index:
        cells = [role, *(tables.number_text(headline.loc[role, m], 6) for m in methods)]
        cells.append(str(int(headline.loc[role, "n_tests"])))
        cells += [tables.number_text(comparison.loc[role, name], 6) for name in published]
        rows.append(cells)
    return columns, rows


# -- loading --------------------------------------------------------------------------------
def _load_study(store: ResultsStore, study: str | None) -> Study:
    names = store.studies()
    if not names:
        raise UserError(f"{store.path} holds no studies")
    if study is None:
        if len(names) > 1:
            raise UserError(f"{store.path} holds several studies, pick one with --study: "
                            + ", ".join(names))
        study = names[0]
    elif study not in names:
        raise UserError(f"{store.path} holds no study '{study}'; it holds: " + ", ".join(names))
    frame = tables.by_grid_point(store.scores_frame(study))
    if frame.empty:
        failed = store.failed_units(study)
        why = (f" ({len(failed)} units failed, e.g. {next(iter(failed.values()))})"
               if failed else "")
        raise UserError(f"{store.path} holds no finished results for study {study}{why}")
    return Study(store, study, store.study_spec(study), frame, store.failures_frame(study))


# -- writing --------------------------------------------------------------------------------
def _write_report(study: Study, folder: Path, n_sample_tests: int) -> None:
    frame = study.frame
    tables.per_test_table(frame).to_csv(folder / "per_test.csv", index=False)
    tables.headline_table(frame).to_csv(folder / "headline.csv", index_label="class_role")
    long_tables = [tables.factor_table(frame, f) for f in tables.factor_columns(frame)]
    factors = pd.concat(long_tables, ignore_index=True) if long_tables else pd.DataFrame()
    factors.to_csv(folder / "factors.csv", index=False)
    sections = [
        *_statistics_sections(study, folder),
        _overview(study),
        _headline_section(study),
        *other_metrics.sections(frame, study.spec, folder),
        _factor_section(frame, long_tables, folder),
        *complexity.complexity_sections(study, folder),
        *_method_sections(frame, study.spec),
        _samples_section(study, folder, n_sample_tests),
        _loss_section(study, folder),
        *training.training_sections(study.store, study.name, frame, folder),
        *quality.quality_sections(study.store, study.name, frame, folder),
        _per_test_section(frame),
        _failures_section(study),
        Section("Timings", [Table("Seconds per method", tables.timings_table(frame), 2)]),
        Section("Library versions", [Table("As recorded by each unit",
                                           tables.versions_table(frame))]),
    ]
    title = f"Study {study.name}"
    (folder / "index.html").write_text(render_html(title, sections), encoding="utf-8")
    (folder / "report.md").write_text(render_markdown(title, sections), encoding="utf-8")
    files = sorted(path.name for path in folder.iterdir())
    (folder / MARKER).write_text("written by gan-oversampling report; its files:\n"
                                 + "".join(f"{name}\n" for name in files), encoding="utf-8")


# -- sections -------------------------------------------------------------------------------
def _statistics_sections(study: Study, folder: Path) -> list[Section]:
    """The answer in words first, then the paired statistics behind it (report/evidence.py)."""
    return evidence.statistics_sections(study.frame, study.spec, folder)


def _overview(study: Study) -> Section:
    frame, spec = study.frame, study.spec
    blocks = [spec["description"]] if spec.get("description") else []
    if spec.get("subset_of"):
        blocks.append(f"This study is a subset of the published grid '{spec['subset_of']}'.")
    methods = ", ".join(tables.method_order(frame))
    draws = tables.unit_draw(frame)
    repeats = (f", each drawn {frame[draws[0]].nunique()} times (repeats; every method on "
               "the same folds of each draw)" if draws else "")
    blocks.append(
        f"{frame['test_key'].nunique()} tests{repeats} from {_values(frame, 'source')}; methods: "
        f"{methods}; classifier {_values(frame, 'classifier')}; cross-validation "
        f"{_values(frame, 'cv')}; seed {_values(frame, 'seed')}; "
        f"GAN iterations {_values(frame, 'iterations')}."
    )
    return Section("Overview", blocks)


def _values(frame: pd.DataFrame, column: str) -> str:
    found = [tables.level_text(value) for value in dict.fromkeys(frame[column].dropna())]
    return ", ".join(found) if found else "n/a"


def _headline_section(study: Study) -> Section:
    frame = study.frame
    headline = tables.headline_table(frame)
    blocks: list = [_headline_block(headline), *_by_classifier_blocks(frame, study.spec)]
    missing = frame["test_key"].nunique() - len(tables.complete_tests(frame))
    if missing:
        blocks.append(f"{missing} tests lack the results of some method and are left out "
                      "of the headline and the factor tables.")
    comparison = tables.published_comparison(headline, study.spec, frame)
    if comparison is not None:
        blocks += [Table("Against the published values, with the 95% bootstrap interval of "
                         "our means over tests", comparison, 6, index=True),
                   comparison.attrs["note"]]
    return Section("Headline", blocks)


def _headline_block(headline: pd.DataFrame) -> Table:
    caption = "Mean F1 over tests (per-class F1 per fold, mean of folds, then mean over tests)"
    methods = headline.columns.drop("n_tests")
    if len(methods) <= WIDE_HEADLINE:
        return Table(caption, headline, 6, index=True)
    # Many methods: one row each, so that the table fits a page.
    shown = headline[methods].T.rename_axis("method")
    shown.columns = [f"{role} F1" for role in shown.columns]
    return Table(f"{caption}; {int(headline['n_tests'].iloc[0])} tests", shown, 6, index=True)


def _by_classifier_blocks(frame: pd.DataFrame, spec: dict) -> list:
    """A study crossing classifiers: its primary score per method and classifier, since a
    mean over weak and strong learners together hides which learner a method helps."""
    if not tables.crosses_classifiers(frame):
        return []
    primary = scores.usable_primary(frame, spec)
    every = other_metrics.metrics_table(frame)
    column = other_metrics.score_column(primary)
    shown = every.pivot(index="method", columns="classifier", values=column)
    shown = shown.reindex([method for method in dict.fromkeys(every["method"])])
    shown.columns.name = None
    return [Table(f"Mean {primary.label} over tests, per classifier", shown, 4, index=True)]


def _factor_section(frame: pd.DataFrame, long_tables: list, folder: Path) -> Section:
    written, skipped = plots.factor_plots(frame, folder)
    blocks: list = []
    for long_table in long_tables:
        factor = long_table["factor"].iloc[0] if len(long_table) else None
        if factor not in written:
            continue
        blocks.append(Image(written[factor].name, f"F1 by {factor}"))
        wide = tables.factor_table_wide(long_table).rename_axis(factor)
        wide.index = wide.index.map(tables.level_text)
        blocks.append(Table(f"Mean F1 by {factor}", wide, index=True))
    if skipped:
        blocks.append("Not plotted (a single level in this study): " + ", ".join(skipped) + ".")
    return Section("Difficulty factors", blocks)


def _method_sections(frame: pd.DataFrame, spec: dict) -> list[Section]:
    if frame["method"].nunique() <= 2 or not tables.complete_tests(frame):
        return []
    primary = scores.usable_primary(frame, spec)
    summary = tables.method_summary(frame, primary)
    blocks: list = [Table(f"Methods ranked by {primary.label} per test (1 = best, ties "
                          "averaged)", summary)]
    by_test = tables.score_by_test(frame, primary)
    blocks += [s for s in [answer.rank_mean_sentence(summary, by_test, primary)] if s]
    rope = statistics.settings_of(spec).rope
    for generator in tables.methods_of_kind(frame, "generative"):
        duel = tables.generator_vs_best_classic(frame, generator, rope, primary)
        if duel is None:
            continue
        counts = duel["verdict"].value_counts()
        name = answer.name(generator)  # by acronyms: CGAN, CTGAN, CGAN+threshold
        blocks.append(f"{name} against the best classic oversampler of each test: "
                      f"{counts.get('win', 0)} wins, {counts.get('tie', 0)} ties (practically "
                      f"equivalent within ±{rope:g} F1), {counts.get('loss', 0)} losses, "
                      f"{counts.get('undecided', 0)} undecided (correlated Bayesian t-test "
                      "on the test's folds; a verdict needs posterior probability 0.95).")
        blocks.append(Table(f"{name} against the best classic oversampler ({primary.label})",
                            duel))
    return [Section("Methods compared", blocks)]


def _samples_section(study: Study, folder: Path, n_sample_tests: int) -> Section:
    by_test: dict[str, list] = {}
    for key, method, kind, label, rows in study.store.samples(study.name):
        by_test.setdefault(key, []).append((method, kind, label, rows))
    candidates = [key for key in tables.test_order(study.frame)
                  if any(kind == "generated" for _, kind, _, _ in by_test.get(key, []))]
    if not candidates or n_sample_tests == 0:
        return Section("Real and generated rows", ["No generated rows were stored."])
    picks = np.unique(np.linspace(0, len(candidates) - 1, min(n_sample_tests, len(candidates))
                                  ).round().astype(int))
    blocks: list = []
    columns = study.store.sample_columns(study.name)
    for number, key in enumerate(candidates[i] for i in picks):
        blocks += _sample_blocks(study, key, by_test[key], folder / f"samples_{number}.png",
                                 columns.get(key))
    return Section("Real and generated rows", blocks)


def _sample_blocks(study: Study, key: str, sets: list, path: Path, columns) -> list:
    side = _image_side(study, key, sets[0][3].shape[1])
    if side is None:
        return _sample_row_blocks(key, sets, columns)
    try:
        from gan_oversampling.report.samples import save_image_grid
    except ImportError:
        return [f"Test {key}: image grids are not available in this installation."]
    rows, real_seen = [], set()
    for _, kind, label, images in sets:
        if kind == "real" and label not in real_seen:
            real_seen.add(label)
            rows.append((f"real {CLASS_NAMES.get(label, label)}", images))
    rows += [(f"{method} {CLASS_NAMES.get(label, label)}", images)
             for method, kind, label, images in sets if kind == "generated"]
    save_image_grid(rows, side, path)
    return [f"Test {key}:", Image(path.name, f"real and generated rows of test {key}")]


def _image_side(study: Study, key: str, n_features: int) -> int | None:
    frame = study.frame
    if "side" in frame.columns:
        side = frame.loc[frame["test_key"] == key, "side"].iloc[0]
        if pd.notna(side) and int(side) ** 2 == n_features:
            return int(side)
    side = int(round(n_features**0.5))
    is_image_data = (study.spec.get("data") or {}).get("kind") == "mnist"
    return side if is_image_data and side * side == n_features else None


def _sample_row_blocks(key: str, sets: list, columns: list[dict] | None) -> list:
    found = sample_rows.minority_comparison(key, sets, columns)
    return [] if found is None else [Table(*found)]


def _loss_section(study: Study, folder: Path) -> Section:
    """The losses of each generator's first stored model set (all folds of one test)."""
    generators = tables.methods_of_kind(study.frame, "generative")
    blocks: list = []
    for method in generators:
        for key in tables.test_order(study.frame):
            losses = study.store.losses(study.name, key, method)
            if losses:
                names = study.store.loss_names(study.name, key, method)
                title = f"{method} training losses, test {key}"
                path = plots.loss_plot(losses, folder / f"losses_{plots.file_safe(method)}.png",
                                       title, names)
                blocks.append(Image(path.name, title))
                break
    return Section("Generator training", blocks or ["No training losses were stored."])


def _per_test_section(frame: pd.DataFrame) -> Section:
    per_test = tables.per_test_table(frame)
    f1_columns = [column for role in ("minority", "majority") for column in per_test.columns
                  if column.endswith(f"_{role}_f1")]
    compact = per_test[["test_key", *tables.factor_columns(frame), *f1_columns]].copy()
    for factor in tables.factor_columns(frame):
        compact[factor] = compact[factor].map(tables.level_text)
    return Section("Per test", [
        "Fold-mean F1 of every test; per_test.csv adds precision and recall.",
        Table("F1 per test", compact),
    ])


def _failures_section(study: Study) -> Section:
    failures = study.failures
    if failures.empty:
        return Section("Failed units", ["No unit failed."])
    counts = failures.groupby("method").size()
    summary = ", ".join(f"{method} {n}" for method, n in counts.items())
    shown = failures[["test_key", "method", "reason"]]
    return Section("Failed units", [
        f"{len(failures)} units could not be computed ({summary}) and are left out of every "
        "table above; a resumed run skips them, `run --retry-failed` runs them again.",
        Table("Failed units and why", shown),
    ])
