"""Where an album cover or an artist picture comes from, and when to look for one again.

Covers come from the Cover Art Archive first (by release group, then release), then from
Spotify, then Deezer; artist pictures from Spotify, then Deezer. A stored image is kept
while its file is there; a failed or missing one is tried again after a while.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

COVER_ART_ARCHIVE, SPOTIFY, DEEZER = "coverartarchive", "spotify", "deezer"
STORED, FAILED, NONE = "stored", "failed", "none"


@dataclass(frozen=True, slots=True)
class ImageTarget:
    entity_type: str  # album | artist
    entity_id: str
    release_group_mbid: str | None = None
    release_mbid: str | None = None
    provider_urls: tuple[tuple[str, str], ...] = ()  # (source, url), best first

    @property
    def key(self) -> str:
        return f"{self.entity_type}:{self.entity_id}"

    @property
    def caa_refs(self) -> tuple[tuple[str, str], ...]:
        """(kind, mbid) to ask the Cover Art Archive, best first."""
        refs = []
        if self.release_group_mbid:
            refs.append(("release-group", self.release_group_mbid))
        if self.release_mbid:
            refs.append(("release", self.release_mbid))
        return tuple(refs)


@dataclass(frozen=True, slots=True)
class ImageState:
    status: str
    attempted_at: datetime
    file_present: bool


def needs_fetch(state: ImageState | None, now: datetime, retry: timedelta) -> bool:
    """Never looked for, its stored file gone, or a failure or absence ``retry`` ago."""
    if state is None:
        return True
    if state.status == STORED:
        return not state.file_present
    return state.attempted_at + retry <= now


def candidates(target: ImageTarget, caa_url: str | None) -> list[tuple[str, str]]:
    """The URLs to try in order: the Cover Art Archive's front image, then the providers'."""
    found = [(COVER_ART_ARCHIVE, caa_url)] if caa_url else []
    return found + [pair for pair in target.provider_urls if pair[1]]
