"""The columns of a ``library.local_files`` record, and how a value read from a file is fitted to its column.

Tag libraries hand back whatever a file holds: a bool for a channel count, a float for a
bitrate, bytes or broken text for a title, a number far out of range. Every value passes
through :func:`fit_record` before it is stored, so an odd file loses at most a field (with a
note saying which and why), never the batch it was read in.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from soulspot_pipeline.domain.fields import TAG_FIELDS
from soulspot_pipeline.domain.scan_plan import FileStat
from soulspot_pipeline.domain.text import clean_text

# "path" is text stored exactly as it is (it is the key); "text" may be repaired and cut.
ColumnKind = Literal["path", "text", "int32", "int64"]

_INT_BOUNDS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}

# Far longer than any real title or credit list, short enough that a corrupt tag of
# megabytes does not bloat the library.
MAX_TEXT_CHARS = 2000
MAX_MESSAGE_CHARS = 4000

_INTEGER_TEXT = re.compile(r"\s*([+-]?\d+)\s*")
_MAX_DIGITS = 30  # more is out of any column's range, and int() of thousands of digits is refused


@dataclass(frozen=True, slots=True)
class Column:
    """One column of ``library.local_files`` (see the store's migrations)."""

    name: str
    kind: ColumnKind
    required: bool = False  # NOT NULL: a record without it cannot be stored
    non_negative: bool = False  # sizes, lengths, rates and counts below zero mean nothing

    @property
    def bounds(self) -> tuple[int, int]:
        low, high = _INT_BOUNDS[self.kind]
        return (0 if self.non_negative else low), high


AUDIO_FIELDS: tuple[str, ...] = ("format", "duration_ms", "bitrate", "sample_rate", "bit_depth", "channels")
_COUNT_TAGS = frozenset({"track_number", "track_total", "disc_number", "disc_total"})

RECORD_COLUMNS: tuple[Column, ...] = (
    Column("path", "path", required=True),
    Column("size", "int64", required=True, non_negative=True),
    Column("mtime_ns", "int64", required=True),  # a file dated before 1970 has a negative one
    Column("format", "text", required=True),
    Column("duration_ms", "int64", non_negative=True),
    *(Column(name, "int32", non_negative=True) for name in AUDIO_FIELDS[2:]),
    *(Column(name, "int32", non_negative=True) if name in _COUNT_TAGS else Column(name, "text") for name in TAG_FIELDS),
)
RECORD_FIELDS: tuple[str, ...] = tuple(column.name for column in RECORD_COLUMNS)
COLUMNS: dict[str, Column] = {column.name: column for column in RECORD_COLUMNS}


@dataclass(frozen=True, slots=True)
class FittedRecord:
    """A record whose every value fits its column, with notes on what was changed or dropped;
    or, when it cannot be stored at all, ``values`` is None and ``problem`` says why."""

    values: tuple | None
    notes: list[str] = field(default_factory=list)
    problem: str | None = None


def fit_record(record: object, stat: FileStat) -> FittedRecord:
    """Fit a record (values in ``RECORD_FIELDS`` order) to the columns.

    The path, size and mtime that identify the file are taken from ``stat``, whatever the
    record says: tags must never decide which file a row stands for.
    """
    if not isinstance(record, tuple | list) or len(record) != len(RECORD_COLUMNS):
        size = len(record) if isinstance(record, tuple | list) else type(record).__name__
        return FittedRecord(None, problem=f"internal error: a record of {size} values, not {len(RECORD_COLUMNS)}")
    values: list[object] = []
    notes: list[str] = []
    for column, value in zip(RECORD_COLUMNS, (stat.path, stat.size, stat.mtime_ns, *record[3:]), strict=True):
        fitted, note = fit_value(column, value)
        if note:
            notes.append(note)
        if fitted is None and column.required:
            return FittedRecord(
                None, notes, f"cannot be stored without a {column.name}" + (f" ({note})" if note else "")
            )
        values.append(fitted)
    return FittedRecord(tuple(values), notes)


def fit_value(column: Column, value: object) -> tuple[object, str | None]:
    """``value`` as ``column`` stores it (an int in range, valid text or None), and a note
    when it had to be changed or dropped."""
    if value is None:
        return None, None
    if column.kind == "path":
        return _fit_path(column, value)
    if column.kind == "text":
        return _fit_text(column, value)
    return _fit_integer(column, value)


def storable_path(value: object) -> str:
    """A file's path as an error row can store it: never empty, lone surrogates (undecodable
    bytes of a file name) replaced."""
    if isinstance(value, bytes | bytearray):
        text = bytes(value).decode("utf-8", "replace")
    else:
        text = value if isinstance(value, str) else _show(value)
    return _valid_unicode(text).replace("\x00", "\ufffd") or "(no path)"


def storable_message(value: object) -> str | None:
    """A reason or warning as ``library.scan_errors`` can store it: valid text of bounded length."""
    if value is None:
        return None
    if isinstance(value, bytes | bytearray):
        text = bytes(value).decode("utf-8", "replace")
    elif isinstance(value, str):
        text = value
    else:
        try:
            text = str(value)
        except Exception:  # an object whose __str__ fails still deserves a message
            text = _show(value)
    text = _valid_unicode(text).replace("\x00", " ").strip()
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[: MAX_MESSAGE_CHARS - 1] + "…"
    return text or None


def join_messages(messages: Iterable[object]) -> str | None:
    """Several warnings as one storable ``scan_errors`` message."""
    return storable_message("; ".join(m for m in map(storable_message, messages) if m))


def _fit_path(column: Column, value: object) -> tuple[str | None, str | None]:
    if isinstance(value, str) and value and "\x00" not in value and _valid_unicode(value) is value:
        return value, None
    return None, f"{column.name} {_show(value)} is not valid text"


def _fit_text(column: Column, value: object) -> tuple[str | None, str | None]:
    repairs = []
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        text = raw.decode("utf-8", "replace")
        if not _is_utf8(raw):
            repairs.append("undecodable bytes replaced")
    elif isinstance(value, str):
        text = value
    elif isinstance(value, numbers.Integral) and not isinstance(value, bool):
        try:
            text = str(int(value))
        except ValueError:  # Python refuses to print ints of thousands of digits
            return None, f"{column.name} {_show(value)} is not text; left empty"
    else:
        return None, f"{column.name} {_show(value)} is not text; left empty"
    valid = _valid_unicode(text)
    if valid is not text:
        repairs.append("characters that are not valid Unicode replaced")
    if "\x00" in valid:
        repairs.append("cut at a NUL character")
    cleaned, _ = clean_text(valid)
    if cleaned is not None and len(cleaned) > MAX_TEXT_CHARS:
        cleaned = cleaned[:MAX_TEXT_CHARS].rstrip()
        repairs.append(f"cut to {MAX_TEXT_CHARS} characters")
    return cleaned, (f"{column.name} text: {', '.join(repairs)}" if repairs else None)


def _fit_integer(column: Column, value: object) -> tuple[int | None, str | None]:
    if isinstance(value, numbers.Integral):  # bools too: mutagen gives a mono WavPack's channels as True
        number = int(value)
    elif isinstance(value, numbers.Real):
        try:
            rounded = round(value)
        except (ValueError, OverflowError, TypeError):
            return None, f"{column.name} {_show(value)} is not a finite number; left empty"
        number = int(rounded)
    elif isinstance(value, str | bytes | bytearray):
        text = bytes(value).decode("utf-8", "replace") if isinstance(value, bytes | bytearray) else value
        match = _INTEGER_TEXT.fullmatch(text)
        if not match:
            return None, f"{column.name} {_show(value)} is not a number; left empty"
        if len(match.group(1).lstrip("+-")) > _MAX_DIGITS:
            return None, f"{column.name} {_show(value)} is out of range; left empty"
        number = int(match.group(1))
    else:
        return None, f"{column.name} {_show(value)} is not a number; left empty"
    low, high = column.bounds
    if number < low:
        what = "negative" if low == 0 else "out of range"
        return None, f"{column.name} {_show(number)} is {what}; left empty"
    if number > high:
        return None, f"{column.name} {_show(number)} is out of range; left empty"
    return number, None


def _valid_unicode(text: str) -> str:
    """``text`` itself when it encodes as UTF-8, else a copy with each lone surrogate as U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if "\ud800" <= char <= "\udfff" else char for char in text)
    return text


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _show(value: object) -> str:
    """A short, storable rendering of an odd value for a note."""
    if value is None or isinstance(value, bool | float):
        return repr(value)
    if isinstance(value, numbers.Integral):
        number = int(value)
        return str(number) if number.bit_length() <= 64 else f"(a {number.bit_length()}-bit number)"
    if isinstance(value, str | bytes | bytearray):
        shown = repr(value[:40]) + ("…" if len(value) > 40 else "")
        return _valid_unicode(shown)
    return f"(a {_valid_unicode(type(value).__name__)})"
