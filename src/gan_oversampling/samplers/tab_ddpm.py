"""Oversampling with a conditional diffusion model for tables after TabDDPM: its registry
entry and its imbalanced-learn sampler (the shared glue is `samplers.generative`)."""

from __future__ import annotations

from gan_oversampling.gan.tab_ddpm import FAMILY, TabDDPMConfig
from gan_oversampling.samplers.generative import (
    GANDivergedError,
    GenerativeOversampler,
    generative_method,
)

__all__ = ["METHOD", "GANDivergedError", "TabDDPMConfig", "TabDDPMOversampler"]

METHOD = generative_method(FAMILY)


class TabDDPMOversampler(GenerativeOversampler):
    """Oversample with one conditional denoising diffusion model trained on all classes.

    After TabDDPM (Kotelnikov et al., 2023): numeric columns diffuse with Gaussian noise,
    each one-hot block of categorical columns diffuses multinomially (Hoogeboom et al.,
    2021), and one MLP denoiser conditioned on the class label and the timestep predicts
    the numeric noise and every block's categories; it trains with AdamW for a fixed
    number of steps (or until an oracle stops improving, `stopping="patience"`), then
    generates the missing rows of each class by ancestral sampling, over a respaced
    subsequence of the training steps (`sampling_steps`). Generated rows hold every
    one-hot block exactly one-hot. A study runs exactly this code on the folds of many
    tests at once.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        Which classes to oversample and how far, with imbalanced-learn's meaning.
    random_state : int, RandomState instance or None, default=None
        Seeds the model's training and the generated rows; None uses numpy's global random
        state (so `np.random.seed` makes a fit repeatable).
    iterations, batch_size, learning_rate, weight_decay, lr_decay, timesteps, \
sampling_steps, hidden, embedding_dim, dropout, ... :
        Every setting of `TabDDPMConfig` (its docstring gives each default and its
        source); None takes it from `config` (or the default). `iterations` counts
        training steps; `sampling_steps` may not exceed `timesteps`. `stopping`, `oracle`,
        `eval_every`, `patience`, `min_iterations`, `holdout` say how long it trains (see
        `gan.stopping`).
    config : TabDDPMConfig or None, default=None
        Every setting at once; None for the defaults. The parameters above, when not None,
        override it.
    verbose : bool, default=False
        Report training progress on standard error.

    Attributes
    ----------
    sampling_strategy_ : dict
        Class label -> number of rows generated.
    config_ : TabDDPMConfig
        The settings the fit used.
    losses_ : ndarray of shape (iterations, 2)
        Per training step: the Gaussian loss (MSE of the predicted noise) and the
        multinomial loss (TabDDPM's KL term, 0 without one-hot blocks); names in
        `loss_names_`.
    training_seconds_ : float
        Wall time of training and generation.
    stop_ : StopRecord
        How training ended: `iterations` trained, `reason` ("fixed", "patience",
        "maximum"), `best_iteration` (the model kept) and the oracle's `curve` of
        (iteration, value) evaluations.
    """

    family = FAMILY
