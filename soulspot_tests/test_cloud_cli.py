"""Spotify as a user meets it from the command line: the one-time login, and a sync
killed half-way then run again, in real processes against a local stand-in."""

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import httpx
import pytest

from soulspot_pipeline.definitions import build_definitions
from soulspot_pipeline.devkit.standins.spotify import SpotifyStandin, generate_library
from soulspot_pipeline.resources.spotify import SCOPES, TokenFile
from soulspot_pipeline.settings import Settings
from soulspot_tests.processes import kill_everything_started_by

pytestmark = pytest.mark.e2e  # the command or the demo in a subprocess, as a user runs it

SOULSPOT = Path(sys.executable).with_name("soulspot")
REDIRECT = "http://127.0.0.1:8888/callback"


def cli_env(tmp_path, server: SpotifyStandin) -> dict[str, str]:
    (tmp_path / "music").mkdir(parents=True, exist_ok=True)  # an empty music folder: only likes
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOULSPOT_", "DAGSTER_", "SPOTIFY_", "DEEZER_"))}
    env.update(
        {
            "SOULSPOT_DATA_DIR": str(tmp_path / "data"),
            "SOULSPOT_MUSIC_DIR": str(tmp_path / "music"),
            "SOULSPOT_MUSICBRAINZ_URL": "off",
            "SPOTIFY_CLIENT_ID": server.client_id,
            "SPOTIFY_REDIRECT_URI": REDIRECT,
            "SOULSPOT_SPOTIFY_API_URL": server.api_url,
            "SOULSPOT_SPOTIFY_ACCOUNTS_URL": server.accounts_url,
        }
    )
    return env


def test_spotify_login_stores_a_private_token_that_a_refresh_then_uses(tmp_path):
    with SpotifyStandin(generate_library(120, seed=3)) as server:
        env = cli_env(tmp_path, server)
        login = subprocess.Popen(
            [str(SOULSPOT), "spotify-login", "--no-browser"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = login.stdout.readline()
        assert line.startswith("Go to the following URL: "), line + login.stderr.read()
        authorize_url = line.split(": ", 1)[1].strip()
        # The user's browser: Spotify asks, the user agrees, Spotify redirects.
        redirect = httpx.get(authorize_url, follow_redirects=False)
        assert redirect.status_code == 302 and redirect.headers["location"].startswith(REDIRECT)
        out, err = login.communicate(redirect.headers["location"] + "\n", timeout=60)
        assert login.returncode == 0, out + err
        assert "logged in to Spotify as" in out

        token_path = tmp_path / "data" / "secrets" / "spotify-token.json"
        assert stat.S_IMODE(os.stat(token_path).st_mode) == 0o600
        stored = TokenFile(token_path).get_cached_token()
        assert stored["refresh_token"] and set(SCOPES) <= set(stored["scope"].split())
        assert stored["refresh_token"] not in out + err and stored["access_token"] not in out + err

        done = subprocess.run([str(SOULSPOT), "refresh"], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        for secret in (stored["refresh_token"], stored["access_token"]):
            assert secret not in done.stdout + done.stderr
        conn = duckdb.connect(str(tmp_path / "data" / "soulspot.snapshot.duckdb"), read_only=True)
        assert conn.execute(
            "SELECT count(*) FROM library.cloud_likes WHERE source = 'spotify' AND kind = 'track'"
        ).fetchall() == [(120,)]
        # Covers and pictures came from the stand-in's image host, never from the internet.
        stored, local = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE source_url LIKE ? || '/image/%') FROM library.images WHERE status = 'stored'",
            [server.url],
        ).fetchall()[0]
        assert stored > 0 and local == stored


def test_a_sync_killed_half_way_and_run_again_ends_as_a_clean_sync_would(tmp_path):
    library = generate_library(1500, seed=11)
    with SpotifyStandin(library) as server:
        killed_dir, clean_dir = tmp_path / "killed", tmp_path / "clean"
        for folder in (killed_dir, clean_dir):
            TokenFile(folder / "data" / "secrets" / "spotify-token.json").save_token_to_cache(
                {**server.issue_tokens(" ".join(SCOPES)), "expires_at": int(time.time()) + 3600}
            )
        # Once, to the end, in a fresh library: what a clean sync leaves (in this process: only
        # the killed run and the one after it need to be the command).
        settings = Settings.from_env(cli_env(clean_dir, server))
        (clean_dir / "dagster").mkdir()
        with dg.instance_for_test(temp_dir=str(clean_dir / "dagster")) as instance:
            clean = build_definitions(settings).resolve_job_def("library_refresh").execute_in_process(instance=instance)
        assert clean.success

        # Half-way through the saved tracks, the whole run is killed.
        server.delay_s = 0.05
        pages_before = server.count("/v1/me/tracks")
        env = cli_env(killed_dir, server)
        run = subprocess.Popen(
            [str(SOULSPOT), "refresh"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while server.count("/v1/me/tracks") - pages_before < 12 and time.monotonic() < deadline and run.poll() is None:
            time.sleep(0.02)
        kill_everything_started_by(run.pid)  # the CLI and the job it runs in its own process group
        assert run.wait() == -signal.SIGKILL, "the run ended before it could be killed"
        assert server.count("/v1/me/tracks") - pages_before < 30  # 1500 tracks are 30 pages: killed half-way
        server.delay_s = 0.0

        again = subprocess.run([str(SOULSPOT), "refresh"], env=env, capture_output=True, text=True, timeout=300)
        assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]

    def state(folder):
        conn = duckdb.connect(str(folder / "data" / "soulspot.snapshot.duckdb"), read_only=True)
        try:
            return {
                table: conn.execute(f"SELECT * EXCLUDE ({drop}) FROM library.{table} ORDER BY ALL").fetchall()
                for table, drop in (
                    # image_path names each library's own data folder
                    ("tracks", "created_at, updated_at"),
                    ("albums", "created_at, updated_at, image_path"),
                    ("artists", "created_at, updated_at, image_path"),
                    ("cloud_likes", "liked_since"),
                    ("source_links", "created_at, updated_at"),
                    ("playlist_tracks", "position"),
                )
            }
        finally:
            conn.close()

    killed, clean = state(killed_dir), state(clean_dir)
    assert len(killed["cloud_likes"]) >= 1500 and len({row[:3] for row in killed["cloud_likes"]}) == len(
        killed["cloud_likes"]
    )
    assert killed == clean
