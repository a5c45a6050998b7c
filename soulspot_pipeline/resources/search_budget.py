"""The Soulseek search budget, shared by every run and sensor on the machine.

Searches take turns through an exclusive lock held for the whole search, so no two ever
overlap, even from two processes; before starting, a search waits until the ledger of
recent searches (a small DuckDB file) leaves room within the budget.
"""

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from pydantic import Field

from soulspot_pipeline.domain.search_budget import MAX_SEARCHES, WINDOW_S, wait_before_search
from soulspot_pipeline.store.database import connect_when_free


class SearchBudget(dg.ConfigurableResource):
    """At most ``max_searches`` Soulseek searches in any ``window_s`` seconds, one at a time."""

    ledger_path: str = Field(description="The ledger of recent searches (a DuckDB file).")
    max_searches: int = Field(default=MAX_SEARCHES, description="Searches allowed per window.")
    window_s: float = Field(default=WINDOW_S, description="The window, in seconds.")

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
            conn = connect_when_free(str(ledger), wait_s=60)
            try:
                conn.execute("CREATE TABLE IF NOT EXISTS searches (started_at DOUBLE NOT NULL, text VARCHAR NOT NULL)")
                recent = conn.execute(
                    "SELECT started_at FROM searches WHERE started_at > ?", [time.time() - self.window_s]
                ).fetchall()
                waited = wait_before_search([r[0] for r in recent], time.time(), self.max_searches, self.window_s)
                if waited:
                    time.sleep(waited)
                try:
                    yield waited
                finally:
                    conn.execute("INSERT INTO searches VALUES (?, ?)", [time.time(), text])
                    # Only the last window counts; older rows are kept a while for the curious.
                    conn.execute("DELETE FROM searches WHERE started_at < ?", [time.time() - 50 * self.window_s])
            finally:
                conn.close()
        finally:
            os.close(fd)  # releases the lock
