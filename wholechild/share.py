"""The analyst share: analyst-safe marts as Parquet, and a DuckDB file of views over them.

DuckDB has no grants, so the boundary is which files a person can read: analysts get
``$WHOLECHILD_HOME/share/`` and ``analytics.duckdb``; the warehouse (with its raw and
staging layers) and ``pii.duckdb`` stay with the data team. Stewardship marts that must
show source ids (``mart_unmatched_records``) are never copied here.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from wholechild.config import Paths
from wholechild.lake_store import literal_pattern
from wholechild.warehouse import quote_ident, quote_literal

#: Marts that must never leave the warehouse (they carry source ids for stewards).
NOT_SHARED = frozenset({"mart_unmatched_records"})


def shared_marts(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = 'marts' "
        "order by table_name"
    ).fetchall()
    return [r[0] for r in rows if r[0] not in NOT_SHARED]


def export_share(con: duckdb.DuckDBPyConnection, paths: Paths) -> list[Path]:
    """Copy every shareable mart to ``share/<mart>.parquet`` (atomically) and rebuild
    ``analytics.duckdb`` with one view per file. ``con`` is the warehouse writer."""
    paths.share.mkdir(parents=True, exist_ok=True)
    written = []
    for name in shared_marts(con):
        dest = paths.share / f"{name}.parquet"
        tmp = paths.share / f".{name}.parquet.tmp"
        con.execute(
            f"copy (select * from marts.{quote_ident(name)}) to {quote_literal(str(tmp))} "
            "(format parquet, compression zstd)"
        )
        os.replace(tmp, dest)
        written.append(dest)
    for stale in paths.share.glob("*.parquet"):
        if stale not in written:
            stale.unlink()
    tmp_db = paths.analytics.with_suffix(".duckdb.tmp")
    tmp_db.unlink(missing_ok=True)
    with duckdb.connect(str(tmp_db)) as acon:
        for f in written:
            source = quote_literal(literal_pattern(f))
            acon.execute(
                f"create view {quote_ident(f.stem)} as select * from read_parquet({source})"
            )
    os.replace(tmp_db, paths.analytics)
    return written
