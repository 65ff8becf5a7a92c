"""A generator's gain over the grid of the two factors every data kind has: the majority
class's size and the imbalance ratio.

The published cybersecurity finding is stated on this grid ("clear gains when the sample
is small and the imbalance large; no harm when these are mild"): a cell-by-cell claim,
which the factor model's main effects cannot show (they add a size effect to a ratio
effect). Each cell is the mean difference over its tests with its 95% bootstrap interval
resampling those tests, and how many there are: with a few tests a cell says little,
and its interval says so.
"""

from __future__ import annotations

import pandas as pd

from gan_oversampling.report import statistics, tables
from gan_oversampling.report.document import Table
from gan_oversampling.report.scores import Score
from gan_oversampling.report.tables import signed

ROWS, COLUMNS = "n_majority", "imbalance_ratio"


def grid_blocks(used: pd.DataFrame, targets: dict[str, list[str]], compared: list[Score],
                primary: Score, settings) -> list:
    """Tables of each generator's gain over the grid: against the baseline on every
    compared score, against the other targets (the best classic oversampler) on the
    primary one. Nothing when the study lacks either factor's two levels."""
    tests = tables.complete_tests(used)
    if not tests or not all(factor in used.columns for factor in (ROWS, COLUMNS)):
        return []
    levels_of = used.drop_duplicates("test_key").set_index("test_key").loc[tests]
    rows, columns = (tables.factor_levels(levels_of, factor) for factor in (ROWS, COLUMNS))
    if len(rows) < 2 or len(columns) < 2:
        return []
    # Each score's per-test table once, for every generator and comparator.
    by_score = {score: tables.score_by_test(used, score) for score in [*compared, primary]}
    blocks: list = []
    for generator, against in targets.items():
        for position, comparator in enumerate(against):
            for score in compared if position == 0 else [primary]:
                gain = gain_grid(by_score[score], levels_of, generator, comparator, settings)
                blocks.append(Table(
                    f"{generator} - {comparator}, {score.label}, by {ROWS} (rows) and "
                    f"{COLUMNS} (columns): mean difference over the tests of each cell "
                    "[95% bootstrap interval] (tests)", gain, index=True))
    return blocks


def gain_grid(by_test: pd.DataFrame, levels_of: pd.DataFrame, generator: str,
              comparator: str, settings) -> pd.DataFrame:
    """Cells "+0.123 [+0.045, +0.201] (7)": the mean of `generator` minus `comparator`
    over the tests at each (n_majority, imbalance_ratio), its interval, the tests
    counted. `by_test`: a score per test (`tables.score_by_test`); `levels_of`: each
    test's factor levels, indexed by test key."""
    difference = by_test[generator] - by_test[comparator]
    cells: dict = {}
    for (row, column), group in levels_of.loc[by_test.index].groupby([ROWS, COLUMNS],
                                                                      sort=True):
        values = difference.loc[group.index].to_numpy()
        low, high = statistics.bootstrap_interval(values, settings.bootstrap_samples,
                                                  settings.seed)
        interval = "" if pd.isna(low) else f" [{signed(low)}, {signed(high)}]"
        cells.setdefault(column, {})[row] = f"{signed(values.mean())}{interval} ({len(values)})"
    grid = pd.DataFrame(cells).sort_index().reindex(columns=sorted(cells)).fillna("")
    grid.index = grid.index.map(tables.level_text)
    grid.columns = [tables.level_text(column) for column in grid.columns]
    return grid.rename_axis(ROWS)
