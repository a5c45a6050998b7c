"""``soulspot demo``: every phase on a small made-up library, offline, against local stand-ins.

The demo builds a sample music folder of real tagged audio files, starts the Spotify, Deezer,
MusicBrainz, Cover Art Archive, slskd and LRCLIB stand-ins on 127.0.0.1 in this process, points every
setting at them and at a separate data folder, and runs the real jobs with the real Dagster
instance (as ``soulspot refresh`` does). Then, unless told not to, it opens the Dagster UI
with the stand-ins still answering.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import string
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import NoReturn
from urllib.parse import urlsplit

from soulspot_pipeline import cli, connect
from soulspot_pipeline.child_process import run_child
from soulspot_pipeline.devkit.standins import deezer as dz
from soulspot_pipeline.devkit.standins import spotify as sp
from soulspot_pipeline.devkit.standins.coverart import CoverArtStandin, make_image
from soulspot_pipeline.devkit.standins.deezer import DeezerLibrary, DeezerStandin
from soulspot_pipeline.devkit.standins.lrclib import LrclibStandin
from soulspot_pipeline.devkit.standins.musicbrainz import (
    MbCatalog,
    MbRecording,
    MbRelease,
    MbReleaseGroup,
    MusicBrainzStandin,
)
from soulspot_pipeline.devkit.standins.slskd import SharedFile, SlskdStandin
from soulspot_pipeline.devkit.standins.spotify import SpotifyLibrary, SpotifyStandin
from soulspot_pipeline.devkit.synth import audio_bytes, write_audio_file
from soulspot_pipeline.resources.spotify import SCOPES, TokenFile
from soulspot_pipeline.run_console import job_command
from soulspot_pipeline.settings import Settings

LOCAL_HOST = "127.0.0.1"
MARKER = ".soulspot-demo"
RUN_TAGS = {"soulspot/mode": "DEMO"}
LOCATION_NAME = "soulspot_pipeline_DEMO"
DEEZER_USER = "1001"
SLSKD_API_KEY = "demo-api-key"
# Variables of the user's own setup: none of them may leak into the demo.
# Every service the user may have configured: the demo must reach none of them (a media server's
# rescan, a Last.fm, Genius or AcoustID request with the user's key).
USER_PREFIXES = (
    "SOULSPOT_",
    "DAGSTER_",
    "SPOTIFY_",
    "DEEZER_",
    "SLSKD_",
    "JELLYFIN_",
    "SUBSONIC_",
    "PLEX_",
    "LASTFM_",
    "GENIUS_",
    "ACOUSTID_",
)
MAX_FOLLOW_RUNS = 8
BASE62 = string.digits + string.ascii_letters
LIKED_SINCE = datetime(2026, 1, 15, 20, 0, tzinfo=UTC)
BANNER = (
    "*** soulspot DEMO ***  a made-up sample library and local stand-ins for Spotify, Deezer, MusicBrainz,\n"
    "the Cover Art Archive, slskd and LRCLIB on 127.0.0.1: no account, nothing leaves this machine, your own library\n"
    "and data folder are not touched."
)


class DemoError(RuntimeError):
    """The demo cannot go on; the message says why."""


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(Exception):
    """Ctrl-C or SIGTERM: the demo stops its stand-ins, says so and exits 130."""


def _interrupted(signum: int, frame: FrameType | None = None) -> NoReturn:
    # Stopping takes a moment (the stand-ins shut down): another Ctrl-C must not cut it short with a traceback.
    for stop in STOP_SIGNALS:
        signal.signal(stop, signal.SIG_IGN)
    raise Interrupted(signum)


# -- the sample library -----------------------------------------------------------------


@dataclass(frozen=True)
class SampleTrack:
    title: str
    seconds: int
    file_format: str | None = None  # its file in the sample music folder; None: not on disk
    liked_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class SampleAlbum:
    title: str
    date: str
    tracks: tuple[SampleTrack, ...]
    tags: str = "names"  # what its files carry: "mbids" (and ISRCs), "isrc", or "names" only
    primary_type: str = "Album"
    secondary_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class SampleArtist:
    name: str
    kind: str
    country: str
    genres: tuple[str, ...]
    albums: tuple[SampleAlbum, ...]
    on_musicbrainz: bool = True


T = SampleTrack
SAMPLE = (
    SampleArtist(
        "The Velvet Lanterns",
        "Group",
        "GB",
        ("dream pop", "indie pop"),
        (
            # Partly owned: three files, a liked track to download, and one track missing.
            SampleAlbum(
                "Paper Harbor",
                "2014-03-10",
                tags="mbids",
                tracks=(
                    T("Paper Harbor", 3, "flac", ("spotify",)),
                    T("Golden Parade", 4, "flac"),
                    T("Signals", 3, "flac"),
                    T("Hollow Streets", 4, liked_on=("spotify",)),
                    T("Last Lantern", 5),
                ),
            ),
            SampleAlbum(
                "Neon Garden",
                "2017-09-22",
                tags="isrc",
                tracks=(
                    T("Neon Garden", 3, "mp3"),
                    T("Velvet Hours", 4, "mp3", ("spotify",)),
                    T("Satellite Hearts", 2, "mp3"),
                    T("Distant Rooftops", 5, "mp3"),
                ),
            ),
            SampleAlbum(
                "Live in Oslo",
                "2019-11-02",
                secondary_types=("Live",),
                tracks=(
                    T("Paper Harbor (Live)", 4),
                    T("Golden Parade (Live)", 5),
                ),
            ),
            SampleAlbum(
                "Quiet Satellites",
                "2021-05-14",
                tracks=(
                    T("Quiet Satellites", 3),
                    T("Harbor Lights", 4),
                    T("Midnight Echoes", 3),
                    T("Silver Tide", 5),
                ),
            ),
            SampleAlbum("Rooftops", "2023-02-03", primary_type="EP", tracks=(T("Rooftops", 3), T("Glass Summer", 4))),
        ),
    ),
    SampleArtist(
        "Ada Varga",
        "Person",
        "SE",
        ("folk", "ambient"),
        (
            SampleAlbum(
                "Amber Tides",
                "2019-04-05",
                tracks=(
                    T("Low Tide", 3, "ogg", ("deezer",)),
                    T("Amber Tides", 4, "ogg"),
                    T("Salt and Cedar", 3, "ogg"),
                    T("Winter Orchard", 5, "ogg"),
                ),
            ),
            SampleAlbum("Velvet Morning", "2020-08-14", primary_type="Single", tracks=(T("Velvet Morning", 3),)),
            SampleAlbum(
                "Glass Meadow", "2022-10-28", tracks=(T("Glass Meadow", 4), T("Northern Psalm", 3), T("Ferry Song", 5))
            ),
        ),
    ),
    SampleArtist(
        "Kofi Lindqvist",
        "Person",
        "NO",
        ("jazz", "soul"),
        (
            SampleAlbum(
                "Atlas",
                "2020-06-19",
                tracks=(
                    T("Meadow Lights", 4, liked_on=("spotify", "deezer")),
                    T("Crimson Fever", 3, liked_on=("spotify",)),
                    T("Slow Canyon", 5),
                ),
            ),
            SampleAlbum("Embers", "2024-01-12", primary_type="EP", tracks=(T("Embers", 3), T("Night Ferry", 4))),
        ),
    ),
    # A home recording MusicBrainz has never heard of: identify finds nothing, as it should.
    SampleArtist(
        "The Unsigned",
        "Group",
        "DE",
        ("garage rock",),
        on_musicbrainz=False,
        albums=(SampleAlbum("Garage Sketches", "2024-05-01", tracks=(T("First Take", 2, "flac"),)),),
    ),
)


@dataclass(frozen=True)
class Placed:
    """One sample track with everything the services know about it."""

    artist: SampleArtist
    album: SampleAlbum
    track: SampleTrack
    number: int
    isrc: str | None
    recording: MbRecording | None
    release: MbRelease | None
    group: MbReleaseGroup | None


def _tracks() -> Iterator[tuple[SampleArtist, SampleAlbum, int, SampleTrack]]:
    for artist in SAMPLE:
        for album in artist.albums:
            for number, track in enumerate(album.tracks, start=1):
                yield artist, album, number, track


def build_catalog() -> tuple[MbCatalog, list[Placed]]:
    """The MusicBrainz catalog of the sample (every release group, so discographies have gaps) and its tracks."""
    catalog = MbCatalog()
    placed = []
    artists, groups, releases = {}, {}, {}
    counters: dict[str, int] = {}  # recordings per artist, for their ISRCs
    for artist, album, number, track in _tracks():
        if not artist.on_musicbrainz:
            placed.append(Placed(artist, album, track, number, None, None, None, None))
            continue
        if artist.name not in artists:
            weighted = [(genre, 9 - 3 * i) for i, genre in enumerate(artist.genres)]
            artists[artist.name] = catalog.add_artist(
                artist.name,
                type=artist.kind,
                country=artist.country,
                tags=weighted,
                genres=weighted,
                begin=str(int(artist.albums[0].date[:4]) - 2),
            )
        key = (artist.name, album.title)
        if key not in groups:
            groups[key] = catalog.add_release_group(
                album.title,
                artists[artist.name],
                primary_type=album.primary_type,
                secondary_types=album.secondary_types,
                first_release_date=album.date,
                tags=[(artist.genres[0], 4)],
                genres=[(artist.genres[0], 4)],
            )
            releases[key] = catalog.add_release(groups[key], country=artist.country, media=[[]])
        counters[artist.name] = counters.get(artist.name, 0) + 1
        registrant = "".join(w[0] for w in artist.name.upper().split())[:3].ljust(3, "X")
        isrc = f"{artist.country}{registrant}{album.date[2:4]}{counters[artist.name]:05d}"
        recording = catalog.add_recording(
            track.title, artists[artist.name], length_ms=track.seconds * 1000, isrcs=[isrc], releases=[releases[key]]
        )
        placed.append(Placed(artist, album, track, number, isrc, recording, releases[key], groups[key]))
    return catalog, placed


def _file_tags(p: Placed) -> dict[str, str | int | None]:
    tags: dict[str, str | int | None] = {
        "artist": p.artist.name,
        "albumartist": p.artist.name,
        "album": p.album.title,
        "title": p.track.title,
        "track_number": p.number,
        "track_total": len(p.album.tracks),
        "date": p.album.date[:4],
        "genre": p.artist.genres[0],
    }
    if p.album.tags in ("mbids", "isrc"):
        tags["isrc"] = p.isrc
    if p.album.tags == "mbids" and p.recording and p.release and p.group:
        tags.update(
            recording_mbid=p.recording.mbid,
            release_mbid=p.release.mbid,
            release_group_mbid=p.group.mbid,
            artist_mbid=p.group.artist.mbid,
        )
    return tags


def write_music_folder(music_dir: Path, placed: list[Placed]) -> list[Path]:
    """The sample's files, laid out as imports lay out downloads: Artist/Album (Year)/NN - Title.ext."""
    written = []
    for p in placed:
        if p.track.file_format is None:
            continue
        folder = music_dir / p.artist.name / f"{p.album.title} ({p.album.date[:4]})"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{p.number:02d} - {p.track.title}.{p.track.file_format}"
        written.append(write_audio_file(path, p.track.file_format, _file_tags(p), seconds=p.track.seconds))
    return written


def _spotify_id(*parts: str) -> str:
    digest = int(hashlib.sha256("\x00".join(("spotify", *parts)).encode()).hexdigest(), 16)
    return "".join(BASE62[(digest >> (6 * i)) % 62] for i in range(22))


def _deezer_id(*parts: str) -> int:
    return int(hashlib.sha256("\x00".join(("deezer", *parts)).encode()).hexdigest()[:8], 16)


def spotify_library(placed: list[Placed]) -> SpotifyLibrary:
    """Liked tracks (newest first) and followed artists of the sample's Spotify account."""
    library = SpotifyLibrary()
    artists: dict[str, dict] = {}
    albums: dict[tuple[str, str], dict] = {}
    liked = [p for p in placed if "spotify" in p.track.liked_on]
    for i, p in enumerate(liked):
        artist_id = _spotify_id(p.artist.name)
        if p.artist.name not in artists:
            artists[p.artist.name] = sp.artist(
                artist_id, p.artist.name, genres=list(p.artist.genres), image_url=f"{sp.IMAGE_HOST}{artist_id.lower()}"
            )
            library.followed_artists.append(artists[p.artist.name])
        key = (p.artist.name, p.album.title)
        if key not in albums:
            album_id = _spotify_id(*key)
            albums[key] = sp.album(
                album_id,
                p.album.title,
                [artists[p.artist.name]],
                release_date=p.album.date,
                total_tracks=len(p.album.tracks),
                image_url=f"{sp.IMAGE_HOST}{album_id.lower()}",
            )
        track = sp.track(
            _spotify_id(*key, p.track.title),
            p.track.title,
            [artists[p.artist.name]],
            albums[key],
            isrc=p.isrc,
            duration_ms=p.track.seconds * 1000,
            track_number=p.number,
        )
        added = LIKED_SINCE + timedelta(days=i)
        library.saved_tracks.append({"added_at": added.strftime("%Y-%m-%dT%H:%M:%SZ"), "track": track})
    library.saved_tracks.reverse()
    return library


def deezer_library(placed: list[Placed]) -> DeezerLibrary:
    """Favorite tracks and artists of the sample's public Deezer profile, with the albums' track lists."""
    library = DeezerLibrary(user_id=DEEZER_USER)
    artists: dict[str, dict] = {}
    albums: dict[tuple[str, str], dict] = {}
    added = int(LIKED_SINCE.timestamp())
    for p in placed:
        if "deezer" not in p.track.liked_on:
            continue
        if p.artist.name not in artists:
            picture = hashlib.md5(p.artist.name.encode()).hexdigest()
            artists[p.artist.name] = dz.artist(
                _deezer_id(p.artist.name),
                p.artist.name,
                picture_url=f"{dz.CDN}/artist/{picture}/1000x1000-000000-80-0-0.jpg",
            )
            library.artists.append({**artists[p.artist.name], "time_add": added})
        key = (p.artist.name, p.album.title)
        if key not in albums:
            albums[key] = dz.album(
                _deezer_id(*key),
                p.album.title,
                artists[p.artist.name],
                release_date=p.album.date,
                nb_tracks=len(p.album.tracks),
            )
            library.album_tracks[albums[key]["id"]] = []
        track_id = _deezer_id(*key, p.track.title)
        track = dz.track(track_id, p.track.title, artists[p.artist.name], albums[key], duration_s=p.track.seconds)
        library.album_tracks[albums[key]["id"]].append(
            dz.track(
                track_id,
                p.track.title,
                artists[p.artist.name],
                albums[key],
                duration_s=p.track.seconds,
                isrc=p.isrc,
                track_position=p.number,
                disk_number=1,
            )
        )
        added += 86_400
        library.tracks.insert(0, {**track, "time_add": added})
    return library


def _flac(p: Placed, seconds: int | None = None) -> bytes:
    return audio_bytes(
        "flac",
        {"artist": p.artist.name, "album": p.album.title, "title": p.track.title},
        seconds=seconds or p.track.seconds,
    )


def _shared_flac(
    share: str, p: Placed, suffix: str = "", seconds: int | None = None, folder: str | None = None
) -> SharedFile:
    name = f"@@{share}\\{p.artist.name}\\{folder or p.album.title}\\{p.number:02d} {p.track.title}{suffix}.flac"
    length = seconds or p.track.seconds
    return SharedFile(name, _flac(p, length), bit_depth=16, sample_rate=44100, length=length)


def populate_soulseek(slskd: SlskdStandin, placed: list[Placed]) -> None:
    """One peer per artist shares every studio track as FLAC; a few others share what ranking must turn down."""
    by_artist: dict[str, list[Placed]] = {}
    for p in placed:
        if p.recording is not None and not p.album.secondary_types:
            by_artist.setdefault(p.artist.name, []).append(p)
    for username, artist in (
        ("lantern_keeper", "The Velvet Lanterns"),
        ("ada_archive", "Ada Varga"),
        ("nordic_flac", "Kofi Lindqvist"),
    ):
        slskd.add_peer(username, files=[_shared_flac(username, p) for p in by_artist[artist]])
    wanted = {p.track.title: p for p in placed if p.track.liked_on and p.track.file_format is None}
    hollow, crimson, meadow = wanted["Hollow Streets"], wanted["Crimson Fever"], wanted["Meadow Lights"]
    slskd.add_peer(
        "mp3_hoarder",
        files=[
            SharedFile(
                "@@mp3\\The Velvet Lanterns - Hollow Streets.mp3",
                audio_bytes("mp3", seconds=hollow.track.seconds),
                bit_rate=128,
                length=hollow.track.seconds,
            ),
            SharedFile(
                "@@mp3\\Kofi Lindqvist - Crimson Fever.mp3",
                audio_bytes("mp3", seconds=crimson.track.seconds),
                bit_rate=320,
                length=crimson.track.seconds,
            ),
        ],
    )
    slskd.add_peer("bootleg_club", files=[_shared_flac("boots", hollow, " (Live)", seconds=6, folder="Live in Oslo")])
    slskd.add_peer("remix_corner", files=[_shared_flac("mixes", meadow, " (Extended Mix)", seconds=12)])
    slskd.add_peer("busy_peer", has_free_upload_slot=False, queue_length=6, files=[_shared_flac("busy", meadow)])


# -- the stand-ins -------------------------------------------------------------------------


@dataclass
class Standins:
    spotify: SpotifyStandin
    deezer: DeezerStandin
    musicbrainz: MusicBrainzStandin
    coverart: CoverArtStandin
    slskd: SlskdStandin
    lrclib: LrclibStandin


def populate_lyrics(lrclib: LrclibStandin, placed: list[Placed]) -> None:
    """Made-up lyrics for the tracks on disk: most synced, some plain only, one instrumental,
    and every fifth one unknown to LRCLIB."""
    on_disk = [p for p in placed if p.track.file_format is not None]
    for n, p in enumerate(on_disk):
        if n % 5 == 4:
            continue
        args = (p.track.title, p.artist.name, p.album.title, float(p.track.seconds))
        if n == 2:
            lrclib.add(*args, instrumental=True)
            continue
        lines = [f"{p.track.title}, line {i}" for i in range(1, 4)]
        synced = "\n".join(f"[00:{i:02d}.00] {line}" for i, line in enumerate(lines)) if n % 3 != 1 else None
        lrclib.add(*args, plain="\n".join(lines), synced=synced)


def start_standins(stack: ExitStack, placed: list[Placed], catalog: MbCatalog, data_dir: Path) -> Standins:
    """Every service the pipeline talks to, on 127.0.0.1, stopped when ``stack`` closes."""
    coverart = stack.enter_context(CoverArtStandin())
    for seed, group in enumerate(catalog.release_groups.values()):
        coverart.add_cover("release-group", group.mbid, make_image(600, 600, seed=seed))
    slskd = SlskdStandin(data_dir / "downloads", api_key=SLSKD_API_KEY, search_polls=0, progress_polls=2)
    lrclib = stack.enter_context(LrclibStandin())
    populate_lyrics(lrclib, placed)
    populate_soulseek(slskd, placed)
    return Standins(
        spotify=stack.enter_context(SpotifyStandin(spotify_library(placed), client_id="soulspot-demo")),
        deezer=stack.enter_context(DeezerStandin(deezer_library(placed))),
        musicbrainz=stack.enter_context(MusicBrainzStandin(catalog)),
        coverart=coverart,
        slskd=stack.enter_context(slskd),
        lrclib=lrclib,
    )


def demo_environment(data_dir: Path, servers: Standins) -> dict[str, str]:
    """Every setting the demo runs with: its own folders, and the stand-ins for every service."""
    return {
        "SOULSPOT_DATA_DIR": str(data_dir),
        "SOULSPOT_MUSIC_DIR": str(data_dir / "music"),
        "SOULSPOT_DOWNLOADS_DIR": str(servers.slskd.downloads_dir),
        "SPOTIFY_CLIENT_ID": servers.spotify.client_id,
        "SPOTIFY_REDIRECT_URI": f"http://{LOCAL_HOST}:8888/callback",
        "SOULSPOT_SPOTIFY_API_URL": servers.spotify.api_url,
        "SOULSPOT_SPOTIFY_ACCOUNTS_URL": servers.spotify.accounts_url,
        "SOULSPOT_SPOTIFY_TOKEN_PATH": str(data_dir / "secrets" / "spotify-token.json"),
        "DEEZER_USER_ID": DEEZER_USER,
        "SOULSPOT_DEEZER_API_URL": servers.deezer.api_url,
        "SOULSPOT_MUSICBRAINZ_URL": f"http://{servers.musicbrainz.host}",
        "SOULSPOT_MUSICBRAINZ_RATE": "50",
        "SOULSPOT_CONTACT": "soulspot-demo@example.invalid",
        "SOULSPOT_COVERART_URL": servers.coverart.url,
        "SOULSPOT_LRCLIB_URL": servers.lrclib.url,
        "SLSKD_URL": servers.slskd.url,
        "SLSKD_API_KEY": SLSKD_API_KEY,
        "SOULSPOT_AUTO_QUEUE_DOWNLOADS": "true",
        # Every run tagged, the UI's sensors' and schedules' too, not only those run_job starts.
        "SOULSPOT_RUN_TAGS": ",".join(f"{key}={value}" for key, value in RUN_TAGS.items()),
    }


def check_offline(settings: Settings) -> None:
    """Refuse to run unless every service the pipeline would call is on this machine."""
    urls = {
        "SOULSPOT_SPOTIFY_API_URL": settings.spotify_api_url,
        "SOULSPOT_SPOTIFY_ACCOUNTS_URL": settings.spotify_accounts_url,
        "SPOTIFY_REDIRECT_URI": settings.spotify_redirect_uri,
        "SOULSPOT_DEEZER_API_URL": settings.deezer_api_url,
        "SOULSPOT_MUSICBRAINZ_URL": settings.musicbrainz_url,
        "SOULSPOT_COVERART_URL": settings.coverart_url,
        "SOULSPOT_LRCLIB_URL": settings.lrclib_url,
        "SLSKD_URL": settings.slskd_url,
    }
    for name, url in urls.items():
        if urlsplit(url or "").hostname != LOCAL_HOST:
            raise DemoError(
                f"refusing to run: {name}={url!r} is not on {LOCAL_HOST}, and the demo never leaves this machine"
            )


# -- the data folder and the Dagster instance -----------------------------------------------


def prepare_data_dir(data_dir: Path) -> None:
    """An empty folder for this demo run; a previous demo's folder is rebuilt, anything else refused."""
    if data_dir.exists() and not data_dir.is_dir():
        raise DemoError(f"{data_dir} is not a folder: choose another --data-dir")
    if data_dir.exists() and any(data_dir.iterdir()):
        if not (data_dir / MARKER).is_file():
            raise DemoError(f"{data_dir} is not empty and was not made by `soulspot demo`: choose another --data-dir")
        shutil.rmtree(data_dir)
    (data_dir / "dagster").mkdir(parents=True, exist_ok=True)
    (data_dir / MARKER).write_text("Made by `soulspot demo`: sample data, deleted and rebuilt by every demo run.\n")
    # The demo's own instance (soulspot writes its dagster.yaml there), so its runs never mix with
    # real ones; its own workspace names the location apart.
    workspace = {
        "load_from": [
            {"python_module": {"module_name": "soulspot_pipeline.definitions", "location_name": LOCATION_NAME}}
        ]
    }
    (data_dir / "dagster" / "workspace.yaml").write_text(json.dumps(workspace, indent=2) + "\n")


def use_environment(values: dict[str, str]) -> None:
    """Replace the user's own soulspot, Dagster and provider settings in this process by the demo's."""
    for key in [k for k in os.environ if k.startswith(USER_PREFIXES)]:
        del os.environ[key]
    os.environ.update(values)


def run_job(job: str, env: dict[str, str], log_path: Path) -> float:
    """One job through ``dagster job execute`` (as ``soulspot refresh`` runs it); its output goes to ``log_path``.

    A Ctrl-C or SIGTERM meanwhile is passed on to it, so that it ends its run itself; then the demo stops.
    """
    started = time.monotonic()
    with log_path.open("w", encoding="utf-8") as log, job_command(job) as command:
        run = run_child(command, env=env, output=log)
    if run.interrupted is not None:
        _interrupted(run.interrupted)
    code = run.returncode
    if code != 0:
        tail = "\n".join(log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-25:])
        raise DemoError(f"the {job} run failed (exit {code}); its log is {log_path}. The end of it:\n{tail}")
    return time.monotonic() - started


# -- what happened, in words ---------------------------------------------------------------------


def say(text: str = "") -> None:
    print(text, flush=True)


def _counts(conn, sql: str) -> dict[str, int]:
    return {str(k): v for k, v in conn.execute(sql).fetchall()}


def _listing(values: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in values.items()) or "none"


def report_refresh(snapshot: Path) -> None:
    conn = connect(snapshot)
    likes = _counts(
        conn,
        """SELECT source, count(*) FROM library.cloud_likes
                             WHERE kind = 'track' AND unliked_at IS NULL GROUP BY 1 ORDER BY 1""",
    )
    say(
        f"   cloud likes:   {likes.get('spotify', 0)} liked tracks from Spotify, {likes.get('deezer', 0)} favorites from Deezer"
    )
    formats = _counts(conn, "SELECT format, count(*) FROM library.local_files WHERE NOT missing GROUP BY 1 ORDER BY 1")
    say(
        f"   local scan:    {sum(formats.values())} audio files read ({', '.join(f'{n} {k}' for k, n in formats.items())})"
    )
    ((artists, albums, tracks, owned),) = conn.execute("""
        SELECT (SELECT count(*) FROM library.artists), (SELECT count(*) FROM library.albums),
               count(*), count(*) FILTER (WHERE ownership_state = 'owned') FROM library.tracks""").fetchall()
    say(
        f"   merge:         one library of {artists} artists, {albums} albums, {tracks} tracks ({owned} owned): files and likes of the same song are one track"
    )
    ((tagged,),) = conn.execute("SELECT count(*) FROM library.local_files WHERE recording_mbid IS NOT NULL").fetchall()
    status = _counts(conn, "SELECT status, count(*) FROM library.identifications GROUP BY 1 ORDER BY 1")
    rules = _counts(
        conn,
        "SELECT rule, count(*) FROM library.identifications WHERE status = 'accepted' GROUP BY 1 ORDER BY 2 DESC, 1",
    )
    say(
        f"   identify:      MusicBrainz ids read from the tags of {tagged} files, and looked up for {status.get('accepted', 0)} "
        f"artists, albums and tracks (rules: {_listing(rules)}); {status.get('none', 0)} without a match, "
        f"{status.get('ambiguous', 0)} kept for review"
    )
    ((enriched,),) = conn.execute(
        "SELECT count(DISTINCT (entity_type, entity_id)) FROM library.entity_metadata WHERE source = 'musicbrainz'"
    ).fetchall()
    say(f"   enrich:        genres, dates and types from MusicBrainz for {enriched} entities")
    gaps = conn.execute("""SELECT artist_name, title, release_type, left(first_release_date, 4) FROM library.discography_gaps
                           ORDER BY artist_name, first_release_date""").fetchall()
    ((missing,),) = conn.execute("SELECT count(*) FROM library.missing_tracks").fetchall()
    say(
        f"   discography:   {len(gaps)} releases your artists made that you lack, and {missing} missing tracks of albums you own:"
    )
    for artist, title, kind, year in gaps:
        say(f"                    {artist}: {title} ({kind}, {year})")
    stored = conn.execute("""SELECT CASE entity_type WHEN 'album' THEN 'album covers' ELSE 'artist pictures' END,
                                    count(*), string_agg(DISTINCT source, ' and ' ORDER BY source)
                             FROM library.images WHERE status = 'stored' GROUP BY 1 ORDER BY 1""").fetchall()
    ((unavailable,),) = conn.execute("SELECT count(*) FROM library.images WHERE status <> 'stored'").fetchall()
    say(
        f"   images:        {', '.join(f'{n} {what} (from {sources})' for what, n, sources in stored)} stored, "
        f"{unavailable} found nowhere; the cover wall drawn from the covers"
    )
    lyrics = _counts(conn, "SELECT status, count(*) FROM library.lyrics GROUP BY 1 ORDER BY 2 DESC, 1")
    say(f"   lyrics:        from LRCLIB for the tracks on disk: {_listing(lyrics)} (the texts: library.lyrics)")
    chosen = conn.execute("""
        SELECT t.title, c.username, c.filename, c.reason FROM library.downloads d JOIN library.tracks t USING (track_id)
        JOIN library.download_candidates c ON c.track_id = d.track_id AND c.chosen ORDER BY t.title""").fetchall()
    refused = _counts(
        conn, "SELECT decided_by, count(*) FROM library.download_candidates WHERE NOT accepted GROUP BY 1 ORDER BY 1"
    )
    say(f"   downloads:     {len(chosen)} liked tracks without a file searched on Soulseek and handed to slskd:")
    for title, username, filename, reason in chosen:
        say(f"                    {title}: {filename.split(chr(92))[-1]} from {username} ({reason})")
    say(
        f"                  turned down, by rule: {_listing(refused)} (every candidate and why: library.download_candidates)"
    )
    conn.close()


def follow_state(snapshot: Path) -> tuple[int, str]:
    """How many downloads are still moving, and a line about all of them."""
    conn = connect(snapshot)
    rows = conn.execute(
        "SELECT state, count(*), round(avg(percent_complete)) FROM library.downloads GROUP BY 1 ORDER BY 1"
    ).fetchall()
    conn.close()
    parts = [
        f"{n} {state}" + (f" ({percent:.0f}% on average)" if state == "downloading" else "")
        for state, n, percent in rows
    ]
    return sum(n for state, n, _ in rows if state == "downloading"), ", ".join(parts)


def report_summary(snapshot: Path, settings: Settings) -> None:
    conn = connect(snapshot)
    ((owned, on_disk),) = conn.execute("""SELECT count(*) FILTER (WHERE ownership_state = 'owned'),
                                                 count(*) FILTER (WHERE download_state = 'downloaded') FROM library.tracks""").fetchall()
    ((gaps,),) = conn.execute("SELECT count(*) FROM library.discography_gaps").fetchall()
    ((stored,),) = conn.execute("SELECT count(*) FROM library.images WHERE status = 'stored'").fetchall()
    imported = conn.execute("""SELECT t.title, d.local_path FROM library.downloads d JOIN library.tracks t USING (track_id)
                               WHERE d.state = 'downloaded' ORDER BY t.title""").fetchall()
    conn.close()
    say("DEMO summary")
    say(f"   tracks owned:        {owned}, of them {on_disk} on disk")
    say(f"   discography gaps:    {gaps}")
    say(f"   images stored:       {stored} (cover wall: {settings.images_dir / 'cover_wall.png'})")
    say(f"   downloads imported:  {len(imported)}")
    for title, path in imported:
        say(f"                        {title}: {path}")
    say(
        f"   the library:         SOULSPOT_DATA_DIR={settings.data_dir} {sys.executable} -c "
        "\"from soulspot_pipeline import connect; print(connect().sql('FROM library.tracks'))\""
    )


# -- the demo -----------------------------------------------------------------------------------


def run_demo(data_dir: Path, *, ui: bool, host: str, port: int) -> int:
    previous = {signum: signal.signal(signum, _interrupted) for signum in STOP_SIGNALS}
    try:
        return _demo(data_dir, ui=ui, host=host, port=port)
    except Interrupted:  # raised wherever the demo was; the stand-ins have stopped on the way out
        say("\nDEMO interrupted; stand-ins stopped")
        return 130
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _demo(data_dir: Path, *, ui: bool, host: str, port: int) -> int:
    say(BANNER)
    data_dir = data_dir.expanduser().resolve()
    try:
        prepare_data_dir(data_dir)
    except DemoError as exc:
        say(f"DEMO not started: {exc}")
        return 2
    say(f"   demo data folder:   {data_dir}  (database, Dagster runs, images, logs; rebuilt on every demo run)")
    with ExitStack() as stack:
        try:
            return _run(stack, data_dir, ui=ui, host=host, port=port)
        except DemoError as exc:
            say(f"DEMO failed: {exc}")
            return 1


def _run(stack: ExitStack, data_dir: Path, *, ui: bool, host: str, port: int) -> int:
    catalog, placed = build_catalog()
    music_dir = data_dir / "music"
    files = write_music_folder(music_dir, placed)
    artists = sorted({p.artist.name for p in placed if p.track.file_format})
    say(
        f"1. sample music folder {music_dir}: {len(files)} tagged audio files (FLAC, MP3, Ogg Vorbis) by {', '.join(artists)}"
    )
    say("   Paper Harbor files carry MusicBrainz ids, Neon Garden only ISRCs, the rest just names.")

    servers = start_standins(stack, placed, catalog, data_dir)
    say(
        f"2. stand-ins answering on {LOCAL_HOST}: Spotify {servers.spotify.url}, Deezer {servers.deezer.url}, "
        f"MusicBrainz {servers.musicbrainz.url}, Cover Art Archive {servers.coverart.url}, slskd {servers.slskd.url}, "
        f"LRCLIB {servers.lrclib.url}"
    )
    use_environment(demo_environment(data_dir, servers))
    settings = Settings.from_env()
    check_offline(settings)
    TokenFile(settings.spotify_token_path).save_token_to_cache(
        {**servers.spotify.issue_tokens(" ".join(SCOPES)), "expires_at": int(time.time()) + 3600}
    )
    say(f"   a Spotify login for the stand-in is stored in {settings.spotify_token_path} (no browser needed)")
    env = cli.instance_env(settings)
    logs = data_dir / "demo-logs"
    logs.mkdir()
    snapshot = settings.snapshot_path

    say(
        "3. library_refresh: every phase (likes, scan, merge, identify, enrich, discography, images, lyrics, downloads) ..."
    )
    seconds = run_job("library_refresh", env, logs / "1-library_refresh.log")
    say(f"   done in {seconds:.0f} s")
    report_refresh(snapshot)

    say(
        "4. follow_downloads: slskd moves the transfers a step each time it is asked; finished files are verified, tagged and moved in"
    )
    for n in range(1, MAX_FOLLOW_RUNS + 1):
        seconds = run_job("follow_downloads", env, logs / f"{n + 1}-follow_downloads.log")
        moving, line = follow_state(snapshot)
        say(f"   run {n} ({seconds:.0f} s): {line}")
        if not moving:
            break

    say("5. music_folder_scan: the music folder read again, so the library counts the new files ...")
    seconds = run_job("music_folder_scan", env, logs / f"{n + 2}-music_folder_scan.log")
    say(f"   done in {seconds:.0f} s")
    say()
    report_summary(snapshot, settings)
    say(f"   run logs:            {logs}")
    if not ui:
        return 0
    say()
    say(
        f"6. DEMO UI at http://{host}:{port} (runs tagged soulspot/mode=DEMO, location {LOCATION_NAME}); "
        "the stand-ins keep answering. Ctrl-C stops the UI and the demo."
    )
    code = cli.ui(settings, host, port)  # Ctrl-C is passed on to the UI, which shuts down; then the stand-ins stop
    say("DEMO stopped: UI and stand-ins shut down")
    return code
