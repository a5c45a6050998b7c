"""Requests by link or search: what the user typed, parsed; search answers, weighed.

A request is one line the user gave the ``request`` job: a Spotify or Deezer link (track,
album, playlist, an artist's top tracks) or a search ("artist - title", or any text). Links
are parsed here into (provider, kind, id); a search's candidates are scored here and the
request is *resolved* when one song is clearly best, *ambiguous* when two different songs
score alike (nothing is requested until the user picks one), *not found* when nothing fits.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from rapidfuzz import fuzz

from soulspot_pipeline.domain.cloud import CloudAlbum, CloudArtist, CloudTrack
from soulspot_pipeline.domain.identify import RecordingCandidate
from soulspot_pipeline.domain.matching import base_title
from soulspot_pipeline.domain.text import normalize_name

SPOTIFY, DEEZER, MUSICBRAINZ = "spotify", "deezer", "musicbrainz"
KINDS = ("track", "album", "playlist", "artist")
SEARCH, UNKNOWN = "search", "unknown"
RESOLVED, AMBIGUOUS, NOT_FOUND, FAILED = "resolved", "ambiguous", "not_found", "failed"

MAX_ITEM_CHARS = 500  # longer is no link and no song title
MIN_SCORE = 70.0  # a candidate below this (0-100) is not what was asked for
MARGIN = 6.0  # two different songs within this of each other: the user picks
CANDIDATES_SHOWN = 5

# Short links only redirect to the full one.
SHORT_HOSTS = frozenset({"spotify.link", "spoti.fi", "deezer.page.link", "link.deezer.com", "dzr.page.link"})
_SPOTIFY_HOSTS = frozenset({"open.spotify.com", "play.spotify.com"})
_DEEZER_HOSTS = frozenset({"deezer.com", "www.deezer.com"})
_SPOTIFY_ID = re.compile(r"[0-9A-Za-z]{1,64}")
_DEEZER_ID = re.compile(r"[0-9]{1,20}")
_MBID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_LOCALE = re.compile(r"(?:intl-)?[a-z]{2}(?:[-_][a-z]{2})?", re.IGNORECASE)
_SEPARATOR = re.compile(r"\s+[-–—]\s+")  # "artist - title" (hyphen, en or em dash)
_URLISH = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?[a-z0-9-]+(?:\.[a-z0-9-]+)+(?::\d+)?/", re.IGNORECASE)


class UnusableItem(ValueError):
    """What the user typed cannot be requested; the message says why, in one line."""


@dataclass(frozen=True, slots=True)
class Link:
    provider: str  # spotify | deezer | musicbrainz
    kind: str  # track | album | playlist | artist
    item_id: str


@dataclass(frozen=True, slots=True)
class ShortLink:
    """A share link (spotify.link/…) that only redirects to the full one."""

    url: str


@dataclass(frozen=True, slots=True)
class Search:
    text: str
    artist: str | None
    title: str


def clean_item(text: object) -> str:
    """The item without control characters and surrounding space; raises UnusableItem when nothing is left."""
    if not isinstance(text, str):
        raise UnusableItem("not text")
    cleaned = "".join(" " if unicodedata.category(c).startswith("C") else c for c in text)
    cleaned = " ".join(cleaned.split())
    if not cleaned:
        raise UnusableItem("empty: give a Spotify or Deezer link, or 'artist - title'")
    if len(cleaned) > MAX_ITEM_CHARS:
        raise UnusableItem(f"longer than {MAX_ITEM_CHARS} characters: give a link, or 'artist - title'")
    return cleaned


def parse_item(text: object) -> Link | ShortLink | Search:
    """A link (provider, kind, id), a short link to follow, or a search; raises UnusableItem."""
    item = clean_item(text)
    if item.lower().startswith("spotify:"):
        return _spotify_uri(item)
    if " " not in item and _URLISH.match(item):
        return parse_link(item)
    parts = _SEPARATOR.split(item, maxsplit=1)
    if len(parts) == 2 and parts[0].strip() and parts[1].strip():
        return Search(item, parts[0].strip(), parts[1].strip())
    return Search(item, None, item.strip(" -–—") or item)


def _spotify_uri(item: str) -> Link:
    parts = item.split(":")
    # spotify:track:<id>, and the older spotify:user:<user>:playlist:<id>
    if len(parts) == 5 and parts[1].lower() == "user":
        parts = [parts[0], parts[3], parts[4]]
    if len(parts) != 3 or parts[1].lower() not in KINDS or not _SPOTIFY_ID.fullmatch(parts[2]):
        raise UnusableItem(f"{item!r} is not a Spotify track, album, playlist or artist URI")
    return Link(SPOTIFY, parts[1].lower(), parts[2])


def parse_link(url: str) -> Link | ShortLink:
    """A link's provider, kind and id; raises UnusableItem naming what is wrong with it."""
    parts = urlsplit(url if "://" in url else f"https://{url}")
    if parts.scheme.lower() not in ("http", "https"):
        raise UnusableItem(f"{url!r} is not a web link")
    host = (parts.hostname or "").lower().rstrip(".")
    segments = [s for s in parts.path.split("/") if s]
    if host in SHORT_HOSTS:
        return ShortLink(f"https://{host}{parts.path}")
    if host in _SPOTIFY_HOSTS:
        if segments and segments[0] == "embed":
            segments = segments[1:]
        if segments and segments[0].lower().startswith("intl-"):
            segments = segments[1:]
        if len(segments) >= 4 and segments[0] == "user" and segments[2] == "playlist":
            segments = segments[2:]
        return _link(SPOTIFY, segments, _SPOTIFY_ID, url)
    if host in _DEEZER_HOSTS:
        if segments and _LOCALE.fullmatch(segments[0]) and segments[0].lower() not in KINDS:
            segments = segments[1:]
        return _link(DEEZER, segments, _DEEZER_ID, url)
    if host in ("musicbrainz.org", "beta.musicbrainz.org") and len(segments) >= 2 and segments[0] == "recording":
        if _MBID.fullmatch(segments[1].lower()):
            return Link(MUSICBRAINZ, "track", segments[1].lower())
        raise UnusableItem(f"{url!r} names no MusicBrainz recording id")
    raise UnusableItem(
        f"{host or url!r} is not a link this can request: give an open.spotify.com or deezer.com link, "
        "or 'artist - title'"
    )


def _link(provider: str, segments: Sequence[str], pattern: re.Pattern[str], url: str) -> Link:
    name = provider.capitalize()
    if len(segments) < 2 or segments[0].lower() not in KINDS:
        raise UnusableItem(f"{url!r} is no {name} track, album, playlist or artist link")
    kind, item_id = segments[0].lower(), segments[1]
    if not pattern.fullmatch(item_id):
        raise UnusableItem(f"{url!r}: {item_id!r} is not a {name} {kind} id")
    return Link(provider, kind, item_id)


def item_link(provider: str, track_id: str) -> str:
    """The public link of a provider's track (what a candidate shows, to request it again)."""
    return {
        SPOTIFY: f"https://open.spotify.com/track/{track_id}",
        DEEZER: f"https://www.deezer.com/track/{track_id}",
        MUSICBRAINZ: f"https://musicbrainz.org/recording/{track_id}",
    }[provider]


# -- choosing among a search's candidates ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Candidate:
    """One search hit: the provider's track, and how well it fits what was asked (0-100)."""

    source: str
    track: CloudTrack
    score: float
    artist_score: float | None
    title_score: float

    @property
    def song(self) -> tuple[str, str]:
        """What makes two hits the same song: the artist and the title without edition notes."""
        return normalize_name(self.track.artist.name), base_title(self.track.title)

    @property
    def compilation(self) -> bool:
        album_type = ((self.track.album.album_type if self.track.album else None) or "").lower()
        return album_type in ("compilation", "compile")

    def as_json(self, n: int) -> dict:
        """The candidate as listed for the user to pick (``n``), with all a pick needs to request it."""
        track, album = self.track, self.track.album
        return {
            "n": n,
            "source": self.source,
            "track_id": track.track_id,
            "artist": track.artist.name,
            "title": track.title,
            "album": album.title if album else None,
            "album_type": album.album_type if album else None,
            "duration_ms": track.duration_ms,
            "score": round(self.score, 1),
            "link": item_link(self.source, track.track_id),
            "artist_id": track.artist.artist_id or None,
            "album_id": album.album_id if album else None,
            "album_artist": album.artist.name if album else None,
            "album_artist_id": (album.artist.artist_id or None) if album else None,
            "release_date": album.release_date if album else None,
            "isrc": track.isrc,
            "track_number": track.track_number,
            "disc_number": track.disc_number,
        }


def track_from_json(obj: Mapping) -> tuple[str, CloudTrack]:
    """A listed candidate (``Candidate.as_json``) back as (source, track)."""
    artist = CloudArtist(str(obj.get("artist_id") or ""), str(obj.get("artist") or ""))
    album = None
    if obj.get("album"):
        album_artist = CloudArtist(str(obj.get("album_artist_id") or ""), str(obj.get("album_artist") or ""))
        album = CloudAlbum(
            str(obj.get("album_id") or ""),
            str(obj["album"]),
            album_artist,
            album_type=obj.get("album_type"),
            release_date=obj.get("release_date"),
        ).credited_to(artist)
    track = CloudTrack(
        str(obj["track_id"]),
        str(obj.get("title") or ""),
        artist,
        album,
        isrc=obj.get("isrc"),
        duration_ms=obj.get("duration_ms"),
        track_number=obj.get("track_number"),
        disc_number=obj.get("disc_number"),
    )
    return str(obj["source"]), track


@dataclass(frozen=True, slots=True)
class Choice:
    status: str  # resolved | ambiguous | not_found
    chosen: Candidate | None
    candidates: tuple[Candidate, ...]  # those worth showing, best first
    reason: str


def _similar(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    return max(fuzz.ratio(a, b), fuzz.token_sort_ratio(a, b))


def score_candidate(search: Search, source: str, track: CloudTrack) -> Candidate:
    """How well ``track`` answers ``search``: artist and title similarity, or, for plain
    text, how much of "artist title" the text names."""
    artist, title = normalize_name(track.artist.name), normalize_name(track.title)
    bare = base_title(track.title)
    if search.artist is not None:
        artist_score = _similar(normalize_name(search.artist), artist)
        wanted = normalize_name(search.title)
        title_score = max(_similar(wanted, title), _similar(base_title(search.title), bare))
        score = 0.45 * artist_score + 0.55 * title_score
        if artist_score < 50:  # another artist's song of that name is not it, however close the title
            score = min(score, artist_score)
        return Candidate(source, track, score, artist_score, title_score)
    text = normalize_name(search.text)
    title_score = max(_similar(text, title), _similar(text, bare))
    both = float(fuzz.token_set_ratio(text, f"{artist} {title}"))
    whole = float(fuzz.token_sort_ratio(text, f"{artist} {title}"))
    return Candidate(source, track, max(title_score, (both + whole) / 2), None, title_score)


def choose(search: Search, hits: Iterable[tuple[str, CloudTrack]]) -> Choice:
    """Resolved when one song is clearly best (its original album preferred over a
    compilation's copy), ambiguous when the best two different songs score within ``MARGIN``,
    not found when no hit reaches ``MIN_SCORE``."""
    scored = [score_candidate(search, source, track) for source, track in hits if track.track_id]
    fitting = [c for c in scored if c.score >= MIN_SCORE]
    if not fitting:
        best = max((c.score for c in scored), default=None)
        why = f"no hit fits (best {best:.0f} of 100, {MIN_SCORE:.0f} needed)" if best is not None else "no hits"
        return Choice(NOT_FOUND, None, tuple(sorted(scored, key=lambda c: -c.score)[:CANDIDATES_SHOWN]), why)
    # One song per group (versions, reissues, compilations of it); the groups ranked by their best hit.
    songs: dict[tuple[str, str], list[tuple[int, Candidate]]] = {}
    for position, candidate in enumerate(fitting):
        songs.setdefault(candidate.song, []).append((position, candidate))
    ranked = sorted(songs.values(), key=lambda group: (-max(c.score for _, c in group), group[0][0]))
    picks = [_preferred(group) for group in ranked]
    shown = tuple(picks[:CANDIDATES_SHOWN])
    best = max(c.score for _, c in ranked[0])
    if len(ranked) > 1:
        runner_up = max(c.score for _, c in ranked[1])
        if best - runner_up < MARGIN:
            return Choice(
                AMBIGUOUS,
                None,
                shown,
                f"{len([g for g in ranked if best - max(c.score for _, c in g) < MARGIN])} different songs fit "
                f"alike (best {best:.0f}, next {runner_up:.0f}): pick one",
            )
    return Choice(RESOLVED, picks[0], shown, f"best fit {best:.0f} of 100")


def _preferred(group: Sequence[tuple[int, Candidate]]) -> Candidate:
    """The hit of one song to request: the closest titles, then not from a compilation, then the provider's order."""
    top = max(c.title_score for _, c in group)
    return min(group, key=lambda pc: (pc[1].title_score < top - 2, pc[1].compilation, -pc[1].score, pc[0]))[1]


@dataclass(frozen=True)
class Outcome:
    """What one asked item became: its status, its name, its tracks (source, track), the
    candidates of a search, and the one-line reason when it failed or found nothing."""

    asked: str
    kind: str
    status: str
    source: str | None = None
    source_id: str | None = None
    resolved_to: str | None = None
    tracks: tuple[tuple[str, CloudTrack], ...] = ()
    candidates: tuple[Candidate, ...] = ()
    error: str | None = None


def track_name(track: CloudTrack) -> str:
    return f"{track.artist.name or '?'} - {track.title or '?'}"


def parse_pick(text: object) -> tuple[int, int]:
    """``"<request_id>:<n>"`` -> (request id, candidate number); raises UnusableItem."""
    if isinstance(text, str):
        request_id, _, n = text.strip().partition(":")
        if request_id.strip().isdigit() and n.strip().isdigit():
            return int(request_id), int(n)
    raise UnusableItem(f"{text!r} is no pick: write '<request_id>:<candidate n>', e.g. '12:2'")


# -- only what the library lacks -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HeldTrack:
    """A track the library has a file of: its ids, ISRC, artist and title."""

    track_id: str
    artist: str
    title: str
    isrc: str | None = None
    provider_ids: Mapping[str, str | None] | None = None


def held_index(held: Iterable[HeldTrack]) -> dict[str, str]:
    """Every key a held track answers to -> its library id."""
    index: dict[str, str] = {}
    for track in held:
        for provider, item_id in (track.provider_ids or {}).items():
            if item_id:
                index.setdefault(f"{provider}:{item_id}", track.track_id)
        if track.isrc:
            index.setdefault(f"isrc:{track.isrc}", track.track_id)
        index.setdefault(f"name:{normalize_name(track.artist)}:{base_title(track.title)}", track.track_id)
    return index


def already_held(source: str, track: CloudTrack, index: Mapping[str, str]) -> str | None:
    """The library track (with a file) this provider track is, by id, ISRC, or artist and title."""
    keys = [f"{source}:{track.track_id}"]
    if track.isrc:
        keys.append(f"isrc:{track.isrc}")
    keys.append(f"name:{normalize_name(track.artist.name)}:{base_title(track.title)}")
    return next((index[k] for k in keys if k in index), None)


def recording_track(recording: RecordingCandidate) -> CloudTrack:
    """A MusicBrainz recording as a track: its first credited artist, and its release on an
    album (not a compilation) where it has one."""
    credit = recording.artists[0] if recording.artists else None
    artist = CloudArtist(credit.mbid, credit.name) if credit else CloudArtist("", "")
    releases = sorted(
        recording.releases,
        key=lambda r: ((r.release_group_type or "").lower() != "album", r.date or "9999"),
    )
    album = None
    if releases:
        first = releases[0]
        album = CloudAlbum(
            first.mbid,
            first.title,
            artist,
            album_type=(first.release_group_type or "").lower() or None,
            release_date=first.date,
        )
    isrc = recording.isrcs[0] if recording.isrcs else None
    return CloudTrack(recording.mbid, recording.title, artist, album, isrc=isrc, duration_ms=recording.length_ms)
