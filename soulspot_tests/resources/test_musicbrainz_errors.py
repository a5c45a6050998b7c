"""Whatever musicbrainzngs raises becomes the phase's ProviderError: what failed, where, with
which status, and what to do. The resource talks to the local MusicBrainz stand-in (or to a
port where nothing listens); musicbrainzngs raises its real exceptions."""

from __future__ import annotations

import email.message
import io
import urllib.error
from collections.abc import Iterator

import musicbrainzngs
import pytest

from soulspot_pipeline.devkit.standins.musicbrainz import MbCatalog, MusicBrainzStandin, error_document
from soulspot_pipeline.domain.cloud import ProviderError
from soulspot_pipeline.resources.musicbrainz import MusicBrainzResource, describe_failure

UNREACHABLE = "http://127.0.0.1:9"


@pytest.fixture(autouse=True)
def _restore_musicbrainzngs() -> Iterator[None]:
    mb = musicbrainzngs.musicbrainz
    saved = (mb.hostname, mb.https, mb._useragent)
    yield
    mb.hostname, mb.https, mb._useragent = saved


def resource(server_url: str, tmp_path, **overrides) -> MusicBrainzResource:
    return MusicBrainzResource(
        server_url=server_url,
        rate=1000.0,
        contact="tests@example.org",
        cache_path=str(tmp_path / "cache.duckdb"),
        throttle_path=str(tmp_path / "rate.lock"),
        retry_base_delay_s=0.01,
        **overrides,
    )


def catalog() -> tuple[MbCatalog, str]:
    c = MbCatalog()
    air = c.add_artist("Air")
    return c, air.mbid


def refusal(exc_info: pytest.ExceptionInfo[ProviderError]) -> str:
    message = str(exc_info.value)
    assert exc_info.value.__cause__ is None and exc_info.value.__suppress_context__
    return message


def test_a_401_names_the_request_the_server_and_the_credentials_and_is_asked_once(tmp_path):
    c, mbid = catalog()
    with MusicBrainzStandin(c, credentials=("soulspot", "secret")) as server:
        url = server.url
        mb = resource(url, tmp_path)
        with pytest.raises(ProviderError) as raised:
            mb.artist(mbid)
        asked = server.refused_logins
    message = refusal(raised)
    assert message.startswith(f"MusicBrainz artist/{mbid} failed after 1 attempt(s) at {url}: HTTP 401")
    assert "(401 Authorization Required)" in message and "check the mirror's credentials" in message
    assert asked == 1  # a refusal is not worth repeating


def test_a_400_says_the_server_did_not_understand_with_its_own_words(tmp_path):
    c, mbid = catalog()
    with MusicBrainzStandin(c) as server:
        server.inject("/ws/2/artist/", status=400, body=error_document("Invalid mbid."))
        with pytest.raises(ProviderError) as raised:
            resource(server.url, tmp_path).artist(mbid)
    message = refusal(raised)
    assert "HTTP 400 Bad Request (Invalid mbid.)" in message and "points at a MusicBrainz server" in message


def test_an_answer_that_is_not_musicbrainz_xml_points_at_the_url(tmp_path):
    c, mbid = catalog()
    with MusicBrainzStandin(c) as server:
        server.inject("/ws/2/artist/", status=200, body="<html><body>Sign in to the hotel Wi-Fi<br></body></html>")
        with pytest.raises(ProviderError) as raised:
            resource(server.url, tmp_path).artist(mbid)
    message = refusal(raised)
    assert "not MusicBrainz XML" in message and "not a web page or a login portal" in message


def test_no_answer_is_retried_then_names_the_server_and_the_reason(tmp_path):
    mb = resource(UNREACHABLE, tmp_path, max_attempts=3)
    with pytest.raises(ProviderError) as raised:
        mb.search_artists("Air")
    message = refusal(raised)
    assert message.startswith(f"MusicBrainz search/artist failed after 3 attempt(s) at {UNREACHABLE}: no answer")
    assert "Connection refused" in message and "check that the server is up" in message
    assert mb.stats.retries == 2


def test_a_usage_error_and_a_bare_web_service_error_are_provider_errors_too(tmp_path):
    c, mbid = catalog()
    with MusicBrainzStandin(c) as server:
        url = server.url
        mb = resource(url, tmp_path)
        with pytest.raises(ProviderError) as usage:
            mb.request("artist/odd", lambda: musicbrainzngs.get_artist_by_id(mbid, includes=["no-such-include"]))

        def cut_short() -> dict:
            raise musicbrainzngs.WebServiceError("the answer was cut short")

        with pytest.raises(ProviderError) as web:
            mb.request("artist/cut", cut_short)
    assert "musicbrainzngs refused the request before sending it" in refusal(usage)
    assert "please report this" in refusal(usage)
    assert "the answer was cut short" in refusal(web) and url in refusal(web)


def _http_error(status: int, reason: str, body: bytes = b"") -> urllib.error.HTTPError:
    return urllib.error.HTTPError(
        "http://mirror/ws/2/artist", status, reason, email.message.Message(), io.BytesIO(body)
    )


@pytest.mark.parametrize(
    ("raised", "status", "retryable", "advice"),
    [
        (musicbrainzngs.AuthenticationError(cause=_http_error(401, "Unauthorized")), 401, False, "credentials"),
        (musicbrainzngs.ResponseError(cause=_http_error(400, "Bad Request")), 400, False, "points at a MusicBrainz"),
        (musicbrainzngs.ResponseError(cause=_http_error(411, "Length Required")), 411, False, "check SOULSPOT_"),
        # musicbrainzngs retries 5xx and unknown statuses itself, then gives up with a NetworkError.
        (musicbrainzngs.NetworkError("retried 8 times", _http_error(503, "Unavailable")), 503, True, "busy"),
        (musicbrainzngs.NetworkError("retried 8 times", _http_error(502, "Bad Gateway")), 502, True, "failing"),
        (musicbrainzngs.NetworkError("retried 8 times", _http_error(429, "Too Many")), 429, True, "rate-limiting"),
        (musicbrainzngs.NetworkError("retried 8 times", _http_error(403, "Forbidden")), 403, False, "SOULSPOT_CONTACT"),
        (musicbrainzngs.NetworkError("retried 8 times", _http_error(407, "Proxy")), 407, False, "proxy"),
        (
            musicbrainzngs.NetworkError(cause=urllib.error.URLError(ConnectionRefusedError(111, "refused"))),
            None,
            True,
            "up",
        ),
        (musicbrainzngs.NetworkError("retried 8 times", TimeoutError("timed out")), None, True, "reachable"),
        (musicbrainzngs.ResponseError(cause=ValueError("not well-formed")), None, False, "login portal"),
        (musicbrainzngs.InvalidSearchFieldError("bad field"), None, False, "report this"),
        (musicbrainzngs.InvalidIncludeError("bad include"), None, False, "report this"),
        (musicbrainzngs.InvalidFilterError("bad filter"), None, False, "report this"),
        (musicbrainzngs.UsageError("set a proper user-agent"), None, False, "report this"),
        (musicbrainzngs.WebServiceError("odd"), None, False, "check SOULSPOT_MUSICBRAINZ_URL"),
        (musicbrainzngs.MusicBrainzError("odder"), None, False, "check SOULSPOT_MUSICBRAINZ_URL"),
    ],
)
def test_every_exception_musicbrainzngs_can_raise_has_a_status_a_reason_and_advice(raised, status, retryable, advice):
    failure = describe_failure(raised)
    assert (failure.status, failure.retryable) == (status, retryable)
    assert advice in failure.advice and failure.detail
    if status is not None:
        assert failure.detail.startswith(f"HTTP {status}")
