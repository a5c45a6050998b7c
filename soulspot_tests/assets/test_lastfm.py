"""Last.fm end to end: pylast against the Last.fm stand-in, MusicBrainz against its own, the
phases materialized by Dagster into a tmp_path DuckDB built from real local files."""

import json

import dagster as dg
import pytest

from soulspot_pipeline.assets.discover import local_scan
from soulspot_pipeline.assets.enrich import enriched_metadata
from soulspot_pipeline.assets.identify import identified_entities
from soulspot_pipeline.assets.lastfm import NOT_CONFIGURED, lastfm_metadata
from soulspot_pipeline.assets.library import library_entities
from soulspot_pipeline.devkit.standins.lastfm import LastfmCatalog, LastfmStandin
from soulspot_pipeline.devkit.standins.musicbrainz import MusicBrainzStandin
from soulspot_pipeline.resources.lastfm import LastfmResource
from soulspot_pipeline.resources.music_folder import MusicFolder
from soulspot_pipeline.resources.policies import LibraryPolicy
from soulspot_tests.assets.test_identify_enrich import air_catalog, musicbrainz, write_track
from soulspot_tests.clock import VirtualClock
from soulspot_tests.results import acoustid_off, materialize, metadata, rows

pytestmark = pytest.mark.integration  # assets run through Dagster against stand-ins

KEY = "lastfm-key-5Vb7nQ2w"
ASSETS = [local_scan, library_entities, identified_entities, enriched_metadata, lastfm_metadata]
THOM = "8ed2e0b3-aa4c-4e13-bec3-dc7393ed4d6b"


def lastfm_catalog() -> LastfmCatalog:
    catalog = LastfmCatalog()
    # Air: MusicBrainz has its genres; Last.fm's stay below them.
    catalog.add_artist(
        "Air",
        [("electronic", 100), ("seen live", 80), ("chillout", 60), ("1998", 40), ("air", 30)],
        [
            ("Zero 7", "", 1.0),
            ("Thom Yorke", THOM, 0.57264),
            ("Daft Punk", "056e4f3e-d505-4dad-8ec1-d04f521cbb56", 0.4),
        ],
    )
    catalog.add_album("Air", "Moon Safari", [("downtempo", 100), ("albums i own", 90)])
    # Zero 7: MusicBrainz does not know it; Last.fm fills its genres.
    catalog.add_artist(
        "Zero 7",
        [("Downtempo", 100), ("favorites", 90), ("Trip_Hop", 70), ("00s", 50), ("Zero 7", 40), ("lounge", 5)],
        [],
    )
    catalog.add_album("Zero 7", "Simple Things", [("chillout", 100), ("2001", 80), ("seen live", 60)])
    return catalog


def lastfm(server, tmp_path, **overrides) -> LastfmResource:
    settings = {
        "api_key": KEY,
        "base_url": server.ws_url,
        "rate": 1000.0,
        "throttle_path": str(tmp_path / "data" / "lastfm" / "rate.lock"),
        "clock": VirtualClock(),
        **overrides,
    }
    return LastfmResource(**settings)


def run(library_db, music_dir, mb, lfm, assets=ASSETS, raise_on_error=True) -> dg.ExecuteInProcessResult:
    return materialize(
        assets,
        resources={
            "library_db": library_db,
            "music_folder": MusicFolder(music_dir=str(music_dir), scan_workers=1),
            "library_policy": LibraryPolicy(),
            "musicbrainz": mb,
            "acoustid": acoustid_off(),
            "lastfm": lfm,
        },
        raise_on_error=raise_on_error,
    )


def write_library(music_dir) -> None:
    write_track(music_dir, "Air", "Moon Safari", "Sexy Boy", isrc="FRAB19800001")
    write_track(music_dir, "Zero 7", "Simple Things", "Destiny")


def genres(library_db, table: str, name_column: str) -> dict[str, tuple]:
    found = rows(
        library_db,
        f"""
        SELECT x.{name_column}, x.genres, f.source FROM library.{table} x
        LEFT JOIN library.field_sources f ON f.entity_id = x.{table[:-1]}_id AND f.field = 'genres'
        """,
    )
    return {name: (list(g) if g else None, source) for name, g, source in found}


def test_lastfm_fills_genres_only_below_musicbrainz_drops_non_genres_stores_similar_artists_and_asks_once(
    library_db, music_dir, tmp_path
):
    mb_catalog, _ = air_catalog()
    write_library(music_dir)
    with MusicBrainzStandin(mb_catalog) as mb_server, LastfmStandin(lastfm_catalog(), api_keys=(KEY,)) as server:
        mb = musicbrainz(mb_server, tmp_path)
        first = run(library_db, music_dir, mb, lastfm(server, tmp_path))
        asked = len(server.requests)
        assert asked == 6  # two artists (tags, similar), two albums
        meta = metadata(first, "lastfm_metadata")
        assert meta["status"] == "enriched" and meta["requests"] == 6 and meta["cache_hits"] == 0

        assert genres(library_db, "artists", "name") == {
            "Air": (["electronic", "french", "downtempo"], "musicbrainz"),
            "Zero 7": (["downtempo", "trip hop"], "lastfm"),
        }
        assert genres(library_db, "albums", "title") == {
            "Moon Safari": (["electronic", "trip hop"], "musicbrainz"),
            "Simple Things": (["chillout"], "lastfm"),
        }
        # Last.fm's own values are kept beside MusicBrainz's, without the non-genres.
        stored = dict(
            rows(
                library_db,
                "SELECT entity_type || ':' || entity_id, value::VARCHAR FROM library.entity_metadata "
                "WHERE source = 'lastfm' AND field = 'genres' AND entity_id IN (SELECT artist_id FROM library.artists WHERE name = 'Air')",
            )
        )
        assert [json.loads(v) for v in stored.values()] == [["electronic", "chillout"]]
        assert rows(
            library_db,
            """
            SELECT ar.name, s.similar_name, s.similar_mbid, s.match, s.rank FROM library.similar_artists s
            JOIN library.artists ar USING (artist_id) ORDER BY ar.name, s.rank
            """,
        ) == [
            ("Air", "Zero 7", None, 1.0, 1),
            ("Air", "Thom Yorke", THOM, 0.57264, 2),
            ("Air", "Daft Punk", "056e4f3e-d505-4dad-8ec1-d04f521cbb56", 0.4, 3),
        ]
        before = rows(library_db, "SELECT * FROM library.similar_artists ORDER BY ALL")

        # A re-run: everything is known, not one request; nothing changes.
        again = run(library_db, music_dir, mb, lastfm(server, tmp_path), assets=[lastfm_metadata])
        assert len(server.requests) == asked
        meta = metadata(again, "lastfm_metadata")
        assert meta["requests"] == 0 and meta["cache_hits"] == 6
        assert meta["written"]["written"] == 0 and meta["written"]["similar_added"] == 0
        assert rows(library_db, "SELECT * FROM library.similar_artists ORDER BY ALL") == before


def test_a_bad_key_fails_lastfm_with_a_sentence_naming_the_variable_and_the_other_phases_go_on(
    library_db, music_dir, tmp_path
):
    mb_catalog, _ = air_catalog()
    write_library(music_dir)
    with (
        MusicBrainzStandin(mb_catalog) as mb_server,
        LastfmStandin(lastfm_catalog(), api_keys=("the-right-key",)) as server,
    ):
        result = run(
            library_db, music_dir, musicbrainz(mb_server, tmp_path), lastfm(server, tmp_path), raise_on_error=False
        )
        assert len(server.requests) == 1  # refused once, not asked again
    assert not result.success
    failures = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert [e.step_key for e in failures] == ["lastfm_metadata"]
    message = str(failures[0].event_specific_data.error)
    assert "Last.fm refused the API key in LASTFM_API_KEY" in message
    assert KEY not in "\n".join(str(e) for e in result.all_events)
    # MusicBrainz enrichment went on and wrote its genres.
    assert metadata(result, "enriched_metadata")["status"] == "enriched"
    assert genres(library_db, "artists", "name")["Air"] == (["electronic", "french", "downtempo"], "musicbrainz")
    assert rows(library_db, "SELECT count(*) FROM library.similar_artists") == [(0,)]


def test_unset_key_skips_lastfm_and_says_how_to_turn_it_on(library_db, music_dir, tmp_path):
    write_library(music_dir)
    with LastfmStandin(lastfm_catalog(), api_keys=(KEY,)) as server:
        result = run(
            library_db,
            music_dir,
            musicbrainz(None, tmp_path, server_url=None),
            lastfm(server, tmp_path, api_key=None),
            assets=[local_scan, library_entities, lastfm_metadata],
        )
        assert server.requests == []
    assert (
        metadata(result, "lastfm_metadata")["status"]
        == NOT_CONFIGURED
        == "skipped: not configured (set LASTFM_API_KEY)"
    )


def test_answers_learned_before_a_failure_are_kept_and_not_asked_again(library_db, music_dir, tmp_path):
    write_library(music_dir)
    mb = musicbrainz(None, tmp_path, server_url=None)
    assets = [local_scan, library_entities, identified_entities, lastfm_metadata]
    with LastfmStandin(lastfm_catalog(), api_keys=(KEY,)) as server:
        server.unavailable = {"Simple Things"}  # albums are asked last
        failed = run(
            library_db, music_dir, mb, lastfm(server, tmp_path, max_attempts=2), assets=assets, raise_on_error=False
        )
        assert not failed.success
        error = str(
            next(
                e for e in failed.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE
            ).event_specific_data.error
        )
        assert "Last.fm stopped, no genre or similar artist was written" in error and "after 2 attempt(s)" in error
        assert rows(library_db, "SELECT count(*) FROM library.similar_artists") == [(0,)]
        server.unavailable = set()
        done = run(library_db, music_dir, mb, lastfm(server, tmp_path), assets=assets)
    meta = metadata(done, "lastfm_metadata")
    assert meta["cache_hits"] >= 4 and meta["cache_hits"] + meta["requests"] == 6  # only what failed is asked again
    assert genres(library_db, "albums", "title")["Simple Things"] == (["chillout"], "lastfm")
