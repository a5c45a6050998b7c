"""Notifications: the events worth telling the user, and the digests they go out in (no I/O).

Producers describe each event with a stable key (the same happening always gives the same key,
so recording it twice keeps one row); the sender groups the events due into one digest per
kind and run, so a run that imported 300 tracks sends one message listing a few and counting
the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

IMPORTED = "imported"
DOWNLOAD_FAILED = "download_failed"
NEW_RELEASE = "new_release"
RUN_FAILED = "run_failed"
PHASE_OVERDUE = "phase_overdue"
BROKEN_FILE = "broken_file"
KINDS = (IMPORTED, DOWNLOAD_FAILED, NEW_RELEASE, RUN_FAILED, PHASE_OVERDUE, BROKEN_FILE)
DEFAULT_KINDS = KINDS  # every kind: each is rare, batched, and worth knowing about

# A ledger row's life: pending until a tick claims it (sending), then sent; skipped (a kind not
# selected, or too old to be news when it could first go out), or given_up after the last attempt
# failed (or when the tick sending it was cut off).
PENDING, SENDING, SENT, SKIPPED, GIVEN_UP = "pending", "sending", "sent", "skipped", "given_up"
STATES = (PENDING, SENDING, SENT, SKIPPED, GIVEN_UP)

# Subjects listed in a digest; the rest are counted.
SHOWN = 10
# An event that could not go out within this long after it happened is no longer news: a user
# who sets up notifications today gets today's events, not months of backlog.
MAX_AGE = timedelta(days=1)
# Waits between a digest's delivery attempts across sensor ticks (each attempt itself retries a
# few times at once); after the last one the events are given up, and that is recorded.
ATTEMPT_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1))
MAX_ATTEMPTS = len(ATTEMPT_DELAYS) + 1

# Apprise's notification types: how the receiving service colours or files the message.
_TYPES = {
    IMPORTED: "success",
    DOWNLOAD_FAILED: "warning",
    NEW_RELEASE: "info",
    RUN_FAILED: "failure",
    PHASE_OVERDUE: "warning",
    BROKEN_FILE: "warning",
}
# (one, many, what happened): "1 track imported", "12 tracks imported".
_NOUNS = {
    IMPORTED: ("track", "tracks", "imported"),
    DOWNLOAD_FAILED: ("download", "downloads", "failed"),
    NEW_RELEASE: ("new release", "new releases", "found"),
    RUN_FAILED: ("run", "runs", "failed"),
    PHASE_OVERDUE: ("phase", "phases", "overdue"),
    BROKEN_FILE: ("broken file", "broken files", "found"),
}


@dataclass(frozen=True)
class Event:
    """One thing that happened, as its producer records it."""

    key: str  # stable identity: the same happening always gives the same key
    kind: str
    subject: str  # one line: artist and title
    detail: str = ""
    happened_at: datetime | None = None
    run_id: str | None = None


@dataclass(frozen=True)
class Digest:
    """One message: the events of one kind (and one run) due together."""

    kind: str
    run_id: str | None
    keys: tuple[str, ...]
    title: str
    body: str
    notify_type: str


def unknown_kinds(kinds: Iterable[str]) -> list[str]:
    """The names that are not event kinds."""
    return [k for k in kinds if k not in KINDS]


def event_key(kind: str, *parts: object) -> str:
    """``kind:part:part``: the identity of one event."""
    return ":".join([kind, *(str(p) for p in parts)])


def subject(artist: str | None, title: str | None) -> str:
    """Artist and title joined by an en dash, or whichever of the two is known."""
    return " – ".join(p for p in (artist, title) if p) or "(untitled)"


def one_line(text: str | None, limit: int = 200) -> str:
    """The first line of ``text``, cut to ``limit`` characters."""
    lines = (text or "").strip().splitlines()
    line = lines[0].strip() if lines else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def title_of(kind: str, count: int) -> str:
    """ "12 tracks imported", "1 download failed"."""
    one, many, what = _NOUNS[kind]
    return f"{count} {one if count == 1 else many} {what}"


def render(kind: str, run_id: str | None, events: Sequence[Event], shown: int = SHOWN) -> Digest:
    """The message for ``events`` (all of ``kind`` and ``run_id``): a count, a few subjects, how many more."""
    ordered = sorted(events, key=lambda e: (e.happened_at or datetime.min, e.subject, e.key))
    if kind == RUN_FAILED and len(ordered) == 1:
        title = f"Run failed: {ordered[0].subject}"
    else:
        title = title_of(kind, len(ordered))
    lines = [f"- {e.subject}: {e.detail}" if e.detail else f"- {e.subject}" for e in ordered[:shown]]
    if len(ordered) > shown:
        lines.append(f"and {len(ordered) - shown} more")
    if run_id:
        lines.append(f"run {run_id}")
    return Digest(kind, run_id, tuple(e.key for e in ordered), title, "\n".join(lines), _TYPES[kind])


def digests(events: Iterable[Event], shown: int = SHOWN) -> list[Digest]:
    """One digest per (kind, run), in the order their first events happened."""
    groups: dict[tuple[str, str | None], list[Event]] = {}
    for event in events:
        groups.setdefault((event.kind, event.run_id), []).append(event)
    ordered = sorted(
        groups.items(),
        key=lambda item: (
            min(e.happened_at or datetime.min for e in item[1]),
            KINDS.index(item[0][0]),
            item[0][1] or "",
        ),
    )
    return [render(kind, run_id, group, shown) for (kind, run_id), group in ordered]


def next_attempt(attempts: int, now: datetime) -> datetime | None:
    """When to try a digest again after its ``attempts``-th failed attempt; None: give up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return now + ATTEMPT_DELAYS[min(attempts, len(ATTEMPT_DELAYS)) - 1]


def stale(happened_at: datetime, now: datetime) -> bool:
    """Too old to be news when it could first go out."""
    return now - happened_at > MAX_AGE
