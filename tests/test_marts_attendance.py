"""Attendance marts end to end: the demo district's planted students, exactly.

The demo is built once for the module (300 students, seed 5). Each planted student's
expected attendance in ``landing/_expected.json`` (written by the generator from the
METRICS.md rules) must be what ``marts.fct_student_attendance_year`` (per school) and
``intermediate.int_student_attendance_district_year`` (district level) hold for their
student_key: overlapping enrollments merged, a no-show dropped, an event after the exit
and one on a holiday ignored, partial days under both partial-day rules.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.cli import main
from tests.conftest import ROOT
from wholechild import config, transform
from wholechild.config import Paths
from wholechild.identity import student_key

pytestmark = pytest.mark.slow

MIN_DAYS = 10  # wholechild:attendance:chronic_min_days (dbt_project.yml)
THRESHOLD = 0.10  # wholechild:attendance:chronic_threshold
ATTENDANCE_MODELS = (
    "int_student_school_days int_student_overlapping_school_days "
    "int_student_attendance_school_year fct_student_attendance_year "
    "int_student_attendance_district_year"
)


def chronic(days_enrolled: int, days_absent: float) -> bool | None:
    """METRICS.md: inclusive 10% rule; below the minimum days the student is not counted."""
    if days_enrolled < MIN_DAYS:
        return None
    return days_absent / days_enrolled >= THRESHOLD


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    """The demo district built once; yields (home, expected planted students, env)."""
    home = tmp_path_factory.mktemp("attendance") / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WHOLECHILD_HOME", str(home))
        mp.setenv("WHOLECHILD_SOURCES", str(ROOT / "sources"))
        mp.setenv("WHOLECHILD_SETTLE_SECONDS", "0")
        mp.delenv("WHOLECHILD_PSEUDONYM_KEY", raising=False)
        assert main(["demo", "--students", "300", "--seed", "5"]) == 0
        expected = json.loads((home / "landing" / "_expected.json").read_text())
        key = config.pseudonym_key()
        planted = {
            p["label"]: {**p, "student_key": student_key(p["local_id"], key)}
            for p in expected["planted_students"]
        }
        yield home, planted


def _rows(warehouse: Path, sql: str, params: list | None = None) -> list[dict]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cur = con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _per_school(warehouse: Path, key: str) -> dict[str, dict]:
    rows = _rows(
        warehouse,
        "select * from marts.fct_student_attendance_year where student_key = ?",
        [key],
    )
    return {r["school_id"]: r for r in rows}


def _district(warehouse: Path, key: str) -> list[dict]:
    return _rows(
        warehouse,
        "select * from intermediate.int_student_attendance_district_year where student_key = ?",
        [key],
    )


def test_planted_students_per_school_match_what_was_planted(demo_home):
    home, planted = demo_home
    assert len(planted) == 5
    for label, p in planted.items():
        want = p["attendance"]["by_school"]
        got = _per_school(home / "warehouse.duckdb", p["student_key"])
        assert set(got) == set(want), label
        for school_id, w in want.items():
            row = got[school_id]
            assert row["school_year"] == 2026, label
            assert row["days_enrolled"] == w["days_enrolled"], (label, school_id)
            assert row["days_absent"] == pytest.approx(w["days_absent"], abs=1e-9), label
            assert row["is_chronically_absent"] is chronic(w["days_enrolled"], w["days_absent"])
            assert row["partial_day_rule"] == "fraction"
            assert row["attendance_rate"] == pytest.approx(
                (w["days_enrolled"] - w["days_absent"]) / w["days_enrolled"]
            )


def test_planted_students_district_level_match_what_was_planted(demo_home):
    home, planted = demo_home
    for label, p in planted.items():
        want = p["attendance"]
        rows = _district(home / "warehouse.duckdb", p["student_key"])
        assert len(rows) == 1, label
        row = rows[0]
        assert row["days_enrolled"] == want["days_enrolled"], label
        assert row["days_absent"] == pytest.approx(want["days_absent"], abs=1e-9), label
        assert row["is_chronically_absent"] is want["is_chronically_absent"], label
        assert row["attendance_rate"] == pytest.approx(want["attendance_rate"], abs=1e-6)


def test_overlapping_enrollments_are_one_span_and_counted_once(demo_home):
    home, planted = demo_home
    p = planted["overlap_withdrawn_advanced"]
    assert len(p["enrollments"]) == 2  # two overlapping records at one school
    spans = _rows(
        home / "warehouse.duckdb",
        "select * from intermediate.int_enrollment_spans where student_key = ?",
        [p["student_key"]],
    )
    assert len(spans) == 1
    assert str(spans[0]["entry_date"]) == "2025-08-13"
    assert str(spans[0]["exit_date"]) == "2026-03-13"


def test_events_outside_enrollment_or_on_holidays_do_not_count(demo_home):
    home, planted = demo_home
    p = planted["two_enrollments"]
    ignored = p["attendance"]["events_not_counted"]
    assert {e["why_not_counted"] for e in ignored} == {
        "not an instructional day",
        "student not enrolled at that school that day",
    }
    days = _rows(
        home / "warehouse.duckdb",
        "select cast(calendar_date as varchar) as d from intermediate.int_student_school_days "
        "where student_key = ?",
        [p["student_key"]],
    )
    counted = {r["d"] for r in days}
    assert not counted & {e["event_date"] for e in ignored}


def test_no_student_is_absent_more_days_than_enrolled(demo_home):
    home, _planted = demo_home
    for table in (
        "marts.fct_student_attendance_year",
        "intermediate.int_student_attendance_district_year",
    ):
        bad = _rows(
            home / "warehouse.duckdb",
            f"select * from {table} where days_absent > days_enrolled or days_absent < 0 "
            "or attendance_rate < 0 or attendance_rate > 1 or attendance_rate is null",
        )
        assert bad == [], table
        n = _rows(home / "warehouse.duckdb", f"select count(*) as n from {table}")[0]["n"]
        assert n > 250, table  # the district's enrolled students, not a handful


def test_students_below_min_days_are_not_counted(demo_home):
    home, _planted = demo_home
    bad = _rows(
        home / "warehouse.duckdb",
        "select * from intermediate.int_student_attendance_district_year "
        f"where (is_chronically_absent is null) <> (days_enrolled < {MIN_DAYS})",
    )
    assert bad == []


def test_half_day_whole_rule_matches_what_was_planted(demo_home, tmp_path):
    """The CRDC rule, on a copy of the warehouse rebuilt with the var set."""
    home, planted = demo_home
    copy = tmp_path / "home"
    # symlinks=True: the dbt workspace links the checkout's project (dbt_prepare.workspace).
    shutil.copytree(home, copy, symlinks=True, ignore=shutil.ignore_patterns("locks", "dagster"))
    proc = transform.run_dbt(
        [
            "build",
            "--quiet",
            "--select",
            ATTENDANCE_MODELS,
            "--vars",
            json.dumps({"wholechild:attendance:partial_day_rule": "half_day_whole"}),
        ],
        Paths(copy),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for label, p in planted.items():
        want = p["attendance"]
        rows = _district(copy / "warehouse.duckdb", p["student_key"])
        assert len(rows) == 1, label
        assert rows[0]["days_absent"] == pytest.approx(want["days_absent_half_day_whole"])
        assert rows[0]["is_chronically_absent"] is want["is_chronically_absent_half_day_whole"]
        per_school = _per_school(copy / "warehouse.duckdb", p["student_key"])
        assert {r["partial_day_rule"] for r in per_school.values()} == {"half_day_whole"}
        if len(per_school) == 1:
            (row,) = per_school.values()
            assert row["days_absent"] == pytest.approx(want["days_absent_half_day_whole"])
            assert row["is_chronically_absent"] is want["is_chronically_absent_half_day_whole"]
    # The partial-days student is the one the two rules disagree on (METRICS.md).
    p4 = planted["midyear_sped_partial_days"]["attendance"]
    assert p4["is_chronically_absent"] is False
    assert p4["is_chronically_absent_half_day_whole"] is True


def test_counted_days_equal_the_listed_days(demo_home):
    """The counts per span (int_student_attendance_school_year) are the sums of the
    student x day view they no longer read (int_student_school_days), for every student,
    school and year; and the district level counts a day once."""
    home, _planted = demo_home
    warehouse = home / "warehouse.duckdb"
    per_school_from_days = """
        select student_key, school_id, school_year, count(*) as days_enrolled,
            round(sum(absence), 4) as days_absent, min(calendar_date) as first_day_enrolled,
            max(calendar_date) as last_day_enrolled
        from intermediate.int_student_school_days
        group by student_key, school_id, school_year
    """
    per_school = """
        select student_key, school_id, school_year, days_enrolled, days_absent,
            first_day_enrolled, last_day_enrolled
        from marts.fct_student_attendance_year
    """
    district_from_days = """
        select student_key, school_year, count(*) as days_enrolled,
            round(sum(absence), 4) as days_absent
        from (
            select student_key, school_year, calendar_date, max(absence) as absence
            from intermediate.int_student_school_days
            group by student_key, school_year, calendar_date
        ) as days
        group by student_key, school_year
    """
    district = """
        select student_key, school_year, days_enrolled, days_absent
        from intermediate.int_student_attendance_district_year
    """
    for listed, counted in ((per_school_from_days, per_school), (district_from_days, district)):
        assert _rows(warehouse, f"select count(*) as n from ({counted}) as c")[0]["n"] > 250
        for a, b in ((listed, counted), (counted, listed)):
            assert _rows(warehouse, f"({a}) except all ({b})") == []
