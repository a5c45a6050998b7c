"""Pure logic over plain data: no I/O, no Dagster, no DuckDB."""
