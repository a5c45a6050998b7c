import pytest

from soulspot_pipeline.domain.text import (
    clean_text,
    first_mbid,
    normalize_isrc,
    normalize_name,
    parse_number_pair,
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("The Beatles", "beatles"),
        ("Beyoncé", "BEYONCE"),
        ("Simon & Garfunkel", "Simon and Garfunkel"),
        ("AC/DC", "ac dc"),
        ("  Sigur   Rós ", "sigur ros"),
    ],
)
def test_normalize_name_ignores_case_accents_punctuation_and_articles(a, b):
    assert normalize_name(a) == normalize_name(b)


def test_normalize_name_keeps_different_names_apart():
    assert normalize_name("Blur") != normalize_name("Bluer")
    assert normalize_name("坂本龍一") != normalize_name("坂本")
    assert normalize_name("!!!") == "!!!"  # punctuation-only names keep a usable key
    assert normalize_name(None) == ""


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("3/12", (3, 12)),
        ("03", (3, None)),
        ("3 of 12", (3, 12)),
        ("A1", (None, None)),
        ("", (None, None)),
        ("0/0", (None, None)),
    ],
)
def test_parse_number_pair(raw, expected):
    assert parse_number_pair(raw) == expected


def test_isrc_is_normalized_or_rejected():
    assert normalize_isrc("us-rc1-76-07839") == "USRC17607839"
    assert normalize_isrc("not an isrc") is None
    assert normalize_isrc(None) is None


def test_first_mbid_takes_the_first_valid_identifier():
    assert first_mbid("8B882575-08A5-4452-A7A7-CBB8A1531F9E/7cf0ea9d-86b9-4dad-ba9e-2355a64899ea") == (
        "8b882575-08a5-4452-a7a7-cbb8a1531f9e"
    )
    assert first_mbid("garbage") is None


def test_clean_text_repairs_undecodable_text_and_says_so():
    assert clean_text("Björk") == ("Björk", False)
    assert clean_text("bad \udcff byte") == ("bad ? byte", True)
    assert clean_text("replaced \ufffd") == ("replaced \ufffd", True)
    assert clean_text("first\x00second") == ("first", False)
    assert clean_text("   ") == (None, False)
