"""``connect()``: ad-hoc SQL on the library from a notebook, without ever blocking a run."""

from __future__ import annotations

from pathlib import Path

import duckdb

from soulspot_pipeline.settings import Settings


def connect(snapshot: str | Path | None = None) -> duckdb.DuckDBPyConnection:
    """Open the newest published snapshot of the library, read-only.

    The connection may stay open for as long as you like: runs go on writing the main
    database and publish new snapshots beside it. Call ``connect()`` again for newer data.
    """
    path = Path(snapshot) if snapshot else Settings.from_env().snapshot_path
    if not path.exists():
        raise FileNotFoundError(
            f"no library snapshot at {path}: run the pipeline once (soulspot refresh) "
            "or point SOULSPOT_DATA_DIR / SOULSPOT_SNAPSHOT_PATH at your data folder"
        )
    # An in-memory session that attaches the file: duckdb.connect(path) would hand back
    # the process's cached instance of an older snapshot still held open elsewhere.
    conn = duckdb.connect(":memory:")
    conn.execute("ATTACH ? AS soulspot (READ_ONLY)", [str(path)])
    conn.execute("USE soulspot")
    return conn
