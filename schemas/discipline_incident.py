"""Contract of the ``discipline_incident`` entity (CANONICAL.md)."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas._base import entity, plausible_dates
from schemas.common import (
    DISCIPLINE_ACTIONS,
    DISCIPLINE_BEHAVIORS,
    id_field,
    source_record_id_field,
    student_ref_field,
)


@entity(
    name="discipline_incident",
    domain="behavior",
    key=("incident_id", "student_ref", "action"),
    description="A student's part in a discipline incident and the action taken.",
)
class DisciplineIncident(pa.DataFrameModel):
    student_ref: Series[str] = student_ref_field()
    incident_id: Series[str] = id_field("The incident's identifier in the source.")
    # An event date: an incident is reported after it happened.
    incident_date: Series[pa.DateTime] = pa.Field(
        description="The date the incident happened.",
        metadata={"event_date": True},
    )
    behavior: Series[str] = pa.Field(
        nullable=True,
        isin=list(DISCIPLINE_BEHAVIORS),
        description="The kind of behavior the incident concerns.",
        metadata={"sensitivity": "sensitive"},
    )
    action: Series[str] = pa.Field(
        isin=list(DISCIPLINE_ACTIONS),
        description="The discipline action taken for the student ('none' when no action).",
        metadata={"sensitivity": "sensitive"},
    )
    days_removed: Series[pd.Float64Dtype] = pa.Field(
        nullable=True,
        ge=0,
        description="The school days the student was removed from class or school by the action.",
        metadata={"sensitivity": "sensitive"},
    )
    school_id: Series[str] = id_field("The school where the incident happened.", required=False)
    source_record_id: Series[str] = source_record_id_field()

    @pa.dataframe_check(
        name="dates_are_plausible",
        error="The incident date is a placeholder or outside 1950-2100.",
    )
    @classmethod
    def dates_are_plausible(cls, df: pd.DataFrame) -> pd.Series:
        return plausible_dates(df, ["incident_date"])

    class Config:
        strict = True
        coerce = False
