"""A scan killed half-way loses nothing and the next one ends consistent."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from soulspot_pipeline.scan import scanner
from soulspot_pipeline.scan.scanner import scan_music_folder
from soulspot_pipeline.store.database import LibraryDatabase
from soulspot_tests.scan.test_scanner import make_library

pytestmark = pytest.mark.subprocess  # each test runs a scan in a child process


def test_a_killed_scan_is_finished_by_the_next_one(tmp_path, music_dir):
    make_library(music_dir, 1200)
    db = LibraryDatabase(database=str(tmp_path / "killed.duckdb"))
    script = textwrap.dedent(
        f"""
        import sys
        from soulspot_pipeline.scan import scanner
        from soulspot_pipeline.store.database import LibraryDatabase
        scanner.WRITE_BATCH = 200
        db = LibraryDatabase(database={db.database!r})
        def progress(message):
            print(message, flush=True)
        with db.writer() as conn:
            scanner.scan_music_folder(conn, {str(music_dir)!r}, workers=2, progress=progress)
        print("finished", flush=True)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        for line in child.stdout:
            if line.startswith("read "):  # at least one batch is committed
                break
    finally:
        os.killpg(child.pid, signal.SIGKILL)  # the scan and its worker processes
        child.wait()
    assert child.returncode == -signal.SIGKILL

    with db.writer() as conn:
        partial = conn.execute("SELECT count(*) FROM library.local_files").fetchall()[0][0]
        assert 0 < partial < 1200
        summary = scan_music_folder(conn, music_dir, workers=2)
        assert (summary.unchanged, summary.read) == (partial, 1200 - partial)
        killed = conn.execute(
            "SELECT * EXCLUDE (first_seen_at, scanned_at) FROM library.local_files ORDER BY path"
        ).fetchall()

    clean = LibraryDatabase(database=str(tmp_path / "clean.duckdb"))
    with clean.writer() as conn:
        scan_music_folder(conn, music_dir, workers=2)
        assert (
            conn.execute(
                "SELECT * EXCLUDE (first_seen_at, scanned_at) FROM library.local_files ORDER BY path"
            ).fetchall()
            == killed
        )
    assert scanner.WRITE_BATCH >= 1000  # the child's smaller batches did not leak into this process


def test_scan_workers_do_not_rerun_the_callers_main_script(tmp_path, music_dir):
    # From stdin (a notebook is similar) there is no main script a worker could import.
    make_library(music_dir, 400)
    script = textwrap.dedent(
        f"""
        from soulspot_pipeline.scan.scanner import scan_music_folder
        from soulspot_pipeline.store.database import LibraryDatabase
        with LibraryDatabase(database={str(tmp_path / "stdin.duckdb")!r}).writer() as conn:
            print(scan_music_folder(conn, {str(music_dir)!r}, workers=2).read)
        """
    )
    done = subprocess.run(
        [sys.executable, "-"], input=script, capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "400"
