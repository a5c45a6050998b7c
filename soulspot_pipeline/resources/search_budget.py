"""The Soulseek search budget, shared by every run and sensor on the machine.

Searches take turns through an exclusive lock held for the whole search, so no two ever
overlap, even from two processes; before starting, a search waits until the ledger of
recent searches leaves room within the budget. The ledger is a small SQLite file: it is
opened for every search by whichever process holds the lock, which SQLite does in well
under a millisecond.
"""

import fcntl
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import dagster as dg
from pydantic import Field

from soulspot_pipeline.domain.search_budget import MAX_SEARCHES, WINDOW_S, wait_before_search
from soulspot_pipeline.resources.clock import Clock


class SearchBudget(dg.ConfigurableResource):
    """At most ``max_searches`` Soulseek searches in any ``window_s`` seconds, one at a time."""

    ledger_path: str = Field(description="The ledger of recent searches (a SQLite file).")
    max_searches: int = Field(default=MAX_SEARCHES, description="Searches allowed per window.")
    window_s: float = Field(default=WINDOW_S, description="The window, in seconds.")
    # Dagster's types want a ResourceDependency for the default, but the field holds the Clock itself.
    clock: dg.ResourceDependency[Clock] = Field(default_factory=Clock, description="Time and waiting.")  # type: ignore[arg-type]

    @contextmanager
    def slot(self, text: str) -> Iterator[float]:
        """Hold the machine's one search slot for the body; yields the seconds waited for the budget.

        A search is recorded when its slot is released, at a moment no earlier than the
        server saw it start, so the budget as the server counts it is never exceeded.
        """
        ledger = Path(self.ledger_path)
        ledger.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(ledger.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            # Whoever holds the lock may hold the ledger too: one connection per search.
            with closing(_open_ledger(ledger)) as conn:
                recent = _in_window(conn, self.clock.now(), self.window_s)
                waited = wait_before_search(recent, self.clock.now(), self.max_searches, self.window_s)
                if waited:
                    self.clock.sleep(waited)
                try:
                    yield waited
                finally:
                    now = self.clock.now()
                    conn.execute("INSERT INTO searches VALUES (?, ?)", [now, text])
                    # Only the last window counts; older rows are kept a while for the curious.
                    conn.execute("DELETE FROM searches WHERE started_at < ?", [now - 50 * self.window_s])
        finally:
            os.close(fd)  # releases the lock

    def in_use(self, now: float | None = None) -> int:
        """Searches the ledger counts in the current window (0 before the first search); read
        without the lock, so a health check never waits for a search."""
        ledger = Path(self.ledger_path)
        if not ledger.exists():
            return 0
        try:
            with closing(sqlite3.connect(f"file:{ledger}?mode=ro", uri=True)) as conn:
                return len(_in_window(conn, self.clock.now() if now is None else now, self.window_s))
        except sqlite3.DatabaseError:  # not created yet, or being set aside by the budget
            return 0


def _in_window(conn: sqlite3.Connection, now: float, window_s: float) -> list[float]:
    return [r[0] for r in conn.execute("SELECT started_at FROM searches WHERE started_at > ?", [now - window_s])]


def _open_ledger(path: Path) -> sqlite3.Connection:
    """The ledger, created if need be; one that a power cut left unreadable is set aside for a new one."""
    try:
        return _connect(path)
    except sqlite3.DatabaseError:
        path.replace(path.with_name(f"{path.name}.unreadable-{int(time.time())}"))
        return _connect(path)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        # No sync per search: a killed process loses nothing, and a machine that lost power
        # is down longer than any window the ledger must remember.
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("CREATE TABLE IF NOT EXISTS searches (started_at REAL NOT NULL, text TEXT NOT NULL)")
    except sqlite3.DatabaseError:
        conn.close()
        raise
    return conn
