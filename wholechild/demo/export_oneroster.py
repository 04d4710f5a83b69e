"""The demo SIS's rostering export: a OneRoster 1.2 CSV bundle (``oneroster_<date>.zip``).

What the SIS publishes through OneRoster is the district's roster: ``orgs.csv`` (the
district and its schools: each school's ``sourcedId`` is the school number every other
system uses), ``users.csv`` with every student and teacher (1.2 keeps their roles in
``roles.csv``: a primary role at the student's current school, a secondary one at a school
they left this year), ``demographics.csv`` (birth date, sex, the federal race flags and
Hispanic/Latino ethnicity, left empty when not reported) and ``academicSessions.csv``.
Section rosters stay in the gradebook's export (the gradebook is where teachers keep
them), so the manifest marks ``classes``/``courses``/``enrollments`` absent, and the
instructional calendar, which OneRoster has no file for, is the SIS's own CSV.

Students are keyed by the SIS's internal ``sourcedId`` (a GUID, as most OneRoster
providers send); ``userIds`` carries ``{Local:004512}`` (the student number, leading zeros
kept: the district id every other source resolves against) and ``{State:...}``, and
``identifier`` repeats the student number. The zip is byte-stable: members in a fixed
order with fixed timestamps and permissions.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
import zipfile
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from wholechild.demo.generator import (
    DISTRICT_ID,
    DISTRICT_NAME,
    FIRST_DAY,
    LAST_DAY,
    RACES,
    SCHOOL_YEAR,
    TERMS,
    Delivery,
    Student,
    _ascii,
    _grade_code,
    _iso,
)

if TYPE_CHECKING:
    from wholechild.demo.generator import _Exporter

STAMP = dt.date(2026, 6, 5)
FILE_NAME = f"oneroster_{STAMP.isoformat()}.zip"
#: dateLastModified of every record, and the zip members' timestamp
MODIFIED = "2026-06-05T02:00:00.000Z"
ZIP_TIME = (2026, 6, 5, 2, 0, 0)

ORGS_HEADER = [
    "sourcedId",
    "status",
    "dateLastModified",
    "name",
    "type",
    "identifier",
    "parentSourcedId",
]
USERS_HEADER = [
    "sourcedId",
    "status",
    "dateLastModified",
    "enabledUser",
    "username",
    "userIds",
    "givenName",
    "familyName",
    "middleName",
    "identifier",
    "email",
    "sms",
    "phone",
    "agentSourcedIds",
    "grades",
    "password",
    "userMasterIdentifier",
    "resourceSourcedIds",
    "preferredGivenName",
    "preferredMiddleName",
    "preferredFamilyName",
    "primaryOrgSourcedId",
    "pronouns",
]
ROLES_HEADER = [
    "sourcedId",
    "status",
    "dateLastModified",
    "userSourcedId",
    "roleType",
    "role",
    "beginDate",
    "endDate",
    "orgSourcedId",
    "userProfileSourcedId",
]
#: demographics.csv race columns, in the order of the generator's RACES
RACE_HEADERS = {
    "american_indian_alaska_native": "americanIndianOrAlaskaNative",
    "asian": "asian",
    "black": "blackOrAfricanAmerican",
    "native_hawaiian_pacific_islander": "nativeHawaiianOrOtherPacificIslander",
    "white": "white",
}
DEMOGRAPHICS_HEADER = [
    "sourcedId",
    "status",
    "dateLastModified",
    "birthDate",
    "sex",
    *(RACE_HEADERS[r] for r in RACES),
    "demographicRaceTwoOrMoreRaces",
    "hispanicOrLatinoEthnicity",
    "countryOfBirthCode",
    "stateOfBirthAbbreviation",
    "cityOfBirth",
    "publicSchoolResidenceStatus",
]
SESSIONS_HEADER = [
    "sourcedId",
    "status",
    "dateLastModified",
    "title",
    "type",
    "startDate",
    "endDate",
    "parentSourcedId",
    "schoolYear",
]
#: OneRoster 1.2's sex vocabulary
SEX = {"female": "female", "male": "male", "nonbinary": "other", "not_selected": "unspecified"}
#: Every file a 1.2 manifest names, and whether this bundle carries it.
MANIFEST_FILES = {
    "academicSessions": "bulk",
    "categories": "absent",
    "classes": "absent",
    "classResources": "absent",
    "courses": "absent",
    "courseResources": "absent",
    "demographics": "bulk",
    "enrollments": "absent",
    "lineItemLearningObjectiveIds": "absent",
    "lineItems": "absent",
    "lineItemScoreScales": "absent",
    "orgs": "bulk",
    "resources": "absent",
    "results": "absent",
    "resultLearningObjectiveIds": "absent",
    "resultScoreScales": "absent",
    "roles": "bulk",
    "scoreScales": "absent",
    "userProfiles": "absent",
    "userResources": "absent",
    "users": "bulk",
}


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> tuple[bytes, int]:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(header)
    n = 0
    for row in rows:
        w.writerow(["" if v is None else str(v) for v in row])
        n += 1
    return buf.getvalue().encode("utf-8"), n


def _bool(b: bool | None) -> str:
    return "" if b is None else ("true" if b else "false")


def _guid(namespace: uuid.UUID, kind: str, ident: str) -> str:
    """A stable GUID per record: the same student gets the same sourcedId every night."""
    return str(uuid.uuid5(namespace, f"{kind}:{ident}"))


def write_bundle(ex: _Exporter) -> None:
    """Write ``sis/oneroster_<date>.zip`` and record its delivery (schools and students)."""
    d = ex.d
    ns = uuid.uuid5(uuid.NAMESPACE_URL, f"https://sis.district.example/{d.seed}/{d.n}")
    modified = MODIFIED

    orgs = [[DISTRICT_ID, "active", modified, DISTRICT_NAME, "district", DISTRICT_ID, ""]]
    orgs += [
        [s.school_id, "active", modified, s.name, "school", s.school_id, DISTRICT_ID]
        for s in d.schools
    ]
    n_schools = len(d.schools)

    users: list[list[Any]] = []
    roles: list[list[Any]] = []
    demographics: list[list[Any]] = []
    for st in sorted(d.students, key=lambda s: s.local_id):
        sid = _guid(ns, "student", st.local_id)
        users.append(_student_user(st, sid))
        roles.extend(_student_roles(ns, st, sid))
        flags = [_bool(r in st.races) for r in RACES]
        demographics.append(
            [
                sid,
                "active",
                modified,
                _iso(st.birth),
                SEX[st.sex],
                *flags,
                _bool(len(st.races) >= 2),
                _bool(st.hispanic),
                "US",
                "",
                "",
                "",
            ]
        )
    n_students = len(users)
    for t in sorted(d.teachers, key=lambda t: t.teacher_id):
        tid = _guid(ns, "staff", t.teacher_id)
        users.append(
            [
                tid,
                "active",
                modified,
                "true",
                f"{_ascii(t.first)[:1]}{_ascii(t.last)}{t.teacher_id[1:]}",
                f"{{Local:{t.teacher_id}}}",
                t.first,
                t.last,
                "",
                t.teacher_id,
                f"{t.teacher_id.lower()}@district.example",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                t.school.school_id,
                "",
            ]
        )
        roles.append(
            [
                _guid(ns, "role", f"{t.teacher_id}:{t.school.school_id}"),
                "active",
                modified,
                tid,
                "primary",
                "teacher",
                _iso(FIRST_DAY),
                _iso(LAST_DAY),
                t.school.school_id,
                "",
            ]
        )

    year_id = f"SY{SCHOOL_YEAR}"
    sessions = [
        [
            year_id,
            "active",
            modified,
            f"{SCHOOL_YEAR - 1}-{SCHOOL_YEAR}",
            "schoolYear",
            _iso(FIRST_DAY),
            _iso(LAST_DAY),
            "",
            SCHOOL_YEAR,
        ]
    ]
    sessions += [
        [
            f"{year_id}-{code}",
            "active",
            modified,
            title,
            "semester",
            _iso(a),
            _iso(b),
            year_id,
            SCHOOL_YEAR,
        ]
        for code, a, b, title in (
            (code, a, b, "Fall Semester" if code == "S1" else "Spring Semester")
            for code, a, b in TERMS
        )
    ]

    manifest = [["manifest.version", "1.0"], ["oneroster.version", "1.2"]]
    manifest += [[f"file.{name}", mode] for name, mode in MANIFEST_FILES.items()]
    manifest += [["source.systemName", "PowerSchool SIS"], ["source.systemCode", DISTRICT_ID]]

    members = [
        ("manifest.csv", _csv(["propertyName", "value"], manifest)[0]),
        ("orgs.csv", _csv(ORGS_HEADER, orgs)[0]),
        ("users.csv", _csv(USERS_HEADER, users)[0]),
        ("roles.csv", _csv(ROLES_HEADER, roles)[0]),
        ("demographics.csv", _csv(DEMOGRAPHICS_HEADER, demographics)[0]),
        ("academicSessions.csv", _csv(SESSIONS_HEADER, sessions)[0]),
    ]
    path = ex.path("sis", FILE_NAME)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # unix, whatever machine writes it
            z.writestr(info, data)
    path.write_bytes(raw.getvalue())
    ex.add(
        Delivery(
            "sis",
            FILE_NAME,
            "school,student",
            n_schools + n_students,
            entity_rows={"school": n_schools, "student": n_students},
            note=(
                "the district roster: a OneRoster 1.2 bundle (orgs, users with roles.csv, "
                "demographics, academicSessions); students keyed by GUID sourcedIds, with "
                "{Local:...} and {State:...} userIds; district org and teachers are lookups, "
                "not rows"
            ),
        )
    )


def _student_user(st: Student, sid: str) -> list[Any]:
    last = max(st.enrollments, key=lambda e: e.entry)
    enabled = last.exit is None
    return [
        sid,
        "active",
        MODIFIED,
        _bool(enabled),
        st.username,
        f"{{Local:{st.local_id}}},{{State:{st.state_id}}}",
        st.first,
        st.last,
        "",
        st.local_id,
        st.email,
        "",
        "",
        "",
        _grade_code(st.grade),
        "",
        "",
        "",
        "",
        "",
        "",
        st.home.school_id,
        "",
    ]


def _student_roles(ns: uuid.UUID, st: Student, sid: str) -> list[list[Any]]:
    """The primary role at the student's current school; a secondary role at each school
    they were enrolled at earlier this year (OneRoster 1.2 keeps school membership here)."""
    spans: dict[str, list[dt.date | None]] = {}
    for e in sorted(st.enrollments, key=lambda e: e.entry):
        begin_end = spans.setdefault(e.school.school_id, [e.entry, e.exit])
        begin_end[0] = min(begin_end[0], e.entry)
        if begin_end[1] is not None:
            begin_end[1] = None if e.exit is None else max(begin_end[1], e.exit)
    out = []
    home = st.home.school_id
    for school_id in [home, *sorted(s for s in spans if s != home)]:
        begin, end = spans.get(school_id, [FIRST_DAY, None])
        out.append(
            [
                _guid(ns, "role", f"{st.local_id}:{school_id}"),
                "active",
                MODIFIED,
                sid,
                "primary" if school_id == home else "secondary",
                "student",
                _iso(begin),
                _iso(end),
                school_id,
                "",
            ]
        )
    return out
