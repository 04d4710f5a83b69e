"""xlsx deliveries: cells to the text a person sees in the sheet, rows numbered as Excel does.

A steward fixing a quarantined row opens the workbook and goes to the row number we print,
so rows keep their sheet numbers (empty rows in between are skipped, not renumbered).

Sheets are read with python-calamine (Rust; about ten times openpyxl's read-only mode, which
builds a Python object per cell). Calamine gives values but not number formats, so the one
format that changes the text a person sees, an all-zeros format such as ``000000`` that
shows an id with its leading zeros, is found from ``xl/styles.xml`` and the sheet's cell
style indices (:func:`_zero_padded_cells`). openpyxl stays as the fallback: for a workbook
calamine cannot open, or whose zero-padded cells cannot be located, the old path reads it
(and decides whether it is unreadable).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zipfile
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

import numpy as np
import openpyxl
import python_calamine

from wholechild.readers.errors import DeliveryRejected
from wholechild.readers.table import (
    PendingBad,
    RawTable,
    csv_line,
    finish,
    header_names,
    is_blank,
    shape,
    strings_table,
    too_many_message,
)

# A number format of zeros only ("000000") is how a sheet shows an id with its leading zeros.
_ZERO_PADDED = re.compile(r"0+")


def cell_text(value: object, number_format: str | None = None) -> str | None:
    """The text of a cell value: no float noise, ISO dates, lowercase booleans."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer():
            text = str(int(value))
        else:
            text = repr(value)
            if "e" in text or "E" in text:
                text = format(Decimal(text), "f")
            return text
    elif isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    elif isinstance(value, dt.date | dt.time):
        return value.isoformat()
    elif isinstance(value, dt.timedelta):
        return str(value)
    else:
        return str(value)
    if number_format and _ZERO_PADDED.fullmatch(number_format) and not text.startswith("-"):
        text = text.zfill(len(number_format))
    return text


def _missing_sheet(file: Path, name: str, names: list[str]) -> DeliveryRejected:
    return DeliveryRejected(
        "missing_sheet",
        f"{file.name}: has no sheet '{name}' (sheets: {', '.join(names)}); fix "
        "options.sheet in the source YAML.",
    )


def _sheet(workbook, name: str | None, file: Path):
    if name is None:
        return workbook.worksheets[0]
    if name in workbook.sheetnames:
        return workbook[name]
    raise _missing_sheet(file, name, workbook.sheetnames)


def read_xlsx(path: Path, options: dict | None = None) -> RawTable:
    options = options or {}
    header_row = options.get("header_row", 1)
    sheet = options.get("sheet")
    if isinstance(header_row, bool) or not isinstance(header_row, int) or header_row < 1:
        raise DeliveryRejected(
            "options",
            f"{path.name}: options.header_row {header_row!r} must be a whole number from 1; "
            "fix the source YAML.",
        )
    try:
        return _read_calamine(path, sheet, header_row)
    except (DeliveryRejected, MemoryError):
        raise
    except Exception:  # calamine could not: openpyxl reads it or says why not
        return _read_openpyxl(path, sheet, header_row)


def _read_openpyxl(path: Path, sheet: str | None, header_row: int) -> RawTable:
    try:
        with path.open("rb") as handle:  # a file object: openpyxl would refuse odd suffixes
            workbook = openpyxl.load_workbook(handle, read_only=True, data_only=True)
            try:
                return _read_sheet(path, _sheet(workbook, sheet, path), header_row)
            finally:
                workbook.close()
    except DeliveryRejected:
        raise
    except MemoryError:
        raise
    except Exception as exc:
        raise DeliveryRejected(
            "unreadable",
            f"{path.name}: is not a readable xlsx workbook ({type(exc).__name__}); check "
            "format in the source YAML or ask the sender to save it again as .xlsx.",
        ) from exc


def _read_sheet(path: Path, sheet, header_row: int) -> RawTable:
    """openpyxl's read-only worksheet (the fallback path)."""
    sheet.reset_dimensions()  # a stale <dimension> tag would hide rows in read-only mode
    numbered = (
        (number, [cell_text(cell.value, getattr(cell, "number_format", None)) for cell in cells])
        for number, cells in enumerate(sheet.iter_rows(min_row=header_row), start=header_row)
    )
    return _table(path, f" (sheet '{sheet.title}')", numbered, header_row)


class _UseOpenpyxl(Exception):
    """The fast path cannot read this workbook faithfully; the openpyxl path will."""


def _read_calamine(path: Path, name: str | None, header_row: int) -> RawTable:
    with path.open("rb") as handle:
        workbook = python_calamine.CalamineWorkbook.from_filelike(handle)
    try:
        worksheets = [
            m.name
            for m in workbook.sheets_metadata
            if m.typ == python_calamine.SheetTypeEnum.WorkSheet
        ]
        if name is None:
            if not worksheets:
                raise _UseOpenpyxl("no worksheet")
            name = worksheets[0]
        elif name not in workbook.sheet_names:
            raise _missing_sheet(path, name, list(workbook.sheet_names))
        elif name not in worksheets:
            raise _UseOpenpyxl("a chart or macro sheet")
        # Row 0 of the grid is sheet row 1, column 0 is column A, whatever is empty.
        grid = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
    finally:
        workbook.close()
    padded = _zero_padded_cells(path, name)

    def numbered() -> Iterator[tuple[int, list[str | None]]]:
        for index in range(header_row - 1, len(grid)):
            cells = grid[index]
            # Most cells are text: keep them as they are (cell_text would return them).
            texts = [v if v.__class__ is str else cell_text(v) for v in cells]
            for column, number_format in padded.get(index + 1, ()):
                if column < len(cells):
                    texts[column] = cell_text(cells[column], number_format)
            yield index + 1, texts

    return _table(path, f" (sheet '{name}')", numbered(), header_row)


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_CELL_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c\b([^>]*)>")
_ATTRIBUTE = re.compile(rb'\b(r|s)\s*=\s*["\']([^"\']*)["\']')
_REFERENCE = re.compile(rb"([A-Z]{1,3})([0-9]+)")


def _zero_padded_cells(path: Path, sheet: str) -> dict[int, list[tuple[int, str]]]:
    """{sheet row: [(column index, number format)]} of the cells an all-zeros format pads.

    Also where calamine and openpyxl part ways on values: calamine reads an error cell
    (``#N/A``) as empty, openpyxl as its text, which the contract then names as a bad
    value. A sheet holding error cells goes to openpyxl (raises :class:`_UseOpenpyxl`), as
    does a zero-padded cell without a reference. Empty (the usual case) when no cell style
    uses an all-zeros format.
    """
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        part = _sheet_part(archive, names, sheet)
        padding = _padding_styles(archive) if "xl/styles.xml" in names else {}
        if not padding:
            with archive.open(part) as stream:
                tail = b""
                while chunk := stream.read(1 << 22):
                    window = tail + chunk
                    if _ERROR_CELL[0] in window or _ERROR_CELL[1] in window:
                        raise _UseOpenpyxl("error cells")
                    tail = window[-8:]
            return {}
        xml = archive.read(part)
    if _ERROR_CELL[0] in xml or _ERROR_CELL[1] in xml:
        raise _UseOpenpyxl("error cells")
    cells: dict[int, list[tuple[int, str]]] = {}
    for match in _CELL_TAG.finditer(xml):
        attributes = dict(_ATTRIBUTE.findall(match.group(1)))
        number_format = padding.get(attributes.get(b"s", b"0"))
        if number_format is None:
            continue
        reference = _REFERENCE.fullmatch(attributes.get(b"r", b""))
        if reference is None:
            raise _UseOpenpyxl("a styled cell without a reference")
        column = 0
        for letter in reference.group(1):
            column = column * 26 + letter - 64
        cells.setdefault(int(reference.group(2)), []).append((column - 1, number_format))
    return cells


#: How an error cell (``#N/A``, ``#DIV/0!``) is marked in a sheet's XML.
_ERROR_CELL = (b't="e"', b"t='e'")


def _padding_styles(archive: zipfile.ZipFile) -> dict[bytes, str]:
    """{cell style index: number format} of the styles whose format is zeros only."""
    styles = ElementTree.fromstring(archive.read("xl/styles.xml"))
    formats = {
        element.get("numFmtId"): element.get("formatCode") or ""
        for element in styles.iter(f"{_MAIN}numFmt")
    }
    formats = {k: v for k, v in formats.items() if len(v) > 1 and _ZERO_PADDED.fullmatch(v)}
    if not formats:
        return {}
    cell_xfs = styles.find(f"{_MAIN}cellXfs")
    return {
        str(index).encode(): formats[xf.get("numFmtId")]
        for index, xf in enumerate(cell_xfs if cell_xfs is not None else [])
        if xf.get("numFmtId") in formats
    }


def _sheet_part(archive: zipfile.ZipFile, names: set[str], sheet: str) -> str:
    """The zip member holding a sheet's cells, from workbook.xml and its relationships."""
    book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    ids = [s.get(f"{_REL}id") for s in book.iter(f"{_MAIN}sheet") if s.get("name") == sheet]
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    for rel in rels.iter(f"{_PKG_REL}Relationship"):
        if ids and rel.get("Id") == ids[0]:
            target = rel.get("Target") or ""
            part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            part = str(PurePosixPath(part))
            while "/../" in f"/{part}":
                part = re.sub(r"[^/]+/\.\./", "", part, count=1)
            if part in names:
                return part
    raise _UseOpenpyxl(f"sheet {sheet!r} has no part")


def _table(
    path: Path, where: str, numbered: Iterable[tuple[int, list[str | None]]], header_row: int
) -> RawTable:
    """Sheet rows as text (numbered from ``header_row``) to the :class:`RawTable`."""
    headers: list[str] | None = None
    rows: list[tuple[str | None, ...]] = []
    ordinals: list[int] = []
    bad: list[PendingBad] = []
    for number, texts in numbered:
        if headers is None:
            if not is_blank(texts):
                headers = header_names(texts, path, where)
            continue
        kind, values = shape(texts, len(headers))
        if kind == "row":
            rows.append(tuple(values))  # tuples of str leave the cyclic GC alone
            ordinals.append(number)
        elif kind == "too_many":
            width = _width(texts)
            message = too_many_message(width, len(headers))
            bad.append(PendingBad(number, "too_many_fields", message, csv_line(texts[:width])))
    if headers is None:
        raise DeliveryRejected(
            "empty_file",
            f"{path.name}{where}: has no header row, the sheet is empty; ask the sender to "
            "export it again.",
        )
    return finish(
        path,
        headers,
        strings_table(rows, len(headers)),
        np.array(ordinals, dtype=np.int64),
        bad,
        first_row=header_row + 1,
        renumber=False,
        no_rows_message=(
            f"{path.name}{where}: has a header but no data rows; ask the sender for a "
            "complete export."
        ),
    )


def _width(texts: list[str | None]) -> int:
    """Cells up to the last filled one: a sheet's used range is not the row's width."""
    width = len(texts)
    while width and (texts[width - 1] is None or not texts[width - 1].strip()):
        width -= 1
    return width
