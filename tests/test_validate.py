"""Casting and auditing: every bad value is named with its row, column and rule."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from quality.validate import audit, cast_column, duplicate_keys
from schemas import ENTITIES
from schemas._base import ColumnSpec

DELIVERED = dt.date(2026, 1, 31)


def text_frame(entity: str, rows: list[dict]) -> pd.DataFrame:
    cols = ENTITIES[entity].columns
    return pd.DataFrame({c: pd.Series([r.get(c) for r in rows], dtype="string") for c in cols})


def attendance(**over) -> dict:
    row = {
        "student_ref": "004512",
        "school_id": "101",
        "event_date": "2025-09-03",
        "category": "unexcused_absence",
    }
    row.update(over)
    return row


def test_valid_rows_pass_and_ids_keep_leading_zeros():
    t = audit("attendance_event", text_frame("attendance_event", [attendance()]), {}, DELIVERED)
    assert t.row_ok.tolist() == [True]
    assert t.frame.loc[0, "student_ref"] == "004512"
    assert t.frame.loc[0, "event_date"] == pd.Timestamp("2025-09-03")


def test_each_bad_value_is_its_own_violation_with_row_and_column():
    rows = [
        attendance(),
        attendance(event_date="09/03/2025"),  # wrong format
        attendance(category="skipped"),  # not a code
        attendance(absent_fraction="1.5"),  # out of range
        attendance(student_ref=None),  # required
        attendance(event_date="1900-01-01"),  # placeholder date
        attendance(event_date="2026-03-01"),  # after the delivery date
        attendance(student_ref="1.2E+07"),  # spreadsheet-mangled id
    ]
    t = audit("attendance_event", text_frame("attendance_event", rows), {}, DELIVERED)
    assert t.row_ok.tolist() == [True] + [False] * 7
    got = {(int(r.row), r.rule, r.column_name) for r in t.violations.itertuples()}
    assert (1, "date_format", "event_date") in got
    assert (2, "code_set", "category") in got
    assert (3, "range", "absent_fraction") in got
    assert (4, "required", "student_ref") in got
    assert (5, "dates_are_plausible", "") in got
    assert (6, "future_date", "event_date") in got
    assert (7, "id_in_scientific_notation", "student_ref") in got
    # a value that failed to cast is reported once, not again as "required"
    assert not any(r == 1 and rule == "required" for r, rule, _ in got)
    msg = t.violations[t.violations["rule"] == "code_set"]["message"].iloc[0]
    assert "skipped" in msg


def test_declared_date_format_is_used():
    rows = [attendance(event_date="09/03/2025")]
    t = audit(
        "attendance_event",
        text_frame("attendance_event", rows),
        {"event_date": "%m/%d/%Y"},
        DELIVERED,
    )
    assert t.row_ok.tolist() == [True]
    assert t.frame.loc[0, "event_date"] == pd.Timestamp("2025-09-03")


def test_booleans_and_numbers_cast_with_violations():
    col = ENTITIES["section_enrollment"].columns["is_advanced"]
    values, v = cast_column(
        pd.Series(["Y", "no", "TRUE", "0", "maybe", None], dtype="string"), col, None
    )
    assert values.tolist()[:4] == [True, False, True, False]
    assert v["row"].tolist() == [4] and v["rule"].tolist() == ["boolean_format"]
    col = ENTITIES["health_event"].columns["minutes_missed"]
    values, v = cast_column(pd.Series(["30", "30.0", "x", "2.5"], dtype="string"), col, None)
    assert values.tolist()[:2] == [30, 30]
    assert v["row"].tolist() == [2, 3]


def test_duplicate_keys_are_null_safe():
    rows = [attendance(), attendance(), attendance(category="tardy")]
    t = audit("attendance_event", text_frame("attendance_event", rows), {}, DELIVERED)
    assert duplicate_keys("attendance_event", t.frame) == [
        ("004512", "101", "2025-09-03", "unexcused_absence")
    ]
    a = {
        "student_ref": "1",
        "assessment_name": "MAP",
        "subject": "math",
        "assessed_on": "2025-10-01",
    }
    t = audit("assessment_result", text_frame("assessment_result", [a, dict(a)]), {}, DELIVERED)
    assert len(duplicate_keys("assessment_result", t.frame)) == 1  # NULL test_code == NULL


# Columns of plainly written values are cast by Arrow, anything else by pandas; each
# column below must cast to the same values and violations either way.
PLAIN_OR_NOT = {
    "bigint": [
        ["12", "-7", "0", "-0", "007", None, "123456789012345678"],
        ["12", "+5", "30.0", "x", None],
        ["9007199254740993", "12"],
        ["12345678901234567890", "1"],
    ],
    "double": [
        ["1.5", "-2", ".5", "5.", "1e5", "1E-07", "-0.0", None, "0.78151951441122458"],
        ["+0.78151951441122458", "1.5"],
        ["-0", "2.5"],
        ["12345678901234567890", "0.1"],
        ["1e400", "1"],
        ["nan", "inf", "1,000", "x", None],
    ],
    "date": [
        ["2025-09-03", "2026-02-28", None, "1999-12-31"],
        ["2025-02-30", "2025-09-03"],
        ["2025-9-3", "2025-09-03T00:00:00", "2025-09-03"],
    ],
    "date %m/%d/%Y": [
        ["09/03/2025", "12/31/2025", None],
        ["02/30/2025", "09/03/2025"],
        ["9/3/2025", "09/03/2025"],
    ],
}


@pytest.mark.parametrize(
    ("kind", "values"),
    [(kind, values) for kind, columns in PLAIN_OR_NOT.items() for values in columns],
)
def test_fast_casts_equal_the_pandas_casts(kind, values, monkeypatch):
    from quality import validate

    type_, _, fmt = kind.partition(" ")
    col = ColumnSpec(name="c", type=type_, required=False, description="")
    text = pd.Series(values, dtype="string")
    fast_values, fast_violations = cast_column(text, col, fmt or None)
    monkeypatch.setattr(validate, "_plain_numbers", lambda *a: None)
    monkeypatch.setattr(validate, "_plain_dates", lambda *a: None)
    slow_values, slow_violations = cast_column(text, col, fmt or None)
    pd.testing.assert_series_equal(fast_values, slow_values)
    pd.testing.assert_frame_equal(fast_violations, slow_violations)
    if type_ == "double":  # -0.0 and 0.0 compare equal: the signs must agree too
        signs = [np.signbit(v) if pd.notna(v) else None for v in fast_values]
        assert signs == [np.signbit(v) if pd.notna(v) else None for v in slow_values]


def test_scientific_ids_are_found_in_arrow_as_pandas_finds_them():
    col = ENTITIES["attendance_event"].columns["student_ref"]
    values = ["1.2E+07", "004512", None, "12e3", "1e", "e5", "\u0661e\u0665", "1e5\n"]
    text = pd.Series(values, dtype="string")
    _, v = cast_column(text, col, None)
    expected = text.str.match(r"^[+-]?\d+(\.\d+)?[eE][+-]?\d+$").fillna(False)
    assert v["row"].tolist() == expected[expected].index.tolist() == [0, 3, 6, 7]


def test_dates_beyond_what_pandas_can_hold_are_quarantined_not_crashing():
    rows = [
        attendance(event_date="0001-01-01"),
        attendance(event_date="2300-01-01"),
        attendance(event_date="01/02/2300"),
    ]
    t = audit(
        "attendance_event",
        text_frame("attendance_event", rows),
        {"event_date": "%Y-%m-%d"},
        DELIVERED,
    )
    assert t.row_ok.tolist() == [False, False, False]
    assert set(t.violations["rule"]) == {"date_format"}
