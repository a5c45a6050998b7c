from datetime import UTC, datetime

from soulspot_pipeline.domain.run_retry import (
    START_GRACE_S,
    LastRun,
    Requested,
    RunSeen,
    RunState,
    Why,
    backoff_s,
    cursor_text,
    decide,
    read_cursor,
    skip_message,
    summarize,
)

NOON = datetime(2026, 11, 21, 12, 3, tzinfo=UTC).timestamp()
MINUTE = 60.0
PENDING = "the download run for these 2 pending tracks"


def failed(attempt: int, at: float = NOON, failures: int | None = None) -> LastRun:
    return LastRun(attempt, RunState.FAILED, at, attempt if failures is None else failures)


def test_the_backoff_grows_5_15_60_minutes_then_stays_hourly():
    assert [backoff_s(n) / MINUTE for n in (1, 2, 3, 4, 5, 50)] == [5, 15, 60, 60, 60, 60]
    assert backoff_s(0) == 0


def test_work_never_run_is_requested_as_attempt_1():
    decision = decide(None, None, NOON)
    assert (decision.request, decision.why, decision.attempt) == (True, Why.NEW, 1)


def test_a_success_is_never_repeated():
    done = LastRun(2, RunState.SUCCEEDED, NOON, 0)
    for later in (0, MINUTE, 24 * 60 * MINUTE):
        decision = decide(done, Requested("pending:a", 2, NOON - MINUTE), NOON + later)
        assert (decision.request, decision.why) == (False, Why.DONE)
    assert skip_message(decide(done, None, NOON), PENDING) == f"{PENDING} already succeeded at 12:03:00 UTC"


def test_a_run_in_progress_is_never_doubled():
    running = LastRun(1, RunState.RUNNING, None, 0)
    decision = decide(running, Requested("pending:a", 1, NOON), NOON + 6 * 60 * MINUTE)
    assert (decision.request, decision.why) == (False, Why.RUNNING)
    assert skip_message(decision, PENDING) == f"{PENDING} is already running (attempt 1)"


def test_a_failed_run_is_tried_again_once_its_backoff_is_over_and_the_skip_says_when():
    waiting = decide(failed(1), None, NOON + 5 * MINUTE - 1)
    assert (waiting.request, waiting.why, waiting.attempt, waiting.due_at) == (
        False,
        Why.BACKOFF,
        2,
        NOON + 5 * MINUTE,
    )
    assert skip_message(waiting, PENDING) == f"{PENDING} failed at 12:03:00 UTC; next try at 12:08:00 UTC (attempt 2)"
    retry = decide(failed(1), None, NOON + 5 * MINUTE)
    assert (retry.request, retry.why, retry.attempt) == (True, Why.RETRY, 2)


def test_each_failure_in_a_row_waits_longer():
    # Attempt n failed at NOON: attempt n + 1 is due after the n-th backoff.
    for attempt, wait in ((1, 5), (2, 15), (3, 60), (4, 60), (9, 60)):
        assert not decide(failed(attempt), None, NOON + wait * MINUTE - 1).request
        decision = decide(failed(attempt), None, NOON + wait * MINUTE)
        assert decision.request and decision.attempt == attempt + 1
    message = skip_message(decide(failed(3), None, NOON), PENDING)
    assert message == f"{PENDING} failed 3 times in a row, last at 12:03:00 UTC; next try at 13:03:00 UTC (attempt 4)"


def test_a_request_not_yet_in_the_run_records_is_waited_for_then_asked_again_under_the_same_key():
    asked = Requested("pending:a", 1, NOON)
    starting = decide(None, asked, NOON + 2 * MINUTE)
    assert (starting.request, starting.why, starting.attempt) == (False, Why.STARTING, 1)
    assert skip_message(starting, PENDING) == (
        f"{PENDING} was already requested at 12:03:00 UTC (attempt 1); waiting for it to start"
    )
    lost = decide(None, asked, NOON + START_GRACE_S)
    assert (lost.request, lost.why, lost.attempt) == (True, Why.LOST, 1)
    # The same holds for a retry whose run is not there yet: the failed attempt 1 is older.
    retry_asked = Requested("pending:a", 2, NOON + 10 * MINUTE)
    assert decide(failed(1), retry_asked, NOON + 11 * MINUTE).why is Why.STARTING


def test_a_periodic_look_repeats_a_success_after_its_interval_only():
    done = LastRun(1, RunState.SUCCEEDED, NOON, 0)
    early = decide(done, None, NOON + 9 * MINUTE, repeat_after_s=10 * MINUTE)
    assert (early.request, early.why, early.due_at) == (False, Why.DONE, NOON + 10 * MINUTE)
    assert skip_message(early, "the follow run").endswith("at 12:03:00 UTC; next look at 12:13:00 UTC")
    again = decide(done, None, NOON + 10 * MINUTE, repeat_after_s=10 * MINUTE)
    assert (again.request, again.why, again.attempt) == (True, Why.REPEAT, 2)


def test_the_runs_sum_up_to_the_highest_attempt_and_the_failures_in_a_row():
    assert summarize([]) is None
    runs = [
        RunSeen(3, RunState.FAILED, NOON),
        RunSeen(2, RunState.FAILED, NOON - 20 * MINUTE),
        RunSeen(1, RunState.SUCCEEDED, NOON - 60 * MINUTE),
    ]
    assert summarize(runs) == LastRun(3, RunState.FAILED, NOON, 2)
    # A re-execution launched by hand carries an older attempt number: the next one is still new.
    rerun = [RunSeen(1, RunState.FAILED, NOON), RunSeen(2, RunState.FAILED, NOON - MINUTE)]
    last = summarize(rerun)
    assert last is not None and last.attempt == 2 and decide(last, None, NOON + 15 * MINUTE).attempt == 3


def test_the_cursor_is_small_json_and_anything_else_reads_as_none():
    asked = Requested("music-folder:first->0123456789abcdef", 2, NOON + 0.123456, seen="0123456789abcdef")
    text = cursor_text(asked)
    assert read_cursor(text) == Requested(asked.work, 2, round(NOON + 0.123456, 3), seen="0123456789abcdef")
    assert len(text) < 120
    assert read_cursor(cursor_text(Requested("pending:a", 1, NOON))) == Requested("pending:a", 1, NOON)
    # The digest an older sensor kept, nothing, or garbage: no request is known.
    for text in (None, "", "0123456789abcdef", "[]", '{"work": "x"}', '{"work": "x", "attempt": "two", "at": 1}'):
        assert read_cursor(text) is None
