"""A phase's row of library.status: failing, overdue, off or ok."""

from datetime import datetime, timedelta

from soulspot_pipeline.domain.status import PhaseFacts, StatusRow, overdue, phase_row, summary

NOW = datetime(2026, 12, 2, 12, 0)
HOUR = timedelta(hours=1)


def facts(**kw) -> PhaseFacts:
    return PhaseFacts(**{"name": "local_scan", "watched_since": NOW - 10 * HOUR, "interval": HOUR, **kw})


def test_overdue_after_twice_the_interval_since_the_last_success():
    assert not overdue(facts(last_success=NOW - 2 * HOUR), NOW)
    assert overdue(facts(last_success=NOW - 2 * HOUR - timedelta(seconds=1)), NOW)


def test_a_phase_never_seen_succeeding_is_measured_from_the_first_look():
    assert not overdue(facts(watched_since=NOW - HOUR), NOW)
    assert overdue(facts(watched_since=NOW - 3 * HOUR), NOW)
    row = phase_row(facts(watched_since=NOW - 3 * HOUR), NOW)
    assert (row.state, row.detail) == ("problem", "overdue: never succeeded (due every 60 min)")


def test_a_phase_without_schedule_is_never_overdue():
    assert not overdue(facts(interval=None, last_success=NOW - 1000 * HOUR), NOW)
    assert phase_row(facts(interval=None, last_success=NOW - 1000 * HOUR), NOW).state == "ok"


def test_a_failure_newer_than_the_last_success_is_a_problem_with_its_message():
    row = phase_row(
        facts(last_success=NOW - HOUR, last_failure=NOW - timedelta(minutes=5), failure_message="MusicBrainz down"),
        NOW,
    )
    assert row == StatusRow("phase", "local_scan", "problem", "failed: MusicBrainz down", NOW - timedelta(minutes=5))


def test_a_failure_older_than_the_last_success_is_forgotten():
    row = phase_row(facts(last_success=NOW - HOUR, last_failure=NOW - 2 * HOUR, failure_message="x"), NOW)
    assert row == StatusRow("phase", "local_scan", "ok", "last success at 2026-12-02 11:00", NOW - HOUR)


def test_overdue_names_the_last_success_and_the_schedule_without_a_moving_age():
    row = phase_row(facts(interval=24 * HOUR, last_success=NOW - 3 * 24 * HOUR), NOW)
    assert row.state == "problem"
    assert row.detail == "overdue: last success at 2026-11-29 12:00 (due every 24 h)"
    # The same facts an hour later give the same row, so the sensor does not rewrite it.
    assert phase_row(facts(interval=24 * HOUR, last_success=NOW - 3 * 24 * HOUR), NOW + HOUR) == row


def test_skipped_and_never_run_phases_are_off():
    skipped = phase_row(facts(last_success=NOW - HOUR, skipped="skipped: not configured"), NOW)
    assert (skipped.state, skipped.detail) == ("off", "skipped: not configured")
    never = phase_row(facts(interval=None), NOW)
    assert (never.state, never.detail) == ("off", "not run yet")


def test_summary_names_the_problems_or_says_all_is_well():
    ok = StatusRow("phase", "a", "ok", "fine", None)
    off = StatusRow("phase", "b", "off", "not run yet", None)
    bad = StatusRow("provider", "spotify", "problem", "3 failed sync(s) in a row", None)
    assert summary([ok, off]) == "everything is healthy (1 ok, 1 off)"
    assert summary([bad, ok]) == (
        "1 problem(s): provider spotify: 3 failed sync(s) in a row (1 ok, 0 off; SELECT * FROM library.status)"
    )
    assert summary([bad] * 7, limit=2).count("provider spotify") == 2
    assert "and 5 more" in summary([bad] * 7, limit=2)
