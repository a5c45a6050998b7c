"""Digests of notification events, and the retry schedule: plain functions over plain data."""

from datetime import datetime, timedelta

from soulspot_pipeline.domain.notify import (
    DOWNLOAD_FAILED,
    IMPORTED,
    KINDS,
    MAX_ATTEMPTS,
    RUN_FAILED,
    Event,
    digests,
    event_key,
    next_attempt,
    one_line,
    stale,
    subject,
    title_of,
    unknown_kinds,
)

T0 = datetime(2026, 12, 2, 3, 0)


def imported(n: int, run_id: str | None = "run-1") -> Event:
    return Event(
        event_key(IMPORTED, f"t{n:03}", T0.isoformat()),
        IMPORTED,
        subject("Air", f"Song {n:03}"),
        "Moon Safari",
        T0 + timedelta(seconds=n),
        run_id,
    )


def test_300_imports_are_one_message_listing_ten_and_counting_the_rest():
    (digest,) = digests([imported(n) for n in range(300)])
    assert digest.title == "300 tracks imported" and digest.notify_type == "success"
    lines = digest.body.splitlines()
    assert lines[:2] == ["- Air – Song 000: Moon Safari", "- Air – Song 001: Moon Safari"]
    assert lines[10:] == ["and 290 more", "run run-1"]
    assert len(digest.keys) == 300


def test_one_digest_per_kind_and_run_in_the_order_they_happened():
    failed = Event("download_failed:t9:x", DOWNLOAD_FAILED, "Air – Talisman", "stalled at 40%", T0, "run-1")
    other_run = imported(1, run_id="run-2")
    found = digests([imported(5), failed, imported(6), other_run])
    assert [(d.kind, d.run_id, d.title) for d in found] == [
        (DOWNLOAD_FAILED, "run-1", "1 download failed"),
        (IMPORTED, "run-2", "1 track imported"),
        (IMPORTED, "run-1", "2 tracks imported"),
    ]
    assert found[0].body == "- Air – Talisman: stalled at 40%\nrun run-1"


def test_a_failed_run_is_named_in_the_title():
    event = Event("run_failed:abc", RUN_FAILED, "download_wanted, run abc", "step downloads failed: boom", T0, "abc")
    (digest,) = digests([event])
    assert digest.title == "Run failed: download_wanted, run abc" and digest.notify_type == "failure"
    assert "step downloads failed: boom" in digest.body


def test_titles_count_in_the_singular_and_the_plural():
    assert [title_of(k, 1) for k in KINDS] == [
        "1 track imported",
        "1 download failed",
        "1 new release found",
        "1 run failed",
        "1 phase overdue",
        "1 broken file found",
    ]
    assert title_of(DOWNLOAD_FAILED, 2) == "2 downloads failed"


def test_unknown_kinds_are_named():
    assert unknown_kinds(["imported", "bogus", "run_failed", "Imported"]) == ["bogus", "Imported"]


def test_a_failed_delivery_is_tried_again_later_and_later_then_given_up():
    delays = [next_attempt(n, T0) for n in range(1, MAX_ATTEMPTS + 1)]
    assert [d - T0 for d in delays if d] == [
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=15),
        timedelta(hours=1),
    ]
    assert delays[-1] is None


def test_only_recent_events_are_news_and_subjects_are_one_line():
    assert not stale(T0, T0 + timedelta(hours=23)) and stale(T0, T0 + timedelta(days=2))
    assert one_line("first line\nTraceback ...") == "first line"
    assert len(one_line("x" * 500)) == 200
    assert subject(None, "Song") == "Song" and subject(None, None) == "(untitled)"
