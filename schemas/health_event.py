"""Contract of the ``health_event`` entity (CANONICAL.md)."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas._base import entity, plausible_dates
from schemas.common import HEALTH_EVENT_TYPES, source_record_id_field, student_ref_field


@entity(
    name="health_event",
    domain="health",
    key=("student_ref", "event_date", "event_type"),
    description="A school health event for a student: a nurse visit, screening, immunization ...",
)
class HealthEvent(pa.DataFrameModel):
    student_ref: Series[str] = student_ref_field()
    # An event date: a health event is recorded once it has happened.
    event_date: Series[pa.DateTime] = pa.Field(
        description="The date of the health event.",
        metadata={"event_date": True},
    )
    event_type: Series[str] = pa.Field(
        isin=list(HEALTH_EVENT_TYPES),
        description="The kind of health event.",
        metadata={"sensitivity": "sensitive"},
    )
    minutes_missed: Series[pd.Int64Dtype] = pa.Field(
        nullable=True, ge=0, description="Minutes of instruction the student missed for the event."
    )
    outcome: Series[str] = pa.Field(
        nullable=True,
        description="What came of the event, as the source records it (for example 'returned to class').",
        metadata={"sensitivity": "sensitive"},
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
