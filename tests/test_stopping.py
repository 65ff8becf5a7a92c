"""Stopping rules inside the batched trainer: settings, the rules on scripted oracle curves,
best generators kept, GANs leaving the batch, divergence, and the shared Adam step."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from gan_oversampling.errors import UserError
from gan_oversampling.gan import oracles
from gan_oversampling.gan.cgan import CGANConfig, make_config, train_cgans
from gan_oversampling.gan.layers import set_adam_step
from gan_oversampling.gan.oracles import Oracle, hold_out
from gan_oversampling.gan.stopping import FixedRule, PatienceRule, Track, make_rule
from gan_oversampling.study.presets import resolve_study
from gan_oversampling.study.spec import parse_study

SMALL = CGANConfig(
    latent_dim=8, generator_hidden=(16, 16, 16), discriminator_hidden=(16, 16, 16), device="cpu"
)


def _training_set(n_rows: int, n_features: int = 4, seed: int = 0):
    """Minority (a quarter of the rows) around +0.5, majority around -0.5."""
    rng = np.random.default_rng(seed)
    y = (np.arange(n_rows) % 4 == 0).astype(np.int64)
    X = np.clip(np.where(y[:, None] == 1, 0.5, -0.5) + rng.normal(0, 0.1, (n_rows, n_features)),
                -1, 1)
    return X.astype(np.float32), y


def _patience(**settings) -> CGANConfig:
    defaults = dict(stopping="patience", oracle="mmd", iterations=40, eval_every=5, patience=2)
    return make_config(SMALL, **{**defaults, **settings})


class _Scripted(Oracle):
    """An oracle whose values (gaps, lower is better) follow a script per training set,
    picked by the set's row count."""

    scripts: dict[int, list[float]] = {}

    def __init__(self, data, rng):
        self.values = iter(self.scripts[len(data.y_fit) + len(data.y_held)])
        self.labels = np.ones(4, dtype=np.int64)

    def score(self, rows):
        return next(self.values)


# Tiny products parallelise badly, and stall on a busy machine (see the README).
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def scripted(monkeypatch):
    monkeypatch.setitem(oracles.ORACLES, "mmd", _Scripted)
    monkeypatch.setattr(_Scripted, "scripts", {})
    return _Scripted.scripts


# ---------------------------------------------------------------- settings


@pytest.mark.parametrize(
    "settings, message",
    [
        (dict(oracle="c2st"), "oracle='c2st': applies only with stopping = 'patience'"),
        (dict(patience=3), "patience=3: applies only"),
        (dict(holdout=0.3), "holdout=0.3: applies only"),
        (dict(stopping="patience", iterations=50), "eval_every=100: exceeds iterations (50)"),
        (dict(stopping="patience", min_iterations=2000), "min_iterations=2000: exceeds"),
        (dict(stopping="early"), "stopping"),
        (dict(stopping="patience", oracle="fid"), "oracle"),
        (dict(stopping="patience", patience=0), "patience"),
        (dict(stopping="patience", eval_every=0), "eval_every"),
        (dict(stopping="patience", holdout=0.0), "holdout"),
        (dict(stopping="patience", holdout=0.6), "holdout"),
        (dict(stopping="patience", min_delta=-0.1), "min_delta"),
        (dict(stopping="patience", min_delta=math.nan), "min_delta"),
        (dict(stopping="patience", patience=True), "patience"),
        (dict(adam_step="both"), "adam_step"),
    ],
)
def test_bad_stopping_settings_are_refused_in_one_line(settings, message):
    with pytest.raises(UserError, match="bad CGAN setting") as caught:
        make_config(**settings)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(ValidationError):
        CGANConfig(**settings)


def test_a_study_file_names_the_bad_stopping_setting():
    with pytest.raises(UserError) as caught:
        parse_study({"name": "x", "cgan": {"oracle": "c2st"}}, "study")
    assert "cgan.oracle: applies only with stopping = 'patience'" in str(caught.value)
    spec = parse_study({"name": "x", "cgan": {"stopping": "patience", "oracle": "c2st",
                                               "patience": 3}}, "study")
    assert (spec.cgan.stopping, spec.cgan.oracle, spec.cgan.patience) == ("patience", "c2st", 3)


def test_new_settings_change_the_hash_only_when_used():
    spec = resolve_study("quick-cyber")
    spelled_out = spec.model_copy(update={"cgan": make_config(
        spec.cgan, stopping="fixed", adam_step="separate")})
    assert spelled_out.settings_hash() == spec.settings_hash()
    hashes = {spec.settings_hash()}
    for change in (dict(adam_step="shared"), dict(stopping="patience"),
                   dict(stopping="patience", oracle="cas-real"),
                   dict(stopping="patience", patience=3)):
        changed = spec.model_copy(update={"cgan": make_config(spec.cgan, **change)})
        hashes.add(changed.settings_hash())
    assert len(hashes) == 5


def test_the_default_oracle_is_mmd_and_files_naming_the_former_one_still_load():
    assert CGANConfig().oracle == "mmd"
    # `presets` printed every CGAN setting, the oracle "cas-real" among them, when that
    # was the default; such a file runs the fixed rule as before, under the same hash.
    spec = resolve_study("quick-cyber")
    printed = {**spec.model_dump(mode="json", exclude={"description"}), "name": "quick-cyber"}
    printed["cgan"] = {**printed["cgan"], "oracle": "cas-real"}
    assert parse_study(printed, "study").settings_hash() == spec.settings_hash()
    with pytest.raises(UserError, match="cgan.oracle: applies only with stopping"):
        parse_study({**printed, "cgan": {**printed["cgan"], "oracle": "c2st"}}, "study")


def test_make_rule_reads_the_settings():
    assert isinstance(make_rule(SMALL), FixedRule)
    rule = make_rule(_patience(min_iterations=20, min_delta=0.5))
    assert isinstance(rule, PatienceRule)
    assert (rule.iterations, rule.eval_every, rule.patience, rule.min_iterations,
            rule.min_delta) == (40, 5, 2, 20, 0.5)


# ---------------------------------------------------------------- the rules alone


def _run_rule(rule: PatienceRule, gaps: list[float]) -> tuple[Track, int | None, str | None]:
    track = Track()
    for number, gap in enumerate(gaps, start=1):
        _, reason = rule.observe(track, number * rule.eval_every, -gap, gap)
        if reason:
            return track, number * rule.eval_every, reason
    return track, None, None


def test_patience_stops_after_that_many_evaluations_without_improvement():
    rule = PatienceRule(iterations=1000, eval_every=10, patience=2)
    track, stopped_at, reason = _run_rule(rule, [5, 4, 3, 3.5, 3.2, 1, 0])
    assert (stopped_at, reason, track.best_iteration) == (50, "patience", 30)
    assert track.curve == [(10, -5), (20, -4), (30, -3), (40, -3.5), (50, -3.2)]


def test_min_iterations_and_min_delta():
    late = PatienceRule(iterations=1000, eval_every=10, patience=2, min_iterations=65)
    assert _run_rule(late, [5, 4, 3, 3.5, 3.2, 3.3, 3.4, 3.6])[1] == 70
    strict = PatienceRule(iterations=1000, eval_every=10, patience=2, min_delta=0.5)
    track, stopped_at, _ = _run_rule(strict, [5, 4.6, 4.2, 3.0, 2.8, 2.9])
    assert (track.best_iteration, stopped_at) == (40, 60)  # 4.6 and 2.8 are no improvement


def test_a_score_that_is_not_a_number_never_improves():
    rule = PatienceRule(iterations=1000, eval_every=10, patience=2)
    track, stopped_at, _ = _run_rule(rule, [2.0, math.nan, math.nan])
    assert (track.best_iteration, stopped_at) == (10, 30)
    track, _, _ = _run_rule(rule, [math.nan, 3.0])  # the first evaluation counts as best
    assert track.best_iteration == 20


def test_checks_happen_at_the_interval_and_at_the_end():
    assert [i for i in range(1, 26) if PatienceRule(25, 10, 1).checks_after(i)] == [10, 20, 25]
    assert [i for i in range(1, 251) if FixedRule(250).checks_after(i)] == [100, 200, 250]


# ---------------------------------------------------------------- inside the trainer


def test_patience_stops_where_the_scripted_curve_says_and_keeps_the_best(scripted):
    X, y = _training_set(48)
    scripted[48] = [5, 4, 3, 3.5, 3.2, 1, 0, 0]
    trained = train_cgans([(X, y)], 2, _patience(), seeds=[7])
    [stop] = trained.stops
    assert (stop.iterations, stop.reason, stop.best_iteration) == (25, "patience", 15)
    assert [value for _, value in stop.curve] == [5, 4, 3, 3.5, 3.2]
    assert trained.losses_of(0).shape == (25, 3) and not trained.losses[0, 25:].any()
    # The kept generator is the one of iteration 15: a GAN trained 15 iterations on the same
    # rows (the judge's split) with the same seed, bit for bit.
    split = hold_out(X, y, np.array([1]), 0.2, np.random.default_rng([7, 1]))
    shorter = train_cgans([(split.X_fit, split.y_fit)], 2, make_config(SMALL, iterations=15),
                          seeds=[7])
    labels = np.array([0, 1] * 6)
    np.testing.assert_array_equal(trained.generate(0, labels, 3), shorter.generate(0, labels, 3))
    np.testing.assert_array_equal(trained.losses_of(0)[:15], shorter.losses_of(0))


def test_a_gan_that_never_stops_ends_at_the_maximum_with_its_best_generator(scripted):
    X, y = _training_set(40)
    scripted[40] = [3, 2, 2.5, 1, 1.5, 1.2, 1.1, 1.3]
    trained = train_cgans([(X, y)], 2, _patience(patience=10), seeds=[1])
    [stop] = trained.stops
    assert (stop.iterations, stop.reason, stop.best_iteration) == (40, "maximum", 20)
    assert len(stop.curve) == 8


def test_gans_stop_on_their_own_and_leave_the_batch_without_changing_any_result(scripted):
    sets = [_training_set(n, seed=n) for n in (40, 48, 56)]
    scripts = {40: [1, 2, 3, 4, 5],   # stops at 8
               48: [3, 2, 1, 2, 3],   # stops at 16
               56: [5, 4, 3, 2, 1]}   # trains to the maximum, 20
    config = _patience(iterations=20, eval_every=4, patience=1)
    scripted.update(scripts)
    batched = train_cgans(sets, 2, config, seeds=[11, 12, 13])
    assert [(s.iterations, s.reason) for s in batched.stops] == [
        (8, "patience"), (16, "patience"), (20, "maximum")]
    labels = np.array([0, 1] * 5)
    for k, (data, seed) in enumerate(zip(sets, [11, 12, 13], strict=True)):
        scripted.update(scripts)
        alone = train_cgans([data], 2, config, seeds=[seed])
        assert alone.stops[0] == batched.stops[k]
        np.testing.assert_array_equal(alone.losses_of(0), batched.losses_of(k))
        np.testing.assert_array_equal(alone.generate(0, labels, 5),
                                      batched.generate(k, labels, 5))


def test_a_real_oracle_gives_a_gan_the_same_result_alone_or_batched():
    sets = [_training_set(40 + 4 * k, seed=k) for k in range(3)]
    config = _patience(oracle="cas-real", iterations=20, patience=1)
    batched = train_cgans(sets, 2, config, seeds=[4, 5, 6])
    alone = train_cgans([sets[1]], 2, config, seeds=[5])
    assert alone.stops[0] == batched.stops[1] and alone.stops[0].oracle == "cas-real"
    assert all(0 <= value <= 1 for _, value in alone.stops[0].curve)
    np.testing.assert_array_equal(alone.generate(0, np.array([1, 1]), 0),
                                  batched.generate(1, np.array([1, 1]), 0))


def test_the_fixed_rule_records_every_gan_as_fixed():
    trained = train_cgans([_training_set(40), _training_set(44)], 2,
                          make_config(SMALL, iterations=7), seeds=[0, 1])
    assert [(s.iterations, s.reason, s.best_iteration, s.curve, s.oracle)
            for s in trained.stops] == [(7, "fixed", 7, [], None)] * 2


def test_a_diverged_gan_stops_alone_and_the_others_train_on_unchanged(scripted):
    healthy = _training_set(40)
    broken = (np.full((44, 4), 1e30, dtype=np.float32), _training_set(44)[1])  # huge logits
    scripted.update({40: [3, 2, 1, 0, 1, -1], 44: [0] * 6})
    config = _patience(iterations=30)
    trained = train_cgans([healthy, broken], 2, config, seeds=[2, 3])
    stop = trained.stops[1]
    assert (stop.reason, stop.iterations) == ("diverged", 1)
    assert stop.detail.startswith("diverged at iteration 1 (discriminator loss on real rows")
    assert trained.divergence(1) == stop.detail and trained.divergence(0) is None
    assert trained.losses_of(1).shape == (1, 3)
    assert trained.losses[1, 4].any() and not trained.losses[1, 5:].any()  # left at the check
    scripted[40] = [3, 2, 1, 0, 1, -1]
    alone = train_cgans([healthy], 2, config, seeds=[2])
    assert trained.stops[0] == alone.stops[0] and trained.stops[0].reason == "maximum"
    np.testing.assert_array_equal(trained.losses_of(0), alone.losses_of(0))


def test_too_few_rows_to_hold_out_is_refused_naming_the_set():
    X, y = _training_set(40)
    one_minority = (X[:9], np.array([0] * 8 + [1]))
    with pytest.raises(UserError, match="training set 1: .*class 1 has 1"):
        train_cgans([(X, y), one_minority], 2, _patience(), seeds=[0, 1])
    with pytest.raises(UserError, match="targets must be class codes"):
        train_cgans([(X, y)], 2, _patience(), seeds=[0], targets=[[2]])


# ---------------------------------------------------------------- the shared Adam step


@pytest.mark.parametrize("fused", [False, True])
def test_a_shared_step_changes_the_bias_correction_as_by_hand(fused):
    lr, beta1, beta2, eps, grad = 0.1, 0.5, 0.999, 1e-7, 0.3
    parameter = torch.nn.Parameter(torch.zeros(16))
    optimiser = torch.optim.Adam([parameter], lr=lr, betas=(beta1, beta2), eps=eps, fused=fused)
    set_adam_step(optimiser, 2)  # the generator's first step is the counter's third
    assert torch.equal(parameter.detach(), torch.zeros(16))  # creating the state moved nothing
    parameter.grad = torch.full((16,), grad)
    optimiser.step()
    m_hat = (1 - beta1) * grad / (1 - beta1**3)
    v_hat = (1 - beta2) * grad**2 / (1 - beta2**3)
    expected = -lr * m_hat / (math.sqrt(v_hat) + eps)
    np.testing.assert_allclose(parameter.detach().numpy(), expected, rtol=1e-5)
    assert optimiser.state[parameter]["step"].item() == 3
    # With its own counter, the first step's bias correction cancels: the step is lr.
    alone = torch.nn.Parameter(torch.zeros(16))
    plain = torch.optim.Adam([alone], lr=lr, betas=(beta1, beta2), eps=eps, fused=fused)
    alone.grad = torch.full((16,), grad)
    plain.step()
    np.testing.assert_allclose(alone.detach().numpy(), -lr, rtol=1e-5)
    assert abs(expected + lr) > 1e-3


def test_the_shared_step_moves_the_generator_from_its_first_step_on():
    data = _training_set(40)
    separate = train_cgans([data], 2, make_config(SMALL, iterations=2), seeds=[9])
    shared = train_cgans([data], 2, make_config(SMALL, iterations=2, adam_step="shared"),
                         seeds=[9])
    # Iteration 1: every step is the counters' same (D 1 and 2) but G's (1 vs 3); so the
    # losses of iteration 1 and the discriminator's on real rows of iteration 2 agree...
    np.testing.assert_array_equal(separate.losses[0, 0], shared.losses[0, 0])
    assert separate.losses[0, 1, 0] == shared.losses[0, 1, 0]
    # ...and the fakes of iteration 2 come from generators that moved differently.
    assert separate.losses[0, 1, 1] != shared.losses[0, 1, 1]
