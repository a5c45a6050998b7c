"""Broken files leave the library's good state: a track whose only file the decode check found
truncated is pending (auto-queue off), a good copy comes through the slskd stand-in, and the
broken file ends under .soulspot-replaced/, byte for byte; nothing is ever deleted."""

import hashlib
from collections import Counter
from pathlib import Path

import dagster as dg
import pytest

from soulspot_pipeline.assets.discover import local_scan
from soulspot_pipeline.assets.downloads import downloads
from soulspot_pipeline.assets.health import audio_checks
from soulspot_pipeline.assets.library import library_entities, no_downloaded_track_on_a_broken_file
from soulspot_pipeline.devkit.standins.deezer import DeezerStandin
from soulspot_pipeline.devkit.standins.slskd import SharedFile, SlskdStandin
from soulspot_pipeline.devkit.synth import write_audio_file
from soulspot_pipeline.importing.place import REPLACED
from soulspot_pipeline.resources.music_folder import MusicFolder
from soulspot_pipeline.resources.policies import LibraryPolicy, VerifyPolicy
from soulspot_tests.assets.test_downloads import flac, follow_resources, follow_until_settled, liked
from soulspot_tests.results import materialize, rows

pytestmark = pytest.mark.integration  # assets and jobs run through Dagster against stand-ins

TAGS = {"artist": "Air", "album": "Moon Safari", "title": "Sexy Boy"}
NEW_HOME = "Air/Moon Safari/Sexy Boy.flac"  # where the import's naming puts the downloaded copy
LENGTH_S = 10.0  # long enough that 60 % of it is well short of the decode check's tolerance


def contents(folder: Path) -> Counter:
    """The multiset of file contents (sha256) below ``folder``, hidden folders included."""
    return Counter(hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file())


def truncated_file(path: Path) -> bytes:
    """A FLAC cut to 60% of its size: its header still reads (the scan takes it), its audio ends early."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = write_audio_file(path, "flac", TAGS, seconds=LENGTH_S).read_bytes()
    path.write_bytes(data[: len(data) * 6 // 10])
    return path.read_bytes()


def record_verdict(library_db, status: str = "truncated") -> None:
    """What audio_checks writes for every file it decoded (the contract of library.file_checks)."""
    with library_db.writer() as conn:
        conn.execute(
            """
            INSERT INTO library.file_checks
            SELECT path, size, mtime_ns, ?, 'the audio ends at 1.2 s of 2.0 s', 1.2, 2.0, 1.2, NULL, 'flac',
                   now()::TIMESTAMP
            FROM library.local_files
            """,
            [status],
        )


@pytest.mark.parametrize("old_home", [NEW_HOME, "Old rips/sexy boy (bad rip).flac"], ids=["same_path", "elsewhere"])
def test_an_owned_track_whose_only_file_is_truncated_is_downloaded_again_and_the_broken_file_kept_aside(
    library_db, tmp_path, old_home
):
    music = tmp_path / "music"
    broken_bytes = truncated_file(music / old_home)
    slskd = SlskdStandin(tmp_path / "slskd" / "downloads", search_polls=1)
    good = flac(LENGTH_S)
    slskd.add_peer("good", files=[SharedFile("@@g\\Air\\Moon Safari\\02 Sexy Boy.flac", good, length=10)])
    with DeezerStandin(liked()) as deezer, slskd:
        res = follow_resources(library_db, tmp_path, deezer, slskd)
        res["library_policy"] = LibraryPolicy(auto_queue_downloads=False)  # a broken file is queued regardless
        res["verify_policy"] = VerifyPolicy()
        materialize([local_scan, library_entities], resources=res)
        assert rows(library_db, "SELECT download_state, local_path FROM library.tracks") == [
            ("downloaded", str(music / old_home))
        ]
        # The decode check finds it truncated; the merge lets go of it.
        materialize([audio_checks, library_entities, no_downloaded_track_on_a_broken_file], resources=res)
        assert rows(library_db, "SELECT ownership_state, download_state, local_path FROM library.tracks") == [
            ("owned", "pending", None)
        ]
        assert rows(
            library_db, "SELECT path, status, title, artist_name, download_state, is_primary FROM library.broken_files"
        ) == [(str(music / old_home), "truncated", "Sexy Boy", "Air", "pending", True)]
        ((reason,),) = rows(library_db, "SELECT reason FROM library.broken_files")
        assert reason.startswith("the audio ends at ") and reason.endswith(" s of the 10.0 s its header states")
        before = contents(music)

        materialize([downloads], resources=res)
        follow_until_settled(library_db, res)
        after = contents(music)
        checked = materialize([library_entities, no_downloaded_track_on_a_broken_file], resources=res)

    assert rows(library_db, "SELECT ownership_state, download_state, local_path, audio_format FROM library.tracks") == [
        ("owned", "downloaded", str(music / NEW_HOME), "flac")
    ]
    assert rows(library_db, "SELECT state, local_path FROM library.downloads") == [
        ("downloaded", str(music / NEW_HOME))
    ]
    assert rows(library_db, "SELECT count(*) FROM library.broken_files") == [(0,)]
    assert all(c.passed for c in checked.get_asset_check_evaluations())
    # The broken file left the library for .soulspot-replaced/<time>/<its path>, byte for byte.
    (kept,) = (music / REPLACED).rglob("*.flac")
    assert kept.relative_to(music / REPLACED).parts[1:] == Path(old_home).parts
    assert kept.read_bytes() == broken_bytes
    # Nothing deleted: every content that was in the music folder still is, plus the new copy.
    new = hashlib.sha256((music / NEW_HOME).read_bytes()).hexdigest()
    assert after - before == Counter({new: 1}) and not before - after
    assert sorted(str(p.relative_to(music)) for p in music.rglob("*") if p.is_file()) == sorted(
        [NEW_HOME, str(kept.relative_to(music))]
    )


def test_the_check_fails_when_a_downloaded_track_points_at_a_broken_file(library_db, tmp_path):
    music = tmp_path / "music"
    (music / "Air" / "Moon Safari").mkdir(parents=True)
    write_audio_file(music / NEW_HOME, "flac", TAGS, seconds=2)
    res = {
        "library_db": library_db,
        "music_folder": MusicFolder(music_dir=str(music), scan_workers=1),
        "library_policy": LibraryPolicy(),
    }
    materialize([local_scan, library_entities], resources=res)
    record_verdict(library_db, "broken")  # found broken after the merge: the library still points at it
    result = materialize(
        [library_entities, no_downloaded_track_on_a_broken_file],
        selection=dg.AssetSelection.checks(no_downloaded_track_on_a_broken_file),
        resources=res,
        raise_on_error=False,
    )
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert evaluation.metadata["tracks_on_broken_files"].value == 1
    assert evaluation.metadata["examples"].value == [f"{music / NEW_HOME} (broken: the audio ends at 1.2 s of 2.0 s)"]
    (spec,) = no_downloaded_track_on_a_broken_file.check_specs
    assert spec.blocking  # a failure stops downloads in the same run
