"""Built-in studies: the published grids, quick subsets of them, and every way to handle
imbalance against the CGAN on the cybersecurity and NSL-KDD tests."""

from __future__ import annotations

import json
from pathlib import Path

from gan_oversampling.errors import UserError
from gan_oversampling.samplers.registry import BASELINE, CGAN
from gan_oversampling.study.spec import StudySpec, load_study_file, parse_study

BASELINE_AND_CGAN = [BASELINE, CGAN]
# The published cybersecurity study's methods (later classic oversamplers are not in it).
CLASSIC_AND_CGAN = [BASELINE, "random", "smote", "borderline-smote", "adasyn", CGAN]
# The original study's generator output: raw tanh values, never clipped or rounded.
PAPER_MNIST_CGAN = {"output_range": "tanh"}
# The cybersecurity study's CGAN: the protocol settings, a fixed 1,500 iterations.
PAPER_CYBER_CGAN = {"iterations": 1500, "latent_dim": 50, "batch_size": 32, "output_range": "tanh"}
STRATIFIED_5 = {"cv": "stratified", "n_splits": 5}


def _half_fraction(**levels: tuple) -> list[dict]:
    """The 2^(4-1) design: the last factor's level is the product of the others' signs."""
    names = list(levels)
    points = []
    for code in range(2 ** (len(names) - 1)):
        signs = [(code >> bit) & 1 for bit in range(len(names) - 1)]
        signs.append(sum(signs) % 2)
        points.append({name: levels[name][sign] for name, sign in zip(names, signs, strict=True)})
    return points


PRESETS: dict[str, dict] = {
    "paper-mnist": {
        "name": "paper-mnist",
        "description": (
            "The published imagery study: MNIST fours vs rotated fours, 144 tests "
            "(rotation x side x majority size x imbalance ratio), KFold 5, the original "
            "classifier and CGAN trained for a fixed 1,500 iterations."
        ),
        "data": {"kind": "mnist"},
        "methods": BASELINE_AND_CGAN,
        CGAN: PAPER_MNIST_CGAN,
    },
    "quick": {
        "name": "quick",
        "description": (
            "A subset of paper-mnist with the same settings: 8 of the 144 tests, a half "
            "fraction of the 2^4 design with every factor at two levels (rotation 30/90, "
            "side 8/4, majority size 200/100, imbalance ratio 0.4/0.1), each level in 4 tests."
        ),
        "subset_of": "paper-mnist",
        "data": {
            "kind": "mnist",
            "rotations": [30, 90],
            "sides": [8, 4],
            "majority_sizes": [200, 100],
            "imbalance_ratios": [0.4, 0.1],
        },
        "tests": _half_fraction(
            rotation=(30, 90), side=(8, 4), n_majority=(200, 100), imbalance_ratio=(0.4, 0.1)
        ),
        "methods": BASELINE_AND_CGAN,
        CGAN: PAPER_MNIST_CGAN,
    },
    "paper-cyber": {
        "name": "paper-cyber",
        "description": (
            "The published cybersecurity study: the author's seven datasets (Android malware "
            "syscalls and binders, DNS-over-HTTPS, URL defacement and spam, Tor), 16 variants "
            "each (majority size 100/200/500/1000 x imbalance ratio 0.1/0.2/0.3/0.4), 112 "
            "tests; stratified 5-fold; the classic oversamplers and a CGAN trained for a fixed "
            "1,500 iterations with latent size 50 and batch 32 (the author's later runs used "
            "latent size 100 and batch 128)."
        ),
        "data": {"kind": "cyber"},
        "methods": CLASSIC_AND_CGAN,
        CGAN: PAPER_CYBER_CGAN,
        "evaluation": STRATIFIED_5,
    },
    "quick-cyber": {
        "name": "quick-cyber",
        "description": (
            "A subset of paper-cyber with the same settings: three datasets of 22, 29 and 130 "
            "features (tor, cira, cic_syscalls_adware), majority size 100/1000, imbalance "
            "ratio 0.1/0.4; 12 of the 112 tests."
        ),
        "subset_of": "paper-cyber",
        "data": {
            "kind": "cyber",
            "datasets": ["tor", "cira", "cic_syscalls_adware"],
            "majority_sizes": [100, 1000],
            "imbalance_ratios": [0.1, 0.4],
        },
        "methods": CLASSIC_AND_CGAN,
        CGAN: PAPER_CYBER_CGAN,
        "evaluation": STRATIFIED_5,
    },
    "nsl-kdd": {
        "name": "nsl-kdd",
        "description": (
            "NSL-KDD (KDDTrain+_20Percent and KDDTest+ as one pool): normal traffic against "
            "each attack family (DoS, Probe, R2L, U2R), majority size 50/100/150 x imbalance "
            "ratio 0.1/0.2/0.3/0.4, 48 tests. U2R has 78 rows, so 150 x 0.4 (60 rows) is the "
            "largest grid point every task allows. Categories one-hot, numbers scaled to "
            "[-1, 1] on each training fold; stratified 5-fold; the cybersecurity study's "
            "methods and CGAN."
        ),
        "data": {
            "kind": "nsl-kdd",
            "tasks": [
                {"name": f"normal-vs-{family}", "majority": ["normal"], "minority": [family]}
                for family in ("DoS", "Probe", "R2L", "U2R")
            ],
            "majority_sizes": [50, 100, 150],
            "imbalance_ratios": [0.1, 0.2, 0.3, 0.4],
            "scaling": "fold",
        },
        "methods": CLASSIC_AND_CGAN,
        CGAN: PAPER_CYBER_CGAN,
        "evaluation": STRATIFIED_5,
    },
    "any-table-demo": {
        "name": "any-table-demo",
        "description": (
            "All four difficulty factors on one table, NSL-KDD normal traffic against Probe "
            "attacks: columns kept 8/41 (dimensionality), overlap 0/0.5 (a share of the "
            "minority replaced by majority rows), majority size 100/400 and imbalance ratio "
            "0.1/0.4, a half fraction of the 2^4 design (8 tests, each level in 4). "
            "Categories one-hot, numbers scaled on each training fold; stratified 5-fold; "
            "the classic oversamplers and a CGAN of 1,500 iterations; the fast data "
            "complexity measures of every test."
        ),
        "data": {
            "kind": "nsl-kdd",
            "tasks": [{"name": "normal-vs-Probe", "majority": ["normal"], "minority": ["Probe"]}],
            "feature_counts": [8, 41],
            "overlaps": [0, 0.5],
            "majority_sizes": [100, 400],
            "imbalance_ratios": [0.1, 0.4],
            "scaling": "fold",
        },
        "tests": _half_fraction(
            columns=(8, 41), overlap=(0, 0.5), n_majority=(100, 400), imbalance_ratio=(0.1, 0.4)
        ),
        "methods": CLASSIC_AND_CGAN,
        CGAN: {"iterations": 1500},
        "evaluation": STRATIFIED_5,
        "complexity": {},
    },
}


def _part(preset: str) -> dict:
    """A preset's data table, to be a part of a suite."""
    return PRESETS[preset]["data"]


# Every way to handle imbalance, each on the same folds (see samplers/registry.py).
SHOWDOWN_METHODS = [
    BASELINE, "random", "smote", "borderline-smote", "adasyn", "smote-tomek", "smote-enn",
    "polynom-fit-smote", "prowsyn", CGAN, "random-under", "easy-ensemble", "class-weight",
    "threshold", "smote+threshold", f"{CGAN}+threshold",
]
PRESETS["imbalance-showdown"] = {
    "name": "imbalance-showdown",
    "description": (
        "Every way to handle imbalance against the CGAN, on the quick-cyber tests and the "
        "NSL-KDD tasks (60 tests): no resampling; random, SMOTE, Borderline-SMOTE, ADASYN, "
        "SMOTE-Tomek, SMOTE-ENN, polynom-fit-SMOTE and ProWSyn oversampling; the CGAN; "
        "random undersampling and EasyEnsemble; class weights; a decision threshold tuned "
        "for minority F1 on inner folds, alone and after SMOTE and the CGAN. Each crossed "
        "with weak learners (logistic regression, the paper's network) and a strong one "
        "(LightGBM); stratified 5-fold; the CGAN for 1,500 iterations."
    ),
    "data": {"kind": "suite", "parts": [_part("quick-cyber"), _part("nsl-kdd")]},
    "methods": SHOWDOWN_METHODS,
    CGAN: {"iterations": 1500},
    "evaluation": {**STRATIFIED_5,
                   "classifier": ["logistic-regression", "paper-mlp", "lightgbm"]},
}


# Every batched generator family against the classic oversamplers, on the same folds.
FAMILY_METHODS = [BASELINE, "random", "smote", "borderline-smote", "adasyn", CGAN, "wgan-gp",
                  "tab-ddpm"]
PRESETS["generator-families"] = {
    "name": "generator-families",
    "description": (
        "Is it GANs, or this GAN? The quick-cyber tests (tor, cira, cic_syscalls_adware; "
        "majority size 100/1000, imbalance ratio 0.1/0.4; 12 tests) with every batched "
        "generator family at its defaults: the paper's CGAN (as in paper-cyber), a "
        "conditional WGAN-GP with an auxiliary classifier and a TabDDPM-style diffusion "
        "model; against no resampling and random, SMOTE, Borderline-SMOTE and ADASYN "
        "oversampling; the paper's network; stratified 5-fold."
    ),
    "subset_of": "paper-cyber",
    "data": _part("quick-cyber"),
    "methods": FAMILY_METHODS,
    CGAN: PAPER_CYBER_CGAN,
    "evaluation": STRATIFIED_5,
}


def preset_names() -> list[str]:
    return sorted(PRESETS)


def resolve_study(name_or_path: str) -> StudySpec:
    """A preset name, or the path of a TOML study file."""
    if name_or_path in PRESETS:
        return parse_study(PRESETS[name_or_path], f"preset {name_or_path}")
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        return load_study_file(path)
    raise UserError(
        f"unknown study '{name_or_path}': give a preset ({', '.join(preset_names())}) "
        "or the path of a .toml study file"
    )


def preset_as_toml(name: str) -> str:
    """A preset written out as a complete study file (every default spelled out)."""
    spec = resolve_study(name).model_dump(mode="json")
    tables = {key: value for key, value in spec.items() if isinstance(value, dict)}
    lines = [f"{key} = {_toml_value(value)}" for key, value in spec.items()
             if key not in tables and value is not None]
    for table, fields in tables.items():
        lines += ["", f"[{table}]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in fields.items()
                  if value is not None]
    return "\n".join(lines) + "\n"


def _toml_value(value) -> str:
    if isinstance(value, dict):  # an inline table, e.g. one task of a KDD study
        fields = [f"{key} = {_toml_value(item)}" for key, item in value.items() if item is not None]
        return "{ " + ", ".join(fields) + " }"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return repr(value)
