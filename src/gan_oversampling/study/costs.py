"""What each piece of a run's work costs, in seconds: the unit of `plan`'s estimate and of
a run's progress and ETA.

A run's work is resampling (fold by fold, or a batch of folds whose generators train as
one) and classifier fits (every fold of every unit, on the rows its method leaves).
`WorkCosts` holds what `study.plan` timed of each on this machine: seconds per training
row of a fit of each classifier as each method adapts it, seconds per row of each method
that resamples fold by fold, and seconds of a batch of each batch shape. Without timings
(`WorkCosts()`, a run started from Python) each piece counts as the method's nominal
`work_per_fold` and fits count nothing, which still orders the work but does not weigh
fits against training.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gan_oversampling.samplers.base import Method


@dataclass(frozen=True)
class WorkCosts:
    # (classifier, adapter) -> seconds per training row of one fit
    fit_per_row: dict = field(default_factory=dict)
    # method -> seconds per training row, for methods that resample fold by fold
    resample_per_row: dict = field(default_factory=dict)
    # (method, folds in the batch, features) -> seconds of the batch
    batch_seconds: dict = field(default_factory=dict)
    # test key -> (features, (majority, minority) rows of each training fold)
    folds: dict = field(default_factory=dict)

    @property
    def timed(self) -> bool:
        return bool(self.fit_per_row)

    def resampling(self, method: Method, settings, fold_rows: list[int],
                   n_features: int) -> float:
        """Seconds `method` takes to resample folds of `fold_rows` training rows in one call
        (a batching method: as one batch)."""
        if not self.timed:
            return method.work_per_fold(settings) * len(fold_rows)
        if method.batches_tests:
            return self.batch(method.resampling, len(fold_rows), n_features)
        return self.resample_per_row.get(method.resampling, 0.0) * sum(fold_rows)

    def batch(self, name: str, n_folds: int, n_features: int) -> float:
        """Seconds of a batch of `n_folds` folds; a shape that was not timed is scaled
        from the timed one of the same features closest in size."""
        exact = self.batch_seconds.get((name, n_folds, n_features))
        if exact is not None:
            return exact
        timed = [(folds, seconds) for (method, folds, features), seconds
                 in self.batch_seconds.items() if method == name and features == n_features]
        if not timed:
            timed = [(folds, seconds) for (method, folds, _), seconds
                     in self.batch_seconds.items() if method == name]
        if not timed:
            return 0.0
        folds, seconds = min(timed, key=lambda item: abs(item[0] - n_folds))
        return seconds * n_folds / folds

    def test_resampling(self, spec, method: Method, keys: list[str]) -> float:
        """Seconds `method` takes to resample the folds of the tests `keys` in one call."""
        if not keys:
            return 0.0
        settings = spec.method_settings(method.name)
        fold_rows = [sum(rows) for key in keys for rows in self._train_rows(spec, key)]
        n_features = self.folds[keys[0]][0] if keys[0] in self.folds else 0
        if self.timed and not method.batches_tests:
            return self.resample_per_row.get(method.resampling, 0.0) * sum(fold_rows)
        return self.resampling(method, settings, fold_rows, n_features)

    def unit_fits(self, spec, case, method: Method, classifier: str) -> float:
        """Seconds of the classifier fits of the unit (`case`, `method`), as planned."""
        return self.fits(classifier, method, [fitted_rows(method, *rows)
                                              for rows in self._train_rows(spec, case.key)])

    def _train_rows(self, spec, key: str) -> tuple:
        if key in self.folds:
            return self.folds[key][1]
        return ((0, 0),) * spec.evaluation.n_splits

    def fits(self, classifier: str, method: Method, fitted_rows: list[int]) -> float:
        """Seconds of one unit's classifier fits, one per fold of `fitted_rows` rows."""
        return self.fit_per_row.get((classifier, method.adapter), 0.0) * sum(fitted_rows)


def fitted_rows(method: Method, majority: int, minority: int) -> int:
    """Rows the classifier is fitted on after `method` resampled a fold of these counts
    (about: cleaning after SMOTE drops a few)."""
    if method.kind == "baseline" or not method.resamples:
        return majority + minority
    if method.resampling == "random-under":
        return 2 * minority
    return 2 * majority
