"""Small SQL helpers shared by every writer: transactions and Arrow tables as relations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pyarrow as pa


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Commit the block's statements together, or none of them."""
    conn.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@contextmanager
def registered(conn: duckdb.DuckDBPyConnection, **tables: pa.Table) -> Iterator[None]:
    """Make each Arrow table queryable by its keyword name for the duration of the block."""
    for name, table in tables.items():
        conn.register(name, table)
    try:
        yield
    finally:
        for name in tables:
            conn.unregister(name)
