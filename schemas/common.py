"""Code sets and field helpers shared by several contracts (Ed-Fi / CEDS based)."""

from __future__ import annotations

import pandera.pandas as pa

GRADE_LEVELS = ("PK", "KG", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12")
SUBJECTS = ("ela", "math", "science", "social_studies", "other")

#: Sex (Ed-Fi SexDescriptor, with the "not selected" answer kept apart from NULL).
SEX_CODES = ("female", "male", "nonbinary", "not_selected")

#: The seven federal race/ethnicity categories (METRICS.md), plus ``unknown``.
RACE_ETHNICITY = (
    "hispanic_latino",
    "american_indian_alaska_native",
    "asian",
    "black",
    "native_hawaiian_pacific_islander",
    "white",
    "two_or_more",
    "unknown",
)

#: Enrollment exit codes (Ed-Fi ExitWithdrawTypeDescriptor, collapsed).
EXIT_CODES = (
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
)

#: Daily attendance categories (Ed-Fi AttendanceEventCategoryDescriptor).
ATTENDANCE_CATEGORIES = (
    "present",
    "excused_absence",
    "unexcused_absence",
    "tardy",
    "early_departure",
    "partial",
)

MARK_TYPES = ("final", "interim")

DISCIPLINE_BEHAVIORS = ("state_offense", "school_violation", "code_of_conduct", "other")
DISCIPLINE_ACTIONS = (
    "none",
    "in_school_suspension",
    "out_of_school_suspension",
    "expulsion",
    "other",
)

PROGRAMS = (
    "special_education",
    "section_504",
    "english_learner",
    "economically_disadvantaged",
    "homeless",
    "foster_care",
    "migrant",
    "gifted",
)

#: IDEA disability categories the disproportionality review names one by one (34 CFR
#: 300.647(b)(3)), plus ``other`` for every remaining category.
NAMED_DISABILITY_CATEGORIES = (
    "intellectual_disability",
    "specific_learning_disability",
    "emotional_disturbance",
    "speech_language_impairment",
    "other_health_impairment",
    "autism",
)
DISABILITY_CATEGORIES = (*NAMED_DISABILITY_CATEGORIES, "other")

HEALTH_EVENT_TYPES = ("nurse_visit", "screening", "immunization", "chronic_condition", "other")

#: Significant-disproportionality categories (METRICS.md, ``mart_disproportionality``).
DISPROPORTIONALITY_CATEGORIES = (
    "identification_any",
    *(f"identification_{c}" for c in NAMED_DISABILITY_CATEGORIES),
    "oss_expulsion_le10",
    "oss_expulsion_gt10",
    "iss_le10",
    "iss_gt10",
    "total_removals",
)

#: ``school_year`` is the spring year (2025-26 is 2026); the bounds match the plausible
#: date range, so a two-digit year (``26``) is rejected rather than read as year 26.
EARLIEST_SCHOOL_YEAR = 1950
LATEST_SCHOOL_YEAR = 2100


def id_field(description: str, *, required: bool = True, sensitivity: str = "public", **kw):
    """An identifier column: text, leading zeros kept, scientific notation rejected."""
    return pa.Field(
        nullable=not required,
        description=description,
        metadata={"id": True, "sensitivity": sensitivity},
        **kw,
    )


def source_record_id_field():
    return id_field(
        "The source system's own id for the row (Ed-Fi `id`, OneRoster `sourcedId`); "
        "deletes and corrections find the rows they name by it.",
        required=False,
        sensitivity="pii_indirect",
    )


def student_ref_field(required: bool = True):
    """The student as the source identifies them (identity resolution maps it later)."""
    return id_field(
        "The student's identifier as this source carries it (local, state, email or "
        "username, per the source's `student_id` setting); identity resolution maps it "
        "to the district's student.",
        required=required,
        sensitivity="pii_direct",
    )


def school_year_field(description: str | None = None, *, required: bool = False):
    """The school year as its spring calendar year (2025-26 is 2026)."""
    return pa.Field(
        nullable=not required,
        ge=EARLIEST_SCHOOL_YEAR,
        le=LATEST_SCHOOL_YEAR,
        description=description
        or "The school year the row belongs to, as its spring year (2025-26 is 2026).",
    )
