"""The AcoustID resource: batched lookups over real HTTP against the stand-in, the key kept out of
every message, retries, and a misleadingly named file identified by its fingerprint end to end."""

from __future__ import annotations

import gzip
import json
import logging
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
import pytest

from soulspot_pipeline.devkit.standins.acoustid import DEFAULT_API_KEY, AcoustidStandin, AcRecording
from soulspot_pipeline.domain.acoustid import StoredFingerprint, content_key, parse_answer
from soulspot_pipeline.domain.cloud import ProviderError
from soulspot_pipeline.resources.acoustid import KEY_SETTING, AcoustidKeyError, AcoustIDResource
from soulspot_pipeline.scan.fingerprint import (
    Chromaprint,
    FileToFingerprint,
    chromaprint_unavailable,
    fingerprint_and_lookup,
    fingerprint_file,
)
from soulspot_pipeline.store import fingerprints as store
from soulspot_tests.clock import VirtualClock
from soulspot_tests.scan.test_fingerprint import write_tune

SECRET = "s3cr3t-Key-That-Must-Not-Leak"
PRINT_A = "AQAAS0mUaEkSURMA4AAAAD-AHj_w4irOBL3xHgcA4MWDgwdwHPvxw9NR3Hhz"
PRINT_B = "AQAAS0mUaImiTFlw4MCBw0eB45fQF1-D9PgB3Pjx4weO4kDQw_Nx5zAAAAEA"
SONG = AcRecording(
    "b1a9c0e2-0000-4000-8000-00000000000a",
    "Hocus Pocus",
    403.0,
    (("821e11d6-cfec-44a7-9615-06a4e631c975", "Focus"),),
    (("71b5e81c-e951-45a0-9554-8599ad1b52e9", "Moving Waves", "Album"),),
)
OTHER = AcRecording("b1a9c0e2-0000-4000-8000-00000000000b", "Sylvia", 213.0, (("a-2", "Focus"),))


@pytest.fixture
def acoustid():
    with AcoustidStandin(api_keys=(DEFAULT_API_KEY, SECRET)) as server:
        yield server


def resource(server: AcoustidStandin, tmp_path, key: str | None = SECRET, **kwargs: Any) -> AcoustIDResource:
    kwargs.setdefault("clock", VirtualClock())
    kwargs.setdefault("rate", 1000.0)  # the throttle's file is real; the tests need not wait a third of a second
    return AcoustIDResource(
        api_key=key, server_url=server.url, throttle_path=str(tmp_path / "acoustid.throttle"), **kwargs
    )


def test_a_batch_is_one_post_with_indexed_fingerprints_and_answers_come_back_by_key(acoustid, tmp_path):
    acoustid.add(PRINT_A, 403, [SONG], score=0.93)
    acoustid.add(PRINT_B, 213, [OTHER])
    res = resource(acoustid, tmp_path)
    found = res.lookup_batch([("one", 401, PRINT_A), ("two", 213, PRINT_B), ("none", 403, PRINT_A[:-4] + "AAAA")])
    assert acoustid.count("/v2/lookup") == 1 and acoustid.lookups == 3
    (request,) = acoustid.requests
    assert request.method == "POST" and request.headers["content-type"] == "application/x-www-form-urlencoded"
    (song,) = found["one"]
    assert song.recording_mbid == SONG.mbid and song.score == 0.93 and song.title == "Hocus Pocus"
    assert song.artists == ("Focus",) and song.release_group_titles == ("Moving Waves",)
    assert [m.title for m in found["two"]] == ["Sylvia"] and found["none"] == []


def test_the_request_carries_what_acoustid_documents(acoustid, tmp_path):
    """What the server reads: client, format, meta (words joined by +), batch=1 and duration.N/fingerprint.N."""
    seen: list[dict[str, list[str]]] = []

    def record(request: httpx.Request) -> None:
        seen.append(parse_qs(request.content.decode()))

    res = resource(acoustid, tmp_path)
    res._client().event_hooks["request"] = [record]
    res.lookup_results([("k", 120, PRINT_A)])
    (form,) = seen
    assert form == {
        "client": [SECRET],
        "format": ["json"],
        "meta": ["recordings releasegroups"],
        "batch": ["1"],
        "duration.0": ["120"],
        "fingerprint.0": [PRINT_A],
    }


def test_more_items_than_a_batch_holds_are_several_requests(acoustid, tmp_path):
    acoustid.add(PRINT_A, 100, [SONG])
    items = [(f"k{i}", 100, PRINT_A) for i in range(7)]
    found = resource(acoustid, tmp_path, batch_size=3).lookup_batch(items)
    assert acoustid.count("/v2/lookup") == 3 and set(found) == {f"k{i}" for i in range(7)}
    assert all(m[0].recording_mbid == SONG.mbid for m in found.values())


def test_an_invalid_key_is_one_clear_error_naming_the_setting_and_never_the_key(acoustid, tmp_path, caplog):
    wrong = "wrong-" + SECRET
    caplog.set_level(logging.DEBUG)
    res = resource(acoustid, tmp_path, key=wrong)
    with pytest.raises(AcoustidKeyError) as caught:
        res.lookup_batch([("k", 100, PRINT_A)])
    message = str(caught.value)
    assert KEY_SETTING in message and "invalid API key" in message and isinstance(caught.value, ProviderError)
    assert wrong not in message and SECRET not in message and wrong not in caplog.text
    assert acoustid.count() == 1 and res.stats.retries == 0  # no other request does better
    with pytest.raises(AcoustidKeyError, match=KEY_SETTING):
        resource(acoustid, tmp_path, key=None).lookup_batch([("k", 100, PRINT_A)])


def test_503_then_200_is_retried_and_the_logs_never_show_the_key(acoustid, tmp_path, caplog):
    acoustid.add(PRINT_A, 100, [SONG])
    # A server that echoed the request would put the key in its error page.
    acoustid.inject("/v2/lookup", status=503, body=f"upstream down; client={SECRET}")
    acoustid.inject("/v2/lookup", status=429, body={"error": {"code": 14, "message": "rate limit"}, "status": "error"})
    clock = VirtualClock()
    caplog.set_level(logging.DEBUG)
    res = resource(acoustid, tmp_path, clock=clock)
    found = res.lookup_batch([("k", 100, PRINT_A)])
    assert found["k"][0].recording_mbid == SONG.mbid
    assert acoustid.count("/v2/lookup") == 3 and res.stats.retries == 2 and clock.sleeps == [1.0, 2.0]
    assert "retrying" in caplog.text and SECRET not in caplog.text


def test_what_keeps_failing_is_a_provider_error_without_the_key(acoustid, tmp_path):
    acoustid.inject("/v2/lookup", status=500, times=4, body=f"boom {SECRET}")
    with pytest.raises(ProviderError, match="after 4 attempt") as caught:
        resource(acoustid, tmp_path).lookup_batch([("k", 100, PRINT_A)])
    assert SECRET not in str(caught.value) and "***" in str(caught.value)


def test_the_rate_is_kept_across_resources_through_the_shared_file(tmp_path):
    with AcoustidStandin(api_keys=(SECRET,), min_interval_s=0.05) as server:
        server.add(PRINT_A, 100, [SONG])
        # Two resources (two runs) sharing the lock file never come closer than the interval.
        first = resource(server, tmp_path, rate=10.0)
        second = resource(server, tmp_path, rate=10.0)
        for res in (first, second, first, second):
            res.lookup_batch([("k", 100, PRINT_A)])
        assert server.rate_violations == 0 and server.count("/v2/lookup") == 4


# -- the stand-in speaks AcoustID ------------------------------------------------------------


def test_the_standin_answers_get_and_post_single_and_batch_like_the_server(acoustid):
    acoustid.add(PRINT_A, 403, [SONG, AcRecording("bare-recording")], score=0.9)
    single = httpx.get(
        f"{acoustid.url}/v2/lookup",
        params={"client": DEFAULT_API_KEY, "meta": "recordings releasegroups", "duration": 400, "fingerprint": PRINT_A},
    )
    assert single.headers["content-type"] == "application/json; charset=UTF-8"
    assert single.text == json.dumps(single.json(), sort_keys=True)  # one line, keys sorted, as the server sends
    body = single.json()
    assert body["status"] == "ok" and len(body["results"]) == 1
    recording = body["results"][0]["recordings"][0]
    assert recording == {
        "artists": [{"id": "821e11d6-cfec-44a7-9615-06a4e631c975", "name": "Focus"}],
        "duration": 403.0,
        "id": SONG.mbid,
        "releasegroups": [{"id": "71b5e81c-e951-45a0-9554-8599ad1b52e9", "title": "Moving Waves", "type": "Album"}],
        "title": "Hocus Pocus",
    }
    assert body["results"][0]["recordings"][1] == {"id": "bare-recording"}
    assert [m.recording_mbid for m in parse_answer(body)] == [SONG.mbid, "bare-recording"]

    form = {"client": DEFAULT_API_KEY, "meta": "recordingids", "duration.0": 403, "fingerprint.0": PRINT_A}
    form |= {"duration.1": 403, "fingerprint.1": "!!not base64!!", "duration.2": 100, "fingerprint.2": PRINT_B}
    without_batch = httpx.post(f"{acoustid.url}/v2/lookup", data=form).json()
    assert list(without_batch) == ["results", "status"]  # only the first fingerprint, as the server does
    batch = httpx.post(
        f"{acoustid.url}/v2/lookup",
        content=gzip.compress(urlencode(form | {"batch": 1}).encode()),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Content-Encoding": "gzip"},
    ).json()
    # The unreadable fingerprint is left out; the rest are answered by their index.
    assert [entry["index"] for entry in batch["fingerprints"]] == [0, 2]
    assert batch["fingerprints"][0]["results"][0]["recordings"] == [{"id": SONG.mbid}, {"id": "bare-recording"}]
    assert batch["fingerprints"][1]["results"] == []


def test_the_standins_errors_are_the_servers_bodies(acoustid):
    url = f"{acoustid.url}/v2/lookup"
    bad_key = httpx.get(url, params={"client": "nope", "duration": 1, "fingerprint": PRINT_A})
    assert bad_key.status_code == 400
    assert bad_key.text == '{"error": {"code": 4, "message": "invalid API key"}, "status": "error"}'
    missing = httpx.get(url, params={"client": DEFAULT_API_KEY, "duration": 1})
    assert missing.json()["error"] == {"code": 2, "message": 'missing required parameter "fingerprint"'}
    invalid = httpx.get(url, params={"client": DEFAULT_API_KEY, "duration": 1, "fingerprint": "@@"})
    assert invalid.json()["error"] == {"code": 3, "message": "invalid fingerprint"}
    many = {"client": DEFAULT_API_KEY, "batch": 1} | {f"fingerprint.{i}": PRINT_A for i in range(21)}
    too_many = httpx.post(url, data=many | {f"duration.{i}": 5 for i in range(21)})
    assert too_many.status_code == 413 and too_many.json()["error"]["code"] == 19


def test_the_realdata_invalid_key_body_is_what_the_standin_sends(acoustid, realdata):
    recorded = (realdata / "acoustid" / "acoustid-server-docs" / "error-invalid-api-key.http400.json").read_text()
    answer = httpx.post(f"{acoustid.url}/v2/lookup", data={"client": "nope", "duration": 1, "fingerprint": PRINT_A})
    assert answer.status_code == 400 and answer.text == recorded.strip()


# -- end to end: a misleading name, identified by its sound ----------------------------------


@pytest.mark.skipif(
    chromaprint_unavailable() is not None,
    reason="neither libchromaprint nor fpcalc is installed here (CI machines have neither)",
)
def test_an_untagged_file_with_a_misleading_name_is_identified_by_its_fingerprint(acoustid, tmp_path, library_db):
    music = tmp_path / "music"
    music.mkdir()
    # Named after another song, no tags: only its sound says what it is.
    liar = write_tune(music / "Focus - Sylvia.flac", [262, 330, 392, 523, 440, 349])
    unknown = write_tune(music / "track01.flac", [220, 587, 294])
    # AcoustID knows the sound of the first (its fingerprint, made as the client makes it) as Hocus Pocus.
    known = fingerprint_file(str(liar))
    acoustid.add(known.fingerprint, known.duration_s, [SONG], score=0.95)
    acoustid.add("AQAAnot-this-one", known.duration_s, [OTHER])
    res = resource(acoustid, tmp_path)
    files = [
        FileToFingerprint("t-liar", str(liar), content_key("audio-liar", str(liar), 1, 1)),
        FileToFingerprint("t-unknown", str(unknown), content_key(None, str(unknown), 2, 2)),
    ]
    now = datetime(2026, 12, 1, 12, 0)

    def run():
        with library_db.writer(publish=False) as conn:
            hashes = [f.content_hash for f in files]
            known_prints = store.known_fingerprints(conn, hashes)
            answers = store.fresh_answers(conn, hashes, now, ttl_days=30)

        def save(rows: list[StoredFingerprint]) -> None:
            with library_db.writer(publish=False) as conn:
                store.save_fingerprints(conn, rows)

        def save_answers(new: dict[str, list[dict[str, Any]]]) -> None:
            with library_db.writer(publish=False) as conn:
                store.save_answers(conn, new, now)

        return fingerprint_and_lookup(
            files,
            known=known_prints,
            answers=answers,
            lookup=res,
            save_fingerprints=save,
            save_answers=save_answers,
            now=lambda: now,
            tools=Chromaprint(),
        )

    first = run()
    assert first.skipped is None and first.computed == 2 and first.looked_up == 2
    (match,) = first.matches["t-liar"]
    assert match.recording_mbid == SONG.mbid and match.title == "Hocus Pocus" and match.score == 0.95
    assert match.artists == ("Focus",) and "Sylvia" not in (match.title or "")
    assert "t-unknown" not in first.matches and acoustid.count("/v2/lookup") == 1  # both in one batch

    second = run()  # nothing is fingerprinted or asked again: both are stored
    assert second.computed == 0 and second.reused == 2 and second.looked_up == 0 and second.answers_reused == 2
    assert second.matches == first.matches and acoustid.count("/v2/lookup") == 1
