"""Which file of a duplicate group the library keeps: each rule decides in its order, and says why."""

from datetime import datetime

import pytest

from soulspot_pipeline.domain.file_choice import duplicate_groups, in_naming_scheme, keep_order, why_kept

EARLY = datetime(2024, 1, 2, 10, 0)
LATE = datetime(2025, 6, 1, 10, 0)
NAMED = "/music/Air/Moon Safari (1998)/01 - Sexy Boy"


def row(path: str = "/music/x/a.mp3", **facts) -> dict:
    """A ``load_local_files`` row (plus ``broken``), by default an untagged MP3 320 seen late."""
    base = {
        "path": path,
        "missing": False,
        "broken": False,
        "format": "mp3",
        "bitrate": 320,
        "bit_depth": None,
        "sample_rate": 44100,
        "artist": "Air",
        "albumartist": None,
        "album": "Moon Safari",
        "title": "Sexy Boy",
        "track_number": 1,
        "track_total": 10,
        "disc_number": None,
        "date": "1998",
        "isrc": None,
        "recording_mbid": None,
        "release_mbid": None,
        "release_group_mbid": None,
        "artist_mbid": None,
        "albumartist_mbid": None,
        "first_seen_at": LATE,
    }
    return {**base, **facts}


def kept_of(*rows: dict) -> dict:
    return min(rows, key=keep_order)


# Each case: the file kept, a file that loses by exactly that rule (and would win every later
# one), and the reason in words.
CASES = [
    pytest.param(
        row(),
        row(path="/music/a.flac", missing=True, format="flac", bit_depth=24, recording_mbid="r", first_seen_at=EARLY),
        "on disk (the other file is missing)",
        id="present-over-missing",
    ),
    pytest.param(
        row(format="mp3", bitrate=128),
        row(path="/music/a.flac", broken=True, format="flac", bit_depth=24, recording_mbid="r", first_seen_at=EARLY),
        "decodes cleanly (the other is broken or truncated)",
        id="sound-over-broken",
    ),
    pytest.param(
        row(path="/music/z.flac", format="flac", bitrate=900, bit_depth=16),
        row(path="/music/a.mp3", recording_mbid="r", first_seen_at=EARLY),
        "lossless (flac) over mp3 320 kbps",
        id="lossless-over-lossy",
    ),
    pytest.param(
        row(path="/music/z.flac", format="flac", bitrate=2000, bit_depth=24),
        row(path="/music/a.flac", format="flac", bitrate=2500, bit_depth=16, recording_mbid="r", first_seen_at=EARLY),
        "24-bit over 16-bit",
        id="bit-depth",
    ),
    pytest.param(
        row(path="/music/z.flac", format="flac", bit_depth=24, sample_rate=96000),
        row(path="/music/a.flac", format="flac", bit_depth=24, sample_rate=44100, recording_mbid="r"),
        "96 kHz over 44.1 kHz",
        id="sample-rate",
    ),
    pytest.param(
        row(path="/music/z.mp3", bitrate=320),
        row(path="/music/a.mp3", bitrate=192, recording_mbid="r", first_seen_at=EARLY),
        "mp3 320 kbps over mp3 192 kbps",
        id="bitrate",
    ),
    pytest.param(
        row(path="/music/z.mp3", release_group_mbid="rg"),
        row(path=f"{NAMED}.mp3", first_seen_at=EARLY),
        "tagged with MusicBrainz ids",
        id="mbids",
    ),
    pytest.param(
        row(path=f"{NAMED}.mp3"),
        row(path="/music/a.mp3", first_seen_at=EARLY),
        "named by the library's scheme",
        id="naming-scheme",
    ),
    pytest.param(
        row(path="/music/z.mp3", first_seen_at=EARLY),
        row(path="/music/a.mp3"),
        "older (first seen 2024-01-02)",
        id="older",
    ),
    pytest.param(
        row(path="/music/a.mp3"), row(path="/music/b.mp3"), "alike in every respect; first by path", id="path"
    ),
]


@pytest.mark.parametrize(("winner", "loser", "reason"), CASES)
def test_each_rule_decides_in_its_order_and_says_why(winner, loser, reason):
    assert kept_of(loser, winner) is winner
    assert kept_of(winner, loser) is winner
    assert why_kept(winner, loser) == reason


def test_a_wav_is_no_better_than_a_flac_of_the_same_depth_and_rate_for_its_bitrate():
    flac = row(path="/music/b.flac", format="flac", bitrate=900, bit_depth=16, recording_mbid="r")
    wav = row(path="/music/a.wav", format="wav", bitrate=1411, bit_depth=16)
    assert kept_of(wav, flac) is flac
    assert why_kept(flac, wav) == "tagged with MusicBrainz ids"


def test_the_same_day_names_the_time():
    older = row(path="/music/z.mp3", first_seen_at=datetime(2024, 1, 2, 9, 30))
    assert why_kept(older, row(first_seen_at=EARLY)) == "older (first seen 2024-01-02 09:30:00)"


def test_why_kept_refuses_the_wrong_way_round():
    with pytest.raises(ValueError, match="is not kept over"):
        why_kept(row(format="mp3", bitrate=128), row(path="/music/b.flac", format="flac"))


@pytest.mark.parametrize(
    ("path", "facts", "named"),
    [
        (f"{NAMED}.mp3", {}, True),
        ("/srv/music/Air/Moon Safari (1998)/01 - Sexy Boy.mp3", {}, True),
        (f"{NAMED}.flac", {}, True),  # the extension is the file's own
        (f"{NAMED}.MP3", {}, False),  # the importer writes lowercase extensions
        ("/music/Air/Moon Safari/01 - Sexy Boy.mp3", {}, False),  # the year is missing from the folder
        ("/music/Air/Moon Safari (1998)/01 Sexy Boy.mp3", {}, False),
        ("/music/Air/Moon Safari (1998)/2-01 - Sexy Boy.mp3", {"disc_number": 2}, True),  # disc total unknown
        ("/music/Air/Moon Safari (1998)/2-01 - Sexy Boy.mp3", {"disc_number": 2, "disc_total": 2}, True),
        ("/music/Air/Moon Safari (1998)/2-01 - Sexy Boy.mp3", {"disc_number": 2, "disc_total": 1}, False),
        ("/music/Various/Moon Safari (1998)/01 - Sexy Boy.mp3", {"albumartist": "Various"}, True),
        ("/music/Air/Moon Safari (1998)/01 - Sexy Boy_ Remix.mp3", {"title": "Sexy Boy: Remix"}, True),
    ],
)
def test_the_naming_scheme_is_the_importers(path, facts, named):
    assert in_naming_scheme(row(path=path, **facts)) is named


def test_files_of_one_track_or_one_audio_are_one_group_keeping_one():
    files = [
        row(path="/m/a.mp3", track_id="t1", audio_hash="h1"),
        row(path="/m/a.flac", format="flac", bit_depth=16, track_id="t1", audio_hash="h2"),
        row(path="/m/b.mp3", track_id="t2", audio_hash="h1", first_seen_at=EARLY),  # same audio as a.mp3
        row(path="/m/c.mp3", track_id="t3", audio_hash="h3"),  # alone
        row(path="/m/d.mp3", track_id="t4", audio_hash="h4"),
        row(path="/m/e.mp3", track_id="t5", audio_hash="h4", release_mbid="r"),  # same audio, another track
        row(path="/m/f.mp3", track_id="t6", missing=True, audio_hash="h3"),  # gone: no duplicate
    ]
    grouped = {g.path: g for g in duplicate_groups(files)}
    assert set(grouped) == {"/m/a.mp3", "/m/a.flac", "/m/b.mp3", "/m/d.mp3", "/m/e.mp3"}
    first = [grouped[p] for p in ("/m/a.flac", "/m/b.mp3", "/m/a.mp3")]
    assert len({g.group_id for g in first}) == 1 and {g.kind for g in first} == {"track+audio"}
    assert [(g.rank, g.kept) for g in first] == [(1, True), (2, False), (3, False)]
    assert first[0].reason == first[1].reason == "lossless (flac) over mp3 320 kbps"
    second = [grouped["/m/e.mp3"], grouped["/m/d.mp3"]]
    assert {g.kind for g in second} == {"audio"} and [g.kept for g in second] == [True, False]
    assert second[1].reason == "tagged with MusicBrainz ids"
    assert second[0].group_id != first[0].group_id
    # The group's id is its set of files, whatever their order.
    assert {g.group_id for g in duplicate_groups(list(reversed(files)))} == {first[0].group_id, second[0].group_id}


def test_a_track_with_one_file_on_disk_is_no_duplicate():
    files = [row(path="/m/a.mp3", track_id="t1"), row(path="/m/b.mp3", track_id="t1", missing=True)]
    assert duplicate_groups(files) == []
