"""The canonical contracts (schemas/) against CANONICAL.md.

The expectations below are written out by hand from CANONICAL.md rather than read from
``schemas.common``, so a contract that drops a code, a range or a rule fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pandera.errors
import pytest

from schemas import DOMAINS, ENTITIES
from schemas._base import PANDAS_DTYPES

CANONICAL_MD = Path(__file__).resolve().parents[2] / "shared" / "docs" / "CANONICAL.md"

# One valid row per entity: every contract column, realistic values.
VALID_ROWS: dict[str, dict[str, object]] = {
    "school": {
        "school_id": "0255901001",
        "school_name": "Grand Bend High School",
        "district_id": "255901",
        "school_type": "high",
        "grade_low": "09",
        "grade_high": "12",
        "source_record_id": "sch-1",
    },
    "student": {
        "student_ref": "004958",
        "local_id": "004958",
        "state_id": "TX0012345",
        "email": "ana.perez@example.org",
        "username": "aperez",
        "first_name": "Ana",
        "last_name": "Perez",
        "birth_date": "2012-03-04",
        "sex": "female",
        "hispanic_latino": True,
        "race_american_indian_alaska_native": False,
        "race_asian": False,
        "race_black": False,
        "race_native_hawaiian_pacific_islander": False,
        "race_white": True,
        "race_two_or_more": False,
        "race_ethnicity": "hispanic_latino",
        "grade_level": "07",
        "school_id": "0255901001",
        "source_record_id": "stu-1",
    },
    "enrollment": {
        "student_ref": "004958",
        "school_id": "0255901001",
        "entry_date": "2025-08-20",
        "exit_date": "2026-05-29",
        "grade_level": "07",
        "exit_code": "end_of_year",
        "school_year": 2026,
        "source_record_id": "enr-1",
    },
    "calendar_day": {
        "school_id": "0255901001",
        "calendar_date": "2025-09-02",
        "is_instructional": True,
        "school_year": 2026,
        "source_record_id": None,
    },
    "section_enrollment": {
        "student_ref": "004958",
        "section_id": "25590100101Trad120ENG112011",
        "school_id": "0255901001",
        "course_code": "ENG1",
        "course_title": "English I",
        "subject_area": "ela",
        "is_advanced": False,
        "teacher_id": "T0042",
        "begin_date": "2025-08-20",
        "end_date": "2025-12-19",
        "source_record_id": "6F4283DC",
    },
    "attendance_event": {
        "student_ref": "004958",
        "school_id": "0255901001",
        "event_date": "2025-09-03",
        "category": "excused_absence",
        "absent_fraction": 0.5,
        "source_record_id": None,
    },
    "assessment_result": {
        "student_ref": "004958",
        "assessment_name": "MAP Growth",
        "subject": "math",
        "assessed_on": "2025-09-16",
        "test_code": "0711521234",
        "scale_score": 208.0,
        "percentile": 57.0,
        "performance_level": "Avg",
        "is_proficient": True,
        "source_record_id": None,
    },
    "course_mark": {
        "student_ref": "004958",
        "school_id": "0255901001",
        "course_code": "ENG1",
        "subject_area": "ela",
        "term": "S1",
        "mark": "B+",
        "is_failing": False,
        "mark_type": "final",
        "grade_points": 3.3,
        "credits_attempted": 0.5,
        "credits_earned": 0.5,
        "school_year": 2026,
        "source_record_id": None,
    },
    "discipline_incident": {
        "student_ref": "004958",
        "incident_id": "INC-0001",
        "incident_date": "2025-10-01",
        "behavior": "code_of_conduct",
        "action": "in_school_suspension",
        "days_removed": 1.5,
        "school_id": "0255901001",
        "source_record_id": None,
    },
    "program_participation": {
        "student_ref": "004958",
        "program": "special_education",
        "begin_date": "2024-01-10",
        "end_date": "2026-01-09",
        "disability_category": "specific_learning_disability",
        "source_record_id": None,
    },
    "survey_response": {
        "student_ref": "004958",
        "survey_name": "Panorama SEL",
        "administered_on": "2025-10-15",
        "construct": "belonging",
        "score": 72.5,
        "source_record_id": None,
    },
    "lms_activity": {
        "student_ref": "004958",
        "activity_date": "2025-10-15",
        "course_ref": "canvas-1001",
        "minutes_active": 42.5,
        "assignments_submitted": 2,
        "assignments_due": 3,
        "source_record_id": None,
    },
    "health_event": {
        "student_ref": "004958",
        "event_date": "2025-10-20",
        "event_type": "nurse_visit",
        "minutes_missed": 20,
        "outcome": "returned to class",
        "source_record_id": None,
    },
    "staff_assignment": {
        "teacher_id": "T0042",
        "school_id": "0255901001",
        "section_id": "25590100101Trad120ENG112011",
        "years_experience": 2.0,
        "is_in_field": True,
        "source_record_id": None,
    },
    "state_comparison": {
        "school_year": 2026,
        "category": "identification_autism",
        "race_ethnicity": "black",
        "n_outcome": 120,
        "n_population": 5400,
        "source_record_id": None,
    },
}

SUBJECT_CODES = ("ela", "math", "science", "social_studies", "other")
GRADE_CODES = ("PK", "KG", *(f"{g:02d}" for g in range(1, 13)))
RACE_CODES = (
    "hispanic_latino",
    "american_indian_alaska_native",
    "asian",
    "black",
    "native_hawaiian_pacific_islander",
    "white",
    "two_or_more",
    "unknown",
)

# (entity, column) -> the code set CANONICAL.md gives it.
EXPECTED_CODES: dict[tuple[str, str], tuple[str, ...]] = {
    ("school", "school_type"): ("elementary", "middle", "high", "other"),
    ("school", "grade_low"): GRADE_CODES,
    ("school", "grade_high"): GRADE_CODES,
    ("student", "sex"): ("female", "male", "nonbinary", "not_selected"),
    ("student", "race_ethnicity"): RACE_CODES,
    ("student", "grade_level"): GRADE_CODES,
    ("enrollment", "grade_level"): GRADE_CODES,
    ("enrollment", "exit_code"): (
        "transferred",
        "graduated",
        "completed",
        "dropout",
        "expelled",
        "withdrawn",
        "end_of_year",
        "no_show",
        "invalid_enrollment",
        "other",
    ),
    ("section_enrollment", "subject_area"): SUBJECT_CODES,
    ("attendance_event", "category"): (
        "present",
        "excused_absence",
        "unexcused_absence",
        "tardy",
        "early_departure",
        "partial",
    ),
    ("assessment_result", "subject"): SUBJECT_CODES,
    ("course_mark", "subject_area"): SUBJECT_CODES,
    ("course_mark", "mark_type"): ("final", "interim"),
    ("discipline_incident", "behavior"): (
        "state_offense",
        "school_violation",
        "code_of_conduct",
        "other",
    ),
    ("discipline_incident", "action"): (
        "none",
        "in_school_suspension",
        "out_of_school_suspension",
        "expulsion",
        "other",
    ),
    ("program_participation", "program"): (
        "special_education",
        "section_504",
        "english_learner",
        "economically_disadvantaged",
        "homeless",
        "foster_care",
        "migrant",
        "gifted",
    ),
    ("program_participation", "disability_category"): (
        "intellectual_disability",
        "specific_learning_disability",
        "emotional_disturbance",
        "speech_language_impairment",
        "other_health_impairment",
        "autism",
        "other",
    ),
    ("health_event", "event_type"): (
        "nurse_visit",
        "screening",
        "immunization",
        "chronic_condition",
        "other",
    ),
    ("state_comparison", "category"): (
        "identification_any",
        "identification_intellectual_disability",
        "identification_specific_learning_disability",
        "identification_emotional_disturbance",
        "identification_speech_language_impairment",
        "identification_other_health_impairment",
        "identification_autism",
        "oss_expulsion_le10",
        "oss_expulsion_gt10",
        "iss_le10",
        "iss_gt10",
        "total_removals",
    ),
    ("state_comparison", "race_ethnicity"): RACE_CODES,
}

# (entity, column) -> (minimum, maximum); None = unbounded on that side.
EXPECTED_RANGES: dict[tuple[str, str], tuple[float | None, float | None]] = {
    ("enrollment", "school_year"): (1950, 2100),
    ("calendar_day", "school_year"): (1950, 2100),
    ("attendance_event", "absent_fraction"): (0, 1),
    ("assessment_result", "percentile"): (0, 100),
    ("course_mark", "grade_points"): (0, 4),
    ("course_mark", "credits_attempted"): (0, None),
    ("course_mark", "credits_earned"): (0, None),
    ("course_mark", "school_year"): (1950, 2100),
    ("discipline_incident", "days_removed"): (0, None),
    ("survey_response", "score"): (0, 100),
    ("lms_activity", "minutes_active"): (0, None),
    ("lms_activity", "assignments_submitted"): (0, None),
    ("lms_activity", "assignments_due"): (0, None),
    ("health_event", "minutes_missed"): (0, None),
    ("staff_assignment", "years_experience"): (0, None),
    ("state_comparison", "school_year"): (1950, 2100),
    ("state_comparison", "n_outcome"): (0, None),
    ("state_comparison", "n_population"): (0, None),
}

# entity -> its date columns; those that record something that happened are event dates.
EXPECTED_DATES: dict[str, tuple[str, ...]] = {
    "student": ("birth_date",),
    "enrollment": ("entry_date", "exit_date"),
    "calendar_day": ("calendar_date",),
    "section_enrollment": ("begin_date", "end_date"),
    "attendance_event": ("event_date",),
    "assessment_result": ("assessed_on",),
    "discipline_incident": ("incident_date",),
    "program_participation": ("begin_date", "end_date"),
    "survey_response": ("administered_on",),
    "lms_activity": ("activity_date",),
    "health_event": ("event_date",),
}
EXPECTED_EVENT_DATES: set[tuple[str, str]] = {
    ("enrollment", "entry_date"),
    ("attendance_event", "event_date"),
    ("assessment_result", "assessed_on"),
    ("discipline_incident", "incident_date"),
    ("program_participation", "begin_date"),
    ("survey_response", "administered_on"),
    ("lms_activity", "activity_date"),
    ("health_event", "event_date"),
}

# (entity, earlier, later, rule name): `later >= earlier` wherever both are present.
ORDER_RULES = [
    ("enrollment", "entry_date", "exit_date", "exit_date_not_before_entry_date"),
    ("section_enrollment", "begin_date", "end_date", "end_date_not_before_begin_date"),
    ("program_participation", "begin_date", "end_date", "end_date_not_before_begin_date"),
]

# Required (starred) columns, written out for a few entities.
EXPECTED_REQUIRED: dict[str, set[str]] = {
    "student": {"student_ref", "first_name", "last_name"},
    "enrollment": {"student_ref", "school_id", "entry_date", "grade_level"},
    "course_mark": {
        "student_ref",
        "school_id",
        "course_code",
        "subject_area",
        "term",
        "mark",
        "is_failing",
    },
    "staff_assignment": {"teacher_id", "school_id", "years_experience"},
    "state_comparison": {"school_year", "category", "race_ethnicity", "n_outcome", "n_population"},
}

ALL_ENTITIES = sorted(VALID_ROWS)


# --- helpers -------------------------------------------------------------------------


def frame(entity: str, *rows: dict[str, object]) -> pd.DataFrame:
    """A frame of ``rows`` with the contract's column order and pandas dtypes."""
    spec = ENTITIES[entity]
    return pd.DataFrame(
        {
            name: pd.Series([row[name] for row in rows], dtype=PANDAS_DTYPES[col.type])
            for name, col in spec.columns.items()
        }
    )


def valid_then(entity: str, **changes: object) -> pd.DataFrame:
    """Row 0 valid, row 1 the valid row with ``changes``: only row 1 may fail."""
    good = VALID_ROWS[entity]
    return frame(entity, good, {**good, **changes})


def failure_cases(entity: str, df: pd.DataFrame) -> pd.DataFrame:
    with pytest.raises(pandera.errors.SchemaErrors) as excinfo:
        ENTITIES[entity].model.validate(df, lazy=True)
    return excinfo.value.failure_cases


def rule_label(entity: str, rule: str) -> str:
    """How ``failure_cases`` names the frame-level rule ``rule`` (its error, else its name)."""
    checks = {c.name: c for c in ENTITIES[entity].schema.checks}
    assert rule in checks, f"{entity} has no row rule named {rule!r} (has {sorted(checks)})"
    return checks[rule].error or rule


def assert_fails_at(
    fc: pd.DataFrame, *, check: str, index: int, column: str | None = None, prefix: bool = False
) -> None:
    labels = fc["check"].astype(str)
    hit = labels.str.startswith(check) if prefix else labels == check
    hit &= fc["index"] == index
    if column is not None:
        hit &= fc["column"] == column
    assert hit.any(), f"no failure {check!r} at row {index} ({column}):\n{fc.to_string()}"
    assert not (fc["index"] == 0).any(), f"the valid row 0 failed too:\n{fc.to_string()}"


def canonical_table() -> dict[str, tuple[list[tuple[str, bool]], tuple[str, ...]]]:
    """entity -> ([(column, required)], key), read from CANONICAL.md's entity table."""

    def split_top_level(text: str) -> list[str]:
        parts, depth, current = [], 0, ""
        for ch in text:
            depth += ch == "("
            depth -= ch == ")"
            if ch == "," and depth == 0:
                parts.append(current)
                current = ""
            else:
                current += ch
        return [p.strip() for p in [*parts, current] if p.strip()]

    table = {}
    for line in CANONICAL_MD.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("entity", "---"):
            continue
        columns = []
        for part in split_top_level(cells[1]):
            m = re.match(r"([a-z][a-z0-9_]*)(\*?)", part)
            assert m, part
            columns.append((m.group(1), m.group(2) == "*"))
        table[cells[0]] = (columns, tuple(k.strip() for k in cells[2].split(",")))
    return table


def canonical_domains() -> dict[str, str]:
    """entity -> domain, from CANONICAL.md's domain table."""
    text = CANONICAL_MD.read_text().split("## Entity -> whole-child domain", 1)[1]
    out = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0] in DOMAINS:
            out.update({e.strip(): cells[0] for e in cells[1].split(",")})
    return out


# --- the registry --------------------------------------------------------------------


def test_there_are_exactly_the_fifteen_canonical_entities():
    assert len(ENTITIES) == 15
    assert set(ENTITIES) == set(VALID_ROWS)
    assert set(ENTITIES) == set(canonical_table())


@pytest.mark.parametrize("entity", ALL_ENTITIES)
def test_entity_matches_canonical_md(entity):
    spec = ENTITIES[entity]
    columns, key = canonical_table()[entity]
    assert spec.key == key
    assert set(spec.columns) == {c for c, _ in columns} | {"source_record_id"}
    assert set(spec.required) == {c for c, required in columns if required}
    assert spec.domain == canonical_domains()[entity]


@pytest.mark.parametrize("entity", ALL_ENTITIES)
def test_domain_description_and_key_are_sound(entity):
    spec = ENTITIES[entity]
    assert spec.domain in DOMAINS
    assert spec.description
    assert spec.key and all(k in spec.columns for k in spec.key)
    for col in spec.columns.values():
        assert len(col.description) > 10, f"{entity}.{col.name} has no real description"


@pytest.mark.parametrize("entity", sorted(EXPECTED_REQUIRED))
def test_required_columns_are_the_starred_ones(entity):
    assert set(ENTITIES[entity].required) == EXPECTED_REQUIRED[entity]


def test_student_ref_is_a_direct_pii_identifier():
    col = ENTITIES["student"].columns["student_ref"]
    assert col.is_id is True
    assert col.type == "string"
    assert col.sensitivity == "pii_direct"


@pytest.mark.parametrize("entity", ALL_ENTITIES)
def test_identifiers_are_text(entity):
    id_names = {
        "student_ref",
        "local_id",
        "state_id",
        "school_id",
        "section_id",
        "teacher_id",
        "incident_id",
        "course_code",
        "course_ref",
        "district_id",
        "test_code",
        "source_record_id",
    }
    for name, col in ENTITIES[entity].columns.items():
        if name in id_names:
            assert col.is_id, f"{entity}.{name} is not marked as an identifier"
        if col.is_id:
            assert col.type == "string", f"{entity}.{name} identifier is {col.type}"


def test_sensitivity_classes():
    student = ENTITIES["student"].columns
    for name in ("first_name", "last_name", "birth_date", "email", "username", "local_id"):
        assert student[name].sensitivity == "pii_direct", name
    for name in ("sex", "hispanic_latino", "race_white", "race_ethnicity"):
        assert student[name].sensitivity == "pii_indirect", name
    assert student["grade_level"].sensitivity == "public"
    assert ENTITIES["program_participation"].columns["disability_category"].sensitivity == (
        "sensitive"
    )
    assert ENTITIES["discipline_incident"].columns["action"].sensitivity == "sensitive"
    assert ENTITIES["health_event"].columns["outcome"].sensitivity == "sensitive"
    for entity, spec in ENTITIES.items():
        if "student_ref" in spec.columns:
            assert spec.columns["student_ref"].sensitivity == "pii_direct", entity


@pytest.mark.parametrize(("entity", "column"), sorted(EXPECTED_CODES))
def test_code_sets_are_canonical(entity, column):
    assert set(ENTITIES[entity].columns[column].codes or ()) == set(EXPECTED_CODES[entity, column])


@pytest.mark.parametrize(("entity", "column"), sorted(EXPECTED_RANGES))
def test_ranges_are_canonical(entity, column):
    col = ENTITIES[entity].columns[column]
    assert (col.minimum, col.maximum) == EXPECTED_RANGES[entity, column]


@pytest.mark.parametrize("entity", ALL_ENTITIES)
def test_date_columns_and_event_dates(entity):
    columns = ENTITIES[entity].columns
    dates = tuple(n for n, c in columns.items() if c.type == "date")
    assert dates == EXPECTED_DATES.get(entity, ())
    events = {(entity, n) for n, c in columns.items() if c.is_event_date}
    assert events == {e for e in EXPECTED_EVENT_DATES if e[0] == entity}


# --- validation ----------------------------------------------------------------------


def test_valid_rows_cover_every_contract_column():
    for entity, row in VALID_ROWS.items():
        assert set(row) == set(ENTITIES[entity].columns), entity


@pytest.mark.parametrize("entity", ALL_ENTITIES)
def test_valid_frame_passes(entity):
    df = frame(entity, VALID_ROWS[entity], VALID_ROWS[entity])
    out = ENTITIES[entity].model.validate(df, lazy=True)
    assert len(out) == 2


@pytest.mark.parametrize("entity", ALL_ENTITIES)
def test_optional_columns_may_be_null(entity):
    spec = ENTITIES[entity]
    nulls = {n: None for n, c in spec.columns.items() if not c.required}
    spec.model.validate(valid_then(entity, **nulls), lazy=True)


@pytest.mark.parametrize("entity", ALL_ENTITIES)
def test_extra_column_is_rejected(entity):
    df = frame(entity, VALID_ROWS[entity]).assign(not_canonical="x")
    with pytest.raises(pandera.errors.SchemaErrors) as excinfo:
        ENTITIES[entity].model.validate(df, lazy=True)
    assert (excinfo.value.failure_cases["failure_case"] == "not_canonical").any()


@pytest.mark.parametrize(("entity", "column"), sorted(EXPECTED_CODES))
def test_unknown_code_fails_the_row(entity, column):
    fc = failure_cases(entity, valid_then(entity, **{column: "not_a_code"}))
    assert_fails_at(fc, check="isin(", index=1, column=column, prefix=True)


@pytest.mark.parametrize(
    ("entity", "column", "bound"),
    [
        (e, c, side)
        for (e, c), (lo, hi) in sorted(EXPECTED_RANGES.items())
        for side, value in (("min", lo), ("max", hi))
        if value is not None
    ],
)
def test_out_of_range_number_fails_the_row(entity, column, bound):
    lo, hi = EXPECTED_RANGES[entity, column]
    value, check = (
        (lo - 1, "greater_than_or_equal_to(")
        if bound == "min"
        else (hi + 1, "less_than_or_equal_to(")
    )
    fc = failure_cases(entity, valid_then(entity, **{column: value}))
    assert_fails_at(fc, check=check, index=1, column=column, prefix=True)


@pytest.mark.parametrize(
    ("entity", "column"),
    [(e, c) for e in ALL_ENTITIES for c in ENTITIES[e].required],
)
def test_null_required_column_fails_the_row(entity, column):
    fc = failure_cases(entity, valid_then(entity, **{column: None}))
    assert_fails_at(fc, check="not_nullable", index=1, column=column)


@pytest.mark.parametrize(
    ("entity", "column"), [(e, c) for e, cols in sorted(EXPECTED_DATES.items()) for c in cols]
)
def test_placeholder_date_fails_the_row(entity, column):
    fc = failure_cases(entity, valid_then(entity, **{column: "1900-01-01"}))
    assert_fails_at(fc, check=rule_label(entity, "dates_are_plausible"), index=1, column=column)


@pytest.mark.parametrize(
    ("entity", "column"), [("enrollment", "exit_date"), ("health_event", "event_date")]
)
def test_far_future_date_fails_the_row(entity, column):
    fc = failure_cases(entity, valid_then(entity, **{column: "2200-01-01"}))
    assert_fails_at(fc, check=rule_label(entity, "dates_are_plausible"), index=1, column=column)


@pytest.mark.parametrize(("entity", "earlier", "later", "rule"), ORDER_RULES)
def test_end_before_begin_fails_the_row(entity, earlier, later, rule):
    begin = pd.Timestamp(VALID_ROWS[entity][earlier])
    fc = failure_cases(
        entity, valid_then(entity, **{later: str((begin - pd.Timedelta(days=1)).date())})
    )
    assert_fails_at(fc, check=rule_label(entity, rule), index=1, column=later)


@pytest.mark.parametrize(("entity", "earlier", "later", "rule"), ORDER_RULES)
def test_end_on_begin_or_open_end_passes(entity, earlier, later, rule):
    same_day = VALID_ROWS[entity][earlier]
    df = frame(
        entity,
        {**VALID_ROWS[entity], later: same_day},
        {**VALID_ROWS[entity], later: None},
    )
    ENTITIES[entity].model.validate(df, lazy=True)


def test_disability_category_only_for_special_education():
    entity = "program_participation"
    fc = failure_cases(entity, valid_then(entity, program="english_learner"))
    assert_fails_at(
        fc, check=rule_label(entity, "disability_category_only_for_special_education"), index=1
    )
    ENTITIES[entity].model.validate(
        valid_then(entity, program="english_learner", disability_category=None), lazy=True
    )


def test_wrong_dtype_is_rejected():
    """An id read as a number (leading zeros lost) is not accepted as text."""
    df = frame("student", VALID_ROWS["student"])
    df["student_ref"] = pd.Series([4958], dtype="Int64")
    with pytest.raises(pandera.errors.SchemaErrors):
        ENTITIES["student"].model.validate(df, lazy=True)
