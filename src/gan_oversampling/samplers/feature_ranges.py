"""Features as a generator's [-1, 1] output can hold them, and generated rows back as the
data's.

The generators make values in [-1, 1] (the CGAN ends in tanh). For the CGAN, a feature
whose training values leave [-1, 1] is min-max scaled into it on the training rows and
scaled back after generation; a feature already inside is left exactly as it is (so data
prepared the way the original study prepared it trains bit for bit as before). The other
families scale every feature but 0/1 columns (`scale_all`): a feature of the training
range [0, 0.001] is then not lost under the unit noise of a diffusion model. On the way
back, generated values can be kept inside each feature's training range, and features
whose training values are all whole numbers (flags, counts) rounded to whole numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FeatureRanges:
    """Per feature: the training range, whether it is scaled, whether it is integer-valued."""

    low: np.ndarray
    high: np.ndarray
    scaled: np.ndarray  # bool: training values leave [-1, 1], so min-max scaled into it
    integer: np.ndarray  # bool: every training value is a whole number

    @classmethod
    def fit(cls, X: np.ndarray, scale_all: bool = False) -> FeatureRanges:
        """The ranges of training rows X. By default only features that leave [-1, 1] are
        scaled (the CGAN's rows then train as the original study's did); `scale_all`
        scales every feature that is not constant and not a 0/1 column (flags and one-hot
        blocks stay 0/1, so their layout reads as before), as the WGAN and diffusion
        models expect numbers on one scale."""
        X = np.asarray(X, dtype=np.float64)
        low, high = X.min(axis=0), X.max(axis=0)
        if scale_all:
            binary = ((X == 0) | (X == 1)).all(axis=0)
            scaled = ~binary & (high > low)
        else:
            scaled = (low < -1.0) | (high > 1.0)
        integer = (np.round(X) == X).all(axis=0)
        return cls(low, high, scaled, integer)

    def to_tanh(self, X: np.ndarray) -> np.ndarray:
        """X as float32 with the scaled features mapped onto [-1, 1]."""
        out = np.asarray(X).astype(np.float32)
        if self.scaled.any():
            columns = np.asarray(X, dtype=np.float64)[:, self.scaled]
            low, span = self.low[self.scaled], self._span()
            out[:, self.scaled] = (2.0 * (columns - low) / span - 1.0).astype(np.float32)
        return out

    def from_tanh(self, rows: np.ndarray, keep_in_range: bool) -> np.ndarray:
        """Generated rows in the data's units (float64): scaled features mapped back; with
        `keep_in_range`, every feature clipped to its training range and integer-valued
        features rounded."""
        out = np.asarray(rows, dtype=np.float64).copy()
        if self.scaled.any():
            low = self.low[self.scaled]
            out[:, self.scaled] = (out[:, self.scaled] + 1.0) / 2.0 * self._span() + low
        if keep_in_range:
            out = self.rounded(np.clip(out, self.low, self.high))
        return out

    def rounded(self, rows: np.ndarray) -> np.ndarray:
        """Integer-valued features rounded to whole numbers inside their training range."""
        out = np.array(rows, dtype=np.float64)
        columns = self.integer
        out[:, columns] = np.clip(np.round(out[:, columns]), self.low[columns], self.high[columns])
        return out

    def _span(self) -> np.ndarray:
        span = (self.high - self.low)[self.scaled]
        # A constant feature maps to -1 and back to its value.
        return np.where(span > 0, span, 1.0)
