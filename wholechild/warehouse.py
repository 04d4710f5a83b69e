"""The DuckDB warehouse: one writer at a time, views over the lake.

DuckDB lets one process write a database file (and a read-only connection in another
process blocks that writer too). Ingestion therefore never opens the warehouse; the short
view refresh and the dbt build take :func:`warehouse_lock`, an OS file lock that serializes
writers across processes (Dagster runs, the CLI, tests) and makes a second writer wait
instead of failing with a lock error.
"""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
from filelock import FileLock, Timeout

from schemas import ENTITIES
from wholechild import identity, lake
from wholechild.config import Paths
from wholechild.registry import Registry

DUCKDB_TYPES = {
    "string": "varchar",
    "date": "date",
    "boolean": "boolean",
    "bigint": "bigint",
    "double": "double",
    "timestamp": "timestamptz",
}
LOCK_TIMEOUT_SECONDS = 1800


class WarehouseBusy(RuntimeError):
    pass


@contextmanager
def warehouse_lock(paths: Paths, timeout: float = LOCK_TIMEOUT_SECONDS):
    paths.locks.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(paths.locks / "warehouse.lock"))
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        raise WarehouseBusy(
            f"{paths.warehouse}: another wholechild process has held the warehouse for "
            f"{timeout:.0f}s; wait for it to finish or stop it."
        ) from None
    try:
        yield
    finally:
        lock.release()


def connect_writer(paths: Paths, retries: int = 30, wait: float = 1.0) -> duckdb.DuckDBPyConnection:
    """Open the warehouse for writing, retrying while an outside reader holds it.

    A read-only connection in another process (an analyst's notebook, a BI tool) blocks a
    writer. We wait ``retries`` x ``wait`` seconds for it to go, then fail with
    :class:`WarehouseBusy` in one sentence naming the holder; no write has happened then.
    """
    started = time.monotonic()
    for attempt in range(retries):
        try:
            return duckdb.connect(str(paths.warehouse))
        except duckdb.IOException as exc:
            if attempt == retries - 1:
                if not _is_lock_conflict(exc):
                    raise
                raise WarehouseBusy(
                    f"{paths.warehouse}: another process{_holder(exc)} has kept the warehouse "
                    f"open for {time.monotonic() - started:.0f}s, so it cannot be written; close "
                    "that connection (analysts read share/ or analytics.duckdb) and run again."
                ) from None
            time.sleep(wait)
    raise ValueError(f"connect_writer needs at least one attempt, not {retries}")


_HOLDER = re.compile(r"held in (?P<program>\S+) \(PID (?P<pid>\d+)\)")


def _is_lock_conflict(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text and ("conflicting" in text or "could not set" in text)


def _holder(exc: Exception) -> str:
    match = _HOLDER.search(str(exc))
    if match is None:
        return ""
    return f" ({Path(match['program']).name}, PID {match['pid']})"


def quote_ident(name: str) -> str:
    """Quote an identifier; names come from validated YAML, quoting is the second fence."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class LakeRelation:
    """One relation dbt reads from the lake: ``schema.name`` over the Parquet files of
    ``scan`` (a glob or a list of URLs; None: no file yet), with ``columns`` as (name,
    logical type) in contract order. ``bookkeeping`` marks the per-delivery
    ``_``-prefixed files (ledger, quarantine)."""

    schema: str
    name: str
    scan: lake.Scan
    columns: list[tuple[str, str]]
    bookkeeping: bool = False


#: The schemas of :func:`lake_relations`.
LAKE_SCHEMAS = ("raw", "ops", "quarantine", "pii")


def logical_type(t: pa.DataType) -> str:
    """The logical type (schemas/_base.py LOGICAL_TYPES, plus ``timestamp``) of an Arrow
    type of the lake's own files."""
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_date32(t):
        return "date"
    return {"string": "string", "int64": "bigint", "bool": "boolean", "double": "double"}[str(t)]


def lake_relations(registry: Registry, paths: Paths) -> list[LakeRelation]:
    """Every relation over the lake, for any engine: one ``raw.<source>__<entity>`` per
    source and entity, ``ops.load_ledger``, ``quarantine.rejected_rows`` and
    ``pii.student_keys``. DuckDB (:func:`sync_views`) and Spark
    (``wholechild.spark_engine.sync_views``) each turn the same list into their SQL."""
    bookkeeping = [(n, logical_type(t)) for n, t in lake.BOOKKEEPING]
    store = paths.store
    out = [
        LakeRelation(
            "raw",
            f"{src.name}__{entity}",
            store.scan(src.name, f"{entity}.parquet"),
            [(n, c.type) for n, c in ENTITIES[entity].columns.items()] + bookkeeping,
        )
        for src in registry.sources.values()
        for entity in src.entities
    ]
    for schema, name, file, arrow_schema in (
        ("ops", "load_ledger", lake.LEDGER_FILE, lake.LEDGER_SCHEMA),
        ("quarantine", "rejected_rows", lake.QUARANTINE_FILE, lake.QUARANTINE_SCHEMA),
    ):
        columns = [(f.name, logical_type(f.type)) for f in arrow_schema]
        out.append(LakeRelation(schema, name, store.scan(None, file), columns, bookkeeping=True))
    keys = store.scan_one(identity.keys_url(paths))
    out.append(
        LakeRelation(
            "pii", "student_keys", keys, [("district_id", "string"), ("student_key", "string")]
        )
    )
    return out


def typed_select(
    columns: list[tuple[str, str]], present: set[str] | None, source: str | None, quote
) -> str:
    """``select cast(<column or null> as <type>) as <column>, ...`` in the given order:
    ``from source`` when there is one, else a zero-row relation of the same types. A column
    not in ``present`` (the contract grew after the files were written) reads as NULL.
    ``columns`` are (name, engine type); ``quote`` quotes an identifier for the engine."""
    if source is None:
        cols = ", ".join(f"cast(null as {t}) as {quote(n)}" for n, t in columns)
        return f"select {cols} where 1 = 0"
    cols = ", ".join(
        f"cast({quote(n) if n in (present or set()) else 'null'} as {t}) as {quote(n)}"
        for n, t in columns
    )
    return f"select {cols} from {source}"


def view_sql(
    con: duckdb.DuckDBPyConnection, scan: lake.Scan, columns: list[tuple[str, str]]
) -> str:
    """A view over a scan's Parquet files with the columns in contract order, or an empty
    typed view when it has none.

    A contract column no file has yet (the contract grew) reads as NULL instead of
    breaking the view. ``columns`` are (name, DuckDB type). A glob keeps the view live;
    a list of URLs (an object-store lake) fixes it to the deliveries committed now.
    """
    if scan is None:
        return typed_select(columns, None, None, quote_ident)
    source = f"read_parquet({lake.scan_sql(scan)}, union_by_name = true)"
    present = {row[0] for row in con.execute(f"describe select * from {source}").fetchall()}
    return typed_select(columns, present, source, quote_ident)


def sync_views(con: duckdb.DuckDBPyConnection, registry: Registry, paths: Paths) -> None:
    """(Re)create the raw, ops, quarantine and pii views from the registry and the lake."""
    paths.store.register(con)
    for schema in LAKE_SCHEMAS:
        con.execute(f"create schema if not exists {schema}")
    for rel in lake_relations(registry, paths):
        columns = [(n, DUCKDB_TYPES[t]) for n, t in rel.columns]
        con.execute(
            f"create or replace view {rel.schema}.{quote_ident(rel.name)} as "
            + view_sql(con, rel.scan, columns)
        )


def refresh(registry: Registry, paths: Paths) -> Path:
    """Take the lock, refresh the views, release (for callers that do not build)."""
    paths.ensure()
    with warehouse_lock(paths):
        con = connect_writer(paths)
        try:
            sync_views(con, registry, paths)
        finally:
            con.close()
    return paths.warehouse
