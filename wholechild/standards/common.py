"""Small helpers the standard formats share: text tables, code tables, subjects."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from wholechild.readers import BadRecord, RawTable
from wholechild.readers.table import STRING
from wholechild.registry import Export


def text_series(values: Sequence | pd.Series) -> pd.Series:
    """Trimmed text, empty as NA (what every reader hands the mapping)."""
    s = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values
    s = s.astype(STRING).str.strip()
    return s.where(s != "", pd.NA).reset_index(drop=True)


def text_table(
    label: str,
    columns: dict[str, Sequence | pd.Series],
    row_numbers: Sequence[int] | np.ndarray,
    bad_records: list[BadRecord] | None = None,
) -> RawTable:
    """A :class:`RawTable` whose headers are canonical column names."""
    frame = pd.DataFrame({name: text_series(values) for name, values in columns.items()})
    return RawTable(
        file=Path(label),
        headers=list(columns),
        frame=frame,
        row_numbers=np.asarray(row_numbers, dtype=np.int64),
        bad_records=list(bad_records or []),
    )


def merged_codes(
    builtin: dict[str, dict[str, str | None]], export: Export, skip: Sequence[str] = ()
) -> dict[str, dict[str, str | None]]:
    """The standard's code tables with the YAML's `codes:` entries winning."""
    out = {c: dict(t) for c, t in builtin.items() if c not in skip}
    for column, table in export.codes.items():
        if column not in skip:
            out.setdefault(column, {}).update(table)
    return out


def yaml_code(export: Export, column: str, value: str) -> tuple[bool, str | None]:
    """(found, code) of ``value`` in the YAML's codes for ``column`` (exact, then case-blind)."""
    table = export.codes.get(column) or {}
    if value in table:
        return True, table[value]
    low = value.lower()
    for k, v in table.items():
        if k.lower() == low:
            return True, v
    return False, None


#: School Courses for the Exchange of Data (SCED) subject areas: the first two digits.
SCED_SUBJECTS = {"01": "ela", "02": "math", "03": "science", "04": "social_studies"}
_SUBJECT_WORDS = (
    ("math", r"math|algebra|geometry|calculus|statistic|trigonometry|arithmetic"),
    ("ela", r"english|language arts|\bela\b|reading|literature|writing|literacy"),
    ("science", r"science|biology|chemistry|physics|earth|environment|anatomy"),
    ("social_studies", r"social|history|geography|government|civics|economics"),
)


def subject_from_text(value: str | None) -> str | None:
    """A canonical subject from a SCED code or a subject name, or None when unsure."""
    if value is None or pd.isna(value):
        return None
    for item in str(value).split(","):
        item = item.strip()
        if not item:
            continue
        if re.fullmatch(r"\d{5}", item):
            return SCED_SUBJECTS.get(item[:2], "other")
        low = item.lower()
        for code, pattern in _SUBJECT_WORDS:
            if re.search(pattern, low):
                return code
    return None


_ADVANCED = re.compile(
    r"\b(AP|IB|honors|advanced placement|international baccalaureate|dual (credit|enrollment))\b",
    re.IGNORECASE,
)


def is_advanced_title(*titles: str | None) -> str | None:
    """'true' when a title names AP/IB/honors/dual enrollment, else unknown (None)."""
    for title in titles:
        if title is not None and not pd.isna(title) and _ADVANCED.search(str(title)):
            return "true"
    return None
