"""Contract of the ``course_mark`` entity (CANONICAL.md)."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas._base import entity
from schemas.common import (
    MARK_TYPES,
    SUBJECTS,
    id_field,
    school_year_field,
    source_record_id_field,
    student_ref_field,
)


@entity(
    name="course_mark",
    domain="coursework",
    key=("student_ref", "course_code", "term", "school_year"),
    description="A mark (grade) a student received in a course for a term.",
)
class CourseMark(pa.DataFrameModel):
    student_ref: Series[str] = student_ref_field()
    school_id: Series[str] = id_field("The school where the course was taken.")
    course_code: Series[str] = id_field("The course, as the source codes it.")
    subject_area: Series[str] = pa.Field(
        isin=list(SUBJECTS), description="The academic subject of the course."
    )
    term: Series[str] = pa.Field(
        description="The grading period the mark is for, as the source names it (for example 'S1')."
    )
    mark: Series[str] = pa.Field(
        description="The mark as given, letter or number (for example 'B+' or '87')."
    )
    is_failing: Series[pd.BooleanDtype] = pa.Field(
        description="Whether the mark is a failing mark under the district's grading scale."
    )
    mark_type: Series[str] = pa.Field(
        nullable=True,
        isin=list(MARK_TYPES),
        description=(
            "Whether the mark is final or interim (empty means final); interim marks never "
            "count in GPA or course failures."
        ),
    )
    grade_points: Series[pd.Float64Dtype] = pa.Field(
        nullable=True,
        ge=0,
        le=4,
        description="The mark's unweighted grade points on the 0-4 scale used for GPA.",
    )
    credits_attempted: Series[pd.Float64Dtype] = pa.Field(
        nullable=True, ge=0, description="The course credits the student attempted."
    )
    credits_earned: Series[pd.Float64Dtype] = pa.Field(
        nullable=True, ge=0, description="The course credits the student earned."
    )
    school_year: Series[pd.Int64Dtype] = school_year_field()
    source_record_id: Series[str] = source_record_id_field()

    class Config:
        strict = True
        coerce = False
