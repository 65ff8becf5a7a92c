"""The CGAN oversampler: imbalanced-learn semantics, reproducibility and bad input."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from imblearn.over_sampling import RandomOverSampler
from imblearn.pipeline import Pipeline
from scipy import sparse
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_validate

from gan_oversampling.errors import UserError
from gan_oversampling.gan.config import CGANConfig
from gan_oversampling.gan.train import train_cgans
from gan_oversampling.samplers.cgan import CGANOversampler, oversample_with_trained

SMALL = CGANConfig(generator_hidden=(32, 32, 32), discriminator_hidden=(32, 32, 32))


def _sampler(**params) -> CGANOversampler:
    defaults = dict(iterations=15, random_state=0, config=SMALL, device="cpu")
    return CGANOversampler(**{**defaults, **params})


def _imbalanced(counts: dict, n_features: int = 5, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.concatenate([[label] * n for label, n in counts.items()])
    X = rng.uniform(-1, 1, (len(y), n_features))
    return X, y


def test_balances_two_classes_and_keeps_the_original_rows_first():
    X, y = _imbalanced({0: 60, 1: 15})
    X_res, y_res = _sampler().fit_resample(X, y)
    assert Counter(y_res) == {0: 60, 1: 60}
    np.testing.assert_array_equal(X_res[:75], X)
    np.testing.assert_array_equal(y_res[:75], y)
    assert np.all(y_res[75:] == 1)
    assert X_res.dtype == X.dtype and X_res.shape == (120, 5)
    assert np.all(np.abs(X_res[75:]) <= 1)


@pytest.mark.parametrize("strategy", [0.5, {1: 40}, "minority", "all", {0: 70, 1: 30}])
def test_sampling_strategy_gives_the_same_counts_as_imblearn(strategy):
    X, y = _imbalanced({0: 60, 1: 15})
    _, y_res = _sampler(sampling_strategy=strategy).fit_resample(X, y)
    _, y_expected = RandomOverSampler(sampling_strategy=strategy).fit_resample(X, y)
    assert Counter(y_res) == Counter(y_expected)


def test_several_classes_share_one_conditional_generator():
    X, y = _imbalanced({"cat": 40, "dog": 12, "eel": 25})
    sampler = _sampler()
    X_res, y_res = sampler.fit_resample(X, y)
    assert Counter(y_res) == {"cat": 40, "dog": 40, "eel": 40}
    assert list(sampler.sampling_strategy_) == ["dog", "eel"]
    assert np.all(y_res[77:105] == "dog") and np.all(y_res[105:] == "eel")
    # One generator, conditioned on the label: two classes' rows differ.
    assert not np.allclose(X_res[77:89].mean(axis=0), X_res[105:117].mean(axis=0))


def test_same_random_state_same_rows_and_different_otherwise():
    X, y = _imbalanced({0: 50, 1: 10})
    first = _sampler(random_state=3).fit_resample(X, y)[0]
    np.testing.assert_array_equal(first, _sampler(random_state=3).fit_resample(X, y)[0])
    assert not np.allclose(first, _sampler(random_state=4).fit_resample(X, y)[0])
    generator = np.random.RandomState(3)
    from_instance = _sampler(random_state=generator).fit_resample(X, y)[0]
    assert not np.allclose(from_instance, _sampler(random_state=generator).fit_resample(X, y)[0])
    fresh = [_sampler(random_state=None).fit_resample(X, y)[0] for _ in range(2)]
    assert not np.allclose(fresh[0], fresh[1])


def test_fitted_attributes():
    X, y = _imbalanced({0: 40, 1: 10})
    sampler = _sampler(iterations=12)
    sampler.fit_resample(X, y)
    assert sampler.losses_.shape == (12, 3) and np.isfinite(sampler.losses_).all()
    assert sampler.training_seconds_ > 0
    assert sampler.n_features_in_ == 5
    assert dict(sampler.sampling_strategy_) == {1: 30}


def test_dtypes_and_dataframes():
    X, y = _imbalanced({0: 30, 1: 10})
    X_res, _ = _sampler().fit_resample(X.astype(np.float32), y)
    assert X_res.dtype == np.float32
    X_res, _ = _sampler().fit_resample((X > 0).astype(np.int64), y)
    assert X_res.dtype == np.float64
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)])
    X_res, y_res = _sampler().fit_resample(frame, pd.Series(y, name="label"))
    assert isinstance(X_res, pd.DataFrame) and list(X_res.columns) == list(frame.columns)
    assert isinstance(y_res, pd.Series) and len(y_res) == 60


def test_works_in_an_imblearn_pipeline_under_cross_validation():
    X, y = _imbalanced({0: 60, 1: 20}, n_features=4)
    X[y == 1] = np.clip(X[y == 1] * 0.3 + 0.5, -1, 1)  # a learnable minority class
    pipeline = Pipeline(
        [("cgan", CGANOversampler(iterations=20, random_state=0)), ("clf", LogisticRegression())]
    )
    scores = cross_validate(pipeline, X, y, cv=3, scoring="f1", error_score="raise")
    assert scores["test_score"].shape == (3,)
    assert np.all(np.isfinite(scores["test_score"]))


def test_clone_keeps_the_parameters():
    sampler = _sampler(iterations=33, learning_rate=1e-3, verbose=True)
    params = clone(sampler).get_params()
    assert params["iterations"] == 33 and params["learning_rate"] == 1e-3
    assert params["config"] == SMALL and params["verbose"] is True


def test_verbose_reports_progress(capsys):
    X, y = _imbalanced({0: 20, 1: 8})
    _sampler(iterations=10, verbose=True).fit_resample(X, y)
    assert "iteration 10/10" in capsys.readouterr().err


def test_features_outside_the_tanh_range_are_warned_about_not_rescaled():
    X, y = _imbalanced({0: 30, 1: 10})
    X[0, 0] = 5.0
    with pytest.warns(UserWarning, match=r"\[-1, 1\]"):
        X_res, _ = _sampler().fit_resample(X, y)
    np.testing.assert_array_equal(X_res[:40], X)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(iterations=0), "iterations"),
        (dict(dtype="float16"), "dtype"),
        (dict(device="tpu"), "device"),
        (dict(latent_dim=-1), "latent_dim"),
        (dict(batch_size=0), "batch_size"),
        (dict(learning_rate=0), "learning_rate"),
        (dict(config={"iterations": 3}), "config"),
    ],
)
def test_bad_parameters_raise_a_clear_error(params, message):
    X, y = _imbalanced({0: 20, 1: 5})
    with pytest.raises(UserError, match=message):
        _sampler(**params).fit_resample(X, y)


def test_bad_data_is_refused():
    X, y = _imbalanced({0: 20, 1: 5})
    with pytest.raises(ValueError):
        _sampler(sampling_strategy=2.0).fit_resample(X, y)
    with pytest.raises(ValueError):
        _sampler().fit_resample(X, np.zeros(len(y)))  # one class
    with pytest.raises(TypeError):
        _sampler().fit_resample(sparse.csr_matrix(X), y)
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError):
        _sampler().fit_resample(X_nan, y)


# ---------------------------------------------------------------- oversample_with_trained


def _trained_folds():
    folds = [_imbalanced({0: 30, 1: 8}, n_features=3, seed=k) for k in range(2)]
    config = SMALL.model_copy(update={"iterations": 5, "device": "cpu"})
    return folds, train_cgans(folds, 2, config, seeds=[0, 1])


def test_oversample_with_trained_appends_rows_of_the_given_fold():
    folds, trained = _trained_folds()
    X, y = folds[1]
    X_res, y_res = oversample_with_trained(trained, 1, X, y, {1: 22}, seed=9)
    assert Counter(y_res) == {0: 30, 1: 30}
    np.testing.assert_array_equal(X_res[: len(X)], X)
    np.testing.assert_array_equal(X_res[len(X) :], trained.generate(1, np.ones(22, int), 9))
    other_fold = oversample_with_trained(trained, 0, X, y, {1: 22}, seed=9)[0]
    assert not np.allclose(X_res[len(X) :], other_fold[len(X) :])


def test_oversample_with_trained_maps_labels_through_classes():
    folds, trained = _trained_folds()
    X, y = folds[0]
    labels = np.where(y == 1, "rare", "common")
    X_res, y_res = oversample_with_trained(
        trained,
        0,
        X,
        labels,
        {"rare": 4, "common": 2},
        seed=1,
        classes=np.array(["common", "rare"]),
    )
    assert list(y_res[len(y) :]) == ["rare"] * 4 + ["common"] * 2
    expected = trained.generate(0, np.array([1] * 4 + [0] * 2), 1)
    np.testing.assert_array_equal(X_res[len(y) :], expected)


@pytest.mark.parametrize(
    "counts, kwargs, message",
    [
        ({2: 3}, {}, "cannot generate class 2"),
        ({1: -1}, {}, "integer >= 0"),
        ({1: 2.5}, {}, "integer >= 0"),
        ({1: 3}, dict(classes=np.array([0, 1, 2])), "3 classes"),
        ({1: 3}, dict(k=5), "GAN index"),
        ({1: 3}, dict(X=np.zeros((4, 2))), "3 features"),
    ],
)
def test_oversample_with_trained_refuses_bad_requests(counts, kwargs, message):
    folds, trained = _trained_folds()
    X, y = folds[0]
    call = dict(trained=trained, k=0, X=X, y=y, counts=counts, seed=0)
    with pytest.raises(UserError, match=message):
        oversample_with_trained(**{**call, **kwargs})
