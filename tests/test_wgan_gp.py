"""The conditional WGAN-GP family: settings, stacked networks, the gradient penalty, the
batched training (independence, compaction), its sampler and a study that runs it."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
import torch
from pydantic import ValidationError
from sklearn.utils._param_validation import InvalidParameterError

from gan_oversampling.errors import UserError
from gan_oversampling.gan.layers import adam, member
from gan_oversampling.gan.wgan_gp import FAMILY, WGANGPConfig, make_config, train_wgan_gps
from gan_oversampling.gan.wgan_gp_networks import (
    StackedClassifier,
    StackedCritic,
    StackedLayerNorm,
    gradient_penalty,
)
from gan_oversampling.layout import FeatureLayout
from gan_oversampling.samplers.wgan_gp import WGANGPOversampler

TINY = WGANGPConfig(latent_dim=4, generator_hidden=(16,), critic_hidden=(16, 16),
                    aux_hidden=(8, 8), batch_size=16, critic_steps=2, iterations=20,
                    device="cpu")
N_NUMERIC = 3
BLOCKS = ((3, 6), (7, 9), (9, 12))  # column ranges of the one-hot blocks (sizes 3, 2, 3)

# Tiny products parallelise badly, and stall on a busy machine (see the README).
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _mixed_set(n_rows: int, seed: int = 0, n_classes: int = 3):
    """Numeric columns 0-2 and 6 around a class centre, one-hot blocks at `BLOCKS`, the
    first block's category following the class."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n_rows)
    numbers = np.clip(np.linspace(-0.5, 0.5, n_classes)[y][:, None]
                      + rng.normal(0, 0.1, (n_rows, N_NUMERIC + 1)), -1, 1)
    first = np.eye(3)[y % 3]
    second, third = np.eye(2)[rng.integers(0, 2, n_rows)], np.eye(3)[rng.integers(0, 3, n_rows)]
    X = np.hstack([numbers[:, :N_NUMERIC], first, numbers[:, N_NUMERIC:], second, third])
    return X.astype(np.float32), y


LABELS = np.array([0, 1, 2] * 8)


# ---------------------------------------------------------------- settings


def test_defaults_follow_the_reference_code_and_the_wgan_gp_paper():
    config = WGANGPConfig()
    assert (config.critic_steps, config.penalty_weight) == (3, 10.0)
    assert (config.learning_rate, config.beta1, config.beta2) == (1e-4, 0.0, 0.9)
    assert (config.latent_dim, config.batch_size, config.gumbel_temperature) == (30, 64, 0.66)
    assert (config.generator_hidden, config.critic_hidden) == ((128, 64), (128, 64, 32))
    assert (config.aux_hidden, config.aux_learning_rate) == ((64, 64), 5e-4)
    assert (config.aux_weight, config.aux_floor) == (0.1, 0.3)
    assert "generator loss" not in FAMILY.loss_names  # the name the report reads as BCE


@pytest.mark.parametrize("field, value", [
    ("critic_steps", 0), ("penalty_weight", -1.0), ("gumbel_temperature", 0.0),
    ("aux_weight", -0.1), ("aux_floor", -1.0), ("aux_learning_rate", 0.0),
    ("critic_hidden", ()), ("aux_hidden", (8, 0)), ("beta2", 1.0), ("latent_dim", 0),
    ("no_such_setting", 1),
])
def test_bad_settings_are_refused_with_the_setting_named(field, value):
    with pytest.raises(ValidationError):
        WGANGPConfig(**{field: value})
    with pytest.raises(UserError, match=f"bad wgan-gp setting.*{field}"):
        make_config(**{field: value})


@pytest.mark.parametrize("field, value", [("critic_steps", 0), ("penalty_weight", -1.0)])
def test_the_sampler_refuses_bad_settings_naming_them(field, value):
    X, y = _mixed_set(40)
    with pytest.raises(InvalidParameterError, match=field):
        WGANGPOversampler(**{field: value}).fit_resample(X, y)


# ---------------------------------------------------------------- networks


def test_stacked_layer_norm_is_torchs_layer_norm_per_model():
    norm = StackedLayerNorm(3, 5, 1e-5, "cpu")
    with torch.no_grad():
        norm.gamma.value().normal_(generator=torch.Generator().manual_seed(0))
        norm.beta.value().normal_(generator=torch.Generator().manual_seed(1))
    inputs = torch.randn(3, 4, 5, generator=torch.Generator().manual_seed(2))
    for k in range(3):
        expected = torch.nn.functional.layer_norm(
            inputs[k], (5,), norm.gamma.value()[k, 0], norm.beta.value()[k, 0], 1e-5)
        torch.testing.assert_close(norm(inputs)[k], expected)
    assert all(tensor.shape[0] == 3 for tensor in norm.state_dict().values())


def test_the_critic_has_no_batch_statistics():
    critic = StackedCritic(2, 3, 12, TINY)
    critic.reset_parameters([torch.Generator().manual_seed(s) for s in (0, 1)])
    assert any(isinstance(m, StackedLayerNorm) for m in critic.modules())
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
                   for m in critic.modules())
    assert not list(critic.buffers())  # no running statistics
    rows = torch.rand(2, 9, 12, generator=torch.Generator().manual_seed(3)) * 2 - 1
    labels = torch.randint(0, 3, (2, 9), generator=torch.Generator().manual_seed(4))
    scores = critic(rows, labels)
    for b in range(9):  # one row's score, alone, among other rows, shuffled
        alone = critic(rows[:, b : b + 1], labels[:, b : b + 1])[:, 0]
        torch.testing.assert_close(alone, scores[:, b], rtol=1e-5, atol=1e-6)
    order = torch.randperm(9, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(critic(rows[:, order], labels[:, order]), scores[:, order],
                               rtol=1e-5, atol=1e-6)


def test_the_gradient_penalty_of_a_linear_critic_is_its_slopes_distance_from_one():
    # D(x) = w.x has gradient w everywhere: a unit w is 1-Lipschitz with penalty 0, a w of
    # norm 2 has penalty (2 - 1)^2 = 1, whatever rows are mixed.
    w = torch.tensor([[0.6, 0.8, 0.0], [1.2, 0.0, -1.6]])  # norms 1 and 2, one per model
    generator = torch.Generator().manual_seed(0)
    real, fake = torch.rand(2, 5, 3, generator=generator), torch.rand(2, 5, 3, generator=generator)
    epsilon = torch.rand(2, 5, 1, generator=generator)
    penalty = gradient_penalty(lambda x: (x * w[:, None, :]).sum(-1), real, fake, epsilon)
    torch.testing.assert_close(penalty, torch.tensor([0.0, 1.0]), rtol=0, atol=1e-6)
    # A critic that ignores its input has gradient 0: penalty (0 - 1)^2 = 1.
    flat = gradient_penalty(lambda x: x.sum(-1) * 0.0, real, fake, epsilon)
    torch.testing.assert_close(flat, torch.ones(2), rtol=0, atol=1e-5)


def test_the_gradient_penalty_mixes_rows_with_the_given_weights():
    # D(x) = ||x||^2 / 2 has gradient x: the penalty reads the mixed rows themselves.
    real, fake = torch.ones(1, 2, 2), torch.zeros(1, 2, 2)
    epsilon = torch.tensor([[[1.0], [0.5]]])  # the real row, then half way
    penalty = gradient_penalty(lambda x: 0.5 * x.pow(2).sum(-1), real, fake, epsilon)
    expected = ((2**0.5 - 1) ** 2 + (0.5 * 2**0.5 - 1) ** 2) / 2
    torch.testing.assert_close(penalty, torch.tensor([expected]), rtol=1e-5, atol=1e-6)


def test_the_auxiliary_classifier_learns_a_separable_problem():
    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 3, (1, 90), generator=generator)
    rows = torch.rand(1, 90, 4, generator=generator) * 0.2
    rows[..., 0] += labels * 0.6 - 0.6  # the class decides the first column
    config = make_config(TINY, aux_hidden=(16, 16))
    classifier = StackedClassifier(1, 3, 4, config)
    classifier.reset_parameters([torch.Generator().manual_seed(1)])
    optimiser = adam(classifier, config.aux_learning_rate, (config.beta1, config.beta2), 1e-8)
    losses = []
    for _ in range(400):
        loss = classifier(rows, labels).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[0] > 0.8 and losses[-1] < 0.1


def test_the_auxiliary_classifiers_loss_falls_while_the_gan_trains():
    trained = train_wgan_gps([_mixed_set(90)], 3, make_config(TINY, iterations=150), [0])
    real_rows = list(trained.family.loss_names).index("auxiliary classifier loss on real rows")
    curve = trained.losses_of(0)[:, real_rows]
    assert curve[-20:].mean() < 0.5 * curve[:10].mean()


# ---------------------------------------------------------------- batched training


def test_a_model_is_the_same_alone_or_batched_with_two_others():
    sets = [_mixed_set(50 + 23 * k, seed=k) for k in range(3)]
    batched = train_wgan_gps(sets, 3, TINY, seeds=[10, 11, 12])
    alone = train_wgan_gps([sets[1]], 3, TINY, seeds=[11])
    assert torch.equal(torch.from_numpy(batched.losses[1]), torch.from_numpy(alone.losses[0]))
    single, batched_state = alone.model.state_dict(), member(batched.model, 1).state_dict()
    for name, tensor in single.items():
        assert torch.equal(batched_state[name], tensor), name
    assert np.array_equal(batched.generate(1, LABELS, 5), alone.generate(0, LABELS, 5))


def test_same_seed_same_rows_whatever_the_global_random_state():
    data = [_mixed_set(60)]
    torch.manual_seed(1)
    first = train_wgan_gps(data, 3, TINY, seeds=[4])
    torch.manual_seed(2)  # every draw comes from the model's own generator
    again = train_wgan_gps(data, 3, TINY, seeds=[4])
    other = train_wgan_gps(data, 3, TINY, seeds=[5])
    assert np.array_equal(first.generate(0, LABELS, 1), again.generate(0, LABELS, 1))
    assert not np.array_equal(first.generate(0, LABELS, 1), other.generate(0, LABELS, 1))
    assert not np.array_equal(first.generate(0, LABELS, 1), first.generate(0, LABELS, 2))


def test_blocks_come_out_one_hot_and_numbers_in_range():
    trained = train_wgan_gps([_mixed_set(60)], 3, TINY, seeds=[0])
    rows = trained.generate(0, np.repeat([0, 1, 2], 100), 3)
    assert rows.dtype == np.float32 and rows.shape == (300, 12)
    layout = FeatureLayout.detect(_mixed_set(60)[0])
    assert [tuple(b[[0, -1]] + [0, 1]) for b in layout.blocks] == list(BLOCKS)
    for block in layout.blocks:
        values = rows[:, block]
        assert np.isin(values, (0.0, 1.0)).all() and (values.sum(axis=1) == 1).all()
        assert len(np.unique(values.argmax(axis=1))) > 1  # a sample, not always the mode
    numbers = rows[:, layout.numeric]
    assert (np.abs(numbers) <= 1).all() and len(np.unique(numbers)) > 100


def test_folds_of_different_layouts_never_share_a_stack():
    X, _ = _mixed_set(40)
    assert FAMILY.batch_key(X) == FAMILY.batch_key(_mixed_set(70, seed=3)[0])
    assert FAMILY.batch_key(X) != FAMILY.batch_key(X[:, ::-1])
    assert FAMILY.batch_key(X) != FAMILY.batch_key(X[:, :-1])


def test_a_diverging_model_leaves_the_stack_and_the_others_unchanged():
    # Numbers of 1e30 blow the critic's scores (one hidden layer, no normalisation) beyond
    # any training value: that model stops as diverged at the first check (100). Its
    # one-hot blocks stay, so all three sets have one layout and share the stack.
    config = make_config(TINY, iterations=120, critic_hidden=(16,))
    sets = [_mixed_set(50, seed=0), _mixed_set(50, seed=1), _mixed_set(70, seed=2)]
    numeric = FeatureLayout.detect(sets[1][0]).numeric
    sets[1][0][:, numeric] *= 1e30
    batched = train_wgan_gps(sets, 3, config, seeds=[0, 1, 2])
    assert batched.stops[1].reason == "diverged" and batched.divergence(1) is not None
    for k in (0, 2):
        alone = train_wgan_gps([sets[k]], 3, config, seeds=[k])
        assert batched.stops[k].iterations == 120 and batched.divergence(k) is None
        assert np.array_equal(batched.losses[k], alone.losses[0])
        assert np.array_equal(batched.generate(k, LABELS, 7), alone.generate(0, LABELS, 7))


def test_models_that_stop_at_different_times_leave_the_others_unchanged():
    config = make_config(TINY, iterations=60, stopping="patience", oracle="mmd",
                         eval_every=5, patience=2)
    sets = [_mixed_set(60 + 10 * k, seed=k) for k in range(3)]
    batched = train_wgan_gps(sets, 3, config, seeds=[20, 21, 22])
    assert len({stop.iterations for stop in batched.stops}) > 1  # the stack was cut
    for k in range(3):
        alone = train_wgan_gps([sets[k]], 3, config, seeds=[20 + k])
        assert batched.stops[k] == alone.stops[0]
        assert np.array_equal(batched.losses_of(k), alone.losses_of(0))
        assert np.array_equal(batched.generate(k, LABELS, 7), alone.generate(0, LABELS, 7))


def test_bfloat16_runs():
    trained = train_wgan_gps([_mixed_set(40)], 3, make_config(TINY, dtype="bfloat16",
                                                              iterations=5), [0])
    assert np.isfinite(trained.generate(0, LABELS, 0)).all()


# ---------------------------------------------------------------- sampler and study


def _sampler(**params) -> WGANGPOversampler:
    return WGANGPOversampler(**{"config": TINY, "random_state": 0, **params})


def test_fit_resample_balances_three_classes_with_string_labels_from_numpy_and_pandas():
    X, codes = _mixed_set(90)
    keep = np.concatenate([np.flatnonzero(codes == 0), np.flatnonzero(codes == 1)[:10],
                           np.flatnonzero(codes == 2)[:20]])
    X, y = X[keep], np.array(["ant", "bee", "cow"])[codes[keep]]
    target = Counter(y).most_common(1)[0][1]
    X_np, y_np = _sampler().fit_resample(X, y)
    frame = pd.DataFrame(X, columns=[f"c{j}" for j in range(X.shape[1])])
    X_pd, y_pd = _sampler().fit_resample(frame, pd.Series(y, name="animal"))
    assert Counter(y_np) == {"ant": target, "bee": target, "cow": target}
    assert isinstance(X_pd, pd.DataFrame) and list(X_pd.columns) == list(frame.columns)
    np.testing.assert_array_equal(X_pd.to_numpy(), X_np)
    np.testing.assert_array_equal(np.asarray(y_pd), y_np)
    np.testing.assert_array_equal(X_np[: len(X)], X)
    new = X_np[len(X):]
    for start, end in BLOCKS:
        assert (new[:, start:end].sum(axis=1) == 1).all()
    sampler = _sampler()
    sampler.fit_resample(X, y)
    assert sampler.losses_.shape == (TINY.iterations, 5)
    assert sampler.loss_names_ == FAMILY.loss_names


def test_a_tiny_study_writes_its_units(shared_data, tmp_path):
    from gan_oversampling.study.executors import InlineExecutor
    from gan_oversampling.study.runner import run_study
    from gan_oversampling.study.spec import parse_study
    from gan_oversampling.study.store import ResultsStore

    spec = parse_study({
        "name": "wgan-gp-tiny", "methods": ["none", "wgan-gp"],
        "data": {"kind": "nsl-kdd", "tasks": [{"name": "u", "majority": ["normal"],
                                               "minority": ["U2R"]}],
                 "majority_sizes": [50], "imbalance_ratios": [0.4]},
        "evaluation": {"cv": "stratified", "classifier": "logistic-regression"},
        "wgan-gp": {"iterations": 3, "latent_dim": 4, "generator_hidden": [16],
                    "critic_hidden": [16, 16], "aux_hidden": [8], "device": "cpu"},
    }, "test")
    with ResultsStore.open(tmp_path / "r.sqlite") as store:
        assert run_study(spec, store, InlineExecutor(threads=1), data_dir=shared_data) == 2
        frame = store.scores_frame("wgan-gp-tiny")
        test_key = frame["test_key"].iloc[0]
        losses = store.losses("wgan-gp-tiny", test_key, "wgan-gp")
        names = store.loss_names("wgan-gp-tiny", test_key, "wgan-gp")
    assert set(frame["method"]) == {"none", "wgan-gp"}
    assert len(losses) == 5 and all(curve.shape == (3, 5) for curve in losses.values())
    assert names == FAMILY.loss_names
