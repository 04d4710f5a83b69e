"""CSV deliveries: pyarrow parses the file, Python looks only at what pyarrow could not place.

Fast path: pyarrow reads every column as text (multi-threaded, ``newlines_in_values``) with
an ``invalid_row_handler`` that collects the records whose field count is off. Those few
are split again by :func:`scan_record` and padded, trimmed or quarantined by the shared
rules in :mod:`table`. pyarrow only numbers the rows it hands to the handler when it runs
single-threaded, so a file with such rows is parsed a second time that way (or first, when
a sample of the opening records already shows uneven widths).

pyarrow accepts a quote left open at the end of the file without a word, so the last record
is checked explicitly. Anything pyarrow refuses, or any answer of it that does not add up,
sends the file to the slow path: the csv module, record by record, with the same rules.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from wholechild.readers.errors import DeliveryRejected
from wholechild.readers.table import (
    PendingBad,
    RawTable,
    csv_line,
    finish,
    header_names,
    is_blank,
    normalize,
    shape,
    strings_table,
    too_many_message,
)
from wholechild.readers.text import count_line_breaks, line_at, scan_record, to_utf8

_log = logging.getLogger(__name__)
_BLOCK = 1 << 23  # pyarrow's 1 MiB default errors on a record longer than a block
_SAMPLE_BYTES = 1 << 18
_SAMPLE_RECORDS = 200
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_LINE_END = re.compile(r"(?:\r\n|\r|\n)\Z")
_NOT_SPACE = re.compile(rb"\S")
DELIMITER_ALIASES = {"tab": "\t", "\\t": "\t", "semicolon": ";", "comma": ",", "pipe": "|"}


@dataclass(frozen=True)
class CsvDialect:
    encoding: str = "utf-8"
    delimiter: str = ","
    quotechar: str = '"'
    header_row: int = 1


class _Disagreement(Exception):
    """pyarrow's answer does not add up; the slow path reads the file instead."""


def dialect(file: Path, options: dict) -> CsvDialect:
    encoding = options.get("encoding") or "utf-8"
    delimiter = options.get("delimiter") or ","
    if isinstance(delimiter, str):
        delimiter = DELIMITER_ALIASES.get(delimiter, delimiter)
    quotechar = options.get("quotechar") or '"'
    header_row = options.get("header_row", 1)
    problems = []
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\r\n":
        problems.append(f"options.delimiter {delimiter!r} must be one character")
    if not isinstance(quotechar, str) or len(quotechar) != 1 or quotechar in "\r\n":
        problems.append(f"options.quotechar {quotechar!r} must be one character")
    elif quotechar == delimiter:
        problems.append("options.quotechar and options.delimiter must differ")
    if isinstance(header_row, bool) or not isinstance(header_row, int) or header_row < 1:
        problems.append(f"options.header_row {header_row!r} must be a whole number from 1")
    if problems:
        raise DeliveryRejected(
            "options", f"{file.name}: {'; '.join(problems)}; fix the source YAML."
        )
    return CsvDialect(str(encoding), delimiter, quotechar, header_row)


def read_csv(path: Path, options: dict | None = None, *, engine: str = "auto") -> RawTable:
    """Read one CSV delivery. ``engine``: "auto" (pyarrow, slow path if it fails), or
    "arrow"/"python" to force one path, which the tests use to hold the two to one answer."""
    opts = dialect(path, options or {})
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DeliveryRejected(
            "unreadable", f"{path.name}: cannot be read ({exc.strerror or exc})."
        ) from exc
    if not data:
        raise DeliveryRejected(
            "empty_file", f"{path.name}: is empty (0 bytes); ask the sender to export it again."
        )
    data = to_utf8(data, opts.encoding, path)
    if _NOT_SPACE.search(data) is None:
        raise DeliveryRejected(
            "empty_file",
            f"{path.name}: contains only whitespace; ask the sender to export it again.",
        )
    start = _preamble_end(path, data, opts.header_row)
    cells, body = _header(path, data, start, opts)
    headers = header_names(cells, path)
    if engine == "python":
        table, ordinals, bad = _python(path, data, body, opts, len(headers))
    else:
        try:
            table, ordinals, bad = _arrow(path, data, body, opts, len(headers))
        except pa.ArrowMemoryError:
            raise
        except (pa.ArrowException, _Disagreement) as exc:
            if engine == "arrow":
                raise
            _log.info("%s: pyarrow could not read it (%s); using the csv module", path.name, exc)
            table, ordinals, bad = _python(path, data, body, opts, len(headers))
    return finish(
        path,
        headers,
        table,
        ordinals,
        bad,
        first_row=opts.header_row + 1,
        renumber=True,
        serialize=lambda values: csv_line(values, opts.delimiter, opts.quotechar),
    )


def _preamble_end(file: Path, data: bytes, header_row: int) -> int:
    """Skip the lines above the header: free text (report titles), so not parsed as CSV."""
    if header_row == 1:
        return 0
    seen = 0
    for match in re.finditer(rb"\r\n|\r|\n", data):
        seen += 1
        if seen == header_row - 1:
            return match.end()
    raise DeliveryRejected(
        "no_header",
        f"{file.name}: options.header_row is {header_row} but the file has only {seen + 1} "
        "lines; fix options.header_row in the source YAML.",
    )


def _decode_piece(data: bytes, start: int, size: int) -> tuple[str, bool]:
    end = min(len(data), start + size)
    final = end == len(data)
    # Validated already: only a character cut at the piece's end can fail, and it is dropped.
    return data[start:end].decode("utf-8", errors="strict" if final else "ignore"), final


def _header(file: Path, data: bytes, start: int, opts: CsvDialect) -> tuple[list[str], int]:
    """The first non-blank record at or after ``start``, and the byte offset after it."""
    size = 1 << 16
    while True:
        text, final = _decode_piece(data, start, size)
        pos = 0
        while pos < len(text):
            fields, stop, opened = scan_record(text, pos, opts.delimiter, opts.quotechar)
            if stop >= len(text) and not final:
                break
            if opened is not None:
                line = line_at(data, start + len(text[:opened].encode()))
                raise DeliveryRejected(
                    "unterminated_quote",
                    f"{file.name}: the quote opened in the header at line {line} is never "
                    "closed; fix the header's quoting and deliver the file again.",
                )
            if not is_blank(fields):
                return fields, start + len(text[:stop].encode())
            pos = stop
        else:
            if final:
                raise DeliveryRejected(
                    "empty_file",
                    f"{file.name}: has no header row, only empty lines and delimiters; ask "
                    "the sender to export it again.",
                )
        size *= 4


def _sample_width(data: bytes, body: int, opts: CsvDialect, width: int) -> tuple[int, bool]:
    """(field count most opening records have, whether they disagree).

    pyarrow is told that count, so a file whose every line ends with a stray delimiter (or
    omits trailing empty fields) still goes through at full speed, not row by row.
    """
    text, final = _decode_piece(data, body, _SAMPLE_BYTES)
    counts, widths = [], []
    pos = 0
    while pos < len(text) and len(counts) < _SAMPLE_RECORDS:
        fields, stop, _ = scan_record(text, pos, opts.delimiter, opts.quotechar)
        if stop >= len(text) and not final:
            break
        empty_line = text[pos:stop] in ("\n", "\r", "\r\n")
        pos = stop
        if empty_line:
            continue
        counts.append(len(fields))
        if not is_blank(fields):
            widths.append(len(fields))
    if not widths:
        return width, len(set(counts)) > 1
    ranked = Counter(widths).most_common()
    common = width if Counter(widths)[width] == ranked[0][1] else ranked[0][0]
    return common, len(set(counts)) > 1


def _arrow_pass(
    buffer: pa.Buffer, names: list[str], opts: CsvDialect, threads: bool
) -> tuple[pa.Table, list[tuple[int | None, str]]]:
    invalid: list[tuple[int | None, str]] = []

    def collect(row) -> str:
        invalid.append((row.number, row.text))
        return "skip"

    table = pacsv.read_csv(
        pa.BufferReader(buffer),
        read_options=pacsv.ReadOptions(use_threads=threads, block_size=_BLOCK, column_names=names),
        parse_options=pacsv.ParseOptions(
            delimiter=opts.delimiter,
            quote_char=opts.quotechar,
            double_quote=True,
            escape_char=False,
            newlines_in_values=True,
            ignore_empty_lines=True,
            invalid_row_handler=collect,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.large_string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            check_utf8=False,
        ),
    )
    return table, invalid


def _empty(width: int) -> tuple[pa.Table, np.ndarray, list[PendingBad]]:
    return strings_table([], width), np.array([], dtype=np.int64), []


def _arrow(
    file: Path, data: bytes, body: int, opts: CsvDialect, width: int
) -> tuple[pa.Table, np.ndarray, list[PendingBad]]:
    if _NOT_SPACE.search(data, body) is None:
        return _empty(width)
    common, uneven = _sample_width(data, body, opts, width)
    names = [f"f{i}" for i in range(common)]
    buffer = pa.py_buffer(data).slice(body)
    table, invalid = _arrow_pass(buffer, names, opts, threads=not uneven)
    if invalid and not uneven:  # only the single-threaded parser numbers invalid rows
        table, invalid = _arrow_pass(buffer, names, opts, threads=False)
    total = table.num_rows + len(invalid)
    numbers = np.array([n if n is not None else -1 for n, _ in invalid], dtype=np.int64)
    if len(numbers) and (
        numbers.min() < 1 or numbers.max() > total or len(np.unique(numbers)) != len(numbers)
    ):
        raise _Disagreement("invalid rows are not numbered one by one")
    taken = np.zeros(total + 1, dtype=bool)
    taken[0] = True
    taken[numbers] = True
    ordinals = np.flatnonzero(~taken).astype(np.int64)
    if len(ordinals) != table.num_rows:
        raise _Disagreement("row numbers do not add up")
    invalid.sort(key=lambda item: item[0])
    bad: list[PendingBad] = []

    # An unclosed quote runs to the end of the file, so only the last record can hold one.
    if data.find(opts.quotechar.encode(), body) >= 0:
        if invalid and invalid[-1][0] == total:
            text = invalid[-1][1]
            _, _, opened = scan_record(text, 0, opts.delimiter, opts.quotechar)
            if opened is not None:
                invalid.pop()
                bad.append(_unterminated(file, data, text[opened:], text, total))
        elif table.num_rows:
            value = table.column(common - 1)[-1].as_py()
            tail = opts.quotechar + value.replace(opts.quotechar, opts.quotechar * 2)
            if _opens_at_end(data, body, tail.encode(), opts.delimiter.encode()):
                last = [table.column(i)[-1].as_py() for i in range(common - 1)]
                head = csv_line(last, opts.delimiter, opts.quotechar) + opts.delimiter
                raw = head + tail if last else tail
                bad.append(_unterminated(file, data, tail, raw, total))
                table = table.slice(0, table.num_rows - 1)
                ordinals = ordinals[:-1]

    repaired: list[tuple[int, list[str | None]]] = []
    for number, text in invalid:
        fields, stop, opened = scan_record(text, 0, opts.delimiter, opts.quotechar)
        if stop < len(text) or opened is not None:
            raise _Disagreement(f"record {number} splits differently")
        kind, values = shape(fields, width)
        if kind == "row":
            repaired.append((number, values))
        elif kind == "too_many":
            bad.append(
                PendingBad(number, "too_many_fields", too_many_message(len(fields), width), text)
            )

    if common > width:
        extras = normalize(table.select(list(range(width, common))))
        filled = ~_all_null(extras)
        if filled.any():
            kept_out = table.filter(pa.array(filled))
            for ordinal, values in zip(
                ordinals[filled],
                zip(*(c.to_pylist() for c in kept_out.columns), strict=True),
                strict=True,
            ):
                bad.append(
                    PendingBad(
                        int(ordinal),
                        "too_many_fields",
                        too_many_message(common, width),
                        csv_line(values, opts.delimiter, opts.quotechar),
                    )
                )
            table = table.filter(pa.array(~filled))
            ordinals = ordinals[~filled]
        table = table.select(list(range(width)))
    for i in range(common, width):
        table = table.append_column(f"f{i}", pa.nulls(table.num_rows, pa.large_string()))

    if repaired:
        table = pa.concat_tables([table, strings_table([v for _, v in repaired], width)])
        ordinals = np.concatenate([ordinals, np.array([n for n, _ in repaired], np.int64)])
        order = np.argsort(ordinals, kind="stable")
        table = table.take(pa.array(order))
        ordinals = ordinals[order]
    return table, ordinals, bad


def _opens_at_end(data: bytes, body: int, tail: bytes, delimiter: bytes) -> bool:
    """Whether the file ends with ``tail`` and its first quote sits where a field starts,
    i.e. the last field is a quote that was opened and never closed."""
    at = len(data) - len(tail)
    if at < body or not data.endswith(tail):
        return False
    return at == body or data[at - 1 : at] in (delimiter, b"\n", b"\r")


def _all_null(table: pa.Table) -> np.ndarray:
    mask = pc.is_null(table.column(0))
    for column in table.columns[1:]:
        mask = pc.and_(mask, pc.is_null(column))
    return np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)


def _unterminated(file: Path, data: bytes, tail: str, raw: str, ordinal: int) -> PendingBad:
    """The last record ends inside quotes: a cut-off line is one bad record; a quote that
    swallows several lines is refused, because the rows it hides would vanish silently."""
    inside = tail.rstrip("\r\n")
    if "\n" in inside or "\r" in inside:
        opened = data.rfind(tail.encode())
        lines = count_line_breaks(inside)
        raise DeliveryRejected(
            "unterminated_quote",
            f"{file.name}: the quote opened at line {line_at(data, max(opened, 0))} is never "
            f"closed, so the {lines} line{'s' if lines > 1 else ''} after it cannot be split "
            "into rows; fix the quoting and deliver the file again.",
        )
    return PendingBad(
        ordinal,
        "unterminated_quote",
        "the file ends inside this record's quoted field (it looks cut off); ask the sender "
        "for a complete export.",
        _LINE_END.sub("", raw),
    )


def _python(
    file: Path, data: bytes, body: int, opts: CsvDialect, width: int
) -> tuple[pa.Table, np.ndarray, list[PendingBad]]:
    """The slow path and the reference: the csv module, one record at a time."""
    text = data[body:].decode("utf-8")
    consumed: list[str] = []

    def lines() -> Iterator[str]:
        for match in _LINE.finditer(text):
            consumed.append(match.group())
            yield match.group()

    rows: list[tuple[str | None, ...]] = []
    ordinals: list[int] = []
    bad: list[PendingBad] = []

    def place(ordinal: int, fields: list[str], raw: str) -> None:
        kind, values = shape(fields, width)
        if kind == "row":
            rows.append(tuple(values))  # tuples of str leave the cyclic GC alone
            ordinals.append(ordinal)
        elif kind == "too_many":
            message = too_many_message(len(fields), width)
            bad.append(PendingBad(ordinal, "too_many_fields", message, _LINE_END.sub("", raw)))

    reader = csv.reader(
        lines(), delimiter=opts.delimiter, quotechar=opts.quotechar, doublequote=True, strict=False
    )
    held: tuple[int, list[str], str] | None = None  # the last record may end inside a quote
    ordinal = 0
    try:
        for fields in reader:
            raw = "".join(consumed)
            consumed.clear()
            if not fields:
                continue
            ordinal += 1
            if held is not None:
                place(*held)
            held = (ordinal, fields, raw)
    except csv.Error as exc:
        record = "".join(consumed)
        first = line_at(data, body) + reader.line_num - len(consumed)
        _, _, opened = scan_record(record, 0, opts.delimiter, opts.quotechar)
        if opened is not None:  # the usual reason a field outgrows the csv module's limit
            raise DeliveryRejected(
                "unterminated_quote",
                f"{file.name}: the quote opened at line "
                f"{first + count_line_breaks(record[:opened])} is not closed within the "
                f"{count_line_breaks(record[opened:])} lines after it; fix the quoting and "
                "deliver the file again.",
            ) from exc
        line = line_at(data, body) + reader.line_num - 1
        raise DeliveryRejected(
            "unreadable",
            f"{file.name}: the CSV cannot be parsed at line {line} ({exc}); check the quoting "
            "and options.delimiter in the source YAML.",
        ) from exc
    if held is not None:
        last, fields, raw = held
        _, _, opened = scan_record(raw, 0, opts.delimiter, opts.quotechar)
        if opened is not None:
            bad.append(_unterminated(file, data, raw[opened:], raw, last))
        else:
            place(last, fields, raw)
    return strings_table(rows, width), np.array(ordinals, dtype=np.int64), bad


def count_records_leniently(path: Path, options: dict | None = None) -> int:
    """How many data records a CSV holds, for a file the reader rejected whole.

    A rejected delivery counts all its rows as quarantined, so the ledger needs a count even
    when the bytes do not decode as declared. A byte-order mark decides the encoding when
    there is one; otherwise the declared encoding with undecodable bytes replaced. Blank
    records do not count and a quote left open at the end counts as one record, as in
    :func:`read_csv`. Returns 0 when nothing sensible can be counted.
    """
    opts = options or {}
    try:
        data = Path(path).read_bytes()
    except OSError:
        return 0
    encoding = _bom_encoding(data) or str(opts.get("encoding") or "utf-8")
    try:
        text = data.decode(encoding, errors="replace").replace("\x00", "")
    except LookupError:
        return 0
    delimiter = str(opts.get("delimiter") or ",")
    delimiter = DELIMITER_ALIASES.get(delimiter, delimiter)
    lines = io.StringIO(text, newline="")
    for _ in range(int(opts.get("header_row") or 1) - 1):
        lines.readline()
    reader = csv.reader(lines, delimiter=delimiter, quotechar=str(opts.get("quotechar") or '"'))
    records = -1  # the first non-blank record is the header
    try:
        for fields in reader:
            if any(f.strip() for f in fields):
                records += 1
    except csv.Error:
        records += 1  # the record the parser choked on still arrived
    return max(records, 0)


def _bom_encoding(data: bytes) -> str | None:
    """The encoding a byte-order mark announces (longest marks first: UTF-32 before 16)."""
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return encoding
    return None
