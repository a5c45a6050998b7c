"""The merge's fingerprint: the same for the same inputs, different for any changed row."""

import re
from pathlib import Path

import pytest

from soulspot_pipeline.store import entities, merge_state, requests
from soulspot_pipeline.store.database import LibraryDatabase
from soulspot_pipeline.store.sql import utc_now


@pytest.fixture
def conn(library_db: LibraryDatabase):
    with library_db.writer(publish=False) as conn:
        conn.execute(
            "INSERT INTO library.local_files (path, size, mtime, mtime_ns, format, title, first_seen_at, scanned_at) "
            "VALUES ('/m/a.flac', 10, now()::TIMESTAMP, 1, 'flac', 'A', now()::TIMESTAMP, now()::TIMESTAMP)"
        )
        yield conn


def test_the_same_tables_and_context_give_the_same_fingerprint(conn):
    assert merge_state.fingerprint(conn, "rules", "True") == merge_state.fingerprint(conn, "rules", "True")
    assert merge_state.fingerprint(conn, "rules", "True") != merge_state.fingerprint(conn, "rules", "False")


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE library.local_files SET title = 'B'",
        "UPDATE library.local_files SET mtime_ns = 2",
        "DELETE FROM library.local_files",
        "INSERT INTO library.user_decisions VALUES ('track', 't1', 'ignored', now()::TIMESTAMP)",
        "INSERT INTO library.download_requests VALUES ('t1', now()::TIMESTAMP, 'user')",
    ],
)
def test_any_changed_row_changes_the_fingerprint(conn, change):
    before = merge_state.fingerprint(conn)
    conn.execute(change)
    assert merge_state.fingerprint(conn) != before


def test_two_rows_swapping_values_still_change_it(conn):
    conn.execute(
        "INSERT INTO library.local_files (path, size, mtime, mtime_ns, format, title, first_seen_at, scanned_at) "
        "VALUES ('/m/b.flac', 10, now()::TIMESTAMP, 1, 'flac', 'B', now()::TIMESTAMP, now()::TIMESTAMP)"
    )
    before = merge_state.fingerprint(conn)
    conn.execute("UPDATE library.local_files SET title = CASE title WHEN 'A' THEN 'B' ELSE 'A' END")
    assert merge_state.fingerprint(conn) != before


def test_the_last_merge_is_remembered(conn):
    assert merge_state.last_merge(conn) is None
    merge_state.record_merge(conn, "abc", utc_now())
    merge_state.record_merge(conn, "def", utc_now())
    assert merge_state.last_merge(conn)[0] == "def"


def test_every_table_the_merge_reads_is_in_the_fingerprint():
    """A table the merge reads but the fingerprint leaves out would let a change go unmerged."""
    sources = [Path(entities.__file__).read_text(), requests._MERGE_ROWS]
    read = {name for text in sources for name in re.findall(r"library\.([a-z_]+)", text)}
    views = {"duplicates"}  # over duplicate_files
    assert read - views <= set(merge_state.MERGE_TABLES)
