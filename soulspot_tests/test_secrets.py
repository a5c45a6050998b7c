"""No credential on screen or in a run's records: the code location is loaded with known secret values in the
environment, runs use them against the stand-ins, and none of them appears in anything the UI shows."""

import json
import logging
import re
import socket
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.remote_representation.external_data import RepositorySnap, ResourceConfigEnvVarSnap
from dagster._serdes import serialize_value

from soulspot_pipeline.definitions import build_definitions
from soulspot_pipeline.devkit.standins import deezer as dz
from soulspot_pipeline.devkit.standins.deezer import DeezerLibrary, DeezerStandin
from soulspot_pipeline.devkit.standins.lastfm import LastfmCatalog, LastfmStandin
from soulspot_pipeline.devkit.standins.slskd import SharedFile, SlskdStandin
from soulspot_pipeline.devkit.standins.spotify import SpotifyLibrary, SpotifyStandin
from soulspot_pipeline.devkit.synth import audio_bytes
from soulspot_pipeline.resources.spotify import SCOPES, TokenFile
from soulspot_pipeline.settings import Settings
from soulspot_tests.results import metadata

pytestmark = pytest.mark.integration  # assets and jobs run through Dagster against stand-ins

SLSKD_KEY = "slskd-key-7Qm2xV9pLw4t"
SPOTIFY_SECRET = "spotify-secret-Hb5kR9xLc2Jd"
SECRETS = {"SLSKD_API_KEY": SLSKD_KEY, "SPOTIFY_CLIENT_SECRET": SPOTIFY_SECRET}
# Field names that hold a credential; `token_path` and the like are where one is kept, not the credential.
CREDENTIAL = re.compile(r"(?:^|_)(?:api_?key|secret|token|password|passwd|credentials?)$", re.IGNORECASE)

AIR = dz.artist(1422, "Air")
MOON = dz.album(302127, "Moon Safari", AIR, nb_tracks=10)
SEXY = dz.track(3135556, "Sexy Boy", AIR, MOON, duration_s=298)


def leaked(text: str | bytes, secrets: dict[str, str]) -> list[str]:
    """The names of the secrets whose value is in ``text``."""
    haystack = text if isinstance(text, bytes) else text.encode()
    return [name for name, value in secrets.items() if value.encode() in haystack]


# The media servers' credentials, with servers to reach (nothing is called in these tests).
MEDIA_SERVERS = {"JELLYFIN_URL": "http://127.0.0.1:8096", "SUBSONIC_URL": "http://127.0.0.1:4533"}
MEDIA_SERVERS |= {"SUBSONIC_USER": "me", "PLEX_URL": "http://127.0.0.1:32400"}
MEDIA_SECRETS = {
    "JELLYFIN_API_KEY": "jellyfin-key-4Tz8wQ1mRb6v",
    "SUBSONIC_PASSWORD": "subsonic-pass-9Lk3sN7yHc2d",
    "PLEX_TOKEN": "plex-token-2Wq6eR8tYu1i",
    "LASTFM_API_KEY": "lastfm-key-6Jw3pZ8sKd1e",
    "ACOUSTID_API_KEY": "acoustid-key-3Vb7nM2xQp5w",
    "GENIUS_ACCESS_TOKEN": "genius-token-4Fs8dK2pLx6z",
    # Apprise URLs: every part may be the secret (a password, a token in the path or the query).
    "SOULSPOT_NOTIFY_URLS": "json://me:notify-pass-8Rt4@127.0.0.1:9/hooks/notify-path-6Yp1?-token=notify-query-2Kd9",
}
# The parts of the notifier URL that are secrets on their own.
NOTIFY_PARTS = {
    "notify password": "notify-pass-8Rt4",
    "notify path": "notify-path-6Yp1",
    "notify token": "notify-query-2Kd9",
}


def load(
    monkeypatch,
    tmp_path: Path,
    slskd_url: str,
    deezer_url: str,
    spotify: SpotifyStandin | None = None,
    extra: dict[str, str] | None = None,
):
    """The definitions as the code location builds them; the variables are also in the process environment,
    where the EnvVars are resolved when a run starts."""
    env = {
        "SOULSPOT_DATA_DIR": str(tmp_path / "data"),
        "SOULSPOT_MUSIC_DIR": str(tmp_path / "music"),
        "SOULSPOT_MUSICBRAINZ_URL": "off",
        "SOULSPOT_LRCLIB_URL": "off",
        "SOULSPOT_AUTO_QUEUE_DOWNLOADS": "true",
        "DEEZER_USER_ID": "5",
        "SOULSPOT_DEEZER_API_URL": deezer_url,
        "SLSKD_URL": slskd_url,
        **SECRETS,
        **(extra or {}),
    }
    if spotify is not None:
        env |= {
            "SPOTIFY_CLIENT_ID": spotify.client_id,
            "SPOTIFY_REDIRECT_URI": "http://127.0.0.1:8888/callback",
            "SOULSPOT_SPOTIFY_API_URL": spotify.api_url,
            "SOULSPOT_SPOTIFY_ACCOUNTS_URL": spotify.accounts_url,
        }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return build_definitions(Settings.from_env(env))


def spotify_login(spotify: SpotifyStandin, tmp_path: Path) -> dict:
    """What `soulspot spotify-login` leaves behind, with the access token already expired so runs refresh it."""
    tokens = {**spotify.issue_tokens(" ".join(SCOPES)), "expires_at": int(time.time()) + 3600}
    TokenFile(tmp_path / "data" / "secrets" / "spotify-token.json").save_token_to_cache(tokens)
    spotify.expire_access_tokens()
    return tokens


def run_records(instance: dg.DagsterInstance, run_id: str) -> str:
    """What the UI shows of a run: the run itself (config, tags), its job and plan snapshots, every event
    (logs, materialization metadata, step failures), serialized."""
    run = instance.get_run_by_id(run_id)
    assert run is not None and run.job_snapshot_id is not None and run.execution_plan_snapshot_id is not None
    parts = [
        serialize_value(run),
        serialize_value(instance.get_job_snapshot(run.job_snapshot_id)),
        serialize_value(instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)),
    ]
    return "\n".join(parts + [serialize_value(entry) for entry in instance.all_logs(run_id)])


def stored_bytes(folder: Path) -> bytes:
    """Every file the instance wrote: run and event databases, compute logs."""
    return b"\n".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


@pytest.fixture
def dagster_dir(tmp_path: Path) -> Path:
    """Where the test's Dagster instance keeps everything, so all of it can be searched."""
    folder = tmp_path / "dagster"
    folder.mkdir()
    return folder


def execute(defs: dg.Definitions, job: str, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def(job).execute_in_process(instance=instance, raise_on_error=False)


def test_the_resources_page_shows_the_variables_names_never_their_values(monkeypatch, tmp_path):
    extra = {**MEDIA_SERVERS, **MEDIA_SECRETS}
    defs = load(monkeypatch, tmp_path, "http://127.0.0.1:5030", "http://127.0.0.1:9/", extra=extra)
    snapshot = RepositorySnap.from_def(defs.get_repository_def())
    shown = serialize_value(snapshot)
    assert leaked(shown, {**SECRETS, **MEDIA_SECRETS, **NOTIFY_PARTS}) == []
    slskd = next(r for r in snapshot.resources if r.name == "slskd")
    assert slskd.configured_values["api_key"] == ResourceConfigEnvVarSnap(name="SLSKD_API_KEY")
    for name in ("SLSKD_API_KEY", *MEDIA_SECRETS):
        assert name in snapshot.utilized_env_vars and name in shown

    # Every credential-like field of every resource, at any depth, is a variable's name or unset.
    def is_plain(value: object) -> bool:
        return value is not None and not (isinstance(value, dict) and set(value) == {"env"})

    def plain_credentials(value: object, path: str) -> list[str]:
        if isinstance(value, dict):
            return [
                *(f"{path}.{k}" for k, v in value.items() if CREDENTIAL.search(k) and is_plain(v)),
                *(found for k, v in value.items() for found in plain_credentials(v, f"{path}.{k}")),
            ]
        return []

    plain = []
    for resource in snapshot.resources:
        for name, value in resource.configured_values.items():
            if isinstance(value, ResourceConfigEnvVarSnap):
                continue
            decoded = json.loads(value)
            if CREDENTIAL.search(name) and is_plain(decoded):
                plain.append(f"{resource.name}.{name}")
            plain += plain_credentials(decoded, f"{resource.name}.{name}")
    assert plain == [], f"credentials configured as plain values instead of dg.EnvVar: {plain}"


def test_runs_that_use_every_credential_record_none_of_them(monkeypatch, tmp_path, dagster_dir, capfd, caplog):
    caplog.set_level(logging.DEBUG)  # every library's debug lines too: a compute log may hold them
    flac = audio_bytes("flac", {"title": "x"}, seconds=1.0)
    slskd = SlskdStandin(tmp_path / "slskd" / "downloads", api_key=SLSKD_KEY, search_polls=1)
    slskd.add_peer("good", files=[SharedFile("@@abcde\\music\\Air\\Moon Safari\\02 Sexy Boy.flac", flac, length=298)])
    deezer = DeezerStandin(DeezerLibrary(user_id="5", tracks=[{**SEXY, "time_add": 1767225600}]))
    with slskd, deezer, SpotifyStandin(SpotifyLibrary()) as spotify:
        tokens = spotify_login(spotify, tmp_path)
        defs = load(monkeypatch, tmp_path, slskd.url, deezer.api_url, spotify)
        with dg.instance_for_test(temp_dir=str(dagster_dir)) as instance:
            synced = execute(defs, "cloud_sync", instance)
            downloaded = execute(defs, "download_wanted", instance)
            records = [run_records(instance, r.run_id) for r in (synced, downloaded)]
        assert synced.success and metadata(downloaded, "downloads")["this_run"]["downloading"] == 1
        # The credentials were really used: slskd answers only to its key, the refresh token got a new access token.
        assert slskd.searches and all(r.headers.get("x-api-key") == SLSKD_KEY for r in slskd.requests)
        assert spotify.count("/api/token") >= 1
    refreshed = TokenFile(tmp_path / "data" / "secrets" / "spotify-token.json").get_cached_token()
    assert refreshed["access_token"] != tokens["access_token"]
    secrets = {
        **SECRETS,
        "spotify refresh token": tokens["refresh_token"],
        "spotify access token": tokens["access_token"],
        "refreshed spotify access token": refreshed["access_token"],
    }
    # What was serialized is the run's own story: its resources by name, the search, the materialization.
    assert all("SLSKD_API_KEY" in r for r in records) and "Sexy Boy" in records[1] and "downloading" in records[1]
    for record in records:
        assert leaked(record, secrets) == []
    assert leaked(stored_bytes(dagster_dir), secrets) == []
    captured = capfd.readouterr()
    assert leaked(captured.out + captured.err, secrets) == []
    assert {"spotipy.client", "httpx"} <= {r.name for r in caplog.records}
    assert leaked(caplog.text, secrets) == []


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.mark.parametrize("slskd_state", ["refusing", "unreachable"])
def test_a_failing_slskd_fails_the_run_without_the_key_in_any_message(
    monkeypatch, tmp_path, dagster_dir, capfd, slskd_state
):
    deezer = DeezerStandin(DeezerLibrary(user_id="5", tracks=[{**SEXY, "time_add": 1767225600}]))
    slskd = SlskdStandin(tmp_path / "slskd" / "downloads", api_key="another-key")
    with deezer, slskd:
        url = slskd.url if slskd_state == "refusing" else closed_port_url()
        defs = load(monkeypatch, tmp_path, url, deezer.api_url)
        with dg.instance_for_test(temp_dir=str(dagster_dir)) as instance:
            assert execute(defs, "cloud_sync", instance).success
            failed = execute(defs, "download_wanted", instance)
            record = run_records(instance, failed.run_id)
        if slskd_state == "refusing":  # the key went out, and was refused
            assert slskd.requests and all(r.headers.get("x-api-key") == SLSKD_KEY for r in slskd.requests)
    assert not failed.success
    expected = "slskd refused the API key" if slskd_state == "refusing" else "cannot reach slskd"
    assert expected in record and "STEP_FAILURE" in record
    assert leaked(record, SECRETS) == []
    assert leaked(stored_bytes(dagster_dir), SECRETS) == []
    captured = capfd.readouterr()
    assert expected in captured.out + captured.err and leaked(captured.out + captured.err, SECRETS) == []


@pytest.mark.parametrize("accepted", [True, False])
def test_lastfm_runs_record_the_variables_name_never_the_key(
    monkeypatch, tmp_path, dagster_dir, capfd, caplog, accepted
):
    caplog.set_level(logging.DEBUG)  # pylast's and httpx's debug lines too
    key = MEDIA_SECRETS["LASTFM_API_KEY"]
    catalog = LastfmCatalog()
    catalog.add_artist("Air", [("electronic", 100)], [("Zero 7", "", 1.0)])
    catalog.add_album("Air", "Moon Safari", [("downtempo", 100)])
    deezer = DeezerStandin(DeezerLibrary(user_id="5", tracks=[{**SEXY, "time_add": 1767225600}]))
    lastfm = LastfmStandin(catalog, api_keys=(key if accepted else "another-key",))
    with deezer, lastfm:
        extra = {"LASTFM_API_KEY": key, "SOULSPOT_LASTFM_URL": lastfm.ws_url, "SOULSPOT_LASTFM_RATE": "1000"}
        defs = load(monkeypatch, tmp_path, "http://127.0.0.1:5030", deezer.api_url, extra=extra)
        with dg.instance_for_test(temp_dir=str(dagster_dir)) as instance:
            assert execute(defs, "cloud_sync", instance).success
            result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
                instance=instance, asset_selection=[dg.AssetKey("lastfm_metadata")], raise_on_error=False
            )
            record = run_records(instance, result.run_id)
        assert lastfm.methods()  # the key went out (in the POST body)
    secrets = {**SECRETS, "LASTFM_API_KEY": key}
    assert result.success == accepted
    if accepted:
        assert metadata(result, "lastfm_metadata")["similar_artists"] == 1
    else:
        assert "Last.fm refused the API key in LASTFM_API_KEY" in record and "STEP_FAILURE" in record
    assert leaked(record, secrets) == []
    assert leaked(stored_bytes(dagster_dir), secrets) == []
    captured = capfd.readouterr()
    assert leaked(captured.out + captured.err + caplog.text, secrets) == []
