"""Playlists as extended M3U8 files for a media server: names, entries and which files are ours.

Plain values in, text out; the asset reads the library and writes the files.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from soulspot_pipeline.domain.naming import safe_component

EXTENSION = ".m3u8"
# The second line of every file we write: a file without it is the user's, never overwritten or removed.
MARKER = "# written by soulspot-pipeline for playlist "


@dataclass(frozen=True)
class Entry:
    """One track of a playlist; ``path`` is its file on disk, None when it has none."""

    artist: str
    title: str
    duration_ms: int | None
    path: str | None


@dataclass(frozen=True)
class Playlist:
    playlist_id: str
    name: str
    entries: tuple[Entry, ...]


def file_names(playlists: Iterable[Playlist]) -> dict[str, str]:
    """Each playlist's file name, by playlist id: its name made safe, and the id added when two names clash."""
    ordered = sorted(playlists, key=lambda p: p.playlist_id)
    bases = [safe_component(p.name) for p in ordered]
    counts: dict[str, int] = {}
    for base in bases:
        counts[base.casefold()] = counts.get(base.casefold(), 0) + 1
    names: dict[str, str] = {}
    for playlist, base in zip(ordered, bases, strict=True):
        # Case-insensitive: on macOS and Windows "Chill" and "chill" are the same file.
        stem = base if counts[base.casefold()] == 1 else f"{base} [{playlist.playlist_id}]"
        names[playlist.playlist_id] = safe_component(stem + EXTENSION)
    return names


def _label(entry: Entry) -> str:
    # One line each: a newline in a name would start a new entry.
    return " ".join(f"{entry.artist} - {entry.title}".split())


def render(playlist: Playlist, folder: Path) -> str:
    """The M3U8 text: header, then each track on disk as ``#EXTINF`` and its path relative to ``folder``,
    each track not on disk as a ``# missing:`` comment, in playlist order."""
    lines = ["#EXTM3U", MARKER + playlist.playlist_id, f"#PLAYLIST:{' '.join(playlist.name.split())}"]
    for entry in playlist.entries:
        if entry.path is None:
            lines.append(f"# missing: {_label(entry)}")
            continue
        seconds = round(entry.duration_ms / 1000) if entry.duration_ms else -1
        lines.append(f"#EXTINF:{seconds},{_label(entry)}")
        # Forward slashes: Jellyfin, Navidrome and Plex read them on every system.
        lines.append(Path(os.path.relpath(entry.path, folder)).as_posix())
    return "\n".join(lines) + "\n"


def written_for(text: str) -> str | None:
    """The playlist id a file we wrote names, None for a file someone else wrote."""
    lines = text.splitlines()
    if len(lines) >= 2 and lines[0] == "#EXTM3U" and lines[1].startswith(MARKER):
        return lines[1][len(MARKER) :]
    return None


def counts(playlists: Sequence[Playlist]) -> tuple[int, int]:
    """Entries on disk and missing, over all ``playlists``."""
    entries = [e for p in playlists for e in p.entries]
    on_disk = sum(1 for e in entries if e.path is not None)
    return on_disk, len(entries) - on_disk
