"""Which files a scan must read, which it may skip, and which have vanished."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FileStat:
    path: str
    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class KnownFile:
    size: int
    mtime_ns: int
    missing: bool = False
    unreadable: bool = False


@dataclass
class ScanPlan:
    to_read: list[FileStat] = field(default_factory=list)
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    unchanged_errors: int = 0
    reappeared: list[str] = field(default_factory=list)
    vanished: list[str] = field(default_factory=list)
    vanished_errors: list[str] = field(default_factory=list)


def plan_scan(
    seen: Iterable[FileStat], known: Mapping[str, KnownFile], unreachable_folders: Iterable[str] = ()
) -> ScanPlan:
    """Compare what is on disk with what the library knows.

    A file whose size and mtime are unchanged is not opened again, even if it could not
    be read last time; a changed one is re-read; a known file that is gone vanishes
    (marked missing by the caller, never deleted). Files below a folder the walk could
    not list are unknown, not gone.
    """
    plan = ScanPlan()
    hidden = tuple(folder.rstrip("/") + "/" for folder in unreachable_folders)
    present: set[str] = set()
    for stat in seen:
        present.add(stat.path)
        before = known.get(stat.path)
        if before is None:
            plan.new += 1
            plan.to_read.append(stat)
        elif before.size != stat.size or before.mtime_ns != stat.mtime_ns:
            plan.changed += 1
            plan.to_read.append(stat)
        elif before.unreadable:
            plan.unchanged_errors += 1
        else:
            plan.unchanged += 1
            if before.missing:
                plan.reappeared.append(stat.path)
    for path, before in known.items():
        if path in present or (hidden and path.startswith(hidden)):
            continue
        if before.unreadable:
            plan.vanished_errors.append(path)
        elif not before.missing:
            plan.vanished.append(path)
    return plan
