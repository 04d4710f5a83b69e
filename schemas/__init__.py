"""Canonical contracts: one Pandera model per entity of CANONICAL.md.

Importing this package registers every entity in :data:`ENTITIES`.
"""

import warnings

# Pandera imports pyspark.pandas whenever PySpark is installed (the `spark` extra), and
# PySpark warns on every import that it does not yet support pandas 3. wholechild never
# uses pyspark.pandas (the Spark target runs SQL through dbt-spark), so the warning would
# only be noise on every CLI command.
warnings.filterwarnings(
    "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
)

from schemas import (  # noqa: E402, F401  (each import registers its entity)
    assessment_result,
    attendance_event,
    calendar_day,
    course_mark,
    discipline_incident,
    enrollment,
    health_event,
    lms_activity,
    program_participation,
    school,
    section_enrollment,
    staff_assignment,
    state_comparison,
    student,
    survey_response,
)
from schemas._base import DOMAINS, ENTITIES, ColumnSpec, EntitySpec  # noqa: E402

__all__ = ["DOMAINS", "ENTITIES", "ColumnSpec", "EntitySpec"]
