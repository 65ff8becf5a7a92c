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
from sklearn.utils._param_validation import InvalidParameterError

from gan_oversampling.errors import UserError
from gan_oversampling.gan.cgan import CGANConfig
from gan_oversampling.samplers.base import TrainingFold, draw_seeds
from gan_oversampling.samplers.cgan import CGANOversampler, resample_cgan

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
    assert X_res.dtype == np.int64 and set(np.unique(X_res[40:])) <= {0, 1}
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


def test_features_of_any_range_come_back_in_their_training_range():
    X, y = _imbalanced({0: 40, 1: 12}, n_features=4)
    X[:, 0] = X[:, 0] * 50 + 100  # [50, 150]
    X[:, 1] = np.round((X[:, 1] + 1) * 3)  # counts 0..6
    X[:, 2] = (X[:, 2] > 0).astype(float)  # a 0/1 flag
    X_res, _ = _sampler(iterations=30).fit_resample(X, y)
    generated = X_res[len(X) :]
    np.testing.assert_array_equal(X_res[: len(X)], X)
    assert np.all(generated >= X.min(axis=0)) and np.all(generated <= X.max(axis=0))
    for column in (1, 2):
        np.testing.assert_array_equal(generated[:, column], np.round(generated[:, column]))
    # The scaled feature spreads over its range instead of sticking to [-1, 1].
    assert generated[:, 0].min() > 40 and np.ptp(generated[:, 0]) > 10
    assert set(np.unique(generated[:, 2])) <= {0.0, 1.0}


def test_tanh_output_range_keeps_the_raw_generator_values():
    X, y = _imbalanced({0: 40, 1: 12}, n_features=3)
    X[:, 2] = np.sign(X[:, 2])  # a -1/1 flag, inside [-1, 1]: not scaled
    raw = _sampler(output_range="tanh").fit_resample(X, y)[0][len(X) :]
    kept = _sampler(output_range="training").fit_resample(X, y)[0][len(X) :]
    assert not np.array_equal(raw[:, 2], np.round(raw[:, 2]))  # tanh values, not rounded
    np.testing.assert_array_equal(kept[:, 2], np.round(kept[:, 2]))
    # Same GAN, same noise: the two differ only by clipping and rounding.
    np.testing.assert_allclose(np.clip(raw[:, :2], X[:, :2].min(0), X[:, :2].max(0)), kept[:, :2],
                               rtol=0, atol=1e-6)


def test_config_settings_are_used_unless_a_parameter_overrides_them():
    X, y = _imbalanced({0: 20, 1: 8})
    sampler = CGANOversampler(config=SMALL.model_copy(update={"iterations": 10, "latent_dim": 8}),
                              random_state=0, device="cpu")
    sampler.fit_resample(X, y)
    assert sampler.config_.iterations == 10 and sampler.config_.latent_dim == 8
    assert sampler.losses_.shape == (10, 3)
    sampler.set_params(iterations=4).fit_resample(X, y)
    assert sampler.config_.iterations == 4 and sampler.config_.latent_dim == 8


def test_random_state_none_follows_numpys_global_seed():
    X, y = _imbalanced({0: 30, 1: 10})
    np.random.seed(11)
    first = _sampler(random_state=None).fit_resample(X, y)[0]
    np.random.seed(11)
    np.testing.assert_array_equal(first, _sampler(random_state=None).fit_resample(X, y)[0])


def test_a_fold_gets_the_same_rows_alone_or_batched_with_others():
    """The sampler is the one-fold case of the study's batch function."""
    config = SMALL.model_copy(update={"iterations": 8, "device": "cpu"})
    folds = []
    for k in range(3):
        X, y = _imbalanced({0: 30, 1: 6 + k}, n_features=4, seed=k)
        folds.append(TrainingFold(X, y, {1: 24 - k}, draw_seeds(k, 2)))
    batch = resample_cgan(folds, config, [0, 1])
    for k, fold in enumerate(folds):
        alone = resample_cgan([fold], config, [0, 1]).folds[0]
        np.testing.assert_array_equal(batch.folds[k].X, alone.X)
        np.testing.assert_array_equal(batch.folds[k].losses, alone.losses)
    X, y = folds[1].X, folds[1].y
    sampler = CGANOversampler(config=config, random_state=1)
    np.testing.assert_array_equal(sampler.fit_resample(X, y)[0], batch.folds[1].X)


def test_resample_maps_labels_through_classes():
    X, y = _imbalanced({"common": 30, "rare": 8}, n_features=3)
    config = SMALL.model_copy(update={"iterations": 5, "device": "cpu"})
    fold = TrainingFold(X, y, {"rare": 4, "common": 2}, (0, 1))
    result = resample_cgan([fold], config, ["common", "rare"]).folds[0]
    assert list(result.y[len(y) :]) == ["rare"] * 4 + ["common"] * 2
    assert result.X.shape == (len(X) + 6, 3) and result.losses.shape == (5, 3)


@pytest.mark.parametrize(
    "counts, message",
    [({2: 3}, "cannot generate class 2"), ({1: -1}, "integer >= 0"), ({1: 2.5}, "integer >= 0")],
)
def test_resample_refuses_bad_requests(counts, message):
    X, y = _imbalanced({0: 30, 1: 8}, n_features=3)
    config = SMALL.model_copy(update={"iterations": 2, "device": "cpu"})
    with pytest.raises(UserError, match=message):
        resample_cgan([TrainingFold(X, y, counts, (0, 1))], config, [0, 1])


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(iterations=0), "iterations"),
        (dict(iterations=True), "iterations"),
        (dict(iterations="10"), "iterations"),
        (dict(iterations=2.0), "iterations"),
        (dict(dtype="float16"), "dtype"),
        (dict(output_range="data"), "output_range"),
        (dict(device="tpu"), "device"),
        (dict(latent_dim=-1), "latent_dim"),
        (dict(batch_size=0), "batch_size"),
        (dict(batch_size=False), "batch_size"),
        (dict(learning_rate=0), "learning_rate"),
        (dict(config={"iterations": 3}), "config"),
        (dict(verbose="yes"), "verbose"),
        (dict(random_state="seed"), "random_state"),
    ],
)
def test_bad_parameters_raise_sklearns_parameter_error(params, message):
    X, y = _imbalanced({0: 20, 1: 5})
    with pytest.raises(InvalidParameterError, match=message):
        _sampler(**params).fit_resample(X, y)
    assert issubclass(InvalidParameterError, ValueError)


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
