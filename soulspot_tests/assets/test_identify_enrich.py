"""Identify and enrich end to end: musicbrainzngs against a local MusicBrainz stand-in,
materialized by Dagster into a tmp_path DuckDB built from real local files."""

import itertools
import json
import os
import subprocess
import sys
import textwrap

import dagster as dg
import pytest

from soulspot_pipeline.assets.discover import local_scan
from soulspot_pipeline.assets.enrich import enriched_metadata
from soulspot_pipeline.assets.identify import identified_entities
from soulspot_pipeline.assets.library import library_entities
from soulspot_pipeline.devkit.standins.musicbrainz import MbCatalog, MusicBrainzStandin
from soulspot_pipeline.devkit.synth import write_audio_file
from soulspot_pipeline.resources.music_folder import MusicFolder
from soulspot_pipeline.resources.musicbrainz import MusicBrainzResource
from soulspot_pipeline.resources.policies import LibraryPolicy
from soulspot_tests.results import acoustid_off, failure_message, metadata, rows
from soulspot_tests.results import materialize as shared_materialize

pytestmark = pytest.mark.integration  # assets and jobs run through Dagster against stand-ins

ASSETS = [local_scan, library_entities, identified_entities, enriched_metadata]
SECOND = 1000


def musicbrainz(server, tmp_path, **overrides):
    settings = {
        "server_url": f"http://{server.host}" if server else "http://127.0.0.1:9",
        "rate": 1000.0,
        "contact": "tests@example.org",
        "cache_path": str(tmp_path / "data" / "musicbrainz" / "cache.duckdb"),
        "throttle_path": str(tmp_path / "data" / "musicbrainz" / "rate.lock"),
        "retry_base_delay_s": 0.01,
    }
    settings.update(overrides)
    return MusicBrainzResource(**settings)


def materialize(library_db, music_dir, mb, assets=ASSETS, raise_on_error=True):
    return shared_materialize(
        assets,
        resources={
            "library_db": library_db,
            "music_folder": MusicFolder(music_dir=str(music_dir), scan_workers=1),
            "library_policy": LibraryPolicy(),
            "musicbrainz": mb,
            "acoustid": acoustid_off(),
        },
        raise_on_error=raise_on_error,
    )


def write_track(music_dir, artist, album, title, *, isrc=None, number=1, seconds=1.0, fmt="flac"):
    folder = music_dir / artist / album
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{number:02d} {title}.{fmt}"
    write_audio_file(
        path,
        fmt,
        {"artist": artist, "album": album, "title": title, "isrc": isrc, "track_number": number},
        seconds=seconds,
    )
    return path


def air_catalog() -> tuple[MbCatalog, dict]:
    catalog = MbCatalog()
    air = catalog.add_artist(
        "Air", sort_name="Air", country="FR", tags=[("electronic", 9), ("french", 5), ("downtempo", 4)], begin="1995"
    )
    moon = catalog.add_release_group(
        "Moon Safari", air, first_release_date="1998-01-16", tags=[("electronic", 7), ("trip hop", 3)]
    )
    release = catalog.add_release(moon, country="FR", media=[[]])
    sexy = catalog.add_recording("Sexy Boy", air, length_ms=SECOND, isrcs=["FRAB19800001"], releases=[release])
    kelly = catalog.add_recording(
        "Kelly Watch the Stars", air, length_ms=SECOND, isrcs=["FRAB19800002"], releases=[release]
    )
    return catalog, {"air": air, "moon": moon, "release": release, "sexy": sexy, "kelly": kelly}


@pytest.mark.scale
def test_a_thousand_isrc_tracks_cost_at_most_20_requests_and_a_second_run_none(library_db, music_dir, tmp_path):
    catalog = MbCatalog()
    for artist_n in range(50):
        artist = catalog.add_artist(f"Artist {artist_n:02d}")
        for album_n in range(2):
            group = catalog.add_release_group(
                f"Album {artist_n:02d}-{album_n}", artist, first_release_date="2001-02-03"
            )
            release = catalog.add_release(group, media=[[]])
            for track_n in range(10):
                n = artist_n * 20 + album_n * 10 + track_n
                title = f"Song {n:04d}"
                catalog.add_recording(title, artist, length_ms=SECOND, isrcs=[f"GBAAA25{n:05d}"], releases=[release])
                write_track(music_dir, artist.name, group.title, title, isrc=f"GBAAA25{n:05d}", number=track_n + 1)
    with MusicBrainzStandin(catalog) as server:
        mb = musicbrainz(server, tmp_path)
        first = materialize(library_db, music_dir, mb, assets=ASSETS[:3])
        assert server.count("/ws/2/") <= 20, server.search_log
        meta = metadata(first, "identified_entities")
        assert meta["decisions"] == {"album:accepted": 100, "artist:accepted": 50, "track:accepted": 1000}
        assert rows(library_db, "SELECT count(*) FROM library.tracks WHERE recording_mbid IS NOT NULL") == [(1000,)]
        assert rows(
            library_db,
            "SELECT count(*) FROM library.albums WHERE release_group_mbid IS NOT NULL AND release_mbid IS NOT NULL",
        ) == [(100,)]
        assert rows(library_db, "SELECT count(*) FROM library.artists WHERE artist_mbid IS NOT NULL") == [(50,)]
        requests = server.count("/ws/2/")
        materialize(library_db, music_dir, mb, assets=ASSETS[:3])
        assert server.count("/ws/2/") == requests  # everything known: no request at all
    print(f"1,000 ISRC tracks identified with {requests} MusicBrainz requests")


def test_a_top_hit_with_the_right_title_by_another_artist_is_not_accepted_and_the_refusal_is_explained(
    library_db, music_dir, tmp_path
):
    catalog = MbCatalog()
    other = catalog.add_artist("Sexy Boy Revival")
    release = catalog.add_release(catalog.add_release_group("Covers", other), media=[[]])
    wrong = catalog.add_recording("Sexy Boy", other, length_ms=SECOND, releases=[release])
    write_track(music_dir, "Air", "Moon Safari", "Sexy Boy")
    with MusicBrainzStandin(catalog) as server:
        server.score_overrides[wrong.mbid] = 100
        materialize(library_db, music_dir, musicbrainz(server, tmp_path), assets=ASSETS[:3])
    assert rows(library_db, "SELECT recording_mbid FROM library.tracks") == [(None,)]
    assert rows(library_db, "SELECT status, rule FROM library.identifications WHERE entity_type = 'track'") == [
        ("none", "recording_search")
    ]
    (candidate,) = rows(
        library_db,
        "SELECT candidate_mbid, mb_score, title_score, artist_score, decision, reason, query FROM library.match_candidates WHERE entity_type = 'track'",
    )
    assert candidate[:5] == (wrong.mbid, 100, 1.0, candidate[3], "rejected") and candidate[3] < 0.6
    assert "another artist (Sexy Boy Revival)" in candidate[5] and 'recording:"Sexy Boy"' in candidate[6]


def test_every_accepted_match_is_explained_by_match_candidates_alone(library_db, music_dir, tmp_path):
    catalog, ids = air_catalog()
    write_track(music_dir, "Air", "Moon Safari", "Sexy Boy", isrc="FRAB19800001", number=1)
    write_track(music_dir, "AIR", "Moon Safari", "Kelly Watch the Stars", number=2)  # no ISRC: found by search
    with MusicBrainzStandin(catalog) as server:
        result = materialize(library_db, music_dir, musicbrainz(server, tmp_path))
        asked = server.count("/ws/2/")
        again = materialize(library_db, music_dir, musicbrainz(server, tmp_path), assets=[enriched_metadata])
        assert server.count("/ws/2/") == asked and metadata(again, "enriched_metadata")["cache_hits"] >= 3
    assert metadata(result, "identified_entities")["accepted_by"] == {
        "album:from_recordings": 1,
        "artist:from_recordings": 1,
        "track:isrc": 1,
        "track:recording_search": 1,
    }
    unexplained = rows(
        library_db,
        """
        SELECT i.entity_type, i.entity_id FROM library.identifications i
        WHERE i.status = 'accepted' AND NOT EXISTS (
            SELECT 1 FROM library.match_candidates m
            WHERE m.entity_type = i.entity_type AND m.entity_id = i.entity_id AND m.candidate_mbid = i.mbid
              AND m.decision = 'accepted' AND m.rank = 1 AND m.reason <> '' AND m.total IS NOT NULL)
        """,
    )
    assert unexplained == []
    assert rows(library_db, "SELECT count(*) FROM library.identifications WHERE status = 'accepted'") == [(4,)]
    # The MBIDs are on the entities, and the enrichment arrived with its sources.
    assert rows(library_db, "SELECT DISTINCT recording_mbid IS NOT NULL FROM library.tracks") == [(True,)]
    album = rows(
        library_db,
        "SELECT release_group_mbid, release_date, album_type, genres, country, total_tracks FROM library.albums",
    )
    assert album == [(ids["moon"].mbid, "1998-01-16", "album", ["electronic", "trip hop"], "FR", 2)]
    assert rows(library_db, "SELECT sort_name, country, tags FROM library.artists") == [
        ("Air", "FR", ["electronic", "french", "downtempo"])
    ]
    assert rows(
        library_db,
        "SELECT DISTINCT source FROM library.field_sources WHERE entity_type = 'album' AND field = 'release_date'",
    ) == [("musicbrainz",)]


def test_musicbrainz_down_fails_identify_clearly_writes_nothing_and_skips_enrich(library_db, music_dir, tmp_path):
    write_track(music_dir, "Air", "Moon Safari", "Sexy Boy")
    materialize(library_db, music_dir, musicbrainz(None, tmp_path), assets=ASSETS[:2])
    with library_db.reader() as conn:
        before = {
            t: conn.execute(f"SELECT * FROM library.{t} ORDER BY ALL").fetchall()
            for t in ("tracks", "identifications", "match_candidates")
        }
    result = materialize(library_db, music_dir, musicbrainz(None, tmp_path, max_attempts=3), raise_on_error=False)
    assert not result.success
    message = failure_message(result)
    assert "identify stopped, nothing was written" in message and "failed after 3 attempt(s)" in message
    assert "no answer" in message and "Connection refused" in message and "http://127.0.0.1:9" in message
    started = {e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_START}
    assert "identified_entities" in started and "enriched_metadata" not in started
    with library_db.reader() as conn:
        after = {t: conn.execute(f"SELECT * FROM library.{t} ORDER BY ALL").fetchall() for t in before}
    assert after == before


def step_error(result):
    """The failed step and its error as Dagster recorded it."""
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    return failure.step_key, failure.event_specific_data.error


def assert_stopped_cleanly(result, step: str, phase: str, server_url: str) -> str:
    """The phase failed with its own message, naming the status, the server and what to do,
    and nothing of musicbrainzngs' or urllib's exceptions came along."""
    assert not result.success
    message = failure_message(result)
    key, error = step_error(result)
    assert key == step and error.cls_name == "Failure" and error.cause is None and error.context is None
    assert message.startswith(f"dagster._core.definitions.events.Failure: {phase} stopped, nothing was written: ")
    assert "HTTP 401 Unauthorized" in message and server_url in message and "check the mirror's credentials" in message
    for raw in ("Traceback", "AuthenticationError", "HTTPError", "musicbrainzngs", "urllib", "caused by"):
        assert raw not in message, raw
    return message


def test_a_mirror_answering_401_stops_identify_and_enrich_with_their_own_messages(library_db, music_dir, tmp_path):
    catalog, _ = air_catalog()
    write_track(music_dir, "Air", "Moon Safari", "Sexy Boy", isrc="FRAB19800001")
    with MusicBrainzStandin(catalog, credentials=("soulspot", "secret")) as server:
        url = f"http://{server.host}"
        identify = materialize(library_db, music_dir, musicbrainz(server, tmp_path), raise_on_error=False)
        identify_asked = server.refused_logins
        server.credentials = None  # the login is fixed: identify goes through
        materialize(library_db, music_dir, musicbrainz(server, tmp_path), assets=ASSETS[:3])
        server.credentials = ("soulspot", "secret")  # and lost again before enrich
        enrich = materialize(
            library_db, music_dir, musicbrainz(server, tmp_path), assets=[enriched_metadata], raise_on_error=False
        )
        enrich_asked = server.refused_logins - identify_asked
    message = assert_stopped_cleanly(identify, "identified_entities", "identify", url)
    assert "search/recording failed after 1 attempt(s)" in message
    started = {e.step_key for e in identify.all_events if e.event_type == dg.DagsterEventType.STEP_START}
    assert "enriched_metadata" not in started
    assert_stopped_cleanly(enrich, "enriched_metadata", "enrich", url)
    assert (identify_asked, enrich_asked) == (1, 1)  # a refused login is not asked again and again
    assert rows(library_db, "SELECT count(*) FROM library.entity_metadata") == [(0,)]
    print(f"401: identify and enrich stopped with their own messages:\n{message.splitlines()[0]}")


def test_enrich_counts_a_releases_pregap_and_data_tracks_in_the_albums_total(library_db, music_dir, tmp_path):
    catalog, ids = air_catalog()
    catalog.add_recording("Hidden", ids["air"], length_ms=SECOND, releases=[ids["release"]], kind="pregap")
    catalog.add_recording("Sexy Boy (video)", ids["air"], releases=[ids["release"]], kind="data")
    write_track(music_dir, "Air", "Moon Safari", "Sexy Boy", isrc="FRAB19800001")
    with MusicBrainzStandin(catalog) as server:
        materialize(library_db, music_dir, musicbrainz(server, tmp_path))
    assert rows(library_db, "SELECT total_tracks FROM library.albums") == [(4,)]


def test_a_503_and_slow_answers_are_waited_out(library_db, music_dir, tmp_path):
    catalog, _ = air_catalog()
    write_track(music_dir, "Air", "Moon Safari", "Sexy Boy", isrc="FRAB19800001")
    with MusicBrainzStandin(catalog) as server:
        server.inject("/ws/2/recording", status=503, body="Your requests are exceeding the allowable rate limit.")
        server.delay_s = 0.2
        result = materialize(library_db, music_dir, musicbrainz(server, tmp_path), assets=ASSETS[:3])
    assert metadata(result, "identified_entities")["decisions"]["track:accepted"] == 1


def test_an_empty_answer_is_no_match_not_an_error(library_db, music_dir, tmp_path):
    write_track(music_dir, "Nobody Knows", "Unreleased", "Demo 1")
    with MusicBrainzStandin(MbCatalog()) as server:
        result = materialize(library_db, music_dir, musicbrainz(server, tmp_path), assets=ASSETS[:3])
    assert metadata(result, "identified_entities")["decisions"] == {"album:none": 1, "artist:none": 1, "track:none": 1}


def test_entities_that_turn_out_to_share_an_mbid_become_one_and_keep_every_file(library_db, music_dir, tmp_path):
    catalog, ids = air_catalog()
    moon_file = write_track(music_dir, "Air", "Moon Safari", "Sexy Boy", number=1)
    best_of = write_track(music_dir, "Air", "The Best of Air", "Sexy Boy (Single Edit)", isrc="FRAB19800001", number=7)
    with MusicBrainzStandin(catalog) as server:
        materialize(library_db, music_dir, musicbrainz(server, tmp_path), assets=ASSETS[:2])
        assert rows(library_db, "SELECT count(*) FROM library.tracks") == [(2,)]
        result = materialize(library_db, music_dir, musicbrainz(server, tmp_path), assets=ASSETS[:3])
    assert metadata(result, "identified_entities")["entities_merged"] == 1
    (track_id,) = rows(library_db, "SELECT track_id FROM library.tracks WHERE ownership_state = 'owned'")[0]
    assert rows(library_db, "SELECT count(*), any_value(recording_mbid) FROM library.tracks") == [(1, ids["sexy"].mbid)]
    assert sorted(rows(library_db, "SELECT path, track_id FROM library.track_files")) == sorted(
        [(str(moon_file), track_id), (str(best_of), track_id)]
    )
    ((alias, entity, reason),) = rows(
        library_db, "SELECT alias_id, entity_id, reason FROM library.entity_aliases WHERE entity_type = 'track'"
    )
    assert entity == track_id and alias != track_id and ids["sexy"].mbid in reason


def test_manual_values_win_over_musicbrainz_and_musicbrainz_over_file_tags(library_db, music_dir, tmp_path):
    from soulspot_pipeline.definitions import build_definitions
    from soulspot_pipeline.settings import Settings

    catalog, _ = air_catalog()
    write_track(music_dir, "Air", "Moon Safari", "Sexy Boy", isrc="FRAB19800001")
    with MusicBrainzStandin(catalog) as server:
        materialize(library_db, music_dir, musicbrainz(server, tmp_path))
    (album_id,) = rows(library_db, "SELECT album_id FROM library.albums")[0]
    defs = build_definitions(Settings.from_env({"SOULSPOT_DATA_DIR": str(tmp_path / "data")}))
    run = defs.resolve_job_def("set_metadata").execute_in_process(
        run_config={
            "ops": {
                "set_field": {
                    "config": {
                        "entity_type": "album",
                        "entity_id": album_id,
                        "field": "genres",
                        "value": "french house, lounge",
                    }
                }
            }
        },
        resources={"library_db": library_db, "library_policy": LibraryPolicy()},
    )
    assert run.success
    assert rows(library_db, "SELECT genres, release_date FROM library.albums") == [
        (["french house", "lounge"], "1998-01-16")
    ]
    assert (
        dict(rows(library_db, "SELECT field, source FROM library.field_sources WHERE entity_type = 'album'"))["genres"]
        == "manual"
    )
    # The file's own duration loses to MusicBrainz's length of the recording.
    assert rows(
        library_db,
        "SELECT duration_ms, f.source FROM library.tracks JOIN library.field_sources f ON f.entity_id = track_id AND f.field = 'duration_ms'",
    ) == [(SECOND, "musicbrainz")]


def test_turned_off_musicbrainz_is_skipped(library_db, music_dir, tmp_path):
    result = materialize(library_db, music_dir, musicbrainz(None, tmp_path, server_url=None))
    assert metadata(result, "identified_entities")["status"].startswith("skipped: turned off")


RUN_IDENTIFY = textwrap.dedent(
    """
    import json, sys
    import dagster as dg
    from soulspot_pipeline.assets.identify import identified_entities
    from soulspot_pipeline.resources.policies import LibraryPolicy
    from soulspot_pipeline.resources.musicbrainz import MusicBrainzResource
    from soulspot_pipeline.store.database import LibraryDatabase
    from soulspot_tests.results import acoustid_off

    settings = json.loads(sys.argv[1])
    result = dg.materialize(
        [identified_entities],
        resources={
            "library_db": LibraryDatabase(database=settings["database"]),
            "library_policy": LibraryPolicy(),
            "musicbrainz": MusicBrainzResource(**settings["musicbrainz"]),
            "acoustid": acoustid_off(),
        },
    )
    sys.exit(0 if result.success else 1)
    """
)


@pytest.mark.e2e  # two identify runs in their own processes
def test_two_runs_started_together_keep_to_one_request_a_second(tmp_path):
    catalog = MbCatalog()
    for n in range(2):
        write_root = tmp_path / f"library{n}"
        music = write_root / "music"
        music.mkdir(parents=True)
        write_track(music, f"Band {n}", "Demo", f"Alpha {n}")
    from soulspot_pipeline.store.database import LibraryDatabase

    databases = []
    for n in range(2):
        db = LibraryDatabase(database=str(tmp_path / f"library{n}" / "soulspot.duckdb"))
        materialize(db, tmp_path / f"library{n}" / "music", musicbrainz(None, tmp_path), assets=ASSETS[:2])
        databases.append(db.database)
    with MusicBrainzStandin(catalog, min_interval_s=1.0) as server:
        shared = {
            "server_url": f"http://{server.host}",
            "rate": 1.0,
            "contact": "tests@example.org",
            "cache_path": str(tmp_path / "shared-cache.duckdb"),
            "throttle_path": str(tmp_path / "rate.lock"),
            "retry_base_delay_s": 0.01,
        }
        env = dict(os.environ)
        runs = [
            subprocess.Popen(
                [sys.executable, "-c", RUN_IDENTIFY, json.dumps({"database": database, "musicbrainz": shared})], env=env
            )
            for database in databases
        ]
        assert [run.wait(timeout=240) for run in runs] == [0, 0]
        arrivals = sorted(r.started for r in server.requests if r.path.startswith("/ws/2/"))
    # Each library: 1 track search, 1 artist search, 1 release-group search. The runs' requests
    # leave a second apart (FileThrottle); the server, counting as MusicBrainz does, refused none.
    assert len(arrivals) == 6 and server.rate_violations == 0
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert min(gaps) >= 0.5, gaps
    print(f"6 requests from two runs, smallest gap {min(gaps):.3f} s")


@pytest.fixture(autouse=True)
def _restore_musicbrainzngs():
    import musicbrainzngs.musicbrainz as mbz

    saved = (mbz.hostname, mbz.https)
    yield
    mbz.hostname, mbz.https = saved
