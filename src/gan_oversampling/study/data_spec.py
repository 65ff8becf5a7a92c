"""The `[data]` table of a study: which source, and the levels of its difficulty factors.

One model per data kind, told apart by `kind`; each builds its source (`build_source`)
from its own validated values, which difficulty/ then trusts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import Field, field_validator, model_validator

from gan_oversampling.datasets.kdd import KDD_ATTACK_FAMILY, KDD_FAMILIES, KDD_NORMAL
from gan_oversampling.datasets.tabular import CYBER_DATASETS
from gan_oversampling.settings import StrictModel


class _SizeRatioGrid(StrictModel):
    """A data grid over majority sizes x imbalance ratios (fields declared by each kind)."""

    @model_validator(mode="after")
    def _minority_rows(self) -> _SizeRatioGrid:
        for n_majority in self.majority_sizes:
            for ratio in self.imbalance_ratios:
                # int() truncates, as the study protocol does: int(5 * 0.1) is 0.
                if int(n_majority * ratio) < 1:
                    raise ValueError(
                        f"n_majority {n_majority} with imbalance_ratio {ratio} gives no "
                        f"minority rows (int({n_majority} * {ratio}) = 0); use a larger "
                        "n_majority or ratio"
                    )
        return self


class _TabularGrid(_SizeRatioGrid):
    """A grid over a table of named feature columns, guarded against leaks, which may add
    dimensionality and class overlap as factors.

    Before a study runs, every feature that alone separates the two classes of a pool
    perfectly (a threshold on a number, a set of categories) ends it with one line: such a
    column is usually an id or a copy of the label. `allow_leaks` names the columns that
    may do so (it never changes results, so it is not part of a study's settings hash).

    `feature_counts`: how many of the source's feature columns a test keeps (a random
    subset, the same columns on every run; a categorical column counts as one).
    `overlaps`: the share of a test's minority rows replaced by majority rows, from 0 (the
    data as they are) to 1 (a minority drawn from the majority). Left out, neither is a
    factor and the tests are those of earlier versions (difficulty/transforms.py).
    """

    allow_leaks: list[str] = []
    feature_counts: list[Annotated[int, Field(ge=1)]] | None = None
    overlaps: list[Annotated[float, Field(ge=0, le=1)]] | None = None

    @field_validator("allow_leaks")
    @classmethod
    def _unique_allowed(cls, columns: list[str]) -> list[str]:
        return _unique_columns(columns)

    @field_validator("feature_counts", "overlaps")
    @classmethod
    def _unique_when_given(cls, levels: list | None) -> list | None:
        return None if levels is None else _unique_levels(levels)


class MnistData(_SizeRatioGrid):
    """MNIST fours (majority) against rotated fours (minority), PROTOCOL.md section 1."""

    kind: Literal["mnist"] = "mnist"
    rotations: list[Annotated[float, Field(gt=-360, lt=360)]] = [30, 45, 90]
    sides: list[Annotated[int, Field(ge=2, le=28)]] = [28, 14, 8, 4]
    majority_sizes: list[Annotated[int, Field(ge=1, le=5842)]] = [1000, 400, 200, 100]
    imbalance_ratios: list[Annotated[float, Field(gt=0, le=1)]] = [0.4, 0.2, 0.1]

    @field_validator("rotations", "sides", "majority_sizes", "imbalance_ratios")
    @classmethod
    def _non_empty_unique(cls, levels: list) -> list:
        return _unique_levels(levels)

    def build_source(self, data_dir: str | Path | None):
        from gan_oversampling.difficulty.mnist import MnistSource

        return MnistSource(self, data_dir)


def _unique_levels(levels: list) -> list:
    if not levels:
        raise ValueError("needs at least one level")
    if len(set(levels)) != len(levels):
        raise ValueError("levels must be unique")
    return levels


def _unique_columns(columns: list[str]) -> list[str]:
    if len(set(columns)) != len(columns):
        raise ValueError("columns must be unique")
    return columns


def _unique_labels(labels: list[str]) -> list[str]:
    if not labels:
        raise ValueError("needs at least one label")
    if any(not label for label in labels):
        raise ValueError("labels must be non-empty strings")
    if len(set(labels)) != len(labels):
        raise ValueError("labels must be unique")
    return labels


_KEY_SAFE = r"^[A-Za-z0-9_.-]+$"
_KDD_LABELS = (KDD_NORMAL, *KDD_FAMILIES, *KDD_ATTACK_FAMILY)


class CyberData(_TabularGrid):
    """The author's seven cybersecurity datasets, PROTOCOL.md section 2 (already in [-1, 1]).

    Their columns have no names in the files: `allow_leaks` calls them "feature 0", ...
    """

    kind: Literal["cyber"] = "cyber"
    datasets: list[Literal[CYBER_DATASETS]] = list(CYBER_DATASETS)  # type: ignore[valid-type]
    majority_sizes: list[Annotated[int, Field(ge=1)]] = [100, 200, 500, 1000]
    imbalance_ratios: list[Annotated[float, Field(gt=0, le=1)]] = [0.1, 0.2, 0.3, 0.4]

    @field_validator("datasets", "majority_sizes", "imbalance_ratios")
    @classmethod
    def _non_empty_unique(cls, levels: list) -> list:
        return _unique_levels(levels)

    def build_source(self, data_dir: str | Path | None):
        from gan_oversampling.difficulty.tabular import CyberSource

        return CyberSource(self, data_dir)


class KddTask(StrictModel):
    """"These labels vs those": attack names, "normal" or families (DoS, Probe, R2L, U2R)."""

    name: Annotated[str, Field(min_length=1, pattern=_KEY_SAFE)]
    majority: list[str]
    minority: list[str]

    @field_validator("majority", "minority")
    @classmethod
    def _known_labels(cls, labels: list[str]) -> list[str]:
        unknown = [label for label in _unique_labels(labels) if label not in _KDD_LABELS]
        if unknown:
            raise ValueError(
                f"unknown label(s) {', '.join(unknown)}; use 'normal', a family "
                f"({', '.join(KDD_FAMILIES)}) or an attack: {', '.join(sorted(KDD_ATTACK_FAMILY))}"
            )
        return labels

    @model_validator(mode="after")
    def _disjoint(self) -> KddTask:
        def attacks(labels: list[str]) -> set[str]:
            return {attack for label in labels for attack in KDD_FAMILIES.get(label, (label,))}

        both = sorted(attacks(self.majority) & attacks(self.minority))
        if both:
            raise ValueError(f"label(s) {', '.join(both)} in both majority and minority")
        return self


def _default_kdd_tasks() -> list[KddTask]:
    return [
        KddTask(name=f"normal-vs-{family}", majority=[KDD_NORMAL], minority=[family])
        for family in KDD_FAMILIES
    ]


class KddData(_TabularGrid):
    """NSL-KDD (train 20% + test files as one pool) or KDD Cup 99 10%, binary tasks.

    `scaling`: "fold" fits the min-max scaler on each training fold; "whole" fits it on the
    whole test dataset, as the original study did.
    """

    kind: Literal["nsl-kdd", "kddcup99"]
    tasks: list[KddTask] = Field(default_factory=_default_kdd_tasks)
    majority_sizes: list[Annotated[int, Field(ge=1)]] = [50, 100]
    imbalance_ratios: list[Annotated[float, Field(gt=0, le=1)]] = [0.1, 0.2, 0.3, 0.4]
    scaling: Literal["fold", "whole"] = "fold"

    @field_validator("tasks")
    @classmethod
    def _unique_task_names(cls, tasks: list[KddTask]) -> list[KddTask]:
        if not tasks:
            raise ValueError("needs at least one task")
        names = [task.name for task in tasks]
        if len(set(names)) != len(names):
            raise ValueError("task names must be unique")
        return tasks

    @field_validator("majority_sizes", "imbalance_ratios")
    @classmethod
    def _non_empty_unique(cls, levels: list) -> list:
        return _unique_levels(levels)

    def build_source(self, data_dir: str | Path | None):
        from gan_oversampling.difficulty.kdd import KddSource

        return KddSource(self, data_dir)


class TableData(_TabularGrid):
    """A user's own .csv or .parquet file: `majority` labels vs `minority` labels.

    A relative `path` is relative to the current directory when the study runs. Every
    column but `label_column` and the `exclude`d ones (ids, other labels) is a feature;
    `categorical` ones are one-hot encoded, the others must be numbers. `sha256`, when
    given, pins the file's content.
    """

    kind: Literal["table"]
    path: Annotated[str, Field(min_length=1)]
    label_column: Annotated[str, Field(min_length=1)]
    majority: list[str]
    minority: list[str]
    categorical: list[str] = []
    exclude: list[str] = []
    sha256: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$")] | None = None
    majority_sizes: list[Annotated[int, Field(ge=1)]] = [100, 200, 500, 1000]
    imbalance_ratios: list[Annotated[float, Field(gt=0, le=1)]] = [0.1, 0.2, 0.3, 0.4]
    scaling: Literal["fold", "whole"] = "fold"

    @field_validator("path")
    @classmethod
    def _table_suffix(cls, path: str) -> str:
        if Path(path).suffix.lower() not in (".csv", ".parquet"):
            raise ValueError("must name a .csv or .parquet file")
        return path

    @field_validator("majority", "minority")
    @classmethod
    def _labels(cls, labels: list[str]) -> list[str]:
        return _unique_labels(labels)

    @field_validator("categorical", "exclude")
    @classmethod
    def _unique_column_names(cls, columns: list[str]) -> list[str]:
        return _unique_columns(columns)

    @field_validator("majority_sizes", "imbalance_ratios")
    @classmethod
    def _non_empty_unique(cls, levels: list) -> list:
        return _unique_levels(levels)

    @model_validator(mode="after")
    def _consistent(self) -> TableData:
        both = sorted(set(self.majority) & set(self.minority))
        if both:
            raise ValueError(f"label(s) {', '.join(both)} in both majority and minority")
        if self.label_column in self.categorical:
            raise ValueError(f"the label column '{self.label_column}' cannot be categorical")
        if self.label_column in self.exclude:
            raise ValueError(f"the label column '{self.label_column}' cannot be excluded")
        both = sorted(set(self.exclude) & set(self.categorical))
        if both:
            raise ValueError(f"column(s) {', '.join(both)} both excluded and categorical")
        return self

    def build_source(self, data_dir: str | Path | None):
        from gan_oversampling.difficulty.table import TableSource

        return TableSource(self)


# Data settings that never change results (left out of a study's settings hash), and those
# added after the first results databases with the value that reproduces what they did.
DATA_NOT_HASHED = ("allow_leaks",)
# Added after the first results databases, at the value that reproduces those versions:
# no excluded column; no columns or overlap factor (difficulty/transforms.py).
DATA_HASHED_ONLY_IF_CHANGED = {"exclude": [], "feature_counts": None, "overlaps": None}

TabularPart = Annotated[CyberData | KddData | TableData, Field(discriminator="kind")]


class SuiteData(StrictModel):
    """Several tabular sources in one study, their tests side by side (each source's
    dataset or task is a level of the `dataset` factor). A kind appears once."""

    kind: Literal["suite"]
    parts: list[TabularPart]

    @field_validator("parts")
    @classmethod
    def _one_part_per_kind(cls, parts: list) -> list:
        if not parts:
            raise ValueError("needs at least one part")
        kinds = [part.kind for part in parts]
        if len(set(kinds)) != len(kinds):
            raise ValueError("each data kind may be one part only")
        return parts

    def build_source(self, data_dir: str | Path | None):
        from gan_oversampling.difficulty.suite import SuiteSource

        return SuiteSource([part.build_source(data_dir) for part in self.parts])


DataSpec = Annotated[
    MnistData | CyberData | KddData | TableData | SuiteData, Field(discriminator="kind")
]
# Every `kind` a data table may name, read off the union so the two never disagree.
DATA_KINDS = frozenset(
    kind
    for member in get_args(get_args(DataSpec)[0])
    for kind in get_args(member.model_fields["kind"].annotation)
)
