"""Canonical contracts: one Pandera model per entity of CANONICAL.md.

Importing this package registers every entity in :data:`ENTITIES`.
"""

import wholechild  # noqa: F401  (its warning filter precedes pandera's import)
from schemas import (  # noqa: F401  (each import registers its entity)
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
from schemas._base import DOMAINS, ENTITIES, ColumnSpec, EntitySpec

__all__ = ["DOMAINS", "ENTITIES", "ColumnSpec", "EntitySpec"]
