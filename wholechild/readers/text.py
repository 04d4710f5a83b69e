"""Bytes of a text delivery to checked UTF-8, and the small record scanner the CSV reader
uses where it needs exact answers on a few records (header, sample, broken rows)."""

from __future__ import annotations

import codecs
import re
from functools import lru_cache
from pathlib import Path

from wholechild.readers.errors import DeliveryRejected

UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # .xls and other pre-2007 Office files
# Validation decodes this much at a time so a multi-gigabyte file is never held twice.
_CHUNK = 1 << 24
# UTF-16 text is told apart from a text file with a stray 0x00 by the share of 0x00 bytes in
# its opening bytes: a CSV's delimiters, digits and line breaks are ASCII, so UTF-16 has many.
_SNIFF_BYTES = 1 << 16
_UTF16_MIN_NUL_SHARE = 0.25


def line_at(data: bytes, offset: int) -> int:
    """The 1-based line of a byte offset as an editor shows it (\\r\\n, \\r and \\n end lines)."""
    return (
        data.count(b"\n", 0, offset) + data.count(b"\r", 0, offset) - data.count(b"\r\n", 0, offset)
    ) + 1


def count_line_breaks(text: str) -> int:
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def _codec(encoding: str, file: Path) -> str:
    try:
        return codecs.lookup(encoding).name
    except (LookupError, TypeError):
        raise DeliveryRejected(
            "encoding",
            f"{file.name}: options.encoding '{encoding}' is not a known encoding; fix it in the "
            "source YAML (for example utf-8, latin-1, cp1252 or utf-16).",
        ) from None


def _bad_byte(file: Path, data: bytes, offset: int, line: int, encoding: str) -> DeliveryRejected:
    byte = data[offset] if offset < len(data) else None
    what = f"byte 0x{byte:02X}" if byte is not None else "the end of the file"
    hint = (
        "declare options.encoding (e.g. latin-1) in the source YAML"
        if encoding in ("utf-8", "utf-8-sig")
        else "check options.encoding in the source YAML (is the file utf-8?)"
    )
    return DeliveryRejected(
        "encoding", f"{file.name}: {what} at line {line} is not valid {encoding}; {hint}."
    )


def _check_utf8(data: bytes, file: Path, encoding: str) -> None:
    if data.isascii():
        return
    view = memoryview(data)
    start, size = 0, len(data)
    while start < size:
        end = min(start + _CHUNK, size)
        for _ in range(3):  # never cut a character in two
            if end < size and data[end] & 0xC0 == 0x80:
                end -= 1
        try:
            str(view[start:end], "utf-8")
        except UnicodeDecodeError as exc:
            offset = start + exc.start
            raise _bad_byte(file, data, offset, line_at(data, offset), encoding) from None
        start = end


def looks_utf16_message(file: Path, why: str) -> str:
    return (
        f"{file.name}: {why}, so it looks like UTF-16, not the declared encoding; declare "
        "options.encoding: utf-16 in the source YAML (or ask for a UTF-8 export)."
    )


def _nul_share(data: bytes) -> tuple[float, float]:
    """Share of 0x00 among the even and the odd bytes of the file's opening."""
    head = data[:_SNIFF_BYTES]
    even, odd = head[0::2], head[1::2]
    return (
        even.count(0) / len(even) if even else 0.0,
        odd.count(0) / len(odd) if odd else 0.0,
    )


def _looks_utf16(data: bytes) -> bool:
    even, odd = _nul_share(data)
    return max(even, odd) >= _UTF16_MIN_NUL_SHARE


def _utf16_without_bom(codec: str, data: bytes) -> str:
    """utf-16 declared and no byte-order mark: read the byte order off where the 0x00s are
    (Python would assume little-endian and turn a big-endian file into CJK noise)."""
    if codec != "utf-16" or data[:2] in _UTF16_BOMS:
        return codec
    even, odd = _nul_share(data)
    return "utf-16-be" if even > odd else "utf-16-le"


def to_utf8(data: bytes, encoding: str, file: Path) -> bytes:
    """The delivery as UTF-8 without a byte-order mark, or a rejection naming the bad byte.

    Everything downstream (pyarrow, the record scanner) then works on one encoding, and a
    wrongly declared encoding is caught here with a line number instead of surfacing as
    mojibake in the warehouse.
    """
    codec = _codec(encoding, file)
    wide = codec.startswith(("utf-16", "utf-32"))
    if not wide:
        if data.startswith(_ZIP_MAGIC):
            raise DeliveryRejected(
                "unreadable",
                f"{file.name}: is a zip archive (an xlsx workbook?), not a text CSV; declare "
                "the right format in the source YAML or ask for a CSV export.",
            )
        if data.startswith(_OLE_MAGIC):
            raise DeliveryRejected(
                "unreadable",
                f"{file.name}: is an old Office file (an .xls workbook?), not a text CSV; ask "
                "the sender to export CSV or .xlsx instead.",
            )
        if data[:2] in _UTF16_BOMS:
            raise DeliveryRejected(
                "encoding", looks_utf16_message(file, "it starts with a UTF-16 byte-order mark")
            )
        if b"\x00" in data:
            if _looks_utf16(data):
                raise DeliveryRejected(
                    "encoding", looks_utf16_message(file, f"byte 0x00 at line {_nul_line(data)}")
                )
            raise DeliveryRejected(
                "encoding",
                f"{file.name}: byte 0x00 at line {_nul_line(data)} is not text (a damaged or "
                "binary export?); ask the sender to export the file again.",
            )
    elif not (data[:2] in _UTF16_BOMS or _looks_utf16(data)):
        how_many = "too few" if b"\x00" in data else "no"
        raise DeliveryRejected(
            "encoding",
            f"{file.name}: options.encoding is {encoding} but the file has {how_many} 0x00 "
            "bytes to be UTF-16/32; remove options.encoding (utf-8 is the default) or fix it.",
        )
    else:
        codec = _utf16_without_bom(codec, data)
    if codec in ("utf-8", "utf-8-sig"):
        _check_utf8(data, file, "utf-8")
        return data[len(UTF8_BOM) :] if data.startswith(UTF8_BOM) else data
    if not wide and data.startswith(UTF8_BOM):  # tolerated whatever the declared encoding
        data = data[len(UTF8_BOM) :]
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        prefix = data[: exc.start].decode(codec, errors="replace")
        line = count_line_breaks(prefix) + 1
        raise _bad_byte(file, data, exc.start, line, encoding) from None
    text = text.removeprefix("\ufeff")
    if "\x00" in text:  # UTF-32 read as UTF-16, or a damaged file: never publish the noise
        line = count_line_breaks(text[: text.index("\x00")]) + 1
        raise DeliveryRejected(
            "encoding",
            f"{file.name}: read as {encoding} it holds a NUL character at line {line}, so it "
            f"is not {encoding} text (UTF-32?); check options.encoding in the source YAML.",
        )
    return text.encode("utf-8")


def _nul_line(data: bytes) -> int:
    return line_at(data, data.index(b"\x00"))


@lru_cache(maxsize=32)
def _unquoted(delimiter: str) -> re.Pattern[str]:
    return re.compile(f"[^{re.escape(delimiter)}\r\n]*")


def scan_record(
    text: str, pos: int, delimiter: str, quotechar: str
) -> tuple[list[str], int, int | None]:
    """Split the record starting at ``pos``: (fields, end after its line break, open quote).

    Same dialect as pyarrow and the csv module: a quote opens a quoted field only at the
    start of a field, ``""`` inside it is a quote, text after the closing quote is kept.
    ``open quote`` is the position of a quote never closed before the end of ``text``.
    Works per field with ``str.find``, so it is cheap on a few records however long.
    """
    unquoted = _unquoted(delimiter)
    size = len(text)
    fields: list[str] = []
    while True:
        if pos < size and text[pos] == quotechar:
            opened, parts = pos, []
            pos += 1
            while True:
                close = text.find(quotechar, pos)
                if close < 0:
                    parts.append(text[pos:])
                    fields.append("".join(parts))
                    return fields, size, opened
                parts.append(text[pos:close])
                if text.startswith(quotechar, close + 1):
                    parts.append(quotechar)
                    pos = close + 2
                    continue
                pos = close + 1
                break
            match = unquoted.match(text, pos)
            parts.append(match.group())
            fields.append("".join(parts))
        else:
            match = unquoted.match(text, pos)
            fields.append(match.group())
        pos = match.end()
        if pos >= size:
            return fields, size, None
        if text[pos] == delimiter:
            pos += 1
            continue
        if text.startswith("\r\n", pos):
            return fields, pos + 2, None
        return fields, pos + 1, None
