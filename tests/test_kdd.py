"""NSL-KDD, KDD Cup 99 and a user's own table: parsing, tasks, encoding and scaling."""

import hashlib
import importlib.util

import numpy as np
import pytest

from gan_oversampling.datasets import table as table_module
from gan_oversampling.datasets.kdd import (
    KDD_ATTACK_FAMILY,
    KDD_COLUMNS,
    expand_labels,
    load_kdd,
)
from gan_oversampling.difficulty.kdd import KddSource
from gan_oversampling.difficulty.table import TableSource
from gan_oversampling.errors import UserError
from gan_oversampling.study.presets import resolve_study
from gan_oversampling.study.spec import KddData, TableData, parse_study
from gan_oversampling.study.units import PreparedTest

NSL_ROWS = 25_192 + 22_544  # KDDTrain+_20Percent + KDDTest+
U2R_TASK = [{"name": "normal-vs-U2R", "majority": ["normal"], "minority": ["U2R"]}]


def _kdd(kind="nsl-kdd", tasks=None, sizes=None, ratios=None, data_dir=None, **more):
    """A KDD source built from its spec, as a study builds it; unset fields keep defaults."""
    fields = {"tasks": tasks, "majority_sizes": sizes, "imbalance_ratios": ratios, **more}
    data = KddData(kind=kind, **{name: value for name, value in fields.items() if value})
    return KddSource(data, data_dir)


def _table(path, label_column, majority, minority, sizes=(100, 200, 500, 1000),
           ratios=(0.1, 0.2, 0.3, 0.4), categorical=(), **more):
    return TableSource(TableData(
        kind="table", path=str(path), label_column=label_column, majority=majority,
        minority=minority, majority_sizes=list(sizes), imbalance_ratios=list(ratios),
        categorical=list(categorical), **more,
    ))


def _count(table, label):
    return len(table.rows_with_labels([label]))


def _message(info: pytest.ExceptionInfo) -> str:
    # pydantic's "Value error, " prefix is formatting, not part of the message checked here.
    return str(info.value).replace("Value error, ", "")


@pytest.fixture(scope="module")
def nsl(shared_data):
    return load_kdd("nsl-kdd", shared_data)


@pytest.fixture(scope="module")
def kdd99(shared_data):
    return load_kdd("kddcup99", shared_data)


def test_nsl_kdd_pool_is_both_files_in_order(nsl, shared_data):
    assert len(KDD_COLUMNS) == 41 and nsl.columns == KDD_COLUMNS
    assert len(nsl.label_codes) == NSL_ROWS
    first_train = (shared_data / "nsl-kdd" / "KDDTrain+_20Percent.txt").open().readline()
    first_test = (shared_data / "nsl-kdd" / "KDDTest+.txt").open().readline()
    for row, line in ((0, first_train), (25_192, first_test)):
        fields = line.strip().split(",")
        assert nsl.rows([row])[0, 2] == fields[2]  # service
        assert nsl.rows([row])[0, 4] == float(fields[4])  # src_bytes
        assert nsl.label_names[nsl.label_codes[row]] == fields[41]
    assert _count(nsl, "normal") == 13_449 + 9_711 and _count(nsl, "mscan") == 996


def test_kddcup99_parses_every_row_and_drops_the_label_dot(kdd99):
    assert len(kdd99.label_codes) == 494_021
    assert _count(kdd99, "smurf") == 280_790 and _count(kdd99, "normal") == 97_278
    assert not any(name.endswith(".") for name in kdd99.label_names)


def test_one_hot_width_is_numbers_plus_categories(nsl, kdd99):
    assert [len(v) for v in nsl.vocabularies] == [3, 67, 11]
    assert nsl.encoded_width == 38 + 3 + 67 + 11 == 119
    assert kdd99.encoded_width == 38 + 3 + 66 + 11 == 118


def test_every_attack_in_the_data_has_a_family(nsl, kdd99):
    for table in (nsl, kdd99):
        assert set(table.label_names) - {"normal"} <= set(KDD_ATTACK_FAMILY)
    assert [KDD_ATTACK_FAMILY[a] for a in ("apache2", "mscan", "httptunnel", "ps", "smurf")] == [
        "DoS", "Probe", "R2L", "U2R", "DoS"
    ]
    assert expand_labels(["normal", "U2R"]) == (
        "normal", "buffer_overflow", "loadmodule", "perl", "rootkit", "ps", "sqlattack", "xterm"
    )
    assert expand_labels(["neptune", "DoS"])[0] == "neptune"  # no repeats
    assert len(expand_labels(["neptune", "DoS"])) == 10


def test_kdd_source_cases_follow_the_tasks(shared_data):
    source = _kdd("nsl-kdd", U2R_TASK + [
        {"name": "smurf-vs-r2l", "majority": ["smurf"], "minority": ["R2L"]}
    ], [50, 150], [0.1, 0.4], shared_data)
    cases = source.cases()
    assert [case.key for case in cases][:2] == ["normal-vs-U2R-n50-ir0.1",
                                                "normal-vs-U2R-n50-ir0.4"]
    assert cases[0].factors == {"dataset": "nsl-kdd", "task": "normal-vs-U2R", "features": 119,
                                "n_majority": 50, "imbalance_ratio": 0.1}
    assert source.name == "nsl-kdd" and len(cases) == 8


def test_infeasible_grid_names_task_class_and_rows(shared_data):
    source = _kdd("nsl-kdd", U2R_TASK, [200], [0.4], shared_data)
    with pytest.raises(UserError) as info:
        source.cases()
    assert str(info.value) == (
        "nsl-kdd task normal-vs-U2R: the minority class has 78 rows; n_majority 200 with "
        "imbalance_ratio 0.4 needs 80"
    )


def test_kdd_variant_rows_and_fold_preprocessing(shared_data):
    source = _kdd("nsl-kdd", U2R_TASK, [100], [0.3], shared_data)
    case = source.cases()[0]
    X, y = source.load(case)
    assert X.dtype == object and X.shape == (130, 41) and np.bincount(y).tolist() == [100, 30]
    assert set(X[:, 1]) <= {"tcp", "udp", "icmp"}
    spec = parse_study({"name": "k", "data": {"kind": "nsl-kdd"},
                        "evaluation": {"cv": "stratified"}}, "test")
    prepared = PreparedTest.build(case, X, y, spec, source)
    for X_train, _, X_test, _ in prepared.fold_data:
        assert X_train.dtype == np.float32 and X_train.shape[1] == 119
        assert X_test.shape[1] == 119
        assert X_train.min() >= -1 and X_train.max() <= 1
        assert X_test.min() >= -1 and X_test.max() <= 1  # clipped where beyond training range
        one_hot = X_train[:, :81]
        assert set(np.unique(one_hot)) <= {0.0, 1.0}
        assert (one_hot.sum(axis=1) == 3).all()  # one category per categorical column


def test_whole_scaling_returns_encoded_rows(shared_data):
    source = _kdd("nsl-kdd", U2R_TASK, [100], [0.3], shared_data, scaling="whole")
    case = source.cases()[0]
    X, y = source.load(case)
    assert X.dtype == np.float32 and X.shape == (130, 119)
    numbers = X[:, 81:]
    varying = numbers.max(axis=0) > numbers.min(axis=0)
    assert np.allclose(numbers[:, varying].min(axis=0), -1)
    assert np.allclose(numbers[:, varying].max(axis=0), 1)
    assert source.make_preprocessor(case) is None
    fold_source = _kdd("nsl-kdd", U2R_TASK, [100], [0.3], shared_data)
    assert np.array_equal(fold_source.load(case)[1], y)  # same rows either way


def test_kddcup99_defaults_are_feasible_and_labels_must_occur(shared_data):
    source = _kdd("kddcup99", data_dir=shared_data)
    cases = source.cases()
    assert len(cases) == 4 * 2 * 4 and cases[0].factors["features"] == 118
    with pytest.raises(UserError, match="label 'mscan' has no rows in kddcup99; use a family"):
        _kdd("kddcup99", [{"name": "p", "majority": ["normal"], "minority": ["mscan"]}],
             data_dir=shared_data).cases()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"tasks": []}, "data.tasks: needs at least one task"),
        ({"tasks": "normal-vs-U2R"}, "data.tasks: Input should be a valid list"),
        ({"tasks": U2R_TASK * 2}, "data.tasks: task names must be unique"),
        ({"tasks": [{"name": "a b", "majority": ["normal"], "minority": ["U2R"]}]},
         "data.tasks.0.name: String should match pattern"),
        ({"tasks": [{"name": "a", "majority": [], "minority": ["U2R"]}]},
         "data.tasks.0.majority: needs at least one label"),
        ({"tasks": [{"name": "a", "majority": "normal", "minority": ["U2R"]}]},
         "data.tasks.0.majority: Input should be a valid list"),
        ({"tasks": [{"name": "a", "majority": ["normal"]}]},
         "data.tasks.0.minority: Field required"),
        ({"tasks": [{"name": "a", "majority": ["DoS"], "minority": ["smurf"]}]}, "smurf in both"),
        ({"tasks": [{"name": "a", "majority": ["normal"], "minority": ["Worms"]}]},
         "unknown label(s) Worms"),
        ({"kind": "kdd"}, "data: Input tag 'kdd' found using 'kind' does not match"),
        ({"scaling": "global"}, "data.scaling: Input should be 'fold' or 'whole'"),
        ({"majority_sizes": [5]}, "n_majority 5 with imbalance_ratio 0.1 gives no minority rows"),
    ],
)
def test_bad_kdd_specs_are_refused_when_parsed(data, message):
    with pytest.raises(UserError) as info:
        parse_study({"name": "k", "data": {"kind": "nsl-kdd", **data}}, "s")
    assert message in _message(info)


def test_kdd_data_need_a_data_directory():
    with pytest.raises(UserError, match="the NSL-KDD dataset needs a data directory"):
        _kdd().cases()


def test_kdd_spec_kinds_and_preset(shared_data):
    spec = parse_study({"name": "k", "data": {"kind": "kddcup99", "scaling": "whole"}}, "s")
    source = spec.data.build_source(shared_data)
    assert source.name == "kddcup99" and source.make_preprocessor(source.cases()[0]) is None
    for bad, message in [
        ({"tasks": [{"name": "a", "majority": ["normal"], "minority": ["Worms"]}]},
         "data.tasks.0.minority: unknown label(s) Worms; use 'normal', a family"),
        ({"tasks": [{"name": "a", "majority": ["DoS"], "minority": ["smurf"]}]},
         "data.tasks.0: label(s) smurf in both"),
        ({"tasks": U2R_TASK * 2}, "task names must be unique"),
        ({"scaling": "global"}, "data.scaling: Input should be 'fold' or 'whole'"),
    ]:
        with pytest.raises(UserError, match="s: ") as info:
            parse_study({"name": "k", "data": {"kind": "nsl-kdd", **bad}}, "s")
        assert message in _message(info)
    preset = resolve_study("nsl-kdd")
    cases = preset.data.build_source(shared_data).cases()
    assert len(cases) == 4 * 3 * 4
    assert {case.factors["task"] for case in cases} == {
        "normal-vs-DoS", "normal-vs-Probe", "normal-vs-R2L", "normal-vs-U2R"}
    assert preset.evaluation.cv == "stratified" and preset.data.scaling == "fold"


def _write_csv(path, rows, header="size,proto,kind"):
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


@pytest.fixture
def flows(tmp_path):
    rows = [f"{i},{'tcp' if i % 2 else 'udp'},benign" for i in range(20)]
    rows += [f"{100 + i},icmp,01" for i in range(8)] + ["5,tcp,1", "7,udp,other"]
    return _write_csv(tmp_path / "flows.csv", rows)


def test_table_source_reads_a_users_csv(flows):
    source = _table(flows, "kind", ["benign"], ["01"], [10, 20], [0.4], ["proto"])
    cases = source.cases()
    assert [case.key for case in cases] == ["n10-ir0.4", "n20-ir0.4"]
    assert cases[0].factors == {"dataset": "flows.csv", "features": 1 + 3, "n_majority": 10,
                                "imbalance_ratio": 0.4}
    X, y = source.load(cases[1])
    assert np.bincount(y).tolist() == [20, 8]
    # "01" and "1" are different labels: compared as text.
    assert sorted(X[y == 1, 0]) == [100.0 + i for i in range(8)]


def test_scaler_is_fitted_on_the_training_fold_only(flows):
    source = _table(flows, "kind", ["benign"], ["01"], [20], [0.4], ["proto"])
    case = source.cases()[0]
    X, _ = source.load(case)
    train, test = X[X[:, 0] < 100], X[X[:, 0] >= 100]
    preprocessor = source.make_preprocessor(case)
    train_out = preprocessor.fit_transform(train)
    numbers = train_out[:, 3]  # after the three one-hot columns of proto
    assert numbers.min() == -1 and numbers.max() == 1  # exactly at the extremes
    assert np.allclose(np.sort(numbers), np.linspace(-1, 1, 20))
    test_out = preprocessor.transform(test)
    assert (test_out[:, 3] == 1).all()  # beyond the training range: clipped, not > 1
    assert test_out[:, :3].tolist() == [[1.0, 0.0, 0.0]] * 8  # icmp, a category fixed up front


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"label_column": "label"}, "has no label column 'label'; its columns: size, proto, kind"),
        ({"minority": ["attack"]}, "no row has the label(s) attack; labels present: 01, 1, benign"),
        ({"categorical": []}, "column 'proto' is not numeric (e.g. 'udp'); list it in categorical"),
        ({"categorical": ["port"]}, "no column(s) port (listed as categorical)"),
        ({"sha256": "0" * 64}, "has sha256 "),
        ({"majority_sizes": [21]}, "the majority class has 20 rows"),
    ],
)
def test_table_source_refuses_bad_input(flows, kwargs, message):
    settings = {"path": str(flows), "label_column": "kind", "majority": ["benign"],
                "minority": ["01"], "majority_sizes": [10], "imbalance_ratios": [0.4],
                "categorical": ["proto"]}
    with pytest.raises(UserError) as info:
        TableSource(TableData(kind="table", **{**settings, **kwargs})).cases()
    assert message in _message(info)


def test_missing_values_are_refused_with_their_count(tmp_path):
    path = _write_csv(tmp_path / "gaps.csv", ["1,tcp,a", ",tcp,a", ",udp,b", "4,,b"])
    with pytest.raises(UserError, match="column 'size' has 2 missing value"):
        _table(path, "kind", ["a"], ["b"], [1], [1.0], ["proto"]).cases()
    path = _write_csv(tmp_path / "gaps2.csv", ["1,tcp,a", "2,tcp,a", "3,udp,b", "4,,b"])
    with pytest.raises(UserError, match="column 'proto' has 1 missing value"):
        _table(path, "kind", ["a"], ["b"], [1], [1.0], ["proto"]).cases()


def test_sha256_pins_the_file_and_edits_are_seen(tmp_path):
    path = _write_csv(tmp_path / "t.csv", ["1,tcp,a", "2,tcp,a", "3,udp,b"])
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    source = _table(path, "kind", ["a"], ["b"], [2], [0.5], ["proto"], sha256=digest.upper())
    assert len(source.cases()) == 1
    _write_csv(path, ["1,tcp,a", "2,tcp,a", "3,udp,b", "4,udp,b"])
    with pytest.raises(UserError, match=f"has sha256 .*, not the {digest}"):
        source.cases()
    unpinned = _table(path, "kind", ["a"], ["b"], [2], [1.0], ["proto"])
    assert np.bincount(unpinned.load(unpinned.cases()[0])[1]).tolist() == [2, 2]


def test_table_files_other_than_csv_and_parquet(tmp_path, monkeypatch):
    with pytest.raises(UserError, match="does not exist"):
        _table(tmp_path / "none.csv", "kind", ["a"], ["b"]).cases()
    _write_csv(tmp_path / "ragged.csv", ["1,tcp,a", "2,tcp,a,extra,fields"])
    with pytest.raises(UserError, match="ragged.csv cannot be read: Error tokenizing data"):
        _table(tmp_path / "ragged.csv", "kind", ["a"], ["b"]).cases()
    (tmp_path / "t.parquet").write_bytes(b"PAR1")
    monkeypatch.setattr(table_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(UserError, match="install pyarrow to read parquet"):
        _table(tmp_path / "t.parquet", "kind", ["a"], ["b"]).cases()


@pytest.mark.skipif(importlib.util.find_spec("pyarrow") is None, reason="pyarrow not installed")
def test_parquet_is_read_like_csv(tmp_path):  # pragma: no cover - runs where pyarrow is
    import pandas as pd

    frame = pd.DataFrame({"size": [1, 2, 3, 4], "kind": [0, 0, 1, 1]})
    frame.to_parquet(tmp_path / "t.parquet")
    source = _table(tmp_path / "t.parquet", "kind", ["0"], ["1"], [2], [1.0])
    assert np.bincount(source.load(source.cases()[0])[1]).tolist() == [2, 2]


def test_table_spec_kind_resolves_relative_paths_from_the_current_directory(flows, monkeypatch):
    monkeypatch.chdir(flows.parent)
    raw = {"name": "t", "data": {"kind": "table", "path": "flows.csv", "label_column": "kind",
                                 "majority": ["benign"], "minority": ["01"],
                                 "categorical": ["proto"], "majority_sizes": [10],
                                 "imbalance_ratios": [0.2, 0.4]}}
    source = parse_study(raw, "s").data.build_source(None)
    assert [case.key for case in source.cases()] == ["n10-ir0.2", "n10-ir0.4"]
    for bad, message in [({"path": "flows.txt"}, "data.path: must name a .csv"),
                         ({"sha256": "abc"}, "data.sha256: String should match pattern"),
                         ({"minority": ["benign"]}, "benign in both majority and minority"),
                         ({"categorical": ["kind"]}, "'kind' cannot be categorical"),
                         ({"categorical": ["proto", "proto"]}, "columns must be unique"),
                         ({"scaling": "global"}, "data.scaling: Input should be 'fold'"),
                         ({"majority_sizes": [2]}, "n_majority 2 with imbalance_ratio 0.2 gives"),
                         ({"majority": []}, "data.majority: needs at least one"),
                         ({"label": "kind"}, "data.label: unknown field")]:
        with pytest.raises(UserError) as info:
            parse_study({**raw, "data": {**raw["data"], **bad}}, "s")
        assert message in _message(info)
