"""Versioned schema migrations of the ``library`` schema.

Each migration runs once, in its own transaction, and is recorded in
``library.schema_migrations``; opening an older database applies the missing ones in
place and keeps its rows. Append new migrations; never edit one that has shipped.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from soulspot_pipeline.store.sql import transaction

OWNERSHIP_STATES = ("owned", "discovered", "ignored")
DOWNLOAD_STATES = ("not_needed", "pending", "downloading", "downloaded", "failed")
PLAYLIST_MODES = ("reference", "own", "disabled")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"CHECK ({column} IN ({', '.join(repr(v) for v in values)}))"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


_V1_LIBRARY = f"""
CREATE TABLE library.local_files (
    path               VARCHAR PRIMARY KEY,
    size               BIGINT NOT NULL,
    mtime              TIMESTAMP NOT NULL,
    mtime_ns           BIGINT NOT NULL,
    format             VARCHAR NOT NULL,
    duration_ms        BIGINT,
    bitrate            INTEGER,
    sample_rate        INTEGER,
    bit_depth          INTEGER,
    channels           INTEGER,
    artist             VARCHAR,
    albumartist        VARCHAR,
    album              VARCHAR,
    title              VARCHAR,
    track_number       INTEGER,
    track_total        INTEGER,
    disc_number        INTEGER,
    disc_total         INTEGER,
    date               VARCHAR,
    genre              VARCHAR,
    isrc               VARCHAR,
    recording_mbid     VARCHAR,
    release_mbid       VARCHAR,
    release_group_mbid VARCHAR,
    artist_mbid        VARCHAR,
    albumartist_mbid   VARCHAR,
    missing            BOOLEAN NOT NULL DEFAULT false,
    missing_since      TIMESTAMP,
    first_seen_at      TIMESTAMP NOT NULL,
    scanned_at         TIMESTAMP NOT NULL
);

CREATE TABLE library.scan_errors (
    path      VARCHAR PRIMARY KEY,
    error     VARCHAR NOT NULL,
    kind      VARCHAR NOT NULL CHECK (kind IN ('unreadable', 'tag_warning')),
    size      BIGINT,
    mtime_ns  BIGINT,
    seen_at   TIMESTAMP NOT NULL
);

CREATE TABLE library.artists (
    artist_id       VARCHAR PRIMARY KEY,
    name            VARCHAR NOT NULL,
    sort_name       VARCHAR,
    artist_mbid     VARCHAR,
    spotify_id      VARCHAR,
    deezer_id       VARCHAR,
    ownership_state VARCHAR NOT NULL {_one_of("ownership_state", OWNERSHIP_STATES)},
    primary_source  VARCHAR NOT NULL,
    genres          VARCHAR[],
    image_path      VARCHAR,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);

CREATE TABLE library.albums (
    album_id           VARCHAR PRIMARY KEY,
    title              VARCHAR NOT NULL,
    artist_id          VARCHAR NOT NULL,
    release_group_mbid VARCHAR,
    release_mbid       VARCHAR,
    spotify_id         VARCHAR,
    deezer_id          VARCHAR,
    album_type         VARCHAR,
    release_date       VARCHAR,
    total_tracks       INTEGER,
    ownership_state    VARCHAR NOT NULL {_one_of("ownership_state", OWNERSHIP_STATES)},
    primary_source     VARCHAR NOT NULL,
    image_path         VARCHAR,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);

CREATE TABLE library.tracks (
    track_id        VARCHAR PRIMARY KEY,
    title           VARCHAR NOT NULL,
    artist_id       VARCHAR NOT NULL,
    album_id        VARCHAR,
    isrc            VARCHAR,
    recording_mbid  VARCHAR,
    spotify_id      VARCHAR,
    deezer_id       VARCHAR,
    duration_ms     BIGINT,
    track_number    INTEGER,
    disc_number     INTEGER,
    ownership_state VARCHAR NOT NULL {_one_of("ownership_state", OWNERSHIP_STATES)},
    download_state  VARCHAR NOT NULL {_one_of("download_state", DOWNLOAD_STATES)},
    primary_source  VARCHAR NOT NULL,
    local_path      VARCHAR,
    audio_format    VARCHAR,
    bitrate         INTEGER,
    sample_rate     INTEGER,
    bit_depth       INTEGER,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);

-- Every identity key (MBID, ISRC, normalized names) that resolved to an entity: the
-- dedup memory that keeps ids stable across runs and explains each merge.
CREATE TABLE library.entity_keys (
    entity_type VARCHAR NOT NULL CHECK (entity_type IN ('artist', 'album', 'track')),
    key         VARCHAR NOT NULL,
    entity_id   VARCHAR NOT NULL,
    rule        VARCHAR NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (entity_type, key)
);

-- Which track each local file became, and by which rule.
CREATE TABLE library.track_files (
    path       VARCHAR PRIMARY KEY,
    track_id   VARCHAR NOT NULL,
    matched_by VARCHAR NOT NULL,
    is_primary BOOLEAN NOT NULL
);
"""

_V2_CLOUD = f"""
-- What each cloud provider told us, kept as it said it (one partition per source).
CREATE TABLE library.cloud_artists (
    source        VARCHAR NOT NULL,
    artist_id     VARCHAR NOT NULL,
    name          VARCHAR NOT NULL,
    genres        VARCHAR[],
    image_url     VARCHAR,
    first_seen_at TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (source, artist_id)
);

CREATE TABLE library.cloud_albums (
    source        VARCHAR NOT NULL,
    album_id      VARCHAR NOT NULL,
    title         VARCHAR NOT NULL,
    artist_id     VARCHAR,
    artist_name   VARCHAR,
    album_type    VARCHAR,
    release_date  VARCHAR,
    total_tracks  INTEGER,
    upc           VARCHAR,
    image_url     VARCHAR,
    first_seen_at TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (source, album_id)
);

CREATE TABLE library.cloud_tracks (
    source        VARCHAR NOT NULL,
    track_id      VARCHAR NOT NULL,
    title         VARCHAR NOT NULL,
    artist_id     VARCHAR,
    artist_name   VARCHAR,
    album_id      VARCHAR,
    isrc          VARCHAR,
    duration_ms   BIGINT,
    track_number  INTEGER,
    disc_number   INTEGER,
    first_seen_at TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (source, track_id)
);

-- The tracks of saved albums, as the provider listed them.
CREATE TABLE library.cloud_album_tracks (
    source   VARCHAR NOT NULL,
    album_id VARCHAR NOT NULL,
    track_id VARCHAR NOT NULL,
    PRIMARY KEY (source, album_id, track_id)
);

-- Likes, saves and follows. A like that disappears gets unliked_at; liked_since is when
-- the current like began (a like that comes back starts again).
CREATE TABLE library.cloud_likes (
    source      VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL CHECK (kind IN ('track', 'album', 'artist')),
    item_id     VARCHAR NOT NULL,
    added_at    VARCHAR,
    liked_since TIMESTAMP NOT NULL,
    unliked_at  TIMESTAMP,
    PRIMARY KEY (source, kind, item_id)
);

CREATE TABLE library.cloud_playlists (
    source        VARCHAR NOT NULL,
    playlist_id   VARCHAR NOT NULL,
    name          VARCHAR NOT NULL,
    owner         VARCHAR,
    version       VARCHAR,
    track_count   INTEGER,
    first_seen_at TIMESTAMP NOT NULL,
    removed_at    TIMESTAMP,
    PRIMARY KEY (source, playlist_id)
);

CREATE TABLE library.cloud_playlist_items (
    source      VARCHAR NOT NULL,
    playlist_id VARCHAR NOT NULL,
    position    INTEGER NOT NULL,
    track_id    VARCHAR NOT NULL,
    added_at    VARCHAR,
    PRIMARY KEY (source, playlist_id, track_id)
);

-- Each endpoint's last outcome: ok, or unavailable with the provider's reason.
CREATE TABLE library.cloud_endpoints (
    source     VARCHAR NOT NULL,
    endpoint   VARCHAR NOT NULL,
    status     VARCHAR NOT NULL CHECK (status IN ('ok', 'unavailable')),
    detail     VARCHAR,
    items      INTEGER NOT NULL,
    changed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (source, endpoint)
);

-- The circuit breaker: consecutive failed syncs, and until when a provider is rested.
CREATE TABLE library.provider_health (
    source     VARCHAR PRIMARY KEY,
    failures   INTEGER NOT NULL,
    open_until TIMESTAMP,
    last_error VARCHAR,
    changed_at TIMESTAMP NOT NULL
);

-- The user's decisions (written by the action jobs, read by the merge).
CREATE TABLE library.user_decisions (
    entity_type VARCHAR NOT NULL CHECK (entity_type IN ('artist', 'album', 'track')),
    entity_id   VARCHAR NOT NULL,
    decision    VARCHAR NOT NULL CHECK (decision IN ('removed', 'ignored')),
    decided_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (entity_type, entity_id)
);

CREATE TABLE library.download_requests (
    track_id     VARCHAR PRIMARY KEY,
    requested_at TIMESTAMP NOT NULL,
    origin       VARCHAR NOT NULL
);

CREATE TABLE library.playlist_modes (
    source      VARCHAR NOT NULL,
    playlist_id VARCHAR NOT NULL,
    sync_mode   VARCHAR NOT NULL {_one_of("sync_mode", PLAYLIST_MODES)},
    decided_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (source, playlist_id)
);

-- Written by library_entities: which entity each provider item became, and why.
CREATE TABLE library.source_links (
    entity_type VARCHAR NOT NULL CHECK (entity_type IN ('artist', 'album', 'track')),
    source      VARCHAR NOT NULL,
    source_id   VARCHAR NOT NULL,
    entity_id   VARCHAR NOT NULL,
    matched_by  VARCHAR NOT NULL,
    score       DOUBLE,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (entity_type, source, source_id)
);

CREATE TABLE library.playlists (
    playlist_id        VARCHAR PRIMARY KEY,
    source             VARCHAR NOT NULL,
    source_playlist_id VARCHAR NOT NULL,
    name               VARCHAR NOT NULL,
    owner              VARCHAR,
    sync_mode          VARCHAR NOT NULL {_one_of("sync_mode", PLAYLIST_MODES)},
    track_count        INTEGER,
    removed            BOOLEAN NOT NULL,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);

CREATE TABLE library.playlist_tracks (
    playlist_id VARCHAR NOT NULL,
    position    INTEGER NOT NULL,
    track_id    VARCHAR NOT NULL,
    PRIMARY KEY (playlist_id, track_id)
);
"""

_V3_MUSICBRAINZ = """
-- Written by identified_entities: each entity's identification and every candidate weighed.
CREATE TABLE library.identifications (
    entity_type   VARCHAR NOT NULL CHECK (entity_type IN ('artist', 'album', 'track')),
    entity_id     VARCHAR NOT NULL,
    status        VARCHAR NOT NULL CHECK (status IN ('accepted', 'ambiguous', 'none')),
    mbid          VARCHAR,
    release_mbid  VARCHAR,
    rule          VARCHAR NOT NULL,
    score         DOUBLE,
    reason        VARCHAR,
    facts_hash    VARCHAR NOT NULL,
    identified_at TIMESTAMP NOT NULL,
    PRIMARY KEY (entity_type, entity_id)
);

CREATE TABLE library.match_candidates (
    entity_type     VARCHAR NOT NULL,
    entity_id       VARCHAR NOT NULL,
    candidate_mbid  VARCHAR NOT NULL,
    rank            INTEGER NOT NULL,
    rule            VARCHAR NOT NULL,
    query           VARCHAR,
    candidate_title VARCHAR,
    candidate_artist VARCHAR,
    candidate_album VARCHAR,
    candidate_length_ms BIGINT,
    mb_score        INTEGER,
    title_score     DOUBLE,
    artist_score    DOUBLE,
    album_score     DOUBLE,
    duration_score  DOUBLE,
    isrc_match      BOOLEAN,
    total           DOUBLE,
    decision        VARCHAR NOT NULL CHECK (decision IN ('accepted', 'ambiguous', 'rejected')),
    reason          VARCHAR NOT NULL,
    decided_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (entity_type, entity_id, candidate_mbid)
);

-- Written by enriched_metadata (source 'musicbrainz') and the set_metadata job (source
-- 'manual'); the merge applies the highest-precedence value of each field.
CREATE TABLE library.entity_metadata (
    entity_type VARCHAR NOT NULL CHECK (entity_type IN ('artist', 'album', 'track')),
    entity_id   VARCHAR NOT NULL,
    field       VARCHAR NOT NULL,
    source      VARCHAR NOT NULL,
    value       JSON,
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (entity_type, entity_id, field, source)
);

-- Written by library_entities: which source each enriched column's value came from.
CREATE TABLE library.field_sources (
    entity_type VARCHAR NOT NULL,
    entity_id   VARCHAR NOT NULL,
    field       VARCHAR NOT NULL,
    source      VARCHAR NOT NULL,
    PRIMARY KEY (entity_type, entity_id, field)
);

-- Entities found to be one (same MBID or ISRC): the alias id now means entity_id.
CREATE TABLE library.entity_aliases (
    entity_type VARCHAR NOT NULL,
    alias_id    VARCHAR NOT NULL,
    entity_id   VARCHAR NOT NULL,
    reason      VARCHAR NOT NULL,
    merged_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (entity_type, alias_id)
);

ALTER TABLE library.artists ADD COLUMN country VARCHAR;
ALTER TABLE library.artists ADD COLUMN artist_type VARCHAR;
ALTER TABLE library.artists ADD COLUMN disambiguation VARCHAR;
ALTER TABLE library.artists ADD COLUMN tags VARCHAR[];
ALTER TABLE library.albums ADD COLUMN secondary_types VARCHAR[];
ALTER TABLE library.albums ADD COLUMN genres VARCHAR[];
ALTER TABLE library.albums ADD COLUMN tags VARCHAR[];
ALTER TABLE library.albums ADD COLUMN medium_count INTEGER;
ALTER TABLE library.albums ADD COLUMN country VARCHAR;
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "library store: local files, scan errors, artists, albums, tracks", _V1_LIBRARY),
    Migration(2, "cloud likes, user decisions, playlists and source links", _V2_CLOUD),
    Migration(3, "MusicBrainz identifications, match candidates, metadata with provenance, aliases", _V3_MUSICBRAINZ),
)


class SchemaTooNewError(RuntimeError):
    """The database was written by a newer soulspot-pipeline than this one."""


def current_version(conn: duckdb.DuckDBPyConnection) -> int:
    exists = conn.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = 'library' AND table_name = 'schema_migrations'"
    ).fetchall()[0][0]
    if not exists:
        return 0
    return conn.execute("SELECT coalesce(max(version), 0) FROM library.schema_migrations").fetchall()[0][0]


def migrate(
    conn: duckdb.DuckDBPyConnection, migrations: tuple[Migration, ...] = MIGRATIONS
) -> list[int]:
    """Bring the database up to the newest schema; returns the versions applied."""
    known = max((m.version for m in migrations), default=0)
    version = current_version(conn)
    if version > known:
        raise SchemaTooNewError(
            f"the library database is at schema version {version}, newer than this "
            f"soulspot-pipeline knows ({known}); upgrade soulspot-pipeline"
        )
    applied = []
    for migration in sorted(migrations, key=lambda m: m.version):
        if migration.version <= version:
            continue
        with transaction(conn):
            conn.execute("CREATE SCHEMA IF NOT EXISTS library")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS library.schema_migrations ("
                "version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
            )
            conn.execute(migration.sql)
            conn.execute(
                "INSERT INTO library.schema_migrations VALUES (?, ?, now()::TIMESTAMP)",
                [migration.version, migration.name],
            )
        applied.append(migration.version)
    return applied
