"""Ed-Fi ODS/API resource exports to canonical parts (one resource file = one part).

Each resource below names its entity and how a record's fields (nested references
flattened: ``studentReference.studentUniqueId``, ``schoolReference.schoolId``) fill the
canonical columns; ``id`` becomes ``source_record_id``. Descriptors are mapped to canonical
codes through the source YAML's ``entities.<entity>.codes`` first, then the crosswalk seed
(:mod:`wholechild.standards.crosswalk`); a descriptor neither knows is an ``unmapped_code``
violation naming the value. A record that maps to one canonical row counts as one row
read; a program association whose program type has no canonical program (athletics,
Title I...) is not a row of any entity and is not counted.

A ``<resource>.deletes.<date>.json`` file names records by ``id``/``Id``: each becomes a
tombstone whose key the pipeline finds among the published rows (:mod:`wholechild.tombstones`).

The row function of each resource (``_attendance``...) is its specification, one record at
a time. The large resources (attendance events, enrollments, students) also have a
columnar form (``_attendance_columns``...) that gives the same values a column at a time:
each field pulled out of every record by one dict lookup per level (:func:`pluck`), and
each descriptor column mapped once per distinct value (:meth:`Columns.code`), so the
crosswalk costs the number of distinct descriptors, not of records.
``tests/test_edfi_differential.py`` pins the two to identical parts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quality.violations import VIOLATION_COLUMNS, empty_violations
from schemas.common import GRADE_LEVELS
from wholechild.parts import Part, standard_export
from wholechild.readers import DeliveryRejected
from wholechild.readers.edfi import DELETES, Records, read_records, resource_of
from wholechild.registry import Export, Source
from wholechild.standards import crosswalk
from wholechild.standards.common import merged_codes, subject_from_text, text_table, yaml_code


def get(obj: Any, *path: str | int) -> Any:
    """A nested field, keys matched case-blind (deletes files say ``Id``, upserts ``id``)."""
    for key in path:
        if obj is None:
            return None
        if isinstance(key, int):
            obj = obj[key] if isinstance(obj, list) and -len(obj) <= key < len(obj) else None
        elif isinstance(obj, dict):
            if key in obj:
                obj = obj[key]
            else:
                low = key.lower()
                obj = next((v for k, v in obj.items() if k.lower() == low), None)
        else:
            return None
    return obj


_MISSING = object()


def pluck(records: Sequence[Any], *path: str) -> list:
    """``get(r, *path)`` of every record: one dict lookup per level, and the case-blind
    search of :func:`get` only for the records missing a key as spelled."""
    values = records if isinstance(records, list) else list(records)
    for key in path:
        step = [o.get(key, _MISSING) if type(o) is dict else None for o in values]
        if _MISSING in step:
            step = [get(o, key) if v is _MISSING else v for o, v in zip(values, step, strict=True)]
        values = step
    return values


def texts(values: Sequence[Any]) -> list[str | None]:
    """:func:`text` of every value (text and None pass as they are)."""
    return [v if v is None or type(v) is str else text(v) for v in values]


def text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def items(record: dict, name: str) -> list:
    value = get(record, name)
    return value if isinstance(value, list) else []


@dataclass
class Context:
    """What a resource's row function needs besides the record: descriptor mapping
    (collecting violations for the row being built) and the source's settings."""

    export: Export
    xwalk: crosswalk.Crosswalk
    lookup: Callable[[str], pd.DataFrame] | None = None
    violations: list[tuple[str, str, str, str]] = field(default_factory=list)
    _incident_dates: dict[str, str] | None = None

    def violation(self, column: str, value: str, message: str) -> None:
        self.violations.append(("unmapped_code", column, value, message))

    def lookup_code(self, value: str, column: str, descriptor: str) -> tuple[str, str | None]:
        found, code = yaml_code(self.export, column, value)
        if not found:
            found, code = yaml_code(self.export, column, crosswalk.split_descriptor(value)[2])
        if found:
            return (crosswalk.MAPPED, code) if code else (crosswalk.EMPTY, None)
        return self.xwalk.lookup(value, column, descriptor)

    def code(self, value: Any, column: str, descriptor: str, required: bool = False):
        """The canonical code of one descriptor value; a violation when there is none."""
        value = text(value)
        if value is None:
            return None
        status, code = self.lookup_code(value, column, descriptor)
        if status == crosswalk.UNKNOWN:
            self.violation(
                column,
                value,
                f"{column} descriptor '{value}' has no canonical code in "
                f"{crosswalk.SEED_NAME} or the source YAML's codes; add a row for it",
            )
        elif status == crosswalk.EMPTY and required:
            self.violation(
                column,
                value,
                f"{column} descriptor '{value}' maps to no canonical code in "
                f"{crosswalk.SEED_NAME}, and {column} is required",
            )
        return code

    def incident_date(self, incident_id: str | None) -> str | None:
        """The date of an incident this source already published (behavior records carry
        none in Ed-Fi 4/5; the discipline action or incident that did gives it)."""
        if incident_id is None or self.lookup is None:
            return None
        if self._incident_dates is None:
            rows = self.lookup("discipline_incident")
            dates: dict[str, str] = {}
            if len(rows):
                for i, d in zip(rows["incident_id"], rows["incident_date"], strict=True):
                    if pd.notna(i) and pd.notna(d):
                        iso = pd.Timestamp(d).date().isoformat()
                        dates[str(i)] = min(dates.get(str(i), iso), iso)
            self._incident_dates = dates
        return self._incident_dates.get(incident_id)


class Columns:
    """A resource's records a column at a time (the columnar form of its row function).

    :meth:`code` maps a descriptor column through :meth:`Context.code` once per distinct
    value and keeps each violation with its record and the call's order, so the
    violations come out as the row function would raise them (by row, then by call).
    """

    def __init__(self, records: list[dict], ctx: Context):
        self.records = records
        self.ctx = ctx
        self.violations: list[tuple[int, int, str, str, str, str]] = []
        self._calls = 0

    def __len__(self) -> int:
        return len(self.records)

    def field(self, *path: str) -> list:
        return pluck(self.records, *path)

    def code(
        self, values: Sequence[Any], column: str, descriptor: str, required: bool = False
    ) -> list[str | None]:
        order = self._calls
        self._calls += 1
        values = texts(values)
        codes: dict[str | None, str | None] = {None: None}
        raised: dict[str, list[tuple[str, str, str, str]]] = {}
        ctx = self.ctx
        for value in set(values) - {None}:
            ctx.violations = []
            codes[value] = ctx.code(value, column, descriptor, required)
            if ctx.violations:
                raised[value] = ctx.violations
        ctx.violations = []
        if raised:
            for i, value in enumerate(values):
                for v in raised.get(value, ()):
                    self.violations.append((i, order, *v))
        return [codes[v] for v in values]

    def sorted_violations(self) -> list[tuple[int, str, str, str, str]]:
        """(row, rule, column, value, message) by row, then in the order of the calls."""
        return [v[:1] + v[2:] for v in sorted(self.violations, key=lambda v: (v[0], v[1]))]


Row = dict[str, Any]


def _school(r: dict, ctx: Context) -> Row:
    category = next(
        (get(c, "schoolCategoryDescriptor") for c in items(r, "schoolCategories")), None
    )
    grades = [
        ctx.code(get(g, "gradeLevelDescriptor"), "grade_level", "GradeLevelDescriptor")
        for g in items(r, "gradeLevels")
    ]
    grades = sorted({g for g in grades if g}, key=GRADE_LEVELS.index)
    return {
        "school_id": get(r, "schoolId"),
        "school_name": get(r, "nameOfInstitution"),
        "district_id": get(r, "localEducationAgencyReference", "localEducationAgencyId"),
        "school_type": ctx.code(category, "school_type", "SchoolCategoryDescriptor"),
        "grade_low": grades[0] if grades else None,
        "grade_high": grades[-1] if grades else None,
    }


def _student(r: dict, ctx: Context) -> Row:
    ref = get(r, "studentUniqueId")
    kind = ctx.export.student_id.kind
    return {
        "student_ref": ref,
        "local_id": ref if kind == "local" else None,
        "state_id": ref if kind == "state" else None,
        "first_name": get(r, "firstName"),
        "last_name": get(r, "lastSurname"),
        "birth_date": get(r, "birthDate"),
        "sex": ctx.code(
            get(r, "birthSexDescriptor") or get(r, "sexDescriptor"), "sex", "SexDescriptor"
        ),
    }


def _student_ref(r: dict) -> Any:
    return get(r, "studentReference", "studentUniqueId")


def _student_columns(c: Columns) -> dict[str, list]:
    ref = c.field("studentUniqueId")
    kind = c.ctx.export.student_id.kind
    nothing = [None] * len(c)
    sex = [
        a or b for a, b in zip(c.field("birthSexDescriptor"), c.field("sexDescriptor"), strict=True)
    ]
    return {
        "student_ref": ref,
        "local_id": ref if kind == "local" else nothing,
        "state_id": ref if kind == "state" else nothing,
        "first_name": c.field("firstName"),
        "last_name": c.field("lastSurname"),
        "birth_date": c.field("birthDate"),
        "sex": c.code(sex, "sex", "SexDescriptor"),
    }


def _enrollment(r: dict, ctx: Context) -> Row:
    return {
        "student_ref": _student_ref(r),
        "school_id": get(r, "schoolReference", "schoolId"),
        "entry_date": get(r, "entryDate"),
        "exit_date": get(r, "exitWithdrawDate"),
        "grade_level": ctx.code(
            get(r, "entryGradeLevelDescriptor"), "grade_level", "GradeLevelDescriptor", True
        ),
        "exit_code": ctx.code(
            get(r, "exitWithdrawTypeDescriptor"), "exit_code", "ExitWithdrawTypeDescriptor"
        ),
        "school_year": get(r, "schoolYearTypeReference", "schoolYear"),
    }


def _enrollment_columns(c: Columns) -> dict[str, list]:
    return {
        "student_ref": c.field("studentReference", "studentUniqueId"),
        "school_id": c.field("schoolReference", "schoolId"),
        "entry_date": c.field("entryDate"),
        "exit_date": c.field("exitWithdrawDate"),
        "grade_level": c.code(
            c.field("entryGradeLevelDescriptor"), "grade_level", "GradeLevelDescriptor", True
        ),
        "exit_code": c.code(
            c.field("exitWithdrawTypeDescriptor"), "exit_code", "ExitWithdrawTypeDescriptor"
        ),
        "school_year": c.field("schoolYearTypeReference", "schoolYear"),
    }


#: Categories whose eventDuration is the share of the day missed.
ABSENCES = ("excused_absence", "unexcused_absence", "partial", "early_departure")


def _attendance(r: dict, ctx: Context) -> Row:
    category = ctx.code(
        get(r, "attendanceEventCategoryDescriptor"),
        "category",
        "AttendanceEventCategoryDescriptor",
        True,
    )
    return {
        "student_ref": _student_ref(r),
        "school_id": get(r, "schoolReference", "schoolId"),
        "event_date": get(r, "eventDate"),
        "category": category,
        "absent_fraction": get(r, "eventDuration") if category in ABSENCES else None,
    }


def _attendance_columns(c: Columns) -> dict[str, list]:
    category = c.code(
        c.field("attendanceEventCategoryDescriptor"),
        "category",
        "AttendanceEventCategoryDescriptor",
        True,
    )
    duration = c.field("eventDuration")
    return {
        "student_ref": c.field("studentReference", "studentUniqueId"),
        "school_id": c.field("schoolReference", "schoolId"),
        "event_date": c.field("eventDate"),
        "category": category,
        "absent_fraction": [
            d if k in ABSENCES else None for d, k in zip(duration, category, strict=True)
        ],
    }


def _score(r: dict, word: str) -> Any:
    for s in items(r, "scoreResults"):
        method = text(get(s, "assessmentReportingMethodDescriptor")) or ""
        if word in crosswalk.split_descriptor(method)[2].lower():
            return get(s, "result")
    return None


def _assessment(r: dict, ctx: Context) -> Row:
    name = text(get(r, "assessmentReference", "assessmentIdentifier"))
    subject_descriptor = get(r, "academicSubjectDescriptor")
    if subject_descriptor is not None:
        subject = ctx.code(subject_descriptor, "subject", "AcademicSubjectDescriptor", True)
    else:
        found, subject = yaml_code(ctx.export, "subject", name or "")
        if not found:
            subject = subject_from_text(name)
            if subject is None and name is not None:
                ctx.violation(
                    "subject",
                    name,
                    f"subject of assessment '{name}' is unknown: the record has no "
                    "academicSubjectDescriptor; map the assessment in the source YAML "
                    f"(entities.assessment_result.codes.subject: {{'{name}': math}})",
                )
    level = next(
        (get(p, "performanceLevelDescriptor") for p in items(r, "performanceLevels")), None
    )
    return {
        "student_ref": _student_ref(r),
        "assessment_name": name,
        "subject": subject,
        "assessed_on": get(r, "administrationDate"),
        "scale_score": _score(r, "scale score"),
        "percentile": _score(r, "percentile"),
        "performance_level": crosswalk.split_descriptor(text(level))[2] if level else None,
        "is_proficient": ctx.code(level, "is_proficient", "PerformanceLevelDescriptor"),
    }


#: Most severe first: a discipline action with several disciplines keeps the most severe.
SEVERITY = ("expulsion", "out_of_school_suspension", "in_school_suspension", "other", "none")


def _behavior(r: dict, ctx: Context) -> Row:
    incident = text(get(r, "disciplineIncidentReference", "incidentIdentifier"))
    return {
        "student_ref": _student_ref(r),
        "incident_id": incident,
        "incident_date": get(r, "incidentDate") or ctx.incident_date(incident),
        "behavior": ctx.code(get(r, "behaviorDescriptor"), "behavior", "BehaviorDescriptor"),
        "action": "none",
        "school_id": get(r, "disciplineIncidentReference", "schoolId"),
    }


def _action(r: dict, ctx: Context) -> Row:
    links = [
        get(a, "studentDisciplineIncidentBehaviorAssociationReference")
        for a in items(r, "studentDisciplineIncidentBehaviorAssociations")
    ] + [
        get(a, "studentDisciplineIncidentAssociationReference")
        for a in items(r, "studentDisciplineIncidentAssociations")
    ]
    link = next((lk for lk in links if lk), None)
    actions = [
        ctx.code(get(d, "disciplineDescriptor"), "action", "DisciplineDescriptor")
        for d in items(r, "disciplines")
    ]
    actions = sorted({a for a in actions if a}, key=SEVERITY.index)
    length = get(r, "actualDisciplineActionLength")
    return {
        "student_ref": _student_ref(r),
        "incident_id": get(link, "incidentIdentifier") or get(r, "disciplineActionIdentifier"),
        "incident_date": get(r, "disciplineDate"),
        "behavior": ctx.code(get(link, "behaviorDescriptor"), "behavior", "BehaviorDescriptor"),
        "action": actions[0] if actions else None,
        "days_removed": length if length is not None else get(r, "disciplineActionLength"),
        "school_id": get(r, "responsibilitySchoolReference", "schoolId") or get(link, "schoolId"),
    }


def _program_row(r: dict, program: str | None) -> Row:
    return {
        "student_ref": _student_ref(r),
        "program": program,
        "begin_date": get(r, "beginDate"),
        "end_date": get(r, "endDate"),
    }


def _program(r: dict, ctx: Context) -> Row | None:
    value = text(get(r, "programReference", "programTypeDescriptor"))
    if value is None:
        return _program_row(r, None)
    status, code = ctx.lookup_code(value, "program", "ProgramTypeDescriptor")
    if status == crosswalk.EMPTY:
        return None  # a program wholechild does not track: not a row of any entity
    return _program_row(r, ctx.code(value, "program", "ProgramTypeDescriptor"))


def _fixed_program(program: str) -> Callable[[dict, Context], Row]:
    def row(r: dict, ctx: Context) -> Row:
        return _program_row(r, program)

    return row


def _special_education(r: dict, ctx: Context) -> Row:
    disabilities = sorted(items(r, "disabilities"), key=lambda d: get(d, "orderOfDisability") or 99)
    first = get(disabilities[0], "disabilityDescriptor") if disabilities else None
    return {
        **_program_row(r, "special_education"),
        "disability_category": ctx.code(first, "disability_category", "DisabilityDescriptor"),
    }


def _food_service(r: dict, ctx: Context) -> Row | None:
    codes = [
        ctx.code(
            get(s, "schoolFoodServiceProgramServiceDescriptor"),
            "program",
            "SchoolFoodServiceProgramServiceDescriptor",
        )
        for s in items(r, "schoolFoodServiceProgramServices")
    ]
    if "economically_disadvantaged" in codes:
        return _program_row(r, "economically_disadvantaged")
    if ctx.violations:
        return _program_row(r, None)
    return None  # full-price meals only (or no service named): not a program row


#: Columns whose values are descriptors, mapped by :class:`Context` (YAML codes included).
DESCRIPTOR_COLUMNS = (
    "grade_level",
    "grade_low",
    "grade_high",
    "sex",
    "exit_code",
    "category",
    "school_type",
    "subject",
    "is_proficient",
    "behavior",
    "action",
    "program",
    "disability_category",
)


@dataclass(frozen=True)
class Resource:
    entity: str
    row: Callable[[dict, Context], Row | None]
    columns: tuple[str, ...]
    #: the same rows a column at a time (every record is a row), for the large resources
    columnar: Callable[[Columns], dict[str, list]] | None = None


_PROGRAM = ("student_ref", "program", "begin_date", "end_date")
RESOURCES: dict[str, Resource] = {
    r.lower(): spec
    for r, spec in {
        "schools": Resource(
            "school",
            _school,
            ("school_id", "school_name", "district_id", "school_type", "grade_low", "grade_high"),
        ),
        "students": Resource(
            "student",
            _student,
            ("student_ref", "local_id", "state_id", "first_name", "last_name", "birth_date", "sex"),
            _student_columns,
        ),
        "studentSchoolAssociations": Resource(
            "enrollment",
            _enrollment,
            (
                "student_ref",
                "school_id",
                "entry_date",
                "exit_date",
                "grade_level",
                "exit_code",
                "school_year",
            ),
            _enrollment_columns,
        ),
        "studentSchoolAttendanceEvents": Resource(
            "attendance_event",
            _attendance,
            ("student_ref", "school_id", "event_date", "category", "absent_fraction"),
            _attendance_columns,
        ),
        "studentAssessments": Resource(
            "assessment_result",
            _assessment,
            (
                "student_ref",
                "assessment_name",
                "subject",
                "assessed_on",
                "scale_score",
                "percentile",
                "performance_level",
                "is_proficient",
            ),
        ),
        "studentDisciplineIncidentBehaviorAssociations": Resource(
            "discipline_incident",
            _behavior,
            ("student_ref", "incident_id", "incident_date", "behavior", "action", "school_id"),
        ),
        "disciplineActions": Resource(
            "discipline_incident",
            _action,
            (
                "student_ref",
                "incident_id",
                "incident_date",
                "behavior",
                "action",
                "days_removed",
                "school_id",
            ),
        ),
        "studentProgramAssociations": Resource("program_participation", _program, _PROGRAM),
        "studentSpecialEducationProgramAssociations": Resource(
            "program_participation", _special_education, (*_PROGRAM, "disability_category")
        ),
        "studentSchoolFoodServiceProgramAssociations": Resource(
            "program_participation", _food_service, _PROGRAM
        ),
        "studentHomelessProgramAssociations": Resource(
            "program_participation", _fixed_program("homeless"), _PROGRAM
        ),
        "studentLanguageInstructionProgramAssociations": Resource(
            "program_participation", _fixed_program("english_learner"), _PROGRAM
        ),
        "studentSection504ProgramAssociations": Resource(
            "program_participation", _fixed_program("section_504"), _PROGRAM
        ),
        "studentMigrantEducationProgramAssociations": Resource(
            "program_participation", _fixed_program("migrant"), _PROGRAM
        ),
    }.items()
}


def _resource(source: Source, path: Path) -> tuple[str, str, Resource]:
    named = resource_of(path.name)
    resource = RESOURCES.get(named[0].lower()) if named else None
    if resource is None:
        known = ", ".join(sorted(RESOURCES))
        raise DeliveryRejected(
            "unknown_file",
            f"{path.name}: names no Ed-Fi resource wholechild maps; name the file by its "
            f"resource, e.g. students.upserts.2022-07-14.json (known, case-blind: {known}).",
        )
    if resource.entity not in source.entities:
        raise DeliveryRejected(
            "unknown_file",
            f"{path.name}: resource {named[0]} feeds {resource.entity}, which source "
            f"{source.name}'s `entities:` leaves out; add it there or stop landing the file.",
        )
    return named[0], named[1], resource


def entity_of(source: Source, path: Path) -> str:
    return _resource(source, path)[2].entity


def read_parts(source: Source, path: Path, lookup=None) -> list[Part]:
    name, kind, resource = _resource(source, path)
    export = source.export_of(resource.entity)
    data = read_records(path, source.options)
    label = path.name
    if kind == DELETES:
        if export.mode == "snapshot":
            raise DeliveryRejected(
                "deletes_in_snapshot",
                f"{label}: deletes apply to incremental sources, and this source loads "
                f"{resource.entity} as a snapshot (its next full export drops the rows); "
                "stop landing deletes files or set mode: incremental.",
            )
        ids = texts(pluck(data.records, "id"))
        table = text_table(label, {"source_record_id": ids}, data.row_numbers, data.bad_records)
        if not table.records_read:
            return []  # nothing deleted in this window
        return [
            Part(
                entity=resource.entity,
                export=standard_export(export, ["source_record_id"]),
                table=table,
                label=label,
                deleted=np.ones(len(ids), dtype=bool),
                records=data.texts,
            )
        ]
    if not data.records and not data.bad_records:
        raise DeliveryRejected(
            "no_rows", f"{label}: holds no {name} records; ask the sender for a complete export."
        )
    ctx = Context(export=export, xwalk=crosswalk.load(), lookup=lookup)
    columns = (*resource.columns, "source_record_id")
    if resource.columnar is not None:
        values, numbers, records, violations = _map_columns(resource, data, ctx)
    else:
        values, numbers, records, violations = _map_rows(resource, data, ctx)
    table = text_table(label, {c: texts(values[c]) for c in columns}, numbers, data.bad_records)
    if not table.records_read:
        return []  # every record was of a program wholechild does not track
    frame = pd.DataFrame(violations) if violations else empty_violations()
    if violations:
        frame["row"] = frame["row"].astype("int64")
        frame = frame[VIOLATION_COLUMNS]
    # Descriptors were mapped above (YAML codes first); the export maps nothing twice.
    codes = merged_codes({}, export, skip=DESCRIPTOR_COLUMNS)
    return [
        Part(
            entity=resource.entity,
            export=standard_export(export, list(columns), codes),
            table=table,
            label=label,
            violations=frame,
            records=records,
        )
    ]


Mapped = tuple[dict[str, list], Sequence[int], Sequence[str], list[dict]]


def _violation(row: int, rule: str, column: str, value: str, message: str) -> dict:
    return {"row": row, "rule": rule, "column_name": column, "value": value, "message": message}


def _map_columns(resource: Resource, data: Records, ctx: Context) -> Mapped:
    """Every record is a row: the columnar form, then the record ids."""
    cols = Columns(data.records, ctx)
    values = resource.columnar(cols)
    values["source_record_id"] = cols.field("id")
    violations = [_violation(*v) for v in cols.sorted_violations()]
    return values, data.row_numbers, data.texts, violations


def _map_rows(resource: Resource, data: Records, ctx: Context) -> Mapped:
    """Record by record through the row function (which may skip a record)."""
    rows: list[Row] = []
    numbers: list[int] = []
    records: list[str] = []
    violations: list[dict] = []
    for i, (record, number) in enumerate(zip(data.records, data.row_numbers, strict=True)):
        ctx.violations = []
        row = resource.row(record, ctx)
        if row is None:
            continue
        row["source_record_id"] = get(record, "id")
        violations.extend(_violation(len(rows), *v) for v in ctx.violations)
        rows.append(row)
        numbers.append(number)
        records.append(data.texts[i])
    columns = (*resource.columns, "source_record_id")
    return {c: [r.get(c) for r in rows] for c in columns}, numbers, records, violations
