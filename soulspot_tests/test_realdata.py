"""The scan over the real audio corpora beside the project (../shared/realdata).

These run whenever the real data is present (always in CI) and skip with the reason
otherwise. The oracle is mutagen's own easy-tag interface, read independently here.
"""

import mutagen
import mutagen.easyid3
import mutagen.id3
import pytest

from soulspot_pipeline.scan.read import AUDIO_EXTENSIONS
from soulspot_tests.assets.test_library_refresh import metadata, refresh


def _easy(path):
    try:
        audio = mutagen.File(path, easy=True)
    except Exception:
        return "unreadable"
    if audio is None or audio.info is None:
        return "unreadable"
    if isinstance(audio.tags, mutagen.id3.ID3) and not isinstance(audio.tags, mutagen.easyid3.EasyID3):
        return None  # AIFF/WAV have no easy interface; their tags are checked below by value
    return audio.tags or {}


def test_every_real_audio_file_is_a_row_or_a_reasoned_error(realdata, library_db):
    audio_files = sorted(p for p in realdata.rglob("*") if p.is_file() and p.suffix.lower().lstrip(".") in AUDIO_EXTENSIONS)
    assert len(audio_files) >= 20

    result = refresh(library_db, realdata)
    with library_db.reader() as conn:
        scanned = {row["path"]: row for row in conn.sql("SELECT * FROM library.local_files").pl().to_dicts()}
        errors = dict(conn.execute("SELECT path, error FROM library.scan_errors WHERE kind = 'unreadable'").fetchall())

    readable = 0
    for path in audio_files:
        easy = _easy(path)
        if easy == "unreadable":
            assert str(path) in errors and errors[str(path)], path
            continue
        readable += 1
        row = scanned[str(path)]
        assert row["duration_ms"] and row["duration_ms"] > 0, path
        if easy is None:
            continue
        for field in ("artist", "album", "title", "genre"):
            expected = easy.get(field)
            assert row[field] == (expected[0] if expected else None), (path, field)
        if easy.get("tracknumber"):
            assert row["track_number"] == int(easy["tracknumber"][0].split("/")[0]), path
    assert readable == len(scanned)
    assert {p.rsplit("/", 1)[1] for p in errors} >= {"emptyfile.mp3", "too-short.mp3"}
    assert metadata(result, "local_scan")["errors"] == len(errors)


def test_real_files_carry_their_musicbrainz_ids(realdata, library_db):
    refresh(library_db, realdata / "beets")
    with library_db.reader() as conn:
        rows = conn.execute(
            "SELECT format, recording_mbid, release_mbid, artist_mbid, track_number, track_total, disc_number, disc_total "
            "FROM library.local_files WHERE path LIKE '%/full.%' ORDER BY format"
        ).fetchall()
    assert {r[0] for r in rows} == {"aac", "aiff", "flac", "mp3", "opus", "vorbis"}
    for row in rows:
        assert row[1:] == (
            "8b882575-08a5-4452-a7a7-cbb8a1531f9e",
            "9e873859-8aa4-4790-b985-5a953e8ef628",
            "7cf0ea9d-86b9-4dad-ba9e-2355a64899ea",
            2, 3, 4, 5,
        ), row[0]


@pytest.mark.parametrize("name", ["silence-44-s.flac", "silence-44-s.mp3", "silence-44-s-v1.mp3"])
def test_one_song_in_three_files_is_one_owned_track(realdata, library_db, name):
    refresh(library_db, realdata / "mutagen")
    with library_db.reader() as conn:
        track = conn.execute(
            "SELECT t.title, t.local_path, t.audio_format, t.download_state FROM library.tracks t "
            "JOIN library.track_files f USING (track_id) WHERE f.path LIKE ?",
            [f"%/{name}"],
        ).fetchall()
    assert track == [("Silence", str(realdata / "mutagen/tests/data/silence-44-s.flac"), "flac", "downloaded")]
