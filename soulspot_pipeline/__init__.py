"""soulspot-pipeline: a self-hosted music library, materialized by Dagster into DuckDB."""


def connect(snapshot=None):
    """Open the newest library snapshot read-only; see ``soulspot_pipeline.store.notebook``."""
    from soulspot_pipeline.store.notebook import connect as _connect

    return _connect(snapshot)


__all__ = ["connect"]
