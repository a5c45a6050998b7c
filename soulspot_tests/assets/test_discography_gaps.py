"""Discography gaps end to end: musicbrainzngs browsing a local MusicBrainz stand-in (and
spotipy a Spotify stand-in), materialized by Dagster into a tmp_path DuckDB built from
real tagged audio files."""

import time

import dagster as dg
import pytest

from soulspot_pipeline.assets.cloud import cloud_assets
from soulspot_pipeline.assets.discover import local_scan
from soulspot_pipeline.assets.expand import discography_gaps
from soulspot_pipeline.assets.library import library_entities
from soulspot_pipeline.devkit.standins import spotify as sp
from soulspot_pipeline.devkit.standins.musicbrainz import MbCatalog, MusicBrainzStandin
from soulspot_pipeline.devkit.standins.spotify import SpotifyLibrary, SpotifyStandin
from soulspot_pipeline.devkit.synth import write_audio_file
from soulspot_pipeline.resources.music_folder import MusicFolder
from soulspot_pipeline.resources.musicbrainz import MusicBrainzResource
from soulspot_pipeline.resources.policies import DiscographyPolicy, LibraryPolicy
from soulspot_pipeline.resources.spotify import SCOPES, SpotifyResource, TokenFile
from soulspot_tests.assets.test_identify_enrich import musicbrainz as musicbrainz_resource
from soulspot_tests.results import failure_message, metadata, rows
from soulspot_tests.results import materialize as shared_materialize

pytestmark = pytest.mark.integration  # assets and jobs run through Dagster against stand-ins

ASSETS = [local_scan, library_entities, discography_gaps]


def musicbrainz(server, tmp_path) -> MusicBrainzResource:
    return musicbrainz_resource(server, tmp_path, max_attempts=2)


def spotify(tmp_path, server=None) -> SpotifyResource:
    return SpotifyResource(
        client_id=server.client_id if server else None,
        redirect_uri="http://127.0.0.1:8888/callback" if server else None,
        api_url=server.api_url if server else "http://127.0.0.1:9/v1/",
        accounts_url=server.accounts_url if server else "http://127.0.0.1:9",
        token_path=str(tmp_path / "data" / "secrets" / "spotify-token.json"),
        retry_base_delay_s=0.01,
    )


def materialize(
    library_db,
    music_dir,
    tmp_path,
    mb,
    *,
    policy=None,
    spotify_resource=None,
    assets=ASSETS,
    run_config=None,
    raise_on_error=True,
):
    return shared_materialize(
        assets,
        resources={
            "library_db": library_db,
            "music_folder": MusicFolder(music_dir=str(music_dir), scan_workers=1),
            "library_policy": LibraryPolicy(),
            "musicbrainz": mb,
            "spotify": spotify_resource or spotify(tmp_path),
            "discography_policy": policy or DiscographyPolicy(),
        },
        run_config=run_config,
        raise_on_error=raise_on_error,
    )


def write_track(music_dir, artist, album, title, *, number=1, **tags):
    folder = music_dir / artist / album
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{number:02d} {title}.flac"
    write_audio_file(
        path, "flac", {"artist": artist, "album": album, "title": title, "track_number": number, **tags}, seconds=0.2
    )
    return path


def browse_requests(server) -> int:
    return sum(1 for r in server.requests if r.path.rstrip("/") == "/ws/2/release-group" and "artist" in r.query)


def gaps(library_db, artist=None):
    where = "WHERE artist_name = ?" if artist else ""
    return rows(
        library_db,
        f"SELECT artist_name, title, release_type, status FROM library.discography_gaps {where} ORDER BY ALL",
        [artist] if artist else [],
    )


def test_an_artist_with_250_release_groups_costs_3_browse_requests_and_a_rerun_within_the_ttl_none(
    library_db, music_dir, tmp_path
):
    catalog = MbCatalog()
    artist = catalog.add_artist("Prolific")
    kinds = [("Album", ()), ("EP", ()), ("Single", ()), ("Album", ("Live",)), ("Album", ("Compilation",))]
    groups = [
        catalog.add_release_group(
            f"Release {n:03d}",
            artist,
            primary_type=kinds[n % 5][0],
            secondary_types=kinds[n % 5][1],
            first_release_date=f"{1970 + n // 5}-01-01",
        )
        for n in range(250)
    ]
    write_track(
        music_dir, "Prolific", "Release 000", "Song", artist_mbid=artist.mbid, release_group_mbid=groups[0].mbid
    )
    write_track(music_dir, "Prolific", "release 001 (Remastered)", "Other", artist_mbid=artist.mbid)
    with MusicBrainzStandin(catalog) as server:
        mb = musicbrainz(server, tmp_path)
        first = materialize(library_db, music_dir, tmp_path, mb)
        assert browse_requests(server) == 3
        assert server.count("/ws/2/") == 3
        before = server.count("/ws/2/")
        second = materialize(library_db, music_dir, tmp_path, musicbrainz(server, tmp_path))
        assert server.count("/ws/2/") == before
    assert metadata(second, "discography_gaps")["requests"] == 0
    # Albums and EPs count (100 each of 250, alternating), singles, live and compilations do not.
    assert rows(
        library_db,
        "SELECT count(*), count(*) FILTER (WHERE counted), count(*) FILTER (WHERE owned) FROM library.discography",
    ) == [(250, 100, 2)]
    assert rows(library_db, "SELECT status, count(*) FROM library.discography_gaps GROUP BY ALL") == [("missing", 98)]
    assert rows(
        library_db, "SELECT release_groups, owned, missing, completeness_pct FROM library.artist_completeness"
    ) == [(100, 2, 98, 2.0)]
    assert metadata(first, "discography_gaps")["gaps"] == {"missing": 98}
    assert rows(library_db, "SELECT matched_by FROM library.discography WHERE owned ORDER BY 1") == [
        ("release_group_mbid",),
        ("title",),
    ]


def test_a_slightly_different_title_owns_the_album_and_another_artists_album_of_that_title_does_not(
    library_db, music_dir, tmp_path
):
    catalog = MbCatalog()
    daft = catalog.add_artist("Daft Punk")
    other = catalog.add_artist("Discovery Channel Band")
    for title, date in (("Homework", "1997-01-20"), ("Discovery", "2001-03-12"), ("Human After All", "2005-03-14")):
        catalog.add_release_group(title, daft, first_release_date=date)
    catalog.add_release_group("Alive 2007", daft, secondary_types=["Live"], first_release_date="2007-11-19")
    catalog.add_release_group("Discovery", other, first_release_date="1999-01-01")
    write_track(music_dir, "Daft Punk", "HOMEWORK (Remastered)", "Revolution 909", artist_mbid=daft.mbid)
    write_track(music_dir, "Daft Punk", "human after all!", "Robot Rock", artist_mbid=daft.mbid)
    write_track(music_dir, "Discovery Channel Band", "Discovery", "Theme", artist_mbid=other.mbid)
    with MusicBrainzStandin(catalog) as server:
        materialize(library_db, music_dir, tmp_path, musicbrainz(server, tmp_path))
    assert gaps(library_db) == [("Daft Punk", "Discovery", "album", "missing")]
    assert rows(
        library_db,
        "SELECT a.name, d.title, d.matched_by FROM library.discography d JOIN library.artists a USING (artist_id) WHERE d.owned ORDER BY ALL",
    ) == [
        ("Daft Punk", "Homework", "title"),
        ("Daft Punk", "Human After All", "title"),
        ("Discovery Channel Band", "Discovery", "title"),
    ]


def test_a_new_release_is_flagged_and_requested_and_its_tracks_become_owned_and_pending(
    library_db, music_dir, tmp_path
):
    catalog = MbCatalog()
    air = catalog.add_artist("Air")
    catalog.add_release_group("Moon Safari", air, first_release_date="1998-01-16")
    write_track(music_dir, "Air", "Moon Safari", "Sexy Boy", artist_mbid=air.mbid)
    policy = DiscographyPolicy(ttl_hours=1e-6, request_new_releases=True)
    with MusicBrainzStandin(catalog) as server:
        first = materialize(library_db, music_dir, tmp_path, musicbrainz(server, tmp_path), policy=policy)
        assert metadata(first, "discography_gaps")["new_release_groups"] == 0  # a first look finds nothing new
        late = catalog.add_release_group("Talkie Walkie", air, first_release_date="2004-01-26")
        release = catalog.add_release(late, media=[[]], date="2004-01-26", country="FR")
        catalog.add_release(late, media=[[]], status="Bootleg", date="2003-01-01")
        catalog.add_recording("Venus", air, length_ms=234_000, isrcs=["FRZ030400001"], releases=[release])
        catalog.add_recording("Cherry Blossom Girl", air, length_ms=228_000, releases=[release])
        server.reindex()
        time.sleep(0.01)
        second = materialize(library_db, music_dir, tmp_path, musicbrainz(server, tmp_path), policy=policy)
        time.sleep(0.01)
        third = materialize(library_db, music_dir, tmp_path, musicbrainz(server, tmp_path), policy=policy)
    # Requested, its tracks queued: still a gap until they arrive, and no longer new on the next look.
    assert metadata(third, "discography_gaps")["gaps"] == {"requested": 1}
    assert rows(library_db, "SELECT title, is_new FROM library.discography_gaps") == [("Talkie Walkie", False)]
    assert rows(
        library_db,
        "SELECT title, is_new, first_seen_at < last_seen_at FROM library.discography WHERE title = 'Talkie Walkie'",
    ) == [("Talkie Walkie", False, True)]
    meta = metadata(second, "discography_gaps")
    assert meta["new_release_groups"] == 1 and meta["written"]["wanted_tracks"] == 2
    assert gaps(library_db) == [("Air", "Talkie Walkie", "album", "requested")]
    assert rows(library_db, "SELECT decision, origin FROM library.gap_decisions") == [("requested", "auto_new")]
    # The new release is one notification (the first look's back catalogue is none), of the run that found it.
    assert rows(library_db, "SELECT kind, subject, detail, run_id FROM library.notifications") == [
        ("new_release", "Air – Talkie Walkie", "album, 2004-01-26, requested for download", second.run_id)
    ]
    assert rows(
        library_db,
        """
        SELECT t.title, t.recording_mbid IS NOT NULL, t.isrc, t.ownership_state, t.download_state, t.primary_source, al.title, al.release_mbid
        FROM library.tracks t JOIN library.albums al USING (album_id) WHERE al.title = 'Talkie Walkie' ORDER BY t.track_number
        """,
    ) == [
        ("Venus", True, "FRZ030400001", "owned", "pending", "discography", "Talkie Walkie", release.mbid),
        ("Cherry Blossom Girl", True, None, "owned", "pending", "discography", "Talkie Walkie", release.mbid),
    ]


def test_the_user_ignores_requests_and_resets_a_gap_from_the_decision_job_and_nothing_is_deleted(
    library_db, music_dir, tmp_path
):
    catalog = MbCatalog()
    air = catalog.add_artist("Air")
    catalog.add_release_group("Moon Safari", air)
    talkie = catalog.add_release_group("Talkie Walkie", air)
    release = catalog.add_release(talkie, media=[[]])
    catalog.add_recording("Venus", air, length_ms=234_000, releases=[release])
    write_track(music_dir, "Air", "Moon Safari", "Sexy Boy", artist_mbid=air.mbid)

    def decide(**decisions):
        config = {"ops": {"discography_gaps": {"config": decisions}}}
        return materialize(
            library_db, music_dir, tmp_path, musicbrainz(server, tmp_path), assets=[discography_gaps], run_config=config
        )

    with MusicBrainzStandin(catalog) as server:
        materialize(library_db, music_dir, tmp_path, musicbrainz(server, tmp_path))
        assert gaps(library_db) == [("Air", "Talkie Walkie", "album", "missing")]
        decide(ignore=[talkie.mbid])
        assert gaps(library_db) == [("Air", "Talkie Walkie", "album", "ignored")]
        assert rows(library_db, "SELECT missing, ignored, completeness_pct FROM library.artist_completeness") == [
            (0, 1, 100.0)
        ]
        decide(request=[talkie.mbid])
        assert gaps(library_db) == [("Air", "Talkie Walkie", "album", "requested")]
        assert rows(
            library_db, "SELECT title, ownership_state, download_state FROM library.tracks WHERE title = 'Venus'"
        ) == [("Venus", "owned", "pending")]
        decide(reset=[f"rg:{talkie.mbid}"])
    assert gaps(library_db) == [("Air", "Talkie Walkie", "album", "missing")]
    assert rows(library_db, "SELECT count(*) FROM library.wanted_tracks") == [(0,)]
    # The track stays in the library, no longer owned or queued.
    assert rows(
        library_db, "SELECT title, ownership_state, download_state FROM library.tracks WHERE title = 'Venus'"
    ) == [("Venus", "discovered", "not_needed")]


def test_a_partly_owned_album_lists_its_missing_tracks(library_db, music_dir, tmp_path):
    catalog = MbCatalog()
    air = catalog.add_artist("Air")
    moon = catalog.add_release_group("Moon Safari", air)
    release = catalog.add_release(moon, media=[[]])
    songs = [
        catalog.add_recording(t, air, length_ms=200_000, releases=[release])
        for t in ("La femme d'argent", "Sexy Boy", "All I Need")
    ]
    for n, song in enumerate(songs[:2], start=1):
        write_track(
            music_dir,
            "Air",
            "Moon Safari",
            song.title,
            number=n,
            artist_mbid=air.mbid,
            release_group_mbid=moon.mbid,
            release_mbid=release.mbid,
            recording_mbid=song.mbid,
            track_total=3,
        )
    with MusicBrainzStandin(catalog) as server:
        result = materialize(library_db, music_dir, tmp_path, musicbrainz(server, tmp_path))
    assert metadata(result, "discography_gaps")["incomplete_albums"] == 1
    assert rows(library_db, "SELECT title, disc_number, track_number FROM library.missing_tracks") == [
        ("All I Need", 1, 3)
    ]
    assert rows(library_db, "SELECT title, missing_tracks, completeness_pct FROM library.album_completeness") == [
        ("Moon Safari", 1, 66.7)
    ]


def test_an_artist_without_an_mbid_falls_back_to_spotify_artist_albums(library_db, music_dir, tmp_path):
    daft = sp.artist("4tZwfgrHOc3mvqYlEYSvVi", "Daft Punk")
    discovery = sp.album("2noRn2Aes5aoNVsU6iWThc", "Discovery", [daft], release_date="2001-03-12")
    one_more_time = sp.track(
        "0DiWol3AO6WpXZgp0goxAV", "One More Time", [daft], discovery, isrc="GBDUW0000053", duration_ms=320_000
    )
    homework = sp.album("5uRdvUR7xCnHmUW8n64n9y", "Homework", [daft], release_date="1997-01-20")
    library = SpotifyLibrary(
        saved_tracks=[{"added_at": "2026-01-01T00:00:00Z", "track": one_more_time}],
        artist_albums={
            daft["id"]: [
                {**discovery, "album_group": "album"},
                {**sp.album("1", "Discovery (Deluxe)", [daft], release_date="2021-01-01"), "album_group": "album"},
                {**homework, "album_group": "album"},
                {**sp.album("2", "Around the World", [daft], album_type="single"), "album_group": "single"},
                {**sp.album("3", "Hits of 2001", [daft], album_type="compilation"), "album_group": "appears_on"},
            ]
        },
    )
    with SpotifyStandin(library) as server:
        tokens = {**server.issue_tokens(" ".join(SCOPES)), "expires_at": int(time.time()) + 3600}
        TokenFile(tmp_path / "data" / "secrets" / "spotify-token.json").save_token_to_cache(tokens)
        spotify_likes = next(a for a in cloud_assets if a.key == dg.AssetKey("spotify_likes"))
        result = materialize(
            library_db,
            music_dir,
            tmp_path,
            musicbrainz(None, tmp_path),
            spotify_resource=spotify(tmp_path, server),
            assets=[spotify_likes, *ASSETS],
        )
        assert server.count("/v1/artists/") == 1
    assert metadata(result, "discography_gaps")["artists_from_spotify"] == 1
    assert gaps(library_db) == [("Daft Punk", "Homework", "album", "missing")]
    assert rows(library_db, "SELECT title, matched_by FROM library.discography WHERE owned") == [
        ("Discovery", "spotify_id")
    ]


def test_musicbrainz_down_fails_the_phase_and_writes_nothing(library_db, music_dir, tmp_path):
    catalog = MbCatalog()
    air = catalog.add_artist("Air")
    write_track(music_dir, "Air", "Moon Safari", "Sexy Boy", artist_mbid=air.mbid)
    materialize(library_db, music_dir, tmp_path, musicbrainz(None, tmp_path), assets=ASSETS[:2])
    result = materialize(
        library_db, music_dir, tmp_path, musicbrainz(None, tmp_path), assets=[discography_gaps], raise_on_error=False
    )
    assert not result.success
    assert "discography stopped, nothing was written" in failure_message(result) and "127.0.0.1:9" in failure_message(
        result
    )
    assert rows(
        library_db, "SELECT (SELECT count(*) FROM library.discography), (SELECT count(*) FROM library.discography_gaps)"
    ) == [(0, 0)]


def test_without_musicbrainz_and_spotify_the_phase_reports_skipped(library_db, music_dir, tmp_path):
    off = MusicBrainzResource(
        server_url=None, cache_path=str(tmp_path / "c.duckdb"), throttle_path=str(tmp_path / "r.lock")
    )
    result = materialize(library_db, music_dir, tmp_path, off, assets=[*ASSETS[:2], discography_gaps])
    assert metadata(result, "discography_gaps")["status"].startswith("skipped: not configured")


def test_a_spotify_artist_albums_refusal_skips_those_artists_and_the_phase_goes_on(library_db, music_dir, tmp_path):
    daft, air = sp.artist("4tZwfgrHOc3mvqYlEYSvVi", "Daft Punk"), sp.artist("4aMeIVKmV7mXyd0pvUhI4s", "Air")
    liked = [
        sp.track(f"t{n}", title, [who], sp.album(f"a{n}", album, [who]), isrc=None, duration_ms=200_000)
        for n, (title, album, who) in enumerate(
            (("One More Time", "Discovery", daft), ("Sexy Boy", "Moon Safari", air))
        )
    ]
    library = SpotifyLibrary(saved_tracks=[{"added_at": "2026-01-01T00:00:00Z", "track": t} for t in liked])
    with SpotifyStandin(library) as server:
        tokens = {**server.issue_tokens(" ".join(SCOPES)), "expires_at": int(time.time()) + 3600}
        TokenFile(tmp_path / "data" / "secrets" / "spotify-token.json").save_token_to_cache(tokens)
        spotify_likes = next(a for a in cloud_assets if a.key == dg.AssetKey("spotify_likes"))
        server.remove_endpoint("/v1/artists/", 403)
        result = materialize(
            library_db,
            music_dir,
            tmp_path,
            musicbrainz(None, tmp_path),
            spotify_resource=spotify(tmp_path, server),
            assets=[spotify_likes, *ASSETS],
        )
        assert server.count("/v1/artists/") == 1  # refused once: not asked again for the other artist
    meta = metadata(result, "discography_gaps")
    assert meta["artists_spotify_refused"] == 1 and meta["status"] == "compared"


def test_an_artist_no_longer_owned_loses_its_gaps_but_keeps_its_discography(library_db, music_dir, tmp_path):
    from soulspot_pipeline.user_actions import remove_from_library

    catalog = MbCatalog()
    air = catalog.add_artist("Air")
    catalog.add_release_group("Moon Safari", air)
    catalog.add_release_group("Talkie Walkie", air)
    write_track(music_dir, "Air", "Moon Safari", "Sexy Boy", artist_mbid=air.mbid)
    with MusicBrainzStandin(catalog) as server:
        materialize(library_db, music_dir, tmp_path, musicbrainz(server, tmp_path))
        assert gaps(library_db) == [("Air", "Talkie Walkie", "album", "missing")]
        ((artist_id,),) = rows(library_db, "SELECT artist_id FROM library.artists WHERE name = 'Air'")
        remove_from_library.execute_in_process(
            run_config={"ops": {"remove": {"config": {"entity_type": "artist", "entity_id": artist_id}}}},
            resources={"library_db": library_db, "library_policy": LibraryPolicy()},
        )
        materialize(library_db, music_dir, tmp_path, musicbrainz(server, tmp_path), assets=[discography_gaps])
    assert gaps(library_db) == []
    assert rows(library_db, "SELECT count(*) FROM library.discography") == [(2,)]


def test_a_mirror_answering_401_stops_the_phase_with_its_own_message(library_db, music_dir, tmp_path):
    from soulspot_tests.assets.test_identify_enrich import assert_stopped_cleanly

    catalog = MbCatalog()
    air = catalog.add_artist("Air")
    write_track(music_dir, "Air", "Moon Safari", "Sexy Boy", artist_mbid=air.mbid)
    materialize(library_db, music_dir, tmp_path, musicbrainz(None, tmp_path), assets=ASSETS[:2])
    with MusicBrainzStandin(catalog, credentials=("soulspot", "secret")) as server:
        result = materialize(
            library_db,
            music_dir,
            tmp_path,
            musicbrainz(server, tmp_path),
            assets=[discography_gaps],
            raise_on_error=False,
        )
        url = f"http://{server.host}"
    message = assert_stopped_cleanly(result, "discography_gaps", "discography", url)
    assert "browse/release-group failed after 1 attempt(s)" in message
    assert rows(library_db, "SELECT count(*) FROM library.discography") == [(0,)]


def owned_release(music_dir, catalog, artist, release, files):
    """Files of ``release`` as a tagger writes them: (title as printed, track number, recording or None)."""
    for title, number, recording in files:
        write_track(
            music_dir,
            artist.name,
            release.title,
            title,
            number=number,
            artist_mbid=artist.mbid,
            release_group_mbid=release.release_group.mbid,
            release_mbid=release.mbid,
            **({"recording_mbid": recording.mbid} if recording else {}),
        )


def completeness(library_db):
    return rows(
        library_db,
        "SELECT title, total_tracks, missing_tracks, completeness_pct FROM library.album_completeness ORDER BY 1",
    )


def test_tracks_owned_under_the_title_the_release_prints_are_not_missing(library_db, music_dir, tmp_path):
    catalog = MbCatalog()
    nada = catalog.add_artist("Nada Surf")
    release = catalog.add_release(catalog.add_release_group("Karaoke Singles", nada), media=[[]])
    catalog.add_recording("Hello Goodbye / Galaxie", nada, length_ms=200_000, releases=[release], track_title="Galaxie")
    catalog.add_recording(
        "夜明けのスキャット", nada, length_ms=180_000, releases=[release], track_title="Yoake no Scat"
    )
    catalog.add_recording("Plain Song", nada, length_ms=150_000, releases=[release])
    # Files named as the release prints them, without recording ids, numbered after another sequencing:
    # only the printed titles say which tracks they are.
    owned_release(
        music_dir, catalog, nada, release, [("Galaxie", 7, None), ("Yoake no Scat", 8, None), ("Plain Song", 9, None)]
    )
    with MusicBrainzStandin(catalog) as server:
        result = materialize(library_db, music_dir, tmp_path, musicbrainz(server, tmp_path))
    assert rows(library_db, "SELECT title FROM library.missing_tracks") == []
    assert completeness(library_db) == [("Karaoke Singles", 3, 0, 100.0)]
    assert metadata(result, "discography_gaps")["incomplete_albums"] == 0


def test_a_missing_track_is_listed_by_the_title_the_release_prints_with_the_recordings_beside_it(
    library_db, music_dir, tmp_path
):
    catalog = MbCatalog()
    nada = catalog.add_artist("Nada Surf")
    release = catalog.add_release(catalog.add_release_group("Karaoke Singles", nada), media=[[]])
    galaxie = catalog.add_recording(
        "Hello Goodbye / Galaxie", nada, length_ms=200_000, releases=[release], track_title="Galaxie"
    )
    plain = catalog.add_recording("Plain Song", nada, length_ms=150_000, releases=[release])
    owned_release(music_dir, catalog, nada, release, [("Plain Song", 2, plain)])
    with MusicBrainzStandin(catalog) as server:
        materialize(library_db, music_dir, tmp_path, musicbrainz(server, tmp_path))
    assert rows(library_db, "SELECT recording_mbid, title, recording_title, kind FROM library.missing_tracks") == [
        (galaxie.mbid, "Galaxie", "Hello Goodbye / Galaxie", "track")
    ]
    assert completeness(library_db) == [("Karaoke Singles", 2, 1, 50.0)]


def test_a_pregap_and_a_data_track_count_in_the_total_and_the_missing_list(library_db, music_dir, tmp_path):
    catalog = MbCatalog()
    air = catalog.add_artist("Air")
    release = catalog.add_release(catalog.add_release_group("Moon Safari", air), media=[[]])
    hidden = catalog.add_recording("Hidden Intro", air, length_ms=30_000, releases=[release], kind="pregap")
    songs = [catalog.add_recording(t, air, length_ms=200_000, releases=[release]) for t in ("Sexy Boy", "All I Need")]
    video = catalog.add_recording("Sexy Boy (video)", air, releases=[release], kind="data")
    owned_release(music_dir, catalog, air, release, [(s.title, n, s) for n, s in enumerate(songs, start=1)])
    with MusicBrainzStandin(catalog) as server:
        materialize(library_db, music_dir, tmp_path, musicbrainz(server, tmp_path))
    assert rows(
        library_db,
        "SELECT recording_mbid, title, disc_number, track_number, kind FROM library.missing_tracks ORDER BY 4",
    ) == [(hidden.mbid, "Hidden Intro", 1, 0, "pregap"), (video.mbid, "Sexy Boy (video)", 1, 3, "data")]
    assert rows(library_db, "SELECT total_tracks, pregap_tracks, data_tracks FROM library.album_tracklists") == [
        (4, 1, 1)
    ]
    assert completeness(library_db) == [("Moon Safari", 4, 2, 50.0)]

    # The hidden track ripped as track 0 (which the scan reads as no number), without a recording id.
    owned_release(music_dir, catalog, air, release, [("Hidden Intro", 0, None)])
    with MusicBrainzStandin(catalog) as server:
        materialize(library_db, music_dir, tmp_path, musicbrainz(server, tmp_path))
    assert rows(library_db, "SELECT kind FROM library.missing_tracks") == [("data",)]
    assert completeness(library_db) == [("Moon Safari", 4, 1, 75.0)]


def test_the_recorded_data_cd_counts_198_tracks_and_finds_an_owned_track_by_its_printed_title(
    realdata, library_db, music_dir, tmp_path
):
    from soulspot_pipeline.devkit.standins.musicbrainz import catalog_from_recordings

    catalog = catalog_from_recordings(realdata / "musicbrainzngs" / "test" / "data")
    release = catalog.releases["9ce41d09-40e4-4d33-af0c-7fed1e558dba"]
    artist = release.release_group.artist
    kick_out = catalog.recordings[release.data_tracks[0][0]]
    # "Fire Engine" as printed; the recording is "Fire Engine (studio: 1975-08-xx: New York City, NY, USA)".
    owned_release(music_dir, catalog, artist, release, [(kick_out.title, 1, kick_out), ("Fire Engine", 60, None)])
    with MusicBrainzStandin(catalog) as server:
        materialize(library_db, music_dir, tmp_path, musicbrainz(server, tmp_path))
    assert rows(library_db, "SELECT count(*) FROM library.missing_tracks WHERE title LIKE 'Fire Engine%'") == [(0,)]
    assert completeness(library_db) == [(release.title, 198, 196, 1.0)]
