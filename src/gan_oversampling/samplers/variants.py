"""The two SMOTE variants that rank first in Kovacs' benchmark of 85 oversamplers on 104
imbalanced datasets (Applied Soft Computing 83, 2019), through that benchmark's own
implementations, the optional `smote-variants` package:

- `polynom-fit-smote`: polynomial-fitting SMOTE (Gazzah & Essoukri Ben Amara 2008), star
  topology (the package's default): new rows on the segments between the minority
  rows and their mean. The star gives every minority row the same whole number of new
  rows, so a fold can come out with a few more or fewer minority than majority rows
  (within half a minority row count), as in the benchmark; it draws nothing at random.
- `prowsyn`: proximity-weighted synthetic oversampling (Barua et al. 2013): minority rows
  are weighted by their proximity level to the majority class, and rows nearer the
  border get more synthetic neighbours.

Both ask the package to balance the classes (`proportion=1.0`) with a per-fold seed. The
package declares tensorflow among its requirements although these two methods never load
it (`pip install --no-deps smote-variants minisom metric-learn` installs what they use).
"""

from __future__ import annotations

import logging

import numpy as np

from gan_oversampling.errors import UserError
from gan_oversampling.samplers.base import Method, TrainingFold, require_rows, resample_one_by_one

MISSING_PACKAGE = (
    "the 'polynom-fit-smote' and 'prowsyn' methods need the smote-variants package: "
    "pip install 'gan-oversampling[smote-variants]'"
)
# Fewer minority rows and the package hands the fold back unchanged.
MIN_MINORITY_ROWS = 3


def import_smote_variants():
    """The smote_variants module; UserError naming the package when it is not installed."""
    try:
        import smote_variants
    except ImportError:
        raise UserError(MISSING_PACKAGE) from None
    # The package logs every call at INFO level to stderr from its import on; a study's
    # terminal shows its own progress instead (a fold it cannot sample fails, see below).
    logging.getLogger("smote_variants").setLevel(logging.ERROR)
    return smote_variants


class _VariantSampler:
    """One smote-variants oversampler as an imbalanced-learn-like `fit_resample`."""

    def __init__(self, name: str, class_name: str, fold: TrainingFold) -> None:
        self.name = name
        self.class_name = class_name
        self.fold = fold

    def fit_resample(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        require_rows(self.name, y, MIN_MINORITY_ROWS)
        package = import_smote_variants()
        sampler = getattr(package, self.class_name)(proportion=1.0,
                                                    random_state=self.fold.seeds[0])
        X_new, y_new = sampler.sample(np.asarray(X, dtype=np.float64), np.asarray(y))
        if self.fold.counts.get(1, 0) > 0 and len(y_new) == len(y):
            raise UserError(f"oversampler '{self.name}' generated no rows for a training fold")
        # The package returns the original rows first, as float64; keep the fold's dtype.
        return X_new.astype(np.asarray(X).dtype, copy=False), y_new.astype(np.asarray(y).dtype)


def _variant(name: str, class_name: str, summary: str) -> Method:
    return Method(
        name=name,
        kind="classic",
        summary=summary,
        resample=resample_one_by_one(lambda fold, settings: _VariantSampler(name, class_name,
                                                                            fold)),
        seed_streams=(name,),
        requires=MISSING_PACKAGE,
        check_available=import_smote_variants,
    )


VARIANT_METHODS = (
    _variant("polynom-fit-smote", "polynom_fit_SMOTE_star",
             "polynomial-fitting SMOTE, star topology (smote-variants)"),
    _variant("prowsyn", "ProWSyn",
             "ProWSyn: proximity-weighted synthetic oversampling (smote-variants)"),
)
