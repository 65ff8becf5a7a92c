"""The oversamplers a study compares per training fold, under the names a study file uses.

The CGAN is not here: the runner trains the CGANs of many folds at once (gan/train.py).
CTGAN (optional package) is, as it trains one model per fold.
"""

from __future__ import annotations

import numpy as np
from imblearn.over_sampling import ADASYN, SMOTE, BorderlineSMOTE, RandomOverSampler

from gan_oversampling.errors import UserError
from gan_oversampling.samplers.ctgan import CTGANOversampler

CLASSIC_SAMPLERS = ("random", "smote", "borderline-smote", "adasyn")
FOLD_SAMPLERS = (*CLASSIC_SAMPLERS, "ctgan")


class FoldADASYN(ADASYN):
    """ADASYN that reports a training fold it cannot oversample as a UserError.

    ADASYN weights each minority row by the share of majority rows among its neighbours;
    when no minority row has a majority neighbour the weights are undefined.
    """

    def _fit_resample(self, X, y):
        try:
            return super()._fit_resample(X, y)
        except RuntimeError:
            raise UserError(
                "oversampler 'adasyn' cannot oversample a training fold whose minority rows "
                "have no majority neighbour; use smote or borderline-smote for this data"
            ) from None


def make_fold_sampler(name: str, y: np.ndarray, random_state: int):
    """An imblearn-compatible sampler for a training fold with labels `y` (0 and 1).

    The neighbour counts shrink to what the smallest class allows: with 100 majority
    rows at ratio 0.1 a training fold holds 8 minority rows, fewer than some defaults.
    """
    if name not in FOLD_SAMPLERS:
        raise UserError(f"unknown oversampler '{name}'; known: {', '.join(FOLD_SAMPLERS)}")
    # minlength: a fold without minority rows (possible with unstratified folds) counts 0.
    smallest = int(np.bincount(y, minlength=2).min()) if len(y) else 0
    if smallest < 1:
        raise UserError(f"oversampler '{name}' needs at least 1 minority row in a training fold")
    if name == "random":
        return RandomOverSampler(random_state=random_state)
    if name == "ctgan":
        return CTGANOversampler(random_state=random_state)
    if smallest < 2:
        raise UserError(f"oversampler '{name}' needs at least 2 minority rows in a training fold")
    neighbours = max(1, min(5, smallest - 1))
    if name == "smote":
        return SMOTE(k_neighbors=neighbours, random_state=random_state)
    if name == "borderline-smote":
        return BorderlineSMOTE(k_neighbors=neighbours, random_state=random_state)
    return FoldADASYN(n_neighbors=neighbours, random_state=random_state)
