"""The main job as a user starts it: `soulspot refresh`, a real Dagster instance, real files."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from soulspot_pipeline import connect
from soulspot_pipeline.devkit.synth import write_audio_file

pytestmark = pytest.mark.e2e  # the command or the demo in a subprocess, as a user runs it

SOULSPOT = Path(sys.executable).with_name("soulspot")


def test_refresh_materializes_every_asset_with_instance_storage_under_the_data_folder(tmp_path):
    music = tmp_path / "music"
    (music / "Air" / "Moon Safari").mkdir(parents=True)
    write_audio_file(
        music / "Air" / "Moon Safari" / "01 La femme d'argent.flac",
        "flac",
        {"artist": "Air", "album": "Moon Safari", "title": "La femme d'argent"},
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOULSPOT_", "DAGSTER_"))}
    # MusicBrainz off: these tests are about the run, not the lookups (tests/assets cover those).
    env.update(
        {
            "SOULSPOT_DATA_DIR": str(tmp_path / "data"),
            "SOULSPOT_MUSIC_DIR": str(music),
            "SOULSPOT_MUSICBRAINZ_URL": "off",
            "SOULSPOT_COVERART_URL": "http://127.0.0.1:9",
        }
    )
    done = subprocess.run([str(SOULSPOT), "refresh"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "RUN_SUCCESS" in done.stderr + done.stdout
    assert (tmp_path / "data" / "dagster" / "storage").is_dir()
    notebook = connect(tmp_path / "data" / "soulspot.snapshot.duckdb")
    assert notebook.execute("SELECT title, download_state FROM library.tracks").fetchall() == [
        ("La femme d'argent", "downloaded")
    ]

    # A notebook held open for a whole run in another process: the run succeeds, the notebook answers.
    write_audio_file(
        music / "Air" / "Moon Safari" / "02 Sexy Boy.flac",
        "flac",
        {"artist": "Air", "album": "Moon Safari", "title": "Sexy Boy"},
    )
    run = subprocess.Popen([str(SOULSPOT), "refresh"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    answers = 0
    while run.poll() is None:
        assert notebook.execute("SELECT count(*) FROM library.tracks").fetchall() == [(1,)]
        answers += 1
        time.sleep(0.05)  # a notebook asks now and then; a tight loop would take a core from the run
    assert run.returncode == 0 and answers > 0
    assert connect(tmp_path / "data" / "soulspot.snapshot.duckdb").execute(
        "SELECT count(*) FROM library.tracks"
    ).fetchall() == [(2,)]


def test_a_failing_refresh_exits_non_zero(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOULSPOT_", "DAGSTER_"))}
    env.update({"SOULSPOT_DATA_DIR": str(tmp_path / "data"), "SOULSPOT_MUSICBRAINZ_RATE": "fast"})
    done = subprocess.run([str(SOULSPOT), "refresh"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "SOULSPOT_MUSICBRAINZ_RATE" in done.stderr


def test_a_refresh_killed_mid_scan_does_not_block_the_next_one(tmp_path):
    from soulspot_pipeline.devkit.benchmark import build_library

    music = tmp_path / "music"
    build_library(music, 3000)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOULSPOT_", "DAGSTER_"))}
    # MusicBrainz off: these tests are about the run, not the lookups (tests/assets cover those).
    env.update(
        {
            "SOULSPOT_DATA_DIR": str(tmp_path / "data"),
            "SOULSPOT_MUSIC_DIR": str(music),
            "SOULSPOT_MUSICBRAINZ_URL": "off",
            "SOULSPOT_COVERART_URL": "http://127.0.0.1:9",
        }
    )
    first = subprocess.Popen(
        [str(SOULSPOT), "refresh"],
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
        os.killpg(first.pid, signal.SIGKILL)  # the whole run: CLI, executor, step and scan workers
        first.wait()

    second = subprocess.run([str(SOULSPOT), "refresh"], env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "marked run" in second.stdout and "its process is gone" in second.stdout
    conn = duckdb.connect(str(tmp_path / "data" / "soulspot.snapshot.duckdb"), read_only=True)
    assert conn.execute("SELECT count(*), count(DISTINCT path) FROM library.local_files").fetchall() == [(3000, 3000)]
    assert conn.execute("SELECT count(*) FROM library.tracks WHERE download_state = 'downloaded'").fetchall() == [
        (3000,)
    ]
