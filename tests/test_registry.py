"""The method seam: a method is one registry entry, and the study reads nothing else."""

from __future__ import annotations

import numpy as np
import pytest

from gan_oversampling.report.build import build_report
from gan_oversampling.samplers import registry
from gan_oversampling.samplers.base import Method, resample_one_by_one
from gan_oversampling.study.presets import resolve_study
from gan_oversampling.study.runner import run_study
from gan_oversampling.study.spec import StudySpec, parse_study
from gan_oversampling.study.store import ResultsStore


class _RepeatMinority:
    """A toy oversampler: the first minority row, repeated."""

    def __init__(self, counts):
        self.counts = counts

    def fit_resample(self, X, y):
        n = self.counts[1]
        first = X[y == 1][:1]
        return np.vstack([X, np.repeat(first, n, axis=0)]), np.concatenate([y, np.ones(n, int)])


TOY = Method(
    name="repeat-first",
    kind="classic",
    summary="the first minority row, repeated",
    resample=resample_one_by_one(lambda fold, settings: _RepeatMinority(fold.counts)),
)


def test_a_new_method_is_one_registry_entry(tmp_path, monkeypatch):
    monkeypatch.setitem(registry.METHODS, TOY.name, TOY)
    spec = parse_study(
        {
            "name": "toy",
            "data": {"kind": "mnist", "rotations": [90], "sides": [4], "majority_sizes": [100],
                     "imbalance_ratios": [0.4]},
            "methods": ["none", "repeat-first"],
            "evaluation": {"classifier": "logistic-regression"},
        },
        "toy study",
    )
    with ResultsStore.open(tmp_path / "toy.sqlite") as store:
        assert run_study(spec, store) == 2
        frame = store.scores_frame("toy")
    assert set(frame["method"]) == {"none", "repeat-first"}
    assert frame["iterations"].isna().all()
    report = build_report(tmp_path / "toy.sqlite", tmp_path / "report")
    assert "repeat-first" in (report / "report.md").read_text(encoding="utf-8")


def test_unknown_methods_are_refused_with_the_registry_list():
    with pytest.raises(Exception, match="unknown method\\(s\\) toy; known: none, random"):
        parse_study({"name": "x", "methods": ["none", "toy"]}, "study")


def test_every_method_with_settings_has_its_table_in_a_study_file():
    spec = parse_study({"name": "x", "ctgan": {"epochs": 5}, "cgan": {"iterations": 7}}, "study")
    assert spec.method_settings("ctgan").epochs == 5
    assert spec.method_settings("cgan").iterations == 7
    assert spec.method_settings("none") is None
    fields = {name.replace("-", "_") for name in registry.settings_sections()}
    assert fields <= set(StudySpec.model_fields)  # [easy-ensemble] is the easy_ensemble field
    with pytest.raises(Exception, match="ctgan.epochs"):
        parse_study({"name": "x", "ctgan": {"epochs": True}}, "study")


# Results databases of earlier versions resume only while a preset's settings hash stays.
PINNED_HASHES = {
    "imbalance-showdown": "4da5886288351c87",
    "nsl-kdd": "7184e8b097cbd24e",
    "paper-cyber": "d1a55fb1c7865897",
    "paper-mnist": "f874f96cfd4af778",
    "quick": "cff7017a9cf9a220",
    "quick-cyber": "67879954ab810ab7",
}


@pytest.mark.parametrize("preset", sorted(PINNED_HASHES))
def test_preset_settings_hash_is_unchanged(preset):
    assert resolve_study(preset).settings_hash() == PINNED_HASHES[preset]


def test_settings_that_change_results_change_the_hash():
    spec = resolve_study("quick")
    assert spec.with_device("cpu").settings_hash() == spec.settings_hash()
    clipped = spec.model_copy(
        update={"cgan": spec.cgan.model_copy(update={"output_range": "training"})}
    )
    assert clipped.settings_hash() != spec.settings_hash()
    longer_ctgan = spec.model_copy(
        update={"ctgan": spec.ctgan.model_copy(update={"epochs": 3})}
    )
    assert longer_ctgan.settings_hash() != spec.settings_hash()
