"""The playlists folder and the media servers told to rescan it: Jellyfin, Navidrome (Subsonic), Plex.

Each server is configured by its URL and a credential passed as ``dg.EnvVar``; one without both
is skipped. ``rescan`` raises ``RescanFailed`` with a message that never holds the credential.
"""

import hashlib
import secrets
import xml.etree.ElementTree as ET

import dagster as dg
import httpx
from pydantic import Field

CLIENT = "soulspot-pipeline"
TIMEOUT_S = 30.0


class RescanFailed(Exception):
    """The server could not be asked to rescan; the message is safe to show."""


class PlaylistFolder(dg.ConfigurableResource):
    """Where the playlist files go, a folder the media servers read (SOULSPOT_PLAYLISTS_DIR)."""

    playlists_dir: str = Field(description="Folder of the M3U8 files (default <music dir>/Playlists).")


class _MediaServer(dg.ConfigurableResource):
    base_url: str | None = Field(default=None, description="The server's address; unset means not configured.")
    timeout_s: float = Field(default=TIMEOUT_S, description="Seconds to wait for the server's answer.")

    def _secret(self) -> str | None:
        raise NotImplementedError

    @property
    def configured(self) -> bool:
        return bool(self.base_url and self._secret())

    def rescan(self) -> str:
        """Ask for a rescan; what the server was asked, for the metadata."""
        raise NotImplementedError

    def _request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, params: dict[str, str] | None = None
    ) -> httpx.Response:
        url = f"{(self.base_url or '').rstrip('/')}/{path.lstrip('/')}"
        try:
            with httpx.Client(timeout=self.timeout_s) as client:
                response = client.request(method, url, headers=headers, params=params)
        except httpx.HTTPError as exc:
            # httpx messages may quote the URL, and Subsonic's credentials ride in its query.
            raise RescanFailed(
                f"cannot reach {self.base_url}: {self._redact(str(exc) or type(exc).__name__)}"
            ) from None
        if response.status_code >= 400:
            raise RescanFailed(f"{self.base_url} answered HTTP {response.status_code} to {path}")
        return response

    def _redact(self, text: str) -> str:
        secret = self._secret()
        return text.replace(secret, "***") if secret else text


class JellyfinResource(_MediaServer):
    """Jellyfin: ``POST /Library/Refresh`` queues a scan of every library (an administrator's API key)."""

    api_key: str | None = Field(default=None, description="An API key (JELLYFIN_API_KEY).")

    def _secret(self) -> str | None:
        return self.api_key

    def rescan(self) -> str:
        # The preferred header form; the legacy X-Emby-Token is off by default on newer servers.
        header = f'MediaBrowser Client="{CLIENT}", Device="{CLIENT}", DeviceId="{CLIENT}", Version="1", Token="{self.api_key}"'
        self._request("POST", "/Library/Refresh", headers={"Authorization": header})
        return "library refresh queued"


class SubsonicResource(_MediaServer):
    """Navidrome or any Subsonic server: ``/rest/startScan``, with a user's salted token or an OpenSubsonic API key."""

    user: str | None = Field(
        default=None, description="The user (SUBSONIC_USER); unset means the secret is an API key."
    )
    password: str | None = Field(
        default=None, description="The user's password, or an OpenSubsonic API key without a user (SUBSONIC_PASSWORD)."
    )

    def _secret(self) -> str | None:
        return self.password

    def rescan(self) -> str:
        password = self.password or ""
        params = {"v": "1.16.1", "c": CLIENT, "f": "json"}
        if self.user:
            salt = secrets.token_hex(8)
            params |= {"u": self.user, "s": salt, "t": hashlib.md5((password + salt).encode()).hexdigest()}
        else:
            params["apiKey"] = password
        body = self._request("GET", "/rest/startScan", params=params).json().get("subsonic-response", {})
        # Subsonic reports errors with HTTP 200 and status "failed".
        if body.get("status") != "ok":
            error = body.get("error") or {}
            raise RescanFailed(
                f"{self.base_url} refused startScan: {error.get('code', '?')} {self._redact(str(error.get('message', '')))}"
            )
        return "scan started"


class PlexResource(_MediaServer):
    """Plex: ``/library/sections/{id}/refresh`` for the given sections, or every music section."""

    token: str | None = Field(default=None, description="An X-Plex-Token (PLEX_TOKEN).")
    section_ids: list[str] = Field(
        default=[], description="Sections to refresh (PLEX_SECTIONS); empty: every music section."
    )

    def _secret(self) -> str | None:
        return self.token

    def rescan(self) -> str:
        # In a header rather than the query, so the token is in no URL a log or error could show.
        headers = {"X-Plex-Token": self.token or "", "Accept": "application/xml"}
        sections = self.section_ids or self._music_sections(headers)
        if not sections:
            raise RescanFailed(f"{self.base_url} has no music section to refresh")
        for section in sections:
            self._request("GET", f"/library/sections/{section}/refresh", headers=headers)
        return f"sections {', '.join(sections)} refreshing"

    def _music_sections(self, headers: dict[str, str]) -> list[str]:
        try:
            root = ET.fromstring(self._request("GET", "/library/sections", headers=headers).content)
        except ET.ParseError:
            raise RescanFailed(f"{self.base_url} answered /library/sections with something other than XML") from None
        return [d.get("key", "") for d in root.iter("Directory") if d.get("type") == "artist" and d.get("key")]
