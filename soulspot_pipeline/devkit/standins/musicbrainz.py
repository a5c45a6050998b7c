"""A local stand-in for the MusicBrainz web service (ws/2) in its real XML format.

It answers what ``musicbrainzngs`` asks for: searches of recordings, artists, releases
(by title, artist, track count, date) and release groups (a small Lucene subset:
``isrc:(A OR B)``, ``field:"phrase"``, ``field:(words)``, ``dur:[a TO b]``, ``tracks:[a TO b]``,
bare words, ``AND``/``OR``/``NOT``; every clause scores, none excludes but ids), lookups of
artists, release groups, releases and recordings with their ``inc`` parameters, and the
browse of an artist's release groups. Answers are mmd-2.0 XML with ``ext:score`` like the
real server's, errors are the real ``<error><text>`` bodies, a request without a
User-Agent is refused (403) and requests above the rate of one per ``min_interval_s`` get the
real rate-limit 503 (on average, as MusicBrainz counts: a request may arrive up to half an
interval early as long as the average holds, never two at once); with ``credentials`` it plays a mirror behind a proxy that wants a
login, and answers 401 to requests without it. Releases carry what real ones do: pregap
(hidden) tracks, data tracks, and track titles and lengths that differ from their recordings'. The data
is a plain ``MbCatalog`` from ``generate_catalog`` (synthetic, any size) or
``catalog_from_recordings`` (the musicbrainzngs test recordings).
"""

from __future__ import annotations

import base64
import random
import re
import threading
import time
import unicodedata
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from soulspot_pipeline.devkit.standins.server import Response, StandinServer

MMD_NS = "http://musicbrainz.org/ns/mmd-2.0#"
EXT_NS = "http://musicbrainz.org/ns/ext#-2.0"
XML_CONTENT_TYPE = "application/xml; charset=UTF-8"
RATE_LIMIT_TEXT = (
    "Your requests are exceeding the allowable rate limit. "
    "Please see http://wiki.musicbrainz.org/XMLWebService for more information."
)
# What a proxy (nginx) in front of a mirror answers a request without its login.
PROXY_LOGIN_PAGE = (
    "<html>\r\n<head><title>401 Authorization Required</title></head>\r\n<body>\r\n"
    "<center><h1>401 Authorization Required</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
# MusicBrainz's special-purpose artist, credited where a recording names nobody.
UNKNOWN_ARTIST_MBID = "125ec42a-7229-4250-afc5-e057484327fe"
PRIMARY_TYPES = ("Album", "Single", "EP", "Broadcast", "Other")
_NS = uuid.uuid5(uuid.NAMESPACE_URL, "https://soulspot.invalid/standins/musicbrainz")
_MBID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_HEAD = f'<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns="{MMD_NS}" xmlns:ext="{EXT_NS}">'
_ENTITIES = ("artist", "recording", "release", "release-group")
DEFAULT_LIMIT = 25
MAX_LIMIT = 100


def _id(*parts: object) -> str:
    return str(uuid.uuid5(_NS, "\x00".join(map(str, parts))))


# -- catalog ----------------------------------------------------------------------


@dataclass
class MbArtist:
    mbid: str
    name: str
    sort_name: str | None = None
    disambiguation: str | None = None
    type: str | None = "Group"
    country: str | None = None
    tags: list[tuple[str, int]] = field(default_factory=list)
    genres: list[tuple[str, int]] = field(default_factory=list)
    begin: str | None = None


@dataclass
class MbReleaseGroup:
    mbid: str
    title: str
    artist: MbArtist
    primary_type: str | None = "Album"
    secondary_types: list[str] = field(default_factory=list)
    first_release_date: str | None = None
    tags: list[tuple[str, int]] = field(default_factory=list)
    genres: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class MbRelease:
    mbid: str
    title: str
    release_group: MbReleaseGroup
    date: str | None = None
    country: str | None = None
    status: str = "Official"
    media: list[list[str]] = field(default_factory=list)  # per medium, the recording mbids in track order
    # Per medium index, the recording of its pregap (hidden track before track 1, position 0).
    pregaps: dict[int, str] = field(default_factory=dict)
    # Per medium index, the recordings of its data tracks (numbered after the audio tracks).
    data_tracks: dict[int, list[str]] = field(default_factory=dict)
    # Per recording mbid, the title this release prints for it when it differs from the recording's.
    track_titles: dict[str, str] = field(default_factory=dict)
    # Per recording mbid, the length of its track here when it differs from the recording's
    # (a remaster of the same recordings: each track a few seconds longer or shorter).
    track_lengths: dict[str, int] = field(default_factory=dict)

    def track_length(self, recording: MbRecording) -> int | None:
        return self.track_lengths.get(recording.mbid, recording.length_ms)

    def recordings(self) -> list[str]:
        """Every recording on the release: pregaps, tracks and data tracks."""
        found = [*self.pregaps.values(), *(m for medium in self.media for m in medium)]
        return found + [m for tracks in self.data_tracks.values() for m in tracks]


@dataclass
class MbRecording:
    mbid: str
    title: str
    artist: MbArtist
    length_ms: int | None
    isrcs: list[str] = field(default_factory=list)
    releases: list[str] = field(default_factory=list)  # release mbids


@dataclass
class MbCatalog:
    """What the stand-in serves. After editing objects in place, call ``MusicBrainzStandin.reindex``."""

    artists: dict[str, MbArtist] = field(default_factory=dict)
    release_groups: dict[str, MbReleaseGroup] = field(default_factory=dict)
    releases: dict[str, MbRelease] = field(default_factory=dict)
    recordings: dict[str, MbRecording] = field(default_factory=dict)

    def add_artist(
        self,
        name: str,
        *,
        mbid: str | None = None,
        sort_name: str | None = None,
        disambiguation: str | None = None,
        type: str | None = "Group",
        country: str | None = None,
        tags: Iterable[tuple[str, int]] = (),
        genres: Iterable[tuple[str, int]] = (),
        begin: str | None = None,
    ) -> MbArtist:
        mbid = mbid or _id("artist", len(self.artists), name, disambiguation)
        artist = MbArtist(mbid, name, sort_name or name, disambiguation, type, country, list(tags), list(genres), begin)
        self.artists[mbid] = artist
        return artist

    def add_release_group(
        self,
        title: str,
        artist: MbArtist,
        *,
        mbid: str | None = None,
        primary_type: str | None = "Album",
        secondary_types: Iterable[str] = (),
        first_release_date: str | None = None,
        tags: Iterable[tuple[str, int]] = (),
        genres: Iterable[tuple[str, int]] = (),
    ) -> MbReleaseGroup:
        mbid = mbid or _id("release-group", len(self.release_groups), title, artist.mbid)
        group = MbReleaseGroup(
            mbid, title, artist, primary_type, list(secondary_types), first_release_date, list(tags), list(genres)
        )
        self.release_groups[mbid] = group
        return group

    def add_release(
        self,
        release_group: MbReleaseGroup,
        *,
        title: str | None = None,
        mbid: str | None = None,
        date: str | None = None,
        country: str | None = None,
        status: str = "Official",
        media: Iterable[Iterable[str]] = (),
        pregaps: dict[int, str] | None = None,
        data_tracks: dict[int, list[str]] | None = None,
        track_titles: dict[str, str] | None = None,
        track_lengths: dict[str, int] | None = None,
    ) -> MbRelease:
        """A release of the group (title and date default to the group's). ``pregaps`` and
        ``data_tracks`` are keyed by medium index; ``track_titles`` and ``track_lengths`` by
        recording mbid."""
        title = title if title is not None else release_group.title
        mbid = mbid or _id("release", len(self.releases), title, release_group.mbid)
        release = MbRelease(
            mbid,
            title,
            release_group,
            date if date is not None else release_group.first_release_date,
            country,
            status,
            [list(m) for m in media],
            dict(pregaps or {}),
            {m: list(tracks) for m, tracks in (data_tracks or {}).items()},
            dict(track_titles or {}),
            dict(track_lengths or {}),
        )
        while len(release.media) <= max([*release.pregaps, *release.data_tracks], default=-1):
            release.media.append([])
        self.releases[mbid] = release
        for recording_mbid in release.recordings():
            recording = self.recordings.get(recording_mbid)
            if recording is not None and mbid not in recording.releases:
                recording.releases.append(mbid)
        return release

    def add_recording(
        self,
        title: str,
        artist: MbArtist,
        *,
        mbid: str | None = None,
        length_ms: int | None = None,
        isrcs: Iterable[str] = (),
        releases: Iterable[MbRelease | str] = (),
        kind: str = "track",
        track_title: str | None = None,
    ) -> MbRecording:
        """A recording, appended to the last medium of each of ``releases``: as its next track,
        or (``kind``) as its pregap or its next data track. ``track_title`` is the title those
        releases print for it, when it differs from the recording's."""
        mbid = mbid or _id("recording", len(self.recordings), title, artist.mbid)
        recording = MbRecording(mbid, title, artist, length_ms, list(isrcs), [])
        self.recordings[mbid] = recording
        for ref in releases:
            release = self.releases[ref] if isinstance(ref, str) else ref
            if mbid not in release.recordings():
                if not release.media:
                    release.media.append([])
                last = len(release.media) - 1
                if kind == "pregap":
                    release.pregaps[last] = mbid
                elif kind == "data":
                    release.data_tracks.setdefault(last, []).append(mbid)
                else:
                    release.media[-1].append(mbid)
            if track_title is not None:
                release.track_titles[mbid] = track_title
            if release.mbid not in recording.releases:
                recording.releases.append(release.mbid)
        return recording


# -- synthetic catalogs -------------------------------------------------------------

_ADJECTIVES = (
    "Midnight", "Golden", "Silent", "Electric", "Broken", "Velvet", "Paper", "Northern", "Crimson", "Hollow",
    "Distant", "Neon", "Wild", "Quiet", "Burning", "Frozen", "Lonely", "Secret", "Endless", "Bright", "Sunken",
    "Restless", "Amber", "Glass",
)  # fmt: skip
_NOUNS = (
    "Harbor", "Lanterns", "Highway", "Garden", "River", "Echoes", "Satellites", "Mirror", "Summer", "Horizon",
    "Streets", "Waves", "Cathedral", "Parade", "Café", "Orchard", "Signals", "Fever", "Canyon", "Rooftops",
    "Tides", "Embers", "Atlas", "Meadow",
)  # fmt: skip
_FIRST = ("Ada", "Björn", "Chloé", "Dario", "Elena", "Farid", "Greta", "Hiro", "Inès", "Jonas", "Kofi", "Lena", "Mats")
_LAST = ("Varga", "Okafor", "Lindqvist", "Moreau", "Santos", "Tanaka", "Novak", "Reyes", "Haddad", "Berg", "Quinn")
_CITIES = ("Berlin", "Tokyo", "Glastonbury", "Montreux", "Brixton", "Red Rocks", "Paris", "Oslo")
_COUNTRIES = {
    "GB": "British", "US": "American", "DE": "German", "SE": "Swedish", "FR": "French", "NL": "Dutch",
    "JP": "Japanese", "CA": "Canadian", "NO": "Norwegian", "AU": "Australian",
}  # fmt: skip
_GENRES = (
    "indie pop", "shoegaze", "synth-pop", "jazz", "folk", "techno", "soul", "post-rock", "hip hop", "ambient",
    "alternative rock", "dream pop",
)  # fmt: skip
_REGISTRANT = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _registrant(index: int) -> str:
    # Distinct per artist (46656 of them) so per-artist ISRC counters never collide.
    n = index % 36**3
    return _REGISTRANT[n // 1296] + _REGISTRANT[n // 36 % 36] + _REGISTRANT[n % 36]


def generate_catalog(
    artists: int, *, albums_per_artist: int = 3, tracks_per_album: int = 10, seed: int = 0
) -> MbCatalog:
    """A deterministic synthetic catalog: ``artists`` artists with ``albums_per_artist`` release groups each.

    Release groups cycle through kinds: mostly albums of ``tracks_per_album`` tracks, every
    10th (from the 4th) an EP of up to 5 tracks, every 10th (from the 8th) a single of up to 2,
    and some albums are Live (new recordings of earlier titles) or Compilation (earlier
    recordings again, so those recordings are on two releases). Some albums get a second
    release (a later European reissue with the same recordings). Every new recording has
    one ISRC. Every 10th artist shares its name with an earlier one (other namesakes happen
    by chance); namesakes get a disambiguation.
    """
    rng = random.Random(seed)
    catalog = MbCatalog()
    countries = list(_COUNTRIES)
    group_index = 0
    made: list[MbArtist] = []
    by_name: dict[str, MbArtist | None] = {}
    for i in range(artists):
        country = rng.choice(countries)
        begin_year = rng.randrange(1965, 2016)
        sort_name: str | None  # a namesake's, taken from MbArtist, is optional
        if i % 2:
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            name, sort_name, kind = f"{first} {last}", f"{last}, {first}", "Person"
        else:
            words = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
            name, sort_name, kind = (
                (f"The {words}", f"{words}, The", "Group") if i % 4 == 0 else (words, words, "Group")
            )
        if i % 10 == 7:
            name, sort_name = made[i - 5].name, made[i - 5].sort_name
        disambiguation = None
        namesake = by_name.setdefault(name, None)
        if namesake is not None:
            # Namesakes get told apart, as on MusicBrainz.
            namesake.disambiguation = namesake.disambiguation or _describe(
                namesake.country, namesake.type, namesake.begin
            )
            disambiguation = _describe(country, kind, str(begin_year))
        genres = rng.sample(_GENRES, 2)
        artist = catalog.add_artist(
            name,
            mbid=_id("gen", seed, "artist", i),
            sort_name=sort_name,
            disambiguation=disambiguation,
            type=kind,
            country=country,
            tags=[
                (genres[0], rng.randrange(2, 12)),
                (genres[1], rng.randrange(1, 6)),
                (_COUNTRIES[country].lower(), 1),
            ],
            genres=[(genres[0], rng.randrange(2, 12)), (genres[1], rng.randrange(1, 6))],
            begin=f"{begin_year}-{rng.randrange(1, 13):02d}",
        )
        made.append(artist)
        by_name[name] = by_name[name] or artist
        registrant = _registrant(i)
        isrc_counter = 0
        own: list[MbRecording] = []
        year = min(begin_year + rng.randrange(1, 4), 2025)
        for a in range(albums_per_artist):
            g = group_index
            group_index += 1
            primary, secondary, count = "Album", [], tracks_per_album
            if g % 10 == 3:
                primary, count = "EP", min(tracks_per_album, 5)
            elif g % 10 == 7:
                primary, count = "Single", min(tracks_per_album, 2)
            elif g % 15 == 9:
                secondary = ["Live"]
            elif g % 15 == 12:
                secondary = ["Compilation"]
            count = max(count, 1)
            date = f"{year}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
            reuse = secondary == ["Compilation"] and len(own) >= count
            titles = [_title(rng) for _ in range(count)]
            if secondary == ["Live"] and own:
                earlier = list(dict.fromkeys(r.title for r in own))
                titles = rng.sample(earlier, min(count, len(earlier))) + titles[len(earlier) :]
            if secondary == ["Live"]:
                title = f"Live in {rng.choice(_CITIES)}"
            elif reuse:
                title = rng.choice(("Greatest Hits", f"The Best of {name}", "Anthology", "Singles"))
            elif primary == "Single":
                title = titles[0]
            else:
                title = _title(rng)
            group = catalog.add_release_group(
                title,
                artist,
                mbid=_id("gen", seed, "release-group", g),
                primary_type=primary,
                secondary_types=secondary,
                first_release_date=date,
                tags=[(genres[0], rng.randrange(1, 5))],
                genres=[(genres[0], rng.randrange(1, 5))],
            )
            release = catalog.add_release(
                group,
                mbid=_id("gen", seed, "release", g, 0),
                country=country if a % 3 else "XW",
                media=[[r.mbid for r in rng.sample(own, count)]] if reuse else [],
            )
            if not reuse:
                for n, track_title in enumerate(titles):
                    isrc_counter += 1
                    recording = catalog.add_recording(
                        track_title,
                        artist,
                        mbid=_id("gen", seed, "recording", g, n),
                        length_ms=rng.randrange(120_000, 420_001),
                        isrcs=[f"{country}{registrant}{year % 100:02d}{isrc_counter % 100_000:05d}"],
                        releases=[release],
                    )
                    own.append(recording)
            if primary == "Album" and not secondary and g % 8 == 5 and year + 10 <= 2025:
                catalog.add_release(
                    group,
                    mbid=_id("gen", seed, "release", g, 1),
                    date=f"{year + 10}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
                    country="XE",
                    media=release.media,
                )
            year = min(year + rng.randrange(1, 4), 2025)
    return catalog


def _title(rng: random.Random) -> str:
    pattern = rng.randrange(4)
    if pattern == 0:
        return f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
    if pattern == 1:
        return f"The {rng.choice(_NOUNS)}"
    if pattern == 2:
        return f"{rng.choice(_NOUNS)} of {rng.choice(_NOUNS)}"
    return f"{rng.choice(_ADJECTIVES)}"


def _describe(country: str | None, kind: str | None, begin: str | None) -> str:
    nationality = _COUNTRIES.get(country or "", "")
    role = "singer-songwriter" if kind == "Person" else "band"
    since = f", since {begin[:4]}" if begin else ""
    return f"{nationality} {role}{since}".strip()


# -- catalogs from the musicbrainzngs test recordings -------------------------------


def _types_from_legacy(legacy: str | None) -> tuple[str | None, list[str]]:
    """Primary and secondary types from the old single ``type`` attribute (e.g. ``Compilation``)."""
    if not legacy:
        return None, []
    if legacy in PRIMARY_TYPES:
        return legacy, []
    return "Album", [legacy]


def _legacy_type(primary: str | None, secondary: list[str]) -> str | None:
    # The ``type`` attribute MusicBrainz still sends: the secondary type wins (e.g. Compilation).
    return secondary[0] if secondary else primary


def catalog_from_recordings(folder: Path) -> MbCatalog:
    """The artists, release groups, releases and recordings in the musicbrainzngs test data.

    ``folder`` is ``musicbrainzngs/test/data``. Searches give recordings with their releases
    (track positions of the known tracks; a medium keeps only the tracks present), the
    release-group searches give groups and release titles, release lookups give full track
    lists. Release groups a recording search shows without an id get a derived id; whatever
    names no artist is credited to MusicBrainz's ``[unknown]`` artist.
    """
    folder = Path(folder)
    catalog = MbCatalog()
    q = f"{{{MMD_NS}}}"

    def text(elem: ET.Element | None, tag: str) -> str | None:
        found = elem.find(q + tag) if elem is not None else None
        return found.text if found is not None and found.text is not None else None

    def tags_of(elem: ET.Element) -> list[tuple[str, int]]:
        return [(text(t, "name") or "", int(t.get("count") or 0)) for t in elem.iterfind(f"{q}tag-list/{q}tag")]

    def unknown() -> MbArtist:
        if UNKNOWN_ARTIST_MBID not in catalog.artists:
            catalog.add_artist(
                "[unknown]",
                mbid=UNKNOWN_ARTIST_MBID,
                disambiguation="Special Purpose Artist - Do not add releases here, if possible.",
                type="Other",
            )
        return catalog.artists[UNKNOWN_ARTIST_MBID]

    def credited(elem: ET.Element) -> MbArtist:
        node = elem.find(f"{q}artist-credit/{q}name-credit/{q}artist")
        if node is None:
            return unknown()
        mbid = node.get("id") or ""
        if mbid not in catalog.artists:
            catalog.add_artist(
                text(node, "name") or "",
                mbid=mbid,
                sort_name=text(node, "sort-name"),
                disambiguation=text(node, "disambiguation"),
                type=node.get("type"),
            )
        return catalog.artists[mbid]

    def group_of(elem: ET.Element, fallback_title: str, artist: MbArtist, release_mbid: str) -> MbReleaseGroup:
        mbid = elem.get("id") or _id("derived-release-group", release_mbid)
        primary, secondary = _types_from_legacy(elem.get("type"))
        primary = text(elem, "primary-type") or primary
        secondary = [t.text or "" for t in elem.iterfind(f"{q}secondary-type-list/{q}secondary-type")] or secondary
        group = catalog.release_groups.get(mbid)
        if group is None:
            group = catalog.add_release_group(
                text(elem, "title") or fallback_title,
                artist,
                mbid=mbid,
                primary_type=primary,
                secondary_types=secondary,
            )
        if text(elem, "primary-type"):  # a lookup knows the types better than an old search's type attribute
            group.primary_type, group.secondary_types = primary, secondary
        group.first_release_date = text(elem, "first-release-date") or group.first_release_date
        group.tags = tags_of(elem) or group.tags
        return group

    def parse(path: Path) -> ET.Element | None:
        return ET.parse(path).getroot() if path.is_file() else None

    root = parse(folder / "search-artist.xml")
    for node in root.iterfind(f"{q}artist-list/{q}artist") if root is not None else ():
        catalog.add_artist(
            text(node, "name") or "",
            mbid=node.get("id"),
            sort_name=text(node, "sort-name"),
            disambiguation=text(node, "disambiguation"),
            type=node.get("type"),
            country=text(node, "country"),
            tags=tags_of(node),
            begin=text(node.find(q + "life-span"), "begin"),
        )

    root = parse(folder / "search-release-group.xml")
    for node in root.iterfind(f"{q}release-group-list/{q}release-group") if root is not None else ():
        group = group_of(node, "", credited(node), node.get("id") or "")
        for rel in node.iterfind(f"{q}release-list/{q}release"):
            if rel.get("id") not in catalog.releases:
                catalog.add_release(group, mbid=rel.get("id"), title=text(rel, "title") or group.title)

    for path in sorted((folder / "release-group").glob("*.xml")):
        elem = ET.parse(path).getroot().find(q + "release-group")
        if elem is not None:
            group_of(elem, "", credited(elem) if elem.find(q + "artist-credit") is not None else unknown(), "")

    # Track positions seen in searches: release -> medium position -> {offset: recording}.
    positions: dict[str, dict[int, dict[int, str]]] = {}
    root = parse(folder / "search-recording.xml")
    for node in root.iterfind(f"{q}recording-list/{q}recording") if root is not None else ():
        artist = credited(node)
        length = text(node, "length")
        recording = catalog.recordings.get(node.get("id") or "") or catalog.add_recording(
            text(node, "title") or "",
            artist,
            mbid=node.get("id"),
            length_ms=int(length) if length else None,
            isrcs=[i.get("id") or "" for i in node.iterfind(f"{q}isrc-list/{q}isrc")],
        )
        for rel in node.iterfind(f"{q}release-list/{q}release"):
            rel_mbid = rel.get("id") or ""
            release = catalog.releases.get(rel_mbid)
            if release is None:
                rg = rel.find(q + "release-group")
                group = (
                    group_of(rg, text(rel, "title") or "", artist, rel_mbid)
                    if rg is not None
                    else catalog.add_release_group(
                        text(rel, "title") or "", artist, mbid=_id("derived-release-group", rel_mbid)
                    )
                )
                release = catalog.add_release(group, mbid=rel_mbid, title=text(rel, "title") or "")
            release.status = text(rel, "status") or release.status
            release.date = text(rel, "date") or release.date
            release.country = text(rel, "country") or release.country
            for medium in rel.iterfind(f"{q}medium-list/{q}medium"):
                tracks = medium.find(q + "track-list")
                offset = int(tracks.get("offset") or 0) if tracks is not None else 0
                pos = int(text(medium, "position") or 1)
                positions.setdefault(rel_mbid, {}).setdefault(pos, {})[offset] = recording.mbid
            if rel_mbid not in recording.releases:
                recording.releases.append(rel_mbid)
    for rel_mbid, by_medium in positions.items():
        catalog.releases[rel_mbid].media = [[m[o] for o in sorted(m)] for _, m in sorted(by_medium.items())]

    def recorded(track: ET.Element, release: MbRelease, artist: MbArtist) -> str | None:
        """The recording of a recorded track, added to the catalog; its printed title kept."""
        rec = track.find(q + "recording")
        if rec is None:
            return None
        rec_mbid = rec.get("id") or ""
        if rec_mbid not in catalog.recordings:
            length = text(rec, "length") or text(track, "length")
            catalog.add_recording(
                text(rec, "title") or "",
                credited(rec) if rec.find(q + "artist-credit") is not None else artist,
                mbid=rec_mbid,
                length_ms=int(length) if length else None,
                isrcs=[i.get("id") or "" for i in rec.iterfind(f"{q}isrc-list/{q}isrc")],
            )
        if release.mbid not in catalog.recordings[rec_mbid].releases:
            catalog.recordings[rec_mbid].releases.append(release.mbid)
        printed = text(track, "title")
        if printed is not None:
            release.track_titles[rec_mbid] = printed
        return rec_mbid

    for path in sorted((folder / "release").glob("*.xml")):
        elem = ET.parse(path).getroot().find(q + "release")
        if elem is None:
            continue
        rel_mbid = elem.get("id") or ""
        artist = credited(elem) if elem.find(q + "artist-credit") is not None else unknown()
        rg = elem.find(q + "release-group")
        if rel_mbid in catalog.releases:
            release = catalog.releases[rel_mbid]
        else:
            group = (
                group_of(rg, text(elem, "title") or "", artist, rel_mbid)
                if rg is not None
                else catalog.add_release_group(
                    text(elem, "title") or "", artist, mbid=_id("derived-release-group", rel_mbid), primary_type=None
                )
            )
            release = catalog.add_release(group, mbid=rel_mbid, title=text(elem, "title") or "")
        release.status = text(elem, "status") or release.status
        release.date = text(elem, "date") or release.date
        release.country = text(elem, "country") or release.country
        media: list[list[str]] = []
        pregaps: dict[int, str] = {}
        data_tracks: dict[int, list[str]] = {}

        for m, medium in enumerate(elem.iterfind(f"{q}medium-list/{q}medium")):
            pregap = medium.find(q + "pregap")
            if pregap is not None and (rec_mbid := recorded(pregap, release, artist)):
                pregaps[m] = rec_mbid
            media.append([r for t in medium.iterfind(f"{q}track-list/{q}track") if (r := recorded(t, release, artist))])
            # A data CD lists its tracks under data-track-list only.
            data = [r for t in medium.iterfind(f"{q}data-track-list/{q}track") if (r := recorded(t, release, artist))]
            if data:
                data_tracks[m] = data
        if media:
            release.media, release.pregaps, release.data_tracks = media, pregaps, data_tracks

    for group in catalog.release_groups.values():
        if group.first_release_date is None:
            dates = [r.date for r in catalog.releases.values() if r.release_group is group and r.date]
            group.first_release_date = min(dates) if dates else None
    return catalog


# -- the Lucene subset ----------------------------------------------------------------


@dataclass
class _Clause:
    field: str  # lower-cased; "" is the default field
    values: list[str]
    range: tuple[float, float] | None = None
    negated: bool = False


_FIELD = re.compile(r"([A-Za-z][A-Za-z0-9_-]*):")
_OPERATORS = {"AND", "OR", "NOT", "&&", "||"}
_STOP = set(' \t\r\n()"[]{}')


def _read_word(q: str, i: int) -> tuple[str, int]:
    out = []
    while i < len(q) and q[i] not in _STOP:
        if q[i] == "\\" and i + 1 < len(q):
            out.append(q[i + 1])
            i += 2
            continue
        out.append(q[i])
        i += 1
    return _strip_modifiers("".join(out)), i


def _read_phrase(q: str, i: int) -> tuple[str, int]:
    out = []
    i += 1  # the opening quote
    while i < len(q) and q[i] != '"':
        if q[i] == "\\" and i + 1 < len(q):
            out.append(q[i + 1])
            i += 2
            continue
        out.append(q[i])
        i += 1
    i += 1
    # A proximity or boost suffix after the quote (~3, ^2) changes nothing here.
    m = re.match(r"[~^][0-9.]*", q[i:])
    return "".join(out), i + (m.end() if m else 0)


def _strip_modifiers(word: str) -> str:
    word = re.sub(r"(?<!^)[~^][0-9.]*$", "", word)
    return word.replace("*", "").replace("?", "") if word not in ("*", "?") else word


def _read_group(q: str, i: int) -> tuple[list[str], int]:
    """The words and phrases of ``( ... )`` (nested groups flattened, operators dropped)."""
    values: list[str] = []
    depth = 0
    while i < len(q):
        c = q[i]
        if c in " \t\r\n":
            i += 1
        elif c == "(":
            depth += 1
            i += 1
        elif c == ")":
            depth -= 1
            i += 1
            if depth <= 0:
                break
        elif c == '"':
            phrase, i = _read_phrase(q, i)
            values.append(phrase)
        elif c in "[]{}":
            i += 1
        else:
            word, i = _read_word(q, i)
            if word and word not in _OPERATORS and word not in ("+", "-"):
                values.append(word.lstrip("+-") if len(word) > 1 else word)
    return values, i


def _read_range(q: str, i: int) -> tuple[tuple[float, float] | None, int]:
    close = "]" if q[i] == "[" else "}"
    end = q.find(close, i + 1)
    end = len(q) if end < 0 else end
    body = q[i + 1 : end]
    parts = re.split(r"\s+TO\s+", body.strip())
    bounds: list[float] = []
    for part, unbounded in zip(parts[:2], (float("-inf"), float("inf")), strict=False):
        try:
            bounds.append(unbounded if part.strip() in ("*", "") else float(part))
        except ValueError:
            return None, end + 1
    return (bounds[0], bounds[1]) if len(bounds) == 2 else None, end + 1


def parse_query(query: str) -> list[_Clause]:
    """The clauses of a Lucene query; all bare words and phrases make one default-field clause."""
    clauses: list[_Clause] = []
    default: list[str] = []
    negate = False
    i = 0
    q = query
    while i < len(q):
        c = q[i]
        if c in " \t\r\n()":
            i += 1
            continue
        if c in "+-" and i + 1 < len(q) and q[i + 1] not in " \t\r\n":
            negate = negate or c == "-"
            i += 1
            continue
        m = _FIELD.match(q, i)
        if m:
            name = m.group(1).lower()
            i = m.end()
            clause = _Clause(name, [], negated=negate)
            if i < len(q) and q[i] == '"':
                phrase, i = _read_phrase(q, i)
                clause.values.append(phrase)
            elif i < len(q) and q[i] == "(":
                clause.values, i = _read_group(q, i)
            elif i < len(q) and q[i] in "[{":
                clause.range, i = _read_range(q, i)
            else:
                word, i = _read_word(q, i)
                if word:
                    clause.values.append(word)
            if clause.values or clause.range:
                clauses.append(clause)
            negate = False
            continue
        if c == '"':
            phrase, i = _read_phrase(q, i)
            words = [phrase]
        else:
            word, i = _read_word(q, i)
            if word == "NOT" or word == "!":
                negate = True
                continue
            if not word or word in _OPERATORS:
                continue
            words = [word]
        if negate:
            clauses.append(_Clause("", words, negated=True))
        else:
            default.extend(words)
        negate = False
    if default:
        clauses.append(_Clause("", default))
    return clauses


def normalize(text: str) -> str:
    """Lower case, accents dropped, punctuation as spaces: how titles are compared."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^\w]+|_", " ", stripped).split())


@dataclass(eq=False)
class _Text:
    norm: str
    tokens: frozenset[str]

    @classmethod
    def of(cls, text: str) -> _Text:
        norm = normalize(text)
        return cls(norm, frozenset(norm.split()))


class _Interner(dict[str, _Text]):
    """One shared ``_Text`` per distinct string: normalizing is the slow part of indexing."""

    def __missing__(self, text: str) -> _Text:
        value = self[text] = _Text.of(text)
        return value


# Per entity: search field -> (document field, weight of an exact match).
_TEXT_FIELDS: dict[str, dict[str, tuple[str, int]]] = {
    "recording": {
        "": ("title", 60), "recording": ("title", 60), "recordingaccent": ("title", 60), "alias": ("title", 60),
        "artist": ("artist", 25), "artistname": ("artist", 25), "creditname": ("artist", 25),
        "release": ("release", 10),
    },
    "artist": {
        "": ("name", 70), "artist": ("name", 70), "artistaccent": ("name", 70), "alias": ("name", 70),
        "sortname": ("name", 70), "comment": ("comment", 20),
    },
    "release-group": {
        "": ("title", 60), "releasegroup": ("title", 60), "releasegroupaccent": ("title", 60),
        "release": ("title", 60), "artist": ("artist", 25), "artistname": ("artist", 25),
        "creditname": ("artist", 25),
    },
    # Album titles are short and shared ("Greatest Hits"): the artist weighs more than in a recording search.
    "release": {
        "": ("title", 50), "release": ("title", 50), "releaseaccent": ("title", 50), "alias": ("title", 50),
        "releasegroup": ("group", 50), "artist": ("artist", 40), "artistname": ("artist", 40),
        "creditname": ("artist", 40),
    },
}  # fmt: skip
# Fields that only add to the score of a text match (and match on their own without one).
_ATTR_FIELDS: dict[str, dict[str, tuple[str, int]]] = {
    "recording": {"dur": ("dur", 5), "qdur": ("qdur", 5)},
    "artist": {"country": ("country", 5), "type": ("type", 5)},
    "release-group": {
        "primarytype": ("primarytype", 10),
        "type": ("primarytype", 10),
        "secondarytype": ("secondarytype", 5),
    },
    # The track count weighs like a search server's boost: a release with other tracks (a
    # deluxe edition, a bonus track) still matches, below the one whose count is right.
    "release": {
        "tracks": ("tracks", 10), "tracksmedium": ("tracksmedium", 5), "mediums": ("mediums", 5),
        "date": ("date", 5), "country": ("country", 5), "status": ("status", 5),
        "primarytype": ("primarytype", 5), "type": ("primarytype", 5), "secondarytype": ("secondarytype", 5),
    },
}  # fmt: skip
# Fields that are exact filters (case-insensitive ids and codes).
_FILTER_FIELDS: dict[str, set[str]] = {
    "recording": {"isrc", "rid", "arid", "reid", "rgid"},
    "artist": {"arid"},
    "release-group": {"rgid", "arid", "reid"},
    "release": {"reid", "rgid", "arid"},
}
# Attributes a range (``tracks:[9 TO 12]``, ``date:[2000 TO 2004]``) compares as numbers.
_NUMERIC_ATTRS = {"tracks", "tracksmedium", "mediums", "date"}


@dataclass
class _Doc:
    mbid: str
    text: dict[str, list[_Text]]
    attrs: dict[str, list[str]]  # lower-cased attribute values, e.g. primarytype
    keys: dict[str, set[str]]  # filter field -> upper-cased values
    length_ms: int | None = None


class _Index:
    """Precomputed search documents of one entity type, with postings from tokens to distinct texts."""

    def __init__(self, docs: list[_Doc], *, contained_phrases: bool = False) -> None:
        self.docs = {d.mbid: d for d in docs}
        # Whether a phrase found whole inside a longer text ("Album" in "Album (Remastered)")
        # scores above a mere overlap of words, as a Lucene phrase query does.
        self.contained_phrases = contained_phrases
        # (field, token) -> the distinct texts holding it; (field, text) -> the documents holding that text.
        self.postings: dict[tuple[str, str], set[_Text]] = {}
        self.holders: dict[tuple[str, _Text], list[str]] = {}
        self.keys: dict[tuple[str, str], set[str]] = {}
        for doc in docs:
            for name, texts in doc.text.items():
                for t in set(texts):
                    holders = self.holders.get((name, t))
                    if holders is None:
                        holders = self.holders[(name, t)] = []
                        for token in t.tokens:
                            self.postings.setdefault((name, token), set()).add(t)
                    holders.append(doc.mbid)
            for name, values in doc.keys.items():
                for value in values:
                    self.keys.setdefault((name, value), set()).add(doc.mbid)

    def search(self, entity: str, clauses: list[_Clause]) -> list[tuple[str, int]]:
        """(mbid, score) of the matches, unsorted; an empty list for a query with nothing usable."""
        text_fields, attr_fields, filter_fields = _TEXT_FIELDS[entity], _ATTR_FIELDS[entity], _FILTER_FIELDS[entity]
        texts: list[tuple[str, _Text, int]] = []
        attrs: list[_Clause] = []
        filters: dict[str, set[str]] = {}
        negated: list[_Clause] = []
        for clause in clauses:
            if clause.negated:
                negated.append(clause)
            elif clause.field in filter_fields:
                filters.setdefault(clause.field, set()).update(v.upper() for v in clause.values)
            elif clause.field in text_fields:
                doc_field, weight = text_fields[clause.field]
                query_text = _Text.of(" ".join(clause.values))
                if query_text.tokens:
                    texts.append((doc_field, query_text, weight))
            elif clause.field in attr_fields:
                attrs.append(clause)
        if not (texts or attrs or filters):
            return []

        allowed: set[str] | None = None
        for name, values in filters.items():
            found = set().union(*(self.keys.get((name, v), set()) for v in values))
            allowed = found if allowed is None else allowed & found

        # Text points per document: each distinct matching text is scored once, then credited
        # to the documents holding it (the best value per field counts).
        points: dict[str, float] = {}
        for doc_field, query_text, weight in texts:
            best: dict[str, float] = {}
            matching = set().union(*(self.postings.get((doc_field, tok), set()) for tok in query_text.tokens))
            for text in matching:
                p = self._text_points(text, query_text, weight, self.contained_phrases)
                for mbid in self.holders[(doc_field, text)]:
                    if p > best.get(mbid, 0.0):
                        best[mbid] = p
            for mbid, p in best.items():
                points[mbid] = points.get(mbid, 0.0) + p

        if texts:
            pool: Iterable[str] = points.keys() if allowed is None else [m for m in points if m in allowed]
        else:
            pool = self.docs.keys() if allowed is None else allowed
        total = sum(w for _, _, w in texts) + sum(attr_fields[c.field][1] for c in attrs)
        results = []
        for mbid in pool:
            score = points.get(mbid, 0.0)
            if attrs or negated:
                doc = self.docs[mbid]
                if negated and any(self._excluded(entity, doc, c) for c in negated):
                    continue
                attr_points = sum(self._attr_points(doc, c, attr_fields[c.field]) for c in attrs)
                if not texts and attr_points <= 0 and allowed is None:
                    continue
                score += attr_points
            results.append((mbid, 100 if total == 0 else max(1, min(100, round(100 * score / total)))))
        return results

    @staticmethod
    def _text_points(value: _Text, query: _Text, weight: int, contained: bool = False) -> float:
        if value.norm == query.norm:
            return float(weight)
        if contained and f" {query.norm} " in f" {value.norm} ":
            # Lucene's length norm: the longer the text around the phrase, the lower.
            return weight * (0.5 + 0.4 * len(query.tokens) / max(len(value.tokens), 1))
        overlap = len(value.tokens & query.tokens)
        # A partial match earns up to half the weight, by how much of both texts overlaps.
        return weight / 2 * overlap / max(len(value.tokens), len(query.tokens)) if overlap else 0.0

    @staticmethod
    def _attr_points(doc: _Doc, clause: _Clause, spec: tuple[str, int]) -> float:
        name, weight = spec
        if name in ("dur", "qdur"):
            if doc.length_ms is None:
                return 0.0
            if clause.range is not None:
                low, high = clause.range
            else:
                try:
                    low = high = float(clause.values[0])
                except (IndexError, ValueError):
                    return 0.0
            if name == "qdur":  # quantized duration: milliseconds / 2000
                low, high = low * 2000, high * 2000 + 1999
            return float(weight) if low <= doc.length_ms <= high else 0.0
        if clause.range is not None and name in _NUMERIC_ATTRS:
            low, high = clause.range
            numbers = [_leading_number(v) for v in doc.attrs.get(name, ())]
            return float(weight) if any(n is not None and low <= n <= high for n in numbers) else 0.0
        wanted = {normalize(v) for v in clause.values}
        return float(weight) if wanted & set(doc.attrs.get(name, ())) else 0.0

    @staticmethod
    def _excluded(entity: str, doc: _Doc, clause: _Clause) -> bool:
        if clause.field in _FILTER_FIELDS[entity]:
            return bool({v.upper() for v in clause.values} & doc.keys.get(clause.field, set()))
        spec = _TEXT_FIELDS[entity].get(clause.field) or _ATTR_FIELDS[entity].get(clause.field)
        if spec is None:
            return False
        tokens = _Text.of(" ".join(clause.values)).tokens
        if spec[0] in doc.text:
            return bool(tokens) and any(tokens <= t.tokens for t in doc.text[spec[0]])
        return bool({normalize(v) for v in clause.values} & set(doc.attrs.get(spec[0], ())))


def _leading_number(value: str) -> float | None:
    m = re.match(r"\d+", value)
    return float(m.group()) if m else None


def _date_prefixes(date: str | None) -> list[str]:
    """``2001-02-03`` as the values ``date:`` matches: the year, the month and the day."""
    if not date:
        return []
    parts = date.split("-")
    return [" ".join(parts[: n + 1]) for n in range(len(parts))]


# -- XML --------------------------------------------------------------------------------


def _el(tag: str, value: object) -> str:
    return f"<{tag}>{escape(str(value))}</{tag}>"


def _attrs(**values: object) -> str:
    return "".join(f" {k.replace('_', '-')}={quoteattr(str(v))}" for k, v in values.items() if v is not None)


def _document(body: str) -> str:
    return f"{_HEAD}{body}</metadata>"


def error_document(*texts: str) -> str:
    """The error body of ws/2 (no namespace, like the real one)."""
    return '<?xml version="1.0" encoding="UTF-8"?>\n<error>' + "".join(_el("text", t) for t in texts) + "</error>"


def _artist_xml(artist: MbArtist, *, score: int | None = None, full: bool = False) -> str:
    """An ``<artist>``: as in credits (name, sort name, disambiguation) or ``full`` (type, country, life span)."""
    head = f"<artist{f' ext:score={quoteattr(str(score))}' if score is not None else ''}"
    head += _attrs(type=artist.type if full else None, id=artist.mbid) + ">"
    parts = [head, _el("name", artist.name), _el("sort-name", artist.sort_name or artist.name)]
    if artist.disambiguation:
        parts.append(_el("disambiguation", artist.disambiguation))
    if full:
        if artist.country:
            parts.append(_el("country", artist.country))
        if artist.begin:
            parts.append(f"<life-span>{_el('begin', artist.begin)}</life-span>")
    return "".join(parts)


def _artist_credit(artist: MbArtist) -> str:
    return f"<artist-credit><name-credit>{_artist_xml(artist)}</artist></name-credit></artist-credit>"


def _tags(tags: list[tuple[str, int]]) -> str:
    if not tags:
        return ""
    body = "".join(f"<tag{_attrs(count=count)}>{_el('name', name)}</tag>" for name, count in tags)
    return f'<tag-list count="{len(tags)}">{body}</tag-list>'


def _genres(genres: list[tuple[str, int]]) -> str:
    if not genres:
        return ""
    body = "".join(
        f"<genre{_attrs(count=count, id=_id('genre', normalize(name)))}>{_el('name', name)}</genre>"
        for name, count in genres
    )
    return f'<genre-list count="{len(genres)}">{body}</genre-list>'


def _types_xml(group: MbReleaseGroup) -> str:
    parts = []
    if group.primary_type:
        parts.append(_el("primary-type", group.primary_type))
    if group.secondary_types:
        parts.append(
            "<secondary-type-list>"
            + "".join(_el("secondary-type", t) for t in group.secondary_types)
            + "</secondary-type-list>"
        )
    return "".join(parts)


def _group_open(group: MbReleaseGroup, score: int | None = None) -> str:
    score_attr = f" ext:score={quoteattr(str(score))}" if score is not None else ""
    legacy = _legacy_type(group.primary_type, group.secondary_types)
    return f"<release-group{score_attr}{_attrs(type=legacy, id=group.mbid)}>"


def _group_xml(group: MbReleaseGroup, *, with_title: bool = True, credit: bool = False) -> str:
    parts = [_group_open(group)]
    if with_title:
        parts.append(_el("title", group.title))
        if group.first_release_date:
            parts.append(_el("first-release-date", group.first_release_date))
    parts.append(_types_xml(group))
    if credit:
        parts.append(_artist_credit(group.artist))
    parts.append("</release-group>")
    return "".join(parts)


def _isrcs(isrcs: list[str]) -> str:
    if not isrcs:
        return ""
    return f'<isrc-list count="{len(isrcs)}">' + "".join(f"<isrc{_attrs(id=i)}/>" for i in isrcs) + "</isrc-list>"


def _track_id(release_mbid: str, medium: int, index: int) -> str:
    return _id("track", release_mbid, medium, index)


def _release_head(release: MbRelease, *, lookup: bool) -> str:
    parts = [f"<release{_attrs(id=release.mbid)}>", _el("title", release.title), _el("status", release.status)]
    if lookup:
        parts.append(_el("quality", "normal"))
    return "".join(parts)


def _release_place(release: MbRelease) -> str:
    return (_el("date", release.date) if release.date else "") + (
        _el("country", release.country) if release.country else ""
    )


# -- the server -------------------------------------------------------------------------


def _xml(status: int, body: str) -> Response:
    return Response(status, body, {"Content-Type": XML_CONTENT_TYPE})


def _not_found() -> Response:
    return _xml(404, error_document("Not Found"))


def _bad_request(text: str) -> Response:
    return _xml(400, error_document(text, "For usage, please see: https://musicbrainz.org/development/mmd"))


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


class MusicBrainzStandin(StandinServer):
    """ws/2 over a ``MbCatalog``; ``host`` is what ``musicbrainzngs.set_hostname`` takes."""

    def __init__(
        self, catalog: MbCatalog, *, min_interval_s: float = 0.0, credentials: tuple[str, str] | None = None
    ) -> None:
        super().__init__()
        self.catalog = catalog
        self.min_interval_s = min_interval_s
        # A mirror behind a proxy that wants a login (HTTP Basic): without it, every request gets a 401.
        self.credentials = credentials
        self.refused_logins = 0
        self.rate_violations = 0
        self.score_overrides: dict[str, int] = {}
        self.search_log: list[str] = []
        self._mb_lock = threading.Lock()
        # When the next request is due at the allowed rate (a generic cell rate algorithm).
        self._next_due: float | None = None
        self._indexes: dict[str, _Index] = {}
        self._positions: dict[str, list[tuple[str, int, int]]] = {}
        self._release_groups_by_artist: dict[str, list[MbReleaseGroup]] = {}
        self._releases_by_group: dict[str, list[MbRelease]] = {}
        self._fingerprint: tuple[int, ...] | None = None

    @property
    def host(self) -> str:
        return self.url.removeprefix("http://")

    def reindex(self) -> None:
        """Rebuild the search indexes (done by itself when the catalog's dicts change size)."""
        with self._mb_lock:
            self._fingerprint = None
        self._ensure_index()

    # -- indexes ----------------------------------------------------------------------

    def _catalog_fingerprint(self) -> tuple[int, ...]:
        c = self.catalog
        return (
            id(c), id(c.artists), len(c.artists), id(c.release_groups), len(c.release_groups),
            id(c.releases), len(c.releases), id(c.recordings), len(c.recordings),
        )  # fmt: skip

    def _ensure_index(self) -> None:
        with self._mb_lock:
            fingerprint = self._catalog_fingerprint()
            if fingerprint == self._fingerprint:
                return
            c = self.catalog
            positions: dict[str, list[tuple[str, int, int]]] = {}
            for release in c.releases.values():
                for m, medium in enumerate(release.media):
                    for t, rec in enumerate(medium):
                        positions.setdefault(rec, []).append((release.mbid, m, t))
            by_group: dict[str, list[MbRelease]] = {}
            for release in c.releases.values():
                by_group.setdefault(release.release_group.mbid, []).append(release)
            by_artist: dict[str, list[MbReleaseGroup]] = {}
            for group in c.release_groups.values():
                by_artist.setdefault(group.artist.mbid, []).append(group)

            texts = _Interner()
            recording_docs = []
            for r in c.recordings.values():
                releases = [c.releases[m] for m in r.releases if m in c.releases]
                recording_docs.append(
                    _Doc(
                        r.mbid,
                        {
                            "title": [texts[r.title]],
                            "artist": [texts[r.artist.name], texts[r.artist.sort_name or r.artist.name]],
                            "release": [texts[rel.title] for rel in releases],
                        },
                        {},
                        {
                            "isrc": {i.upper() for i in r.isrcs},
                            "rid": {r.mbid.upper()},
                            "arid": {r.artist.mbid.upper()},
                            "reid": {rel.mbid.upper() for rel in releases},
                            "rgid": {rel.release_group.mbid.upper() for rel in releases},
                        },
                        r.length_ms,
                    )
                )
            artist_docs = [
                _Doc(
                    a.mbid,
                    {
                        "name": [texts[a.name], texts[a.sort_name or a.name]],
                        "comment": [texts[a.disambiguation]] if a.disambiguation else [],
                    },
                    {"country": [normalize(a.country or "")], "type": [normalize(a.type or "")]},
                    {"arid": {a.mbid.upper()}},
                )
                for a in c.artists.values()
            ]
            group_docs = [
                _Doc(
                    g.mbid,
                    {
                        "title": [texts[g.title]] + [texts[r.title] for r in by_group.get(g.mbid, [])],
                        "artist": [texts[g.artist.name], texts[g.artist.sort_name or g.artist.name]],
                    },
                    {
                        "primarytype": [normalize(g.primary_type or "")],
                        "secondarytype": [normalize(t) for t in g.secondary_types],
                    },
                    {
                        "rgid": {g.mbid.upper()},
                        "arid": {g.artist.mbid.upper()},
                        "reid": {r.mbid.upper() for r in by_group.get(g.mbid, [])},
                    },
                )
                for g in c.release_groups.values()
            ]
            release_docs = [
                _Doc(
                    r.mbid,
                    {
                        "title": [texts[r.title]],
                        "group": [texts[r.release_group.title]],
                        "artist": [
                            texts[r.release_group.artist.name],
                            texts[r.release_group.artist.sort_name or r.release_group.artist.name],
                        ],
                    },
                    {
                        "tracks": [str(sum(len(m) for m in r.media))],
                        "tracksmedium": [str(len(m)) for m in r.media],
                        "mediums": [str(len(r.media))],
                        "date": _date_prefixes(r.date),
                        "country": [normalize(r.country or "")],
                        "status": [normalize(r.status)],
                        "primarytype": [normalize(r.release_group.primary_type or "")],
                        "secondarytype": [normalize(t) for t in r.release_group.secondary_types],
                    },
                    {
                        "reid": {r.mbid.upper()},
                        "rgid": {r.release_group.mbid.upper()},
                        "arid": {r.release_group.artist.mbid.upper()},
                    },
                )
                for r in c.releases.values()
            ]
            self._indexes = {
                "recording": _Index(recording_docs),
                "artist": _Index(artist_docs),
                "release-group": _Index(group_docs),
                "release": _Index(release_docs, contained_phrases=True),
            }
            self._positions = positions
            self._releases_by_group = by_group
            self._release_groups_by_artist = by_artist
            self._fingerprint = fingerprint

    # -- dispatch -----------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> Response:
        if self.credentials is not None:
            user, password = self.credentials
            expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            if headers.get("authorization") != expected:
                with self._mb_lock:
                    self.refused_logins += 1
                return Response(
                    401,
                    PROXY_LOGIN_PAGE,
                    {"Content-Type": "text/html", "WWW-Authenticate": 'Basic realm="MusicBrainz mirror"'},
                )
        arrived = time.monotonic()
        with self._mb_lock:
            too_soon = (
                self.min_interval_s > 0
                and self._next_due is not None
                and arrived < self._next_due - self.min_interval_s / 2
            )
            if not too_soon:
                self._next_due = max(arrived, self._next_due or arrived) + self.min_interval_s
            if too_soon:
                self.rate_violations += 1
        if too_soon:
            return _xml(503, error_document(RATE_LIMIT_TEXT))
        if not headers.get("user-agent", "").strip():
            # MusicBrainz blocks clients that do not say who they are.
            return _xml(403, error_document("Anonymous requests are not allowed: please send a meaningful User-Agent."))
        if not path.startswith("/ws/2/"):
            return _not_found()
        parts = path[len("/ws/2/") :].split("/")
        if parts and parts[-1] == "":
            parts.pop()
        if not parts or parts[0] not in _ENTITIES or len(parts) > 2:
            return _not_found()
        if method not in ("GET", "HEAD"):
            return _xml(405, error_document("Method not allowed."))
        if query.get("fmt", "xml") != "xml":
            return _bad_request("This stand-in only speaks XML (no fmt=json).")
        entity = parts[0]
        self._ensure_index()
        inc = set(re.split(r"[\s+]+", query.get("inc", "").strip())) - {""}
        if len(parts) == 2:
            if not _MBID.match(parts[1]):
                return _bad_request("Invalid mbid.")
            return self._lookup(entity, parts[1].lower(), inc)
        if "query" in query:
            return self._search(entity, query)
        if entity == "release-group" and ("artist" in query or "release" in query):
            return self._browse_release_groups(query, inc)
        return _bad_request("Invalid request: give a query, an mbid, or an entity to browse by.")

    # -- search ---------------------------------------------------------------------------

    def _search(self, entity: str, query: dict[str, str]) -> Response:
        raw = query.get("query", "")
        with self._mb_lock:
            self.search_log.append(raw)
        if not raw.strip():
            return _bad_request("Invalid search: the query is empty.")
        limit = min(max(_int(query.get("limit"), DEFAULT_LIMIT), 1), MAX_LIMIT)
        offset = max(_int(query.get("offset"), 0), 0)
        if entity not in self._indexes:
            return _bad_request(f"Searching {entity} is not supported by this stand-in.")
        hits = self._indexes[entity].search(entity, parse_query(raw))
        overrides = self.score_overrides
        hits = [(mbid, overrides.get(mbid, score)) for mbid, score in hits]
        hits.sort(key=lambda h: (-h[1], h[0]))
        page = hits[offset : offset + limit]
        if entity == "recording":
            items = "".join(self._recording_hit(self.catalog.recordings[m], s) for m, s in page)
        elif entity == "artist":
            items = "".join(self._artist_hit(self.catalog.artists[m], s) for m, s in page)
        elif entity == "release":
            items = "".join(self._release_hit(self.catalog.releases[m], s) for m, s in page)
        else:
            items = "".join(self._group_hit(self.catalog.release_groups[m], s) for m, s in page)
        tag = f"{entity}-list"
        return _xml(200, _document(f'<{tag} count="{len(hits)}" offset="{offset}">{items}</{tag}>'))

    def _recording_hit(self, r: MbRecording, score: int) -> str:
        parts = [f"<recording ext:score={quoteattr(str(score))}{_attrs(id=r.mbid)}>", _el("title", r.title)]
        if r.length_ms is not None:
            parts.append(_el("length", r.length_ms))
        parts.append(_artist_credit(r.artist))
        parts.append(_isrcs(r.isrcs))
        releases = [self.catalog.releases[m] for m in r.releases if m in self.catalog.releases]
        if releases:
            parts.append("<release-list>")
            for release in releases:
                parts.append(_release_head(release, lookup=False))
                parts.append(_group_xml(release.release_group, with_title=False))
                parts.append(_release_place(release))
                parts.append(self._media_of(release, r, search=True))
                parts.append("</release>")
            parts.append("</release-list>")
        parts.append("</recording>")
        return "".join(parts)

    def _media_of(self, release: MbRelease, r: MbRecording, *, search: bool) -> str:
        """The medium list of ``release`` showing only the track of ``r``, as searches and ``inc=media`` do."""
        shown = [(m, t) for rel_mbid, m, t in self._positions.get(r.mbid, ()) if rel_mbid == release.mbid]
        if search:
            parts = ["<medium-list>", _el("track-count", sum(len(m) for m in release.media))]
        else:
            parts = [f'<medium-list count="{len(shown)}">']
        for m, t in shown:
            medium = release.media[m]
            parts.append(f"<medium>{_el('position', m + 1)}")
            parts.append(f'<track-list offset="{t}" count="{len(medium)}">')
            parts.append(f"<track{_attrs(id=_track_id(release.mbid, m, t))}>")
            if not search:
                parts.append(_el("position", t + 1))
            parts.append(_el("number", t + 1) + _el("title", release.track_titles.get(r.mbid, r.title)))
            length = release.track_length(r)
            if length is not None:
                parts.append(_el("length", length))
            parts.append("</track></track-list></medium>")
        parts.append("</medium-list>")
        return "".join(parts)

    def _release_hit(self, release: MbRelease, score: int) -> str:
        """A release as the search server gives it: its group with type and title, and per
        medium only the track count (the total in ``track-count``), no tracks."""
        group = release.release_group
        parts = [
            f"<release ext:score={quoteattr(str(score))}{_attrs(id=release.mbid)}>",
            _el("title", release.title),
            _el("status", release.status),
            _artist_credit(group.artist),
            _group_open(group) + _el("title", group.title) + _types_xml(group) + "</release-group>",
            _release_place(release),
            f'<medium-list count="{len(release.media)}">',
            _el("track-count", sum(len(m) for m in release.media)),
        ]
        parts.extend(
            f'<medium>{_el("format", "CD")}<disc-list count="0"/><track-list count="{len(m)}"/></medium>'
            for m in release.media
        )
        parts.append("</medium-list></release>")
        return "".join(parts)

    def _artist_hit(self, a: MbArtist, score: int) -> str:
        return _artist_xml(a, score=score, full=True) + _tags(a.tags) + "</artist>"

    def _group_hit(self, g: MbReleaseGroup, score: int) -> str:
        releases = self._releases_by_group.get(g.mbid, [])
        parts = [_group_open(g, score), _el("title", g.title)]
        if g.first_release_date:
            parts.append(_el("first-release-date", g.first_release_date))
        parts.append(_types_xml(g))
        parts.append(_artist_credit(g.artist))
        parts.append(f'<release-list count="{len(releases)}">')
        parts.extend(f"<release{_attrs(id=r.mbid)}>{_el('title', r.title)}</release>" for r in releases)
        parts.append("</release-list>")
        parts.append(_tags(g.tags))
        parts.append("</release-group>")
        return "".join(parts)

    # -- lookups --------------------------------------------------------------------------

    def _lookup(self, entity: str, mbid: str, inc: set[str]) -> Response:
        c = self.catalog
        if entity == "artist" and mbid in c.artists:
            a = c.artists[mbid]
            body = _artist_xml(a, full=True)
            if "tags" in inc:
                body += _tags(a.tags)
            if "genres" in inc:
                body += _genres(a.genres)
            if "release-groups" in inc:
                groups = self._release_groups_by_artist.get(a.mbid, [])
                body += f'<release-group-list count="{len(groups)}">' + "".join(_group_xml(g) for g in groups)
                body += "</release-group-list>"
            return _xml(200, _document(body + "</artist>"))
        if entity == "release-group" and mbid in c.release_groups:
            return _xml(200, _document(self._group_lookup(c.release_groups[mbid], inc)))
        if entity == "release" and mbid in c.releases:
            return _xml(200, _document(self._release_lookup(c.releases[mbid], inc)))
        if entity == "recording" and mbid in c.recordings:
            return _xml(200, _document(self._recording_lookup(c.recordings[mbid], inc)))
        return _not_found()

    def _group_lookup(self, g: MbReleaseGroup, inc: set[str]) -> str:
        parts = [_group_open(g), _el("title", g.title)]
        if g.first_release_date:
            parts.append(_el("first-release-date", g.first_release_date))
        parts.append(_types_xml(g))
        if inc & {"artist-credits", "artists"}:
            parts.append(_artist_credit(g.artist))
        if "releases" in inc:
            releases = self._releases_by_group.get(g.mbid, [])
            parts.append(f'<release-list count="{len(releases)}">')
            parts.extend(_release_head(r, lookup=True) + _release_place(r) + "</release>" for r in releases)
            parts.append("</release-list>")
        if "tags" in inc:
            parts.append(_tags(g.tags))
        if "genres" in inc:
            parts.append(_genres(g.genres))
        parts.append("</release-group>")
        return "".join(parts)

    def _release_lookup(self, release: MbRelease, inc: set[str]) -> str:
        credits = bool(inc & {"artist-credits", "artists"})
        parts = [_release_head(release, lookup=True)]
        if credits:
            parts.append(_artist_credit(release.release_group.artist))
        parts.append(_release_place(release))
        if "release-groups" in inc:
            parts.append(_group_xml(release.release_group, credit=credits))
        if inc & {"recordings", "media", "discids"}:
            parts.append(f'<medium-list count="{len(release.media)}">')
            for m, medium in enumerate(release.media):
                parts.append(f"<medium>{_el('position', m + 1)}")
                if "recordings" not in inc:
                    # Without the tracks, the count is the real server's: pregap and data tracks left out.
                    parts.append(f'<track-list count="{len(medium)}"/></medium>')
                    continue
                pregap = release.pregaps.get(m)
                if pregap is not None:
                    parts.append(self._track_xml("pregap", release, _id("pregap", release.mbid, m), 0, pregap, inc))
                parts.append(f'<track-list count="{len(medium)}" offset="0">')
                for t, rec_mbid in enumerate(medium):
                    parts.append(self._track_xml("track", release, _track_id(release.mbid, m, t), t + 1, rec_mbid, inc))
                parts.append("</track-list>")
                data = release.data_tracks.get(m, [])
                if data:
                    parts.append(f'<data-track-list count="{len(data)}">')
                    for k, rec_mbid in enumerate(data, start=len(medium) + 1):
                        parts.append(
                            self._track_xml("track", release, _id("data", release.mbid, m, k), k, rec_mbid, inc)
                        )
                    parts.append("</data-track-list>")
                parts.append("</medium>")
            parts.append("</medium-list>")
        parts.append("</release>")
        return "".join(parts)

    def _track_xml(
        self, tag: str, release: MbRelease, track_id: str, position: int, rec_mbid: str, inc: set[str]
    ) -> str:
        """One ``<track>`` (or ``<pregap>``) of a release lookup with its recording; like the real
        server, the track's own title only where the release prints another than the recording's."""
        r = self.catalog.recordings.get(rec_mbid)
        parts = [f"<{tag}{_attrs(id=track_id)}>", _el("position", position) + _el("number", position)]
        if r is None:
            return "".join(parts) + f"</{tag}>"
        printed = release.track_titles.get(r.mbid)
        if printed is not None and printed != r.title:
            parts.append(_el("title", printed))
        length = release.track_length(r)
        if length is not None:
            parts.append(_el("length", length))
        parts.append(f"<recording{_attrs(id=r.mbid)}>{_el('title', r.title)}")
        if r.length_ms is not None:
            parts.append(_el("length", r.length_ms))
        if inc & {"artist-credits", "artists"}:
            parts.append(_artist_credit(r.artist))
        if "isrcs" in inc:
            parts.append(_isrcs(r.isrcs))
        parts.append(f"</recording></{tag}>")
        return "".join(parts)

    def _recording_lookup(self, r: MbRecording, inc: set[str]) -> str:
        parts = [f"<recording{_attrs(id=r.mbid)}>", _el("title", r.title)]
        if r.length_ms is not None:
            parts.append(_el("length", r.length_ms))
        if inc & {"artist-credits", "artists"}:
            parts.append(_artist_credit(r.artist))
        if "releases" in inc:
            releases = [self.catalog.releases[m] for m in r.releases if m in self.catalog.releases]
            parts.append(f'<release-list count="{len(releases)}">')
            for release in releases:
                parts.append(_release_head(release, lookup=True))
                parts.append(_release_place(release))
                if "release-groups" in inc:
                    parts.append(_group_xml(release.release_group))
                if "media" in inc:
                    parts.append(self._media_of(release, r, search=False))
                parts.append("</release>")
            parts.append("</release-list>")
        if "isrcs" in inc:
            parts.append(_isrcs(r.isrcs))
        parts.append("</recording>")
        return "".join(parts)

    # -- browse ---------------------------------------------------------------------------

    def _browse_release_groups(self, query: dict[str, str], inc: set[str]) -> Response:
        c = self.catalog
        if "artist" in query:
            mbid = query["artist"].lower()
            if not _MBID.match(mbid):
                return _bad_request("Invalid mbid.")
            if mbid not in c.artists:
                return _not_found()
            groups = list(self._release_groups_by_artist.get(mbid, []))
        else:
            mbid = query["release"].lower()
            if not _MBID.match(mbid):
                return _bad_request("Invalid mbid.")
            if mbid not in c.releases:
                return _not_found()
            groups = [c.releases[mbid].release_group]
        types = {t.strip().lower() for t in re.split(r"[|+\s]+", query.get("type", "")) if t.strip()}
        if types:
            # Like MusicBrainz, a type matches the primary type or any secondary type.
            groups = [g for g in groups if {t.lower() for t in [g.primary_type or "", *g.secondary_types]} & types]
        groups.sort(key=lambda g: (g.first_release_date or "9999", g.title, g.mbid))
        limit = min(max(_int(query.get("limit"), DEFAULT_LIMIT), 1), MAX_LIMIT)
        offset = max(_int(query.get("offset"), 0), 0)
        credits = bool(inc & {"artist-credits", "artists"})
        items = "".join(_group_xml(g, credit=credits) for g in groups[offset : offset + limit])
        return _xml(
            200, _document(f'<release-group-list count="{len(groups)}" offset="{offset}">{items}</release-group-list>')
        )
