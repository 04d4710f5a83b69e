"""Contract of the ``survey_response`` entity (CANONICAL.md)."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas._base import entity, plausible_dates
from schemas.common import source_record_id_field, student_ref_field


@entity(
    name="survey_response",
    domain="wellbeing",
    key=("student_ref", "survey_name", "administered_on", "construct"),
    description="A student's score on one construct of a wellbeing or climate survey.",
)
class SurveyResponse(pa.DataFrameModel):
    student_ref: Series[str] = student_ref_field()
    survey_name: Series[str] = pa.Field(description="The survey's name.")
    # An event date: a response exists only once the survey has been taken.
    administered_on: Series[pa.DateTime] = pa.Field(
        description="The date the student answered the survey.",
        metadata={"event_date": True},
    )
    construct: Series[str] = pa.Field(
        description="What the score measures, as a lower_snake code (for example 'belonging')."
    )
    score: Series[pd.Float64Dtype] = pa.Field(
        ge=0,
        le=100,
        description="The student's score on the construct, normalized to 0-100.",
    )
    source_record_id: Series[str] = source_record_id_field()

    @pa.dataframe_check(
        name="dates_are_plausible",
        error="The administration date is a placeholder or outside 1950-2100.",
    )
    @classmethod
    def dates_are_plausible(cls, df: pd.DataFrame) -> pd.Series:
        return plausible_dates(df, ["administered_on"])

    class Config:
        strict = True
        coerce = False
