import tomllib

import pytest

from gan_oversampling.errors import UserError
from gan_oversampling.study.presets import PRESETS, preset_as_toml, resolve_study
from gan_oversampling.study.spec import load_study_file, parse_study


def test_presets_are_valid_and_paper_grid_is_144():
    paper = resolve_study("paper-mnist")
    data = paper.data
    assert len(data.rotations) * len(data.sides) * len(data.majority_sizes) * len(
        data.imbalance_ratios
    ) == 144
    assert paper.cgan.iterations == 1500 and paper.cgan.latent_dim == 50
    assert paper.evaluation.cv == "kfold" and paper.evaluation.n_splits == 5
    quick = resolve_study("quick")
    assert quick.subset_of == "paper-mnist"
    for levels in (quick.data.rotations, quick.data.sides, quick.data.majority_sizes,
                   quick.data.imbalance_ratios):
        assert len(levels) >= 2  # every factor at two levels or more
    assert quick.cgan == paper.cgan  # a subset, not a cheaper variant


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_toml_round_trips(tmp_path, name):
    path = tmp_path / f"{name}.toml"
    path.write_text(preset_as_toml(name))
    assert load_study_file(path) == resolve_study(name)
    assert tomllib.loads(path.read_text())["name"] == name


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"name": "x", "colour": 1}, "colour: unknown field"),
        ({"name": "x", "data": {"kind": "mnist", "imbalance_ratios": [1.5]}},
         "data.imbalance_ratios.0: Input should be less than or equal to 1"),
        ({"name": "x", "data": {"kind": "mnist", "imbalance_ratios": [0]}},
         "greater than 0"),
        ({"name": "x", "data": {"kind": "mnist", "sides": [1]}},
         "data.sides.0: Input should be greater than or equal to 2"),
        ({"name": "x", "data": {"kind": "mnist", "majority_sizes": [6000]}},
         "less than or equal to 5842"),
        ({"name": "x", "data": {"kind": "images"}}, "data"),
        ({"name": "x", "methods": ["gan"]}, "methods: unknown method(s) gan; known: none, random"),
        ({"name": "x", "methods": []}, "at least one method"),
        ({"name": "x", "evaluation": {"cv": "loo"}}, "'kfold' or 'stratified'"),
        ({"name": "x", "cgan": {"iterations": 0}}, "cgan.iterations"),
        ({"name": "bad name!"}, "name: String should match pattern"),
        ({}, "name: Field required"),
    ],
)
def test_bad_study_fields_name_the_field(raw, message):
    with pytest.raises(UserError, match="preset x: ") as info:
        parse_study(raw, "preset x")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_study_files(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_study_file(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("name = [unclosed")
    with pytest.raises(UserError, match="not valid TOML"):
        load_study_file(broken)
    with pytest.raises(UserError, match="unknown study 'nonsense'"):
        resolve_study("nonsense")


def test_settings_hash_ignores_description_and_device():
    base = resolve_study("quick")
    moved = base.model_copy(update={
        "description": "other words",
        "cgan": base.cgan.model_copy(update={"device": "cpu"}),
    })
    assert moved.settings_hash() == base.settings_hash()
    longer = base.model_copy(update={"cgan": base.cgan.model_copy(update={"iterations": 10})})
    assert longer.settings_hash() != base.settings_hash()
