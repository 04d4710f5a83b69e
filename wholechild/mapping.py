"""Map a source's table of text onto a canonical entity, as its YAML says.

Everything here stays text: headers are renamed, constants set, source codes replaced by
canonical codes and wide flag columns unpivoted. Casting and the contract come after
(:mod:`quality.validate`), so this step never loses a value it does not understand: an
unmapped code becomes a violation naming the value, never a silent NULL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from quality.violations import empty_violations, violation_frame
from schemas import ENTITIES
from wholechild.readers import DeliveryRejected, RawTable
from wholechild.registry import Export, Source

TRUTHY = frozenset({"y", "yes", "true", "t", "1", "x"})

#: Columns that carry a student identifier of the source's declared kind.
STUDENT_ID_COLUMNS = ("student_ref",)


@dataclass
class MappedTable:
    """Canonical columns (text) for one entity, one row per output row.

    ``source_row`` points each output row at its input record (an unpivoted record gives
    several rows), so a violation in any of them quarantines the whole record.
    """

    entity: str
    frame: pd.DataFrame
    source_row: np.ndarray  # positional index into the RawTable's frame
    violations: (
        pd.DataFrame
    )  # columns: row (output row position), rule, column_name, value, message


def _normalize_header(h: str) -> str:
    return re.sub(r"[\s_\-]+", "", h).lower()


def resolve_headers(table: RawTable, export: Export, file_label: str) -> dict[str, str]:
    """Canonical column -> header present in the file; a mapped header that is missing
    rejects the delivery (a vendor that drops a column must not publish NULLs)."""
    exact = {h: h for h in table.headers}
    loose = {_normalize_header(h): h for h in table.headers}
    resolved: dict[str, str] = {}
    missing: list[str] = []
    for canon, mapping in export.columns.items():
        header = exact.get(mapping.header) or loose.get(_normalize_header(mapping.header))
        if header is None:
            missing.append(f"'{mapping.header}' (for {canon})")
        else:
            resolved[canon] = header
    if export.unpivot:
        for flag_header in next(iter(export.unpivot.values())):
            if flag_header not in exact and _normalize_header(flag_header) not in loose:
                missing.append(f"'{flag_header}' (an unpivot flag)")
    if missing and not resolved:
        # Nothing matched: the first row is likely a record (the header row was left
        # out), so it is not echoed: reports and logs must not carry a student's row.
        raise DeliveryRejected(
            "missing_column",
            f"{file_label}: none of the columns the source YAML maps ({', '.join(missing)}) "
            f"is in the first row of {len(table.headers)} field(s); {_first_row_hint(table)}.",
        )
    if missing:
        raise DeliveryRejected(
            "missing_column",
            f"{file_label}: the file has no column {', '.join(missing)}; "
            f"its header is {', '.join(table.headers)}; fix the export or the source YAML's columns.",
        )
    return resolved


def _first_row_hint(table: RawTable) -> str:
    """What probably went wrong when no mapped header matches (without echoing the row)."""
    if len(table.headers) == 1:
        for name, char in (("';'", ";"), ("tab", "\t"), ("'|'", "|")):
            if char in table.headers[0]:
                return f"the file looks {name}-delimited: set options.delimiter in the source YAML"
    return "the file was probably sent without its header row: re-export it with the header"


def _map_codes(
    values: pd.Series, table: dict[str, str], allowed: tuple[str, ...] | None, column: str
) -> tuple[pd.Series, pd.Series]:
    """Replace source codes; return (mapped values, mask of values nobody could map)."""
    exact = {k: v for k, v in table.items()}
    lower = {k.lower(): v for k, v in table.items()}
    present = values.notna()
    mapped = values.map(exact)
    miss = present & mapped.isna() & ~values.isin([k for k, v in exact.items() if v is None])
    if miss.any():
        by_lower = values[miss].str.lower().map(lower)
        mapped = mapped.where(~miss, by_lower)
        miss = present & mapped.isna()
    # A value that is already a canonical code needs no mapping entry.
    if allowed is not None and miss.any():
        canonical = values.isin(allowed)
        mapped = mapped.where(~(miss & canonical), values)
        miss &= ~canonical
    # Explicit `value: null` in the YAML means "this source value is NULL on purpose".
    explicit_null = values.isin([k for k, v in exact.items() if v is None])
    miss &= ~explicit_null
    return mapped.astype("string"), miss


def map_table(table: RawTable, source: Source, export: Export) -> MappedTable:
    """Apply one export's mapping to a read file (see module docstring)."""
    spec = ENTITIES[export.entity]
    label = table.file.name
    headers = resolve_headers(table, export, label)
    raw = table.frame
    n = len(raw)
    source_row = np.arange(n, dtype=np.int64)
    out: dict[str, pd.Series] = {}
    for canon in spec.columns:
        if canon in headers:
            out[canon] = raw[headers[canon]].reset_index(drop=True).astype("string")
        elif canon in export.constants:
            value = export.constants[canon]
            out[canon] = pd.Series([None if value is None else str(value)] * n, dtype="string")
        else:
            out[canon] = pd.Series([pd.NA] * n, dtype="string")
    frame = pd.DataFrame(out)

    if export.unpivot:
        target, flags = next(iter(export.unpivot.items()))
        loose = {_normalize_header(h): h for h in table.headers}
        pieces, rows = [], []
        for flag_header, code in flags.items():
            header = (
                flag_header if flag_header in raw.columns else loose[_normalize_header(flag_header)]
            )
            on = raw[header].reset_index(drop=True).astype("string").str.lower().isin(TRUTHY)
            on = on.fillna(False).to_numpy(dtype=bool)
            piece = frame[on].copy()
            piece[target] = code
            pieces.append(piece)
            rows.append(source_row[on])
        frame = pd.concat(pieces, ignore_index=True) if pieces else frame.iloc[0:0]
        source_row = np.concatenate(rows) if rows else source_row[:0]
        order = np.argsort(source_row, kind="stable")
        frame = frame.iloc[order].reset_index(drop=True)
        source_row = source_row[order]

    violations = [empty_violations()]
    for canon, code_table in export.codes.items():
        col = spec.columns[canon]
        if col.type == "boolean":
            # Booleans are cast later; a code table only translates the source's words.
            mapped, miss = _map_codes(frame[canon], code_table, None, canon)
            frame[canon] = mapped.where(~miss, frame[canon])
            continue
        mapped, miss = _map_codes(frame[canon], code_table, col.codes, canon)
        if miss.any():
            bad = np.flatnonzero(miss.to_numpy(dtype=bool))
            vals = frame[canon].iloc[bad]
            violations.append(
                violation_frame(
                    bad,
                    "unmapped_code",
                    canon,
                    vals,
                    [
                        f"{canon} value '{v}' has no mapping in the source YAML's codes"
                        for v in vals
                    ],
                )
            )
        frame[canon] = mapped

    if export.entity == "student":
        derive_race_flags(frame)

    pad = export.student_id.pad_to
    if pad:
        for canon in STUDENT_ID_COLUMNS:
            s = frame[canon]
            digits = s.str.fullmatch(r"\d+").fillna(False)
            frame[canon] = s.where(~digits, s.str.zfill(pad))

    v = pd.concat(violations, ignore_index=True)
    return MappedTable(export.entity, frame, source_row, v)


RACE_FLAGS = {
    "american_indian_alaska_native": "race_american_indian_alaska_native",
    "asian": "race_asian",
    "black": "race_black",
    "native_hawaiian_pacific_islander": "race_native_hawaiian_pacific_islander",
    "white": "race_white",
    "two_or_more": "race_two_or_more",
}


def derive_race_flags(frame: pd.DataFrame) -> None:
    """Fill the race flags from a single ``race_ethnicity`` column where a source has one.

    Flags a source sends itself win; a row without ``race_ethnicity`` is left alone.
    """
    code = frame["race_ethnicity"]
    has = code.notna()
    if not has.any():
        return
    for value, flag in [*RACE_FLAGS.items(), ("hispanic_latino", "hispanic_latino")]:
        derived = pd.Series(np.where(code == value, "true", "false"), dtype="string")
        frame[flag] = frame[flag].where(frame[flag].notna() | ~has, derived)
