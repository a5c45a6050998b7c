"""Playlist files rendered from plain values: header, entries, missing tracks, file names."""

from pathlib import Path

from soulspot_pipeline.domain.playlists import Entry, Playlist, file_names, render, written_for

FOLDER = Path("/music/Playlists")
KELLY = Entry("Air", "Kelly Watch the Stars", 225_400, "/music/Air/Moon Safari/03 Kelly Watch the Stars.flac")
HELLO = Entry("Adele", "Hello", 295_000, None)
SEXY = Entry("Air", "Sexy Boy", None, "/music/Air/Moon Safari/02 Sexy Boy.flac")


def test_entries_in_order_relative_to_the_folder_with_missing_tracks_as_comments():
    text = render(Playlist("spotify:1", "Road Trip", (KELLY, HELLO, SEXY)), FOLDER)
    assert text.splitlines() == [
        "#EXTM3U",
        "# written by soulspot-pipeline for playlist spotify:1",
        "#PLAYLIST:Road Trip",
        "#EXTINF:225,Air - Kelly Watch the Stars",
        "../Air/Moon Safari/03 Kelly Watch the Stars.flac",
        "# missing: Adele - Hello",
        "#EXTINF:-1,Air - Sexy Boy",
        "../Air/Moon Safari/02 Sexy Boy.flac",
    ]
    assert text.endswith("\n")


def test_a_newline_in_a_name_cannot_start_a_new_entry():
    odd = Entry("Air\n", "Sexy\r\nBoy", 1000, None)
    text = render(Playlist("deezer:2", "Two\nLines", (odd,)), FOLDER)
    assert text.splitlines()[2:] == ["#PLAYLIST:Two Lines", "# missing: Air - Sexy Boy"]


def test_our_files_name_their_playlist_and_others_name_none():
    assert written_for(render(Playlist("deezer:9", "Chill", ()), FOLDER)) == "deezer:9"
    assert written_for("#EXTM3U\n#EXTINF:1,a - b\nb.mp3\n") is None
    assert written_for("") is None


def test_file_names_are_safe_and_clashing_names_get_their_id():
    names = file_names(
        [
            Playlist("spotify:1", "Road/Trip: Best?", ()),
            Playlist("spotify:2", "Chill", ()),
            Playlist("deezer:3", "chill", ()),
            Playlist("deezer:4", "...", ()),
        ]
    )
    assert names == {
        "spotify:1": "Road_Trip_ Best_.m3u8",
        "spotify:2": "Chill [spotify_2].m3u8",
        "deezer:3": "chill [deezer_3].m3u8",
        "deezer:4": "_.m3u8",
    }
