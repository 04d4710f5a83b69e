"""Contract of the ``assessment_result`` entity (CANONICAL.md)."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas._base import entity, plausible_dates
from schemas.common import SUBJECTS, id_field, source_record_id_field, student_ref_field


@entity(
    name="assessment_result",
    domain="assessment",
    key=("student_ref", "assessment_name", "subject", "assessed_on", "test_code"),
    description="A student's result on one administration of an assessment in one subject.",
)
class AssessmentResult(pa.DataFrameModel):
    student_ref: Series[str] = student_ref_field()
    assessment_name: Series[str] = pa.Field(
        description="The assessment's name (for example the state test or a benchmark like MAP Growth)."
    )
    subject: Series[str] = pa.Field(
        isin=list(SUBJECTS), description="The academic subject the assessment measures."
    )
    # An event date: a result exists only once the test has been taken.
    assessed_on: Series[pa.DateTime] = pa.Field(
        description="The date the student took the test.",
        metadata={"event_date": True},
    )
    test_code: Series[str] = id_field(
        "The vendor's test or form identifier, when one subject has several.", required=False
    )
    scale_score: Series[pd.Float64Dtype] = pa.Field(
        nullable=True, description="The student's scale score on the assessment's own scale."
    )
    percentile: Series[pd.Float64Dtype] = pa.Field(
        nullable=True,
        ge=0,
        le=100,
        description="The student's national or norm-group percentile rank, from 0 to 100.",
    )
    performance_level: Series[str] = pa.Field(
        nullable=True,
        description="The performance or achievement level the vendor reports (for example 'Meets').",
    )
    is_proficient: Series[pd.BooleanDtype] = pa.Field(
        nullable=True, description="Whether the result meets the proficiency standard."
    )
    source_record_id: Series[str] = source_record_id_field()

    @pa.dataframe_check(
        name="dates_are_plausible",
        error="The assessment date is a placeholder or outside 1950-2100.",
    )
    @classmethod
    def dates_are_plausible(cls, df: pd.DataFrame) -> pd.Series:
        return plausible_dates(df, ["assessed_on"])

    class Config:
        strict = True
        coerce = False
