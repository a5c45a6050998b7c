"""Image preparation, the cover wall and Cover Art Archive listings, on real encoded pictures."""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zlib

import pytest
from PIL import Image, ImageFile

from soulspot_pipeline.devkit.standins.coverart import make_image, truncated
from soulspot_pipeline.domain.images import (
    WALL_MAX_COLUMNS,
    WALL_MAX_TILES,
    WALL_TILE_PX,
    ImageRejected,
    best_caa_image_url,
    prepare_image,
    render_cover_wall,
    wall_grid,
)

RED, GREEN, BLUE = (220, 20, 20), (20, 200, 20), (20, 20, 220)


def _encode(image: Image.Image, format: str = "PNG", **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format, **params)
    return buffer.getvalue()


def _decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _close(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 12) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def _png_without_pixels(width: int, height: int) -> bytes:
    """A well-formed PNG that announces a size and holds no pixel data: the shape of a decompression bomb."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"") + chunk(b"IEND", b"")


# -- prepare_image ------------------------------------------------------------------------


def test_a_large_jpeg_is_scaled_to_1200_px_with_a_250_px_thumbnail():
    prepared = prepare_image(make_image(3000, 2000, seed=1))
    assert (prepared.width, prepared.height) == (1200, 800)
    assert (prepared.source_width, prepared.source_height, prepared.source_format) == (3000, 2000, "JPEG")
    full, thumb = _decoded(prepared.full), _decoded(prepared.thumbnail)
    assert (full.format, full.mode, full.size) == ("JPEG", "RGB", (1200, 800))
    assert (thumb.format, thumb.size) == ("JPEG", (250, 167))
    assert prepared.checksum == hashlib.sha256(prepared.full).hexdigest()


def test_a_very_large_jpeg_keeps_its_proportions_and_colours():
    prepared = prepare_image(make_image(5000, 3000, color=BLUE))
    assert (prepared.width, prepared.height) == (1200, 720)
    assert _close(_decoded(prepared.full).getpixel((600, 360)), BLUE)


def test_a_small_but_acceptable_image_is_not_upscaled():
    prepared = prepare_image(make_image(150, 120, seed=2, format="PNG"))
    assert (prepared.width, prepared.height) == (150, 120)
    assert _decoded(prepared.thumbnail).size == (150, 120)
    assert prepared.source_format == "PNG"


def test_transparency_is_flattened_on_white():
    image = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    image.paste((*RED, 255), (100, 0, 200, 200))
    prepared = prepare_image(_encode(image))
    full = _decoded(prepared.full)
    assert full.mode == "RGB"
    assert _close(full.getpixel((20, 100)), (255, 255, 255))
    assert _close(full.getpixel((180, 100)), RED)


def test_a_palette_image_with_a_transparent_index_is_flattened():
    image = Image.new("P", (120, 120), 0)
    image.putpalette([0, 0, 0, *GREEN] + [0] * 762)
    image.paste(1, (60, 0, 120, 120))
    prepared = prepare_image(_encode(image, transparency=0))
    full = _decoded(prepared.full)
    assert _close(full.getpixel((10, 60)), (255, 255, 255))
    assert _close(full.getpixel((110, 60)), GREEN)


def test_webp_is_read():
    prepared = prepare_image(make_image(400, 300, color=GREEN, format="WEBP"))
    assert prepared.source_format == "WEBP"
    assert _close(_decoded(prepared.full).getpixel((200, 150)), GREEN)


def test_16_bit_grey_is_scaled_down_not_clipped():
    prepared = prepare_image(_encode(Image.new("I;16", (128, 128), 40_000)))
    assert _close(_decoded(prepared.full).getpixel((64, 64)), (156, 156, 156), tolerance=3)


def test_cmyk_becomes_rgb():
    prepared = prepare_image(_encode(Image.new("CMYK", (160, 160), (0, 255, 255, 0)), "JPEG"))
    full = _decoded(prepared.full)
    assert full.mode == "RGB"
    assert _close(full.getpixel((80, 80)), (255, 0, 0), tolerance=30)


def test_exif_orientation_is_applied_and_metadata_stripped():
    image = Image.new("RGB", (400, 200), RED)
    image.paste(BLUE, (0, 0, 200, 200))  # the left half, which "rotate 90° clockwise" puts on top
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Camera Maker"
    prepared = prepare_image(_encode(image, "JPEG", exif=exif.tobytes(), icc_profile=b""))
    full = _decoded(prepared.full)
    assert full.size == (200, 400)
    assert _close(full.getpixel((100, 50)), BLUE) and _close(full.getpixel((100, 350)), RED)
    assert "exif" not in full.info and not full.getexif()


def test_the_same_input_gives_the_same_bytes():
    data = make_image(900, 700, seed=5)
    first, again = prepare_image(data), prepare_image(data)
    assert first == again
    assert first.checksum != prepare_image(make_image(900, 700, seed=6)).checksum


def test_a_jpeg_with_bytes_after_its_end_is_accepted():
    assert prepare_image(make_image(300, 300, seed=7) + b"\x00" * 64 + b"\xff\xda trailing junk").width == 300


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty response"),
        (b"<html><body>No cover art</body></html>", 'not an image (text: "<html><body>No cover art</body></html>")'),
        (bytes(range(256)) * 4, "not an image (unknown format, 1,024 bytes)"),
        (truncated(make_image(800, 800, seed=1)), "truncated image"),
        (truncated(_encode(Image.new("RGB", (300, 300), RED), "JPEG", progressive=True)), "truncated image"),
        (truncated(make_image(300, 300, seed=1, format="PNG")), "truncated image"),
        (truncated(make_image(300, 300, seed=1, format="WEBP")), "truncated image"),
        (make_image(40, 40, seed=1), "too small: 40x40 px (minimum 100 px)"),
        (make_image(400, 60, seed=1), "too small: 400x60 px (minimum 100 px)"),
        (_png_without_pixels(9_000, 9_000), "too large: 9000x9000 px (possible decompression bomb)"),
        (_png_without_pixels(20_000, 20_000), "too large: possible decompression bomb"),
    ],
    ids=[
        "empty",
        "html",
        "binary",
        "truncated-jpeg",
        "truncated-progressive-jpeg",
        "truncated-png",
        "truncated-webp",
        "tiny",
        "thin",
        "huge",
        "bomb",
    ],
)
def test_unusable_bytes_are_rejected_with_a_reason(data: bytes, reason: str):
    with pytest.raises(ImageRejected) as rejected:
        prepare_image(data)
    assert rejected.value.reason == reason == str(rejected.value)


@pytest.mark.parametrize("format", ["JPEG", "PNG", "WEBP"])
def test_truncation_is_caught_even_when_pillow_is_told_to_tolerate_it(monkeypatch, format: str):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(ImageRejected, match=r"^truncated image$"):
        prepare_image(truncated(make_image(600, 600, seed=3, format=format)))


def test_damaged_pixel_data_is_rejected_as_corrupt():
    data = bytearray(make_image(300, 300, seed=4, format="PNG"))
    data[data.index(b"IDAT") + 40] ^= 0xFF
    with pytest.raises(ImageRejected, match=r"^corrupt image \("):
        prepare_image(bytes(data))


def test_the_minimum_size_is_a_parameter():
    assert prepare_image(make_image(40, 40, seed=1), min_px=32).width == 40


# -- render_cover_wall --------------------------------------------------------------------


def _tile_colour(wall: Image.Image, row: int, column: int, tile_px: int = 120) -> tuple[int, ...]:
    pixel = wall.getpixel((column * tile_px + tile_px // 2, row * tile_px + tile_px // 2))
    assert isinstance(pixel, tuple)  # the wall is RGB: a pixel is a tuple of bands
    return pixel


def test_the_wall_is_a_square_grid_of_the_inputs_in_order():
    colours = [(25 * i, 255 - 25 * i, (70 * i) % 256) for i in range(10)]
    wall = _decoded(render_cover_wall([make_image(250, 250, color=c) for c in colours]))
    assert (wall.format, wall.size) == ("PNG", (4 * 120, 3 * 120))
    for index, colour in enumerate(colours):
        assert _close(_tile_colour(wall, *divmod(index, 4)), colour), index
    assert _tile_colour(wall, 2, 3) != colours[-1]  # the unused last cells stay background


def test_tiles_are_center_crops():
    image = Image.new("RGB", (300, 100), RED)
    image.paste(GREEN, (100, 0, 200, 100))
    image.paste(BLUE, (200, 0, 300, 100))
    wall = _decoded(render_cover_wall([_encode(image)], tile_px=60))
    assert wall.size == (60, 60)
    assert _close(wall.getpixel((2, 30)), GREEN) and _close(wall.getpixel((57, 30)), GREEN)


def test_columns_and_max_tiles_shape_the_grid():
    thumbnails = [make_image(120, 120, seed=i) for i in range(30)]
    assert _decoded(render_cover_wall(thumbnails, max_tiles=9)).size == (360, 360)
    assert _decoded(render_cover_wall(thumbnails[:3], max_columns=1, tile_px=50)).size == (50, 150)
    assert _decoded(render_cover_wall(thumbnails[:5], max_columns=2, tile_px=50)).size == (100, 150)


def test_the_grid_is_about_square_until_the_column_cap_then_grows_in_rows():
    assert [wall_grid(n) for n in (0, 1, 2, 10, 16, 200)] == [(1, 1), (1, 1), (2, 1), (4, 3), (4, 4), (15, 14)]
    assert wall_grid(256) == (16, 16) and wall_grid(300) == (16, 19) and wall_grid(1000) == (16, 63)
    assert wall_grid(50, max_columns=4) == (4, 13)


def test_a_wall_of_200_covers_holds_every_one_and_stays_at_most_16_columns_wide():
    colours = [(40 + 20 * (i % 10), 30 + 10 * (i // 10), (37 * i) % 256) for i in range(200)]
    wall = _decoded(render_cover_wall([make_image(40, 40, color=c) for c in colours]))
    assert wall.size == (15 * WALL_TILE_PX, 14 * WALL_TILE_PX) == (1800, 1680)
    assert wall.width <= WALL_MAX_COLUMNS * WALL_TILE_PX <= 2000
    for index, colour in enumerate(colours):
        assert _close(_tile_colour(wall, *divmod(index, 15)), colour), index


def test_more_covers_than_the_cap_give_a_full_wall_of_the_first_ones():
    first, rest = make_image(16, 16, color=RED), make_image(16, 16, color=BLUE)
    wall = _decoded(render_cover_wall([first] * WALL_MAX_TILES + [rest] * 30, tile_px=4))
    assert wall.size == (WALL_MAX_COLUMNS * 4, WALL_MAX_TILES // WALL_MAX_COLUMNS * 4) == (64, 100)
    assert _close(_tile_colour(wall, 24, 15, tile_px=4), RED)  # the last cell: one of the first covers


def test_unreadable_thumbnails_are_skipped():
    good = [make_image(120, 120, color=RED), make_image(120, 120, color=BLUE)]
    wall = _decoded(render_cover_wall([good[0], b"not an image", truncated(make_image(120, 120, seed=1)), good[1]]))
    assert wall.size == (240, 120)
    assert _close(_tile_colour(wall, 0, 0), RED) and _close(_tile_colour(wall, 0, 1), BLUE)


def test_no_thumbnails_give_a_placeholder():
    for thumbnails in ([], [b"junk"]):
        placeholder = _decoded(render_cover_wall(thumbnails, tile_px=80))
        assert (placeholder.format, placeholder.size) == ("PNG", (80, 80))


# -- best_caa_image_url -------------------------------------------------------------------


def _new_shape_image(image_id: int, *, front: bool, types: list[str] | None = None) -> dict:
    base = f"http://coverartarchive.org/release/0a1b2c3d-0000-4000-8000-000000000001/{image_id}"
    return {
        "types": types if types is not None else (["Front"] if front else ["Back"]),
        "front": front,
        "back": not front,
        "edit": 1,
        "image": f"{base}.jpg",
        "comment": "",
        "approved": True,
        "thumbnails": {
            "250": f"{base}-250.jpg",
            "500": f"{base}-500.jpg",
            "1200": f"{base}-1200.jpg",
            "small": f"{base}-250.jpg",
            "large": f"{base}-500.jpg",
        },
        "id": image_id,
    }


def test_the_recorded_listing_gives_its_large_thumbnail(realdata):
    path = realdata / "caa" / "lastfm-coverartarchive-api" / "response_release-mbid.json"
    if not path.is_file():
        pytest.skip(f"the recorded Cover Art Archive listing is not present at {path}")
    listing = json.loads(path.read_text(encoding="utf-8"))
    release = "http://coverartarchive.org/release/76df3287-6cda-33eb-8e9a-044b5e15ffdd"
    assert best_caa_image_url(listing) == f"{release}/829521842-500.jpg"
    assert best_caa_image_url(listing, prefer=("small",)) == f"{release}/829521842-250.jpg"
    assert best_caa_image_url(listing, prefer=("1200",)) == f"{release}/829521842.jpg"


def test_the_front_image_and_its_1200_thumbnail_are_chosen():
    listing = {"images": [_new_shape_image(1, front=False), _new_shape_image(2, front=True)], "release": "x"}
    assert best_caa_image_url(listing).endswith("/2-1200.jpg")
    assert best_caa_image_url(listing, prefer=("500",)).endswith("/2-500.jpg")


def test_a_front_type_without_the_flag_counts_and_originals_are_the_last_resort():
    image = _new_shape_image(3, front=False, types=["Front", "Booklet"])
    assert best_caa_image_url({"images": [image]}).endswith("/3-1200.jpg")
    image["thumbnails"] = {}
    assert best_caa_image_url({"images": [image]}).endswith("/3.jpg")


@pytest.mark.parametrize(
    "listing",
    [
        {"images": [_new_shape_image(4, front=False)], "release": "x"},
        {"images": [], "release": "x"},
        {},
        {"images": "broken"},
    ],
    ids=["only-back", "no-images", "empty", "malformed"],
)
def test_no_front_image_gives_none(listing: dict):
    assert best_caa_image_url(listing) is None
