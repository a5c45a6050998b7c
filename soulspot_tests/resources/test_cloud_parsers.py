"""Every parser of Spotify and Deezer objects takes null, or nothing, for every field.

Objects shaped like the real APIs (the stand-ins' builders, self-contained) and the real
recorded ones (../shared/realdata, when present) are varied: each field at any depth is set
to null or dropped, alone (every variant, exhaustively) and several at once (hypothesis).
Whatever is left, a parser returns a record whose values have their types, or a skip with
its reason; it never raises.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soulspot_pipeline.devkit.standins import deezer as dz
from soulspot_pipeline.devkit.standins import spotify as sp
from soulspot_pipeline.domain.cloud import (
    SKIP_REASONS,
    CloudAlbum,
    CloudArtist,
    CloudPlaylist,
    CloudTrack,
    Liked,
    Skipped,
)
from soulspot_pipeline.resources import deezer as deezer_parse
from soulspot_pipeline.resources import spotify as spotify_parse
from soulspot_pipeline.resources.retrying import HttpFailure

EXAMPLES = 300
MUTATIONS = ("null", "drop")
Path_ = tuple[str | int, ...]


# -- what each parser may return ---------------------------------------------------------------


def _artist_ok(artist: object) -> None:
    assert isinstance(artist, CloudArtist)
    assert isinstance(artist.artist_id, str) and isinstance(artist.name, str)
    assert all(isinstance(g, str) for g in artist.genres)
    assert artist.image_url is None or isinstance(artist.image_url, str)


def _opt(value: object, kind: type) -> None:
    assert value is None or (isinstance(value, kind) and not isinstance(value, bool)), value


def _album_ok(album: object) -> None:
    assert isinstance(album, CloudAlbum) and album.album_id and isinstance(album.album_id, str)
    assert isinstance(album.title, str)
    _artist_ok(album.artist)
    for text in (album.album_type, album.release_date, album.upc, album.image_url):
        _opt(text, str)
    _opt(album.total_tracks, int)


def _track_ok(track: object) -> None:
    assert isinstance(track, CloudTrack) and track.track_id and isinstance(track.track_id, str)
    assert isinstance(track.title, str)
    _artist_ok(track.artist)
    if track.album is not None:
        _album_ok(track.album)
    assert track.isrc is None or (isinstance(track.isrc, str) and len(track.isrc) == 12)
    for number in (track.duration_ms, track.track_number, track.disc_number):
        _opt(number, int)


def _valid(result: object) -> None:
    """A record with typed values, a skip with a known reason, or (Deezer's error check) None."""
    if isinstance(result, Skipped):
        assert result.reason in SKIP_REASONS
    elif isinstance(result, Liked):
        _opt(result.added_at, str)
        _valid(result.item)
    elif isinstance(result, tuple):  # (track, added_at) or (album, added_at, listing)
        _valid(result[0])
        _opt(result[1], str)
        if len(result) == 3:
            assert result[2] is None or isinstance(result[2].get("items"), list)
    elif isinstance(result, CloudTrack):
        _track_ok(result)
    elif isinstance(result, CloudAlbum):
        _album_ok(result)
    elif isinstance(result, CloudArtist):
        assert result.artist_id
        _artist_ok(result)
    elif isinstance(result, CloudPlaylist):
        assert result.playlist_id and isinstance(result.name, str)
        for text in (result.owner, result.version):
            _opt(text, str)
        _opt(result.track_count, int)
    elif isinstance(result, HttpFailure):
        assert isinstance(result.message, str) and isinstance(result.status, int)
    else:
        assert result is None, result


# -- the parsers and the objects they read -----------------------------------------------------

PARSERS: dict[str, Callable[[object], object]] = {
    "spotify saved track": spotify_parse.parse_saved_track,
    "spotify saved album": spotify_parse.parse_saved_album,
    "spotify track": spotify_parse.parse_track,
    "spotify album": spotify_parse.parse_album,
    "spotify artist": spotify_parse.parse_artist,
    "spotify playlist": spotify_parse.parse_playlist,
    "spotify playlist entry": spotify_parse.parse_playlist_entry,
    "deezer favorite track": deezer_parse.parse_favorite_track,
    "deezer track": deezer_parse.parse_track,
    "deezer album": deezer_parse.parse_album,
    "deezer artist": deezer_parse.parse_artist,
    "deezer playlist": deezer_parse.parse_playlist,
    "deezer error": deezer_parse.deezer_error,
}


@dataclass(frozen=True)
class Sample:
    parser: str
    obj: object
    paths: tuple[Path_, ...]


def field_paths(obj: object, here: Path_ = ()) -> Iterator[Path_]:
    """Every field at any depth: each key of an object, each element of a list of objects."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield (*here, key)
            yield from field_paths(value, (*here, key))
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            if isinstance(value, (dict, list)):
                yield (*here, index)
                yield from field_paths(value, (*here, index))


def mutated(obj: object, path: Path_, how: str) -> object:
    """``obj`` with the field at ``path`` null or gone, copying only along the path (parsers never write)."""
    if not path:
        return None
    head, rest = path[0], path[1:]
    if isinstance(obj, dict) and head in obj:
        copy = dict(obj)
        if rest:
            copy[head] = mutated(obj[head], rest, how)
        elif how == "null":
            copy[head] = None
        else:
            del copy[head]
        return copy
    if isinstance(obj, list) and isinstance(head, int) and head < len(obj):
        items = list(obj)
        if rest:
            items[head] = mutated(obj[head], rest, how)
        elif how == "null":
            items[head] = None
        else:
            del items[head]
        return items
    return obj  # a parent already went: nothing left to change


def sample(parser: str, obj: object) -> Sample:
    return Sample(parser, obj, tuple(field_paths(obj)))


def builtin_samples() -> list[Sample]:
    """Objects as the stand-ins serve them, shaped like the real APIs."""
    air = sp.artist("4aMeIVKmV7mXyd0pvUhI4s", "Air", genres=["french pop"], image_url="https://i.scdn.co/image/a")
    moon = sp.album("6ZU9RJIZ0fNaFuQM57bDIA", "Moon Safari", [air], upc="724384497811", image_url="https://i/b")
    sexy = sp.track("3t2VpuNfXG5PV7scRTcqpJ", "Sexy Boy", [air], moon, isrc="FRAB19800001", duration_ms=298_000)
    listing = {
        "href": f"{sp.API}/albums/{moon['id']}/tracks?offset=0&limit=50",
        "items": [sp.simplified_track(sexy)],
        "limit": 50,
        "next": None,
        "offset": 0,
        "previous": None,
        "total": 1,
    }
    road_trip = sp.playlist("37i9dQZF1DX0XUsuxWHRQd", "Road Trip", "me", snapshot_id="s1", total=1)
    entry = {"added_at": "2026-01-06T10:00:00Z", "added_by": sp.user("me"), "is_local": False}
    d_air = dz.artist(1422, "Air", picture_url="https://cdns-images.dzcdn.net/images/artist/ab/1000x1000.jpg")
    d_moon = dz.album(302127, "Moon Safari", d_air, upc="724384497811")
    d_sexy = dz.track(3135556, "Sexy Boy", d_air, d_moon, duration_s=298, isrc="FRAB19800001", track_position=2)
    return [
        sample("spotify saved track", {"added_at": "2026-01-05T10:00:00Z", "track": sexy}),
        sample("spotify saved album", {"added_at": "2026-01-03T10:00:00Z", "album": {**moon, "tracks": listing}}),
        sample("spotify track", sexy),
        sample("spotify album", moon),
        sample("spotify artist", air),
        sample("spotify playlist", road_trip),
        sample("spotify playlist entry", {**entry, "item": sexy, "track": sexy}),
        sample("spotify playlist entry", {**entry, "item": sp.episode("4GI3dxEafwap1sFiTGPKd1", "Episode 0")}),
        sample("deezer favorite track", {**d_sexy, "time_add": 1767225600}),
        sample("deezer track", d_sexy),
        sample("deezer album", {**d_moon, "time_add": 1767225600}),
        sample("deezer artist", {**d_air, "time_add": 1767225600}),
        sample("deezer playlist", dz.playlist(908622995, "Bain moussant", "5", "Me", [d_sexy], time_add=1767225600)),
        sample("deezer error", dz.NO_DATA),
        sample("deezer error", dz.QUOTA_EXCEEDED),
    ]


def recorded_samples(realdata: Path) -> list[Sample]:
    """Every recorded Spotify and Deezer object, each with the parser that reads its kind."""
    spotify = realdata / "spotify" / "spotify-web-api-java" / "src" / "test" / "fixtures" / "requests" / "data"
    deezer = realdata / "deezer" / "deezer-python" / "extracted-json"

    def load(folder: Path, name: str) -> dict:
        return json.loads((folder / name).read_text(encoding="utf-8"))

    found: list[Sample] = []
    add = found.extend
    add(sample("spotify saved track", e) for e in load(spotify, "library/GetUsersSavedTracksRequest.json")["items"])
    add(
        sample("spotify saved album", e)
        for e in load(spotify, "library/GetCurrentUsersSavedAlbumsRequest.json")["items"]
    )
    for name in ("follow/GetUsersFollowedArtistsRequest.json", "follow/GetUsersFollowedArtistsRequest_None.json"):
        add(sample("spotify artist", a) for a in load(spotify, name)["artists"]["items"])
    add(
        sample("spotify playlist", p)
        for p in load(spotify, "playlists/GetListOfCurrentUsersPlaylistsRequest.json")["items"]
    )
    for name in ("playlists/GetPlaylistsItemsRequest.json", "playlists/GetPlaylistsItemsRequest_Episode.json"):
        add(sample("spotify playlist entry", e) for e in load(spotify, name)["items"])
    playlist = load(spotify, "playlists/GetPlaylistRequest.json")
    add([sample("spotify playlist", playlist)])
    add(sample("spotify playlist entry", e) for e in playlist["tracks"]["items"])  # albums without artists
    add([sample("spotify track", load(spotify, "tracks/GetTrackRequest.json"))])
    album = load(spotify, "albums/GetAlbumRequest.json")
    add([sample("spotify album", album)])
    add(sample("spotify track", t) for t in album["tracks"]["items"])
    add(sample("spotify album", a) for a in load(spotify, "artists/GetArtistsAlbumsRequest.json")["items"])
    search = load(spotify, "search/SearchItemRequest.json")
    add(sample("spotify track", t) for t in search["tracks"]["items"])
    add(sample("spotify artist", a) for a in search["artists"]["items"])
    add(
        sample("spotify album", a)
        for a in load(spotify, "search/simplified/SearchAlbumsRequest.json")["albums"]["items"]
    )

    add(
        sample("deezer favorite track", t)
        for t in load(deezer, "TestClient.test_get_user_tracks[args1]__0.json")["data"]
    )
    add(sample("deezer album", a) for a in load(deezer, "TestArtist.test_get_albums__1.json")["data"])
    d_album = load(deezer, "TestClient.test_get_album__0.json")
    add([sample("deezer album", d_album)])
    add(sample("deezer track", t) for t in d_album["tracks"]["data"])
    d_playlist = load(deezer, "TestClient.test_get_playlist__0.json")
    add([sample("deezer playlist", d_playlist)])
    add(sample("deezer favorite track", t) for t in d_playlist["tracks"]["data"])
    add([sample("deezer track", load(deezer, "TestClient.test_get_track__0.json"))])
    add(sample("deezer track", t) for t in load(deezer, "TestClient.test_search_simple__0.json")["data"])
    add(sample("deezer album", a) for a in load(deezer, "TestClient.test_search_albums__0.json")["data"])
    for name in ("no_episode", "no_genre", "no_track"):
        add([sample("deezer error", load(deezer, f"TestClient.test_{name}_raise__0.json"))])
    return found


# -- the checks ---------------------------------------------------------------------------------


def every_single_variant(samples: list[Sample]) -> int:
    """Parse each object as it is, as null, and with each one field null or dropped; returns the variants."""
    variants = 0
    for s in samples:
        parse = PARSERS[s.parser]
        _valid(parse(s.obj))
        _valid(parse(None))
        for path in s.paths:
            for how in MUTATIONS:
                _valid(parse(mutated(s.obj, path, how)))
                variants += 1
    return variants


def several_at_once(samples: list[Sample]) -> Callable[[], None]:
    """A hypothesis test: up to six fields of one object null or dropped together."""

    @settings(max_examples=EXAMPLES, deadline=None, database=None)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        s = data.draw(st.sampled_from(samples))
        changes = data.draw(
            st.lists(st.tuples(st.sampled_from(s.paths), st.sampled_from(MUTATIONS)), min_size=1, max_size=6)
        )
        obj = s.obj
        for path, how in changes:
            obj = mutated(obj, path, how)
        _valid(PARSERS[s.parser](obj))

    return check


def report(record_property, label: str, samples: list[Sample], variants: int) -> None:
    record_property(f"{label}_objects", len(samples))
    record_property(f"{label}_field_variants", variants)
    print(f"{label}: {len(samples)} objects, {sum(len(s.paths) for s in samples)} fields, {variants} field variants")


def test_builtin_objects_parse_with_any_field_null_or_missing(record_property):
    samples = builtin_samples()
    assert {s.parser for s in samples} == set(PARSERS)  # every parser is exercised
    variants = every_single_variant(samples)
    several_at_once(samples)()
    report(record_property, "builtin", samples, variants)
    assert len(samples) == 15 and variants > 1000


def test_recorded_objects_parse_with_any_field_null_or_missing(realdata, record_property):
    samples = recorded_samples(realdata)
    assert {s.parser for s in samples} == set(PARSERS) - {"deezer artist"}  # no favorite artists were recorded
    variants = every_single_variant(samples)
    several_at_once(samples)()
    report(record_property, "recorded", samples, variants)
    assert len(samples) >= 60 and variants > 3000


def test_the_recorded_objects_parse_to_what_they_say(realdata):
    """Unvaried, the recorded objects read as themselves: the checks above check real parses."""
    parsed = {s.parser: PARSERS[s.parser](s.obj) for s in recorded_samples(realdata)}
    liked = parsed["spotify saved track"]
    assert isinstance(liked, Liked) and isinstance(liked.item, CloudTrack) and liked.item.isrc
    entry = spotify_parse.parse_playlist_entry(
        json.loads(
            (
                realdata
                / "spotify/spotify-web-api-java/src/test/fixtures/requests/data/playlists/GetPlaylistRequest.json"
            ).read_text()
        )["tracks"]["items"][0]
    )
    assert isinstance(entry, tuple)
    track = entry[0]
    # The recorded album names no artist: it takes its track's (Sam Smith), as Deezer's parser does.
    assert track.album is not None and track.album.artist.name == "Sam Smith" and track.album.artist_inferred
    assert isinstance(parsed["deezer favorite track"], Liked)
    failure = parsed["deezer error"]
    assert isinstance(failure, HttpFailure) and failure.status == 404 and "800" in failure.message


@pytest.mark.parametrize(
    ("parser", "obj", "reason"),
    [
        ("spotify saved track", None, "null"),
        ("spotify saved track", {"added_at": "x", "track": None}, "null"),
        ("spotify saved track", {"track": {"id": None, "name": "x"}}, "no_id"),
        ("spotify saved track", {"track": {"id": None, "is_local": True}}, "local_file"),
        ("spotify saved album", {"album": None}, "null"),
        ("spotify saved album", {"album": {"name": "x"}}, "no_id"),
        ("spotify playlist", {"name": "no id"}, "no_id"),
        ("spotify playlist entry", {"is_local": True, "track": {"id": None}}, "local_file"),
        ("spotify playlist entry", {"item": {"id": "e", "type": "episode"}}, "episode"),
        ("spotify playlist entry", {"track": None, "item": None}, "null"),
        ("spotify track", {"id": "x", "type": "chapter"}, "unavailable"),
        ("deezer favorite track", {"id": -1234567, "title": "my upload.mp3"}, "local_file"),
        ("deezer artist", {"name": "no id"}, "no_id"),
    ],
)
def test_what_is_left_out_says_why(parser, obj, reason):
    assert PARSERS[parser](obj) == Skipped(reason)
