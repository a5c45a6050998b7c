"""A local stand-in for the Spotify Web API and its accounts (OAuth) server.

It speaks the real wire format: the object shapes of the Web API (full and simplified
artists, albums and tracks, episodes, playlists), offset paging with absolute ``next``
URLs, cursor paging of followed artists, the error bodies, and the authorization-code
flow with PKCE on ``/authorize`` and ``/api/token``. The library behind it is a plain
``SpotifyLibrary`` that tests may change between syncs; it comes from ``generate_library``
(synthetic, any size) or ``library_from_recordings`` (real recorded responses).
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from soulspot_pipeline.devkit.standins.coverart import picture_for, serve_locally
from soulspot_pipeline.devkit.standins.server import Response, StandinServer

WEB = "https://open.spotify.com"
API_ORIGIN = "https://api.spotify.com"
API = f"{API_ORIGIN}/v1"
IMAGE_HOST = "https://i.scdn.co/image/"  # served by the stand-in itself (see serve_locally)
USER_ID = "standin-user"
# Real objects list ~180 markets; three keep the pages small while keeping the shape.
MARKETS = ["DE", "GB", "US"]
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SIMPLE_ARTIST_KEYS = ("external_urls", "href", "id", "name", "type", "uri")
_NOT_IN_SIMPLIFIED_TRACK = ("album", "external_ids", "popularity")


# -- object builders ------------------------------------------------------------


def _images(url: str | None) -> list[dict]:
    if not url:
        return []
    return [{"height": 640, "url": url, "width": 640}]


def _popularity(object_id: str) -> int:
    return int(hashlib.md5(object_id.encode()).hexdigest()[:4], 16) % 100


def _precision(release_date: str) -> str:
    return {4: "year", 7: "month"}.get(len(release_date), "day")


def _simple_artist(obj: dict) -> dict:
    return {k: obj[k] for k in _SIMPLE_ARTIST_KEYS if k in obj}


def simplified_track(track_obj: dict) -> dict:
    """The simplified track object (as in album track listings) of a full track."""
    return {k: v for k, v in track_obj.items() if k not in _NOT_IN_SIMPLIFIED_TRACK}


def user(user_id: str, display_name: str | None = None) -> dict:
    return {
        "display_name": display_name if display_name is not None else user_id,
        "external_urls": {"spotify": f"{WEB}/user/{user_id}"},
        "href": f"{API}/users/{user_id}",
        "id": user_id,
        "type": "user",
        "uri": f"spotify:user:{user_id}",
    }


def artist(artist_id: str, name: str, *, genres: list[str] | None = None, image_url: str | None = None) -> dict:
    """A full artist object."""
    return {
        "external_urls": {"spotify": f"{WEB}/artist/{artist_id}"},
        "followers": {"href": None, "total": _popularity(artist_id) * 137},
        "genres": list(genres or []),
        "href": f"{API}/artists/{artist_id}",
        "id": artist_id,
        "images": _images(image_url),
        "name": name,
        "popularity": _popularity(artist_id),
        "type": "artist",
        "uri": f"spotify:artist:{artist_id}",
    }


def album(
    album_id: str,
    name: str,
    artists: list[dict],
    *,
    album_type: str = "album",
    release_date: str = "2020-01-01",
    total_tracks: int = 10,
    upc: str | None = None,
    image_url: str | None = None,
) -> dict:
    """A simplified album object (no track listing); ``external_ids`` only when a UPC is given."""
    obj = {
        "album_type": album_type,
        "artists": [_simple_artist(a) for a in artists],
        "available_markets": list(MARKETS),
        "external_urls": {"spotify": f"{WEB}/album/{album_id}"},
        "href": f"{API}/albums/{album_id}",
        "id": album_id,
        "images": _images(image_url),
        "name": name,
        "release_date": release_date,
        "release_date_precision": _precision(release_date),
        "total_tracks": total_tracks,
        "type": "album",
        "uri": f"spotify:album:{album_id}",
    }
    if upc is not None:
        obj["external_ids"] = {"upc": upc}
    return obj


def track(
    track_id: str,
    name: str,
    artists: list[dict],
    album: dict,
    *,
    isrc: str | None,
    duration_ms: int,
    track_number: int = 1,
    disc_number: int = 1,
) -> dict:
    """A full track object, with its simplified album."""
    embedded_album = {
        k: v for k, v in album.items() if k not in ("tracks", "copyrights", "label", "genres", "popularity")
    }
    return {
        "album": embedded_album,
        "artists": [_simple_artist(a) for a in artists],
        "available_markets": list(MARKETS),
        "disc_number": disc_number,
        "duration_ms": duration_ms,
        "explicit": False,
        "external_ids": {"isrc": isrc} if isrc else {},
        "external_urls": {"spotify": f"{WEB}/track/{track_id}"},
        "href": f"{API}/tracks/{track_id}",
        "id": track_id,
        "is_local": False,
        "name": name,
        "popularity": _popularity(track_id),
        "preview_url": None,
        "track_number": track_number,
        "type": "track",
        "uri": f"spotify:track:{track_id}",
    }


def episode(episode_id: str, name: str) -> dict:
    """A podcast episode object as it appears among playlist items."""
    show_id = hashlib.md5(episode_id.encode()).hexdigest()[:22]
    return {
        "audio_preview_url": None,
        "description": f"{name}.",
        "duration_ms": 1_800_000,
        "episode": True,
        "explicit": False,
        "external_urls": {"spotify": f"{WEB}/episode/{episode_id}"},
        "href": f"{API}/episodes/{episode_id}",
        "id": episode_id,
        "images": [],
        "is_externally_hosted": False,
        "is_playable": True,
        "language": "en-US",
        "languages": ["en-US"],
        "name": name,
        "release_date": "2020-01-01",
        "release_date_precision": "day",
        "show": {
            "available_markets": list(MARKETS),
            "copyrights": [],
            "description": "A stand-in podcast.",
            "explicit": False,
            "external_urls": {"spotify": f"{WEB}/show/{show_id}"},
            "href": f"{API}/shows/{show_id}",
            "id": show_id,
            "images": [],
            "is_externally_hosted": False,
            "languages": ["en-US"],
            "media_type": "audio",
            "name": "Stand-in Podcast",
            "publisher": "Stand-in",
            "type": "show",
            "uri": f"spotify:show:{show_id}",
        },
        "track": False,
        "type": "episode",
        "uri": f"spotify:episode:{episode_id}",
    }


def playlist(playlist_id: str, name: str, owner_id: str, *, snapshot_id: str, total: int) -> dict:
    """A simplified playlist object; ``items`` is the current name of the deprecated ``tracks``."""
    ref = {"href": f"{API}/playlists/{playlist_id}/items", "total": total}
    return {
        "collaborative": False,
        "description": "",
        "external_urls": {"spotify": f"{WEB}/playlist/{playlist_id}"},
        "href": f"{API}/playlists/{playlist_id}",
        "id": playlist_id,
        "images": [],
        "items": dict(ref),
        "name": name,
        "owner": user(owner_id),
        "primary_color": None,
        "public": True,
        "snapshot_id": snapshot_id,
        "tracks": {"href": f"{API}/playlists/{playlist_id}/tracks", "total": total},
        "type": "playlist",
        "uri": f"spotify:playlist:{playlist_id}",
    }


# -- libraries ------------------------------------------------------------------


@dataclass
class SpotifyLibrary:
    """What the stand-in serves; the server builds the paging objects from these lists."""

    saved_tracks: list[dict] = field(default_factory=list)
    saved_albums: list[dict] = field(default_factory=list)
    followed_artists: list[dict] = field(default_factory=list)
    playlists: list[dict] = field(default_factory=list)
    playlist_items: dict[str, list[dict]] = field(default_factory=dict)
    # Per artist id, its simplified albums with their ``album_group`` (album, single,
    # compilation, appears_on), as /artists/{id}/albums lists them.
    artist_albums: dict[str, list[dict]] = field(default_factory=dict)
    # The catalogue beyond the user's library, for requests by link or search: full track
    # objects (/tracks/{id}, /search), full albums whose ``tracks`` list their simplified
    # tracks (/albums/{id}), and per artist id its top tracks (/artists/{id}/top-tracks).
    catalog_tracks: list[dict] = field(default_factory=list)
    catalog_albums: list[dict] = field(default_factory=list)
    top_tracks: dict[str, list[dict]] = field(default_factory=dict)


_ADJECTIVES = (
    "Midnight",
    "Golden",
    "Silent",
    "Electric",
    "Broken",
    "Velvet",
    "Paper",
    "Northern",
    "Crimson",
    "Hollow",
    "Distant",
    "Neon",
    "Wild",
    "Quiet",
    "Burning",
    "Frozen",
    "Lonely",
    "Secret",
    "Endless",
    "Bright",
)
_NOUNS = (
    "Harbor",
    "Lanterns",
    "Highway",
    "Garden",
    "River",
    "Echoes",
    "Satellites",
    "Mirror",
    "Summer",
    "Horizon",
    "Streets",
    "Waves",
    "Cathedral",
    "Parade",
    "Café",
    "Orchard",
    "Signals",
    "Fever",
    "Canyon",
    "Rooftops",
)
_FIRST = ("Ada", "Björn", "Chloé", "Dario", "Elena", "Farid", "Greta", "Hiro", "Inès", "Jonas", "Kofi", "Lena")
_LAST = ("Varga", "Okafor", "Lindqvist", "Moreau", "Santos", "Tanaka", "Novak", "Reyes", "Haddad", "Berg")
_GENRES = ("indie pop", "shoegaze", "synthwave", "jazz", "folk", "techno", "soul", "post-rock", "hip hop", "ambient")
_PLAYLIST_NAMES = ("Road Trip", "Late Night", "Focus", "Sunday Morning", "Workout", "Rainy Day")
_EPOCH = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _upc(rng: random.Random) -> str:
    digits = [rng.randrange(10) for _ in range(11)]
    check = (10 - (sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(digits)) % 10)) % 10
    return "".join(map(str, digits)) + str(check)


def _snapshot(ids: list[str]) -> str:
    return base64.b64encode(hashlib.sha256("\n".join(ids).encode()).digest()[:30]).decode()


def generate_library(
    tracks: int,
    *,
    seed: int = 0,
    tracks_per_album: int = 10,
    albums_per_artist: int = 3,
    playlists: int = 2,
    playlist_size: int = 30,
) -> SpotifyLibrary:
    """A deterministic synthetic library of ``tracks`` saved tracks (newest first), all with ISRCs.

    Every artist is followed, every 5th album is saved too (full album with its track
    list), and each playlist samples the saved tracks.
    """
    rng = random.Random(seed)
    used: set[str] = set()

    def new_id() -> str:
        while True:
            candidate = "".join(rng.choice(_BASE62) for _ in range(22))
            if candidate not in used:
                used.add(candidate)
                return candidate

    def title() -> str:
        return f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"

    n_albums = -(-tracks // tracks_per_album) if tracks > 0 else 0
    n_artists = -(-n_albums // albums_per_artist) if n_albums > 0 else 0
    artists = []
    registrants = []
    for i in range(n_artists):
        name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}" if i % 2 else f"The {title()}"
        artist_id = new_id()
        artists.append(
            artist(artist_id, name, genres=rng.sample(_GENRES, 2), image_url=f"{IMAGE_HOST}{artist_id.lower()}")
        )
        registrants.append("".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(3)))

    library = SpotifyLibrary(followed_artists=list(artists))
    all_tracks: list[dict] = []
    for a in range(n_albums):
        performer = artists[a // albums_per_artist]
        count = min(tracks_per_album, tracks - a * tracks_per_album)
        album_id = new_id()
        year = 1990 + rng.randrange(35)
        simple = album(
            album_id,
            title(),
            [performer],
            album_type="album" if count >= 5 else "single",
            release_date=f"{year}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
            total_tracks=count,
            image_url=f"{IMAGE_HOST}{album_id.lower()}",
        )
        album_tracks = []
        for n in range(count):
            index = len(all_tracks)
            isrc = f"QZ{registrants[a // albums_per_artist]}{(20 + index // 100_000) % 100:02d}{index % 100_000:05d}"
            album_tracks.append(
                track(
                    new_id(),
                    title(),
                    [performer],
                    simple,
                    isrc=isrc,
                    duration_ms=rng.randrange(120_000, 420_000),
                    track_number=n + 1,
                )
            )
            all_tracks.append(album_tracks[-1])
        if a % 5 == 0:
            full = dict(simple)
            full.update(
                copyrights=[{"text": f"(P) {year} {performer['name']}", "type": "P"}],
                external_ids={"upc": _upc(rng)},
                genres=[],
                label=f"{rng.choice(_NOUNS)} Records",
                popularity=_popularity(album_id),
                tracks=[simplified_track(t) for t in album_tracks],
            )
            library.saved_albums.append({"added_at": _iso(_EPOCH - timedelta(days=a)), "album": full})

    # Spotify lists saved tracks most recent first.
    library.saved_tracks = [
        {"added_at": _iso(_EPOCH - timedelta(minutes=37 * i)), "track": t} for i, t in enumerate(all_tracks)
    ]
    owner = user(USER_ID, "Stand-in User")
    for p in range(playlists):
        picked = rng.sample(all_tracks, min(playlist_size, len(all_tracks)))
        playlist_id = new_id()
        items = [
            {
                "added_at": _iso(_EPOCH - timedelta(hours=5 * i + p)),
                "added_by": dict(owner),
                "is_local": False,
                "track": t,
            }
            for i, t in enumerate(picked)
        ]
        name = _PLAYLIST_NAMES[p % len(_PLAYLIST_NAMES)]
        if p >= len(_PLAYLIST_NAMES):
            name = f"{name} {p // len(_PLAYLIST_NAMES) + 1}"
        library.playlists.append(
            playlist(playlist_id, name, USER_ID, snapshot_id=_snapshot([t["id"] for t in picked]), total=len(items))
        )
        library.playlist_items[playlist_id] = items
    return library


_PLAYLIST_ID_IN_HREF = re.compile(r"playlists/([0-9A-Za-z]+)/(?:tracks|items)")


def library_from_recordings(folder: Path) -> SpotifyLibrary:
    """A library of the recorded items, as they are.

    ``folder`` is spotify-web-api-java's ``src/test/fixtures/requests/data``. The recorded
    playlist items belong to a playlist missing from the recorded playlist list, so it is
    added (named after its id); the two listed playlists have no recorded items and serve
    none. A recorded item without a track is served with ``"track": null``, as Spotify
    does for tracks that are gone.
    """

    def load(relative: str) -> dict:
        return json.loads((folder / relative).read_text(encoding="utf-8"))

    library = SpotifyLibrary()
    library.saved_tracks = list(load("library/GetUsersSavedTracksRequest.json")["items"])
    for entry in load("library/GetCurrentUsersSavedAlbumsRequest.json")["items"]:
        recorded = dict(entry["album"])
        listing = recorded.get("tracks")
        recorded["tracks"] = list(listing.get("items") or []) if isinstance(listing, dict) else list(listing or [])
        library.saved_albums.append({**entry, "album": recorded})
    for name in ("follow/GetUsersFollowedArtistsRequest.json", "follow/GetUsersFollowedArtistsRequest_None.json"):
        library.followed_artists.extend(load(name)["artists"]["items"])

    library.playlists = list(load("playlists/GetListOfCurrentUsersPlaylistsRequest.json")["items"])
    for listed in library.playlists:
        library.playlist_items.setdefault(listed["id"], [])
    for name in ("playlists/GetPlaylistsItemsRequest.json", "playlists/GetPlaylistsItemsRequest_Episode.json"):
        page = load(name)
        match = _PLAYLIST_ID_IN_HREF.search(page["href"])
        playlist_id = match.group(1) if match else name
        items = library.playlist_items.setdefault(playlist_id, [])
        for entry in page["items"]:
            items.append({**entry, "track": entry.get("track")})
    for playlist_id, items in library.playlist_items.items():
        if not any(p["id"] == playlist_id for p in library.playlists):
            owner = (items[0].get("added_by") or {}).get("id") if items else USER_ID
            ids = [str((e.get("track") or {}).get("id")) for e in items]
            library.playlists.append(
                playlist(playlist_id, playlist_id, owner or USER_ID, snapshot_id=_snapshot(ids), total=len(items))
            )
    return library


# -- the server -------------------------------------------------------------------


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.casefold()))


def _api_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(status, {"error": {"status": status, "message": message}}, dict(headers or {}))


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    return Response(status, {"error": error, "error_description": description})


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).decode().rstrip("=")


@dataclass
class _AccessToken:
    expires_at: float
    scope: str


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    scope: str


class SpotifyStandin(StandinServer):
    """The Web API under ``/v1/`` and the accounts server at the root, on one port.

    ``path_prefix`` serves both below a path instead (``/proxy/spotify/v1/``), as behind a
    reverse proxy. ``link_base`` is the origin the paging links name: by default the
    stand-in's own address; ``API_ORIGIN`` names Spotify's public host, as the real API
    does however it is reached (a proxy passes the bodies through unchanged).
    """

    def __init__(
        self,
        library: SpotifyLibrary,
        *,
        client_id: str = "soulspot-test-client",
        page_limit_max: int = 50,
        token_lifetime_s: int = 3600,
        path_prefix: str = "",
        link_base: str | None = None,
    ) -> None:
        super().__init__()
        self.library = library
        self.client_id = client_id
        self.page_limit_max = page_limit_max
        self.token_lifetime_s = token_lifetime_s
        self.path_prefix = f"/{path_prefix.strip('/')}" if path_prefix.strip("/") else ""
        self.link_base = link_base.rstrip("/") if link_base else None
        self._repeating: dict[str, int] = {}
        # Spotify sometimes answers a refresh without a new refresh token; that is the default here.
        self.rotate_refresh_tokens = False
        self._auth_lock = threading.Lock()
        self._codes: dict[str, _Grant] = {}
        self._access: dict[str, _AccessToken] = {}
        self._refresh: dict[str, bool] = {}  # refresh token -> revoked
        self._refresh_scope: dict[str, str] = {}
        self._removed: dict[str, int] = {}

    @property
    def api_url(self) -> str:
        return f"{self.url}{self.path_prefix}/v1/"

    @property
    def accounts_url(self) -> str:
        return f"{self.url}{self.path_prefix}"

    @property
    def _links(self) -> str:
        """The origin (and prefix) the answers' links name."""
        return self.link_base if self.link_base is not None else f"{self.url}{self.path_prefix}"

    # -- test controls ------------------------------------------------------------

    def issue_tokens(self, scope: str) -> dict:
        """A valid token set, as the token endpoint returns it after a login."""
        with self._auth_lock:
            return self._new_tokens(scope, with_refresh=True)

    def expire_access_tokens(self) -> None:
        """Every access token issued so far answers 401 from now on; refreshing still works."""
        with self._auth_lock:
            for token in self._access.values():
                token.expires_at = 0.0

    def revoke_refresh_tokens(self) -> None:
        """Every refresh token issued so far is refused from now on."""
        with self._auth_lock:
            for token in self._refresh:
                self._refresh[token] = True

    def remove_endpoint(self, path_prefix: str, status: int = 403) -> None:
        """Answer every request below ``path_prefix`` with ``status`` from now on, as for withdrawn endpoints."""
        self._removed[path_prefix] = status

    def repeat_next(self, path: str, from_offset: int = 0) -> None:
        """From now on, every page of the listing at ``path`` (``/v1/me/tracks``) at or past
        ``from_offset`` names itself as its ``next``: a server whose paging never advances."""
        self._repeating[path.rstrip("/")] = from_offset

    # -- dispatch -------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> Response:
        if path.startswith("/image/"):  # Spotify's image host (i.scdn.co)
            return Response(200, picture_for(path.rstrip("/")), {"Content-Type": "image/jpeg"})
        if self.path_prefix:
            if path != self.path_prefix and not path.startswith(f"{self.path_prefix}/"):
                return _api_error(404, "Service not found")
            path = path[len(self.path_prefix) :] or "/"
        route = path.rstrip("/") or "/"
        if route == "/authorize":
            return self._authorize(query) if method == "GET" else _api_error(405, "Method not allowed")
        if route == "/api/token":
            return self._token(headers, body) if method == "POST" else _api_error(405, "Method not allowed")
        if route != "/v1" and not route.startswith("/v1/"):
            return _api_error(404, "Service not found")
        refused = self._check_bearer(headers.get("authorization"))
        if refused is not None:
            return refused
        for prefix, status in list(self._removed.items()):
            if path.startswith(prefix):
                return _api_error(status, f"{HTTPStatus(status).phrase}: this endpoint is not available to this app")
        if method != "GET":
            return _api_error(405, "Method not allowed")
        response = self._api(route, path, query)
        response.body = serve_locally(response.body, IMAGE_HOST, f"{self.url}/image/")
        return response

    def _api(self, route: str, path: str, query: dict[str, str]) -> Response:
        parts = route.split("/")[2:]  # after "", "v1"
        lib = self.library
        if parts == ["me"]:
            profile = user(USER_ID, "Stand-in User")
            profile.update(followers={"href": None, "total": 0}, images=[])
            return Response(200, profile)
        if parts == ["me", "tracks"]:
            return self._paging(path, query, lib.saved_tracks)
        if parts == ["me", "albums"]:
            return self._paging(path, query, lib.saved_albums, transform=self._saved_album)
        if parts == ["me", "playlists"]:
            return self._paging(path, query, lib.playlists, transform=self._served_playlist)
        if parts == ["me", "following"]:
            return self._followed(path, query)
        if parts == ["search"]:
            return self._search(path, query)
        if len(parts) == 2 and parts[0] == "tracks":
            found = next((t for t in self._full_tracks() if t.get("id") == parts[1]), None)
            return Response(200, found) if found else _api_error(404, "Resource not found")
        if len(parts) == 2 and parts[0] == "albums":
            album_obj = next((a for a in lib.catalog_albums if a.get("id") == parts[1]), None)
            if album_obj is None:
                return _api_error(404, "Resource not found")
            embedded = self._album_tracks(parts[1]) or []
            served = {**album_obj, "tracks": self._paging_object(f"/v1/albums/{parts[1]}/tracks", {}, embedded, 0, 50)}
            return Response(200, served)
        if len(parts) == 3 and parts[0] == "artists" and parts[2] == "top-tracks":
            top = lib.top_tracks.get(parts[1])
            return Response(200, {"tracks": top}) if top is not None else _api_error(404, "Resource not found")
        if len(parts) == 2 and parts[0] == "playlists":
            found = next((p for p in lib.playlists if (p or {}).get("id") == parts[1]), None)
            return Response(200, self._served_playlist(found)) if found else _api_error(404, "Resource not found")
        if len(parts) == 3 and parts[0] == "albums" and parts[2] == "tracks":
            listing = self._album_tracks(parts[1])
            if listing is None:
                return _api_error(404, "Resource not found")
            return self._paging(path, query, listing)
        if len(parts) == 3 and parts[0] == "artists" and parts[2] == "albums":
            albums = lib.artist_albums.get(parts[1])
            if albums is None:
                return _api_error(404, "Resource not found")
            groups = {g for g in query.get("include_groups", "").split(",") if g}
            listed = [a for a in albums if not groups or a.get("album_group") in groups]
            return self._paging(path, query, listed, limit_max=50)
        if len(parts) == 3 and parts[0] == "playlists" and parts[2] in ("items", "tracks"):
            items = lib.playlist_items.get(parts[1])
            if items is None:
                return _api_error(404, "Resource not found")
            return self._paging(path, query, items, limit_max=100, transform=self._served_item)
        return _api_error(404, "Service not found")

    # -- accounts -------------------------------------------------------------------

    def _new_tokens(self, scope: str, *, with_refresh: bool) -> dict:
        access = "BQ" + secrets.token_urlsafe(48)
        self._access[access] = _AccessToken(time.monotonic() + self.token_lifetime_s, scope)
        answer = {"access_token": access, "token_type": "Bearer", "expires_in": self.token_lifetime_s}
        if with_refresh:
            refresh = "AQ" + secrets.token_urlsafe(64)
            self._refresh[refresh] = False
            self._refresh_scope[refresh] = scope
            answer["refresh_token"] = refresh
        answer["scope"] = scope
        return answer

    def _authorize(self, query: dict[str, str]) -> Response:
        if query.get("client_id") != self.client_id:
            return Response(400, "INVALID_CLIENT: Invalid client")
        redirect_uri = query.get("redirect_uri")
        if not redirect_uri:
            return Response(400, "INVALID_CLIENT: Invalid redirect URI")
        if query.get("response_type") != "code":
            return Response(400, "unsupported_response_type: response_type must be code")
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return Response(400, "invalid_request: code_challenge_method must be S256 with a code_challenge")
        code = "AQ" + secrets.token_urlsafe(96)
        with self._auth_lock:
            self._codes[code] = _Grant(self.client_id, redirect_uri, query["code_challenge"], query.get("scope", ""))
        params = {"code": code}
        if "state" in query:
            params["state"] = query["state"]
        separator = "&" if "?" in redirect_uri else "?"
        return Response(302, None, {"Location": f"{redirect_uri}{separator}{urlencode(params)}"})

    def _client_of(self, form: dict[str, str], headers: dict[str, str]) -> str | None:
        basic = headers.get("authorization") or ""
        if basic.lower().startswith("basic "):
            try:
                return base64.b64decode(basic[6:].strip()).decode().split(":", 1)[0]
            except (ValueError, UnicodeDecodeError):
                return None
        return form.get("client_id")

    def _token(self, headers: dict[str, str], body: bytes) -> Response:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        grant_type = form.get("grant_type")
        if not grant_type:
            return _oauth_error("unsupported_grant_type", "grant_type parameter is missing")
        if self._client_of(form, headers) != self.client_id:
            return _oauth_error("invalid_client", "Invalid client")
        with self._auth_lock:
            if grant_type == "authorization_code":
                grant = self._codes.get(form.get("code", ""))
                if grant is None:
                    return _oauth_error("invalid_grant", "Invalid authorization code")
                if form.get("redirect_uri") != grant.redirect_uri:
                    return _oauth_error("invalid_grant", "Invalid redirect URI")
                verifier = form.get("code_verifier")
                if not verifier or _challenge(verifier) != grant.challenge:
                    return _oauth_error("invalid_grant", "code_verifier was incorrect")
                del self._codes[form["code"]]
                return Response(200, self._new_tokens(grant.scope, with_refresh=True))
            if grant_type == "refresh_token":
                refresh = form.get("refresh_token", "")
                revoked = self._refresh.get(refresh)
                if revoked is None:
                    return _oauth_error("invalid_grant", "Invalid refresh token")
                if revoked:
                    return _oauth_error("invalid_grant", "Refresh token revoked")
                return Response(
                    200, self._new_tokens(self._refresh_scope[refresh], with_refresh=self.rotate_refresh_tokens)
                )
        return _oauth_error(
            "unsupported_grant_type", "grant_type must be client_credentials, authorization_code or refresh_token"
        )

    def _check_bearer(self, header: str | None) -> Response | None:
        if not header or not header.lower().startswith("bearer "):
            return self._unauthorized("No token provided")
        with self._auth_lock:
            token = self._access.get(header[7:].strip())
            if token is None:
                return self._unauthorized("Invalid access token")
            if time.monotonic() >= token.expires_at:
                return self._unauthorized("The access token expired")
        return None

    @staticmethod
    def _unauthorized(message: str) -> Response:
        challenge = f'Bearer realm="spotify", error="invalid_token", error_description="{message}"'
        return _api_error(401, message, {"WWW-Authenticate": challenge})

    # -- paging -----------------------------------------------------------------------

    def _page_url(self, path: str, query: dict[str, str], offset: int, limit: int) -> str:
        rest = {k: v for k, v in query.items() if k not in ("offset", "limit")}
        return f"{self._links}{path}?{urlencode({'offset': offset, 'limit': limit, **rest})}"

    def _paging(
        self,
        path: str,
        query: dict[str, str],
        items: Sequence[Any],
        *,
        limit_max: int | None = None,
        transform: Callable[[dict | None], dict | None] | None = None,
    ) -> Response:
        limit_max = limit_max or self.page_limit_max
        try:
            limit = int(query.get("limit", 20))
        except ValueError:
            return _api_error(400, "Invalid limit")
        try:
            offset = int(query.get("offset", 0))
        except ValueError:
            return _api_error(400, "Invalid offset")
        if not 1 <= limit <= limit_max:
            return _api_error(400, "Invalid limit")
        if offset < 0:
            return _api_error(400, "Invalid offset")
        return Response(200, self._paging_object(path, query, list(items), offset, limit, transform))

    def _paging_object(
        self,
        path: str,
        query: dict[str, str],
        items: Sequence[Any],
        offset: int,
        limit: int,
        transform: Callable[[dict | None], dict | None] | None = None,
    ) -> dict:
        total = len(items)
        page = items[offset : offset + limit]
        following = self._page_url(path, query, offset + limit, limit) if offset + limit < total else None
        stuck = self._repeating.get(path.rstrip("/"))
        if stuck is not None and offset >= stuck:
            following = self._page_url(path, query, offset, limit)
        return {
            "href": self._page_url(path, query, offset, limit),
            "items": [transform(i) for i in page] if transform else page,
            "limit": limit,
            "next": following,
            "offset": offset,
            "previous": self._page_url(path, query, max(0, offset - limit), limit) if offset > 0 else None,
            "total": total,
        }

    # The library may hold nulls and objects missing fields, as recorded answers do: they are
    # served as they are.

    def _saved_album(self, entry: dict | None) -> dict | None:
        recorded = dict((entry or {}).get("album") or {})
        if entry is None or not recorded.get("id"):
            return entry
        listing = recorded.get("tracks") or []
        if isinstance(listing, dict):
            listing = listing.get("items") or []
        album_id = recorded["id"]
        recorded["tracks"] = self._paging_object(f"/v1/albums/{album_id}/tracks", {}, list(listing), 0, 50)
        return {**entry, "album": recorded}

    def _full_tracks(self) -> list[dict]:
        """Every full track object the stand-in knows: the catalogue, saved tracks, playlist items."""
        lib = self.library
        found = [*lib.catalog_tracks, *((e or {}).get("track") for e in lib.saved_tracks)]
        for entries in lib.playlist_items.values():
            found.extend((e or {}).get("item") or (e or {}).get("track") for e in entries)
        return [t for t in found if isinstance(t, dict) and t.get("id") and t.get("type", "track") == "track"]

    def _search(self, path: str, query: dict[str, str]) -> Response:
        """``/search?type=track``: every known track whose name, artists and album hold all the query's words."""
        if "track" not in query.get("type", "").split(","):
            return _api_error(400, "Bad search type field")
        words = _words(query.get("q", ""))
        if not words:
            return _api_error(400, "No search query")
        seen: set[str] = set()
        hits = []
        for t in self._full_tracks():
            text = " ".join(
                [
                    t.get("name") or "",
                    *(a.get("name") or "" for a in t.get("artists") or ()),
                    (t.get("album") or {}).get("name") or "",
                ]
            )
            if t["id"] not in seen and words <= _words(text):
                seen.add(t["id"])
                hits.append(t)
        response = self._paging(path, query, hits, limit_max=50)
        if response.status == 200:
            response.body = {"tracks": response.body}
        return response

    def _album_tracks(self, album_id: str) -> list[dict] | None:
        for album_obj in self.library.catalog_albums:
            if album_obj.get("id") == album_id:
                listing = album_obj.get("tracks") or []
                return (listing.get("items") or []) if isinstance(listing, dict) else listing
        for entry in self.library.saved_albums:
            album_obj = (entry or {}).get("album") or {}
            if album_obj.get("id") == album_id:
                listing = album_obj.get("tracks") or []
                return (listing.get("items") or []) if isinstance(listing, dict) else listing
        # An album only known through saved tracks lists the saved ones among its tracks.
        found = [
            simplified_track(e["track"])
            for e in self.library.saved_tracks
            if ((e or {}).get("track") or {}).get("album", {}).get("id") == album_id
        ]
        if not found:
            return None
        return sorted(found, key=lambda t: (t.get("disc_number", 1), t.get("track_number", 0)))

    def _served_playlist(self, obj: dict | None) -> dict | None:
        items = self.library.playlist_items.get((obj or {}).get("id") or "")
        if obj is None or items is None:
            return obj
        served = dict(obj)
        base = f"{self._links}/v1/playlists/{obj['id']}"
        served["items"] = {"href": f"{base}/items", "total": len(items)}
        served["tracks"] = {"href": f"{base}/tracks", "total": len(items)}
        return served

    @staticmethod
    def _served_item(entry: dict | None) -> dict | None:
        # Spotify now names the playlist entry's object `item`, keeping `track` as a deprecated alias.
        if entry is None or "item" in entry:
            return entry
        return {**entry, "item": entry.get("track")}

    def _followed(self, path: str, query: dict[str, str]) -> Response:
        if query.get("type") != "artist":
            return _api_error(400, "Bad request: type must be artist")
        try:
            limit = int(query.get("limit", 20))
        except ValueError:
            return _api_error(400, "Invalid limit")
        if not 1 <= limit <= self.page_limit_max:
            return _api_error(400, "Invalid limit")
        after = query.get("after")
        ordered = sorted(self.library.followed_artists, key=lambda a: str((a or {}).get("id") or ""))
        remaining = [a for a in ordered if after is None or str((a or {}).get("id") or "") > after]
        page = remaining[:limit]
        more = len(remaining) > limit
        last = str((page[-1] or {}).get("id") or "") if page and more else None
        href_params = {"type": "artist", **({"after": after} if after else {}), "limit": limit}
        return Response(
            200,
            {
                "artists": {
                    "href": f"{self._links}{path}?{urlencode(href_params)}",
                    "items": page,
                    "limit": limit,
                    "next": f"{self._links}{path}?{urlencode({'type': 'artist', 'after': last, 'limit': limit})}"
                    if more
                    else None,
                    "cursors": {"after": last},
                    "total": len(ordered),
                }
            },
        )
