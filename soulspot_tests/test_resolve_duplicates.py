"""Duplicates shown and resolved: `library.duplicates` groups files of one track or one audio, and
`resolve_duplicates` moves the extra copies aside (never deleting), with a manifest, and rescans."""

import hashlib
import json
import os
from pathlib import Path

import dagster as dg
import pytest

from soulspot_pipeline.assets.discover import local_scan
from soulspot_pipeline.assets.health import audio_checks
from soulspot_pipeline.assets.library import duplicates_keep_one_file, library_entities
from soulspot_pipeline.devkit.synth import write_audio_file
from soulspot_pipeline.domain.file_choice import keep_order
from soulspot_pipeline.importing.place import REPLACED
from soulspot_pipeline.resources.music_folder import MusicFolder
from soulspot_pipeline.resources.policies import LibraryPolicy, VerifyPolicy
from soulspot_pipeline.store.entities import load_local_files
from soulspot_pipeline.store.sql import utc_now
from soulspot_pipeline.user_actions import MANIFEST, resolve_duplicates
from soulspot_tests.results import failure_message, materialize, rows, shared_instance

pytestmark = pytest.mark.integration

SCHEME = Path("Air", "Moon Safari (1998)", "01 - Sexy Boy.mp3")
COMPILATION = Path("Various", "Best of 1998", "07 Sexy Boy.mp3")


@pytest.fixture
def resources(library_db, music_dir) -> dict:
    return {
        "library_db": library_db,
        "library_policy": LibraryPolicy(),
        "music_folder": MusicFolder(music_dir=str(music_dir), scan_workers=1),
    }


def write(music_dir: Path, relative: Path, fmt: str, tags: dict) -> Path:
    path = music_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_audio_file(path, fmt, tags)


def scan_and_merge(resources: dict) -> None:
    assert materialize([local_scan, library_entities], resources=resources).success


def checked(library_db, audio_hash_of: dict[Path, str]) -> None:
    """``library.file_checks`` rows as the decode check writes them: sound, with each file's audio hash."""
    with library_db.writer() as conn:
        for path, audio_hash in audio_hash_of.items():
            conn.execute(
                "INSERT INTO library.file_checks (path, size, mtime_ns, status, audio_hash, codec, checked_at) "
                "SELECT path, size, mtime_ns, 'ok', ?, format, ? FROM library.local_files WHERE path = ?",
                [audio_hash, utc_now(), str(path)],
            )


def contents(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` (hidden ones too), by path: the SHA-256 of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


def resolve(resources: dict, **config) -> tuple[dg.ExecuteInProcessResult, dict]:
    run = resolve_duplicates.execute_in_process(
        run_config={"ops": {"resolve": {"config": config}}},
        resources=resources,
        instance=shared_instance(),
        raise_on_error=False,
    )
    outputs = [e for e in run.all_events if e.event_type == dg.DagsterEventType.STEP_OUTPUT]
    meta = {k: v.value for k, v in outputs[0].step_output_data.metadata.items()} if outputs else {}
    return run, meta


def duplicates(library_db) -> list[tuple]:
    return rows(
        library_db, "SELECT group_id, kind, rank, kept, reason, path, format FROM library.duplicates ORDER BY rank"
    )


def test_two_copies_of_one_audio_with_different_tags_are_one_group_and_resolving_keeps_one(
    library_db, music_dir, resources
):
    # The same audio (one encoder template), tagged as the album's track and as a compilation's.
    kept = write(
        music_dir,
        SCHEME,
        "mp3",
        {"artist": "Air", "album": "Moon Safari", "title": "Sexy Boy", "date": "1998", "track_number": 1},
    )
    extra = write(
        music_dir,
        COMPILATION,
        "mp3",
        {"artist": "Air", "albumartist": "Various", "album": "Best of 1998", "title": "Sexy Boy", "track_number": 7},
    )
    assert kept.read_bytes() != extra.read_bytes()
    size = extra.stat().st_size
    # The decode check itself hashes both: the tags differ, the audio packets do not.
    assert materialize(
        [local_scan, audio_checks, library_entities], resources={**resources, "verify_policy": VerifyPolicy()}
    ).success
    assert rows(library_db, "SELECT count(*), count(DISTINCT audio_hash), min(status) FROM library.file_checks") == [
        (2, 1, "ok")
    ]
    tracks = rows(library_db, "SELECT count(DISTINCT track_id) FROM library.track_files")[0][0]
    assert tracks == 2  # different tags: two tracks, one audio
    before = contents(music_dir)

    run, plan = resolve(resources)  # dry_run is the default
    assert run.success
    assert contents(music_dir) == before  # nothing moved
    ((group, kind, _, is_kept, reason, path, fmt), (extra_group, _, _, extra_kept, extra_reason, extra_path, _)) = (
        duplicates(library_db)
    )
    assert group == extra_group and (kind, fmt) == ("audio", "mp3")
    assert (path, is_kept, extra_path, extra_kept) == (str(kept), True, str(extra), False)
    assert reason == extra_reason == "named by the library's scheme"
    assert {k: plan[k] for k in ("dry_run", "groups", "extra_copies", "moved", "skipped")} == {
        "dry_run": True,
        "groups": 1,
        "extra_copies": 1,
        "moved": 0,
        "skipped": 0,
    }
    assert (
        f"| {SCHEME.as_posix()} | {COMPILATION.as_posix()} | named by the library's scheme | to move |" in plan["plan"]
    )
    assert duplicates_keep_one_file(library_db=library_db).passed

    run, done = resolve(resources, dry_run=False)
    assert run.success
    assert (done["moved"], done["groups_left"], done["bytes"]) == (1, 0, size)
    assert kept.exists() and not extra.exists()
    (moved_to,) = (music_dir / REPLACED).rglob(COMPILATION.name)
    assert moved_to.relative_to(music_dir / REPLACED).parts[1:] == COMPILATION.parts
    # No file was deleted: every file's bytes are still there, the extra copy's under REPLACED.
    after = contents(music_dir)
    assert sorted(after.values()) == sorted(before.values())
    assert after[str(moved_to.relative_to(music_dir))] == before[str(COMPILATION)]
    (line,) = (music_dir / REPLACED / MANIFEST).read_text().splitlines()
    entry = json.loads(line)
    assert (entry["original"], entry["moved_to"], entry["kept"]) == (str(extra), str(moved_to), str(kept))
    assert entry["reason"] == "named by the library's scheme" and entry["moved_at"]
    # The rescan saw the copy gone; no duplicate is left, and the library recorded the change.
    assert rows(library_db, "SELECT missing FROM library.local_files WHERE path = ?", [str(extra)]) == [(True,)]
    assert duplicates(library_db) == []
    # The compilation's track kept no file (its audio lives on as the album's): it leaves the
    # library instead of waiting to be downloaded again.
    assert done["tracks_removed"] == 1
    ((ownership, download),) = rows(
        library_db,
        "SELECT ownership_state, download_state FROM library.tracks JOIN library.track_files USING (track_id) "
        "WHERE path = ?",
        [str(extra)],
    )
    assert ownership != "owned" and download != "pending"
    assert any(e.asset_key == dg.AssetKey("library_entities") for e in run.get_asset_materialization_events())
    assert duplicates_keep_one_file(library_db=library_db).passed

    # Nothing is left to resolve: a second run moves nothing.
    run, again = resolve(resources, dry_run=False)
    assert run.success and (again["groups"], again["moved"]) == (0, 0)


def test_an_mp3_and_a_flac_of_one_track_keep_the_flac(library_db, music_dir, resources):
    tags = {"artist": "Air", "album": "Moon Safari", "title": "Kelly Watch the Stars", "track_number": 2}
    flac = write(music_dir, Path("Air", "Moon Safari", "02 Kelly.flac"), "flac", tags)
    mp3 = write(music_dir, Path("Air", "Moon Safari", "02 Kelly.mp3"), "mp3", tags)
    other = write(music_dir, Path("Air", "Moon Safari", "03 Talisman.mp3"), "mp3", {**tags, "title": "Talisman"})
    scan_and_merge(resources)
    (track_id,) = rows(library_db, "SELECT DISTINCT track_id FROM library.track_files WHERE path = ?", [str(flac)])[0]
    (other_id,) = rows(library_db, "SELECT track_id FROM library.track_files WHERE path = ?", [str(other)])[0]
    (bitrate,) = rows(library_db, "SELECT bitrate FROM library.local_files WHERE path = ?", [str(mp3)])[0]

    run, none = resolve(resources, track_ids=[other_id])
    assert run.success and none["groups"] == 0
    group = duplicates(library_db)
    assert [(kind, kept, path) for _, kind, _, kept, _, path, _ in group] == [
        ("track", True, str(flac)),
        ("track", False, str(mp3)),
    ]
    assert group[1][4] == f"lossless (flac) over mp3 {bitrate} kbps"
    # keep_order takes the merge's own rows, and the merge points the track at the file kept.
    with library_db.reader() as conn:
        merge_rows = [r for r in load_local_files(conn) if r["path"] in (str(flac), str(mp3))]
    assert min(merge_rows, key=keep_order)["path"] == str(flac)
    assert rows(library_db, "SELECT local_path FROM library.tracks WHERE track_id = ?", [track_id]) == [(str(flac),)]

    run, _ = resolve(resources, track_ids=["no-such-track"])
    assert not run.success and "no track with id 'no-such-track'" in failure_message(run)
    assert not (music_dir / REPLACED).exists()

    run, done = resolve(resources, dry_run=False, track_ids=[track_id])
    assert run.success and done["moved"] == 1
    assert flac.exists() and not mp3.exists() and other.exists()
    assert rows(library_db, "SELECT download_state, local_path FROM library.tracks WHERE track_id = ?", [track_id]) == [
        ("downloaded", str(flac))
    ]


def test_a_copy_changed_since_the_last_scan_stays_where_it_is(library_db, music_dir, resources):
    tags = {"artist": "Air", "album": "Moon Safari", "title": "Talisman", "track_number": 3}
    flac = write(music_dir, Path("Air", "03 Talisman.flac"), "flac", tags)
    mp3 = write(music_dir, Path("Air", "03 Talisman.mp3"), "mp3", tags)
    scan_and_merge(resources)
    os.utime(mp3, ns=(mp3.stat().st_atime_ns, mp3.stat().st_mtime_ns + 5_000_000_000))

    run, meta = resolve(resources, dry_run=False)
    assert run.success
    assert (meta["moved"], meta["skipped"], meta["groups_left"]) == (0, 1, 1)
    assert "skipped: changed since the last scan" in meta["plan"]
    assert flac.exists() and mp3.exists() and not (music_dir / REPLACED).exists()


def test_the_check_fails_a_group_keeping_two_files(library_db, music_dir, resources):
    tags = {"artist": "Air", "album": "Moon Safari", "title": "Remember", "track_number": 4}
    write(music_dir, Path("Air", "04 Remember.flac"), "flac", tags)
    write(music_dir, Path("Air", "04 Remember.mp3"), "mp3", tags)
    scan_and_merge(resources)
    assert resolve(resources)[0].success
    with library_db.writer() as conn:
        conn.execute("UPDATE library.duplicate_files SET kept = true")
    result = duplicates_keep_one_file(library_db=library_db)
    assert not result.passed and result.metadata["groups_not_keeping_one"].value == 1
