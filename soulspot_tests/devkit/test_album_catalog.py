"""The noisy album catalogue: editions and decoys in the MusicBrainz catalogue, files of one
edition per album that the scan reads as the truth says, and the score of an identification."""

from __future__ import annotations

from pathlib import Path

import pytest

from soulspot_pipeline.devkit.album_catalog import AlbumWorld, build_album_catalog, score_identification
from soulspot_pipeline.scan.scanner import scan_music_folder
from soulspot_pipeline.store import entities
from soulspot_pipeline.store.database import LibraryDatabase


def scanned(world: AlbumWorld, tmp_path: Path) -> tuple[dict[str, tuple], LibraryDatabase]:
    """What the scan read per resolved path, after the library merge."""
    db = LibraryDatabase(database=str(tmp_path / "catalogue.duckdb"))
    with db.writer(publish=False) as conn:
        scan_music_folder(conn, world.root, workers=1)
        entities.rebuild_library(
            conn, auto_queue=False, source_order=("local",), metadata_order=("manual", "musicbrainz", "local")
        )
        rows = conn.execute(
            "SELECT path, duration_ms, artist, album, title, track_number, isrc, recording_mbid, release_mbid "
            "FROM library.local_files"
        ).fetchall()
    return {str(Path(r[0]).resolve()): r[1:] for r in rows}, db


def test_the_catalogue_has_editions_and_decoys_and_the_truth_is_consistent(tmp_path):
    world = build_album_catalog(tmp_path / "music", 30, 4, seed=3)
    again = build_album_catalog(tmp_path / "again", 30, 4, seed=3)
    assert [(a.artist, a.title, a.edition, a.release_mbid) for a in again.albums] == [
        (a.artist, a.title, a.edition, a.release_mbid) for a in world.albums
    ]
    assert again.catalog.releases.keys() == world.catalog.releases.keys()
    c = world.catalog
    editions = world.editions()
    assert all(editions[e] > 0 for e in ("original", "remaster", "deluxe")) and sum(editions.values()) == 30
    assert any(a.decoy_release_mbid for a in world.albums)
    for album in world.albums:
        original = c.releases[album.releases["original"]]
        assert original.title == album.title and original.release_group.artist.name == album.artist
        if "remaster" in album.releases:
            remaster = c.releases[album.releases["remaster"]]
            assert remaster.title == f"{album.title} (Remastered)" and remaster.media == original.media
            for mbid in original.media[0]:
                assert (
                    2000
                    <= abs((remaster.track_length(c.recordings[mbid]) or 0) - (c.recordings[mbid].length_ms or 0))
                    <= 6000
                )
        if "deluxe" in album.releases:
            deluxe = c.releases[album.releases["deluxe"]]
            assert deluxe.media[0][: len(original.media[0])] == original.media[0]
            assert len(deluxe.media[0]) > len(original.media[0])
        if album.decoy_release_mbid:
            decoy = c.releases[album.decoy_release_mbid]
            assert decoy.title == album.title and decoy.release_group.artist.name != album.artist
        release = c.releases[album.release_mbid]
        assert len(album.files) == len(release.media[0])
        for path in album.files:
            truth = world.files[str(path.resolve())]
            assert truth.release_mbid == album.release_mbid and truth.recording_mbid in release.media[0]
            assert path.parent.parent.name == album.artist and path.suffix == ".wav"
    assert world.tracks == sum(len(a.files) for a in world.albums)
    assert all(len(r.isrcs) == 1 for r in c.recordings.values())


def test_album_files_carry_no_ids_and_the_lengths_of_their_edition(tmp_path):
    world = build_album_catalog(tmp_path / "music", 12, 4, seed=5)
    read, db = scanned(world, tmp_path)
    assert len(read) == world.tracks
    c = world.catalog
    misspelled = 0
    for path, (duration_ms, artist, album, title, track_number, isrc, recording_mbid, release_mbid) in read.items():
        truth = world.files[path]
        expected = world.albums[truth.album]
        release, recording = c.releases[truth.release_mbid], c.recordings[truth.recording_mbid]
        assert abs(duration_ms - (release.track_length(recording) or 0)) <= 400
        assert artist == expected.artist and album in (expected.title, release.title)
        assert track_number == release.media[0].index(recording.mbid) + 1
        assert (isrc, recording_mbid, release_mbid) == (None, None, None)
        misspelled += title not in (recording.title, f"{recording.title} (Remastered)")
    assert misspelled > 0
    with db.writer(publish=False) as conn:
        score = score_identification(world, conn)
    assert (score.files, score.found, score.right_recording, score.right_release) == (world.tracks, world.tracks, 0, 0)


@pytest.mark.parametrize("kind", ["loose", "isrc", "mbid"])
def test_the_other_kinds(tmp_path, kind):
    world = build_album_catalog(tmp_path / "music", 6, 3, seed=9, kind=kind)
    read, db = scanned(world, tmp_path)
    assert len(read) == world.tracks
    for path, (_, _, album, _, track_number, isrc, recording_mbid, release_mbid) in read.items():
        truth = world.files[path]
        recording = world.catalog.recordings[truth.recording_mbid]
        if kind == "loose":
            assert Path(path).parent.name == "Loose" and (album, track_number, isrc) == (None, None, None)
        else:
            assert isrc == recording.isrcs[0]
        if kind == "mbid":
            assert (recording_mbid, release_mbid) == (truth.recording_mbid, truth.release_mbid)
        else:
            assert (recording_mbid, release_mbid) == (None, None)
    if kind == "mbid":
        with db.writer(publish=False) as conn:
            score = score_identification(world, conn)
        # Picard's tags alone give every file its recording and release.
        assert score.right_recording == score.right_release == world.tracks


def test_an_unknown_kind_is_refused(tmp_path):
    with pytest.raises(ValueError, match="kind"):
        build_album_catalog(tmp_path, 1, 1, kind="cd")
