"""The report: tables against hand-computed numbers, the folder it writes, and bad input."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from gan_oversampling.errors import UserError
from gan_oversampling.report import folder, plots, tables
from gan_oversampling.report.build import build_report, headline_rows
from gan_oversampling.study.records import UnitResult
from gan_oversampling.study.store import ResultsStore

MNIST_SPEC = {"name": "mini", "description": "A tiny MNIST grid.", "subset_of": "paper",
              "data": {"kind": "mnist"}, "methods": ["none", "cgan"]}
TABULAR_SPEC = {"name": "tab", "description": "Tabular grid.", "subset_of": None,
                "data": {"kind": "tabular"}, "methods": ["none", "cgan", "smote", "random"]}
MNIST_TESTS = [("r30-s4", 30, 4), ("r30-s8", 30, 8), ("r90-s4", 90, 4), ("r90-s8", 90, 8)]
N_FOLDS = 5


def _scores(rng: np.random.Generator) -> list[dict]:
    return [
        {"fold": fold, "class_label": label, "class_role": role,
         "precision": rng.uniform(), "recall": rng.uniform(), "f1": rng.uniform(),
         "support": 20 if label == 0 else 4}
        for fold in range(N_FOLDS) for label, role in ((0, "majority"), (1, "minority"))
    ]


def _mnist_unit(study, key, rotation, side, method, rng) -> UnitResult:
    features = side * side
    samples, losses = {}, {}
    if method == "cgan":
        samples = {(kind, label): rng.uniform(-1, 1, (12, features)).astype(np.float32)
                   for kind, label in (("real", 0), ("real", 1), ("generated", 1))}
        losses = {fold: rng.uniform(0, 2, (30, 3)).astype(np.float32) for fold in range(2)}
    return UnitResult(
        study=study, test_key=key, method=method, source="mnist",
        factors={"rotation": rotation, "side": side, "features": features,
                 "n_majority": 100, "imbalance_ratio": 0.1},
        seed=0, iterations=1500 if method == "cgan" else None, classifier="mlp10",
        cv="kfold5", fit_seconds=2.0 if method == "cgan" else 0.5, eval_seconds=0.1,
        versions={"torch": "2.13.0", "numpy": "2.4"}, scores=_scores(rng),
        samples=samples, losses=losses,
    )


def _register(store: ResultsStore, spec: dict) -> None:
    store.register_study(spec["name"], f"hash-{spec['name']}", json.dumps(spec))


def _mnist_db(path, *, extra_spec: dict | None = None, tests=MNIST_TESTS):
    rng = np.random.default_rng(7)
    with ResultsStore.open(path) as store:
        _register(store, MNIST_SPEC)
        for key, rotation, side in tests:
            for method in ("none", "cgan"):
                store.write_unit(_mnist_unit("mini", key, rotation, side, method, rng))
        if extra_spec is not None:
            _register(store, extra_spec)
    return path


@pytest.fixture
def mnist_db(tmp_path):
    return _mnist_db(tmp_path / "results.sqlite")


@pytest.fixture
def mnist_frame(mnist_db):
    with ResultsStore.open(mnist_db, create=False) as store:
        return store.scores_frame("mini")


def _hand_headline(db_path) -> dict[tuple[str, str], float]:
    """Fold means then test means, computed straight from the stored rows."""
    with ResultsStore.open(db_path, create=False) as store:
        frame = store.scores_frame("mini")
    per_test: dict[tuple[str, str], list[float]] = {}
    for (_, method, role), rows in frame.groupby(["test_key", "method", "class_role"]):
        per_test.setdefault((method, role), []).append(sum(rows["f1"]) / len(rows))
    return {pair: sum(values) / len(values) for pair, values in per_test.items()}


# -- tables ---------------------------------------------------------------------------------
def test_headline_equals_hand_computed_means(mnist_db, mnist_frame):
    headline = tables.headline_table(mnist_frame)
    expected = _hand_headline(mnist_db)
    assert list(headline.index) == ["majority", "minority"]
    assert list(headline.columns) == ["none", "cgan", "n_tests"]
    for (method, role), value in expected.items():
        assert headline.loc[role, method] == pytest.approx(value, abs=1e-12)
    assert (headline["n_tests"] == 4).all()


def test_per_test_table_rows_and_columns(mnist_frame):
    per_test = tables.per_test_table(mnist_frame)
    assert list(per_test["test_key"]) == [key for key, _, _ in MNIST_TESTS]
    factors = ["rotation", "side", "features", "n_majority", "imbalance_ratio"]
    assert list(per_test.columns[1:6]) == factors
    metric_columns = [f"{m}_{r}_{x}" for m in ("none", "cgan") for r in ("majority", "minority")
                      for x in ("precision", "recall", "f1")]
    assert list(per_test.columns[6:]) == metric_columns
    rows = mnist_frame[(mnist_frame["test_key"] == "r90-s8") & (mnist_frame["method"] == "cgan")
                       & (mnist_frame["class_role"] == "minority")]
    row = per_test.set_index("test_key").loc["r90-s8"]
    assert row["cgan_minority_recall"] == pytest.approx(rows["recall"].mean())
    assert row["features"] == 64


def test_headline_leaves_out_tests_missing_a_method(tmp_path):
    path = _mnist_db(tmp_path / "r.sqlite")
    rng = np.random.default_rng(1)
    with ResultsStore.open(path) as store:
        store.write_unit(_mnist_unit("mini", "r45-s4", 45, 4, "none", rng))
        frame = store.scores_frame("mini")
    assert tables.complete_tests(frame) == [key for key, _, _ in MNIST_TESTS]
    assert (tables.headline_table(frame)["n_tests"] == 4).all()
    assert len(tables.per_test_table(frame)) == 5


def test_factor_table_levels_sorted_with_means(mnist_frame):
    long_table = tables.factor_table(mnist_frame, "side")
    assert list(long_table.columns) == ["factor", "level", "method", "class_role", "f1", "n_tests"]
    assert list(dict.fromkeys(long_table["level"])) == [4, 8]
    assert (long_table["n_tests"] == 2).all()
    per_test = tables.per_test_table(mnist_frame)
    expected = per_test.loc[per_test["side"] == 8, "cgan_minority_f1"].mean()
    picked = long_table.query("level == 8 and method == 'cgan' and class_role == 'minority'")
    assert picked["f1"].item() == pytest.approx(expected)


def test_published_comparison_for_mnist_only(mnist_frame):
    headline = tables.headline_table(mnist_frame)
    comparison = tables.published_comparison(headline, MNIST_SPEC)
    assert comparison.loc["minority", "published_cgan"] == 0.701059
    assert comparison.loc["majority", "published_none"] == 0.940310
    assert comparison.loc["minority", "difference_cgan"] == pytest.approx(
        headline.loc["minority", "cgan"] - 0.701059)
    assert "4 of the 144" in comparison.attrs["note"]
    assert "indicative" in comparison.attrs["note"]
    assert tables.published_comparison(headline, TABULAR_SPEC) is None


def _hand_frame(minority_f1: dict[str, dict[str, float]],
                fold_offsets: tuple[float, ...] = (0.0,)) -> pd.DataFrame:
    """A scores frame; majority F1 fixed at 0.9, minority F1 the given value plus each
    fold's offset (the same for every method)."""
    records = []
    for key, by_method in minority_f1.items():
        for method, f1 in by_method.items():
            for fold, offset in enumerate(fold_offsets):
                for label, role, value in ((0, "majority", 0.9), (1, "minority", f1 + offset)):
                    records.append({
                        "study": "s", "test_key": key, "method": method, "source": "x",
                        "seed": 0, "iterations": None, "classifier": "mlp", "cv": "cv",
                        "fit_seconds": 1.0, "eval_seconds": 0.1, "versions": "{}",
                        "finished_at": "", "fold": fold, "class_label": label,
                        "class_role": role, "precision": value, "recall": value, "f1": value,
                        "support": 5, "dataset": key})
    return pd.DataFrame(records)


def test_method_summary_ranks_and_wins():
    frame = _hand_frame({
        "t1": {"none": 0.1, "cgan": 0.9, "smote": 0.5, "random": 0.3},
        "t2": {"none": 0.2, "cgan": 0.4, "smote": 0.6, "random": 0.6},
        "t3": {"none": 0.3, "cgan": 0.8, "smote": 0.8, "random": 0.1},
    })
    summary = tables.method_summary(frame).set_index("method")
    # t1: cgan 1, smote 2, random 3, none 4; t2: smote/random 1.5, cgan 3, none 4;
    # t3: cgan/smote 1.5, none 3, random 4
    assert summary.loc["cgan", "average_rank"] == pytest.approx((1 + 3 + 1.5) / 3)
    assert summary.loc["smote", "average_rank"] == pytest.approx((2 + 1.5 + 1.5) / 3)
    assert summary.loc["random", "average_rank"] == pytest.approx((3 + 1.5 + 4) / 3)
    assert summary.loc["none", "average_rank"] == pytest.approx((4 + 4 + 3) / 3)
    assert summary["wins"].to_dict() == {"smote": 2, "cgan": 2, "random": 1, "none": 0}
    assert list(summary.index) == ["smote", "cgan", "random", "none"]
    assert summary.loc["cgan", "minority_f1"] == pytest.approx((0.9 + 0.4 + 0.8) / 3)
    assert summary.loc["cgan", "majority_f1"] == pytest.approx(0.9)


def test_cgan_vs_best_classic_verdicts():
    frame = _hand_frame({
        "t1": {"none": 0.1, "cgan": 0.9, "smote": 0.5, "random": 0.3},
        "t2": {"none": 0.2, "cgan": 0.4, "smote": 0.6, "random": 0.65},
        "t3": {"none": 0.3, "cgan": 0.803, "smote": 0.8, "random": 0.1},
    }, fold_offsets=(-0.02, -0.01, 0.0, 0.01, 0.02))
    # The same offset in every method's fold: the fold differences are constant, so the
    # correlated t-test's posterior is a point at the difference (within +-0.01: a tie).
    duel = tables.generator_vs_best_classic(frame, "cgan").set_index("test_key")
    assert duel["verdict"].to_dict() == {"t1": "win", "t2": "loss", "t3": "tie"}
    assert duel.loc["t1", "p_better"] == 1.0 and duel.loc["t3", "p_equivalent"] == 1.0
    assert duel["best_classic"].to_dict() == {"t1": "smote", "t2": "random", "t3": "smote"}
    assert duel.loc["t2", "difference"] == pytest.approx(0.4 - 0.65)
    only_gan = _hand_frame({"t1": {"none": 0.1, "cgan": 0.9, "ctgan": 0.5}})
    assert tables.generator_vs_best_classic(only_gan, "cgan") is None
    assert tables.methods_of_kind(frame, "classic") == ["cgan", "smote", "random"][1:]


def test_timings_and_versions(mnist_frame):
    timings = tables.timings_table(mnist_frame).set_index("method")
    assert timings.loc["cgan", "units"] == 4
    assert timings.loc["cgan", "total_fit_seconds"] == pytest.approx(8.0)
    assert timings.loc["none", "mean_fit_seconds"] == pytest.approx(0.5)
    versions = tables.versions_table(mnist_frame).set_index("library")["version"].to_dict()
    assert versions == {"torch": "2.13.0", "numpy": "2.4"}


# -- the report folder ----------------------------------------------------------------------
def test_build_writes_a_complete_folder(mnist_db, tmp_path):
    out = build_report(mnist_db, tmp_path / "report", n_sample_tests=2)
    names = {path.name for path in out.iterdir()}
    assert {"index.html", "report.md", "per_test.csv", "headline.csv", "factors.csv",
            "factor_rotation.png", "factor_side.png", "factor_features.png",
            "losses_cgan.png"} <= names
    assert "factor_n_majority.png" not in names
    for name in names - {"index.html", "report.md"}:
        assert (out / name).stat().st_size > 0
    page = (out / "index.html").read_text()
    for source in re.findall(r'<img src="([^"]+)"', page):
        assert (out / source).is_file()
    assert "subset of the published grid &#x27;paper&#x27;" in page
    assert "0.940310" in page and "A tiny MNIST grid." in page
    assert "n_majority, imbalance_ratio" in page
    markdown = (out / "report.md").read_text()
    assert "![F1 by side](factor_side.png)" in markdown
    assert "| minority |" in markdown
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".report")]


def test_sample_grids_when_the_grid_module_is_there(mnist_db, tmp_path):
    pytest.importorskip("gan_oversampling.report.samples")
    out = build_report(mnist_db, tmp_path / "report", n_sample_tests=2)
    assert (out / "samples_0.png").is_file() and (out / "samples_1.png").is_file()
    assert not (out / "samples_2.png").exists()


def test_csvs_round_trip(mnist_db, mnist_frame, tmp_path):
    out = build_report(mnist_db, tmp_path / "report", n_sample_tests=0)
    per_test = pd.read_csv(out / "per_test.csv")
    pd.testing.assert_frame_equal(per_test, tables.per_test_table(mnist_frame))
    headline = pd.read_csv(out / "headline.csv", index_col="class_role")
    expected = tables.headline_table(mnist_frame)
    pd.testing.assert_frame_equal(headline, expected, check_names=False)
    factors = pd.read_csv(out / "factors.csv")
    assert set(factors["factor"]) == {"rotation", "side", "features", "n_majority",
                                      "imbalance_ratio"}
    assert len(factors) == (2 + 2 + 2 + 1 + 1) * 2 * 2


def test_tabular_study_with_classic_methods(tmp_path):
    rng = np.random.default_rng(3)
    with ResultsStore.open(tmp_path / "t.sqlite") as store:
        _register(store, TABULAR_SPEC)
        for n_majority in (100, 200):
            for method in TABULAR_SPEC["methods"]:
                samples = {("real", 1): rng.normal(size=(10, 5)).astype(np.float32),
                           ("generated", 1): rng.normal(size=(10, 5)).astype(np.float32)}
                store.write_unit(UnitResult(
                    study="tab", test_key=f"dns-{n_majority}", method=method, source="cyber",
                    factors={"dataset": "dns", "n_majority": n_majority},
                    seed=0, iterations=None, classifier="mlp10", cv="skfold5",
                    fit_seconds=1.0, eval_seconds=0.1, versions={"torch": "2.13.0"},
                    scores=_scores(rng), samples=samples if method == "cgan" else {}))
    out = build_report(tmp_path / "t.sqlite", tmp_path / "report")
    markdown = (out / "report.md").read_text()
    assert "## Methods compared" in markdown
    # Arrays stored without column names: named by position, values as stored.
    assert "real against cgan, as stored" in markdown and "| feature 4 |" in markdown
    assert "published" not in markdown
    assert "No training losses were stored." in markdown
    assert (out / "factor_n_majority.png").is_file()
    assert not (out / "factor_dataset.png").exists()


def test_headline_rows(mnist_db, mnist_frame):
    columns, rows = headline_rows(mnist_db)
    assert columns == ["class", "none", "cgan", "tests", "published none", "published cgan"]
    assert rows[1][0] == "minority" and rows[1][3] == "4" and rows[1][5] == "0.701059"
    expected = tables.headline_table(mnist_frame).loc["minority", "cgan"]
    assert rows[1][2] == f"{expected:.6f}"


# -- bad input ------------------------------------------------------------------------------
def test_missing_database(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        build_report(tmp_path / "nothing.sqlite", tmp_path / "report")
    assert not (tmp_path / "nothing.sqlite").exists()


def test_several_studies_need_a_choice(tmp_path):
    path = _mnist_db(tmp_path / "r.sqlite", extra_spec=TABULAR_SPEC)
    with pytest.raises(UserError, match="several studies.*mini, tab"):
        build_report(path, tmp_path / "report")
    with pytest.raises(UserError, match="several studies"):
        headline_rows(path)
    assert build_report(path, tmp_path / "report", study="mini").is_dir()


def test_unknown_and_empty_studies(tmp_path):
    path = _mnist_db(tmp_path / "r.sqlite", extra_spec=TABULAR_SPEC)
    with pytest.raises(UserError, match="no study 'other'; it holds: mini, tab"):
        build_report(path, tmp_path / "report", study="other")
    with pytest.raises(UserError, match="holds no finished results for study tab"):
        build_report(path, tmp_path / "report", study="tab")
    empty = tmp_path / "empty.sqlite"
    ResultsStore.open(empty).close()
    with pytest.raises(UserError, match="holds no studies"):
        build_report(empty, tmp_path / "report")
    assert not (tmp_path / "report").exists()


@pytest.mark.parametrize("count", [-1, 1.5, "2", True])
def test_bad_sample_count(mnist_db, tmp_path, count):
    with pytest.raises(UserError, match="n_sample_tests"):
        build_report(mnist_db, tmp_path / "report", n_sample_tests=count)


def test_refuses_to_replace_a_file_or_a_foreign_folder(mnist_db, tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(UserError, match="is a file"):
        build_report(mnist_db, tmp_path / "afile")
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    with pytest.raises(UserError, match="not a gan-oversampling report"):
        build_report(mnist_db, foreign)
    assert (foreign / "thesis.tex").read_text() == "precious"


def test_failure_keeps_the_old_report(mnist_db, tmp_path, monkeypatch):
    out = build_report(mnist_db, tmp_path / "report", n_sample_tests=0)
    before = {path.name: path.read_bytes() for path in out.iterdir()}

    def broken_plot(*args, **kwargs):
        raise RuntimeError("plotting failed")

    monkeypatch.setattr(plots, "factor_plot", broken_plot)
    with pytest.raises(RuntimeError, match="plotting failed"):
        build_report(mnist_db, tmp_path / "report", n_sample_tests=0)
    after = {path.name: path.read_bytes() for path in out.iterdir()}
    assert after == before
    leftovers = [path.name for path in tmp_path.iterdir() if path.name.startswith(".")]
    assert leftovers == []


def test_rebuild_replaces_its_own_files_and_keeps_the_users(mnist_db, tmp_path):
    out = build_report(mnist_db, tmp_path / "report", n_sample_tests=2)
    assert (out / "samples_0.png").is_file()
    (out / "my-notes.txt").write_text("mine")
    (out / "index.html").write_text("old")
    build_report(mnist_db, tmp_path / "report", n_sample_tests=0)
    assert (out / "my-notes.txt").read_text() == "mine"  # never the user's files
    assert not (out / "samples_0.png").exists()  # the old report's, not written again
    assert (out / "index.html").read_text() != "old"
    assert (out / folder.MARKER).is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_loss_plot_needs_a_fold(tmp_path):
    with pytest.raises(ValueError, match="at least one fold"):
        plots.loss_plot({}, tmp_path / "l.png")
    assert not list(tmp_path.iterdir())
