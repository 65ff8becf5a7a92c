"""The published headline of the imagery study, to set a run's numbers against.

Nazari & Branco, "On Oversampling via Generative Adversarial Networks under Different Data
Difficulty Factors", LIDTA 2021 (PMLR 154:76-89): per-class F1, the mean over 5 folds, then
the mean over the 144 MNIST-derived tests.
"""

from __future__ import annotations

PUBLISHED_SOURCE = "Nazari & Branco, LIDTA 2021 (PMLR 154:76-89)"

PUBLISHED_MNIST_TESTS = 144

# class role -> method -> mean F1; the paper's "baseline" is the method "none" (no
# oversampling), named here as everywhere in a report.
PUBLISHED_MNIST_F1: dict[str, dict[str, float]] = {
    "majority": {"none": 0.940310, "cgan": 0.912214},
    "minority": {"none": 0.434325, "cgan": 0.701059},
}
