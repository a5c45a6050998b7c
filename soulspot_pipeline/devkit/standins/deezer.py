"""A local stand-in for Deezer's public API: a user's favorites, playlists and album track lists.

It speaks the real wire format: the object shapes of the recorded responses, index/limit
paging with ``total`` and absolute ``next``/``prev`` URLs, and Deezer's habit of reporting
errors as HTTP 200 with an ``error`` object ("no data", quota exceeded). The library behind
it is a plain ``DeezerLibrary`` that tests may change between syncs.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

from soulspot_pipeline.devkit.standins.coverart import picture_for, serve_locally
from soulspot_pipeline.devkit.standins.server import Response, StandinServer

WEB = "https://www.deezer.com"
API = "https://api.deezer.com"
CDN = "https://cdns-images.dzcdn.net/images"
LOCAL_CDN = "/cdn-images"  # where the stand-in serves the pictures it lists (see serve_locally)
_SIZES = (("small", 56), ("medium", 250), ("big", 500), ("xl", 1000))
_EMBEDDED_ARTIST_KEYS = (
    "id",
    "name",
    "picture",
    "picture_small",
    "picture_medium",
    "picture_big",
    "picture_xl",
    "tracklist",
    "type",
)
_EMBEDDED_ALBUM_KEYS = (
    "id",
    "title",
    "cover",
    "cover_small",
    "cover_medium",
    "cover_big",
    "cover_xl",
    "md5_image",
    "tracklist",
    "type",
)

NO_DATA = {"error": {"type": "DataException", "message": "no data", "code": 800}}
QUOTA_EXCEEDED = {"error": {"type": "Exception", "message": "Quota limit exceeded", "code": 4}}


# -- object builders ------------------------------------------------------------


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _checksum(items: Sequence[Any]) -> str:
    return _md5(",".join(str((i or {}).get("id")) for i in items))


def artist(artist_id: int, name: str, *, picture_url: str | None = None) -> dict:
    """An artist as listed among favorites (without ``time_add``).

    Without ``picture_url`` the picture URLs carry an empty image hash, as Deezer serves
    them for artists without a picture.
    """
    obj: dict = {
        "id": artist_id,
        "name": name,
        "link": f"{WEB}/artist/{artist_id}",
        "picture": f"{API}/artist/{artist_id}/image",
    }
    for label, size in _SIZES:
        obj[f"picture_{label}"] = picture_url or f"{CDN}/artist//{size}x{size}-000000-80-0-0.jpg"
    obj.update(
        nb_album=0,
        nb_fan=0,
        radio=True,
        tracklist=f"{API}/artist/{artist_id}/top?limit=50",
        type="artist",
    )
    return obj


def album(
    album_id: int,
    title: str,
    artist_dict: dict,
    *,
    record_type: str = "album",
    release_date: str = "2020-01-01",
    nb_tracks: int = 10,
    upc: str | None = None,
) -> dict:
    """An album as listed among favorites (without ``time_add``); ``upc`` only when given."""
    image = _md5(f"album:{album_id}")
    obj: dict = {"id": album_id, "title": title}
    if upc is not None:
        obj["upc"] = upc
    obj.update(link=f"{WEB}/album/{album_id}", cover=f"{API}/album/{album_id}/image")
    for label, size in _SIZES:
        obj[f"cover_{label}"] = f"{CDN}/cover/{image}/{size}x{size}-000000-80-0-0.jpg"
    obj.update(
        md5_image=image,
        genre_id=-1,
        nb_tracks=nb_tracks,
        release_date=release_date,
        record_type=record_type,
        available=True,
        tracklist=f"{API}/album/{album_id}/tracks",
        explicit_lyrics=False,
        artist={k: artist_dict[k] for k in _EMBEDDED_ARTIST_KEYS if k in artist_dict},
        type="album",
    )
    return obj


def track(
    track_id: int,
    title: str,
    artist_dict: dict,
    album_dict: dict,
    *,
    duration_s: int,
    isrc: str | None = None,
    track_position: int | None = None,
    disk_number: int | None = None,
) -> dict:
    """A track as listed in favorites and playlists; album listings add ``isrc``, ``track_position``, ``disk_number``."""
    obj: dict = {
        "id": track_id,
        "readable": True,
        "title": title,
        "link": f"{WEB}/track/{track_id}",
        "duration": duration_s,
        "rank": int(_md5(f"track:{track_id}")[:5], 16) % 1_000_000,
    }
    if isrc is not None:
        obj["isrc"] = isrc
    if track_position is not None:
        obj["track_position"] = track_position
    if disk_number is not None:
        obj["disk_number"] = disk_number
    obj.update(
        explicit_lyrics=False,
        explicit_content_lyrics=0,
        explicit_content_cover=2,
        md5_image=album_dict.get("md5_image", ""),
        album={k: album_dict[k] for k in _EMBEDDED_ALBUM_KEYS if k in album_dict},
        artist={k: artist_dict[k] for k in _EMBEDDED_ARTIST_KEYS if k in artist_dict},
        type="track",
    )
    return obj


def playlist(
    playlist_id: int, title: str, creator_id: str, creator_name: str, tracks: list[dict], *, time_add: int
) -> dict:
    """A playlist as listed among a user's playlists; ``checksum`` changes with its tracks."""
    image = _md5(f"playlist:{playlist_id}")
    obj: dict = {
        "id": playlist_id,
        "title": title,
        "duration": sum(t.get("duration") or 0 for t in tracks),
        "public": True,
        "is_loved_track": False,
        "collaborative": False,
        "nb_tracks": len(tracks),
        "fans": 0,
        "link": f"{WEB}/playlist/{playlist_id}",
        "picture": f"{API}/playlist/{playlist_id}/image",
    }
    for label, size in _SIZES:
        obj[f"picture_{label}"] = f"{CDN}/playlist/{image}/{size}x{size}-000000-80-0-0.jpg"
    obj.update(
        checksum=_checksum(tracks),
        tracklist=f"{API}/playlist/{playlist_id}/tracks",
        creation_date="2021-10-09 17:54:41",
        md5_image=image,
        picture_type="playlist",
        time_add=time_add,
        time_mod=time_add,
        creator={
            "id": int(creator_id) if creator_id.isdigit() else creator_id,
            "name": creator_name,
            "tracklist": f"{API}/user/{creator_id}/flow",
            "type": "user",
        },
        type="playlist",
    )
    return obj


# -- libraries ------------------------------------------------------------------


@dataclass
class DeezerLibrary:
    """What the stand-in serves: favorites carry ``time_add`` (unix seconds)."""

    user_id: str
    tracks: list[dict] = field(default_factory=list)
    albums: list[dict] = field(default_factory=list)
    artists: list[dict] = field(default_factory=list)
    playlists: list[dict] = field(default_factory=list)
    playlist_tracks: dict[int, list[dict]] = field(default_factory=dict)
    album_tracks: dict[int, list[dict]] = field(default_factory=dict)
    # The catalogue beyond the user's favorites, for requests by link or search: full track
    # objects (/track/{id}, /search), albums (/album/{id}, their tracks in ``album_tracks``),
    # and per artist id its top tracks (/artist/{id}/top).
    catalog_tracks: list[dict] = field(default_factory=list)
    catalog_albums: list[dict] = field(default_factory=list)
    top_tracks: dict[int, list[dict]] = field(default_factory=dict)


_ADJECTIVES = ("Midnight", "Golden", "Silent", "Electric", "Velvet", "Paper", "Northern", "Crimson", "Hollow", "Neon")
_NOUNS = ("Harbor", "Lanterns", "Highway", "Garden", "River", "Echoes", "Mirror", "Horizon", "Café", "Rooftops")
_NAMES = ("Léa Martin", "Hugo Bernard", "Zoé Petit", "Nolan Girard", "Inès Roux", "Malo Fontaine", "Jade Morel")
_EPOCH = 1_717_243_200  # 2024-06-01 12:00 UTC


def _with_time(obj: dict, time_add: int) -> dict:
    return {**obj, "time_add": time_add}


def generate_library(
    tracks: int,
    *,
    user_id: str = "5",
    seed: int = 0,
    tracks_per_album: int = 10,
    albums_per_artist: int = 3,
    playlists: int = 2,
    playlist_size: int = 30,
) -> DeezerLibrary:
    """A deterministic synthetic library of ``tracks`` favorite tracks.

    Every artist is a favorite, every 5th album too, every album has its track list (the
    only place Deezer lists ISRCs without a per-track call), and each playlist samples the
    favorite tracks.
    """
    rng = random.Random(seed)
    track_ids = iter(rng.sample(range(100_000_000, 3_000_000_000), tracks))
    n_albums = -(-tracks // tracks_per_album) if tracks > 0 else 0
    n_artists = -(-n_albums // albums_per_artist) if n_albums > 0 else 0
    album_ids = iter(rng.sample(range(100_000, 700_000_000), n_albums))
    artist_ids = iter(rng.sample(range(1, 200_000_000), n_artists))

    def title() -> str:
        return f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"

    library = DeezerLibrary(user_id=user_id)
    artists = []
    for i in range(n_artists):
        artist_id = next(artist_ids)
        name = rng.choice(_NAMES) if i % 2 else f"The {title()}"
        image = _md5(f"artist:{artist_id}")
        artists.append(artist(artist_id, name, picture_url=f"{CDN}/artist/{image}/1000x1000-000000-80-0-0.jpg"))
        library.artists.append(_with_time(artists[-1], _EPOCH - 86_400 * i))

    favorites: list[dict] = []
    for a in range(n_albums):
        performer = artists[a // albums_per_artist]
        count = min(tracks_per_album, tracks - a * tracks_per_album)
        album_id = next(album_ids)
        year = 1990 + rng.randrange(35)
        listed = album(
            album_id,
            title(),
            performer,
            record_type="album" if count >= 5 else "single",
            release_date=f"{year}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
            nb_tracks=count,
        )
        listing = []
        for n in range(count):
            index = len(favorites)
            track_id = next(track_ids)
            song = title()
            duration = rng.randrange(120, 420)
            isrc = f"FR{a % 1000:03d}{(20 + index // 100_000) % 100:02d}{index % 100_000:05d}"
            listing.append(
                track(
                    track_id,
                    song,
                    performer,
                    listed,
                    duration_s=duration,
                    isrc=isrc,
                    track_position=n + 1,
                    disk_number=1,
                )
            )
            favorites.append(
                _with_time(track(track_id, song, performer, listed, duration_s=duration), _EPOCH - 60 * index)
            )
        library.album_tracks[album_id] = listing
        if a % 5 == 0:
            library.albums.append(_with_time(listed, _EPOCH - 3_600 * a))
    library.tracks = favorites

    owner = "Stand-in User"
    for p in range(playlists):
        picked = rng.sample(favorites, min(playlist_size, len(favorites)))
        entries = [
            _with_time({k: v for k, v in t.items() if k != "time_add"}, _EPOCH - 7_200 * i)
            for i, t in enumerate(picked)
        ]
        playlist_id = 1_000_000_000 + rng.randrange(9_000_000_000)
        library.playlists.append(playlist(playlist_id, f"{title()} Mix", user_id, owner, entries, time_add=_EPOCH - p))
        library.playlist_tracks[playlist_id] = entries
    return library


def library_from_recordings(folder: Path, user_id: str = "5") -> DeezerLibrary:
    """A library of the recorded items, as they are; ``folder`` is deezer-python's ``extracted-json``.

    The favorite tracks are the recorded ones; their artists are the favorite artists
    (added when their first track was) and each track's album lists that track. No
    favorite albums were recorded, so the recorded artist discography stands in for
    them, each with the artist the recording omits and an added time.
    """

    def load(name: str) -> dict:
        return json.loads((folder / name).read_text(encoding="utf-8"))

    library = DeezerLibrary(user_id=user_id)
    library.tracks = list(load("TestClient.test_get_user_tracks[args1]__0.json")["data"])
    seen: set[int] = set()
    for entry in library.tracks:
        plain = {k: v for k, v in entry.items() if k != "time_add"}
        library.album_tracks.setdefault(entry["album"]["id"], []).append(plain)
        recorded = entry["artist"]
        if recorded["id"] not in seen:
            seen.add(recorded["id"])
            listed = {**recorded, "link": f"{WEB}/artist/{recorded['id']}"}
            library.artists.append(_with_time(listed, entry.get("time_add") or _EPOCH))

    page = load("TestArtist.test_get_albums__1.json")
    # The recording pages artist 27's discography (see its `next`); that artist is Daft Punk.
    artist_id = int(urlparse(page.get("next") or "").path.split("/")[2]) if page.get("next") else 27
    performer = artist(artist_id, "Daft Punk" if artist_id == 27 else f"Artist {artist_id}")
    first_added = min((t.get("time_add") or _EPOCH) for t in library.tracks) if library.tracks else _EPOCH
    for i, recorded in enumerate(page["data"]):
        embedded = {k: performer[k] for k in _EMBEDDED_ARTIST_KEYS}
        library.albums.append(
            {**recorded, "artist": recorded.get("artist", embedded), "time_add": first_added - 3_600 * (i + 1)}
        )
        library.album_tracks.setdefault(recorded["id"], [])
    return library


# -- the server -------------------------------------------------------------------


class DeezerStandin(StandinServer):
    """The public API at the root: ``/user/{id}/...``, ``/playlist/{id}/tracks``, ``/album/{id}/tracks``.

    ``path_prefix`` serves it below a path instead, as behind a reverse proxy; ``link_base``
    is the origin the paging links name (by default the stand-in's own address, ``API``
    for Deezer's public host as the real API names it).
    """

    def __init__(
        self,
        library: DeezerLibrary,
        *,
        default_limit: int = 25,
        path_prefix: str = "",
        link_base: str | None = None,
    ) -> None:
        super().__init__()
        self.library = library
        self.default_limit = default_limit
        self.path_prefix = f"/{path_prefix.strip('/')}" if path_prefix.strip("/") else ""
        self.link_base = link_base.rstrip("/") if link_base else None
        self._repeating: dict[str, int] = {}

    @property
    def api_url(self) -> str:
        return f"{self.url}{self.path_prefix}/"

    @property
    def _links(self) -> str:
        return self.link_base if self.link_base is not None else f"{self.url}{self.path_prefix}"

    def repeat_next(self, path: str, from_index: int = 0) -> None:
        """From now on, every page of the listing at ``path`` (``/user/5/tracks``) at or past
        ``from_index`` names itself as its ``next``: a server whose paging never advances."""
        self._repeating[path.rstrip("/")] = from_index

    def quota_exceeded(self, times: int = 1) -> None:
        """The next ``times`` answers are Deezer's quota error (HTTP 200 with an error object)."""
        self.inject("/", status=200, times=times, body=QUOTA_EXCEEDED)

    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> Response:
        if path.startswith(LOCAL_CDN):  # Deezer's image CDN
            return Response(200, picture_for(path), {"Content-Type": "image/jpeg"})
        if self.path_prefix:
            if not path.startswith(f"{self.path_prefix}/"):
                return Response(404, "Not Found")
            path = path[len(self.path_prefix) :]
        response = self._answer(method, path, query)
        response.body = serve_locally(response.body, CDN, f"{self.url}{LOCAL_CDN}")
        return response

    def _answer(self, method: str, path: str, query: dict[str, str]) -> Response:
        parts = [p for p in path.split("/") if p]
        lib = self.library
        if method == "GET" and parts == ["search"]:
            return self._search(path, query)
        if method == "GET" and len(parts) == 2 and parts[1].isdigit():
            return self._object(parts[0], int(parts[1]))
        if method == "GET" and len(parts) == 3 and parts[0] == "artist" and parts[2] == "top" and parts[1].isdigit():
            top = lib.top_tracks.get(int(parts[1]))
            return Response(200, NO_DATA) if top is None else self._paging(path, query, top)
        if method != "GET" or len(parts) != 3:
            return Response(200, NO_DATA)
        kind, key, what = parts
        if kind == "user":
            if key not in (lib.user_id, "me"):
                return Response(200, NO_DATA)
            if what == "tracks":
                return self._paging(path, query, lib.tracks, checksum=True)
            if what == "albums":
                return self._paging(path, query, lib.albums)
            if what == "artists":
                return self._paging(path, query, lib.artists)
            if what == "playlists":
                return self._paging(path, query, lib.playlists, transform=self._served_playlist)
            return Response(200, NO_DATA)
        if what != "tracks" or not key.isdigit():
            return Response(200, NO_DATA)
        listing = {"playlist": lib.playlist_tracks, "album": lib.album_tracks}.get(kind, {}).get(int(key))
        if listing is None:
            return Response(200, NO_DATA)
        return self._paging(path, query, listing, checksum=kind == "playlist")

    def _full_tracks(self) -> list[dict]:
        lib = self.library
        found = [*lib.catalog_tracks, *lib.tracks, *(t for ts in lib.album_tracks.values() for t in ts)]
        found.extend(t for ts in lib.playlist_tracks.values() for t in ts)
        return [t for t in found if isinstance(t, dict) and isinstance(t.get("id"), int)]

    def _object(self, kind: str, key: int) -> Response:
        """``/track/{id}``, ``/album/{id}`` (its tracks embedded), ``/playlist/{id}``; an unknown id is Deezer's 800."""
        lib = self.library
        if kind == "track":
            found = next((t for t in self._full_tracks() if t["id"] == key), None)
            return Response(200, found if found is not None else NO_DATA)
        if kind == "album":
            album_obj = next((a for a in (*lib.catalog_albums, *lib.albums) if (a or {}).get("id") == key), None)
            if album_obj is None:
                return Response(200, NO_DATA)
            return Response(200, {**album_obj, "tracks": {"data": lib.album_tracks.get(key, [])}})
        if kind == "playlist":
            found = next((p for p in lib.playlists if (p or {}).get("id") == key), None)
            if found is None:
                return Response(200, NO_DATA)
            entries = lib.playlist_tracks.get(key, [])
            return Response(200, {**found, "nb_tracks": len(entries), "tracks": {"data": entries[:25]}})
        return Response(200, NO_DATA)

    def _search(self, path: str, query: dict[str, str]) -> Response:
        """``/search?q=``: every known track whose title, artist and album hold all the query's words."""
        words = set(re.findall(r"\w+", query.get("q", "").casefold()))
        seen: set[int] = set()
        hits = []
        for t in self._full_tracks():
            text = " ".join(
                [
                    t.get("title") or "",
                    (t.get("artist") or {}).get("name") or "",
                    (t.get("album") or {}).get("title") or "",
                ]
            )
            if words and t["id"] not in seen and words <= set(re.findall(r"\w+", text.casefold())):
                seen.add(t["id"])
                hits.append({k: v for k, v in t.items() if k != "time_add"})
        return self._paging(path, query, hits)

    def _served_playlist(self, obj: dict | None) -> dict | None:
        entries = self.library.playlist_tracks.get(obj["id"]) if obj and "id" in obj else None
        if obj is None or entries is None:
            return obj
        return {**obj, "nb_tracks": len(entries)}

    def _page_url(self, path: str, query: dict[str, str], index: int) -> str:
        rest = {k: v for k, v in query.items() if k != "index"}
        return f"{self._links}{path}?{urlencode({**rest, 'index': index})}"

    def _paging(
        self,
        path: str,
        query: dict[str, str],
        items: Sequence[Any],
        *,
        checksum: bool = False,
        transform: Callable[[dict | None], dict | None] | None = None,
    ) -> Response:
        index = _int(query.get("index"), 0)
        limit = _int(query.get("limit"), self.default_limit)
        if limit <= 0:
            limit = self.default_limit
        index = max(index, 0)
        items = list(items)
        page = items[index : index + limit]
        answer: dict = {"data": [transform(i) for i in page] if transform else page}
        if checksum:
            answer["checksum"] = _checksum(items)
        answer["total"] = len(items)
        if index > 0:
            answer["prev"] = self._page_url(path, query, max(0, index - limit))
        if index + limit < len(items):
            answer["next"] = self._page_url(path, query, index + limit)
        stuck = self._repeating.get(path.rstrip("/"))
        if stuck is not None and index >= stuck:
            answer["next"] = self._page_url(path, query, index)
        return Response(200, answer)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default
