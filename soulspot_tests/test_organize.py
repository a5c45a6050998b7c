"""organize_library puts the library's files where the naming template says and undo_organize
takes them back: atomic moves that never overwrite, a file never absent from both of its places
(checked by a second process polling while the jobs run), the library's rows following the
files without a rescan, and an invalid template refused when the settings load."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path, PurePosixPath

import dagster as dg
import pytest

from soulspot_pipeline.assets.discover import local_scan
from soulspot_pipeline.assets.library import library_entities
from soulspot_pipeline.devkit.synth import write_audio_file
from soulspot_pipeline.domain.naming import render_path
from soulspot_pipeline.organize import ORGANIZE_DIR, UNDONE, organize_library, repath, undo_organize
from soulspot_pipeline.resources.music_folder import MusicFolder
from soulspot_pipeline.resources.policies import LibraryPolicy
from soulspot_pipeline.settings import Settings, SettingsError
from soulspot_tests.results import failure_message, materialize, rows, shared_instance

TEMPLATE = "{albumartist}/{album} ({year})/{disc_folder}/{track:02} - {title}.{ext}"
# Tag values from the naming tests' hostile names that every tag format can carry.
HOSTILE = [
    "../../etc/passwd",
    r"..\..\etc\passwd",
    "CON",
    "nul.flac",
    "LPT9.txt",
    "C:evil",
    '<>:"|?*',
    "evil\u202egnp.exe",
    "tab\there",
    "....",
    ".hidden",
    "trailing. ",
    "%2e%2e%2f",
    "\uff0e\uff0e\uff0f",
    "e\u0301",
    "é" * 150,
    "🎵" * 70,
    "x" * 250,
    "{title}",
    "$HOME",
]
ALBUMS = 30
TRACKS = 10  # per album: 300 files
CLASH_KEY = (7, 4)  # a file that is not the library's sits where this track should go
IN_PLACE = ((3, 0), (7, 1))  # already where the template says
RIPS = range(0, ALBUMS, 4)  # whole album folders with a cover.jpg
# Their albums of two discs go to two folders (Disc 1, Disc 2): the cover stays, with its folder.
COVERS_MOVED = [a for a in RIPS if a % 5]


def album_tags(a: int) -> dict:
    hostile = HOSTILE[a % len(HOSTILE)]
    return {
        "albumartist": hostile if a % 3 == 0 else f"Artist {a % 7}",
        "album": f"{hostile} {a}" if a % 2 else f"Album {a}",
        "date": str(1970 + a),
    }


def track_tags(a: int, t: int) -> dict:
    album = album_tags(a)
    two_discs = a % 5 == 0
    return {
        **album,
        "artist": album["albumartist"],
        "title": f"{t:02} {HOSTILE[(a + t) % len(HOSTILE)]}",
        "track_number": t // 2 + 1 if two_discs else t + 1,
        "disc_number": t % 2 + 1 if two_discs else 1,
        "disc_total": 2 if two_discs else 1,
    }


def messy_place(a: int, t: int, fmt: str) -> Path:
    """Where the file starts: whole album folders, scattered singles, a few already in place."""
    if a % 4 == 0:
        return Path("rips", f"album {a}", f"track{t}.{fmt}")  # whole folder: its cover.jpg follows
    if a % 4 == 1:
        return Path("incoming", f"{a}-{t}.{fmt}")
    if a % 4 == 2:
        return Path("misc", f"sub {t % 3}", "deeper", f"{a} {t}.{fmt}")
    return Path(f"loose {a}.{t}.{fmt}")


def expected(a: int, t: int, fmt: str) -> PurePosixPath:
    tags = track_tags(a, t)
    fields = {**tags, "year": tags["date"], "track": tags["track_number"], "disc": tags["disc_number"]}
    return render_path(TEMPLATE, fields, fmt)


def contents(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` but the organize manifests, by path: the SHA-256 of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ORGANIZE_DIR not in p.parts
    }


# Each pair is (where a file moves from, where it moves to), the source looked at first: a move
# links the new name before it unlinks the old one, so a file seen at neither was really gone
# (looked at the other way round, a move between the two looks would pass for a loss).
POLLER = r"""
import json, os, sys
pairs = json.load(open(sys.argv[1]))
stop, polls, missing = sys.argv[2], 0, []
while True:
    last = os.path.exists(stop)
    for a, b in pairs:
        if not (os.path.exists(a) or os.path.exists(b)):
            missing.append(a)
    polls += 1
    if polls == 1:
        print("ready", flush=True)
    if last:
        break
print(json.dumps({"polls": polls, "missing": missing[:20], "misses": len(missing)}), flush=True)
"""


class Poller:
    """A second process that checks, over and over, that every file is in one of its two places."""

    def __init__(self, tmp_path: Path, pairs: list[tuple[str, str]]) -> None:
        self.stop = tmp_path / "stop-polling"
        self.stop.unlink(missing_ok=True)
        listing = tmp_path / "pairs.json"
        listing.write_text(json.dumps(pairs))
        self.process = subprocess.Popen(
            [sys.executable, "-c", POLLER, str(listing), str(self.stop)], stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "ready"

    def result(self) -> dict:
        self.stop.touch()
        out, _ = self.process.communicate(timeout=60)
        return json.loads(out.strip().splitlines()[-1])


def run(job: dg.JobDefinition, op: str, resources: dict, **config) -> tuple[dg.ExecuteInProcessResult, dict]:
    result = job.execute_in_process(
        run_config={"ops": {op: {"config": config}}},
        resources=resources,
        instance=shared_instance(),
        raise_on_error=False,
    )
    outputs = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_OUTPUT]
    meta = {k: v.value for k, v in outputs[0].step_output_data.metadata.items()} if outputs else {}
    return result, meta


@pytest.mark.subprocess
@pytest.mark.integration
def test_organize_300_messy_files_then_undo(tmp_path, library_db, music_dir):
    resources = {
        "library_db": library_db,
        "library_policy": LibraryPolicy(),
        "music_folder": MusicFolder(music_dir=str(music_dir), scan_workers=2, naming_template=TEMPLATE),
    }
    root = music_dir.resolve()
    files: dict[tuple[int, int], tuple[Path, PurePosixPath]] = {}
    for a in range(ALBUMS):
        for t in range(TRACKS):
            fmt = "flac" if (a + t) % 2 else "mp3"
            start = messy_place(a, t, fmt) if (a, t) not in IN_PLACE else Path(expected(a, t, fmt))
            (music_dir / start).parent.mkdir(parents=True, exist_ok=True)
            write_audio_file(music_dir / start, fmt, track_tags(a, t), seconds=0.1)
            files[(a, t)] = (start, expected(a, t, fmt))
    # Lyrics beside some files, a cover in each whole album folder, a note that keeps its folder.
    for a, t in [(1, 0), (2, 3), (4, 5)]:
        start = files[(a, t)][0]
        (music_dir / start.with_suffix(".lrc")).write_text(f"[00:00.00] {a} {t}\n")
    for a in RIPS:
        (music_dir / "rips" / f"album {a}" / "cover.jpg").write_bytes(b"\xff\xd8\xff cover %d" % a)
    (music_dir / "misc" / "notes.nfo").write_text("keep me")
    assert materialize([local_scan, library_entities], resources=resources).success
    assert rows(library_db, "SELECT count(*) FROM library.local_files WHERE NOT missing") == [(300,)]

    # A file that is not the library's sits where one track should go: that move is a clash.
    clash_start, clash_target = files[CLASH_KEY]
    (music_dir / clash_target).parent.mkdir(parents=True, exist_ok=True)
    (music_dir / clash_target).write_bytes(b"not ours")
    before = contents(music_dir)

    # Dry run (the default): the plan, nothing moved.
    result, plan = run(organize_library, "organize", resources)
    assert result.success, failure_message(result)
    assert contents(music_dir) == before
    assert (plan["dry_run"], plan["files"], plan["in_place"], plan["to_move"], plan["moved"], plan["clashes"]) == (
        True,
        300,
        2,
        297,
        0,
        1,
    )
    assert f"| {clash_start.as_posix()} | {clash_target} | clash: a file is already there |" in plan["plan"]
    assert not (music_dir / ORGANIZE_DIR).exists()

    # Apply, with a second process watching every file's two places all along.
    moving = [(a, t) for (a, t), (start, target) in files.items() if Path(target) != start and (a, t) != CLASH_KEY]
    pairs = [(str(root / files[k][0]), str(root / files[k][1])) for k in moving]
    poller = Poller(tmp_path, pairs)
    result, applied = run(organize_library, "organize", resources, dry_run=False)
    watched = poller.result()
    assert result.success, failure_message(result)
    assert watched["misses"] == 0, watched
    assert watched["polls"] > 1
    assert (applied["moved"], applied["clashes"], applied["in_place"], applied["sidecars_moved"]) == (297, 1, 2, 3)
    assert applied["folder_files_moved"] == len(COVERS_MOVED)
    for key, (start, target) in files.items():
        if key == CLASH_KEY:
            assert (music_dir / start).is_file() and (music_dir / target).read_bytes() == b"not ours"
        else:
            assert (music_dir / target).is_file(), target
            assert Path(target) == start or not (music_dir / start).exists()
    for a, t in [(1, 0), (2, 3), (4, 5)]:
        assert (music_dir / files[(a, t)][1]).with_suffix(".lrc").read_text() == f"[00:00.00] {a} {t}\n"
    for a in RIPS:
        cover = b"\xff\xd8\xff cover %d" % a
        if a in COVERS_MOVED:
            assert (music_dir / files[(a, 0)][1]).parent.joinpath("cover.jpg").read_bytes() == cover
            assert not (music_dir / "rips" / f"album {a}").exists()  # emptied, removed
        else:
            assert (music_dir / "rips" / f"album {a}" / "cover.jpg").read_bytes() == cover
    assert not (music_dir / "incoming").exists() and not (music_dir / "misc" / "sub 0").exists()
    assert (music_dir / "misc" / "notes.nfo").exists()  # not empty: kept
    # The library followed the files in the same run: no rescan.
    wanted = {str(root / target) if k != CLASH_KEY else str(root / start) for k, (start, target) in files.items()}
    assert {p for (p,) in rows(library_db, "SELECT path FROM library.local_files WHERE NOT missing")} == wanted
    assert {p for (p,) in rows(library_db, "SELECT local_path FROM library.tracks WHERE local_path IS NOT NULL")} == (
        wanted
    )
    assert rows(library_db, "SELECT count(*) FROM library.track_files") == [(300,)]
    # ... and a rescan agrees: nothing new, nothing missing.
    assert materialize([local_scan], resources=resources).success
    assert rows(library_db, "SELECT count(*), count(*) FILTER (WHERE missing) FROM library.local_files") == [(300, 0)]
    # A second organize finds everything in place but the clash.
    result, again = run(organize_library, "organize", resources)
    assert (again["in_place"], again["to_move"], again["clashes"]) == (299, 0, 1)

    # Undo: every file back, byte for byte, watched the same way.
    (manifest,) = (music_dir / ORGANIZE_DIR).glob("*.jsonl")
    assert len(manifest.read_text().splitlines()) == 297 + 3 + len(COVERS_MOVED)
    poller = Poller(tmp_path, [(new, old) for old, new in pairs])
    result, undone = run(undo_organize, "undo", resources)
    watched = poller.result()
    assert result.success, failure_message(result)
    assert watched["misses"] == 0, watched
    assert (undone["moved_back"], undone["left"]) == (297, 0)
    assert contents(music_dir) == before
    assert manifest.with_name(manifest.stem + UNDONE + ".jsonl").exists()
    starts = {str(root / start) for start, _ in files.values()}
    assert {p for (p,) in rows(library_db, "SELECT path FROM library.local_files WHERE NOT missing")} == starts
    # Nothing left to undo.
    result, _ = run(undo_organize, "undo", resources)
    assert not result.success and "no organize run to undo" in failure_message(result)


@pytest.mark.integration
def test_organize_refuses_an_unknown_artist(library_db, music_dir):
    resources = {
        "library_db": library_db,
        "library_policy": LibraryPolicy(),
        "music_folder": MusicFolder(music_dir=str(music_dir)),
    }
    result, _ = run(organize_library, "organize", resources, artist_ids=["nope"])
    assert not result.success and "no artist with id 'nope'" in failure_message(result)


@pytest.mark.integration
def test_organize_refuses_an_invalid_template_given_as_resource_config(library_db, music_dir):
    folder = MusicFolder(music_dir=str(music_dir), naming_template="{artist}/{title}")
    resources = {"library_db": library_db, "library_policy": LibraryPolicy(), "music_folder": folder}
    result, _ = run(organize_library, "organize", resources)
    assert not result.success and "has no {ext}" in failure_message(result)


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{artist}/{titel}.{ext}", "unknown field {titel}"),
        ("{artist/{title}.{ext}", "unbalanced braces"),
        ("../{artist}/{title}.{ext}", "'..'"),
        ("/srv/{artist}/{title}.{ext}", "absolute path"),
    ],
)
def test_an_invalid_naming_template_stops_the_settings_naming_the_variable(template, problem):
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"SOULSPOT_NAMING_TEMPLATE": template})
    assert str(raised.value).startswith("SOULSPOT_NAMING_TEMPLATE=")
    assert problem in str(raised.value)


def test_the_naming_template_setting_reaches_the_music_folder(tmp_path):
    from soulspot_pipeline.definitions import build_resources

    template = "{genre}/{albumartist}/{album}/{disc_folder}/{track:02} {title}.{ext}"
    settings = Settings.from_env({"SOULSPOT_DATA_DIR": str(tmp_path), "SOULSPOT_NAMING_TEMPLATE": template})
    folder = build_resources(settings)["music_folder"]
    assert isinstance(folder, MusicFolder) and folder.naming_template == template
    assert Settings.from_env({"SOULSPOT_DATA_DIR": str(tmp_path)}).naming_template.startswith("{albumartist}/")


def small_library(library_db, music_dir) -> dict:
    resources = {
        "library_db": library_db,
        "library_policy": LibraryPolicy(),
        "music_folder": MusicFolder(music_dir=str(music_dir), scan_workers=1, naming_template=TEMPLATE),
    }
    for album in ("One", "Two"):
        for t in (1, 2):
            tags = {"artist": f"Band {album}", "album": album, "title": f"Song {t}", "track_number": t, "date": "2001"}
            write_audio_file(music_dir / f"{album.lower()}-{t}.mp3", "mp3", tags, seconds=0.1)
    assert materialize([local_scan, library_entities], resources=resources).success
    return resources


@pytest.mark.integration
def test_organize_only_the_albums_named(library_db, music_dir):
    resources = small_library(library_db, music_dir)
    ((album_id,),) = rows(library_db, "SELECT album_id FROM library.albums WHERE title = 'One'")
    result, applied = run(organize_library, "organize", resources, dry_run=False, album_ids=[album_id])
    assert result.success, failure_message(result)
    assert (applied["files"], applied["moved"]) == (2, 2)
    assert sorted(str(p.relative_to(music_dir)) for p in music_dir.rglob("*.mp3")) == [
        "Band One/One (2001)/01 - Song 1.mp3",
        "Band One/One (2001)/02 - Song 2.mp3",
        "two-1.mp3",
        "two-2.mp3",
    ]
    ((artist_id,),) = rows(library_db, "SELECT artist_id FROM library.artists WHERE name = 'Band Two'")
    result, applied = run(organize_library, "organize", resources, artist_ids=[artist_id])
    assert (applied["files"], applied["to_move"], applied["moved"]) == (2, 2, 0)


@pytest.mark.integration
def test_undo_of_a_run_killed_before_the_library_followed_keeps_the_library_rows(library_db, music_dir):
    resources = small_library(library_db, music_dir)
    # As a run killed between a move and the library's update leaves it: moved, a manifest line, old rows.
    old, new = music_dir.resolve() / "one-1.mp3", music_dir.resolve() / "elsewhere" / "x.mp3"
    new.parent.mkdir()
    old.rename(new)
    manifest = music_dir / ORGANIZE_DIR / "20260101T000000Z-killed.jsonl"
    manifest.parent.mkdir()
    manifest.write_text(json.dumps({"from": str(old), "to": str(new), "kind": "audio", "at": "x"}) + "\n")
    result, undone = run(undo_organize, "undo", resources, manifest="killed")
    assert result.success, failure_message(result)
    assert undone["moved_back"] == 1 and old.is_file() and not new.parent.exists()
    assert rows(library_db, "SELECT count(*) FROM library.local_files WHERE path = ?", [str(old)]) == [(1,)]
    assert rows(library_db, "SELECT count(*) FROM library.tracks WHERE local_path = ?", [str(old)]) == [(1,)]


def test_a_moved_file_takes_its_lyrics_rows_along(library_db):
    with library_db.writer(publish=False) as conn:
        conn.execute(
            "INSERT INTO library.local_files (path, size, mtime, mtime_ns, format, title, first_seen_at, scanned_at) "
            "VALUES ('/m/old/01 Song.flac', 10, now()::TIMESTAMP, 1, 'flac', 'Song', now()::TIMESTAMP, now()::TIMESTAMP)"
        )
        conn.execute(
            "INSERT INTO library.lyrics (track_id, status, synced, instrumental, attempts, fetched_at, file_path, "
            "embedded_path) VALUES ('t1', 'synced', true, false, 1, now()::TIMESTAMP, '/m/old/01 Song.lrc', "
            "'/m/old/01 Song.flac'), ('t2', 'plain', false, false, 1, now()::TIMESTAMP, '/m/other/Song.txt', NULL)"
        )
        repath(conn, [("/m/old/01 Song.flac", "/m/Artist/Album (2001)/01 - Song.flac")])
    assert rows(library_db, "SELECT track_id, file_path, embedded_path FROM library.lyrics ORDER BY 1") == [
        ("t1", "/m/Artist/Album (2001)/01 - Song.lrc", "/m/Artist/Album (2001)/01 - Song.flac"),
        ("t2", "/m/other/Song.txt", None),
    ]
