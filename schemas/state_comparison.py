"""Contract of the ``state_comparison`` entity (CANONICAL.md)."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas._base import entity
from schemas.common import (
    DISPROPORTIONALITY_CATEGORIES,
    RACE_ETHNICITY,
    school_year_field,
    source_record_id_field,
)


@entity(
    name="state_comparison",
    domain="programs",
    key=("school_year", "category", "race_ethnicity"),
    description=(
        "The State's counts for one disproportionality category and racial/ethnic group, "
        "used for the alternate risk ratio."
    ),
)
class StateComparison(pa.DataFrameModel):
    school_year: Series[pd.Int64Dtype] = school_year_field(
        "The school year the State's counts are for, as its spring year (2025-26 is 2026).",
        required=True,
    )
    category: Series[str] = pa.Field(
        isin=list(DISPROPORTIONALITY_CATEGORIES),
        description="The IDEA significant-disproportionality category the counts are for.",
    )
    race_ethnicity: Series[str] = pa.Field(
        isin=list(RACE_ETHNICITY),
        description="The federal racial/ethnic group the counts are for.",
    )
    n_outcome: Series[pd.Int64Dtype] = pa.Field(
        ge=0,
        description=(
            "Students in the group statewide with the outcome (removals, for total_removals)."
        ),
    )
    n_population: Series[pd.Int64Dtype] = pa.Field(
        ge=0, description="Students in the group statewide in the category's denominator."
    )
    source_record_id: Series[str] = source_record_id_field()

    class Config:
        strict = True
        coerce = False
