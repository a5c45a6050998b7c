"""The main job as a user starts it: `soulspot refresh`, a real Dagster instance, real files."""

import os
import subprocess
import sys
from pathlib import Path

import duckdb

from soulspot_pipeline.synth import write_audio_file

SOULSPOT = Path(sys.executable).with_name("soulspot")


def test_refresh_materializes_every_asset_with_instance_storage_under_the_data_folder(tmp_path):
    music = tmp_path / "music"
    (music / "Air" / "Moon Safari").mkdir(parents=True)
    write_audio_file(music / "Air" / "Moon Safari" / "01 La femme d'argent.flac", "flac", {"artist": "Air", "album": "Moon Safari", "title": "La femme d'argent"})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOULSPOT_", "DAGSTER_"))}
    env.update({"SOULSPOT_DATA_DIR": str(tmp_path / "data"), "SOULSPOT_MUSIC_DIR": str(music)})
    done = subprocess.run([str(SOULSPOT), "refresh"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "RUN_SUCCESS" in done.stderr + done.stdout
    assert (tmp_path / "data" / "dagster" / "storage").is_dir()
    conn = duckdb.connect(str(tmp_path / "data" / "soulspot.snapshot.duckdb"), read_only=True)
    assert conn.execute("SELECT title, download_state FROM library.tracks").fetchall() == [("La femme d'argent", "downloaded")]


def test_a_failing_refresh_exits_non_zero(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOULSPOT_", "DAGSTER_"))}
    env.update({"SOULSPOT_DATA_DIR": str(tmp_path / "data"), "SOULSPOT_MUSICBRAINZ_RATE": "fast"})
    done = subprocess.run([str(SOULSPOT), "refresh"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "SOULSPOT_MUSICBRAINZ_RATE" in done.stderr
