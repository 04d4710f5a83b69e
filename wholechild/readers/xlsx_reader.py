"""xlsx deliveries: cells to the text a person sees in the sheet, rows numbered as Excel does.

A steward fixing a quarantined row opens the workbook and goes to the row number we print,
so rows keep their sheet numbers (empty rows in between are skipped, not renumbered).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from pathlib import Path

import numpy as np
import openpyxl

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


def _sheet(workbook, name: str | None, file: Path):
    if name is None:
        return workbook.worksheets[0]
    if name in workbook.sheetnames:
        return workbook[name]
    raise DeliveryRejected(
        "missing_sheet",
        f"{file.name}: has no sheet '{name}' (sheets: {', '.join(workbook.sheetnames)}); fix "
        "options.sheet in the source YAML.",
    )


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
    where = f" (sheet '{sheet.title}')"
    sheet.reset_dimensions()  # a stale <dimension> tag would hide rows in read-only mode
    headers: list[str] | None = None
    rows: list[tuple[str | None, ...]] = []
    ordinals: list[int] = []
    bad: list[PendingBad] = []
    for number, cells in enumerate(sheet.iter_rows(min_row=header_row), start=header_row):
        texts = [cell_text(cell.value, getattr(cell, "number_format", None)) for cell in cells]
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
