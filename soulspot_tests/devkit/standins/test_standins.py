"""The stand-in servers speak the services' wire format: paging, OAuth with PKCE, errors and faults."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import spotipy
from spotipy.cache_handler import MemoryCacheHandler

from soulspot_pipeline.devkit.standins import deezer, spotify
from soulspot_pipeline.devkit.standins.coverart import serve_locally
from soulspot_pipeline.devkit.standins.deezer import DeezerStandin
from soulspot_pipeline.devkit.standins.spotify import SpotifyStandin
from soulspot_tests.conftest import REALDATA

SPOTIFY_RECORDINGS = REALDATA / "spotify" / "spotify-web-api-java" / "src" / "test" / "fixtures" / "requests" / "data"
DEEZER_RECORDINGS = REALDATA / "deezer" / "deezer-python" / "extracted-json"
REDIRECT_URI = "http://127.0.0.1:8888/callback"
SCOPE = "user-library-read user-follow-read playlist-read-private"


def _recordings(folder: Path) -> Path:
    if not folder.is_dir():
        pytest.skip(
            f"real recorded responses not present at {folder} (they are only beside the project in CI and development)"
        )
    return folder


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


@pytest.fixture
def spotify_standin():
    with SpotifyStandin(spotify.generate_library(1000, tracks_per_album=60, albums_per_artist=2)) as standin:
        yield standin


@pytest.fixture
def api(spotify_standin):
    token = spotify_standin.issue_tokens(SCOPE)["access_token"]
    with httpx.Client(
        base_url=spotify_standin.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=5
    ) as client:
        yield client


def _walk(client: httpx.Client, url: str, params: dict | None = None) -> tuple[list[dict], list[dict]]:
    pages, items = [], []
    while url:
        response = client.get(url, params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page)
        items.extend(page["items"])
        url, params = page["next"], None
    return pages, items


# -- Spotify: paging ------------------------------------------------------------------


def test_generated_library_is_deterministic_and_well_formed():
    first, again = spotify.generate_library(300, seed=3), spotify.generate_library(300, seed=3)
    assert first == again
    assert first != spotify.generate_library(300, seed=4)
    tracks = [e["track"] for e in first.saved_tracks]
    assert len(tracks) == 300 and len({t["id"] for t in tracks}) == 300
    assert all(len(t["id"]) == 22 and t["id"].isalnum() for t in tracks)
    isrcs = [t["external_ids"]["isrc"] for t in tracks]
    assert len(set(isrcs)) == 300 and all(len(i) == 12 for i in isrcs)
    assert len(first.saved_albums) == 6  # albums 0, 5, ..., 25 of 30
    assert all(e["album"]["tracks"] and "album" not in e["album"]["tracks"][0] for e in first.saved_albums)
    assert all(e["album"]["external_ids"]["upc"] for e in first.saved_albums)
    assert len(first.followed_artists) == 10
    assert [len(first.playlist_items[p["id"]]) for p in first.playlists] == [30, 30]
    assert tracks[0]["uri"] == f"spotify:track:{tracks[0]['id']}" and tracks[0]["album"]["type"] == "album"


def test_saved_tracks_page_to_the_exact_total(spotify_standin, api):
    pages, items = _walk(api, "me/tracks", {"limit": 50})
    assert len(pages) == 20 and len(items) == 1000
    assert [e["track"]["id"] for e in items] == [e["track"]["id"] for e in spotify_standin.library.saved_tracks]
    assert all(p["total"] == 1000 and p["limit"] == 50 for p in pages)
    assert pages[0]["previous"] is None and pages[1]["previous"].endswith("/v1/me/tracks?offset=0&limit=50")
    assert pages[0]["next"] == f"{spotify_standin.url}/v1/me/tracks?offset=50&limit=50"
    assert spotify_standin.in_flight_max == 1 and spotify_standin.count("/v1/me/tracks") == 20

    default = api.get("me/tracks").json()
    assert default["limit"] == 20 and len(default["items"]) == 20
    too_many = api.get("me/tracks", params={"limit": 51})
    assert too_many.status_code == 400 and too_many.json()["error"]["status"] == 400


def test_library_changes_show_in_the_next_sync(spotify_standin, api):
    library = spotify_standin.library
    removed = library.saved_tracks.pop(3)
    library.saved_tracks.insert(0, {"added_at": "2025-01-01T00:00:00Z", "track": removed["track"]})
    library.saved_tracks.pop()
    _, items = _walk(api, "me/tracks", {"limit": 50})
    assert len(items) == 999 and items[0]["added_at"] == "2025-01-01T00:00:00Z"


def test_saved_albums_carry_their_first_fifty_tracks_and_a_next_link(spotify_standin, api):
    _, albums = _walk(api, "me/albums", {"limit": 50})
    assert len(albums) == len(spotify_standin.library.saved_albums) == 4
    listing = albums[0]["album"]["tracks"]
    album_id = albums[0]["album"]["id"]
    assert listing["total"] == 60 and len(listing["items"]) == 50 and listing["offset"] == 0
    assert listing["next"] == f"{spotify_standin.url}/v1/albums/{album_id}/tracks?offset=50&limit=50"
    rest = api.get(listing["next"]).json()
    assert len(rest["items"]) == 10 and rest["next"] is None
    numbers = [t["track_number"] for t in listing["items"] + rest["items"]]
    assert numbers == list(range(1, 61))
    with_slash = api.get(f"albums/{album_id}/tracks/", params={"limit": 5, "offset": 55}).json()
    assert [t["track_number"] for t in with_slash["items"]] == [56, 57, 58, 59, 60]
    assert api.get("albums/0000000000000000000000/tracks").status_code == 404


def test_followed_artists_use_cursor_paging(spotify_standin, api):
    pages, artists = [], []
    url, params = "me/following", {"type": "artist", "limit": 3}
    while url:
        body = api.get(url, params=params).json()["artists"]
        pages.append(body)
        artists.extend(body["items"])
        url, params = body["next"], None
    ids = sorted(a["id"] for a in spotify_standin.library.followed_artists)
    assert [a["id"] for a in artists] == ids and len(ids) == 9
    assert len(pages) == 3 and all(p["total"] == 9 for p in pages)
    assert pages[0]["cursors"]["after"] == ids[2] and f"after={ids[2]}" in pages[0]["next"]
    assert pages[-1]["cursors"]["after"] is None and pages[-1]["next"] is None
    assert all("offset" not in p for p in pages)
    assert api.get("me/following", params={"type": "user"}).status_code == 400


def test_playlists_and_their_items(spotify_standin, api):
    _, playlists = _walk(api, "me/playlists")
    assert len(playlists) == 2
    for listed in playlists:
        assert listed["items"]["total"] == listed["tracks"]["total"] == 30
        _, items = _walk(api, f"playlists/{listed['id']}/items", {"limit": 100})
        assert len(items) == 30 and all(i["item"] == i["track"] for i in items)
        _, legacy = _walk(api, f"playlists/{listed['id']}/tracks", {"limit": 7})
        assert legacy == items
    assert api.get("playlists/x/items", params={"limit": 101}).status_code == 404
    assert api.get(f"playlists/{playlists[0]['id']}/items", params={"limit": 101}).status_code == 400
    missing = api.get("playlists/0000000000000000000000/items")
    assert missing.status_code == 404 and missing.json() == {"error": {"status": 404, "message": "Resource not found"}}
    assert api.get("no/such/endpoint").status_code == 404


def test_spotify_below_a_path_prefix_with_links_naming_the_public_api():
    library = spotify.generate_library(120)
    with SpotifyStandin(library, path_prefix="/proxy/spotify/", link_base=spotify.API_ORIGIN) as standin:
        assert standin.api_url == f"{standin.url}/proxy/spotify/v1/"
        assert standin.accounts_url == f"{standin.url}/proxy/spotify"
        auth = {"Authorization": f"Bearer {standin.issue_tokens(SCOPE)['access_token']}"}
        page = httpx.get(f"{standin.api_url}me/tracks", params={"limit": 50}, headers=auth).json()
        assert page["next"] == "https://api.spotify.com/v1/me/tracks?offset=50&limit=50"
        assert page["href"].startswith("https://api.spotify.com/v1/me/tracks")
        # Only below the prefix: a client that follows the links as they are reaches nothing here.
        assert httpx.get(f"{standin.url}/v1/me/tracks", headers=auth).status_code == 404
        assert httpx.get(f"{standin.accounts_url}/authorize").status_code == 400  # the accounts server is there too

        standin.repeat_next("/v1/me/tracks", from_offset=50)
        first = httpx.get(f"{standin.api_url}me/tracks", params={"limit": 50}, headers=auth).json()
        stuck = httpx.get(f"{standin.api_url}me/tracks", params={"limit": 50, "offset": 50}, headers=auth).json()
        assert first["next"].endswith("offset=50&limit=50") and stuck["next"] == stuck["href"]
        assert [t["track"]["id"] for t in stuck["items"]] == [e["track"]["id"] for e in library.saved_tracks[50:100]]


def test_spotify_serves_nulls_and_objects_without_ids_as_they_are(spotify_standin, api):
    library = spotify_standin.library
    library.saved_tracks[:0] = [None, {"added_at": "2026-01-01T00:00:00Z", "track": None}]
    library.saved_albums.insert(0, None)
    library.saved_albums.insert(1, {"album": {"name": "no id"}})
    library.followed_artists.insert(0, None)
    library.playlists[:0] = [None, {"name": "no id"}]
    assert api.get("me/tracks").json()["items"][:2] == library.saved_tracks[:2]
    assert api.get("me/albums").json()["items"][:2] == [None, {"album": {"name": "no id"}}]
    assert None in api.get("me/following", params={"type": "artist", "limit": 50}).json()["artists"]["items"]
    assert api.get("me/playlists").json()["items"][:2] == [None, {"name": "no id"}]


# -- Spotify: OAuth with PKCE -----------------------------------------------------------


def _authorize(standin: SpotifyStandin, verifier: str, *, client_id: str | None = None) -> httpx.Response:
    return httpx.get(
        f"{standin.accounts_url}/authorize",
        params={
            "client_id": client_id or standin.client_id,
            "response_type": "code",
            "redirect_uri": REDIRECT_URI,
            "code_challenge_method": "S256",
            "code_challenge": _challenge(verifier),
            "state": "xyz-123",
            "scope": SCOPE,
        },
    )


def _code(standin: SpotifyStandin, verifier: str) -> str:
    response = _authorize(standin, verifier)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    query = parse_qs(location.query)
    assert query["state"] == ["xyz-123"]
    return query["code"][0]


def _exchange(standin: SpotifyStandin, code: str, verifier: str) -> httpx.Response:
    return httpx.post(
        f"{standin.accounts_url}/api/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": standin.client_id,
            "code_verifier": verifier,
        },
    )


def _refresh(standin: SpotifyStandin, refresh_token: str) -> httpx.Response:
    return httpx.post(
        f"{standin.accounts_url}/api/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": standin.client_id},
    )


def test_pkce_login_refresh_and_revocation(spotify_standin):
    standin = spotify_standin
    assert _authorize(standin, "v" * 64, client_id="someone-else").status_code == 400

    verifier = secrets.token_urlsafe(64)
    wrong = _exchange(standin, _code(standin, verifier), "not-the-verifier" * 4)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"

    code = _code(standin, verifier)
    tokens = _exchange(standin, code, verifier)
    assert tokens.status_code == 200
    body = tokens.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["scope"] == SCOPE
    assert body["access_token"] and body["refresh_token"]
    assert _exchange(standin, code, verifier).json()["error"] == "invalid_grant"  # a code works once

    me = httpx.get(f"{standin.api_url}me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.json()["id"] == "standin-user" and me.json()["type"] == "user"

    refreshed = _refresh(standin, body["refresh_token"])
    assert refreshed.status_code == 200 and "refresh_token" not in refreshed.json()
    new_access = refreshed.json()["access_token"]
    assert httpx.get(f"{standin.api_url}me", headers={"Authorization": f"Bearer {new_access}"}).status_code == 200

    standin.revoke_refresh_tokens()
    refused = _refresh(standin, body["refresh_token"])
    assert refused.status_code == 400
    assert refused.json() == {"error": "invalid_grant", "error_description": "Refresh token revoked"}
    assert _refresh(standin, "never-issued").json()["error"] == "invalid_grant"


def test_spotipy_pkce_manager_logs_in_and_refreshes(spotify_standin):
    auth = spotipy.SpotifyPKCE(
        client_id=spotify_standin.client_id,
        redirect_uri=REDIRECT_URI,
        scope=SCOPE,
        cache_handler=MemoryCacheHandler(),
        open_browser=False,
    )
    auth.OAUTH_AUTHORIZE_URL = f"{spotify_standin.accounts_url}/authorize"
    auth.OAUTH_TOKEN_URL = f"{spotify_standin.accounts_url}/api/token"
    redirect = httpx.get(auth.get_authorize_url())
    assert redirect.status_code == 302
    code = parse_qs(urlsplit(redirect.headers["Location"]).query)["code"][0]
    access = auth.get_access_token(code=code, check_cache=False)
    first = auth.cache_handler.get_cached_token()
    refreshed = auth.refresh_access_token(first["refresh_token"])
    assert refreshed["access_token"] != access
    assert refreshed["refresh_token"] == first["refresh_token"]  # spotipy keeps the old one when none comes back


def test_expired_and_unknown_tokens_answer_401(spotify_standin, api):
    assert api.get("me/tracks").status_code == 200
    spotify_standin.expire_access_tokens()
    expired = api.get("me/tracks")
    assert expired.status_code == 401
    assert expired.json() == {"error": {"status": 401, "message": "The access token expired"}}
    unknown = httpx.get(f"{spotify_standin.api_url}me", headers={"Authorization": "Bearer nope"})
    assert unknown.status_code == 401 and unknown.json()["error"]["message"] == "Invalid access token"
    assert httpx.get(f"{spotify_standin.api_url}me").status_code == 401

    with SpotifyStandin(spotify.SpotifyLibrary(), token_lifetime_s=0) as short_lived:
        token = short_lived.issue_tokens(SCOPE)["access_token"]
        answer = httpx.get(f"{short_lived.api_url}me", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401 and answer.json()["error"]["message"] == "The access token expired"


def test_injected_429_then_success(spotify_standin, api):
    spotify_standin.inject("/v1/me/tracks", status=429, headers={"Retry-After": "2"}, times=2)
    for _ in range(2):
        limited = api.get("me/tracks")
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"
    assert api.get("me/albums").status_code == 200  # other paths are untouched
    assert api.get("me/tracks").status_code == 200
    assert spotify_standin.count("/v1/me/tracks") == 3
    assert [r.path for r in spotify_standin.requests[-4:]] == [
        "/v1/me/tracks",
        "/v1/me/tracks",
        "/v1/me/albums",
        "/v1/me/tracks",
    ]


def test_removed_endpoint_answers_403(spotify_standin, api):
    spotify_standin.remove_endpoint("/v1/me/following")
    for _ in range(3):
        refused = api.get("me/following", params={"type": "artist"})
        assert refused.status_code == 403 and refused.json()["error"]["status"] == 403
    assert api.get("me/tracks").status_code == 200


def test_spotipy_reads_everything_from_the_standin(spotify_standin):
    token = spotify_standin.issue_tokens(SCOPE)["access_token"]
    sp = spotipy.Spotify(auth=token, requests_timeout=5)
    sp.prefix = spotify_standin.api_url

    page, saved = sp.current_user_saved_tracks(limit=50), []
    while page:
        saved.extend(page["items"])
        page = sp.next(page)
    assert len(saved) == 1000

    result, artists = sp.current_user_followed_artists(limit=4), []
    while result:
        artists.extend(result["artists"]["items"])
        result = sp.next(result["artists"])
    assert len(artists) == len(spotify_standin.library.followed_artists)

    playlist_id = spotify_standin.library.playlists[0]["id"]
    items = sp.playlist_items(playlist_id, limit=20)
    assert items["total"] == 30 and len(sp.next(items)["items"]) == 10

    album_id = spotify_standin.library.saved_albums[0]["album"]["id"]
    listing = sp.album_tracks(album_id)
    assert listing["total"] == 60 and len(sp.next(listing)["items"]) == 10


def test_spotify_library_from_recordings():
    folder = _recordings(SPOTIFY_RECORDINGS)
    library = spotify.library_from_recordings(folder)
    recorded_tracks = json.loads((folder / "library" / "GetUsersSavedTracksRequest.json").read_text())["items"]
    recorded_items = json.loads((folder / "playlists" / "GetPlaylistsItemsRequest_Episode.json").read_text())["items"]
    with SpotifyStandin(library) as standin:
        sp = spotipy.Spotify(auth=standin.issue_tokens(SCOPE)["access_token"], requests_timeout=5)
        sp.prefix = standin.api_url
        # Served verbatim, except that pictures come from the stand-in's own image host.
        assert sp.current_user_saved_tracks()["items"] == serve_locally(
            recorded_tracks, spotify.IMAGE_HOST, f"{standin.url}/image/"
        )
        cover = sp.current_user_saved_tracks()["items"][0]["track"]["album"]["images"][0]["url"]
        assert cover.startswith(f"{standin.url}/image/") and httpx.get(cover).content.startswith(b"\xff\xd8")

        albums = sp.current_user_saved_albums()["items"]
        assert albums and all(a["album"]["tracks"]["total"] == len(a["album"]["tracks"]["items"]) for a in albums)
        followed = sp.current_user_followed_artists()["artists"]
        assert followed["total"] == len(library.followed_artists) >= 1

        playlists = sp.current_user_playlists()["items"]
        with_items = [p for p in playlists if p["items"]["total"]]
        assert len(playlists) == 3 and len(with_items) == 1
        entries = sp.playlist_items(with_items[0]["id"])["items"]
        episode = serve_locally(recorded_items[0]["track"], spotify.IMAGE_HOST, f"{standin.url}/image/")
        assert entries[-1]["track"] == episode and entries[-1]["track"]["type"] == "episode"
        assert any(e["track"] is None and e["item"] is None for e in entries)
        assert len(entries) == with_items[0]["items"]["total"]


# -- Deezer -------------------------------------------------------------------------------


@pytest.fixture
def deezer_standin():
    with DeezerStandin(deezer.generate_library(260, user_id="5")) as standin:
        yield standin


def _walk_deezer(url: str, params: dict | None = None) -> tuple[list[dict], list[dict]]:
    pages, data = [], []
    with httpx.Client(timeout=5) as client:
        while url:
            page = client.get(url, params=params).json()
            assert "error" not in page, page
            pages.append(page)
            data.extend(page["data"])
            url, params = page.get("next"), None
    return pages, data


def test_deezer_generated_library_shapes():
    library = deezer.generate_library(260, seed=1)
    assert library == deezer.generate_library(260, seed=1)
    assert len(library.tracks) == 260 and len({t["id"] for t in library.tracks}) == 260
    assert all(isinstance(t["id"], int) and t["time_add"] > 0 and t["type"] == "track" for t in library.tracks)
    assert len(library.albums) == 6 and len(library.artists) == 9 and len(library.album_tracks) == 26
    listing = next(iter(library.album_tracks.values()))
    assert [t["track_position"] for t in listing] == list(range(1, 11)) and all(len(t["isrc"]) == 12 for t in listing)
    assert set(library.playlist_tracks) == {p["id"] for p in library.playlists}


def test_deezer_paging_walks_every_page(deezer_standin):
    library = deezer_standin.library
    pages, data = _walk_deezer(f"{deezer_standin.api_url}user/5/tracks")
    assert len(pages) == 11 and len(data) == 260 and [t["id"] for t in data] == [t["id"] for t in library.tracks]
    assert all(p["total"] == 260 for p in pages)
    assert "prev" not in pages[0] and pages[1]["prev"] == f"{deezer_standin.url}/user/5/tracks?index=0"
    assert pages[0]["next"] == f"{deezer_standin.url}/user/5/tracks?index=25" and "next" not in pages[-1]

    pages, data = _walk_deezer(f"{deezer_standin.api_url}user/5/tracks", {"limit": 100, "index": 0})
    assert len(pages) == 3 and len(data) == 260 and pages[0]["next"].endswith("?limit=100&index=100")

    for what, expected in (("albums", library.albums), ("artists", library.artists), ("playlists", library.playlists)):
        _, data = _walk_deezer(f"{deezer_standin.api_url}user/5/{what}", {"limit": 4})
        assert [d["id"] for d in data] == [e["id"] for e in expected]
    playlist = library.playlists[0]
    _, data = _walk_deezer(f"{deezer_standin.api_url}playlist/{playlist['id']}/tracks")
    assert len(data) == playlist["nb_tracks"] == 30
    album_id = library.albums[0]["id"]
    _, data = _walk_deezer(f"{deezer_standin.api_url}album/{album_id}/tracks")
    assert data == serve_locally(library.album_tracks[album_id], deezer.CDN, f"{deezer_standin.url}{deezer.LOCAL_CDN}")


def test_deezer_errors_come_as_http_200(deezer_standin):
    no_data = {"error": {"type": "DataException", "message": "no data", "code": 800}}
    for path in ("user/6/tracks", "playlist/1/tracks", "album/1/tracks", "user/5/nothing"):
        response = httpx.get(f"{deezer_standin.api_url}{path}")
        assert response.status_code == 200 and response.json() == no_data, path

    deezer_standin.quota_exceeded(times=2)
    for _ in range(2):
        response = httpx.get(f"{deezer_standin.api_url}user/5/tracks")
        assert response.status_code == 200
        assert response.json() == {"error": {"type": "Exception", "message": "Quota limit exceeded", "code": 4}}
    assert "data" in httpx.get(f"{deezer_standin.api_url}user/5/tracks").json()
    assert deezer_standin.count("/user/5/tracks") == 3


def test_deezer_below_a_path_prefix_with_links_naming_the_public_api():
    with DeezerStandin(deezer.generate_library(60, user_id="5"), path_prefix="dz", link_base=deezer.API) as standin:
        assert standin.api_url == f"{standin.url}/dz/"
        page = httpx.get(f"{standin.api_url}user/5/tracks", params={"limit": 25}).json()
        assert page["next"] == "https://api.deezer.com/user/5/tracks?limit=25&index=25"
        assert httpx.get(f"{standin.url}/user/5/tracks").status_code == 404
        standin.repeat_next("/user/5/tracks", from_index=25)
        stuck = httpx.get(f"{standin.api_url}user/5/tracks", params={"limit": 25, "index": 25}).json()
        assert stuck["next"] == "https://api.deezer.com/user/5/tracks?limit=25&index=25"


def test_in_flight_max_counts_concurrent_requests(deezer_standin):
    deezer_standin.delay_s = 0.2
    with httpx.Client(timeout=5) as client, ThreadPoolExecutor(5) as pool:
        statuses = list(pool.map(lambda _: client.get(f"{deezer_standin.api_url}user/5/artists").status_code, range(5)))
    assert statuses == [200] * 5
    assert deezer_standin.in_flight_max == 5
    recorded = deezer_standin.requests
    assert len(recorded) == 5 and max(r.started for r in recorded) < min(r.finished for r in recorded)
    assert all(r.finished - r.started >= 0.2 and r.method == "GET" for r in recorded)


def test_deezer_library_from_recordings():
    folder = _recordings(DEEZER_RECORDINGS)
    library = deezer.library_from_recordings(folder)
    recorded_tracks = json.loads((folder / "TestClient.test_get_user_tracks[args1]__0.json").read_text())
    recorded_albums = json.loads((folder / "TestArtist.test_get_albums__1.json").read_text())["data"]
    recorded_error = json.loads((folder / "TestClient.test_no_track_raise__0.json").read_text())
    with DeezerStandin(library) as standin:
        served = httpx.get(f"{standin.api_url}user/5/tracks").json()
        local = serve_locally(recorded_tracks["data"], deezer.CDN, f"{standin.url}{deezer.LOCAL_CDN}")
        assert served["data"] == local and served["total"] == recorded_tracks["total"]
        assert httpx.get(served["data"][0]["album"]["cover_xl"]).content.startswith(b"\xff\xd8")
        _, albums = _walk_deezer(f"{standin.api_url}user/5/albums")
        assert [a["title"] for a in albums] == [a["title"] for a in recorded_albums]
        assert all(a["artist"]["id"] == 27 and a["time_add"] for a in albums)
        _, artists = _walk_deezer(f"{standin.api_url}user/5/artists")
        assert {a["id"] for a in artists} == {t["artist"]["id"] for t in recorded_tracks["data"]}
        assert httpx.get(f"{standin.api_url}user/404/tracks").json() == recorded_error
