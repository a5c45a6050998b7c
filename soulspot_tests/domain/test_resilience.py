from datetime import datetime, timedelta

from soulspot_pipeline.domain.resilience import (
    BREAKER_THRESHOLD,
    Breaker,
    RetryPolicy,
    breaker_after_failure,
    breaker_after_success,
    breaker_allows,
    parse_retry_after,
    retry_delay,
)

POLICY = RetryPolicy(max_attempts=4, base_delay_s=1.0, max_delay_s=8.0, max_retry_after_s=60)


def test_429_waits_what_the_provider_asks_and_gives_up_on_a_daily_quota():
    assert retry_delay(POLICY, 1, 429, 7.0) == 7.0
    assert retry_delay(POLICY, 1, 429, None) == 1.0
    assert retry_delay(POLICY, 1, 429, 3600.0) is None


def test_server_errors_and_timeouts_back_off_exponentially_then_give_up():
    assert [retry_delay(POLICY, n, 503, None) for n in (1, 2, 3)] == [1.0, 2.0, 4.0]
    assert retry_delay(POLICY, 3, None, None) == 4.0
    assert retry_delay(POLICY, 4, 500, None) is None


def test_client_errors_are_not_repeated():
    assert retry_delay(POLICY, 1, 400, None) is None
    assert retry_delay(POLICY, 1, 403, None) is None


def test_retry_after_is_read_as_seconds():
    assert parse_retry_after(" 2 ") == 2.0 and parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_the_breaker_opens_after_repeated_failures_backs_off_and_closes_on_success():
    now = datetime(2026, 11, 21, 12, 0)
    breaker = Breaker()
    for _ in range(BREAKER_THRESHOLD - 1):
        breaker = breaker_after_failure(breaker, now, "HTTP 503")
        assert breaker_allows(breaker, now)
    breaker = breaker_after_failure(breaker, now, "HTTP 503")
    assert not breaker_allows(breaker, now) and breaker.last_error == "HTTP 503"
    first_rest = breaker.open_until - now
    assert breaker_allows(breaker, breaker.open_until)
    breaker = breaker_after_failure(breaker, breaker.open_until, "HTTP 503")
    assert breaker.open_until - (now + first_rest) == 2 * first_rest
    assert breaker_after_success(breaker) == Breaker()
    many = Breaker(failures=50)
    assert breaker_after_failure(many, now, "x").open_until - now == timedelta(hours=24)
