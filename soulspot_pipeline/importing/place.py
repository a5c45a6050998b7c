"""Moving a verified download into the music folder so that nothing is ever lost or half-written.

A download is copied into a hidden staging folder inside the music folder (same filesystem,
hidden from the scanner), tagged and synced there, and only then linked or renamed into
place: a killed import leaves at most a ``.part`` file in staging, never a partial file in
the library. A replaced library file is moved to ``.soulspot-replaced``, never deleted; so is
a file the decode check found broken, which any good download replaces.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Literal

from soulspot_pipeline.domain.naming import UnsafePathError, render_path, safe_destination
from soulspot_pipeline.domain.quality import Quality, is_strictly_better
from soulspot_pipeline.importing.tags import TaggingError, TrackTags, write_lyrics_tags, write_tags
from soulspot_pipeline.importing.verify import AudioFacts, ImportRejected, audio_facts, verify_download
from soulspot_pipeline.scan.read import EXTENSIONS_OF

STAGING = ".soulspot-incoming"
REPLACED = ".soulspot-replaced"

_STAGED_NAME = re.compile(r"^[0-9a-f]{32}\.part(\.[a-z0-9]{1,10})?$")
_SUFFIX = re.compile(r"^\.[a-z0-9]{1,10}$")
# Errors of a filesystem without hard links (or one refusing them to a non-owner).
_NO_HARD_LINKS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK})

Status = Literal["placed", "replaced", "kept_existing"]


@dataclass(frozen=True)
class PlaceResult:
    """Where the track is now; ``replaced_to`` is where the file it replaced was kept."""

    status: Status
    path: Path
    replaced_to: Path | None = None


@dataclass(frozen=True)
class ImportOutcome:
    """An import's result and the facts of the downloaded copy after tagging; ``moved_aside``: the
    track's other copies the import moved to ``REPLACED`` (by ``set_aside``)."""

    status: Status
    path: Path
    facts: AudioFacts
    replaced_to: Path | None = None
    moved_aside: tuple[Path, ...] = ()
    lyrics_embedded: bool = False


def stage(source: Path, music_dir: Path, *, suffix: str | None = None) -> Path:
    """Copy ``source`` to ``music_dir/STAGING/<uuid>.part<suffix>``, synced to disk.

    ``suffix`` (default: the source's) keeps the audio extension mutagen uses to pick the
    format. The source is left alone.
    """
    folder = Path(music_dir) / STAGING
    folder.mkdir(exist_ok=True)  # not parents=True: an unmounted music folder must not be created
    _check_inside(folder, music_dir)
    suffix = Path(source).suffix.lower() if suffix is None else suffix.lower()
    staged = folder / f"{uuid.uuid4().hex}.part{suffix if _SUFFIX.match(suffix) else ''}"
    try:
        shutil.copyfile(source, staged)
        _fsync_file(staged)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return staged


def place(
    staged: Path,
    music_dir: Path,
    relative: PurePosixPath,
    *,
    incoming: Quality,
    existing: Quality | None,
    broken: Collection[Path] = (),
) -> PlaceResult:
    """Move a staged file to ``music_dir/relative`` without overwriting anything worth keeping.

    A file already at the destination is replaced only when it is one of ``broken`` (library
    files the decode check found broken: its header may claim any quality, it plays none), or
    when ``incoming`` is strictly better than both ``existing`` (the caller's record, when
    given) and what the file itself reports; it is then kept under
    ``REPLACED/<timestamp>/<relative>``. Otherwise the staged file is removed and the result
    is ``kept_existing``.
    """
    music_dir = Path(music_dir)
    if not music_dir.is_dir():
        raise FileNotFoundError(f"music folder not found: {music_dir}")
    destination = safe_destination(music_dir, relative)
    _make_folders(destination.parent)
    _check_inside(destination, music_dir)  # again, now that every folder on the way exists
    _fsync_file(staged)  # tags were written after staging
    if not os.path.lexists(destination):
        _move_no_overwrite(staged, destination)
        _fsync_dir(destination.parent)
        return PlaceResult("placed", destination)
    if not _is_one_of(destination, broken) and not _beats(incoming, existing, destination):
        staged.unlink()
        return PlaceResult("kept_existing", destination)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    backup = safe_destination(music_dir, PurePosixPath(REPLACED, stamp, *relative.parts))
    _make_folders(backup.parent)
    _check_inside(backup, music_dir)
    if _hard_link(destination, backup):
        _fsync_dir(backup.parent)
        os.replace(staged, destination)  # the old file is never absent from the library
    else:
        os.rename(destination, backup)
        _fsync_dir(backup.parent)
        os.rename(staged, destination)
    _fsync_dir(destination.parent)
    return PlaceResult("replaced", destination, backup)


def set_aside(path: Path, music_dir: Path) -> Path:
    """Move a library file an import made redundant (the old copy of an upgrade, a broken copy) to
    ``REPLACED/<timestamp>/<its path>``: out of the library, never deleted."""
    music_dir = Path(music_dir)
    relative = PurePosixPath(Path(path).resolve().relative_to(music_dir.resolve()).as_posix())
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    backup = safe_destination(music_dir, PurePosixPath(REPLACED, stamp, *relative.parts))
    _make_folders(backup.parent)
    _check_inside(backup, music_dir)
    _move_no_overwrite(Path(path), backup)
    _fsync_dir(backup.parent)
    return backup


def move_within(source: Path, destination: Path, music_dir: Path) -> None:
    """Move a library file to ``destination`` (inside ``music_dir``), creating its folders, never
    overwriting (FileExistsError when something is there) and never leaving the file absent from
    both names: a hard link, then the old name removed (or one rename where links are refused)."""
    if os.path.lexists(destination):
        raise FileExistsError(errno.EEXIST, "a file is already there", str(destination))
    _make_folders(Path(destination).parent)
    _check_inside(destination, music_dir)  # again, now that every folder on the way exists
    _move_no_overwrite(Path(source), Path(destination))
    _fsync_dir(Path(destination).parent)
    _fsync_dir(Path(source).parent)


def remove_emptied_folders(folders: Collection[Path], music_dir: Path) -> list[Path]:
    """Remove each of ``folders`` that is empty, then its parents that become empty, never the
    music folder itself nor anything outside it; return the folders removed."""
    root = Path(music_dir).resolve()
    removed: list[Path] = []
    for folder in sorted({Path(f) for f in folders}, key=lambda f: len(f.parts), reverse=True):
        while folder.resolve() != root and root in folder.resolve().parents:
            try:
                folder.rmdir()  # only an empty folder goes
            except OSError:
                break
            removed.append(folder)
            _fsync_dir(folder.parent)
            folder = folder.parent
    return removed


def clean_staging(music_dir: Path, older_than_s: float = 3600) -> list[Path]:
    """Remove the ``.part`` files of killed imports older than ``older_than_s``; return them."""
    folder = Path(music_dir) / STAGING
    cutoff = time.time() - older_than_s
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return removed
    for entry in entries:
        if not _STAGED_NAME.match(entry.name) or not entry.is_file(follow_symlinks=False):
            continue
        if entry.stat(follow_symlinks=False).st_mtime <= cutoff:
            Path(entry.path).unlink(missing_ok=True)
            removed.append(Path(entry.path))
    return removed


def import_download(
    source: Path,
    music_dir: Path,
    *,
    template: str,
    fields: Mapping[str, object],
    tags: TrackTags | None,
    cover_jpeg: bytes | None,
    expected_duration_ms: int | None,
    expected_size: int | None,
    existing: Quality | None,
    broken: Collection[Path] = (),
    tolerance_s: float = 5.0,
    lyrics: tuple[str, bool] | None = None,
) -> ImportOutcome:
    """Verify, stage, tag (``tags`` None: leave the file's tags), re-verify and place a download
    (over a file of ``broken`` whatever its quality: see ``place``). ``lyrics`` (text, synced), the
    track's lyrics when already known, go into the tags too; a file that cannot hold them is
    imported without them (``lyrics_embedded`` says which).

    The file gets the extension of its actual format. Raises ImportRejected for a bad file
    and TaggingError when its format cannot be tagged (the caller may import it untagged).
    Whatever fails, the staged copy is removed and the source is left alone.
    """
    source = Path(source)
    facts = verify_download(
        source, expected_duration_ms=expected_duration_ms, tolerance_s=tolerance_s, expected_size=expected_size
    )
    ext = _extension(facts.format, source)
    relative = render_path(template, fields, ext)
    staged = stage(source, music_dir, suffix=f".{ext}")
    try:
        embedded = False
        if tags is not None:
            write_tags(staged, tags, cover_jpeg)
            if lyrics is not None:
                try:
                    write_lyrics_tags(staged, *lyrics)
                    embedded = True
                except TaggingError:
                    pass  # the lyrics stay in library.lyrics (and a .lrc file, if asked for)
        try:
            placed = verify_download(staged, expected_duration_ms=facts.duration_ms, tolerance_s=tolerance_s)
        except ImportRejected as exc:
            raise ImportRejected(f"after tagging: {exc.reason}") from exc
        if placed.format != facts.format:
            raise ImportRejected(f"after tagging the content reads as {placed.format}, not {facts.format}")
        result = place(staged, music_dir, relative, incoming=placed.quality, existing=existing, broken=broken)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return ImportOutcome(result.status, result.path, placed, result.replaced_to, lyrics_embedded=embedded)


def _extension(fmt: str, source: Path) -> str:
    """The source's extension when it names the format, else the format's usual one."""
    known = EXTENSIONS_OF[fmt]
    suffix = source.suffix.lower().lstrip(".")
    return suffix if suffix in known else known[0]


def _beats(incoming: Quality, existing: Quality | None, destination: Path) -> bool:
    try:
        on_disk: Quality | None = audio_facts(destination).quality
    except ImportRejected:
        on_disk = None
    judged = [q for q in (existing, on_disk) if q is not None]
    return bool(judged) and all(is_strictly_better(incoming, q) for q in judged)


def _is_one_of(path: Path, paths: Collection[Path]) -> bool:
    resolved = Path(path).resolve()
    return any(Path(p).resolve() == resolved for p in paths)


def _check_inside(path: Path, music_dir: Path) -> None:
    root = Path(music_dir).resolve()
    if root not in Path(path).resolve().parents:
        raise UnsafePathError(f"{str(path)!r} leaves the music folder")


def _make_folders(folder: Path) -> None:
    """Create ``folder`` and its missing parents, syncing each new entry to disk."""
    missing: list[Path] = []
    while not folder.is_dir():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir(exist_ok=True)
        _fsync_dir(path.parent)


def _hard_link(source: Path, target: Path) -> bool:
    """Hard-link ``source`` as ``target``; False where the filesystem will not."""
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError as exc:
        if exc.errno in _NO_HARD_LINKS:
            return False
        raise
    return True


def _move_no_overwrite(source: Path, target: Path) -> None:
    """Rename ``source`` to ``target``, refusing (FileExistsError) if ``target`` appeared meanwhile."""
    if _hard_link(source, target):
        source.unlink()
        return
    if os.path.lexists(target):
        raise FileExistsError(errno.EEXIST, "destination appeared meanwhile", str(target))
    os.rename(source, target)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as file:
        os.fsync(file.fileno())


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some network and FUSE filesystems cannot sync a folder
        pass
    finally:
        os.close(fd)


def append_record(manifest: Path, entry: Mapping[str, object]) -> None:
    """One JSON line at the end of ``manifest``, on disk before this returns: written after the
    move it records, a manifest never names a move that did not happen."""
    with open(manifest, "a", encoding="utf-8") as file:
        file.write(json.dumps(entry, ensure_ascii=False) + "\n")
        file.flush()
        os.fsync(file.fileno())


def synced_copy_beside(path: Path, data: bytes) -> str:
    """``data`` in a new hidden file beside ``path``, on disk before this returns (a failed write
    leaves nothing); the caller renames or links it into place, and removes it if that fails."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp
