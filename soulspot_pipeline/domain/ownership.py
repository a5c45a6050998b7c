"""The ownership model: what the user owns, and whether its file is here.

``ownership_state``: owned | discovered | ignored. ``download_state``: not_needed |
pending | downloading | downloaded | failed.

A track is owned while it has a reason to be: a file on disk (or one that vanished,
since losing a file is not losing the wish to have it), a like, a saved album, a
playlist the user set to auto-own, or a download the user requested. A file found broken
still owns its track but is not its file: the track is pending until a good copy comes.
The user's word comes last and wins: *ignored* is never re-owned by a sync; *removed*
un-owns every reason older than the removal, so only a new like, file or request owns it
again.
Decisions cascade: an artist's decision covers its albums and tracks, an album's its
tracks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

OWNED, DISCOVERED, IGNORED = "owned", "discovered", "ignored"
NOT_NEEDED, PENDING, DOWNLOADING, DOWNLOADED, FAILED = (
    "not_needed",
    "pending",
    "downloading",
    "downloaded",
    "failed",
)
ABANDONED = "abandoned"  # a download failed long ago and given up (library_cleanup)
REMOVED = "removed"
DECISIONS = (REMOVED, IGNORED)


@dataclass(frozen=True, slots=True)
class Decision:
    kind: str  # removed | ignored
    at: datetime


@dataclass(frozen=True, slots=True)
class Reason:
    """Why something is owned: which source says so, and since when."""

    source: str
    since: datetime | None


def effective_decision(*levels: Decision | None) -> Decision | None:
    """The decision that applies given the entity's own and its containers' decisions."""
    decided = [d for d in levels if d is not None]
    for decision in decided:
        if decision.kind == IGNORED:
            return decision
    return max(decided, key=lambda d: d.at, default=None)


def active_reasons(reasons: Iterable[Reason], decision: Decision | None) -> list[Reason]:
    """The reasons that still own after the user's decision."""
    if decision is None:
        return list(reasons)
    if decision.kind == IGNORED:
        return []
    return [r for r in reasons if r.since is not None and r.since > decision.at]


def track_state(
    reasons: Sequence[Reason],
    decision: Decision | None,
    *,
    file_present: bool,
    requested_at: datetime | None,
    auto_queue: bool,
    transfer: str | None = None,
    transfer_at: datetime | None = None,
    file_broken: bool = False,
) -> tuple[str, str, list[Reason]]:
    """(ownership_state, download_state, the reasons that own it). ``transfer`` is the state
    of its download, if one was tried, and ``transfer_at`` when it last changed: a pending
    track being downloaded is ``downloading``, one whose download failed ``failed``, one given
    up on after that (``abandoned``) ``not_needed``, until it is requested again.
    ``file_broken``: no good file is present, but a broken (or truncated) one is. Such a track
    is queued whatever auto-queue says, as a requested one is: the user had it on disk and wants
    a working copy (a vanished file may have been deleted on purpose, so that one waits for
    auto-queue)."""
    if transfer in (FAILED, ABANDONED) and requested_at and transfer_at and requested_at > transfer_at:
        transfer = None  # asked for again since that download failed: pending anew
    if decision is not None and decision.kind == IGNORED:
        return IGNORED, DOWNLOADED if file_present else NOT_NEEDED, []
    active = active_reasons(reasons, decision)
    requested = requested_at is not None and (decision is None or requested_at > decision.at)
    if requested:
        active.append(Reason("user", requested_at))
    owned = bool(active)
    if file_present:
        download = DOWNLOADED
    elif owned and (auto_queue or requested or file_broken):
        download = transfer if transfer in (DOWNLOADING, FAILED) else NOT_NEEDED if transfer == ABANDONED else PENDING
    else:
        download = NOT_NEEDED
    return (OWNED if owned else DISCOVERED), download, active


def container_state(
    reasons: Sequence[Reason], decision: Decision | None, member_states: Iterable[str]
) -> tuple[str, list[Reason]]:
    """An album's (artist's) ownership: its own reasons, or any owned track (album) in it."""
    if decision is not None and decision.kind == IGNORED:
        return IGNORED, []
    active = active_reasons(reasons, decision)
    owned = bool(active) or any(state == OWNED for state in member_states)
    return (OWNED if owned else DISCOVERED), active
