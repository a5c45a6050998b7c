"""A local stand-in for the Cover Art Archive, and a plain image host for provider picture URLs.

It answers today's listing shape (``id`` an integer, thumbnails ``250``/``500``/``1200``
beside the older ``small``/``large``), serves the image files a listing names, redirects
``/front`` requests with a 307 as the real server does, and says "No cover art found"
with a 404 for what it does not know. ``add_file`` serves any other bytes at any path:
Spotify's and Deezer's CDN pictures, a truncated download, an HTML error page.
"""

from __future__ import annotations

import io
import json
import random
import re
import uuid
import zlib
from dataclasses import dataclass

from PIL import Image, ImageDraw

from soulspot_pipeline.devkit.standins.server import Response, StandinServer

MUSICBRAINZ = "https://musicbrainz.org"
KINDS = ("release", "release-group")
THUMBNAIL_SIZES = ("250", "500", "1200")
_MBID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_IMAGE_FILE = re.compile(r"^(\d+)(?:-(250|500|1200))?\.jpg$")
_FRONT = re.compile(r"^front(?:-(250|500|1200))?$")
# Release groups pick one of their releases; the stand-in makes one up, the same every run.
_RELEASE_OF_GROUP = uuid.UUID("6a0f8a1c-3c52-4c1e-9d1b-5f0c8a2b7e31")


@dataclass(frozen=True)
class _Art:
    image_id: int
    front: bool
    data: bytes


class CoverArtStandin(StandinServer):
    """``/release/{mbid}``, ``/release-group/{mbid}``, their image files and ``/front`` redirects, plus added files."""

    def __init__(self) -> None:
        super().__init__()
        self._art: dict[str, list[_Art]] = {}
        self._groups: dict[str, str] = {}
        self._files: dict[str, tuple[bytes, str]] = {}
        self._next_id = 1_000_000_001

    # -- content --------------------------------------------------------------------

    def add_cover(self, kind: str, mbid: str, image: bytes, *, front: bool = True, image_id: int | None = None) -> int:
        """Register a picture of a release or a release group; returns its image id."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        release = mbid if kind == "release" else self.release_mbid(mbid)
        with self._lock:
            if kind == "release-group":
                self._groups[mbid] = release
            if image_id is None:
                image_id = self._next_id
                self._next_id += 1
            self._art.setdefault(release, []).append(_Art(image_id, front, image))
        return image_id

    def add_file(self, path: str, data: bytes, content_type: str = "image/jpeg") -> str:
        """Serve ``data`` at ``path``; returns its full URL (the server must be started)."""
        path = path if path.startswith("/") else "/" + path
        with self._lock:
            self._files[path] = (data, content_type)
        return self.url + path

    @staticmethod
    def release_mbid(group_mbid: str) -> str:
        """The release whose listing stands for a release group."""
        return str(uuid.uuid5(_RELEASE_OF_GROUP, group_mbid))

    def image_url(self, release: str, image_id: int, size: str | None = None) -> str:
        return f"{self.url}/release/{release}/{image_id}{'-' + size if size else ''}.jpg"

    # -- answers ----------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> Response:
        with self._lock:
            file = self._files.get(path)
        if file is not None:
            return Response(200, file[0], {"Content-Type": file[1]})
        parts = [p for p in path.split("/") if p]
        if method not in ("GET", "HEAD") or not parts or parts[0] not in KINDS or len(parts) not in (2, 3):
            return Response(404, "Not Found")
        kind, mbid = parts[0], parts[1]
        if not _MBID.match(mbid):
            return Response(400, "invalid MBID specified")
        with self._lock:
            release = mbid if kind == "release" else self._groups.get(mbid)
            art = list(self._art.get(release or "", []))
        label = kind.replace("-", " ")
        if release is None or not art:
            return Response(404, f"No cover art found for {label} {mbid}")
        if len(parts) == 2:
            return Response(200, self._listing(release, art))
        front = _FRONT.match(parts[2])
        if front:
            chosen = next((a for a in art if a.front), None)
            if chosen is None:
                return Response(404, f"No front cover art found for {label} {mbid}")
            location = self.image_url(release, chosen.image_id, front.group(1))
            return Response(307, f"See: {location}", {"Location": location})
        image_file = _IMAGE_FILE.match(parts[2])
        if kind == "release" and image_file:
            image_id = int(image_file.group(1))
            for a in art:
                if a.image_id == image_id:
                    return Response(200, a.data, {"Content-Type": "image/jpeg"})
        return Response(404, "Not Found")

    def _listing(self, release: str, art: list[_Art]) -> dict:
        images = []
        for a in art:
            thumbnails = {size: self.image_url(release, a.image_id, size) for size in THUMBNAIL_SIZES}
            thumbnails.update(small=thumbnails["250"], large=thumbnails["500"])
            images.append(
                {
                    "types": ["Front"] if a.front else ["Back"],
                    "front": a.front,
                    "back": not a.front,
                    "edit": 40_000_000 + a.image_id % 10_000_000,
                    "image": self.image_url(release, a.image_id),
                    "comment": "",
                    "approved": True,
                    "thumbnails": thumbnails,
                    "id": a.image_id,
                }
            )
        return {"images": images, "release": f"{MUSICBRAINZ}/release/{release}"}


# -- pictures ---------------------------------------------------------------------------


def make_image(
    width: int, height: int, *, color: tuple[int, int, int] | None = None, seed: int = 0, format: str = "JPEG"
) -> bytes:
    """A real picture: one flat ``color``, or a gradient with a few shapes that differ per ``seed``."""
    if color is not None:
        image = Image.new("RGB", (width, height), color)
    else:
        rng = random.Random(seed)
        start, end = (tuple(rng.randrange(256) for _ in range(3)) for _ in range(2))
        mask = Image.linear_gradient("L").rotate(rng.choice((0, 90, 180, 270))).resize((width, height))
        image = Image.composite(Image.new("RGB", (width, height), end), Image.new("RGB", (width, height), start), mask)
        draw = ImageDraw.Draw(image)
        for _ in range(3):
            x, y = rng.randrange(width), rng.randrange(height)
            radius = max(1, min(width, height) // rng.randrange(4, 9))
            shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
            shape((x - radius, y - radius, x + radius, y + radius), fill=tuple(rng.randrange(256) for _ in range(3)))
    buffer = io.BytesIO()
    image.save(buffer, format)
    return buffer.getvalue()


def truncated(data: bytes) -> bytes:
    """The first half of ``data``: a download cut off in the middle."""
    return data[: len(data) // 2]


def picture_for(key: str, size: int = 300) -> bytes:
    """The same generated JPEG for the same key: what a stand-in's image host serves."""
    return make_image(size, size, seed=zlib.crc32(key.encode()))


def serve_locally(body: object, real_prefix: str, local_prefix: str) -> object:
    """``body`` with every URL under ``real_prefix`` moved to ``local_prefix``, so the
    pictures a stand-in lists are fetched from the stand-in, never from the internet."""
    if not isinstance(body, (dict, list)):
        return body
    return json.loads(json.dumps(body).replace(real_prefix, local_prefix))
