"""The per-fold oversamplers a study names: classic ones and the optional CTGAN."""

from __future__ import annotations

import sys
from collections import Counter

import numpy as np
import pytest
import torch
from imblearn.over_sampling import SMOTE
from sklearn.utils._param_validation import InvalidParameterError

from gan_oversampling.errors import UserError
from gan_oversampling.samplers import classic
from gan_oversampling.samplers.base import TrainingFold
from gan_oversampling.samplers.ctgan import (
    MISSING_PACKAGE,
    CTGANOversampler,
    fold_batch_size,
)
from gan_oversampling.samplers.registry import METHODS, get_method, names_of_kind
from gan_oversampling.study.units import minority_deficit

# The plain oversamplers of imbalanced-learn; those that clean after SMOTE and the
# smote-variants ones are tested in test_alternatives.py.
CLASSIC_SAMPLERS = ["random", "smote", "borderline-smote", "adasyn"]
EXACTLY_BALANCING = ("random", "smote", "borderline-smote")


def _fold(n_majority: int, n_minority: int, shift: float = 0.5, seed: int = 0):
    """Two overlapping Gaussian classes, majority rows first (labels 0 and 1)."""
    rng = np.random.default_rng(seed)
    X = np.vstack(
        [rng.normal(0, 1, (n_majority, 4)), rng.normal(shift, 1, (n_minority, 4))]
    ).astype(np.float32)
    y = np.repeat(np.array([0, 1], dtype=np.int64), [n_majority, n_minority])
    return X, y


def _training_fold(X, y, seed: int = 0) -> TrainingFold:
    return TrainingFold(X, y, minority_deficit(y), (seed,))


def _resample(name: str, X, y, seed: int = 0):
    resampled = get_method(name).resample([_training_fold(X, y, seed)]).folds[0]
    return resampled.X, resampled.y


# -- classic oversamplers --------------------------------------------------------------------
def test_the_registry_knows_every_method_once_with_its_kind():
    assert list(METHODS) == [
        "none", "random", "smote", "borderline-smote", "adasyn", "smote-tomek", "smote-enn",
        "polynom-fit-smote", "prowsyn", "cgan", "ctgan", "wgan-gp", "tab-ddpm", "random-under",
        "easy-ensemble", "class-weight", "threshold",
    ]
    kinds = {name: method.kind for name, method in METHODS.items()}
    assert kinds["none"] == "baseline" and kinds["cgan"] == kinds["ctgan"] == "generative"
    assert names_of_kind("classic") == [*CLASSIC_SAMPLERS, "smote-tomek", "smote-enn",
                                        "polynom-fit-smote", "prowsyn"]
    assert names_of_kind("alternative") == ["random-under", "easy-ensemble", "class-weight",
                                            "threshold"]
    # A study derives each resampling method's seed under the method's own name.
    assert all(METHODS[name].seed_streams == (name,)
               for name in [*names_of_kind("classic"), "random-under"])


@pytest.mark.parametrize("name", EXACTLY_BALANCING)
def test_classic_sampler_balances_the_fold_and_keeps_its_rows_first(name):
    X, y = _fold(60, 9)
    X_res, y_res = _resample(name, X, y)
    assert Counter(y_res.tolist()) == {0: 60, 1: 60}
    np.testing.assert_array_equal(X_res[: len(X)], X)
    np.testing.assert_array_equal(y_res[: len(y)], y)
    assert X_res.dtype == np.float32


def test_a_study_fold_gets_exactly_what_imblearn_gives_by_default():
    # The registry asks for the minority deficit explicitly; imblearn's "auto" is the same.
    X, y = _fold(60, 9)
    X_res, y_res = _resample("smote", X, y, seed=5)
    X_auto, y_auto = SMOTE(k_neighbors=5, random_state=5).fit_resample(X, y)
    np.testing.assert_array_equal(X_res, X_auto)
    np.testing.assert_array_equal(y_res, y_auto)


def test_adasyn_nearly_balances_the_fold():
    # ADASYN rounds a count per minority row, so the total misses balance by a few rows.
    X, y = _fold(60, 9)
    X_res, y_res = _resample("adasyn", X, y)
    counts = np.bincount(y_res)
    assert counts[0] == 60
    assert abs(counts[1] - 60) <= 6
    np.testing.assert_array_equal(X_res[: len(X)], X)


@pytest.mark.parametrize("name", CLASSIC_SAMPLERS)
def test_same_seed_same_rows_other_seed_other_rows(name):
    X, y = _fold(60, 9)
    first_X, first_y = _resample(name, X, y, seed=3)
    again_X, again_y = _resample(name, X, y, seed=3)
    other_X, _ = _resample(name, X, y, seed=4)
    np.testing.assert_array_equal(first_X, again_X)
    np.testing.assert_array_equal(first_y, again_y)
    assert first_X.shape != other_X.shape or not np.array_equal(first_X, other_X)


@pytest.mark.parametrize("n_minority", [2, 3, 5])
@pytest.mark.parametrize("name", CLASSIC_SAMPLERS)
def test_tiny_minority_folds_are_oversampled(name, n_minority):
    X, y = _fold(40, n_minority)
    X_res, y_res = _resample(name, X, y)
    counts = np.bincount(y_res)
    assert counts[0] == 40
    assert counts[1] > n_minority
    assert abs(counts[1] - 40) <= (6 if name == "adasyn" else 0)
    assert np.isfinite(X_res).all()


def test_neighbour_count_shrinks_to_the_minority_rows():
    X, y = _fold(40, 3)
    smote = classic._smote(_training_fold(X, y), None)
    assert isinstance(smote, SMOTE) and smote.k_neighbors == 2
    X, y = _fold(40, 9)
    assert classic._adasyn(_training_fold(X, y), None).n_neighbors == 5


@pytest.mark.parametrize("name", ["smote", "borderline-smote", "adasyn"])
def test_one_minority_row_is_a_user_error_for_interpolating_samplers(name):
    X, y = _fold(40, 1)
    with pytest.raises(UserError, match=f"'{name}' needs at least 2 minority rows"):
        _resample(name, X, y)


def test_one_minority_row_is_enough_for_random_oversampling():
    X, y = _fold(40, 1)
    X_res, y_res = _resample("random", X, y)
    assert Counter(y_res.tolist()) == {0: 40, 1: 40}
    np.testing.assert_array_equal(X_res[y_res == 1], np.repeat(X[-1:], 40, axis=0))


@pytest.mark.parametrize("name", [*CLASSIC_SAMPLERS, "ctgan"])
def test_a_fold_without_minority_rows_is_a_user_error(name):
    X = np.zeros((30, 4), dtype=np.float32)
    y = np.zeros(30, dtype=np.int64)
    with pytest.raises(UserError, match="needs at least 1 minority row"):
        _resample(name, X, y)


def test_adasyn_without_any_majority_neighbour_is_a_user_error():
    X, y = _fold(40, 4, shift=50.0)
    with pytest.raises(UserError, match="'adasyn' cannot oversample"):
        _resample("adasyn", X, y)


@pytest.mark.parametrize("name", ["SMOTE", "", "tomek"])
def test_unknown_method_name_is_a_user_error_listing_the_known_ones(name):
    with pytest.raises(UserError, match=f"unknown method '{name}'; known: none, random, smote"):
        get_method(name)


def test_the_baseline_keeps_every_fold_as_it_is():
    X, y = _fold(40, 5)
    kept = get_method("none").resample([_training_fold(X, y)]).folds[0]
    assert kept.X is X and kept.y is y


# -- CTGAN -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("batch_size", "n_rows", "expected"),
    [(500, 176, 170), (500, 1120, 500), (500, 7, 10), (55, 1000, 50), (500, 500, 500)],
)
def test_ctgan_batch_is_a_multiple_of_ten_within_the_fold(batch_size, n_rows, expected):
    assert fold_batch_size(batch_size, n_rows) == expected


def test_ctgan_init_only_stores_its_parameters():
    sampler = CTGANOversampler(epochs=-3, batch_size="big")
    assert sampler.get_params()["epochs"] == -3
    assert sampler.get_params()["batch_size"] == "big"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"epochs": 0}, "'epochs' parameter"),
        ({"epochs": 2.5}, "'epochs' parameter"),
        ({"epochs": True}, "'epochs' parameter"),
        ({"batch_size": 8}, "'batch_size' parameter"),
        ({"batch_size": "500"}, "'batch_size' parameter"),
    ],
)
def test_ctgan_bad_settings_raise_sklearns_parameter_error(params, message):
    X, y = _fold(40, 8)
    with pytest.raises(InvalidParameterError, match=message):
        CTGANOversampler(random_state=0, **params).fit_resample(X, y)


def test_ctgan_without_the_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ctgan", None)  # makes `import ctgan` fail
    X, y = _fold(40, 8)
    with pytest.raises(UserError) as caught:
        CTGANOversampler(random_state=0, epochs=1).fit_resample(X, y)
    assert str(caught.value) == MISSING_PACKAGE
    assert "pip install ctgan" in MISSING_PACKAGE and "BUSL-1.1" in MISSING_PACKAGE


def test_ctgan_balanced_fold_is_returned_without_training():
    pytest.importorskip("ctgan")
    X, y = _fold(20, 20)
    sampler = CTGANOversampler(random_state=0, epochs=1)
    X_res, y_res = sampler.fit_resample(X, y)
    np.testing.assert_array_equal(X_res, X)
    np.testing.assert_array_equal(y_res, y)
    assert sampler.training_seconds_ == 0.0


@pytest.fixture(scope="module")
def ctgan_runs():
    """Two tiny fits with the same seed under different global random states."""
    pytest.importorskip("ctgan")
    X, y = _fold(40, 8)
    numpy_saved, torch_saved = np.random.get_state(), torch.get_rng_state()
    try:
        runs = [_fit_under_global_seed(X, y, global_seed) for global_seed in (11, 12)]
    finally:
        np.random.set_state(numpy_saved)
        torch.set_rng_state(torch_saved)
    return X, y, runs


def _fit_under_global_seed(X, y, global_seed: int) -> dict:
    # Global state set on purpose: the sampler must neither depend on it nor change it.
    np.random.seed(global_seed)
    torch.manual_seed(global_seed)
    numpy_before, torch_before = np.random.get_state(), torch.get_rng_state()
    sampler = CTGANOversampler(random_state=5, epochs=2)
    X_res, y_res = sampler.fit_resample(X, y)
    return {
        "sampler": sampler,
        "resampled": (X_res, y_res),
        "numpy_kept": _same_numpy_state(numpy_before, np.random.get_state()),
        "torch_kept": torch.equal(torch_before, torch.get_rng_state()),
    }


def _same_numpy_state(before, after) -> bool:
    return all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))


def test_ctgan_balances_and_keeps_the_original_rows_first(ctgan_runs):
    X, y, runs = ctgan_runs
    X_res, y_res = runs[0]["resampled"]
    assert Counter(y_res.tolist()) == {0: 40, 1: 40}
    np.testing.assert_array_equal(X_res[: len(X)], X)
    np.testing.assert_array_equal(y_res[: len(y)], y)
    assert X_res.dtype == np.float32 and np.isfinite(X_res).all()
    assert runs[0]["sampler"].batch_size_ == 40
    assert runs[0]["sampler"].training_seconds_ > 0


def test_ctgan_same_seed_repeats_whatever_the_global_random_state(ctgan_runs):
    _, _, runs = ctgan_runs
    np.testing.assert_array_equal(runs[0]["resampled"][0], runs[1]["resampled"][0])
    np.testing.assert_array_equal(runs[0]["resampled"][1], runs[1]["resampled"][1])


def test_ctgan_leaves_the_global_random_states_untouched(ctgan_runs):
    _, _, runs = ctgan_runs
    assert all(run["numpy_kept"] for run in runs)
    assert all(run["torch_kept"] for run in runs)


def test_ctgan_oversamples_a_tiny_minority_with_string_labels():
    pytest.importorskip("ctgan")
    X, y = _fold(30, 2, seed=1)
    labels = np.where(y == 1, "attack", "benign")
    sampler = CTGANOversampler(random_state=0, epochs=2)
    X_res, y_res = sampler.fit_resample(X, labels)
    assert Counter(y_res.tolist()) == {"benign": 30, "attack": 30}
    assert sampler.batch_size_ == 30
    assert 0 <= sampler.n_unmatched_["attack"] <= 28
