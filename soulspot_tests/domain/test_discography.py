"""Discography comparison, statuses, new releases and missing tracks, as plain functions."""

from soulspot_pipeline.domain.discography import (
    DiscographyEntry,
    LibraryAlbum,
    OwnedTrack,
    Release,
    ReleaseGroup,
    ReleaseTrack,
    TypePolicy,
    choose_release,
    collapse_editions,
    gap_status,
    match_discography,
    missing_tracks,
    musicbrainz_group,
    new_release_keys,
    release_with_tracks,
    spotify_group,
)
from soulspot_pipeline.domain.enrich import release_fields


def rg(n: int, title: str, primary="Album", secondary=(), date="2001-01-01") -> ReleaseGroup:
    mbid = f"00000000-0000-0000-0000-{n:012d}"
    return ReleaseGroup(f"rg:{mbid}", "musicbrainz", title, primary, tuple(secondary), date, release_group_mbid=mbid)


def owned(album_id: str, title: str, rg_mbid=None, state="owned") -> LibraryAlbum:
    return LibraryAlbum(album_id, title, state, rg_mbid)


def by_title(entries: list[DiscographyEntry]) -> dict[str, tuple]:
    return {e.group.title: (e.counted, e.album_id, e.matched_by, e.owned) for e in entries}


def test_albums_match_by_release_group_first_then_by_title_without_case_punctuation_or_edition_notes():
    groups = [rg(1, "Discovery"), rg(2, "Homework"), rg(3, "Human After All"), rg(4, "Random Access Memories")]
    albums = [
        owned("a1", "Something else entirely", groups[0].release_group_mbid),  # the id decides, not the title
        owned("a2", "HOMEWORK (Remastered)"),
        owned("a3", "human after all!"),
        owned("a4", "Random Access Memories - 10th Anniversary Edition"),
    ]
    assert by_title(match_discography(groups, albums, TypePolicy())) == {
        "Discovery": (True, "a1", "release_group_mbid", True),
        "Homework": (True, "a2", "title", True),
        "Human After All": (True, "a3", "title", True),
        "Random Access Memories": (True, "a4", "title", True),
    }


def test_an_album_with_another_listed_release_group_id_never_fills_a_group_by_title():
    live, studio = rg(1, "Alive", secondary=["Live"]), rg(2, "Alive")
    entries = match_discography([live, studio], [owned("a1", "Alive", live.release_group_mbid)], TypePolicy())
    assert [(e.group.key, e.album_id) for e in entries] == [(live.key, "a1"), (studio.key, None)]


def test_a_discovered_or_ignored_album_matches_but_does_not_own():
    entries = match_discography(
        [rg(1, "25"), rg(2, "21")],
        [owned("a", "25", state="discovered"), owned("b", "21", state="ignored")],
        TypePolicy(),
    )
    assert [(e.album_id, e.owned) for e in entries] == [("a", False), ("b", False)]
    assert gap_status(entries[0], None, "discovered") == "missing"
    assert gap_status(entries[1], None, "ignored") == "ignored"


def test_release_types_collected_by_default_are_albums_and_eps_without_compilations_live_remix_and_the_like():
    policy = TypePolicy()
    assert policy.collects(rg(1, "LP"))
    assert policy.collects(rg(2, "EP", primary="EP"))
    assert not policy.collects(rg(3, "Single", primary="Single"))
    for secondary in ("Compilation", "Live", "Remix", "DJ-mix", "Demo", "Soundtrack"):
        assert not policy.collects(rg(4, "x", secondary=[secondary])), secondary
    assert policy.collects(rg(5, "Interview album", secondary=["Interview"]))
    singles_too = TypePolicy.of(["album", "single"], ["live"])
    assert singles_too.collects(rg(3, "Single", primary="Single")) and singles_too.collects(
        rg(6, "x", secondary=["Compilation"])
    )


def test_gap_status_follows_the_users_decision_and_a_request_survives_a_type_filter():
    missing = DiscographyEntry(rg(1, "x"), True, None, None, False)
    uncounted = DiscographyEntry(rg(2, "y", primary="Single"), False, None, None, False)
    have = DiscographyEntry(rg(3, "z"), True, "a", "title", True)
    assert gap_status(missing, None, None) == "missing"
    assert gap_status(missing, "ignored", None) == "ignored"
    assert gap_status(missing, "requested", None) == "requested"
    assert gap_status(missing, "missing", "ignored") == "ignored"
    assert gap_status(uncounted, None, None) is None
    assert gap_status(uncounted, "requested", None) == "requested"
    assert gap_status(have, "requested", None) is None


def test_new_release_groups_are_those_first_seen_since_the_last_browse_and_never_a_first_browse():
    groups = [rg(1, "old"), rg(2, "new")]
    assert new_release_keys(groups, set(), False) == set()
    assert new_release_keys(groups, {groups[0].key}, True) == {groups[1].key}
    assert new_release_keys(groups, {g.key for g in groups}, True) == set()


def test_the_release_standing_for_a_group_is_official_and_earliest():
    releases = [
        Release("c", "x", "Official", "2005-01-01"),
        Release("b", "x", "Bootleg", "1999-01-01"),
        Release("d", "x", "Official", None),
        Release("a", "x", "Official", "2001-05-01"),
    ]
    assert choose_release(releases).mbid == "a"
    assert choose_release([]) is None


def test_missing_tracks_are_found_by_recording_id_then_by_title_without_featuring_or_edition_notes():
    release = Release(
        "r",
        "Album",
        tracks=(
            ReleaseTrack("m1", "Intro", 1, 1),
            ReleaseTrack("m2", "Song (feat. Someone)", 1, 2),
            ReleaseTrack("m3", "Ballad", 1, 3),
            ReleaseTrack("m4", "Outro", 2, 1),
        ),
    )
    present = [
        OwnedTrack("m1", "A retitled intro"),
        OwnedTrack(None, "song"),
        OwnedTrack(None, "Ballad - 2011 Remaster"),
    ]
    assert [(t.disc_number, t.track_number, t.title) for t in missing_tracks(release, present)] == [(2, 1, "Outro")]


def test_an_owned_track_counts_once_by_recording_id_then_position_then_the_release_or_recording_title():
    release = Release(
        "r",
        "Album",
        tracks=(
            ReleaseTrack("m0", "Hidden", 1, 0, kind="pregap"),
            ReleaseTrack("m1", "Galaxie", 1, 1, recording_title="Hello Goodbye / Galaxie"),
            ReleaseTrack("m2", "Yoake", 1, 2, recording_title="夜明け"),
            ReleaseTrack("m3", "Intro", 1, 3),
            ReleaseTrack("m4", "Intro", 1, 4),
            ReleaseTrack("m5", "Data", 1, 5, kind="data"),
        ),
    )
    # The printed title, the recording's title, and a position say which track a file is.
    assert missing_tracks(release, [OwnedTrack(None, "Galaxie", None, 9)]) == [
        t for t in release.tracks if t.recording_mbid != "m1"
    ]
    assert [t.recording_mbid for t in missing_tracks(release, [OwnedTrack(None, "夜明け")])] == [
        "m0", "m1", "m3", "m4", "m5"
    ]  # fmt: skip
    assert [t.recording_mbid for t in missing_tracks(release, [OwnedTrack(None, "Track 00", 1, 0)])] == [
        "m1", "m2", "m3", "m4", "m5"
    ]  # fmt: skip
    # One owned "Intro" is one of the two, not both.
    assert [t.recording_mbid for t in missing_tracks(release, [OwnedTrack(None, "Intro")])] == [
        "m0", "m1", "m2", "m4", "m5"
    ]  # fmt: skip
    # A recording id wins over the position the file claims; a file known to be another
    # recording is not the track at its position (its title may still say which it is).
    owned = [OwnedTrack("m2", "whatever", 1, 1), OwnedTrack("elsewhere", "Intro", 1, 4), OwnedTrack(None, "?", 1, 1)]
    assert [t.recording_mbid for t in missing_tracks(release, owned)] == ["m0", "m4", "m5"]


def test_a_file_numbered_after_another_edition_is_the_track_its_title_names():
    release = Release("r", "A", tracks=(ReleaseTrack("a", "One", 1, 1), ReleaseTrack("b", "Two", 1, 2)))
    assert [t.recording_mbid for t in missing_tracks(release, [OwnedTrack(None, "Two", 1, 1)])] == ["a"]
    assert [t.recording_mbid for t in missing_tracks(release, [OwnedTrack(None, "Uno", 1, 1)])] == ["b"]


def test_a_position_needs_a_disc_unless_the_release_has_one():
    two_discs = Release("r", "A", tracks=(ReleaseTrack("a", "One", 1, 1), ReleaseTrack("b", "Uno", 2, 1)))
    assert [t.recording_mbid for t in missing_tracks(two_discs, [OwnedTrack(None, "x", None, 1)])] == ["a", "b"]
    assert [t.recording_mbid for t in missing_tracks(two_discs, [OwnedTrack(None, "x", 2, 1)])] == ["a"]


def test_release_tracks_come_from_musicbrainzngs_media_in_order():
    obj = {
        "id": "r",
        "title": "Album",
        "status": "Official",
        "date": "2001",
        "medium-list": [
            {
                "position": "1",
                "track-list": [
                    {
                        "position": "1",
                        "length": "1000",
                        "recording": {"id": "m1", "title": "One", "isrc-list": ["B", "A"]},
                    },
                    {"position": "2", "recording": {"id": "m2", "title": "Two", "length": "2000"}},
                ],
            },
            {
                "position": "2",
                "track-list": [{"position": "1", "recording": {"id": "m3", "title": "Three"}}, {"position": "2"}],
            },
        ],
    }
    assert release_with_tracks(obj).tracks == (
        ReleaseTrack("m1", "One", 1, 1, 1000, "A"),
        ReleaseTrack("m2", "Two", 1, 2, 2000, None),
        ReleaseTrack("m3", "Three", 2, 1, None, None),
    )


def test_a_release_counts_its_pregap_and_data_tracks_and_prints_its_own_titles():
    obj = {
        "id": "r",
        "title": "Album",
        "medium-list": [
            {
                "position": "1",
                "pregap": {"id": "t0", "position": "0", "number": "0", "recording": {"id": "m0", "title": "Hidden"}},
                "track-list": [
                    {"position": "1", "title": "Galaxie", "recording": {"id": "m1", "title": "Hello Goodbye / Galaxie"}},
                    {"position": "2", "recording": {"id": "m2", "title": "Plain"}},
                ],
                "track-count": 2,
                "data-track-list": [{"position": "3", "recording": {"id": "m3", "title": "Video"}}],
                "data-track-count": 1,
            },
            # positions missing: the pregap is 0, data tracks follow the tracks
            {"pregap": {"recording": {"id": "n0"}}, "track-list": [{"recording": {"id": "n1"}}],
             "data-track-list": [{"recording": {"id": "n2"}}]},
        ],
    }  # fmt: skip
    tracks = release_with_tracks(obj).tracks
    assert [(t.recording_mbid, t.title, t.disc_number, t.track_number, t.kind, t.recording_title) for t in tracks] == [
        ("m0", "Hidden", 1, 0, "pregap", None),
        ("m1", "Galaxie", 1, 1, "track", "Hello Goodbye / Galaxie"),
        ("m2", "Plain", 1, 2, "track", None),
        ("m3", "Video", 1, 3, "data", None),
        ("n0", "", 2, 0, "pregap", None),
        ("n1", "", 2, 1, "track", None),
        ("n2", "", 2, 2, "data", None),
    ]
    album, recordings = release_fields(obj)
    assert album == {"country": None, "medium_count": 2, "total_tracks": 7}
    assert set(recordings) == {"m0", "m1", "m2", "m3", "n0", "n1", "n2"}


def test_a_data_cd_from_the_real_recordings_is_198_tracks_with_their_printed_titles(realdata):
    import musicbrainzngs.mbxml

    path = realdata / "musicbrainzngs/test/data/release/9ce41d09-40e4-4d33-af0c-7fed1e558dba-recordings.xml"
    with open(path, "rb") as f:
        obj = musicbrainzngs.mbxml.parse_message(f)["release"]
    release = release_with_tracks(obj)
    assert len(release.tracks) == 198 and {t.kind for t in release.tracks} == {"data"}
    assert release_fields(obj)[0]["total_tracks"] == 198  # track-count says 0: every track is a data track
    (fire,) = [t for t in release.tracks if t.track_number == 6]
    assert (fire.title, fire.recording_title) == (
        "Fire Engine",
        "Fire Engine (studio: 1975-08-xx: New York City, NY, USA)",
    )
    owned = [OwnedTrack(None, "Fire Engine"), OwnedTrack("35ae913f-b65a-4b57-b744-397c539b9a04", "Kick Out the Jams")]
    assert len(missing_tracks(release, owned)) == 196


def test_provider_shapes_become_release_groups():
    group = musicbrainz_group(
        {
            "id": "x",
            "title": "Alive 2007",
            "type": "Live",
            "primary-type": "Album",
            "secondary-type-list": ["Live"],
            "first-release-date": "2007-11-19",
        }
    )
    assert (group.key, group.primary_type, group.secondary_types, group.release_type) == (
        "rg:x",
        "Album",
        ("Live",),
        "album + live",
    )
    assert spotify_group(
        {"id": "s", "name": "Hits", "album_type": "compilation", "album_group": "compilation"}
    ).secondary_types == ("Compilation",)
    assert spotify_group({"id": "s", "name": "Feature", "album_type": "album", "album_group": "appears_on"}) is None


def test_spotify_editions_of_one_album_collapse_to_the_earliest():
    listed = [
        spotify_group(
            {"id": "b", "name": "Discovery (Deluxe Edition)", "album_type": "album", "release_date": "2021-02-22"}
        ),
        spotify_group({"id": "a", "name": "Discovery", "album_type": "album", "release_date": "2001-03-12"}),
        spotify_group({"id": "c", "name": "Homework", "album_type": "album", "release_date": "1997-01-20"}),
    ]
    assert [g.spotify_album_id for g in collapse_editions(listed)] == ["c", "a"]
