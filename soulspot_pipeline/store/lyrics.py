"""Reading which owned tracks want lyrics, and recording each track's verdict, file and tags."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from soulspot_pipeline.domain.lyrics import LyricsChoice, LyricsRecord, LyricsState, LyricsTarget
from soulspot_pipeline.store.sql import registered, transaction

_S = pa.string()

_TARGETS = """
SELECT t.track_id, t.title, ar.name, al.title, t.duration_ms, t.local_path
FROM library.tracks t
JOIN library.artists ar USING (artist_id)
LEFT JOIN library.albums al USING (album_id)
WHERE t.ownership_state = 'owned' AND t.local_path IS NOT NULL
ORDER BY t.track_id
"""


def load_targets(conn: duckdb.DuckDBPyConnection) -> list[LyricsTarget]:
    """Every owned track with a file, as the lyrics services are asked about it."""
    return [LyricsTarget(*row) for row in conn.execute(_TARGETS).fetchall()]


def load_states(conn: duckdb.DuckDBPyConnection) -> dict[str, LyricsState]:
    return {
        track_id: LyricsState(status, retry_after)
        for track_id, status, retry_after in conn.execute(
            "SELECT track_id, status, retry_after FROM library.lyrics"
        ).fetchall()
    }


@dataclass(frozen=True)
class LyricsOutcome:
    """What asking about one track gave."""

    track_id: str
    choice: LyricsChoice
    record: LyricsRecord | None
    retry_after: datetime | None


_SCHEMA = pa.schema(
    [
        ("track_id", _S),
        ("status", _S),
        ("source", _S),
        ("source_id", _S),
        ("synced", pa.bool_()),
        ("instrumental", pa.bool_()),
        ("language", _S),
        ("text", _S),
        ("matched_title", _S),
        ("matched_artist", _S),
        ("matched_album", _S),
        ("matched_duration", pa.float64()),
        ("reason", _S),
        ("retry_after", pa.timestamp("us")),
    ]
)


def write_outcomes(conn: duckdb.DuckDBPyConnection, outcomes: Sequence[LyricsOutcome], now: datetime) -> int:
    """Record each verdict; a track asked again keeps its attempt count, plus one. A new
    answer forgets the file and tags written for the old one, so they are written anew."""
    if not outcomes:
        return 0
    rows = []
    for o in outcomes:
        r = o.record
        found = o.choice.status in ("synced", "plain", "instrumental")
        rows.append(
            {
                "track_id": o.track_id,
                "status": o.choice.status,
                "source": r.source if r is not None and found else None,
                "source_id": r.source_id if r is not None and found else None,
                "synced": o.choice.status == "synced",
                "instrumental": o.choice.status == "instrumental",
                "language": r.language if r is not None and found else None,
                "text": o.choice.text,
                "matched_title": r.title if r is not None else None,
                "matched_artist": r.artist if r is not None else None,
                "matched_album": r.album if r is not None else None,
                "matched_duration": r.duration_s if r is not None else None,
                "reason": o.choice.reason,
                "retry_after": o.retry_after,
            }
        )
    incoming = pa.Table.from_pylist(rows, schema=_SCHEMA)
    with transaction(conn), registered(conn, incoming=incoming):
        conn.execute(
            """
            INSERT INTO library.lyrics (track_id, status, source, source_id, synced, instrumental, language,
                                        text, matched_title, matched_artist, matched_album, matched_duration,
                                        reason, retry_after, attempts, fetched_at)
            SELECT track_id, status, source, source_id, synced, instrumental, language, text, matched_title,
                   matched_artist, matched_album, matched_duration, reason, retry_after, 1, $now
            FROM incoming
            ON CONFLICT (track_id) DO UPDATE SET
                status = excluded.status, source = excluded.source, source_id = excluded.source_id,
                synced = excluded.synced, instrumental = excluded.instrumental, language = excluded.language,
                text = excluded.text, matched_title = excluded.matched_title,
                matched_artist = excluded.matched_artist, matched_album = excluded.matched_album,
                matched_duration = excluded.matched_duration, reason = excluded.reason,
                attempts = library.lyrics.attempts + 1, fetched_at = excluded.fetched_at,
                retry_after = excluded.retry_after, file_path = NULL, embedded_path = NULL, embedded_at = NULL
            """,
            {"now": now},
        )
    return len(rows)


@dataclass(frozen=True)
class FoundLyrics:
    """A track's kept lyrics, with where its file is and what was already written."""

    track_id: str
    local_path: str
    synced: bool
    text: str
    file_path: str | None
    embedded_path: str | None


def found_lyrics(conn: duckdb.DuckDBPyConnection) -> list[FoundLyrics]:
    """The found lyrics of owned tracks on disk."""
    return [
        FoundLyrics(*row)
        for row in conn.execute(
            """
            SELECT l.track_id, t.local_path, l.synced, l.text, l.file_path, l.embedded_path
            FROM library.lyrics l JOIN library.tracks t USING (track_id)
            WHERE l.status IN ('synced', 'plain') AND l.text IS NOT NULL
              AND t.ownership_state = 'owned' AND t.local_path IS NOT NULL
            ORDER BY l.track_id
            """
        ).fetchall()
    ]


def record_files(conn: duckdb.DuckDBPyConnection, written: Sequence[tuple[str, str]]) -> None:
    """(track_id, path) of each lyrics file written beside its audio."""
    for track_id, path in written:
        conn.execute("UPDATE library.lyrics SET file_path = ? WHERE track_id = ?", [path, track_id])


def record_embedded(conn: duckdb.DuckDBPyConnection, embedded: Sequence[tuple[str, str]], now: datetime) -> None:
    """(track_id, audio path) of each file whose tags now hold the lyrics."""
    for track_id, path in embedded:
        conn.execute(
            "UPDATE library.lyrics SET embedded_path = ?, embedded_at = ? WHERE track_id = ?", [path, now, track_id]
        )
