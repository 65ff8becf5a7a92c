"""Columns a table study must not learn from: `exclude`, and the leak guard of every
tabular kind (a single feature that separates the classes of the pool perfectly)."""

from __future__ import annotations

import numpy as np
import pytest

from cli_entry import call_main
from gan_oversampling.difficulty.leaks import separating_categories, separating_numbers
from gan_oversampling.errors import UserError
from gan_oversampling.study.presets import resolve_study
from gan_oversampling.study.runner import check_study
from gan_oversampling.study.spec import load_study_file, parse_study
from table_files import study_toml, write_flows


@pytest.fixture
def flows(tmp_path):
    path = tmp_path / "flows.csv"
    write_flows(path)
    return path


def _spec(tmp_path, csv, **settings):
    path = tmp_path / "study.toml"
    path.write_text(study_toml(csv, **settings))
    return load_study_file(path)


def test_a_threshold_or_a_category_set_without_error_is_a_leak():
    y = np.array([0, 0, 0, 1, 1])
    X = np.array([[1, 5, 2, 7], [2, 5, 3, 7], [3, 5, 9, 7], [4, 6, 1, 7], [9, 6, 3, 7]],
                 dtype=float)
    # 0: 1..3 vs 4..9 separates; 1: 5 vs 6 separates; 2: overlaps; 3: constant.
    assert separating_numbers(X, y).tolist() == [True, True, False, False]
    assert separating_numbers(-X, y).tolist() == [True, True, False, False]  # either order
    touching = np.array([[1.0], [3.0], [3.0], [5.0]])  # a value in both classes: no threshold
    assert separating_numbers(touching, np.array([0, 0, 1, 1])).tolist() == [False]
    codes = np.array([[0, 0], [1, 1], [0, 2], [2, 1], [3, 2]])
    assert separating_categories(codes, y).tolist() == [True, False]


def test_excluded_columns_are_dropped_unread(tmp_path, flows):
    spec = _spec(tmp_path, flows)
    checked = check_study(spec)  # id and verdict excluded: no leak left
    X, y = checked.source.load(checked.cases[0])
    assert X.shape[1] == 3  # proto, size, duration
    assert checked.cases[0].factors["features"] == 3 + 2  # proto one-hot (3) + 2 numbers
    # An excluded column may hold anything, even gaps and text in a would-be number column.
    text = flows.read_text().replace("good", "").replace("bad", "n/a")
    flows.write_text(text)
    check_study(_spec(tmp_path, flows))


@pytest.mark.parametrize(
    ("exclude", "leaking"),
    [((), "id, verdict"), (("id",), "verdict"), (("verdict",), "id")],
)
def test_a_leak_ends_the_check_naming_its_columns(tmp_path, flows, exclude, leaking):
    spec = _spec(tmp_path, flows, exclude=exclude,
                 categorical=("proto", "verdict") if "verdict" not in exclude else ("proto",))
    with pytest.raises(UserError) as caught:
        check_study(spec)
    message = str(caught.value)
    assert f"column(s) {leaking} alone separate the majority from the minority" in message
    assert "drop it with data.exclude" in message and "data.allow_leaks" in message
    assert "\n" not in message


def test_allowed_leaks_run_and_do_not_change_the_settings_hash(tmp_path, flows):
    guarded = _spec(tmp_path, flows, exclude=("verdict",))
    allowed = _spec(tmp_path, flows, exclude=("verdict",), more_data='allow_leaks = ["id"]')
    check_study(allowed)
    assert allowed.data.allow_leaks == ["id"]
    assert allowed.settings_hash() == guarded.settings_hash()
    # exclude changes the features, so it is part of the hash, except when empty.
    assert _spec(tmp_path, flows).settings_hash() != guarded.settings_hash()


# Measured with the version before `exclude` and `allow_leaks`: a table study's database
# written then must resume, so its hash must not move while neither is used.
TABLE_STUDY = {"name": "flows", "methods": ["none", "cgan"],
               "data": {"kind": "table", "path": "flows.csv", "label_column": "label",
                        "majority": ["benign"], "minority": ["attack"],
                        "categorical": ["proto"], "majority_sizes": [50],
                        "imbalance_ratios": [0.25, 0.4]}}
TABLE_STUDY_HASH = "2344a4ac8ca874a8"


@pytest.mark.parametrize("added", [{}, {"exclude": []}, {"allow_leaks": ["size"]}])
def test_a_table_study_of_the_earlier_version_keeps_its_hash(added):
    raw = {**TABLE_STUDY, "data": {**TABLE_STUDY["data"], **added}}
    assert parse_study(raw, "study").settings_hash() == TABLE_STUDY_HASH


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"exclude": ["label"]}, "the label column 'label' cannot be excluded"),
        ({"exclude": ["id", "id"]}, "data.exclude: columns must be unique"),
        ({"exclude": ["proto"]}, "column(s) proto both excluded and categorical"),
        ({"allow_leaks": ["id", "id"]}, "data.allow_leaks: columns must be unique"),
        ({"allow_leaks": "id"}, "data.allow_leaks: Input should be a valid list"),
    ],
)
def test_bad_exclude_and_allow_leaks_settings(flows, data, message):
    raw = {"name": "t", "data": {"kind": "table", "path": str(flows), "label_column": "label",
                                 "majority": ["benign"], "minority": ["attack"],
                                 "categorical": ["proto"], **data}}
    with pytest.raises(UserError) as caught:
        parse_study(raw, "study")
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"exclude": ("id", "port")}, "has no column(s) port (listed in exclude); its columns: "
                                      "id, proto, size, duration, label, verdict"),
        ({"more_data": 'allow_leaks = ["port"]'},
         "allow_leaks names port, not a feature column; features: proto, size, duration"),
        ({"more_data": 'allow_leaks = ["id"]'},
         "allow_leaks names id, not a feature column"),  # excluded: not a feature
        ({"exclude": ("id", "verdict", "proto", "size", "duration"), "categorical": ()},
         "has no feature column besides 'label', 'id', 'verdict', 'proto', 'size', 'duration'"),
    ],
)
def test_columns_only_the_file_can_refuse(tmp_path, flows, settings, message):
    with pytest.raises(UserError) as caught:
        check_study(_spec(tmp_path, flows, **settings))
    assert message in str(caught.value)


def test_run_with_a_leak_is_one_line_and_writes_nothing(tmp_path, flows, capsys):
    study = tmp_path / "study.toml"
    study.write_text(study_toml(flows, exclude=("verdict",)))
    db = tmp_path / "r.sqlite"
    for command in (["run", study, "--db", db], ["plan", study]):
        code, out, err = call_main(capsys, *command)
        assert code == 2 and out == ""
        assert err.count("\n") == 1 and "column(s) id alone separate" in err, err
    assert not db.exists()


@pytest.mark.parametrize("preset", ["paper-cyber", "nsl-kdd"])
def test_the_shipped_presets_hold_no_leak(shared_data, preset):
    checked = check_study(resolve_study(preset), data_dir=shared_data)
    assert len(checked.cases) == {"paper-cyber": 112, "nsl-kdd": 48}[preset]


def test_kddcup99_default_tasks_hold_no_leak(shared_data):
    spec = parse_study({"name": "k", "data": {"kind": "kddcup99", "majority_sizes": [50],
                                              "imbalance_ratios": [0.4]}}, "study")
    assert len(check_study(spec, data_dir=shared_data).cases) == 4


def test_a_kdd_task_whose_attack_one_feature_defines(shared_data):
    # Every teardrop connection has wrong fragments and no normal one has: the guard
    # stops, and allow_leaks lets a study that means it through.
    task = {"name": "normal-vs-teardrop", "majority": ["normal"], "minority": ["teardrop"]}
    raw = {"name": "k", "data": {"kind": "kddcup99", "tasks": [task], "majority_sizes": [50],
                                 "imbalance_ratios": [0.4]}}
    with pytest.raises(UserError) as caught:
        check_study(parse_study(raw, "study"), data_dir=shared_data)
    assert ("kddcup99: column(s) wrong_fragment (task normal-vs-teardrop) alone separate"
            in str(caught.value))
    raw["data"]["allow_leaks"] = ["wrong_fragment"]
    assert len(check_study(parse_study(raw, "study"), data_dir=shared_data).cases) == 1


def test_cyber_columns_are_named_by_position_for_allow_leaks(shared_data):
    raw = {"name": "c", "data": {"kind": "cyber", "datasets": ["tor"], "majority_sizes": [100],
                                 "imbalance_ratios": [0.1], "allow_leaks": ["feature 21"]}}
    assert len(check_study(parse_study(raw, "study"), data_dir=shared_data).cases) == 1
    raw["data"]["allow_leaks"] = ["feature 22"]  # tor has 22 features: 0 to 21
    with pytest.raises(UserError, match="cyber: allow_leaks names feature 22, not a feature"):
        check_study(parse_study(raw, "study"), data_dir=shared_data)
