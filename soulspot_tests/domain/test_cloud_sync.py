"""The sync over the source interface, with an in-memory provider: the shape a new
provider module implements."""

import pytest

from soulspot_pipeline.domain.cloud import (
    CloudAlbum,
    CloudArtist,
    CloudPlaylist,
    CloudTrack,
    EndpointUnavailable,
    Liked,
    PlaylistItems,
    ProviderError,
)
from soulspot_pipeline.domain.cloud_sync import collect

AIR = CloudArtist("a1", "Air", ("french pop",))
MOON = CloudAlbum("al1", "Moon Safari", AIR, "album", "1998-01-16", 10)
SEXY = CloudTrack("t1", "Sexy Boy", AIR, MOON, "FRAB19800001", 298_000, 2, 1)
KELLY = CloudTrack("t2", "Kelly Watch the Stars", AIR, MOON, None, 225_000, 3, 1)


class MemorySource:
    name = "memory"

    def __init__(self, refuse=(), fail=(), playlists=None):
        self.refuse, self.fail = set(refuse), set(fail)
        self.items_read = []
        self.lists = playlists or [
            CloudPlaylist("p1", "Chill", "me", "v1", 3),
            CloudPlaylist("p2", "Off", "me", "v1", 1),
        ]

    def _guard(self, endpoint):
        if endpoint in self.refuse:
            raise EndpointUnavailable(endpoint, 403, "Forbidden")
        if endpoint in self.fail:
            raise ProviderError(f"{endpoint} failed after 5 attempts: 503")

    def liked_tracks(self):
        self._guard("liked")
        yield Liked(SEXY, "2026-01-01T00:00:00Z")
        yield Liked(SEXY, "2026-01-01T00:00:00Z")  # providers do repeat items across pages

    def saved_albums(self):
        self._guard("albums")
        yield Liked(MOON, None), [SEXY, KELLY]

    def followed_artists(self):
        self._guard("artists")
        yield Liked(AIR, None)

    def playlists(self):
        self._guard("playlists")
        yield from self.lists

    def playlist_items(self, playlist_id):
        self.items_read.append(playlist_id)
        self._guard(f"playlist {playlist_id}")
        return PlaylistItems([(KELLY, None), (SEXY, None), (KELLY, None)], {"episode": 1, "local_file": 2})


def test_everything_is_collected_once_with_duplicates_and_non_tracks_counted():
    sync = collect(MemorySource(), playlist_modes={"p2": "disabled"})
    assert sync.likes == {"track": {"t1": "2026-01-01T00:00:00Z"}, "album": {"al1": None}, "artist": {"a1": None}}
    assert (
        set(sync.tracks) == {"t1", "t2"}
        and set(sync.albums) == {"al1"}
        and sync.artists["a1"].genres == ("french pop",)
    )
    assert sync.album_tracks == {"al1": ["t1", "t2"]}
    assert sync.playlist_items == {"p1": [("t2", None), ("t1", None)]}  # p2 is disabled: not read
    assert sync.skipped == {"duplicate_in_playlist": 1, "episode": 1, "local_file": 2}
    assert {name: o.status for name, o in sync.endpoints.items()} == dict.fromkeys(
        ("liked tracks", "saved albums", "followed artists", "playlists"), "ok"
    )


def test_a_refused_endpoint_is_recorded_and_its_likes_are_left_alone():
    sync = collect(MemorySource(refuse={"liked", "playlist p1"}))
    assert "track" not in sync.likes and sync.likes["album"] == {"al1": None}
    assert sync.endpoints["liked tracks"].status == "unavailable" and "403" in sync.endpoints["liked tracks"].detail
    assert sync.endpoints["playlist p1"].status == "unavailable" and "p1" not in sync.playlist_items
    assert "p2" in sync.playlist_items


def test_a_playlist_whose_version_did_not_change_is_not_read_again():
    source = MemorySource()
    sync = collect(source, known_versions={"p1": "v1", "p2": "v0"})
    assert source.items_read == ["p2"] and set(sync.playlist_items) == {"p2"}


def test_a_provider_that_keeps_failing_fails_the_whole_sync():
    with pytest.raises(ProviderError, match="albums failed"):
        collect(MemorySource(fail={"albums"}))


def test_a_provider_that_refuses_everything_is_a_failure_not_an_empty_library():
    with pytest.raises(ProviderError, match="refused every endpoint"):
        collect(MemorySource(refuse={"liked", "albums", "artists", "playlists"}))
