"""Parquet deliveries: typed columns back to text, so every format reaches the contracts alike.

The contracts do the casting (and quarantine what fails); a reader that kept Parquet's
types would give Parquet sources a second, different set of casting rules.
"""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from wholechild.readers.errors import DeliveryRejected
from wholechild.readers.table import RawTable, finish, header_names

_ZERO_FRACTION = r"\.0+($|[+-])"  # "08:00:00.000000" -> "08:00:00", as a person writes it


def _floats(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Shortest round-trip text, but never an exponent: "1e+20" is not how ids are written."""
    text = pc.cast(column, pa.string())
    exponent = pc.fill_null(pc.match_substring(text, "e"), False)
    if not pc.any(exponent).as_py():
        return text
    values = text.to_pylist()
    for i in np.flatnonzero(np.asarray(exponent.to_numpy(zero_copy_only=False), dtype=bool)):
        with contextlib.suppress(InvalidOperation):  # "nan", "inf" stay as they are
            values[i] = format(Decimal(values[i]), "f")
    return pa.chunked_array([pa.array(values, pa.string())])


def _timestamps(column: pa.ChunkedArray) -> pa.ChunkedArray:
    zoned = column.type.tz is not None
    stamp = pc.strftime(column, "%Y-%m-%dT%H:%M:%S" + ("%z" if zoned else ""))
    stamp = pc.replace_substring_regex(stamp, _ZERO_FRACTION, r"\1")
    if zoned:
        return stamp
    midnight = pc.equal(column, pc.floor_temporal(column, unit="day"))
    return pc.if_else(midnight, pc.strftime(column, "%Y-%m-%d"), stamp)


def column_text(column: pa.ChunkedArray, name: str, file: Path) -> pa.ChunkedArray:
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = pc.cast(column, kind.value_type)
        kind = column.type
    if pa.types.is_null(kind):
        return pa.chunked_array([pa.nulls(len(column), pa.string())])
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return pc.cast(column, pa.string())
    if pa.types.is_boolean(kind) or pa.types.is_integer(kind) or pa.types.is_decimal(kind):
        return pc.cast(column, pa.string())
    if pa.types.is_floating(kind):
        return _floats(column)
    if pa.types.is_date(kind):
        return pc.cast(column, pa.string())
    if pa.types.is_timestamp(kind):
        return _timestamps(column)
    if pa.types.is_time(kind):
        return pc.replace_substring_regex(pc.cast(column, pa.string()), _ZERO_FRACTION, r"\1")
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        try:
            return pc.cast(column, pa.string())
        except pa.ArrowInvalid:
            raise DeliveryRejected(
                "encoding",
                f"{file.name}: column '{name}' holds bytes that are not valid utf-8; ask the "
                "sender to write text columns as UTF-8 strings.",
            ) from None
    try:
        return pc.cast(column, pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        values = [
            None if v is None else json.dumps(v, default=str, ensure_ascii=False)
            for v in column.to_pylist()
        ]
        return pa.chunked_array([pa.array(values, pa.string())])


def read_parquet(path: Path, options: dict | None = None) -> RawTable:
    try:
        # ParquetFile, not read_table: the dataset layer fails on duplicate names before the
        # header rules can name them.
        with pq.ParquetFile(path) as parquet:
            table = parquet.read()
    except MemoryError:
        raise
    except Exception as exc:
        raise DeliveryRejected(
            "unreadable",
            f"{path.name}: is not a readable Parquet file ({type(exc).__name__}); check format "
            "in the source YAML or ask the sender to write it again.",
        ) from exc
    raw_names = [str(name) for name in table.column_names]
    headers = header_names(raw_names, path)
    if len(headers) != len(raw_names):
        # header_names drops trailing unnamed columns; in Parquet those still hold data.
        position = len(headers) + 1
        raise DeliveryRejected(
            "blank_header",
            f"{path.name}: column {position} has no name; give every column a name and "
            "write the file again.",
        )
    if table.num_rows == 0:
        raise DeliveryRejected(
            "no_rows",
            f"{path.name}: has columns but no rows; ask the sender for a complete export.",
        )
    columns = [column_text(table.column(i), name, path) for i, name in enumerate(raw_names)]
    text = pa.table(columns, names=[f"f{i}" for i in range(len(columns))])
    return finish(
        path,
        headers,
        text,
        np.arange(2, table.num_rows + 2, dtype=np.int64),
        [],
        first_row=2,
        renumber=False,
        drop_blank=False,
        check_repeated_header=False,
    )
