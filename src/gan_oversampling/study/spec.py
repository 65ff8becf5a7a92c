"""The study specification: one typed object, read from TOML or a preset, that flows down.

Every field is validated here, once; an invalid study file ends in one line that names
the field and what is allowed.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from gan_oversampling.datasets.kdd import KDD_ATTACK_FAMILY, KDD_FAMILIES, KDD_NORMAL
from gan_oversampling.datasets.tabular import CYBER_DATASETS
from gan_oversampling.errors import UserError, one_line, refuse_booleans_in
from gan_oversampling.samplers.registry import (
    BASELINE,
    CGAN,
    METHODS,
    settings_sections,
)


class _Strict(BaseModel):
    # NaN and infinity are refused as numbers ("must be a finite number"), not compared.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, raw):
        return refuse_booleans_in(cls, raw)


class _SizeRatioGrid(_Strict):
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


class CyberData(_SizeRatioGrid):
    """The author's seven cybersecurity datasets, PROTOCOL.md section 2 (already in [-1, 1])."""

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


class KddTask(_Strict):
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


class KddData(_SizeRatioGrid):
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


class TableData(_SizeRatioGrid):
    """A user's own .csv or .parquet file: `majority` labels vs `minority` labels.

    A relative `path` is relative to the current directory when the study runs. Every
    column but `label_column` is a feature; `categorical` ones are one-hot encoded, the
    others must be numbers. `sha256`, when given, pins the file's content.
    """

    kind: Literal["table"]
    path: Annotated[str, Field(min_length=1)]
    label_column: Annotated[str, Field(min_length=1)]
    majority: list[str]
    minority: list[str]
    categorical: list[str] = []
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

    @field_validator("categorical")
    @classmethod
    def _unique_columns(cls, columns: list[str]) -> list[str]:
        if len(set(columns)) != len(columns):
            raise ValueError("columns must be unique")
        return columns

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
        return self

    def build_source(self, data_dir: str | Path | None):
        from gan_oversampling.difficulty.table import TableSource

        return TableSource(self)


DataSpec = Annotated[MnistData | CyberData | KddData | TableData, Field(discriminator="kind")]
# Every `kind` a data table may name, read off the union so the two never disagree.
DATA_KINDS = frozenset(
    kind
    for member in get_args(get_args(DataSpec)[0])
    for kind in get_args(member.model_fields["kind"].annotation)
)


class EvaluationSpec(_Strict):
    """Folds and classifier; the same folds serve every method of a test."""

    cv: Literal["kfold", "stratified"] = "kfold"
    n_splits: Annotated[int, Field(ge=2, le=20)] = 5
    cv_seed: int = 0
    classifier: Literal[
        "paper-mlp", "logistic-regression", "random-forest", "knn", "svm"
    ] = "paper-mlp"


class StatisticsSpec(_Strict):
    """How the report judges differences between methods (the `[statistics]` table).

    `rope`: half-width, in F1, of the region of practical equivalence: differences within
    +-rope count as "equivalent" in the Bayesian tests. `min_minority_per_test_fold`:
    tests with a test fold holding fewer minority rows are flagged (their F1 rests on a
    handful of rows); `exclude_small_tests` leaves them out of the statistics.
    `bootstrap_samples` and `seed` drive the bootstrap intervals and posterior draws.
    """

    rope: Annotated[float, Field(ge=0, lt=1)] = 0.01
    min_minority_per_test_fold: Annotated[int, Field(ge=0)] = 5
    exclude_small_tests: bool = False
    bootstrap_samples: Annotated[int, Field(ge=100, le=1_000_000)] = 10_000
    seed: Annotated[int, Field(ge=0)] = 0


class _StudyFields(_Strict):
    # The settings table of each method of the registry ([cgan], [ctgan], ...) is added
    # to these fields below, read off the registry.
    model_config = ConfigDict(populate_by_name=True)  # the rest as in _Strict

    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")]
    description: str = ""
    subset_of: str | None = None
    seed: Annotated[int, Field(ge=0)] = 0
    data: DataSpec = Field(default_factory=MnistData)
    methods: list[str] = [BASELINE, CGAN]
    evaluation: EvaluationSpec = Field(default_factory=EvaluationSpec)
    statistics: StatisticsSpec = Field(default_factory=StatisticsSpec)
    # Optional: only these points of the data grid (a fractional design); each maps every
    # factor named to a level of the grid, e.g. {rotation = 30, side = 8, ...}.
    tests: list[dict[str, float | int | str]] | None = None

    @field_validator("tests")
    @classmethod
    def _tests(cls, tests: list[dict] | None) -> list[dict] | None:
        if tests is not None and not tests:
            raise ValueError("when given, needs at least one test")
        if tests is not None and any(not point for point in tests):
            raise ValueError("each test names at least one factor level")
        return tests

    @field_validator("methods")
    @classmethod
    def _methods(cls, methods: list[str]) -> list[str]:
        if not methods:
            raise ValueError("needs at least one method")
        unknown = [name for name in methods if name not in METHODS]
        if unknown:
            raise ValueError(f"unknown method(s) {', '.join(unknown)}; known: {', '.join(METHODS)}")
        if len(set(methods)) != len(methods):
            raise ValueError("methods must be unique")
        return methods

    def method_settings(self, method: str):
        """The settings of `method` (its table of the study file); None if it has none."""
        if method not in settings_sections():
            return None
        return getattr(self, _section_field(method))

    @property
    def device(self) -> str:
        """Where the methods that train run ("auto" unless a settings table says)."""
        for section in settings_sections():
            device = getattr(self.method_settings(section), "device", None)
            if device is not None:
                return device
        return "auto"

    def with_device(self, device: str) -> StudySpec:
        """The same study run on `device` (every settings table with a device field);
        UserError for a name no table allows."""
        update = {}
        for section in settings_sections():
            settings = self.method_settings(section)
            if "device" in type(settings).model_fields:
                try:
                    update[_section_field(section)] = type(settings).model_validate(
                        {**settings.model_dump(), "device": device}
                    )
                except ValidationError as exc:
                    raise UserError(one_line(exc, show_input=True)) from None
        return self.model_copy(update=update)

    def settings_hash(self) -> str:
        """What must match for stored results to count as results of this study.

        Where it runs (device) does not make results of another study. A setting that
        reproduces what older versions did without it (see `_HASHED_ONLY_IF_CHANGED`) is
        left out, so their results databases resume. `statistics` changes how the report
        reads the results, never the results, so it is left out too.
        """
        settings = self.model_dump(
            mode="json", by_alias=True, exclude={"description", "statistics"}
        )
        for section, model in settings_sections().items():
            table = settings.get(section) or {}
            table.pop("device", None)
            for field, old_value in _HASHED_ONLY_IF_CHANGED.get(section, {}).items():
                if table.get(field) == old_value:
                    table.pop(field)
            if section not in _ALWAYS_HASHED and table == _defaults(model):
                settings.pop(section)
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


# Settings added after the first results databases, with the value that reproduces what
# those versions did; and the sections those versions hashed in full.
_HASHED_ONLY_IF_CHANGED = {CGAN: {"output_range": "tanh"}}
_ALWAYS_HASHED = {CGAN}


def _defaults(model) -> dict:
    table = model().model_dump(mode="json")
    table.pop("device", None)
    return table


def _section_field(method: str) -> str:
    return method.replace("-", "_")


def _settings_fields() -> dict:
    fields = {}
    for method, model in settings_sections().items():
        alias = method if _section_field(method) != method else None
        fields[_section_field(method)] = (model, Field(default_factory=model, alias=alias))
    return fields


StudySpec = create_model(
    "StudySpec", __base__=_StudyFields, __module__=__name__, **_settings_fields()
)
StudySpec.__doc__ = "A whole study: data grid, methods and their settings, evaluation."


def parse_study(raw: dict, origin: str) -> StudySpec:
    """Validate a raw mapping; any error becomes one line naming field and allowed values."""
    try:
        return StudySpec.model_validate(raw)
    except ValidationError as exc:
        raise UserError(f"{origin}: {one_line(exc, hide=_is_union_tag, root='study')}") from None


def load_study_file(path: str | Path) -> StudySpec:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"study file {path} does not exist")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"study file {path} is not valid TOML: {exc}") from None
    return parse_study(raw, f"study file {path}")


def _is_union_tag(part) -> bool:
    # pydantic names the chosen member of a discriminated union in the location ("mnist")
    return isinstance(part, str) and part in DATA_KINDS
