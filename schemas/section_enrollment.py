"""Contract of the ``section_enrollment`` entity (CANONICAL.md)."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas._base import entity, not_before, plausible_dates
from schemas.common import SUBJECTS, id_field, source_record_id_field, student_ref_field


@entity(
    name="section_enrollment",
    domain="coursework",
    key=("student_ref", "section_id", "begin_date"),
    description="A student's place on the roster of a class section.",
)
class SectionEnrollment(pa.DataFrameModel):
    student_ref: Series[str] = student_ref_field()
    section_id: Series[str] = id_field("The class section the student is rostered in.")
    school_id: Series[str] = id_field("The school that offers the section.")
    course_code: Series[str] = id_field("The course the section teaches, as the source codes it.")
    course_title: Series[str] = pa.Field(nullable=True, description="The course's title.")
    subject_area: Series[str] = pa.Field(
        nullable=True, isin=list(SUBJECTS), description="The academic subject of the course."
    )
    is_advanced: Series[pd.BooleanDtype] = pa.Field(
        nullable=True,
        description="Whether the section is advanced coursework (AP, IB, dual enrollment or honors).",
    )
    teacher_id: Series[str] = id_field("The section's teacher of record.", required=False)
    # Not event dates: rosters list next term's sections before the term begins
    # (OneRoster exports carry spring enrollments in the fall).
    begin_date: Series[pa.DateTime] = pa.Field(
        nullable=True, description="The first day the student is on the section's roster."
    )
    end_date: Series[pa.DateTime] = pa.Field(
        nullable=True, description="The last day the student is on the section's roster."
    )
    source_record_id: Series[str] = source_record_id_field()

    @pa.dataframe_check(
        name="dates_are_plausible",
        error="A begin or end date is a placeholder or outside 1950-2100.",
    )
    @classmethod
    def dates_are_plausible(cls, df: pd.DataFrame) -> pd.Series:
        return plausible_dates(df, ["begin_date", "end_date"])

    @pa.dataframe_check(
        name="end_date_not_before_begin_date",
        error="The end date is before the begin date.",
    )
    @classmethod
    def end_date_not_before_begin_date(cls, df: pd.DataFrame) -> pd.Series:
        return not_before(df, "end_date", "begin_date")

    class Config:
        strict = True
        coerce = False
