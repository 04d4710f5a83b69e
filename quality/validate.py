"""Audit a mapped table against its canonical contract (the "audit" of write-audit-publish).

Order matters and is deliberate:

1. cast each column on its own from text to its logical type, recording every value that
   does not parse (so one bad value never hides the row numbers of the others);
2. run the entity's Pandera model lazily on the cast frame and turn its failure cases
   into violations, counting bad rows from our own masks rather than trusting
   ``failure_cases`` to be complete;
3. apply the rules that need the delivery's context (no event after the delivery date)
   and the file rules (unique keys).

The result says, per output row, whether it may be published, with every violation
named by rule, column and value.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.errors

from quality.violations import VIOLATION_COLUMNS, empty_violations, violation_frame
from schemas import ENTITIES
from schemas._base import PANDAS_DTYPES, ColumnSpec
from wholechild.registry import EXCEL_SERIAL

TRUE_WORDS = frozenset({"y", "yes", "true", "t", "1", "x"})
FALSE_WORDS = frozenset({"n", "no", "false", "f", "0"})
SCIENTIFIC = re.compile(r"^[+-]?\d+(\.\d+)?[eE][+-]?\d+$")
INTEGER = re.compile(r"^[+-]?\d+(\.0+)?$")


class FileRuleViolation(Exception):
    """A file-level rule failed: the delivery publishes nothing."""

    def __init__(self, rule: str, message: str):
        self.rule = rule
        self.message = message
        super().__init__(message)


@dataclass
class AuditedTable:
    entity: str
    frame: pd.DataFrame  # cast to the contract's dtypes
    violations: pd.DataFrame  # row, rule, column_name, value, message
    row_ok: np.ndarray  # bool per row: no violation


def cast_column(
    text: pd.Series, col: ColumnSpec, fmt: str | None
) -> tuple[pd.Series, pd.DataFrame]:
    """Cast one text column to ``col.type``; return the cast values and the violations."""
    present = text.notna().to_numpy()
    name = col.name
    if col.type == "string":
        out = text.astype("string")
        if col.is_id:
            sci = out.str.match(SCIENTIFIC.pattern).fillna(False).to_numpy(dtype=bool)
            if sci.any():
                rows = np.flatnonzero(sci)
                vals = out.iloc[rows]
                return out, violation_frame(
                    rows,
                    "id_in_scientific_notation",
                    name,
                    vals,
                    [
                        f"{name} '{v}' is an id mangled into scientific notation by a spreadsheet; "
                        "export ids as text"
                        for v in vals
                    ],
                )
        return out, empty_violations()
    if col.type == "date" and fmt == EXCEL_SERIAL:
        return _excel_serial_dates(text, name)
    if col.type == "date":
        fmt = fmt or "%Y-%m-%d"
        s = text.astype("string")
        parsed = pd.to_datetime(s, format=fmt, errors="coerce")
        if fmt == "%Y-%m-%d":
            # ISO timestamps (2025-09-03T00:00:00) are dates too.
            retry = parsed.isna() & s.notna()
            if retry.any():
                parsed = parsed.where(
                    ~retry,
                    pd.to_datetime(s.where(retry).str.slice(0, 10), format=fmt, errors="coerce"),
                )
        parsed = parsed.dt.normalize().astype("datetime64[ns]")
        bad = present & parsed.isna().to_numpy()
        return parsed, _bad(
            bad,
            "date_format",
            name,
            text,
            lambda v: f"{name} '{v}' is not a date in the format {fmt}",
        )
    if col.type == "boolean":
        low = text.astype("string").str.lower()
        out = pd.Series(pd.NA, index=text.index, dtype="boolean")
        out[low.isin(TRUE_WORDS).fillna(False)] = True
        out[low.isin(FALSE_WORDS).fillna(False)] = False
        bad = present & out.isna().to_numpy()
        return out, _bad(
            bad, "boolean_format", name, text, lambda v: f"{name} '{v}' is not a yes/no value"
        )
    if col.type == "bigint":
        s = text.astype("string")
        ok = s.str.match(INTEGER.pattern).fillna(False).to_numpy(dtype=bool)
        nums = pd.to_numeric(s.where(ok), errors="coerce")
        out = nums.round().astype("Int64")
        bad = present & ~ok
        return out, _bad(
            bad, "integer_format", name, text, lambda v: f"{name} '{v}' is not a whole number"
        )
    if col.type == "double":
        nums = pd.to_numeric(text.astype("string"), errors="coerce")
        out = nums.astype("Float64")
        bad = present & out.isna().to_numpy()
        return out, _bad(
            bad, "number_format", name, text, lambda v: f"{name} '{v}' is not a number"
        )
    raise TypeError(col.type)


#: Excel's day 0 (its serials count days from here, with the 1900 leap-year bug absorbed).
EXCEL_EPOCH = pd.Timestamp("1899-12-30")


def _excel_serial_dates(text: pd.Series, name: str) -> tuple[pd.Series, pd.DataFrame]:
    """Spreadsheet day numbers (45903 is 2025-09-03) to dates; anything else is a violation."""
    present = text.notna().to_numpy()
    days = pd.to_numeric(text.astype("string"), errors="coerce")
    whole = days.notna() & (days == days.round()) & (days > 0)
    parsed = (EXCEL_EPOCH + pd.to_timedelta(days.where(whole), unit="D")).astype("datetime64[ns]")
    bad = present & ~whole.fillna(False).to_numpy(dtype=bool)
    return parsed, _bad(
        bad, "date_format", name, text, lambda v: f"{name} '{v}' is not an Excel day number"
    )


def _bad(mask: np.ndarray, rule: str, column: str, text: pd.Series, message) -> pd.DataFrame:
    if not mask.any():
        return empty_violations()
    rows = np.flatnonzero(mask)
    vals = text.iloc[rows]
    return violation_frame(rows, rule, column, vals, [message(v) for v in vals])


def _rule_name(check: str) -> tuple[str, str]:
    """Pandera's check label -> (our rule id, a phrase for the message)."""
    if check == "not_nullable":
        return "required", "is required and missing"
    if check.startswith("isin("):
        return "code_set", "is not one of the allowed codes"
    if (
        check.startswith("greater_than_or_equal_to")
        or check.startswith("less_than_or_equal_to")
        or check.startswith("in_range")
        or check.startswith("greater_than")
        or check.startswith("less_than")
    ):
        return "range", f"is out of range ({check})"
    if check.startswith("str_matches") or check.startswith("str_length"):
        return "format", f"breaks {check}"
    return check, check


def contract_violations(entity: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Run the entity's Pandera model lazily; failure cases become violations."""
    spec = ENTITIES[entity]
    try:
        spec.model.validate(frame, lazy=True)
        return empty_violations()
    except pandera.errors.SchemaErrors as exc:
        fc = exc.failure_cases
    fc = fc[fc["index"].notna()]
    if fc.empty:
        return empty_violations()
    out = []
    # Row rules show up under their error sentence (or name); map both to the rule name.
    row_rules: dict[str, tuple[str, str]] = {}
    for c in spec.schema.checks:
        row_rules[c.name] = row_rules[c.error] = (c.name, c.error or c.name)
    for (column, check), group in fc.groupby(["column", "check"], dropna=False, sort=False):
        rows = group["index"].astype("int64").to_numpy()
        if check in row_rules:
            name, sentence = row_rules[check]
            rows = np.unique(rows)
            out.append(violation_frame(rows, name, "", [None] * len(rows), [sentence] * len(rows)))
            continue
        rule, phrase = _rule_name(str(check))
        values = group["failure_case"].to_numpy()
        out.append(
            violation_frame(
                rows,
                rule,
                str(column),
                values,
                [
                    f"{column} '{v}' {phrase}" if rule != "required" else f"{column} {phrase}"
                    for v in values
                ],
            )
        )
    if not out:
        return empty_violations()
    return pd.concat(out, ignore_index=True).drop_duplicates(["row", "rule", "column_name"])


def audit(
    entity: str,
    text: pd.DataFrame,
    date_formats: dict[str, str],
    delivered_on: dt.date,
    prior_violations: pd.DataFrame | None = None,
) -> AuditedTable:
    """Cast, validate and apply context rules to one mapped table (see module docstring)."""
    spec = ENTITIES[entity]
    n = len(text)
    pieces = [prior_violations if prior_violations is not None else empty_violations()]
    cast: dict[str, pd.Series] = {}
    for name, col in spec.columns.items():
        values, v = cast_column(text[name].reset_index(drop=True), col, date_formats.get(name))
        cast[name] = values
        pieces.append(v)
    frame = pd.DataFrame(cast)
    for name, col in spec.columns.items():
        frame[name] = frame[name].astype(PANDAS_DTYPES[col.type])
    # Values that failed to map or cast are NULL now; do not let the contract report them
    # a second time as "required": the first violation already names the bad value.
    cast_failed = pd.concat(pieces, ignore_index=True)
    contract = contract_violations(entity, frame)
    if not contract.empty and not cast_failed.empty:
        seen = set(zip(cast_failed["row"], cast_failed["column_name"], strict=True))
        keep = [
            (r, c) not in seen
            for r, c in zip(contract["row"], contract["column_name"], strict=True)
        ]
        contract = contract[keep]
    pieces.append(contract)

    limit = pd.Timestamp(delivered_on)
    for name, col in spec.columns.items():
        if col.is_event_date:
            future = (frame[name] > limit).fillna(False).to_numpy(dtype=bool)
            pieces.append(
                _bad(
                    future,
                    "future_date",
                    name,
                    text[name].reset_index(drop=True),
                    lambda v, name=name: (
                        f"{name} '{v}' is after the delivery date {delivered_on.isoformat()}"
                    ),
                )
            )
    violations = pd.concat(pieces, ignore_index=True)[VIOLATION_COLUMNS]
    row_ok = np.ones(n, dtype=bool)
    if len(violations):
        row_ok[violations["row"].to_numpy(dtype="int64")] = False
    return AuditedTable(entity, frame, violations, row_ok)


def duplicate_keys(entity: str, frame: pd.DataFrame, limit: int = 5) -> list[tuple]:
    """Key values that occur more than once (NULL-safe), at most ``limit`` of them."""
    key = list(ENTITIES[entity].key)
    dup = frame.duplicated(subset=key, keep=False)
    if not dup.any():
        return []
    keys = frame.loc[dup, key].drop_duplicates().head(limit)
    return [
        tuple(
            None if pd.isna(v) else (v.date().isoformat() if isinstance(v, pd.Timestamp) else v)
            for v in row
        )
        for row in keys.itertuples(index=False)
    ]
