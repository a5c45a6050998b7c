from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest

from soulspot_pipeline.domain.album_match import (
    ACCEPT_MAX,
    ACCEPTED,
    NONE,
    PARTIAL,
    REJECTED,
    AlbumCluster,
    LocalTrack,
    ReleaseCandidate,
    ReleaseTrack,
    album_title_part,
    choose_release,
    cluster_tracks,
    length_part,
    match_release,
    number_part,
    parse_release,
    releases_in,
    title_part,
)
from soulspot_pipeline.domain.identify import ArtistCredit

ARTIST = ArtistCredit("a-1", "Radiohead")
OTHER = ArtistCredit("a-2", "Pure Fluff")

# (title, seconds) of a ten-track album; the deluxe adds two.
ORIGINAL: list[tuple[str, float]] = [
    ("Airbag", 284),
    ("Paranoid Android", 383),
    ("Subterranean Homesick Alien", 267),
    ("Exit Music", 264),
    ("Let Down", 299),
    ("Karma Police", 261),
    ("Fitter Happier", 117),
    ("Electioneering", 230),
    ("Climbing Up the Walls", 285),
    ("No Surprises", 228),
]
BONUS: list[tuple[str, float]] = [("Polyethylene", 263), ("Pearly", 214)]


def local(
    n: int,
    title: str,
    seconds: float | None,
    *,
    album: str | None = "OK Computer",
    artist: str = "Radiohead",
    album_artist: str | None = None,
    folder: str = "/music/Radiohead/OK Computer",
    disc: int | None = None,
    year: int | None = None,
    recording: str | None = None,
    release: str | None = None,
    track_id: str | None = None,
) -> LocalTrack:
    return LocalTrack(
        track_id=track_id or f"t{disc or 0}-{n:02d}-{title}",
        title=title,
        artist=artist,
        album_artist=album_artist,
        album=album,
        folder=folder,
        track_number=n,
        disc_number=disc,
        duration_ms=None if seconds is None else int(seconds * 1000),
        year=year,
        recording_mbid=recording,
        release_mbid=release,
    )


def release(
    mbid: str,
    songs: list[tuple[str, float]],
    *,
    title: str = "OK Computer",
    artists: tuple[ArtistCredit, ...] = (ARTIST,),
    date: str | None = "1997-05-21",
    group: str = "rg-okc",
) -> ReleaseCandidate:
    tracks = tuple(
        ReleaseTrack(f"{mbid}-rec-{n}", name, artists, n, 1, int(seconds * 1000))
        for n, (name, seconds) in enumerate(songs, 1)
    )
    return ReleaseCandidate(mbid, title, artists, group, "Album", date, "GB", len(tracks), None, tracks)


def album_of(songs: list[tuple[str, float]], **kwargs) -> AlbumCluster:
    clusters = cluster_tracks([local(n, name, seconds, **kwargs) for n, (name, seconds) in enumerate(songs, 1)])
    assert len(clusters) == 1
    return clusters[0]


# -- clustering ---------------------------------------------------------------------------------


def test_one_album_per_folder_artist_and_title():
    tracks = [
        local(1, "Airbag", 284),
        local(2, "Paranoid Android", 383),
        # The same title in another folder is another copy, kept apart.
        local(1, "Airbag", 284, folder="/music/Radiohead/OK Computer (copy)"),
        # Another album in the same folder is another cluster.
        local(1, "Planet Telex", 259, album="The Bends"),
    ]
    clusters = cluster_tracks(tracks)
    assert sorted((c.album, len(c.tracks)) for c in clusters) == [
        ("OK Computer", 1),
        ("OK Computer", 2),
        ("The Bends", 1),
    ]
    assert len({c.key for c in clusters}) == 3


def test_keys_and_order_do_not_depend_on_input_order():
    tracks = [
        local(2, "Paranoid Android", 383),
        local(1, "Airbag", 284),
        local(1, "Planet Telex", 259, album="The Bends", folder="/music/Radiohead/The Bends"),
        local(1, "Loose", 200, album=None, folder="/music/loose"),
    ]
    first = cluster_tracks(tracks)
    second = cluster_tracks(list(reversed(tracks)))
    assert [c.key for c in first] == [c.key for c in second]
    assert [[t.track_id for t in c.tracks] for c in first] == [[t.track_id for t in c.tracks] for c in second]
    # Tracks in album order inside a cluster.
    assert [t.title for t in first[0].tracks] == ["Airbag", "Paranoid Android"]


def test_disc_subfolders_stay_one_album_and_give_disc_numbers():
    tracks = [
        local(1, "One", 200, album="Double", folder="/music/X/Double/CD1"),
        local(2, "Two", 200, album="Double", folder="/music/X/Double/CD1"),
        local(1, "Three", 200, album="Double", folder="/music/X/Double/Disc 2"),
    ]
    [cluster] = cluster_tracks(tracks)
    assert cluster.disc_count == 2
    assert [(t.disc_number, t.track_number) for t in cluster.tracks] == [(1, 1), (1, 2), (2, 1)]


def test_disc_suffixes_in_album_tags_stay_one_album():
    tracks = [
        local(1, "One", 200, album="Double (Disc 1)", disc=1),
        local(1, "Two", 200, album="Double (Disc 2)", disc=2),
        local(1, "Three", 200, album="Double - CD3", disc=3),
    ]
    [cluster] = cluster_tracks(tracks)
    assert cluster.disc_count == 3
    assert cluster.album == "Double"  # what the release search is asked for


def test_guest_artists_and_untagged_album_artist_stay_in_the_album():
    tracks = [
        local(1, "Song", 200, album_artist="Radiohead"),
        local(2, "Duet", 200, artist="Radiohead feat. Someone"),  # no album artist: joins the majority
        local(3, "Other", 200, album_artist="Radiohead"),
    ]
    [cluster] = cluster_tracks(tracks)
    assert cluster.artist == "Radiohead"
    assert len(cluster.tracks) == 3

    without_album_artist = cluster_tracks(
        [local(1, "Song", 200), local(2, "Duet", 200, artist="Radiohead feat. Someone")]
    )
    assert [len(c.tracks) for c in without_album_artist] == [2]


def test_a_track_without_album_is_its_own_cluster():
    tracks = [
        local(1, "Loose", 200, album=None, track_id="x1"),
        local(2, "Also loose", 200, album="", track_id="x2"),
    ]
    clusters = cluster_tracks(tracks)
    assert [c.key for c in clusters] == ["track:x1", "track:x2"]
    assert all(c.is_singleton and len(c.tracks) == 1 for c in clusters)


# -- parsing real MusicBrainz XML ---------------------------------------------------------------


def parsed(realdata: Path, relative: str) -> dict:
    from musicbrainzngs import mbxml

    with (realdata / "musicbrainzngs" / "test" / "data" / relative).open("rb") as handle:
        return mbxml.parse_message(handle)


def test_parse_release_lookup_with_three_media(realdata):
    candidate = parse_release(parsed(realdata, "release/fe29e7f0-eb46-44ba-9348-694166f47885-recordings.xml"))
    assert candidate is not None
    assert (candidate.mbid, candidate.title, candidate.date, candidate.country) == (
        "fe29e7f0-eb46-44ba-9348-694166f47885",
        "Urk",
        "2007-02-02",
        "DE",
    )
    assert candidate.year == 2007
    assert candidate.track_count == len(candidate.tracks) == 14 + 15 + 19
    assert candidate.medium_count == 3
    assert [t.medium for t in candidate.tracks].count(2) == 15
    first = candidate.tracks[0]
    assert (first.recording_mbid, first.title, first.position, first.medium, first.length_ms) == (
        "f0718b28-1e48-4b8e-8e5e-0596cc8ff515",
        "The Train",
        1,
        1,
        184000,
    )
    disc_two = [t for t in candidate.tracks if t.medium == 2]
    assert disc_two[0].title == "Port of Amsterdam" and disc_two[0].position == 1


def test_parse_release_prefers_the_track_title_and_keeps_data_tracks(realdata):
    candidate = parse_release(parsed(realdata, "release/9ce41d09-40e4-4d33-af0c-7fed1e558dba-recordings.xml"))
    assert candidate is not None
    # An MP3 CD: its 198 files are data tracks.
    assert len(candidate.tracks) == 198
    sixth = candidate.tracks[5]
    assert sixth.position == 6
    assert sixth.title == "Fire Engine"  # the recording is "Fire Engine (studio: 1975-08-xx: ...)"
    # The track's length wins over the recording's (172306).
    assert candidate.tracks[0].length_ms == 172000


@pytest.mark.parametrize("layout", ["disc folders", "numbered through"])
def test_a_real_three_disc_release_matches_its_own_files(realdata, layout):
    urk = parse_release(parsed(realdata, "release/fe29e7f0-eb46-44ba-9348-694166f47885-recordings.xml"))
    assert urk is not None
    urk = replace(urk, artists=(ArtistCredit("nits", "The Nits"),))  # looked up without artist credits
    files = [
        local(
            t.position if layout == "disc folders" else n,
            t.title,
            (t.length_ms or 0) / 1000 + 1,
            album="Urk",
            artist="Nits",
            folder=f"/music/Nits/Urk/CD{t.medium}" if layout == "disc folders" else "/music/Nits/Urk",
        )
        for n, t in enumerate(urk.tracks, 1)
    ]
    [cluster] = cluster_tracks(files)
    assert cluster.disc_count == (3 if layout == "disc folders" else 1)
    match = match_release(cluster, urk)
    assert match.status == ACCEPTED
    assert len(match.assignments) == 48
    assert {a.recording_mbid for a in match.assignments} == {t.recording_mbid for t in urk.tracks}
    assert all(a.number_part == 0.0 for a in match.assignments)


# Trimmed from python-musicbrainzngs' test/data/search-release.xml (BSD-2): no such file in ../shared.
SEARCH_RELEASE_XML = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<metadata xmlns="http://musicbrainz.org/ns/mmd-2.0#" xmlns:ext="http://musicbrainz.org/ns/ext#-2.0">
  <release-list offset="0" count="16739">
    <release ext:score="100" id="e94757ff-2655-4690-b369-4012beba6114">
      <title>Affordable Pop Music</title>
      <status>Official</status>
      <artist-credit><name-credit><artist id="952a4205-023d-4235-897c-6fdb6f58dfaa">
        <name>Dynamo Go</name><sort-name>Dynamo Go</sort-name></artist></name-credit></artist-credit>
      <release-group type="EP" id="6561c223-18e6-3b88-9adc-a701700fc91e"/>
      <date>2008-07-04</date>
      <country>NZ</country>
      <medium-list count="1"><track-count>4</track-count>
        <medium><format>CD</format><disc-list count="1"/><track-list count="4"/></medium></medium-list>
    </release>
    <release ext:score="20" id="9bb15c41-fbfd-4b5b-a563-67ac5c85a11b">
      <title>This Is Pop Music</title>
      <artist-credit><name-credit><artist id="75806efb-b691-4472-8484-e44e7f5d4770">
        <name>Espen Lind</name><sort-name>Lind, Espen</sort-name></artist></name-credit></artist-credit>
      <release-group type="Album" id="25cdc194-9d11-3dfd-a127-54d0200bc539"/>
      <date>2000</date>
      <medium-list count="1"><track-count>10</track-count>
        <medium><disc-list count="0"/><track-list count="10"/></medium></medium-list>
    </release>
  </release-list>
</metadata>"""


def test_releases_in_a_search_page():
    mbxml = pytest.importorskip("musicbrainzngs.mbxml")
    hits = releases_in(mbxml.parse_message(io.BytesIO(SEARCH_RELEASE_XML)))
    assert [(h.title, h.mb_score, h.track_count, h.release_group_type) for h in hits] == [
        ("Affordable Pop Music", 100, 4, "EP"),
        ("This Is Pop Music", 20, 10, "Album"),
    ]
    assert hits[0].artists[0].name == "Dynamo Go"
    assert hits[0].release_group_mbid == "6561c223-18e6-3b88-9adc-a701700fc91e"
    assert hits[0].tracks == ()  # a search lists no tracks
    assert hits[1].country is None and hits[1].year == 2000


def test_parsing_skips_what_is_unusable():
    assert releases_in(None) == []
    assert (
        releases_in({"release-list": [None, {"title": "no id"}, {"id": "r1", "medium-list": [None]}]})[0].mbid == "r1"
    )
    assert parse_release({"release": {"id": "r2", "title": "Wrapped"}}).title == "Wrapped"
    odd = parse_release({"id": "r3", "medium-list": [{"track-list": [{"recording": None, "length": "x"}]}]})
    assert odd is not None
    assert odd.tracks[0] == ReleaseTrack(None, "", (), 1, 1, None)


# -- distance parts ---------------------------------------------------------------------------------


def test_length_part():
    assert length_part(200_000, 202_000) == 0.0
    assert length_part(200_000, 216_000) == pytest.approx(0.5)
    assert length_part(200_000, 260_000) == 1.0
    assert length_part(None, 200_000) is None


def test_title_part_forgives_edition_notes_and_misspellings():
    assert title_part("Karma Police (Remastered)", "Karma Police") == 0.0
    assert title_part("Karma Police - 2009 Remaster", "Karma Police") == 0.0
    assert title_part("Karma Pollice", "Karma Police") < 0.1
    assert title_part("No Surprises", "Karma Police") > 0.5


def test_album_title_part_counts_editions_little():
    assert album_title_part("OK Computer", "OK Computer") == 0.0
    assert 0 < album_title_part("OK Computer", "OK Computer (Deluxe Edition)") <= 0.1
    assert album_title_part("OK Computer", "Kid A") > 0.5


def test_number_part():
    track = ReleaseTrack("r", "x", (), 3, 2, None)
    assert number_part(local(3, "x", None, disc=2), track, absolute=13) == 0.0
    assert number_part(local(3, "x", None), track, absolute=13) == 0.0  # disc unknown
    assert number_part(local(13, "x", None), track, absolute=13) == 0.0  # numbered through both discs
    assert number_part(local(3, "x", None, disc=1), track, absolute=13) == 0.5
    assert number_part(local(4, "x", None, disc=2), track, absolute=13) == 1.0


def test_exact_album_has_distance_zero_and_every_file_assigned():
    match = match_release(album_of(ORIGINAL), release("orig", ORIGINAL))
    assert match.status == ACCEPTED
    assert match.distance == 0.0
    assert set(match.parts) == {"album", "artist", "tracks", "missing", "unmatched"}  # no year known
    assert [(a.position, a.recording_mbid) for a in match.assignments] == [(n, f"orig-rec-{n}") for n in range(1, 11)]
    assert match.unmatched_track_ids == () and match.missing_positions == ()


def test_assignment_is_one_to_one_by_title_and_length_when_numbers_are_wrong():
    songs = ORIGINAL[:4]
    # Files numbered backwards: title and length must win over the numbers.
    tracks = [local(5 - n, name, seconds) for n, (name, seconds) in enumerate(songs, 1)]
    [cluster] = cluster_tracks(tracks)
    match = match_release(cluster, release("orig", songs))
    by_title = {t.track_id: t.title for t in cluster.tracks}
    assert {by_title[a.track_id]: a.position for a in match.assignments} == {
        name: n for n, (name, _) in enumerate(songs, 1)
    }
    assert len({(a.medium, a.position) for a in match.assignments}) == 4
    assert all(a.number_part == 1.0 for a in match.assignments)
    assert match.status == ACCEPTED


def test_year_counts_when_known():
    cluster = album_of(ORIGINAL, year=1997)
    same = match_release(cluster, release("orig", ORIGINAL, date="1997-05-21"))
    later = match_release(cluster, release("later", ORIGINAL, date="2009"))
    assert same.parts["year"] == 0.0
    assert later.parts["year"] == 1.0
    assert later.distance > same.distance


# -- decisions ---------------------------------------------------------------------------------------


def test_ten_files_choose_the_original_over_the_deluxe():
    cluster = album_of(ORIGINAL)
    original = release("orig", ORIGINAL)
    deluxe = release("deluxe", ORIGINAL + BONUS, title="OK Computer (Deluxe Edition)", group="rg-okc")
    decision = choose_release(cluster, [deluxe, original])
    assert decision.status == ACCEPTED
    assert decision.chosen is not None and decision.chosen.release.mbid == "orig"
    assert [m.release.mbid for m in decision.matches] == ["orig", "deluxe"]
    assert decision.matches[1].missing_positions == ((1, 11), (1, 12))


def test_twelve_files_choose_the_deluxe():
    cluster = album_of(ORIGINAL + BONUS)
    original = release("orig", ORIGINAL)
    deluxe = release("deluxe", ORIGINAL + BONUS, title="OK Computer (Deluxe Edition)")
    decision = choose_release(cluster, [original, deluxe])
    assert decision.chosen is not None and decision.chosen.release.mbid == "deluxe"
    assert decision.status == ACCEPTED
    by_mbid = {m.release.mbid: m for m in decision.matches}
    # Two files fit nothing on the original: it cannot be accepted.
    assert len(by_mbid["orig"].unmatched_track_ids) == 2
    assert by_mbid["orig"].status != ACCEPTED


def test_a_remaster_with_other_lengths_loses_to_the_release_whose_lengths_fit():
    cluster = album_of(ORIGINAL)
    remaster = release(
        "remaster",
        [(name, seconds + 12) for name, seconds in ORIGINAL],
        title="OK Computer (Remastered)",
        date="2009",
    )
    original = release("orig", ORIGINAL)
    decision = choose_release(cluster, [remaster, original])
    assert decision.chosen is not None and decision.chosen.release.mbid == "orig"
    remaster_match = next(m for m in decision.matches if m.release.mbid == "remaster")
    assert remaster_match.parts["tracks"] > 0
    assert all(a.length_part and a.length_part > 0 for a in remaster_match.assignments)


def test_another_artists_album_of_the_same_title_is_rejected():
    cluster = album_of(ORIGINAL)
    # Same title and even the same song titles and lengths: still another artist's record.
    theirs = release("theirs", ORIGINAL, artists=(OTHER,))
    decision = choose_release(cluster, [theirs])
    assert decision.status == REJECTED
    assert decision.chosen is None
    assert decision.matches[0].status == REJECTED
    assert "another artist" in decision.matches[0].reason


def test_misspelt_titles_and_remaster_suffixes_are_accepted():
    files = [(name + " (Remastered)", seconds + 1) for name, seconds in ORIGINAL]
    files[1] = ("Paranoid Andriod", 383)
    files[5] = ("Karma Polise - 2009 Remaster", 262)
    cluster = album_of(files, album="OK Computer (Remastered)")
    decision = choose_release(cluster, [release("orig", ORIGINAL)])
    assert decision.status == ACCEPTED
    assert decision.chosen is not None
    assert decision.chosen.distance <= ACCEPT_MAX
    assert len(decision.chosen.assignments) == 10


def test_partial_when_most_files_fit_and_some_do_not():
    files = [*ORIGINAL[:8], ("Creep", 238), ("Fake Plastic Trees", 290)]  # two songs from elsewhere
    cluster = album_of(files)
    decision = choose_release(cluster, [release("orig", ORIGINAL)])
    assert decision.status == PARTIAL
    chosen = decision.chosen
    assert chosen is not None
    assert len(chosen.assignments) == 8
    titles = {t.track_id: t.title for t in cluster.tracks}
    assert sorted(titles[i] for i in chosen.unmatched_track_ids) == ["Creep", "Fake Plastic Trees"]
    assert chosen.missing_positions == ((1, 9), (1, 10))
    assert "8 of 10 files fit" in chosen.reason


def test_too_few_fitting_files_are_rejected():
    files = [*ORIGINAL[:3], ("A", 100), ("B", 500), ("C", 40), ("D", 620)]
    decision = choose_release(album_of(files), [release("orig", ORIGINAL)])
    assert decision.status == REJECTED
    assert decision.chosen is None


def test_no_candidates_and_no_tracklist():
    cluster = album_of(ORIGINAL)
    assert choose_release(cluster, []).status == NONE
    hit_only = ReleaseCandidate("hit", "OK Computer", (ARTIST,), None, "Album", None, None, 10, 90)
    decision = choose_release(cluster, [hit_only])
    assert decision.status == REJECTED
    assert decision.matches[0].reason == "no tracklist"
