"""The command line end to end, on tiny studies: runs, resumes, reports, refuses bad input.

Interrupted and killed runs: tests/test_reliability.py.
"""

import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from cli_entry import call_main

TINY_STUDY = """
name = "tiny"
methods = ["none", "cgan"]

[data]
kind = "mnist"
rotations = [30, 90]
sides = [4]
majority_sizes = [100]
imbalance_ratios = [0.4]

[cgan]
iterations = {iterations}
"""


# Generous: only keeps a broken run from hanging the suite; a slow machine is not wrong.
DEADLINE = 1800


def _cli(*args, cwd=None, env_extra=None, timeout=DEADLINE):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src"), **(env_extra or {})}
    env.pop("GAN_OVERSAMPLING_DATA", None)
    if env_extra:
        env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-m", "gan_oversampling.cli", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout,
    )


def _study(tmp_path, iterations=10):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_STUDY.format(iterations=iterations))
    return path


def _units(db):
    with sqlite3.connect(db) as connection:
        try:
            query = "SELECT test_key, method FROM units ORDER BY 1, 2"
            return connection.execute(query).fetchall()
        except sqlite3.OperationalError as error:
            # A run that has just created its file may not have written its schema yet.
            if "no such table" in str(error):
                return []
            raise


def test_run_resume_and_report(tmp_path):
    db = tmp_path / "r.sqlite"
    first = _cli("run", _study(tmp_path), "--db", db, "--threads", "1")
    assert first.returncode == 0, first.stderr
    assert "mean F1 per class" in first.stdout
    assert len(_units(db)) == 4  # 2 tests x 2 methods
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT count(*) FROM results").fetchone()[0]
    assert rows == 4 * 5 * 2  # units x folds x classes

    again = _cli("run", _study(tmp_path), "--db", db, "--threads", "1")
    assert again.returncode == 0, again.stderr
    assert "4 units already done, 0 to run" in again.stdout
    assert len(_units(db)) == 4

    report = _cli("report", db, "--out", tmp_path / "report")
    assert report.returncode == 0, report.stderr
    for name in ("index.html", "report.md", "per_test.csv", "headline.csv"):
        assert (tmp_path / "report" / name).is_file()


def test_filters_run_part_of_the_grid(tmp_path):
    db = tmp_path / "r.sqlite"
    result = _cli("run", _study(tmp_path), "--db", db, "--only", "rotation=90")
    assert result.returncode == 0, result.stderr
    assert {key for key, _ in _units(db)} == {"rot90-side4-n100-ir0.4"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "no-such-preset"], "unknown study 'no-such-preset'"),
        (["run", "quick", "--only", "colour=red"], "unknown factor 'colour'"),
        (["run", "quick", "--only", "side"], "is not FACTOR=LEVEL"),
        (["run", "quick", "--only", "side=5"], "no test of the study matches"),
        (["run", "quick", "--data-dir", "/no/such/dir"], "/no/such/dir does not exist"),
        (["datasets", "show", "--rotation", "30", "--side", "4", "--n", "100", "--ir", "1.5"],
         "imbalance_ratio 1.5"),
        (["datasets", "show", "--rotation", "30", "--side", "1", "--n", "100", "--ir", "0.1"],
         "side"),
        (["datasets", "show", "--rotation", "30", "--side", "4", "--n", "9000", "--ir", "0.1"],
         "9000"),
        (["datasets", "show", "--rotation", "30", "--side", "4", "--n", "100", "--ir", "nan"],
         "must be a finite number"),
        (["datasets", "show", "--rotation", "30", "--side", "4", "--n", "100", "--ir", "0.1",
          "--out", "."], "is a folder"),
        (["presets", "nope"], "unknown preset 'nope'"),
        (["report", "absent.sqlite"], "does not exist"),
        (["run", "quick", "--workers", "0"], "--workers"),
        (["run", "quick", "--threads", "-1"], "--threads"),
        (["run", "quick", "--bogus"], "No such option"),
        (["run"], "Missing argument"),
        (["no-such-command"], "No such command"),
    ],
)
def test_bad_input_is_one_line_and_exit_two(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    code, _, err = _main(capsys, *args)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert message in lines[0]
    assert "Traceback" not in err
    assert not list(tmp_path.glob("*.sqlite*"))  # nothing half-written


def _main(capsys, *args) -> tuple[int, str, str]:
    return call_main(capsys, *args)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("[cgan]\niterations = true", "cgan.iterations: must be a number, not true or false"),
        ("[data]\nkind = \"mnist\"\nimbalance_ratios = [nan]",
         "data.imbalance_ratios.0: must be a finite number"),
        ("seed = true", "seed: must be a number"),
        # Known only once the data are cut into folds: still before anything is written.
        ("[data]\nkind = \"mnist\"\nsides = [4]\nmajority_sizes = [100]\n"
         "imbalance_ratios = [0.04]\n[evaluation]\ncv = \"stratified\"",
         "stratified folds need at least n_splits=5 rows per class; class 1 has 4"),
    ],
)
def test_settings_errors_are_one_line_and_write_nothing(tmp_path, capsys, change, message):
    study = tmp_path / "s.toml"
    study.write_text(f'name = "s"\n{change}\n')
    code, _, err = _main(capsys, "run", study, "--db", tmp_path / "r.sqlite")
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and message in err, err
    assert list(tmp_path.iterdir()) == [study]  # no database, no lock file


def test_report_refuses_empty_and_foreign_files_unchanged(tmp_path, capsys):
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    code, _, err = _main(capsys, "report", empty)
    assert code == 2 and "is empty: not a gan-oversampling results database" in err
    assert empty.stat().st_size == 0  # not turned into a database
    theirs = tmp_path / "theirs.sqlite"
    with closing(sqlite3.connect(theirs)) as connection:
        connection.execute("PRAGMA user_version = 3")
    for command in ("report", "run"):
        args = [theirs] if command == "report" else [_study(tmp_path), "--db", theirs]
        code, _, err = _main(capsys, command, *args)
        assert code == 2 and "not a gan-oversampling results database" in err, err
    with closing(sqlite3.connect(theirs)) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == 3
        assert connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0


def test_bad_study_file_and_foreign_database(tmp_path):
    study = tmp_path / "bad.toml"
    study.write_text('name = "x"\n[data]\nkind = "mnist"\nimbalance_ratios = [0.4, 1.2]\n')
    result = _cli("run", study, "--db", tmp_path / "r.sqlite")
    assert result.returncode == 2
    assert "data.imbalance_ratios.1" in result.stderr and "less than or equal to 1" in result.stderr
    assert not (tmp_path / "r.sqlite").exists()

    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE t(x)")
    result = _cli("run", _study(tmp_path), "--db", foreign)
    assert result.returncode == 2
    assert "not a gan-oversampling results database" in result.stderr
    result = _cli("report", foreign)
    assert result.returncode == 2


def test_corrupt_mnist_in_data_dir(tmp_path):
    source = Path(__file__).parents[1] / "src/gan_oversampling/datasets/vendored/mnist"
    data = tmp_path / "data" / "mnist"
    data.mkdir(parents=True)
    for gz in source.glob("*.gz"):
        (data / gz.name).write_bytes(gz.read_bytes())
    broken = data / "train-labels.idx1-ubyte.gz"
    content = bytearray(broken.read_bytes())
    content[len(content) // 2] ^= 0xFF
    broken.write_bytes(bytes(content))
    result = _cli("run", _study(tmp_path), "--db", tmp_path / "r.sqlite",
                  env_extra={"GAN_OVERSAMPLING_DATA": str(tmp_path / "data")})
    assert result.returncode == 2
    assert "corrupt data file" in result.stderr and "train-labels" in result.stderr
    assert not (tmp_path / "r.sqlite").exists()  # checked before the database is created
    (data / "t10k-images.idx3-ubyte.gz").unlink()
    verify = _cli("datasets", "verify", "--data-dir", tmp_path / "data")
    assert verify.returncode == 2 and "corrupt" in verify.stderr


def test_datasets_show_writes_a_png(tmp_path):
    result = _cli("datasets", "show", "--rotation", "45", "--side", "8", "--n", "100",
                  "--ir", "0.2", "--out", tmp_path / "show.png")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "show.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
