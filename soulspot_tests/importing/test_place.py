"""Importing a download: verified, tagged in staging, placed inside the music folder, nothing lost."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import asdict, replace
from pathlib import Path, PurePosixPath

import pytest

from soulspot_pipeline.devkit.synth import write_audio_file
from soulspot_pipeline.domain.naming import DEFAULT_TEMPLATE, TemplateError, UnsafePathError
from soulspot_pipeline.domain.quality import Quality
from soulspot_pipeline.importing.place import (
    REPLACED,
    STAGING,
    clean_staging,
    import_download,
    place,
    stage,
)
from soulspot_pipeline.importing.tags import TaggingError, TrackTags
from soulspot_pipeline.importing.verify import ImportRejected, verify_download
from soulspot_pipeline.scan.walk import walk_music_folder
from soulspot_tests.importing.test_tags import jpeg, pictures, read_back

TAGS = TrackTags(
    title="Song",
    artist="Band",
    album="Record",
    albumartist="Band",
    track_number=3,
    track_total=10,
    disc_number=1,
    disc_total=1,
    date="2001-04-02",
    genre="Rock",
    isrc="GBAYE0100001",
    recording_mbid="0d7fc0a4-47bf-4b79-9a5e-35a4d2cbd3f8",
    release_mbid="2f6ba0b6-8b2e-4c6a-a1b9-2cf1e1b8a2e1",
    release_group_mbid="7a1c3c0e-3d1f-4b1a-9d55-0a5f6e6c6d01",
    artist_mbid="b10bbbfc-cf9e-42e0-be17-e2c3e1d2600d",
    albumartist_mbid="b10bbbfc-cf9e-42e0-be17-e2c3e1d2600d",
)
FIELDS = {"albumartist": "Band", "artist": "Band", "album": "Record", "date": "2001-04-02", "track": 3, "title": "Song"}
DESTINATION = PurePosixPath("Band/Record (2001)/03 - Song.flac")


def download(tmp_path: Path, name: str = "01 song.flac", fmt: str = "flac", **synth) -> Path:
    folder = tmp_path / "downloads"
    folder.mkdir(exist_ok=True)
    synth.setdefault("seconds", 2)
    return write_audio_file(folder / name, fmt, {"title": "peer's title", "artist": "peer"}, **synth)


def run_import(source: Path, music_dir: Path, **overrides):
    arguments = {
        "template": DEFAULT_TEMPLATE,
        "fields": FIELDS,
        "tags": TAGS,
        "cover_jpeg": jpeg(),
        "expected_duration_ms": 2000,
        "expected_size": source.stat().st_size,
        "existing": None,
    }
    return import_download(source, music_dir, **{**arguments, **overrides})


def tree(root: Path, *, skip: tuple[Path, ...] = ()) -> dict[str, str]:
    """Every file, folder and link below ``root`` (but ``skip``) with a digest of its content."""
    found = {}
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = [d for d in dirs if here / d not in skip]
        for name in dirs + files:
            path = here / name
            if path.is_symlink():
                found[str(path.relative_to(root))] = "-> " + os.readlink(path)
            elif path.is_dir():
                found[str(path.relative_to(root))] = "folder"
            else:
                found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def files(found: dict[str, str]) -> dict[str, str]:
    return {path: kind for path, kind in found.items() if kind != "folder"}


def library_files(music_dir: Path) -> list[str]:
    """What the scanner would see: audio files outside hidden folders."""
    return sorted(str(Path(stat.path).relative_to(music_dir)) for stat in walk_music_folder(music_dir))


# --- verification ---


def rejection(path: Path, **expected) -> str:
    expected.setdefault("expected_duration_ms", None)
    with pytest.raises(ImportRejected) as caught:
        verify_download(path, **expected)
    return caught.value.reason


def test_verify_rejects_empty_truncated_non_audio_and_wrong_length_files(tmp_path):
    empty = tmp_path / "empty.mp3"
    empty.touch()
    assert rejection(empty) == "empty file"
    assert rejection(tmp_path / "missing.mp3") == "file not found"

    song = download(tmp_path, seconds=2)
    size = song.stat().st_size
    assert rejection(song, expected_size=size + 1000) == f"size {size:,} of {size + 1000:,} bytes: truncated"
    assert rejection(song, expected_size=size - 1) == f"size {size:,} but {size - 1:,} bytes expected"
    assert rejection(song, expected_duration_ms=245_000) == "duration 0:02 but 4:05 expected"
    assert rejection(song, expected_duration_ms=8000, tolerance_s=5) == "duration 0:02 but 0:08 expected"
    assert verify_download(song, expected_duration_ms=6000, tolerance_s=5, expected_size=size).duration_ms == 2000

    text = tmp_path / "readme.mp3"
    text.write_text("Ripped by someone. Enjoy!\n" * 50)
    assert rejection(text).startswith("not audio: mutagen cannot read it (")
    junk = tmp_path / "junk.flac"
    junk.write_bytes(b"fLaC" + os.urandom(3000))
    assert rejection(junk).startswith("not audio: mutagen cannot read it (")


def test_verify_judges_the_content_not_the_name(tmp_path):
    song = download(tmp_path, "disguised.mp3", "flac", bits_per_sample=24, sample_rate=96000)
    facts = verify_download(song, expected_duration_ms=2000)
    assert (facts.format, facts.bit_depth, facts.sample_rate, facts.channels) == ("flac", 24, 96000, 2)
    assert facts.quality == Quality("flac", facts.bitrate, 24, 96000)


# --- a normal import ---


def test_an_import_lands_at_the_template_path_with_tags_and_leaves_the_source(tmp_path, music_dir):
    source = download(tmp_path)
    before = source.read_bytes()
    outcome = run_import(source, music_dir)

    assert outcome.status == "placed" and outcome.replaced_to is None
    assert outcome.path == music_dir / DESTINATION
    assert library_files(music_dir) == [str(DESTINATION)]
    assert read_back(outcome.path) == asdict(TAGS)
    assert [data for kind, data in pictures(outcome.path) if kind == 3] == [jpeg()]
    assert (outcome.facts.format, outcome.facts.duration_ms) == ("flac", 2000)
    assert source.read_bytes() == before
    assert list((music_dir / STAGING).iterdir()) == []


def test_the_extension_follows_the_content(tmp_path, music_dir):
    source = download(tmp_path, "song.mp3", "flac")
    assert run_import(source, music_dir).path == music_dir / DESTINATION


@pytest.mark.parametrize("fmt", ["mp3", "ogg", "opus", "m4a", "wv"])
def test_other_formats_import_with_their_own_extension(tmp_path, music_dir, fmt):
    source = download(tmp_path, f"song.{fmt}", fmt)
    outcome = run_import(source, music_dir, tags=replace(TAGS, title="Other"), fields={**FIELDS, "title": "Other"})
    assert outcome.path == music_dir / DESTINATION.with_name(f"03 - Other.{fmt}")
    assert read_back(outcome.path) == asdict(replace(TAGS, title="Other"))


def test_a_rejected_or_untaggable_download_leaves_nothing_behind(tmp_path, music_dir):
    truncated = download(tmp_path)
    with pytest.raises(ImportRejected, match="truncated"):
        run_import(truncated, music_dir, expected_size=truncated.stat().st_size + 1)

    wma = download(tmp_path, "song.wma", "wma")
    with pytest.raises(TaggingError):
        run_import(wma, music_dir)
    assert wma.exists()
    assert tree(music_dir) in ({}, {STAGING: "folder"})

    # The caller may import a format it cannot tag as it is.
    outcome = run_import(wma, music_dir, tags=None, cover_jpeg=None)
    assert outcome.path.name == "03 - Song.wma" and outcome.status == "placed"


# --- hostile names and values ---

HOSTILE = [
    "..",
    "../../outside/pwned",
    "/etc/passwd",
    "C:\\x",
    "\\\\server\\share\\x",
    "C:",
    "\x00\x1b[31m\r\n\x7f",
    "CON",
    "nul.flac",
    "....",
    " . ",
    "a/../../b",
    "~/.bashrc",
    ".hidden",
    "\u202eevil\u202c",
]


def assert_only_inside(tmp_path: Path, music_dir: Path, outside_before: dict[str, str]) -> None:
    assert tree(tmp_path, skip=(music_dir,)) == outside_before
    root = music_dir.resolve()
    for relative, kind in tree(music_dir).items():
        if not kind.startswith("-> "):  # the test's own planted links
            assert root in (music_dir / relative).resolve().parents


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_tag_values_never_land_outside_the_music_folder(tmp_path, music_dir, value):
    (tmp_path / "outside" / "etc").mkdir(parents=True)
    (tmp_path / "outside" / "etc" / "passwd").write_text("root:x:0:0\n")
    source = download(tmp_path, f"{value[:20].replace('/', '_').replace(chr(0), '')}.flac")
    outside = tree(tmp_path, skip=(music_dir,))
    fields = {"albumartist": value, "artist": value, "album": value, "date": value, "track": value, "title": value}
    tags = replace(TAGS, title=value, artist=value, album=value, albumartist=value, genre=value)

    outcome = run_import(source, music_dir, fields=fields, tags=tags)
    assert_only_inside(tmp_path, music_dir, outside)
    assert library_files(music_dir) == [str(outcome.path.relative_to(music_dir))]


@pytest.mark.parametrize(
    "template",
    ["../../{title}.{ext}", "/etc/{title}.{ext}", "{albumartist}/../../../{title}.{ext}", "C:\\{title}.{ext}"],
)
def test_hostile_templates_never_land_outside_the_music_folder(tmp_path, music_dir, template):
    source = download(tmp_path)
    outside = tree(tmp_path, skip=(music_dir,))
    with pytest.raises(TemplateError):  # refused before anything is copied (settings refuse it at load)
        run_import(source, music_dir, template=template)
    assert_only_inside(tmp_path, music_dir, outside)
    assert library_files(music_dir) == []


@pytest.mark.parametrize(
    "relative",
    ["../escaped.flac", "a/../../escaped.flac", "/etc/escaped.flac", "C:\\escaped.flac", "link/escaped.flac"],
)
def test_place_refuses_relative_paths_that_leave_the_music_folder(tmp_path, music_dir, relative):
    (tmp_path / "outside").mkdir()
    (music_dir / "link").symlink_to(tmp_path / "outside")
    staged = stage(download(tmp_path), music_dir)
    outside = tree(tmp_path, skip=(music_dir,))
    with pytest.raises(UnsafePathError):
        place(staged, music_dir, PurePosixPath(relative), incoming=Quality("flac", None, 16, 44100), existing=None)
    assert_only_inside(tmp_path, music_dir, outside)
    assert staged.exists()  # removing it is the caller's business (import_download does)


# --- a file already at the destination ---


def test_an_existing_better_file_is_kept(tmp_path, music_dir):
    first = run_import(download(tmp_path, "hires.flac", bits_per_sample=24), music_dir)
    kept = first.path.read_bytes()
    source = download(tmp_path, "cd.flac", bits_per_sample=16)
    outcome = run_import(source, music_dir, existing=Quality("flac", None, 24, 44100))

    assert outcome.status == "kept_existing" and outcome.path == first.path and outcome.replaced_to is None
    assert first.path.read_bytes() == kept
    assert library_files(music_dir) == [str(DESTINATION)]
    assert list((music_dir / STAGING).iterdir()) == [] and not (music_dir / REPLACED).exists()
    assert source.exists()


def test_an_existing_worse_file_is_replaced_and_kept_aside(tmp_path, music_dir):
    first = run_import(download(tmp_path, "cd.flac", bits_per_sample=16), music_dir)
    old = first.path.read_bytes()
    outcome = run_import(
        download(tmp_path, "hires.flac", bits_per_sample=24), music_dir, existing=Quality("flac", None, 16, 44100)
    )

    assert outcome.status == "replaced" and outcome.path == first.path
    assert outcome.facts.bit_depth == 24 and read_back(outcome.path) == asdict(TAGS)
    assert outcome.replaced_to.read_bytes() == old
    stamp = outcome.replaced_to.relative_to(music_dir / REPLACED).parts[0]
    assert outcome.replaced_to == music_dir / REPLACED / stamp / DESTINATION
    assert library_files(music_dir) == [str(DESTINATION)]  # the kept-aside copy is hidden from the scanner


def test_the_file_on_disk_has_the_last_word(tmp_path, music_dir):
    first = run_import(download(tmp_path, "hires.flac", bits_per_sample=24), music_dir)
    kept = first.path.read_bytes()
    # The caller's record says 16-bit, the file is 24-bit: a 24-bit download is no upgrade.
    outcome = run_import(
        download(tmp_path, "other.flac", bits_per_sample=24), music_dir, existing=Quality("flac", None, 16, 44100)
    )
    assert outcome.status == "kept_existing" and first.path.read_bytes() == kept

    # Without a record, the file on disk decides.
    outcome = run_import(download(tmp_path, "cd.flac", bits_per_sample=16), music_dir)
    assert outcome.status == "kept_existing"


def test_an_existing_file_of_unknown_quality_is_never_replaced(tmp_path, music_dir):
    destination = music_dir / DESTINATION
    destination.parent.mkdir(parents=True)
    destination.write_bytes(b"something the user put here")
    outcome = run_import(download(tmp_path, bits_per_sample=24), music_dir)
    assert outcome.status == "kept_existing"
    assert destination.read_bytes() == b"something the user put here"


def test_a_broken_file_at_the_destination_is_replaced_by_any_good_download_and_kept_aside(tmp_path, music_dir):
    # Its header says 24-bit FLAC, better than the download; the decode check found it truncated.
    first = run_import(download(tmp_path, "hires.flac", bits_per_sample=24), music_dir)
    first.path.write_bytes(first.path.read_bytes()[: first.path.stat().st_size * 6 // 10])
    broken = first.path.read_bytes()
    source = download(tmp_path, "cd.flac", bits_per_sample=16)
    assert run_import(source, music_dir).status == "kept_existing"  # not known broken: kept
    assert first.path.read_bytes() == broken

    outcome = run_import(source, music_dir, broken=[music_dir / "elsewhere.flac", first.path])
    assert outcome.status == "replaced" and outcome.path == first.path and outcome.facts.bit_depth == 16
    assert outcome.replaced_to.read_bytes() == broken and outcome.replaced_to.is_relative_to(music_dir / REPLACED)
    assert library_files(music_dir) == [str(DESTINATION)]


# --- leftovers of killed imports ---


def test_clean_staging_removes_only_old_part_files(tmp_path, music_dir):
    assert clean_staging(music_dir) == []
    old = stage(download(tmp_path), music_dir)
    recent = stage(download(tmp_path), music_dir)
    foreign = music_dir / STAGING / "notes.txt"
    foreign.write_text("not ours")
    os.utime(old, (time.time() - 7200, time.time() - 7200))

    assert clean_staging(music_dir) == [old]
    assert recent.exists() and foreign.exists()
    assert clean_staging(music_dir, older_than_s=0) == [recent]
    assert foreign.exists()


CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path
    from soulspot_pipeline.importing.place import import_download
    from soulspot_pipeline.importing.tags import TrackTags

    args = json.loads(sys.argv[1])

    def stall(*_args, **_kwargs):
        print("stalled", flush=True)
        time.sleep(600)

    setattr(os, args["stall"], stall)
    import_download(
        Path(args["source"]), Path(args["music_dir"]), template=args["template"], fields=args["fields"],
        tags=TrackTags(**args["tags"]), cover_jpeg=None, expected_duration_ms=None, expected_size=None,
        existing=None,
    )
    print("finished", flush=True)
    """
)


def start_child(source: Path, music_dir: Path, stall: str) -> subprocess.Popen:
    args = {
        "source": str(source),
        "music_dir": str(music_dir),
        "template": DEFAULT_TEMPLATE,
        "fields": FIELDS,
        "tags": asdict(TAGS),
        "stall": stall,
    }
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(args)], stdout=subprocess.PIPE, text=True, start_new_session=True
    )


def kill(child: subprocess.Popen) -> None:
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL


@pytest.mark.subprocess  # the import runs in a child that is killed
@pytest.mark.parametrize(
    ("moment", "stall"),
    [
        ("while copying a big file into staging", "link"),  # killed as soon as the .part appears
        ("after staging, before the copy is synced", "fsync"),
        ("after tagging, about to link into the library", "link"),
        ("half-way through replacing a worse file", "replace"),
    ],
)
def test_an_import_killed_half_way_leaves_no_partial_file_in_the_library(tmp_path, music_dir, moment, stall):
    old_bytes = None
    if moment.startswith("half-way"):
        old_bytes = run_import(download(tmp_path, "cd.flac", bits_per_sample=16), music_dir).path.read_bytes()
        source = download(tmp_path, "hires.flac", bits_per_sample=24)
    elif moment.startswith("while copying"):
        source = download(tmp_path, "long.wav", "wav", seconds=300)  # about 53 MB
    else:
        source = download(tmp_path)
    library_before = files(tree(music_dir, skip=(music_dir / STAGING, music_dir / REPLACED)))
    scanned_before = library_files(music_dir)

    child = start_child(source, music_dir, stall)
    try:
        if moment.startswith("while copying"):
            deadline = time.monotonic() + 60
            while not list((music_dir / STAGING).glob("*.part*")):
                assert child.poll() is None and time.monotonic() < deadline
                time.sleep(0.001)
        else:
            assert child.stdout.readline() == "stalled\n"
    finally:
        kill(child)

    leftovers = sorted((music_dir / STAGING).iterdir())
    assert len(leftovers) == 1 and leftovers[0].name.endswith((".part.flac", ".part.wav"))
    # Folders on the way may exist already; no file does.
    assert files(tree(music_dir, skip=(music_dir / STAGING, music_dir / REPLACED))) == library_before
    assert library_files(music_dir) == scanned_before
    if old_bytes is not None:
        assert (music_dir / DESTINATION).read_bytes() == old_bytes
        assert [p.read_bytes() for p in (music_dir / REPLACED).rglob("*.flac")] in ([], [old_bytes])

    assert clean_staging(music_dir, older_than_s=0) == leftovers
    assert list((music_dir / STAGING).iterdir()) == []

    outcome = run_import(source, music_dir, expected_duration_ms=None)
    assert outcome.status == ("replaced" if old_bytes is not None else "placed")
    assert read_back(outcome.path) == asdict(TAGS)
    assert library_files(music_dir) == [str(outcome.path.relative_to(music_dir))]


# --- real files ---


def test_real_files_import_with_their_tags_replaced(tmp_path, music_dir, realdata):
    folder = realdata / "beets" / "test" / "rsrc"
    names = [
        n for n in ("full.mp3", "full.flac", "full.m4a", "full.ogg", "full.opus", "full.aiff") if (folder / n).exists()
    ]
    assert names
    for name in names:
        source = folder / name
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        before = verify_download(source, expected_duration_ms=None)
        tags = replace(TAGS, title=name)
        outcome = run_import(
            source,
            music_dir,
            tags=tags,
            fields={**FIELDS, "title": name},
            expected_duration_ms=before.duration_ms,
            expected_size=source.stat().st_size,
        )

        assert outcome.status == "placed", name
        assert read_back(outcome.path) == asdict(tags), name
        assert [data for kind, data in pictures(outcome.path) if kind == 3] == [jpeg()], name
        assert abs(outcome.facts.duration_ms - before.duration_ms) <= 50, name
        assert (outcome.facts.format, outcome.facts.sample_rate) == (before.format, before.sample_rate), name
        assert hashlib.sha256(source.read_bytes()).hexdigest() == digest, name
    assert len(library_files(music_dir)) == len(names)
