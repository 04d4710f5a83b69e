"""What every reader ends with: one table of text, one rule book for headers and row shapes.

The CSV, xlsx and Parquet readers differ in how they get cells out of a file; everything
after that (header rules, padding short rows, refusing non-empty extra fields, trimming,
dropping records that hold nothing, spotting a repeated header, numbering) happens here so
the three formats cannot drift apart.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import reduce
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from wholechild.readers.errors import BadRecord, DeliveryRejected

STRING = pd.StringDtype("pyarrow")


@dataclass
class RawTable:
    """One delivered file as text: what the mapping and the contracts work on."""

    file: Path
    headers: list[str]
    frame: pd.DataFrame
    row_numbers: np.ndarray
    bad_records: list[BadRecord] = field(default_factory=list)

    @property
    def records_read(self) -> int:
        return len(self.frame) + len(self.bad_records)


@dataclass
class PendingBad:
    """A bad record before numbering: ``ordinal`` orders it among the file's records."""

    ordinal: int
    rule: str
    message: str
    raw: str


def header_names(cells: Sequence[str | None], file: Path, where: str = "") -> list[str]:
    """Trim the header and apply its rules; trailing empty cells are not columns.

    Exports that end every line with a stray delimiter end the header with one too, and a
    spreadsheet's used range often runs past the last titled column; neither is a column.
    A blank name between named columns is: nothing could map it, so the file is refused.
    """
    names = [(cell or "").strip() for cell in cells]
    while names and not names[-1]:
        names.pop()
    prefix = f"{file.name}{where}"
    for position, name in enumerate(names, start=1):
        if not name:
            raise DeliveryRejected(
                "blank_header",
                f"{prefix}: header column {position} has no name; give every column a name "
                "or remove the empty column, then deliver the file again.",
            )
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if name in seen:
            raise DeliveryRejected(
                "duplicate_header",
                f"{prefix}: the header names column '{name}' twice (columns {seen[name]} and "
                f"{position}); rename one so every column name is unique.",
            )
        seen[name] = position
    return names


def is_blank(fields: Sequence[str | None]) -> bool:
    text = "".join(filter(None, fields))  # runs once per record on slow paths: keep it in C
    return not text or text.isspace()


def shape(fields: Sequence[str | None], width: int) -> tuple[str, list[str | None]]:
    """Fit one record to the header: ("blank"|"row"|"too_many", the fields to keep).

    Short records are padded (the contract judges the missing values); long ones are kept
    only if what overflows is empty, because real exports end rows with stray delimiters.
    """
    if is_blank(fields):
        return "blank", []
    if len(fields) <= width:
        return "row", [*fields, *([None] * (width - len(fields)))]
    if is_blank(fields[width:]):
        return "row", list(fields[:width])
    return "too_many", list(fields)


def too_many_message(count: int, width: int) -> str:
    return (
        f"the record has {count} fields but the header has {width}, and the extra fields are "
        "not empty."
    )


def csv_line(values: Sequence[str | None], delimiter: str = ",", quotechar: str = '"') -> str:
    """Rebuild a record's text when the parser kept its values but not its bytes."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, quotechar=quotechar, lineterminator="").writerow(
        ["" if v is None else v for v in values]
    )
    return buffer.getvalue()


def strings_table(rows: Sequence[Sequence[str | None]], width: int) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [()] * width
    columns = [pa.array(column, pa.large_string()) for column in columns]
    return pa.table(columns, names=[f"f{i}" for i in range(width)])


def _normalize_column(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if not pa.types.is_large_string(column.type):  # what pandas' ArrowStringArray holds
        column = column.cast(pa.large_string())
    trimmed = pc.utf8_trim_whitespace(column)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.large_string()), trimmed)


def normalize(table: pa.Table) -> pa.Table:
    """Trim every value and make empty text null. This touches every cell of the file, so
    columns go to a thread pool: Arrow's kernels release the GIL."""
    workers = min(table.num_columns, os.cpu_count() or 1)
    if workers <= 1 or table.num_rows < 100_000:
        columns = [_normalize_column(column) for column in table.columns]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            columns = list(pool.map(_normalize_column, table.columns))
    return pa.table(columns, names=table.column_names)


def _all(masks: list) -> np.ndarray:
    """Element-wise AND of boolean Arrow arrays, as a numpy mask for filtering."""
    return np.asarray(reduce(pc.and_, masks).to_numpy(zero_copy_only=False), dtype=bool)


def finish(
    file: Path,
    headers: list[str],
    table: pa.Table,
    ordinals: np.ndarray,
    bad: list[PendingBad],
    *,
    first_row: int,
    renumber: bool,
    drop_blank: bool = True,
    check_repeated_header: bool = True,
    serialize: Callable[[Sequence[str | None]], str] = csv_line,
    no_rows_message: str | None = None,
) -> RawTable:
    """Turn a table of raw text plus the bad records into the :class:`RawTable`.

    ``ordinals`` orders rows and bad records among the file's records. With ``renumber`` the
    records that survive are numbered from ``first_row`` in that order (CSV: blank records
    do not count); without it the ordinals already are the numbers people see (sheet rows).
    """
    table = normalize(table)
    ordinals = np.asarray(ordinals, dtype=np.int64)
    if table.num_rows and table.num_columns and drop_blank:
        blank = _all([pc.is_null(c) for c in table.columns])
        if blank.any():
            table = table.filter(pa.array(~blank))
            ordinals = ordinals[~blank]
    if table.num_rows and check_repeated_header:
        # Files joined byte for byte carry the second file's byte-order mark into the data.
        lead = pc.utf8_ltrim(table.column(0), characters="\ufeff")
        first = pc.fill_null(pc.equal(lead, headers[0]), False)
        if pc.any(first).as_py():
            repeated = _all(
                [first]
                + [
                    pc.fill_null(pc.equal(table.column(i), name), False)
                    for i, name in enumerate(headers[1:], start=1)
                ]
            )
            if repeated.any():
                for index in np.flatnonzero(repeated):
                    bad.append(
                        PendingBad(
                            int(ordinals[index]),
                            "repeated_header",
                            "the record repeats the header (were two files joined together?).",
                            serialize(headers),
                        )
                    )
                table = table.filter(pa.array(~repeated))
                ordinals = ordinals[~repeated]
    if table.num_rows == 0 and not bad:
        raise DeliveryRejected(
            "no_rows",
            no_rows_message
            or f"{file.name}: has a header but no data rows; ask the sender for a complete export.",
        )
    bad_ordinals = np.sort(np.array([b.ordinal for b in bad], dtype=np.int64))
    bad.sort(key=lambda b: b.ordinal)
    if renumber:
        if len(ordinals) > 1 and not (np.diff(ordinals) > 0).all():
            raise ValueError("rows must come in file order to be numbered")
        # A record's number is how many kept records come before it. Rows are in file order,
        # so for rows that is their index plus the bad records before them (usually none).
        row_numbers = first_row + np.arange(len(ordinals), dtype=np.int64)
        if len(bad_ordinals):
            row_numbers += np.searchsorted(bad_ordinals, ordinals)
        bad_numbers = (
            first_row
            + np.arange(len(bad_ordinals), dtype=np.int64)
            + np.searchsorted(ordinals, bad_ordinals)
        )
    else:
        row_numbers, bad_numbers = ordinals, bad_ordinals
    records = sorted(
        (
            BadRecord(int(n), b.rule, b.message, b.raw)
            for n, b in zip(bad_numbers, bad, strict=True)
        ),
        key=lambda r: r.row_number,
    )
    frame = table.rename_columns(headers).to_pandas(
        types_mapper=lambda t: STRING if pa.types.is_large_string(t) else None
    )
    for name in headers:  # a table with no rows comes back as object columns
        if frame[name].dtype != STRING:
            frame[name] = frame[name].astype(STRING)
    return RawTable(
        file=file,
        headers=list(headers),
        frame=frame,
        row_numbers=np.asarray(row_numbers, dtype=np.int64),
        bad_records=records,
    )
