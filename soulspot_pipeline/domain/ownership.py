"""The ownership model: what the user owns, and whether its file is here.

``ownership_state``: owned | discovered | ignored. ``download_state``: not_needed |
pending | downloading | downloaded | failed. A file on disk makes a track owned and
downloaded; an owned track without a file is pending when auto-queue is on, else
not_needed. Ignored is the user's word and no sync overrides it.
"""

from __future__ import annotations

from collections.abc import Iterable

OWNED, DISCOVERED, IGNORED = "owned", "discovered", "ignored"
NOT_NEEDED, PENDING, DOWNLOADING, DOWNLOADED, FAILED = (
    "not_needed",
    "pending",
    "downloading",
    "downloaded",
    "failed",
)


def local_track_state(
    previous: str | None, *, file_present: bool, file_known: bool, auto_queue: bool
) -> tuple[str, str]:
    """(ownership_state, download_state) of a track that comes from local files.

    ``file_known``: some file was ever mapped to the track; ``file_present``: one of
    them is on disk now. A track whose files all vanished stays owned (the user lost a
    file, not the wish to have it); one whose files were retagged into other tracks was
    superseded and becomes discovered.
    """
    if previous == IGNORED:
        return IGNORED, DOWNLOADED if file_present else NOT_NEEDED
    if file_present:
        return OWNED, DOWNLOADED
    if file_known:
        return OWNED, PENDING if auto_queue else NOT_NEEDED
    return DISCOVERED, NOT_NEEDED


def container_state(previous: str | None, member_states: Iterable[str]) -> str:
    """An album's (or artist's) ownership: owned while any track (album) in it is owned."""
    if previous == IGNORED:
        return IGNORED
    return OWNED if any(state == OWNED for state in member_states) else DISCOVERED
