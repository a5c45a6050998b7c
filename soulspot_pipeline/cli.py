"""``soulspot``: run the library refresh, open the UI, log in to Spotify, benchmark, or run the offline demo."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from soulspot_pipeline.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def instance_env(settings: Settings) -> dict[str, str]:
    """The environment Dagster needs: its instance under the data folder."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        home = str(PROJECT_ROOT if (PROJECT_ROOT / "dagster.yaml").exists() else Path.cwd())
    env = dict(os.environ)
    env.setdefault("SOULSPOT_DATA_DIR", str(settings.data_dir))
    env["DAGSTER_HOME"] = home
    env.setdefault("SOULSPOT_DAGSTER_STORAGE", str(settings.dagster_home / "storage"))
    env.setdefault("SOULSPOT_DAGSTER_LOGS", str(settings.dagster_home / "logs"))
    for key in ("SOULSPOT_DAGSTER_STORAGE", "SOULSPOT_DAGSTER_LOGS"):
        Path(env[key]).mkdir(parents=True, exist_ok=True)
    return env


def _dagster() -> str:
    beside = Path(sys.executable).with_name("dagster")
    return str(beside) if beside.exists() else (shutil.which("dagster") or "dagster")


def refresh(settings: Settings) -> int:
    env = instance_env(settings)
    _recover_abandoned_runs(env)
    print(f"library database: {settings.duckdb_path}\nmusic folder:     {settings.music_dir}", flush=True)
    command = [_dagster(), "job", "execute", "-m", "soulspot_pipeline.definitions", "-j", "library_refresh"]
    code = subprocess.call(command, env=env)
    if code == 0:
        print(f"\nlibrary refreshed; query it with soulspot_pipeline.connect() ({settings.snapshot_path})")
    return code


def _recover_abandoned_runs(env: dict[str, str]) -> None:
    # A run killed earlier would otherwise hold the duckdb pool and block this one forever.
    os.environ.update({k: env[k] for k in ("DAGSTER_HOME", "SOULSPOT_DAGSTER_STORAGE", "SOULSPOT_DAGSTER_LOGS")})
    import dagster as dg

    from soulspot_pipeline.run_recovery import recover_abandoned_runs

    with dg.DagsterInstance.get() as instance:
        for run_id in recover_abandoned_runs(instance):
            print(f"marked run {run_id} failed: its process is gone (it had been killed)", flush=True)


def ui(settings: Settings, host: str, port: int) -> int:
    env = instance_env(settings)
    workspace = Path(env["DAGSTER_HOME"]) / "workspace.yaml"
    command = [_dagster(), "dev", "-h", host, "-p", str(port)]
    if workspace.exists():
        command += ["-w", str(workspace)]
    else:
        command += ["-m", "soulspot_pipeline.definitions"]
    return subprocess.call(command, env=env)


def spotify_login(settings: Settings, open_browser: bool) -> int:
    """The one-time Spotify login (authorization code with PKCE); runs refresh it themselves."""
    if not settings.spotify_configured:
        print(
            "Spotify is not configured: set SPOTIFY_CLIENT_ID and SPOTIFY_REDIRECT_URI (see the README)",
            file=sys.stderr,
        )
        return 2
    from soulspot_pipeline.resources.spotify import SpotifyResource

    spotify = SpotifyResource(
        client_id=settings.spotify_client_id,
        redirect_uri=settings.spotify_redirect_uri,
        api_url=settings.spotify_api_url,
        accounts_url=settings.spotify_accounts_url,
        token_path=str(settings.spotify_token_path),
    )
    try:
        user = spotify.login(open_browser=open_browser)
    except Exception as exc:  # every failure of an interactive login is reported the same way
        print(f"Spotify login failed: {exc}", file=sys.stderr)
        return 1
    print(
        f"logged in to Spotify as {user.get('display_name') or user.get('id')}; "
        f"the login is stored in {settings.spotify_token_path} (readable by you only)"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="soulspot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("refresh", help="run the full library refresh (every phase) once")
    ui_parser = commands.add_parser("ui", help="open the Dagster UI with schedules and sensors running")
    ui_parser.add_argument("--host", default="127.0.0.1")
    ui_parser.add_argument("--port", type=int, default=3000)
    login_parser = commands.add_parser("spotify-login", help="log in to Spotify once (stores a refresh token)")
    login_parser.add_argument(
        "--no-browser", action="store_true", help="print the login URL and read the redirected URL from the terminal"
    )
    bench_parser = commands.add_parser(
        "bench", help="benchmark the scan and the merge, the cloud import, or the downloads' search budget"
    )
    bench_parser.add_argument("--files", type=int, default=5000)
    bench_parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    bench_parser.add_argument("--dir", type=Path, default=None, help="where to build the library (default: a temp dir)")
    bench_parser.add_argument("--keep", action="store_true", help="keep the synthetic library afterwards")
    bench_parser.add_argument(
        "--cloud-tracks",
        type=int,
        default=None,
        help="instead: import this many saved tracks from the Spotify stand-in",
    )
    bench_parser.add_argument(
        "--downloads",
        type=int,
        default=None,
        help="instead: search this many pending tracks at the slskd stand-in within the search budget",
    )
    bench_parser.add_argument(
        "--window",
        type=float,
        default=2.2,
        help="with --downloads: the budget's window in seconds (34 searches per window; Soulseek's is 220)",
    )
    demo_parser = commands.add_parser(
        "demo", help="a DEMO of every phase on a sample library, offline, against local stand-ins (no accounts)"
    )
    demo_parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path("demo-data"),
        help="the demo's own folder, rebuilt on every run (default: ./demo-data)",
    )
    demo_parser.add_argument("--no-ui", action="store_true", help="exit after the summary instead of opening the UI")
    demo_parser.add_argument("--host", default="127.0.0.1")
    demo_parser.add_argument("--port", type=int, default=3000)
    args = parser.parse_args(argv)

    if args.command == "demo":  # before reading settings: the demo uses none of the user's
        from soulspot_pipeline.devkit.demo import run_demo

        return run_demo(args.data_dir, ui=not args.no_ui, host=args.host, port=args.port)
    settings = Settings.from_env()
    if args.command == "refresh":
        return refresh(settings)
    if args.command == "ui":
        return ui(settings, args.host, args.port)
    if args.command == "spotify-login":
        return spotify_login(settings, open_browser=not args.no_browser)
    from soulspot_pipeline.devkit.benchmark import run_benchmark, run_cloud_benchmark, run_downloads_benchmark

    if args.cloud_tracks:
        return run_cloud_benchmark(args.cloud_tracks, directory=args.dir)
    if args.downloads:
        return run_downloads_benchmark(args.downloads, args.window, directory=args.dir)
    return run_benchmark(files=args.files, workers=args.workers, directory=args.dir, keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
