"""DuckDB: schema, migrations, connections and the notebook read path."""
