"""`soulspot demo` as a newcomer runs it: every phase against the local stand-ins, in a real process."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from soulspot_pipeline import connect

pytestmark = pytest.mark.e2e  # the command or the demo in a subprocess, as a user runs it

SOULSPOT = Path(sys.executable).with_name("soulspot")


def test_the_demo_runs_every_phase_offline_and_imports_downloads_into_its_own_music_folder(tmp_path):
    data = tmp_path / "demo"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SOULSPOT_", "DAGSTER_", "SPOTIFY_", "DEEZER_", "SLSKD_"))
    }
    done = subprocess.run(
        [str(SOULSPOT), "demo", "--no-ui", "--data-dir", str(data)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-3000:]
    assert "DEMO" in done.stdout.splitlines()[0]

    music = data / "music"
    conn = connect(data / "soulspot.snapshot.duckdb")

    def one(sql: str):
        return conn.execute(sql).fetchall()[0][0]

    assert one("SELECT count(*) FROM library.local_files WHERE NOT missing") >= 12
    assert one("SELECT count(*) FROM library.cloud_likes WHERE source = 'spotify' AND kind = 'track'") > 0
    assert one("SELECT count(*) FROM library.cloud_likes WHERE source = 'deezer' AND kind = 'track'") > 0
    assert one("SELECT count(*) FROM library.identifications WHERE status = 'accepted'") > 0
    assert one("SELECT count(*) FROM library.discography_gaps") > 0
    assert one("SELECT count(*) FROM library.missing_tracks") > 0
    assert one("SELECT count(*) FROM library.images WHERE status = 'stored'") > 0
    assert (data / "images" / "cover_wall.png").is_file()
    # Every chosen file had rivals the ranking turned down, with the rule that did.
    assert one("SELECT count(*) FROM library.download_candidates WHERE NOT accepted AND decided_by IS NOT NULL") > 0

    imported = conn.execute("SELECT local_path FROM library.downloads WHERE state = 'downloaded'").fetchall()
    assert imported
    for (path,) in imported:
        assert Path(path).is_relative_to(music) and Path(path).is_file(), path
        assert path in done.stdout
    assert (
        one("""SELECT count(*) FROM library.local_files
                   WHERE NOT missing AND path IN (SELECT local_path FROM library.downloads WHERE state = 'downloaded')""")
        == len(imported)
    )
    # Nothing outside the demo's folder: no default data folder appeared where it ran.
    assert not (tmp_path / "data").exists()
    # Every run is marked as the demo's, by the jobs' own tags (SOULSPOT_RUN_TAGS), as the UI's runs are.
    with dg.DagsterInstance.from_config(str(data / "dagster")) as instance:
        runs = instance.get_runs()
    assert len(runs) >= 3 and {run.tags.get("soulspot/mode") for run in runs} == {"DEMO"}


def test_the_demo_drops_every_service_the_user_configured(monkeypatch):
    from soulspot_pipeline.devkit.demo import use_environment

    users = {
        "SOULSPOT_MUSIC_DIR": "/srv/music",
        "JELLYFIN_URL": "http://jellyfin.lan:8096",
        "PLEX_TOKEN": "plex-token",
        "SUBSONIC_PASSWORD": "pw",
        "LASTFM_API_KEY": "lastfm-key",
        "GENIUS_ACCESS_TOKEN": "genius-token",
        "ACOUSTID_API_KEY": "acoustid-key",
        "SLSKD_API_KEY": "slskd-key",
    }
    for name, value in users.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOME_IS_KEPT", "1")
    use_environment({"SOULSPOT_DATA_DIR": "/tmp/demo"})
    assert not [name for name in users if name in os.environ]
    assert os.environ["SOULSPOT_DATA_DIR"] == "/tmp/demo" and os.environ["HOME_IS_KEPT"] == "1"
    monkeypatch.delenv("SOULSPOT_DATA_DIR")
