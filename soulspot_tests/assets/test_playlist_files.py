"""Playlist files end to end: a Spotify stand-in playlist merged with real local files, written as
M3U8 by Dagster into tmp_path, and each media-server stand-in asked to rescan with its credential."""

import json
import os
import time
from pathlib import Path

import dagster as dg
import pytest

from soulspot_pipeline.assets.cloud import cloud_assets
from soulspot_pipeline.assets.discover import local_scan
from soulspot_pipeline.assets.library import library_entities
from soulspot_pipeline.assets.playlists import playlist_files
from soulspot_pipeline.devkit.standins import spotify as sp
from soulspot_pipeline.devkit.standins.media_servers import MediaServerStandin
from soulspot_pipeline.devkit.standins.spotify import SpotifyLibrary, SpotifyStandin
from soulspot_pipeline.devkit.synth import write_audio_file
from soulspot_pipeline.resources.deezer import DeezerResource
from soulspot_pipeline.resources.media_servers import JellyfinResource, PlaylistFolder, PlexResource, SubsonicResource
from soulspot_pipeline.resources.music_folder import MusicFolder
from soulspot_pipeline.resources.policies import LibraryPolicy
from soulspot_pipeline.resources.spotify import SCOPES, SpotifyResource, TokenFile
from soulspot_tests.results import materialize, metadata, rows

pytestmark = pytest.mark.integration  # assets run through Dagster against stand-ins

SECRETS = {
    "JELLYFIN_API_KEY": "jellyfin-key-R2d8Wq",
    "SUBSONIC_PASSWORD": "subsonic-pass-Lk93Zp",
    "PLEX_TOKEN": "plex-token-Vb71Ty",
}
PLAYLIST = "37i9dQZF1DX0XUsuxWHRQd"

AIR = sp.artist("4aMeIVKmV7mXyd0pvUhI4s", "Air")
MOON = sp.album("6ZU9RJIZ0fNaFuQM57bDIA", "Moon Safari", [AIR], total_tracks=10)
SEXY = sp.track("3t2VpuNfXG5PV7scRTcqpJ", "Sexy Boy", [AIR], MOON, isrc="FRAB19800001", duration_ms=298_000)
KELLY = sp.track(
    "5v5ETK9WFXAnGQ3MRubKuE", "Kelly Watch the Stars", [AIR], MOON, isrc="FRAB19800002", duration_ms=225_000
)
ADELE = sp.artist("4dpARuHxo51G3z768sgnrY", "Adele")
HELLO = sp.track(
    "4sPmO7WMQUAf45kwMOtONw",
    "Hello",
    [ADELE],
    sp.album("7uwTHXmFa1Ebi5flqBosig", "25", [ADELE]),
    isrc="GBBKS1500214",
    duration_ms=295_000,
)
ORDER = [KELLY, HELLO, SEXY]  # the playlist's order, not the disk's


def entry(item):
    return {
        "added_at": "2026-01-06T10:00:00Z",
        "added_by": {"id": "me", "type": "user"},
        "is_local": False,
        "track": item,
    }


@pytest.fixture
def spotify_standin():
    library = SpotifyLibrary(
        saved_tracks=[],
        saved_albums=[],
        followed_artists=[],
        playlists=[sp.playlist(PLAYLIST, "Road/Trip: Best?", "me", snapshot_id="snap-1", total=len(ORDER))],
        playlist_items={PLAYLIST: [entry(t) for t in ORDER]},
    )
    with SpotifyStandin(library) as server:
        yield server


@pytest.fixture
def media_standin():
    with MediaServerStandin(
        jellyfin_key=SECRETS["JELLYFIN_API_KEY"],
        subsonic_user="me",
        subsonic_password=SECRETS["SUBSONIC_PASSWORD"],
        plex_token=SECRETS["PLEX_TOKEN"],
    ) as server:
        yield server


def build_library(library_db, music_dir: Path, tmp_path: Path, spotify: SpotifyStandin) -> dict[str, Path]:
    """Two of the playlist's tracks as real files, merged with the Spotify playlist."""
    folder = music_dir / "Air" / "Moon Safari"
    folder.mkdir(parents=True)
    files = {}
    for number, track in ((2, SEXY), (3, KELLY)):
        path = folder / f"{number:02d} {track['name']}.flac"
        tags = {"artist": "Air", "album": "Moon Safari", "title": track["name"], "isrc": track["external_ids"]["isrc"]}
        files[track["name"]] = write_audio_file(path, "flac", {**tags, "track_number": number}, seconds=1)
    token_path = tmp_path / "data" / "secrets" / "spotify-token.json"
    TokenFile(token_path).save_token_to_cache(
        {**spotify.issue_tokens(" ".join(SCOPES)), "expires_at": int(time.time()) + 3600}
    )
    resources = {
        "library_db": library_db,
        "music_folder": MusicFolder(music_dir=str(music_dir), scan_workers=1),
        "library_policy": LibraryPolicy(),
        "spotify": SpotifyResource(
            client_id=spotify.client_id,
            redirect_uri="http://127.0.0.1:8888/callback",
            api_url=spotify.api_url,
            accounts_url=spotify.accounts_url,
            token_path=str(token_path),
        ),
        "deezer": DeezerResource(user_id=None, api_url="http://127.0.0.1:9/"),
    }
    assert materialize([*cloud_assets, local_scan, library_entities], resources=resources).success
    return files


def playlist_resources(library_db, playlists_dir: Path, server_url: str | None) -> dict:
    """The run's resources with every credential by name, as the code location passes them."""
    return {
        "library_db": library_db,
        "playlist_folder": PlaylistFolder(playlists_dir=str(playlists_dir)),
        "jellyfin": JellyfinResource(base_url=server_url, api_key=dg.EnvVar("JELLYFIN_API_KEY")),
        "subsonic": SubsonicResource(base_url=server_url, user="me", password=dg.EnvVar("SUBSONIC_PASSWORD")),
        "plex": PlexResource(base_url=server_url, token=dg.EnvVar("PLEX_TOKEN")),
    }


@pytest.fixture
def secrets_in_env(monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)


def assert_no_secret(meta: dict) -> None:
    text = json.dumps(meta, default=str)
    assert not [name for name, value in SECRETS.items() if value in text]


def test_every_entry_resolves_to_its_track_a_second_run_rewrites_nothing_and_each_server_rescans(
    library_db, music_dir, tmp_path, spotify_standin, media_standin, secrets_in_env
):
    files = build_library(library_db, music_dir, tmp_path, spotify_standin)
    playlists_dir = music_dir / "Playlists"
    res = playlist_resources(library_db, playlists_dir, media_standin.url)

    meta = metadata(materialize([playlist_files], resources=res), "playlist_files")

    (m3u8,) = playlists_dir.glob("*.m3u8")
    assert m3u8.name == "Road_Trip_ Best_.m3u8"
    lines = m3u8.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#EXTM3U"
    entries = [line for line in lines if line and not line.startswith("#")]
    resolved = [(m3u8.parent / entry).resolve() for entry in entries]
    assert all(path.is_file() for path in resolved)
    assert resolved == [files["Kelly Watch the Stars"].resolve(), files["Sexy Boy"].resolve()]
    # Each path is the library's file of the track its #EXTINF line names.
    on_disk = dict(rows(library_db, "SELECT local_path, title FROM library.tracks WHERE local_path IS NOT NULL"))
    for extinf, path in zip([line for line in lines if line.startswith("#EXTINF:")], resolved, strict=True):
        assert extinf.endswith(f"Air - {on_disk[str(path)]}")
    assert "# missing: Adele - Hello" in lines
    assert lines.index("# missing: Adele - Hello") == lines.index(entries[0]) + 1  # in playlist order

    assert (meta["written"], meta["unchanged"], meta["entries"], meta["missing"]) == (1, 0, 2, 1)
    assert meta["rescans"] == {
        "jellyfin": "library refresh queued",
        "subsonic": "scan started",
        "plex": "sections 3 refreshing",
    }
    calls = {(r.method, r.path): r for r in media_standin.requests}
    assert f'Token="{SECRETS["JELLYFIN_API_KEY"]}"' in calls["POST", "/Library/Refresh"].headers["authorization"]
    scan = calls["GET", "/rest/startScan"].query
    assert scan["u"] == "me" and "p" not in scan and SECRETS["SUBSONIC_PASSWORD"] not in json.dumps(scan)
    assert calls["GET", "/library/sections/3/refresh"].headers["x-plex-token"] == SECRETS["PLEX_TOKEN"]
    assert_no_secret(meta)

    before = (m3u8.stat().st_mtime_ns, m3u8.read_bytes())
    requests_before = len(media_standin.requests)
    again = metadata(materialize([playlist_files], resources=res), "playlist_files")
    assert (again["written"], again["unchanged"]) == (0, 1)
    assert (m3u8.stat().st_mtime_ns, m3u8.read_bytes()) == before
    assert len(media_standin.requests) == requests_before  # nothing changed, nothing to rescan
    assert [p.name for p in playlists_dir.iterdir()] == [m3u8.name]  # no temp file left behind


def test_a_disabled_playlists_file_goes_while_the_users_own_files_stay(
    library_db, music_dir, tmp_path, spotify_standin, secrets_in_env
):
    build_library(library_db, music_dir, tmp_path, spotify_standin)
    playlists_dir = music_dir / "Playlists"
    playlists_dir.mkdir()
    mine = playlists_dir / "Mine.m3u8"
    mine.write_text("#EXTM3U\n../Air/Moon Safari/02 Sexy Boy.flac\n", encoding="utf-8")
    res = playlist_resources(library_db, playlists_dir, None)  # no server configured: skipped
    meta = metadata(materialize([playlist_files], resources=res), "playlist_files")
    assert set(meta["rescans"].values()) == {"skipped: not configured"}

    with library_db.writer() as conn:
        conn.execute("UPDATE library.playlists SET sync_mode = 'disabled'")
    meta = metadata(materialize([playlist_files], resources=res), "playlist_files")
    assert (meta["written"], meta["removed"]) == (0, 1)
    assert sorted(p.name for p in playlists_dir.iterdir()) == ["Mine.m3u8"]

    # A user's file where ours would go is left as it is.
    with library_db.writer() as conn:
        conn.execute("UPDATE library.playlists SET sync_mode = 'reference', name = 'Mine'")
    meta = metadata(materialize([playlist_files], resources=res), "playlist_files")
    assert (meta["written"], meta["not_ours"]) == (0, ["Mine.m3u8"])
    assert mine.read_text(encoding="utf-8") == "#EXTM3U\n../Air/Moon Safari/02 Sexy Boy.flac\n"


def test_a_playlists_folder_on_a_missing_drive_is_skipped(library_db, tmp_path, secrets_in_env):
    res = playlist_resources(library_db, tmp_path / "unmounted" / "Playlists", None)
    meta = metadata(materialize([playlist_files], resources=res), "playlist_files")
    assert meta == {"status": f"skipped: {tmp_path / 'unmounted'} does not exist"}
    assert not (tmp_path / "unmounted").exists()


def test_a_server_that_fails_is_reported_and_the_asset_succeeds(
    library_db, music_dir, tmp_path, spotify_standin, media_standin, monkeypatch
):
    build_library(library_db, music_dir, tmp_path, spotify_standin)
    for name in SECRETS:
        monkeypatch.setenv(name, "wrong-" + SECRETS[name])
    res = playlist_resources(library_db, music_dir / "Playlists", media_standin.url)
    res["plex"] = PlexResource(base_url="http://127.0.0.1:9", token=dg.EnvVar("PLEX_TOKEN"))  # nothing listens
    result = materialize([playlist_files], resources=res)
    assert result.success
    rescans = metadata(result, "playlist_files")["rescans"]
    assert rescans["jellyfin"] == f"failed: {media_standin.url} answered HTTP 401 to /Library/Refresh"
    assert rescans["subsonic"] == f"failed: {media_standin.url} refused startScan: 40 Wrong username or password"
    assert rescans["plex"].startswith("failed: cannot reach http://127.0.0.1:9")
    assert not [v for v in os.environ.values() if v.startswith("wrong-") and v in json.dumps(rescans)]
