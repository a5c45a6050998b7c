"""``connect()``: ad-hoc SQL on the library from a notebook, without ever blocking a run."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from soulspot_pipeline.settings import Settings


def connect(snapshot: str | Path | None = None, *, data_dir: str | Path | None = None) -> duckdb.DuckDBPyConnection:
    """Open the newest published snapshot of the library, read-only.

    The snapshot is found in ``data_dir`` (the folder a refresh wrote, e.g. ``/srv/soulspot/data``),
    else as the settings say (``SOULSPOT_DATA_DIR``, by default ``./data``); ``snapshot`` names
    the file itself. The connection may stay open for as long as you like: runs go on
    writing the main database and publish new snapshots beside it. Call ``connect()``
    again for newer data.
    """
    if snapshot:
        path, looked = Path(snapshot), "the file given"
    elif data_dir:
        env = {"SOULSPOT_DATA_DIR": str(Path(data_dir).expanduser().resolve())}
        path, looked = Settings.from_env(env).snapshot_path, f"data folder {env['SOULSPOT_DATA_DIR']}"
    else:
        settings = Settings.from_env()
        path = settings.snapshot_path
        source = "SOULSPOT_DATA_DIR" if os.environ.get("SOULSPOT_DATA_DIR", "").strip() else "the default, ./data"
        looked = f"data folder {settings.data_dir} ({source})"
    if not path.exists():
        raise FileNotFoundError(
            f"no library snapshot at {path} (looked in {looked}): run the pipeline once "
            "(python3 run.py refresh), or say where its data is: connect(data_dir='/path/to/data')"
        )
    # An in-memory session that attaches the file: duckdb.connect(path) would hand back
    # the process's cached instance of an older snapshot still held open elsewhere.
    conn = duckdb.connect(":memory:")
    conn.execute("ATTACH ? AS soulspot (READ_ONLY)", [str(path)])
    conn.execute("USE soulspot")
    return conn
