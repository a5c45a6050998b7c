"""The user's decisions, as the action jobs record them: remove, ignore, restore,
request downloads, playlist sync modes. The merge reads them; nothing here changes an
entity directly."""

from __future__ import annotations

from datetime import datetime

import duckdb

_TABLE = {
    "artist": ("artists", "artist_id", "name"),
    "album": ("albums", "album_id", "title"),
    "track": ("tracks", "track_id", "title"),
}


class UnknownEntityError(LookupError):
    """The id names nothing in the library."""


class InvalidValueError(ValueError):
    """The user asked for something the library cannot hold (a field it lacks, a bad number)."""


def entity_name(conn: duckdb.DuckDBPyConnection, entity_type: str, entity_id: str) -> str:
    table, id_column, name_column = _TABLE[entity_type]
    rows = conn.execute(f"SELECT {name_column} FROM library.{table} WHERE {id_column} = ?", [entity_id]).fetchall()
    if not rows:
        raise UnknownEntityError(
            f"no {entity_type} with id {entity_id!r} in the library; look ids up with "
            f"`SELECT {id_column}, {name_column} FROM library.{table}` (soulspot_pipeline.connect())"
        )
    return rows[0][0]


def record_decision(
    conn: duckdb.DuckDBPyConnection, entity_type: str, entity_id: str, decision: str | None, now: datetime
) -> None:
    """Remember ``removed`` or ``ignored`` for the entity; ``None`` restores it (forgets the decision)."""
    entity_name(conn, entity_type, entity_id)
    if decision is None:
        conn.execute(
            "DELETE FROM library.user_decisions WHERE entity_type = ? AND entity_id = ?", [entity_type, entity_id]
        )
        return
    conn.execute(
        """
        INSERT INTO library.user_decisions VALUES (?, ?, ?, ?)
        ON CONFLICT (entity_type, entity_id) DO UPDATE SET decision = excluded.decision, decided_at = excluded.decided_at
        """,
        [entity_type, entity_id, decision, now],
    )


def request_downloads(conn: duckdb.DuckDBPyConnection, entity_type: str, entity_id: str, now: datetime) -> int:
    """Ask for the files of a track, an album's tracks, or the tracks of an artist's owned
    albums; tracks already on disk or ignored are left out. Returns the tracks requested."""
    entity_name(conn, entity_type, entity_id)
    scope = {
        "track": "t.track_id = $id",
        "album": "t.album_id = $id",
        "artist": "t.album_id IN (SELECT album_id FROM library.albums WHERE artist_id = $id AND ownership_state = 'owned')",
    }[entity_type]
    return conn.execute(
        f"""
        INSERT INTO library.download_requests
        SELECT t.track_id, $now, 'user' FROM library.tracks t
        WHERE {scope} AND t.download_state <> 'downloaded' AND t.ownership_state <> 'ignored'
        ON CONFLICT (track_id) DO UPDATE SET requested_at = excluded.requested_at, origin = excluded.origin
        """,
        {"id": entity_id, "now": now},
    ).fetchall()[0][0]


def set_playlist_mode(conn: duckdb.DuckDBPyConnection, playlist_id: str, mode: str, now: datetime) -> str:
    """Set a playlist's sync mode by its library id (``source:id``); returns its name."""
    rows = conn.execute(
        "SELECT source, playlist_id, name FROM library.cloud_playlists WHERE source || ':' || playlist_id = ?",
        [playlist_id],
    ).fetchall()
    if not rows:
        raise UnknownEntityError(
            f"no playlist with id {playlist_id!r}; look ids up with `SELECT playlist_id, name FROM library.playlists`"
        )
    source, source_playlist_id, name = rows[0]
    conn.execute(
        """
        INSERT INTO library.playlist_modes VALUES (?, ?, ?, ?)
        ON CONFLICT (source, playlist_id) DO UPDATE SET sync_mode = excluded.sync_mode, decided_at = excluded.decided_at
        """,
        [source, source_playlist_id, mode, now],
    )
    return name
