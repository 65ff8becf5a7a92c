"""Oversampling with a conditional Wasserstein GAN with gradient penalty and an auxiliary
classifier: its registry entry and its imbalanced-learn sampler (the shared glue is
`samplers.generative`)."""

from __future__ import annotations

from gan_oversampling.gan.wgan_gp import FAMILY, WGANGPConfig
from gan_oversampling.samplers.generative import (
    GANDivergedError,
    GenerativeOversampler,
    generative_method,
)

__all__ = ["METHOD", "GANDivergedError", "WGANGPConfig", "WGANGPOversampler"]

METHOD = generative_method(FAMILY)


class WGANGPOversampler(GenerativeOversampler):
    """Oversample with one conditional WGAN-GP trained on all classes of the data.

    After Engelmann & Lessmann (2021): a generator conditioned on the class label (a
    one-hot label joined to its noise; tanh for numeric columns, a Gumbel-softmax for each
    one-hot block of categorical columns, which generated rows hold exactly one-hot)
    trained against a conditional critic with layer normalisation and a gradient penalty,
    several critic updates per generator update, plus an auxiliary classifier trained on
    the real rows whose cross-entropy on the generated rows joins the generator's loss.
    It trains for a fixed number of generator updates (or until an oracle stops
    improving, `stopping="patience"`), then generates the missing rows of each class to
    oversample. A study runs exactly this code on the folds of many tests at once.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        Which classes to oversample and how far, with imbalanced-learn's meaning.
    random_state : int, RandomState instance or None, default=None
        Seeds the training and the generated rows; None uses numpy's global random state
        (so `np.random.seed` makes a fit repeatable).
    iterations, batch_size, learning_rate, critic_steps, penalty_weight, ... :
        Every setting of `WGANGPConfig` (its docstring gives each default's source);
        None takes it from `config` (or the default). `iterations` counts generator
        updates, each after `critic_steps` critic updates; `penalty_weight` weighs the
        gradient penalty; `gumbel_temperature` softens the categorical blocks while
        training; `aux_weight` weighs the auxiliary classifier's loss. `stopping`,
        `oracle`, `eval_every`, `patience`, `min_iterations`, `holdout` say how long the
        model trains (see `gan.stopping`).
    config : WGANGPConfig or None, default=None
        Every setting at once; None for the defaults. The parameters above, when not
        None, override it.
    verbose : bool, default=False
        Report training progress on standard error.

    Attributes
    ----------
    sampling_strategy_ : dict
        Class label -> number of rows generated.
    config_ : WGANGPConfig
        The settings the fit used.
    losses_ : ndarray of shape (iterations, 5)
        Per iteration: the critic loss and the gradient penalty (means over the critic
        updates), the generator's Wasserstein loss, the auxiliary classifier's
        cross-entropy on real rows and on generated rows (names in `loss_names_`).
    loss_names_ : tuple of str
        What each column of `losses_` holds.
    training_seconds_ : float
        Wall time of training and generation.
    stop_ : StopRecord
        How training ended: `iterations` trained, `reason` ("fixed", "patience",
        "maximum"), `best_iteration` (the generator kept) and the oracle's `curve` of
        (iteration, value) evaluations.
    """

    family = FAMILY
