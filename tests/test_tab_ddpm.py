"""The TabDDPM family: its schedule and diffusion maths, its batched training, its rows,
its sampler and a study that runs it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError

from gan_oversampling.errors import UserError
from gan_oversampling.gan import diffusion as dm
from gan_oversampling.gan.loop import train_models
from gan_oversampling.gan.registry import FAMILIES
from gan_oversampling.gan.tab_ddpm import FAMILY, LOSS_NAMES, make_config
from gan_oversampling.layout import FeatureLayout
from gan_oversampling.report.answer import name
from gan_oversampling.samplers.registry import get_method
from gan_oversampling.samplers.tab_ddpm import TabDDPMOversampler
from gan_oversampling.study.executors import InlineExecutor
from gan_oversampling.study.runner import run_study
from gan_oversampling.study.spec import parse_study
from gan_oversampling.study.store import ResultsStore
from table_files import write_flows

TINY = dict(iterations=6, batch_size=16, timesteps=20, sampling_steps=5, hidden=(16, 16),
            embedding_dim=8, device="cpu")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _table(n_rows=60, seed=0, n_classes=2):
    """Rows in [-1, 1]: two numbers, a block of three, a block of two; labels 0..n-1."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n_rows)
    X = np.hstack([np.tanh(rng.normal(size=(n_rows, 2))), np.eye(3)[rng.integers(0, 3, n_rows)],
                   np.eye(2)[rng.integers(0, 2, n_rows)]])
    return X.astype(np.float32), y.astype(np.int64)


def _train(sets, seeds, **settings):
    return train_models(FAMILY, sets, 2, make_config(**{**TINY, **settings}), seeds)


def _one_hot_blocks(rows: np.ndarray, blocks) -> bool:
    return all(np.isin(rows[:, b], (0.0, 1.0)).all() and (rows[:, b].sum(axis=1) == 1).all()
               for b in blocks)


# ---------------------------------------------------------------- schedule and maths


def test_the_cosine_alphabar_falls_from_about_one_to_about_zero():
    schedule = dm.Schedule.cosine(1000)
    alphabar = schedule.alphabar
    assert (np.diff(alphabar) < 0).all()
    assert alphabar[0] > 0.9999 and alphabar[-1] < 1e-6
    assert schedule.betas.max() == pytest.approx(0.999)  # the cap on the last step


@pytest.mark.parametrize(("timesteps", "n_steps"), [(1000, 100), (1000, 7), (10, 10), (10, 1)])
def test_respaced_betas_reproduce_the_alphabar_of_the_subsequence(timesteps, n_steps):
    base = dm.Schedule.cosine(timesteps)
    respaced = base.respaced(n_steps)
    assert len(respaced.steps) == n_steps and respaced.steps[-1] == timesteps - 1
    assert n_steps == 1 or respaced.steps[0] == 0
    # 1 - beta of the last step is about 4e-8: float64 keeps it to about 1e-8 relative.
    np.testing.assert_allclose(respaced.alphabar, base.alphabar[respaced.steps], rtol=1e-6)
    if n_steps == timesteps:
        np.testing.assert_allclose(respaced.betas, base.betas, rtol=1e-9)


def _grid():
    layout = FeatureLayout(5, np.array([], dtype=np.int64), (np.arange(3), np.arange(3, 5)))
    return dm.BlockGrid(layout, "cpu")


def _log_one_hot(grid, columns):
    return grid.log_of(grid.to_grid(torch.tensor([[columns]], dtype=torch.float32), 0.0))


def test_the_multinomial_posterior_sums_to_one_and_is_bayes_rule_on_three_categories():
    grid, schedule = _grid(), dm.Schedule.cosine(10)
    table = schedule.tensors("cpu")
    log_x0 = _log_one_hot(grid, [1, 0, 0, 0, 1])
    log_xt = _log_one_hot(grid, [0, 1, 0, 0, 1])
    step = 4
    posterior = dm.multinomial_posterior(log_x0, log_xt, torch.tensor([[step]]), table, grid)
    probs = grid.from_grid(posterior.exp())[0, 0].double().numpy()
    np.testing.assert_allclose([probs[:3].sum(), probs[3:].sum()], 1.0, atol=1e-6)
    # By hand: q(x_(t-1) = c | x_0) q(x_t | x_(t-1) = c), normalised over c.
    alpha, alphabar_prev = 1 - schedule.betas[step], schedule.alphabar[step - 1]
    prior = alphabar_prev * np.array([1, 0, 0]) + (1 - alphabar_prev) / 3
    likelihood = alpha * np.array([0, 1, 0]) + (1 - alpha) / 3
    expected = prior * likelihood / (prior * likelihood).sum()
    np.testing.assert_allclose(probs[:3], expected, rtol=1e-5, atol=1e-7)
    first = dm.multinomial_posterior(log_x0, log_xt, torch.tensor([[0]]), table, grid)
    np.testing.assert_allclose(grid.from_grid(first.exp())[0, 0], [1, 0, 0, 0, 1], atol=1e-6)


def test_the_multinomial_loss_is_zero_when_the_predicted_x0_is_the_true_one():
    grid, table = _grid(), dm.Schedule.cosine(10).tensors("cpu")
    log_x0 = _log_one_hot(grid, [0, 0, 1, 1, 0])
    log_xt = _log_one_hot(grid, [1, 0, 0, 0, 1])
    for step in (0, 3, 9):
        index = torch.tensor([[step]])
        loss = dm.multinomial_loss(log_x0, log_xt, log_x0, index, table, grid)
        assert loss.shape == (1, 1, 2)
        assert loss.abs().max() < 1e-6 if step == 0 else (loss == 0).all()  # CE at step 0
        wrong = grid.normalised(grid.to_grid(torch.zeros(1, 1, 5)))  # uniform prediction
        assert (dm.multinomial_loss(log_x0, log_xt, wrong, index, table, grid) > 0).all()


# ---------------------------------------------------------------- training and rows


def test_a_clipped_reverse_step_keeps_the_predicted_x0_in_the_data_range():
    table = dm.Schedule.cosine(100).respaced(10).tensors(torch.device("cpu"))
    index = torch.full((1, 3), 9, dtype=torch.int64)  # the noisiest step: x_0 = x_t / ~0
    x_t, eps = torch.tensor([[[0.3], [-0.2], [0.9]]]), torch.full((1, 3, 1), -0.5)
    free = dm.gaussian_reverse_mean(x_t, eps, index, table)
    clipped = dm.gaussian_reverse_mean(x_t, eps, index, table, clip=True)
    x0 = (table.at("recip_sqrt_alphabar", index) * x_t
          - table.at("eps_to_x0", index) * eps).clamp(-1, 1)
    expected = table.at("mean_x0", index) * x0 + table.at("mean_xt", index) * x_t
    torch.testing.assert_close(clipped, expected)
    assert free.abs().max() > clipped.abs().max()
    assert make_config().clip_denoised and not make_config(clip_denoised=False).clip_denoised


def test_a_model_trains_and_generates_alike_alone_and_batched_with_two_others():
    X, y = _table()
    settings = dict(dropout=0.2)  # the dropout masks are drawn per model too
    alone = _train([(X, y)], [7], **settings)
    batched = _train([_table(seed=1), (X, y), _table(n_rows=40, seed=2)], [3, 7, 5],
                     **settings)
    assert np.array_equal(alone.losses[0], batched.losses[1])
    labels = np.array([0, 1, 1, 0, 1])
    assert np.array_equal(alone.generate(0, labels, 11), batched.generate(1, labels, 11))


def test_the_same_seed_gives_the_same_rows_and_the_blocks_are_exactly_one_hot():
    X, y = _table()
    trained = _train([(X, y)], [0])
    labels = np.repeat([0, 1], 50)
    rows = trained.generate(0, labels, 3)
    assert np.array_equal(rows, _train([(X, y)], [0]).generate(0, labels, 3))
    assert not np.array_equal(rows, trained.generate(0, labels, 4))
    assert rows.dtype == np.float32 and rows.shape == (100, 7)
    assert _one_hot_blocks(rows, [range(2, 5), range(5, 7)])
    assert np.abs(rows[:, :2]).max() <= 1.0


def test_tables_without_blocks_or_without_numbers_train_with_a_zero_loss_for_the_missing_part():
    X, y = _table()
    numbers = _train([(X[:, :2], y)], [0])
    assert (numbers.losses[0, :, 1] == 0).all() and (numbers.losses[0, :, 0] > 0).all()
    blocks = _train([(X[:, 2:], y)], [0])
    assert (blocks.losses[0, :, 0] == 0).all() and (blocks.losses[0, :, 1] > 0).all()
    assert _one_hot_blocks(blocks.generate(0, y, 0), [range(0, 3), range(3, 5)])


def test_a_stack_cut_to_some_models_trains_them_on_as_before():
    sets, settings = [_table(seed=seed) for seed in range(3)], make_config(**TINY)

    def started(sets, seeds):
        rngs = [torch.Generator().manual_seed(seed) for seed in seeds]
        return FAMILY.start(sets, 2, settings, rngs, torch.device("cpu"), sets[0][0])

    stack, alone = started(sets, [0, 1, 2]), started(sets[2:], [2])
    for iteration in range(3):
        stack.step(iteration), alone.step(iteration)
    cut = stack.keep([2, 0])
    assert cut.members == [2, 0]
    for iteration in range(3, 6):
        assert torch.equal(cut.step(iteration)[0], alone.step(iteration)[0])


def test_bfloat16_products_still_give_one_hot_blocks_and_numbers_in_range():
    X, y = _table()
    rows = _train([(X, y)], [0], dtype="bfloat16").generate(0, y, 0)
    assert _one_hot_blocks(rows, [range(2, 5), range(5, 7)]) and np.abs(rows).max() <= 1.0


def test_folds_of_different_layouts_never_share_a_stack():
    X, y = _table()
    assert FAMILY.batch_key(X) != FAMILY.batch_key(X[:, :5])
    with pytest.raises(UserError, match="layouts differ"):
        _train([(X, y), (X[:, [0, 1, 2, 3, 4, 0, 1]], y)], [0, 1])


def test_generated_minority_rows_move_toward_the_real_ones_with_training():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], [80, 20])
    X = np.clip(np.where(y[:, None] == 1, 0.5, -0.5) + 0.1 * rng.normal(size=(100, 2)), -1, 1)
    sets, real = [(X.astype(np.float32), y)], X[y == 1].mean(axis=0)
    settings = dict(batch_size=64, timesteps=50, sampling_steps=20, hidden=(32, 32),
                    embedding_dim=16, learning_rate=3e-3)

    def gap(iterations: int) -> float:
        trained = _train(sets, [0], iterations=iterations, **settings)
        return float(np.abs(trained.generate(0, np.ones(200, np.int64), 1).mean(0) - real).max())

    early, late = gap(5), gap(300)
    assert late < 0.15 < early


# ---------------------------------------------------------------- the sampler and a study


@pytest.mark.parametrize("as_frame", [False, True])
def test_the_sampler_balances_three_string_classes(as_frame):
    X, codes = _table(n_rows=90, n_classes=3)
    keep = np.concatenate([np.flatnonzero(codes == 0), np.flatnonzero(codes == 1)[:12],
                           np.flatnonzero(codes == 2)[:6]])
    X, y = X[keep], np.array(["low", "mid", "high"])[codes[keep]]
    X[:, :2] *= 3.0  # numbers outside [-1, 1]: scaled for training, generated rows back
    counts = pd.Series(y).value_counts()
    if as_frame:
        X, y = pd.DataFrame(X, columns=[f"f{j}" for j in range(7)]), pd.Series(y)
    sampler = TabDDPMOversampler(random_state=0, **TINY)
    X_res, y_res = sampler.fit_resample(X, y)
    X_res = np.asarray(X_res)
    assert pd.Series(np.asarray(y_res)).value_counts().to_dict() == dict.fromkeys(
        counts.index, counts.max())
    np.testing.assert_array_equal(X_res[: len(y)], np.asarray(X))
    assert _one_hot_blocks(X_res[len(y):], [range(2, 5), range(5, 7)])
    assert sampler.losses_.shape == (TINY["iterations"], 2)
    assert sampler.loss_names_ == LOSS_NAMES and "generator loss" not in LOSS_NAMES
    assert sampler.config_.sampling_steps == TINY["sampling_steps"]


def test_the_sampler_stops_with_patience():
    X, y = _table(n_rows=80)
    sampler = TabDDPMOversampler(random_state=0, **{**TINY, "iterations": 12},
                                 stopping="patience", eval_every=3, patience=1)
    sampler.fit_resample(X, y)
    assert sampler.stop_.reason in ("patience", "maximum") and sampler.stop_.oracle == "mmd"
    assert sampler.losses_.shape == (sampler.stop_.iterations, 2)


def test_a_tiny_study_runs_tab_ddpm_beside_the_baseline(tmp_path):
    csv = tmp_path / "flows.csv"
    write_flows(csv)
    spec = parse_study({
        "name": "diffusion", "methods": ["none", "tab-ddpm"],
        "data": {"kind": "table", "path": str(csv), "label_column": "label",
                 "majority": ["benign"], "minority": ["attack"], "categorical": ["proto"],
                 "exclude": ["id", "verdict"], "majority_sizes": [50],
                 "imbalance_ratios": [0.25, 0.4]},
        "evaluation": {"cv": "stratified", "classifier": "logistic-regression"},
        "tab-ddpm": {key: list(value) if isinstance(value, tuple) else value
                     for key, value in TINY.items()},
    }, "test")
    with ResultsStore.open(tmp_path / "r.sqlite") as store:
        assert run_study(spec, store, InlineExecutor(threads=1)) == 4
        frame = store.scores_frame("diffusion")
        assert not store.failed_units("diffusion")
        losses = store.losses("diffusion", frame["test_key"].iloc[0], "tab-ddpm")
    assert set(frame["method"]) == {"none", "tab-ddpm"}
    assert (frame.loc[frame["method"] == "tab-ddpm", "iterations"] == TINY["iterations"]).all()
    assert all(curve.shape == (TINY["iterations"], 2) for curve in losses.values())


def test_the_family_is_registered_and_named():
    assert FAMILIES["tab-ddpm"] is FAMILY
    assert get_method("tab-ddpm").kind == "generative"
    assert name("tab-ddpm") == "TabDDPM" and name("tab-ddpm+threshold") == "TabDDPM+threshold"


# ---------------------------------------------------------------- bad settings


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (dict(timesteps=10, sampling_steps=11), "sampling_steps"),
        (dict(timesteps=0), "timesteps"),
        (dict(sampling_steps=0), "sampling_steps"),
        (dict(hidden=()), "hidden"),
        (dict(dropout=1.0), "dropout"),
        (dict(lr_decay="cosine"), "lr_decay"),
        (dict(steps=10), "steps"),
    ],
)
def test_bad_settings_are_refused_naming_the_setting(settings, message):
    with pytest.raises(UserError, match=message):
        make_config(**settings)
    X, y = _table()
    with pytest.raises((InvalidParameterError, TypeError), match=message):
        TabDDPMOversampler(**{**TINY, **settings}).fit_resample(X, y)


def test_sampling_steps_beyond_timesteps_say_why():
    with pytest.raises(UserError, match=r"sampling_steps.*exceeds timesteps \(10\)"):
        make_config(timesteps=10, sampling_steps=20)
