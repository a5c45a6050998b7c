"""The Cover Art Archive stand-in answers the real listing shape, serves what it lists and redirects /front."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image

from soulspot_pipeline.devkit.standins.coverart import CoverArtStandin, make_image, truncated
from soulspot_pipeline.domain.images import best_caa_image_url

RELEASE = "76df3287-6cda-33eb-8e9a-044b5e15ffdd"
GROUP = "c7b4e2a0-1f3d-4a5e-9b6c-2d8f0e1a3b4c"
UNKNOWN = "00000000-0000-4000-8000-00000000dead"


@pytest.fixture
def standin() -> Iterator[CoverArtStandin]:
    with CoverArtStandin() as server:
        yield server


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as http:
        yield http


def test_a_release_listing_has_todays_shape_and_its_urls_serve_the_picture(standin, client):
    front, back = make_image(600, 600, seed=1), make_image(600, 600, seed=2)
    front_id = standin.add_cover("release", RELEASE, front)
    standin.add_cover("release", RELEASE, back, front=False, image_id=42)
    answer = client.get(f"{standin.url}/release/{RELEASE}")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json")
    listing = answer.json()
    assert listing["release"] == f"https://musicbrainz.org/release/{RELEASE}"
    first, second = listing["images"]
    assert (first["id"], first["front"], first["back"], first["types"]) == (front_id, True, False, ["Front"])
    assert (second["id"], second["front"], second["types"]) == (42, False, ["Back"])
    assert set(first["thumbnails"]) == {"250", "500", "1200", "small", "large"}
    assert first["image"] == f"{standin.url}/release/{RELEASE}/{front_id}.jpg"
    for url in [first["image"], *first["thumbnails"].values()]:
        served = client.get(url)
        assert served.status_code == 200 and served.content == front
        assert served.headers["content-type"] == "image/jpeg"
    assert client.get(second["image"]).content == back
    assert best_caa_image_url(listing) == f"{standin.url}/release/{RELEASE}/{front_id}-1200.jpg"


def test_a_release_group_lists_a_stable_made_up_release(standin, client):
    standin.add_cover("release-group", GROUP, make_image(300, 300, seed=3))
    release = CoverArtStandin.release_mbid(GROUP)
    assert release == CoverArtStandin.release_mbid(GROUP) != GROUP
    listing = client.get(f"{standin.url}/release-group/{GROUP}").json()
    assert listing["release"] == f"https://musicbrainz.org/release/{release}"
    assert listing["images"][0]["image"].startswith(f"{standin.url}/release/{release}/")


def test_front_redirects_to_the_picture(standin, client):
    picture = make_image(300, 300, seed=4)
    image_id = standin.add_cover("release-group", GROUP, picture)
    release = CoverArtStandin.release_mbid(GROUP)
    redirect = client.get(f"{standin.url}/release-group/{GROUP}/front-500")
    assert redirect.status_code == 307
    assert redirect.headers["location"] == f"{standin.url}/release/{release}/{image_id}-500.jpg"
    followed = client.get(f"{standin.url}/release-group/{GROUP}/front", follow_redirects=True)
    assert followed.content == picture and len(followed.history) == 1


def test_unknown_and_invalid_mbids_are_answered_like_the_real_server(standin, client):
    missing = client.get(f"{standin.url}/release-group/{UNKNOWN}")
    assert missing.status_code == 404 and missing.text == f"No cover art found for release group {UNKNOWN}"
    assert client.get(f"{standin.url}/release/{UNKNOWN}").status_code == 404
    assert client.get(f"{standin.url}/release/{UNKNOWN}/front").status_code == 404
    assert client.get(f"{standin.url}/release/not-an-mbid").status_code == 400
    standin.add_cover("release", RELEASE, make_image(200, 200, seed=5), front=False)
    assert client.get(f"{standin.url}/release/{RELEASE}/front").status_code == 404
    assert client.get(f"{standin.url}/release/{RELEASE}/999.jpg").status_code == 404
    with pytest.raises(ValueError):
        standin.add_cover("recording", RELEASE, b"")


def test_added_files_are_served_at_their_path(standin, client):
    picture = make_image(640, 640, seed=6)
    url = standin.add_file("/image/ab67616d0000b273", picture)
    page = standin.add_file("/broken.jpg", b"<html>Service Unavailable</html>", "text/html")
    served = client.get(url)
    assert served.content == picture and served.headers["content-type"] == "image/jpeg"
    assert client.get(page).headers["content-type"] == "text/html"
    assert client.get(f"{standin.url}/image/unknown").status_code == 404


def test_the_recorded_listing_shape_is_a_subset_of_the_served_one(realdata, standin, client):
    path = realdata / "caa" / "lastfm-coverartarchive-api" / "response_release-mbid.json"
    if not path.is_file():
        pytest.skip(f"the recorded Cover Art Archive listing is not present at {path}")
    recorded = json.loads(path.read_text(encoding="utf-8"))
    release = recorded["release"].rsplit("/", 1)[1]
    standin.add_cover("release", release, make_image(300, 300, seed=7), image_id=int(recorded["images"][0]["id"]))
    served = client.get(f"{standin.url}/release/{release}").json()
    assert set(recorded) == set(served)
    recorded_image, served_image = recorded["images"][0], served["images"][0]
    assert set(recorded_image) == set(served_image)
    assert set(recorded_image["thumbnails"]) <= set(served_image["thumbnails"])
    assert str(served_image["id"]) == recorded_image["id"]  # an int today, a string in the older shape
    for key in ("types", "front", "back", "comment", "approved"):
        assert served_image[key] == recorded_image[key]
    assert best_caa_image_url(served).endswith(f"/{recorded_image['id']}-1200.jpg")
    assert best_caa_image_url(recorded).endswith(f"/{recorded_image['id']}-500.jpg")


def test_generated_pictures_are_real_deterministic_and_distinct():
    for format in ("JPEG", "PNG", "WEBP"):
        image = Image.open(io.BytesIO(make_image(320, 200, seed=1, format=format)))
        assert (image.format, image.size) == (format, (320, 200))
    assert make_image(200, 200, seed=1) == make_image(200, 200, seed=1) != make_image(200, 200, seed=2)
    flat = Image.open(io.BytesIO(make_image(50, 50, color=(10, 20, 30), format="PNG")))
    assert flat.getpixel((25, 25)) == (10, 20, 30)
    data = make_image(200, 200, seed=1)
    assert truncated(data) == data[: len(data) // 2]
