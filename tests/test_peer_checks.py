"""The oversamplers against imbalanced-learn's and scikit-learn's own estimator checks.

Every generator family's sampler is checked (the subclasses of `GenerativeOversampler`,
found through the registry, each with tiny settings from `TINY_SETTINGS`), and CTGAN's
when its optional package is installed. Checks that cannot apply are expected failures with
their reason, as imbalanced-learn marks them for its own dense-only samplers (SMOTENC).
"""

from __future__ import annotations

import importlib.util

import pytest
from imblearn.utils.estimator_checks import parametrize_with_checks as imblearn_checks
from sklearn.utils.estimator_checks import parametrize_with_checks as sklearn_checks

from gan_oversampling.gan.registry import FAMILIES
from gan_oversampling.samplers import registry
from gan_oversampling.samplers.ctgan import CTGANOversampler
from gan_oversampling.samplers.generative import GenerativeOversampler

# A few iterations of small networks: the checks test conventions, not sample quality.
TINY_SETTINGS: dict[str, dict] = {
    "cgan": {"generator_hidden": (16,), "discriminator_hidden": (16, 16), "latent_dim": 4,
             "iterations": 3, "device": "cpu"},
    "wgan-gp": {"generator_hidden": (16,), "critic_hidden": (16, 16), "aux_hidden": (8,),
                "latent_dim": 4, "iterations": 3, "critic_steps": 2, "device": "cpu"},
    "tab-ddpm": {"hidden": (16,), "embedding_dim": 8, "timesteps": 10, "sampling_steps": 4,
                 "iterations": 3, "batch_size": 16, "device": "cpu"},
}


def _generative_samplers() -> list[GenerativeOversampler]:
    assert registry.METHODS  # every sampler module is imported by the registry
    classes = {cls.family.name: cls for cls in _subclasses(GenerativeOversampler)}
    assert set(classes) == set(FAMILIES), "every family has one sampler"
    missing = set(FAMILIES) - set(TINY_SETTINGS)
    assert not missing, f"give {sorted(missing)} tiny settings in TINY_SETTINGS"
    return [cls(**TINY_SETTINGS[name], random_state=0) for name, cls in sorted(classes.items())]


def _subclasses(cls) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return [sub for sub in found if sub.__dict__.get("family") is not None]


SAMPLERS = _generative_samplers()
if importlib.util.find_spec("ctgan") is not None:  # an optional extra
    SAMPLERS.append(CTGANOversampler(epochs=1, batch_size=10, random_state=0))

DENSE_ONLY = "a generator reads dense features: sparse input is refused with a TypeError"


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


def test_every_family_is_a_registered_method():
    for name in FAMILIES:
        method = registry.get_method(name)
        assert method.kind == "generative" and method.batches_tests
        assert method.loss_names == FAMILIES[name].loss_names
