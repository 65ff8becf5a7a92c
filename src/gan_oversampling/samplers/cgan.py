"""Oversampling with the conditional GAN of the original study: its registry entry and its
imbalanced-learn sampler (the shared glue is `samplers.generative`)."""

from __future__ import annotations

from gan_oversampling.gan.cgan import FAMILY, CGANConfig
from gan_oversampling.samplers.generative import (
    GANDivergedError,
    GenerativeOversampler,
    generative_method,
)

__all__ = ["METHOD", "CGANConfig", "CGANOversampler", "GANDivergedError", "resample_cgan"]

# The CGAN's results files predate the family interface: its table is always hashed.
METHOD = generative_method(FAMILY, always_hashed=True)
resample_cgan = METHOD.resample  # the study's batch function, for direct use


class CGANOversampler(GenerativeOversampler):
    """Oversample with one conditional GAN trained on all classes of the data.

    The CGAN of Nazari & Branco (2021): a generator conditioned on the class label (its
    noise multiplied by a label embedding, three dense layers with LeakyReLU and batch
    normalisation, tanh output), trained against a conditional discriminator with dropout
    for a fixed number of iterations (or until an oracle stops improving,
    `stopping="patience"`), then asked for the missing rows of each class to oversample.
    A study runs exactly this code on the folds of many tests at once.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        Which classes to oversample and how far, with imbalanced-learn's meaning.
    random_state : int, RandomState instance or None, default=None
        Seeds the GAN's training and the generated rows; None uses numpy's global random
        state (so `np.random.seed` makes a fit repeatable).
    iterations, batch_size, learning_rate, latent_dim, generator_hidden, ... :
        Every setting of `CGANConfig`; None takes it from `config` (or the default).
        `stopping`, `oracle`, `eval_every`, `patience`, `min_iterations`, `holdout` say how
        long the GAN trains (see `gan.stopping`); `adam_step="shared"` reproduces the
        original code's one Adam step counter for both networks.
    config : CGANConfig or None, default=None
        Every CGAN setting at once; None for the defaults of the original study. The
        parameters above, when not None, override it.
    verbose : bool, default=False
        Report training progress on standard error.

    Attributes
    ----------
    sampling_strategy_ : dict
        Class label -> number of rows generated.
    config_ : CGANConfig
        The settings the fit used.
    losses_ : ndarray of shape (iterations, 3)
        Binary cross-entropies per iteration: discriminator on real rows, on fake rows,
        generator (names in `loss_names_`).
    training_seconds_ : float
        Wall time of training and generation.
    stop_ : StopRecord
        How training ended: `iterations` trained, `reason` ("fixed", "patience",
        "maximum"), `best_iteration` (the generator kept) and the oracle's `curve` of
        (iteration, value) evaluations.
    """

    family = FAMILY
