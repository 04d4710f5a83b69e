"""Contract of the ``staff_assignment`` entity (CANONICAL.md)."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas._base import entity
from schemas.common import id_field, source_record_id_field


@entity(
    name="staff_assignment",
    domain="staffing",
    key=("teacher_id", "section_id"),
    description="A teacher's assignment to a school and, when known, to a section.",
)
class StaffAssignment(pa.DataFrameModel):
    teacher_id: Series[str] = id_field("The teacher's identifier in the source.")
    school_id: Series[str] = id_field("The school the teacher is assigned to.")
    section_id: Series[str] = id_field(
        "The class section the teacher teaches; empty for a school-level assignment.",
        required=False,
    )
    # Decimal: HR systems report partial years (2.5).
    years_experience: Series[pd.Float64Dtype] = pa.Field(
        ge=0, description="The teacher's total years of teaching experience."
    )
    is_in_field: Series[pd.BooleanDtype] = pa.Field(
        nullable=True,
        description="Whether the teacher is certified in the subject of the assignment.",
    )
    source_record_id: Series[str] = source_record_id_field()

    class Config:
        strict = True
        coerce = False
