"""Ed-Fi ODS/API resource exports: a JSON array, or one JSON object a line (JSON Lines).

UTF-8 with or without a byte-order mark. The resource and whether the file holds upserts
or deletes come from the file name (``students.upserts.2022-07-14.json``,
``studentSchoolAttendanceEvents.json``, ``schools.deletes.2022-07-14.json``). A line that
is not a JSON object is a bad record (quarantined with its line), not a bad file.
Row numbers are line numbers for JSON Lines and positions (from 1) for an array.

An array is parsed by one ``json.loads``; the text of each of its records (what the
quarantine shows) is made only for the records that are asked for (:class:`JsonTexts`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wholechild.readers.errors import BadRecord, DeliveryRejected
from wholechild.readers.text import to_utf8

_RESOURCE = re.compile(r"^([A-Za-z][A-Za-z0-9]*)")
UPSERTS, DELETES = "upserts", "deletes"


@dataclass
class Records:
    """The objects of one resource file, with the row number of each."""

    file: Path
    resource: str
    kind: str  # upserts | deletes
    records: list[dict] = field(default_factory=list)
    row_numbers: list[int] = field(default_factory=list)
    #: each record as delivered (the quarantine's raw record), aligned with ``records``
    texts: Sequence[str] = field(default_factory=list)
    bad_records: list[BadRecord] = field(default_factory=list)


def resource_of(name: str) -> tuple[str, str] | None:
    """(resource, upserts|deletes) named by a file name, or None if it names none."""
    m = _RESOURCE.match(name)
    if m is None:
        return None
    parts = [p.lower() for p in name.split(".")]
    return m.group(1), DELETES if DELETES in parts[1:] else UPSERTS


def read_records(path: Path, options: dict | None = None) -> Records:
    path = Path(path)
    named = resource_of(path.name)
    if named is None:
        raise DeliveryRejected(
            "unknown_file",
            f"{path.name}: an Ed-Fi export is named by its resource, e.g. "
            "students.upserts.2022-07-14.json.",
        )
    out = Records(path, *named)
    if path.is_dir():
        raise DeliveryRejected(
            "unknown_file",
            f"{path.name}: is a folder; deliver Ed-Fi resources one JSON file each.",
        )
    data = path.read_bytes()
    if not data.strip():
        raise DeliveryRejected(
            "empty_file", f"{path.name}: is empty; ask the sender to export it again."
        )
    encoding = (options or {}).get("encoding") or "utf-8"
    text = to_utf8(data, encoding, path).decode("utf-8")
    stripped = text.lstrip()
    if stripped.startswith("["):
        _read_array(out, text)
    else:
        _read_lines(out, text)
    return out


def _add(out: Records, number: int, value, raw: str) -> None:
    if isinstance(value, dict):
        out.records.append(value)
        out.row_numbers.append(number)
        out.texts.append(raw)
    else:
        out.bad_records.append(
            BadRecord(
                number,
                "not_an_object",
                f"the record is a JSON {type(value).__name__}, not an object.",
                raw[:2000],
            )
        )


class JsonTexts(Sequence[str]):
    """The records of an array as JSON text, each made when it is asked for: only the
    quarantined rows of a file ever are, so a large clean file dumps none."""

    __slots__ = ("_records",)

    def __init__(self, records: list[dict]):
        self._records = records

    def __len__(self) -> int:
        return len(self._records)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [json.dumps(r, ensure_ascii=False) for r in self._records[i]]
        return json.dumps(self._records[i], ensure_ascii=False)


def _read_array(out: Records, text: str) -> None:
    try:
        values = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DeliveryRejected(
            "invalid_json",
            f"{out.file.name}: is not valid JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}); ask the sender for a complete export.",
        ) from exc
    if not isinstance(values, list):
        raise DeliveryRejected(
            "invalid_json", f"{out.file.name}: holds a JSON {type(values).__name__}, not records."
        )
    if all(isinstance(v, dict) for v in values):
        out.records = values
        out.row_numbers = list(range(1, len(values) + 1))
    else:
        for i, value in enumerate(values, start=1):
            if isinstance(value, dict):
                out.records.append(value)
                out.row_numbers.append(i)
            else:
                _add(out, i, value, json.dumps(value, ensure_ascii=False))
    out.texts = JsonTexts(out.records)


def _read_lines(out: Records, text: str) -> None:
    # Only "\n" ends a record: str.splitlines would also split at U+2028 and friends,
    # which JSON strings may hold raw.
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    # One object pretty-printed over several lines is one record, not a broken file.
    if lines and not _parses(lines[0].strip()):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, dict):
            _add(out, 1, value, text.strip())
            return
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line:
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            out.bad_records.append(
                BadRecord(
                    number,
                    "invalid_json",
                    f"the line is not a JSON object ({exc.msg} at column {exc.colno}).",
                    line[:2000],
                )
            )
            continue
        _add(out, number, value, line)


def _parses(line: str) -> bool:
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True
