"""Faults from outside a study: killed processes, two runs at once, a full disk, read-only
files, and arbitrary study files. Each ends in the promised state, never a traceback.

No test waits on time: a run that must be interrupted stops itself at a chosen point of
writing results (tests/stop_run.py) and the test waits for the OS to report it stopped.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing, suppress
from pathlib import Path

import psutil
import pytest

from cli_entry import call_main
from gan_oversampling.study.store import ResultsStore
from stored_rows import stored_rows

SRC = Path(__file__).resolve().parents[1] / "src"
STOP_RUN = Path(__file__).with_name("stop_run.py")
# Generous: a loaded machine is slow, never wrong; these only keep a broken run from
# hanging the suite.
DEADLINE = 1800

TINY_STUDY = """
name = "tiny"
methods = ["none", "cgan"]

[data]
kind = "mnist"
rotations = [90]
sides = [4]
majority_sizes = [100]
imbalance_ratios = [0.4, 0.2]

[evaluation]
classifier = "knn"

[cgan]
iterations = 10
"""
# One torch thread everywhere: results are then the same inline and on workers, to the bit.
ONE_THREAD = ("--threads", "1")


def _env() -> dict:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    env.pop("GAN_OVERSAMPLING_DATA", None)
    return env


def _one_line(result_stderr: str) -> str:
    lines = result_stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result_stderr
    assert "Traceback" not in result_stderr
    return lines[0]


def _count_units(db: Path) -> int:
    with closing(sqlite3.connect(db)) as connection:
        return connection.execute("SELECT count(*) FROM units").fetchone()[0]


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("study") / "tiny.toml"
    path.write_text(TINY_STUDY)
    return path


@pytest.fixture(scope="module")
def reference(study) -> Path:
    """The study run once, uninterrupted (in this process: it starts faster)."""
    from gan_oversampling.study.executors import InlineExecutor
    from gan_oversampling.study.runner import run_study
    from gan_oversampling.study.spec import load_study_file

    db = study.with_name("reference.sqlite")
    with ResultsStore.open(db) as store:
        assert run_study(load_study_file(study), store, InlineExecutor(threads=1)) == 4
    return db


def _start_stopping(study: Path, db: Path, mode: str, stop_at: int, *args: str):
    return subprocess.Popen(
        [sys.executable, str(STOP_RUN), mode, str(stop_at), "run", str(study), "--db", str(db),
         *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
        start_new_session=True,  # its own process group, which it may stop as a whole
        # A shell's background job inherits SIGINT ignored; the run must see Ctrl-C.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _wait_until_stopped(process: subprocess.Popen) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the run ended before it stopped: {process.communicate()[1]}")
        if psutil.Process(process.pid).status() == psutil.STATUS_STOPPED:
            return
        time.sleep(0.05)
    pytest.fail("the run never reached its stopping point")


def _end_group(process: subprocess.Popen) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


def test_same_seed_twice_gives_identical_rows(study, reference, tmp_path, capsys):
    again = tmp_path / "again.sqlite"
    code, _, err = _main(capsys, "run", study, "--db", again, "--workers", "1", *ONE_THREAD)
    assert code == 0, err
    assert stored_rows(again) == stored_rows(reference)


def test_kill_minus_nine_of_the_driver_inside_a_unit_then_resume(
    study, reference, tmp_path, capsys
):
    db = tmp_path / "killed.sqlite"
    process = _start_stopping(study, db, "inside-unit", 2, "--workers", "1", *ONE_THREAD)
    try:
        _wait_until_stopped(process)  # unit 1 saved, unit 2 half-written, uncommitted
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    finally:
        _end_group(process)
    with closing(sqlite3.connect(db)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert _count_units(db) == 1  # the half-written unit left nothing
    # The run lock died with the process.
    code, out, err = _main(capsys, "run", study, "--db", db, "--workers", "1", *ONE_THREAD)
    assert code == 0, err
    assert "1 units already done, 3 to run" in out
    assert stored_rows(db) == stored_rows(reference)


def test_kill_minus_nine_of_a_worker_then_resume(study, reference, tmp_path, capsys):
    db = tmp_path / "worker.sqlite"
    process = _start_stopping(study, db, "after-unit", 1, "--workers", "2", *ONE_THREAD)
    try:
        _wait_until_stopped(process)  # the driver and its workers, stopped together
        workers = [child for child in psutil.Process(process.pid).children()
                   if "spawn_main" in " ".join(child.cmdline())]
        assert workers
        os.kill(workers[0].pid, signal.SIGKILL)
        os.killpg(process.pid, signal.SIGCONT)
        _, stderr = process.communicate(timeout=DEADLINE)
    finally:
        _end_group(process)
    # Either the run saw its worker die (one line) or that worker had already finished.
    assert process.returncode in (0, 2), stderr
    if process.returncode == 2:
        assert "a worker process died" in _one_line(stderr)
    code, _, err = _main(capsys, "run", study, "--db", db, "--workers", "1", *ONE_THREAD)
    assert code == 0, err
    assert stored_rows(db) == stored_rows(reference)


def test_ctrl_c_inside_a_unit_saves_the_finished_ones(study, tmp_path):
    db = tmp_path / "interrupted.sqlite"
    process = _start_stopping(study, db, "inside-unit", 2, "--workers", "1", *ONE_THREAD)
    try:
        _wait_until_stopped(process)
        os.kill(process.pid, signal.SIGINT)  # delivered when it continues
        os.kill(process.pid, signal.SIGCONT)
        _, stderr = process.communicate(timeout=DEADLINE)
    finally:
        _end_group(process)
    assert process.returncode == 130
    assert "interrupted: finished units are saved" in stderr and "Traceback" not in stderr
    with closing(sqlite3.connect(db)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert connection.execute("SELECT count(*) FROM results").fetchone()[0] == 10
    assert _count_units(db) == 1


def test_a_second_run_on_the_same_database_is_refused(study, tmp_path, capsys):
    db = tmp_path / "shared.sqlite"
    with ResultsStore.open(db):  # a run in progress holds the database
        code, _, err = _main(capsys, "run", study, "--db", db, *ONE_THREAD)
    assert code == 2
    assert "another run is writing" in _one_line(err)
    assert _count_units(db) == 0


def _main(capsys, *args) -> tuple[int, str, str]:
    return call_main(capsys, *args)


def _patch_open(monkeypatch, pragma: str) -> None:
    """Every store a run opens gets `pragma` (a full disk, a read-only file)."""
    original = ResultsStore.open.__func__

    def open_with(cls, path, **options):
        store = original(cls, path, **options)
        if not options.get("readonly"):
            pages = store._db.execute("PRAGMA page_count").fetchone()[0]
            store._db.execute(pragma.format(pages=pages))
        return store

    monkeypatch.setattr(ResultsStore, "open", classmethod(open_with))


def test_a_full_disk_is_one_line(study, tmp_path, monkeypatch, capsys):
    db = tmp_path / "full.sqlite"
    # SQLite's page limit stands in for the disk: the settings fit, the first unit not.
    _patch_open(monkeypatch, "PRAGMA max_page_count = {pages}")
    code, _, err = _main(capsys, "run", study, "--db", db, "--workers", "1", *ONE_THREAD)
    assert code == 2
    assert "the disk is full" in _one_line(err)


def test_a_read_only_database_is_one_line(study, tmp_path, monkeypatch, capsys):
    _patch_open(monkeypatch, "PRAGMA query_only = ON")  # writes fail as on a read-only file
    code, _, err = _main(capsys, "run", study, "--db", tmp_path / "ro.sqlite", *ONE_THREAD)
    assert code == 2
    assert "the results file (or its folder) is read-only" in _one_line(err)


def _make_immutable(path: Path) -> bool:
    """Read-only even for root (chattr +i); False where the file system does not allow it."""
    done = shutil.which("chattr") and subprocess.run(
        ["chattr", "+i", str(path)], capture_output=True).returncode == 0
    if not done:
        path.chmod(0o444)
        try:
            with open(path, "r+b"):
                return False  # still writable (root, without chattr)
        except PermissionError:
            return True
    return True


def _undo_immutable(path: Path) -> None:
    if shutil.which("chattr"):
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)
    path.chmod(0o644)


def test_a_read_only_results_file_is_reported_and_not_run_into(
    reference, study, tmp_path, capsys
):
    db = tmp_path / "frozen.sqlite"
    shutil.copyfile(reference, db)
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    if not _make_immutable(db):
        pytest.skip("cannot make a file read-only here")
    try:
        code, _, err = _main(capsys, "report", db, "--out", tmp_path / "report")
        assert code == 0, err
        assert (tmp_path / "report" / "index.html").is_file()
        code, _, err = _main(capsys, "run", study, "--db", db, *ONE_THREAD)
        assert code == 2
        assert "read-only" in _one_line(err)
    finally:
        _undo_immutable(db)
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_report_reads_while_a_run_holds_the_write_lock(reference, tmp_path, capsys):
    db = tmp_path / "busy.sqlite"
    shutil.copyfile(reference, db)
    with closing(sqlite3.connect(db)) as writer:
        writer.execute("BEGIN EXCLUSIVE")  # a writer mid-transaction: a reader never waits
        code, _, err = _main(capsys, "report", db, "--out", tmp_path / "report")
        writer.rollback()
    assert code == 0, err
