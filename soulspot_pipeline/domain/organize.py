"""Where each file of the library belongs under the naming template, and which moves must wait.

Pure: the organize job (``soulspot_pipeline.organize``) reads the library, asks this module
for a plan, checks the disk, and moves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from soulspot_pipeline.domain.naming import render_path

IN_PLACE = "in place"
MOVE = "move"
CLASH = "clash"
SKIPPED = "skipped"


@dataclass(frozen=True)
class LibraryFile:
    """A present file of a track: ``relative`` to the music folder, and the naming fields the
    library gives it (as the import's: artist, album, year, track, disc, ...)."""

    relative: PurePosixPath
    fields: Mapping[str, object] = field(default_factory=dict)
    titled: bool = True  # the file has a title tag (without one its name is its identity)


@dataclass(frozen=True)
class Planned:
    """What becomes of one file: ``outcome`` is IN_PLACE, MOVE, CLASH or SKIPPED (then ``why``)."""

    relative: PurePosixPath
    target: PurePosixPath | None
    outcome: str
    why: str | None = None


def plan_organize(files: Iterable[LibraryFile], template: str) -> list[Planned]:
    """Each file's place under ``template``; two files wanting one name (compared without case,
    as a case-insensitive filesystem would) both stay where they are, unless one is already
    there: it stays, the others clash."""
    first: list[Planned] = []
    for file in files:
        if not file.titled:
            first.append(Planned(file.relative, None, SKIPPED, "no title tag: its name is all the library knows of it"))
            continue
        ext = file.relative.suffix.lstrip(".")
        try:
            target = render_path(template, file.fields, ext)
        except ValueError as exc:
            first.append(Planned(file.relative, None, SKIPPED, f"cannot be named: {exc}"))
            continue
        outcome = IN_PLACE if target == file.relative else MOVE
        first.append(Planned(file.relative, target, outcome))
    wanting: dict[str, list[Planned]] = defaultdict(list)
    for planned in first:
        if planned.target is not None:
            wanting[str(planned.target).casefold()].append(planned)
    plan: list[Planned] = []
    for planned in first:
        if planned.target is None or planned.outcome == IN_PLACE:
            plan.append(planned)
            continue
        rivals = [p for p in wanting[str(planned.target).casefold()] if p is not planned]
        if rivals:
            holder = next((p for p in rivals if p.outcome == IN_PLACE), None)
            why = (
                f"{holder.relative} is already there"
                if holder
                else f"{len(rivals) + 1} files want this name (also {rivals[0].relative})"
            )
            plan.append(Planned(planned.relative, planned.target, CLASH, why))
        else:
            plan.append(planned)
    return plan


def sidecar_name(audio_name: str, sidecar: str, new_audio_name: str, suffixes: Iterable[str]) -> str | None:
    """The new name of ``sidecar`` (``<stem>.lrc`` beside ``<stem>.flac``) when its audio file
    becomes ``new_audio_name``; None when it is not a sidecar of that file."""
    stem = PurePosixPath(audio_name).stem
    for suffix in suffixes:
        if sidecar.lower() == f"{stem}{suffix}".lower() and sidecar[: len(stem)] == stem:
            return PurePosixPath(new_audio_name).stem + suffix
    return None
