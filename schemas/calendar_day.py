"""Contract of the ``calendar_day`` entity (CANONICAL.md)."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas._base import entity, plausible_dates
from schemas.common import id_field, school_year_field, source_record_id_field


@entity(
    name="calendar_day",
    domain="enrollment",
    key=("school_id", "calendar_date"),
    description="A day of a school's calendar and whether students are taught that day.",
)
class CalendarDay(pa.DataFrameModel):
    school_id: Series[str] = id_field("The school whose calendar the day belongs to.")
    # Not an event date: a school calendar is published for the whole year ahead.
    calendar_date: Series[pa.DateTime] = pa.Field(description="The calendar date.")
    is_instructional: Series[pd.BooleanDtype] = pa.Field(
        description="Whether the day is an instructional day that counts for attendance."
    )
    school_year: Series[pd.Int64Dtype] = school_year_field()
    source_record_id: Series[str] = source_record_id_field()

    @pa.dataframe_check(
        name="dates_are_plausible",
        error="The calendar date is a placeholder or outside 1950-2100.",
    )
    @classmethod
    def dates_are_plausible(cls, df: pd.DataFrame) -> pd.Series:
        return plausible_dates(df, ["calendar_date"])

    class Config:
        strict = True
        coerce = False
