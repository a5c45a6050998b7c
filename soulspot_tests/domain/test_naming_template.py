"""The user's naming template: validated before use, rendered safely whatever the tags say."""

from pathlib import Path, PurePosixPath

import pytest

from soulspot_pipeline.domain.naming import (
    DEFAULT_TEMPLATE,
    FIELDS,
    TemplateError,
    render_path,
    safe_destination,
    validate_template,
)
from soulspot_pipeline.domain.organize import CLASH, IN_PLACE, MOVE, SKIPPED, LibraryFile, plan_organize, sidecar_name
from soulspot_tests.domain.test_naming import HOSTILE, assert_safe_component

CUSTOM = "{albumtype}/{genre}/{albumartist}/{year} - {album}/{disc_folder}/{track:02}. {title} [{disc_total}].{ext}"
WALL = {
    "albumartist": "Pink Floyd",
    "artist": "Pink Floyd",
    "album": "The Wall",
    "title": "Hey You",
    "year": "1979-11-30",
    "track": 1,
    "disc": 2,
    "disc_total": 2,
    "albumtype": "album",
    "genre": "Progressive Rock",
}


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{artist}/{titel}.{ext}", "unknown field {titel}"),
        ("{artist}/{}.{ext}", "unknown field {}"),
        ("{artist}/{0}.{ext}", "unknown field {0}"),
        ("{artist.__class__}/{title}.{ext}", "unknown field {artist.__class__}"),
        ("{artist[0]}/{title}.{ext}", "unknown field"),
        ("{artist/{title}.{ext}", "unbalanced braces"),
        ("{artist}}/{title}.{ext}", "unbalanced braces"),
        ("{artist}/{title.{ext}", "unbalanced braces"),
        ("{title!r}.{ext}", "conversions are not supported"),
        ("{track:{disc}}.{ext}", "cannot hold another field"),
        ("{track:xyz}.{ext}", "not a format spec"),
        ("/music/{artist}/{title}.{ext}", "absolute path"),
        ("~/{artist}/{title}.{ext}", "absolute path"),
        ("C:/{artist}/{title}.{ext}", "absolute path"),
        ("../{artist}/{title}.{ext}", "'..'"),
        ("{artist}/../../{title}.{ext}", "'..'"),
        ("{artist}/./{title}.{ext}", "'.'"),
        ("{artist}//{title}.{ext}", "empty part"),
        ("{artist}/{title}.{ext}/", "empty part"),
        ("{artist}\\{title}.{ext}", "backslash"),
        ("{artist}/{title}", "no {ext}"),
        ("{ext}/{title}", "no {ext}"),
        ("", "empty"),
        ("   ", "empty"),
    ],
)
def test_an_invalid_template_is_refused_with_the_problem(template, problem):
    with pytest.raises(TemplateError, match=__import__("re").escape(problem)):
        validate_template(template)
    with pytest.raises(ValueError):
        render_path(template, WALL, "flac")


def test_valid_templates_pass():
    for template in (
        DEFAULT_TEMPLATE,
        CUSTOM,
        "{artist}/{title}.{ext}",
        "{{literal}} {artist}/{title}.{ext}",
        "{albumartist} - {album}/{track} {artist} - {title}.{ext}",
        "{genre}/{albumartist}/{album}/{disc}{track:03d} {title}.{ext}",
        "{artist:>10}/{title}.{ext}",
    ):
        validate_template(template)
    assert {"albumtype", "genre", "disc_total", "disc_folder"} <= set(FIELDS)


def test_the_new_fields_and_the_disc_folder():
    assert render_path(CUSTOM, WALL, "flac") == PurePosixPath(
        "album/Progressive Rock/Pink Floyd/1979 - The Wall/Disc 2/01. Hey You [2].flac"
    )
    single = {**WALL, "disc": 1, "disc_total": 1}
    # One disc: no disc folder at all, not an empty or "_" one.
    assert render_path(CUSTOM, single, "flac") == PurePosixPath(
        "album/Progressive Rock/Pink Floyd/1979 - The Wall/01. Hey You [1].flac"
    )
    unknown = {k: v for k, v in WALL.items() if k not in ("albumtype", "genre", "disc_total", "disc")}
    # Unknown type and genre: their folders go; an unknown count takes its brackets with it.
    assert render_path(CUSTOM, unknown, "flac") == PurePosixPath("Pink Floyd/1979 - The Wall/01. Hey You.flac")
    assert render_path(CUSTOM, {**WALL, "disc": "2/3", "disc_total": None}, "mp3").parts[4] == "Disc 2"


def test_hostile_values_in_the_new_fields_stay_safe(tmp_path: Path):
    music = tmp_path / "music"
    music.mkdir()
    for hostile in HOSTILE:
        for field in ("albumtype", "genre", "disc_total", "disc", "title", "albumartist"):
            relative = render_path(CUSTOM, {**WALL, field: hostile}, "flac")
            destination = safe_destination(music, relative)
            assert destination.resolve().is_relative_to(music.resolve())
            for component in relative.parts:
                assert_safe_component(component)
                assert len(component.encode()) <= 255


def test_the_plan_leaves_files_in_place_and_reports_clashes():
    fields = {"albumartist": "A", "album": "B", "year": 2000, "title": "T", "track": 1}
    files = [
        LibraryFile(PurePosixPath("A/B (2000)/01 - T.flac"), fields),  # already there
        LibraryFile(PurePosixPath("mess/t.flac"), fields),  # wants the same name: clash
        LibraryFile(PurePosixPath("mess/u.mp3"), {**fields, "title": "U"}),
        LibraryFile(PurePosixPath("x/one.ogg"), {**fields, "title": "Twice"}),
        LibraryFile(PurePosixPath("y/two.ogg"), {**fields, "title": "twice"}),  # same name but for case
        LibraryFile(PurePosixPath("untitled.flac"), {}, titled=False),
    ]
    plan = plan_organize(files, DEFAULT_TEMPLATE)
    assert [(str(p.relative), p.outcome) for p in plan] == [
        ("A/B (2000)/01 - T.flac", IN_PLACE),
        ("mess/t.flac", CLASH),
        ("mess/u.mp3", MOVE),
        ("x/one.ogg", CLASH),
        ("y/two.ogg", CLASH),
        ("untitled.flac", SKIPPED),
    ]
    assert plan[1].why == "A/B (2000)/01 - T.flac is already there"
    assert plan[2].target == PurePosixPath("A/B (2000)/01 - U.mp3")
    assert "2 files want this name" in (plan[3].why or "")


def test_sidecar_names_follow_their_audio_file():
    assert sidecar_name("a b.flac", "a b.lrc", "01 - x.flac", (".lrc", ".txt")) == "01 - x.lrc"
    assert sidecar_name("a b.flac", "a b.LRC", "01 - x.flac", (".lrc", ".txt")) == "01 - x.lrc"
    assert sidecar_name("a b.flac", "a b.txt", "01 - x.flac", (".lrc", ".txt")) == "01 - x.txt"
    assert sidecar_name("a b.flac", "a bc.lrc", "01 - x.flac", (".lrc",)) is None
    assert sidecar_name("a b.flac", "A B.lrc", "01 - x.flac", (".lrc",)) is None
    assert sidecar_name("a b.flac", "cover.jpg", "01 - x.flac", (".lrc",)) is None
