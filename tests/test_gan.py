"""The CGAN: settings, batched models, the batched trainer and the plain reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from gan_oversampling.errors import UserError
from gan_oversampling.gan.cgan import CGANConfig, make_config, train_cgans
from gan_oversampling.gan.config import resolve_device
from gan_oversampling.gan.layers import member
from gan_oversampling.gan.models import BatchedGenerator
from gan_oversampling.gan.reference import train_cgan_reference

# Small layers keep the tests fast; the default architecture is exercised where it matters.
SMALL = CGANConfig(
    latent_dim=20, generator_hidden=(32, 48, 64), discriminator_hidden=(48, 48, 48), device="cpu"
)


def _training_set(n_rows: int, n_features: int, n_classes: int = 2, seed: int = 0):
    """Class c centred on a distinct value in [-1, 1], small noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n_rows)
    centres = np.linspace(-0.5, 0.5, n_classes)[y][:, None]
    X = np.clip(centres + rng.normal(0, 0.1, (n_rows, n_features)), -1, 1)
    return X.astype(np.float32), y


# ---------------------------------------------------------------- settings


def test_config_defaults_follow_the_original_study():
    config = CGANConfig()
    assert (config.latent_dim, config.batch_size, config.iterations) == (50, 32, 1500)
    assert config.generator_hidden == (256, 512, 1024)
    assert config.discriminator_hidden == (512, 512, 512)
    assert (config.learning_rate, config.beta1, config.dropout) == (2e-4, 0.5, 0.4)
    assert (config.bn_momentum, config.bn_eps, config.leaky_slope) == (0.8, 1e-3, 0.2)


@pytest.mark.parametrize(
    "field, value",
    [
        ("latent_dim", 0),
        ("batch_size", 0),
        ("iterations", 0),
        ("learning_rate", 0.0),
        ("beta1", 1.0),
        ("dropout", 1.0),
        ("bn_momentum", 1.0),
        ("dtype", "float16"),
        ("device", "tpu"),
        ("generator_hidden", ()),
        ("discriminator_hidden", (512, 0)),
        ("no_such_setting", 1),
    ],
)
def test_bad_settings_are_refused(field, value):
    with pytest.raises(ValidationError):
        CGANConfig(**{field: value})
    with pytest.raises(UserError, match=field):
        make_config(**{field: value})


def test_config_is_frozen():
    with pytest.raises(ValidationError):
        CGANConfig().iterations = 3


def test_make_config_overrides_a_base():
    config = make_config(SMALL, iterations=7)
    assert config.iterations == 7
    assert config.generator_hidden == SMALL.generator_hidden


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    for bad in ("tpu", "cuda:x", ""):  # names are refused by the settings, once
        with pytest.raises(UserError, match="device"):
            make_config(device=bad)
    with pytest.raises(UserError, match="cuda:99"):
        resolve_device("cuda:99")


# ---------------------------------------------------------------- batched trainer


def test_a_gan_trains_the_same_alone_or_batched_with_others():
    # Row counts differ per set; class and latent sizes make odd parameter shapes.
    sets = [_training_set(60 + 13 * k, 16, n_classes=3, seed=k) for k in range(5)]
    config = make_config(SMALL, iterations=100)
    batched = train_cgans(sets, 3, config, seeds=[100, 101, 102, 103, 104])
    alone = train_cgans([sets[3]], 3, config, seeds=[103])
    labels = np.array([0, 1, 2] * 10)
    np.testing.assert_allclose(batched.losses[3], alone.losses[0], atol=1e-5)
    np.testing.assert_allclose(
        batched.generate(3, labels, seed=5), alone.generate(0, labels, seed=5), atol=1e-4
    )


def test_fused_adam_updates_a_gan_bit_for_bit_whatever_the_batch():
    # torch's fused CPU Adam rounds the tail of a tensor differently from its vectorised
    # body; the stacked layout must keep every GAN out of that tail.
    config = make_config(SMALL, latent_dim=7)
    many, one = BatchedGenerator(5, 3, 11, config), BatchedGenerator(1, 3, 11, config)
    many.reset_parameters([torch.Generator().manual_seed(s) for s in range(5)])
    one.load_state_dict({name: t[3:4] for name, t in many.state_dict().items()})
    adam = dict(lr=1e-3, betas=(0.5, 0.999), eps=1e-7, fused=True)
    opt_many = torch.optim.Adam(many.parameters(), **adam)
    opt_one = torch.optim.Adam(one.parameters(), **adam)
    noise = torch.Generator().manual_seed(0)
    for _ in range(30):
        for p_many, p_one in zip(many.parameters(), one.parameters(), strict=True):
            p_many.grad = torch.randn(p_many.shape, generator=noise) * 1e-3
            p_one.grad = p_many.grad[3:4].clone()
        opt_many.step()
        opt_one.step()
    single_state = one.state_dict()
    for name, t_many in many.state_dict().items():
        assert torch.equal(t_many[3:4], single_state[name]), name


def test_a_gan_is_independent_of_others_with_the_default_architecture():
    sets = [_training_set(80 + 7 * k, 16, seed=k) for k in range(3)]
    config = CGANConfig(iterations=15, device="cpu")
    batched = train_cgans(sets, 2, config, seeds=[7, 8, 9])
    alone = train_cgans([sets[2]], 2, config, seeds=[9])
    labels = np.array([0, 1] * 8)
    np.testing.assert_allclose(
        batched.generate(2, labels, seed=1), alone.generate(0, labels, seed=1), atol=1e-4
    )


def test_different_seeds_give_different_gans():
    data = _training_set(50, 6)
    trained = train_cgans([data, data], 2, make_config(SMALL, iterations=10), seeds=[1, 2])
    labels = np.zeros(8, dtype=np.int64)
    assert not np.allclose(trained.generate(0, labels, 0), trained.generate(1, labels, 0))
    assert not np.allclose(trained.losses[0], trained.losses[1])


def test_generated_rows_shape_range_and_reproducibility():
    trained = train_cgans([_training_set(50, 7)], 2, make_config(SMALL, iterations=10), [3])
    labels = np.array([0, 1, 1, 0, 1])
    rows = trained.generate(0, labels, seed=11)
    assert rows.shape == (5, 7) and rows.dtype == np.float32
    assert np.all(np.abs(rows) <= 1)
    np.testing.assert_array_equal(rows, trained.generate(0, labels, seed=11))
    assert not np.allclose(rows, trained.generate(0, labels, seed=12))
    assert trained.generate(0, np.array([], dtype=np.int64), seed=1).shape == (0, 7)


def test_losses_are_recorded_per_gan_and_iteration():
    config = make_config(SMALL, iterations=12)
    trained = train_cgans([_training_set(40, 5), _training_set(30, 5)], 2, config, [0, 1])
    assert trained.losses.shape == (2, 12, 3)
    assert np.isfinite(trained.losses).all() and (trained.losses > 0).all()
    # Keras initialisation gives near-zero logits: every first loss is close to log 2.
    np.testing.assert_allclose(trained.losses[:, 0], np.log(2), atol=0.05)
    assert trained.seconds > 0


def test_the_gan_learns_class_conditional_rows():
    X, y = _training_set(200, 4)
    config = make_config(
        SMALL, iterations=150, generator_hidden=(32, 64, 64), discriminator_hidden=(64, 64, 64)
    )
    trained = train_cgans([(X, y)], 2, config, [0])
    class0 = trained.generate(0, np.zeros(300, dtype=np.int64), seed=1)
    class1 = trained.generate(0, np.ones(300, dtype=np.int64), seed=1)
    # Real class means are -0.5 and 0.5.
    assert class0.mean() < -0.2 and class1.mean() > 0.2
    # The discriminator does train: its loss on real rows falls.
    assert trained.losses[0, -30:, 0].mean() < trained.losses[0, :10, 0].mean()


def test_inference_uses_running_statistics():
    trained = train_cgans([_training_set(50, 6)], 2, make_config(SMALL, iterations=10), [0])
    norm = trained.model.norms[0]
    assert not torch.allclose(norm.running_mean, torch.zeros_like(norm.running_mean))
    assert not torch.allclose(norm.running_var, torch.ones_like(norm.running_var))
    single = member(trained.model, 0)
    z = torch.randn(1, 8, SMALL.latent_dim, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([[0, 1, 0, 1, 1, 0, 0, 1]])
    with torch.no_grad():
        # In inference mode a row does not depend on the rows generated with it...
        full = single(z, labels, training=False)
        first_half = single(z[:, :4], labels[:, :4], training=False)
        torch.testing.assert_close(full[:, :4], first_half)
        # ...in training mode it does (batch statistics).
        before = single.norms[0].running_mean.clone()
        assert not torch.allclose(
            single(z, labels, training=True)[:, :4], single(z[:, :4], labels[:, :4], True)
        )
        assert not torch.equal(before, single.norms[0].running_mean)


def test_member_is_a_copy_of_one_generator():
    config = make_config(SMALL, latent_dim=5)
    generator = BatchedGenerator(3, 2, 4, config)
    generator.reset_parameters([torch.Generator().manual_seed(s) for s in (1, 2, 3)])
    z = torch.randn(3, 6, 5, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([[0, 1, 0, 1, 0, 1]] * 3)
    with torch.no_grad():
        together = generator(z, labels, training=False)
        alone = member(generator, 1)(z[1:2], labels[1:2], training=False)
    torch.testing.assert_close(together[1:2], alone)


def test_progress_is_reported_after_each_iteration():
    seen: list[int] = []
    train_cgans([_training_set(30, 3)], 2, make_config(SMALL, iterations=6), [0], seen.append)
    assert seen == [1, 2, 3, 4, 5, 6]


def test_bfloat16_runs():
    config = make_config(SMALL, iterations=4, dtype="bfloat16")
    trained = train_cgans([_training_set(40, 5)], 2, config, [0])
    rows = trained.generate(0, np.array([0, 1, 0]), seed=0)
    assert rows.dtype == np.float32 and rows.shape == (3, 5)
    assert np.isfinite(rows).all() and np.all(np.abs(rows) <= 1)
    assert np.isfinite(trained.losses).all()


def test_no_dropout_runs():
    trained = train_cgans(
        [_training_set(30, 4)], 2, make_config(SMALL, dropout=0.0, iterations=3), [0]
    )
    assert np.isfinite(trained.losses).all()


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "train_sets, n_classes, seeds, message",
    [
        ([], 2, [], "empty"),
        ([(np.zeros((4, 3)), np.array([0, 1, 0, 1]))], 1, [0], "n_classes"),
        ([(np.zeros((4, 3)), np.array([0, 1, 0, 1]))], 2, [0, 1], "seeds"),
        ([(np.zeros((4, 3)), np.array([0, 1, 0, 1]))], 2, [-1], "seeds"),
        ([(np.zeros((4, 3)), np.array([0, 1, 0, 2]))], 2, [0], "encoded 0..1"),
        ([(np.zeros((4, 3)), np.array([0, 1, 0, -1]))], 2, [0], "encoded 0..1"),
        ([(np.zeros((4, 3)), np.array([0.0, 1.0, 0.0, 1.0]))], 2, [0], "integer labels"),
        ([(np.zeros((4, 3)), np.array([0, 1, 0]))], 2, [0], "3 labels"),
        ([(np.zeros((0, 3)), np.zeros(0, dtype=int))], 2, [0], "non-empty"),
        ([(np.zeros(4), np.array([0, 1, 0, 1]))], 2, [0], "2-D"),
        ([(np.full((2, 3), np.nan), np.array([0, 1]))], 2, [0], "finite"),
        (
            [(np.zeros((2, 3)), np.array([0, 1])), (np.zeros((2, 4)), np.array([0, 1]))],
            2,
            [0, 1],
            "features",
        ),
    ],
)
def test_bad_training_input_is_refused(train_sets, n_classes, seeds, message):
    with pytest.raises(UserError, match=message):
        train_cgans(train_sets, n_classes, make_config(SMALL, iterations=1), seeds)


def test_bad_generation_requests_are_refused():
    trained = train_cgans([_training_set(20, 3)], 2, make_config(SMALL, iterations=2), [0])
    with pytest.raises(UserError, match="model index"):
        trained.generate(1, np.array([0]), seed=0)
    with pytest.raises(UserError, match="encoded"):
        trained.generate(0, np.array([2]), seed=0)
    with pytest.raises(UserError, match="integer labels"):
        trained.generate(0, np.array([0.5]), seed=0)
    with pytest.raises(UserError, match="seed"):
        trained.generate(0, np.array([0]), seed=-3)


# ---------------------------------------------------------------- reference trainer


def test_reference_trainer_matches_the_batched_one():
    # Same initialisation, draws and iteration: over a few iterations they agree closely
    # (Adam amplifies rounding differences later on).
    X, y = _training_set(70, 9, n_classes=3)
    config = make_config(SMALL, iterations=8)
    global_state = torch.random.get_rng_state()
    generator, losses = train_cgan_reference(X, y, 3, config, seed=21)
    assert torch.equal(global_state, torch.random.get_rng_state())
    batched = train_cgans([(X, y)], 3, config, [21])
    assert losses.shape == (8, 3) and np.isfinite(losses).all()
    np.testing.assert_allclose(losses, batched.losses[0], atol=1e-5)
    labels = np.array([0, 1, 2, 2, 1])
    z = torch.randn(5, config.latent_dim, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        rows = generator(z, torch.as_tensor(labels)).numpy()
    assert not generator.training
    np.testing.assert_allclose(rows, batched.generate(0, labels, seed=4), atol=1e-5)
