"""The Parquet lake: every delivery becomes one directory, published by one rename.

Layout (see docs/ARCHITECTURE.md)::

    lake/raw/<source>/<delivery_id>/<entity>.parquet    published rows + bookkeeping columns
    lake/raw/<source>/<delivery_id>/_quarantine.parquet rows that broke a rule, with the rule
    lake/raw/<source>/<delivery_id>/_ledger.parquet     one row: what happened to the delivery

Files are written under ``lake/_incoming/<delivery_id>/`` first and the directory is then
renamed into place, so a reader (or a crash) sees a delivery entirely or not at all. A crash
leaves at most an unpublished directory under ``_incoming``; the next delivery sweeps it away
once it is older than :data:`STALE_INCOMING_SECONDS`.

Test hooks (never set them in production): ``WHOLECHILD_TEST_PAUSE_BEFORE_COMMIT`` and
``WHOLECHILD_TEST_PAUSE_AFTER_COMMIT`` are seconds :func:`commit` sleeps just before and just
after its rename, so ``tests/test_faults.py`` can kill a process at a known point.
"""

from __future__ import annotations

import glob
import os
import shutil
import threading
import time
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from schemas import ENTITIES
from wholechild.config import Paths

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
    ]
)

LEDGER_FILE = "_ledger.parquet"
QUARANTINE_FILE = "_quarantine.parquet"

#: An ``_incoming`` directory untouched this long belongs to a process that died mid-publish.
#: Generous on purpose: a live writer touches its directory with every file it adds.
STALE_INCOMING_SECONDS = 6 * 3600.0

PAUSE_BEFORE_COMMIT = "WHOLECHILD_TEST_PAUSE_BEFORE_COMMIT"
PAUSE_AFTER_COMMIT = "WHOLECHILD_TEST_PAUSE_AFTER_COMMIT"


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


def write_parquet(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd")
    with path.open("rb") as fh:
        os.fsync(fh.fileno())


def incoming_dir(paths: Paths, delivery_id: str) -> Path:
    d = paths.lake_staging / delivery_id
    if d.exists():
        shutil.rmtree(d)  # leftovers of a crashed attempt: never published, safe to drop
    sweep_incoming(paths)
    d.mkdir(parents=True)
    return d


def _last_touched(d: Path) -> float:
    stamps = [d.stat().st_mtime]
    stamps += [p.stat().st_mtime for p in d.iterdir()]
    return max(stamps)


def sweep_incoming(paths: Paths, older_than: float = STALE_INCOMING_SECONDS) -> list[Path]:
    """Remove ``_incoming`` directories of publishes that died (never renamed into the lake).

    Nothing in them was ever visible: the ledger has no row for them, so their deliveries are
    still in the landing zone and run again. Returns what was removed.
    """
    if not paths.lake_staging.is_dir():
        return []
    now = time.time()
    removed = []
    for d in paths.lake_staging.iterdir():
        try:
            if d.is_dir() and not d.is_symlink() and now - _last_touched(d) >= older_than:
                shutil.rmtree(d)
                removed.append(d)
        except OSError:  # renamed into the lake or swept by another process meanwhile:
            continue  # housekeeping never fails a publish
    return removed


def _test_pause(variable: str) -> None:
    """The fault tests' hook (see the module docstring); a no-op unless the variable is set."""
    seconds = os.environ.get(variable)
    if seconds:
        time.sleep(float(seconds))


def commit(paths: Paths, source: str, delivery_id: str) -> Path:
    """Publish a finished delivery directory with one atomic rename."""
    src = paths.lake_staging / delivery_id
    dest_parent = paths.lake_raw / source
    dest_parent.mkdir(parents=True, exist_ok=True)
    dest = dest_parent / delivery_id
    fd = os.open(src, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    _test_pause(PAUSE_BEFORE_COMMIT)
    os.rename(src, dest)
    fd = os.open(dest_parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    _test_pause(PAUSE_AFTER_COMMIT)
    return dest


def raw_pattern(paths: Paths, source: str | None, file: str) -> str:
    """The glob of one file name in every delivery of a source (or of all sources).

    The home path is escaped, so a ``WHOLECHILD_HOME`` such as ``/srv/district [test]`` is
    matched literally by Python and DuckDB alike (both read ``[[]`` as a literal ``[``);
    unescaped, the lake would look empty and every delivery would load again.
    """
    source_part = "*" if source is None else glob.escape(source)
    return f"{glob.escape(str(paths.lake_raw))}/{source_part}/*/{glob.escape(file)}"


def literal_pattern(path: Path) -> str:
    """One file as a glob that matches exactly it, whatever characters its path holds."""
    return glob.escape(str(path))


def has_files(pattern: str) -> bool:
    return bool(glob.glob(pattern))


#: Ledger files already read by this process: (path, inode, mtime, size) -> its rows. A
#: published delivery directory never changes (it appears by one rename), so a file is
#: read once; the glob still runs on every call, so new and removed deliveries show.
_LEDGER_CACHE: dict[tuple[str, int, int, int], pa.Table] = {}
_LEDGER_CACHE_LOCK = threading.Lock()


def read_ledger(paths: Paths, source: str | None = None) -> pd.DataFrame:
    """Every ledger row of one source (or all), oldest first; empty frame if none.

    Each delivery's ``_ledger.parquet`` is read once per process (see ``_LEDGER_CACHE``):
    the duplicate check runs for every delivery under its source's lock, and re-reading
    every earlier ledger each time made it O(deliveries) per delivery.
    """
    files = sorted(glob.glob(raw_pattern(paths, source, LEDGER_FILE)))
    tables = []
    for file in files:
        try:
            st = os.stat(file)
        except FileNotFoundError:  # its delivery directory was removed meanwhile
            continue
        key = (file, st.st_ino, st.st_mtime_ns, st.st_size)
        with _LEDGER_CACHE_LOCK:
            table = _LEDGER_CACHE.get(key)
        if table is None:
            table = pq.read_table(file)
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
    pattern = raw_pattern(paths, source, QUARANTINE_FILE)
    if not has_files(pattern):
        return QUARANTINE_SCHEMA.empty_table().to_pandas()
    with duckdb.connect() as con:
        return con.execute("select * from read_parquet(?, union_by_name = true)", [pattern]).df()


def read_published(paths: Paths, source: str, entity: str) -> pd.DataFrame:
    """Every published row (all deliveries) of one source and entity."""
    pattern = raw_pattern(paths, source, f"{entity}.parquet")
    if not has_files(pattern):
        return entity_schema(entity).empty_table().to_pandas()
    with duckdb.connect() as con:
        return con.execute("select * from read_parquet(?, union_by_name = true)", [pattern]).df()


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
