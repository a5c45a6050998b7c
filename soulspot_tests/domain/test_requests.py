"""Requests by link or search, the pure part: parsing what the user typed, choosing among a
search's hits, and recognising tracks the library already holds."""

import pytest

from soulspot_pipeline.domain.cloud import CloudAlbum, CloudArtist, CloudTrack
from soulspot_pipeline.domain.identify import ArtistCredit, RecordingCandidate, ReleaseRef
from soulspot_pipeline.domain.requests import (
    AMBIGUOUS,
    NOT_FOUND,
    RESOLVED,
    HeldTrack,
    Link,
    Search,
    ShortLink,
    UnusableItem,
    already_held,
    choose,
    held_index,
    parse_item,
    parse_pick,
    recording_track,
    track_from_json,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "https://open.spotify.com/track/6rqhFgbbKwnb9MLmUQDhG6?si=abc123",
            Link("spotify", "track", "6rqhFgbbKwnb9MLmUQDhG6"),
        ),
        ("open.spotify.com/intl-de/album/0sNOF9WDwhWunNAHPD3Baj", Link("spotify", "album", "0sNOF9WDwhWunNAHPD3Baj")),
        ("spotify:playlist:59ZbFPES4DQwEjBpWHzrtC", Link("spotify", "playlist", "59ZbFPES4DQwEjBpWHzrtC")),
        ("spotify:user:spotify:playlist:59ZbFPES4DQwEjBpWHzrtC", Link("spotify", "playlist", "59ZbFPES4DQwEjBpWHzrtC")),
        (
            "  https://open.spotify.com/artist/0OdUWJ0sBjDrqHygGUXeCF  ",
            Link("spotify", "artist", "0OdUWJ0sBjDrqHygGUXeCF"),
        ),
        (
            "https://open.spotify.com/embed/track/3n3Ppam7vgaVa1iaRUc9Lp",
            Link("spotify", "track", "3n3Ppam7vgaVa1iaRUc9Lp"),
        ),
        ("https://www.deezer.com/en/track/3135556", Link("deezer", "track", "3135556")),
        ("deezer.com/album/302127", Link("deezer", "album", "302127")),
        ("https://www.deezer.com/fr/playlist/908622995?utm=x", Link("deezer", "playlist", "908622995")),
        ("https://www.deezer.com/pt-br/artist/27", Link("deezer", "artist", "27")),
        (
            "https://musicbrainz.org/recording/b1a9c0e9-d987-4042-ae91-78d6a3267d69",
            Link("musicbrainz", "track", "b1a9c0e9-d987-4042-ae91-78d6a3267d69"),
        ),
        ("https://spotify.link/AbCdEf", ShortLink("https://spotify.link/AbCdEf")),
        ("https://deezer.page.link/xyz", ShortLink("https://deezer.page.link/xyz")),
        ("link.deezer.com/s/30ABC", ShortLink("https://link.deezer.com/s/30ABC")),
        ("Air - Sexy Boy", Search("Air - Sexy Boy", "Air", "Sexy Boy")),
        ("Sigur Rós – Hoppípolla", Search("Sigur Rós – Hoppípolla", "Sigur Rós", "Hoppípolla")),
        ("AC/DC - T.N.T.", Search("AC/DC - T.N.T.", "AC/DC", "T.N.T.")),
        ("sexy boy", Search("sexy boy", None, "sexy boy")),
        ("Jay-Z - 99 Problems", Search("Jay-Z - 99 Problems", "Jay-Z", "99 Problems")),
        ("a-ha\ttake on me\n", Search("a-ha take on me", None, "a-ha take on me")),
        ("- Sexy Boy", Search("- Sexy Boy", None, "Sexy Boy")),
    ],
)
def test_links_and_searches_are_parsed(text, expected):
    assert parse_item(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("   \x00\x1b  ", "empty"),
        ("x" * 501, "longer than"),
        ("https://music.apple.com/us/album/moon-safari/123", "music.apple.com"),
        ("https://evil.example/open.spotify.com/track/abc", "evil.example"),
        ("https://open.spotify.com/show/abc", "no Spotify track"),
        ("https://open.spotify.com/track/../../etc", "is not a Spotify track id"),
        ("https://www.deezer.com/track/12ab", "is not a Deezer track id"),
        ("spotify:episode:abc", "not a Spotify track"),
        ("ftp://open.spotify.com/track/abc", "not a web link"),
        ("https://musicbrainz.org/recording/not-an-id", "no MusicBrainz recording id"),
    ],
)
def test_what_cannot_be_requested_says_why(text, says):
    with pytest.raises(UnusableItem, match=says):
        parse_item(text)


def test_a_non_string_is_unusable():
    with pytest.raises(UnusableItem):
        parse_item(None)


AIR = CloudArtist("a1", "Air")
MOON = CloudAlbum("al1", "Moon Safari", AIR, album_type="album")
BEST_OF = CloudAlbum("al2", "The Best of Air", AIR, album_type="compilation")


def hit(title, artist=AIR, album=MOON, track_id=None):
    return ("spotify", CloudTrack(track_id or f"{title}-{album.album_id}", title, artist, album))


def test_the_original_album_wins_over_a_compilation_of_the_same_song():
    choice = choose(
        Search("Air - Sexy Boy", "Air", "Sexy Boy"),
        [hit("Sexy Boy", album=BEST_OF), hit("Sexy Boy"), hit("Kelly Watch the Stars")],
    )
    assert choice.status == RESOLVED
    assert choice.chosen is not None and choice.chosen.track.album == MOON


def test_two_different_songs_alike_are_ambiguous_and_listed():
    other = CloudArtist("b1", "Beck")
    search = Search("sexy boy", None, "sexy boy")
    choice = choose(search, [hit("Sexy Boy"), hit("Sexy Boy", artist=other, album=CloudAlbum("b2", "Odelay", other))])
    assert choice.status == AMBIGUOUS and choice.chosen is None
    assert {c.track.artist.name for c in choice.candidates} == {"Air", "Beck"}
    assert "pick one" in choice.reason


def test_another_artists_song_of_the_same_title_does_not_resolve_a_search_naming_the_artist():
    other = CloudArtist("b1", "Beck")
    choice = choose(Search("Air - Sexy Boy", "Air", "Sexy Boy"), [hit("Sexy Boy", artist=other)])
    assert choice.status == NOT_FOUND


def test_nothing_fitting_is_not_found_and_an_empty_answer_too():
    assert choose(Search("Air - Sexy Boy", "Air", "Sexy Boy"), [hit("Talisman")]).status == NOT_FOUND
    assert choose(Search("Air - Sexy Boy", "Air", "Sexy Boy"), []).reason == "no hits"


def test_a_remaster_of_the_song_is_the_same_song():
    choice = choose(
        Search("Air - Sexy Boy", "Air", "Sexy Boy"), [hit("Sexy Boy - 2018 Remaster"), hit("Sexy Boy", album=BEST_OF)]
    )
    assert choice.status == RESOLVED and choice.chosen is not None


def test_a_listed_candidate_comes_back_as_the_same_track():
    choice = choose(Search("Air - Sexy Boy", "Air", "Sexy Boy"), [hit("Sexy Boy")])
    assert choice.chosen is not None
    source, track = track_from_json(choice.chosen.as_json(1))
    assert (source, track.track_id, track.title, track.artist, track.album and track.album.title) == (
        "spotify",
        choice.chosen.track.track_id,
        "Sexy Boy",
        AIR,
        "Moon Safari",
    )


@pytest.mark.parametrize("text", ["12", "a:1", "12:", ":3", "12:x", None, "1:2:3"])
def test_bad_picks_say_how_to_write_one(text):
    with pytest.raises(UnusableItem, match="request_id"):
        parse_pick(text)


def test_a_pick_names_a_request_and_a_candidate():
    assert parse_pick(" 12:2 ") == (12, 2)


def test_a_track_held_is_found_by_id_isrc_or_artist_and_title():
    index = held_index(
        [
            HeldTrack("t1", "Air", "Sexy Boy", provider_ids={"spotify": "s1"}),
            HeldTrack("t2", "Air", "Talisman", isrc="FRAAA9800002"),
        ]
    )
    other = CloudArtist("x", "Someone")
    assert already_held("spotify", CloudTrack("s1", "whatever", other, None), index) == "t1"
    assert already_held("deezer", CloudTrack("9", "Talisman (Live)", other, None, isrc="FRAAA9800002"), index) == "t2"
    assert already_held("deezer", CloudTrack("9", "Sexy Boy (Remastered)", AIR, None), index) == "t1"
    assert already_held("deezer", CloudTrack("9", "Kelly Watch the Stars", AIR, None), index) is None


def test_a_recording_prefers_its_album_release_over_a_compilation():
    recording = RecordingCandidate(
        "r1",
        "Sexy Boy",
        (ArtistCredit("m1", "Air"),),
        298000,
        isrcs=("FRAAA9800001",),
        releases=(
            ReleaseRef("rel2", "Best Of", "rg2", "Compilation", "2010"),
            ReleaseRef("rel1", "Moon Safari", "rg1", "Album", "1998"),
        ),
    )
    track = recording_track(recording)
    assert (track.track_id, track.artist, track.album and track.album.title, track.isrc) == (
        "r1",
        CloudArtist("m1", "Air"),
        "Moon Safari",
        "FRAAA9800001",
    )


def test_the_merge_owns_a_requested_track_pending_and_joins_it_with_a_like_of_the_same_track():
    from datetime import datetime

    from soulspot_pipeline.domain.library_merge import MergeInputs, merge_library

    asked = datetime(2026, 12, 1, 12, 0)
    requested = {
        "source": "spotify",
        "source_track_id": "0sexy",
        "title": "Sexy Boy",
        "artist_name": "Air",
        "source_artist_id": "0air",
        "album_title": "Moon Safari",
        "source_album_id": "0moon",
        "album_artist_name": "Air",
        "source_album_artist_id": "0air",
        "isrc": "FRAAA9800001",
        "duration_ms": 298_000,
        "track_number": 1,
        "disc_number": 1,
        "requested_at": asked,
    }
    liked = {"source": "spotify", "track_id": "0sexy", "title": "Sexy Boy", "artist_id": "0air", "artist_name": "Air"}
    result = merge_library(
        MergeInputs(
            cloud_tracks=[liked],
            requested_tracks=[requested],
            source_order=("local", "spotify", "deezer", "discography", "request"),
        )
    )
    ((track_id, track),) = result.tracks.items()
    assert (track["ownership_state"], track["download_state"], track["primary_source"], track["spotify_id"]) == (
        "owned",
        "pending",
        "request",
        "0sexy",
    )
    assert [(link.source, link.source_id, link.entity_id) for link in result.links if link.source == "request"] == [
        ("request", "spotify:0sexy", track_id)
    ]
    ((album),) = result.albums.values()
    assert (album["title"], album["spotify_id"], album["ownership_state"]) == ("Moon Safari", "0moon", "owned")
