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
# As domain.notify's KINDS and STATES (a shipped migration never changes, so they are spelled out).
NOTIFICATION_KINDS = ("imported", "download_failed", "new_release", "run_failed", "phase_overdue", "broken_file")
NOTIFICATION_STATES = ("pending", "sending", "sent", "skipped", "given_up")


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

_V4_EXPAND = f"""
-- Written by discography_gaps: every release group of each owned artist, and which
-- library album (if any) it is.
CREATE TABLE library.discography (
    artist_id          VARCHAR NOT NULL,
    release_key        VARCHAR NOT NULL,  -- 'rg:<mbid>' or 'spotify:<album id>'
    source             VARCHAR NOT NULL,
    release_group_mbid VARCHAR,
    spotify_album_id   VARCHAR,
    title              VARCHAR NOT NULL,
    primary_type       VARCHAR,
    secondary_types    VARCHAR[],
    first_release_date VARCHAR,
    counted            BOOLEAN NOT NULL,  -- of a release type the user collects
    album_id           VARCHAR,
    matched_by         VARCHAR,
    owned              BOOLEAN NOT NULL,
    is_new             BOOLEAN NOT NULL,  -- first seen by the latest run
    first_seen_at      TIMESTAMP NOT NULL,
    last_seen_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (artist_id, release_key)
);

-- Written by discography_gaps: the counted release groups the artist's owned albums lack.
CREATE TABLE library.discography_gaps (
    artist_id          VARCHAR NOT NULL,
    artist_name        VARCHAR NOT NULL,
    release_key        VARCHAR NOT NULL,
    release_group_mbid VARCHAR,
    spotify_album_id   VARCHAR,
    title              VARCHAR NOT NULL,
    release_type       VARCHAR NOT NULL,
    first_release_date VARCHAR,
    status             VARCHAR NOT NULL {_one_of("status", ("missing", "ignored", "requested"))},
    is_new             BOOLEAN NOT NULL,
    first_seen_at      TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    PRIMARY KEY (artist_id, release_key)
);

-- The user's (or the auto-request option's) word on a gap; read by discography_gaps.
CREATE TABLE library.gap_decisions (
    release_key VARCHAR PRIMARY KEY,
    decision    VARCHAR NOT NULL {_one_of("decision", ("missing", "ignored", "requested"))},
    origin      VARCHAR NOT NULL,  -- user | auto_gaps | auto_new
    decided_at  TIMESTAMP NOT NULL
);

-- Written by discography_gaps: the tracks of requested gaps, which the merge makes owned
-- and pending.
CREATE TABLE library.wanted_tracks (
    artist_id          VARCHAR NOT NULL,
    release_key        VARCHAR NOT NULL,
    artist_name        VARCHAR NOT NULL,
    artist_mbid        VARCHAR,
    release_group_mbid VARCHAR,
    release_mbid       VARCHAR,
    album_title        VARCHAR NOT NULL,
    album_type         VARCHAR,
    release_date       VARCHAR,
    total_tracks       INTEGER,
    recording_mbid     VARCHAR NOT NULL,
    title              VARCHAR NOT NULL,
    disc_number        INTEGER NOT NULL,
    track_number       INTEGER NOT NULL,
    duration_ms        BIGINT,
    isrc               VARCHAR,
    requested_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (release_key, disc_number, track_number)
);

-- Written by discography_gaps: the tracks of partly owned albums' releases that the
-- library lacks.
CREATE TABLE library.missing_tracks (
    album_id       VARCHAR NOT NULL,
    release_mbid   VARCHAR NOT NULL,
    recording_mbid VARCHAR NOT NULL,
    title          VARCHAR NOT NULL,
    disc_number    INTEGER NOT NULL,
    track_number   INTEGER NOT NULL,
    duration_ms    BIGINT,
    PRIMARY KEY (album_id, disc_number, track_number)
);

CREATE VIEW library.artist_completeness AS
SELECT d.artist_id, a.name,
       count(*) FILTER (WHERE d.counted) AS release_groups,
       count(*) FILTER (WHERE d.counted AND d.owned) AS owned,
       count(*) FILTER (WHERE g.status = 'missing') AS missing,
       count(*) FILTER (WHERE g.status = 'requested') AS requested,
       count(*) FILTER (WHERE g.status = 'ignored') AS ignored,
       round(100.0 * count(*) FILTER (WHERE d.counted AND d.owned)
             / nullif(count(*) FILTER (WHERE d.counted AND coalesce(g.status, '') <> 'ignored'), 0), 1) AS completeness_pct
FROM library.discography d
JOIN library.artists a USING (artist_id)
LEFT JOIN library.discography_gaps g USING (artist_id, release_key)
GROUP BY d.artist_id, a.name;

CREATE VIEW library.album_completeness AS
SELECT al.album_id, al.title, al.artist_id, al.release_mbid, al.total_tracks,
       count(m.recording_mbid) AS missing_tracks,
       round(100.0 * (al.total_tracks - count(m.recording_mbid)) / nullif(al.total_tracks, 0), 1) AS completeness_pct
FROM library.albums al
LEFT JOIN library.missing_tracks m USING (album_id)
WHERE al.ownership_state = 'owned' AND al.release_mbid IS NOT NULL
GROUP BY al.album_id, al.title, al.artist_id, al.release_mbid, al.total_tracks;

-- Written by images: one cover per album and one picture per artist, or why there is none.
CREATE TABLE library.images (
    entity_type    VARCHAR NOT NULL CHECK (entity_type IN ('artist', 'album')),
    entity_id      VARCHAR NOT NULL,
    status         VARCHAR NOT NULL {_one_of("status", ("stored", "failed", "none"))},
    source         VARCHAR,
    source_url     VARCHAR,
    path           VARCHAR,
    thumbnail_path VARCHAR,
    checksum       VARCHAR,
    size_bytes     BIGINT,
    width          INTEGER,
    height         INTEGER,
    error          VARCHAR,
    attempts       INTEGER NOT NULL,
    attempted_at   TIMESTAMP NOT NULL,
    retry_after    TIMESTAMP,
    PRIMARY KEY (entity_type, entity_id)
);
"""

_V5_DOWNLOADS = f"""
-- Written by downloads (and, as transfers move, by the transfer monitor): one row per
-- track the pipeline tried to download, with where it stands.
CREATE TABLE library.downloads (
    track_id         VARCHAR PRIMARY KEY,
    state            VARCHAR NOT NULL {_one_of("state", ("downloading", "downloaded", "failed", "not_found", "abandoned"))},
    priority         INTEGER NOT NULL,
    origin           VARCHAR NOT NULL,  -- request | discography | auto_queue
    attempts         INTEGER NOT NULL,
    searches         INTEGER NOT NULL,
    query_tier       VARCHAR,
    query            VARCHAR,
    username         VARCHAR,
    remote_filename  VARCHAR,
    size_bytes       BIGINT,
    transfer_id      VARCHAR,
    percent_complete DOUBLE,
    progress_at      TIMESTAMP,  -- when the transfer last moved (stalls are judged from it)
    local_path       VARCHAR,
    error            VARCHAR,
    searched_at      TIMESTAMP,
    enqueued_at      TIMESTAMP,
    finished_at      TIMESTAMP,
    updated_at       TIMESTAMP NOT NULL
);

-- Every search result weighed for a track, with its score breakdown and the rule that decided.
CREATE TABLE library.download_candidates (
    track_id      VARCHAR NOT NULL,
    attempt       INTEGER NOT NULL,
    query_tier    VARCHAR NOT NULL,
    query         VARCHAR NOT NULL,
    username      VARCHAR NOT NULL,
    filename      VARCHAR NOT NULL,
    size_bytes    BIGINT,
    extension     VARCHAR,
    bitrate       INTEGER,
    bit_depth     INTEGER,
    sample_rate   INTEGER,
    length_s      DOUBLE,
    has_free_slot BOOLEAN,
    queue_length  INTEGER,
    upload_speed  BIGINT,
    accepted      BOOLEAN NOT NULL,
    rank          INTEGER NOT NULL,
    score         DOUBLE,
    breakdown     JSON,
    decided_by    VARCHAR NOT NULL,
    reason        VARCHAR NOT NULL,
    chosen        BOOLEAN NOT NULL,
    decided_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (track_id, attempt, query_tier, username, filename)
);

-- How each Soulseek peer served us: failures rank it down, repeated ones skip it for a while.
CREATE TABLE library.peer_stats (
    username      VARCHAR PRIMARY KEY,
    successes     INTEGER NOT NULL,
    failures      INTEGER NOT NULL,
    skipped_until TIMESTAMP,
    last_error    VARCHAR,
    updated_at    TIMESTAMP NOT NULL
);
"""

_V6_RELEASE_TRACKLISTS = """
-- Missing tracks say how the release prints them: the recording's own title when it differs,
-- and whether the track is a pregap (hidden, position 0) or a data track.
ALTER TABLE library.missing_tracks ADD COLUMN recording_title VARCHAR;
ALTER TABLE library.missing_tracks ADD COLUMN kind VARCHAR DEFAULT 'track';

-- Written by discography_gaps: how many tracks the release of each checked album has,
-- counted as the release counts them (pregap and data tracks included).
CREATE TABLE library.album_tracklists (
    album_id      VARCHAR PRIMARY KEY,
    release_mbid  VARCHAR NOT NULL,
    total_tracks  INTEGER NOT NULL,
    pregap_tracks INTEGER NOT NULL,
    data_tracks   INTEGER NOT NULL,
    checked_at    TIMESTAMP NOT NULL
);

-- The release's own count when it was checked, else the album's; only what was found
-- missing on the album's current release counts.
CREATE OR REPLACE VIEW library.album_completeness AS
WITH counted AS (
    SELECT al.album_id, al.title, al.artist_id, al.release_mbid,
           coalesce(r.total_tracks, al.total_tracks) AS total_tracks
    FROM library.albums al
    LEFT JOIN library.album_tracklists r ON r.album_id = al.album_id AND r.release_mbid = al.release_mbid
    WHERE al.ownership_state = 'owned' AND al.release_mbid IS NOT NULL
)
SELECT c.album_id, c.title, c.artist_id, c.release_mbid, c.total_tracks,
       count(m.recording_mbid) AS missing_tracks,
       round(100.0 * (c.total_tracks - count(m.recording_mbid)) / nullif(c.total_tracks, 0), 1) AS completeness_pct
FROM counted c
LEFT JOIN library.missing_tracks m ON m.album_id = c.album_id AND m.release_mbid = c.release_mbid
GROUP BY c.album_id, c.title, c.artist_id, c.release_mbid, c.total_tracks;
"""

_V7_CLOUD_PARTIAL_AND_SKIPS = """
-- An endpoint can be partial: its listing was read, some of its albums' track lists or
-- playlists' items were not (each has its own unavailable row). DuckDB cannot change a
-- CHECK constraint in place, so the table is rebuilt with the same columns and rows.
CREATE TABLE library.cloud_endpoints_v7 (
    source     VARCHAR NOT NULL,
    endpoint   VARCHAR NOT NULL,
    status     VARCHAR NOT NULL CHECK (status IN ('ok', 'partial', 'unavailable')),
    detail     VARCHAR,
    items      INTEGER NOT NULL,
    changed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (source, endpoint)
);
INSERT INTO library.cloud_endpoints_v7
SELECT source, endpoint, status, detail, items, changed_at FROM library.cloud_endpoints;
DROP TABLE library.cloud_endpoints;
ALTER TABLE library.cloud_endpoints_v7 RENAME TO cloud_endpoints;

-- What the last read of each listing left out, by reason (null, no_id, local_file, episode,
-- duplicate, unavailable): nothing is dropped without a count.
CREATE TABLE library.cloud_skips (
    source     VARCHAR NOT NULL,
    endpoint   VARCHAR NOT NULL,
    reason     VARCHAR NOT NULL,
    items      INTEGER NOT NULL,
    changed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (source, endpoint, reason)
);
"""

_V8_FILE_CHECKS = """
-- Written by audio_checks: every file decoded once, again only when its size or mtime change.
-- status: ok, broken (the decoder failed; reason and where), truncated (the audio ends well
-- before the length its header gives). audio_hash: the audio stream's packets hashed (tags
-- left out), so two files of the same audio with different tags share it.
CREATE TABLE library.file_checks (
    path        VARCHAR PRIMARY KEY,
    size        BIGINT NOT NULL,
    mtime_ns    BIGINT NOT NULL,
    status      VARCHAR NOT NULL CHECK (status IN ('ok', 'broken', 'truncated')),
    reason      VARCHAR,
    error_at_s  DOUBLE,
    header_s    DOUBLE,
    decoded_s   DOUBLE,
    audio_hash  VARCHAR,
    codec       VARCHAR,
    checked_at  TIMESTAMP NOT NULL
);
"""

_V9_BROKEN_FILES = """
-- Files on disk whose last check (of this very size and mtime) found them broken or truncated,
-- with the track each is a file of and where that track stands: a track with no good file is
-- not downloaded (pending when owned), and the import of a good copy moves the broken one to
-- .soulspot-replaced/ (kept, never deleted), which takes it off this list.
CREATE VIEW library.broken_files AS
SELECT c.path, c.status, c.reason, c.error_at_s, c.header_s, c.decoded_s, c.checked_at,
       f.track_id, f.is_primary, t.title, ar.name AS artist_name, t.download_state
FROM library.file_checks c
JOIN library.local_files l ON l.path = c.path AND NOT l.missing AND l.size = c.size AND l.mtime_ns = c.mtime_ns
LEFT JOIN library.track_files f ON f.path = c.path
LEFT JOIN library.tracks t ON t.track_id = f.track_id
LEFT JOIN library.artists ar ON ar.artist_id = t.artist_id
WHERE c.status <> 'ok';
"""

_V10_DUPLICATES = """
-- Groups of present files that are one track (several track_files of a track) or one audio
-- (the same audio_hash), joined transitively: a file is in one group at most. Written after
-- the merge by Python (domain.file_choice), which decides which file is kept and why.
-- kind: track, audio or track+audio; rank 1 is kept; reason: for the kept file why it beats
-- the next one, for the others why the kept one beats them.
CREATE TABLE library.duplicate_files (
    path       VARCHAR PRIMARY KEY,
    group_id   VARCHAR NOT NULL,
    kind       VARCHAR NOT NULL CHECK (kind IN ('track', 'audio', 'track+audio')),
    track_id   VARCHAR,
    rank       INTEGER NOT NULL,
    kept       BOOLEAN NOT NULL,
    reason     VARCHAR NOT NULL,
    decided_at TIMESTAMP NOT NULL
);

CREATE VIEW library.duplicates AS
SELECT d.group_id, d.kind, d.rank, d.kept, d.reason, d.path, d.track_id, t.title,
       l.format, l.bitrate, l.bit_depth, l.sample_rate, l.size, c.audio_hash, c.status AS check_status,
       d.decided_at
FROM library.duplicate_files d
JOIN library.local_files l ON l.path = d.path
LEFT JOIN library.tracks t ON t.track_id = d.track_id
LEFT JOIN library.file_checks c ON c.path = d.path AND c.size = l.size AND c.mtime_ns = l.mtime_ns;
"""

_V11_DOWNLOAD_CONTROL = """
-- The user's hand on downloads (written by the control jobs, read by the downloads phase):
-- switches such as 'paused' ('true' / 'false').
CREATE TABLE library.download_control (
    key        VARCHAR PRIMARY KEY,
    value      VARCHAR NOT NULL,
    changed_at TIMESTAMP NOT NULL
);

-- A track's place in the queue the user set: higher is searched first (unset counts as 0).
CREATE TABLE library.download_priorities (
    track_id VARCHAR PRIMARY KEY,
    priority INTEGER NOT NULL,
    set_at   TIMESTAMP NOT NULL
);

-- Each transfer's speed and expected end, from slskd's averageSpeed and bytesRemaining.
ALTER TABLE library.downloads ADD COLUMN speed_bps DOUBLE;
ALTER TABLE library.downloads ADD COLUMN eta_at TIMESTAMP;
"""

_V12_STATUS = f"""
-- Each phase's health, from the Dagster instance (its runs live there, not here): written by
-- status_sensor when a row changes. state/detail/since are the phase's row of library.status.
CREATE TABLE library.phase_status (
    phase         VARCHAR PRIMARY KEY,
    state         VARCHAR NOT NULL {_one_of("state", ("ok", "problem", "off"))},
    detail        VARCHAR NOT NULL,
    since         TIMESTAMP,
    last_success  TIMESTAMP,
    last_failure  TIMESTAMP,
    last_error    VARCHAR,      -- the first line of the failed step's error
    schedule      VARCHAR,      -- the cron it is held to; NULL: started by a sensor or its upstream
    watched_since TIMESTAMP NOT NULL,
    changed_at    TIMESTAMP NOT NULL
);

-- The Soulseek search budget in use (its ledger is data/slskd/searches.sqlite), by status_sensor.
CREATE TABLE library.search_budget_use (
    searches     INTEGER NOT NULL,
    max_searches INTEGER NOT NULL,
    window_s     DOUBLE NOT NULL,
    checked_at   TIMESTAMP NOT NULL
);

-- Is everything healthy? One row per item: phases, providers (the circuit breaker), downloads
-- by state and whether they are paused, broken files, the search budget. state: ok, problem or off.
CREATE VIEW library.status AS
SELECT 'phase' AS area, phase AS name, state, detail, since FROM library.phase_status
UNION ALL
SELECT 'provider', source,
       CASE WHEN failures > 0 THEN 'problem' ELSE 'ok' END,
       CASE WHEN failures = 0 THEN 'syncing'
            ELSE failures || ' failed sync(s) in a row'
                 || coalesce(', rested until ' || strftime(open_until, '%Y-%m-%d %H:%M'), '')
                 || ': ' || coalesce(last_error, 'no message') END,
       changed_at
FROM library.provider_health
UNION ALL
SELECT 'downloads', k.name,
       CASE WHEN k.name = 'failed' AND coalesce(c.n, 0) > 0 THEN 'problem' ELSE 'ok' END,
       coalesce(c.n, 0) || ' tracks', c.since
FROM (VALUES ('pending'), ('downloading'), ('failed'), ('not_found')) k(name)
LEFT JOIN (
    SELECT CASE WHEN d.state IN ('downloading', 'failed', 'not_found') THEN d.state
                WHEN t.download_state = 'pending' THEN 'pending' END AS name,
           count(*) AS n, max(d.updated_at) AS since
    FROM library.tracks t LEFT JOIN library.downloads d USING (track_id)
    GROUP BY 1
) c USING (name)
UNION ALL
SELECT 'files', 'broken', CASE WHEN count(*) > 0 THEN 'problem' ELSE 'ok' END,
       count(*) || ' broken files (library.broken_files)', max(checked_at)
FROM library.broken_files
UNION ALL
SELECT 'downloads', 'paused', CASE WHEN paused THEN 'off' ELSE 'ok' END,
       CASE WHEN paused THEN 'paused by pause_downloads: no new search (resume_downloads starts them again)'
            ELSE 'searching (SOULSPOT_DOWNLOADS_PAUSED=true also pauses)' END,
       changed_at
FROM (SELECT coalesce(max(value) = 'true', false) AS paused, max(changed_at) AS changed_at
      FROM library.download_control WHERE key = 'paused')
UNION ALL
SELECT 'soulseek', 'search budget', 'ok',
       searches || ' of ' || max_searches || ' searches in the last ' || round(window_s)::INTEGER || ' s',
       checked_at
FROM library.search_budget_use;
"""

_V13_NOTIFICATIONS = f"""
-- The notification outbox: each event once (event_key is its stable identity; producers insert
-- with ON CONFLICT DO NOTHING in the transaction of the change they report), then its delivery
-- by notifications_sensor. state: pending until a tick claims it (sending), then sent; skipped
-- (its kind is not in SOULSPOT_NOTIFY_EVENTS, or it was over a day old when it could first go
-- out: last_error says which); given_up after the last failed attempt, or when the tick sending
-- it was cut off (never sent twice). last_error never holds a notifier's URL.
CREATE TABLE library.notifications (
    event_key       VARCHAR PRIMARY KEY,
    kind            VARCHAR NOT NULL {_one_of("kind", NOTIFICATION_KINDS)},
    run_id          VARCHAR,      -- the Dagster run it happened in; its digest waits for the run's end
    subject         VARCHAR NOT NULL,
    detail          VARCHAR NOT NULL,
    happened_at     TIMESTAMP NOT NULL,
    recorded_at     TIMESTAMP NOT NULL,
    state           VARCHAR NOT NULL DEFAULT 'pending' {_one_of("state", NOTIFICATION_STATES)},
    attempts        INTEGER NOT NULL DEFAULT 0,
    delivered_to    INTEGER[] NOT NULL DEFAULT [],  -- notifiers (1 = the first URL) that have it
    last_error      VARCHAR,
    next_attempt_at TIMESTAMP,
    claimed_at      TIMESTAMP,    -- when a tick claimed it for sending (state sending)
    sent_at         TIMESTAMP,
    message_title   VARCHAR       -- the title of the digest it went out in
);
"""

_V14_REQUESTS = f"""
-- Written by the `request` job: one row per item the user asked for (a link or a search), what
-- it resolved to, and, for an ambiguous search, the candidates to pick from (JSON, best first:
-- n, source, track_id, artist, title, album, album_type, duration_ms, score, link).
CREATE TABLE library.request_items (
    request_id   INTEGER PRIMARY KEY,
    asked        VARCHAR NOT NULL,   -- what the user typed
    kind         VARCHAR NOT NULL {_one_of("kind", ("track", "album", "playlist", "artist", "search", "unknown"))},
    source       VARCHAR,            -- spotify | deezer | musicbrainz: who resolved it
    source_id    VARCHAR,            -- the provider's id of the item asked for (a search: the track chosen)
    resolved_to  VARCHAR,            -- its name, e.g. "Air - Moon Safari"
    status       VARCHAR NOT NULL {_one_of("status", ("resolved", "ambiguous", "not_found", "failed"))},
    candidates   JSON,
    picked       INTEGER,            -- the candidate the user picked (an ambiguous search, then resolved)
    error        VARCHAR,            -- why it failed or found nothing, one line
    only_missing BOOLEAN NOT NULL,
    run_id       VARCHAR,
    requested_at TIMESTAMP NOT NULL,
    resolved_at  TIMESTAMP
);

-- The tracks each request resolved to, in the provider's shape. The merge reads the wanted ones:
-- they become owned (reason `request`) and pending, served before auto-queue. `wanted` is false
-- for a track the library already had a file of when asked with only_missing (held_track_id).
CREATE TABLE library.request_tracks (
    request_id        INTEGER NOT NULL,
    position          INTEGER NOT NULL,
    source            VARCHAR NOT NULL,
    source_track_id   VARCHAR NOT NULL,
    title             VARCHAR NOT NULL,
    artist_name       VARCHAR,
    source_artist_id  VARCHAR,
    album_title       VARCHAR,
    source_album_id   VARCHAR,
    album_artist_name VARCHAR,
    source_album_artist_id VARCHAR,
    album_type        VARCHAR,
    release_date      VARCHAR,
    total_tracks      INTEGER,
    isrc              VARCHAR,
    duration_ms       BIGINT,
    track_number      INTEGER,
    disc_number       INTEGER,
    wanted            BOOLEAN NOT NULL,
    held_track_id     VARCHAR,
    PRIMARY KEY (request_id, position)
);

-- Each requested track with the library track it became and where its download stands.
CREATE VIEW library.requested_tracks AS
SELECT q.request_id, q.position, q.source, q.source_track_id, q.artist_name, q.title, q.album_title, q.wanted,
       coalesce(l.entity_id, q.held_track_id) AS track_id,
       CASE WHEN NOT q.wanted THEN 'already_had'
            WHEN t.download_state = 'pending' AND d.state = 'not_found' THEN 'not_found'
            WHEN t.download_state = 'not_needed' AND d.state = 'abandoned' THEN 'cancelled'
            ELSE t.download_state END AS progress
FROM library.request_tracks q
LEFT JOIN library.source_links l
  ON l.entity_type = 'track' AND l.source = 'request' AND l.source_id = q.source || ':' || q.source_track_id
LEFT JOIN library.tracks t ON t.track_id = coalesce(l.entity_id, q.held_track_id)
LEFT JOIN library.downloads d ON d.track_id = t.track_id;

-- One row per request: what was asked, what it resolved to, and its tracks' progress.
CREATE VIEW library.requests AS
SELECT r.request_id, r.asked, r.kind, r.source, r.resolved_to, r.status,
       count(p.position) FILTER (WHERE p.wanted) AS tracks_requested,
       count(p.position) FILTER (WHERE p.progress = 'pending') AS pending,
       count(p.position) FILTER (WHERE p.progress = 'downloading') AS downloading,
       count(p.position) FILTER (WHERE p.progress = 'downloaded' AND p.wanted) AS downloaded,
       count(p.position) FILTER (WHERE p.progress = 'failed') AS failed,
       count(p.position) FILTER (WHERE p.progress = 'not_found') AS not_found,
       count(p.position) FILTER (WHERE p.progress = 'cancelled') AS cancelled,
       count(p.position) FILTER (WHERE NOT p.wanted) AS already_had,
       r.candidates, r.picked, r.error, r.only_missing, r.requested_at, r.resolved_at
FROM library.request_items r
LEFT JOIN library.requested_tracks p USING (request_id)
GROUP BY ALL;
"""

_V15_MERGE_STATE = """
-- What the library merge read when it last wrote (store/merge_state.py): a merge whose
-- inputs have the same fingerprint would change nothing, so it is skipped.
CREATE TABLE library.merge_state (
    fingerprint VARCHAR NOT NULL,
    merged_at   TIMESTAMP NOT NULL
);
"""

_V16_LYRICS = f"""
-- Written by lyrics: one row per owned track asked about, with the verdict. A found or
-- instrumental answer is kept for good; "not found anywhere" is asked again after
-- retry_after (SOULSPOT_LYRICS_RETRY_DAYS), a refused question after a day.
CREATE TABLE library.lyrics (
    track_id         VARCHAR PRIMARY KEY,
    status           VARCHAR NOT NULL {_one_of("status", ("synced", "plain", "instrumental", "not_found", "failed"))},
    source           VARCHAR,            -- lrclib (genius later); NULL when nothing was found
    source_id        VARCHAR,            -- the record's id at the source
    synced           BOOLEAN NOT NULL,   -- text is LRC ([mm:ss.xx] lines)
    instrumental     BOOLEAN NOT NULL,
    language         VARCHAR,            -- when the source says (LRCLIB does not)
    text             VARCHAR,            -- the lyrics: LRC when synced, else plain
    matched_title    VARCHAR,            -- what the source's record says, to explain the match
    matched_artist   VARCHAR,
    matched_album    VARCHAR,
    matched_duration DOUBLE,             -- seconds
    reason           VARCHAR,            -- why nothing, or why plain only
    attempts         INTEGER NOT NULL,
    fetched_at       TIMESTAMP NOT NULL,
    retry_after      TIMESTAMP,
    file_path        VARCHAR,            -- the .lrc/.txt written beside the audio (SOULSPOT_LYRICS_FILES)
    embedded_path    VARCHAR,            -- the audio file whose tags hold the lyrics (SOULSPOT_LYRICS_TAGS)
    embedded_at      TIMESTAMP
);
"""

_V17_LASTFM = """
-- Written by lastfm_metadata: each owned artist's similar artists on Last.fm, a discovery list.
-- Last.fm's order is kept in `rank` (1 = most similar); `match` is its 0..1 similarity.
CREATE TABLE library.similar_artists (
    artist_id    VARCHAR NOT NULL,
    similar_name VARCHAR NOT NULL,
    similar_mbid VARCHAR,
    match        DOUBLE NOT NULL,
    rank         INTEGER NOT NULL,
    fetched_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (artist_id, similar_name)
);

-- Written by lastfm_metadata: Last.fm's answers, so a re-run asks nothing it already knows.
-- `response` is what the answer said (tags or similar artists), NULL when Last.fm knows no such
-- artist or album.
CREATE TABLE library.lastfm_answers (
    key        VARCHAR PRIMARY KEY,
    method     VARCHAR NOT NULL,
    response   JSON,
    fetched_at TIMESTAMP NOT NULL
);
"""

_V18_ALBUM_MATCHES = """
-- Written by identified_entities: the local files of one album (a cluster: folder, album
-- artist, album) and each MusicBrainz release weighed for it, with the album's distance to
-- that release (0 = a perfect fit) and its parts. `chosen` marks the release the cluster's
-- tracks took: `accepted` for all of them, `partial` for those that fit (the others are
-- searched one by one).
CREATE TABLE library.release_candidates (
    cluster_key        VARCHAR NOT NULL,
    release_mbid       VARCHAR NOT NULL,
    rank               INTEGER NOT NULL,
    rule               VARCHAR NOT NULL,
    query              VARCHAR,
    cluster_artist     VARCHAR,
    cluster_album      VARCHAR,
    release_title      VARCHAR,
    release_artist     VARCHAR,
    release_group_mbid VARCHAR,
    release_date       VARCHAR,
    release_country    VARCHAR,
    track_count        INTEGER,
    files              INTEGER NOT NULL,
    matched_files      INTEGER NOT NULL,
    distance           DOUBLE NOT NULL,
    parts              JSON NOT NULL,
    status             VARCHAR NOT NULL CHECK (status IN ('accepted', 'partial', 'rejected')),
    chosen             BOOLEAN NOT NULL,
    reason             VARCHAR,
    decided_at         TIMESTAMP NOT NULL,
    PRIMARY KEY (cluster_key, release_mbid)
);

-- Written with release_candidates: for each candidate release, the release track each of the
-- cluster's tracks was assigned to (one to one, the least total distance) and the parts of
-- that track's distance: track number, title, length (each 0..1).
CREATE TABLE library.track_assignments (
    cluster_key    VARCHAR NOT NULL,
    release_mbid   VARCHAR NOT NULL,
    track_id       VARCHAR NOT NULL,
    recording_mbid VARCHAR,
    medium         INTEGER,
    position       INTEGER,
    distance       DOUBLE NOT NULL,
    number_part    DOUBLE NOT NULL,
    title_part     DOUBLE NOT NULL,
    length_part    DOUBLE NOT NULL,
    decided_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (cluster_key, release_mbid, track_id)
);
"""

_V19_FINGERPRINTS = """
-- Written by identified_entities: one Chromaprint fingerprint per file content, so the same
-- audio is never decoded for it twice. content_hash: 'audio:' and the decode check's
-- audio_hash (tags left out: a retagged, moved or duplicated file keeps it), else 'file:' and
-- a digest of the path, size and mtime (files not decoded yet, or not decodable). error: why
-- no fingerprint could be made (the row stands, so the file is not tried again); tool:
-- 'library' (PyAV decoding into libchromaprint) or 'fpcalc'.
CREATE TABLE library.fingerprints (
    content_hash VARCHAR PRIMARY KEY,
    duration_s   INTEGER,
    fingerprint  VARCHAR,
    error        VARCHAR,
    tool         VARCHAR,
    computed_at  TIMESTAMP NOT NULL,
    CHECK ((fingerprint IS NULL) <> (error IS NULL))
);

-- AcoustID's answer to each fingerprint: the JSON list of its results as sent (an empty list:
-- no match), kept until it is older than the lookup's time to live and asked again.
CREATE TABLE library.acoustid_answers (
    content_hash VARCHAR PRIMARY KEY,
    response     JSON NOT NULL,
    fetched_at   TIMESTAMP NOT NULL
);
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "library store: local files, scan errors, artists, albums, tracks", _V1_LIBRARY),
    Migration(2, "cloud likes, user decisions, playlists and source links", _V2_CLOUD),
    Migration(3, "MusicBrainz identifications, match candidates, metadata with provenance, aliases", _V3_MUSICBRAINZ),
    Migration(4, "discographies, gaps, wanted and missing tracks, completeness views, images", _V4_EXPAND),
    Migration(5, "downloads, download candidates, peer statistics", _V5_DOWNLOADS),
    Migration(
        6, "release tracklists: printed titles, pregap and data tracks in album completeness", _V6_RELEASE_TRACKLISTS
    ),
    Migration(
        7, "cloud endpoints may be partial; what each cloud listing skipped, by reason", _V7_CLOUD_PARTIAL_AND_SKIPS
    ),
    Migration(8, "file checks: each file decoded once, its verdict and its audio hash", _V8_FILE_CHECKS),
    Migration(9, "broken files: on disk, found broken or truncated", _V9_BROKEN_FILES),
    Migration(10, "duplicates: files of one track or one audio, and which one the library keeps", _V10_DUPLICATES),
    Migration(11, "download control: pause switch, user priorities, transfer speed and ETA", _V11_DOWNLOAD_CONTROL),
    Migration(12, "health: phase status, search budget in use, the library.status view", _V12_STATUS),
    Migration(13, "notifications: each event once, its digest and delivery", _V13_NOTIFICATIONS),
    Migration(14, "requests by link or search: what was asked, what it resolved to, its tracks", _V14_REQUESTS),
    Migration(15, "merge state: the fingerprint of what the last merge read", _V15_MERGE_STATE),
    Migration(16, "lyrics: synced or plain, from LRCLIB or Genius, per track", _V16_LYRICS),
    Migration(17, "Last.fm: similar artists of owned artists", _V17_LASTFM),
    Migration(
        18, "album matching: release candidates per album cluster and each file's assigned track", _V18_ALBUM_MATCHES
    ),
    Migration(19, "acoustic fingerprints per file content and their AcoustID matches", _V19_FINGERPRINTS),
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


def migrate(conn: duckdb.DuckDBPyConnection, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
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
