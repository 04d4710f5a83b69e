"""Contract of the ``enrollment`` entity (CANONICAL.md)."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas._base import entity, not_before, plausible_dates
from schemas.common import (
    EXIT_CODES,
    GRADE_LEVELS,
    id_field,
    school_year_field,
    source_record_id_field,
    student_ref_field,
)


@entity(
    name="enrollment",
    domain="enrollment",
    key=("student_ref", "school_id", "entry_date"),
    description="A student's enrollment span at a school, from entry to exit.",
)
class Enrollment(pa.DataFrameModel):
    student_ref: Series[str] = student_ref_field()
    school_id: Series[str] = id_field("The school the student is enrolled in.")
    # An event date: the student has entered the school by the time a source reports it.
    entry_date: Series[pa.DateTime] = pa.Field(
        description="The first day the student is enrolled at the school.",
        metadata={"event_date": True},
    )
    # Not an event date: a planned exit (end of the school year) is often recorded ahead.
    exit_date: Series[pa.DateTime] = pa.Field(
        nullable=True,
        description="The last day the student is enrolled (inclusive); empty while enrolled.",
    )
    grade_level: Series[str] = pa.Field(
        isin=list(GRADE_LEVELS), description="The grade level the student is enrolled in."
    )
    exit_code: Series[str] = pa.Field(
        nullable=True,
        isin=list(EXIT_CODES),
        description="Why the enrollment ended (Ed-Fi ExitWithdrawType).",
    )
    school_year: Series[pd.Int64Dtype] = school_year_field()
    source_record_id: Series[str] = source_record_id_field()

    @pa.dataframe_check(
        name="dates_are_plausible",
        error="An entry or exit date is a placeholder or outside 1950-2100.",
    )
    @classmethod
    def dates_are_plausible(cls, df: pd.DataFrame) -> pd.Series:
        return plausible_dates(df, ["entry_date", "exit_date"])

    @pa.dataframe_check(
        name="exit_date_not_before_entry_date",
        error="The exit date is before the entry date.",
    )
    @classmethod
    def exit_date_not_before_entry_date(cls, df: pd.DataFrame) -> pd.Series:
        return not_before(df, "exit_date", "entry_date")

    class Config:
        strict = True
        coerce = False
