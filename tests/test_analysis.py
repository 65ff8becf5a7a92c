"""The analysis scripts: bf16 emulation equals autocast, seed 0 equals the study's baseline."""

from __future__ import annotations

import importlib.util
import sqlite3
import sys
from pathlib import Path

import pytest
import torch

from gan_oversampling.errors import UserError
from gan_oversampling.samplers.registry import get_method
from gan_oversampling.study.presets import resolve_study
from gan_oversampling.study.runner import select_cases
from gan_oversampling.study.store import ResultsStore
from gan_oversampling.study.units import PreparedTest, run_method

REPO_ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    path = REPO_ROOT / "analysis" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"analysis_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_emulated_bf16_products_equal_autocast_forward_and_backward():
    bf16 = _load("bf16_f1")
    generator = torch.Generator().manual_seed(0)
    shapes = [(3, 1, 7), (3, 5, 6), (3, 6, 7)]
    tensors = [torch.randn(s, generator=generator, requires_grad=True) for s in shapes]
    upstream = torch.randn(3, 5, 7, generator=generator)

    def product_and_grads(context):
        for tensor in tensors:
            tensor.grad = None
        with context:
            out = torch.baddbmm(*tensors)
        out.backward(upstream.to(out.dtype))
        return [out.float()] + [tensor.grad.clone() for tensor in tensors]

    expected = product_and_grads(torch.autocast("cpu", dtype=torch.bfloat16))
    emulated = product_and_grads(bf16.Bfloat16Products())
    plain = product_and_grads(torch.autocast("cpu", enabled=False))
    for want, got in zip(expected, emulated, strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-6)
    assert not torch.equal(plain[0], expected[0])  # the rounding does change the numbers


def test_emulation_leaves_other_operations_alone():
    bf16 = _load("bf16_f1")
    a = torch.tensor([1.0 + 2.0**-12])
    with bf16.Bfloat16Products():
        assert torch.equal(a * 1.0, a)


def test_bf16_comparison_names_a_missing_results_file(tmp_path):
    bf16 = _load("bf16_f1")
    args = bf16._parse_args(["--fp32-db", "x", "--db", "y", "--emulate"])
    fp32_spec, bf16_spec = bf16._specs(args)
    assert bf16_spec.name == "paper-mnist-bf16-emulated"
    assert bf16_spec.methods == ["cgan"] and bf16_spec.tests == resolve_study("quick").tests
    assert fp32_spec.settings_hash() != bf16_spec.settings_hash()
    with pytest.raises(UserError, match="no results file"):
        bf16._compare(fp32_spec, bf16_spec, tmp_path / "a.sqlite", tmp_path / "b.sqlite")


def test_fidelity_seed_zero_reproduces_the_study_baseline():
    fidelity = _load("baseline_fidelity")
    args = fidelity._parse_args(
        ["--variants", "paper", "--seeds", "1"]
        + ["--only", "side=4", "--only", "rotation=90", "--only", "n_majority=100"]
        + ["--only", "imbalance_ratio=0.4"]
    )
    rows = fidelity.run(args)
    assert [row["test_key"] for row in rows] == ["rot90-side4-n100-ir0.4"]

    spec = resolve_study("paper-mnist")
    source = spec.data.build_source(None)
    case = select_cases(
        source.cases(),
        {"side": ["4"], "rotation": ["90"], "n_majority": ["100"], "imbalance_ratio": ["0.4"]},
    )[0]
    test = PreparedTest.build(case, *source.load(case), spec, source)
    (unit,) = run_method(spec, [test], get_method("none"), lambda work, text: None)
    minority = [s["f1"] for s in unit.scores if s["class_role"] == "minority"]
    assert rows[0]["minority_f1"] == pytest.approx(sum(minority) / len(minority), abs=1e-12)


def test_fidelity_rejects_unknown_variant(capsys):
    fidelity = _load("baseline_fidelity")
    code = fidelity.main(["--variants", "sklearn"])
    assert code == 2
    assert "variants must be among" in capsys.readouterr().err


# -- compare_runs ------------------------------------------------------------------------------
def _scores_db(path, f1_of_fold_1: float = 0.5):
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE results(study, test_key, method, fold, class_label, precision, recall,"
            " f1, support)"
        )
        for fold, f1 in ((0, 0.25), (1, f1_of_fold_1)):
            connection.execute(
                "INSERT INTO results VALUES ('s', 't', 'cgan', ?, 1, 0.5, 0.5, ?, 4)", (fold, f1)
            )


def _compare(first, second, study: str = "s") -> int:
    return _load("compare_runs").main([str(first), str(second), "--study", study])


def test_compare_runs_finds_identical_and_differing_rows(tmp_path, capsys):
    _scores_db(tmp_path / "a.sqlite")
    _scores_db(tmp_path / "b.sqlite")
    _scores_db(tmp_path / "c.sqlite", f1_of_fold_1=0.5 + 1e-12)
    assert _compare(tmp_path / "a.sqlite", tmp_path / "b.sqlite") == 0
    assert "rows that differ (exact float comparison): 0" in capsys.readouterr().out
    assert _compare(tmp_path / "a.sqlite", tmp_path / "c.sqlite") == 1
    out = capsys.readouterr().out
    assert "differ (exact float comparison): 1 (methods: cgan)" in out and "f1 1e-12" in out


def test_compare_runs_bad_input_is_one_line(tmp_path, capsys):
    _scores_db(tmp_path / "a.sqlite")
    assert _compare(tmp_path / "a.sqlite", tmp_path / "x.sqlite") == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'x.sqlite'} does not exist"
    assert _compare(tmp_path / "a.sqlite", tmp_path / "a.sqlite", study="q") == 2
    assert "holds no scores of study 'q'" in capsys.readouterr().err
    (tmp_path / "junk.sqlite").write_text("not a database")
    assert _compare(tmp_path / "junk.sqlite", tmp_path / "a.sqlite") == 2
    assert "is not a results database" in capsys.readouterr().err


STOPPING_STUDY = """
name = "tiny"
methods = ["none", "cgan"]
[data]
kind = "mnist"
rotations = [90]
sides = [4]
majority_sizes = [100]
imbalance_ratios = [0.4]
[evaluation]
cv = "stratified"
classifier = "logistic-regression"
[cgan]
latent_dim = 8
generator_hidden = [16, 16, 16]
discriminator_hidden = [16, 16, 16]
"""


def test_stopping_evidence_runs_every_variant_and_compares_it(tmp_path, capsys):
    evidence = _load("stopping_evidence")
    study = tmp_path / "tiny.toml"
    study.write_text(STOPPING_STUDY)
    args = [str(study), "--db", str(tmp_path / "r.sqlite"), "--oracles", "mmd,cas-real",
            "--iterations", "10", "--eval-every", "5", "--patience", "1", "--workers", "1"]
    assert evidence.main(args) == 0
    printed = capsys.readouterr().out
    assert "wins/ties/losses" in printed and "GAN iterations" in printed
    variants = evidence.variants_of(resolve_study(str(study)), evidence.parse_args(args))
    table = evidence.summary(variants, tmp_path / "r.sqlite", 0.005).set_index("variant")
    assert list(table.index) == ["fixed 10", "patience mmd (max 10)",
                                 "patience cas-real (max 10)"]
    assert table.loc["fixed 10", "GAN iterations"] == 50  # 5 folds x 10 iterations
    assert (table["GAN iterations"] <= 50).all() and (table["tests"] == 1).all()
    assert table["wins/ties/losses"].str.fullmatch(r"\d/\d/\d").all()
    against_fixed = table["minority F1 - fixed [95%]"]
    assert against_fixed.iloc[0] == ""
    number = r"[+-]\d\.\d{4}"  # one test: its difference, and no interval
    assert against_fixed.iloc[1:].str.fullmatch(rf"{number} \[[+-]?nan, [+-]?nan\]").all()
    with ResultsStore.open(tmp_path / "r.sqlite", readonly=True) as store:
        assert store.studies() == ["tiny-fixed-10", "tiny-patience-mmd", "tiny-patience-cas-real"]
        methods = set(store.scores_frame("tiny-fixed-10")["method"])
        assert methods == {"none", "random", "smote", "borderline-smote", "adasyn", "cgan"}
        assert set(store.scores_frame("tiny-patience-mmd")["method"]) == {"cgan"}


def test_stopping_evidence_reuses_a_run_of_the_study_as_given(tmp_path, capsys):
    """A study that already is the fixed variant keeps its name, so a finished run of it
    is not trained again; the summary counts only the tests `--only` selects."""
    evidence = _load("stopping_evidence")
    study = tmp_path / "tiny.toml"
    study.write_text(STOPPING_STUDY.replace("majority_sizes = [100]", "majority_sizes = [100, 60]")
                     + "iterations = 10\n")
    db = tmp_path / "r.sqlite"
    assert evidence.main([str(study), "--db", str(db), "--oracles", "mmd", "--eval-every",
                          "5", "--patience", "1", "--workers", "1"]) == 0
    with ResultsStore.open(db, readonly=True) as store:
        assert store.studies() == ["tiny", "tiny-patience-mmd"]
        first = store.scores_frame("tiny")
    # Run again on one test: nothing is trained anew, the table is of that test alone.
    args = [str(study), "--db", str(db), "--oracles", "mmd", "--eval-every", "5",
            "--patience", "1", "--workers", "1", "--only", "n_majority=60"]
    capsys.readouterr()
    assert evidence.main(args) == 0
    with ResultsStore.open(db, readonly=True) as store:
        assert store.scores_frame("tiny")["finished_at"].equals(first["finished_at"])
    spec = resolve_study(str(study))
    variants = evidence.variants_of(spec, evidence.parse_args(args))
    keys = evidence.selected_keys(variants[0], None, {"n_majority": ["60"]})
    table = evidence.summary(variants, db, 0.005, None, keys).set_index("variant")
    assert (table["tests"] == 1).all() and table.loc["fixed 10", "GAN iterations"] == 50
    # A results file written before stops were recorded: iterations come from the losses.
    with sqlite3.connect(db) as connection:
        connection.execute("DELETE FROM gan_stops")
    table = evidence.summary(variants, db, 0.005, None, keys).set_index("variant")
    assert table.loc["fixed 10", "GAN iterations"] == 50


@pytest.mark.parametrize("bad, message", [(["--oracles", "fid"], "unknown fid"),
                                          (["--only", "side"], "--only 'side'"),
                                          (["--patience", "0"], "patience")])
def test_stopping_evidence_refuses_bad_input_in_one_line(tmp_path, capsys, bad, message):
    evidence = _load("stopping_evidence")
    study = tmp_path / "tiny.toml"
    study.write_text(STOPPING_STUDY)
    assert evidence.main([str(study), "--db", str(tmp_path / "r.sqlite"), *bad]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r.sqlite").exists()


def test_compare_runs_across_study_names_and_methods(tmp_path, capsys):
    _scores_db(tmp_path / "a.sqlite")
    with sqlite3.connect(tmp_path / "b.sqlite") as connection:
        connection.execute("CREATE TABLE results(study, test_key, method, fold, class_label,"
                           " precision, recall, f1, support)")
        for method, f1 in (("cgan", 0.25), ("smote", 0.9)):
            connection.execute("INSERT INTO results VALUES ('big', 't', ?, 0, 1, 0.5, 0.5, ?, 4)",
                               (method, f1))
    main = _load("compare_runs").main
    args = [str(tmp_path / "a.sqlite"), str(tmp_path / "b.sqlite"), "--study", "s"]
    # fold 0 of cgan is in both and equal; fold 1 only in the first: a subset, not a failure
    assert main([*args, "--second-study", "big", "--methods", "cgan"]) == 0
    out = capsys.readouterr().out
    assert "1 rows in both, 1 only in the first, 0 only in the second" in out
    assert main([*args, "--second-study", "big"]) == 0  # smote only in the second
    assert "0 only in the first" not in capsys.readouterr().out
