from soulspot_pipeline.domain.library_merge import merge_local_files, superseded_states

MBID_A = "11111111-1111-1111-1111-111111111111"
MBID_B = "22222222-2222-2222-2222-222222222222"
REC = "33333333-3333-3333-3333-333333333333"


def file(path, **tags):
    row = {"path": path, "missing": False, "format": "mp3", "bitrate": 320}
    row.update(tags)
    return row


def merge(files, registry=None, identities=None, states=None, auto_queue=False):
    return merge_local_files(files, registry or {}, identities or {}, states or {}, auto_queue=auto_queue)


def registry_of(result, registry=None):
    registry = dict(registry or {})
    registry.update({(k.entity_type, k.key): k.entity_id for k in result.new_keys})
    return registry


def test_same_recording_mbid_is_one_track_and_the_lossless_file_is_primary():
    result = merge(
        [
            file("/m/a.mp3", artist="Air", album="Moon Safari", title="La femme d'argent", recording_mbid=REC),
            file("/m/a.flac", artist="AIR", album="Moon Safari", title="La Femme d’Argent", recording_mbid=REC, format="flac", bitrate=900),
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


def test_isrc_then_normalized_names_deduplicate():
    result = merge(
        [
            file("/m/1.mp3", artist="Daft Punk", album="Discovery", title="One More Time", isrc="GBDUW0000059"),
            file("/m/2.mp3", artist="Daft Punk", album="Single", title="One More Time (Radio Edit)", isrc="GBDUW0000059"),
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
            file("/m/2.mp3", artist="Nirvana", title="Rainbow Chaser", album="The Story of Simon Simopath", artist_mbid=MBID_B),
        ]
    )
    assert sorted(a["artist_mbid"] for a in result.artists.values()) == [MBID_A, MBID_B]


def test_same_title_by_different_artists_stays_two_tracks():
    result = merge([file("/m/1.mp3", artist="Adele", title="Hello"), file("/m/2.mp3", artist="Lionel Richie", title="Hello")])
    assert len(result.tracks) == 2


def test_files_without_title_are_their_own_tracks():
    result = merge([file("/a/01.mp3"), file("/b/01.mp3")])
    assert len(result.tracks) == 2
    assert {t["title"] for t in result.tracks.values()} == {"01"}
    assert {a["name"] for a in result.artists.values()} == {"Unknown Artist"}


def test_ids_are_stable_across_runs_and_a_rerun_registers_nothing():
    files = [file("/m/1.mp3", artist="Air", album="Moon Safari", title="Talisman", track_number=3)]
    first = merge(files)
    second = merge(files, registry_of(first), states={**{k: "owned" for k in first.tracks}, **{k: "owned" for k in first.albums}, **{k: "owned" for k in first.artists}})
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
    second = merge([file("/m/1.mp3", artist="Air", title="Talisman")], registry_of(first), states={track_id: "ignored"})
    assert second.tracks[track_id]["ownership_state"] == "ignored"


def test_album_artist_and_album_are_shared_by_tracks():
    files = [
        file(f"/m/{n}.flac", artist=artist, albumartist="Various Artists", album="Now 1", title=f"Song {n}", track_total=2)
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
        file("/m/2.mp3", artist="Daft Punk", album="Single", title="One More Time", isrc="GBDUW0000059", recording_mbid=REC),
    ]
    first = merge(files)
    rules = {path: rule for path, _, rule, _ in first.track_files}
    previous = {path: (track_id, rule) for path, track_id, rule, _ in first.track_files}
    second = merge_local_files(files, registry_of(first), {}, {}, auto_queue=False, previous_matches=previous)
    assert {path: rule for path, _, rule, _ in second.track_files} == rules
    assert len(second.tracks) == 1
