"""Putting the files already in the library where the naming template says, and taking them back.

``organize_library`` plans every present track file's place under the template
(``domain.organize``), shows the plan (dry run, the default), or moves: each move is a hard
link then an unlink (or one rename), never over anything, so a file is at every moment at its
old name, its new one or both. Its ``.lrc``/``.txt`` sidecars follow it, the folder's
``cover.jpg`` follows when the whole folder moved, emptied folders go, and the library's rows
follow the files in the same run (no rescan). Every move is a line of an undo manifest under
``.soulspot-organize/`` written right after it (synced: a line never names a move that did not
happen); ``undo_organize`` replays a manifest backwards with the same care.
"""

import json
import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import dagster as dg
import duckdb
from pydantic import Field

from soulspot_pipeline.assets.reporting import markdown_table
from soulspot_pipeline.assets.shared import rebuild
from soulspot_pipeline.domain.naming import TemplateError, UnsafePathError, safe_destination, validate_template
from soulspot_pipeline.domain.organize import CLASH, IN_PLACE, MOVE, SKIPPED, LibraryFile, Planned, plan_organize
from soulspot_pipeline.domain.organize import sidecar_name as _sidecar_name
from soulspot_pipeline.importing.place import append_record, move_within, remove_emptied_folders
from soulspot_pipeline.resources.music_folder import MusicFolder
from soulspot_pipeline.resources.policies import LibraryPolicy
from soulspot_pipeline.scan.read import AUDIO_EXTENSIONS
from soulspot_pipeline.store import decisions
from soulspot_pipeline.store.database import LibraryDatabase
from soulspot_pipeline.store.sql import transaction

ORGANIZE_DIR = ".soulspot-organize"  # hidden: the scan passes over it
UNDONE = ".undone"  # a manifest replayed to the end is renamed <name>.undone.jsonl
SIDECARS = (".lrc", ".txt")
FOLDER_FILES = ("cover.jpg",)
PLAN_ROWS = 200
# Every table whose rows are keyed by a library file's path.
PATH_TABLES = ("local_files", "file_checks", "duplicate_files", "track_files", "scan_errors")

MOVED = "moved"


class OrganizeConfig(dg.Config):
    dry_run: bool = Field(
        default=True, description="Only show the plan (a table in the run's metadata): nothing moves."
    )
    artist_ids: list[str] | None = Field(
        default=None, description="Only the tracks of these artists or their albums (library.artists.artist_id)."
    )
    album_ids: list[str] | None = Field(
        default=None, description="Only the tracks of these albums (library.albums.album_id)."
    )


class UndoOrganizeConfig(dg.Config):
    manifest: str | None = Field(
        default=None,
        description=f"The organize run id (or manifest file name under {ORGANIZE_DIR}/) to undo; the latest not undone when left out.",
    )


@dataclass
class Outcome:
    """One planned file and what became of it."""

    planned: Planned
    path: str  # absolute, as library.local_files has it
    outcome: str  # IN_PLACE, MOVE (dry run: would move), MOVED, CLASH, SKIPPED
    why: str | None = None
    new_path: str | None = None


_FILES = """
SELECT l.path, l.size, l.mtime_ns, l.title IS NOT NULL AND trim(l.title) <> '',
       t.title, ar.name, aa.name, al.title, al.release_date, t.track_number, t.disc_number,
       coalesce(al.medium_count, l.disc_total), al.album_type, coalesce(al.genres[1], l.genre)
FROM library.local_files l
JOIN library.track_files f ON f.path = l.path
JOIN library.tracks t ON t.track_id = f.track_id
JOIN library.artists ar ON ar.artist_id = t.artist_id
LEFT JOIN library.albums al ON al.album_id = t.album_id
LEFT JOIN library.artists aa ON aa.artist_id = al.artist_id
WHERE NOT l.missing AND starts_with(l.path, ?)
  AND (? OR list_contains(?, t.artist_id) OR list_contains(?, al.artist_id) OR list_contains(?, t.album_id))
ORDER BY l.path
"""


def library_files(
    conn: duckdb.DuckDBPyConnection, root: Path, artist_ids: list[str] | None, album_ids: list[str] | None
) -> list[tuple[str, int, int, LibraryFile]]:
    """Every present track file below ``root`` (of the artists and albums named, when any):
    its path, size, mtime and naming fields, as the import would name it."""
    every = not artist_ids and not album_ids
    artists, albums = list(artist_ids or []), list(album_ids or [])
    found = []
    for row in conn.execute(_FILES, [str(root) + os.sep, every, artists, artists, albums]).fetchall():
        path, size, mtime_ns, titled, title, artist, albumartist, album, year, track, disc, disc_total, kind, genre = (
            row
        )
        fields = {
            "title": title,
            "artist": artist,
            "albumartist": albumartist,
            "album": album,
            "year": year,
            "track": track,
            "disc": disc,
            "disc_total": disc_total,
            "albumtype": kind,
            "genre": genre,
        }
        relative = PurePosixPath(Path(path).relative_to(root).as_posix())
        found.append((path, size, mtime_ns, LibraryFile(relative, fields, bool(titled))))
    return found


def _hold_back(path: str, size: int, mtime_ns: int) -> str | None:
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return "gone since the last scan"
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if (st.st_size, st.st_mtime_ns) != (size, mtime_ns):
        return "changed since the last scan"
    return None


def _manifest_line(manifest: Path, source: str, target: str, kind: str) -> None:
    """Record one move, after it happened (synced: the manifest never names a move that did not)."""
    entry = {"from": source, "to": target, "kind": kind, "at": datetime.now(UTC).isoformat(timespec="seconds")}
    manifest.parent.mkdir(exist_ok=True)
    append_record(manifest, entry)


def repath(conn: duckdb.DuckDBPyConnection, moves: list[tuple[str, str]]) -> None:
    """The library's rows of each moved file follow it (old path -> new path), in one transaction;
    a stale row at a new path (a file gone from there) gives way. A move whose old path the
    library does not know (an organize run killed before it wrote, then undone) changes no row."""
    if not moves:
        return
    conn.execute("CREATE OR REPLACE TEMP TABLE organize_moves (old VARCHAR, new VARCHAR)")
    conn.executemany("INSERT INTO organize_moves VALUES (?, ?)", moves)
    conn.execute("DELETE FROM organize_moves WHERE old NOT IN (SELECT path FROM library.local_files)")
    with transaction(conn):
        for table in PATH_TABLES:
            conn.execute(f"DELETE FROM library.{table} WHERE path IN (SELECT new FROM organize_moves)")
            conn.execute(f"UPDATE library.{table} t SET path = m.new FROM organize_moves m WHERE t.path = m.old")
        conn.execute(
            "UPDATE library.downloads d SET local_path = m.new FROM organize_moves m WHERE d.local_path = m.old"
        )
        # A lyrics file moved with its audio as a same-stem sidecar: its row follows, as does the tagged file's.
        conn.execute(
            r"""
            UPDATE library.lyrics l SET
                file_path = CASE WHEN l.file_path IS NOT NULL
                    THEN regexp_replace(m.new, '\.[^./]*$', '') || regexp_extract(l.file_path, '\.[^./]*$') END,
                embedded_path = CASE WHEN l.embedded_path = m.old THEN m.new ELSE l.embedded_path END
            FROM organize_moves m
            WHERE regexp_replace(l.file_path, '\.[^./]*$', '') = regexp_replace(m.old, '\.[^./]*$', '')
               OR l.embedded_path = m.old
            """
        )
    conn.execute("DROP TABLE organize_moves")


def _move_sidecars(source: Path, destination: Path, manifest: Path, music_dir: Path) -> tuple[int, list[str]]:
    """Move ``source``'s same-stem sidecars beside ``destination``; (moved, problems)."""
    moved, problems = 0, []
    try:
        names = sorted(os.listdir(source.parent))
    except OSError:
        return 0, []
    for name in names:
        new_name = _sidecar_name(source.name, name, destination.name, SIDECARS)
        if new_name is None or not (source.parent / name).is_file():
            continue
        old, new = source.parent / name, destination.parent / new_name
        try:
            move_within(old, new, music_dir)
        except (OSError, UnsafePathError) as exc:
            problems.append(f"{name} not moved: {exc.strerror if isinstance(exc, OSError) else exc}")
            continue
        _manifest_line(manifest, str(old), str(new), "sidecar")
        moved += 1
    return moved, problems


def _has_audio(folder: Path) -> bool:
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return False
    return any(e.is_file() and e.name.rpartition(".")[2].lower() in AUDIO_EXTENSIONS for e in entries)


def _move_folder_files(moved: list[Outcome], manifest: Path, music_dir: Path) -> int:
    """``cover.jpg`` follows a folder whose every audio file moved to one folder."""
    targets: dict[Path, set[Path]] = defaultdict(set)
    for o in moved:
        targets[Path(o.path).parent].add(Path(o.new_path or "").parent)
    count = 0
    for folder, into in targets.items():
        if len(into) != 1 or _has_audio(folder):
            continue
        (target,) = into
        for entry in sorted(os.listdir(folder)) if folder.is_dir() else ():
            if entry.lower() not in FOLDER_FILES or not (folder / entry).is_file():
                continue
            try:
                move_within(folder / entry, target / entry, music_dir)
            except (OSError, UnsafePathError):
                continue  # the new folder has its own: the old one stays
            _manifest_line(manifest, str(folder / entry), str(target / entry), "folder")
            count += 1
    return count


def organize(
    conn: duckdb.DuckDBPyConnection,
    music_dir: Path,
    template: str,
    manifest: Path,
    *,
    dry_run: bool,
    artist_ids: list[str] | None = None,
    album_ids: list[str] | None = None,
) -> tuple[list[Outcome], dict[str, int], list[str]]:
    """Plan (and unless ``dry_run``, carry out) the moves; (outcomes, counts, sidecar problems).
    The library's rows follow the moved files; the caller rebuilds the library."""
    root = Path(music_dir).resolve()
    files = library_files(conn, root, artist_ids, album_ids)
    plan = plan_organize([f for *_, f in files], template)
    outcomes: list[Outcome] = []
    counts = {"sidecars_moved": 0, "folder_files_moved": 0, "folders_removed": 0}
    problems: list[str] = []
    try:
        for (path, size, mtime_ns, _), planned in zip(files, plan, strict=True):
            if planned.outcome != MOVE or planned.target is None:
                outcomes.append(Outcome(planned, path, planned.outcome, planned.why))
                continue
            why = _hold_back(path, size, mtime_ns)
            if why:
                outcomes.append(Outcome(planned, path, SKIPPED, why))
                continue
            try:
                destination = safe_destination(root, planned.target)
            except UnsafePathError as exc:
                outcomes.append(Outcome(planned, path, SKIPPED, str(exc)))
                continue
            if os.path.lexists(destination):
                outcomes.append(Outcome(planned, path, CLASH, "a file is already there"))
                continue
            if dry_run:
                outcomes.append(Outcome(planned, path, MOVE, new_path=str(destination)))
                continue
            try:
                move_within(Path(path), destination, root)
            except FileExistsError:
                outcomes.append(Outcome(planned, path, CLASH, "a file appeared there meanwhile"))
                continue
            except (OSError, UnsafePathError) as exc:
                outcomes.append(Outcome(planned, path, SKIPPED, f"not moved: {exc}"))
                continue
            _manifest_line(manifest, path, str(destination), "audio")
            outcomes.append(Outcome(planned, path, MOVED, new_path=str(destination)))
            moved, trouble = _move_sidecars(Path(path), destination, manifest, root)
            counts["sidecars_moved"] += moved
            problems += [f"{planned.relative}: {p}" for p in trouble]
    finally:
        # Whatever stopped the loop, the library's rows follow the files that did move.
        moved_files = [o for o in outcomes if o.outcome == MOVED]
        if moved_files:
            repath(conn, [(o.path, o.new_path or "") for o in moved_files])
    if moved_files:
        counts["folder_files_moved"] = _move_folder_files(moved_files, manifest, root)
        counts["folders_removed"] = len(remove_emptied_folders([Path(o.path).parent for o in moved_files], root))
    return outcomes, counts, problems


def _plan_table(outcomes: list[Outcome]) -> str:
    shown = sorted((o for o in outcomes if o.outcome != IN_PLACE), key=lambda o: (o.outcome != MOVED, o.outcome))
    words = {MOVE: "to move", MOVED: "moved"}
    rows = [
        (
            str(o.planned.relative),
            str(o.planned.target) if o.planned.target else "",
            f"{o.outcome}: {o.why}" if o.why else words.get(o.outcome, o.outcome),
        )
        for o in shown[:PLAN_ROWS]
    ]
    return markdown_table(["current", "new", "outcome"], rows)


def _check_ids(conn: duckdb.DuckDBPyConnection, config: OrganizeConfig) -> None:
    for entity_type, ids in (("artist", config.artist_ids), ("album", config.album_ids)):
        for entity_id in ids or ():
            try:
                decisions.entity_name(conn, entity_type, entity_id)
            except decisions.UnknownEntityError as exc:
                raise dg.Failure(description=str(exc)) from None


def manifest_path(music_dir: Path, run_id: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(music_dir) / ORGANIZE_DIR / f"{stamp}-{run_id}.jsonl"


@dg.op(
    name="organize",
    description="Move the library's files where the naming template says (dry_run: only the plan).",
)
def organize_op(
    context: dg.OpExecutionContext,
    config: OrganizeConfig,
    library_db: LibraryDatabase,
    library_policy: LibraryPolicy,
    music_folder: MusicFolder,
) -> None:
    music_dir = Path(music_folder.music_dir)
    if not music_dir.is_dir():
        raise dg.Failure(description=f"the music folder {music_dir} does not exist: is the drive mounted?")
    try:
        validate_template(music_folder.naming_template)
    except TemplateError as exc:
        raise dg.Failure(description=f"the naming template {music_folder.naming_template!r}: {exc}") from None
    manifest = manifest_path(music_dir, context.run_id)
    with library_db.writer(publish=not config.dry_run) as conn:
        _check_ids(conn, config)
        outcomes, counts, problems = organize(
            conn,
            music_dir,
            music_folder.naming_template,
            manifest,
            dry_run=config.dry_run,
            artist_ids=config.artist_ids,
            album_ids=config.album_ids,
        )
        moved = sum(o.outcome == MOVED for o in outcomes)
        merged = rebuild(conn, library_policy) if moved else None
    by = {kind: sum(o.outcome == kind for o in outcomes) for kind in (IN_PLACE, MOVE, MOVED, CLASH, SKIPPED)}
    action = (
        f"{'would move' if config.dry_run else 'moved'} {by[MOVE] if config.dry_run else moved} of "
        f"{len(outcomes)} file(s) into the naming scheme; {by[IN_PLACE]} already in place, "
        f"{by[CLASH]} clash(es) and {by[SKIPPED]} skipped left where they are"
    )
    context.log.info(action)
    for problem in problems[:20]:
        context.log.warning(problem)
    if merged is not None:
        context.log_event(merged.materialization(action=action))
    context.add_output_metadata(
        {
            "action": action,
            "dry_run": config.dry_run,
            "template": music_folder.naming_template,
            "files": len(outcomes),
            "in_place": by[IN_PLACE],
            "to_move": by[MOVE] + moved,
            "moved": moved,
            "clashes": by[CLASH],
            "skipped": by[SKIPPED],
            **counts,
            "manifest": dg.MetadataValue.path(str(manifest)) if moved else "nothing moved",
            "plan": dg.MetadataValue.md(_plan_table(outcomes)),
        }
    )


@dg.job(
    name="organize_library",
    description=(
        "Put the library's files where the naming template (SOULSPOT_NAMING_TEMPLATE) says: atomic moves that never "
        "overwrite, sidecars and cover.jpg along, an undo manifest; dry_run (default) shows the plan."
    ),
    tags={"soulspot/kind": "user_action"},
)
def organize_library():
    organize_op()


# -- undo -------------------------------------------------------------------------------------


def find_manifest(music_dir: Path, wanted: str | None) -> Path:
    """The manifest named (a run id or a file name), else the newest one not undone."""
    folder = Path(music_dir) / ORGANIZE_DIR
    manifests = sorted(folder.glob("*.jsonl")) if folder.is_dir() else []
    if wanted:
        named = [m for m in manifests if m.name == wanted or m.stem.endswith(wanted)]
        if not named:
            raise dg.Failure(description=f"no organize manifest {wanted!r} in {folder}")
        return named[-1]
    pending = [m for m in manifests if not m.name.endswith(UNDONE + ".jsonl")]
    if not pending:
        raise dg.Failure(description=f"no organize run to undo in {folder}")
    return pending[-1]


def undo(conn: duckdb.DuckDBPyConnection, music_dir: Path, manifest: Path) -> dict[str, int | list[str]]:
    """Move every file of ``manifest`` back, last move first; the library's rows follow."""
    root = Path(music_dir).resolve()
    lines = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines() if line.strip()]
    back: list[tuple[str, str]] = []
    left: list[str] = []
    already = 0
    for entry in reversed(lines):
        source, target = Path(entry["to"]), Path(entry["from"])
        if not source.resolve().is_relative_to(root) or not target.resolve().is_relative_to(root):
            left.append(f"{entry['from']}: outside the music folder")
            continue
        if not os.path.lexists(source) and os.path.lexists(target):
            already += 1
            continue
        try:
            move_within(source, target, root)
        except FileExistsError:
            left.append(f"{entry['from']}: another file is there now; {entry['to']} stays")
            continue
        except (OSError, UnsafePathError) as exc:
            left.append(f"{entry['from']}: not moved back: {exc}")
            continue
        if entry["kind"] == "audio":
            back.append((str(source), str(target)))
    removed = remove_emptied_folders([Path(e["to"]).parent for e in lines], root)
    repath(conn, back)
    return {"moved_back": len(back), "already_back": already, "left": left, "folders_removed": len(removed)}


@dg.op(name="undo", description="Move the files of an organize_library run back where they were.")
def undo_op(
    context: dg.OpExecutionContext,
    config: UndoOrganizeConfig,
    library_db: LibraryDatabase,
    library_policy: LibraryPolicy,
    music_folder: MusicFolder,
) -> None:
    music_dir = Path(music_folder.music_dir)
    manifest = find_manifest(music_dir, config.manifest)
    with library_db.writer() as conn:
        result = undo(conn, music_dir, manifest)
        merged = rebuild(conn, library_policy)
    left = result["left"]
    assert isinstance(left, list)
    if not left and not manifest.name.endswith(UNDONE + ".jsonl"):
        done = manifest.with_name(manifest.name.removesuffix(".jsonl") + UNDONE + ".jsonl")
        os.replace(manifest, done)
        manifest = done
    action = (
        f"undid {manifest.name}: {result['moved_back']} file(s) moved back"
        + (f", {result['already_back']} already back" if result["already_back"] else "")
        + (f"; {len(left)} left where they are" if left else "")
    )
    context.log.info(action)
    for line in left[:20]:
        context.log.warning(line)
    context.log_event(merged.materialization(action=action))
    context.add_output_metadata(
        {
            "action": action,
            "manifest": dg.MetadataValue.path(str(manifest)),
            "moved_back": result["moved_back"],
            "already_back": result["already_back"],
            "left": len(left),
            "folders_removed": result["folders_removed"],
            "problems": dg.MetadataValue.md(markdown_table(["left where it is"], [(x,) for x in left[:PLAN_ROWS]])),
        }
    )


@dg.job(
    name="undo_organize",
    description="Replay an organize_library run's manifest backwards (the latest by default): every file moved back.",
    tags={"soulspot/kind": "user_action"},
)
def undo_organize():
    undo_op()
