"""The whole-child marts on the demo district: identity, profile, readiness, and no PII.

The demo is built once for the module (300 students, seed 5); each test reads the
warehouse, the share and the generator's answers (``landing/_expected.json``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import pytest

from orchestration.cli import main
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

#: Column names that are direct identifiers: no mart but mart_unmatched_records may have one.
DIRECT_IDENTIFIER_NAMES = (
    "first_name",
    "last_name",
    "birth_date",
    "email",
    "username",
    "local_id",
    "state_id",
    "student_ref",
    "district_id",
)
STEWARDSHIP_ONLY = {"mart_unmatched_records"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """Build the demo district once; returns its WHOLECHILD_HOME."""
    home = tmp_path_factory.mktemp("whole_child") / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WHOLECHILD_HOME", str(home))
        mp.setenv("WHOLECHILD_SOURCES", str(ROOT / "sources"))
        mp.setenv("WHOLECHILD_SETTLE_SECONDS", "0")
        code = main(["demo", "--students", "300", "--seed", "5"])
    assert code == 0, "the demo build failed; run `wholechild demo --students 300 --seed 5`"
    return home


@pytest.fixture(scope="module")
def con(demo):
    with duckdb.connect(str(demo / "warehouse.duckdb"), read_only=True) as c:
        yield c


@pytest.fixture(scope="module")
def expected(demo) -> dict:
    return json.loads((demo / "landing" / "_expected.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def roster(con) -> dict[str, set[str]]:
    """The roster's direct identifiers, by kind (exact strings as the roster holds them)."""
    rows = con.execute(
        "select first_name, last_name, email, username, local_id, state_id, student_ref "
        "from staging.stg_student"
    ).fetchall()
    kinds = ("first_name", "last_name", "email", "username", "local_id", "state_id", "student_ref")
    return {k: {r[i] for r in rows if r[i] not in (None, "")} for i, k in enumerate(kinds)}


def _key(con, local_id: str) -> str:
    row = con.execute(
        "select student_key from pii.student_keys where district_id = ?", [local_id]
    ).fetchone()
    assert row, f"no student key for roster local id {local_id}"
    return row[0]


def _mart_tables(con) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'marts' order by table_name"
        ).fetchall()
    ]


def _columns(con, relation: str) -> list[tuple[str, str]]:
    """(column, type) of every column of a table or table function, in order."""
    return [(r[0], r[1]) for r in con.execute(f"describe select * from {relation}").fetchall()]


# --------------------------------------------------------------------------------------
# Profile
# --------------------------------------------------------------------------------------


def test_profile_has_one_row_per_student_and_year(con):
    n, distinct = con.execute(
        "select count(*), count(distinct student_key || '|' || cast(school_year as varchar)) "
        "from marts.mart_whole_child_profile"
    ).fetchone()
    assert n == distinct > 0
    assert con.execute(
        "select count(*) from marts.mart_whole_child_profile where school_year <> 2026"
    ).fetchone() == (0,)


def test_every_enrolled_roster_student_has_a_profile(con, expected):
    """Every roster student is in the profile, except the planted no-shows (never enrolled)."""
    no_shows = set(expected["district"]["no_show_students"])
    roster_ids = {r[0] for r in con.execute("select district_id from pii.student_keys").fetchall()}
    assert len(roster_ids) == expected["district"]["students_on_roster"]
    in_profile = {
        r[0]
        for r in con.execute(
            "select k.district_id from marts.mart_whole_child_profile as p "
            "inner join pii.student_keys as k on p.student_key = k.student_key"
        ).fetchall()
    }
    missing = sorted(roster_ids - no_shows - in_profile)
    assert not missing, f"roster students without a profile row: {missing[:10]}"
    assert not (no_shows & in_profile), "a no-show student (never enrolled) has a profile row"
    n = con.execute("select count(*) from marts.mart_whole_child_profile").fetchone()[0]
    assert n == expected["district"]["students_enrolled"]


def test_profile_and_dim_student_have_the_same_students(con):
    only_one = con.execute(
        "select count(*) from marts.dim_student as d "
        "full outer join marts.mart_whole_child_profile as p "
        "on d.student_key = p.student_key and d.school_year = p.school_year "
        "where d.student_key is null or p.student_key is null"
    ).fetchone()[0]
    assert only_one == 0


def test_planted_students_facts_match_the_generator(con, expected):
    """The five students whose every number the generator knows."""
    programs = (
        "english_learner",
        "economically_disadvantaged",
        "homeless",
        "foster_care",
        "gifted",
        "section_504",
        "migrant",
    )
    for st in expected["planted_students"]:
        key = _key(con, st["local_id"])
        row = con.execute(
            "select * from marts.mart_whole_child_profile where student_key = ?", [key]
        ).fetchone()
        assert row, f"planted student {st['label']} has no profile row"
        cols = [d[0] for d in con.description]
        p = dict(zip(cols, row, strict=True))
        label = st["label"]
        assert p["school_id"] == st["school_id"], label
        assert p["grade_level"] == st["grade_level"], label
        assert p["race_ethnicity"] == st["race_ethnicity"], label
        assert p["sex"] == st["sex"], label
        sped = st["programs"]["special_education"]
        assert p["disability"] == ("yes" if sped else "no"), label
        assert p["disability_category"] == st["disability_category"], label
        for program in programs:
            assert p[program] == ("yes" if st["programs"][program] else "no"), (label, program)
        if st["gpa"] is None:
            assert p["gpa"] is None, label
        else:
            assert math.isclose(p["gpa"], st["gpa"], abs_tol=1e-3), (label, p["gpa"], st["gpa"])
        if st["marks"]:
            assert p["core_course_failures"] == st["core_course_failures"], label
            assert p["any_course_failures"] == st["course_failures"], label
        assert p["incidents"] == st["n_incidents"], label
        assert p["suspensions"] == st["n_suspensions"], label
        assert p["ela_proficient"] == st["state_assessment"]["ela_proficient"], label
        assert p["math_proficient"] == st["state_assessment"]["math_proficient"], label
        assert bool(p["advanced_course_enrolled"]) == st["advanced_course_enrolled"], label
        att = st["attendance"]
        assert math.isclose(p["attendance_rate"], att["attendance_rate"], abs_tol=1e-4), label
        assert p["is_chronically_absent"] == att["is_chronically_absent"], label


# --------------------------------------------------------------------------------------
# Readiness
# --------------------------------------------------------------------------------------


def test_readiness_status_is_the_worst_indicator_with_data(con):
    rank = {"off_track": 3, "watch": 2, "on_track": 1, "no_data": 0}
    statuses: dict[tuple[str, int], list[str]] = {}
    for key, year, status in con.execute(
        "select student_key, school_year, status from marts.mart_student_readiness"
    ).fetchall():
        statuses.setdefault((key, year), []).append(status)
    profile = dict(
        ((k, y), s)
        for k, y, s in con.execute(
            "select student_key, school_year, readiness_status from marts.mart_whole_child_profile"
        ).fetchall()
    )
    assert set(profile) == set(statuses)
    for student_year, found in statuses.items():
        worst = max(found, key=rank.__getitem__)
        assert profile[student_year] == worst, (student_year, found)


def test_ninth_grade_indicator_only_for_grade_nine(con):
    wrong = con.execute(
        "select count(*) from marts.mart_student_readiness as r "
        "inner join marts.dim_student as d "
        "on r.student_key = d.student_key and r.school_year = d.school_year "
        "where r.indicator = 'ninth_grade_on_track' and d.grade_level <> '09'"
    ).fetchone()[0]
    assert wrong == 0
    ninth = con.execute(
        "select count(*) from marts.dim_student where grade_level = '09'"
    ).fetchone()
    rows = con.execute(
        "select count(*) from marts.mart_student_readiness where indicator = 'ninth_grade_on_track'"
    ).fetchone()
    assert ninth == rows


def test_no_data_is_never_on_track(con):
    """A student without final marks has no_data for course performance, never on_track."""
    bad = con.execute(
        "select count(*) from marts.mart_student_readiness as r "
        "inner join marts.mart_whole_child_profile as p "
        "on r.student_key = p.student_key and r.school_year = p.school_year "
        "where r.indicator = 'course_performance' and p.gpa is null "
        "and p.core_course_failures is null and r.status <> 'no_data'"
    ).fetchone()[0]
    assert bad == 0
    statuses = dict(
        con.execute(
            "select status, count(*) from marts.mart_student_readiness group by 1"
        ).fetchall()
    )
    assert set(statuses) <= {"on_track", "watch", "off_track", "no_data"}
    assert statuses.get("off_track", 0) > 0 and statuses.get("on_track", 0) > 0


# --------------------------------------------------------------------------------------
# Identity: unmatched records and match rates
# --------------------------------------------------------------------------------------


def test_planted_unmatched_ids_are_listed_with_reasons(con, expected):
    listed = {
        (s, e, r): (reason, n)
        for s, e, r, reason, n in con.execute(
            "select source, entity, student_ref, reason, n_rows from marts.mart_unmatched_records"
        ).fetchall()
    }
    assert expected["unmatched"], "the generator planted no unmatched ids"
    for u in expected["unmatched"]:
        key = (u["source"], u["entity"], u["student_ref"])
        assert key in listed, f"planted unmatched id missing from mart_unmatched_records: {key}"
        reason, n_rows = listed[key]
        assert reason and len(reason) > 20, key
        assert n_rows == u["n_rows"], (key, n_rows, u["n_rows"])
        # The reason names the id it is about, so a steward can find it.
        assert u["student_ref"].strip().lower() in reason.lower(), (key, reason)


def test_dropped_leading_zeros_get_the_pad_to_hint(con, expected, roster):
    dropped = [
        u
        for u in expected["unmatched"]
        if u["id_kind"] == "local" and "leading zeros" in u["reason"]
    ]
    assert dropped, "the generator planted no id without its leading zeros"
    for u in dropped:
        padded = next(i for i in roster["local_id"] if i.lstrip("0") == u["student_ref"])
        reason = con.execute(
            "select reason from marts.mart_unmatched_records "
            "where source = ? and entity = ? and student_ref = ?",
            [u["source"], u["entity"], u["student_ref"]],
        ).fetchone()[0]
        assert f"'{padded}'" in reason, reason
        assert f"pad_to: {len(padded)}" in reason, reason
        assert f"sources/{u['source']}.yml" in reason, reason


def test_match_rates_fall_below_one_exactly_where_ids_were_planted(con, expected):
    planted = {u["source"] for u in expected["unmatched"]}
    rates = con.execute(
        "select source, min(match_rate), sum(rows), sum(rows_matched) "
        "from marts.mart_source_match_rates group by source"
    ).fetchall()
    below = {s for s, rate, _, _ in rates if rate is not None and rate < 1}
    assert below == planted, f"match rate < 1 for {sorted(below)}, planted in {sorted(planted)}"
    unmatched_rows = dict(
        con.execute(
            "select source, sum(n_rows) from marts.mart_unmatched_records group by source"
        ).fetchall()
    )
    for source, _, rows, matched in rates:
        assert rows - matched == unmatched_rows.get(source, 0), source


def test_email_matching_ignores_case(con):
    """The survey vendor capitalizes some emails; they still match the roster."""
    mixed = con.execute(
        "select count(*), count(*) filter (where is_matched) "
        "from intermediate.int_student_identity "
        "where id_kind = 'email' and student_ref <> lower(student_ref)"
    ).fetchone()
    assert mixed[0] > 0, "the demo has no mixed-case email to test"
    assert mixed[0] == mixed[1]


# --------------------------------------------------------------------------------------
# PII: no direct identifier in any mart or shared file
# --------------------------------------------------------------------------------------


def _identifier_columns(columns: list[tuple[str, str]]) -> list[str]:
    return [
        name
        for name, _ in columns
        if any(token in name.lower() for token in DIRECT_IDENTIFIER_NAMES)
    ]


def _is_string(type_name: str) -> bool:
    return type_name.upper() in ("VARCHAR", "STRING", "TEXT") or type_name.upper().startswith(
        "VARCHAR"
    )


def _pii_values(roster: dict[str, set[str]]) -> dict[str, str]:
    """Every roster name, email, username, local id and state id -> what kind it is."""
    values: dict[str, str] = {}
    for kind, found in roster.items():
        for v in found:
            values.setdefault(v, kind)
            if kind in ("email", "username"):
                # the case-insensitive kinds, as a source may carry them
                values.setdefault(v.strip().lower(), kind)
    return values


def _leaks(con, relation: str, columns, pii: dict[str, str]) -> list[str]:
    found = []
    for name, type_name in columns:
        if not _is_string(type_name):
            continue
        quoted = '"' + name.replace('"', '""') + '"'
        distinct = con.execute(f"select distinct {quoted} from {relation}").fetchall()
        hits = sorted({v for (v,) in distinct if v is not None and v in pii})
        if hits:
            found.append(
                f"{relation}.{name}: {len(hits)} value(s) equal a roster {pii[hits[0]]} "
                f"(e.g. {hits[0]!r})"
            )
    return found


def test_no_mart_has_a_direct_identifier_column(con):
    tables = _mart_tables(con)
    assert "mart_whole_child_profile" in tables and "mart_unmatched_records" in tables
    offenders = {
        t: cols
        for t in tables
        if t not in STEWARDSHIP_ONLY and (cols := _identifier_columns(_columns(con, f"marts.{t}")))
    }
    assert not offenders, f"marts with direct identifier columns: {offenders}"


def test_no_mart_value_equals_a_roster_identifier(con, roster):
    pii = _pii_values(roster)
    leaks = []
    for t in _mart_tables(con):
        if t in STEWARDSHIP_ONLY:
            continue
        leaks += _leaks(con, f"marts.{t}", _columns(con, f"marts.{t}"), pii)
    assert not leaks, "direct identifiers in marts:\n" + "\n".join(leaks)


def test_share_holds_no_direct_identifier(demo, roster):
    share = demo / "share"
    files = sorted(share.glob("*.parquet"))
    assert files, "share/ holds no Parquet file"
    names = {f.stem for f in files}
    assert "mart_whole_child_profile" in names
    assert not (names & STEWARDSHIP_ONLY), "mart_unmatched_records must never be shared"
    pii = _pii_values(roster)
    problems = []
    with duckdb.connect() as mem:
        for f in files:
            relation = "read_parquet('" + str(f).replace("'", "''") + "')"
            columns = _columns(mem, relation)
            bad_names = _identifier_columns(columns)
            if bad_names:
                problems.append(f"share/{f.name}: identifier columns {bad_names}")
            problems += [
                p.replace(relation, f"share/{f.name}") for p in _leaks(mem, relation, columns, pii)
            ]
    assert not problems, "direct identifiers in share/:\n" + "\n".join(problems)
