"""Settings from the environment: every path, URL and switch the pipeline reads.

Defaults put everything under ``./data`` so a fresh clone runs with no configuration.
Nothing here connects to anything; reading settings is always safe at import time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from soulspot_pipeline.domain.discography import DEFAULT_EXCLUDED_SECONDARY, DEFAULT_PRIMARY_TYPES
from soulspot_pipeline.domain.download_ranking import DEFAULT_FORMATS
from soulspot_pipeline.domain.naming import DEFAULT_TEMPLATE, TemplateError, validate_template
from soulspot_pipeline.domain.notify import DEFAULT_KINDS, KINDS, unknown_kinds
from soulspot_pipeline.domain.search_budget import MAX_SEARCHES, WINDOW_S

SPOTIFY_API_URL = "https://api.spotify.com/v1/"
SPOTIFY_ACCOUNTS_URL = "https://accounts.spotify.com"
DEEZER_API_URL = "https://api.deezer.com/"
MUSICBRAINZ_URL = "https://musicbrainz.org"
LASTFM_URL = "https://ws.audioscrobbler.com/2.0/"
ACOUSTID_URL = "https://api.acoustid.org"
COVERART_URL = "https://coverartarchive.org"
LRCLIB_URL = "https://lrclib.net"
GENIUS_URL = "https://api.genius.com"
GENIUS_WEB_URL = "https://genius.com"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingsError(ValueError):
    """A setting has a value the pipeline cannot use."""


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{name}={raw!r} is not a boolean; use true or false")


def _number(env: Mapping[str, str], name: str, default: float, kind: type = float) -> float:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a {kind.__name__}") from None
    if value <= 0:
        raise SettingsError(f"{name}={raw!r} must be greater than zero")
    return value


def _text(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _path(env: Mapping[str, str], name: str, default: Path) -> Path:
    raw = _text(env, name)
    return Path(raw).expanduser().resolve() if raw else default


def _words(env: Mapping[str, str], name: str, default: tuple[str, ...], *, lower: bool = True) -> tuple[str, ...]:
    """A comma-separated list, lower-cased unless ``lower`` is off (``none`` or an empty value: the empty list)."""
    raw = env.get(name)
    if raw is None:
        return tuple(default)
    words = tuple((w.strip().lower() if lower else w.strip()) for w in raw.split(",") if w.strip())
    return () if tuple(w.lower() for w in words) == ("none",) else words


def _patterns(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Regular expressions, one per line or separated by ``;;`` (commas belong to regexes)."""
    raw = env.get(name, "")
    patterns = tuple(p.strip() for p in raw.replace(";;", "\n").splitlines() if p.strip())
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise SettingsError(f"{name}: {pattern!r} is not a regular expression ({exc})") from None
    return patterns


def _budget(env: Mapping[str, str]) -> tuple[int, float]:
    """``searches/seconds``, e.g. ``34/220``: at most that many Soulseek searches in any such window."""
    raw = _text(env, "SOULSPOT_SEARCH_BUDGET") or f"{MAX_SEARCHES}/{WINDOW_S:g}"
    try:
        count, seconds = raw.split("/")
        budget = int(count), float(seconds)
    except ValueError:
        raise SettingsError(f"SOULSPOT_SEARCH_BUDGET={raw!r} is not searches/seconds, e.g. 34/220") from None
    if budget[0] <= 0 or budget[1] <= 0:
        raise SettingsError(f"SOULSPOT_SEARCH_BUDGET={raw!r} must be positive")
    return budget


def _tags(env: Mapping[str, str], name: str) -> dict[str, str]:
    """``key=value`` pairs separated by commas, e.g. ``soulspot/mode=DEMO``."""
    tags = {}
    for pair in env.get(name, "").split(","):
        if not pair.strip():
            continue
        key, equals, value = pair.partition("=")
        if not (equals and key.strip()):
            raise SettingsError(f"{name}: {pair.strip()!r} is not key=value, e.g. soulspot/mode=DEMO")
        tags[key.strip()] = value.strip()
    return tags


def _notify_events(env: Mapping[str, str]) -> tuple[str, ...]:
    """The event kinds notified (SOULSPOT_NOTIFY_EVENTS, comma-separated; default all, ``none`` for none)."""
    kinds = _words(env, "SOULSPOT_NOTIFY_EVENTS", DEFAULT_KINDS)
    if unknown := unknown_kinds(kinds):
        raise SettingsError(
            f"SOULSPOT_NOTIFY_EVENTS: {', '.join(map(repr, unknown))} is not an event kind; "
            f"use some of {', '.join(KINDS)} (or none)"
        )
    return tuple(dict.fromkeys(kinds))


def _naming_template(env: Mapping[str, str]) -> str:
    """Where imports and organize_library put files (SOULSPOT_NAMING_TEMPLATE), checked now."""
    template = _text(env, "SOULSPOT_NAMING_TEMPLATE") or DEFAULT_TEMPLATE
    try:
        validate_template(template)
    except TemplateError as exc:
        raise SettingsError(f"SOULSPOT_NAMING_TEMPLATE={template!r}: {exc}") from None
    return template


def _musicbrainz_url(env: Mapping[str, str]) -> str | None:
    """The server, or None when the user turned MusicBrainz off (``off``)."""
    value = _text(env, "SOULSPOT_MUSICBRAINZ_URL") or MUSICBRAINZ_URL
    return None if value.lower() in ("off", "none", "disabled") else value


def _lrclib_url(env: Mapping[str, str]) -> str | None:
    """LRCLIB's server, or None when the user turned lyrics off (``off``)."""
    value = _text(env, "SOULSPOT_LRCLIB_URL") or LRCLIB_URL
    return None if value.lower() in ("off", "none", "disabled") else value


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    duckdb_path: Path
    snapshot_path: Path
    music_dir: Path
    downloads_dir: Path
    auto_queue_downloads: bool
    scan_cron: str
    scan_workers: int
    verify_minutes: float
    music_sensor_interval_s: int
    timezone: str
    spotify_client_id: str | None
    # Credentials (this and slskd_api_key) stay out of repr(): printing the settings never shows them.
    spotify_client_secret: str | None = field(repr=False)
    spotify_redirect_uri: str | None
    spotify_api_url: str
    spotify_accounts_url: str
    spotify_token_path: Path
    cloud_cron: str
    deezer_user_id: str | None
    deezer_api_url: str
    musicbrainz_url: str | None
    musicbrainz_rate: float
    musicbrainz_cache_days: float
    identify_cron: str
    enrich_cron: str
    discography_cron: str
    discography_ttl_hours: float
    gap_types: tuple[str, ...]
    gap_excluded_types: tuple[str, ...]
    request_gaps: bool
    request_new_releases: bool
    images_cron: str
    image_concurrency: int
    image_retry_hours: float
    write_cover_jpg: bool
    contact: str | None
    coverart_url: str
    slskd_url: str | None
    slskd_api_key: str | None = field(repr=False)
    download_formats: tuple[str, ...]
    download_min_bitrate: int
    download_duration_tolerance_s: float
    download_blocked_users: tuple[str, ...]
    download_blocked_words: tuple[str, ...]
    download_required_words: tuple[str, ...]
    download_blocked_patterns: tuple[str, ...]
    downloads_per_run: int
    upgrade_below_bitrate: int
    request_upgrades: bool
    downloads_paused: bool
    search_budget: tuple[int, float]
    run_tags: dict[str, str]  # on every run of every job, schedule and sensor (the demo's soulspot/mode=DEMO)
    db_lock_wait_s: float
    playlists_dir: Path
    jellyfin_url: str | None
    jellyfin_api_key: str | None = field(repr=False)
    subsonic_url: str | None
    subsonic_user: str | None
    subsonic_password: str | None = field(repr=False)
    plex_url: str | None
    plex_token: str | None = field(repr=False)
    plex_sections: tuple[str, ...]
    # Apprise URLs hold tokens: out of repr(), and passed to the resource as dg.EnvVar.
    notify_urls: str | None = field(repr=False)
    notify_events: tuple[str, ...]
    naming_template: str  # where imports and organize_library put files
    # Whether SOULSPOT_MUSIC_DIR was given: a folder the user named must exist (an unmounted
    # drive), while the default one may be absent on a first run.
    music_dir_given: bool
    # Lyrics (LRCLIB): None turns the phase off; files beside the audio and tags are opt-in.
    lrclib_url: str | None = LRCLIB_URL
    lyrics_files: bool = False
    lyrics_tags: bool = False
    lyrics_retry_days: float = 30.0
    # Genius, second after LRCLIB: the token as Last.fm's key; unset, Genius is never asked.
    genius_access_token: str | None = field(default=None, repr=False)
    genius_url: str = GENIUS_URL
    genius_web_url: str = GENIUS_WEB_URL
    # Last.fm: the key stays out of repr() and is passed to the resource as dg.EnvVar; unset = skipped.
    lastfm_api_key: str | None = field(default=None, repr=False)
    lastfm_url: str = LASTFM_URL
    lastfm_min_weight: int = 10
    lastfm_rate: float = 5.0
    # AcoustID: the key as Last.fm's; unset, identification by fingerprint is skipped.
    acoustid_api_key: str | None = field(default=None, repr=False)
    acoustid_url: str = ACOUSTID_URL

    @property
    def dagster_home(self) -> Path:
        return self.data_dir / "dagster"

    @property
    def images_dir(self) -> Path:
        return self.data_dir / "images"

    @property
    def slskd_dir(self) -> Path:
        """The search budget's ledger and lock."""
        return self.data_dir / "slskd"

    @property
    def musicbrainz_dir(self) -> Path:
        """The response cache and the rate lock file."""
        return self.data_dir / "musicbrainz"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = _path(env, "SOULSPOT_DATA_DIR", Path("data").resolve())
        duckdb_path = _path(env, "SOULSPOT_DUCKDB_PATH", data_dir / "soulspot.duckdb")
        music_dir = _path(env, "SOULSPOT_MUSIC_DIR", data_dir / "music")
        return cls(
            data_dir=data_dir,
            duckdb_path=duckdb_path,
            snapshot_path=_path(env, "SOULSPOT_SNAPSHOT_PATH", duckdb_path.with_suffix(".snapshot.duckdb")),
            music_dir=music_dir,
            downloads_dir=_path(env, "SOULSPOT_DOWNLOADS_DIR", data_dir / "downloads"),
            auto_queue_downloads=_bool(env, "SOULSPOT_AUTO_QUEUE_DOWNLOADS", False),
            scan_cron=_text(env, "SOULSPOT_SCAN_CRON") or "0 * * * *",
            scan_workers=int(_number(env, "SOULSPOT_SCAN_WORKERS", os.cpu_count() or 1, int)),
            verify_minutes=_number(env, "SOULSPOT_VERIFY_MINUTES", 20.0),
            music_sensor_interval_s=int(_number(env, "SOULSPOT_MUSIC_SENSOR_INTERVAL", 120, int)),
            timezone=_text(env, "SOULSPOT_TIMEZONE") or "UTC",
            spotify_client_id=_text(env, "SPOTIFY_CLIENT_ID"),
            spotify_client_secret=_text(env, "SPOTIFY_CLIENT_SECRET"),
            spotify_redirect_uri=_text(env, "SPOTIFY_REDIRECT_URI"),
            spotify_api_url=_text(env, "SOULSPOT_SPOTIFY_API_URL") or SPOTIFY_API_URL,
            spotify_accounts_url=_text(env, "SOULSPOT_SPOTIFY_ACCOUNTS_URL") or SPOTIFY_ACCOUNTS_URL,
            spotify_token_path=_path(env, "SOULSPOT_SPOTIFY_TOKEN_PATH", data_dir / "secrets" / "spotify-token.json"),
            cloud_cron=_text(env, "SOULSPOT_CLOUD_CRON") or "*/30 * * * *",
            deezer_user_id=_text(env, "DEEZER_USER_ID"),
            deezer_api_url=_text(env, "SOULSPOT_DEEZER_API_URL") or DEEZER_API_URL,
            musicbrainz_url=_musicbrainz_url(env),
            musicbrainz_rate=_number(env, "SOULSPOT_MUSICBRAINZ_RATE", 1.0),
            musicbrainz_cache_days=_number(env, "SOULSPOT_MUSICBRAINZ_CACHE_DAYS", 30.0),
            identify_cron=_text(env, "SOULSPOT_IDENTIFY_CRON") or "0 */2 * * *",
            enrich_cron=_text(env, "SOULSPOT_ENRICH_CRON") or "0 */3 * * *",
            discography_cron=_text(env, "SOULSPOT_DISCOGRAPHY_CRON") or "0 */6 * * *",
            discography_ttl_hours=_number(env, "SOULSPOT_DISCOGRAPHY_TTL_HOURS", 24.0),
            gap_types=_words(env, "SOULSPOT_GAP_TYPES", DEFAULT_PRIMARY_TYPES),
            gap_excluded_types=_words(env, "SOULSPOT_GAP_EXCLUDED_TYPES", DEFAULT_EXCLUDED_SECONDARY),
            request_gaps=_bool(env, "SOULSPOT_REQUEST_GAPS", False),
            request_new_releases=_bool(env, "SOULSPOT_REQUEST_NEW_RELEASES", False),
            images_cron=_text(env, "SOULSPOT_IMAGES_CRON") or "0 */2 * * *",
            image_concurrency=int(_number(env, "SOULSPOT_IMAGE_CONCURRENCY", 5, int)),
            image_retry_hours=_number(env, "SOULSPOT_IMAGE_RETRY_HOURS", 24.0),
            write_cover_jpg=_bool(env, "SOULSPOT_WRITE_COVER_JPG", False),
            contact=_text(env, "SOULSPOT_CONTACT"),
            coverart_url=_text(env, "SOULSPOT_COVERART_URL") or COVERART_URL,
            slskd_url=_text(env, "SLSKD_URL"),
            slskd_api_key=_text(env, "SLSKD_API_KEY"),
            download_formats=_words(env, "SOULSPOT_DOWNLOAD_FORMATS", tuple(sorted(DEFAULT_FORMATS))),
            download_min_bitrate=int(_number(env, "SOULSPOT_DOWNLOAD_MIN_BITRATE", 192, int)),
            download_duration_tolerance_s=_number(env, "SOULSPOT_DOWNLOAD_DURATION_TOLERANCE", 5.0),
            download_blocked_users=_words(env, "SOULSPOT_BLOCKED_USERS", (), lower=False),
            download_blocked_words=_words(env, "SOULSPOT_BLOCKED_WORDS", ()),
            download_required_words=_words(env, "SOULSPOT_REQUIRED_WORDS", ()),
            download_blocked_patterns=_patterns(env, "SOULSPOT_BLOCKED_PATTERNS"),
            downloads_per_run=int(_number(env, "SOULSPOT_DOWNLOADS_PER_RUN", 25, int)),
            upgrade_below_bitrate=int(_number(env, "SOULSPOT_UPGRADE_BELOW_BITRATE", 256, int)),
            request_upgrades=_bool(env, "SOULSPOT_REQUEST_UPGRADES", False),
            downloads_paused=_bool(env, "SOULSPOT_DOWNLOADS_PAUSED", False),
            search_budget=_budget(env),
            run_tags=_tags(env, "SOULSPOT_RUN_TAGS"),
            db_lock_wait_s=_number(env, "SOULSPOT_DB_LOCK_WAIT", 60.0),
            playlists_dir=_path(env, "SOULSPOT_PLAYLISTS_DIR", music_dir / "Playlists"),
            jellyfin_url=_text(env, "JELLYFIN_URL"),
            jellyfin_api_key=_text(env, "JELLYFIN_API_KEY"),
            subsonic_url=_text(env, "SUBSONIC_URL"),
            subsonic_user=_text(env, "SUBSONIC_USER"),
            subsonic_password=_text(env, "SUBSONIC_PASSWORD"),
            plex_url=_text(env, "PLEX_URL"),
            plex_token=_text(env, "PLEX_TOKEN"),
            plex_sections=_words(env, "PLEX_SECTIONS", ()),
            notify_urls=_text(env, "SOULSPOT_NOTIFY_URLS"),
            notify_events=_notify_events(env),
            naming_template=_naming_template(env),
            music_dir_given=_text(env, "SOULSPOT_MUSIC_DIR") is not None,
            lastfm_api_key=_text(env, "LASTFM_API_KEY"),
            lastfm_url=_text(env, "SOULSPOT_LASTFM_URL") or LASTFM_URL,
            lastfm_min_weight=int(_number(env, "SOULSPOT_LASTFM_MIN_WEIGHT", 10, int)),
            lastfm_rate=_number(env, "SOULSPOT_LASTFM_RATE", 5.0),
            acoustid_api_key=_text(env, "ACOUSTID_API_KEY"),
            acoustid_url=_text(env, "SOULSPOT_ACOUSTID_URL") or ACOUSTID_URL,
            lrclib_url=_lrclib_url(env),
            lyrics_files=_bool(env, "SOULSPOT_LYRICS_FILES", False),
            lyrics_tags=_bool(env, "SOULSPOT_LYRICS_TAGS", False),
            lyrics_retry_days=_number(env, "SOULSPOT_LYRICS_RETRY_DAYS", 30.0),
            genius_access_token=_text(env, "GENIUS_ACCESS_TOKEN"),
            genius_url=_text(env, "SOULSPOT_GENIUS_URL") or GENIUS_URL,
            genius_web_url=_text(env, "SOULSPOT_GENIUS_WEB_URL") or GENIUS_WEB_URL,
        )

    @property
    def spotify_configured(self) -> bool:
        # PKCE needs no client secret; SPOTIFY_CLIENT_SECRET is accepted and unused.
        return bool(self.spotify_client_id and self.spotify_redirect_uri)

    @property
    def deezer_configured(self) -> bool:
        return bool(self.deezer_user_id)

    @property
    def jellyfin_configured(self) -> bool:
        return bool(self.jellyfin_url and self.jellyfin_api_key)

    @property
    def subsonic_configured(self) -> bool:
        return bool(self.subsonic_url and self.subsonic_password)

    @property
    def plex_configured(self) -> bool:
        return bool(self.plex_url and self.plex_token)

    @property
    def notify_configured(self) -> bool:
        return bool(self.notify_urls)

    @property
    def slskd_configured(self) -> bool:
        return bool(self.slskd_url and self.slskd_api_key)

    @property
    def lastfm_configured(self) -> bool:
        return bool(self.lastfm_api_key)

    @property
    def genius_configured(self) -> bool:
        return bool(self.genius_access_token)

    @property
    def acoustid_configured(self) -> bool:
        return bool(self.acoustid_api_key)

    @property
    def acoustid_dir(self) -> Path:
        """The rate lock file shared by every process that asks AcoustID."""
        return self.data_dir / "acoustid"

    @property
    def lastfm_dir(self) -> Path:
        """The rate lock file shared by every process that asks Last.fm."""
        return self.data_dir / "lastfm"
