"""Verdicts on transfers: wait, progress, import, retry with the next file, or fail."""

from datetime import UTC, datetime, timedelta

from soulspot_pipeline.domain.slskd_states import parse_state
from soulspot_pipeline.domain.transfers import FAIL, IMPORT, PROGRESS, RETRY, WAIT, Tracked, judge_transfer

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def tracked(attempts=1, was=0.0, enqueued=timedelta(minutes=5), progressed=timedelta(minutes=5)):
    return Tracked("t", attempts, was, NOW - enqueued, NOW - progressed)


def verdict(state, percent=None, exception=None, **kwargs):
    return judge_transfer(tracked(**kwargs), parse_state(state) if state is not None else None, percent, exception, NOW)


def test_a_finished_transfer_is_imported_and_a_moving_one_notes_its_progress():
    assert verdict("Completed, Succeeded").action == IMPORT
    moving = verdict("InProgress", 42.0, was=10.0)
    assert (moving.action, moving.percent) == (PROGRESS, 42.0)
    assert verdict("Initializing", 0.0).action == WAIT


def test_failures_retry_the_next_file_until_the_third_attempt_then_fail_with_the_reason():
    rejected = verdict("Completed, Rejected", exception="File not shared.")
    assert (rejected.action, rejected.reason) == (RETRY, "transfer rejected: File not shared.")
    assert verdict("Completed, Errored", attempts=3).action == FAIL
    assert verdict("Completed, TimedOut").reason == "transfer timed out"


def test_stalled_or_long_queued_transfers_are_given_up_and_fresh_ones_waited_for():
    stalled = verdict("InProgress", 40.0, was=40.0, progressed=timedelta(minutes=20))
    assert (stalled.action, stalled.reason) == (RETRY, "stalled at 40% for 20 min")
    assert verdict("InProgress", 40.0, was=40.0, progressed=timedelta(minutes=5)).action == WAIT
    queued = verdict("Queued, Remotely", enqueued=timedelta(hours=3))
    assert (queued.action, queued.reason) == (RETRY, "queued at the peer for 3 h")
    assert verdict("Queued, Remotely", enqueued=timedelta(minutes=30)).action == WAIT


def test_a_transfer_slskd_forgot_is_given_up_after_a_short_grace():
    assert verdict(None, enqueued=timedelta(seconds=30)).action == WAIT
    assert verdict(None, enqueued=timedelta(minutes=10)).reason == "slskd no longer lists the transfer"
