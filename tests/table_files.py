"""A small labelled CSV as a user brings one, with the columns that make trouble, and a
study file over it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

N_BENIGN, N_ATTACK = 60, 24


def write_flows(path: Path) -> pd.DataFrame:
    """Rows sorted by class, as exports often are: `id` then separates the classes, and
    `verdict` is a second copy of the label. `proto`, `size` and `duration` overlap."""
    rng = np.random.default_rng(0)
    label = np.repeat(["benign", "attack"], [N_BENIGN, N_ATTACK])
    is_attack = label == "attack"
    frame = pd.DataFrame({
        "id": np.arange(len(label)),
        "proto": np.where(is_attack, rng.choice(["tcp", "udp", "icmp"], len(label)),
                          rng.choice(["tcp", "udp"], len(label))),
        "size": np.where(is_attack, rng.integers(80, 400, len(label)),
                         rng.integers(40, 300, len(label))),
        "duration": rng.integers(0, 90, len(label)),
        "label": label,
        "verdict": np.where(is_attack, "bad", "good"),
    })
    frame.to_csv(path, index=False)
    return frame


def study_toml(csv: Path, *, name: str = "flows", exclude=("id", "verdict"),
               categorical=("proto",), methods=("none", "cgan"), more_data: str = "",
               iterations: int = 10, ratios=(0.25, 0.4)) -> str:
    """A study over `csv`: 2 tests, stratified 5-fold, logistic regression, a tiny CGAN."""
    def toml_list(items) -> str:
        return "[" + ", ".join(f'"{item}"' for item in items) + "]"

    return f"""
name = "{name}"
methods = {toml_list(methods)}

[data]
kind = "table"
path = "{csv.as_posix()}"
label_column = "label"
majority = ["benign"]
minority = ["attack"]
categorical = {toml_list(categorical)}
exclude = {toml_list(exclude)}
majority_sizes = [50]
imbalance_ratios = [{", ".join(str(ratio) for ratio in ratios)}]
{more_data}

[evaluation]
cv = "stratified"
classifier = "logistic-regression"

[cgan]
iterations = {iterations}
device = "cpu"
generator_hidden = [16, 16, 16]
discriminator_hidden = [16, 16, 16]
"""
