"""Ed-Fi API JSON: arrays and JSON Lines, descriptors through the crosswalk, deletes by id."""

from __future__ import annotations

import codecs
import csv
import json
import os
import re
import textwrap

import pytest

from tests.conftest import ROOT, SHARED
from wholechild import lake, pipeline
from wholechild.readers import DeliveryRejected
from wholechild.registry import load_registry
from wholechild.standards import crosswalk

YML = """\
name: edfi
system: Ed-Fi ODS/API
format: edfi_json
domains: [enrollment, attendance, assessment, behavior, programs]
steward: team:sis
cadence: daily
student_id: state
quality: {max_reject_rate: 0.5}
"""
NS = "uri://ed-fi.org"


def d(descriptor: str, code: str, ns: str = NS) -> str:
    return f"{ns}/{descriptor}#{code}"


def ref(student: str, school: int = 101) -> dict:
    return {
        "studentReference": {"studentUniqueId": student, "link": {"rel": "Student"}},
        "schoolReference": {"schoolId": school},
    }


def attendance(i: int, category: str, duration=None, ns: str = NS) -> dict:
    rec = {
        "id": f"att{i}",
        **ref(f"00{i}"),
        "eventDate": "2025-09-03",
        "attendanceEventCategoryDescriptor": d("AttendanceEventCategoryDescriptor", category, ns),
        "_etag": "1",
    }
    if duration is not None:
        rec["eventDuration"] = duration
    return rec


@pytest.fixture
def registry(sources_dir):
    def make(extra: str = ""):
        (sources_dir / "edfi.yml").write_text(YML + textwrap.dedent(extra))
        reg = load_registry(sources_dir)
        assert reg.errors == []
        return reg

    return make


def land(home, name: str, records: list, jsonl: bool = True, bom: bool = False, mtime=None):
    folder = home.landing / "edfi"
    folder.mkdir(parents=True, exist_ok=True)
    if jsonl:
        text = "\n".join(json.dumps(r) if not isinstance(r, str) else r for r in records)
    else:
        text = json.dumps(records, indent=2)
    path = folder / name
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + text.encode("utf-8"))
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def current(home, entity):
    return lake.current_rows(home, "edfi", entity, "incremental")


@pytest.mark.parametrize(("jsonl", "bom"), [(True, True), (True, False), (False, True)])
def test_attendance_events_as_array_or_lines_with_or_without_bom(home, registry, jsonl, bom):
    records = [
        attendance(1, "Excused Absence", 0.5),
        attendance(2, "Unexcused Absence", 1),
        attendance(3, "Tardy", 0.1),  # a tardy's duration is not an absence
        attendance(4, "In Attendance"),
    ]
    land(home, "studentSchoolAttendanceEvents.json", records, jsonl=jsonl, bom=bom)
    (out,) = pipeline.process_pending(registry(), home)
    assert (out.status, out.rows_read, out.rows_published) == ("published", 4, 4)
    rows = current(home, "attendance_event").set_index("source_record_id")
    assert rows["category"].to_dict() == {
        "att1": "excused_absence",
        "att2": "unexcused_absence",
        "att3": "tardy",
        "att4": "present",
    }
    assert rows.loc["att1", "absent_fraction"] == 0.5 and rows.loc["att2", "absent_fraction"] == 1
    assert rows["absent_fraction"].isna().tolist()[2:] == [True, True]
    assert rows.loc["att1", ["student_ref", "school_id"]].tolist() == ["001", "101"]


def test_unmapped_descriptor_is_quarantined_naming_it_and_yaml_codes_win(home, registry):
    odd = d("AttendanceEventCategoryDescriptor", "Field Trip", "uri://district.org")
    records = [
        attendance(1, "Tardy"),
        {**attendance(2, "Tardy"), "attendanceEventCategoryDescriptor": odd},
    ]
    land(home, "studentSchoolAttendanceEvents.2025-09-04.json", records)
    reg = registry()
    (out,) = pipeline.process_pending(reg, home)
    assert (out.status, out.rows_published, out.rows_quarantined) == (
        "published_with_quarantine",
        1,
        1,
    )
    q = lake.read_quarantine(home)
    assert q[["row_number", "rule", "column_name", "value"]].values.tolist() == [
        [2, "unmapped_code", "category", odd]
    ]
    assert "xwalk_edfi_descriptors.csv" in q["message"].iloc[0]
    assert q["message"].iloc[0].startswith("studentSchoolAttendanceEvents.2025-09-04.json row 2:")

    # The district maps its own descriptor in the YAML (by code value or full URI).
    reg = registry(
        """\
        entities:
          attendance_event:
            codes: {category: {Field Trip: present}}
        """
    )
    land(home, "studentSchoolAttendanceEvents.2025-09-05.json", records[1:])
    (out,) = pipeline.process_pending(reg, home)
    assert out.status == "published"
    assert current(home, "attendance_event")["category"].tolist() == ["tardy", "present"]


def test_a_district_namespace_reusing_ed_fi_code_values_maps(home, registry):
    rec = attendance(1, "Excused Absence", 1, ns="uri://grandbend.org")
    land(home, "studentSchoolAttendanceEvents.json", [rec])
    (out,) = pipeline.process_pending(registry(), home)
    assert out.status == "published"
    assert current(home, "attendance_event")["category"].tolist() == ["excused_absence"]


def _school(i: int) -> dict:
    return {
        "id": f"sch{i}",
        "schoolId": 100 + i,
        "nameOfInstitution": f"School {i}",
        "localEducationAgencyReference": {"localEducationAgencyId": 9},
        "schoolCategories": [
            {"schoolCategoryDescriptor": d("SchoolCategoryDescriptor", "Middle School")}
        ],
        "gradeLevels": [
            {"gradeLevelDescriptor": d("GradeLevelDescriptor", "Eighth grade")},
            {"gradeLevelDescriptor": d("GradeLevelDescriptor", "Sixth grade")},
        ],
    }


def test_deletes_resolve_ids_to_keys_and_unknown_ids_are_reported(home, registry):
    reg = registry()
    land(home, "schools.upserts.2025-09-01.json", [_school(1), _school(2)])
    pipeline.process_pending(reg, home)
    (row,) = current(home, "school").query("school_id == '101'").to_dict("records")
    assert (row["school_type"], row["grade_low"], row["grade_high"]) == ("middle", "06", "08")
    land(
        home,
        "schools.deletes.2025-09-02.json",
        [{"Id": "sch1", "ChangeVersion": "7"}, {"Id": "nope"}],
    )
    (out,) = pipeline.process_pending(reg, home)
    # The unknown id is reported, never a reason to reject (1 of 2 > max_reject_rate 0.5).
    assert (out.status, out.rows_read, out.rows_published, out.rows_quarantined) == (
        "published_with_quarantine",
        2,
        1,
        1,
    )
    assert current(home, "school")["school_id"].tolist() == ["102"]
    q = lake.read_quarantine(home)
    assert q[["row_number", "rule", "value"]].values.tolist() == [[2, "unknown_delete", "nope"]]


def test_same_date_deletes_apply_after_upserts_whatever_their_arrival(home, registry):
    land(home, "schools.deletes.2025-09-01.json", [{"Id": "sch1"}], mtime=1_700_000_000)
    land(home, "schools.upserts.2025-09-01.json", [_school(1)], mtime=1_700_000_100)
    outcomes = pipeline.process_pending(registry(), home)
    assert [o.file_name for o in outcomes] == [
        "schools.upserts.2025-09-01.json",
        "schools.deletes.2025-09-01.json",
    ]
    assert current(home, "school").empty


def test_empty_deletes_file_publishes_nothing_and_is_not_rejected(home, registry):
    land(home, "students.deletes.2025-09-01.json", [], jsonl=False)
    (out,) = pipeline.process_pending(registry(), home)
    assert (out.status, out.rows_read) == ("published", 0)
    assert out.entity_counts == {"student": (0, 0)}


def test_deletes_are_refused_for_a_snapshot_entity(home, registry):
    land(home, "schools.deletes.2025-09-01.json", [{"Id": "sch1"}])
    (out,) = pipeline.process_pending(registry("mode: snapshot\n"), home)
    assert out.status == "rejected" and "snapshot" in out.reason


def test_a_line_that_is_not_json_is_quarantined_with_its_line_number(home, registry):
    records = [attendance(1, "Tardy"), '{"id": "broken", ', attendance(3, "Tardy"), "[1, 2]"]
    land(home, "studentSchoolAttendanceEvents.json", records)
    (out,) = pipeline.process_pending(registry(), home)
    assert (out.rows_read, out.rows_published, out.rows_quarantined) == (4, 2, 2)
    q = lake.read_quarantine(home)
    assert q[["row_number", "rule"]].values.tolist() == [[2, "invalid_json"], [4, "not_an_object"]]


def test_an_unknown_resource_is_rejected_naming_the_file(home, registry):
    land(home, "bellSchedules.json", [{"id": "x"}])
    (out,) = pipeline.process_pending(registry(), home)
    assert out.status == "rejected"
    assert out.reason.startswith("bellSchedules.json: names no Ed-Fi resource")


def test_a_resource_the_yaml_leaves_out_is_rejected(home, registry):
    land(home, "studentSchoolAttendanceEvents.json", [attendance(1, "Tardy")])
    (out,) = pipeline.process_pending(registry("entities: [school, student]\n"), home)
    assert out.status == "rejected" and "leaves out" in out.reason


def _program(i: int, kind: str, **extra) -> dict:
    return {
        "id": f"p{i}",
        "studentReference": {"studentUniqueId": f"s{i}"},
        "programReference": {
            "programName": kind,
            "programTypeDescriptor": d("ProgramTypeDescriptor", kind),
        },
        "beginDate": "2025-08-20",
        **extra,
    }


def test_program_associations(home, registry):
    reg = registry()
    land(
        home,
        "studentProgramAssociations.json",
        [_program(1, "Gifted and Talented"), _program(2, "Athletics"), _program(3, "Homeless")],
    )
    land(
        home,
        "studentSpecialEducationProgramAssociations.json",
        [
            _program(
                4,
                "Special Education",
                disabilities=[
                    {
                        "disabilityDescriptor": d(
                            "DisabilityDescriptor", "Specific Learning Disability"
                        ),
                        "orderOfDisability": 1,
                    }
                ],
            )
        ],
    )
    food = "SchoolFoodServiceProgramServiceDescriptor"
    land(
        home,
        "studentSchoolFoodServiceProgramAssociations.json",
        [
            _program(
                5,
                "Student School Food Service",
                schoolFoodServiceProgramServices=[{food: d(food, "Free Lunch")}],
            ),
            _program(
                6,
                "Student School Food Service",
                schoolFoodServiceProgramServices=[{food: d(food, "Full Price Lunch")}],
            ),
        ],
    )
    outcomes = {o.file_name: o for o in pipeline.process_pending(reg, home)}
    # Athletics and full-price meals are no canonical program: not rows of any entity.
    assert outcomes["studentProgramAssociations.json"].rows_read == 2
    assert outcomes["studentSchoolFoodServiceProgramAssociations.json"].rows_read == 1
    rows = current(home, "program_participation").set_index("student_ref")
    assert rows["program"].to_dict() == {
        "s1": "gifted",
        "s3": "homeless",
        "s4": "special_education",
        "s5": "economically_disadvantaged",
    }
    assert rows.loc["s4", "disability_category"] == "specific_learning_disability"


def test_discipline_actions_and_behaviors(home, registry):
    reg = registry()
    link = {
        "studentDisciplineIncidentBehaviorAssociationReference": {
            "incidentIdentifier": "INC-1",
            "schoolId": 101,
            "studentUniqueId": "s1",
            "behaviorDescriptor": d("BehaviorDescriptor", "School Code of Conduct"),
        }
    }
    action = {
        "id": "a1",
        "disciplineActionIdentifier": "DA-1",
        "disciplineDate": "2025-10-02",
        "studentReference": {"studentUniqueId": "s1"},
        "disciplines": [
            {"disciplineDescriptor": d("DisciplineDescriptor", "In School Suspension")},
            {"disciplineDescriptor": d("DisciplineDescriptor", "Out of School Suspension")},
        ],
        "actualDisciplineActionLength": 2,
        "responsibilitySchoolReference": {"schoolId": 101},
        "studentDisciplineIncidentBehaviorAssociations": [link],
    }
    land(home, "disciplineActions.2025-10-03.json", [action])
    behavior = {
        "id": "b1",
        "studentReference": {"studentUniqueId": "s2"},
        "disciplineIncidentReference": {"incidentIdentifier": "INC-1", "schoolId": 101},
        "behaviorDescriptor": d("BehaviorDescriptor", "State Offense"),
    }
    land(home, "studentDisciplineIncidentBehaviorAssociations.2025-10-04.json", [behavior])
    outcomes = pipeline.process_pending(reg, home)
    assert [o.status for o in outcomes] == ["published", "published"]
    rows = current(home, "discipline_incident").set_index("student_ref")
    s1 = rows.loc["s1"]
    assert [s1["incident_id"], s1["action"], s1["behavior"], s1["days_removed"]] == [
        "INC-1",
        "out_of_school_suspension",  # the most severe of the action's disciplines
        "code_of_conduct",
        2.0,
    ]
    s2 = rows.loc["s2"]  # Ed-Fi behaviors carry no date: the incident's published date
    assert [s2["action"], s2["behavior"], str(s2["incident_date"])[:10]] == [
        "none",
        "state_offense",
        "2025-10-02",
    ]


def test_student_assessments(home, registry):
    rec = {
        "id": "sa1",
        "studentAssessmentIdentifier": "x",
        "assessmentReference": {
            "assessmentIdentifier": "STAAR Mathematics Grade 5",
            "namespace": "uri://tea",
        },
        "studentReference": {"studentUniqueId": "s1"},
        "administrationDate": "2025-04-10T08:00:00",
        "scoreResults": [
            {
                "assessmentReportingMethodDescriptor": d(
                    "AssessmentReportingMethodDescriptor", "Scale score"
                ),
                "result": "1550",
            },
            {
                "assessmentReportingMethodDescriptor": d(
                    "AssessmentReportingMethodDescriptor", "Percentile"
                ),
                "result": "61",
            },
        ],
        "performanceLevels": [
            {"performanceLevelDescriptor": d("PerformanceLevelDescriptor", "Met Standard")}
        ],
    }
    other = {**rec, "id": "sa2", "assessmentReference": {"assessmentIdentifier": "Bench 7"}}
    land(home, "studentAssessments.json", [rec, other])
    (out,) = pipeline.process_pending(registry(), home)
    assert (out.rows_published, out.rows_quarantined) == (1, 1)
    (row,) = current(home, "assessment_result").to_dict("records")
    assert [row[c] for c in ("assessment_name", "subject", "scale_score", "percentile")] == [
        "STAAR Mathematics Grade 5",
        "math",
        1550.0,
        61.0,
    ]
    assert (row["performance_level"], bool(row["is_proficient"])) == ("Met Standard", True)
    assert str(row["assessed_on"])[:10] == "2025-04-10"
    q = lake.read_quarantine(home)
    assert q["value"].tolist() == ["Bench 7"] and "codes.subject" in q["message"].iloc[0]


# --------------------------------------------------------------------------- the crosswalk
def test_the_shipped_crosswalk_loads_and_maps_namespaced_values():
    xw = crosswalk.load()
    assert xw.lookup(
        d("GradeLevelDescriptor", "Sixth grade"), "grade_level", "GradeLevelDescriptor"
    ) == (
        crosswalk.MAPPED,
        "06",
    )
    assert xw.lookup(
        d("GradeLevelDescriptor", "Ungraded"), "grade_level", "GradeLevelDescriptor"
    ) == (
        crosswalk.EMPTY,
        None,
    )
    assert xw.lookup("uri://x.org/GradeLevelDescriptor#Grade 6", "grade_level", "")[0] == (
        crosswalk.UNKNOWN
    )


def test_the_crosswalk_covers_every_code_value_of_the_descriptor_files():
    folder = SHARED / "data" / "real" / "edfi_descriptors"
    if not folder.is_dir():
        pytest.skip(f"the Ed-Fi descriptor files are not here ({folder})")
    with crosswalk.seed_path().open(encoding="utf-8") as fh:
        seed = {(r["namespace"], r["code_value"]) for r in csv.DictReader(fh)}
    skipped = {"EntryTypeDescriptor"}  # no canonical column takes entry types
    for xml in sorted(folder.glob("*.xml")):
        if xml.stem in skipped:
            continue
        text = xml.read_text(encoding="utf-8")
        for block in re.findall(rf"<{xml.stem}>(.*?)</{xml.stem}>", text, re.S):
            code = re.search(r"<CodeValue>(.*?)</CodeValue>", block).group(1)
            ns = re.search(r"<Namespace>(.*?)</Namespace>", block).group(1)
            assert (ns, code.replace("&amp;", "&")) in seed, f"{xml.stem}#{code}"


def test_a_bad_crosswalk_row_is_a_clear_rejection(tmp_path):
    bad = tmp_path / crosswalk.SEED_NAME
    text = (ROOT / "dbt_project" / "seeds" / crosswalk.SEED_NAME).read_text()
    bad.write_text(text.replace(",Sixth grade,grade_level,06,", ",Sixth grade,grade_level,6th,"))
    with pytest.raises(DeliveryRejected) as info:
        crosswalk.load(bad)
    assert "canonical_code '6th' is not one of" in info.value.message
    assert re.search(r"xwalk_edfi_descriptors.csv row \d+:", info.value.message)


def test_validate_on_a_folder_audits_deletes_after_the_upserts_beside_them(
    home, registry, tmp_path, capsys
):
    """A CI job validates an Ed-Fi change export before it lands: the deletes file names
    records its upserts file creates. Audited alone against the lake, every delete would
    be an unknown id; in apply order, as if the upserts were published, none is."""
    from orchestration.cli import main

    land(home, "schools.upserts.2025-08-31.json", [_school(2)])
    pipeline.process_pending(registry(), home)  # sch2 is in the lake, sch1 is not
    export = tmp_path / "export"
    export.mkdir()
    deletes = "\n".join(json.dumps({"Id": i}) for i in ("sch1", "sch2"))
    (export / "schools.deletes.2025-09-01.json").write_text(deletes)
    (export / "schools.upserts.2025-09-01.json").write_text(json.dumps(_school(1)))
    (export / "schools.deletes.2025-09-02.json").write_text(json.dumps({"Id": "nope"}))
    assert main(["validate", str(export), "--source", "edfi", "--json"]) == 0
    summaries = json.loads(capsys.readouterr().out)
    assert [s["file"] for s in summaries] == [
        "schools.upserts.2025-09-01.json",
        "schools.deletes.2025-09-01.json",
        "schools.deletes.2025-09-02.json",
    ]
    quarantined = [s["rows_quarantined"] for s in summaries]
    assert quarantined == [0, 0, 1]  # only the id no file creates is unknown
    assert summaries[1]["rows_published"] == 2  # both deletes resolved to their keys
    assert len(lake.read_ledger(home)) == 1  # nothing published by validate


def test_validate_reports_bytes_loaded_before_as_duplicates_and_skips_markers(
    home, registry, tmp_path, capsys
):
    """As run: a file with the bytes of a loaded delivery (in the lake, or earlier in the
    folder) is a duplicate and applies nothing, so a later delete still finds the record
    deleted; markers and partial uploads are not deliveries."""
    from orchestration.cli import main

    upsert = json.dumps(attendance(1, "Unexcused Absence"))
    land(home, "studentSchoolAttendanceEvents.upserts.2025-09-03.json", [json.loads(upsert)])
    pipeline.process_pending(registry(), home)
    export = tmp_path / "export"
    export.mkdir()
    (export / "studentSchoolAttendanceEvents.deletes.2025-09-04.json").write_text('{"Id": "att1"}')
    for day in ("05", "06"):  # the lake's bytes again, then the folder's own repeat
        (export / f"studentSchoolAttendanceEvents.upserts.2025-09-{day}.json").write_text(upsert)
    (export / "studentSchoolAttendanceEvents.deletes.2025-09-07.json").write_text(
        '{"Id": "att1", "ChangeVersion": "9"}'
    )
    (export / "studentSchoolAttendanceEvents.deletes.2025-09-07.json.done").write_text("")
    (export / "studentSchoolAttendanceEvents.upserts.2025-09-08.json.part").write_text("{")
    assert main(["validate", str(export), "--source", "edfi", "--json"]) == 0
    summaries = json.loads(capsys.readouterr().out)
    assert [(s["file"][-15:], s["status"], s["rows_published"]) for s in summaries] == [
        ("2025-09-04.json", "published", 1),  # deletes att1
        ("2025-09-05.json", "duplicate", 0),  # the lake's bytes: not applied again
        ("2025-09-06.json", "duplicate", 0),
        ("2025-09-07.json", "published_with_quarantine", 0),  # att1 stays deleted
    ]
