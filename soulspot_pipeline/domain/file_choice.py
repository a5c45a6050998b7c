"""Which of several files of one track (or of one audio) the library keeps, and why, in words.

One ordered list of rules decides: ``keep_order`` sorts by them, ``why_kept`` names the first
one on which two files differ, so the order and its explanation can never disagree. The rows
are the merge's ``library.local_files`` rows (``broken`` added from the decode check; a
``disc_total`` is used when present).

``duplicate_groups`` finds the groups: present files that are one track (several
``track_files`` of one track id) or one audio (the same audio hash), joined transitively, so
a file is in one group at most and every group keeps exactly one file.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath
from typing import Any

from soulspot_pipeline.domain.naming import DEFAULT_TEMPLATE, render_path
from soulspot_pipeline.domain.quality import Quality

Row = Mapping[str, Any]

MBID_FIELDS = ("recording_mbid", "release_mbid", "release_group_mbid", "artist_mbid", "albumartist_mbid")

# Group kinds: what made the files one group.
SAME_TRACK = "track"
SAME_AUDIO = "audio"
SAME_TRACK_AND_AUDIO = "track+audio"


def quality_of(row: Row) -> Quality:
    return Quality(row.get("format") or "", row.get("bitrate"), row.get("bit_depth"), row.get("sample_rate"))


def has_mbids(row: Row) -> bool:
    return any(row.get(field) for field in MBID_FIELDS)


# The importer's template fields, and the local_files columns they come from.
_SCHEME_FIELDS = {
    "albumartist": "albumartist",
    "artist": "artist",
    "album": "album",
    "year": "date",
    "disc": "disc_number",
    "track": "track_number",
    "title": "title",
}


def in_naming_scheme(row: Row) -> bool:
    """Whether the file's path ends with the path the importer would give it (``DEFAULT_TEMPLATE``)."""
    fields = tuple((name, row.get(column)) for name, column in _SCHEME_FIELDS.items())
    # Without the disc total (not among the merge's columns) either naming of a disc counts.
    totals = (
        (row["disc_total"],) if row.get("disc_total") is not None else (1, 2) if row.get("disc_number") else (None,)
    )
    return _named(row["path"], fields, totals)


@functools.lru_cache(maxsize=4096)  # a kept file is compared with every other file of its group
def _named(path: str, fields: tuple[tuple[str, object], ...], totals: tuple[int | None, ...]) -> bool:
    file = PurePath(path)
    for total in totals:
        relative = render_path(DEFAULT_TEMPLATE, {**dict(fields), "disc_total": total}, file.suffix.lstrip("."))
        if file.parts[-len(relative.parts) :] == relative.parts:
            return True
    return False


def _class(q: Quality) -> int:
    return 0 if q.lossless else 1 if q.lossy else 2


def _label(q: Quality) -> str:
    if q.lossless:
        return f"lossless ({q.format})"
    return f"{q.format} {q.bitrate} kbps" if q.bitrate else (q.format or "unknown format")


def _first_seen(row: Row) -> tuple[bool, datetime]:
    seen = row.get("first_seen_at")
    return (seen is None, seen or datetime.min)


def _when(kept: datetime, other: datetime | None) -> str:
    same_day = other is not None and kept.date() == other.date()
    return f"{kept:%Y-%m-%d %H:%M:%S}" if same_day else f"{kept:%Y-%m-%d}"


@dataclass(frozen=True)
class _Rule:
    key: Callable[[Row], Any]  # smaller is kept
    says: Callable[[Row, Row], str]  # why the smaller one wins, given (kept, other)


# Quality as ``domain.quality`` judges it: lossless over lossy; between lossless copies bit depth,
# then sample rate (a WAV's bitrate says nothing a FLAC's does not); between lossy ones bitrate.
_RULES: tuple[_Rule, ...] = (
    _Rule(lambda r: bool(r.get("missing")), lambda k, o: "on disk (the other file is missing)"),
    _Rule(lambda r: bool(r.get("broken")), lambda k, o: "decodes cleanly (the other is broken or truncated)"),
    _Rule(
        lambda r: _class(quality_of(r)),
        lambda k, o: f"{_label(quality_of(k))} over {_label(quality_of(o))}",
    ),
    _Rule(
        lambda r: -(r.get("bit_depth") or 0) if quality_of(r).lossless else 0,
        lambda k, o: f"{k.get('bit_depth')}-bit over {o.get('bit_depth') or 'unknown'}-bit",
    ),
    _Rule(
        lambda r: -(r.get("sample_rate") or 0) if quality_of(r).lossless else 0,
        lambda k, o: f"{(k.get('sample_rate') or 0) / 1000:g} kHz over {(o.get('sample_rate') or 0) / 1000:g} kHz",
    ),
    _Rule(
        lambda r: 0 if quality_of(r).lossless else -(r.get("bitrate") or 0),
        lambda k, o: f"{_label(quality_of(k))} over {_label(quality_of(o))}",
    ),
    _Rule(lambda r: not has_mbids(r), lambda k, o: "tagged with MusicBrainz ids"),
    _Rule(lambda r: not in_naming_scheme(r), lambda k, o: "named by the library's scheme"),
    _Rule(
        _first_seen,
        lambda k, o: f"older (first seen {_when(k['first_seen_at'], o.get('first_seen_at'))})",
    ),
    _Rule(lambda r: r["path"], lambda k, o: "alike in every respect; first by path"),
)


def keep_order(row: Row) -> tuple:
    """Sort key: the file to keep sorts first (present, sound, best quality, tagged, named, older, path)."""
    return tuple(rule.key(row) for rule in _RULES)


def why_kept(kept: Row, other: Row) -> str:
    """Why ``kept`` is kept rather than ``other``, by the first rule on which they differ."""
    for rule in _RULES:
        a, b = rule.key(kept), rule.key(other)
        if a != b:
            if a > b:
                raise ValueError(f"{kept['path']} is not kept over {other['path']}")
            return rule.says(kept, other)
    return "the same file"


@dataclass(frozen=True)
class GroupedFile:
    """One file of a duplicate group: its place in the group's order and why it is (not) kept."""

    group_id: str
    kind: str
    path: str
    track_id: str | None
    rank: int  # 1 is kept
    kept: bool
    reason: str  # kept: over the next one; otherwise: why the kept one wins over it


def duplicate_groups(files: Sequence[Row]) -> list[GroupedFile]:
    """Group present files (rows with ``track_id`` and ``audio_hash``, either may be None) that are
    one track or one audio; rank each group's files by ``keep_order``."""
    present = [f for f in files if not f.get("missing")]
    parent = {f["path"]: f["path"] for f in present}

    def root(path: str) -> str:
        while parent[path] != path:
            parent[path] = parent[parent[path]]
            path = parent[path]
        return path

    edges: list[tuple[str, str, str]] = []
    for kind, key in ((SAME_TRACK, "track_id"), (SAME_AUDIO, "audio_hash")):
        first: dict[str, str] = {}
        for f in present:
            value = f.get(key)
            if value:
                edges.append((kind, first.setdefault(value, f["path"]), f["path"]))
    for _, a, b in edges:
        if a != b:
            parent[root(b)] = root(a)
    members: dict[str, list[Row]] = {}
    for f in present:
        members.setdefault(root(f["path"]), []).append(f)
    kinds: dict[str, set[str]] = {}
    for kind, a, b in edges:
        if a != b:
            kinds.setdefault(root(a), set()).add(kind)

    grouped: list[GroupedFile] = []
    for top, rows in members.items():
        if len(rows) < 2:
            continue
        ordered = sorted(rows, key=keep_order)
        kind = SAME_TRACK_AND_AUDIO if len(kinds[top]) == 2 else next(iter(kinds[top]))
        group_id = hashlib.sha1("\n".join(sorted(r["path"] for r in rows)).encode()).hexdigest()[:16]
        kept = ordered[0]
        for rank, row in enumerate(ordered, start=1):
            reason = why_kept(kept, ordered[1]) if rank == 1 else why_kept(kept, row)
            grouped.append(GroupedFile(group_id, kind, row["path"], row.get("track_id"), rank, rank == 1, reason))
    return grouped
