"""Where a downloaded file goes inside the music folder, with names safe on every filesystem.

Tags and remote file names are written by strangers: every path component is sanitized on its
own, and ``safe_destination`` checks the joined result against the real folder as a last line
of defence.

The naming template (``SOULSPOT_NAMING_TEMPLATE``) is a relative path of ``/``-separated parts
with ``{field}`` or ``{field:spec}`` placeholders (``spec``: Python's format spec, e.g.
``{track:02}``); ``{{`` and ``}}`` are literal braces. Its fields are ``FIELDS``. A part that
renders empty is left out, so ``{disc_folder}`` alone between two slashes is a folder
(``Disc 2``) on albums of several discs and nothing otherwise. ``validate_template`` says what
is wrong with a template before anything is named with it.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path, PurePosixPath

from soulspot_pipeline.domain.text import parse_number_pair

DEFAULT_TEMPLATE = "{albumartist}/{album} ({year})/{disc}{track:02} - {title}.{ext}"
MAX_COMPONENT_BYTES = 200

# Every field a template may use, and what it renders.
FIELDS: Mapping[str, str] = {
    "albumartist": "the album's artist (else the artist, else 'Unknown Artist')",
    "artist": "the track's artist (else the album artist, else 'Unknown Artist')",
    "album": "the album title (else 'Unknown Album')",
    "title": "the track title (else 'Unknown Title')",
    "year": "the release year (four digits; empty when unknown)",
    "track": "the track number (a number: {track:02} pads it to two digits)",
    "disc": "'2-' on albums of several discs, else empty",
    "disc_total": "how many discs the album has (a number; empty when unknown)",
    "disc_folder": "'Disc 2' on albums of several discs, else empty (alone as a part: a folder only then)",
    "albumtype": "the album's type (album, single, ep, compilation, ...; empty when unknown)",
    "genre": "the album's first genre (else the file's genre tag; empty when unknown)",
    "ext": "the file's extension, lower case",
}
_NUMERIC = frozenset({"track", "disc_total"})

_WINDOWS_FORBIDDEN = frozenset('/\\<>:"|?*')
_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{prefix}{n}" for prefix in ("COM", "LPT") for n in (*"0123456789", "¹", "²", "³")}
)
_SPACES = re.compile(r"\s+")
_EXTENSION = re.compile(r"^[A-Za-z0-9]{1,10}$")
_YEAR = re.compile(r"\d{4}")
_SPLIT_REMOTE = re.compile(r"[\\/]+")


class UnsafePathError(ValueError):
    """A destination that would not be strictly inside the music folder."""


class TemplateError(ValueError):
    """A naming template that cannot name files: the message says what is wrong and where."""


@lru_cache(maxsize=64)
def validate_template(template: str) -> None:
    """Raise TemplateError unless ``template`` is a usable naming template.

    Refused: unbalanced braces, unknown fields, conversions (``!r``), nested or invalid format
    specs, an absolute path (``/``, ``~``, ``C:``), backslashes, empty parts (``//``, a
    trailing ``/``), parts that are ``.`` or ``..``, and a file name (the last part) without
    ``{ext}``.
    """
    text = str(template)
    if not text.strip():
        raise TemplateError("the template is empty")
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise TemplateError(f"unbalanced braces ({exc}); write {{{{ or }}}} for a literal brace") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in FIELDS:
            shown = "{" + name + "}" if name else "{}"
            raise TemplateError(f"unknown field {shown}; the fields are {', '.join('{' + f + '}' for f in FIELDS)}")
        if conversion:
            raise TemplateError(f"{{{name}!{conversion}}}: conversions are not supported")
        if spec and ("{" in spec or "}" in spec):
            raise TemplateError(f"{{{name}:{spec}}}: a format spec cannot hold another field")
        if spec and not _spec_fits(spec, name):
            raise TemplateError(f"{{{name}:{spec}}}: {spec!r} is not a format spec for this field")
    if text.startswith(("/", "~")) or re.match(r"^[A-Za-z]:", text):
        raise TemplateError(f"{text!r} is an absolute path; the template is relative to the music folder")
    if "\\" in text:
        raise TemplateError("a backslash in the template; separate folders with /")
    parts = text.split("/")
    for part in parts:
        if not part.strip():
            raise TemplateError("an empty part (// or a trailing /); every part between slashes needs a name")
        if part.strip() in (".", ".."):
            raise TemplateError(f"a part that is {part.strip()!r}; the template cannot leave or repeat its folder")
    if not any(name == "ext" for _, name, _, _ in string.Formatter().parse(parts[-1])):
        raise TemplateError("the file name (the last part) has no {ext}; end it with .{ext}")


def _spec_fits(spec: str, name: str) -> bool:
    samples: tuple[object, ...] = (1, "x") if name in _NUMERIC else ("x",)
    for sample in samples:
        try:
            format(sample, spec)
        except (TypeError, ValueError):
            continue
        return True
    return False


def safe_component(text: str, *, max_bytes: int = MAX_COMPONENT_BYTES) -> str:
    """One path component that is harmless on Linux, macOS and Windows.

    Separators and characters Windows forbids become "_", control and invisible formatting
    characters (bidi overrides included) go, whitespace collapses, leading dots and trailing
    dots or spaces go, reserved device names get a "_" prefix, and the result fits ``max_bytes``
    of UTF-8 without splitting a character, keeping a file extension.
    """
    kept: list[str] = []
    for ch in unicodedata.normalize("NFC", str(text)):
        if ch in _WINDOWS_FORBIDDEN:
            kept.append("_")
        elif ch.isspace():
            kept.append(" ")
        elif unicodedata.category(ch) not in ("Cc", "Cf", "Cs"):
            kept.append(ch)
    name = unicodedata.normalize("NFC", _SPACES.sub(" ", "".join(kept)))
    name = _fit(name.lstrip(". ").rstrip(". "), max_bytes)
    if name.split(".", 1)[0].rstrip(" ").upper() in _RESERVED:
        # The prefix makes it a plain name; cutting it again cannot make it reserved.
        name = _fit("_" + name, max_bytes)
    return name


def _fit(name: str, max_bytes: int) -> str:
    """``name`` within ``max_bytes`` of UTF-8 (at least one character), keeping a short extension."""
    if len(name.encode("utf-8")) > max_bytes:
        stem, dot, ext = name.rpartition(".")
        suffix = dot + ext if stem and _EXTENSION.match(ext) and len(ext) + 2 <= max_bytes else ""
        budget = max_bytes - len(suffix)
        name = (stem if suffix else name).encode("utf-8")[:budget].decode("utf-8", "ignore").rstrip(". ")
        name = (name + suffix) if name else "_"
    return name or "_"


def render_path(template: str, fields: Mapping[str, object], ext: str) -> PurePosixPath:
    """A relative path for a track from a template such as ``DEFAULT_TEMPLATE``.

    ``{disc}`` is "2-" and ``{disc_folder}`` "Disc 2" only on albums of several discs
    (``disc_total`` > 1); a part that renders empty is left out; a missing year
    takes its brackets with it, a missing track number its " - "; a missing album is
    "Unknown Album", a missing album artist the artist or "Unknown Artist".
    """
    validate_template(template)
    values = _template_values(fields, ext)
    template = _drop_missing(template, values)
    components: list[str] = []
    for part in template.split("/"):
        rendered = _format(part, values)
        if not rendered.strip():  # e.g. {disc_folder} on an album of one disc
            continue
        components.append(safe_component(rendered))
    if not components:
        raise ValueError(f"template renders no path: {template!r}")
    return PurePosixPath(*components)


def safe_destination(music_dir: Path, relative: PurePosixPath) -> Path:
    """``music_dir`` joined with ``relative``, refused unless it resolves strictly inside it."""
    parts = relative.parts
    if not parts or relative.is_absolute():
        raise UnsafePathError(f"not a relative path: {str(relative)!r}")
    for part in parts:
        if part in (".", "..") or any(c in part for c in "\\:\x00"):
            raise UnsafePathError(f"unsafe path component: {part!r}")
    root = Path(music_dir).resolve()
    destination = Path(music_dir).joinpath(*parts)
    resolved = destination.resolve()
    if resolved == root or root not in resolved.parents:
        raise UnsafePathError(f"{str(relative)!r} leaves the music folder")
    return destination


def remote_basename(remote_filename: str) -> str:
    """The last component of a remote Soulseek path ("\\" or "/" separated), sanitized."""
    parts = [p for p in _SPLIT_REMOTE.split(remote_filename or "") if p.strip()]
    return safe_component(parts[-1] if parts else "")


def _template_values(fields: Mapping[str, object], ext: str) -> dict[str, object]:
    values: dict[str, object] = {k: _text(v) for k, v in fields.items()}
    values["artist"] = values.get("artist") or values.get("albumartist") or "Unknown Artist"
    values["albumartist"] = values.get("albumartist") or values["artist"]
    values["album"] = values.get("album") or "Unknown Album"
    values["title"] = values.get("title") or "Unknown Title"
    year = _YEAR.search(str(values.get("year") or values.get("date") or ""))
    values["year"] = year.group(0) if year else ""
    track, _ = parse_number_pair(str(fields.get("track") or ""))
    disc, disc_of = parse_number_pair(str(fields.get("disc") or ""))
    disc_total = parse_number_pair(str(fields.get("disc_total") or ""))[0] or disc_of or 0
    values["track"] = track if track is not None else ""
    values["disc"] = f"{disc}-" if disc and track and disc_total > 1 else ""
    values["disc_folder"] = f"Disc {disc}" if disc and disc_total > 1 else ""
    values["disc_total"] = disc_total or ""
    values["ext"] = re.sub(r"[^a-z0-9]", "", (ext or "").lower())[:10]
    return values


def _drop_missing(template: str, values: Mapping[str, object]) -> str:
    """The template without the brackets or " - " that belonged to an empty field."""
    for _, name, _, _ in string.Formatter().parse(template):
        if name is None or values.get(name) not in (None, ""):
            continue
        field = rf"\{{{re.escape(name)}(?:![rsa])?(?::[^{{}}]*)?\}}"
        template = re.sub(rf"\s*\({field}\)|\s*\[{field}\]", "", template)
        template = re.sub(rf"{field}\s+-\s+|\s+-\s+{field}", "", template)
        if name == "ext":
            template = re.sub(rf"\.{field}", "", template)
    return template


def _format(template: str, values: Mapping[str, object]) -> str:
    out: list[str] = []
    for literal, name, spec, conversion in string.Formatter().parse(template):
        out.append(literal)
        if name is None:
            continue
        if not name.isidentifier() or conversion or "{" in (spec or ""):
            raise ValueError(f"unsupported template field: {name!r}")
        value = values.get(name, "")
        try:
            out.append(format(value, spec or ""))
        except (TypeError, ValueError):
            out.append(str(value))
    return "".join(out)


def _text(value: object) -> object:
    """Numbers stay numbers (for format specs); anything else is stripped text."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return str(value).strip()
