"""Reading what discography_gaps needs and writing discographies, gaps, wanted and missing tracks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypedDict

import duckdb
import pyarrow as pa

from soulspot_pipeline.domain.discography import (
    DATA,
    PREGAP,
    DiscographyEntry,
    LibraryAlbum,
    OwnedTrack,
    Release,
    ReleaseGroup,
    ReleaseTrack,
)
from soulspot_pipeline.domain.library_merge import WANTED
from soulspot_pipeline.domain.notify import Event
from soulspot_pipeline.store import notifications
from soulspot_pipeline.store.sql import registered, transaction, utc_now

_S = pa.string()


@dataclass(frozen=True)
class OwnedArtist:
    artist_id: str
    name: str
    artist_mbid: str | None
    spotify_id: str | None


@dataclass(frozen=True)
class PartlyOwnedAlbum:
    album_id: str
    release_mbid: str
    present: tuple[OwnedTrack, ...]  # its owned tracks


@dataclass
class DiscographyInputs:
    artists: list[OwnedArtist]
    albums: dict[str, list[LibraryAlbum]]  # artist id -> its albums
    seen: dict[str, set[str]]  # artist id -> release keys browsed before
    first_seen: dict[tuple[str, str], datetime]
    decisions: dict[str, str]  # release key -> missing | ignored | requested
    wanted: set[str]  # release keys whose tracks are already wanted
    partly_owned: list[PartlyOwnedAlbum] = field(default_factory=list)


def record_decisions(conn: duckdb.DuckDBPyConnection, decisions: dict[str, str], origin: str, now: datetime) -> int:
    """The user's (or an auto-request option's) word on gaps, by release key."""
    if not decisions:
        return 0
    rows = pa.Table.from_pylist(
        [{"release_key": k, "decision": d} for k, d in sorted(decisions.items())],
        schema=pa.schema([("release_key", _S), ("decision", _S)]),
    )
    with transaction(conn), registered(conn, decided=rows):
        conn.execute(
            """
            INSERT INTO library.gap_decisions SELECT release_key, decision, ?, ? FROM decided
            ON CONFLICT (release_key) DO UPDATE SET decision = excluded.decision, origin = excluded.origin,
                decided_at = excluded.decided_at
            """,
            [origin, now],
        )
    return len(decisions)


def load_inputs(conn: duckdb.DuckDBPyConnection) -> DiscographyInputs:
    artists = [
        OwnedArtist(*row)
        for row in conn.execute(
            "SELECT artist_id, name, artist_mbid, spotify_id FROM library.artists "
            "WHERE ownership_state = 'owned' ORDER BY name, artist_id"
        ).fetchall()
    ]
    albums: dict[str, list[LibraryAlbum]] = defaultdict(list)
    for artist_id, album_id, title, state, rg, spotify_id in conn.execute(
        # An album owned only because its gap was requested is still a gap until it arrives.
        "SELECT artist_id, album_id, title, CASE WHEN ownership_state = 'owned' AND primary_source = ? "
        "THEN 'requested' ELSE ownership_state END, release_group_mbid, spotify_id FROM library.albums",
        [WANTED],
    ).fetchall():
        albums[artist_id].append(LibraryAlbum(album_id, title, state, rg, spotify_id))
    seen: dict[str, set[str]] = defaultdict(set)
    first_seen = {}
    for artist_id, key, at in conn.execute(
        "SELECT artist_id, release_key, first_seen_at FROM library.discography"
    ).fetchall():
        seen[artist_id].add(key)
        first_seen[(artist_id, key)] = at
    present: dict[tuple[str, str], list[OwnedTrack]] = defaultdict(list)
    for album_id, release_mbid, mbid, title, disc_number, track_number in conn.execute(
        """
        SELECT al.album_id, al.release_mbid, t.recording_mbid, t.title, t.disc_number, t.track_number
        FROM library.albums al JOIN library.tracks t USING (album_id)
        WHERE al.ownership_state = 'owned' AND al.release_mbid IS NOT NULL AND t.ownership_state = 'owned'
        ORDER BY al.album_id, t.disc_number, t.track_number, t.track_id
        """
    ).fetchall():
        present[(album_id, release_mbid)].append(OwnedTrack(mbid, title, disc_number, track_number))
    return DiscographyInputs(
        artists=artists,
        albums=dict(albums),
        seen=dict(seen),
        first_seen=first_seen,
        decisions=dict(conn.execute("SELECT release_key, decision FROM library.gap_decisions").fetchall()),
        wanted={k for (k,) in conn.execute("SELECT DISTINCT release_key FROM library.wanted_tracks").fetchall()},
        partly_owned=[PartlyOwnedAlbum(a, r, tuple(p)) for (a, r), p in sorted(present.items())],
    )


@dataclass
class GapRow:
    artist: OwnedArtist
    group: ReleaseGroup
    status: str
    is_new: bool


class _ListedRow(TypedDict):
    """A release group in library.discography, as a browse lists it."""

    artist_id: str
    release_key: str
    source: str
    release_group_mbid: str | None
    spotify_album_id: str | None
    title: str
    primary_type: str | None
    secondary_types: list[str] | None
    first_release_date: str | None
    counted: bool
    album_id: str | None
    matched_by: str | None
    owned: bool
    is_new: bool


def write_discography(
    conn: duckdb.DuckDBPyConnection,
    entries: dict[str, list[DiscographyEntry]],
    new_keys: dict[str, set[str]],
    gaps: Sequence[GapRow],
    owned_artists: Sequence[str],
    now: datetime,
    events: Sequence[Event] = (),
) -> dict[str, int]:
    """Each browsed artist's discography (first sightings kept), every gap and the notification
    ``events`` (new releases), in one transaction. Gaps of artists no longer owned go (their
    discographies stay)."""
    rows: list[_ListedRow] = [
        {
            "artist_id": artist_id,
            "release_key": e.group.key,
            "source": e.group.source,
            "release_group_mbid": e.group.release_group_mbid,
            "spotify_album_id": e.group.spotify_album_id,
            "title": e.group.title,
            "primary_type": e.group.primary_type,
            "secondary_types": list(e.group.secondary_types) or None,
            "first_release_date": e.group.first_release_date,
            "counted": e.counted,
            "album_id": e.album_id,
            "matched_by": e.matched_by,
            "owned": e.owned,
            "is_new": e.group.key in new_keys.get(artist_id, ()),
        }
        for artist_id, artist_entries in entries.items()
        for e in artist_entries
    ]
    schema = pa.schema(
        [
            ("artist_id", _S),
            ("release_key", _S),
            ("source", _S),
            ("release_group_mbid", _S),
            ("spotify_album_id", _S),
            ("title", _S),
            ("primary_type", _S),
            ("secondary_types", pa.list_(_S)),
            ("first_release_date", _S),
            ("counted", pa.bool_()),
            ("album_id", _S),
            ("matched_by", _S),
            ("owned", pa.bool_()),
            ("is_new", pa.bool_()),
        ]
    )
    gap_rows = [
        {
            "artist_id": g.artist.artist_id,
            "artist_name": g.artist.name,
            "release_key": g.group.key,
            "release_group_mbid": g.group.release_group_mbid,
            "spotify_album_id": g.group.spotify_album_id,
            "title": g.group.title,
            "release_type": g.group.release_type,
            "first_release_date": g.group.first_release_date,
            "status": g.status,
            "is_new": g.is_new,
        }
        for g in gaps
    ]
    gap_schema = pa.schema(
        [
            ("artist_id", _S),
            ("artist_name", _S),
            ("release_key", _S),
            ("release_group_mbid", _S),
            ("spotify_album_id", _S),
            ("title", _S),
            ("release_type", _S),
            ("first_release_date", _S),
            ("status", _S),
            ("is_new", pa.bool_()),
        ]
    )
    browsed = pa.table({"artist_id": pa.array(sorted(entries), _S)})
    owned = pa.table({"artist_id": pa.array(sorted(owned_artists), _S)})
    with (
        transaction(conn),
        registered(
            conn,
            listed=pa.Table.from_pylist(rows, schema=schema),
            found=pa.Table.from_pylist(gap_rows, schema=gap_schema),
            browsed=browsed,
            owned=owned,
        ),
    ):
        conn.execute("DELETE FROM library.discography_gaps WHERE artist_id NOT IN (SELECT artist_id FROM owned)")
        conn.execute(
            """
            INSERT INTO library.discography
            SELECT artist_id, release_key, source, release_group_mbid, spotify_album_id, title, primary_type,
                   secondary_types, first_release_date, counted, album_id, matched_by, owned, is_new, ?, ? FROM listed
            ON CONFLICT (artist_id, release_key) DO UPDATE SET
                source = excluded.source, release_group_mbid = excluded.release_group_mbid,
                spotify_album_id = excluded.spotify_album_id, title = excluded.title,
                primary_type = excluded.primary_type, secondary_types = excluded.secondary_types,
                first_release_date = excluded.first_release_date, counted = excluded.counted,
                album_id = excluded.album_id, matched_by = excluded.matched_by, owned = excluded.owned,
                is_new = excluded.is_new, last_seen_at = excluded.last_seen_at
            """,
            [now, now],
        )
        # Gaps are derived: the browsed artists' gaps are replaced by today's, first sightings kept.
        previous = conn.sql(
            "SELECT artist_id, release_key, status, is_new, updated_at FROM library.discography_gaps "
            "WHERE artist_id IN (SELECT artist_id FROM browsed)"
        ).to_arrow_table()
        conn.execute("DELETE FROM library.discography_gaps WHERE artist_id IN (SELECT artist_id FROM browsed)")
        with registered(conn, previous=previous):
            conn.execute(
                """
                INSERT INTO library.discography_gaps
                SELECT f.artist_id, f.artist_name, f.release_key, f.release_group_mbid, f.spotify_album_id, f.title,
                       f.release_type, f.first_release_date, f.status, f.is_new, d.first_seen_at,
                       CASE WHEN p.status = f.status AND p.is_new = f.is_new THEN p.updated_at ELSE ? END
                FROM found f
                JOIN library.discography d USING (artist_id, release_key)
                LEFT JOIN previous p USING (artist_id, release_key)
                """,
                [now],
            )
        notifications.record(conn, events, now)
    return {
        "release_groups": len(rows),
        "gaps": len(gap_rows),
        "new_release_groups": sum(r["is_new"] for r in rows),
    }


def write_wanted(
    conn: duckdb.DuckDBPyConnection, wanted: Iterable[tuple[OwnedArtist, ReleaseGroup, Release]], now: datetime
) -> int:
    """The tracks of requested gaps, which the merge turns into owned, pending tracks."""
    rows = [
        {
            "artist_id": artist.artist_id,
            "release_key": group.key,
            "artist_name": artist.name,
            "artist_mbid": artist.artist_mbid,
            "release_group_mbid": group.release_group_mbid,
            "release_mbid": release.mbid,
            "album_title": group.title,
            "album_type": (group.primary_type or "").lower() or None,
            "release_date": group.first_release_date,
            "total_tracks": len(release.tracks),
            "recording_mbid": t.recording_mbid,
            "title": t.title,
            "disc_number": t.disc_number,
            "track_number": t.track_number,
            "duration_ms": t.duration_ms,
            "isrc": t.isrc,
        }
        for artist, group, release in wanted
        for t in release.tracks
    ]
    if not rows:
        return 0
    schema = pa.schema(
        [
            ("artist_id", _S),
            ("release_key", _S),
            ("artist_name", _S),
            ("artist_mbid", _S),
            ("release_group_mbid", _S),
            ("release_mbid", _S),
            ("album_title", _S),
            ("album_type", _S),
            ("release_date", _S),
            ("total_tracks", pa.int32()),
            ("recording_mbid", _S),
            ("title", _S),
            ("disc_number", pa.int32()),
            ("track_number", pa.int32()),
            ("duration_ms", pa.int64()),
            ("isrc", _S),
        ]
    )
    with transaction(conn), registered(conn, tracks=pa.Table.from_pylist(rows, schema=schema)):
        conn.execute("INSERT INTO library.wanted_tracks SELECT *, ? FROM tracks ON CONFLICT DO NOTHING", [now])
    return len(rows)


def drop_unwanted(conn: duckdb.DuckDBPyConnection) -> int:
    """Forget the tracks of gaps no longer requested (the merge then stops owning them)."""
    return conn.execute(
        """
        DELETE FROM library.wanted_tracks w WHERE NOT EXISTS (
            SELECT 1 FROM library.gap_decisions d WHERE d.release_key = w.release_key AND d.decision = 'requested')
        """
    ).fetchall()[0][0]


def write_missing_tracks(
    conn: duckdb.DuckDBPyConnection,
    checked: Iterable[str],
    missing: dict[tuple[str, str], list[ReleaseTrack]],
    releases: dict[str, Release] | None = None,
    now: datetime | None = None,
) -> int:
    """Replace the missing tracks of every album that was checked (``checked``: album ids), and
    the track counts of the releases they were checked against (``releases``: album id -> release)."""
    rows = [
        {
            "album_id": album_id,
            "release_mbid": release_mbid,
            "recording_mbid": t.recording_mbid,
            "title": t.title,
            "disc_number": t.disc_number,
            "track_number": t.track_number,
            "duration_ms": t.duration_ms,
            "recording_title": t.recording_title,
            "kind": t.kind,
        }
        for (album_id, release_mbid), tracks in missing.items()
        for t in tracks
    ]
    schema = pa.schema(
        [
            ("album_id", _S),
            ("release_mbid", _S),
            ("recording_mbid", _S),
            ("title", _S),
            ("disc_number", pa.int32()),
            ("track_number", pa.int32()),
            ("duration_ms", pa.int64()),
            ("recording_title", _S),
            ("kind", _S),
        ]
    )
    counts = pa.Table.from_pylist(
        [
            {
                "album_id": album_id,
                "release_mbid": release.mbid,
                "total_tracks": len(release.tracks),
                "pregap_tracks": sum(t.kind == PREGAP for t in release.tracks),
                "data_tracks": sum(t.kind == DATA for t in release.tracks),
            }
            for album_id, release in sorted((releases or {}).items())
        ],
        schema=pa.schema(
            [
                ("album_id", _S),
                ("release_mbid", _S),
                ("total_tracks", pa.int32()),
                ("pregap_tracks", pa.int32()),
                ("data_tracks", pa.int32()),
            ]
        ),
    )
    checked_ids = pa.table({"album_id": pa.array(sorted(set(checked)), _S)})
    with (
        transaction(conn),
        registered(conn, found=pa.Table.from_pylist(rows, schema=schema), checked=checked_ids, counted=counts),
    ):
        conn.execute("DELETE FROM library.missing_tracks WHERE album_id IN (SELECT album_id FROM checked)")
        conn.execute("INSERT INTO library.missing_tracks BY NAME SELECT * FROM found ON CONFLICT DO NOTHING")
        conn.execute("DELETE FROM library.album_tracklists WHERE album_id IN (SELECT album_id FROM checked)")
        conn.execute(
            "INSERT INTO library.album_tracklists SELECT *, ? FROM counted ON CONFLICT DO NOTHING",
            [now or utc_now()],
        )
    return len(rows)
