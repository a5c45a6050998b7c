"""The scan against real files on disk and a real DuckDB file."""

import os
from pathlib import Path

import pytest

from soulspot_pipeline.devkit.synth import FORMATS, write_audio_file
from soulspot_pipeline.scan.scanner import MusicFolderUnavailableError, scan_music_folder

TAGS = {
    "artist": "Sigur Rós",
    "albumartist": "Sigur Rós",
    "album": 'Ágætis "byrjun"',
    "title": "Svefn-g-englar's",
    "track_number": 2,
    "track_total": 10,
    "disc_number": 1,
    "disc_total": 2,
    "date": "1999-06-12",
    "genre": "Post-Rock",
    "isrc": "ISX019900023",
    "recording_mbid": "5b3c1b5a-0c3f-4d3c-9d16-6f0c1f7a9b01",
    "release_mbid": "5b3c1b5a-0c3f-4d3c-9d16-6f0c1f7a9b02",
    "release_group_mbid": "5b3c1b5a-0c3f-4d3c-9d16-6f0c1f7a9b03",
    "artist_mbid": "f6f2326f-6b25-4170-b89d-e235b25508e8",
}
EXTENSION = {"ogg": "ogg", "opus": "opus", "wv": "wv"}


def scan(library_db, music_dir, **kwargs):
    with library_db.writer() as conn:
        return scan_music_folder(conn, music_dir, **kwargs)


def rows(library_db, sql):
    with library_db.reader() as conn:
        return conn.execute(sql).fetchall()


def make_library(music_dir: Path, count: int, formats=("flac", "mp3", "ogg")) -> list[Path]:
    paths = []
    for n in range(count):
        fmt = formats[n % len(formats)]
        path = music_dir / f"Artist {n % 7}" / f"Album {n % 13}" / f"{n:04d} Song.{fmt}"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_audio_file(
            path,
            fmt,
            {"artist": f"Artist {n % 7}", "album": f"Album {n % 13}", "title": f"Song {n}", "track_number": n % 20 + 1},
        )
        paths.append(path)
    return paths


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_is_read_with_its_tags_and_audio_properties(library_db, music_dir, fmt):
    path = music_dir / "Sigur Rós" / 'Ágætis "byrjun"' / f"02 Svefn-g-englar's.{EXTENSION.get(fmt, fmt)}"
    path.parent.mkdir(parents=True)
    write_audio_file(path, fmt, TAGS, seconds=2.0)
    summary = scan(library_db, music_dir)
    assert (summary.seen, summary.new, summary.errors) == (1, 1, 0)
    with library_db.reader() as conn:
        row = conn.sql("SELECT * FROM library.local_files").pl().to_dicts()[0]
    assert row["path"] == str(path)
    assert row["size"] == path.stat().st_size and row["mtime_ns"] == path.stat().st_mtime_ns
    assert abs(row["duration_ms"] - 2000) <= 100
    assert row["channels"] == 2 and row["missing"] is False
    for name, value in TAGS.items():
        assert row[name] == value, name


def test_rescans_are_incremental_and_nothing_is_ever_deleted(library_db, music_dir):
    paths = make_library(music_dir, 300)
    first = scan(library_db, music_dir, workers=2)
    assert (first.seen, first.new, first.read, first.errors) == (300, 300, 300, 0)
    before = rows(library_db, "SELECT * FROM library.local_files ORDER BY path")

    second = scan(library_db, music_dir, workers=2)
    assert (second.unchanged, second.read, second.new, second.changed) == (300, 0, 0, 0)
    assert rows(library_db, "SELECT * FROM library.local_files ORDER BY path") == before

    touched = paths[:3]
    for path in touched:
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))
    third = scan(library_db, music_dir, workers=2)
    assert (third.changed, third.read, third.unchanged) == (3, 3, 297)

    gone = paths[10]
    kept = gone.read_bytes(), gone.stat().st_mtime_ns
    gone.unlink()
    fourth = scan(library_db, music_dir)
    assert fourth.missing == 1
    assert rows(
        library_db, f"SELECT missing, missing_since IS NOT NULL FROM library.local_files WHERE path = '{gone}'"
    ) == [(True, True)]
    assert rows(library_db, "SELECT count(*) FROM library.local_files") == [(300,)]

    gone.write_bytes(kept[0])
    os.utime(gone, ns=(kept[1], kept[1]))
    fifth = scan(library_db, music_dir)
    assert (fifth.reappeared, fifth.read) == (1, 0)
    assert rows(library_db, f"SELECT missing, missing_since FROM library.local_files WHERE path = '{gone}'") == [
        (False, None)
    ]


def test_unreadable_files_become_scan_errors_and_the_scan_goes_on(library_db, music_dir):
    write_audio_file(music_dir / "good.flac", "flac", {"title": "good"})
    (music_dir / "zero.mp3").write_bytes(b"")
    (music_dir / "truncated.flac").write_bytes((music_dir / "good.flac").read_bytes()[:30])
    (music_dir / "text.flac").write_text("this is not audio\n" * 20)
    (music_dir / "README").write_text("no extension, not audio")
    (music_dir / "cover.jpg").write_bytes(b"\xff\xd8\xff\xe0 not scanned")
    write_audio_file(music_dir / "actually-flac.mp3", "flac", {"title": "misnamed"})
    write_audio_file(music_dir / "no-extension", "mp3", {"title": "bare"})
    bad = music_dir / "bad-text.flac"
    write_audio_file(bad, "flac", {"title": "XXBADXX", "artist": "fine"})
    bad.write_bytes(bad.read_bytes().replace(b"XXBADXX", b"X\xff\xfe\xfdXXX"))

    summary = scan(library_db, music_dir)
    assert summary.seen == 8 and summary.ignored_non_audio == 1
    errors = dict(
        rows(
            library_db,
            "SELECT replace(path, '"
            + str(music_dir)
            + "/', ''), error FROM library.scan_errors WHERE kind = 'unreadable'",
        )
    )
    assert set(errors) == {"zero.mp3", "truncated.flac", "text.flac", "README"}
    assert errors["zero.mp3"] == "empty file (0 bytes)"
    assert errors["README"].startswith("not audio")
    assert all(errors.values())
    read = dict(
        rows(library_db, "SELECT replace(path, '" + str(music_dir) + "/', ''), format FROM library.local_files")
    )
    assert read == {"good.flac": "flac", "actually-flac.mp3": "flac", "no-extension": "mp3", "bad-text.flac": "flac"}
    warnings = dict(
        rows(
            library_db,
            "SELECT replace(path, '"
            + str(music_dir)
            + "/', ''), error FROM library.scan_errors WHERE kind = 'tag_warning'",
        )
    )
    assert "content is flac" in warnings["actually-flac.mp3"]
    assert "not valid text" in warnings["bad-text.flac"]
    assert rows(library_db, f"SELECT artist, title LIKE 'X%XXX' FROM library.local_files WHERE path = '{bad}'") == [
        ("fine", True)
    ]

    again = scan(library_db, music_dir)
    assert (again.read, again.errors, again.unchanged_errors) == (0, 0, 4)  # not reopened

    (music_dir / "zero.mp3").unlink()
    write_audio_file(music_dir / "text.flac", "flac", {"title": "fixed"})
    fixed = scan(library_db, music_dir)
    assert fixed.read == 1
    assert {p for (p,) in rows(library_db, "SELECT path FROM library.scan_errors WHERE kind = 'unreadable'")} == {
        str(music_dir / "truncated.flac"),
        str(music_dir / "README"),
    }


def test_odd_and_hostile_file_names(library_db, music_dir):
    names = [
        "Björk – Jóga.flac",
        'It\'s "quoted".mp3',
        "  spaced  out  .ogg",
        "日本語の曲.opus",
        "semi;colon & $dollar `tick`.flac",
    ]
    for name in names:
        write_audio_file(music_dir / name, name.rsplit(".", 1)[1], {"title": name})
    undecodable = os.fsencode(str(music_dir)) + b"/caf\xe9.mp3"
    with open(undecodable, "wb") as out:
        out.write(b"\x00" * 10)
    hidden = music_dir / ".hidden" / "secret.flac"
    hidden.parent.mkdir()
    write_audio_file(hidden, "flac", {"title": "hidden"})

    summary = scan(library_db, music_dir)
    assert summary.read == len(names)
    assert {t for (t,) in rows(library_db, "SELECT title FROM library.local_files")} == {n.strip() for n in names}
    assert rows(library_db, "SELECT path, error FROM library.scan_errors") == [
        (str(music_dir) + "/caf\ufffd.mp3", "file name is not valid UTF-8; rename the file to scan it")
    ]
    before = rows(library_db, "SELECT * FROM library.scan_errors")
    scan(library_db, music_dir)
    assert rows(library_db, "SELECT * FROM library.scan_errors") == before  # reported once, not rewritten
    os.unlink(undecodable)
    scan(library_db, music_dir)
    assert rows(library_db, "SELECT * FROM library.scan_errors") == []


def test_an_unmounted_or_emptied_folder_marks_nothing_missing(library_db, music_dir, tmp_path):
    make_library(music_dir, 5)
    scan(library_db, music_dir)
    for path in music_dir.rglob("*.*"):
        path.unlink()
    with pytest.raises(MusicFolderUnavailableError, match="mounted"):
        scan(library_db, music_dir)
    music_dir.rename(tmp_path / "elsewhere")
    with pytest.raises(MusicFolderUnavailableError, match="does not exist"):
        scan(library_db, music_dir)
    (tmp_path / "elsewhere").rename(music_dir)
    assert rows(library_db, "SELECT count(*) FROM library.local_files WHERE missing") == [(0,)]
    assert scan(library_db, music_dir, allow_empty=True).missing == 5


def test_a_folder_that_does_not_exist_yet_is_an_empty_library(library_db, tmp_path):
    summary = scan(library_db, tmp_path / "nothing-yet")
    assert summary.folder_exists is False and summary.seen == 0
