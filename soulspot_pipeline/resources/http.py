"""An HTTP client for a service's base URL, refused with the setting to check when the URL is no
http(s) URL (a typo in a setting would otherwise fail each request with a cryptic error)."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from soulspot_pipeline.domain.cloud import ProviderError

# How soulspot-pipeline introduces itself to the web services that ask for a meaningful name.
USER_AGENT = "soulspot-pipeline/0.1 (self-hosted music library manager)"


def service_client(
    url: str | None,
    *,
    service: str,
    setting: str,
    timeout_s: float,
    headers: dict[str, str],
    follow_redirects: bool = False,
) -> httpx.Client:
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ProviderError(f"{service}'s URL {url!r} is not an http(s) URL; check {setting}")
    return httpx.Client(
        base_url=(url or "").rstrip("/"), timeout=timeout_s, headers=headers, follow_redirects=follow_redirects
    )
