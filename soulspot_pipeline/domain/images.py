"""Album covers and artist pictures as bytes: validation, normalized JPEGs, the cover wall, CAA listings.

Everything here is bytes in, bytes out (Pillow, no file or network I/O), so the imagery
phase can check a download before keeping it and tests can run without a server.
Downloads are untrusted input: only common raster formats are opened, sizes are bounded
before decoding, and a truncated file is rejected whatever Pillow's process-wide
``ImageFile.LOAD_TRUNCATED_IMAGES`` says (a structural check of the container runs first).
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from PIL import Image, ImageOps, UnidentifiedImageError

# Formats a cover or a provider picture comes in; others (EPS, PDF, ...) are never opened.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
# Below Pillow's own warning threshold (about 89.5 million), so Pillow never has to warn.
MAX_SOURCE_PIXELS = 80_000_000
JPEG_QUALITY = 88
WALL_BACKGROUND = (24, 24, 24)
# The cover wall: 120 px tiles, at most 16 columns (1,920 px wide) so it stays viewable at full
# size; rows grow with the library, up to 25 (3,000 px high) so the PNG stays a few megabytes.
WALL_TILE_PX = 120
WALL_MAX_COLUMNS = 16
WALL_MAX_TILES = WALL_MAX_COLUMNS * 25


class ImageRejected(ValueError):
    """Bytes that are not a usable picture; ``reason`` says why in a few words."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PreparedImage:
    """A picture normalized for the library: a JPEG at most ``max_px`` wide or high, and its thumbnail."""

    full: bytes = field(repr=False)
    thumbnail: bytes = field(repr=False)
    width: int
    height: int
    source_width: int
    source_height: int
    source_format: str
    checksum: str


def prepare_image(data: bytes, *, max_px: int = 1200, thumb_px: int = 250, min_px: int = 100) -> PreparedImage:
    """Validate downloaded bytes and re-encode them as a clean RGB JPEG plus a thumbnail.

    Raises ``ImageRejected`` for empty, unrecognized, truncated, corrupt, too small
    (shorter side under ``min_px``) or implausibly large images. The output is
    upright (EXIF orientation applied), free of metadata, never upscaled, and the same
    bytes for the same input.
    """
    image, (source_width, source_height) = _decode(data, min_px=min_px, draft_px=2 * max_px)
    source_format = image.format or "unknown"
    full = _to_rgb(ImageOps.exif_transpose(image))
    full.thumbnail((max_px, max_px), Image.Resampling.LANCZOS)
    thumb = full.copy()
    thumb.thumbnail((thumb_px, thumb_px), Image.Resampling.LANCZOS)
    full_bytes = _jpeg(full)
    return PreparedImage(
        full=full_bytes,
        thumbnail=_jpeg(thumb),
        width=full.width,
        height=full.height,
        source_width=source_width,
        source_height=source_height,
        source_format=source_format,
        checksum=hashlib.sha256(full_bytes).hexdigest(),
    )


def wall_grid(tiles: int, *, max_columns: int = WALL_MAX_COLUMNS) -> tuple[int, int]:
    """(columns, rows) of a wall of ``tiles``: about square while it fits ``max_columns``, then taller."""
    if tiles <= 0:
        return 1, 1
    columns = min(max(1, max_columns), math.ceil(math.sqrt(tiles)))
    return columns, math.ceil(tiles / columns)


def render_cover_wall(
    thumbnails: Sequence[bytes],
    *,
    tile_px: int = WALL_TILE_PX,
    max_columns: int = WALL_MAX_COLUMNS,
    max_tiles: int = WALL_MAX_TILES,
) -> bytes:
    """A PNG mosaic of the first ``max_tiles`` readable pictures, each center-cropped to a ``tile_px`` square.

    The grid follows ``wall_grid`` (never wider than ``max_columns``);
    unreadable inputs are skipped, and no readable input gives a one-tile placeholder.
    """
    tiles: list[Image.Image] = []
    for data in thumbnails:
        if len(tiles) >= max_tiles:
            break
        try:
            image, _ = _decode(data, min_px=1, draft_px=2 * tile_px)
        except ImageRejected:
            continue
        tiles.append(ImageOps.fit(_to_rgb(image), (tile_px, tile_px), Image.Resampling.LANCZOS))
    if not tiles:
        return _png(Image.new("RGB", (tile_px, tile_px), WALL_BACKGROUND))
    per_row, rows = wall_grid(len(tiles), max_columns=max_columns)
    wall = Image.new("RGB", (per_row * tile_px, rows * tile_px), WALL_BACKGROUND)
    for index, tile in enumerate(tiles):
        row, column = divmod(index, per_row)
        wall.paste(tile, (column * tile_px, row * tile_px))
    return _png(wall)


def best_caa_image_url(listing: dict, *, prefer: tuple[str, ...] = ("1200", "large", "500")) -> str | None:
    """The URL of the front cover in a Cover Art Archive listing, or None when it has none.

    The image marked ``front`` (or typed ``Front``) is chosen; of its URLs the first
    thumbnail size in ``prefer`` wins, and the original (which can be tens of megabytes)
    only when it has none of them. URLs are returned as listed: the caller follows redirects.
    """
    images = listing.get("images") if isinstance(listing, dict) else None
    if not isinstance(images, list):
        return None
    images = [i for i in images if isinstance(i, dict)]
    front = next((i for i in images if i.get("front") is True), None) or next(
        (i for i in images if "Front" in (i.get("types") or [])), None
    )
    if front is None:
        return None
    thumbnails = front.get("thumbnails") if isinstance(front.get("thumbnails"), dict) else {}
    for size in prefer:
        if thumbnails.get(size):
            return thumbnails[size]
    return front.get("image") or None


# -- decoding ---------------------------------------------------------------------------


def _open(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)


def _decode(data: bytes, *, min_px: int, draft_px: int) -> tuple[Image.Image, tuple[int, int]]:
    """The image fully decoded (so every byte was checked) and its stored size, or ``ImageRejected``.

    A JPEG whose longer side exceeds ``draft_px`` is decoded at a reduced DCT scale that
    keeps it at least that long: every byte is still read, for far less work.
    """
    if not data:
        raise ImageRejected("empty response")
    if not _container_complete(data):
        raise ImageRejected("truncated image")
    try:
        image = _open(data)
        width, height = image.size
        if width * height > MAX_SOURCE_PIXELS:
            raise ImageRejected(f"too large: {width}x{height} px (possible decompression bomb)")
        if min(width, height) < min_px:
            raise ImageRejected(f"too small: {width}x{height} px (minimum {min_px} px)")
        image.verify()
        image = _open(data)
        if image.format == "JPEG" and max(width, height) > draft_px:
            ratio = draft_px / max(width, height)
            image.draft(None, (max(1, math.ceil(width * ratio)), max(1, math.ceil(height * ratio))))
        image.load()
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected("too large: possible decompression bomb") from None
    except UnidentifiedImageError:
        raise ImageRejected(f"not an image ({_describe(data)})") from None
    except Exception as exc:
        if "truncated" in str(exc).lower():
            raise ImageRejected("truncated image") from None
        raise ImageRejected(f"corrupt image ({type(exc).__name__}: {exc})") from None
    return image, (width, height)


def _describe(data: bytes) -> str:
    """A hint of what came instead of an image: the start of a text, or the size."""
    head = data[:200]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None or not all(c.isprintable() or c.isspace() for c in text):
        return f"unknown format, {len(data):,} bytes"
    snippet = " ".join(text.split())
    cut = len(snippet) > 60 or len(data) > len(head)
    return f'text: "{snippet[:60]}{"…" if cut else ""}"'


def _container_complete(data: bytes) -> bool:
    """Whether a JPEG, PNG or WebP file reaches the end its own structure announces (other data: left to Pillow)."""
    if data.startswith(b"\xff\xd8"):
        return _jpeg_complete(data)
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _png_complete(data)
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return len(data) >= 8 + int.from_bytes(data[4:8], "little")
    return True


def _jpeg_complete(data: bytes) -> bool:
    """Whether the marker segments and scans run up to an end-of-image marker."""
    pos, end = 2, len(data)
    while pos + 1 < end:
        if data[pos] != 0xFF:
            # Stray bytes between segments: decoders skip to the next marker, so do we.
            pos = data.find(b"\xff", pos)
            if pos < 0:
                return False
            continue
        marker = data[pos + 1]
        if marker == 0xD9:
            return True
        if marker == 0xFF or marker == 0x01 or 0xD0 <= marker <= 0xD7:
            pos += 1 if marker == 0xFF else 2
            continue
        if pos + 4 > end:
            return False
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker == 0xDA:
            # Entropy-coded data ends at the first 0xFF not followed by a stuffed 0x00 or a restart marker.
            while True:
                pos = data.find(b"\xff", pos)
                if pos < 0 or pos + 1 >= end:
                    return False
                following = data[pos + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:
                    pos += 2
                    continue
                break
    return False


def _png_complete(data: bytes) -> bool:
    """Whether the chunks run, whole, up to the IEND chunk."""
    pos = 8
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        pos += 12 + length
        if kind == b"IEND":
            return pos <= len(data)
    return False


# -- conversion -------------------------------------------------------------------------


def _to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB: alpha flattened on white, 16-bit grey scaled down (a plain convert would clip it)."""
    if image.mode.startswith("I"):
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    if image.has_transparency_data:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image if image.mode == "RGB" else image.convert("RGB")


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return buffer.getvalue()


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()
