"""Small SQL helpers shared by every writer: transactions, Arrow tables as relations, upserts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime

import duckdb
import pyarrow as pa


def utc_now() -> datetime:
    """Now, as the library stores time: UTC in a plain TIMESTAMP."""
    return datetime.now(UTC).replace(tzinfo=None)


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
            # An error here means the transaction failed; the error that matters is already propagating.
            with suppress(duckdb.Error):
                conn.unregister(name)


def run(conn: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, object]) -> int:
    """Execute ``sql`` with the named parameters it uses; returns the rows it changed."""
    used = {name: value for name, value in params.items() if f"${name}" in sql}
    return conn.execute(sql, used).fetchall()[0][0]


def upsert(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    keys: Sequence[str],
    desired: pa.Table,
    *,
    now: datetime,
    accumulating: frozenset[str] = frozenset(),
    created_column: str = "created_at",
) -> dict[str, int]:
    """Insert the new rows of ``desired`` and update the changed ones; touch nothing else.

    ``accumulating`` columns only ever gain a value (a source without an id never
    erases one learned elsewhere). Unchanged rows keep their ``updated_at``.
    """
    columns = desired.column_names
    match = " AND ".join(f"t.{k} = d.{k}" for k in keys)
    with registered(conn, desired=desired):
        # The update goes first: after the insert it would compare every new row with itself.
        value = {c: (f"coalesce(d.{c}, t.{c})" if c in accumulating else f"d.{c}") for c in columns if c not in keys}
        updated = 0
        if value:
            updated = conn.execute(
                f"""
                UPDATE library.{table} t
                SET {", ".join(f"{c} = {expr}" for c, expr in value.items())}, updated_at = $now
                FROM desired d
                WHERE {match} AND ({" OR ".join(f"t.{c} IS DISTINCT FROM {expr}" for c, expr in value.items())})
                """,
                {"now": now},
            ).fetchall()[0][0]
        inserted = conn.execute(
            f"""
            INSERT INTO library.{table} ({", ".join(columns)}, {created_column}, updated_at)
            SELECT {", ".join(columns)}, $now, $now FROM desired d
            WHERE NOT EXISTS (SELECT 1 FROM library.{table} t WHERE {match})
            """,
            {"now": now},
        ).fetchall()[0][0]
    return {"inserted": inserted, "updated": updated}
