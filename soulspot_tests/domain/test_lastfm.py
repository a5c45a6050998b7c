"""Which Last.fm tags are genres, and Last.fm's similar artists as plain data (no Dagster, no HTTP)."""

import pytest

from soulspot_pipeline.domain.lastfm import (
    SimilarArtist,
    genres_from_tags,
    is_genre,
    normalize_tag,
    similar_artists,
    tag_weight,
)


def tags(*pairs):
    return [{"name": name, "count": count} for name, count in pairs]


@pytest.mark.parametrize(
    "tag",
    [
        "seen live",
        "favorites",
        "Favourite Albums",
        "my favorite",
        "albums i own",
        "under 2000 listeners",
        "1998",
        "90s",
        "90's",
        "'80s",
        "1980s",
        "2000s",
        "female vocalists",
        "british",
        "awesome",
        "spotify",
        "",
    ],
)
def test_non_genres_are_not_genres(tag):
    assert not is_genre(normalize_tag(tag))


@pytest.mark.parametrize("tag", ["trip hop", "hip-hop", "80s pop", "post-rock", "french house", "classic rock", "idm"])
def test_genres_are_genres(tag):
    assert is_genre(normalize_tag(tag))


def test_genres_keep_the_heavy_genre_tags_heaviest_first_without_the_artists_name():
    listed = tags(
        ("Electronic", "100"),
        ("seen live", "90"),
        ("Trip_Hop", "60"),
        ("Air", "55"),
        ("1998", "50"),
        ("downtempo", "40"),
        ("electronic", "30"),  # the same genre again, lighter: once
        ("lounge", "9"),  # under the weight threshold
        ("ambient", None),
    )
    assert genres_from_tags(listed, min_weight=10, not_names=["Air"]) == ["electronic", "trip hop", "downtempo"]
    assert genres_from_tags(listed, min_weight=5, not_names=["Air"], limit=2) == ["electronic", "trip hop"]
    assert "lounge" in genres_from_tags(listed, min_weight=5, not_names=["Air"])


def test_weights_come_as_strings_numbers_or_nothing():
    assert [tag_weight(v) for v in ("100", 66, "0.5", None, "", "x", 12.7, True)] == [100, 66, 0, 0, 0, 0, 12, 0]


def test_no_tags_no_genres():
    assert genres_from_tags([]) == []
    assert genres_from_tags(tags(("seen live", "100"), ("favorites", "100"))) == []


def test_similar_artists_parse_strings_drop_nameless_and_keep_the_best_match_once():
    listed = [
        {"name": "Thom Yorke", "mbid": "8ed2e0b3-aa4c-4e13-bec3-dc7393ed4d6b", "match": "1"},
        {"name": "Atoms for Peace", "mbid": "", "match": "0.572640"},
        {"name": "", "mbid": "x", "match": "0.9"},
        {"name": "thom yorke", "mbid": None, "match": "0.3"},
        {"name": "Odd", "mbid": None, "match": "n/a"},
    ]
    assert similar_artists(listed) == [
        SimilarArtist("Thom Yorke", "8ed2e0b3-aa4c-4e13-bec3-dc7393ed4d6b", 1.0),
        SimilarArtist("Atoms for Peace", None, 0.57264),
        SimilarArtist("Odd", None, 0.0),
    ]
    assert similar_artists([]) == []


def test_the_console_line_gives_the_counts_or_why_it_was_skipped():
    from soulspot_pipeline.domain.run_summary import PhaseOutcome, phase_lines

    skipped = {"status": "skipped: not configured (set LASTFM_API_KEY)"}
    assert phase_lines(PhaseOutcome("lastfm_metadata", "materialized", skipped)) == [
        "  lastfm_metadata     skipped: not configured (set LASTFM_API_KEY)"
    ]
    counts = {"artists": 2, "albums": 2, "genres_kept": 5, "tags_seen": 16, "similar_artists": 3, "requests": 0}
    assert phase_lines(PhaseOutcome("lastfm_metadata", "materialized", counts)) == [
        "  lastfm_metadata     2 artists, 2 albums; 5 genres kept of 16 tags; 3 similar artists; 0 requests to Last.fm"
    ]
