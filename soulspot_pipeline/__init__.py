"""soulspot-pipeline: a self-hosted music library, materialized by Dagster into DuckDB."""


def connect(snapshot=None, *, data_dir=None):
    """Open the newest library snapshot read-only (in ``data_dir``, else ``SOULSPOT_DATA_DIR`` or ./data)."""
    from soulspot_pipeline.store.notebook import connect as _connect

    return _connect(snapshot, data_dir=data_dir)


__all__ = ["connect"]
