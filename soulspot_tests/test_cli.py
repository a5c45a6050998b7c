"""The main job as a user starts it: `soulspot refresh`, a real Dagster instance, real files."""

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from soulspot_pipeline import connect
from soulspot_pipeline.devkit.synth import write_audio_file
from soulspot_tests.processes import kill_everything_started_by

pytestmark = pytest.mark.e2e  # the command or the demo in a subprocess, as a user runs it

SOULSPOT = Path(sys.executable).with_name("soulspot")


def _user_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """The environment of a user who set only ``settings``: none of this machine's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_THEIRS)}
    env.update({"SOULSPOT_DATA_DIR": str(tmp_path / "data"), **settings})
    return env


_THEIRS = ("SOULSPOT_", "DAGSTER_", "SPOTIFY_", "DEEZER_", "SLSKD_")


def _log_named(stdout: str) -> Path:
    (line,) = [line for line in stdout.splitlines() if line.startswith("full log: ")]
    return Path(line.removeprefix("full log: ").split(" · ")[0])


def test_refresh_says_what_each_phase_did_and_keeps_the_event_log_in_a_file(tmp_path):
    music = tmp_path / "music"
    (music / "Air" / "Moon Safari").mkdir(parents=True)
    write_audio_file(
        music / "Air" / "Moon Safari" / "01 La femme d'argent.flac",
        "flac",
        {"artist": "Air", "album": "Moon Safari", "title": "La femme d'argent"},
    )
    (music / "empty.mp3").write_bytes(b"")
    (music / "notes.flac").write_text("not audio at all")
    # MusicBrainz off: these tests are about the run, not the lookups (tests/assets cover those).
    env = _user_env(
        tmp_path,
        SOULSPOT_MUSIC_DIR=str(music),
        SOULSPOT_MUSICBRAINZ_URL="off",
        SOULSPOT_COVERART_URL="http://127.0.0.1:9",
        SOULSPOT_LRCLIB_URL="off",
    )
    done = subprocess.run([str(SOULSPOT), "refresh"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert len(lines) <= 25, done.stdout
    assert "Traceback" not in done.stdout + done.stderr and "DEBUG" not in done.stdout
    phases = {line.split()[0]: line.split(None, 1)[1] for line in lines if line.startswith("  ") and line.split()}
    assert phases["spotify_likes"] == phases["deezer_favorites"] == "skipped: not configured"
    assert phases["local_scan"] == "3 files seen: 3 new, 0 changed, 0 missing, 2 unreadable"
    assert phases["library_entities"] == "1 artists, 1 albums, 1 tracks (1 owned, 1 on disk)"
    unreadable = [line.split("unreadable: ")[1] for line in lines if "unreadable: " in line]
    assert [entry.split(" (")[0] for entry in unreadable] == ["empty.mp3", "notes.flac"]
    assert "empty file" in unreadable[0]
    log = _log_named(done.stdout)
    assert log.parent == tmp_path / "data" / "logs" and "RUN_SUCCESS" in log.read_text()
    assert (tmp_path / "data" / "dagster" / "storage").is_dir()
    notebook = connect(data_dir=tmp_path / "data")
    assert notebook.execute("SELECT title, download_state FROM library.tracks").fetchall() == [
        ("La femme d'argent", "downloaded")
    ]

    # A notebook held open for a whole run in another process, and slskd down: the run fails
    # at the phase that needs slskd and says so in a line; the notebook answers throughout.
    write_audio_file(
        music / "Air" / "Moon Safari" / "02 Sexy Boy.flac",
        "flac",
        {"artist": "Air", "album": "Moon Safari", "title": "Sexy Boy"},
    )
    dead_slskd = {**env, "SLSKD_URL": "http://127.0.0.1:9", "SLSKD_API_KEY": "k"}
    run = subprocess.Popen(
        [str(SOULSPOT), "refresh"], env=dead_slskd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    answers = 0
    while run.poll() is None:
        assert notebook.execute("SELECT count(*) FROM library.tracks").fetchall() == [(1,)]
        answers += 1
        time.sleep(0.05)  # a notebook asks now and then; a tight loop would take a core from the run
    out, err = run.communicate()
    assert run.returncode == 1 and answers > 0, out + err
    assert "Traceback" not in out + err and len(out.splitlines()) <= 25, out
    (failed,) = [line for line in out.splitlines() if "failed: " in line]
    assert "cannot reach slskd at http://127.0.0.1:9" in failed and "is slskd running" in failed
    assert "Stack Trace" in _log_named(out).read_text()  # the details are in the log
    assert connect(tmp_path / "data" / "soulspot.snapshot.duckdb").execute(
        "SELECT count(*) FROM library.tracks"
    ).fetchall() == [(2,)]

    # The drive unmounted: the library knows files there, so the refresh stops before any run.
    music.rename(tmp_path / "unmounted")
    done = subprocess.run([str(SOULSPOT), "refresh"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr
    message = done.stderr.splitlines()
    assert len(message) == 2 and "is the drive mounted?" in message[0] and "2 files in it" in message[0]
    assert "MusicFolder" not in done.stderr  # no exception class, just the sentence
    log = Path(message[1].removeprefix("(details in ").removesuffix(")"))
    assert "Traceback" in log.read_text()


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ({"SOULSPOT_AUTO_QUEUE_DOWNLOADS": "maybe"}, "SOULSPOT_AUTO_QUEUE_DOWNLOADS='maybe' is not a boolean"),
        (
            {"SOULSPOT_MUSIC_DIR": "/nonexistent/music"},
            "the music folder /nonexistent/music (SOULSPOT_MUSIC_DIR) does not",
        ),
    ],
)
def test_a_bad_setting_stops_the_refresh_with_one_sentence(tmp_path, setting, expected):
    done = subprocess.run(
        [str(SOULSPOT), "refresh"], env=_user_env(tmp_path, **setting), capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0 and done.stdout == ""
    first, details = done.stderr.splitlines()
    assert first.startswith(f"soulspot refresh: {expected}")
    log = Path(details.removeprefix("(details in ").removesuffix(")"))
    assert log.parent == tmp_path / "data" / "logs" and "Traceback" in log.read_text()


def test_a_locked_database_stops_the_refresh_naming_the_program_that_holds_it(tmp_path):
    (tmp_path / "data").mkdir()
    holder = duckdb.connect(str(tmp_path / "data" / "soulspot.duckdb"))  # this test's process holds the lock
    try:
        done = subprocess.run(
            [str(SOULSPOT), "refresh"],
            env=_user_env(tmp_path, SOULSPOT_DB_LOCK_WAIT="1"),
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        holder.close()
    assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr
    first = done.stderr.splitlines()[0]
    assert f"(PID {os.getpid()})" in first
    assert "stayed locked for 1 s" in first and "Close that program" in first


def test_a_refresh_killed_mid_scan_does_not_block_the_next_one(tmp_path):
    from soulspot_pipeline.devkit.benchmark import build_library

    music = tmp_path / "music"
    build_library(music, 3000)
    env = _user_env(
        tmp_path,
        SOULSPOT_MUSIC_DIR=str(music),
        SOULSPOT_MUSICBRAINZ_URL="off",
        SOULSPOT_COVERART_URL="http://127.0.0.1:9",
        SOULSPOT_LRCLIB_URL="off",
        # About the scan, not the decode check: it may start no file (the files wait for a later run).
        SOULSPOT_VERIFY_MINUTES="0.0001",
    )
    first = subprocess.Popen(
        [str(SOULSPOT), "refresh", "--verbose"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        for line in first.stdout:
            if "audio files:" in line:  # the scan holds the duckdb pool slot now
                break
    finally:
        # The whole run, as a power cut would: the CLI's group and its child's (run, executor, steps, workers).
        kill_everything_started_by(first.pid)
        first.wait()

    second = subprocess.run([str(SOULSPOT), "refresh"], env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "marked run" in second.stdout and "its process is gone" in second.stdout
    conn = duckdb.connect(str(tmp_path / "data" / "soulspot.snapshot.duckdb"), read_only=True)
    assert conn.execute("SELECT count(*), count(DISTINCT path) FROM library.local_files").fetchall() == [(3000, 3000)]
    assert conn.execute("SELECT count(*) FROM library.tracks WHERE download_state = 'downloaded'").fetchall() == [
        (3000,)
    ]
