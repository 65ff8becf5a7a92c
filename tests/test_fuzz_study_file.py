"""Any study file ends in a run or in one line with exit status 2, never a traceback.

Property-based: hypothesis writes study files from the study's own vocabulary (known
tables and fields, plausible and absurd values) and from raw text, and hands each to the
command line's entry point. Training is replaced by a stub: what is fuzzed is everything
before it (parsing, validation, data, folds, the results file).
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_entry import call_main
from gan_oversampling.study import runner

FIELDS = {
    None: ["name", "seed", "methods", "description", "subset_of", "tests", "colour"],
    "data": ["kind", "rotations", "sides", "majority_sizes", "imbalance_ratios", "path",
             "datasets", "tasks", "scaling", "label_column"],
    "evaluation": ["cv", "n_splits", "cv_seed", "classifier", "folds"],
    "cgan": ["iterations", "latent_dim", "batch_size", "learning_rate", "dtype", "device",
             "output_range", "generator_hidden", "dropout", "beta1"],
    "ctgan": ["epochs", "batch_size"],
}
WORDS = ["mnist", "cyber", "table", "kfold", "stratified", "none", "cgan", "smote", "knn",
         "logistic-regression", "cpu", "float32", "tanh", "", "x", "../x.csv", "s"]
SCALARS = st.one_of(
    st.integers(-3, 3), st.sampled_from([4, 8, 28, 100, 5842, 10**9, -1, 0]),
    st.sampled_from([0.1, 0.4, 1.0, 1.5, -0.2, 30.0, 90.0, 1e300, math.nan, math.inf]),
    st.booleans(), st.sampled_from(WORDS), st.text(max_size=8),
)
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3),
                   st.lists(st.dictionaries(st.sampled_from(["rotation", "side", "n"]),
                                            SCALARS, max_size=2), max_size=2))


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") \
            if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return "[" + ", ".join(_toml_value(item) for item in value) + "]"


@st.composite
def study_files(draw) -> str:
    if draw(st.integers(0, 9)) == 0:  # now and then, any text at all
        return draw(st.text(max_size=60))
    lines = []
    for table, fields in FIELDS.items():
        chosen = draw(st.dictionaries(st.sampled_from(fields), VALUES, max_size=4))
        if table is None:
            chosen.setdefault("name", "fuzz")
        elif not chosen and draw(st.booleans()):
            continue
        else:
            lines.append(f"[{table}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in chosen.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def no_training(monkeypatch):
    """run_study with its checks but without training."""

    def checked_only(spec, store, *args, checked=None, **kwargs):
        store.register_study(spec.name, spec.settings_hash(), spec.model_dump_json())
        return 0

    monkeypatch.setattr(runner, "run_study", checked_only)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=study_files())
def test_any_study_file_runs_or_is_one_line(no_training, capsys, text):
    with tempfile.TemporaryDirectory() as folder:
        study = Path(folder) / "study.toml"
        study.write_text(text, encoding="utf-8")
        code, _, err = call_main(
            capsys, "run", study, "--db", f"{folder}/r.sqlite", "--workers", "1"
        )
    assert code in (0, 2), err
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), err
