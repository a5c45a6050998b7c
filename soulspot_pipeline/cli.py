"""``soulspot``: run the library refresh, open the UI, log in to Spotify, benchmark, or run the offline demo."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from soulspot_pipeline.child_process import Child
from soulspot_pipeline.run_console import dagster_command, execute_job, log_exception, new_log_path
from soulspot_pipeline.scan.scanner import missing_folder_problem
from soulspot_pipeline.settings import Settings, SettingsError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
UI_URL = "http://127.0.0.1:3000"
# Each folder of the instance config: its keys there, its folder under DAGSTER_HOME, and the
# variable that may name another place for it.
_INSTANCE_FOLDERS = (
    (("local_artifact_storage", "config", "base_dir"), "storage", "SOULSPOT_DAGSTER_STORAGE"),
    (("storage", "sqlite", "base_dir"), "storage", "SOULSPOT_DAGSTER_STORAGE"),
    (("compute_logs", "config", "base_dir"), "logs", "SOULSPOT_DAGSTER_LOGS"),
)


def say(text: str) -> None:
    print(text, flush=True)


class UserError(Exception):
    """Something the user can fix, said in a sentence; the console shows no traceback."""


def instance_env(settings: Settings) -> dict[str, str]:
    """The environment Dagster runs in: its instance under the data folder.

    ``DAGSTER_HOME`` is ``<data>/dagster``, with a copy of the project's ``dagster.yaml``
    whose folders are made absolute there; a ``DAGSTER_HOME`` of your own is kept as it is.
    """
    env = dict(os.environ)
    env["SOULSPOT_DATA_DIR"] = str(settings.data_dir)
    for variable, path in _path_settings(settings).items():
        if env.get(variable, "").strip():  # absolute: Dagster's processes may start in another folder
            env[variable] = str(path)
    if not env.get("DAGSTER_HOME"):
        env["DAGSTER_HOME"] = str(settings.dagster_home)
    home = Path(env["DAGSTER_HOME"])
    if home.resolve() == settings.dagster_home.resolve():
        write_instance_config(home, env)
    os.environ.update({k: env[k] for k in ("DAGSTER_HOME", "SOULSPOT_DATA_DIR")})
    return env


def _path_settings(settings: Settings) -> dict[str, Path]:
    return {
        "SOULSPOT_DUCKDB_PATH": settings.duckdb_path,
        "SOULSPOT_SNAPSHOT_PATH": settings.snapshot_path,
        "SOULSPOT_MUSIC_DIR": settings.music_dir,
        "SOULSPOT_DOWNLOADS_DIR": settings.downloads_dir,
        "SOULSPOT_SPOTIFY_TOKEN_PATH": settings.spotify_token_path,
    }


def write_instance_config(home: Path, env: dict[str, str]) -> None:
    """``home/dagster.yaml``: the project's instance settings, its folders under ``home``."""
    import yaml

    config = yaml.safe_load((PROJECT_ROOT / "dagster.yaml").read_text(encoding="utf-8")) or {}
    for keys, folder, variable in _INSTANCE_FOLDERS:
        target = Path(env.get(variable) or home / folder)
        target.mkdir(parents=True, exist_ok=True)
        section = config
        for key in keys[:-1]:
            section = section.setdefault(key, {})
        section[keys[-1]] = str(target)
    text = "# Written by soulspot from the project's dagster.yaml; edits are overwritten.\n" + yaml.safe_dump(
        config, sort_keys=False
    )
    path = home / "dagster.yaml"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def refresh(settings: Settings, *, verbose: bool, log_path: Path) -> int:
    check_music_folder(settings)
    check_database_free(settings)
    env = instance_env(settings)
    say(f"library {settings.duckdb_path}, music folder {settings.music_dir}")
    for run_id in _recover_abandoned_runs():
        say(f"marked run {run_id} failed: its process is gone (it had been killed)")
    run = execute_job("library_refresh", env, log_path, say=say, verbose=verbose)
    if run.interrupted:
        say(f"refresh stopped after {run.seconds:.0f} s (Ctrl-C); what the phases had written is kept. Log: {log_path}")
        return 130
    if run.code == 0:
        say(f"refreshed in {run.seconds:.0f} s. Query it: soulspot_pipeline.connect() ({settings.snapshot_path})")
    else:
        say(f"refresh failed after {run.seconds:.0f} s (see the lines above); what the other phases wrote is kept")
    say(f"full log: {log_path} · every run and table in the UI: python3 run.py ui ({UI_URL})")
    return 0 if run.code == 0 else 1


def check_music_folder(settings: Settings) -> None:
    """Stop before the run when the music folder is missing and should not be (see ``missing_folder_problem``)."""
    if settings.music_dir.is_dir():
        return
    problem = missing_folder_problem(
        str(settings.music_dir.expanduser().resolve()),
        known_files=_known_files(settings),
        must_exist=settings.music_dir_given,
    )
    if problem:
        raise UserError(problem)


def _known_files(settings: Settings) -> int:
    """Files the library knows in the music folder, read from the snapshot (never blocks a run)."""
    if not settings.snapshot_path.exists():
        return 0
    import duckdb

    from soulspot_pipeline.store.notebook import connect

    root = str(settings.music_dir.expanduser().resolve()).rstrip(os.sep) + os.sep
    conn = connect(settings.snapshot_path)
    try:
        return conn.execute(
            "SELECT count(*) FROM library.local_files WHERE NOT missing AND starts_with(path, ?)", [root]
        ).fetchall()[0][0]
    except duckdb.Error:  # an old or partial snapshot: the scan itself checks again
        return 0
    finally:
        conn.close()


def check_database_free(settings: Settings) -> None:
    """Stop before the run when another program holds the library database."""
    if not settings.duckdb_path.exists():
        return
    from soulspot_pipeline.store.database import DatabaseLockedError, connect_when_free

    try:
        connect_when_free(str(settings.duckdb_path), wait_s=settings.db_lock_wait_s, hint=LOCKED_HINT).close()
    except DatabaseLockedError as exc:
        raise UserError(str(exc)) from exc


LOCKED_HINT = (
    "Close that program (a notebook reads the library with soulspot_pipeline.connect(), never the main file), "
    "or wait for it, then run again."
)


def _recover_abandoned_runs() -> list[str]:
    # A run killed earlier would otherwise hold the duckdb pool and block this one forever.
    import dagster as dg

    from soulspot_pipeline.run_recovery import recover_abandoned_runs

    with dg.DagsterInstance.get() as instance:
        return recover_abandoned_runs(instance)


def ui(settings: Settings, host: str, port: int) -> int:
    env = instance_env(settings)
    home = Path(env["DAGSTER_HOME"])
    workspace = next((w for w in (home / "workspace.yaml", PROJECT_ROOT / "workspace.yaml") if w.exists()), None)
    command = [dagster_command(), "dev", "-h", host, "-p", str(port)]
    command += ["-w", str(workspace)] if workspace else ["-m", "soulspot_pipeline.definitions"]
    say(f"the Dagster UI at http://{host}:{port} (instance {home}); Ctrl-C stops it")
    # Started in DAGSTER_HOME: from the project folder, `dagster dev` would warn about its dagster.yaml.
    with Child(command, env=env, cwd=home) as child:
        code = child.wait()
    say("the UI stopped")
    return 0 if child.interrupted is not None else code


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
    refresh_parser = commands.add_parser("refresh", help="run the full library refresh (every phase) once")
    refresh_parser.add_argument(
        "--verbose", action="store_true", help="also show Dagster's event log live (it always goes to the log file)"
    )
    ui_parser = commands.add_parser("ui", help="open the Dagster UI with schedules and sensors running")
    ui_parser.add_argument("--host", default="127.0.0.1")
    ui_parser.add_argument("--port", type=int, default=3000)
    login_parser = commands.add_parser("spotify-login", help="log in to Spotify once (stores a refresh token)")
    login_parser.add_argument(
        "--no-browser", action="store_true", help="print the login URL and read the redirected URL from the terminal"
    )
    bench_parser = commands.add_parser(
        "bench",
        help="benchmark the scan and the merge, the decode check, the cloud import, the downloads' search budget, "
        "MusicBrainz identification, or a whole refresh",
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
        "--decode",
        type=int,
        default=None,
        help="instead: decode this many FLAC files of 3 to 5 minutes with the decode check, then again unchanged",
    )
    bench_parser.add_argument(
        "--pipeline",
        type=int,
        default=None,
        help="instead: `soulspot refresh` on this many files, cold then unchanged (see --runs), each phase timed",
    )
    bench_parser.add_argument("--runs", type=int, default=3, help="with --pipeline: the unchanged refreshes")
    bench_parser.add_argument(
        "--musicbrainz",
        type=int,
        default=None,
        help="instead: identify this many tracks without ISRC against the MusicBrainz stand-in (see --rate)",
    )
    bench_parser.add_argument(
        "--identify",
        type=int,
        default=None,
        help="instead: identify about this many tracks of whole albums (editions, decoys) against the "
        "MusicBrainz stand-in: requests made and how often right (see --kind, --rate)",
    )
    bench_parser.add_argument(
        "--kind",
        choices=("albums", "loose", "isrc", "mbid"),
        default="albums",
        help="with --identify: untagged album folders, loose untagged files, ISRC tags, or Picard's MBID tags",
    )
    bench_parser.add_argument(
        "--rate",
        type=float,
        default=50.0,
        help="with --musicbrainz or --identify: the requests per second the stand-in allows and the client keeps to",
    )
    bench_parser.add_argument(
        "--profile", type=Path, default=None, help="with --musicbrainz: write a cProfile of the first run here"
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
        try:
            from soulspot_pipeline.devkit.demo import run_demo
        except KeyboardInterrupt:
            return 130
        return run_demo(args.data_dir, ui=not args.no_ui, host=args.host, port=args.port)
    log_path = new_log_path(args.command)
    try:
        return run_command(args, log_path)
    except (UserError, SettingsError) as exc:
        log_exception(log_path, f"soulspot {args.command} stopped")
        print(f"soulspot {args.command}: {exc}\n(details in {log_path})", file=sys.stderr)
        return 2 if isinstance(exc, SettingsError) else 1
    except KeyboardInterrupt:  # before or after a run (during one, the run is stopped and told)
        print(f"soulspot {args.command}: stopped (Ctrl-C)", file=sys.stderr)
        return 130
    except Exception as exc:  # anything else: one line here, the traceback in the log
        log_exception(log_path, f"soulspot {args.command} failed")
        print(
            f"soulspot {args.command} failed: {type(exc).__name__}: {exc}\nThe traceback is in {log_path}",
            file=sys.stderr,
        )
        return 1


def run_command(args: argparse.Namespace, log_path: Path) -> int:
    settings = Settings.from_env()
    if args.command == "refresh":
        return refresh(settings, verbose=args.verbose, log_path=log_path)
    if args.command == "ui":
        return ui(settings, args.host, args.port)
    if args.command == "spotify-login":
        return spotify_login(settings, open_browser=not args.no_browser)
    from soulspot_pipeline.devkit.benchmark import (
        run_benchmark,
        run_cloud_benchmark,
        run_decode_benchmark,
        run_downloads_benchmark,
        run_musicbrainz_benchmark,
    )

    if args.decode:
        return run_decode_benchmark(args.decode, args.workers, directory=args.dir, keep=args.keep)
    if args.cloud_tracks:
        return run_cloud_benchmark(args.cloud_tracks, directory=args.dir)
    if args.pipeline:
        from soulspot_pipeline.devkit.pipeline_bench import run_pipeline_benchmark

        return run_pipeline_benchmark(args.pipeline, runs=args.runs, directory=args.dir, keep=args.keep)
    if args.identify:
        from soulspot_pipeline.devkit.identify_bench import run_identify_benchmark

        return run_identify_benchmark(args.identify, args.kind, args.rate, directory=args.dir, keep=args.keep)
    if args.musicbrainz:
        return run_musicbrainz_benchmark(args.musicbrainz, args.rate, directory=args.dir, profile=args.profile)
    if args.downloads:
        return run_downloads_benchmark(args.downloads, args.window, directory=args.dir)
    return run_benchmark(files=args.files, workers=args.workers, directory=args.dir, keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
