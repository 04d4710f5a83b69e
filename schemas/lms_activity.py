"""Contract of the ``lms_activity`` entity (CANONICAL.md)."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas._base import entity, plausible_dates
from schemas.common import id_field, source_record_id_field, student_ref_field


@entity(
    name="lms_activity",
    domain="engagement",
    key=("student_ref", "activity_date", "course_ref"),
    description="A student's activity in the learning management system on one day.",
)
class LmsActivity(pa.DataFrameModel):
    student_ref: Series[str] = student_ref_field()
    # An event date: activity is logged as it happens.
    activity_date: Series[pa.DateTime] = pa.Field(
        description="The day the activity is counted for.",
        metadata={"event_date": True},
    )
    course_ref: Series[str] = id_field(
        "The LMS course the activity belongs to; empty for activity across all courses.",
        required=False,
    )
    # Decimal: LMS time-on-task is usually kept in seconds, so minutes are fractional.
    minutes_active: Series[pd.Float64Dtype] = pa.Field(
        nullable=True, ge=0, description="Minutes the student was active in the LMS that day."
    )
    assignments_submitted: Series[pd.Int64Dtype] = pa.Field(
        nullable=True, ge=0, description="Assignments the student submitted that day."
    )
    assignments_due: Series[pd.Int64Dtype] = pa.Field(
        nullable=True, ge=0, description="Assignments due for the student that day."
    )
    source_record_id: Series[str] = source_record_id_field()

    @pa.dataframe_check(
        name="dates_are_plausible",
        error="The activity date is a placeholder or outside 1950-2100.",
    )
    @classmethod
    def dates_are_plausible(cls, df: pd.DataFrame) -> pd.Series:
        return plausible_dates(df, ["activity_date"])

    class Config:
        strict = True
        coerce = False
