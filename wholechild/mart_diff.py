"""Row-for-row comparison of two builds of the same mart (DuckDB against Spark, a lake in
a bucket against the same lake on disk).

Two engines may order rows differently, spell an integer as int or bigint, and round the
last bit of a double differently; none of that is a different answer. Everything else
is: a missing or extra column, a different row count, a key or count that differs, a
rate further apart than ``tolerance``.
"""

from __future__ import annotations

import math
from pathlib import Path

import pyarrow as pa

TOLERANCE = 1e-9


def _is_float(t: pa.DataType) -> bool:
    return pa.types.is_floating(t) or pa.types.is_decimal(t)


def _normalize(table: pa.Table) -> pa.Table:
    """Integers as int64, decimals and floats as float64, timestamps as UTC microseconds."""
    columns = []
    for field in table.schema:
        col = table[field.name]
        t = field.type
        if pa.types.is_integer(t):
            col = col.cast(pa.int64())
        elif _is_float(t):
            col = col.cast(pa.float64())
        elif pa.types.is_timestamp(t):
            col = col.cast(pa.timestamp("us", tz="UTC"))
        elif pa.types.is_large_string(t):
            col = col.cast(pa.string())
        columns.append(col)
    return pa.table(columns, names=table.column_names)


def _sorted_rows(table: pa.Table, exact: list[str], floats: list[str]) -> list[tuple]:
    """Rows sorted by the ``exact`` columns, then by the ``floats`` rounded to 7 places, so
    the order of two builds agrees whenever their values do. Both tables are sorted by the
    expected table's split of columns (a column all NULL in one build has no float type
    there). Rows equal in every exact column whose floats straddle a rounding edge at the
    7th place could still sort apart; no mart has such twins."""
    rows = table.select(exact + floats).to_pylist()

    def key(row: dict) -> tuple:
        parts = []
        for name in exact:
            value = row[name]
            parts.append((value is None, "" if value is None else str(value)))
        for name in floats:
            value = row[name]
            bad = value is None or math.isnan(value)
            parts.append((bad, 0.0 if bad else round(value, 7)))
        return tuple(parts)

    return [tuple(r[n] for n in exact + floats) for r in sorted(rows, key=key)]


def _same(a, b, tolerance: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return abs(a - b) <= tolerance
    return a == b


def differences(
    name: str, expected: pa.Table, actual: pa.Table, tolerance: float = TOLERANCE, limit: int = 5
) -> list[str]:
    """Sentences describing how ``actual`` differs from ``expected`` (empty when equal)."""
    if sorted(expected.column_names) != sorted(actual.column_names):
        missing = sorted(set(expected.column_names) - set(actual.column_names))
        extra = sorted(set(actual.column_names) - set(expected.column_names))
        return [f"{name}: columns differ (missing {missing}, extra {extra})"]
    if expected.num_rows != actual.num_rows:
        return [f"{name}: {actual.num_rows} rows, expected {expected.num_rows}"]
    expected = _normalize(expected)
    actual = _normalize(actual.select(expected.column_names))
    kinds = {f.name: (_is_float(f.type), f.type) for f in expected.schema}
    for field in actual.schema:
        if pa.types.is_null(field.type) or pa.types.is_null(kinds[field.name][1]):
            continue
        if _is_float(field.type) != kinds[field.name][0]:
            return [f"{name}.{field.name}: type {field.type}, expected {kinds[field.name][1]}"]
    exact = [f.name for f in expected.schema if not _is_float(f.type)]
    floats = [f.name for f in expected.schema if _is_float(f.type)]
    order = exact + floats
    found = []
    for i, (row_e, row_a) in enumerate(
        zip(
            _sorted_rows(expected, exact, floats),
            _sorted_rows(actual, exact, floats),
            strict=True,
        )
    ):
        for column, a, b in zip(order, row_e, row_a, strict=True):
            if not _same(a, b, tolerance):
                found.append(f"{name}: sorted row {i}, column {column}: {b!r}, expected {a!r}")
                break
        if len(found) >= limit:
            break
    return found


def warehouse_marts(warehouse: Path) -> dict[str, pa.Table]:
    """Every table or view of a warehouse's ``marts`` schema, by name (read-only)."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'marts' order by 1"
            ).fetchall()
        ]
        return {n: con.sql(f'select * from marts."{n}"').to_arrow_table() for n in names}
