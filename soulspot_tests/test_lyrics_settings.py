"""The lyrics settings: LRCLIB's URL (or off), files and tags opt-in, the retry days."""

import pytest

from soulspot_pipeline.definitions import build_resources
from soulspot_pipeline.settings import LRCLIB_URL, Settings, SettingsError


def test_defaults_ask_the_public_lrclib_and_write_nothing_beside_the_table():
    settings = Settings.from_env({})
    assert settings.lrclib_url == LRCLIB_URL == "https://lrclib.net"
    assert (settings.lyrics_files, settings.lyrics_tags, settings.lyrics_retry_days) == (False, False, 30.0)


def test_lyrics_settings_are_read_and_off_turns_the_phase_off():
    settings = Settings.from_env(
        {
            "SOULSPOT_LRCLIB_URL": "http://127.0.0.1:8080",
            "SOULSPOT_LYRICS_FILES": "true",
            "SOULSPOT_LYRICS_TAGS": "yes",
            "SOULSPOT_LYRICS_RETRY_DAYS": "7",
        }
    )
    resources = build_resources(settings)
    assert resources["lrclib"].base_url == "http://127.0.0.1:8080"
    policy = resources["lyrics_policy"]
    assert (policy.write_files, policy.write_tags, policy.retry_days) == (True, True, 7.0)
    assert Settings.from_env({"SOULSPOT_LRCLIB_URL": "off"}).lrclib_url is None
    with pytest.raises(SettingsError, match="SOULSPOT_LYRICS_FILES"):
        Settings.from_env({"SOULSPOT_LYRICS_FILES": "maybe"})
