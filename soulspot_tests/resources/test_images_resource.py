"""CoverArtResource against the local Cover Art Archive: bounded concurrency, retries, per-item failures."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import dagster as dg
import httpx
import pytest

from soulspot_pipeline.devkit.standins.coverart import CoverArtStandin, make_image, truncated
from soulspot_pipeline.domain.images import ImageRejected, prepare_image
from soulspot_pipeline.resources.images import USER_AGENT, CoverArtResource, ImageFetchError
from soulspot_tests.results import materialize


def _mbid(n: int) -> str:
    return str(uuid.UUID(int=n, version=4))


@pytest.fixture
def standin() -> Iterator[CoverArtStandin]:
    with CoverArtStandin() as server:
        yield server


@pytest.fixture
def resource(standin: CoverArtStandin) -> Iterator[CoverArtResource]:
    art = CoverArtResource(base_url=standin.url, max_in_flight=5, timeout_s=5, retry_base_delay_s=0.01)
    yield art
    art.close()


def _path(url: str, standin: CoverArtStandin) -> str:
    return url.removeprefix(standin.url)


@pytest.mark.scale
def test_200_covers_are_listed_and_fetched_at_most_5_at_a_time(standin, resource):
    pictures = {}
    refs = []
    for n in range(200):
        kind = "release-group" if n % 2 else "release"
        pictures[f"album-{n}"] = make_image(120, 120, seed=n)
        standin.add_cover(kind, _mbid(n), pictures[f"album-{n}"])
        refs.append((f"album-{n}", kind, _mbid(n)))
    standin.delay_s = 0.02

    urls = resource.front_cover_urls(refs)
    assert standin.in_flight_max == 5
    assert all(isinstance(url, str) and url.endswith("-1200.jpg") for url in urls.values())

    standin.in_flight_max = 0
    fetched = resource.fetch(list(urls.items()))
    assert standin.in_flight_max == 5
    assert fetched == pictures
    assert resource.stats.requests == 400 and resource.stats.retries == 0
    assert {r.headers["user-agent"] for r in standin.requests} == {USER_AGENT}


def test_missing_art_and_listings_without_a_front_give_none(standin, resource):
    standin.add_cover("release", _mbid(1), make_image(200, 200, seed=1), front=False)
    standin.add_cover("release", _mbid(2), make_image(200, 200, seed=2))
    urls = resource.front_cover_urls(
        [("gone", "release-group", _mbid(9)), ("back-only", "release", _mbid(1)), ("found", "release", _mbid(2))]
    )
    assert urls["gone"] is None and urls["back-only"] is None
    assert isinstance(urls["found"], str)
    assert standin.count() == 3  # a 404 is an answer, not a failure to retry


def test_an_invalid_mbid_is_a_failure_for_its_key_alone(standin, resource):
    standin.add_cover("release", _mbid(1), make_image(200, 200, seed=1))
    urls = resource.front_cover_urls([("bad", "release", "not-an-mbid"), ("good", "release", _mbid(1))])
    assert isinstance(urls["bad"], ImageFetchError) and urls["bad"].status == 400
    assert "invalid MBID" in str(urls["bad"])
    assert isinstance(urls["good"], str)
    with pytest.raises(ValueError, match="kind"):
        resource.front_cover_urls([("x", "recording", _mbid(1))])


def test_a_redirected_listing_is_followed(standin, resource):
    # The real archive answers a release listing with a 307 to archive.org's copy of it.
    picture = make_image(200, 200, seed=3)
    image_id = standin.add_cover("release", _mbid(3), picture)
    listing = httpx.get(f"{standin.url}/release/{_mbid(3)}").content
    with CoverArtStandin() as archive:
        copy = archive.add_file(f"/download/mbid-{_mbid(3)}/index.json", listing, "application/json")
        standin.inject(f"/release/{_mbid(3)}", status=307, headers={"Location": copy})
        urls = resource.front_cover_urls([("album", "release", _mbid(3))])
        assert archive.count("/download/") == 1
    assert urls["album"] == f"{standin.url}/release/{_mbid(3)}/{image_id}-1200.jpg"
    assert resource.fetch([("album", urls["album"])]) == {"album": picture}


def test_a_front_redirect_is_followed(standin, resource):
    picture = make_image(300, 300, seed=4)
    standin.add_cover("release-group", _mbid(4), picture)
    assert resource.fetch([("album", f"{standin.url}/release-group/{_mbid(4)}/front-250")]) == {"album": picture}
    assert standin.count(f"/release-group/{_mbid(4)}/front") == 1 and standin.count("/release/") == 1


def test_a_server_error_once_is_retried(standin, resource):
    url = standin.add_file("/covers/a.jpg", make_image(200, 200, seed=5))
    standin.inject("/covers/a.jpg", status=500, body="Internal Server Error")
    assert isinstance(resource.fetch([("a", url)])["a"], bytes)
    assert standin.count("/covers/a.jpg") == 2
    assert resource.stats.retries == 1 and resource.stats.statuses == {"500": 1}


def test_a_429_waits_for_retry_after(standin, resource):
    url = standin.add_file("/covers/b.jpg", make_image(200, 200, seed=6))
    standin.inject("/covers/b.jpg", status=429, headers={"Retry-After": "0.05"})
    assert isinstance(resource.fetch([("b", url)])["b"], bytes)
    assert resource.stats.rate_limited == 1 and resource.stats.waited_s >= 0.05


def test_a_persistent_server_error_fails_only_its_key(standin, resource):
    items = [(f"k{n}", standin.add_file(f"/covers/{n}.jpg", make_image(150, 150, seed=n))) for n in range(6)]
    standin.inject("/covers/3.jpg", status=503, times=100, body="Service Unavailable")
    fetched = resource.fetch(items)
    failure = fetched.pop("k3")
    assert all(isinstance(body, bytes) for body in fetched.values()) and len(fetched) == 5
    assert isinstance(failure, ImageFetchError) and failure.status == 503
    assert str(failure) == f"{items[3][1]} failed after 3 attempt(s): 503 Service Unavailable"
    assert standin.count("/covers/3.jpg") == 3


def test_other_client_errors_are_not_retried(standin, resource):
    failure = resource.fetch([("x", f"{standin.url}/covers/none.jpg")])["x"]
    assert isinstance(failure, ImageFetchError) and failure.status == 404
    assert str(failure) == f"{standin.url}/covers/none.jpg: HTTP 404 Not Found"
    assert standin.count("/covers/none.jpg") == 1
    unsupported = resource.fetch([("y", "ftp://example.invalid/cover.jpg")])["y"]
    assert isinstance(unsupported, ImageFetchError) and unsupported.status is None


def test_no_answer_is_retried_then_reported(resource):
    with CoverArtStandin() as gone:
        url = gone.url + "/cover.jpg"
    failure = resource.fetch([("x", url)])["x"]
    assert isinstance(failure, ImageFetchError) and failure.status is None
    assert "failed after 3 attempt(s): no answer ConnectError" in str(failure)
    assert resource.stats.retries == 2


def test_a_slow_answer_times_out(standin):
    url = standin.add_file("/slow.jpg", make_image(120, 120, seed=1))
    standin.delay_s = 0.3
    impatient = CoverArtResource(base_url=standin.url, timeout_s=0.05, max_attempts=2, retry_base_delay_s=0.01)
    try:
        failure = impatient.fetch([("x", url)])["x"]
    finally:
        impatient.close()
    assert isinstance(failure, ImageFetchError) and "ReadTimeout" in str(failure)
    assert impatient.stats.statuses == {"timeout": 2}


def test_bodies_over_the_cap_are_refused(standin):
    url = standin.add_file("/huge.jpg", bytes(2 * 1024 * 1024))
    capped = CoverArtResource(base_url=standin.url, max_image_mb=1)
    try:
        failure = capped.fetch([("x", url)])["x"]
    finally:
        capped.close()
    assert isinstance(failure, ImageFetchError) and str(failure) == f"{url}: image larger than 1 MB"


def test_bad_bytes_come_back_as_bytes_that_prepare_image_rejects(standin, resource):
    items = [
        ("cut", standin.add_file("/cdn/cut.jpg", truncated(make_image(500, 500, seed=9)))),
        ("page", standin.add_file("/cdn/page.jpg", b"<html><body>Access denied</body></html>", "text/html")),
        ("empty", standin.add_file("/cdn/empty.jpg", b"")),
    ]
    fetched = resource.fetch(items)
    reasons = {}
    for key, body in fetched.items():
        assert isinstance(body, bytes)
        with pytest.raises(ImageRejected) as rejected:
            prepare_image(body)
        reasons[key] = rejected.value.reason
    assert reasons == {
        "cut": "truncated image",
        "page": 'not an image (text: "<html><body>Access denied</body></html>")',
        "empty": "empty response",
    }


def test_nothing_to_do_makes_no_request(standin, resource):
    assert resource.front_cover_urls([]) == {} and resource.fetch([]) == {}
    assert standin.count() == 0


def test_it_works_as_a_dagster_resource(standin):
    url = standin.add_file("/a.jpg", make_image(200, 200, seed=1))

    @dg.asset
    def covers(coverart: CoverArtResource) -> dict:
        body = coverart.fetch([("a", url)])["a"]
        assert isinstance(body, bytes), body
        return {"bytes": len(body), "requests": coverart.stats.requests}

    result = materialize([covers], resources={"coverart": CoverArtResource(base_url=standin.url)})
    assert result.success and result.output_for_node("covers")["requests"] == 1
