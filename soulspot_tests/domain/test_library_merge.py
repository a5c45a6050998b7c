from datetime import datetime, timedelta

from soulspot_pipeline.domain.library_merge import MergeInputs, merge_library, superseded_states
from soulspot_pipeline.domain.ownership import Decision

MBID_A = "11111111-1111-1111-1111-111111111111"
MBID_B = "22222222-2222-2222-2222-222222222222"
REC = "33333333-3333-3333-3333-333333333333"


def file(path, **tags):
    row = {"path": path, "missing": False, "format": "mp3", "bitrate": 320}
    row.update(tags)
    return row


T0 = datetime(2026, 1, 1)
SOURCES = ("local", "spotify", "deezer")


def merge(files=(), registry=None, identities=None, states=None, auto_queue=False, **cloud):
    return merge_library(
        MergeInputs(
            local_files=files,
            registry=registry or {},
            identities=identities or {},
            previous_states=states or {},
            auto_queue=auto_queue,
            source_order=SOURCES,
            metadata_order=("manual", "musicbrainz", "spotify", "deezer", "local"),
            **cloud,
        )
    )


def registry_of(result, registry=None):
    registry = dict(registry or {})
    registry.update({(k.entity_type, k.key): k.entity_id for k in result.new_keys})
    return registry


def test_same_recording_mbid_is_one_track_and_the_lossless_file_is_primary():
    result = merge(
        [
            file("/m/a.mp3", artist="Air", album="Moon Safari", title="La femme d'argent", recording_mbid=REC),
            file(
                "/m/a.flac",
                artist="AIR",
                album="Moon Safari",
                title="La Femme d’Argent",
                recording_mbid=REC,
                format="flac",
                bitrate=900,
            ),
        ]
    )
    assert len(result.tracks) == 1
    (track,) = result.tracks.values()
    assert track["local_path"] == "/m/a.flac"
    assert track["ownership_state"] == "owned" and track["download_state"] == "downloaded"
    assert sorted((p, rule, primary) for p, _, rule, primary in result.track_files) == [
        ("/m/a.flac", "new", True),
        ("/m/a.mp3", "mbid", False),
    ]


def test_of_two_equal_files_of_one_track_the_one_in_the_naming_scheme_is_primary():
    scheme = file("/m/Air/Moon Safari (1998)/01 - Sexy Boy.mp3", artist="Air", album="Moon Safari", title="Sexy Boy")
    scheme.update(albumartist="Air", date="1998", track_number=1)
    loose = file("/m/incoming/sexy boy.mp3", artist="Air", album="Moon Safari", title="Sexy Boy")
    (track,) = merge([loose, scheme]).tracks.values()
    assert track["local_path"] == scheme["path"]  # the file the duplicates view keeps


def test_isrc_then_normalized_names_deduplicate():
    result = merge(
        [
            file("/m/1.mp3", artist="Daft Punk", album="Discovery", title="One More Time", isrc="GBDUW0000059"),
            file(
                "/m/2.mp3", artist="Daft Punk", album="Single", title="One More Time (Radio Edit)", isrc="GBDUW0000059"
            ),
            file("/m/3.mp3", artist="daft punk", album="DISCOVERY", title="Aerodynamic"),
            file("/m/4.ogg", artist="Daft Punk", album="Discovery", title="aerodynamic!"),
        ]
    )
    assert len(result.tracks) == 2
    assert result.rules == {"new": 2, "isrc": 1, "name": 1}


def test_same_name_different_mbids_stay_two_artists():
    result = merge(
        [
            file("/m/1.mp3", artist="Nirvana", title="Lithium", album="Nevermind", artist_mbid=MBID_A),
            file(
                "/m/2.mp3",
                artist="Nirvana",
                title="Rainbow Chaser",
                album="The Story of Simon Simopath",
                artist_mbid=MBID_B,
            ),
        ]
    )
    assert sorted(a["artist_mbid"] for a in result.artists.values()) == [MBID_A, MBID_B]


def test_same_title_by_different_artists_stays_two_tracks():
    result = merge(
        [file("/m/1.mp3", artist="Adele", title="Hello"), file("/m/2.mp3", artist="Lionel Richie", title="Hello")]
    )
    assert len(result.tracks) == 2


def test_files_without_title_are_their_own_tracks():
    result = merge([file("/a/01.mp3"), file("/b/01.mp3")])
    assert len(result.tracks) == 2
    assert {t["title"] for t in result.tracks.values()} == {"01"}
    assert {a["name"] for a in result.artists.values()} == {"Unknown Artist"}


def test_ids_are_stable_across_runs_and_a_rerun_registers_nothing():
    files = [file("/m/1.mp3", artist="Air", album="Moon Safari", title="Talisman", track_number=3)]
    first = merge(files)
    second = merge(
        files,
        registry_of(first),
        states={
            **{k: "owned" for k in first.tracks},
            **{k: "owned" for k in first.albums},
            **{k: "owned" for k in first.artists},
        },
    )
    assert second.tracks == first.tracks and second.albums == first.albums and second.artists == first.artists
    assert second.new_keys == []


def test_a_missing_file_leaves_downloaded():
    result = merge([file("/m/1.mp3", artist="Air", title="Talisman", missing=True)], auto_queue=True)
    (track,) = result.tracks.values()
    assert (track["ownership_state"], track["download_state"], track["local_path"]) == ("owned", "pending", None)


def test_a_retagged_file_supersedes_its_old_track():
    first = merge([file("/m/1.mp3", artist="Air", title="Talismn")])
    states = {i: "owned" for i in [*first.tracks, *first.albums, *first.artists]}
    second = merge([file("/m/1.mp3", artist="Air", title="Talisman")], registry_of(first), states=states)
    old_track = next(iter(first.tracks))
    assert old_track not in second.tracks
    assert superseded_states(states, [*second.tracks, *second.albums, *second.artists]) == {old_track: "discovered"}


def test_ignored_entities_stay_ignored():
    first = merge([file("/m/1.mp3", artist="Air", title="Talisman")])
    track_id = next(iter(first.tracks))
    second = merge(
        [file("/m/1.mp3", artist="Air", title="Talisman")],
        registry_of(first),
        decisions={track_id: Decision("ignored", T0)},
    )
    assert second.tracks[track_id]["ownership_state"] == "ignored"


def test_album_artist_and_album_are_shared_by_tracks():
    files = [
        file(
            f"/m/{n}.flac",
            artist=artist,
            albumartist="Various Artists",
            album="Now 1",
            title=f"Song {n}",
            track_total=2,
        )
        for n, artist in ((1, "Blur"), (2, "Oasis"))
    ]
    result = merge(files)
    assert len(result.albums) == 1
    (album,) = result.albums.values()
    assert result.artists[album["artist_id"]]["name"] == "Various Artists"
    assert album["total_tracks"] == 2 and album["ownership_state"] == "owned"
    assert {result.artists[t["artist_id"]]["name"] for t in result.tracks.values()} == {"Blur", "Oasis"}


def test_the_rule_that_merged_a_file_stays_the_same_on_later_runs():
    files = [
        file("/m/1.mp3", artist="Daft Punk", album="Discovery", title="One More Time", isrc="GBDUW0000059"),
        file(
            "/m/2.mp3",
            artist="Daft Punk",
            album="Single",
            title="One More Time",
            isrc="GBDUW0000059",
            recording_mbid=REC,
        ),
    ]
    first = merge(files)
    rules = {path: rule for path, _, rule, _ in first.track_files}
    previous = {path: (track_id, rule) for path, track_id, rule, _ in first.track_files}
    second = merge(files, registry_of(first), previous_matches=previous)
    assert {path: rule for path, _, rule, _ in second.track_files} == rules
    assert len(second.tracks) == 1


# -- cloud sources ------------------------------------------------------------------------


def cloud_artist(source, artist_id, name, owned_since=None, genres=None):
    return {"source": source, "artist_id": artist_id, "name": name, "genres": genres, "owned_since": owned_since}


def cloud_album(source, album_id, title, artist_id, artist_name, owned_since=None, **extra):
    return {
        "source": source,
        "album_id": album_id,
        "title": title,
        "artist_id": artist_id,
        "artist_name": artist_name,
        "owned_since": owned_since,
        **extra,
    }


def cloud_track(
    source, track_id, title, artist_id, artist_name, album_id=None, isrc=None, duration_ms=None, owned_since=None
):
    return {
        "source": source,
        "track_id": track_id,
        "title": title,
        "artist_id": artist_id,
        "artist_name": artist_name,
        "album_id": album_id,
        "isrc": isrc,
        "duration_ms": duration_ms,
        "owned_since": owned_since,
    }


def air_on(source, owned_since=T0, isrc="FRAB19800001", track_id="t1", title="Sexy Boy", duration_ms=298_000):
    return dict(
        cloud_artists=[cloud_artist(source, "a1", "Air")],
        cloud_albums=[cloud_album(source, "al1", "Moon Safari", "a1", "Air")],
        cloud_tracks=[cloud_track(source, track_id, title, "a1", "Air", "al1", isrc, duration_ms, owned_since)],
    )


def combine(*parts):
    combined = {"cloud_artists": [], "cloud_albums": [], "cloud_tracks": []}
    for part in parts:
        for key, rows in part.items():
            combined[key] = combined[key] + rows
    return combined


def test_a_liked_track_that_is_also_a_local_file_is_one_owned_downloaded_track_with_every_id():
    local = file(
        "/m/sexy.flac",
        artist="Air",
        album="Moon Safari",
        title="Sexy Boy",
        isrc="FRAB19800001",
        format="flac",
        duration_ms=298_500,
        first_seen_at=T0,
    )
    deezer = air_on("deezer", track_id="3135556")
    result = merge([local], **combine(air_on("spotify"), deezer))
    assert len(result.tracks) == 1 and len(result.albums) == 1 and len(result.artists) == 1
    (track,) = result.tracks.values()
    assert (track["spotify_id"], track["deezer_id"], track["local_path"]) == ("t1", "3135556", "/m/sexy.flac")
    assert (track["ownership_state"], track["download_state"], track["primary_source"]) == (
        "owned",
        "downloaded",
        "local",
    )
    links = {(sl.entity_type, sl.source): sl.matched_by for sl in result.links}
    assert links[("track", "spotify")] == "isrc" and links[("album", "spotify")] == "name"
    (artist,) = result.artists.values()
    assert (artist["spotify_id"], artist["deezer_id"]) == ("a1", "a1")


def test_same_title_by_different_artists_stays_two_tracks_across_sources():
    hello_adele = combine(
        {
            "cloud_artists": [cloud_artist("spotify", "adele", "Adele")],
            "cloud_tracks": [
                cloud_track("spotify", "h1", "Hello", "adele", "Adele", duration_ms=295_000, owned_since=T0)
            ],
        }
    )
    result = merge([file("/m/hello.mp3", artist="Lionel Richie", title="Hello", duration_ms=295_000)], **hello_adele)
    assert len(result.tracks) == 2
    assert {result.artists[t["artist_id"]]["name"] for t in result.tracks.values()} == {"Adele", "Lionel Richie"}


def test_without_identifiers_title_album_and_duration_decide_and_the_score_is_kept():
    local = file("/m/sexy.flac", artist="Air", album="Moon Safari", title="Sexy Boy", duration_ms=298_000)
    same = air_on("spotify", isrc=None, title="Sexy Boy - 2018 Remaster", duration_ms=299_000)
    result = merge([local], **same)
    assert len(result.tracks) == 1
    (link,) = [sl for sl in result.links if sl.entity_type == "track"]
    assert link.matched_by == "fuzzy" and 0.9 <= link.score <= 1.0
    previous = {
        (sl.entity_type, sl.source, sl.source_id): (sl.entity_id, sl.matched_by, sl.score) for sl in result.links
    }
    assert merge([local], registry_of(result), previous_links=previous, **same).links == result.links

    other_recording = file(
        "/m/sexy.flac", artist="Air", album="Moon Safari", title="Sexy Boy", duration_ms=298_000, isrc="FRAB19800009"
    )
    assert (
        len(merge([other_recording], **air_on("spotify", title="Sexy Boy - 2018 Remaster", duration_ms=299_000)).tracks)
        == 2
    )

    live = combine(
        {
            "cloud_artists": [cloud_artist("spotify", "a1", "Air")],
            "cloud_albums": [cloud_album("spotify", "al9", "Live in Paris", "a1", "Air")],
            "cloud_tracks": [cloud_track("spotify", "t9", "Sexy Boy", "a1", "Air", "al9", None, 341_000, T0)],
        }
    )
    assert len(merge([local], **live).tracks) == 2


def test_a_rerun_with_the_same_sources_registers_nothing_and_keeps_every_row():
    local = file(
        "/m/sexy.flac", artist="Air", album="Moon Safari", title="Sexy Boy", isrc="FRAB19800001", first_seen_at=T0
    )
    cloud = combine(air_on("spotify"), air_on("deezer", track_id="d1"))
    first = merge([local], **cloud)
    previous_links = {
        (sl.entity_type, sl.source, sl.source_id): (sl.entity_id, sl.matched_by, sl.score) for sl in first.links
    }
    second = merge([local], registry_of(first), previous_links=previous_links, **cloud)
    assert second.new_keys == []
    assert (second.tracks, second.albums, second.artists) == (first.tracks, first.albums, first.artists)
    assert second.links == first.links


def test_unliking_turns_track_album_and_artist_discovered_and_keeps_them():
    liked = merge(**air_on("spotify"))
    (track,) = liked.tracks.values()
    assert track["ownership_state"] == "owned" and track["download_state"] == "not_needed"
    assert {a["ownership_state"] for a in (*liked.albums.values(), *liked.artists.values())} == {"owned"}

    unliked = merge(registry=registry_of(liked), **air_on("spotify", owned_since=None))
    assert set(unliked.tracks) == set(liked.tracks)
    states = {
        e["ownership_state"] for e in (*unliked.tracks.values(), *unliked.albums.values(), *unliked.artists.values())
    }
    assert states == {"discovered"}


def test_a_followed_artist_is_owned_without_owning_its_tracks_and_a_saved_album_owns_only_itself():
    cloud = {
        "cloud_artists": [cloud_artist("spotify", "a1", "Air", owned_since=T0, genres=("french pop",))],
        "cloud_albums": [cloud_album("spotify", "al1", "Moon Safari", "a1", "Air", owned_since=T0, album_type="album")],
        "cloud_tracks": [cloud_track("spotify", "t1", "Sexy Boy", "a1", "Air", "al1")],
    }
    result = merge(**cloud)
    (artist,), (album,), (track,) = result.artists.values(), result.albums.values(), result.tracks.values()
    assert (artist["ownership_state"], artist["genres"], artist["primary_source"]) == (
        "owned",
        ["french pop"],
        "spotify",
    )
    assert (album["ownership_state"], album["album_type"]) == ("owned", "album")
    assert track["ownership_state"] == "discovered"


def test_auto_queue_makes_liked_tracks_pending_and_a_request_does_so_without_it():
    assert next(iter(merge(auto_queue=True, **air_on("spotify")).tracks.values()))["download_state"] == "pending"
    discovered = merge(**air_on("spotify", owned_since=None))
    track_id = next(iter(discovered.tracks))
    requested = merge(registry=registry_of(discovered), requests={track_id: T0}, **air_on("spotify", owned_since=None))
    track = requested.tracks[track_id]
    assert (track["ownership_state"], track["download_state"], track["primary_source"]) == ("owned", "pending", "user")


def test_removal_unowns_older_reasons_and_cascades_but_a_newer_like_owns_again():
    first = merge(**air_on("spotify", owned_since=T0))
    artist_id = next(iter(first.artists))
    removed = {artist_id: Decision("removed", T0 + timedelta(days=1))}
    after = merge(registry=registry_of(first), decisions=removed, **air_on("spotify", owned_since=T0))
    states = {e["ownership_state"] for e in (*after.tracks.values(), *after.albums.values(), *after.artists.values())}
    assert states == {"discovered"}
    liked_again = merge(
        registry=registry_of(first), decisions=removed, **air_on("spotify", owned_since=T0 + timedelta(days=2))
    )
    assert {t["ownership_state"] for t in liked_again.tracks.values()} == {"owned"}


def test_an_ignored_album_is_never_reowned_by_a_like_and_its_tracks_follow():
    first = merge(**air_on("spotify"))
    album_id = next(iter(first.albums))
    later = T0 + timedelta(days=30)
    result = merge(
        registry=registry_of(first),
        decisions={album_id: Decision("ignored", T0)},
        auto_queue=True,
        **air_on("spotify", owned_since=later),
    )
    (track,) = result.tracks.values()
    assert (track["ownership_state"], track["download_state"]) == ("ignored", "not_needed")
    assert result.albums[album_id]["ownership_state"] == "ignored"
    assert superseded_states({album_id: "ignored"}, [], {album_id: Decision("ignored", T0)}) == {album_id: "ignored"}


def test_an_edition_of_the_same_album_joins_it():
    local = file("/m/flyover.mp3", artist="Asian Dub Foundation", album="Tank", title="Flyover")
    cloud = {
        "cloud_artists": [cloud_artist("deezer", "1422", "Asian Dub Foundation")],
        "cloud_albums": [cloud_album("deezer", "230721992", "Tank (Remastered)", "1422", "Asian Dub Foundation")],
        "cloud_tracks": [
            cloud_track("deezer", "1374789602", "Flyover", "1422", "Asian Dub Foundation", "230721992", owned_since=T0)
        ],
    }
    result = merge([local], **cloud)
    assert len(result.albums) == 1 and len(result.tracks) == 1
    assert {(sl.entity_type, sl.matched_by) for sl in result.links} >= {("album", "edition"), ("track", "name")}


def test_same_title_on_one_album_with_different_isrcs_stays_two_tracks():
    files = [
        file(f"/m/{n}.flac", artist="Portishead", album="Dummy", title="Interlude", isrc=isrc)
        for n, isrc in ((1, "GBAAA9400001"), (2, "GBAAA9400002"))
    ]
    assert len(merge(files).tracks) == 2


# -- broken files (the decode check's verdict on a file of this size and mtime) --------------


def sexy_boy(path, **row):
    return file(path, artist="Air", album="Moon Safari", title="Sexy Boy", **row)


def track_and_files(result):
    (track,) = result.tracks.values()
    return (
        (track["ownership_state"], track["download_state"], track["local_path"]),
        sorted((path, primary) for path, _, _, primary in result.track_files),
    )


def test_a_good_file_is_primary_over_a_broken_one_even_a_lossless_one():
    result = merge([sexy_boy("/m/a.flac", format="flac", bitrate=900, broken=True), sexy_boy("/m/b.mp3", bitrate=192)])
    assert track_and_files(result) == (
        ("owned", "downloaded", "/m/b.mp3"),
        [("/m/a.flac", False), ("/m/b.mp3", True)],
    )
    (track,) = result.tracks.values()
    assert (track["audio_format"], track["bitrate"]) == ("mp3", 192)


def test_a_track_whose_only_file_is_broken_is_pending_without_auto_queue_and_keeps_the_file_listed():
    for auto_queue in (False, True):
        result = merge([sexy_boy("/m/a.flac", format="flac", broken=True)], auto_queue=auto_queue)
        assert track_and_files(result) == (("owned", "pending", None), [("/m/a.flac", True)])


def test_broken_and_missing_files_together():
    # A broken file on disk beside a vanished good one: nothing plays, the user had it, so pending.
    assert track_and_files(merge([sexy_boy("/m/a.flac", broken=True), sexy_boy("/m/b.mp3", missing=True)])) == (
        ("owned", "pending", None),
        [("/m/a.flac", True), ("/m/b.mp3", False)],
    )
    # A broken file that vanished is a vanished file: pending only with auto-queue.
    assert track_and_files(merge([sexy_boy("/m/a.flac", broken=True, missing=True)])) == (
        ("owned", "not_needed", None),
        [("/m/a.flac", True)],
    )
    # A good file on disk wins over both.
    assert track_and_files(
        merge(
            [
                sexy_boy("/m/a.flac", format="flac", broken=True),
                sexy_boy("/m/b.flac", format="flac", missing=True),
                sexy_boy("/m/c.mp3"),
            ]
        )
    ) == (("owned", "downloaded", "/m/c.mp3"), [("/m/a.flac", False), ("/m/b.flac", False), ("/m/c.mp3", True)])


def test_a_broken_only_track_follows_its_replacement_download_and_the_users_decisions():
    files = [sexy_boy("/m/a.flac", broken=True, first_seen_at=T0)]
    track_id = next(iter(merge(files).tracks))
    assert track_and_files(merge(files, transfers={track_id: ("downloading", T0)}))[0] == (
        "owned",
        "downloading",
        None,
    )
    # An earlier download of it that landed (and later broke) does not stop a new one.
    assert track_and_files(merge(files, transfers={track_id: ("downloaded", T0)}))[0] == ("owned", "pending", None)
    ignored = merge(files, decisions={track_id: Decision("ignored", T0)})
    assert track_and_files(ignored)[0] == ("ignored", "not_needed", None)
    removed = merge(files, decisions={track_id: Decision("removed", T0 + timedelta(days=1))})
    assert track_and_files(removed)[0] == ("discovered", "not_needed", None)


def album_file(path, title, track_number, disc_number=None, **tags):
    return file(
        path,
        artist="Portishead",
        album="Dummy",
        title=title,
        track_number=track_number,
        disc_number=disc_number,
        **tags,
    )


SAME_TITLES = [
    album_file("/m/03 Interlude.flac", "Interlude", 3),
    album_file("/m/07 Interlude.flac", "Interlude", 7),
    album_file("/m/d1/01 Intro.flac", "Intro", 1, 1),
    album_file("/m/d2/01 Intro.flac", "Intro", 1, 2),
    album_file("/m/04 Roads.flac", "Roads", 4),
    album_file("/m/12 Roads.flac", "Roads (Reprise)", 12),
]


def files_of(result):
    tracks: dict[str, set[str]] = {}
    for path, track_id, _, _ in result.track_files:
        tracks.setdefault(track_id, set()).add(path)
    return sorted(sorted(paths) for paths in tracks.values())


def test_same_title_at_another_place_of_one_album_stays_another_track():
    result = merge(SAME_TITLES)
    assert files_of(result) == [[row["path"]] for row in sorted(SAME_TITLES, key=lambda r: r["path"])]


def test_same_title_at_the_same_place_is_one_track_and_the_places_hold_on_later_runs():
    copies = [*SAME_TITLES, album_file("/m/copy/03 Interlude.mp3", "Interlude", 3), album_file("/m/t.mp3", "Intro", 1)]
    first = merge(copies)
    # The copy joins its own place; "track 1" without a disc is disc 1.
    assert ["/m/03 Interlude.flac", "/m/copy/03 Interlude.mp3"] in files_of(first)
    assert ["/m/d1/01 Intro.flac", "/m/t.mp3"] in files_of(first)
    assert len(first.tracks) == 6
    # A later run in another order (the registry holds every place) keeps every file where it was.
    again = merge(list(reversed(copies)), registry=registry_of(first))
    assert {p: t for p, t, _, _ in again.track_files} == {p: t for p, t, _, _ in first.track_files}
    assert again.new_keys == []


def test_an_existing_library_that_merged_two_places_splits_them_and_keeps_the_first_id():
    """A library merged before places counted: both files were one track, known by name only."""
    before = merge([{**row, "track_number": None} for row in SAME_TITLES[:2]])
    (track_id,) = before.tracks
    after = merge(SAME_TITLES[:2], registry=registry_of(before))
    assert len(after.tracks) == 2 and track_id in after.tracks


def test_two_files_of_one_title_with_different_recording_mbids_stay_two_tracks():
    files = [
        album_file("/m/a.flac", "Interlude", None, recording_mbid=REC),
        album_file("/m/b.flac", "Interlude", None, recording_mbid=MBID_A),
    ]
    assert len(merge(files).tracks) == 2


def test_a_cloud_track_without_a_number_still_joins_a_file_of_its_title():
    local = album_file("/m/07 Interlude.flac", "Interlude", 7)
    cloud = {
        "cloud_artists": [cloud_artist("spotify", "a1", "Portishead")],
        "cloud_albums": [cloud_album("spotify", "al1", "Dummy", "a1", "Portishead")],
        "cloud_tracks": [cloud_track("spotify", "t1", "Interlude", "a1", "Portishead", "al1", owned_since=T0)],
    }
    result = merge([local], **cloud)
    assert len(result.tracks) == 1


def test_two_songs_of_one_title_without_an_album_stay_two_while_copies_of_one_join():
    files = [
        file("/m/loose/Lonely.flac", artist="Björn Haddad", title="Lonely", duration_ms=355_369),
        file("/m/loose/Lonely (live).mp3", artist="Björn Haddad", title="Lonely", duration_ms=185_466),
        file("/m/loose/Lonely copy.mp3", artist="Björn Haddad", title="Lonely", duration_ms=354_800),
    ]
    first = merge(files)
    by_path = _track_of_each_file(first)
    assert len(first.tracks) == 2
    assert (
        by_path["/m/loose/Lonely.flac"] == by_path["/m/loose/Lonely copy.mp3"] != by_path["/m/loose/Lonely (live).mp3"]
    )
    # The same in another order, and again with the keys of the first run: the same ids.
    again = merge(list(reversed(files)), registry_of(first))
    assert _track_of_each_file(again) == by_path and again.new_keys == []


def _track_of_each_file(result) -> dict[str, str]:
    return {path: track_id for path, track_id, *_ in result.track_files}
