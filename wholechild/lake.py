"""The Parquet lake: every delivery becomes one folder, published atomically.

Layout (see docs/ARCHITECTURE.md)::

    lake/raw/<source>/<delivery_id>/<entity>.parquet    published rows + bookkeeping columns
    lake/raw/<source>/<delivery_id>/_quarantine.parquet rows that broke a rule, with the rule
    lake/raw/<source>/<delivery_id>/_ledger.parquet     one row: what happened to the delivery

A reader (or a crash) sees a delivery entirely or not at all: on a filesystem its directory
is renamed into place, on an object store its ledger is uploaded last as the commit marker
(:mod:`wholechild.lake_store`, reached as ``paths.store``). This module holds what the lake
means: the files' schemas, and the published rows as staging will see them.
"""

from __future__ import annotations

import threading

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas import ENTITIES
from wholechild import lake_store
from wholechild.config import Paths
from wholechild.lake_store import Scan

ARROW_TYPES = {
    "string": pa.string(),
    "date": pa.date32(),
    "boolean": pa.bool_(),
    "bigint": pa.int64(),
    "double": pa.float64(),
}

BOOKKEEPING = [
    ("_delivery_id", pa.string()),
    ("_source", pa.string()),
    ("_row_number", pa.int64()),
    ("_applied_at", pa.string()),
    ("_is_deleted", pa.bool_()),
]

QUARANTINE_SCHEMA = pa.schema(
    [
        ("delivery_id", pa.string()),
        ("source", pa.string()),
        ("entity", pa.string()),
        ("row_number", pa.int64()),
        ("rule", pa.string()),
        ("column_name", pa.string()),
        ("value", pa.string()),
        ("record", pa.string()),
        ("message", pa.string()),
    ]
)

LEDGER_SCHEMA = pa.schema(
    [
        ("delivery_id", pa.string()),
        ("source", pa.string()),
        ("file_name", pa.string()),
        ("sha256", pa.string()),
        ("received_at", pa.timestamp("us", tz="UTC")),
        ("rows_read", pa.int64()),
        ("rows_published", pa.int64()),
        ("rows_quarantined", pa.int64()),
        ("status", pa.string()),
        ("reason", pa.string()),
        ("entities", pa.string()),
        ("applied_at", pa.string()),
        # Rows in the delivery's entity files (a record read can publish several rows:
        # an unpivot, a behavior record's actions); `wholechild check-lake` counts them
        # again. NULL in ledgers written before it existed.
        ("rows_written", pa.int64()),
    ]
)

LEDGER_FILE = lake_store.LEDGER_FILE
QUARANTINE_FILE = lake_store.QUARANTINE_FILE


def entity_schema(entity: str) -> pa.Schema:
    cols = ENTITIES[entity].columns
    return pa.schema([(n, ARROW_TYPES[c.type]) for n, c in cols.items()] + BOOKKEEPING)


def entity_table(entity: str, frame: pd.DataFrame) -> pa.Table:
    """A published frame as Arrow with the contract's exact types (dates as date32).

    Columns go to Arrow as whole arrays (pandas' masked and Arrow-backed columns convert
    without a Python object per value); a column that will not (an unexpected dtype)
    takes the value-by-value path, which gives the same result.
    """
    schema = entity_schema(entity)
    return pa.Table.from_arrays(
        [_arrow_column(frame[f.name], f.type) for f in schema], schema=schema
    )


def _arrow_column(s: pd.Series, type_: pa.DataType) -> pa.Array:
    try:
        if pa.types.is_date32(type_):
            if not pd.api.types.is_datetime64_dtype(s.dtype):
                raise TypeError(s.dtype)
            stamps = pa.array(s, type=pa.timestamp("ns"), from_pandas=True)
            return pc.cast(stamps, type_, safe=False)  # the day, as .dt.date gives it
        if pa.types.is_string(type_) and not (
            isinstance(s.dtype, pd.StringDtype) or s.dtype == object
        ):
            raise TypeError(s.dtype)  # numbers would be refused; keep the old path's error
        return pa.array(s, type=type_, from_pandas=True)
    except (TypeError, ValueError, pa.ArrowException):
        if pa.types.is_date32(type_):
            return pa.array(s.dt.date.where(s.notna(), None), type=type_)
        return pa.array(s.astype(object).where(s.notna(), None).tolist(), type=type_)


def publish_delivery(
    paths: Paths, source: str, delivery_id: str, files: dict[str, pa.Table], ledger: pa.Table
) -> str:
    """Publish one delivery's files and its ledger row, atomically (see
    :mod:`wholechild.lake_store` for how each kind of storage does it); returns its folder."""
    store = paths.store
    # Only an object store's sweep needs them; a directory's publish lists no archive.
    filed = frozenset() if store.is_local else filed_away(paths, source)
    writer = store.open_delivery(source, delivery_id, filed)
    for name, table in files.items():
        writer.write(name, table)
    return writer.commit(ledger)


def filed_away(paths: Paths, source: str) -> frozenset[str]:
    """Delivery ids of the source whose landed file went to ``archive/`` or ``rejected/``:
    every one was published (the file is filed away after its ledger is written)."""
    ids: set[str] = set()
    for root in (paths.archive, paths.rejected):
        folder = root / source
        if folder.is_dir():
            ids.update(p.name for p in folder.iterdir())
    return frozenset(ids)


def connect(paths: Paths) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection that can read the lake's files."""
    return paths.store.register(duckdb.connect())


def scan_sql(scan: Scan) -> str:
    """A :data:`Scan` as the first argument of ``read_parquet``: a quoted glob, or a list."""
    if scan is None:
        raise ValueError("nothing to read: check the scan for None first")
    if isinstance(scan, str):
        return _quote(scan)
    return "[" + ", ".join(_quote(u) for u in scan) + "]"


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


#: Ledger files already read by this process: (url, *stamp) -> its rows. A published
#: delivery never changes (it appears in one atomic step), so a file is read once; the lake
#: is still listed on every call, so new and removed deliveries show.
_LEDGER_CACHE: dict[tuple, pa.Table] = {}
_LEDGER_CACHE_LOCK = threading.Lock()


def read_ledger(paths: Paths, source: str | None = None) -> pd.DataFrame:
    """Every ledger row of one source (or all), oldest first; empty frame if none.

    Each delivery's ``_ledger.parquet`` is read once per process (see ``_LEDGER_CACHE``):
    the duplicate check runs for every delivery under its source's lock, and re-reading
    every earlier ledger each time made it O(deliveries) per delivery.
    """
    tables = []
    for file in paths.store.files(source, LEDGER_FILE):
        key = (file.url, *file.stamp)
        with _LEDGER_CACHE_LOCK:
            table = _LEDGER_CACHE.get(key)
        if table is None:
            try:
                table = paths.store.read_table(file.url)
            except FileNotFoundError:  # its delivery was removed meanwhile
                continue
            with _LEDGER_CACHE_LOCK:
                _LEDGER_CACHE[key] = table
        tables.append(table)
    if not tables:
        return LEDGER_SCHEMA.empty_table().to_pandas()
    frame = pa.concat_tables(tables, promote_options="permissive").to_pandas()
    return frame.sort_values(
        ["received_at", "delivery_id"], kind="stable", na_position="last"
    ).reset_index(drop=True)


def read_quarantine(paths: Paths, source: str | None = None) -> pd.DataFrame:
    return _read_all(paths, paths.store.scan(source, QUARANTINE_FILE), QUARANTINE_SCHEMA)


def read_published(paths: Paths, source: str, entity: str) -> pd.DataFrame:
    """Every published row (all deliveries) of one source and entity."""
    scan = paths.store.scan(source, f"{entity}.parquet")
    return _read_all(paths, scan, entity_schema(entity))


def _read_all(paths: Paths, scan: Scan, schema: pa.Schema) -> pd.DataFrame:
    """Every row of the files of a scan, or an empty frame of ``schema`` when none."""
    if scan is None:
        return schema.empty_table().to_pandas()
    with connect(paths) as con:
        return con.execute(
            f"select * from read_parquet({scan_sql(scan)}, union_by_name = true)"
        ).df()


def current_rows(paths: Paths, source: str, entity: str, mode: str) -> pd.DataFrame:
    """The published state as staging will see it: latest delivery wins (see dbt staging)."""
    return apply_current_rule(read_published(paths, source, entity), entity, mode)


def apply_current_rule(rows: pd.DataFrame, entity: str, mode: str) -> pd.DataFrame:
    """Which published rows are current, as dbt staging decides (macros/current_rows.sql):
    a snapshot source's latest delivery, or an incremental source's latest row per key
    (by ``_applied_at``, ``_delivery_id``, ``_row_number``); tombstones drop out."""
    if rows.empty:
        return rows
    if mode == "snapshot":
        rows = rows[rows["_applied_at"] == rows["_applied_at"].max()]
    else:
        rows = rows.sort_values(["_applied_at", "_delivery_id", "_row_number"])
        rows = rows.drop_duplicates(subset=list(ENTITIES[entity].key), keep="last")
    return rows[~rows["_is_deleted"].fillna(False)].reset_index(drop=True)
