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
import pyarrow as pa
import pyarrow.compute as pc

from quality.violations import VIOLATION_COLUMNS, empty_violations, violation_frame
from schemas import ENTITIES
from schemas._base import PANDAS_DTYPES, ColumnSpec
from wholechild.registry import EXCEL_SERIAL

TRUE_WORDS = frozenset({"y", "yes", "true", "t", "1", "x"})
FALSE_WORDS = frozenset({"n", "no", "false", "f", "0"})
SCIENTIFIC = re.compile(r"^[+-]?\d+(\.\d+)?[eE][+-]?\d+$")
INTEGER = re.compile(r"^[+-]?\d+(\.0+)?$")

# The fast paths of cast_column: a column whose every value is written this plainly is
# cast by Arrow, which gives pandas' values for them (pinned by tests/test_validate.py);
# a column holding anything else (a "+5", "1,000", an Excel oddity) takes the pandas path
# whole, so what a value casts to never depends on which path its column took.
_PLAIN_INTEGER = r"^-?[0-9]{1,18}$"
# No leading "+" (pandas parses "+0.78151951441122458" one unit in the last place off)
# and no integer "-0" (pandas: 0, Arrow: -0.0); two-digit exponents cannot overflow.
_PLAIN_NUMBER = (
    r"^-?([0-9]{1,18}|[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+(\.[0-9]*)?[eE][+-]?[0-9]{1,2}"
    r"|\.[0-9]+[eE][+-]?[0-9]{1,2})$"
)
_NEGATIVE_ZERO = r"^-0+$"
#: strptime directives a plain (zero-padded, fixed-width) date is written with.
_DATE_FIELDS = {"%Y": "[0-9]{4}", "%m": "[0-9]{2}", "%d": "[0-9]{2}"}
#: The days datetime64[ns] holds (pandas turns dates outside into NaT).
_NS_FIRST_DAY = dt.date(1677, 9, 22)
_NS_LAST_DAY = dt.date(2262, 4, 10)


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
            sci = _matches(out, SCIENTIFIC.pattern)
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
        parsed = _plain_dates(text, fmt)
        if parsed is None:
            s = text.astype("string")
            parsed = pd.to_datetime(s, format=fmt, errors="coerce")
            if fmt == "%Y-%m-%d":
                # ISO timestamps (2025-09-03T00:00:00) are dates too.
                retry = parsed.isna() & s.notna()
                if retry.any():
                    parsed = parsed.where(
                        ~retry,
                        pd.to_datetime(
                            s.where(retry).str.slice(0, 10), format=fmt, errors="coerce"
                        ),
                    )
            # Dates datetime64[ns] cannot hold (0001-01-01, 2300-01-01) are not plausible
            # dates anyway: NULL them here so the cast below cannot raise.
            parsed = parsed.where((parsed >= NS_MIN) & (parsed <= NS_MAX))
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
        out = _plain_numbers(text, _PLAIN_INTEGER, pa.int64(), "Int64")
        if out is not None:
            return out, empty_violations()
        s = text.astype("string")
        ok = s.str.match(INTEGER.pattern).fillna(False).to_numpy(dtype=bool)
        nums = pd.to_numeric(s.where(ok), errors="coerce")
        out = nums.round().astype("Int64")
        bad = present & ~ok
        return out, _bad(
            bad, "integer_format", name, text, lambda v: f"{name} '{v}' is not a whole number"
        )
    if col.type == "double":
        out = _plain_numbers(text, _PLAIN_NUMBER, pa.float64(), "Float64")
        if out is None:
            nums = pd.to_numeric(text.astype("string"), errors="coerce")
            out = nums.astype("Float64")
        bad = present & out.isna().to_numpy()
        return out, _bad(
            bad, "number_format", name, text, lambda v: f"{name} '{v}' is not a number"
        )
    raise TypeError(col.type)


def _arrow_text(text: pd.Series) -> pa.Array | pa.ChunkedArray:
    return pa.array(text.astype("string"), from_pandas=True)


def _matches(text: pd.Series, pattern: str) -> np.ndarray:
    """``text.str.match(pattern)`` as a bool mask (NULL: False), in Arrow's RE2 where it
    agrees with Python's ``re`` (ASCII text without a line break: ``\\d`` and ``$`` mean
    the same there); the other values go through ``re`` one by one."""
    values = _arrow_text(text)
    hits = pc.fill_null(pc.match_substring_regex(values, pattern), False)
    hits = np.array(hits.to_numpy(zero_copy_only=False), dtype=bool)
    odd = pc.or_(pc.invert(pc.string_is_ascii(values)), pc.match_substring(values, "\n"))
    odd = np.asarray(pc.fill_null(odd, False).to_numpy(zero_copy_only=False), dtype=bool)
    if odd.any():
        compiled = re.compile(pattern)
        for i in np.flatnonzero(odd):
            hits[i] = compiled.match(text.iloc[i]) is not None
    return hits


def _all_plain(values: pa.Array | pa.ChunkedArray, pattern: str) -> bool:
    """Every non-NULL value matches ``pattern``."""
    return values.null_count == len(values) or bool(
        pc.all(pc.match_substring_regex(values, pattern)).as_py()
    )


_NULLABLE = {pa.int64(): pd.Int64Dtype(), pa.float64(): pd.Float64Dtype()}


def _plain_numbers(text: pd.Series, pattern: str, type_: pa.DataType, dtype: str):
    """The column cast by Arrow when every value is a plain number, else None."""
    values = _arrow_text(text)
    if not _all_plain(values, pattern):
        return None
    if (
        pa.types.is_floating(type_)
        and pc.any(pc.match_substring_regex(values, _NEGATIVE_ZERO)).as_py()
    ):
        return None
    try:
        cast = pc.cast(values, type_)
    except pa.ArrowException:
        return None
    out = cast.to_pandas(types_mapper=_NULLABLE.get)
    out.index = text.index
    return out.astype(dtype)


def _plain_dates(text: pd.Series, fmt: str) -> pd.Series | None:
    """The column parsed by Arrow when every value is a plain date of ``fmt``, else None.

    Plain: written with zero-padded fields only (%Y, %m and %d once each, and literal
    characters), so each field sits at a fixed place: the fields are cut out, joined as
    an ISO date and cast strictly (a day that does not exist, 02/30, fails the cast and
    the column takes the pandas path), inside the range of datetime64[ns] as pandas parses it.
    """
    pieces = [p for p in re.split(r"(%[A-Za-z%])", fmt) if p]
    fields: dict[str, tuple[int, int]] = {}
    pattern, at = "^", 0
    for piece in pieces:
        if piece.startswith("%"):
            if piece not in _DATE_FIELDS or piece in fields:
                return None
            width = int(_DATE_FIELDS[piece][-2])  # "[0-9]{4}" -> 4
            fields[piece] = (at, at + width)
            pattern += _DATE_FIELDS[piece]
            at += width
        else:
            pattern += re.escape(piece)
            at += len(piece)
    if len(fields) != len(_DATE_FIELDS):
        return None
    values = _arrow_text(text)
    if not _all_plain(values, pattern + "$"):
        return None
    if fmt == "%Y-%m-%d":
        iso = values
    else:
        y, m, d = (pc.utf8_slice_codeunits(values, *fields[f]) for f in ("%Y", "%m", "%d"))
        iso = pc.binary_join_element_wise(y, m, d, pa.scalar("-", y.type))
    try:
        days = pc.cast(iso, pa.date32())  # strict: refuses 2025-02-30
    except pa.ArrowException:
        return None
    if days.null_count != len(days):
        low, high = pc.min_max(days).values()
        if low.as_py() < _NS_FIRST_DAY or high.as_py() > _NS_LAST_DAY:
            return None
    out = pc.cast(pc.cast(days, pa.timestamp("s")), pa.timestamp("ns")).to_pandas()
    out.index = text.index
    return out.astype("datetime64[ns]")


NS_MIN, NS_MAX = pd.Timestamp.min.ceil("D"), pd.Timestamp.max.floor("D")

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
