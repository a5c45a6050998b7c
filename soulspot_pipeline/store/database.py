"""The library database as a Dagster resource: short connections, migrations, snapshots."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster_duckdb import DuckDBResource

from soulspot_pipeline.store.migrations import migrate
from soulspot_pipeline.store.snapshot import publish_snapshot


class DatabaseLockedError(RuntimeError):
    """Another process holds the library database."""


def lock_holder(duckdb_message: str) -> str | None:
    """The program DuckDB names as holding a file's lock, e.g. ``python3.11 (PID 4242)``."""
    found = re.search(r"lock is held in (\S+) \(PID (\d+)\)", duckdb_message)
    return f"{Path(found[1]).name} (PID {found[2]})" if found else None


class LibraryDatabase(DuckDBResource):
    """The library's DuckDB file. Writers migrate it and publish the notebook snapshot."""

    snapshot_path: str | None = None
    lock_timeout_s: float = 60.0
    # Phases outside the `duckdb` pool (provider syncs, MusicBrainz) may meet a first scan
    # of a large library holding the lock for many minutes: they wait this long.
    patient_wait_s: float = 1800.0

    @contextmanager
    def get_connection(
        self, read_only: bool = False, wait_s: float | None = None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        conn = self._connect(read_only, self.lock_timeout_s if wait_s is None else wait_s)
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def writer(
        self, *, publish: bool = True, patient: bool = False, wait_s: float | None = None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A write connection on an up-to-date schema; on success, a fresh snapshot
        (``publish=False`` for connections that only read state or change bookkeeping, or that
        call ``publish`` themselves when they wrote something).
        ``patient``: wait ``patient_wait_s`` for another writer instead of ``lock_timeout_s``;
        ``wait_s``: wait that long instead."""
        if wait_s is None:
            wait_s = self.patient_wait_s if patient else None
        with self.get_connection(wait_s=wait_s) as conn:
            migrate(conn)
            yield conn
            if publish:
                self.publish(conn)
            else:
                conn.execute("CHECKPOINT")

    def publish(self, conn: duckdb.DuckDBPyConnection) -> None:
        """Checkpoint and publish the notebook snapshot, under ``conn``'s write lock."""
        conn.execute("CHECKPOINT")
        if self.snapshot_path:
            publish_snapshot(Path(self.database), Path(self.snapshot_path))

    @contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection to the main database (for checks and sensors)."""
        if not Path(self.database).exists():
            with self.writer():
                pass
        with self.get_connection(read_only=True) as conn:
            yield conn

    def _connect(self, read_only: bool, wait_s: float) -> duckdb.DuckDBPyConnection:
        return connect_when_free(
            self.database,
            read_only=read_only,
            wait_s=wait_s,
            config=dict(self.connection_config),
            hint=(
                "Close that program, or wait for it and run again; notebooks read the library with "
                "soulspot_pipeline.connect() (the snapshot), never the main file."
            ),
        )


def connect_when_free(
    database: str, *, read_only: bool = False, wait_s: float, config: dict | None = None, hint: str = ""
) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file, waiting while another process holds its lock.

    Writers are short (and the library's are serialized by the `duckdb` pool), so a lock
    is usually gone within seconds; one that stays is a process to name.
    """
    if database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_s
    delay = 0.05
    while True:
        try:
            return duckdb.connect(database, read_only=read_only, config=config or {})
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() >= deadline:
                holder = lock_holder(str(exc)) or "another program"
                raise DatabaseLockedError(
                    f"the database {database} is in use by {holder} and stayed locked for {wait_s:.0f} s. {hint}".rstrip()
                ) from exc
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
