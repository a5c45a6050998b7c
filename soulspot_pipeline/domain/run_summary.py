"""A run told in a few lines: one per phase with its status and key counts.

The console of ``soulspot refresh`` prints these while the run goes on; the full event
log (Dagster's DEBUG lines, tracebacks) goes to a log file. Metadata arrives here as
plain values (ints, floats, strings, dicts), so this module knows nothing of Dagster.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Metadata = Mapping[str, Any]

NAME_WIDTH = 20
MAX_LISTED_FILES = 5


@dataclass(frozen=True)
class PhaseOutcome:
    """How one step of a run ended: ``materialized``, ``failed`` or ``not run``."""

    step: str
    status: str
    metadata: Metadata = field(default_factory=dict)
    error: str | None = None


def first_line(message: str, limit: int = 300) -> str:
    """The first non-empty line of an error message, cut to ``limit`` characters."""
    line = next((part.strip() for part in message.splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def without_class_prefix(message: str, class_name: str | None) -> str:
    """``pkg.module.SomeError: text`` -> ``text``, as an exception's message reads best."""
    if class_name:
        found = re.match(rf"^[\w.]*\b{re.escape(class_name)}: ", message)
        if found:
            return message[found.end() :]
    return message


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _counts(value: Any) -> str:
    """``{"stored": 3, "failed": 1}`` -> ``stored 3, failed 1`` (zeros left out)."""
    if not isinstance(value, Mapping):
        return ""
    return ", ".join(f"{key} {n}" for key, n in value.items() if _count(n))


def _join(*parts: str) -> str:
    return "; ".join(part for part in parts if part)


def _cloud(m: Metadata) -> str:
    counts = ", ".join(
        f"{_count(m.get(key))} {label}"
        for key, label in (
            ("liked_tracks", "liked tracks"),
            ("saved_albums", "saved albums"),
            ("followed_artists", "followed artists"),
            ("playlists", "playlists"),
        )
    )
    status = str(m.get("status") or "")
    return _join(counts, status if status.startswith("partial") else "")


def _scan(m: Metadata) -> str:
    if m.get("status"):
        return f"{m['status']}: nothing to scan ({m.get('music_dir', '')})"
    return (
        f"{_count(m.get('seen'))} files seen: {_count(m.get('new'))} new, {_count(m.get('changed'))} changed, "
        f"{_count(m.get('missing'))} missing, {_count(m.get('unreadable'))} unreadable"
    )


def _checks(m: Metadata) -> str:
    flagged = "".join(f", {_count(m.get(key))} {key}" for key in ("broken", "truncated") if _count(m.get(key)))
    return f"{_count(m.get('checked'))} files decoded: {_count(m.get('ok'))} ok{flagged}; {_count(m.get('left'))} left"


def _entities(m: Metadata) -> str:
    return f"{_count(m.get('artists'))} artists, {_count(m.get('albums'))} albums, {_count(m.get('tracks'))} tracks"


def _library(m: Metadata) -> str:
    counts = f"{_entities(m)} ({_count(m.get('owned_tracks'))} owned, {_count(m.get('downloaded_tracks'))} on disk)"
    return f"{counts}; up to date, not merged again" if m.get("up_to_date") else counts


def _identify(m: Metadata) -> str:
    return _join(f"{_count(m.get('decided'))} decided", _counts(m.get("decisions")))


def _enrich(m: Metadata) -> str:
    return f"{_entities(m)}; {_count(m.get('values'))} values"


def _lastfm(m: Metadata) -> str:
    return _join(
        f"{_count(m.get('artists'))} artists, {_count(m.get('albums'))} albums",
        f"{_count(m.get('genres_kept'))} genres kept of {_count(m.get('tags_seen'))} tags",
        f"{_count(m.get('similar_artists'))} similar artists",
        f"{_count(m.get('requests'))} requests to Last.fm",
    )


def _gaps(m: Metadata) -> str:
    return _join(
        f"{_count(m.get('artists'))} artists compared",
        f"gaps: {_counts(m.get('gaps')) or 'none'}",
        f"{_count(m.get('incomplete_albums'))} incomplete albums",
    )


def _images(m: Metadata) -> str:
    return _join(f"{_count(m.get('looked_for'))} looked for", _counts(m.get("this_run")))


def _lyrics(m: Metadata) -> str:
    written = [
        f"{_count(m.get(key))} {label}"
        for key, label in (("files_written", "files"), ("tags_embedded", "tagged"))
        if m.get(key)
    ]
    stopped = str(m.get("status") or "")
    return _join(
        f"{_count(m.get('looked_for'))} looked for",
        _counts(m.get("this_run")),
        ", ".join(written),
        stopped if stopped.startswith("stopped") else "",
    )


def _wall(m: Metadata) -> str:
    return f"{_count(m.get('covers'))} covers"


def _downloads(m: Metadata) -> str:
    return _join(
        f"{_count(m.get('searched'))} tracks searched ({_count(m.get('requests'))} requests to slskd)",
        _counts(m.get("this_run")),
    )


def _transfers(m: Metadata) -> str:
    return _join(f"{_count(m.get('active'))} transfers followed", _counts(m.get("verdicts")))


def _cleanup(m: Metadata) -> str:
    return (
        f"{_count(m.get('abandoned_downloads'))} failed downloads given up, "
        f"{_count(m.get('staging_leftovers_removed'))} import leftovers removed"
    )


def _playlists(m: Metadata) -> str:
    return _join(
        f"{_count(m.get('written'))} playlist files written, {_count(m.get('unchanged'))} unchanged",
        f"{_count(m.get('entries'))} entries, {_count(m.get('missing'))} missing",
    )


# Each phase's key counts, by step (the asset's name); others show their status only.
DESCRIBE: dict[str, Callable[[Metadata], str]] = {
    "spotify_likes": _cloud,
    "deezer_favorites": _cloud,
    "local_scan": _scan,
    "audio_checks": _checks,
    "library_entities": _library,
    "identified_entities": _identify,
    "enriched_metadata": _enrich,
    "lastfm_metadata": _lastfm,
    "discography_gaps": _gaps,
    "images": _images,
    "cover_wall": _wall,
    "lyrics": _lyrics,
    "downloads": _downloads,
    "download_transfers": _transfers,
    "library_cleanup": _cleanup,
    "playlist_files": _playlists,
}


def phase_lines(outcome: PhaseOutcome) -> list[str]:
    """The console lines of one phase: its status and counts, then what the user should look at."""
    name = outcome.step.ljust(NAME_WIDTH)
    if outcome.status == "failed":
        return [f"  {name}failed: {first_line(outcome.error or 'no message')}"]
    if outcome.status == "not run":
        return [f"  {name}not run: {outcome.error or 'an earlier phase failed'}"]
    status = str(outcome.metadata.get("status") or "")
    if status.startswith("skipped"):
        return [f"  {name}{status}"]
    describe = DESCRIBE.get(outcome.step)
    lines = [f"  {name}{(describe(outcome.metadata) if describe else status) or 'done'}"]
    listed = LISTED_FILES.get(outcome.step)
    if listed:
        lines += file_lines(outcome.metadata, *listed)
    return lines


# The files a phase names under its line: (metadata key of [path, reason] pairs, key of their
# total, the word before each, the query that lists them all).
LISTED_FILES: dict[str, tuple[str, str, str, str]] = {
    "local_scan": (
        "unreadable_files",
        "unreadable",
        "unreadable",
        "SELECT path, error FROM library.scan_errors WHERE kind = 'unreadable'",
    ),
    "audio_checks": ("flagged", "flagged_total", "flagged", "SELECT path, status, reason FROM library.broken_files"),
}


def file_lines(m: Metadata, files_key: str, total_key: str, label: str, query: str) -> list[str]:
    """Up to five files with their reason, and how many more there are."""
    files = m.get(files_key)
    if not isinstance(files, Sequence) or isinstance(files, str):
        return []
    pad = " " * (2 + NAME_WIDTH)
    folder = str(m.get("music_dir") or "").rstrip("/\\")
    lines = [
        f"{pad}{label}: {inside_folder(str(item[0]), folder)} ({first_line(str(item[1]), 120)})"
        for item in files[:MAX_LISTED_FILES]
        if isinstance(item, Sequence) and len(item) == 2
    ]
    more = _count(m.get(total_key)) - len(lines)
    if more > 0:
        lines.append(f"{pad}and {more} more: {query}")
    return lines


def inside_folder(path: str, folder: str) -> str:
    """A path shown from inside the music folder, as the user knows it."""
    for separator in ("/", "\\"):
        if folder and path.startswith(folder + separator):
            return path[len(folder) + 1 :]
    return path


def retry_line(step: str, seconds: float | None, attempt: int, attempts: int | None, error: str) -> str:
    """``local_scan          retrying in 10 s (2 of 3): <why>``, once per attempt."""
    wait = f"retrying in {seconds:.0f} s" if seconds else "retrying"
    of = f" ({attempt} of {attempts})" if attempts else f" (attempt {attempt})"
    return f"  {step.ljust(NAME_WIDTH)}{wait}{of}: {first_line(error, 200)}"


def check_line(asset: str, check: str, description: str | None) -> str:
    """A failed asset check: which one, and what it found."""
    return f"  {asset.ljust(NAME_WIDTH)}check {check} failed" + (
        f": {first_line(description, 200)}" if description else ""
    )
