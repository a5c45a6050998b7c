"""The merge's write under DuckDB's memory cap: a write the cap is too small for is run again
without it, and the tables come out as an uncapped write leaves them."""

import duckdb

from soulspot_pipeline.store import entities
from soulspot_pipeline.store.database import LibraryDatabase

ORDERS = {"auto_queue": False, "source_order": ("local",), "metadata_order": ("manual", "musicbrainz", "local")}
TABLES = ("artists", "albums", "tracks", "track_files")


def library(path: str, files: int) -> LibraryDatabase:
    db = LibraryDatabase(database=path)
    with db.writer(publish=False) as conn:
        conn.execute(
            """
            INSERT INTO library.local_files
                (path, size, mtime, mtime_ns, format, artist, album, title, track_number, duration_ms,
                 first_seen_at, scanned_at)
            SELECT '/m/' || i || '.flac', 10, TIMESTAMP '2026-01-01', 1, 'flac', 'Artist ' || (i // 120),
                   'Album ' || (i // 12), 'Track ' || i, i % 12 + 1, 200000 + i,
                   TIMESTAMP '2026-01-01', TIMESTAMP '2026-01-01'
            FROM range(?) t(i)
            """,
            [files],
        )
    return db


def contents(db: LibraryDatabase) -> dict[str, list]:
    with db.writer(publish=False) as conn:
        found = {}
        for table in TABLES:
            names = [
                c for c in conn.sql(f"SELECT * FROM library.{table}").columns if c not in ("created_at", "updated_at")
            ]
            found[table] = conn.sql(f"SELECT {', '.join(names)} FROM library.{table} ORDER BY ALL").fetchall()
        return found


def test_a_write_the_cap_is_too_small_for_runs_again_uncapped_and_writes_the_same(tmp_path, monkeypatch):
    plain, capped = library(str(tmp_path / "plain.duckdb"), 600), library(str(tmp_path / "capped.duckdb"), 600)
    with plain.writer(publish=False) as conn:
        entities.rebuild_library(conn, **ORDERS)
    # A cap far below what 600 files need: DuckDB runs out of memory inside the write.
    monkeypatch.setattr(entities, "_WRITE_MEMORY_MIN_MB", 1)
    monkeypatch.setattr(entities, "_WRITE_MEMORY_PER_ROW", 1)
    with capped.writer(publish=False) as conn:
        summary = entities.rebuild_library(conn, **ORDERS)
        with duckdb.connect() as fresh:
            default = fresh.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
        assert conn.execute("SELECT current_setting('memory_limit')").fetchall()[0][0] == default
    assert summary.changes["tracks"]["inserted"] == 600
    assert contents(capped) == contents(plain)
