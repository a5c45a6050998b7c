"""The notebook read path: a read-only copy of the library published atomically.

DuckDB lets one process write a file or many read it, never both, so a notebook holding
the main database open would stall the pipeline. Instead every write publishes a
snapshot: the checkpointed database is copied to a temporary file beside the snapshot,
verified, fsynced and renamed over it. A notebook that holds the old snapshot open keeps
its file (the rename swaps the directory entry, not the open inode); ``connect()`` again
to see the newest data.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import duckdb


def publish_snapshot(database: Path, snapshot: Path) -> None:
    """Copy a checkpointed, write-locked database to ``snapshot`` atomically.

    The caller must hold the database's write connection (so no one else can write
    during the copy) and must have run ``CHECKPOINT`` (so the file is self-contained).
    """
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{snapshot.name}.", suffix=".tmp", dir=snapshot.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, open(database, "rb") as src:
            shutil.copyfileobj(src, out, length=4 * 1024 * 1024)
            out.flush()
            os.fsync(out.fileno())
        # A snapshot that does not open must never replace a good one.
        duckdb.connect(str(tmp), read_only=True).close()
        os.chmod(tmp, 0o644)
        os.replace(tmp, snapshot)
    finally:
        tmp.unlink(missing_ok=True)
