"""Contract of the ``student`` entity (CANONICAL.md)."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas._base import entity, plausible_dates
from schemas.common import (
    GRADE_LEVELS,
    RACE_ETHNICITY,
    SEX_CODES,
    id_field,
    source_record_id_field,
    student_ref_field,
)


def _race_flag(race: str):
    return pa.Field(
        nullable=True,
        description=f"Whether the student is reported as {race} (one of the federal race flags).",
        metadata={"sensitivity": "pii_indirect"},
    )


@entity(
    name="student",
    domain="demographics",
    key=("student_ref",),
    description="A student as one source knows them: names, identifiers and demographics.",
)
class Student(pa.DataFrameModel):
    student_ref: Series[str] = student_ref_field()
    local_id: Series[str] = id_field(
        "The student's district (local) student number.", required=False, sensitivity="pii_direct"
    )
    state_id: Series[str] = id_field(
        "The student's state-assigned unique identifier.", required=False, sensitivity="pii_direct"
    )
    # Email and username are identifiers too: a source may name its students by them
    # (the `student_id` setting), and identity resolution matches on them.
    email: Series[str] = id_field(
        "The student's school email address.", required=False, sensitivity="pii_direct"
    )
    username: Series[str] = id_field(
        "The student's login name in the source system.", required=False, sensitivity="pii_direct"
    )
    first_name: Series[str] = pa.Field(
        description="The student's legal first (given) name.",
        metadata={"sensitivity": "pii_direct"},
    )
    last_name: Series[str] = pa.Field(
        description="The student's legal last (family) name.",
        metadata={"sensitivity": "pii_direct"},
    )
    # Not an event date: the ingest's "not after the delivery" rule is for things that
    # happened; the plausible range below still rejects placeholders like 1900-01-01.
    birth_date: Series[pa.DateTime] = pa.Field(
        nullable=True,
        description="The student's date of birth.",
        metadata={"sensitivity": "pii_direct"},
    )
    sex: Series[str] = pa.Field(
        nullable=True,
        isin=list(SEX_CODES),
        description="The student's sex as reported by the family.",
        metadata={"sensitivity": "pii_indirect"},
    )
    hispanic_latino: Series[pd.BooleanDtype] = pa.Field(
        nullable=True,
        description="Whether the student is reported as Hispanic or Latino (of any race).",
        metadata={"sensitivity": "pii_indirect"},
    )
    race_american_indian_alaska_native: Series[pd.BooleanDtype] = _race_flag(
        "American Indian or Alaska Native"
    )
    race_asian: Series[pd.BooleanDtype] = _race_flag("Asian")
    race_black: Series[pd.BooleanDtype] = _race_flag("Black or African American")
    race_native_hawaiian_pacific_islander: Series[pd.BooleanDtype] = _race_flag(
        "Native Hawaiian or Other Pacific Islander"
    )
    race_white: Series[pd.BooleanDtype] = _race_flag("White")
    race_two_or_more: Series[pd.BooleanDtype] = _race_flag("two or more races")
    race_ethnicity: Series[str] = pa.Field(
        nullable=True,
        isin=list(RACE_ETHNICITY),
        description=(
            "The student's single federal race/ethnicity category, for sources with one "
            "race column (the race flags are derived from it)."
        ),
        metadata={"sensitivity": "pii_indirect"},
    )
    grade_level: Series[str] = pa.Field(
        nullable=True, isin=list(GRADE_LEVELS), description="The student's current grade level."
    )
    school_id: Series[str] = id_field("The school the source lists the student at.", required=False)
    source_record_id: Series[str] = source_record_id_field()

    @pa.dataframe_check(
        name="dates_are_plausible",
        error="The birth date is a placeholder or outside 1950-2100.",
    )
    @classmethod
    def dates_are_plausible(cls, df: pd.DataFrame) -> pd.Series:
        return plausible_dates(df, ["birth_date"])

    class Config:
        strict = True
        coerce = False
