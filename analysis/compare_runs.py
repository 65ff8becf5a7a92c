"""Compare two results databases score by score: are two runs of a study the same?

Every (test, method, fold, class) row of STUDY in the first database is compared with the
same row of the second: precision, recall, F1 and support, by exact equality of the stored
floats (bit for bit) and by the largest absolute difference. Used to show that a change
of the code leaves a study's results as they were, or how far another machine moves them.

    python analysis/compare_runs.py before.sqlite after.sqlite --study quick

`--second-study` names the study in the second database when it differs (a larger study
that holds the first one's tests), and `--methods` keeps only some methods' rows: then the
rows of the first database that the second lacks are not a failure, only counted.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

KEY = ("test_key", "method", "fold", "class_label")
VALUES = ("precision", "recall", "f1", "support")


def load_scores(db: Path, study: str) -> dict[tuple, tuple]:
    """(test, method, fold, class) -> (precision, recall, f1, support) of one study."""
    if not db.is_file():
        raise ValueError(f"{db} does not exist")
    uri = f"file:{db}?mode=ro"
    try:
        with sqlite3.connect(uri, uri=True) as connection:
            rows = connection.execute(
                f"SELECT {', '.join(KEY + VALUES)} FROM results WHERE study = ?", (study,)
            ).fetchall()
    except sqlite3.DatabaseError as error:
        raise ValueError(f"{db} is not a results database ({error})") from None
    if not rows:
        raise ValueError(f"{db} holds no scores of study {study!r}")
    return {row[: len(KEY)]: row[len(KEY) :] for row in rows}


def compare(first: dict, second: dict) -> dict:
    """Counts of shared, missing and differing rows, and the largest difference per value."""
    shared = sorted(first.keys() & second.keys())
    differing = [key for key in shared if first[key] != second[key]]
    largest = {
        name: max((abs(first[key][i] - second[key][i]) for key in shared), default=0.0)
        for i, name in enumerate(VALUES)
    }
    methods = sorted({key[1] for key in differing})
    return {
        "shared": len(shared),
        "only_first": len(first.keys() - second.keys()),
        "only_second": len(second.keys() - first.keys()),
        "differing": len(differing),
        "differing_methods": methods,
        "largest": largest,
    }


def summary_lines(study: str, result: dict) -> list[str]:
    lines = [
        f"study {study}: {result['shared']} rows in both, {result['only_first']} only in the "
        f"first, {result['only_second']} only in the second",
        f"rows that differ (exact float comparison): {result['differing']}"
        + (f" (methods: {', '.join(result['differing_methods'])})" if result["differing"] else ""),
        "largest absolute difference: "
        + ", ".join(f"{name} {value:.3g}" for name, value in result["largest"].items()),
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--study", required=True)
    parser.add_argument("--second-study", help="the study's name in the second database")
    parser.add_argument("--methods", nargs="+", help="compare only these methods' rows")
    args = parser.parse_args(argv)
    try:
        first = load_scores(args.first, args.study)
        second = load_scores(args.second, args.second_study or args.study)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.methods:
        first, second = (_of_methods(scores, args.methods) for scores in (first, second))
    result = compare(first, second)
    print("\n".join(summary_lines(args.study, result)))
    subset = args.second_study is not None or args.methods
    return 0 if result["differing"] == 0 and (subset or not result["only_first"]) else 1


def _of_methods(scores: dict, methods: list[str]) -> dict:
    return {key: value for key, value in scores.items() if key[1] in methods}


if __name__ == "__main__":
    sys.exit(main())
