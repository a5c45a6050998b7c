"""Every run that rewrites artists, albums and tracks records a `library_entities` materialization
whose counts are the tables' own: read back from a real Dagster instance, against stand-ins."""

import dagster as dg
import pytest

from soulspot_pipeline.assets.cleanup import library_cleanup
from soulspot_pipeline.assets.cloud import cloud_assets
from soulspot_pipeline.assets.discover import local_scan
from soulspot_pipeline.assets.downloads import download_transfers, downloads
from soulspot_pipeline.assets.identify import identified_entities
from soulspot_pipeline.assets.library import library_entities
from soulspot_pipeline.definitions import build_definitions
from soulspot_pipeline.devkit.standins import deezer as dz
from soulspot_pipeline.devkit.standins.coverart import CoverArtStandin
from soulspot_pipeline.devkit.standins.deezer import DeezerStandin
from soulspot_pipeline.devkit.standins.musicbrainz import MusicBrainzStandin
from soulspot_pipeline.devkit.standins.slskd import SharedFile, SlskdStandin
from soulspot_pipeline.devkit.synth import audio_bytes
from soulspot_pipeline.resources.deezer import DeezerResource
from soulspot_pipeline.resources.music_folder import MusicFolder
from soulspot_pipeline.resources.policies import LibraryPolicy
from soulspot_pipeline.settings import Settings
from soulspot_tests.assets.test_downloads import KELLY, SEXY, SHORT, follow_resources, liked
from soulspot_tests.assets.test_identify_enrich import air_catalog, musicbrainz, write_track
from soulspot_tests.results import acoustid_off, rows

pytestmark = pytest.mark.integration  # assets and jobs run through Dagster against stand-ins

LIBRARY_ENTITIES = dg.AssetKey("library_entities")
deezer_favorites = next(a for a in cloud_assets if a.key == dg.AssetKey("deezer_favorites"))

DAFT = dz.artist(27, "Daft Punk")
DISCOVERY = dz.album(302128, "Discovery", DAFT, nb_tracks=14)
ONE_MORE_TIME = dz.track(3135553, "One More Time", DAFT, DISCOVERY, duration_s=320)

COUNTS = {
    "artists": "SELECT count(*) FROM library.artists",
    "albums": "SELECT count(*) FROM library.albums",
    "tracks": "SELECT count(*) FROM library.tracks",
    "owned_tracks": "SELECT count(*) FROM library.tracks WHERE ownership_state = 'owned'",
    "downloaded_tracks": "SELECT count(*) FROM library.tracks WHERE download_state = 'downloaded'",
}


@pytest.fixture
def instance(tmp_path):
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        yield instance


def shared_sexy_boy(tmp_path, peer: str, **behaviour) -> SlskdStandin:
    slskd = SlskdStandin(tmp_path / "slskd" / "downloads", search_polls=1)
    audio = audio_bytes("flac", {"title": "x"}, seconds=2.0)
    slskd.add_peer(
        peer, files=[SharedFile(f"@@{peer}\\Air\\Moon Safari\\02 Sexy Boy.flac", audio, length=2)], **behaviour
    )
    return slskd


def table_counts(library_db) -> dict[str, int]:
    counts = {name: rows(library_db, sql)[0][0] for name, sql in COUNTS.items()}
    return {**counts, "dagster/row_count": counts["tracks"]}


def catalog_counts(instance, run_id: str) -> dict[str, object]:
    """The metadata of the newest `library_entities` materialization, which must come from ``run_id``."""
    event = instance.get_latest_materialization_event(LIBRARY_ENTITIES)
    assert event is not None and event.run_id == run_id, "the run did not record library_entities"
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}


def assert_catalog_matches_tables(instance, run_id: str, library_db) -> dict[str, object]:
    meta = catalog_counts(instance, run_id)
    assert {k: meta[k] for k in (*COUNTS, "dagster/row_count")} == table_counts(library_db)
    # Every writer reports the same shape as the asset itself.
    assert {"local_files", "duplicate_files", "cloud_items", "matched_by", "changes", "preview"} <= set(meta)
    return meta


def entity_steps(instance, run_id: str) -> set[str]:
    """The steps of ``run_id`` that recorded a `library_entities` materialization."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    return {r.event_log_entry.step_key for r in records if r.asset_key == LIBRARY_ENTITIES}


def test_after_a_library_refresh_the_catalog_counts_are_the_tables_counts(library_db, music_dir, tmp_path, instance):
    catalog, _ = air_catalog()
    write_track(music_dir, "Air", "Moon Safari", "Sexy Boy", isrc="FRAB19800001", number=1)
    write_track(music_dir, "Air", "Moon Safari", "Kelly Watch the Stars", number=2)
    with MusicBrainzStandin(catalog) as mb, CoverArtStandin() as coverart, DeezerStandin(liked(ONE_MORE_TIME)) as dzr:
        settings = Settings.from_env(
            {
                "SOULSPOT_DATA_DIR": str(tmp_path / "data"),
                "SOULSPOT_MUSIC_DIR": str(music_dir),
                "SOULSPOT_SCAN_WORKERS": "1",
                "DEEZER_USER_ID": "5",
                "SOULSPOT_DEEZER_API_URL": dzr.api_url,
                "SOULSPOT_MUSICBRAINZ_URL": f"http://{mb.host}",
                "SOULSPOT_MUSICBRAINZ_RATE": "1000",
                "SOULSPOT_CONTACT": "tests@example.org",
                "SOULSPOT_COVERART_URL": coverart.url,
                "SOULSPOT_LRCLIB_URL": "off",
            }
        )
        run = build_definitions(settings).resolve_job_def("library_refresh").execute_in_process(instance=instance)
    assert run.success
    meta = assert_catalog_matches_tables(instance, run.run_id, library_db)
    assert (meta["artists"], meta["albums"], meta["tracks"], meta["owned_tracks"]) == (2, 2, 3, 3)
    # The merge ran in the asset and again in the phases after it; each recorded what it left.
    assert {"library_entities", "identified_entities", "enriched_metadata"} <= entity_steps(instance, run.run_id)


def test_a_user_action_records_the_library_it_left(library_db, tmp_path, instance):
    policy = LibraryPolicy()
    with DeezerStandin(liked(SEXY, KELLY)) as deezer:
        res = {
            "library_db": library_db,
            "library_policy": policy,
            "deezer": DeezerResource(user_id="5", api_url=deezer.api_url, retry_base_delay_s=0.01),
        }
        dg.materialize([deezer_favorites, library_entities], resources=res, instance=instance)
    assert table_counts(library_db)["owned_tracks"] == 2
    (sexy_id,) = rows(library_db, "SELECT track_id FROM library.tracks WHERE title = 'Sexy Boy'")[0]
    defs = build_definitions(Settings.from_env({"SOULSPOT_DATA_DIR": str(tmp_path / "data")}))
    run = defs.resolve_job_def("remove_from_library").execute_in_process(
        run_config={"ops": {"remove": {"config": {"entity_type": "track", "entity_id": sexy_id}}}},
        resources={"library_db": library_db, "library_policy": policy},
        instance=instance,
    )
    assert run.success
    meta = assert_catalog_matches_tables(instance, run.run_id, library_db)
    assert meta["owned_tracks"] == 1
    assert meta["action"].startswith("removed track 'Sexy Boy'")


def test_identify_records_the_library_after_entities_sharing_an_mbid_became_one(
    library_db, music_dir, tmp_path, instance
):
    catalog, _ = air_catalog()
    write_track(music_dir, "Air", "Moon Safari", "Sexy Boy", number=1)
    write_track(music_dir, "Air", "The Best of Air", "Sexy Boy (Single Edit)", isrc="FRAB19800001", number=7)
    res = {
        "library_db": library_db,
        "music_folder": MusicFolder(music_dir=str(music_dir), scan_workers=1),
        "library_policy": LibraryPolicy(),
    }
    with MusicBrainzStandin(catalog) as server:
        res["musicbrainz"] = musicbrainz(server, tmp_path)
        res["acoustid"] = acoustid_off()
        dg.materialize([local_scan, library_entities], resources=res, instance=instance)
        assert table_counts(library_db)["tracks"] == 2
        run = dg.materialize([identified_entities], resources=res, instance=instance)
    meta = assert_catalog_matches_tables(instance, run.run_id, library_db)
    assert meta["tracks"] == 1
    assert entity_steps(instance, run.run_id) == {"identified_entities"}


def test_downloads_and_imports_record_the_library_they_left(library_db, tmp_path, instance):
    slskd = shared_sexy_boy(tmp_path, "good")
    with DeezerStandin(liked(SHORT)) as deezer, slskd:
        res = follow_resources(library_db, tmp_path, deezer, slskd)
        searched = dg.materialize([deezer_favorites, library_entities, downloads], resources=res, instance=instance)
        assert entity_steps(instance, searched.run_id) == {"library_entities", "downloads"}
        meta = assert_catalog_matches_tables(instance, searched.run_id, library_db)
        assert "downloading" in meta["preview"] and meta["downloaded_tracks"] == 0
        for _ in range(10):
            run = dg.materialize([download_transfers], resources=res, instance=instance)
            if rows(library_db, "SELECT state FROM library.downloads") == [("downloaded",)]:
                break
    meta = assert_catalog_matches_tables(instance, run.run_id, library_db)
    assert meta["downloaded_tracks"] == 1


def test_cleanup_records_the_library_only_when_it_gave_a_download_up(library_db, tmp_path, instance):
    slskd = shared_sexy_boy(tmp_path, "cut", behaviour="truncated")
    with DeezerStandin(liked(SHORT)) as deezer, slskd:
        res = follow_resources(library_db, tmp_path, deezer, slskd)
        dg.materialize([deezer_favorites, library_entities, downloads], resources=res, instance=instance)
        for _ in range(10):
            dg.materialize([download_transfers], resources=res, instance=instance)
            if rows(library_db, "SELECT state FROM library.downloads") == [("failed",)]:
                break
    assert rows(library_db, "SELECT download_state FROM library.tracks") == [("failed",)]

    nothing = dg.materialize([library_cleanup], resources=res, instance=instance)
    assert entity_steps(instance, nothing.run_id) == set()  # nothing given up: the merge did not run

    with library_db.writer() as conn:  # the failure is eight days old now
        conn.execute("UPDATE library.downloads SET updated_at = updated_at - INTERVAL 8 DAY")
    cleaned = dg.materialize([library_cleanup], resources=res, instance=instance)
    assert rows(library_db, "SELECT state FROM library.downloads") == [("abandoned",)]
    (state,) = rows(library_db, "SELECT download_state FROM library.tracks")[0]
    assert state != "failed"
    meta = assert_catalog_matches_tables(instance, cleaned.run_id, library_db)
    assert f"| {state} |" in meta["preview"] and "| failed |" not in meta["preview"]
