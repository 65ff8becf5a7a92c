"""The oversamplers against imbalanced-learn's and scikit-learn's own estimator checks.

Checks that cannot apply are expected failures with their reason, as imbalanced-learn marks
them for its own dense-only samplers (SMOTENC).
"""

from __future__ import annotations

import importlib.util

import pytest
from imblearn.utils.estimator_checks import parametrize_with_checks as imblearn_checks
from sklearn.utils.estimator_checks import parametrize_with_checks as sklearn_checks

from gan_oversampling.gan.config import CGANConfig
from gan_oversampling.samplers.cgan import CGANOversampler
from gan_oversampling.samplers.ctgan import CTGANOversampler

# A few iterations of a small network: the checks test conventions, not sample quality.
TINY = CGANConfig(
    generator_hidden=(16,), discriminator_hidden=(16, 16), latent_dim=4, iterations=3,
    device="cpu",
)
SAMPLERS = [CGANOversampler(config=TINY, random_state=0)]
if importlib.util.find_spec("ctgan") is not None:  # an optional extra
    SAMPLERS.append(CTGANOversampler(epochs=1, batch_size=10, random_state=0))

DENSE_ONLY = "a GAN reads dense features: sparse input is refused with a TypeError"


def _expected_failures(estimator) -> dict[str, str]:
    return {"check_samplers_pandas_sparse": DENSE_ONLY}


def _listed(marker):
    """imbalanced-learn hands pytest its checks as a generator, which pytest deprecates."""
    names, checks = marker.args
    return pytest.mark.parametrize(names, list(checks), **marker.kwargs)


@_listed(imblearn_checks(SAMPLERS, expected_failed_checks=_expected_failures))
def test_imbalanced_learn_checks(estimator, check):
    check(estimator)


@sklearn_checks(SAMPLERS)
def test_scikit_learn_checks(estimator, check):
    check(estimator)
