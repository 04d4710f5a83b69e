"""OneRoster 1.1/1.2 bundles to canonical parts: school, student, section_enrollment.

Which records are read (and counted in the ledger), per entity:

- ``school``: the rows of ``orgs.csv`` whose ``type`` is ``school``;
- ``student``: the rows of ``users.csv`` whose role is ``student`` (1.1: the ``role``
  column; 1.2: a ``student`` row of ``roles.csv``);
- ``section_enrollment``: the rows of ``enrollments.csv`` whose role is ``student``;

plus, for each, the rows with status ``tobedeleted`` whose type/role is empty (a delta may
send only ``sourcedId`` and ``status``): they become tombstones. Every other record
(districts, teachers, teacher enrollments) and the files ``demographics.csv``,
``classes.csv``, ``courses.csv``, ``academicSessions.csv`` and ``roles.csv`` are lookups
joined onto those rows, not counted. Row numbers are those of the member CSV, and messages
name it: ``bundle.zip:users.csv row 7``.

Columns: ``student_ref`` is the user's ``sourcedId``; ``local_id`` its ``userIds``
``{Local:...}``, else ``identifier``, else ``sourcedId``; ``state_id`` its ``{State:...}`` or
``{SSID:...}`` (kinds are case-blind). Sex, birth date and race flags come from
``demographics.csv``. A section's ``course_code``/``course_title`` come from its course
(``courses.csv``), else the class; ``subject_area`` from the class's, then the course's,
subject codes (SCED) or names where they are recognizable (else NULL); ``teacher_id`` is
the class's teacher enrollment (primary first, overlapping the student's dates);
begin/end dates fall back to the class's terms. ``school_id`` is the org's ``sourcedId``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from wholechild.parts import Part, standard_export
from wholechild.readers import DeliveryRejected, RawTable
from wholechild.readers.oneroster import Bundle, read_bundle
from wholechild.registry import Export, Source
from wholechild.standards.common import (
    is_advanced_title,
    merged_codes,
    subject_from_text,
    text_table,
    yaml_code,
)

FILES = (
    "orgs",
    "users",
    "roles",
    "demographics",
    "courses",
    "classes",
    "enrollments",
    "academicSessions",
)
PRIMARY = {"school": "orgs", "student": "users", "section_enrollment": "enrollments"}

#: OneRoster grade codes (CEDS) to canonical grade levels; None: no canonical equivalent.
GRADES: dict[str, str | None] = {
    "PK": "PK",
    "PR": "PK",
    "TK": "KG",
    "KG": "KG",
    "K": "KG",
    **{str(g): f"{g:02d}" for g in range(1, 13)},
    **{f"{g:02d}": f"{g:02d}" for g in range(1, 13)},
    "IT": None,
    "13": None,
    "PS": None,
    "UG": None,
    "Other": None,
}
#: OneRoster 1.2 sex values; 1.1 has only female/male.
SEX: dict[str, str | None] = {
    "female": "female",
    "male": "male",
    "other": "nonbinary",
    "unspecified": "not_selected",
}
RACE_FLAGS = {
    "americanIndianOrAlaskaNative": "race_american_indian_alaska_native",
    "asian": "race_asian",
    "blackOrAfricanAmerican": "race_black",
    "nativeHawaiianOrOtherPacificIslander": "race_native_hawaiian_pacific_islander",
    "white": "race_white",
    "demographicRaceTwoOrMoreRaces": "race_two_or_more",
    "hispanicOrLatinoEthnicity": "hispanic_latino",
}
_USER_ID = re.compile(r"\{\s*([^:{}]+?)\s*:\s*([^{}]*?)\s*\}")


def parse_user_ids(value) -> dict[str, str]:
    """``{Local:863},{State:700123}`` -> {"local": "863", "state": "700123"} (first of each)."""
    out: dict[str, str] = {}
    if value is None or pd.isna(value):
        return out
    for kind, ident in _USER_ID.findall(str(value)):
        k = re.sub(r"[^a-z]", "", kind.lower())
        if k == "ssid" or k.startswith("state"):
            kind_name = "state"
        elif k.startswith("local") or k in ("district", "districtid", "sis", "sisid"):
            kind_name = "local"
        else:
            continue
        if ident and kind_name not in out:
            out[kind_name] = ident
    return out


class Columns:
    """Case-blind access to a member table's columns; a missing column reads as NA."""

    def __init__(self, table: RawTable, label: str):
        self.table, self.label = table, label
        self.names = {h.lower(): h for h in table.headers}

    def has(self, name: str) -> bool:
        return name.lower() in self.names

    def __call__(self, name: str) -> pd.Series:
        header = self.names.get(name.lower())
        n = len(self.table.frame)
        if header is None:
            return pd.Series([pd.NA] * n, dtype="string")
        return self.table.frame[header].reset_index(drop=True).astype("string")

    def require(self, *names: str) -> None:
        missing = [n for n in names if not self.has(n)]
        if missing:
            raise DeliveryRejected(
                "missing_column",
                f"{self.label}: has no column {', '.join(missing)}; its header is "
                f"{', '.join(self.table.headers)}.",
            )

    def lower(self, name: str) -> pd.Series:
        return self(name).str.strip().str.lower()


def read_parts(source: Source, path: Path) -> list[Part]:
    bundle = read_bundle(path, FILES, source.options)
    parts = []
    for entity in source.entities:
        export = source.export_of(entity)
        stem = PRIMARY[entity]
        if stem not in bundle.tables:
            continue
        if bundle.modes[stem] == "delta" and export.mode == "snapshot":
            raise DeliveryRejected(
                "delta_in_snapshot",
                f"{bundle.member_label(stem)}: the manifest sends it as a delta, but this "
                f"source loads {entity} as a snapshot (each delivery replaces the rows); send "
                "bulk files or set mode: incremental.",
            )
        part = BUILDERS[entity](bundle, export)
        if part.table.records_read:
            parts.append(part)
    if not parts:
        raise DeliveryRejected(
            "no_rows",
            f"{bundle.label}: the bundle has no school org, student user or student "
            f"enrollment for the entities this source publishes ({', '.join(source.entities)}).",
        )
    return parts


def _part(
    bundle: Bundle,
    stem: str,
    export: Export,
    columns: dict[str, pd.Series],
    keep: np.ndarray,
    deleted: pd.Series,
    codes: dict | None = None,
) -> Part:
    table = bundle.tables[stem]
    label = bundle.member_label(stem)
    rows = text_table(
        label,
        {c: v[keep].reset_index(drop=True) for c, v in columns.items()},
        table.row_numbers[keep],
        table.bad_records,
    )
    return Part(
        entity=export.entity,
        export=standard_export(export, list(columns), codes),
        table=rows,
        label=label,
        deleted=deleted.to_numpy(dtype=bool)[keep],
        source_frame=table.frame.iloc[np.flatnonzero(keep)].reset_index(drop=True),
    )


def _deleted(c: Columns) -> pd.Series:
    return (c.lower("status") == "tobedeleted").fillna(False)


def _school_ids(bundle: Bundle) -> set[str]:
    if "orgs" not in bundle.tables:
        return set()
    c = Columns(bundle.tables["orgs"], bundle.member_label("orgs"))
    ids = c("sourcedId")[(c.lower("type") == "school").fillna(False)]
    return set(ids.dropna())


def build_school(bundle: Bundle, export: Export) -> Part:
    c = Columns(bundle.tables["orgs"], bundle.member_label("orgs"))
    c.require("sourcedId")
    deleted = _deleted(c)
    kind = c.lower("type")
    keep = ((kind == "school").fillna(False) | (deleted & kind.isna())).to_numpy(dtype=bool)
    columns = {
        "school_id": c("sourcedId"),
        "school_name": c("name"),
        "district_id": c("parentSourcedId"),
        "source_record_id": c("sourcedId"),
    }
    return _part(bundle, "orgs", export, columns, keep, deleted)


def _student_roles(bundle: Bundle, users: Columns) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(is a student, role unknown, school from the role) per users.csv row."""
    ids = users("sourcedId")
    n = len(ids)
    if users.has("role"):
        role = users.lower("role")
        return (role == "student").fillna(False), role.isna(), _objects([None] * n)
    if "roles" not in bundle.tables:
        raise DeliveryRejected(
            "missing_column",
            f"{users.label}: has no role column and the bundle has no roles.csv, so its "
            "students cannot be told from its staff (OneRoster 1.2 keeps roles in roles.csv).",
        )
    r = Columns(bundle.tables["roles"], bundle.member_label("roles"))
    r.require("userSourcedId", "role")
    roles = pd.DataFrame(
        {
            "user": r("userSourcedId"),
            "role": r.lower("role"),
            "primary": (r.lower("roleType") == "primary").fillna(False),
            "org": r("orgSourcedId"),
        }
    )
    students = roles[roles["role"] == "student"].sort_values("primary", ascending=False)
    org = students.drop_duplicates("user").set_index("user")["org"]
    is_student = ids.isin(set(students["user"])).fillna(False)
    unknown = ~ids.isin(set(roles["user"].dropna())).fillna(False)
    return is_student, unknown, _take(org, ids)


def _objects(values) -> pd.Series:
    """Python values as an object Series (None for missing), whatever they are."""
    return pd.Series([None if v is None or v is pd.NA else v for v in values], dtype=object)


def _take(values: pd.Series, ids: pd.Series) -> pd.Series:
    """``_objects(values.get(i) if not pd.isna(i) else None for i in ids)``, vectorized.

    None for a missing id or one not in the (unique) index, else what ``.get`` returns,
    pd.NA as None (a ``str`` column's NaN stays NaN, as there). One index lookup for all
    ids instead of two pandas calls per id (13.7 s of a 100k-student bundle before);
    ``tests/test_oneroster_differential.py`` holds it to the per-id form.
    """
    n = len(ids)
    out = np.full(n, None, dtype=object)
    if n == 0 or len(values) == 0:
        return pd.Series(out, dtype=object)
    if not values.index.is_unique:
        raise ValueError("a lookup needs a unique index")
    pos = values.index.get_indexer(ids.astype(object))
    pos[ids.isna().to_numpy(dtype=bool)] = -1  # a missing id names nothing, even an NA label
    hit = pos >= 0
    if isinstance(values.dtype, pd.StringDtype):  # NA as .get gives it: None, or NaN for str
        na = values.dtype.na_value
        table = values.to_numpy(dtype=object, na_value=None if na is pd.NA else na)
    else:
        raw = values.array
        table = np.empty(len(values), dtype=object)
        for k in range(len(values)):
            v = raw[k]
            table[k] = None if v is None or v is pd.NA else v
    out[hit] = table[pos[hit]]
    return pd.Series(out, dtype=object)


def _first_school(value, schools: set[str]):
    if value is None or pd.isna(value):
        return None
    ids = [v.strip() for v in str(value).split(",") if v.strip()]
    for i in ids:
        if i in schools:
            return i
    return ids[0] if ids else None


def build_student(bundle: Bundle, export: Export) -> Part:
    c = Columns(bundle.tables["users"], bundle.member_label("users"))
    c.require("sourcedId")
    deleted = _deleted(c)
    is_student, unknown_role, role_org = _student_roles(bundle, c)
    keep = (is_student | (deleted & unknown_role)).to_numpy(dtype=bool)
    sourced = c("sourcedId")
    user_ids = [parse_user_ids(v) for v in c("userIds")]
    local = _objects(d.get("local") for d in user_ids)
    state = _objects(d.get("state") for d in user_ids)
    schools = _school_ids(bundle)
    if c.has("orgSourcedIds"):
        school = _objects(_first_school(v, schools) for v in c("orgSourcedIds"))
    else:
        primary = c("primaryOrgSourcedId").astype(object)
        school = role_org.where(role_org.notna(), primary)
    columns = {
        "student_ref": sourced,
        "local_id": local.where(local.notna(), c("identifier").astype(object)).where(
            lambda s: s.notna(), sourced.astype(object)
        ),
        "state_id": state,
        "email": c("email"),
        "username": c("username"),
        "first_name": c("givenName"),
        "last_name": c("familyName"),
        "grade_level": _objects(
            None if pd.isna(v) else (str(v).split(",")[0].strip() or None) for v in c("grades")
        ),
        "school_id": school,
        "source_record_id": sourced,
    }
    columns.update(_demographics(bundle, sourced))
    codes = merged_codes({"grade_level": GRADES, "sex": SEX}, export)
    return _part(bundle, "users", export, columns, keep, deleted, codes)


def _demographics(bundle: Bundle, ids: pd.Series) -> dict[str, pd.Series]:
    if "demographics" not in bundle.tables:
        return {}
    d = Columns(bundle.tables["demographics"], bundle.member_label("demographics"))
    if not d.has("sourcedId"):
        return {}
    frame = pd.DataFrame({"id": d("sourcedId"), "birth_date": d("birthDate"), "sex": d("sex")})
    for header, column in RACE_FLAGS.items():
        frame[column] = d(header)
    frame = frame[frame["id"].notna()].drop_duplicates("id", keep="last").set_index("id")
    return {column: _take(frame[column], ids) for column in frame.columns}


def _lookup(bundle: Bundle, stem: str, columns: dict[str, str]) -> pd.DataFrame:
    """A member file as {our name: its column}, indexed by sourcedId (empty if absent)."""
    if stem not in bundle.tables:
        return pd.DataFrame(columns=list(columns)).rename_axis("id")
    c = Columns(bundle.tables[stem], bundle.member_label(stem))
    frame = pd.DataFrame({"id": c("sourcedId"), **{k: c(v) for k, v in columns.items()}})
    return frame[frame["id"].notna()].drop_duplicates("id", keep="last").set_index("id")


def _subject(export: Export, *candidates) -> str | None:
    """The section's subject: YAML codes first, then SCED codes and subject names."""
    for value in candidates:
        if value is None or pd.isna(value):
            continue
        for item in [str(value), *str(value).split(",")]:
            found, code = yaml_code(export, "subject_area", item.strip())
            if found:
                return code
        guess = subject_from_text(value)
        if guess:
            return guess
    return None


def _class_info(bundle: Bundle, export: Export) -> pd.DataFrame:
    classes = _lookup(
        bundle,
        "classes",
        {
            "course": "courseSourcedId",
            "class_code": "classCode",
            "class_title": "title",
            "class_school": "schoolSourcedId",
            "terms": "termSourcedIds",
            "class_subject_codes": "subjectCodes",
            "class_subjects": "subjects",
        },
    )
    courses = _lookup(
        bundle,
        "courses",
        {
            "course_code": "courseCode",
            "course_title": "title",
            "course_subject_codes": "subjectCodes",
            "course_subjects": "subjects",
        },
    )
    sessions = _lookup(bundle, "academicSessions", {"start": "startDate", "end": "endDate"})
    info = classes.join(courses, on="course")
    code = info["course_code"].where(info["course_code"].notna(), info["class_code"])
    info["course_code"] = code.where(code.notna(), info["course"])
    info["course_title"] = info["course_title"].where(
        info["course_title"].notna(), info["class_title"]
    )
    info["subject_area"] = [
        _subject(export, *row)
        for row in info[
            ["class_subject_codes", "class_subjects", "course_subject_codes", "course_subjects"]
        ].itertuples(index=False)
    ]
    info["is_advanced"] = [
        is_advanced_title(a, b)
        for a, b in zip(info["course_title"], info["class_title"], strict=True)
    ]

    def term_dates(terms, which: str, pick):
        ids = [] if terms is None or pd.isna(terms) else [t.strip() for t in str(terms).split(",")]
        dates = [sessions[which].get(t) for t in ids if t in sessions.index]
        dates = [d for d in dates if d is not None and not pd.isna(d)]
        return pick(dates) if dates else None

    info["term_begin"] = _objects(term_dates(t, "start", min) for t in info["terms"]).values
    info["term_end"] = _objects(term_dates(t, "end", max) for t in info["terms"]).values
    return info


def _teachers(c: Columns, deleted: pd.Series) -> dict[str, list[tuple]]:
    """class -> [(teacher, begin, end)], primary teachers first."""
    frame = pd.DataFrame(
        {
            "cls": c("classSourcedId"),
            "user": c("userSourcedId"),
            "primary": (c.lower("primary") == "true").fillna(False),
            "begin": c("beginDate"),
            "end": c("endDate"),
        }
    )
    frame = frame[(c.lower("role") == "teacher").fillna(False) & ~deleted]
    frame = frame[frame["cls"].notna() & frame["user"].notna()]
    frame = frame.sort_values(["primary", "begin"], ascending=[False, True], na_position="last")
    out: dict[str, list[tuple]] = {}
    for row in frame.itertuples(index=False):
        out.setdefault(row.cls, []).append((row.user, row.begin, row.end))
    return out


def _teacher_for(teachers: list[tuple], begin, end):
    """The first teacher whose dates overlap the student's (ISO dates compare as text)."""
    for user, t_begin, t_end in teachers:
        if (pd.isna(end) or pd.isna(t_begin) or str(t_begin)[:10] <= str(end)[:10]) and (
            pd.isna(begin) or pd.isna(t_end) or str(t_end)[:10] >= str(begin)[:10]
        ):
            return user
    return teachers[0][0] if teachers else None


def build_section_enrollment(bundle: Bundle, export: Export) -> Part:
    c = Columns(bundle.tables["enrollments"], bundle.member_label("enrollments"))
    c.require("sourcedId")
    deleted = _deleted(c)
    role = c.lower("role")
    keep = ((role == "student").fillna(False) | (deleted & role.isna())).to_numpy(dtype=bool)
    info = _class_info(bundle, export)
    section = c("classSourcedId")
    begin, end = c("beginDate"), c("endDate")

    def from_class(column: str) -> pd.Series:
        values = info[column] if len(info) else pd.Series([], dtype=object)
        return _take(values, section)

    teachers = _teachers(c, deleted)
    teacher = pd.Series(
        [
            _teacher_for(teachers.get(s, []), b, e) if not pd.isna(s) else None
            for s, b, e in zip(section, begin, end, strict=True)
        ],
        dtype=object,
    )
    school = c("schoolSourcedId")
    columns = {
        "student_ref": c("userSourcedId"),
        "section_id": section,
        "school_id": school.astype(object).where(school.notna(), from_class("class_school")),
        "course_code": from_class("course_code"),
        "course_title": from_class("course_title"),
        "subject_area": from_class("subject_area"),
        "is_advanced": from_class("is_advanced"),
        "teacher_id": teacher,
        "begin_date": begin.astype(object).where(begin.notna(), from_class("term_begin")),
        "end_date": end.astype(object).where(end.notna(), from_class("term_end")),
        "source_record_id": c("sourcedId"),
    }
    codes = merged_codes({}, export, skip=("subject_area",))
    return _part(bundle, "enrollments", export, columns, keep, deleted, codes)


BUILDERS = {
    "school": build_school,
    "student": build_student,
    "section_enrollment": build_section_enrollment,
}
