"""Every parser of MusicBrainz objects against null and dropped fields.

XML as musicbrainzngs parses it already carries ``None`` for empty elements; a JSON mirror
sends ``null`` for anything it does not know, and a future client may leave fields out.
Each object below (built-in samples shaped like musicbrainzngs' dicts, and, when present,
the real recorded answers in ../shared/realdata) is varied by nulling out or dropping one
field at a time, then several at once, and every parser must read every variant without
raising and give values of the declared types.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soulspot_pipeline.domain.discography import (
    OwnedTrack,
    choose_release,
    missing_tracks,
    musicbrainz_group,
    musicbrainz_groups,
    release_summaries,
    release_with_tracks,
)
from soulspot_pipeline.domain.enrich import artist_fields, recording_fields, release_fields, release_group_fields
from soulspot_pipeline.domain.identify import (
    WantedTrack,
    artists_in,
    credits_of,
    identify_named,
    identify_track,
    parse_artist_hit,
    parse_recording,
    parse_release_group_hit,
    recordings_in,
    release_groups_in,
)
from soulspot_tests.conftest import REALDATA

EXAMPLES = 150

Path_ = tuple[str | int, ...]

AIR = {"id": "a-air", "type": "Group", "name": "Air", "sort-name": "Air", "disambiguation": "French duo"}
MOON = {
    "id": "rg-moon",
    "type": "Album",
    "title": "Moon Safari",
    "primary-type": "Album",
    "secondary-type-list": ["Compilation"],
    "first-release-date": "1998-01-16",
}
# Shaped like musicbrainzngs' parsed dicts (strings for numbers, -list keys, join phrases in credits).
SAMPLES: dict[str, dict[str, Any]] = {
    "recording search hit": {
        "id": "rec-1",
        "ext:score": "100",
        "title": "Sexy Boy",
        "length": "298000",
        "artist-credit": [{"artist": AIR, "name": "AIR"}, " & ", {"artist": {"id": "a-2", "name": "Beth Hirsch"}}],
        "artist-credit-phrase": "AIR & Beth Hirsch",
        "isrc-list": ["FRAB19800001", "FRAB19800002"],
        "release-list": [
            {
                "id": "rel-1",
                "title": "Moon Safari",
                "status": "Official",
                "date": "1998-01-16",
                "country": "FR",
                "release-group": MOON,
                "medium-list": [{"position": "1", "track-list": [{"id": "t", "number": "2", "title": "Sexy Boy"}]}],
                "medium-track-count": 10,
            }
        ],
    },
    "artist search hit": {
        **AIR,
        "ext:score": "100",
        "country": "FR",
        "life-span": {"begin": "1995"},
        "tag-list": [{"count": "9", "name": "electronic"}, {"count": "2", "name": "french"}],
        "genre-list": [{"count": "3", "name": "downtempo", "id": "g-1"}],
    },
    "release group search hit": {
        **MOON,
        "ext:score": "95",
        "disambiguation": "",
        "artist-credit": [{"artist": AIR}],
        "artist-credit-phrase": "Air",
        "release-list": [{"id": "rel-1", "title": "Moon Safari", "status": "Official", "date": "1998-01-16"}],
        "release-count": 1,
        "tag-list": [{"count": "7", "name": "trip hop"}],
    },
    "release lookup": {
        "id": "rel-1",
        "title": "Moon Safari",
        "status": "Official",
        "date": "1998-01-16",
        "country": "FR",
        "release-group": MOON,
        "medium-list": [
            {
                "position": "1",
                "format": "CD",
                "pregap": {
                    "id": "t0",
                    "position": "0",
                    "number": "0",
                    "length": "30000",
                    "recording": {"id": "rec-0", "title": "Hidden", "length": "30000"},
                },
                "track-list": [
                    {
                        "id": "t1",
                        "position": "1",
                        "number": "1",
                        "title": "Galaxie",
                        "length": "298000",
                        "recording": {
                            "id": "rec-1",
                            "title": "Hello Goodbye / Galaxie",
                            "length": "298000",
                            "isrc-list": ["FRAB19800001"],
                            "artist-credit": [{"artist": AIR}],
                        },
                    },
                    {"id": "t2", "position": "2", "number": "2", "recording": {"id": "rec-2", "title": "夜明け"}},
                ],
                "track-count": 2,
                "data-track-list": [
                    {"id": "t3", "position": "3", "number": "3", "recording": {"id": "rec-3", "title": "Video"}}
                ],
                "data-track-count": 1,
            }
        ],
        "medium-count": 1,
    },
    "release group lookup": {
        **MOON,
        "artist-credit": [{"artist": AIR}],
        "release-list": [
            {"id": "rel-2", "title": "Moon Safari", "status": "Bootleg", "date": "1997"},
            {"id": "rel-1", "title": "Moon Safari", "status": "Official", "date": "1998-01-16"},
        ],
        "tag-list": [{"count": "7", "name": "trip hop"}],
        "genre-list": [{"count": "7", "name": "trip hop"}],
    },
    "search page": {
        "recording-list": [{"id": "rec-1", "title": "Sexy Boy", "artist-credit": [{"artist": AIR}]}],
        "recording-count": 1,
        "artist-list": [{"id": "a-air", "name": "Air"}],
        "release-group-list": [{**MOON, "artist-credit": [{"artist": AIR}]}],
    },
}


# -- the objects ---------------------------------------------------------------------------------


def real_objects() -> dict[str, Any]:
    """The recorded ws/2 answers, each entity as musicbrainzngs parses it, and the recorded JSON lookups."""
    import musicbrainzngs.mbxml

    xml = REALDATA / "musicbrainzngs" / "test" / "data"
    objects: dict[str, Any] = {}
    for path in sorted(xml.rglob("*.xml")):
        with open(path, "rb") as f:
            parsed = musicbrainzngs.mbxml.parse_message(f)
        name = str(path.relative_to(xml))
        for key, value in parsed.items():
            if key.endswith("-list"):
                objects[f"{name} page"] = parsed
                objects.update((f"{name} {key}[{n}]", item) for n, item in enumerate(value))
            elif isinstance(value, dict):
                objects[f"{name} {key}"] = value
    for path in sorted((REALDATA / "picard" / "test" / "data" / "ws_data").glob("*.json")):
        objects[f"{path.name} (ws/2 JSON)"] = json.loads(path.read_text())
    return objects


def field_paths(value: Any, path: Path_ = ()) -> Iterator[Path_]:
    """Every field (dict key) and list item below ``value``, depth first."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield (*path, key)
            yield from field_paths(inner, (*path, key))
    elif isinstance(value, list):
        for n, inner in enumerate(value):
            yield (*path, n)
            yield from field_paths(inner, (*path, n))


def shape(path: Path_) -> tuple[str, ...]:
    """A path with list positions left out: the same field of every track is one shape."""
    return tuple("*" if isinstance(p, int) else p for p in path)


def varied(value: Any, path: Path_, action: str) -> Any:
    """``value`` with the field at ``path`` nulled (``null``) or dropped (``drop``). Only the
    containers on the path are copied; a path an earlier change removed changes nothing."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(value, Mapping) and isinstance(head, str) and head in value:
        fields = dict(value)
        if rest:
            fields[head] = varied(fields[head], rest, action)
        elif action == "null":
            fields[head] = None
        else:
            del fields[head]
        return fields
    if isinstance(value, list) and isinstance(head, int) and head < len(value):
        items = list(value)
        if rest:
            items[head] = varied(items[head], rest, action)
        elif action == "null":
            items[head] = None
        else:
            del items[head]
        return items
    return value


# -- the parsers -----------------------------------------------------------------------------------


def _texts(values: Any) -> bool:
    return values is None or (isinstance(values, list) and all(isinstance(v, str) for v in values))


def read_every_way(obj: Any) -> None:
    """Every parser of MusicBrainz objects on ``obj``, and the types of what they give."""
    if not isinstance(obj, Mapping):
        obj = {}
    for credit in credits_of(obj):
        assert isinstance(credit.mbid, str) and isinstance(credit.name, str)
    recording = parse_recording(obj)
    if recording is not None:
        assert isinstance(recording.title, str) and all(isinstance(r.title, str) for r in recording.releases)
        assert isinstance(recording.artist_phrase, str) and all(isinstance(i, str) for i in recording.isrcs)
        identify_track(WantedTrack("Sexy Boy", "Air", "Moon Safari", 298_000, "FRAB19800001"), [recording])
    for named in (parse_artist_hit(obj), parse_release_group_hit(obj)):
        if named is not None:
            assert isinstance(named.name, str)
            identify_named("Air", [named], wanted_artist="Air")
    identify_track(WantedTrack("Sexy Boy", "Air"), recordings_in(obj))
    identify_named("Air", artists_in(obj))
    identify_named("Moon Safari", release_groups_in(obj), wanted_artist="Air", edition_blind=True)

    fields = {**artist_fields(obj), **release_group_fields(obj)}
    for name in ("sort_name", "country", "artist_type", "disambiguation", "release_date", "album_type"):
        assert fields[name] is None or isinstance(fields[name], str), name
    assert _texts(fields["tags"]) and _texts(fields["genres"]) and _texts(fields["secondary_types"])
    album, per_recording = release_fields(obj)
    assert album["total_tracks"] is None or isinstance(album["total_tracks"], int)
    for values in [recording_fields(obj), *per_recording.values()]:
        assert values["duration_ms"] is None or isinstance(values["duration_ms"], int)
        assert values["isrc"] is None or isinstance(values["isrc"], str)

    group = musicbrainz_group(obj)
    assert isinstance(group.title, str) and group.release_type
    musicbrainz_groups([obj, None, *(obj.get("release-group-list") or ())])
    choose_release(release_summaries(obj))
    release = release_with_tracks(obj, "rel-x")
    assert isinstance(release.mbid, str) and isinstance(release.title, str)
    for track in release.tracks:
        assert isinstance(track.title, str) and isinstance(track.track_number, int)
    owned = [
        OwnedTrack(t.recording_mbid if n % 2 else None, t.title, t.disc_number, t.track_number)
        for n, t in enumerate(release.tracks)
    ]
    assert missing_tracks(release, owned) == []
    missing_tracks(release, [OwnedTrack(None, None), OwnedTrack(None, "Galaxie", None, 1)])


# -- the tests -------------------------------------------------------------------------------------


def variants(objects: dict[str, Any], *, one_per_shape: bool) -> list[tuple[str, Path_, str]]:
    """(object, field, null|drop) for every field of every object, or for one field of each shape."""
    found = []
    for name, obj in objects.items():
        seen: set[tuple[str, ...]] = set()
        for path in field_paths(obj):
            if one_per_shape:
                if shape(path) in seen:
                    continue
                seen.add(shape(path))
            found += [(name, path, "null"), (name, path, "drop")]
    return found


def test_the_samples_read_as_they_should_before_anything_is_taken_away():
    recording = parse_recording(SAMPLES["recording search hit"])
    assert recording is not None and recording.artist_phrase == "Air, Beth Hirsch" and len(recording.releases) == 1
    release = release_with_tracks(SAMPLES["release lookup"])
    assert [t.title for t in release.tracks] == ["Hidden", "Galaxie", "夜明け", "Video"]
    assert release_fields(SAMPLES["release lookup"])[0]["total_tracks"] == 4
    assert artist_fields(SAMPLES["artist search hit"])["genres"] == ["downtempo"]
    assert release_group_fields(SAMPLES["release group lookup"])["secondary_types"] == ["compilation"]
    assert choose_release(release_summaries(SAMPLES["release group lookup"])).mbid == "rel-1"
    assert [c.mbid for c in release_groups_in(SAMPLES["search page"])] == ["rg-moon"]


def test_a_null_artist_name_in_credits_and_release_groups_reads_as_no_name():
    nameless = {"artist": {"id": "a-x", "name": None}}
    group = {**MOON, "artist-credit": [nameless]}
    hit = parse_release_group_hit(group)
    assert hit is not None and hit.artist is None
    recording = parse_recording({"id": "r", "title": None, "artist-credit": [nameless, " feat. ", None]})
    assert recording is not None and recording.artist_phrase == "" and recording.title == ""
    assert identify_track(WantedTrack("x", "y"), [recording]).status == "none"


def test_every_field_of_the_samples_nulled_or_dropped_alone_is_read():
    checked = variants(SAMPLES, one_per_shape=False)
    for name, path, action in checked:
        read_every_way(varied(SAMPLES[name], path, action))
    assert len(checked) > 300
    print(f"built-in samples: {len(SAMPLES)} objects, {len(checked)} single-field variants")


def _mutations(objects: dict[str, Any]) -> st.SearchStrategy[tuple[str, list[tuple[Path_, str]]]]:
    paths = {name: list(field_paths(obj)) for name, obj in objects.items()}
    return st.sampled_from(sorted(objects)).flatmap(
        lambda name: st.tuples(
            st.just(name),
            st.lists(
                st.tuples(st.sampled_from(paths[name]), st.sampled_from(["null", "drop"])), min_size=1, max_size=6
            ),
        )
    )


def _apply(obj: Any, changes: list[tuple[Path_, str]]) -> Any:
    for path, action in changes:
        obj = varied(obj, path, action)
    return obj


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutations(SAMPLES))
def test_several_fields_of_the_samples_nulled_or_dropped_together_are_read(case):
    name, changes = case
    read_every_way(_apply(SAMPLES[name], changes))


@pytest.fixture(scope="module")
def recorded(request) -> dict[str, Any]:
    if not REALDATA.is_dir():
        pytest.skip(
            f"real recorded data not present at {REALDATA} (it is only beside the project in CI and development)"
        )
    return real_objects()


def test_every_kind_of_field_of_the_real_answers_nulled_or_dropped_is_read(recorded):
    for obj in recorded.values():
        read_every_way(obj)
    checked = variants(recorded, one_per_shape=True)
    for name, path, action in checked:
        read_every_way(varied(recorded[name], path, action))
    every = variants(recorded, one_per_shape=False)
    assert len(recorded) >= 40 and len(checked) > 1000
    print(
        f"recorded answers: {len(recorded)} objects, {len(every)} single-field variants "
        f"({len(checked)} of distinct fields read here, the rest sampled)"
    )


def test_several_fields_of_the_real_answers_nulled_or_dropped_together_are_read(recorded):
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_mutations(recorded))
    def check(case):
        name, changes = case
        read_every_way(_apply(recorded[name], changes))

    check()
