"""The study specification: one typed object, read from TOML or a preset, that flows down.

Every field is validated here, once; an invalid study file ends in one line that names
the field and what is allowed.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from gan_oversampling.difficulty.complexity import DEFAULT_MEASURES, MEASURES
from gan_oversampling.errors import UserError, one_line
from gan_oversampling.evaluation.classifiers import make_classifier
from gan_oversampling.samplers.registry import (
    BASELINE,
    CGAN,
    COMBINE,
    METHODS,
    get_method,
    settings_sections,
)
from gan_oversampling.study.data_spec import (  # noqa: F401  (the data models, re-exported)
    DATA_HASHED_ONLY_IF_CHANGED,
    DATA_KINDS,
    DATA_NOT_HASHED,
    CyberData,
    DataSpec,
    KddData,
    KddTask,
    MnistData,
    StrictModel,
    TableData,
)

ClassifierName = Literal[
    "paper-mlp", "logistic-regression", "random-forest", "knn", "svm", "lightgbm",
    "hist-gradient-boosting",
]
PrimaryMetric = Literal[
    "minority-f1", "pr-auc", "roc-auc", "balanced-accuracy", "mcc", "g-mean"
]


class EvaluationSpec(StrictModel):
    """Folds and classifier(s); the same folds serve every method of a test.

    Several classifiers cross with every test: each test is run once per classifier, and
    `classifier` becomes a factor of the study (see `study.runner.crossed_cases`).
    """

    cv: Literal["kfold", "stratified"] = "kfold"
    n_splits: Annotated[int, Field(ge=2, le=20)] = 5
    cv_seed: int = 0
    classifier: ClassifierName | list[ClassifierName] = "paper-mlp"

    @field_validator("classifier")
    @classmethod
    def _classifier(cls, classifier: str | list[str]) -> str | list[str]:
        if isinstance(classifier, str):
            return classifier
        if not classifier:
            raise ValueError("needs at least one classifier")
        if len(set(classifier)) != len(classifier):
            raise ValueError("classifiers must be unique")
        # One classifier in a list is the same study as that classifier alone.
        return classifier[0] if len(classifier) == 1 else classifier

    @property
    def classifiers(self) -> list[str]:
        return [self.classifier] if isinstance(self.classifier, str) else list(self.classifier)


class StatisticsSpec(StrictModel):
    """How the report judges differences between methods (the `[statistics]` table).

    `rope`: half-width, in F1, of the region of practical equivalence: differences within
    +-rope count as "equivalent" in the Bayesian tests. `min_minority_per_test_fold`:
    tests with a test fold holding fewer minority rows are flagged (their F1 rests on a
    handful of rows); `exclude_small_tests` leaves them out of the statistics.
    `bootstrap_samples` and `seed` drive the bootstrap intervals and posterior draws.
    `primary_metric` is the score the statistics compare methods on.
    """

    rope: Annotated[float, Field(ge=0, lt=1)] = 0.01
    min_minority_per_test_fold: Annotated[int, Field(ge=0)] = 5
    exclude_small_tests: bool = False
    bootstrap_samples: Annotated[int, Field(ge=100, le=1_000_000)] = 10_000
    seed: Annotated[int, Field(ge=0)] = 0
    # The score the statistics and the answer compare methods on; the report shows the
    # others beside it. Minority F1 is the published studies' score.
    primary_metric: PrimaryMetric = "minority-f1"


class ComplexitySpec(StrictModel):
    """Data complexity measures computed once per test on its data (the `[complexity]` table).

    `measures`: which ones (difficulty/complexity.py; the default is the subset that is
    cheap on every shipped grid). `max_rows`: a larger test is measured on a stratified
    random sample of this many rows. The measures describe the tests, they change no
    result, so they are not part of the settings hash: measures added to a study later are
    computed for its finished tests when it runs again.
    """

    measures: list[Literal[MEASURES]] = list(DEFAULT_MEASURES)  # type: ignore[valid-type]
    max_rows: Annotated[int, Field(ge=10)] = 2000

    @field_validator("measures")
    @classmethod
    def _some_unique(cls, measures: list[str]) -> list[str]:
        if not measures:
            raise ValueError("needs at least one measure (leave out [complexity] for none)")
        if len(set(measures)) != len(measures):
            raise ValueError("measures must be unique")
        return measures


class _StudyFields(StrictModel):
    # The settings table of each method of the registry ([cgan], [ctgan], ...) is added
    # to these fields below, read off the registry.
    model_config = ConfigDict(populate_by_name=True)  # the rest as in StrictModel

    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")]
    description: str = ""
    subset_of: str | None = None
    seed: Annotated[int, Field(ge=0)] = 0
    # Draws of every test: each draws other rows of the source with a seed from `seed` and
    # the repeat (see `study.runner.draw_seed`), and every method runs on its same folds.
    repeats: Annotated[int, Field(ge=1, le=100)] = 1
    data: DataSpec = Field(default_factory=MnistData)
    methods: list[str] = [BASELINE, CGAN]
    evaluation: EvaluationSpec = Field(default_factory=EvaluationSpec)
    statistics: StatisticsSpec = Field(default_factory=StatisticsSpec)
    complexity: ComplexitySpec | None = None  # no [complexity] table: no measures
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
        unknown = [name for name in methods if name not in METHODS and COMBINE not in name]
        if unknown:
            raise ValueError(f"unknown method(s) {', '.join(unknown)}; known: {', '.join(METHODS)}")
        for name in methods:
            try:
                get_method(name)
            except UserError as exc:
                raise ValueError(str(exc)) from None
        if len(set(methods)) != len(methods):
            raise ValueError("methods must be unique")
        return methods

    @model_validator(mode="after")
    def _methods_fit_the_classifiers(self):
        # A method that adapts the classifier (class weights) may not handle every one.
        for name in self.methods:
            method = get_method(name)
            if method.adapt_classifier is None:
                continue
            for classifier in self.evaluation.classifiers:
                try:
                    method.check_classifier(make_classifier(classifier, 0))
                except ValueError as exc:
                    raise ValueError(f"method {name!r} cannot be used with classifier "
                                     f"{classifier!r}: {exc}") from None
        return self

    def method_settings(self, method: str | None):
        """The settings of `method` (its table of the study file; a combination reads its
        resampling method's); None if it has none."""
        section = None if method is None else method.split(COMBINE)[0]
        if section not in settings_sections():
            return None
        return getattr(self, _section_field(section))

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
        reproduces what older versions did without it (a method's `legacy_settings`) is
        left out, so their results databases resume. `statistics` changes how the report
        reads the results, never the results, so it is left out too, as is `complexity`,
        which describes the tests.
        """
        settings = self.model_dump(
            mode="json", by_alias=True, exclude={"description", "statistics", "complexity"}
        )
        for data in [settings["data"], *settings["data"].get("parts", [])]:
            _drop_unhashed(data, DATA_NOT_HASHED, DATA_HASHED_ONLY_IF_CHANGED)
        if settings["repeats"] == 1:
            settings.pop("repeats")
        if settings["seed"] != 0:
            # Since repeats, the seed draws the tests' rows too; before, every seed drew
            # them with the protocol's seed 0, so those results are not this study's.
            settings["draws"] = "seeded"
        for section, model in settings_sections().items():
            method = get_method(section)
            table = _hashed_table(method, settings.get(section) or {})
            if not method.always_hashed and table == _hashed_table(method, _defaults(model)):
                settings.pop(section, None)
            elif section in settings:
                settings[section] = table
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def _drop_unhashed(data: dict, never: tuple[str, ...], only_if_changed: dict) -> None:
    """Leave out of the hash the data settings that never change results, and those that
    reproduce, at their old value, what versions without them did."""
    for field in never:
        data.pop(field, None)
    for field, old_value in only_if_changed.items():
        if field in data and data[field] == old_value:
            data.pop(field)


def _hashed_table(method, table: dict) -> dict:
    """A method's settings table as the hash reads it: without its device, the settings
    its values leave unread, and the settings at the value older versions ran with."""
    table = {key: value for key, value in table.items() if key != "device"}
    for field in method.unread_settings(table):
        table.pop(field, None)
    for field, old_value in method.legacy_settings.items():
        if table.get(field) == old_value:
            table.pop(field)
    return table


def _defaults(model) -> dict:
    return model().model_dump(mode="json")


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
