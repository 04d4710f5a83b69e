"""Real public exports (../shared/data/real, see its PROVENANCE.md) through the normal path.

Each test writes a source YAML into the test's sources folder, copies the real files into
the test's landing folder (../shared is read-only, and the pipeline moves what it
processes) and runs ``pipeline.process_pending``. The expected counts were made by hand
from the files, as each comment says; the quirks PROVENANCE.md lists are asserted too.
"""

from __future__ import annotations

import os
import shutil
import zipfile

import pytest

from tests.conftest import SHARED
from wholechild import lake, pipeline
from wholechild.registry import load_registry

REAL = SHARED / "data" / "real"
ONEROSTER = REAL / "oneroster_1_1_grand_bend"
EDFI = REAL / "edfi_api_json"
MAP_SAMPLE = REAL / "nwea_map_growth" / "map_growth_sample.csv"

pytestmark = pytest.mark.skipif(
    not REAL.is_dir(),
    reason=f"the real sample exports are not here ({REAL}): they live beside the repository "
    "in ../shared/data/real, which this checkout does not have",
)

ONEROSTER_YML = """\
name: grand_bend
system: ClassLink OneRoster
format: oneroster
domains: [enrollment, demographics, coursework]
steward: team:sis
cadence: daily
student_id: local
"""

EDFI_YML = """\
name: edfi
system: Ed-Fi ODS/API
format: edfi_json
domains: [enrollment, demographics]
steward: team:sis
cadence: daily
student_id: local
"""

MAP_YML = """\
name: map_growth
system: NWEA MAP Growth
format: csv
entity: assessment_result
domains: [assessment]
steward: assessment@district.example
cadence: term
student_id: state
columns:
  student_ref: Student_StateID
  assessed_on: {header: TestStartDate, format: "%m/%d/%Y"}
  subject: Subject
  test_code: TestName
  scale_score: TestRITScore
  percentile: TestPercentile
  performance_level: AchievementQuintile
constants:
  assessment_name: MAP Growth
codes:
  subject: {Mathematics: math, Reading: ela, Language Usage: ela, Language Arts: ela, Science: science}
"""


def _registry(sources_dir, name, text):
    (sources_dir / f"{name}.yml").write_text(text)
    registry = load_registry(sources_dir)
    assert registry.errors == []
    return registry


def _counts(out):
    return (out.status, out.rows_read, out.rows_published, out.rows_quarantined)


@pytest.mark.parametrize("as_zip", [False, True], ids=["folder", "zip"])
def test_oneroster_grand_bend_bundle(home, sources_dir, as_zip):
    registry = _registry(sources_dir, "grand_bend", ONEROSTER_YML)
    folder = home.landing / "grand_bend"
    folder.mkdir(parents=True)
    if as_zip:
        with zipfile.ZipFile(folder / "grand_bend_2021-01-04.zip", "w") as z:
            for f in sorted(ONEROSTER.iterdir()):
                z.write(f, f"OneRoster/{f.name}")  # an inner folder, as many exporters do
    else:
        bundle = folder / "grand_bend_2021-01-04"
        shutil.copytree(ONEROSTER, bundle, copy_function=shutil.copyfile)
        bundle.chmod(0o755)  # the copy keeps ../shared's read-only mode; the pipeline moves it
    (out,) = pipeline.process_pending(registry, home)
    # By hand: orgs.csv has 2 rows, 1 of type school (255901001); users.csv 10 rows, 8 with
    # role student (the 2 teachers are lookups); enrollments.csv 24 rows, 20 with role
    # student (4 teacher enrollments are lookups). Nothing breaks a rule: 29 read, 29 out.
    assert _counts(out) == ("published", 29, 29, 0)
    assert out.entity_counts == {
        "school": (1, 0),
        "student": (8, 0),
        "section_enrollment": (20, 0),
    }
    assert lake.read_quarantine(home).empty  # the teachers' extra empty field is tolerated

    schools = lake.current_rows(home, "grand_bend", "school", "incremental")
    assert schools[["school_id", "school_name", "district_id"]].values.tolist() == [
        ["255901001", "Grand Bend High School", "255901"]
    ]
    students = lake.current_rows(home, "grand_bend", "student", "incremental")
    students = students.set_index("student_ref")
    assert len(students) == 8
    mary = students.loc["604863"]  # {Local:863}, demographics: female, asian + hispanic
    assert (mary["local_id"], mary["email"], mary["first_name"], mary["grade_level"]) == (
        "863",
        "Mary.Archer@studentgps.org",
        "Mary",
        "09",
    )
    assert str(mary["birth_date"])[:10] == "1997-05-30" and mary["sex"] == "female"
    assert bool(mary["race_asian"]) and bool(mary["hispanic_latino"])
    assert not bool(mary["race_white"])
    assert students.loc["605015", "local_id"] == "015"  # {Local:015} keeps its leading zero
    assert students["school_id"].unique().tolist() == ["255901001"]

    sections = lake.current_rows(home, "grand_bend", "section_enrollment", "incremental")
    assert len(sections) == 20
    by_class = sections.groupby("section_id").agg(
        course=("course_code", "first"),
        title=("course_title", "first"),
        subject=("subject_area", "first"),
        teacher=("teacher_id", "first"),
        n=("student_ref", "size"),
    )
    # ENG-1: 5 students x 2 semesters; ALG-1: 5 students x 2 semesters (enrollments.csv).
    assert by_class.loc["25590100101Trad120ENG112011"].tolist() == [
        "ENG-1",
        "English I",
        "ela",
        "207268",
        10,
    ]
    assert by_class.loc["25590100102Trad220ALG112011"].tolist() == [
        "ALG-1",
        "Algebra I",
        "math",
        "207270",
        10,
    ]
    assert sorted(sections["begin_date"].astype(str).str[:10].unique()) == [
        "2020-08-17",
        "2021-01-04",
    ]


def test_edfi_resources_and_the_schools_deletes_file(home, sources_dir):
    registry = _registry(sources_dir, "edfi", EDFI_YML)
    folder = home.landing / "edfi"
    folder.mkdir(parents=True)
    # The deletes file lands first (earliest mtime): the landing zone still applies it
    # after the upserts of the same date.
    names = [
        "schools.deletes.2022-07-14.json",
        "schools.upserts.2022-07-14.json",
        "students.upserts.2022-07-14.json",
        "studentSchoolAssociations.upserts.2022-07-14.json",
    ]
    for i, name in enumerate(names):
        shutil.copyfile(EDFI / name, folder / name)
        os.utime(folder / name, (1_600_000_000 + i, 1_600_000_000 + i))
    outcomes = {o.file_name: o for o in pipeline.process_pending(registry, home)}
    assert list(outcomes)[-1] == "schools.deletes.2022-07-14.json"
    # By hand (one JSON object a line, `wc -l` plus the unterminated last line):
    # schools 5 records, students 500, studentSchoolAssociations 500, deletes 1 (`Id`).
    assert _counts(outcomes["schools.upserts.2022-07-14.json"]) == ("published", 5, 5, 0)
    assert _counts(outcomes["students.upserts.2022-07-14.json"]) == ("published", 500, 500, 0)
    assert _counts(outcomes["studentSchoolAssociations.upserts.2022-07-14.json"]) == (
        "published",
        500,
        500,
        0,
    )
    assert _counts(outcomes["schools.deletes.2022-07-14.json"]) == ("published", 1, 1, 0)
    assert lake.read_quarantine(home).empty

    # The deletes file names South Fork Middle School by its resource Id only.
    schools = lake.current_rows(home, "edfi", "school", "incremental")
    assert sorted(schools["school_id"]) == ["255901001", "255901002", "255901003", "255901004"]
    tombstone = lake.read_published(home, "edfi", "school")
    tombstone = tombstone[tombstone["_is_deleted"]]
    assert tombstone[["school_id", "source_record_id"]].values.tolist() == [
        ["255901005", "4bd3918e13d84b43b3577bba594142b6"]
    ]
    riverdale = schools.set_index("school_id").loc["255901001"]
    assert (riverdale["school_name"], riverdale["district_id"]) == (
        "Riverdale High School",
        "255901",
    )
    assert (riverdale["school_type"], riverdale["grade_low"], riverdale["grade_high"]) == (
        "high",  # SchoolCategoryDescriptor#High School
        "09",  # GradeLevelDescriptor#Ninth grade
        "09",
    )

    # students and associations start with a UTF-8 BOM: the first record is read whole.
    students = lake.current_rows(home, "edfi", "student", "incremental").set_index("student_ref")
    assert len(students) == 500
    first = students.loc["003018"]
    assert (first["first_name"], first["last_name"], first["source_record_id"]) == (
        "April",
        "Potter",
        "899b4bf2bc3c4102811112f2a4ea64ee",
    )
    assert str(first["birth_date"])[:10] == "2003-12-30" and first["local_id"] == "003018"

    enrollments = lake.current_rows(home, "edfi", "enrollment", "incremental")
    assert len(enrollments) == 500
    # Namespaced descriptors through the crosswalk seed: 269 "Sixth grade", 231 "Fourth grade".
    assert enrollments["grade_level"].value_counts().to_dict() == {"06": 269, "04": 231}
    assert enrollments["school_id"].value_counts().to_dict() == {
        "255901004": 269,
        "255901005": 231,  # the deleted school's enrollments stay: that is referential
    }
    assert enrollments.loc[enrollments["student_ref"] == "004958", "source_record_id"].tolist() == [
        "7a251616b119484a9c1aed95b34766fb"
    ]


def test_map_growth_sample(home, sources_dir):
    registry = _registry(sources_dir, "map_growth", MAP_YML)
    folder = home.landing / "map_growth"
    folder.mkdir(parents=True)
    shutil.copyfile(MAP_SAMPLE, folder / MAP_SAMPLE.name)
    (out,) = pipeline.process_pending(registry, home)
    # By hand: a header of 143 columns and 7 records (the last has 142 fields and is padded);
    # subjects Science x3, Mathematics x3, Language Arts x1, all mapped; 7 distinct keys.
    assert _counts(out) == ("published", 7, 7, 0)
    rows = lake.current_rows(home, "map_growth", "assessment_result", "incremental")
    assert sorted(rows["subject"].value_counts().items()) == [
        ("ela", 1),
        ("math", 3),
        ("science", 3),
    ]
    short = rows[rows["_row_number"] == 8].iloc[0]  # the short last row
    assert (short["student_ref"], short["subject"], short["test_code"]) == (
        "604821",
        "ela",
        "Screening: Reading K-2 English",
    )
    assert str(short["assessed_on"])[:10] == "2021-09-20"  # 09/20/2021, a US date
    assert (short["scale_score"], short["percentile"]) == (165.0, 42.0)
    first = rows[rows["_row_number"] == 2].iloc[0]
    assert str(first["assessed_on"])[:10] == "2021-09-16"
