"""OneRoster: the vectorized builders give exactly the parts of the per-row ones before.

The reference below is the builder layer of ``wholechild/standards/oneroster.py`` as it
stood before the vectorized lookups (git ``ad02ab6``: ``parse_user_ids`` through
``BUILDERS``, verbatim), frozen here as the specification; only the module's constants
(grade, sex and race-flag codes, the file list) and the bundle reader are shared. Each case
compares every field of every :class:`Part` (entity, label, export, the text table, row
numbers, bad records, prior violations, tombstone flags, the member rows kept for the
quarantine) or the rejection, on the demo district's OneRoster 1.2 bundle, the real
OneRoster 1.1 export in ``../shared/data/real`` (copied, never edited) and hand-made edge
cases; then a whole delivery through the pipeline (ledger counts, quarantine and its order).
"""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT, SHARED
from tests.test_oneroster import (
    CLASSES,
    DEMOGRAPHICS,
    ENROLLMENTS,
    USERS,
    YML,
    bundle_files,
    land_bundle,
)
from wholechild import pipeline
from wholechild.config import Paths
from wholechild.parts import Part, standard_export
from wholechild.readers import DeliveryRejected, RawTable
from wholechild.readers.oneroster import Bundle, read_bundle
from wholechild.registry import Export, Source, load_registry
from wholechild.standards import oneroster
from wholechild.standards.common import (
    is_advanced_title,
    merged_codes,
    subject_from_text,
    text_table,
    yaml_code,
)
from wholechild.standards.oneroster import FILES, GRADES, PRIMARY, RACE_FLAGS, SEX

REAL_ONEROSTER = SHARED / "data" / "real" / "oneroster_1_1_grand_bend"

# ------------------------------------------------- the frozen reference (git ad02ab6)
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
    return is_student, unknown, _objects(org.get(i) if not pd.isna(i) else None for i in ids)


def _objects(values) -> pd.Series:
    """Python values as an object Series (None for missing), whatever they are."""
    return pd.Series([None if v is None or v is pd.NA else v for v in values], dtype=object)


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
    return {
        column: _objects(frame[column].get(i) if not pd.isna(i) else None for i in ids)
        for column in frame.columns
    }


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
        return _objects(values.get(s) if not pd.isna(s) else None for s in section)

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


# ------------------------------------------------------------------------- comparison
def _outcome(read, source, path):
    try:
        return read(source, path)
    except DeliveryRejected as exc:
        return ("rejected", exc.rule, exc.message)


def assert_same_parts(source: Source, path: Path) -> list[Part]:
    """The module's ``read_parts`` and the frozen reference agree on every field."""
    want = _outcome(read_parts, source, path)
    got = _outcome(oneroster.read_parts, source, path)
    if isinstance(want, tuple) or isinstance(got, tuple):
        assert got == want, path.name
        return []
    assert len(got) == len(want), path.name
    for g, w in zip(got, want, strict=True):
        assert (g.entity, g.label, g.export) == (w.entity, w.label, w.export), path.name
        assert g.table.file == w.table.file and g.table.headers == w.table.headers
        assert list(g.table.frame.columns) == list(w.table.frame.columns)
        assert g.table.frame.dtypes.tolist() == w.table.frame.dtypes.tolist()
        pd.testing.assert_frame_equal(g.table.frame, w.table.frame, check_exact=True)
        for column in w.table.frame.columns:  # the very values (None vs NA, str vs bool)
            assert [repr(v) for v in g.table.frame[column]] == [
                repr(v) for v in w.table.frame[column]
            ], (path.name, g.entity, column)
        assert g.table.row_numbers.dtype == w.table.row_numbers.dtype
        np.testing.assert_array_equal(g.table.row_numbers, w.table.row_numbers)
        assert g.table.bad_records == w.table.bad_records, path.name
        assert (g.violations is None) == (w.violations is None)
        if w.violations is not None:
            pd.testing.assert_frame_equal(g.violations, w.violations, check_exact=True)
        assert g.deleted.dtype == w.deleted.dtype
        np.testing.assert_array_equal(g.deleted, w.deleted)
        assert g.records == w.records
        pd.testing.assert_frame_equal(g.source_frame, w.source_frame, check_exact=True)
        n = len(w.table.frame)
        if n:
            positions = np.unique(np.array([0, n // 2, n - 1], dtype=np.int64))
            assert g.record_text(positions) == w.record_text(positions)
    return got


def _source(sources_dir: Path, text: str, name: str = "roster") -> Source:
    (sources_dir / f"{name}.yml").write_text(text)
    registry = load_registry(sources_dir)
    assert registry.errors == []
    return registry.sources[name]


# ------------------------------------------------------------------------------ cases
@pytest.fixture(scope="module")
def demo_bundle(tmp_path_factory) -> Path:
    from wholechild.demo import generate

    out = tmp_path_factory.mktemp("demo")
    generate(out, students=2000, seed=42)
    return out / "sis" / "oneroster_2026-06-05.zip"


def test_demo_bundle_gives_the_same_parts(demo_bundle):
    registry = load_registry(ROOT / "sources")
    assert registry.errors == []
    source = registry.sources["sis"]
    parts = assert_same_parts(source, demo_bundle)
    assert {p.entity for p in parts} >= {"school", "student"}
    students = next(p for p in parts if p.entity == "student")
    assert len(students.table.frame) > 1000
    assert students.table.frame["sex"].notna().any()  # demographics joined: compared too


@pytest.mark.skipif(not REAL_ONEROSTER.is_dir(), reason=f"no real export at {REAL_ONEROSTER}")
@pytest.mark.parametrize("as_zip", [False, True], ids=["folder", "zip"])
@pytest.mark.parametrize("kind", ["local", "state"])
def test_real_oneroster_export_gives_the_same_parts(tmp_path, sources_dir, as_zip, kind):
    from tests.test_real_exports import ONEROSTER_YML

    text = ONEROSTER_YML.replace("student_id: local", f"student_id: {kind}")
    source = _source(sources_dir, text, "grand_bend")
    if as_zip:
        path = tmp_path / "grand_bend_2021-01-04.zip"
        with zipfile.ZipFile(path, "w") as z:
            for f in sorted(REAL_ONEROSTER.iterdir()):
                z.write(f, f"OneRoster/{f.name}")
    else:
        path = tmp_path / "grand_bend_2021-01-04"
        shutil.copytree(REAL_ONEROSTER, path, copy_function=shutil.copyfile)
    parts = assert_same_parts(source, path)
    assert [p.entity for p in parts] == ["school", "student", "section_enrollment"]


MANIFEST_12 = (
    "propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\nfile.orgs,bulk\n"
    "file.users,bulk\nfile.roles,bulk\nfile.demographics,bulk\nfile.enrollments,bulk\n"
    "file.classes,bulk\nfile.courses,bulk\nfile.academicSessions,bulk\n"
)
USERS_12 = (
    "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,"
    "identifier,email,grades,primaryOrgSourcedId\n"
    "U1,active,,true,amy,{Local:11},Amy,Adams,,amy@x.org,05,S2\n"
    "T1,active,,true,tt,,Terry,Teach,,t@x.org,,S1\n"
    "U2,active,,true,bob,,Bob,Brown,B-2,,KG,S2\n"
    'U3,active,,true,cy,{State:9},Cy,Cole,,,"10,11",\n'
    "U4,tobedeleted,,true,,,,,,,,\n"
    "U5,active,,true,dee,,Dee,Dunn,,,03,\n"
    ",active,,true,noid,,No,Id,,,04,S1\n"
    "U1,active,,true,amy2,{Local:12},Amy,Again,,,05,S1\n"
)
ROLES_12 = (
    "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,"
    "orgSourcedId,userProfileSourcedId\n"
    "R1,active,,U1,secondary,student,,,S1,\n"
    "R1b,active,,U1,primary,student,,,S2,\n"
    "R2,active,,T1,primary,teacher,,,S1,\n"
    "R3,active,,U2,primary,Student,,,,\n"
    "R4,active,,U3,secondary,student,,,S9,\n"
    "R5,active,,U5,primary,guardian,,,S1,\n"
    "R6,active,,U3,secondary,student,,,S1,\n"
    "R7,active,,,primary,student,,,S2,\n"
)


def _demo(rows: list[str], header: str | None = None) -> str:
    header = header or DEMOGRAPHICS.splitlines()[0]
    return header + "\n" + "".join(r + "\n" for r in rows)


_RACE = "false,false,true,false,false,false,false"
EDGE_CASES = {
    "base_1_1": {},
    "demographics_absent": {
        "modes": {"demographics": "absent"},
        "demographics.csv": None,
    },
    "demographics_without_sourcedId": {
        "demographics.csv": "id,birthDate,sex\nU1,2015-02-03,female\n",
    },
    "demographics_missing_rows_and_columns": {
        "demographics.csv": "sourcedId,sex,asian,Birthdate\nU2,male,true,2019-06-07\n",
    },
    "demographics_duplicates_keep_last": {
        "demographics.csv": _demo(
            [
                f"U1,,,2015-02-03,female,{_RACE},",
                f"U2,,,2019-06-07,male,{_RACE},",
                f"U1,,,2016-01-01,male,{_RACE.replace('true', 'false')},",
                f",,,2010-01-01,other,{_RACE},",
                f",,,2011-01-01,unspecified,{_RACE},",
            ]
        ),
    },
    "demographics_empty_strings_and_booleans_various": {
        "demographics.csv": _demo(
            [
                "U1,,,,,TRUE,False,1,0,yes,,  ,",
                "U2,,,  ,Male,true,FALSE,,N,Y,t,f,",
                'U3,,,"",Female,"",x,TRUE ,false,,1,0,',
                "u1,,,2000-01-01,female,true,true,true,true,true,true,true,",
            ]
        ),
    },
    "demographics_unknown_ids_and_case_variant_headers": {
        "demographics.csv": _demo(
            [f"U9,,,2015-02-03,female,{_RACE},", f"U3,,,2012-12-12,male,{_RACE},"],
            header=DEMOGRAPHICS.splitlines()[0].upper().replace("SOURCEDID", "SourcedID"),
        ),
    },
    "users_duplicate_and_empty_ids": {
        "users.csv": USERS
        + "U1,active,,true,S2,student,amy2,{Local:43},Amy,Again,,,,,,,04,,,\n"
        + ",active,,true,S2,student,nobody,,No,Body,,,,,,,05,,,\n"
        + "U4,tobedeleted,,,,,,,,,,,,,,,,,,\n"
        + "T1,tobedeleted,,,,teacher,,,,,,,,,,,,,,\n",
    },
    "classes_and_courses_absent": {
        "modes": {"classes": "absent", "courses": "absent"},
        "classes.csv": None,
        "courses.csv": None,
    },
    "enrollments_unknown_class_and_deletes": {
        "enrollments.csv": ENROLLMENTS
        + "E4,active,,C9,,U1,student,false,,\n"
        + "E5,active,,,S1,U3,student,false,2025-09-01,\n"
        + "E6,tobedeleted,,,,,,,,\n"
        + "E7,active,,C2,S2,T2,teacher,TRUE,2025-08-01,2025-12-01\n"
        + "E8,active,,C2,S2,T3,teacher,false,2026-01-01,\n"
        + "E9,active,,C2,,U1,student,false,2026-02-01,2026-03-01\n"
        + "E10,active,,C4,,U2,student,false,,\n"
        + "E11,active,,C3,,U2,student,false,,\n",
        "classes.csv": CLASSES
        + "C3,,,Honors English,09,CR9,HE,scheduled,1,,T-X,English,\n"
        + "C4,,,,,,,scheduled,,,,,,\n"
        + 'C2,,,AP Bio again,10,CR2,APB2,scheduled,9,S1,"T-S, T-F",,03051,2\n',
    },
}


def _edge_files(name: str) -> dict[str, str]:
    override = dict(EDGE_CASES[name])
    return bundle_files(**override)


@pytest.mark.parametrize("as_zip", [False, True], ids=["folder", "zip"])
@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_edge_cases_give_the_same_parts(home, sources_dir, case, as_zip):
    source = _source(sources_dir, YML)
    path = land_bundle(home, f"roster_{case}", _edge_files(case), as_zip=as_zip)
    assert_same_parts(source, path)


@pytest.mark.parametrize("users", ["roles", "role_column_and_roles"])
def test_oneroster_1_2_roles_give_the_same_parts(home, sources_dir, users):
    files = bundle_files(**{"users.csv": USERS_12, "roles.csv": ROLES_12})
    files["manifest.csv"] = MANIFEST_12
    files["demographics.csv"] = _demo(
        [f"U1,,,2015-02-03,female,{_RACE},", f"U5,,,2014-01-01,other,{_RACE},"]
    )
    if users == "role_column_and_roles":
        files["users.csv"] = USERS
    source = _source(sources_dir, YML + "quality: {max_reject_rate: 0.9}\n")
    path = land_bundle(home, "roster12", files)
    parts = assert_same_parts(source, path)
    assert parts


def test_oneroster_1_2_without_roles_is_rejected_alike(home, sources_dir):
    files = bundle_files(**{"users.csv": USERS_12})
    source = _source(sources_dir, YML)
    path = land_bundle(home, "noroles", files)
    assert_same_parts(source, path)  # the same rejection, word for word


@pytest.mark.parametrize(
    "files",
    [
        {"users.csv": "id,role\nU1,student\n"},
        {"modes": {"users": "delta"}},
    ],
    ids=["no_sourcedId", "delta_in_snapshot"],
)
def test_rejections_are_the_same(home, sources_dir, files):
    source = _source(sources_dir, YML + "mode: snapshot\n")
    path = land_bundle(home, "bad", bundle_files(**files))
    got = _outcome(oneroster.read_parts, source, path)
    assert isinstance(got, tuple) and got[0] == "rejected"
    assert_same_parts(source, path)


def test_a_whole_delivery_publishes_and_quarantines_alike(home, sources_dir, tmp_path, monkeypatch):
    """Through the pipeline with each implementation: the same ledger, quarantine (in its
    order, with row numbers and messages) and published rows."""
    text = YML + "quality: {max_reject_rate: 0.9}\n"
    (sources_dir / "roster.yml").write_text(text)
    files = _edge_files("demographics_empty_strings_and_booleans_various")
    files["users.csv"] = EDGE_CASES["users_duplicate_and_empty_ids"]["users.csv"].replace(
        ",03,,she,x", ",Grade 3,,she,x"
    )
    files["enrollments.csv"] = EDGE_CASES["enrollments_unknown_class_and_deletes"][
        "enrollments.csv"
    ].replace("E1,active,,C1,S1,U1,student,false,2025-08-20,2026-05-29\n", "")
    results = []
    for impl in ("new", "reference"):
        where = home if impl == "new" else Paths(tmp_path / "home_reference").ensure()
        if impl == "reference":
            monkeypatch.setattr(oneroster, "read_parts", read_parts)
        land_bundle(where, f"roster_{impl}_2025-09-01", files)
        (out,) = pipeline.process_pending(load_registry(sources_dir), where)
        q = out.quarantine.drop(columns=["delivery_id"])
        q["message"] = q["message"].str.replace(f"roster_{impl}_", "", regex=False)
        results.append(
            (
                out.status,
                out.reason.replace(f"roster_{impl}_", ""),
                (out.rows_read, out.rows_published, out.rows_quarantined),
                out.entity_counts,
                q,
                {
                    e: f.drop(columns=["_delivery_id", "_applied_at"])
                    for e, f in sorted(out.published.items())
                },
            )
        )
    new, ref = results
    assert new[:4] == ref[:4]
    assert new[2][2] > 0  # something was quarantined: compared in order
    pd.testing.assert_frame_equal(new[4], ref[4], check_exact=True)
    assert new[5].keys() == ref[5].keys()
    for entity in ref[5]:
        pd.testing.assert_frame_equal(new[5][entity], ref[5][entity], check_exact=True)
