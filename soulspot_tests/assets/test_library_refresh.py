"""The discover and library phases materialized by Dagster against tmp_path DuckDB files."""

import threading

import dagster as dg
import pytest

from soulspot_pipeline import connect
from soulspot_pipeline.assets.discover import local_scan
from soulspot_pipeline.assets.library import (
    downloaded_files_exist,
    library_entities,
    no_orphaned_tracks,
    unique_local_paths,
)
from soulspot_pipeline.assets.shared import rebuild
from soulspot_pipeline.devkit.synth import write_audio_file
from soulspot_pipeline.resources.music_folder import MusicFolder
from soulspot_pipeline.resources.policies import LibraryPolicy
from soulspot_tests.results import materialize, metadata

pytestmark = pytest.mark.integration  # assets and jobs run through Dagster against stand-ins

ASSETS = [local_scan, library_entities, unique_local_paths, no_orphaned_tracks, downloaded_files_exist]


def refresh(library_db, music_dir, auto_queue=False, **kwargs):
    result = materialize(
        ASSETS,
        resources={
            "library_db": library_db,
            "music_folder": MusicFolder(music_dir=str(music_dir), scan_workers=2),
            "library_policy": LibraryPolicy(auto_queue_downloads=auto_queue),
        },
        **kwargs,
    )
    assert result.success
    return result


def snapshot_of(library_db):
    with library_db.reader() as conn:
        return {
            table: conn.execute(f"SELECT * FROM library.{table} ORDER BY ALL").fetchall()
            for table in ("local_files", "scan_errors", "artists", "albums", "tracks", "entity_keys", "track_files")
        }


def make_album(music_dir, artist="Air", album="Moon Safari", titles=("La femme d'argent", "Sexy Boy", "All I Need")):
    folder = music_dir / artist / album
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n, title in enumerate(titles, 1):
        path = folder / f"{n:02d} {title}.flac"
        write_audio_file(
            path,
            "flac",
            {
                "artist": artist,
                "album": album,
                "title": title,
                "track_number": n,
                "track_total": len(titles),
                "date": "1998",
            },
        )
        paths.append(path)
    return paths


def test_a_refresh_builds_the_library_and_a_second_changes_no_row(library_db, music_dir):
    paths = make_album(music_dir)
    write_audio_file(
        music_dir / "Air" / "Moon Safari" / "01 La femme d'argent.mp3",
        "mp3",
        {"artist": "Air", "album": "Moon Safari", "title": "La Femme d'Argent"},
    )
    (music_dir / "broken.mp3").write_bytes(b"garbage" * 10)

    first = refresh(library_db, music_dir)
    scan_meta = metadata(first, "local_scan")
    assert (scan_meta["seen"], scan_meta["new"], scan_meta["errors"]) == (5, 5, 1)
    assert scan_meta["formats"] == {"flac": 3, "mp3": 1}
    assert scan_meta["dagster/row_count"] == 4
    assert "Moon Safari" in scan_meta["preview"]
    library_meta = metadata(first, "library_entities")
    assert (library_meta["artists"], library_meta["albums"], library_meta["tracks"]) == (1, 1, 3)
    assert library_meta["duplicate_files"] == 1
    assert all(check.passed for check in first.get_asset_check_evaluations())
    with library_db.reader() as conn:
        tracks = conn.execute(
            "SELECT title, ownership_state, download_state, primary_source, local_path, audio_format, sample_rate, bit_depth "
            "FROM library.tracks ORDER BY track_number"
        ).fetchall()
    assert tracks[0] == ("La femme d'argent", "owned", "downloaded", "local", str(paths[0]), "flac", 44100, 16)
    assert {t[1:4] for t in tracks} == {("owned", "downloaded", "local")}

    assert metadata(first, "library_entities")["up_to_date"] is False

    before = snapshot_of(library_db)
    second = refresh(library_db, music_dir)
    assert snapshot_of(library_db) == before
    # Nothing it reads changed: the merge is skipped, and says so with the same counts.
    second_meta = metadata(second, "library_entities")
    assert second_meta["up_to_date"] is True
    assert data_version(second) == data_version(first)  # the UI sees the same data: downstream up to date
    assert (second_meta["artists"], second_meta["albums"], second_meta["tracks"]) == (1, 1, 3)
    # Skipping is safe because a merge of unchanged inputs changes no row.
    with library_db.writer() as conn:
        changes = rebuild(conn, LibraryPolicy()).changes
    assert set(changes) >= {"artists", "albums", "tracks", "track_files"}
    assert all_zero(changes), changes
    assert snapshot_of(library_db) == before


def test_the_merge_runs_again_when_a_file_a_decision_or_a_setting_changed(library_db, music_dir):
    paths = make_album(music_dir)
    refresh(library_db, music_dir)
    assert metadata(refresh(library_db, music_dir), "library_entities")["up_to_date"] is True

    write_audio_file(paths[1], "flac", {"artist": "Air", "album": "Moon Safari", "title": "Sexy Boy (Remix)"})
    retagged = metadata(refresh(library_db, music_dir), "library_entities")
    assert retagged["up_to_date"] is False
    with library_db.reader() as conn:
        assert conn.execute("SELECT count(*) FROM library.tracks WHERE title = 'Sexy Boy (Remix)'").fetchall() == [(1,)]

    with library_db.writer() as conn:
        track_id = conn.execute("SELECT track_id FROM library.tracks ORDER BY track_id LIMIT 1").fetchall()[0][0]
        conn.execute("INSERT INTO library.user_decisions VALUES ('track', ?, 'ignored', now()::TIMESTAMP)", [track_id])
    assert metadata(refresh(library_db, music_dir), "library_entities")["up_to_date"] is False
    with library_db.reader() as conn:
        assert conn.execute("SELECT ownership_state FROM library.tracks WHERE track_id = ?", [track_id]).fetchall() == [
            ("ignored",)
        ]

    assert metadata(refresh(library_db, music_dir, auto_queue=True), "library_entities")["up_to_date"] is False
    assert metadata(refresh(library_db, music_dir, auto_queue=True), "library_entities")["up_to_date"] is True


def data_version(result) -> str:
    (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey("library_entities")]
    return event.materialization.tags["dagster/data_version"]


def all_zero(counts) -> bool:
    return all(all_zero(v) if isinstance(v, dict) else v == 0 for v in counts.values())


def test_a_vanished_file_leaves_downloaded_and_falls_back_to_its_duplicate(library_db, music_dir):
    flac, *_ = make_album(music_dir)
    mp3 = flac.with_suffix(".mp3")
    write_audio_file(mp3, "mp3", {"artist": "Air", "album": "Moon Safari", "title": "La femme d'argent"})
    refresh(library_db, music_dir, auto_queue=True)

    flac.unlink()
    refresh(library_db, music_dir, auto_queue=True)
    with library_db.reader() as conn:
        assert conn.execute(
            "SELECT download_state, local_path FROM library.tracks WHERE title = 'La femme d''argent'"
        ).fetchall() == [("downloaded", str(mp3))]

    mp3.unlink()
    result = refresh(library_db, music_dir, auto_queue=True)
    with library_db.reader() as conn:
        assert conn.execute(
            "SELECT ownership_state, download_state, local_path FROM library.tracks WHERE title = 'La femme d''argent'"
        ).fetchall() == [("owned", "pending", None)]
        assert conn.execute("SELECT count(*) FROM library.local_files WHERE missing").fetchall() == [(2,)]
    assert all(check.passed for check in result.get_asset_check_evaluations())


def test_the_checks_catch_a_broken_library(library_db, music_dir):
    make_album(music_dir)
    refresh(library_db, music_dir)
    with library_db.writer() as conn:
        conn.execute("UPDATE library.tracks SET local_path = '/nowhere/x.flac' WHERE track_number = 1")
        conn.execute(
            "UPDATE library.tracks SET local_path = (SELECT local_path FROM library.tracks WHERE track_number = 2) WHERE track_number = 3"
        )
        conn.execute("UPDATE library.tracks SET album_id = 'no-such-album' WHERE track_number = 2")
    with library_db.reader():
        pass
    result = materialize(
        [library_entities, unique_local_paths, no_orphaned_tracks, downloaded_files_exist],
        selection=dg.AssetSelection.checks(unique_local_paths, no_orphaned_tracks, downloaded_files_exist),
        resources={"library_db": library_db, "library_policy": LibraryPolicy()},
        raise_on_error=False,
    )
    outcomes = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert outcomes == {"unique_local_paths": False, "no_orphaned_tracks": False, "downloaded_files_exist": False}


def test_a_notebook_held_open_for_a_whole_run_keeps_answering(published_library_db, music_dir):
    library_db = published_library_db
    make_album(music_dir)
    refresh(library_db, music_dir)
    notebook = connect(library_db.snapshot_path)
    answers = []
    stop = threading.Event()

    def keep_asking():
        while not stop.is_set():
            answers.append(notebook.execute("SELECT count(*) FROM library.tracks").fetchall()[0][0])

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        make_album(music_dir, album="Talkie Walkie", titles=("Venus", "Cherry Blossom Girl"))
        refresh(library_db, music_dir)
    finally:
        stop.set()
        asker.join()
    assert answers and set(answers) == {3}
    assert connect(library_db.snapshot_path).execute("SELECT count(*) FROM library.tracks").fetchall() == [(5,)]


def test_an_unconfigured_music_folder_is_an_empty_library_and_the_run_succeeds(library_db, tmp_path):
    result = refresh(library_db, tmp_path / "no-music-yet")
    assert metadata(result, "local_scan")["status"] == "music folder does not exist"
    assert metadata(result, "library_entities")["tracks"] == 0
