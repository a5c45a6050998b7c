"""``library.fingerprints`` and ``library.acoustid_answers``: each file content's Chromaprint
fingerprint (or why it has none) and AcoustID's answer to it, by content hash
(``domain.acoustid.content_key``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from soulspot_pipeline.domain.acoustid import StoredFingerprint, content_key
from soulspot_pipeline.store.sql import registered, transaction

_FINGERPRINTS = pa.schema(
    [
        pa.field("content_hash", pa.string(), nullable=False),
        pa.field("duration_s", pa.int32()),
        pa.field("fingerprint", pa.string()),
        pa.field("error", pa.string()),
        pa.field("tool", pa.string()),
        pa.field("computed_at", pa.timestamp("us"), nullable=False),
    ]
)
_ANSWERS = pa.schema(
    [
        pa.field("content_hash", pa.string(), nullable=False),
        pa.field("response", pa.string(), nullable=False),
        pa.field("fetched_at", pa.timestamp("us"), nullable=False),
    ]
)


def content_hashes(conn: duckdb.DuckDBPyConnection, paths: Iterable[str]) -> dict[str, str]:
    """The content hash of each present file among ``paths``: its audio hash when the decode
    check of its current size and mtime found it good, else its path, size and mtime."""
    wanted = pa.table({"path": list(dict.fromkeys(paths))}, schema=pa.schema([("path", pa.string())]))
    with registered(conn, wanted_paths=wanted):
        rows = conn.execute(
            """
            SELECT l.path, l.size, l.mtime_ns, CASE WHEN c.status = 'ok' THEN c.audio_hash END
            FROM wanted_paths w
            JOIN library.local_files l ON l.path = w.path AND NOT l.missing
            LEFT JOIN library.file_checks c ON c.path = l.path AND c.size = l.size AND c.mtime_ns = l.mtime_ns
            """
        ).fetchall()
    return {path: content_key(audio_hash, path, size, mtime_ns) for path, size, mtime_ns, audio_hash in rows}


def known_fingerprints(conn: duckdb.DuckDBPyConnection, hashes: Iterable[str]) -> dict[str, StoredFingerprint]:
    """The stored fingerprints (and failures) of these contents, by content hash."""
    wanted = _hashes(hashes)
    with registered(conn, wanted_hashes=wanted):
        rows = conn.execute(
            """
            SELECT f.content_hash, f.duration_s, f.fingerprint, f.error, f.tool, f.computed_at
            FROM library.fingerprints f JOIN wanted_hashes w USING (content_hash)
            """
        ).fetchall()
    return {row[0]: StoredFingerprint(*row) for row in rows}


def save_fingerprints(conn: duckdb.DuckDBPyConnection, rows: Sequence[StoredFingerprint]) -> int:
    """Keep these fingerprints (a content already stored gets the new row); returns how many."""
    if not rows:
        return 0
    table = pa.Table.from_pylist(
        [
            {
                "content_hash": r.content_hash,
                "duration_s": r.duration_s,
                "fingerprint": r.fingerprint,
                "error": r.error,
                "tool": r.tool,
                "computed_at": r.computed_at,
            }
            for r in {r.content_hash: r for r in rows}.values()
        ],
        schema=_FINGERPRINTS,
    )
    with transaction(conn), registered(conn, new_fingerprints=table):
        conn.execute(
            """
            INSERT INTO library.fingerprints BY NAME SELECT * FROM new_fingerprints
            ON CONFLICT (content_hash) DO UPDATE SET duration_s = excluded.duration_s,
                fingerprint = excluded.fingerprint, error = excluded.error, tool = excluded.tool,
                computed_at = excluded.computed_at
            """
        )
    return table.num_rows


def fresh_answers(
    conn: duckdb.DuckDBPyConnection, hashes: Iterable[str], now: datetime, ttl_days: float
) -> dict[str, list[dict[str, Any]]]:
    """AcoustID's stored ``results`` for these contents, where younger than ``ttl_days``."""
    wanted = _hashes(hashes)
    with registered(conn, wanted_hashes=wanted):
        rows = conn.execute(
            """
            SELECT a.content_hash, a.response FROM library.acoustid_answers a JOIN wanted_hashes w USING (content_hash)
            WHERE a.fetched_at > ?
            """,
            [now - timedelta(days=ttl_days)],
        ).fetchall()
    return {content_hash: json.loads(response) for content_hash, response in rows}


def save_answers(conn: duckdb.DuckDBPyConnection, answers: dict[str, list[dict[str, Any]]], now: datetime) -> int:
    """Keep AcoustID's ``results`` per content hash, replacing older answers; returns how many."""
    if not answers:
        return 0
    table = pa.table(
        {
            "content_hash": list(answers),
            "response": [json.dumps(results, sort_keys=True) for results in answers.values()],
            "fetched_at": [now] * len(answers),
        },
        schema=_ANSWERS,
    )
    with transaction(conn), registered(conn, new_answers=table):
        conn.execute(
            """
            INSERT INTO library.acoustid_answers BY NAME SELECT * FROM new_answers
            ON CONFLICT (content_hash) DO UPDATE SET response = excluded.response, fetched_at = excluded.fetched_at
            """
        )
    return table.num_rows


def _hashes(hashes: Iterable[str]) -> pa.Table:
    return pa.table({"content_hash": list(dict.fromkeys(hashes))}, schema=pa.schema([("content_hash", pa.string())]))
