"""Which columns of a table's encoded rows are numbers and which form one-hot blocks.

The samplers see encoded rows only (a table's categories arrive one-hot, in consecutive
columns, as `difficulty.tasks` encodes them), so the layout is read off the training rows:
a one-hot block is the shortest run of consecutive 0/1 columns in which every row holds
exactly one 1. Every other column is numeric, including a lone binary flag. Two
complementary flags side by side (a = 1 - b) form a block of two, which is what they mean.
A category that no training row holds is not seen, so its column joins the next run or
stays numeric (it is constant zero); generated rows then never hold it either.

The generators that model categories as categories (Gumbel-softmax in `wgan-gp`,
multinomial diffusion in `tab-ddpm`) and the quality measures of generated rows (total
variation per block, Kolmogorov-Smirnov per number) read the same layout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FeatureLayout:
    """`numeric`: indices of numeric columns; `blocks`: one index array per one-hot block,
    in column order."""

    n_features: int
    numeric: np.ndarray
    blocks: tuple[np.ndarray, ...]

    @classmethod
    def detect(cls, X: np.ndarray) -> FeatureLayout:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D, got shape {X.shape}")
        n_features = X.shape[1]
        binary = ((X == 0) | (X == 1)).all(axis=0) if len(X) else np.zeros(n_features, bool)
        blocks, numeric, start = [], [], 0
        while start < n_features:
            end = _block_end(X, binary, start) if binary[start] else None
            if end is None:
                numeric.append(start)
                start += 1
            else:
                blocks.append(np.arange(start, end))
                start = end
        return cls(n_features, np.asarray(numeric, dtype=np.int64), tuple(blocks))

    @classmethod
    def all_numeric(cls, n_features: int) -> FeatureLayout:
        return cls(n_features, np.arange(n_features), ())

    @property
    def block_sizes(self) -> tuple[int, ...]:
        return tuple(len(block) for block in self.blocks)

    def signature(self) -> tuple:
        """A hashable summary: two layouts with the same signature can share a stacked
        network (same numeric columns, same blocks)."""
        return (self.n_features, tuple(self.numeric.tolist()),
                tuple(tuple(block.tolist()) for block in self.blocks))


def _block_end(X: np.ndarray, binary: np.ndarray, start: int) -> int | None:
    """One past the last column of the shortest one-hot run starting at `start`, or None."""
    sums = np.zeros(len(X))
    for column in range(start, len(binary)):
        if not binary[column]:
            return None
        sums += X[:, column]
        if (sums > 1).any():
            return None
        if column > start and (sums == 1).all():
            return column + 1
    return None
