"""Normalizing names and parsing tag values the way taggers write them."""

from __future__ import annotations

import re
import unicodedata

_PUNCTUATION = re.compile(r"[^\w\s]", re.UNICODE)
_SPACES = re.compile(r"\s+")
_LEADING_ARTICLE = re.compile(r"^the\s+")
_NUMBER_PAIR = re.compile(r"^\s*(\d+)\s*(?:(?:/|of)\s*(\d+))?", re.IGNORECASE)
_ISRC = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}\d{7}$")
_MBID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def normalize_name(value: str | None) -> str:
    """A comparison key: case, accents, punctuation, '&' and a leading 'The' do not count.

    "The Beatles", "beatles" and "Beatles!" compare equal; scripts without Latin letters
    keep their characters, so names in other scripts stay distinct.
    """
    if not value:
        return ""
    text = unicodedata.normalize("NFKD", value.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.replace("&", " and ")
    text = _SPACES.sub(" ", _PUNCTUATION.sub(" ", text)).strip()
    text = _LEADING_ARTICLE.sub("", text)
    # A name made only of punctuation ("!!!") keeps its characters as its key.
    return text or _SPACES.sub(" ", value.casefold()).strip()


def clean_text(value: object) -> tuple[str | None, bool]:
    """A tag value as storable text, and whether it had to be repaired.

    Undecodable bytes arrive as U+FFFD or lone surrogates, and NUL separates ID3 values;
    DuckDB needs valid UTF-8, so surrogates become U+FFFD and NULs end the value.
    """
    if value is None:
        return None, False
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    repaired = False
    if "\x00" in text:
        text = text.split("\x00", 1)[0]
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8", "replace")
        repaired = True
    if "\ufffd" in text:
        repaired = True
    text = text.strip()
    return (text or None), repaired


def parse_number_pair(value: str | None) -> tuple[int | None, int | None]:
    """'3/12' -> (3, 12), '03' -> (3, None), '3 of 12' -> (3, 12), 'A1' -> (None, None)."""
    if not value:
        return None, None
    match = _NUMBER_PAIR.match(value)
    if not match:
        return None, None
    number = int(match.group(1))
    total = int(match.group(2)) if match.group(2) else None
    return (number or None), (total or None)


def parse_int(value: str | None) -> int | None:
    number, _ = parse_number_pair(value)
    return number


def normalize_isrc(value: str | None) -> str | None:
    """An ISRC in its canonical 12-character form, or None when it is not one."""
    if not value:
        return None
    code = re.sub(r"[\s-]", "", value).upper()
    return code if _ISRC.match(code) else None


def first_mbid(value: str | None) -> str | None:
    """The first MusicBrainz identifier in a tag value (taggers join several with '/' or ';')."""
    if not value:
        return None
    match = _MBID.search(value.lower())
    return match.group(0) if match else None
