"""The sync over the source interface, with an in-memory provider: the shape a new
provider module implements."""

import pytest

from soulspot_pipeline.domain.cloud import (
    MAX_PAGES,
    CloudAlbum,
    CloudArtist,
    CloudPlaylist,
    CloudTrack,
    EndpointUnavailable,
    Liked,
    PageGuard,
    PagingLoop,
    PlaylistItems,
    ProviderError,
    SavedAlbum,
    Skipped,
    rebase_url,
)
from soulspot_pipeline.domain.cloud_sync import EndpointOutcome, SourceSync, collect

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
        yield SavedAlbum(Liked(MOON, None), lambda: [SEXY, KELLY])

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
    assert sync.skipped == {"duplicate": 2, "episode": 1, "local_file": 2}  # a repeated like, a repeated item
    assert sync.skips == {
        "liked tracks": {"duplicate": 1},
        "playlist p1": {"duplicate": 1, "episode": 1, "local_file": 2},
    }
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


# -- sub-requests, skips, paging: pure logic ------------------------------------------------

MOON2 = CloudAlbum("al2", "Premiers Symptômes", AIR)


class AlbumsSource(MemorySource):
    """Saved albums whose track lists fail as told: ``broken`` maps album id -> exception."""

    def __init__(self, broken, **kwargs):
        super().__init__(**kwargs)
        self.broken = broken

    def saved_albums(self):
        def tracks(album, listed):
            if album.album_id in self.broken:
                raise self.broken[album.album_id]
            return listed

        yield Skipped("null")
        yield SavedAlbum(Liked(MOON, "2026-01-01T00:00:00Z"), lambda: tracks(MOON, [SEXY, Skipped("no_id"), SEXY]))
        yield SavedAlbum(Liked(MOON2, None), lambda: tracks(MOON2, [KELLY]))
        yield SavedAlbum(Liked(MOON, None), lambda: [])  # listed twice


def test_one_album_whose_track_list_fails_leaves_the_other_albums_and_every_like_stored():
    sync = collect(AlbumsSource({"al2": EndpointUnavailable("album al2 tracks", 404, "DataException 800: no data")}))
    assert sync.likes["album"] == {"al1": "2026-01-01T00:00:00Z", "al2": None}
    assert sync.album_tracks == {"al1": ["t1"]}  # al2's stored tracks are left as they are
    assert sync.endpoints["saved albums"] == EndpointOutcome("partial", 2, "1 of 2 album track lists unavailable")
    assert sync.endpoints["album al2 tracks"].status == "unavailable"
    assert "DataException 800" in sync.endpoints["album al2 tracks"].detail
    assert sync.unavailable_items == {"album al2 tracks": "HTTP 404: DataException 800: no data"}
    assert sync.partial and {"album al1 tracks", "playlist p1"} <= sync.items_read
    assert "album al2 tracks" not in sync.items_read
    assert sync.skips["saved albums"] == {"null": 1, "duplicate": 1, "unavailable": 1}
    assert sync.skips["album al1 tracks"] == {"no_id": 1, "duplicate": 1}
    grouped = sync.skipped_by_listing()
    assert grouped["album tracks"] == {"no_id": 1, "duplicate": 1}
    assert grouped["playlist items"] == {"local_file": 4, "duplicate": 2, "episode": 2}  # p1 and p2


def test_a_failing_playlist_is_unavailable_and_three_failures_in_a_row_stop_the_sync():
    lists = [CloudPlaylist(f"p{i}", f"List {i}", "me", "v1", 1) for i in range(4)]
    sync = collect(MemorySource(fail={"playlist p1"}, playlists=lists))
    assert sync.endpoints["playlists"].status == "partial" and set(sync.playlist_items) == {"p0", "p2", "p3"}
    assert "failed after 5 attempts" in sync.endpoints["playlist p1"].detail

    # One after another, failing after their retries: the provider is down, not one playlist.
    with pytest.raises(ProviderError, match="3 requests in a row failed"):
        collect(MemorySource(fail={"playlist p1", "playlist p2", "playlist p3"}, playlists=lists))
    # 404s say something about the one playlist only: they never stop the sync.
    refused = collect(
        MemorySource(refuse={"playlist p0", "playlist p1", "playlist p2", "playlist p3"}, playlists=lists)
    )
    assert refused.endpoints["playlists"].detail == "4 of 4 playlists' items unavailable"


def test_skipped_listing_items_are_counted_by_endpoint_and_reason():
    class Skippy(MemorySource):
        def liked_tracks(self):
            yield from (Skipped("null"), Skipped("no_id"), Skipped("local_file"), Liked(SEXY, None))

        def followed_artists(self):
            yield from (Skipped("null"), Liked(AIR, None), Liked(AIR, None))

        def playlists(self):
            yield from (Skipped("no_id"), *self.lists, self.lists[0])

    sync = collect(Skippy(), playlist_modes={"p2": "disabled"})
    assert sync.skips["liked tracks"] == {"null": 1, "no_id": 1, "local_file": 1}
    assert sync.skips["followed artists"] == {"null": 1, "duplicate": 1}
    assert sync.skips["playlists"] == {"no_id": 1, "duplicate": 1}
    assert [p.playlist_id for p in sync.playlists or ()] == ["p1", "p2"]
    assert sync.skipped == {"null": 2, "no_id": 2, "local_file": 3, "duplicate": 3, "episode": 1}


def test_an_album_without_an_artist_loses_to_the_same_album_naming_its_own():
    guessed = CloudAlbum("al1", "Moon Safari", AIR, artist_inferred=True)
    named = CloudAlbum("al1", "Moon Safari", CloudArtist("a9", "Air (band)"))
    for order in ((guessed, named), (named, guessed)):
        sync = SourceSync("memory")
        for album in order:
            sync.add_album(album)
        assert sync.albums["al1"] is named


@pytest.mark.parametrize(
    ("link", "base", "rebased"),
    [
        # Spotify names its public host; a proxy below a path gets the same path below its own.
        (
            "https://api.spotify.com/v1/me/tracks?offset=50&limit=50",
            "http://127.0.0.1:8080/proxy/spotify/v1/",
            "http://127.0.0.1:8080/proxy/spotify/v1/me/tracks?offset=50&limit=50",
        ),
        # A proxy that rewrote the links already: kept below the configured base.
        (
            "http://proxy:81/spotify/v1/me/albums?offset=1",
            "http://proxy:81/spotify/v1",
            "http://proxy:81/spotify/v1/me/albums?offset=1",
        ),
        # Another host in the link never receives the request (nor the login).
        (
            "https://evil.example/v1/me/tracks?offset=1",
            "http://127.0.0.1:9/v1/",
            "http://127.0.0.1:9/v1/me/tracks?offset=1",
        ),
        ("https://api.spotify.com/elsewhere/x", "http://127.0.0.1:9/v1/", None),
    ],
)
def test_next_links_are_rebased_onto_the_configured_url(link, base, rebased):
    assert rebase_url(link, base, "https://api.spotify.com/v1/") == rebased


def test_deezer_links_are_rebased_too():
    assert (
        rebase_url(
            "https://api.deezer.com/user/5/tracks?index=25", "http://127.0.0.1:7/deezer/", "https://api.deezer.com/"
        )
        == "http://127.0.0.1:7/deezer/user/5/tracks?index=25"
    )


def test_the_page_guard_stops_a_repeated_page_and_a_listing_without_end():
    guard = PageGuard("Spotify", "saved tracks", max_pages=3)
    guard.visit("http://x/v1/me/tracks?limit=50&offset=0")
    guard.visit("http://x/v1/me/tracks?offset=50&limit=50")
    with pytest.raises(
        PagingLoop, match=r"saved tracks: Spotify's paging loops: the next page .*offset=50.* already read"
    ):
        guard.visit("http://x/v1/me/tracks/?limit=50&offset=50")  # the same page, however it is written
    guard.visit("http://x/v1/me/tracks?offset=100&limit=50")
    with pytest.raises(PagingLoop, match="did not end after 3 pages"):
        guard.visit("http://x/v1/me/tracks?offset=150&limit=50")
    assert MAX_PAGES == 10_000
