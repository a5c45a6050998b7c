import unicodedata
from pathlib import Path, PurePosixPath

import pytest

from soulspot_pipeline.domain.naming import (
    DEFAULT_TEMPLATE,
    UnsafePathError,
    remote_basename,
    render_path,
    safe_component,
    safe_destination,
)

RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"{p}{n}" for p in ("COM", "LPT") for n in "0123456789¹²³")}

HOSTILE = [
    r"..\..\etc\passwd",
    "../../etc/passwd",
    "/etc/passwd",
    r"C:\Windows\system32\evil.dll",
    r"\\server\share\x.mp3",
    "C:",
    "C:evil",
    "CON.mp3",
    "con",
    "aux",
    "nul.flac",
    "NUL.tar.gz",
    "Con .txt",
    "com1",
    "LPT9.txt",
    "COM¹",
    "a\x00b",
    "\x00",
    "line\nbreak",
    "carriage\rreturn",
    "tab\there",
    "\x1b[31mred\x1b[0m",
    "\x7f\x85",
    "evil\u202egnp.exe",
    "\u202e",
    "zero\u200bwidth\ufeff",
    "\u2028\u2029",
    "\udc80lone surrogate",
    "....",
    " . ",
    "..",
    ".",
    "",
    " ",
    "/",
    "//",
    "\\",
    "../",
    "./.",
    "/..",
    "..\\..",
    ". . /. .",
    ".hidden",
    "trailing. ",
    "trailing...",
    '<>:"|?*',
    "%2e%2e%2f",
    "%2e%2e%5c",
    "\uff0e\uff0e\uff0f",
    "\uff0f",
    "\u2215\u2044",
    "e\u0301",
    "a" * 300,
    "é" * 300,
    "日本語" * 120,
    "🎵" * 100,
    "x" * 250 + ".flac",
    "~",
    "$HOME",
    "-rf",
    "{title}",
    "{0.__class__}",
]
FIELDS = ("albumartist", "artist", "album", "title", "year", "track", "disc", "disc_total")
TEMPLATES = (DEFAULT_TEMPLATE, "{artist}/{title}.{ext}", "{albumartist} - {album}/{track} {artist} - {title}.{ext}")
BASE = {
    "albumartist": "Daft Punk",
    "artist": "Daft Punk",
    "album": "Discovery",
    "title": "One More Time",
    "year": 2001,
    "track": 1,
}


def assert_safe_component(component: str) -> None:
    assert component, "empty component"
    assert component not in (".", "..")
    assert "/" not in component and "\\" not in component
    assert not any(unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in component), repr(component)
    assert not any(c in '<>:"|?*' for c in component), repr(component)
    assert component.split(".", 1)[0].rstrip(" ").upper() not in RESERVED, repr(component)
    assert not component.startswith(".") and not component.startswith(" ")
    assert not component.endswith(".") and not component.endswith(" ")
    assert len(component.encode("utf-8")) <= 255
    assert unicodedata.normalize("NFC", component) == component


def test_default_template():
    fields = {**BASE, "track": 3, "disc": 1, "disc_total": 1}
    assert render_path(DEFAULT_TEMPLATE, fields, "flac") == PurePosixPath(
        "Daft Punk/Discovery (2001)/03 - One More Time.flac"
    )


def test_disc_prefix_only_on_albums_of_several_discs():
    fields = {**BASE, "album": "The Wall", "track": 5, "disc": 2, "disc_total": 2}
    assert render_path(DEFAULT_TEMPLATE, fields, "mp3").name == "2-05 - One More Time.mp3"
    assert (
        render_path(DEFAULT_TEMPLATE, {**fields, "disc": "2/2", "disc_total": None}, "mp3").name
        == "2-05 - One More Time.mp3"
    )
    assert render_path(DEFAULT_TEMPLATE, {**fields, "disc_total": 1}, "mp3").name == "05 - One More Time.mp3"


def test_missing_fields_leave_no_empty_brackets_or_dashes():
    assert render_path(DEFAULT_TEMPLATE, {"artist": "Daft Punk", "title": "One More Time"}, "mp3") == PurePosixPath(
        "Daft Punk/Unknown Album/One More Time.mp3"
    )
    assert render_path(
        DEFAULT_TEMPLATE,
        {"albumartist": "Various Artists", "artist": "Moby", "album": "Hits", "title": "Porcelain", "track": "7/14"},
        "mp3",
    ) == PurePosixPath("Various Artists/Hits/07 - Porcelain.mp3")
    assert render_path(DEFAULT_TEMPLATE, {"title": "Untitled", "date": "1999-03-01"}, "ogg") == PurePosixPath(
        "Unknown Artist/Unknown Album (1999)/Untitled.ogg"
    )
    assert render_path(
        "{artist}/{album} [{year}]/{title}.{ext}", {"artist": "A", "album": "B", "title": "C"}, ""
    ) == PurePosixPath("A/B/C")


def test_values_never_add_path_components():
    path = render_path(DEFAULT_TEMPLATE, {**BASE, "albumartist": "AC/DC", "album": "../..", "title": "a/b\\c"}, "mp3")
    assert path.parts == ("AC_DC", "_.. (2001)", "01 - a_b_c.mp3")


def test_unsupported_template_fields_are_refused():
    for template in ("{artist.__class__}/{title}", "{artist[0]}", "{title!r}", "{title:{width}}"):
        with pytest.raises(ValueError):
            render_path(template, BASE, "mp3")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CON", "_CON"),
        ("con.txt", "_con.txt"),
        ("Nul.tar.gz", "_Nul.tar.gz"),
        ("COM1", "_COM1"),
        ("lpt9 .mp3", "_lpt9 .mp3"),
        ("CONSOLE", "CONSOLE"),
        ("C:", "C_"),
        ("..", "_"),
        ("....", "_"),
        (" . ", "_"),
        (".hidden", "hidden"),
        ("...And Justice for All", "And Justice for All"),
        ("Trailing. . ", "Trailing"),
        ("a/b\\c", "a_b_c"),
        ('What?<>:"|*', "What_______"),
        ("evil\u202egnp.exe", "evilgnp.exe"),
        ("\x1b[31mred", "[31mred"),
        ("line\nbreak\r", "line break"),
        ("e\u0301", "é"),
        ("\uff0f", "\uff0f"),
        ("", "_"),
    ],
)
def test_safe_component(text, expected):
    assert safe_component(text) == expected


def test_long_names_are_cut_on_a_character_boundary_and_keep_their_extension():
    for text in ("é" * 300 + ".flac", "日本語" * 120 + ".flac", "🎵" * 100 + ".flac", "a" * 300 + ".flac"):
        name = safe_component(text)
        assert name.endswith(".flac") and len(name.encode("utf-8")) <= 200
        assert text.startswith(name[: -len(".flac")])
    assert len(safe_component("é" * 300, max_bytes=255).encode("utf-8")) == 254
    assert safe_component("." * 300 + "x" * 300 + ".mp3", max_bytes=20) == "x" * 16 + ".mp3"
    assert safe_component("CONCERT", max_bytes=3) == "_CO"
    assert safe_component("é", max_bytes=1) == "_"


def test_safe_destination_stays_inside_the_music_folder(tmp_path: Path):
    music = tmp_path / "music"
    music.mkdir()
    assert safe_destination(music, PurePosixPath("A/B/c.flac")) == music / "A" / "B" / "c.flac"
    for relative in (
        "../x.flac",
        "A/../../x.flac",
        "/etc/passwd",
        ".",
        "",
        "A/./..",
        "a\\..\\..\\x",
        "C:evil",
        "a\x00b",
    ):
        with pytest.raises(UnsafePathError):
            safe_destination(music, PurePosixPath(relative))


def test_safe_destination_refuses_a_symlink_out_of_the_music_folder(tmp_path: Path):
    music = tmp_path / "music"
    (music / "Artist").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (music / "Artist" / "Album").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePathError):
        safe_destination(music, PurePosixPath("Artist/Album/01 - x.flac"))


def test_remote_basename():
    assert remote_basename(r"@@fvxlo\music\Daft Punk\Discovery\01 One More Time.mp3") == "01 One More Time.mp3"
    assert remote_basename("@@a/b/c.flac") == "c.flac"
    assert remote_basename("..\\..\\etc\\passwd") == "passwd"
    assert remote_basename("C:\\Windows\\CON.mp3") == "_CON.mp3"
    assert remote_basename("share\\..") == "_"
    assert remote_basename("\\\\") == "_"
    assert remote_basename("") == "_"


def test_hostile_values_in_every_field_stay_inside_the_music_folder(tmp_path: Path):
    music = tmp_path / "music"
    music.mkdir()
    checked = 0
    for hostile in HOSTILE:
        every_field: dict[str, object] = {field: hostile for field in FIELDS}
        for fields in (every_field, *({**BASE, field: hostile} for field in FIELDS)):
            for template in TEMPLATES:
                relative = render_path(template, fields, hostile)
                destination = safe_destination(music, relative)
                assert (
                    destination.resolve().is_relative_to(music.resolve()) and destination.resolve() != music.resolve()
                )
                for component in relative.parts:
                    assert_safe_component(component)
                checked += 1
        assert_safe_component(safe_component(hostile))
        assert_safe_component(remote_basename(hostile))
        assert_safe_component(remote_basename(f"@@alias\\music\\{hostile}"))
    assert checked == len(HOSTILE) * (len(FIELDS) + 1) * len(TEMPLATES)


def test_every_component_is_a_safe_name_whatever_the_byte_budget():
    for hostile in HOSTILE:
        for max_bytes in (1, 2, 3, 4, 5, 16, 100):
            name = safe_component(hostile, max_bytes=max_bytes)
            assert len(name.encode("utf-8")) <= max_bytes, (hostile, max_bytes, name)
            assert_safe_component(name)
