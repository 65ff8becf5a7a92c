"""The report's sample rows of a table: its column names and values, decoded from the
one-hot and scaled rows the methods saw."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gan_oversampling.report.build import build_report
from gan_oversampling.report.sample_rows import comparison_table, decode_rows
from gan_oversampling.study.runner import check_study, run_study
from gan_oversampling.study.spec import load_study_file
from gan_oversampling.study.store import ResultsStore
from gan_oversampling.study.units import PreparedTest
from table_files import study_toml, write_flows

COLUMNS = [{"column": "proto", "categories": ["icmp", "tcp", "udp"]},
           {"column": "size", "low": 10.0, "high": 30.0},
           {"column": "duration", "low": 0.0, "high": 4.0}]


def test_rows_decode_to_categories_and_unscaled_numbers():
    encoded = np.array([[0, 1, 0, -1, 1], [0.2, 0.1, 0.7, 0, -1], [0.5, 0.4, 0.1, 1, 0]])
    decoded = decode_rows(encoded, COLUMNS)
    assert list(decoded.columns) == ["proto", "size", "duration"]
    # A generated block is not one-hot: its largest output names the category.
    assert decoded["proto"].tolist() == ["tcp", "udp", "icmp"]
    assert decoded["size"].tolist() == [10.0, 20.0, 30.0]
    assert decoded["duration"].tolist() == [4.0, 0.0, 2.0]


@pytest.mark.parametrize("columns", [None, [], COLUMNS[:2]])
def test_rows_without_a_fitting_description_are_named_by_position(columns):
    encoded = np.arange(10.0).reshape(2, 5)
    decoded = decode_rows(encoded, columns)
    assert list(decoded.columns) == [f"feature {j}" for j in range(5)]
    np.testing.assert_array_equal(decoded.to_numpy(), encoded)


def test_comparison_table_summarises_and_shows_the_first_rows():
    real = pd.DataFrame({"proto": ["tcp", "tcp", "udp", "tcp"], "size": [1.0, 2.0, 3.0, 6.0]})
    generated = pd.DataFrame({"proto": ["udp", "udp"], "size": [2.5, 3.5]})
    table, left_out = comparison_table(real, generated, "cgan", named=True)
    assert left_out == 0
    rows = table.set_index("column")
    assert rows.loc["proto", "real: mean (sd) or most common"] == "tcp (75%)"
    assert rows.loc["size", "real: mean (sd) or most common"] == "3 (sd 1.871)"
    assert rows.loc["size", "cgan: mean (sd) or most common"] == "3 (sd 0.5)"
    assert rows.loc["size", "real row 3"] == "3" and rows.loc["proto", "cgan row 2"] == "udp"
    assert "cgan row 3" not in table.columns  # two generated rows only
    wide = pd.DataFrame(np.zeros((2, 12)), columns=[f"feature {j}" for j in range(12)])
    table, left_out = comparison_table(wide, wide, "cgan", named=False)
    assert len(table) == 8 and left_out == 4


@pytest.fixture(scope="module")
def table_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("samples")
    csv = folder / "flows.csv"
    frame = write_flows(csv)
    path = folder / "flows.toml"
    path.write_text(study_toml(csv, ratios=(0.4,)))
    spec = load_study_file(path)
    with ResultsStore.open(folder / "r.sqlite") as store:
        run_study(spec, store)
    return {"db": folder / "r.sqlite", "frame": frame, "spec": spec, "folder": folder}


def test_stored_real_rows_decode_to_rows_of_the_file(table_run):
    with ResultsStore.open(table_run["db"], readonly=True) as store:
        columns = store.sample_columns("flows")
        real = next(rows for _, method, kind, label, rows in store.samples("flows")
                    if method == "none" and kind == "real" and label == 1)
    assert list(columns) == ["n50-ir0.4"]
    decoded = decode_rows(real, columns["n50-ir0.4"])
    decoded[["size", "duration"]] = decoded[["size", "duration"]].round(3)
    attacks = table_run["frame"].query("label == 'attack'")[["proto", "size", "duration"]]
    in_file = {tuple(row) for row in attacks.itertuples(index=False)}
    assert len(decoded) == 10
    assert {tuple(row) for row in decoded.itertuples(index=False)} <= in_file


def test_whole_scaling_decodes_with_the_whole_test_datasets_scaler(table_run):
    spec = table_run["spec"]
    whole = spec.model_copy(update={"data": spec.data.model_copy(update={"scaling": "whole"})})
    checked = check_study(whole)
    case = checked.cases[0]
    test = PreparedTest.build(case, *checked.source.load(case), whole, checked.source)
    X_train, y_train = test.training_sets()[0]
    decoded = decode_rows(X_train, test.sample_columns)
    raw, _ = checked.source.grid()._raw_rows(case)
    first = raw[test.folds[0][0]]
    assert decoded["proto"].tolist() == list(first[:, 0])
    np.testing.assert_allclose(decoded["size"], first[:, 1].astype(float), rtol=1e-5)


def test_the_report_shows_column_names_and_values(table_run):
    out = build_report(table_run["db"], table_run["folder"] / "report")
    markdown = (out / "report.md").read_text(encoding="utf-8")
    section = markdown[markdown.index("## Real and generated rows"):]
    section = section[:section.index("\n## ")]
    assert "real against cgan, in the table's own units" in section
    for name in ("proto", "size", "duration"):
        assert f"| {name} |" in section
    assert "feature 0" not in section and "id" not in section.split("|")
