"""OneRoster 1.1/1.2 bundles: folder or zip, manifest, tombstones, userIds, labels, counts."""

from __future__ import annotations

import json
import textwrap
import zipfile
from pathlib import Path

import pytest

from wholechild import lake, pipeline
from wholechild.registry import load_registry
from wholechild.standards.oneroster import parse_user_ids

YML = """\
name: roster
system: OneRoster
format: oneroster
domains: [enrollment, demographics, coursework]
steward: team:sis
cadence: daily
student_id: local
"""

MANIFEST_11 = """\
propertyName,value
manifest.version,1
oneroster.version,1.1
file.orgs,{orgs}
file.users,{users}
file.enrollments,{enrollments}
file.classes,{classes}
file.courses,{courses}
file.demographics,{demographics}
file.academicSessions,bulk
file.resources,absent
"""

ORGS = """\
sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId,metadata.city
D1,active,,District One,district,,,Springfield
S1,active,,North Elementary,school,0101,D1,Springfield
S2,active,,South Middle,school,0102,D1,
"""

# Teachers first, so the students' row numbers are not their positions among students.
USERS = """\
sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,ext_pronouns,vendorColumn
T1,active,,true,S1,teacher,tt,,Terry,Teach,,,t@x.org,,,,,,,
U1,active,,true,"D1,S1",student,amy,"{LOCAL:0042},{SSID:700123}",Amy,Adams,,,amy@x.org,,,,03,,she,x
U2,active,,true,S2,student,bob,{state:700200},Bob,Brown,,B-77,bob@x.org,,,,KG,,,
U3,active,,true,S2,student,cy,,Cy,Cole,,,cy@x.org,,,,10,,,
"""

DEMOGRAPHICS = """\
sourcedId,status,dateLastModified,birthDate,sex,americanIndianOrAlaskaNative,asian,blackOrAfricanAmerican,nativeHawaiianOrOtherPacificIslander,white,demographicRaceTwoOrMoreRaces,hispanicOrLatinoEthnicity,metadata.x
U1,,,2015-02-03,female,false,false,true,false,false,false,false,
U2,,,2019-06-07,male,false,false,false,false,true,false,true,
"""

SESSIONS = """\
sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear
T-F,,,Fall,semester,2025-08-20,2025-12-19,,2026
T-S,,,Spring,semester,2026-01-05,2026-05-29,,2026
"""

COURSES = """\
sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes
CR1,,,,Mathematics 3,MATH3,03,D1,Mathematics,
CR2,,,,AP Biology,SCI-AP,10,D1,,03051
"""

CLASSES = """\
sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods
C1,,,Math 3 - Room 4,03,CR1,M3-4,scheduled,4,S1,"T-F,T-S",,,1
C2,,,AP Bio,10,CR2,APB,scheduled,9,S2,T-F,,,2
"""

ENROLLMENTS = """\
sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate
E0,active,,C1,S1,T1,teacher,true,2025-08-20,2026-05-29
E1,active,,C1,S1,U1,student,false,2025-08-20,2026-05-29
E2,active,,C2,S2,U3,student,false,,
E3,active,,C2,S2,U2,student,false,2025-08-20,2025-12-19
"""


def bundle_files(**override) -> dict[str, str]:
    modes = dict(
        orgs="bulk",
        users="bulk",
        enrollments="bulk",
        classes="bulk",
        courses="bulk",
        demographics="bulk",
    )
    modes.update(override.pop("modes", {}))
    files = {
        "manifest.csv": MANIFEST_11.format(**modes),
        "orgs.csv": ORGS,
        "users.csv": USERS,
        "demographics.csv": DEMOGRAPHICS,
        "academicSessions.csv": SESSIONS,
        "courses.csv": COURSES,
        "classes.csv": CLASSES,
        "enrollments.csv": ENROLLMENTS,
    }
    files.update(override)
    return {k: v for k, v in files.items() if v is not None}


def land_bundle(home, name: str, files: dict[str, str], as_zip: bool = False) -> Path:
    folder = home.landing / "roster"
    folder.mkdir(parents=True, exist_ok=True)
    if as_zip:
        path = folder / f"{name}.zip"
        with zipfile.ZipFile(path, "w") as z:
            for member, text in files.items():
                z.writestr(f"export/{member}", text)
        return path
    path = folder / name
    path.mkdir()
    for member, text in files.items():
        (path / member).write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def registry(sources_dir):
    def make(extra: str = ""):
        (sources_dir / "roster.yml").write_text(YML + extra)
        reg = load_registry(sources_dir)
        assert reg.errors == []
        return reg

    return make


def current(home, entity):
    return lake.current_rows(home, "roster", entity, "incremental")


@pytest.mark.parametrize("as_zip", [False, True], ids=["folder", "zip"])
def test_bundle_publishes_school_student_and_section_enrollment(home, registry, as_zip):
    land_bundle(home, "roster_2025-09-01", bundle_files(), as_zip=as_zip)
    (out,) = pipeline.process_pending(registry(), home)
    assert (out.status, out.rows_read, out.rows_published, out.rows_quarantined) == (
        "published",
        8,  # 2 school orgs + 3 student users + 3 student enrollments
        8,
        0,
    )
    assert out.entity_counts == {
        "school": (2, 0),
        "student": (3, 0),
        "section_enrollment": (3, 0),
    }
    students = current(home, "student").set_index("student_ref")
    assert students.loc["U1", ["local_id", "state_id", "school_id", "grade_level"]].tolist() == [
        "0042",  # {LOCAL:0042}: kinds are case-blind, leading zeros kept
        "700123",  # {SSID:...}
        "S1",  # the first of orgSourcedIds that is a school
        "03",
    ]
    assert students.loc["U2", ["local_id", "state_id", "grade_level"]].tolist() == [
        "B-77",  # no {Local:} id: the identifier
        "700200",  # {state:...}
        "KG",
    ]
    assert students.loc["U3", "local_id"] == "U3"  # neither: the sourcedId
    assert bool(students.loc["U1", "race_black"]) and students.loc["U1", "sex"] == "female"
    assert bool(students.loc["U2", "hispanic_latino"]) and bool(students.loc["U2", "race_white"])
    assert students.loc["U3", "birth_date"] is None or str(students.loc["U3", "birth_date"]) in (
        "NaT",
        "None",
    )

    sections = current(home, "section_enrollment").set_index("source_record_id")
    e1 = sections.loc["E1"]
    assert [e1[c] for c in ("course_code", "course_title", "subject_area", "teacher_id")] == [
        "MATH3",
        "Mathematics 3",
        "math",  # from the course's subject name
        "T1",
    ]
    e2 = sections.loc["E2"]  # no dates: the class's term; SCED 03051 is science; AP title
    assert [e2["course_code"], e2["subject_area"], bool(e2["is_advanced"])] == [
        "SCI-AP",
        "science",
        True,
    ]
    assert str(e2["begin_date"])[:10] == "2025-08-20" and str(e2["end_date"])[:10] == "2025-12-19"


def test_tobedeleted_rows_become_tombstones_with_or_without_their_key(home, registry):
    reg = registry()
    land_bundle(home, "roster_2025-09-01", bundle_files())
    pipeline.process_pending(reg, home)
    delta_users = (
        "sourcedId,status,dateLastModified,role,givenName,familyName\n"
        "U2,tobedeleted,2025-09-02,student,Bob,Brown\n"
    )
    # A delta enrollment row naming only its sourcedId: found among the published rows.
    delta_enrollments = (
        "sourcedId,status,dateLastModified\nE1,tobedeleted,2025-09-02\nE9,tobedeleted,2025-09-02\n"
    )
    files = bundle_files(
        modes={
            "users": "delta",
            "enrollments": "delta",
            "orgs": "absent",
            "demographics": "absent",
        },
        **{
            "users.csv": delta_users,
            "enrollments.csv": delta_enrollments,
            "orgs.csv": None,
            "demographics.csv": None,
        },
    )
    land_bundle(home, "roster_2025-09-02", files)
    (out,) = pipeline.process_pending(reg, home)
    # users: U2 (1 tombstone); enrollments: E1 resolved by id, E9 never published.
    assert (out.status, out.rows_read, out.rows_published, out.rows_quarantined) == (
        "published_with_quarantine",
        3,
        2,
        1,
    )
    assert out.entity_counts == {"student": (1, 0), "section_enrollment": (1, 1)}
    assert sorted(current(home, "student")["student_ref"]) == ["U1", "U3"]
    assert sorted(current(home, "section_enrollment")["source_record_id"]) == ["E2", "E3"]
    q = lake.read_quarantine(home)
    q = q[q["rule"] == "unknown_delete"]
    assert q["row_number"].tolist() == [3]
    assert (
        q["message"].iloc[0].startswith("roster_2025-09-02:enrollments.csv row 3: deletes id 'E9'")
    )
    assert json.loads(q["record"].iloc[0])["sourcedId"] == "E9"
    assert len(current(home, "school")) == 2  # orgs absent from the delta: untouched


def test_row_numbers_and_messages_name_the_member_file(home, registry):
    users = USERS.replace(",03,,she,x", ",Grade 3,,she,x")  # U1 is users.csv row 3
    land_bundle(home, "bundle", bundle_files(**{"users.csv": users}), as_zip=True)
    reg = registry("quality: {max_reject_rate: 0.5}\n")
    (out,) = pipeline.process_pending(reg, home)
    assert out.status == "published_with_quarantine"
    q = lake.read_quarantine(home)
    assert q[["entity", "row_number", "rule", "column_name", "value"]].values.tolist() == [
        ["student", 3, "unmapped_code", "grade_level", "Grade 3"]
    ]
    assert q["message"].iloc[0].startswith("bundle.zip:users.csv row 3: ")
    assert json.loads(q["record"].iloc[0])["givenName"] == "Amy"  # the member's own row


def test_oneroster_1_2_takes_roles_from_roles_csv(home, registry):
    users = (
        "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,"
        "identifier,email,grades,primaryOrgSourcedId\n"
        "U1,active,,true,amy,{Local:11},Amy,Adams,,amy@x.org,05,S2\n"
        "T1,active,,true,tt,,Terry,Teach,,t@x.org,,S1\n"
    )
    roles = (
        "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,"
        "orgSourcedId,userProfileSourcedId\n"
        "R1,active,,U1,primary,student,,,S1,\n"
        "R2,active,,T1,primary,teacher,,,S1,\n"
    )
    files = bundle_files(**{"users.csv": users, "roles.csv": roles})
    files["manifest.csv"] = (
        files["manifest.csv"].replace("oneroster.version,1.1", "oneroster.version,1.2")
        + "file.roles,bulk\n"
    )
    land_bundle(home, "roster12", files)
    (out,) = pipeline.process_pending(registry(), home)
    assert out.entity_counts["student"] == (1, 0)
    (student,) = current(home, "student").to_dict("records")
    assert (student["student_ref"], student["local_id"], student["school_id"]) == (
        "U1",
        "11",
        "S1",  # the student role's org
    )


@pytest.mark.parametrize(
    ("files", "rule", "words"),
    [
        ({"manifest.csv": None}, "no_manifest", "has no manifest.csv"),
        (
            {"manifest.csv": MANIFEST_11.replace("1.1", "3.0")},
            "unsupported_version",
            "oneroster.version is '3.0'",
        ),
        ({"users.csv": None}, "missing_file", "lists users.csv as bulk"),
        (
            {"users.csv": "id,role\nU1,student\n"},
            "missing_column",
            "bad:users.csv: has no column sourcedId",
        ),
    ],
)
def test_broken_bundles_are_rejected_naming_the_file(home, registry, files, rule, words):
    land_bundle(home, "bad", bundle_files(**files))
    (out,) = pipeline.process_pending(registry(), home)
    assert out.status == "rejected"
    assert words in out.reason
    q = lake.read_quarantine(home)
    assert q["rule"].iloc[0] == rule


def test_a_zip_that_is_not_a_zip_is_rejected_naming_it(home, registry):
    folder = home.landing / "roster"
    folder.mkdir(parents=True)
    (folder / "roster_2025-09-01.zip").write_text("sourcedId,name\n1,not a zip\n")
    (out,) = pipeline.process_pending(registry(), home)
    assert out.status == "rejected"
    assert out.reason.startswith("roster_2025-09-01.zip: is not a readable zip archive")
    assert set(out.entity_counts) == {"school", "student", "section_enrollment"}


def test_duplicate_keys_in_one_member_reject_the_whole_bundle(home, registry):
    enrollments = ENROLLMENTS + "E4,active,,C1,S1,U1,student,false,2025-08-20,2026-01-01\n"
    land_bundle(home, "dup", bundle_files(**{"enrollments.csv": enrollments}))
    (out,) = pipeline.process_pending(registry(), home)
    assert out.status == "rejected"
    assert out.reason.startswith(
        "dup:enrollments.csv: the key (student_ref, section_id, begin_date)"
    )
    assert (out.rows_read, out.rows_published, out.rows_quarantined) == (9, 0, 9)
    assert out.entity_counts == {
        "school": (0, 2),
        "student": (0, 3),
        "section_enrollment": (0, 4),
    }
    assert lake.read_published(home, "roster", "student").empty


def test_entities_narrow_and_override_codes_and_constants(home, registry):
    extra = textwrap.dedent(
        """\
        entities:
          student:
            codes: {grade_level: {"03": "04"}}
          section_enrollment:
            constants: {is_advanced: false}
        """
    )
    land_bundle(home, "narrow", bundle_files())
    (out,) = pipeline.process_pending(registry(extra), home)
    assert set(out.entity_counts) == {"student", "section_enrollment"}
    assert out.rows_read == 6
    students = current(home, "student").set_index("student_ref")
    assert students.loc["U1", "grade_level"] == "04"
    assert not current(home, "section_enrollment")["is_advanced"].any()


def test_a_delta_cannot_feed_a_snapshot_entity(home, registry):
    land_bundle(home, "delta", bundle_files(modes={"users": "delta"}))
    (out,) = pipeline.process_pending(registry("mode: snapshot\n"), home)
    assert out.status == "rejected" and "delta" in out.reason and "snapshot" in out.reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{Local:863}", {"local": "863"}),
        ("{state:700123}", {"state": "700123"}),
        ("{SSID:55}, {LocalID: 0042 }", {"state": "55", "local": "0042"}),
        ("{Other:1}", {}),
        ("", {}),
        (None, {}),
    ],
)
def test_user_ids_parse_case_blind(text, expected):
    assert parse_user_ids(text) == expected


def test_validate_checks_a_bundle_folder_and_writes_nothing(home, registry, tmp_path, capsys):
    from orchestration.cli import main

    registry()
    bundle = tmp_path / "export"
    bundle.mkdir()
    for member, text in bundle_files().items():
        (bundle / member).write_text(text)
    before = sorted(p.name for p in home.home.rglob("*"))
    assert main(["validate", str(bundle), "--source", "roster"]) == 0
    out = capsys.readouterr().out
    assert "Rows read 8, published 8, quarantined 0." in out
    assert sorted(p.name for p in home.home.rglob("*")) == before
