"""How a fold's features reach a generator's [-1, 1] range and come back."""

from __future__ import annotations

import numpy as np
import pytest

from gan_oversampling.gan.registry import FAMILIES
from gan_oversampling.layout import FeatureLayout
from gan_oversampling.samplers.feature_ranges import FeatureRanges


def _fold() -> np.ndarray:
    rng = np.random.default_rng(0)
    tiny = rng.uniform(0.0, 0.001, 40)  # inside [-1, 1], but on a tiny scale
    wide = rng.uniform(-50.0, 300.0, 40)
    flag = rng.integers(0, 2, 40).astype(float)
    block = np.eye(3)[rng.integers(0, 3, 40)]
    constant = np.full(40, 0.5)
    return np.column_stack([tiny, wide, flag, block, constant])


def test_by_default_only_features_leaving_the_range_are_scaled():
    X = _fold()
    ranges = FeatureRanges.fit(X)
    assert ranges.scaled.tolist() == [False, True, False, False, False, False, False]
    scaled = ranges.to_tanh(X)
    np.testing.assert_array_equal(scaled[:, 0], X[:, 0].astype(np.float32))  # as it was


def test_scale_all_scales_every_number_and_keeps_flags_and_blocks_0_1():
    X = _fold()
    ranges = FeatureRanges.fit(X, scale_all=True)
    assert ranges.scaled.tolist() == [True, True, False, False, False, False, False]
    scaled = ranges.to_tanh(X)
    assert scaled[:, 0].min() == pytest.approx(-1) and scaled[:, 0].max() == pytest.approx(1)
    assert FeatureLayout.detect(scaled).block_sizes == (3,)  # the block still reads as one
    back = ranges.from_tanh(scaled, keep_in_range=True)
    np.testing.assert_allclose(back, X, atol=1e-5 * 350)


def test_which_families_scale_every_number():
    assert FAMILIES["cgan"].feature_scaling == "outside"  # the original study's rows
    assert FAMILIES["wgan-gp"].feature_scaling == FAMILIES["tab-ddpm"].feature_scaling == "all"
