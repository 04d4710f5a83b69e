"""Contract of the ``attendance_event`` entity (CANONICAL.md)."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas._base import entity, plausible_dates
from schemas.common import (
    ATTENDANCE_CATEGORIES,
    id_field,
    source_record_id_field,
    student_ref_field,
)


@entity(
    name="attendance_event",
    domain="attendance",
    key=("student_ref", "school_id", "event_date", "category"),
    description="A student's recorded daily attendance at a school on one day.",
)
class AttendanceEvent(pa.DataFrameModel):
    student_ref: Series[str] = student_ref_field()
    school_id: Series[str] = id_field("The school where the attendance was taken.")
    # An event date: attendance is recorded for days that have happened.
    event_date: Series[pa.DateTime] = pa.Field(
        description="The school day the attendance is for.",
        metadata={"event_date": True},
    )
    category: Series[str] = pa.Field(
        isin=list(ATTENDANCE_CATEGORIES),
        description="What was recorded for the student that day (Ed-Fi attendance category).",
    )
    absent_fraction: Series[pd.Float64Dtype] = pa.Field(
        nullable=True,
        ge=0,
        le=1,
        description="The share of the school day the student missed, from 0 to 1.",
    )
    source_record_id: Series[str] = source_record_id_field()

    @pa.dataframe_check(
        name="dates_are_plausible",
        error="The event date is a placeholder or outside 1950-2100.",
    )
    @classmethod
    def dates_are_plausible(cls, df: pd.DataFrame) -> pd.Series:
        return plausible_dates(df, ["event_date"])

    class Config:
        strict = True
        coerce = False
