"""The DuckDB warehouse: one writer at a time, views over the lake.

DuckDB lets one process write a database file (and a read-only connection in another
process blocks that writer too). Ingestion therefore never opens the warehouse; the short
view refresh and the dbt build take :func:`warehouse_lock`, an OS file lock that serializes
writers across processes (Dagster runs, the CLI, tests) and makes a second writer wait
instead of failing with a lock error.
"""

from __future__ import annotations

import glob
import re
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb
from filelock import FileLock, Timeout

from schemas import ENTITIES
from wholechild import lake
from wholechild.config import Paths
from wholechild.registry import Registry

DUCKDB_TYPES = {
    "string": "varchar",
    "date": "date",
    "boolean": "boolean",
    "bigint": "bigint",
    "double": "double",
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


def _empty_select(columns: list[tuple[str, str]]) -> str:
    cols = ", ".join(f"cast(null as {t}) as {quote_ident(n)}" for n, t in columns)
    return f"select {cols} where 1 = 0"


def entity_columns(entity: str) -> list[tuple[str, str]]:
    cols = [(n, DUCKDB_TYPES[c.type]) for n, c in ENTITIES[entity].columns.items()]
    cols += [(n, _arrow_to_duckdb(t)) for n, t in lake.BOOKKEEPING]
    return cols


def view_sql(con: duckdb.DuckDBPyConnection, pattern: str, columns: list[tuple[str, str]]) -> str:
    """A view over a Parquet glob with the columns in contract order, or an empty typed view.

    A contract column no file has yet (the contract grew) reads as NULL instead of
    breaking the view.
    """
    if not glob.glob(pattern):
        return _empty_select(columns)
    source = f"read_parquet({quote_literal(pattern)}, union_by_name = true)"
    present = {row[0] for row in con.execute(f"describe select * from {source}").fetchall()}
    cols = ", ".join(
        f"cast({quote_ident(n) if n in present else 'null'} as {t}) as {quote_ident(n)}"
        for n, t in columns
    )
    return f"select {cols} from {source}"


def sync_views(con: duckdb.DuckDBPyConnection, registry: Registry, paths: Paths) -> None:
    """(Re)create the raw, ops and quarantine views from the registry and the lake."""
    for schema in ("raw", "ops", "quarantine", "pii"):
        con.execute(f"create schema if not exists {schema}")
    for src in registry.sources.values():
        for entity in src.entities:
            pattern = lake.raw_pattern(paths, src.name, f"{entity}.parquet")
            name = quote_ident(f"{src.name}__{entity}")
            con.execute(
                f"create or replace view raw.{name} as {view_sql(con, pattern, entity_columns(entity))}"
            )
    ledger_cols = [(f.name, _arrow_to_duckdb(f.type)) for f in lake.LEDGER_SCHEMA]
    quarantine_cols = [(f.name, _arrow_to_duckdb(f.type)) for f in lake.QUARANTINE_SCHEMA]
    con.execute(
        "create or replace view ops.load_ledger as "
        + view_sql(con, lake.raw_pattern(paths, None, lake.LEDGER_FILE), ledger_cols)
    )
    con.execute(
        "create or replace view quarantine.rejected_rows as "
        + view_sql(con, lake.raw_pattern(paths, None, lake.QUARANTINE_FILE), quarantine_cols)
    )

    keys = paths.lake / "pii" / "student_keys.parquet"
    con.execute(
        "create or replace view pii.student_keys as "
        + view_sql(
            con,
            lake.literal_pattern(keys),
            [("district_id", "varchar"), ("student_key", "varchar")],
        )
    )


def _arrow_to_duckdb(t) -> str:
    s = str(t)
    if s.startswith("timestamp"):
        return "timestamptz"
    return {
        "string": "varchar",
        "int64": "bigint",
        "bool": "boolean",
        "double": "double",
        "date32[day]": "date",
    }[s]


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
