"""Contract of the ``program_participation`` entity (CANONICAL.md)."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas._base import entity, not_before, plausible_dates
from schemas.common import (
    DISABILITY_CATEGORIES,
    PROGRAMS,
    source_record_id_field,
    student_ref_field,
)


@entity(
    name="program_participation",
    domain="programs",
    key=("student_ref", "program", "begin_date"),
    description="A span during which a student takes part in a program or has a status.",
)
class ProgramParticipation(pa.DataFrameModel):
    student_ref: Series[str] = student_ref_field()
    program: Series[str] = pa.Field(
        isin=list(PROGRAMS),
        description="The program or status (special education, English learner, homeless ...).",
        metadata={"sensitivity": "sensitive"},
    )
    # An event date: a participation is reported once it has begun.
    begin_date: Series[pa.DateTime] = pa.Field(
        description="The first day the student takes part in the program.",
        metadata={"event_date": True},
    )
    # Not an event date: a planned end (an IEP's review date, the year's end) is set ahead.
    end_date: Series[pa.DateTime] = pa.Field(
        nullable=True,
        description="The last day the student takes part in the program; empty while ongoing.",
    )
    disability_category: Series[str] = pa.Field(
        nullable=True,
        isin=list(DISABILITY_CATEGORIES),
        description="The student's primary IDEA disability category (special education only).",
        metadata={"sensitivity": "sensitive"},
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

    @pa.dataframe_check(
        name="disability_category_only_for_special_education",
        error="A disability category is given for a program other than special education.",
    )
    @classmethod
    def disability_category_only_for_special_education(cls, df: pd.DataFrame) -> pd.Series:
        special_education = df["program"].eq("special_education").fillna(False).astype(bool)
        return df["disability_category"].isna() | special_education

    class Config:
        strict = True
        coerce = False
