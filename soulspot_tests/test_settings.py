from pathlib import Path

import pytest

from soulspot_pipeline.settings import Settings, SettingsError


def test_defaults_put_everything_under_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = Settings.from_env({})
    assert s.data_dir == tmp_path / "data"
    assert s.duckdb_path == tmp_path / "data" / "soulspot.duckdb"
    assert s.music_dir == tmp_path / "data" / "music"
    assert s.downloads_dir == tmp_path / "data" / "downloads"
    assert s.auto_queue_downloads is False
    assert s.musicbrainz_rate == 1.0
    assert s.scan_cron == "0 * * * *" and s.cloud_cron == "*/30 * * * *"
    assert s.spotify_token_path == tmp_path / "data" / "secrets" / "spotify-token.json"
    assert s.spotify_accounts_url == "https://accounts.spotify.com"
    assert (s.identify_cron, s.enrich_cron, s.musicbrainz_cache_days) == ("0 */2 * * *", "0 */3 * * *", 30.0)
    assert s.musicbrainz_url == "https://musicbrainz.org" and s.musicbrainz_dir == tmp_path / "data" / "musicbrainz"
    assert not (s.spotify_configured or s.deezer_configured or s.slskd_configured)


def test_spotify_needs_a_client_id_and_a_redirect_uri_but_no_secret():
    assert Settings.from_env(
        {"SPOTIFY_CLIENT_ID": "id", "SPOTIFY_REDIRECT_URI": "http://127.0.0.1:8888/callback"}
    ).spotify_configured
    assert not Settings.from_env({"SPOTIFY_CLIENT_ID": "id", "SPOTIFY_CLIENT_SECRET": "secret"}).spotify_configured


def test_every_documented_variable_is_read(tmp_path):
    env = {
        "SOULSPOT_DATA_DIR": str(tmp_path / "d"),
        "SOULSPOT_MUSIC_DIR": str(tmp_path / "m"),
        "SOULSPOT_DOWNLOADS_DIR": str(tmp_path / "dl"),
        "SOULSPOT_AUTO_QUEUE_DOWNLOADS": "yes",
        "SPOTIFY_CLIENT_ID": "id",
        "SPOTIFY_CLIENT_SECRET": "secret",
        "SPOTIFY_REDIRECT_URI": "http://127.0.0.1:8888/callback",
        "SOULSPOT_SPOTIFY_API_URL": "http://127.0.0.1:1/v1/",
        "DEEZER_USER_ID": "42",
        "SOULSPOT_DEEZER_API_URL": "http://127.0.0.1:2/",
        "SOULSPOT_MUSICBRAINZ_URL": "http://127.0.0.1:3",
        "SOULSPOT_MUSICBRAINZ_RATE": "5",
        "SOULSPOT_CONTACT": "me@example.org",
        "SOULSPOT_COVERART_URL": "http://127.0.0.1:4",
        "SLSKD_URL": "http://127.0.0.1:5030",
        "SLSKD_API_KEY": "key",
        "SOULSPOT_SCAN_CRON": "*/15 * * * *",
    }
    s = Settings.from_env(env)
    assert s.duckdb_path == tmp_path / "d" / "soulspot.duckdb"
    assert (s.music_dir, s.downloads_dir) == (tmp_path / "m", tmp_path / "dl")
    assert s.auto_queue_downloads and s.spotify_configured and s.deezer_configured and s.slskd_configured
    assert s.musicbrainz_rate == 5.0 and s.contact == "me@example.org"
    assert s.spotify_api_url.startswith("http://127.0.0.1:1") and s.coverart_url == "http://127.0.0.1:4"
    assert s.scan_cron == "*/15 * * * *"
    assert Settings.from_env({**env, "SOULSPOT_DUCKDB_PATH": str(tmp_path / "x.duckdb")}).duckdb_path == Path(
        tmp_path / "x.duckdb"
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SOULSPOT_AUTO_QUEUE_DOWNLOADS", "maybe"),
        ("SOULSPOT_MUSICBRAINZ_RATE", "fast"),
        ("SOULSPOT_MUSICBRAINZ_RATE", "0"),
    ],
)
def test_bad_values_are_refused_with_the_variable_named(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_musicbrainz_can_be_turned_off():
    assert Settings.from_env({"SOULSPOT_MUSICBRAINZ_URL": "off"}).musicbrainz_url is None
    assert (
        Settings.from_env({"SOULSPOT_MUSICBRAINZ_URL": "http://mirror.lan:5000"}).musicbrainz_url
        == "http://mirror.lan:5000"
    )


def test_discography_and_image_settings_have_sane_defaults_and_take_lists():
    s = Settings.from_env({})
    assert (s.discography_cron, s.images_cron, s.discography_ttl_hours) == ("0 */6 * * *", "0 */2 * * *", 24.0)
    assert s.gap_types == ("album", "ep") and "live" in s.gap_excluded_types and "compilation" in s.gap_excluded_types
    assert not (s.request_gaps or s.request_new_releases or s.write_cover_jpg)
    assert (s.image_concurrency, s.image_retry_hours) == (5, 24.0)
    custom = Settings.from_env(
        {
            "SOULSPOT_GAP_TYPES": " Album, Single ",
            "SOULSPOT_GAP_EXCLUDED_TYPES": "none",
            "SOULSPOT_REQUEST_GAPS": "true",
            "SOULSPOT_IMAGE_CONCURRENCY": "2",
        }
    )
    assert custom.gap_types == ("album", "single") and custom.gap_excluded_types == () and custom.request_gaps
    assert custom.image_concurrency == 2
    with pytest.raises(SettingsError, match="SOULSPOT_IMAGE_CONCURRENCY"):
        Settings.from_env({"SOULSPOT_IMAGE_CONCURRENCY": "0"})


def test_download_settings_have_sane_defaults_and_refuse_bad_patterns_and_budgets():
    s = Settings.from_env({})
    assert s.search_budget == (34, 220.0) and s.download_min_bitrate == 192 and s.downloads_per_run == 25
    assert (s.upgrade_below_bitrate, s.request_upgrades) == (256, False)
    assert {"flac", "mp3"} <= set(s.download_formats) and s.download_blocked_patterns == ()
    custom = Settings.from_env(
        {
            "SOULSPOT_SEARCH_BUDGET": "20/300",
            "SOULSPOT_BLOCKED_USERS": "Spammer, Other",
            "SOULSPOT_BLOCKED_WORDS": "Karaoke",
            "SOULSPOT_BLOCKED_PATTERNS": r"(?i)\bcover\b;;\.wma$",
            "SOULSPOT_DOWNLOAD_FORMATS": "flac",
        }
    )
    assert custom.search_budget == (20, 300.0) and custom.download_blocked_users == ("Spammer", "Other")
    assert custom.download_blocked_words == ("karaoke",) and custom.download_blocked_patterns == (
        r"(?i)\bcover\b",
        r"\.wma$",
    )
    assert custom.download_formats == ("flac",)
    with pytest.raises(SettingsError, match="SOULSPOT_BLOCKED_PATTERNS"):
        Settings.from_env({"SOULSPOT_BLOCKED_PATTERNS": "(unclosed"})
    with pytest.raises(SettingsError, match="SOULSPOT_SEARCH_BUDGET"):
        Settings.from_env({"SOULSPOT_SEARCH_BUDGET": "lots"})


def test_lastfm_is_configured_by_its_key_which_never_shows_in_the_settings():
    assert not Settings.from_env({}).lastfm_configured
    s = Settings.from_env(
        {
            "LASTFM_API_KEY": "lastfm-key-1Qa9",
            "SOULSPOT_LASTFM_URL": "http://127.0.0.1:7/2.0/",
            "SOULSPOT_LASTFM_MIN_WEIGHT": "25",
            "SOULSPOT_LASTFM_RATE": "2",
        }
    )
    assert s.lastfm_configured and s.lastfm_url == "http://127.0.0.1:7/2.0/"
    assert (s.lastfm_min_weight, s.lastfm_rate) == (25, 2.0)
    assert "lastfm-key-1Qa9" not in repr(s)
    with pytest.raises(SettingsError, match="SOULSPOT_LASTFM_MIN_WEIGHT"):
        Settings.from_env({"SOULSPOT_LASTFM_MIN_WEIGHT": "heavy"})
