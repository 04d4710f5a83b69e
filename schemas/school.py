"""Contract of the ``school`` entity (CANONICAL.md)."""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series

from schemas._base import entity
from schemas.common import GRADE_LEVELS, id_field, source_record_id_field


@entity(
    name="school",
    domain="enrollment",
    key=("school_id",),
    description="A school of the district, as each system names it.",
)
class School(pa.DataFrameModel):
    school_id: Series[str] = id_field("The school's identifier in this source.")
    school_name: Series[str] = pa.Field(description="The school's name.")
    district_id: Series[str] = id_field("The district (LEA) identifier.", required=False)
    school_type: Series[str] = pa.Field(
        nullable=True,
        isin=["elementary", "middle", "high", "other"],
        description="Level of the school.",
    )
    grade_low: Series[str] = pa.Field(
        nullable=True, isin=list(GRADE_LEVELS), description="Lowest grade level offered."
    )
    grade_high: Series[str] = pa.Field(
        nullable=True, isin=list(GRADE_LEVELS), description="Highest grade level offered."
    )
    source_record_id: Series[str] = source_record_id_field()

    class Config:
        strict = True
        coerce = False
