"""A noisy album catalogue for identifying whole albums: a MusicBrainz stand-in catalogue and
the local files of one edition of each album, with the truth to score an identification by.

Per album the catalogue holds an original release and, for some, a remaster (the same
recordings, each track a few seconds longer or shorter: MusicBrainz keeps one recording per
performance) and a deluxe edition (the same recordings plus bonus tracks), and for some a
same-titled album by another artist (a decoy). The local files are those of one of these
editions: ``Artist/Album/NN Title.wav`` with the artist, album artist, album, title, track and
disc tags, some titles misspelled or with "(Remastered)" appended, and durations those of the
edition's tracks give or take a little, as rips differ.

The audio is silence: PCM WAV at 1 kHz, 8-bit mono, so a file of any length to the millisecond
costs a few milliseconds to write (the scan reads the length from the stream, and a compressed
format would take an encode per distinct length).

``kind`` picks what the files say beyond that: ``albums`` nothing more; ``loose`` no album,
album artist, track or disc tags, every file in one folder; ``isrc`` the recording's ISRC (every
recording in the catalogue has one); ``mbid`` the tags MusicBrainz Picard writes (recording,
release, release group and artist MBIDs, and the ISRC).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from soulspot_pipeline.devkit.standins.musicbrainz import MbArtist, MbCatalog, MbRecording, MbRelease
from soulspot_pipeline.devkit.synth import write_audio_file

KINDS = ("albums", "loose", "isrc", "mbid")
EDITIONS = ("original", "remaster", "deluxe")
SAMPLE_RATE = 1000  # Hz: the lowest cost per second of audio at millisecond precision

_ADJECTIVES = (
    "Midnight", "Golden", "Silent", "Electric", "Broken", "Velvet", "Paper", "Northern", "Crimson", "Hollow",
    "Distant", "Neon", "Wild", "Quiet", "Burning", "Frozen", "Lonely", "Secret", "Endless", "Bright", "Sunken",
    "Restless", "Amber", "Glass", "Silver", "Hidden", "Falling", "Sleeping",
)  # fmt: skip
_NOUNS = (
    "Harbor", "Lanterns", "Highway", "Garden", "River", "Echoes", "Satellites", "Mirror", "Summer", "Horizon",
    "Streets", "Waves", "Cathedral", "Parade", "Café", "Orchard", "Signals", "Fever", "Canyon", "Rooftops",
    "Tides", "Embers", "Atlas", "Meadow", "Letters", "Engines", "Islands", "Shadows",
)  # fmt: skip
_FIRST = ("Ada", "Björn", "Chloé", "Dario", "Elena", "Farid", "Greta", "Hiro", "Inès", "Jonas", "Kofi", "Lena", "Mats")
_LAST = ("Varga", "Okafor", "Lindqvist", "Moreau", "Santos", "Tanaka", "Novak", "Reyes", "Haddad", "Berg", "Quinn")
_REGISTRANT = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@dataclass(frozen=True)
class FileTruth:
    """What a local file is: its recording and the release (edition) it was ripped from."""

    recording_mbid: str
    release_mbid: str
    album: int  # index into AlbumWorld.albums


@dataclass
class AlbumTruth:
    artist: str
    title: str
    edition: str  # which of EDITIONS the local files are
    release_mbid: str  # that edition's release
    releases: dict[str, str]  # edition -> release mbid, for every edition the catalogue has
    decoy_release_mbid: str | None  # the same-titled album by another artist, if any
    files: list[Path] = field(default_factory=list)


@dataclass
class AlbumWorld:
    catalog: MbCatalog
    root: Path
    kind: str
    albums: list[AlbumTruth]
    files: dict[str, FileTruth]  # by resolved path

    @property
    def tracks(self) -> int:
        return len(self.files)

    def editions(self) -> dict[str, int]:
        """How many albums' files are of each edition."""
        return {e: sum(1 for a in self.albums if a.edition == e) for e in EDITIONS}


@dataclass(frozen=True)
class Score:
    files: int  # files the truth knows
    found: int  # of those, files the library has a track for
    right_recording: int
    wrong_recording: int  # a recording, not the right one
    right_release: int  # the file's album has the right release
    wrong_release: int


def build_album_catalog(
    root: Path, albums: int = 100, tracks_per_album: int = 10, *, seed: int = 0, kind: str = "albums"
) -> AlbumWorld:
    """``albums`` albums of about ``tracks_per_album`` tracks in a fresh ``MbCatalog``, and the
    files of one edition of each under ``root``; deterministic for a seed."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    rng = random.Random(seed)
    catalog = MbCatalog()
    root = Path(root)
    world = AlbumWorld(catalog, root, kind, [], {})
    names = _names(rng, albums // 2 + 1 + albums)  # an artist per two albums, and one per decoy at most
    artists: list[MbArtist] = []
    isrcs = _IsrcCounter()
    titles_used: set[tuple[str, str]] = set()
    for index in range(albums):
        if index // 2 >= len(artists):  # two albums per artist
            artists.append(catalog.add_artist(names.pop(), type=rng.choice(("Group", "Person"))))
        artist = artists[index // 2]
        title = _album_title(rng)
        while (artist.name, title) in titles_used:
            title = _album_title(rng)
        titles_used.add((artist.name, title))
        year = rng.randrange(1970, 2012)
        count = max(1, tracks_per_album + rng.choice((-2, -1, 0, 0, 0, 1, 2)))
        group = catalog.add_release_group(title, artist, first_release_date=_date(rng, year))
        original = catalog.add_release(group, country=rng.choice(("GB", "US", "DE", "SE", "FR", "JP")))
        songs = _songs(rng, count)
        recordings = [
            catalog.add_recording(
                song, artist, length_ms=rng.randrange(150_000, 360_001), isrcs=[isrcs.next(index)], releases=[original]
            )
            for song in songs
        ]
        releases = {"original": original}
        if rng.random() < 0.4:
            # A remaster of the same recordings: every track a few seconds longer or shorter.
            releases["remaster"] = catalog.add_release(
                group,
                title=f"{title} (Remastered)",
                date=_date(rng, min(year + rng.randrange(10, 30), 2024)),
                country="XW",
                media=[[r.mbid for r in recordings]],
                track_lengths={
                    r.mbid: _length(r) + rng.choice((-1, 1)) * rng.randrange(2000, 6001) for r in recordings
                },
            )
        if rng.random() < 0.35:
            deluxe = catalog.add_release(
                group,
                title=f"{title} (Deluxe Edition)",
                date=_date(rng, min(year + rng.randrange(1, 20), 2024)),
                country="XE",
                media=[[r.mbid for r in recordings]],
            )
            bonus = [f"{song} (Demo)" for song in rng.sample(songs, min(2, len(songs)))] + ["Untitled Bonus Track"]
            for song in bonus[: rng.randrange(2, 4)]:
                catalog.add_recording(
                    song,
                    artist,
                    length_ms=rng.randrange(120_000, 300_001),
                    isrcs=[isrcs.next(index)],
                    releases=[deluxe],
                )
            releases["deluxe"] = deluxe
        decoy_mbid = None
        if rng.random() < 0.3:
            # The same title by someone else, with as many tracks: only the artist and the songs tell.
            other = catalog.add_artist(names.pop(), type="Group")
            decoy_group = catalog.add_release_group(title, other, first_release_date=_date(rng, year))
            decoy = catalog.add_release(decoy_group, country="US")
            others = _songs(rng, count)
            if rng.random() < 0.5:
                others[0] = songs[0]  # a shared song title makes a per-track search ambiguous
            for song in others:
                catalog.add_recording(
                    song, other, length_ms=rng.randrange(150_000, 360_001), isrcs=[isrcs.next(10_000 + index)],
                    releases=[decoy],
                )  # fmt: skip
            decoy_mbid = decoy.mbid
        edition = rng.choice(list(releases))
        album = AlbumTruth(
            artist.name,
            title,
            edition,
            releases[edition].mbid,
            {e: r.mbid for e, r in releases.items()},
            decoy_mbid,
        )
        world.albums.append(album)
        _write_album(world, index, album, releases[edition], rng)
    return world


def _write_album(world: AlbumWorld, index: int, album: AlbumTruth, release: MbRelease, rng: random.Random) -> None:
    catalog, kind = world.catalog, world.kind
    tracks = [catalog.recordings[m] for m in release.media[0]]
    album_tag = album.title
    if album.edition == "remaster" and rng.random() < 0.5:
        album_tag = release.title  # tagged from the remaster's own title
    folder = world.root / "Loose" if kind == "loose" else world.root / _safe(album.artist) / _safe(album_tag)
    folder.mkdir(parents=True, exist_ok=True)
    year = (release.date or "")[:4]
    for number, recording in enumerate(tracks, start=1):
        title = recording.title
        roll = rng.random()
        if roll < 0.1:
            title = _misspell(rng, title)
        elif roll < 0.2 and album.edition == "remaster":
            title = f"{title} (Remastered)"
        dated = rng.random() < 0.5  # drawn for every kind, so that every kind has the same albums
        tags: dict[str, str | int | None] = {"artist": album.artist, "title": title}
        if kind != "loose":
            tags |= {
                "albumartist": album.artist,
                "album": album_tag,
                "track_number": number,
                "track_total": len(tracks),
                "disc_number": 1,
                "disc_total": 1,
                "date": year if dated else None,
            }
        if kind in ("isrc", "mbid"):
            tags["isrc"] = recording.isrcs[0]
        if kind == "mbid":
            tags |= {
                "recording_mbid": recording.mbid,
                "release_mbid": release.mbid,
                "release_group_mbid": release.release_group.mbid,
                "artist_mbid": recording.artist.mbid,
            }
        length_ms = (release.track_length(recording) or 200_000) + rng.randrange(-400, 401)
        name = f"{_safe(album.artist)} - {_safe(title)}" if kind == "loose" else f"{number:02d} {_safe(title)}"
        path = folder / f"{name}.wav"
        if path.exists():  # two loose files of the same name: keep both
            path = folder / f"{name} ({index}-{number}).wav"
        write_audio_file(
            path, "wav", tags, seconds=length_ms / 1000, sample_rate=SAMPLE_RATE, channels=1, bits_per_sample=8
        )
        album.files.append(path)
        world.files[str(path.resolve())] = FileTruth(recording.mbid, release.mbid, index)


def score_identification(world: AlbumWorld, conn: duckdb.DuckDBPyConnection) -> Score:
    """How many of the world's files the library gives the right recording and the right release
    (the release of the album the file's track is on)."""
    rows = conn.execute(
        """
        SELECT f.path, t.recording_mbid, al.release_mbid
        FROM library.track_files f JOIN library.tracks t USING (track_id)
        LEFT JOIN library.albums al ON al.album_id = t.album_id
        """
    ).fetchall()
    found = right_rec = wrong_rec = right_rel = wrong_rel = 0
    for path, recording, release in rows:
        truth = world.files.get(str(Path(path).resolve()))
        if truth is None:
            continue
        found += 1
        right_rec += recording == truth.recording_mbid
        wrong_rec += recording is not None and recording != truth.recording_mbid
        right_rel += release == truth.release_mbid
        wrong_rel += release is not None and release != truth.release_mbid
    return Score(len(world.files), found, right_rec, wrong_rec, right_rel, wrong_rel)


# -- names and noise ------------------------------------------------------------------


class _IsrcCounter:
    def __init__(self) -> None:
        self.count = 0

    def next(self, owner: int) -> str:
        self.count += 1
        n = owner % 36**3
        registrant = _REGISTRANT[n // 1296] + _REGISTRANT[n // 36 % 36] + _REGISTRANT[n % 36]
        return f"GB{registrant}{self.count // 100_000 % 100:02d}{self.count % 100_000:05d}"


def _names(rng: random.Random, count: int) -> list[str]:
    pool = [f"{f} {last}" for f in _FIRST for last in _LAST]
    pool += [f"{a} {n}" for a in _ADJECTIVES for n in _NOUNS] + [f"The {a} {n}" for a in _ADJECTIVES for n in _NOUNS]
    names = rng.sample(pool, min(count, len(pool)))
    names += [f"Artist {n}" for n in range(count - len(names))]
    return names


def _album_title(rng: random.Random) -> str:
    pattern = rng.randrange(3)
    if pattern == 0:
        return f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
    if pattern == 1:
        return f"The {rng.choice(_NOUNS)}"
    return f"{rng.choice(_NOUNS)} of {rng.choice(_NOUNS)}"


def _songs(rng: random.Random, count: int) -> list[str]:
    songs: list[str] = []
    while len(songs) < count:
        pattern = rng.randrange(4)
        if pattern == 0:
            song = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
        elif pattern == 1:
            song = f"The {rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
        elif pattern == 2:
            song = f"{rng.choice(_NOUNS)} in the {rng.choice(_NOUNS)}"
        else:
            song = f"{rng.choice(_ADJECTIVES)}"
        if song not in songs:
            songs.append(song)
    return songs


def _misspell(rng: random.Random, title: str) -> str:
    """A typo: two neighbouring letters swapped, or one dropped."""
    letters = [i for i, c in enumerate(title[:-1]) if c.isalpha() and title[i + 1].isalpha()]
    if not letters:
        return title
    i = rng.choice(letters)
    if rng.random() < 0.5:
        return title[:i] + title[i + 1] + title[i] + title[i + 2 :]
    return title[:i] + title[i + 1 :]


def _date(rng: random.Random, year: int) -> str:
    return f"{year}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"


def _length(recording: MbRecording) -> int:
    return recording.length_ms or 200_000


def _safe(name: str) -> str:
    return "".join("_" if c in '/\\:*?"<>|' else c for c in name).strip() or "_"
