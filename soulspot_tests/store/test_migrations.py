import duckdb
import pytest

from soulspot_pipeline.store.migrations import MIGRATIONS, Migration, SchemaTooNewError, current_version, migrate

CONTRACT = {
    "artists": "artist_id name sort_name artist_mbid spotify_id deezer_id ownership_state primary_source genres image_path",
    "albums": "album_id title artist_id release_group_mbid release_mbid spotify_id deezer_id album_type release_date total_tracks ownership_state image_path",
    "tracks": "track_id title artist_id album_id isrc recording_mbid spotify_id deezer_id duration_ms track_number disc_number ownership_state download_state primary_source local_path audio_format bitrate sample_rate bit_depth",
    "local_files": "path size mtime format duration_ms bitrate sample_rate bit_depth channels artist albumartist album title track_number disc_number date genre isrc recording_mbid release_mbid release_group_mbid artist_mbid missing",
    "scan_errors": "path error seen_at",
}


def columns(conn, table):
    return {
        name
        for (name,) in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'library' AND table_name = ?",
            [table],
        ).fetchall()
    }


def test_a_new_database_gets_every_contract_table_and_column(tmp_path):
    conn = duckdb.connect(str(tmp_path / "db.duckdb"))
    assert migrate(conn) == [m.version for m in MIGRATIONS]
    for table, wanted in CONTRACT.items():
        assert set(wanted.split()) <= columns(conn, table), table
    assert migrate(conn) == []  # idempotent


def test_states_outside_the_ownership_model_are_refused(tmp_path):
    conn = duckdb.connect()
    migrate(conn)
    with pytest.raises(duckdb.ConstraintException):
        conn.execute(
            "INSERT INTO library.tracks (track_id, title, artist_id, ownership_state, download_state, primary_source, created_at, updated_at) "
            "VALUES ('t', 'x', 'a', 'owned', 'maybe', 'local', now(), now())"
        )


def test_an_older_database_is_upgraded_in_place_and_keeps_its_rows(tmp_path):
    path = str(tmp_path / "db.duckdb")
    conn = duckdb.connect(path)
    migrate(conn, MIGRATIONS[:1])
    conn.execute(
        "INSERT INTO library.artists (artist_id, name, ownership_state, primary_source, created_at, updated_at) "
        "VALUES ('a1', 'Björk', 'owned', 'local', now(), now())"
    )
    conn.close()

    later = Migration(
        len(MIGRATIONS) + 1, "artists learn a website", "ALTER TABLE library.artists ADD COLUMN website VARCHAR"
    )
    conn = duckdb.connect(path)
    applied = migrate(conn, (*MIGRATIONS, later))
    assert applied[-1] == later.version
    assert conn.execute("SELECT name, country, website FROM library.artists").fetchall() == [("Björk", None, None)]
    assert current_version(conn) == later.version


def test_a_failing_migration_leaves_the_database_as_it_was(tmp_path):
    conn = duckdb.connect(str(tmp_path / "db.duckdb"))
    migrate(conn)
    broken = Migration(
        len(MIGRATIONS) + 1, "broken", "ALTER TABLE library.artists ADD COLUMN x INT; SELECT nonsense FROM nowhere"
    )
    with pytest.raises(duckdb.Error):
        migrate(conn, (*MIGRATIONS, broken))
    assert current_version(conn) == len(MIGRATIONS)
    assert "x" not in columns(conn, "artists")


def test_a_database_from_a_newer_version_is_refused(tmp_path):
    conn = duckdb.connect(str(tmp_path / "db.duckdb"))
    future = Migration(len(MIGRATIONS) + 1, "future", "SELECT 1")
    migrate(conn, (*MIGRATIONS, future))
    with pytest.raises(SchemaTooNewError, match="newer"):
        migrate(conn)
