"""What the results store holds: its tables, and the records a finished or failed unit
writes (`store.ResultsStore` writes and reads them)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gan_oversampling.samplers.base import StopRecord
from gan_oversampling.study import gan_stops, quality_table

# The losses of a unit written before `loss_columns` existed (schema 3): the CGAN's, the
# only generator that stored losses then.
LEGACY_LOSS_NAMES = ("discriminator loss on real rows", "discriminator loss on fakes",
                     "generator loss")

SCHEMA = """
CREATE TABLE IF NOT EXISTS studies(
    study TEXT PRIMARY KEY,
    settings_hash TEXT NOT NULL,
    spec TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS units(
    unit_id INTEGER PRIMARY KEY,
    study TEXT NOT NULL REFERENCES studies(study),
    test_key TEXT NOT NULL,
    method TEXT NOT NULL,
    source TEXT NOT NULL,
    factors TEXT NOT NULL,
    seed INTEGER NOT NULL,
    iterations INTEGER,
    classifier TEXT NOT NULL,
    cv TEXT NOT NULL,
    fit_seconds REAL NOT NULL,
    eval_seconds REAL NOT NULL,
    versions TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    UNIQUE(study, test_key, method)
);
CREATE TABLE IF NOT EXISTS scores(
    unit_id INTEGER NOT NULL REFERENCES units(unit_id) ON DELETE CASCADE,
    fold INTEGER NOT NULL,
    class_label INTEGER NOT NULL,
    class_role TEXT NOT NULL,
    precision REAL NOT NULL,
    recall REAL NOT NULL,
    f1 REAL NOT NULL,
    support INTEGER NOT NULL,
    PRIMARY KEY(unit_id, fold, class_label)
);
CREATE TABLE IF NOT EXISTS samples(
    unit_id INTEGER NOT NULL REFERENCES units(unit_id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    class_label INTEGER NOT NULL,
    n_rows INTEGER NOT NULL,
    n_features INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY(unit_id, kind, class_label)
);
CREATE TABLE IF NOT EXISTS losses(
    unit_id INTEGER NOT NULL REFERENCES units(unit_id) ON DELETE CASCADE,
    fold INTEGER NOT NULL,
    iterations INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY(unit_id, fold)
);
CREATE TABLE IF NOT EXISTS loss_columns(
    unit_id INTEGER PRIMARY KEY REFERENCES units(unit_id) ON DELETE CASCADE,
    names TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sample_columns(
    unit_id INTEGER PRIMARY KEY REFERENCES units(unit_id) ON DELETE CASCADE,
    columns TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS faults(
    study TEXT NOT NULL REFERENCES studies(study),
    test_key TEXT NOT NULL,
    method TEXT NOT NULL,
    factors TEXT NOT NULL,
    reason TEXT NOT NULL,
    failed_at TEXT NOT NULL,
    PRIMARY KEY(study, test_key, method)
);
CREATE TABLE IF NOT EXISTS complexity(
    study TEXT NOT NULL REFERENCES studies(study),
    test_key TEXT NOT NULL,
    measure TEXT NOT NULL,
    value REAL,
    seconds REAL NOT NULL,
    n_rows INTEGER NOT NULL,
    computed_at TEXT NOT NULL,
    PRIMARY KEY(study, test_key, measure)
);
""" + gan_stops.SCHEMA + quality_table.SCHEMA


@dataclass
class UnitResult:
    """Everything a finished unit writes: per-fold, per-class scores and what explains them."""

    study: str
    test_key: str
    method: str
    source: str
    factors: dict
    seed: int
    iterations: int | None
    classifier: str
    cv: str
    fit_seconds: float
    eval_seconds: float
    versions: dict
    scores: list[dict]  # fold, class_label, class_role, precision, recall, f1, support
    samples: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)  # (kind, label)
    # How the sample rows decode to a table's columns (`difficulty.tasks.encoded_columns`);
    # None for data without named columns.
    sample_columns: list[dict] | None = None
    losses: dict[int, np.ndarray] = field(default_factory=dict)  # fold -> (iterations, L)
    loss_names: tuple[str, ...] | None = None  # the L losses' names, as the method reports
    stops: dict[int, StopRecord] = field(default_factory=dict)  # fold -> how its GAN stopped
    # One dict per fold: fold, then each fold-level score (NaN: could not be computed).
    fold_metrics: list[dict] = field(default_factory=list)
    # Fold -> the quality of its generated rows (`evaluation.quality.MEASURES`), for a
    # method that appends rows to the training folds; empty for the others.
    quality: dict[int, dict] = field(default_factory=dict)


@dataclass
class UnitFailure:
    """A unit that could not be computed, and why (one line); how the GANs of its folds
    stopped, where it trained GANs (a diverged GAN among them)."""

    study: str
    test_key: str
    method: str
    factors: dict
    reason: str
    stops: dict[int, StopRecord] = field(default_factory=dict)
