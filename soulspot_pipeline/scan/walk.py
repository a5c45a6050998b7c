"""Walking the music folder: every candidate audio file with its size and mtime."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

from soulspot_pipeline.domain.scan_plan import FileStat
from soulspot_pipeline.scan.read import AUDIO_EXTENSIONS


@dataclass
class WalkReport:
    """What a walk passed over, for the scan's metadata."""

    ignored_non_audio: int = 0
    hidden: int = 0
    bad_names: list[str] = field(default_factory=list)
    unreadable_dirs: dict[str, str] = field(default_factory=dict)  # folder -> why


def _is_candidate(name: str) -> bool:
    _, dot, ext = name.rpartition(".")
    if not dot or not _:  # no extension: sniffed by content
        return True
    return ext.lower() in AUDIO_EXTENSIONS


def walk_music_folder(root: str | os.PathLike, report: WalkReport | None = None) -> Iterator[FileStat]:
    """Yield every candidate audio file below ``root``: audio extensions, or none at all.

    Hidden files and folders (a leading dot: .Trash, ._AppleDouble, .stfolder) are passed
    over; linked folders are followed once. Names that are not valid UTF-8 cannot be
    stored and are reported instead.
    """
    report = report if report is not None else WalkReport()
    stack = [os.fspath(root)]
    visited: set[tuple[int, int]] = set()
    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder)
            if (st.st_dev, st.st_ino) in visited:
                continue
            visited.add((st.st_dev, st.st_ino))
            entries = list(os.scandir(folder))
        except OSError as exc:
            report.unreadable_dirs[folder] = str(exc.strerror or exc)
            continue
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                report.hidden += 1
                continue
            try:
                if entry.is_dir():
                    stack.append(entry.path)
                    continue
                if not entry.is_file():
                    continue
                if not _is_candidate(name):
                    report.ignored_non_audio += 1
                    continue
                try:
                    entry.path.encode()
                except UnicodeEncodeError:
                    report.bad_names.append(os.fsencode(entry.path).decode("utf-8", "replace"))
                    continue
                stat = entry.stat()
            except OSError:
                continue  # vanished between listing and stat
            yield FileStat(entry.path, stat.st_size, stat.st_mtime_ns)


@dataclass(frozen=True)
class FolderFingerprint:
    digest: str
    files: int
    newest_mtime_ns: int


def folder_fingerprint(root: str | os.PathLike) -> FolderFingerprint:
    """A digest of every candidate file's path, size and mtime.

    Equal digests mean nothing a scan would read has changed; the newest mtime tells
    whether files are still being copied in.
    """
    digest = hashlib.blake2b(digest_size=16)
    count = newest = 0
    for stat in sorted(walk_music_folder(root), key=lambda s: s.path):
        digest.update(f"{stat.path}\0{stat.size}\0{stat.mtime_ns}\n".encode())
        count += 1
        newest = max(newest, stat.mtime_ns)
    return FolderFingerprint(digest.hexdigest(), count, newest)
