"""The MusicBrainz stand-in speaks ws/2 XML well enough for musicbrainzngs to parse every answer."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import httpx
import musicbrainzngs
import pytest

from soulspot_pipeline.devkit.standins.musicbrainz import (
    EXT_NS,
    MMD_NS,
    RATE_LIMIT_TEXT,
    MbCatalog,
    MusicBrainzStandin,
    catalog_from_recordings,
    generate_catalog,
    parse_query,
)
from soulspot_tests.conftest import REALDATA

MB_RECORDINGS = REALDATA / "musicbrainzngs" / "test" / "data"
ISRC = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}\d{7}$")
UA = {"User-Agent": "soulspot-tests/1.0 ( tests@example.invalid )"}


@pytest.fixture(autouse=True)
def _restore_musicbrainzngs() -> Iterator[None]:
    """musicbrainzngs keeps its settings in module globals: put them back after each test."""
    mb = musicbrainzngs.musicbrainz
    saved = {
        name: getattr(mb, name)
        for name in ("hostname", "https", "_useragent", "_client", "do_rate_limit", "limit_interval", "limit_requests")
    }
    yield
    for name, value in saved.items():
        setattr(mb, name, value)


def _point_at(standin: MusicBrainzStandin) -> None:
    musicbrainzngs.set_hostname(standin.host, use_https=False)
    musicbrainzngs.set_useragent("soulspot-tests", "1.0", "tests@example.invalid")
    musicbrainzngs.set_rate_limit(False)


def _hand_catalog() -> MbCatalog:
    """A small catalog with the ambiguities searches must rank: namesakes and a same-title song."""
    c = MbCatalog()
    dynamo_go = c.add_artist(
        "Dynamo Go", country="NZ", begin="2005-06", tags=[("indie pop", 3)], genres=[("indie pop", 3), ("rock", 1)]
    )
    c.add_artist("Dynamo", disambiguation="Finnish punk band", country="FI", tags=[("punk", 1)])
    c.add_artist("Dynamo", disambiguation="German DIN label owner", type="Person", country="DE")
    other = c.add_artist("The Heartbreakers", sort_name="Heartbreakers, The", country="US")
    ep = c.add_release_group(
        "Folly, Vice & Madness", dynamo_go, primary_type="EP", first_release_date="2006-11-03", tags=[("nz", 2)]
    )
    live = c.add_release_group(
        "Live at the Powerstation", dynamo_go, secondary_types=["Live"], first_release_date="2008-04-01"
    )
    rival = c.add_release_group("Hearts", other, first_release_date="1999-01-01")
    folly = c.add_release(ep, country="NZ")
    c.add_release(live, country="NZ")
    hearts = c.add_release(rival, country="US")
    for title, length, isrc in [
        ("Just a Victim", 226_000, "NZAB10600001"),
        ("Waiting My Turn", 187_706, "NZAB10600002"),
        ("If this Beard Had Wings", 201_000, "NZAB10600003"),
        ("Thief of Hearts", 198_586, "NZAB10600004"),
        ("Retail Guru", 176_000, "NZAB10600005"),
    ]:
        c.add_recording(title, dynamo_go, length_ms=length, isrcs=[isrc], releases=[folly])
    c.add_recording("Thief of Hearts", other, length_ms=240_000, isrcs=["USXYZ9900001"], releases=[hearts])
    c.add_recording("Thief", other, length_ms=150_000, isrcs=["USXYZ9900002"], releases=[hearts])
    return c


@pytest.fixture
def hand() -> Iterator[MusicBrainzStandin]:
    with MusicBrainzStandin(_hand_catalog()) as standin:
        _point_at(standin)
        yield standin


@pytest.fixture(scope="module")
def generated_catalog() -> MbCatalog:
    return generate_catalog(60, albums_per_artist=5, tracks_per_album=8, seed=7)


@pytest.fixture
def generated(generated_catalog: MbCatalog) -> Iterator[MusicBrainzStandin]:
    with MusicBrainzStandin(generated_catalog) as standin:
        _point_at(standin)
        yield standin


def _by_title(catalog: MbCatalog, title: str, artist: str):
    return next(r for r in catalog.recordings.values() if r.title == title and r.artist.name == artist)


# -- the catalog ---------------------------------------------------------------------------


def test_generated_catalog_is_deterministic_and_consistent(generated_catalog: MbCatalog):
    again = generate_catalog(60, albums_per_artist=5, tracks_per_album=8, seed=7)
    assert again == generated_catalog
    assert generate_catalog(60, albums_per_artist=5, tracks_per_album=8, seed=8) != generated_catalog
    c = generated_catalog
    assert len(c.artists) == 60 and len(c.release_groups) == 300
    isrcs = [i for r in c.recordings.values() for i in r.isrcs]
    assert all(len(r.isrcs) == 1 for r in c.recordings.values())
    assert len(set(isrcs)) == len(isrcs) and all(ISRC.match(i) for i in isrcs)
    assert all(120_000 <= (r.length_ms or 0) <= 420_000 for r in c.recordings.values())
    assert all(re.match(r"^\d{4}-\d{2}-\d{2}$", g.first_release_date or "") for g in c.release_groups.values())
    kinds = {(g.primary_type, tuple(g.secondary_types)) for g in c.release_groups.values()}
    assert {("Album", ()), ("EP", ()), ("Single", ()), ("Album", ("Live",)), ("Album", ("Compilation",))} <= kinds
    # Both directions of release membership agree; compilations and reissues share recordings.
    for release in c.releases.values():
        for medium in release.media:
            assert all(release.mbid in c.recordings[m].releases for m in medium)
    for recording in c.recordings.values():
        assert all(any(recording.mbid in m for m in c.releases[r].media) for r in recording.releases)
    assert any(len(r.releases) > 1 for r in c.recordings.values())
    namesakes = [a for a in c.artists.values() if sum(b.name == a.name for b in c.artists.values()) > 1]
    assert namesakes and all(a.disambiguation for a in namesakes)


def test_lucene_subset_is_parsed():
    clauses = parse_query('isrc:(GBAAA2500001 OR GBAAA2500002) AND recording:"What Went Wrong\\?" dur:[1 TO 2]')
    assert [(c.field, c.values, c.range) for c in clauses] == [
        ("isrc", ["GBAAA2500001", "GBAAA2500002"], None),
        ("recording", ["What Went Wrong?"], None),
        ("dur", [], (1.0, 2.0)),
    ]
    clauses = parse_query("thief of hearts NOT live artist:(dynamo go)")
    assert [(c.field, c.values, c.negated) for c in clauses] == [
        ("", ["live"], True),
        ("artist", ["dynamo", "go"], False),
        ("", ["thief", "of", "hearts"], False),
    ]


# -- searches --------------------------------------------------------------------------------


def test_isrc_or_batch_returns_exactly_those_recordings(generated: MusicBrainzStandin):
    catalog = generated.catalog
    wanted = list(catalog.recordings.values())[::37][:7]
    isrcs = [r.isrcs[0] for r in wanted] + ["ZZZZZ9999999"]
    result = musicbrainzngs.search_recordings(query=f"isrc:({' OR '.join(isrcs)})", limit=100)

    assert result["recording-count"] == 7
    hits = result["recording-list"]
    assert {h["id"] for h in hits} == {r.mbid for r in wanted}
    for hit in hits:
        recording = catalog.recordings[hit["id"]]
        assert hit["ext:score"] == "100"
        assert hit["isrc-list"] == recording.isrcs
        assert hit["length"] == str(recording.length_ms)
        assert hit["artist-credit"][0]["artist"]["id"] == recording.artist.mbid
        assert len(hit["release-list"]) == len(recording.releases)
        first = hit["release-list"][0]
        group = catalog.releases[first["id"]].release_group
        assert first["release-group"]["id"] == group.mbid
        assert first["release-group"]["primary-type"] == group.primary_type
        track = first["medium-list"][0]["track-list"][0]
        assert track["title"] == recording.title and first["medium-track-count"] >= 1
    assert generated.search_log == [f"isrc:({' OR '.join(isrcs)})"]

    single = musicbrainzngs.search_recordings(query=f"isrc:{isrcs[0]}")
    assert [h["id"] for h in single["recording-list"]] == [wanted[0].mbid]
    page = musicbrainzngs.search_recordings(query=f"isrc:({' OR '.join(isrcs)})", limit=3, offset=3)
    assert page["recording-count"] == 7 and len(page["recording-list"]) == 3
    assert [h["id"] for h in page["recording-list"]] == [h["id"] for h in hits[3:6]]


def test_field_search_ranks_the_right_recording_first(hand: MusicBrainzStandin):
    right = _by_title(hand.catalog, "Thief of Hearts", "Dynamo Go")
    wrong = _by_title(hand.catalog, "Thief of Hearts", "The Heartbreakers")
    query = 'recording:"Thief of Hearts" AND artist:"Dynamo Go"'

    hits = musicbrainzngs.search_recordings(query=query, limit=25)["recording-list"]
    scores = {h["id"]: int(h["ext:score"]) for h in hits}
    assert hits[0]["id"] == right.mbid and scores[right.mbid] == 100
    assert wrong.mbid in scores and scores[wrong.mbid] < 100
    assert [int(h["ext:score"]) for h in hits] == sorted(scores.values(), reverse=True)
    assert hits[0]["release-list"][0]["title"] == "Folly, Vice & Madness"
    assert hits[0]["release-list"][0]["release-group"]["primary-type"] == "EP"

    # musicbrainzngs's own field syntax, a duration window, and a bare-word query agree.
    kwargs_hits = musicbrainzngs.search_recordings(recording="thief of hearts", artist="dynamo go")["recording-list"]
    assert kwargs_hits[0]["id"] == right.mbid
    windowed = musicbrainzngs.search_recordings(query='recording:"thief of hearts" AND dur:[195000 TO 200000]')
    assert windowed["recording-list"][0]["id"] == right.mbid
    assert int(windowed["recording-list"][0]["ext:score"]) == 100
    bare = musicbrainzngs.search_recordings(query="thief")["recording-list"]
    assert bare[0]["title"] == "Thief" and {h["title"] for h in bare} == {"Thief", "Thief of Hearts"}

    hand.score_overrides.update({wrong.mbid: 100, right.mbid: 90})
    hits = musicbrainzngs.search_recordings(query=query, limit=25)["recording-list"]
    assert (hits[0]["id"], hits[0]["ext:score"]) == (wrong.mbid, "100")
    assert hand.search_log[0] == query and len(hand.search_log) == 5


def test_artist_search_shows_disambiguation(hand: MusicBrainzStandin):
    result = musicbrainzngs.search_artists(query='artist:"Dynamo"')
    hits = result["artist-list"]
    assert result["artist-count"] == 3
    assert [h["name"] for h in hits[:2]] == ["Dynamo", "Dynamo"] and hits[2]["name"] == "Dynamo Go"
    assert {h.get("disambiguation") for h in hits[:2]} == {"Finnish punk band", "German DIN label owner"}
    assert hits[0]["ext:score"] == "100" and int(hits[2]["ext:score"]) < 100
    finnish = musicbrainzngs.search_artists(query='artist:"Dynamo" AND comment:"finnish punk"')["artist-list"][0]
    assert (finnish["disambiguation"], finnish["country"], finnish["type"]) == ("Finnish punk band", "FI", "Group")
    assert finnish["tag-list"] == [{"count": "1", "name": "punk"}]


def test_release_group_search(hand: MusicBrainzStandin):
    query = 'releasegroup:"Folly, Vice & Madness" AND artist:"Dynamo Go"'
    hits = musicbrainzngs.search_release_groups(query=query)["release-group-list"]
    top = hits[0]
    assert (top["title"], top["ext:score"], top["type"], top["primary-type"]) == (
        "Folly, Vice & Madness",
        "100",
        "EP",
        "EP",
    )
    assert top["first-release-date"] == "2006-11-03" and top["artist-credit-phrase"] == "Dynamo Go"
    assert top["release-count"] == 1 and top["release-list"][0]["title"] == "Folly, Vice & Madness"
    assert int(hits[1]["ext:score"]) < 100  # the other Dynamo Go group matches on the artist only
    live = musicbrainzngs.search_release_groups(query='artist:"Dynamo Go" AND primarytype:album')["release-group-list"]
    assert live[0]["title"] == "Live at the Powerstation"
    assert (live[0]["type"], live[0]["secondary-type-list"]) == ("Live", ["Live"])


def _editions() -> tuple[MbCatalog, dict[str, str]]:
    """An album of two discs with a remaster (same recordings, other track lengths) and a deluxe
    edition (a bonus track), and a same-titled album by another artist."""
    c = MbCatalog()
    band, other = c.add_artist("Velvet Harbor"), c.add_artist("Paper Garden")
    group = c.add_release_group("Midnight Echoes", band, first_release_date="2001-02-03")
    original = c.add_release(group, country="GB", media=[[], []])
    songs = [c.add_recording(f"Song {n}", band, length_ms=200_000 + n) for n in range(6)]
    original.media = [[s.mbid for s in songs[:4]], [s.mbid for s in songs[4:]]]
    remaster = c.add_release(
        group,
        title="Midnight Echoes (Remastered)",
        date="2012",
        media=original.media,
        track_lengths={s.mbid: 190_000 for s in songs},
    )
    deluxe = c.add_release(
        group, title="Midnight Echoes (Deluxe Edition)", date="2012", media=[[s.mbid for s in songs]]
    )
    c.add_recording("Bonus", band, length_ms=100_000, releases=[deluxe])
    decoy = c.add_release(c.add_release_group("Midnight Echoes", other, first_release_date="1999"), country="US")
    for n in range(6):
        c.add_recording(f"Other {n}", other, length_ms=100_000, releases=[decoy])
    ids = {"original": original.mbid, "remaster": remaster.mbid, "deluxe": deluxe.mbid, "decoy": decoy.mbid}
    return c, ids


def test_release_search_answers_like_the_search_server():
    catalog, ids = _editions()
    with MusicBrainzStandin(catalog) as standin:
        _point_at(standin)
        query = 'release:"Midnight Echoes" AND artist:"Velvet Harbor" tracks:6 date:2001'
        raw = httpx.get(f"{standin.url}/ws/2/release/", params={"query": query, "limit": "2"}, headers=UA)
        page = musicbrainzngs.search_releases(query=query, limit=10)
    root = ET.fromstring(raw.content)
    ns = {"mb": MMD_NS}
    listed = root.find("mb:release-list", ns)
    assert listed is not None and (listed.get("count"), listed.get("offset")) == ("4", "0")
    first = listed.findall("mb:release", ns)
    assert len(first) == 2 and first[0].get(f"{{{EXT_NS}}}score") == "100"
    media = first[0].find("mb:medium-list", ns)
    assert media is not None and media.get("count") == "2"
    # As the search server: the total under track-count, per medium a count and no tracks.
    assert media.findtext("mb:track-count", namespaces=ns) == "6"
    assert [t.get("count") for t in media.iterfind("mb:medium/mb:track-list", ns)] == ["4", "2"]
    assert media.find("mb:medium/mb:track-list/mb:track", ns) is None

    hits = page["release-list"]
    assert page["release-count"] == 4
    score = {h["id"]: int(h["ext:score"]) for h in hits}
    assert hits[0]["id"] == ids["original"]
    # The deluxe edition's seven tracks lower it but keep it; the other artist's album comes last.
    assert score[ids["original"]] > score[ids["remaster"]] > score[ids["deluxe"]] > score[ids["decoy"]]
    top = hits[0]
    assert (top["title"], top["artist-credit-phrase"], top["date"], top["country"]) == (
        "Midnight Echoes",
        "Velvet Harbor",
        "2001-02-03",
        "GB",
    )
    assert (top["release-group"]["id"], top["release-group"]["type"]) == (
        catalog.releases[ids["original"]].release_group.mbid,
        "Album",
    )
    assert top["medium-track-count"] == 6 and [m["track-count"] for m in top["medium-list"]] == [4, 2]


def test_release_search_by_track_count_date_and_id():
    catalog, ids = _editions()
    with MusicBrainzStandin(catalog) as standin:
        _point_at(standin)

        def top(query: str) -> str:
            return musicbrainzngs.search_releases(query=query)["release-list"][0]["id"]

        seven = musicbrainzngs.search_releases(query='release:"Midnight Echoes" AND artist:"Velvet Harbor" tracks:7')
        # The exact title still wins; among the longer titles the right track count ranks first.
        assert [r["id"] for r in seven["release-list"][:3]] == [ids["original"], ids["deluxe"], ids["remaster"]]
        assert top('release:"Midnight Echoes (Remastered)" AND artist:"Velvet Harbor"') == ids["remaster"]
        assert top('release:"Midnight Echoes" AND tracks:[5 TO 6] AND date:1999') == ids["decoy"]
        assert top('releasegroup:"Midnight Echoes" AND artist:"Velvet Harbor" date:2012 tracks:7') == ids["deluxe"]
        only = musicbrainzngs.search_releases(query=f"reid:{ids['remaster']}")["release-list"]
        assert [r["id"] for r in only] == [ids["remaster"]]
        assert musicbrainzngs.search_releases(query='release:"Nothing Like It"')["release-list"] == []


def test_a_release_lookup_gives_every_medium_with_its_tracks_and_their_own_lengths():
    catalog, ids = _editions()
    with MusicBrainzStandin(catalog) as standin:
        _point_at(standin)
        release = musicbrainzngs.get_release_by_id(
            ids["remaster"], includes=["recordings", "artist-credits", "release-groups", "media"]
        )["release"]
    assert release["release-group"]["type"] == "Album" and release["artist-credit-phrase"] == "Velvet Harbor"
    first, second = release["medium-list"]
    assert (first["position"], first["track-count"], second["position"], second["track-count"]) == ("1", 4, "2", 2)
    track = second["track-list"][1]
    assert (track["position"], track["number"]) == ("2", "2")
    assert track["recording"]["title"] == "Song 5" and "title" not in track
    # The remaster's track has its own length; the recording keeps the original's.
    assert (track["length"], track["recording"]["length"]) == ("190000", "200005")
    assert track["recording"]["artist-credit-phrase"] == "Velvet Harbor"
    assert len({t["id"] for m in (first, second) for t in m["track-list"]}) == 6


# -- lookups and browse --------------------------------------------------------------------------


def test_lookups_parse_with_their_includes(hand: MusicBrainzStandin):
    c = hand.catalog
    dynamo_go = next(a for a in c.artists.values() if a.name == "Dynamo Go")
    artist = musicbrainzngs.get_artist_by_id(dynamo_go.mbid, includes=["tags"])["artist"]
    assert (artist["name"], artist["type"], artist["country"], artist["life-span"]["begin"]) == (
        "Dynamo Go",
        "Group",
        "NZ",
        "2005-06",
    )
    assert artist["tag-list"] == [{"count": "3", "name": "indie pop"}]

    # musicbrainzngs 0.7.1 neither allows inc=genres nor parses <genre-list>: ask and read it directly.
    response = httpx.get(f"{hand.url}/ws/2/artist/{dynamo_go.mbid}", params={"inc": "tags genres"}, headers=UA)
    assert response.headers["content-type"] == "application/xml; charset=UTF-8"
    root = ET.fromstring(response.content)
    genres = root.findall(f"{{{MMD_NS}}}artist/{{{MMD_NS}}}genre-list/{{{MMD_NS}}}genre")
    assert [(g.findtext(f"{{{MMD_NS}}}name"), g.get("count")) for g in genres] == [("indie pop", "3"), ("rock", "1")]
    assert all(re.match(r"^[0-9a-f-]{36}$", g.get("id") or "") for g in genres)

    ep = next(g for g in c.release_groups.values() if g.primary_type == "EP")
    group = musicbrainzngs.get_release_group_by_id(ep.mbid, includes=["tags", "artist-credits"])["release-group"]
    assert (group["title"], group["first-release-date"], group["primary-type"]) == (ep.title, "2006-11-03", "EP")
    assert group["tag-list"] == [{"count": "2", "name": "nz"}] and group["artist-credit-phrase"] == "Dynamo Go"
    live = next(g for g in c.release_groups.values() if g.secondary_types)
    group = musicbrainzngs.get_release_group_by_id(live.mbid)["release-group"]
    assert (group["type"], group["primary-type"], group["secondary-type-list"]) == ("Live", "Album", ["Live"])

    folly = next(r for r in c.releases.values() if r.release_group is ep)
    release = musicbrainzngs.get_release_by_id(folly.mbid, includes=["recordings", "isrcs", "release-groups"])
    release = release["release"]
    assert (release["title"], release["date"], release["country"]) == (folly.title, "2006-11-03", "NZ")
    assert release["release-group"]["id"] == ep.mbid and release["release-group"]["primary-type"] == "EP"
    tracks = release["medium-list"][0]["track-list"]
    assert release["medium-count"] == 1 and release["medium-list"][0]["track-count"] == 5
    assert [t["number"] for t in tracks] == ["1", "2", "3", "4", "5"]
    assert tracks[3]["recording"]["title"] == "Thief of Hearts"
    assert tracks[3]["recording"]["isrc-list"] == ["NZAB10600004"] and tracks[3]["length"] == "198586"

    thief = _by_title(c, "Thief of Hearts", "Dynamo Go")
    recording = musicbrainzngs.get_recording_by_id(thief.mbid, includes=["isrcs", "releases", "artist-credits"])
    recording = recording["recording"]
    assert (recording["title"], recording["length"], recording["isrc-list"]) == (
        "Thief of Hearts",
        "198586",
        ["NZAB10600004"],
    )
    assert recording["artist-credit-phrase"] == "Dynamo Go"
    assert [r["id"] for r in recording["release-list"]] == [folly.mbid]


def test_browse_release_groups_pages(generated: MusicBrainzStandin):
    catalog = generated.catalog
    artist = next(a for a in catalog.artists.values() if sum(g.artist is a for g in catalog.release_groups.values()))
    own = [g for g in catalog.release_groups.values() if g.artist is artist]
    seen: list[dict] = []
    offset = 0
    while True:
        page = musicbrainzngs.browse_release_groups(artist=artist.mbid, limit=2, offset=offset)
        assert page["release-group-count"] == len(own)
        seen.extend(page["release-group-list"])
        offset += len(page["release-group-list"])
        if offset >= page["release-group-count"]:
            break
    assert sorted(g["id"] for g in seen) == sorted(g.mbid for g in own)
    assert [g["first-release-date"] for g in seen] == sorted(g["first-release-date"] for g in seen)
    assert all("primary-type" in g for g in seen)
    albums_eps = musicbrainzngs.browse_release_groups(artist=artist.mbid, release_type=["album", "ep"], limit=100)
    expected = {g.mbid for g in own if g.primary_type in ("Album", "EP")}
    assert {g["id"] for g in albums_eps["release-group-list"]} == expected
    assert albums_eps["release-group-count"] == len(expected)
    assert generated.requests[-1].query["type"] == "album|ep"


# -- errors, manners and rate ---------------------------------------------------------------------


def test_errors_like_musicbrainz(hand: MusicBrainzStandin):
    with pytest.raises(musicbrainzngs.ResponseError) as raised:
        musicbrainzngs.get_recording_by_id("00000000-0000-4000-8000-000000000000")
    assert raised.value.cause.code == 404
    with pytest.raises(musicbrainzngs.ResponseError):
        musicbrainzngs.browse_release_groups(artist="00000000-0000-4000-8000-000000000000")
    with httpx.Client(base_url=hand.url, headers=UA) as client:
        missing = client.get("/ws/2/artist/00000000-0000-4000-8000-000000000000")
        assert missing.status_code == 404 and missing.headers["content-type"] == "application/xml; charset=UTF-8"
        assert ET.fromstring(missing.content).findtext("text") == "Not Found"
        assert client.get("/ws/2/artist/not-an-mbid").status_code == 400
        assert client.get("/ws/2/label/?query=x").status_code == 404
        assert client.get("/ws/3/artist/").status_code == 404
        assert client.get("/ws/2/recording", params={"query": "isrc:NZAB10600001"}).status_code == 200
        assert client.get("/ws/2/recording", params={"query": "x"}, headers={"User-Agent": ""}).status_code == 403
    ok = httpx.get(f"{hand.url}/ws/2/recording/", params={"query": "thief"}, headers=UA)
    root = ET.fromstring(ok.content)
    assert root.tag == f"{{{MMD_NS}}}metadata"
    first = root.find(f"{{{MMD_NS}}}recording-list/{{{MMD_NS}}}recording")
    assert first is not None and first.get(f"{{{EXT_NS}}}score") == "100"


def test_requests_closer_than_min_interval_get_503():
    with MusicBrainzStandin(_hand_catalog(), min_interval_s=0.3) as standin:
        with httpx.Client(base_url=standin.url, headers=UA) as client:
            first = client.get("/ws/2/recording/", params={"query": "thief"})
            second = client.get("/ws/2/recording/", params={"query": "thief"})
            time.sleep(0.35)
            third = client.get("/ws/2/recording/", params={"query": "thief"})
        assert (first.status_code, second.status_code, third.status_code) == (200, 503, 200)
        assert ET.fromstring(second.content).findtext("text") == RATE_LIMIT_TEXT
        assert standin.rate_violations == 1
        assert standin.count("/ws/2/recording") == 3 and len(standin.search_log) == 2


# -- the real recordings -----------------------------------------------------------------------------


def test_catalog_from_recordings_serves_the_recorded_world():
    if not MB_RECORDINGS.is_dir():
        pytest.skip(
            f"real recorded responses not present at {MB_RECORDINGS} "
            "(they are only beside the project in CI and development)"
        )
    catalog = catalog_from_recordings(MB_RECORDINGS)
    assert "cb4d4d70-930c-4d1a-a157-776de18be66a" in catalog.recordings
    assert catalog.artists["952a4205-023d-4235-897c-6fdb6f58dfaa"].begin == "2005-06"
    with MusicBrainzStandin(catalog) as standin:
        _point_at(standin)
        result = musicbrainzngs.search_recordings(query='recording:"Thief of Hearts" AND artist:"Dynamo Go"')
        top = result["recording-list"][0]
        assert (top["id"], top["title"], top["artist-credit-phrase"], top["ext:score"]) == (
            "cb4d4d70-930c-4d1a-a157-776de18be66a",
            "Thief of Hearts",
            "Dynamo Go",
            "100",
        )
        assert top["length"] == "198586"
        release = top["release-list"][0]
        assert (release["title"], release["date"], release["country"]) == ("Folly, Vice & Madness", "2006-11-03", "NZ")
        assert release["release-group"]["primary-type"] == "EP"
        assert release["medium-list"][0]["track-list"][0]["number"] == "4"  # offset 3 of 5, as recorded

        urk = musicbrainzngs.get_release_by_id("fe29e7f0-eb46-44ba-9348-694166f47885", includes=["recordings"])
        assert [len(m["track-list"]) for m in urk["release"]["medium-list"]] == [14, 15, 19]
        group = musicbrainzngs.get_release_group_by_id("f52bc6a1-c848-49e6-85de-f8f53459a624")["release-group"]
        assert (group["primary-type"], group["secondary-type-list"]) == ("Album", ["Soundtrack"])
        artist = musicbrainzngs.search_artists(query='artist:"Dynamo Go"')["artist-list"][0]
        assert (artist["name"], artist["country"], artist["ext:score"]) == ("Dynamo Go", "NZ", "100")


# -- what real releases and mirrors have too -----------------------------------------------------


def _release_with_a_hidden_track() -> tuple[MbCatalog, str]:
    c = MbCatalog()
    air = c.add_artist("Air")
    release = c.add_release(c.add_release_group("Moon Safari", air), media=[[]])
    c.add_recording("Hidden", air, length_ms=30_000, releases=[release], kind="pregap")
    c.add_recording("Hello Goodbye / Galaxie", air, length_ms=200_000, releases=[release], track_title="Galaxie")
    c.add_recording("Plain", air, length_ms=100_000, releases=[release])
    c.add_recording("Video", air, releases=[release], kind="data")
    return c, release.mbid


def test_a_release_serves_its_pregap_its_data_tracks_and_the_titles_it_prints_as_musicbrainz_does():
    catalog, mbid = _release_with_a_hidden_track()
    with MusicBrainzStandin(catalog) as standin:
        _point_at(standin)
        (medium,) = musicbrainzngs.get_release_by_id(mbid, includes=["recordings"])["release"]["medium-list"]
        (bare,) = musicbrainzngs.get_release_by_id(mbid, includes=["media"])["release"]["medium-list"]
    assert (medium["pregap"]["position"], medium["pregap"]["recording"]["title"]) == ("0", "Hidden")
    assert medium["track-count"] == 2  # as on MusicBrainz, the count leaves the pregap and data tracks out
    first, second = medium["track-list"]
    assert (first["title"], first["recording"]["title"]) == ("Galaxie", "Hello Goodbye / Galaxie")
    assert "title" not in second  # printed only where it differs from the recording's
    assert medium["data-track-count"] == 1 and medium["data-track-list"][0]["position"] == "3"
    assert bare["track-count"] == 2 and "pregap" not in bare


def test_a_mirror_behind_a_login_answers_401_until_it_gets_one():
    catalog, mbid = _release_with_a_hidden_track()
    with MusicBrainzStandin(catalog, credentials=("soulspot", "secret")) as standin:
        with httpx.Client(base_url=standin.url, headers=UA) as client:
            refused = client.get(f"/ws/2/release/{mbid}")
            allowed = client.get(f"/ws/2/release/{mbid}", auth=("soulspot", "secret"))
        _point_at(standin)
        with pytest.raises(musicbrainzngs.AuthenticationError):
            musicbrainzngs.get_release_by_id(mbid)
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Basic")
    assert allowed.status_code == 200 and standin.refused_logins == 2


def test_the_recorded_data_cd_is_served_as_data_tracks_with_its_printed_titles(realdata):
    with MusicBrainzStandin(catalog_from_recordings(realdata / "musicbrainzngs" / "test" / "data")) as standin:
        _point_at(standin)
        release = musicbrainzngs.get_release_by_id("9ce41d09-40e4-4d33-af0c-7fed1e558dba", includes=["recordings"])
    (medium,) = release["release"]["medium-list"]
    assert (medium["track-count"], medium["data-track-count"], len(medium["data-track-list"])) == (0, 198, 198)
    fire = medium["data-track-list"][5]
    assert (fire["title"], fire["recording"]["title"]) == (
        "Fire Engine",
        "Fire Engine (studio: 1975-08-xx: New York City, NY, USA)",
    )
