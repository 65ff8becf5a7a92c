"""The oversamplers a study compares per training fold, under the names a study file uses.

The CGAN is not here: the runner trains the CGANs of many folds at once (gan/train.py).
"""

from __future__ import annotations

import numpy as np
from imblearn.over_sampling import ADASYN, SMOTE, BorderlineSMOTE, RandomOverSampler

from gan_oversampling.errors import UserError

CLASSIC_SAMPLERS = ("random", "smote", "borderline-smote", "adasyn")


def make_fold_sampler(name: str, y: np.ndarray, random_state: int):
    """An imblearn-compatible sampler for a training fold with labels `y`.

    The neighbour counts shrink to what the smallest class allows: with 100 majority
    rows at ratio 0.1 a training fold holds 8 minority rows, fewer than some defaults.
    """
    smallest = int(np.bincount(y).min()) if len(y) else 0
    neighbours = max(1, min(5, smallest - 1))
    if name == "random":
        return RandomOverSampler(random_state=random_state)
    if smallest < 2:
        raise UserError(f"oversampler '{name}' needs at least 2 minority rows in a training fold")
    if name == "smote":
        return SMOTE(k_neighbors=neighbours, random_state=random_state)
    if name == "borderline-smote":
        return BorderlineSMOTE(k_neighbors=neighbours, random_state=random_state)
    if name == "adasyn":
        return ADASYN(n_neighbors=neighbours, random_state=random_state)
    raise UserError(f"unknown oversampler '{name}'; known: {', '.join(CLASSIC_SAMPLERS)}")
