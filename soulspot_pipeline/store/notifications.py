"""The notification outbox, ``library.notifications``: events recorded once, then their delivery."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb

from soulspot_pipeline.domain.notify import GIVEN_UP, PENDING, SENDING, SENT, SKIPPED, Event


def record(conn: duckdb.DuckDBPyConnection, events: Iterable[Event], now: datetime) -> int:
    """Add the events not recorded yet; returns how many were new. Called inside the producer's
    transaction, so an event is recorded exactly when the change it reports is."""
    rows = [
        [e.key, e.kind, e.run_id, e.subject, e.detail, e.happened_at or now, now]
        for e in {e.key: e for e in events}.values()  # one row per key, even if a producer repeats one
    ]
    if not rows:
        return 0
    before = conn.execute("SELECT count(*) FROM library.notifications").fetchall()[0][0]
    conn.executemany(
        "INSERT INTO library.notifications (event_key, kind, run_id, subject, detail, happened_at, recorded_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_key) DO NOTHING",
        rows,
    )
    return conn.execute("SELECT count(*) FROM library.notifications").fetchall()[0][0] - before


@dataclass(frozen=True)
class Queued:
    """A pending event with what its delivery has done so far."""

    event: Event
    attempts: int
    delivered_to: tuple[int, ...]


def due(conn: duckdb.DuckDBPyConnection, now: datetime) -> list[Queued]:
    """The pending events whose next attempt is due, oldest first."""
    return [
        Queued(Event(key, kind, subject, detail, happened_at, run_id), attempts, tuple(delivered_to or ()))
        for key, kind, subject, detail, happened_at, run_id, attempts, delivered_to in conn.execute(
            "SELECT event_key, kind, subject, detail, happened_at, run_id, attempts, delivered_to "
            "FROM library.notifications WHERE state = ? AND (next_attempt_at IS NULL OR next_attempt_at <= ?) "
            "ORDER BY happened_at, event_key",
            [PENDING, now],
        ).fetchall()
    ]


def skip(conn: duckdb.DuckDBPyConnection, keys: Sequence[str], reason: str) -> None:
    """Events that will not be sent, and why (a kind not selected, too old to be news)."""
    if keys:
        conn.execute(
            "UPDATE library.notifications SET state = ?, last_error = ?, next_attempt_at = NULL "
            "WHERE list_contains(?, event_key)",
            [SKIPPED, reason, list(keys)],
        )


def mark_sending(conn: duckdb.DuckDBPyConnection, keys: Sequence[str], now: datetime) -> None:
    """Claimed by a tick that is about to send them: no other tick sends them meanwhile."""
    if keys:
        conn.execute(
            "UPDATE library.notifications SET state = ?, claimed_at = ? WHERE list_contains(?, event_key)",
            [SENDING, now, list(keys)],
        )


def expire_claims(conn: duckdb.DuckDBPyConnection, claimed_before: datetime, reason: str) -> int:
    """Give up the events a cut-off tick claimed and never reported on; returns how many."""
    expired = conn.execute(
        "UPDATE library.notifications SET state = ?, last_error = ?, next_attempt_at = NULL "
        "WHERE state = ? AND claimed_at < ? RETURNING event_key",
        [GIVEN_UP, reason, SENDING, claimed_before],
    ).fetchall()
    return len(expired)


def mark_sent(
    conn: duckdb.DuckDBPyConnection, keys: Sequence[str], title: str, delivered_to: Sequence[int], now: datetime
) -> None:
    conn.execute(
        "UPDATE library.notifications SET state = ?, sent_at = ?, attempts = attempts + 1, message_title = ?, "
        "delivered_to = ?, last_error = NULL, next_attempt_at = NULL WHERE list_contains(?, event_key)",
        [SENT, now, title, sorted(delivered_to), list(keys)],
    )


def mark_failed(
    conn: duckdb.DuckDBPyConnection,
    keys: Sequence[str],
    error: str,
    delivered_to: Sequence[int],
    next_attempt_at: datetime | None,
) -> None:
    """A failed attempt: tried again at ``next_attempt_at``, or given up when that is None."""
    conn.execute(
        "UPDATE library.notifications SET state = ?, attempts = attempts + 1, last_error = ?, delivered_to = ?, "
        "next_attempt_at = ? WHERE list_contains(?, event_key)",
        [PENDING if next_attempt_at else GIVEN_UP, error, sorted(delivered_to), next_attempt_at, list(keys)],
    )


def counts(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Events by state."""
    return dict(conn.execute("SELECT state, count(*) FROM library.notifications GROUP BY 1").fetchall())
