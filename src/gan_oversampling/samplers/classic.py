"""The baseline and the classic oversamplers of imbalanced-learn, as registry entries.

Each training fold gets its own sampler. Neighbour counts shrink to what the smallest
class allows: with 100 majority rows at ratio 0.1 a training fold holds 8 minority rows,
fewer than some defaults. SMOTE-Tomek and SMOTE-ENN oversample with that SMOTE, then
remove rows: both rows of every Tomek link, or every row its three nearest neighbours
outvote (edited nearest neighbours), imbalanced-learn's cleaning defaults.
"""

from __future__ import annotations

from imblearn.combine import SMOTEENN, SMOTETomek
from imblearn.over_sampling import ADASYN, SMOTE, BorderlineSMOTE, RandomOverSampler

from gan_oversampling.errors import UserError
from gan_oversampling.samplers.base import (
    Method,
    TrainingFold,
    keep_folds,
    require_rows,
    resample_one_by_one,
    target_counts,
)


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


def _random(fold: TrainingFold, settings) -> RandomOverSampler:
    require_rows("random", fold.y, 1)
    return RandomOverSampler(sampling_strategy=target_counts(fold), random_state=fold.seeds[0])


def _neighbours(method: str, fold: TrainingFold) -> int:
    require_rows(method, fold.y, 1)  # no minority row at all gets its own message
    smallest = require_rows(method, fold.y, 2)
    return max(1, min(5, smallest - 1))


def _smote(fold: TrainingFold, settings, method: str = "smote") -> SMOTE:
    return SMOTE(
        sampling_strategy=target_counts(fold),
        k_neighbors=_neighbours(method, fold),
        random_state=fold.seeds[0],
    )


def _smote_tomek(fold: TrainingFold, settings) -> SMOTETomek:
    return SMOTETomek(smote=_smote(fold, settings, "smote-tomek"), random_state=fold.seeds[0])


def _smote_enn(fold: TrainingFold, settings) -> SMOTEENN:
    return SMOTEENN(smote=_smote(fold, settings, "smote-enn"), random_state=fold.seeds[0])


def _borderline_smote(fold: TrainingFold, settings) -> BorderlineSMOTE:
    return BorderlineSMOTE(
        sampling_strategy=target_counts(fold),
        k_neighbors=_neighbours("borderline-smote", fold),
        random_state=fold.seeds[0],
    )


def _adasyn(fold: TrainingFold, settings) -> FoldADASYN:
    return FoldADASYN(
        sampling_strategy=target_counts(fold),
        n_neighbors=_neighbours("adasyn", fold),
        random_state=fold.seeds[0],
    )


NONE = Method(
    name="none",
    kind="baseline",
    summary="no oversampling: the classifier learns from the training fold as it is",
    resample=keep_folds,
    resamples=False,
)


def _classic(name: str, summary: str, make_sampler) -> Method:
    # The seed stream is the method's name: a study derives each fold's seed from it.
    return Method(
        name=name,
        kind="classic",
        summary=summary,
        resample=resample_one_by_one(make_sampler),
        seed_streams=(name,),
    )


CLASSIC_METHODS = (
    _classic("random", "random oversampling: minority rows repeated at random", _random),
    _classic("smote", "SMOTE: interpolation between minority neighbours", _smote),
    _classic(
        "borderline-smote",
        "Borderline-SMOTE: SMOTE from minority rows near the class border",
        _borderline_smote,
    ),
    _classic("adasyn", "ADASYN: more synthetic rows where the minority is harder", _adasyn),
    _classic("smote-tomek", "SMOTE, then both rows of every Tomek link removed", _smote_tomek),
    _classic(
        "smote-enn",
        "SMOTE, then rows their nearest neighbours outvote removed (edited nearest neighbours)",
        _smote_enn,
    ),
)
