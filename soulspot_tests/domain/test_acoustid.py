"""domain.acoustid: AcoustID's lookup answers as matches, on inline answers and the recorded real ones."""

import json

import pytest

from soulspot_pipeline.domain.acoustid import (
    AcoustidAnswerError,
    AcoustidError,
    answer_error,
    content_key,
    parse_answer,
    parse_results,
    results_by_index,
)

# Shaped as the server sends it with meta=recordings+releasegroups and batch=1: keys sorted,
# a recording credited to two artists, one known only by its id, a second track scoring lower.
BATCH = {
    "fingerprints": [
        {
            "index": 0,
            "results": [
                {
                    "id": "a1d0a1d0-0000-4000-8000-000000000001",
                    "recordings": [
                        {
                            "artists": [
                                {"id": "ar-1", "joinphrase": " feat. ", "name": "Lead"},
                                {"id": "ar-2", "name": "Guest"},
                            ],
                            "duration": 201.0,
                            "id": "rec-1",
                            "releasegroups": [
                                {"id": "rg-1", "title": "The Album", "type": "Album"},
                                {"id": "rg-2", "secondarytypes": ["Compilation"], "title": "Hits", "type": "Album"},
                            ],
                            "title": "The Song",
                        },
                        {"id": "rec-bare"},
                    ],
                    "score": 0.97,
                },
                {
                    "id": "a1d0a1d0-0000-4000-8000-000000000002",
                    "recordings": [{"duration": 199, "id": "rec-1", "title": "The Song"}],
                    "score": 0.61,
                },
            ],
        },
        {"index": 3, "results": []},
    ],
    "status": "ok",
}


def test_a_batch_answer_is_read_by_the_index_each_fingerprint_was_sent_with():
    by_index = results_by_index(BATCH)
    assert set(by_index) == {0, 3} and by_index[3] == []
    matches = parse_results(by_index[0])
    assert [m.recording_mbid for m in matches] == ["rec-1", "rec-bare"]
    song, bare = matches
    assert song.score == 0.97 and song.acoustid.endswith("01")  # the better of the two tracks naming it
    assert song.title == "The Song" and song.duration_s == 201.0
    assert song.artists == ("Lead", "Guest") and song.artist_mbids == ("ar-1", "ar-2")
    assert song.artist_credit == "Lead feat. Guest"
    assert song.release_group_mbids == ("rg-1", "rg-2") and song.release_group_titles == ("The Album", "Hits")
    # MusicBrainz has no data for it: only the id, nothing made up.
    assert bare.title is None and bare.artists == () and bare.artist_credit is None and bare.duration_s is None


def test_a_plain_answer_is_index_0_and_no_match_is_an_empty_list():
    assert parse_answer({"results": [], "status": "ok"}) == []
    assert parse_answer({"results": [{"id": "t", "score": 1.0}], "status": "ok"}) == []  # no recordings linked
    one = parse_answer(
        {"results": [{"id": "t", "score": 1, "recordings": [{"id": "r", "artists": [{"name": "A"}, {"name": "B"}]}]}]}
        | {"status": "ok"}
    )
    assert one[0].score == 1.0 and one[0].artist_credit == "A & B"


def test_errors_are_read_and_what_is_no_answer_is_refused():
    body = {"error": {"code": 4, "message": "invalid API key"}, "status": "error"}
    assert answer_error(body) == AcoustidError(4, "invalid API key")
    assert answer_error(BATCH) is None and answer_error("<html>") is None
    for bad in (body, {"status": "ok"}, {"status": "ok", "fingerprints": [{"results": []}]}, None):
        with pytest.raises(AcoustidAnswerError):
            results_by_index(bad)


def test_a_content_key_follows_the_audio_not_the_file_and_else_the_file_as_it_is():
    assert content_key("abc", "/a.flac", 1, 2) == content_key("abc", "/moved/b.flac", 9, 9) == "audio:abc"
    assert content_key(None, "/a.flac", 1, 2).startswith("file:")
    assert content_key(None, "/a.flac", 1, 2) != content_key(None, "/a.flac", 1, 3)


def test_the_docs_samples_parse(realdata):
    folder = realdata / "acoustid" / "acoustid-server-docs"
    sample = json.loads((folder / "lookup-recordings-releasegroups-compress.json").read_text())
    (match,) = parse_answer(sample)
    assert match.recording_mbid == "cd2e7c47-16f5-46c6-a37c-a1eb7bf599ff" and match.score == 1.0
    assert match.title == "Lower Your Eyelids to Die With the Sun" and match.artists == ("M83",)
    assert match.duration_s == 639.0 and match.release_group_titles == ("Before the Dawn Heals Us",)
    ids_only = parse_answer(json.loads((folder / "lookup-recordingids.json").read_text()))
    assert [m.recording_mbid for m in ids_only] == ["38035858-f990-4fbb-b3b2-f2f8b958eeba"]
    assert parse_answer(json.loads((folder / "lookup-default.json").read_text())) == []
    assert parse_answer(json.loads((folder / "lookup-no-match.json").read_text())) == []
    error = json.loads((folder / "error-invalid-api-key.http400.json").read_text())
    assert answer_error(error) == AcoustidError(4, "invalid API key")


def test_picards_real_lookup_keeps_the_recording_without_metadata(realdata):
    path = realdata / "acoustid" / "picard" / "lookup-recordings-releasegroups-releases-tracks-sources.json"
    matches = parse_answer(json.loads(path.read_text()))
    assert len(matches) == 3 and {m.score for m in matches} == {0.946796}
    described = [m for m in matches if m.title]
    bare = [m for m in matches if not m.title]
    assert len(bare) == 1 and bare[0].artists == () and bare[0].release_group_mbids == ()
    first = next(m for m in described if m.recording_mbid == "308d6e5a-52ff-41ca-aae8-7881e92472be")
    assert first.artists == ("Focus",) and "Testament van de Seventies" in first.release_group_titles
