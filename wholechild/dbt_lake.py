"""A dbt-duckdb plugin: dbt's DuckDB connection reads the lake wherever it is.

The ``raw``/``ops``/``quarantine``/``pii`` views name the lake's files, so the connection
dbt opens must read them: natively for a directory, through the lake's fsspec filesystem
for an object store (``WHOLECHILD_LAKE=s3://...``). ``profiles.yml`` names this module in
the duckdb output's ``plugins``; it reads the same environment as every other wholechild
process (``WHOLECHILD_HOME``, ``WHOLECHILD_LAKE``, ``WHOLECHILD_LAKE_OPTIONS``).
"""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin

from wholechild import config


class Plugin(BasePlugin):
    def configure_connection(self, conn) -> None:
        config.paths().store.register(conn)
