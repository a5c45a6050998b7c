"""The incremental, parallel scan of the music folder into ``library.local_files``."""

from __future__ import annotations

import itertools
import multiprocessing
import os
import sys
import time
import types
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from soulspot_pipeline.domain.file_record import (
    COLUMNS,
    RECORD_COLUMNS,
    RECORD_FIELDS,
    fit_record,
    fit_value,
    join_messages,
    storable_message,
    storable_path,
)
from soulspot_pipeline.domain.scan_plan import FileStat, KnownFile, plan_scan
from soulspot_pipeline.scan.read import ReadResult, read_many
from soulspot_pipeline.scan.walk import WalkReport, walk_music_folder
from soulspot_pipeline.store.sql import registered, transaction, utc_now

CHUNK_FILES = 128  # files per worker task: large enough to hide the pickling round trip
WRITE_BATCH = 4000  # records per DuckDB transaction: bounds memory on huge libraries
PARALLEL_MIN = 256  # below this, starting worker processes costs more than it saves


BAD_NAME_ERROR = "file name is not valid UTF-8; rename the file to scan it"


class MusicFolderUnavailableError(RuntimeError):
    """The music folder is gone or empty while the library knows files in it."""


def missing_folder_problem(root: str, *, known_files: int, must_exist: bool) -> str | None:
    """Why a music folder that does not exist stops the scan; None when that is fine (a first run).

    A folder the library knows files in, or one the user named (``must_exist``), is
    most likely an unmounted drive: scanning it would mark every file missing.
    """
    if known_files:
        return (
            f"the music folder {root} does not exist, but the library has {known_files} files in it: "
            "is the drive mounted? Nothing was marked missing; mount it and run again."
        )
    if must_exist:
        return (
            f"the music folder {root} (SOULSPOT_MUSIC_DIR) does not exist: is the drive mounted? "
            "Mount it, or set SOULSPOT_MUSIC_DIR to your music folder, and run again."
        )
    return None


@dataclass
class ScanSummary:
    music_dir: str
    folder_exists: bool = True
    seen: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    reappeared: int = 0
    missing: int = 0
    read: int = 0
    errors: int = 0
    warnings: int = 0
    unchanged_errors: int = 0
    ignored_non_audio: int = 0
    seconds: float = 0.0
    walk: WalkReport = field(default_factory=WalkReport)

    @property
    def files_per_second(self) -> float:
        return self.seen / self.seconds if self.seconds else 0.0


def load_known_files(conn: duckdb.DuckDBPyConnection, root: str) -> dict[str, KnownFile]:
    """What the library knows of files below ``root``; unreadable files count as known."""
    prefix = root.rstrip(os.sep) + os.sep
    known = {
        path: KnownFile(size, mtime_ns, missing)
        for path, size, mtime_ns, missing in conn.execute(
            "SELECT path, size, mtime_ns, missing FROM library.local_files WHERE starts_with(path, ?)",
            [prefix],
        ).fetchall()
    }
    for path, size, mtime_ns in conn.execute(
        "SELECT path, size, mtime_ns FROM library.scan_errors "
        "WHERE kind = 'unreadable' AND starts_with(path, ?) AND size IS NOT NULL",
        [prefix],
    ).fetchall():
        before = known.get(path)
        if before is None or (before.size, before.mtime_ns) != (size, mtime_ns):
            # The file's newest state is the unreadable one; do not re-open it unchanged.
            known[path] = KnownFile(size, mtime_ns, missing=False, unreadable=True)
    return known


def scan_music_folder(
    conn: duckdb.DuckDBPyConnection,
    music_dir: str | os.PathLike,
    *,
    workers: int = os.cpu_count() or 1,
    allow_empty: bool = False,
    must_exist: bool = False,
    progress: Callable[[str], None] | None = None,
) -> ScanSummary:
    """Bring ``library.local_files`` and ``library.scan_errors`` up to date with the folder.

    Unchanged files are not opened; new and changed ones are read in ``workers``
    processes and written in batches, so a killed scan keeps what it had written and
    the next one carries on. Vanished files are marked missing, never deleted.
    """
    started = time.perf_counter()
    root = str(Path(music_dir).expanduser().resolve())
    summary = ScanSummary(music_dir=root)
    known = load_known_files(conn, root)
    present_known = sum(1 for k in known.values() if not k.missing and not k.unreadable)

    if not Path(root).is_dir():
        problem = missing_folder_problem(root, known_files=present_known, must_exist=must_exist)
        if problem:
            raise MusicFolderUnavailableError(problem)
        summary.folder_exists = False
        summary.seconds = time.perf_counter() - started
        return summary

    seen = list(walk_music_folder(root, summary.walk))
    summary.seen = len(seen)
    summary.ignored_non_audio = summary.walk.ignored_non_audio
    if not seen and present_known and not allow_empty:
        raise MusicFolderUnavailableError(
            f"the music folder {root} has no audio files, but the library has {present_known} "
            "files in it: is the drive mounted? Nothing was marked missing. If you really "
            "removed every file, run the scan with allow_empty: true."
        )
    plan = plan_scan(seen, known, summary.walk.unreadable_dirs)
    del seen, known
    summary.new, summary.changed, summary.unchanged = plan.new, plan.changed, plan.unchanged
    summary.unchanged_errors = plan.unchanged_errors
    if progress:
        progress(
            f"{summary.seen} audio files: {plan.new} new, {plan.changed} changed, "
            f"{plan.unchanged} unchanged, {len(plan.vanished)} vanished; reading {len(plan.to_read)}"
        )

    batch: list[ReadResult] = []
    for results in _read_in_workers(plan.to_read, workers):
        batch.extend(results)
        if len(batch) >= WRITE_BATCH:
            write_results(conn, batch, summary)
            batch = []
            if progress:
                progress(f"read {summary.read + summary.errors} of {len(plan.to_read)} files")
    write_results(conn, batch, summary)
    _write_disappearances(conn, plan.vanished, plan.reappeared, plan.vanished_errors, summary.walk.bad_names)
    summary.missing = len(plan.vanished)
    summary.reappeared = len(plan.reappeared)
    summary.errors += len(summary.walk.bad_names)
    summary.seconds = time.perf_counter() - started
    return summary


def _read_in_workers(stats: Sequence[FileStat], workers: int) -> Iterator[list[ReadResult]]:
    chunks = [stats[i : i + CHUNK_FILES] for i in range(0, len(stats), CHUNK_FILES)]
    if workers <= 1 or len(stats) < PARALLEL_MIN:
        for chunk in chunks:
            yield read_many(chunk)
        return
    # forkserver workers start from a clean interpreter that imports only the reader,
    # not the Dagster process that called us.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["soulspot_pipeline.scan.read"])
    pending_chunks = iter(chunks)
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            # A bounded number of tasks in flight keeps memory flat on huge libraries.
            with _main_module_hidden():  # the workers start with the first submissions
                in_flight = {pool.submit(read_many, c) for c in _take(pending_chunks, workers * 4)}
            while in_flight:
                done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
                    in_flight.update(pool.submit(read_many, c) for c in _take(pending_chunks, 1))
    except BrokenProcessPool as exc:
        raise RuntimeError(
            "a scan worker process died (out of memory, or killed); the files read so far "
            "are saved and the next scan carries on from there"
        ) from exc


@contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Start workers without re-running the parent's ``__main__`` in each of them.

    multiprocessing re-imports the parent's main script in every new worker; under
    Dagster that is the whole ``dagster`` CLI (a heavy import per worker), and from a
    notebook or stdin there is no script to import at all.
    """
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is None:
            del sys.modules["__main__"]
        else:
            sys.modules["__main__"] = main


def _take(iterator: Iterator, n: int) -> list:
    return list(itertools.islice(iterator, n))


_UPSERT_COLUMNS = [c for c in RECORD_FIELDS if c not in ("path", "mtime_ns")]


def write_results(conn: duckdb.DuckDBPyConnection, results: list[ReadResult], summary: ScanSummary) -> None:
    """Store one batch of read files in one transaction.

    Each record is fitted to its columns first (see ``domain.file_record``); what had to be
    changed or dropped becomes a ``tag_warning``. A record that still cannot be stored, and
    every file that could not be read, becomes an ``unreadable`` error with the reason. Either
    way the rest of the batch is written: one odd file never fails the scan.
    """
    if not results:
        return
    now = utc_now()
    # Keyed by the stored path: a path read twice in a batch counts once, as its later read.
    outcomes: dict[str, _Outcome] = {}
    for result in results:
        outcome = _outcome_of(result)
        outcomes.pop(outcome.path, None)
        outcomes[outcome.path] = outcome
    fitted = [o for o in outcomes.values() if o.row is not None]
    records, refused = records_table([o.row for o in fitted if o.row is not None])
    for index, reason in refused:
        fitted[index].refuse(reason)
    problems = [
        (o.path, o.error, "unreadable", o.size, o.mtime_ns)
        if o.error
        else (o.path, o.warning, "tag_warning", o.size, o.mtime_ns)
        for o in outcomes.values()
        if o.error or o.warning
    ]
    touched = pa.table({"path": pa.array(list(outcomes), pa.string())})
    problem_table = pa.Table.from_pylist(
        [dict(zip(_PROBLEM_SCHEMA.names, p, strict=True)) for p in problems], schema=_PROBLEM_SCHEMA
    )
    updates = ", ".join(f"{c} = excluded.{c}" for c in _UPSERT_COLUMNS)
    with registered(conn, touched=touched, records=records, problems=problem_table), transaction(conn):
        conn.execute("DELETE FROM library.scan_errors WHERE path IN (SELECT path FROM touched)")
        conn.execute(
            f"""
            INSERT INTO library.local_files
                ({", ".join(RECORD_FIELDS)}, mtime, missing, missing_since, first_seen_at, scanned_at)
            SELECT {", ".join(RECORD_FIELDS)}, make_timestamp(mtime_ns // 1000), false, NULL, $now, $now
            FROM records
            ON CONFLICT (path) DO UPDATE SET {updates}, mtime_ns = excluded.mtime_ns,
                mtime = excluded.mtime, missing = false, missing_since = NULL,
                scanned_at = excluded.scanned_at
            """,
            {"now": now},
        )
        conn.execute(
            "INSERT INTO library.scan_errors SELECT path, error, kind, size, mtime_ns, $now FROM problems", {"now": now}
        )
    summary.read += records.num_rows
    summary.errors += sum(1 for o in outcomes.values() if o.error)
    summary.warnings += sum(1 for o in outcomes.values() if o.row is not None and o.warning)


@dataclass
class _Outcome:
    """What becomes of one read file: a ``local_files`` row (maybe with a warning), or an error."""

    path: str
    size: int | None
    mtime_ns: int | None
    row: dict[str, object] | None = None
    warning: str | None = None
    error: str | None = None

    def refuse(self, reason: str) -> None:
        self.row, self.warning, self.error = None, None, reason


def _outcome_of(result: ReadResult) -> _Outcome:
    stat = result.stat
    # The error row must be storable too, whatever the stat holds.
    outcome = _Outcome(
        storable_path(stat.path), _stat_number("size", stat.size), _stat_number("mtime_ns", stat.mtime_ns)
    )
    if result.error is not None or result.record is None:
        outcome.error = storable_message(result.error) or "unreadable: the reader gave no record and no reason"
        return outcome
    fitted = fit_record(result.record, stat)
    if fitted.values is None:
        outcome.error = storable_message(fitted.problem) or "cannot be stored"
        return outcome
    outcome.row = dict(zip(RECORD_FIELDS, fitted.values, strict=True))
    outcome.warning = join_messages([*(result.warnings or ()), *fitted.notes])
    return outcome


def _stat_number(name: str, value: object) -> int | None:
    fitted, _ = fit_value(COLUMNS[name], value)
    return fitted if isinstance(fitted, int) else None


def records_table(rows: list[dict[str, object]]) -> tuple[pa.Table, list[tuple[int, str]]]:
    """The rows as an Arrow table, and (index, reason) of each row that could not join it.

    Fitting should leave nothing for Arrow to refuse; should it, only that row is lost,
    found by trying the rows one by one.
    """
    try:
        return _checked_table(rows), []
    except Exception:  # whatever Arrow refuses, one row at a time will tell which
        pass
    kept, refused = [], []
    for index, row in enumerate(rows):
        try:
            _checked_table([row])
        except Exception as exc:
            refused.append((index, storable_message(f"cannot be stored: {type(exc).__name__}: {exc}") or ""))
        else:
            kept.append(row)
    return _checked_table(kept), refused


def _checked_table(rows: list[dict[str, object]]) -> pa.Table:
    table = pa.Table.from_pylist(rows, schema=RECORD_SCHEMA)
    for column in RECORD_COLUMNS:
        # Arrow does not enforce non-nullable fields; DuckDB would refuse the whole batch.
        if column.required and table.column(column.name).null_count:
            raise ValueError(f"{column.name} is empty")
    return table


def _write_disappearances(
    conn: duckdb.DuckDBPyConnection,
    vanished: list[str],
    reappeared: list[str],
    vanished_errors: list[str],
    bad_names: list[str],
) -> None:
    now = utc_now()
    paths = {
        "gone": vanished,
        "back": reappeared,
        "gone_errors": vanished + vanished_errors,
        "bad": list(dict.fromkeys(bad_names)),
    }
    tables = {name: pa.table({"path": pa.array(values, pa.string())}) for name, values in paths.items()}
    with registered(conn, **tables), transaction(conn):
        conn.execute(
            "UPDATE library.local_files SET missing = true, missing_since = ? "
            "WHERE path IN (SELECT path FROM gone) AND NOT missing",
            [now],
        )
        conn.execute(
            "UPDATE library.local_files SET missing = false, missing_since = NULL WHERE path IN (SELECT path FROM back)"
        )
        conn.execute("DELETE FROM library.scan_errors WHERE path IN (SELECT path FROM gone_errors)")
        # A name that is not valid UTF-8 cannot be stored as it is: it is reported with
        # the undecodable bytes replaced, once, until the file is renamed or removed.
        conn.execute(
            "DELETE FROM library.scan_errors WHERE error = $error AND path NOT IN (SELECT path FROM bad)",
            {"error": BAD_NAME_ERROR},
        )
        conn.execute(
            "INSERT INTO library.scan_errors SELECT path, $error, 'unreadable', NULL, NULL, $now FROM bad "
            "ON CONFLICT DO NOTHING",
            {"error": BAD_NAME_ERROR, "now": now},
        )


_ARROW_TYPES = {"path": pa.string(), "text": pa.string(), "int32": pa.int32(), "int64": pa.int64()}
RECORD_SCHEMA = pa.schema(
    [pa.field(column.name, _ARROW_TYPES[column.kind], nullable=not column.required) for column in RECORD_COLUMNS]
)
_PROBLEM_SCHEMA = pa.schema(
    [
        pa.field("path", pa.string(), nullable=False),
        pa.field("error", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("size", pa.int64()),
        pa.field("mtime_ns", pa.int64()),
    ]
)
