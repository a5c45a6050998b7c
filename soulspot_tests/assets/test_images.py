"""Images end to end: httpx against a local Cover Art Archive and image host, Pillow
validating real generated pictures, materialized by Dagster into a tmp_path DuckDB built
from real tagged audio files and a Deezer sync."""

import asyncio
import base64
import io
import os
import re
import uuid
from pathlib import Path

import dagster as dg
import httpx
import pytest
from dagster._core.storage.local_compute_log_manager import LocalComputeLogManager
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import EmptyWorkspaceTarget
from dagster_webserver.app import create_app_from_workspace_process_context
from PIL import Image

from soulspot_pipeline.assets.cloud import cloud_assets
from soulspot_pipeline.assets.discover import local_scan
from soulspot_pipeline.assets.imagery import cover_wall, images
from soulspot_pipeline.assets.library import library_entities
from soulspot_pipeline.devkit.standins import deezer as dz
from soulspot_pipeline.devkit.standins.coverart import CoverArtStandin, make_image, truncated
from soulspot_pipeline.devkit.standins.deezer import DeezerLibrary, DeezerStandin
from soulspot_pipeline.devkit.synth import write_audio_file
from soulspot_pipeline.resources.deezer import DeezerResource
from soulspot_pipeline.resources.images import CoverArtResource
from soulspot_pipeline.resources.music_folder import MusicFolder
from soulspot_pipeline.resources.policies import ImagePolicy, LibraryPolicy
from soulspot_tests.results import materialize as shared_materialize
from soulspot_tests.results import metadata, rows

pytestmark = pytest.mark.integration  # assets and jobs run through Dagster against stand-ins

ASSETS = [local_scan, library_entities, images, cover_wall]


def mbid(n: int) -> str:
    return str(uuid.UUID(int=n + 1, version=4))


@pytest.fixture
def coverart():
    with CoverArtStandin() as server:
        yield server


def resources(library_db, music_dir, tmp_path, coverart, *, retry_hours=24.0, write_cover_jpg=False, deezer=None):
    return {
        "library_db": library_db,
        "music_folder": MusicFolder(music_dir=str(music_dir), scan_workers=1),
        "library_policy": LibraryPolicy(),
        "cover_art": CoverArtResource(base_url=coverart.url, max_in_flight=5, retry_base_delay_s=0.01),
        "image_policy": ImagePolicy(
            images_dir=str(tmp_path / "data" / "images"), retry_hours=retry_hours, write_cover_jpg=write_cover_jpg
        ),
        "deezer": DeezerResource(
            user_id="5" if deezer else None,
            api_url=deezer.api_url if deezer else "http://127.0.0.1:9/",
            retry_base_delay_s=0.01,
        ),
    }


def materialize(res, assets=ASSETS):
    return shared_materialize(assets, resources=res)


def write_album(music_dir, n, **tags):
    folder = music_dir / f"Artist {n:03d}" / f"Album {n:03d}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "01 Song.flac"
    write_audio_file(
        path, "flac", {"artist": f"Artist {n:03d}", "album": f"Album {n:03d}", "title": "Song", **tags}, seconds=0.1
    )
    return folder


def album_id_of(library_db, title):
    return rows(library_db, "SELECT album_id FROM library.albums WHERE title = ?", [title])[0][0]


@pytest.mark.scale
def test_200_covers_download_with_at_most_5_requests_in_flight_and_a_corrupt_one_fails_with_its_reason_and_no_file(
    library_db, music_dir, tmp_path, coverart
):
    for n in range(200):
        write_album(music_dir, n, release_group_mbid=mbid(n))
        picture = make_image(400, 400, seed=n)
        coverart.add_cover("release-group", mbid(n), truncated(picture) if n == 7 else picture)
    coverart.delay_s = 0.01  # requests overlap, so the bound is what holds them
    result = materialize(resources(library_db, music_dir, tmp_path, coverart))

    assert coverart.in_flight_max == 5
    assert rows(library_db, "SELECT entity_type, status, count(*) FROM library.images GROUP BY ALL ORDER BY ALL") == [
        ("album", "failed", 1),
        ("album", "stored", 199),
        ("artist", "none", 200),
    ]
    broken = album_id_of(library_db, "Album 007")
    ((status, error, path),) = rows(
        library_db, "SELECT status, error, path FROM library.images WHERE entity_id = ?", [broken]
    )
    assert status == "failed" and error == "coverartarchive: truncated image" and path is None
    folder = tmp_path / "data" / "images" / "albums"
    assert not list(folder.glob(f"{broken}*")) and not list(folder.glob(".*.tmp"))
    assert len(list(folder.glob("*.jpg"))) == 2 * 199
    good = album_id_of(library_db, "Album 008")
    ((path, thumb, checksum, size, width, source),) = rows(
        library_db,
        "SELECT path, thumbnail_path, checksum, size_bytes, width, source FROM library.images WHERE entity_id = ?",
        [good],
    )
    assert path == str(folder / f"{good}.jpg") and thumb == str(folder / f"{good}-250.jpg")
    assert (
        (width, source) == (400, "coverartarchive")
        and size == (folder / f"{good}.jpg").stat().st_size
        and len(checksum) == 64
    )
    assert Image.open(thumb).size == (250, 250)
    assert rows(library_db, "SELECT image_path FROM library.albums WHERE album_id = ?", [good]) == [(path,)]
    meta = metadata(result, "images")
    assert meta["this_run"] == {"stored": 199, "failed": 1, "none": 200} and meta["requests"] == 400


def test_failures_wait_24_hours_stored_images_are_kept_and_a_lost_file_is_fetched_again(
    library_db, music_dir, tmp_path, coverart
):
    write_album(music_dir, 1, release_group_mbid=mbid(1))
    write_album(music_dir, 2, release_group_mbid=mbid(2))
    coverart.add_cover("release-group", mbid(1), make_image(300, 300, seed=1))
    coverart.add_cover("release-group", mbid(2), b"<html>not a picture</html>")
    materialize(resources(library_db, music_dir, tmp_path, coverart))
    assert rows(library_db, "SELECT status, error FROM library.images WHERE entity_type = 'album' ORDER BY status") == [
        ("failed", 'coverartarchive: not an image (text: "<html>not a picture</html>")'),
        ("stored", None),
    ]
    before = len(coverart.requests)
    materialize(resources(library_db, music_dir, tmp_path, coverart), assets=[images])
    assert len(coverart.requests) == before  # the stored one is kept, the failed one waits a day

    stored = tmp_path / "data" / "images" / "albums" / f"{album_id_of(library_db, 'Album 001')}.jpg"
    stored.unlink()
    materialize(resources(library_db, music_dir, tmp_path, coverart, retry_hours=1e-9), assets=[images])
    assert stored.exists()
    assert rows(
        library_db, "SELECT status, attempts FROM library.images WHERE entity_type = 'album' ORDER BY status"
    ) == [
        ("failed", 2),
        ("stored", 2),
    ]


def test_covers_fall_back_to_deezer_and_artist_pictures_come_from_the_provider(
    library_db, music_dir, tmp_path, coverart
):
    air = dz.artist(1422, "Air", picture_url=coverart.add_file("/deezer/artist/air.jpg", make_image(500, 500, seed=3)))
    moon = dz.album(302127, "Moon Safari", air, nb_tracks=1)
    moon.update(cover_xl=coverart.add_file("/deezer/cover/moon.jpg", make_image(1000, 1000, seed=4)))
    talkie = dz.album(302128, "Talkie Walkie", air, nb_tracks=1)
    talkie.update(cover_xl=coverart.add_file("/deezer/cover/talkie.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40))
    library = DeezerLibrary(
        user_id="5",
        albums=[{**moon, "time_add": 1767225600}, {**talkie, "time_add": 1767225600}],
        artists=[{**air, "time_add": 1767225600}],
        album_tracks={
            302127: [dz.track(1, "Sexy Boy", air, moon, duration_s=298)],
            302128: [dz.track(2, "Venus", air, talkie, duration_s=234)],
        },
    )
    deezer_favorites = next(a for a in cloud_assets if a.key == dg.AssetKey("deezer_favorites"))
    with DeezerStandin(library) as deezer:
        materialize(
            resources(library_db, music_dir, tmp_path, coverart, deezer=deezer), assets=[deezer_favorites, *ASSETS]
        )
    assert rows(
        library_db,
        """
        SELECT i.entity_type, coalesce(al.title, ar.name), i.status, i.source, i.width, i.error
        FROM library.images i LEFT JOIN library.albums al ON al.album_id = i.entity_id
        LEFT JOIN library.artists ar ON ar.artist_id = i.entity_id ORDER BY ALL
        """,
    ) == [
        ("album", "Moon Safari", "stored", "deezer", 1000, None),
        ("album", "Talkie Walkie", "failed", "deezer", None, "deezer: truncated image"),
        ("artist", "Air", "stored", "deezer", 500, None),
    ]


def _tile(wall: Image.Image, index: int, columns: int, tile_px: int) -> tuple[int, ...]:
    row, column = divmod(index, columns)
    pixel = wall.getpixel((column * tile_px + tile_px // 2, row * tile_px + tile_px // 2))
    assert isinstance(pixel, tuple)
    return pixel


def _near(seen: tuple[int, ...], expected: tuple[int, ...]) -> bool:
    return all(abs(a - b) < 25 for a, b in zip(seen, expected, strict=True))


def _get(instance: dg.DagsterInstance, url: str) -> httpx.Response:
    """``url`` as the Dagster webserver of ``instance`` answers it (its ASGI app, in process)."""

    async def get(app) -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dagster") as client:
            return await client.get(url)

    with WorkspaceProcessContext(instance, EmptyWorkspaceTarget()) as workspace:
        return asyncio.run(get(create_app_from_workspace_process_context(workspace)))


COLOURS = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (220, 220, 40), (160, 40, 200)]


def test_the_cover_wall_is_served_by_the_webserver_and_shown_inline_at_full_size(
    library_db, music_dir, tmp_path, coverart
):
    for n, colour in enumerate(COLOURS[:4]):
        write_album(music_dir, n, release_group_mbid=mbid(n))
        coverart.add_cover("release-group", mbid(n), make_image(300, 300, color=colour))
    with dg.instance_for_test() as instance:
        manager = instance.compute_log_manager
        assert isinstance(manager, LocalComputeLogManager)
        folder = Path(manager.get_captured_local_path(["soulspot", "x"], "png")).parent
        folder.mkdir(parents=True)
        for n in range(6):  # walls of earlier runs: only the newest few are kept
            old = folder / f"cover_wall-old{n}.png"
            old.write_bytes(b"old")
            os.utime(old, ns=(n * 10**9, n * 10**9))
        result = shared_materialize(
            ASSETS, resources=resources(library_db, music_dir, tmp_path, coverart), instance=instance
        )
        meta = metadata(result, "cover_wall")
        assert next(iter(meta)) == "cover_wall"  # the first entry: what the asset page shows first
        markdown = meta["cover_wall"]
        match = re.fullmatch(r"!\[cover wall\]\((/logs/soulspot/(cover_wall-[0-9a-f]{16})/png)\)", markdown)
        assert match and len(markdown) < 1000, markdown  # the UI shows markdown under 1000 characters inline
        wall_file = folder / f"{match[2]}.png"
        assert wall_file.read_bytes() == (tmp_path / "data" / "images" / "cover_wall.png").read_bytes()
        assert {p.name for p in folder.iterdir()} == {wall_file.name, *(f"cover_wall-old{n}.png" for n in (2, 3, 4, 5))}

        response = _get(instance, match[1])
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    wall = Image.open(io.BytesIO(response.content))
    assert wall.format == "PNG" and wall.size == (2 * 120, 2 * 120)  # tiles at full size: 120 px
    for index, colour in enumerate(COLOURS[:4]):
        assert _near(_tile(wall, index, 2, 120), colour), (index, colour)


def test_without_a_local_compute_log_folder_the_metadata_holds_a_preview_newest_album_first(
    library_db, music_dir, tmp_path, coverart
):
    for n, colour in enumerate(COLOURS):
        coverart.add_cover("release-group", mbid(n), make_image(300, 300, color=colour))
    for n in range(4):
        write_album(music_dir, n, release_group_mbid=mbid(n))
    materialize(resources(library_db, music_dir, tmp_path, coverart))  # an ephemeral instance: no log folder
    write_album(music_dir, 4, release_group_mbid=mbid(4))  # added later: the newest album
    result = materialize(resources(library_db, music_dir, tmp_path, coverart))
    meta = metadata(result, "cover_wall")
    assert meta["covers"] == 5
    markdown = meta["cover_wall"]
    assert markdown.startswith("![cover wall](data:image/png;base64,")
    wall = Image.open(io.BytesIO(base64.b64decode(markdown.split(",", 1)[1].rstrip(")"))))
    assert wall.format == "PNG" and wall.size == (3 * 48, 2 * 48)  # 3 x 2 tiles of 48 px
    for index, colour in enumerate([COLOURS[4], *COLOURS[:4]]):  # the newest first, then by artist
        assert _near(_tile(wall, index, 3, 48), colour), (index, colour)
    on_disk = Image.open(tmp_path / "data" / "images" / "cover_wall.png")
    assert on_disk.format == "PNG" and on_disk.size == (360, 240) and meta["path"] == on_disk.filename


def test_cover_jpg_is_written_into_the_album_folder_only_when_asked_and_never_over_one_there(
    library_db, music_dir, tmp_path, coverart
):
    first = write_album(music_dir, 1, release_group_mbid=mbid(1))
    second = write_album(music_dir, 2, release_group_mbid=mbid(2))
    (second / "cover.jpg").write_bytes(b"the user's own cover")
    for n in (1, 2):
        coverart.add_cover("release-group", mbid(n), make_image(300, 300, seed=n))
    result = materialize(resources(library_db, music_dir, tmp_path, coverart, write_cover_jpg=True))
    assert metadata(result, "images")["cover_jpg_written"] == 1
    assert Image.open(first / "cover.jpg").size == (300, 300)
    assert (second / "cover.jpg").read_bytes() == b"the user's own cover"
