"""Identification by fingerprint inside identified_entities: a misnamed file identified by its
sound through the AcoustID stand-in, never fingerprinted or asked twice; without Chromaprint
or a key the part says so and the phase succeeds."""

import pytest

from soulspot_pipeline.assets.discover import local_scan
from soulspot_pipeline.assets.identify import identified_entities
from soulspot_pipeline.assets.library import library_entities
from soulspot_pipeline.devkit.standins.acoustid import DEFAULT_API_KEY, AcoustidStandin, AcRecording
from soulspot_pipeline.devkit.standins.musicbrainz import MbCatalog, MusicBrainzStandin
from soulspot_pipeline.resources.acoustid import AcoustIDResource
from soulspot_pipeline.resources.music_folder import MusicFolder
from soulspot_pipeline.resources.policies import LibraryPolicy
from soulspot_pipeline.scan.fingerprint import chromaprint_unavailable, fingerprint_file
from soulspot_tests.assets.test_identify_enrich import musicbrainz
from soulspot_tests.results import materialize, metadata, rows
from soulspot_tests.scan.test_fingerprint import write_tune

pytestmark = pytest.mark.integration

HOCUS = AcRecording(
    "b1a9c0e2-0000-4000-8000-00000000000a",
    "Hocus Pocus",
    12.0,
    (("821e11d6-cfec-44a7-9615-06a4e631c975", "Focus"),),
    (("71b5e81c-e951-45a0-9554-8599ad1b52e9", "Moving Waves", "Album"),),
)
KEY = "acoustid-key-Zq81"


def identify(library_db, music, mb, acoustid):
    return materialize(
        [local_scan, library_entities, identified_entities],
        resources={
            "library_db": library_db,
            "music_folder": MusicFolder(music_dir=str(music), scan_workers=1),
            "library_policy": LibraryPolicy(),
            "musicbrainz": mb,
            "acoustid": acoustid,
        },
    )


@pytest.fixture
def misnamed(tmp_path):
    """An untagged file named after another song (Sylvia); its sound is Hocus Pocus."""
    music = tmp_path / "music"
    (music / "Focus").mkdir(parents=True)
    return music, write_tune(music / "Focus" / "Focus - Sylvia.flac", [262, 330, 392, 523, 440, 349])


@pytest.mark.skipif(
    chromaprint_unavailable() is not None,
    reason="neither libchromaprint nor fpcalc is installed here (Debian: libchromaprint1 or libchromaprint-tools)",
)
def test_a_misnamed_file_is_identified_by_its_sound_and_never_fingerprinted_or_asked_twice(
    misnamed, tmp_path, library_db
):
    music, path = misnamed
    catalog = MbCatalog()  # MusicBrainz knows no "Sylvia" by Focus: the name says nothing
    with MusicBrainzStandin(catalog) as mb, AcoustidStandin(api_keys=(DEFAULT_API_KEY, KEY)) as acoustid:
        known = fingerprint_file(str(path))
        acoustid.add(known.fingerprint, known.duration_s, [HOCUS], score=0.94)
        resource = AcoustIDResource(
            api_key=KEY, server_url=acoustid.url, rate=1000.0, throttle_path=str(tmp_path / "acoustid.lock")
        )
        first = identify(library_db, music, musicbrainz(mb, tmp_path), resource)
        meta = metadata(first, "identified_entities")
        assert meta["by_fingerprint"] == "identified"
        assert meta["fingerprints"]["computed"] == 1 and meta["fingerprints"]["looked_up"] == 1
        assert rows(library_db, "SELECT recording_mbid FROM library.tracks") == [(HOCUS.mbid,)]
        assert rows(
            library_db,
            "SELECT rule, status, mbid, round(score, 2) FROM library.identifications WHERE entity_type = 'track'",
        ) == [("acoustid", "accepted", HOCUS.mbid, 0.94)]
        assert rows(
            library_db, "SELECT rule, candidate_title, decision FROM library.match_candidates WHERE rule = 'acoustid'"
        ) == [("acoustid", "Hocus Pocus", "accepted")]
        assert rows(library_db, "SELECT count(*) FROM library.fingerprints WHERE fingerprint IS NOT NULL") == [(1,)]

        second = identify(library_db, music, musicbrainz(mb, tmp_path), resource)
        assert metadata(second, "identified_entities")["fingerprints"]["computed"] == 0
        assert acoustid.count("/v2/lookup") == 1


def test_without_chromaprint_the_part_says_so_and_identify_succeeds(misnamed, tmp_path, library_db):
    music, _ = misnamed
    with MusicBrainzStandin(MbCatalog()) as mb, AcoustidStandin(api_keys=(KEY,)) as acoustid:
        nowhere = AcoustIDResource(
            api_key=KEY,
            server_url=acoustid.url,
            throttle_path=str(tmp_path / "acoustid.lock"),
            chromaprint_library=False,
            fpcalc=str(tmp_path / "no-fpcalc-here"),
        )
        result = identify(library_db, music, musicbrainz(mb, tmp_path), nowhere)
        assert acoustid.count("/v2/lookup") == 0
    meta = metadata(result, "identified_entities")
    assert meta["by_fingerprint"].startswith("skipped: Chromaprint is not installed"), meta["by_fingerprint"]
    assert "libchromaprint1" in meta["by_fingerprint"]
    assert meta["status"] == "identified"
    assert rows(library_db, "SELECT status FROM library.identifications WHERE entity_type = 'track'") == [("none",)]


def test_without_a_key_the_part_names_the_setting(misnamed, tmp_path, library_db):
    music, _ = misnamed
    with MusicBrainzStandin(MbCatalog()) as mb:
        off = AcoustIDResource(throttle_path=str(tmp_path / "acoustid.lock"))
        result = identify(library_db, music, musicbrainz(mb, tmp_path), off)
    assert "ACOUSTID_API_KEY" in metadata(result, "identified_entities")["by_fingerprint"]


@pytest.mark.skipif(chromaprint_unavailable() is not None, reason="neither libchromaprint nor fpcalc is installed here")
def test_a_refused_key_fails_this_part_only_naming_the_setting_never_the_key(misnamed, tmp_path, library_db):
    music, _ = misnamed
    wrong = "acoustid-wrong-key-7Hn2"
    with MusicBrainzStandin(MbCatalog()) as mb, AcoustidStandin(api_keys=(KEY,)) as acoustid:
        refused = AcoustIDResource(
            api_key=wrong, server_url=acoustid.url, rate=1000.0, throttle_path=str(tmp_path / "acoustid.lock")
        )
        result = identify(library_db, music, musicbrainz(mb, tmp_path), refused)
    meta = metadata(result, "identified_entities")
    assert meta["by_fingerprint"].startswith("failed:") and "ACOUSTID_API_KEY" in meta["by_fingerprint"]
    assert wrong not in str(meta)
    # The fingerprint made before the refusal is kept: the next run will not decode the file again.
    assert rows(library_db, "SELECT count(*) FROM library.fingerprints") == [(1,)]
