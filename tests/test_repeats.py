"""Repeats: every test drawn R times from its source, each draw seeded from the study seed
and the repeat, every method on the same folds of each draw; the report reads a test's
draws as one test measured R times."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from baycomp import two_on_single

from gan_oversampling.difficulty.base import REPEAT, TestCase
from gan_oversampling.difficulty.mnist import MnistSource
from gan_oversampling.difficulty.table import TableSource
from gan_oversampling.difficulty.tabular import CyberSource
from gan_oversampling.errors import UserError
from gan_oversampling.report import tables
from gan_oversampling.report.build import build_report
from gan_oversampling.study.presets import resolve_study
from gan_oversampling.study.runner import check_study, draw_seed, repeated_cases, run_study
from gan_oversampling.study.spec import CyberData, MnistData, TableData, parse_study
from gan_oversampling.study.store import ResultsStore

N_FOLDS = 3


def _spec(repeats=2, seed=0, name="repeated", methods=("none", "smote", "cgan")):
    return parse_study(
        {
            "name": name, "seed": seed, "repeats": repeats, "methods": list(methods),
            # Small layers: these tests check the plumbing, not the GAN.
            "cgan": {"iterations": 5, "device": "cpu", "generator_hidden": [16, 16, 16],
                     "discriminator_hidden": [16, 16, 16]},
            "data": {"kind": "cyber", "datasets": ["tor"], "majority_sizes": [60],
                     "imbalance_ratios": [0.2, 0.4]},
            "evaluation": {"cv": "stratified", "n_splits": N_FOLDS,
                           "classifier": "logistic-regression"},
        },
        "test study",
    )


# -- seeds and keys -----------------------------------------------------------------------
def test_the_first_draw_of_seed_0_is_the_published_protocols():
    assert draw_seed(0, 0) == 0
    seeds = {draw_seed(seed, repeat) for seed in range(4) for repeat in range(4)}
    assert len(seeds) == 16  # every (seed, repeat) draws its own rows
    assert draw_seed(3, 1) == draw_seed(3, 1)


def test_repeated_cases_number_the_draws_and_keep_the_first_key():
    case = TestCase("cyber", "tor-n100-ir0.1", {"dataset": "tor", "n_majority": 100})
    draws = repeated_cases([case], study_seed=0, repeats=3)
    assert [c.key for c in draws] == ["tor-n100-ir0.1", "tor-n100-ir0.1-r1", "tor-n100-ir0.1-r2"]
    assert [c.factors[REPEAT] for c in draws] == [0, 1, 2]
    assert [c.point for c in draws] == ["tor-n100-ir0.1"] * 3
    assert [c.draw_seed for c in draws] == [0, draw_seed(0, 1), draw_seed(0, 2)]
    assert case.factors == {"dataset": "tor", "n_majority": 100}  # the grid's case untouched


def test_one_repeat_keeps_keys_and_factors_as_before_but_the_seed_draws():
    case = TestCase("cyber", "k", {"n_majority": 5})
    (same,) = repeated_cases([case], study_seed=0, repeats=1)
    assert (same.key, same.factors, same.draw_seed) == ("k", case.factors, 0)
    (seeded,) = repeated_cases([case], study_seed=7, repeats=1)
    assert (seeded.key, seeded.factors, seeded.draw_seed) == ("k", case.factors, draw_seed(7, 0))


# -- each data kind draws other rows with another seed -------------------------------------
def _draws(source, case, seeds=(0, 11, 11)):
    return [source.load(case.repeated(i, seed, numbered=True)) for i, seed in enumerate(seeds)]


def _check_draws(source, case, expected_counts):
    (X0, y0), (X1, y1), (X1b, y1b) = _draws(source, case)
    X_protocol, y_protocol = source.load(case)
    assert np.array_equal(X0, X_protocol) and np.array_equal(y0, y_protocol)
    assert np.array_equal(X1, X1b) and np.array_equal(y1, y1b)  # same seed, same rows
    assert np.bincount(y1).tolist() == np.bincount(y0).tolist() == expected_counts
    assert not np.array_equal(X0, X1)


def test_mnist_draws(shared_data):
    source = MnistSource(MnistData(rotations=[45], sides=[4], majority_sizes=[50],
                                   imbalance_ratios=[0.2]), shared_data)
    _check_draws(source, source.cases()[0], [50, 10])


def test_cyber_draws(shared_data):
    source = CyberSource(CyberData(datasets=["tor"], majority_sizes=[100],
                                   imbalance_ratios=[0.1]), shared_data)
    _check_draws(source, source.cases()[0], [100, 10])


def test_table_draws(tmp_path):
    path = tmp_path / "t.csv"
    rows = [f"{i},{'tcp' if i % 3 else 'udp'},a" for i in range(40)]
    rows += [f"{100 + i},icmp,b" for i in range(20)]
    path.write_text("size,proto,label\n" + "\n".join(rows) + "\n")
    source = TableSource(TableData(kind="table", path=str(path), label_column="label",
                                   majority=["a"], minority=["b"], categorical=["proto"],
                                   majority_sizes=[20], imbalance_ratios=[0.5]))
    _check_draws(source, source.cases()[0], [20, 10])


def test_a_source_refuses_a_draw_of_a_point_not_in_its_grid(shared_data):
    source = CyberSource(CyberData(datasets=["tor"], majority_sizes=[100],
                                   imbalance_ratios=[0.1]), shared_data)
    stranger = TestCase("cyber", "tor-n200-ir0.1", {}).repeated(1, 5, numbered=True)
    with pytest.raises(UserError, match="tor-n200-ir0.1-r1"):
        source.load(stranger)


# -- the study file ---------------------------------------------------------------------------
@pytest.mark.parametrize("repeats", [0, -1, 101, True, 1.5, "three"])
def test_bad_repeats_are_refused_in_one_line(repeats):
    with pytest.raises(UserError, match="repeats") as error:
        _spec(repeats=repeats)
    assert "\n" not in str(error.value)


def test_repeats_change_the_settings_hash_only_when_used():
    base = _spec(repeats=1).settings_hash()
    assert base == _spec(repeats=1, seed=0).settings_hash()
    assert _spec(repeats=3).settings_hash() != base
    for preset in ("quick", "paper-mnist", "paper-cyber"):
        assert resolve_study(preset).repeats == 1


def test_filters_select_draws(shared_data):
    checked = check_study(_spec(repeats=3), data_dir=shared_data, filters={"repeat": ["1"]})
    assert [case.key for case in checked.cases] == ["tor-n60-ir0.2-r1", "tor-n60-ir0.4-r1"]


# -- a run with repeats, and its report -----------------------------------------------------
@pytest.fixture(scope="module")
def repeated_run(shared_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("repeats")
    db = folder / "results.sqlite"
    with ResultsStore.open(db) as store:
        written = run_study(_spec(), store, data_dir=shared_data)
        frame = store.scores_frame("repeated")
    return {"db": db, "folder": folder, "written": written, "frame": frame}


def test_every_draw_of_every_test_is_a_unit(repeated_run):
    assert repeated_run["written"] == 2 * 2 * 3  # tests x draws x methods
    frame = repeated_run["frame"]
    assert sorted(frame["test_key"].unique()) == [
        "tor-n60-ir0.2", "tor-n60-ir0.2-r1", "tor-n60-ir0.4", "tor-n60-ir0.4-r1"]
    assert sorted(frame[REPEAT].unique()) == [0, 1]


def test_every_method_sees_the_same_folds_of_each_draw(repeated_run):
    frame = repeated_run["frame"]
    support = frame.pivot_table(index=["test_key", "fold", "class_label"], columns="method",
                                values="support", aggfunc="first")
    assert (support["none"] == support["smote"]).all()
    assert (support["none"] == support["cgan"]).all()
    # The draws differ: the baseline's scores are not the same on both draws of a test.
    baseline = frame[frame["method"] == "none"].set_index(["test_key", "fold", "class_label"])
    first = baseline.loc["tor-n60-ir0.4", "f1"].to_numpy()
    second = baseline.loc["tor-n60-ir0.4-r1", "f1"].to_numpy()
    assert not np.array_equal(first, second)


def test_a_rerun_resumes_and_another_repeat_count_is_another_study(repeated_run, shared_data):
    with ResultsStore.open(repeated_run["db"]) as store:
        assert run_study(_spec(), store, data_dir=shared_data) == 0
        with pytest.raises(UserError, match="other settings"):
            run_study(_spec(repeats=3), store, data_dir=shared_data)


def test_the_report_reads_draws_as_one_test_measured_r_times(repeated_run):
    frame = tables.by_grid_point(repeated_run["frame"])
    assert sorted(frame["test_key"].unique()) == ["tor-n60-ir0.2", "tor-n60-ir0.4"]
    assert REPEAT not in tables.factor_columns(frame)
    means = tables.minority_f1_by_test(frame)
    raw = repeated_run["frame"]
    minority = raw[(raw["class_role"] == "minority") & (raw["method"] == "smote")]
    both = minority[minority["test_key"].str.startswith("tor-n60-ir0.4")]["f1"].mean()
    assert means.loc["tor-n60-ir0.4", "smote"] == pytest.approx(both)
    timings = tables.timings_table(frame).set_index("method")
    assert timings.loc["smote", "units"] == 4  # 2 tests x 2 draws


def test_per_test_posteriors_pool_the_folds_of_every_draw(repeated_run):
    frame = tables.by_grid_point(repeated_run["frame"])
    verdicts = tables.generator_vs_best_classic(frame, "cgan", rope=0.01)
    row = verdicts.set_index("test_key").loc["tor-n60-ir0.4"]
    minority = frame[(frame["class_role"] == "minority") & (frame["test_key"] == "tor-n60-ir0.4")]
    ordered = minority.sort_values([REPEAT, "fold"])
    cgan = ordered[ordered["method"] == "cgan"]["f1"].to_numpy()
    smote = ordered[ordered["method"] == "smote"]["f1"].to_numpy()
    assert len(cgan) == len(smote) == 2 * N_FOLDS
    expected = two_on_single(smote, cgan, 0.01, runs=2)
    assert (row["p_worse"], row["p_equivalent"], row["p_better"]) == pytest.approx(expected)


def test_the_report_of_a_repeated_study(repeated_run):
    out = repeated_run["folder"] / "report"
    build_report(repeated_run["db"], out)
    text = (out / "report.md").read_text()
    assert "2 tests, each drawn 2 times" in text
    per_test = pd.read_csv(out / "per_test.csv")
    assert sorted(per_test["test_key"]) == ["tor-n60-ir0.2", "tor-n60-ir0.4"]
