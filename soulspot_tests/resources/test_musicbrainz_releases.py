"""Album matching's requests: one release search per album, one lookup per candidate release,
each asked once and then answered from the cache, against the MusicBrainz stand-in over HTTP."""

from __future__ import annotations

from soulspot_pipeline.devkit.standins.musicbrainz import MbCatalog, MbRelease, MusicBrainzStandin
from soulspot_pipeline.resources.musicbrainz import (
    lookup_key,
    release_query,
    release_tracks_key,
    search_key,
)
from soulspot_tests.resources.test_musicbrainz_cache import _restore_musicbrainzngs, resource  # noqa: F401


def editions() -> tuple[MbCatalog, dict[str, MbRelease]]:
    """An album with a remaster (same recordings, other track lengths) and a deluxe edition
    (two bonus tracks), and a same-titled album by another artist."""
    c = MbCatalog()
    band = c.add_artist("Velvet Harbor")
    other = c.add_artist("Paper Garden")
    group = c.add_release_group("Midnight Echoes", band, first_release_date="2001-02-03")
    original = c.add_release(group, country="GB")
    songs = [c.add_recording(f"Song {n}", band, length_ms=200_000 + n * 1000, releases=[original]) for n in range(10)]
    remaster = c.add_release(
        group,
        title="Midnight Echoes (Remastered)",
        date="2011-05-02",
        media=[[s.mbid for s in songs]],
        track_lengths={s.mbid: (s.length_ms or 0) + 3000 for s in songs},
    )
    deluxe = c.add_release(
        group, title="Midnight Echoes (Deluxe Edition)", date="2011-05-02", media=[[s.mbid for s in songs]]
    )
    for n in range(2):
        c.add_recording(f"Bonus {n}", band, length_ms=180_000, releases=[deluxe])
    decoy_group = c.add_release_group("Midnight Echoes", other, first_release_date="1999-01-01")
    decoy = c.add_release(decoy_group)
    for n in range(10):
        c.add_recording(f"Other {n}", other, length_ms=240_000, releases=[decoy])
    return c, {"original": original, "remaster": remaster, "deluxe": deluxe, "decoy": decoy}


def test_release_query_escapes_and_only_ranks_by_track_count_and_year():
    assert release_query("AC/DC: Live", "Guns N' Roses", 12, 1992) == (
        'release:"AC\\/DC\\: Live" AND artist:"Guns N\' Roses" tracks:12 date:1992'
    )
    assert release_query("Album", None) == 'release:"Album"'
    assert release_tracks_key("x") != lookup_key("release", "x")


def test_a_release_search_is_one_request_and_then_cached(tmp_path):
    catalog, releases = editions()
    with MusicBrainzStandin(catalog) as server:
        mb = resource(tmp_path, server.url)
        query, page = mb.search_releases_raw("Midnight Echoes", "Velvet Harbor", 10, 2001)
        assert server.count("/ws/2/release") == 1
        assert server.requests[-1].query["query"] == query
        found = page["release-list"]
        assert int(page["release-count"]) == len(found) == 4
        ids = [r["id"] for r in found]
        scores = {r["id"]: int(r["ext:score"]) for r in found}
        # Title, artist, track count and year: the original first; the deluxe edition's other
        # track count lowers it but keeps it; the other artist's album comes last.
        assert ids[0] == releases["original"].mbid and scores[ids[0]] == 100
        assert scores[releases["remaster"].mbid] > scores[releases["deluxe"].mbid] > scores[releases["decoy"].mbid]
        first = found[0]
        assert first["medium-track-count"] == 10
        assert [m["track-count"] for m in first["medium-list"]] == [10]
        assert first["artist-credit-phrase"] == "Velvet Harbor"
        assert first["release-group"]["type"] == "Album" and first["release-group"]["primary-type"] == "Album"
        assert first["date"] == "2001-02-03" and first["country"] == "GB"
        deluxe = next(r for r in found if r["id"] == releases["deluxe"].mbid)
        assert deluxe["medium-track-count"] == 12

        assert mb.search_releases_raw("Midnight Echoes", "Velvet Harbor", 10, 2001) == (query, page)
        assert server.count("/ws/2/release") == 1
        mb.flush()
        again = resource(tmp_path, server.url)  # a later run: from the cache file
        assert again.search_releases_raw("Midnight Echoes", "Velvet Harbor", 10, 2001) == (query, page)
        assert server.count("/ws/2/release") == 1
        assert again.cache_hits == 1
        assert search_key("release", query) in again._live()


def test_a_release_lookup_gives_every_track_with_its_recording_once(tmp_path):
    catalog, releases = editions()
    remaster = releases["remaster"]
    with MusicBrainzStandin(catalog) as server:
        mb = resource(tmp_path, server.url)
        found = mb.release_with_tracks_raw(remaster.mbid)
        assert server.count("/ws/2/release/") == 1
        assert set(server.requests[-1].query["inc"].split()) == {
            "recordings",
            "artist-credits",
            "release-groups",
            "media",
        }
        assert found is not None and found["id"] == remaster.mbid
        assert found["release-group"]["id"] == remaster.release_group.mbid
        (medium,) = found["medium-list"]
        tracks = medium["track-list"]
        assert medium["track-count"] == 10 and len(tracks) == 10
        for n, (track, rec_mbid) in enumerate(zip(tracks, remaster.media[0], strict=True), start=1):
            recording = catalog.recordings[rec_mbid]
            assert track["position"] == track["number"] == str(n)
            assert track["recording"]["id"] == rec_mbid
            assert track["recording"]["title"] == recording.title
            # The remaster's track is 3 s longer than the recording it shares with the original.
            assert int(track["length"]) == int(track["recording"]["length"]) + 3000
            assert track["recording"]["artist-credit-phrase"] == "Velvet Harbor"
            assert track["id"]

        assert mb.release_with_tracks_raw(remaster.mbid) == found
        assert server.count("/ws/2/release/") == 1
        assert release_tracks_key(remaster.mbid) in mb._live()

        deluxe = mb.release_with_tracks_raw(releases["deluxe"].mbid)
        assert deluxe is not None
        assert [t["recording"]["title"] for t in deluxe["medium-list"][0]["track-list"]][-2:] == ["Bonus 0", "Bonus 1"]


def test_an_unknown_release_is_none_and_not_asked_again(tmp_path):
    catalog, _ = editions()
    with MusicBrainzStandin(catalog) as server:
        mb = resource(tmp_path, server.url)
        missing = "00000000-0000-4000-8000-000000000000"
        assert mb.release_with_tracks_raw(missing) is None
        assert mb.release_with_tracks_raw(missing) is None
        assert server.count("/ws/2/release/") == 1
