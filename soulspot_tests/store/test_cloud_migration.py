"""The cloud tables' migration: an older database keeps its endpoint rows and learns `partial`
and the skip counts, on a real DuckDB file."""

import duckdb
import pytest

from soulspot_pipeline.store.migrations import MIGRATIONS, migrate

CLOUD_MIGRATION = next(m.version for m in MIGRATIONS if "partial" in m.name)


def test_an_older_database_keeps_its_endpoint_rows_and_learns_partial_and_skips(tmp_path):
    conn = duckdb.connect(str(tmp_path / "db.duckdb"))
    migrate(conn, tuple(m for m in MIGRATIONS if m.version < CLOUD_MIGRATION))
    conn.execute(
        "INSERT INTO library.cloud_endpoints VALUES "
        "('spotify', 'followed artists', 'unavailable', 'HTTP 403: Forbidden', 0, '2026-01-01 00:00:00'), "
        "('spotify', 'liked tracks', 'ok', NULL, 12, '2026-01-01 00:00:00')"
    )
    with pytest.raises(duckdb.ConstraintException):
        conn.execute("INSERT INTO library.cloud_endpoints VALUES ('deezer', 'saved albums', 'partial', NULL, 7, now())")

    assert CLOUD_MIGRATION in migrate(conn)
    assert conn.execute(
        "SELECT endpoint, status, detail, items FROM library.cloud_endpoints ORDER BY 1"
    ).fetchall() == [
        ("followed artists", "unavailable", "HTTP 403: Forbidden", 0),
        ("liked tracks", "ok", None, 12),
    ]
    conn.execute("INSERT INTO library.cloud_endpoints VALUES ('deezer', 'saved albums', 'partial', '1 of 7', 7, now())")
    with pytest.raises(duckdb.ConstraintException):
        conn.execute("INSERT INTO library.cloud_endpoints VALUES ('deezer', 'playlists', 'maybe', NULL, 0, now())")
    with pytest.raises(duckdb.ConstraintException):  # the key survived the rebuild
        conn.execute("INSERT INTO library.cloud_endpoints VALUES ('spotify', 'liked tracks', 'ok', NULL, 1, now())")
    conn.execute("INSERT INTO library.cloud_skips VALUES ('deezer', 'playlist 908622995', 'episode', 1, now())")
    assert conn.execute("SELECT reason, items FROM library.cloud_skips").fetchall() == [("episode", 1)]
