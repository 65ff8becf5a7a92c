"""The command line end to end, on tiny studies: runs, resumes, reports, refuses bad input."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

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


def _cli(*args, cwd=None, env_extra=None, timeout=300):
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


def test_kill_minus_nine_loses_nothing_and_counts_nothing_twice(tmp_path):
    db = tmp_path / "r.sqlite"
    study = _study(tmp_path, iterations=400)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    process = subprocess.Popen(
        [sys.executable, "-m", "gan_oversampling.cli", "run", str(study), "--db", str(db)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if db.exists() and len(_units(db)) >= 1:
            break
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert 1 <= len(_units(db)) < 4  # killed in the middle
    resumed = _cli("run", study, "--db", db)
    assert resumed.returncode == 0, resumed.stderr
    assert len(_units(db)) == 4
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT count(*) FROM results").fetchone()[0] == 40


def test_ctrl_c_says_how_to_resume(tmp_path):
    db = tmp_path / "r.sqlite"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    process = subprocess.Popen(
        # Long CGANs: the run must still be busy when the interrupt arrives.
        [sys.executable, "-m", "gan_oversampling.cli", "run", str(_study(tmp_path, 5000)),
         "--db", str(db)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
        # A shell's background job inherits SIGINT ignored; the run must see Ctrl-C.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (db.exists() and _units(db)):
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    # Generous: on a loaded machine the spawned workers may still be starting up.
    _, stderr = process.communicate(timeout=240)
    assert process.returncode == 130
    assert "interrupted: finished units are saved" in stderr
    assert "Traceback" not in stderr
    done = len(_units(db))
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert connection.execute("SELECT count(*) FROM results").fetchone()[0] == done * 10


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
        (["presets", "nope"], "unknown preset 'nope'"),
        (["report", "absent.sqlite"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_and_exit_two(tmp_path, args, message):
    result = _cli(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert message in lines[0]
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("*.sqlite"))  # nothing half-written


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
    (data / "t10k-images.idx3-ubyte.gz").unlink()
    verify = _cli("datasets", "verify", "--data-dir", tmp_path / "data")
    assert verify.returncode == 2 and "corrupt" in verify.stderr


def test_datasets_show_writes_a_png(tmp_path):
    result = _cli("datasets", "show", "--rotation", "45", "--side", "8", "--n", "100",
                  "--ir", "0.2", "--out", tmp_path / "show.png")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "show.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
