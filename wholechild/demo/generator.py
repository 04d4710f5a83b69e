"""Generate the demo district: realistic exports of its source systems, and what was planted.

Why a generator and not a fixture: the platform's promise is that messy vendor exports
(their own column names, codes, date formats, dropped leading zeros, bad rows, a broken
file) become trustworthy marts. A demo only proves that if its inputs are as messy as a
real district's *and* we know the right answers. So this module builds one coherent
"truth" (schools, a real 2025-26 calendar, students, enrollments, programs, sections,
attendance, marks, incidents, scores, surveys, LMS activity, staff), renders it through
each vendor's quirks, plants the faults a data engineer meets in practice, and writes the
answers (``_expected.json``) for the end-to-end tests: counts per delivery, the rows that
must be quarantined and why, the one delivery that must be rejected, the ids that cannot
be matched, the equity disparities the marts must find, and five students whose every
number is known exactly.

Formats: most vendors write their own CSV, xlsx or Parquet layouts (mapped by
``sources/*.yml``); the SIS speaks the standards: its roster is a OneRoster 1.2 bundle
(:mod:`wholechild.demo.export_oneroster`) beside a small calendar CSV, and school
enrollments and attendance arrive as Ed-Fi API change exports, upserts and one deletes
file (:mod:`wholechild.demo.export_edfi`).

Determinism: every random draw comes from ``random.Random`` streams seeded from ``seed``
(string seeds are hashed with SHA-512, so they do not depend on ``PYTHONHASHSEED``);
nothing reads the clock; sets are never iterated unsorted; xlsx, zip and parquet files are
written with fixed metadata; Ed-Fi ids are name-based GUIDs. The same ``(students, seed)`` gives byte-identical files.

Parity: a demographic group has a different outcome rate only where a disparity is
planted on purpose (see ``PLANTED_DISPARITIES``). Programs, ability, wellbeing and
engagement are drawn independently of race, sex and programs, so every other group is at
parity in expectation and what the equity marts find is what was planted.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import random
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from openpyxl import Workbook

D = dt.date
ONE_DAY = dt.timedelta(days=1)

# --------------------------------------------------------------------------------------
# The district and its year
# --------------------------------------------------------------------------------------

SCHOOL_YEAR = 2026  # the spring year of 2025-26
FIRST_DAY = D(2025, 8, 13)
LAST_DAY = D(2026, 6, 4)
#: Attendance is delivered through the last day, so the marts' default as-of is this day.
AS_OF = LAST_DAY
DISTRICT_ID = "0601234"  # a leading zero on purpose: ids are text
DISTRICT_NAME = "Wholechild Unified School District"
EMAIL_DOMAIN = "students.district.example"
GENERATOR_VERSION = 2  # 2: OneRoster roster, Ed-Fi enrollment and attendance

#: Every source system of the demo and the landing folder it delivers into. The YAML files
#: in ``sources/`` must agree (a test checks it); the generator does not read them so that
#: ``wholechild generate`` works from any directory.
LANDING_NAMES: dict[str, str] = {
    "sis": "sis",
    "sis_calendar": "sis_calendar",
    "attendance": "attendance",
    "map_growth": "map_growth",
    "state_assessment": "state_assessment",
    "gradebook": "gradebook",
    "behavior": "behavior",
    "programs": "programs",
    "wellbeing_survey": "wellbeing_survey",
    "lms": "lms",
    "staffing": "staffing",
    "state_idea": "state_idea",
}

#: The one whole-child domain left without a source, so the coverage mart shows a gap.
UNCONNECTED_DOMAINS = ("health",)


def _date_range(a: dt.date, b: dt.date) -> Iterable[dt.date]:
    d = a
    while d <= b:
        yield d
        d += ONE_DAY


def _closed_days() -> dict[dt.date, str]:
    closed = {
        D(2025, 9, 1): "Labor Day",
        D(2025, 10, 10): "Professional development day",
        D(2025, 10, 13): "Fall break",
        D(2025, 11, 4): "Election day (professional development)",
        D(2025, 11, 11): "Veterans Day",
        D(2026, 1, 5): "Teacher workday",
        D(2026, 1, 19): "Martin Luther King Jr. Day",
        D(2026, 2, 13): "Mid-winter break",
        D(2026, 2, 16): "Presidents' Day",
        D(2026, 3, 20): "Teacher workday",
        D(2026, 4, 3): "Spring holiday",
        D(2026, 4, 24): "Professional development day",
        D(2026, 5, 25): "Memorial Day",
    }
    for d in _date_range(D(2025, 11, 24), D(2025, 11, 28)):
        closed[d] = "Thanksgiving break"
    for d in _date_range(D(2025, 12, 22), D(2026, 1, 2)):
        closed[d] = "Winter break"
    for d in _date_range(D(2026, 3, 23), D(2026, 3, 27)):
        closed[d] = "Spring break"
    return closed


#: Days every school is closed on weekdays between the first and last day (179 remain).
DISTRICT_CLOSED = _closed_days()
#: The high school also closes for a semester grading day (178 instructional days), so
#: calendars differ by school as they do in real districts.
HIGH_SCHOOL_CLOSED = {D(2026, 1, 16): "Semester grading day"}

S1_END = D(2026, 1, 15)
TERMS = (("S1", FIRST_DAY, S1_END), ("S2", D(2026, 1, 20), LAST_DAY))

# --------------------------------------------------------------------------------------
# Vendor vocabularies (the codes each system uses; the YAML maps them to canonical codes)
# --------------------------------------------------------------------------------------

RACES = (
    "american_indian_alaska_native",
    "asian",
    "black",
    "native_hawaiian_pacific_islander",
    "white",
)
# exit codes of the SIS -> canonical (kept here for the expected facts)
SIS_EXIT = {
    "T1": "transferred",
    "T2": "transferred",
    "TI": "transferred",
    "W1": "withdrawn",
    "DO": "dropout",
    "GR": "graduated",
    "NS": "no_show",
    "EX": "expelled",
    "ZZ": "other",
}
ATTENDANCE_CODES = {
    "A": "unexcused_absence",
    "U": "unexcused_absence",
    "E": "excused_absence",
    "SUS": "excused_absence",
    "T": "tardy",
    "ED": "early_departure",
    "PD": "partial",
    "P": "present",
}
BEHAVIOR_OFFENSES = {  # vendor code -> (description, canonical behavior)
    "FIGHT": ("Fighting", "state_offense"),
    "WEAP": ("Weapon possession", "state_offense"),
    "DRUG": ("Controlled substance", "state_offense"),
    "BULLY": ("Bullying / harassment", "school_violation"),
    "THEFT": ("Theft", "school_violation"),
    "DEFY": ("Defiance of authority", "code_of_conduct"),
    "DISR": ("Classroom disruption", "code_of_conduct"),
    "TECH": ("Misuse of technology", "code_of_conduct"),
    "TARDY": ("Habitual tardiness", "other"),
}
BEHAVIOR_ACTIONS = {
    "NONE": "none",
    "CONF": "none",
    "DET": "other",
    "ISS": "in_school_suspension",
    "OSS": "out_of_school_suspension",
    "EXP": "expulsion",
}
SUSPENSION_ACTIONS = ("in_school_suspension", "out_of_school_suspension", "expulsion")
SPED_CODES = {  # vendor code -> canonical disability category
    "ID": "intellectual_disability",
    "SLD": "specific_learning_disability",
    "ED": "emotional_disturbance",
    "SLI": "speech_language_impairment",
    "OHI": "other_health_impairment",
    "AUT": "autism",
    "OI": "other",
    "MD": "other",
    "HI": "other",
    "DD": "other",
}
SPED_CODE_FOR = {
    "intellectual_disability": "ID",
    "specific_learning_disability": "SLD",
    "emotional_disturbance": "ED",
    "speech_language_impairment": "SLI",
    "other_health_impairment": "OHI",
    "autism": "AUT",
}
#: Shares of each category among students with an IEP, the same for every group.
SPED_SHARES = (
    ("specific_learning_disability", 0.33),
    ("speech_language_impairment", 0.19),
    ("other_health_impairment", 0.15),
    ("autism", 0.12),
    ("intellectual_disability", 0.06),
    ("emotional_disturbance", 0.05),
    ("other", 0.10),
)
PROGRAM_FLAGS = {  # programs export header -> canonical program
    "ELL": "english_learner",
    "FRL": "economically_disadvantaged",
    "504": "section_504",
    "HOMELESS": "homeless",
    "FOSTER": "foster_care",
    "GT": "gifted",
    "MIGRANT": "migrant",
}
PROGRAMS = (
    "special_education",
    "section_504",
    "english_learner",
    "economically_disadvantaged",
    "homeless",
    "foster_care",
    "migrant",
    "gifted",
)
DEPT_SUBJECT = {
    "English": "ela",
    "Mathematics": "math",
    "Science": "science",
    "Social Studies": "social_studies",
    "Physical Education": "other",
    "Fine Arts": "other",
    "World Languages": "other",
    "Career Tech": "other",
    "Electives": "other",
    "Homeroom": "other",
}
CORE_SUBJECTS = ("ela", "math", "science", "social_studies")
LETTER_POINTS = {
    "A": 4.0,
    "A-": 3.7,
    "B+": 3.3,
    "B": 3.0,
    "B-": 2.7,
    "C+": 2.3,
    "C": 2.0,
    "C-": 1.7,
    "D+": 1.3,
    "D": 1.0,
    "F": 0.0,
}
#: z cut-offs of the mark score (mean 0, sd ~1) for each letter, best first.
LETTER_CUTS = (
    (1.2, "A"),
    (0.67, "A-"),
    (0.4, "B+"),
    (0.1, "B"),
    (-0.13, "B-"),
    (-0.35, "C+"),
    (-0.6, "C"),
    (-0.84, "C-"),
    (-1.1, "D+"),
    (-1.4, "D"),
)
SURVEY_TOPICS = (  # vendor topic -> (canonical construct, items in the scale)
    ("Sense of Belonging", "belonging", 5),
    ("Self-Management", "self_management", 8),
    ("School Safety", "safety", 4),
    ("Emotion Regulation", "emotion_regulation", 6),
)
STATE_RACE_LABELS = {
    "hispanic_latino": "Hispanic/Latino",
    "american_indian_alaska_native": "American Indian/Alaska Native",
    "asian": "Asian",
    "black": "Black/African American",
    "native_hawaiian_pacific_islander": "Native Hawaiian/Pacific Islander",
    "white": "White",
    "two_or_more": "Two or More Races",
}
STATE_IDEA_CATEGORIES = {  # state's label -> canonical disproportionality category
    "IDEN_ALL": "identification_any",
    "IDEN_ID": "identification_intellectual_disability",
    "IDEN_SLD": "identification_specific_learning_disability",
    "IDEN_ED": "identification_emotional_disturbance",
    "IDEN_SLI": "identification_speech_language_impairment",
    "IDEN_OHI": "identification_other_health_impairment",
    "IDEN_AUT": "identification_autism",
    "DISC_OSSEXP_LE10": "oss_expulsion_le10",
    "DISC_OSSEXP_GT10": "oss_expulsion_gt10",
    "DISC_ISS_LE10": "iss_le10",
    "DISC_ISS_GT10": "iss_gt10",
    "DISC_TOTREM": "total_removals",
}

# --------------------------------------------------------------------------------------
# Export layouts: the headers each vendor writes (the YAML files map exactly these)
# --------------------------------------------------------------------------------------

SIS_CALENDAR_HEADER = ["SchoolID", "Date_Value", "InSession", "Type", "Note"]
MAP_HEADER = [
    "TermName",
    "DistrictName",
    "SchoolName",
    "Student_StateID",
    "StudentLastName",
    "StudentFirstName",
    "StudentGrade",
    "Subject",
    "Course",
    "TestType",
    "TestName",
    "TestID",
    "TestStartDate",
    "TestDurationMinutes",
    "TestRITScore",
    "TestStandardError",
    "TestPercentile",
    "AchievementQuintile",
    "RapidGuessingPercentage",
]
STATE_ASSESSMENT_HEADER = [
    "District Code",
    "School Code",
    "SSID",
    "Last Name",
    "First Name",
    "Grade",
    "Test Period",
    "Content Area",
    "Test Date",
    "Scale Score",
    "Performance Level",
    "Proficient",
]
SECTIONS_HEADER = [
    "Student ID",
    "School",
    "Section ID",
    "Course Number",
    "Course Name",
    "Department",
    "Course Level",
    "Teacher ID",
    "Period",
    "Start Date",
    "End Date",
]
MARKS_HEADER = [
    "Student ID",
    "School",
    "School Year",
    "Course Number",
    "Course Name",
    "Department",
    "StoreCode",
    "Grade",
    "GPA Points",
    "Credit Attempted",
    "Credit Earned",
    "Failing",
]
BEHAVIOR_HEADER = [
    "IncidentNumber",
    "StudentLocalID",
    "IncidentDate",
    "Building",
    "OffenseCode",
    "OffenseDescription",
    "ActionCode",
    "ActionDays",
    "ReportedBy",
]
#: The planted broken delivery: the vendor's new export template dropped the date column.
BEHAVIOR_BROKEN_HEADER = [h for h in BEHAVIOR_HEADER if h != "IncidentDate"]
PROGRAM_FLAGS_HEADER = [
    "StateID",
    "LastName",
    "FirstName",
    "EffectiveDate",
    "EndDate",
    *PROGRAM_FLAGS,
]
SPED_HEADER = [
    "StateID",
    "LastName",
    "FirstName",
    "PrimaryDisability",
    "IEPStartDate",
    "IEPEndDate",
    "CaseManager",
    "LRE",
]
SURVEY_HEADER = [
    "Survey Name",
    "Respondent Email",
    "Grade Level",
    "School",
    "Response Date",
    "Topic",
    "Percent Favorable",
]
LMS_COLUMNS = [
    "login_id",
    "week_start",
    "active_minutes",
    "page_views",
    "submissions",
    "assignments_due",
]
STAFF_HEADER = [
    "Employee ID",
    "Last Name",
    "First Name",
    "Location Code",
    "Section ID",
    "Assignment Type",
    "Total Years Experience",
    "In-Field",
]
STATE_IDEA_HEADER = ["SchoolYear", "Category", "RaceEthnicity", "Numerator", "Denominator"]


def _words(text: str) -> tuple[str, ...]:
    """A name pool written as prose, one space between names (keeps the tables short)."""
    return tuple(text.split())


# --------------------------------------------------------------------------------------
# Names (cp1252-safe, since the programs vendor writes Windows-1252)
# --------------------------------------------------------------------------------------

FEMALE_NAMES = _words(
    "Sofia Olivia Emma Ava Mia Isabella Amelia Harper Camila Luna Aaliyah Zoë Maya Leah "
    "Nia Aisha Mariana Valentina Ximena Chloe Grace Hannah Priya Ananya Mei Lin Hana "
    "Fatima Amara Imani Jasmine Destiny Renée Noémie Lucía Gabriela Abigail Elena Ruby "
    "Naomi"
)
MALE_NAMES = _words(
    "Liam Noah Oliver Elijah James Mateo Lucas Benjamin Ethan Sebastián Jayden Malik "
    "Andre Darius Xavier Isaiah Diego Santiago Luis Carlos Juan Miguel Ángel Aiden Ryan "
    "Arjun Rohan Wei Hiroshi Minh Omar Yusuf Kwame Tyrone DeShawn Caleb Owen Henry Jack "
    "Leo"
)
LAST_NAMES = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
    "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Pérez Thompson "
    "White Harris Sanchez Clark Ramírez Lewis Robinson Walker Young Allen King Wright "
    "Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell "
    "Mitchell Carter Roberts Gómez Phillips Evans Turner Díaz Parker Cruz Edwards Collins "
    "Reyes Stewart Morris Morales Murphy Cook Rogers Gutiérrez Ortiz Morgan Cooper "
    "Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez "
    "Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel "
    "Myers Long Ross Foster Jiménez Muñoz Peña O'Brien Okafor Mensah Haddad Begay Yazzie "
    "Kealoha Tran Chen Wang Singh"
)

ELEMENTARY_NAMES = (
    "Cedar Grove",
    "Lincoln Park",
    "Riverside",
    "Maple Hills",
    "Sunnyslope",
    "Oak Valley",
    "Harbor View",
    "Willow Creek",
)
MIDDLE_NAMES = ("Jefferson", "Sierra Vista", "Cesar Chavez", "Roosevelt", "Mountain View")
HIGH_NAMES = ("Central", "Eastside", "Westview", "Northgate")

# --------------------------------------------------------------------------------------
# Truth model
# --------------------------------------------------------------------------------------


@dataclass(eq=False)
class School:
    school_id: str
    name: str
    level: str  # elementary | middle | high
    grade_low: int  # 0 = kindergarten
    grade_high: int
    closed: dict[dt.date, str]
    days: list[dt.date] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.days = [
            d for d in _date_range(FIRST_DAY, LAST_DAY) if d.weekday() < 5 and d not in self.closed
        ]
        self.day_set = frozenset(self.days)

    def days_between(self, a: dt.date, b: dt.date) -> list[dt.date]:
        return [d for d in self.days if a <= d <= b]


@dataclass(eq=False)
class Enrollment:
    school: School
    entry: dt.date
    exit: dt.date | None
    grade: int
    entry_code: str
    exit_code: str | None = None  # the SIS's own code

    @property
    def no_show(self) -> bool:
        return self.exit_code == "NS"


@dataclass(frozen=True)
class Course:
    code: str
    title: str
    dept: str
    level: str = "Regular"  # Regular | Honors | AP

    @property
    def subject(self) -> str:
        return DEPT_SUBJECT[self.dept]

    @property
    def advanced(self) -> bool:
        return self.level != "Regular"


@dataclass(eq=False)
class Student:
    idx: int
    local_id: str
    state_id: str
    first: str
    last: str
    sex: str
    birth: dt.date
    hispanic: bool | None  # None: ethnicity not reported
    races: tuple[str, ...]
    grade: int
    home: School
    email: str = ""
    username: str = ""
    enrollments: list[Enrollment] = field(default_factory=list)
    programs: dict[str, dt.date] = field(default_factory=dict)  # program -> begin date
    sped: str | None = None  # canonical disability category
    sped_begin: dt.date | None = None
    sped_end: dt.date | None = None
    ability: float = 0.0
    wellbeing: float = 0.0
    engagement: float = 0.8
    p_abs: float = 0.05
    p_tardy: float = 0.01
    advanced: tuple[str, ...] = ()
    electives: tuple[Course, ...] = ()
    courses: tuple[Course, ...] = ()
    planted: str | None = None
    #: (school, day) for every instructional day the student is enrolled (merged spans)
    days: list[tuple[School, dt.date]] = field(default_factory=list)

    @property
    def race_ethnicity(self) -> str:
        if self.hispanic:
            return "hispanic_latino"
        if len(self.races) >= 2:
            return "two_or_more"
        if len(self.races) == 1:
            return self.races[0]
        return "unknown"

    @property
    def level(self) -> str:
        return self.home.level

    def spans(self) -> list[tuple[School, dt.date, dt.date]]:
        """Enrollment spans per school, overlaps merged, no-shows dropped (METRICS.md)."""
        by_school: dict[str, tuple[School, list[tuple[dt.date, dt.date]]]] = {}
        for e in self.enrollments:
            if e.no_show:
                continue
            by_school.setdefault(e.school.school_id, (e.school, []))[1].append(
                (e.entry, e.exit or AS_OF)
            )
        out: list[tuple[School, dt.date, dt.date]] = []
        for sid in sorted(by_school):
            school, spans = by_school[sid]
            merged: list[list[dt.date]] = []
            for a, b in sorted(spans):
                if merged and a <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], b)
                else:
                    merged.append([a, b])
            out.extend((school, a, b) for a, b in merged)
        return sorted(out, key=lambda t: (t[1], t[0].school_id))


@dataclass(eq=False)
class Teacher:
    teacher_id: str
    first: str
    last: str
    school: School
    dept: str
    years: int
    in_field: bool
    role: str = "Classroom Teacher"


@dataclass(eq=False)
class Section:
    section_id: str
    school: School
    course: Course
    period: int
    teacher: Teacher | None = None
    #: (student, begin, end) roster rows
    roster: list[tuple[Student, dt.date, dt.date]] = field(default_factory=list)


@dataclass(eq=False)
class AttEvent:
    student: Student
    school: School
    day: dt.date
    code: str
    fraction: float | None = None
    minutes: int | None = None
    quarantine: str | None = None  # the rule that will quarantine the row
    unmatched: bool = False  # the row carries an id the roster cannot resolve
    ref: str | None = None  # the id as written, when not the student's own

    @property
    def category(self) -> str | None:
        return ATTENDANCE_CODES.get(self.code)

    @property
    def absence(self) -> float:
        """The day's absence this event counts for (METRICS.md, fraction rule)."""
        cat = self.category
        if cat in ("excused_absence", "unexcused_absence"):
            return 1.0 if self.fraction is None else self.fraction
        if cat in ("partial", "early_departure"):
            return 0.5 if self.fraction is None else self.fraction
        return 0.0

    @property
    def absence_half_day_whole(self) -> float:
        """The same under the CRDC rule: at least half a day missed counts as a whole day."""
        return 1.0 if self.absence >= 0.5 else 0.0


@dataclass(eq=False)
class Incident:
    incident_id: str
    student: Student
    day: dt.date
    school: School
    offense: str
    action: str  # vendor code
    days_removed: int | None
    quarantine: str | None = None
    shown_date: dt.date | None = None  # the date as written, when planted wrong

    @property
    def canonical_action(self) -> str:
        return BEHAVIOR_ACTIONS[self.action]

    @property
    def is_suspension(self) -> bool:
        return self.canonical_action in SUSPENSION_ACTIONS


@dataclass(eq=False)
class Mark:
    student: Student
    section: Section
    term: str
    letter: str | None
    quarantine: str | None = None

    @property
    def failing(self) -> bool:
        return self.letter == "F"

    @property
    def credits_earned(self) -> float:
        return 0.0 if self.failing else 0.5


@dataclass(eq=False)
class Delivery:
    """One file landed by one source, and what the pipeline must do with it."""

    source: str
    file_name: str
    entity: str
    rows: int = 0
    canonical_rows: int | None = None
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    rejected: dict[str, Any] | None = None
    note: str = ""
    #: rows read per entity, for a delivery feeding several (a OneRoster bundle)
    entity_rows: dict[str, int] | None = None

    def expected(self) -> dict[str, Any]:
        status = "published"
        if self.rejected:
            status = "rejected"
        elif self.quarantined:
            status = "published_with_quarantine"
        n_q = self.rows if self.rejected else len({q["row_number"] for q in self.quarantined})
        out: dict[str, Any] = {
            "source": self.source,
            "landing": LANDING_NAMES[self.source],
            "file_name": self.file_name,
            "entity": self.entity,
            "rows_read": self.rows,
            "rows_published": 0 if self.rejected else self.rows - n_q,
            "rows_quarantined": n_q,
            "status": status,
            "quarantined_rows": sorted(self.quarantined, key=lambda q: q["row_number"]),
        }
        if self.canonical_rows is not None:
            out["canonical_rows_published"] = self.canonical_rows
        if self.entity_rows is not None:
            out["entity_rows"] = dict(self.entity_rows)
        if self.rejected:
            out["rejected"] = self.rejected
        if self.note:
            out["note"] = self.note
        return out


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------


def _us(d: dt.date | None) -> str:
    return "" if d is None else f"{d.month:02d}/{d.day:02d}/{d.year}"


def _iso(d: dt.date | None) -> str:
    return "" if d is None else d.isoformat()


def _ascii(s: str) -> str:
    return re.sub(
        r"[^a-z]", "", unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().lower()
    )


def _yn(b: bool) -> str:
    return "Y" if b else "N"


def _phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def _poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _grade_code(g: int) -> str:
    return "KG" if g == 0 else f"{g:02d}"


def _room_for(rows: int, bad: int) -> bool:
    """Plant ``bad`` quarantined rows only where they stay under 1% of the delivery, so the
    delivery is published with quarantine (not rejected by max_reject_rate) at any size."""
    return bad * 100 <= rows


def _monday(d: dt.date) -> dt.date:
    return d - dt.timedelta(days=d.weekday())


# --------------------------------------------------------------------------------------
# Building the truth
# --------------------------------------------------------------------------------------


class _District:
    """The whole synthetic district, built in dependency order by :meth:`build`."""

    def __init__(self, students: int, seed: int):
        if students < 60:
            raise ValueError(
                f"students={students} is too small to plant the demo's facts; use 60 or more"
            )
        self.n = students
        self.seed = seed
        self.schools: list[School] = []
        self.students: list[Student] = []
        self.teachers: list[Teacher] = []
        self.sections: list[Section] = []
        self.events: list[AttEvent] = []
        self.incidents: list[Incident] = []
        self.marks: list[Mark] = []
        self.map_rows: list[dict[str, Any]] = []
        self.state_rows: list[dict[str, Any]] = []
        self.survey_rows: list[dict[str, Any]] = []
        self.lms_rows: list[dict[str, Any]] = []
        self.section_quarantine: dict[tuple[int, str], str] = {}
        self.sped_quarantine: dict[int, tuple[str, str, dt.date | None, dt.date | None]] = {}
        self.unmatched: list[dict[str, Any]] = []
        #: attendance events sent with the wrong category, deleted and re-sent (Ed-Fi)
        self.corrections: list[dict[str, Any]] = []
        self.planted: dict[str, Student] = {}
        self._used_ids: set[str] = set()

    def rng(self, stream: str) -> random.Random:
        """An independent random stream per domain, so one domain's draws never shift another's."""
        return random.Random(f"wholechild-demo:{self.seed}:{self.n}:{stream}")

    # ---- schools ------------------------------------------------------------------------

    def build_schools(self) -> None:
        n_e = max(1, round(self.n / 650))
        n_m = max(1, round(self.n / 1000))
        n_h = max(1, round(self.n / 2500))

        def name(pool: Sequence[str], i: int, suffix: str) -> str:
            base = pool[i % len(pool)]
            return f"{base} {suffix}" + (f" {i // len(pool) + 1}" if i >= len(pool) else "")

        closed_hs = {**DISTRICT_CLOSED, **HIGH_SCHOOL_CLOSED}
        for i in range(n_e):
            self.schools.append(
                School(
                    f"1{i + 1:02d}",
                    name(ELEMENTARY_NAMES, i, "Elementary"),
                    "elementary",
                    0,
                    5,
                    DISTRICT_CLOSED,
                )
            )
        for i in range(n_m):
            self.schools.append(
                School(
                    f"2{i + 1:02d}",
                    name(MIDDLE_NAMES, i, "Middle School"),
                    "middle",
                    6,
                    8,
                    DISTRICT_CLOSED,
                )
            )
        for i in range(n_h):
            self.schools.append(
                School(
                    f"3{i + 1:02d}", name(HIGH_NAMES, i, "High School"), "high", 9, 12, closed_hs
                )
            )

    def level_schools(self, level: str) -> list[School]:
        return [s for s in self.schools if s.level == level]

    @staticmethod
    def level_of(grade: int) -> str:
        return "elementary" if grade <= 5 else "middle" if grade <= 8 else "high"

    # ---- students -----------------------------------------------------------------------

    def build_students(self) -> None:
        rng = self.rng("students")
        local_ids = rng.sample(range(1000, max(100000, 3 * self.n)), self.n)
        state_ids = rng.sample(range(1_000_000_000, 9_999_999_999), self.n + 10)
        self.spare_state_ids = [str(s) for s in state_ids[self.n :]]
        emails: set[str] = set()
        usernames: set[str] = set()
        for i in range(self.n):
            sex = rng.choices(
                ("female", "male", "nonbinary", "not_selected"), (49, 49.5, 0.8, 0.7)
            )[0]
            pool = (
                FEMALE_NAMES
                if sex == "female"
                else MALE_NAMES
                if sex == "male"
                else (FEMALE_NAMES + MALE_NAMES)
            )
            first, last = rng.choice(pool), rng.choice(LAST_NAMES)
            grade = rng.randrange(13)
            age = grade + 5 + (1 if rng.random() < 0.03 else 0)
            birth = D(2025 - age - 1, 9, 2) + dt.timedelta(days=rng.randrange(365))
            hispanic, races = self._draw_race(rng)
            home = rng.choice(self.level_schools(self.level_of(grade)))
            st = Student(
                idx=i,
                local_id=f"{local_ids[i]:06d}",
                state_id=str(state_ids[i]),
                first=first,
                last=last,
                sex=sex,
                birth=birth,
                hispanic=hispanic,
                races=races,
                grade=grade,
                home=home,
            )
            base = f"{_ascii(first)}.{_ascii(last)}{st.local_id[-4:]}"
            email = base
            while email in emails:
                email += "x"
            emails.add(email)
            st.email = f"{email}@{EMAIL_DOMAIN}"
            user = f"{_ascii(first)[:1]}{_ascii(last)}{st.local_id[-4:]}"
            while user in usernames:
                user += "x"
            usernames.add(user)
            st.username = user
            st.ability = rng.gauss(0, 1)
            st.wellbeing = rng.gauss(0, 1)
            st.engagement = min(0.99, max(0.3, rng.gauss(0.82, 0.12)))
            st.p_tardy = rng.uniform(0.0, 0.03)
            self.students.append(st)

    @staticmethod
    def _draw_race(rng: random.Random) -> tuple[bool | None, tuple[str, ...]]:
        r = rng.random()
        if r < 0.28:  # Hispanic/Latino of any race
            races = rng.choices(
                (("white",), ("black",), ("american_indian_alaska_native",), ()), (65, 5, 5, 25)
            )[0]
            return True, races
        r = rng.random() * 0.72
        for share, races in (
            (0.388, ("white",)),
            (0.18, ("black",)),
            (0.07, ("asian",)),
            (0.05, None),
            (0.012, ("american_indian_alaska_native",)),
            (0.006, ("native_hawaiian_pacific_islander",)),
        ):
            if r < share:
                if races is None:
                    return False, tuple(
                        sorted(
                            rng.sample(
                                ("asian", "black", "white", "american_indian_alaska_native"), 2
                            )
                        )
                    )
                return False, races
            r -= share
        return None, ()  # not reported: the federal category is unknown

    # ---- enrollments --------------------------------------------------------------------

    def build_enrollments(self) -> None:
        rng = self.rng("enrollments")
        generic = list(range(5, self.n))
        special = rng.sample(generic, 4)
        self.no_show_idx, self.overlap_idx = special[:2], special[2:]
        for st in self.students[5:]:
            home = st.home
            if st.idx in self.no_show_idx:
                st.enrollments = [Enrollment(home, FIRST_DAY, FIRST_DAY, st.grade, "E1", "NS")]
                continue
            if st.idx in self.overlap_idx:
                a = rng.choice(home.days_between(D(2025, 9, 2), D(2025, 10, 31)))
                b = rng.choice(home.days_between(D(2026, 1, 6), D(2026, 2, 27)))
                st.enrollments = [
                    Enrollment(
                        home,
                        FIRST_DAY,
                        LAST_DAY if st.grade == 12 else None,
                        st.grade,
                        "E1",
                        "GR" if st.grade == 12 else None,
                    ),
                    Enrollment(home, a, b, st.grade, "E1", "ZZ"),
                ]
                continue
            entry, entry_code = FIRST_DAY, "E1"
            if rng.random() < 0.06:
                entry, entry_code = (
                    rng.choice(home.days_between(D(2025, 9, 2), D(2026, 4, 30))),
                    "E2",
                )
            exit_day: dt.date | None = None
            exit_code: str | None = None
            withdrawn = False
            if rng.random() < 0.05:
                later = [
                    d
                    for d in home.days_between(
                        max(entry + dt.timedelta(days=21), D(2025, 9, 15)), D(2026, 5, 15)
                    )
                ]
                if later:
                    withdrawn = True
                    exit_day = rng.choice(later)
                    if st.grade >= 9 and rng.random() < 0.2:
                        exit_code = "DO"
                    else:
                        exit_code = rng.choices(("T1", "T2", "W1"), (55, 30, 15))[0]
            if not withdrawn and st.grade == 12:
                exit_day, exit_code = LAST_DAY, "GR"
            first = Enrollment(home, entry, exit_day, st.grade, entry_code, exit_code)
            st.enrollments = [first]
            if withdrawn:
                continue
            others = [s for s in self.level_schools(home.level) if s is not home]
            r = rng.random()
            window = home.days_between(
                max(entry + dt.timedelta(days=21), D(2025, 10, 1)), D(2026, 4, 1)
            )
            if r < 0.012 and others and window:
                d1 = rng.choice(window)
                new = rng.choice(others)
                gap = dt.timedelta(days=rng.randint(0, 3))
                after = [d for d in new.days if d > d1 + gap]
                first.exit, first.exit_code = d1, "TI"
                st.enrollments.append(
                    Enrollment(new, after[0], exit_day, st.grade, "E3", exit_code)
                )
                st.home = new
            elif r < 0.018 and window:
                d1 = rng.choice(window)
                back = [d for d in home.days if d > d1]
                gap = rng.randint(10, 30)
                if len(back) > gap:
                    first.exit, first.exit_code = d1, "W1"
                    st.enrollments.append(
                        Enrollment(home, back[gap], exit_day, st.grade, "R1", exit_code)
                    )

    # ---- programs -----------------------------------------------------------------------

    def build_programs(self) -> None:
        """Program flags independent of every demographic; IEP categories in exact shares
        per group, plus the planted extra emotional-disturbance identification of black
        students (IDEA significant disproportionality)."""
        rng = self.rng("programs")
        sped_by_group: dict[str, list[Student]] = {}
        for st in self.students[5:]:
            if st.idx in self.no_show_idx:
                continue
            begin = min(e.entry for e in st.enrollments)
            for program, p in (
                ("economically_disadvantaged", 0.45),
                ("english_learner", 0.12),
                ("section_504", 0.04),
                ("homeless", 0.025),
                ("foster_care", 0.006),
                ("gifted", 0.08),
                ("migrant", 0.01),
            ):
                if rng.random() < p:
                    st.programs[program] = begin
            if "homeless" in st.programs and rng.random() < 0.4:
                # identified during the year, before the last programs export (2026-05-29)
                later = [
                    d for _, d in st.days if begin + dt.timedelta(days=30) < d <= D(2026, 5, 15)
                ]
                if later:
                    st.programs["homeless"] = rng.choice(later)
            if rng.random() < 0.14:
                group = "black" if st.race_ethnicity == "black" else "others"
                sped_by_group.setdefault(group, []).append(st)
        for group in sorted(sped_by_group):
            members = sped_by_group[group]
            rng.shuffle(members)
            # largest-remainder allocation: each category's count is fixed by the group size
            quotas = [(cat, share * len(members)) for cat, share in SPED_SHARES]
            counts = {cat: int(q) for cat, q in quotas}
            rest = len(members) - sum(counts.values())
            for cat, _q in sorted(quotas, key=lambda t: (-(t[1] - int(t[1])), t[0]))[:rest]:
                counts[cat] += 1
            pos = 0
            for cat, _ in SPED_SHARES:
                for st in members[pos : pos + counts[cat]]:
                    st.sped = cat
                pos += counts[cat]
        # Planted: 4% of black students without an IEP are identified with emotional
        # disturbance on top of the shared shares -> risk ratio ~5-6 in the district.
        black = [
            st
            for st in self.students[5:]
            if st.race_ethnicity == "black" and st.sped is None and st.idx not in self.no_show_idx
        ]
        for st in rng.sample(black, round(0.04 * len(black))):
            st.sped = "emotional_disturbance"
        for st in self.students[5:]:
            if st.sped is None:
                continue
            first_entry = min(e.entry for e in st.enrollments)
            if rng.random() < 0.1:  # newly identified this year
                st.sped_begin = first_entry + dt.timedelta(days=rng.randint(20, 150))
                st.sped_begin = min(st.sped_begin, D(2026, 5, 1))
            else:
                year = rng.randint(max(2019, st.birth.year + 3), 2024)
                st.sped_begin = D(year, rng.randint(1, 12), rng.randint(1, 28))
            if rng.random() < 0.03:  # exited special education during the year
                end = D(2026, rng.randint(2, 5), rng.randint(1, 27))
                st.sped_end = end if end > st.sped_begin else None

    # ---- absence propensity -------------------------------------------------------------

    def draw_absence(self) -> None:
        """Planted: economically disadvantaged students are twice as likely to be of the
        chronically absent type; nothing else moves absence."""
        rng = self.rng("absence")
        for st in self.students:
            ed = "economically_disadvantaged" in st.programs
            chronic_type = rng.random() < (0.25 if ed else 0.12)
            st.p_abs = rng.uniform(0.13, 0.24) if chronic_type else rng.uniform(0.005, 0.06)

    # ---- the five planted students ------------------------------------------------------

    def plant_students(self) -> None:
        """Five students whose numbers are written by hand, so tests can assert exactly."""
        elem, mid, high = (self.level_schools(x) for x in ("elementary", "middle", "high"))
        e1, m1, h1 = elem[0], mid[0], high[0]
        e2 = elem[1] if len(elem) > 1 else elem[0]

        def setup(
            i: int,
            label: str,
            grade: int,
            school: School,
            sex: str,
            hispanic: bool,
            races: tuple[str, ...],
        ) -> Student:
            st = self.students[i]
            st.planted, st.grade, st.home, st.sex = label, grade, school, sex
            st.hispanic, st.races = hispanic, races
            st.birth = D(2025 - grade - 6, 9 + (i % 3), 10 + i)
            self.planted[label] = st
            return st

        p1 = setup(0, "chronic_absence_ed_el", 3, e1, "female", True, ("white",))
        p1.enrollments = [Enrollment(e1, FIRST_DAY, None, 3, "E1")]
        p1.programs = {"economically_disadvantaged": FIRST_DAY, "english_learner": FIRST_DAY}

        p2 = setup(1, "two_enrollments", 5, e2, "male", False, ("white",))
        same = e2 is e1
        p2.enrollments = [
            Enrollment(e1, FIRST_DAY, D(2025, 11, 14), 5, "E1", "W1" if same else "TI"),
            Enrollment(e2, D(2025, 12, 1), None, 5, "R1" if same else "E3"),
        ]
        p2.programs = {"homeless": D(2025, 12, 1)}

        p3 = setup(2, "suspended_high_school", 10, h1, "male", False, ("black",))
        p3.enrollments = [Enrollment(h1, FIRST_DAY, None, 10, "E1")]
        p3.programs = {"economically_disadvantaged": FIRST_DAY}
        p3.electives = (Course("SPAN1", "Spanish I", "World Languages"),)

        p4 = setup(3, "midyear_sped_partial_days", 7, m1, "female", False, ("black",))
        p4.enrollments = [Enrollment(m1, D(2025, 10, 9), None, 7, "E2")]
        p4.programs = {}
        p4.sped, p4.sped_begin = "emotional_disturbance", D(2024, 3, 12)
        p4.electives = (Course("ART-MS", "Art", "Fine Arts"),)

        p5 = setup(4, "overlap_withdrawn_advanced", 11, h1, "female", True, ())
        p5.enrollments = [
            Enrollment(h1, FIRST_DAY, D(2026, 3, 13), 11, "E1", "T2"),
            Enrollment(h1, D(2025, 9, 2), D(2026, 2, 27), 11, "E1", "ZZ"),
        ]
        p5.programs = {"gifted": FIRST_DAY}
        p5.advanced = ("ela", "math")
        p5.electives = (
            Course("SPAN2", "Spanish II", "World Languages"),
            Course("ART1", "Art I", "Fine Arts"),
        )

    # ---- enrolled days ------------------------------------------------------------------

    def finalize_days(self) -> None:
        for st in self.students:
            days: list[tuple[School, dt.date]] = []
            for school, a, b in st.spans():
                days.extend((school, d) for d in school.days if a <= d <= b)
            st.days = sorted(days, key=lambda t: (t[1], t[0].school_id))

    # ---- courses, sections, teachers ----------------------------------------------------

    def build_courses(self) -> None:
        rng = self.rng("courses")
        hs_titles = {
            "ela": (
                "ENG",
                "English",
                {
                    9: ("English 9", "Honors English 9", "Honors"),
                    10: ("English 10", "Honors English 10", "Honors"),
                    11: ("English 11", "AP English Language and Composition", "AP"),
                    12: ("English 12", "AP English Literature and Composition", "AP"),
                },
            ),
            "math": (
                "MTH",
                "Mathematics",
                {
                    9: ("Algebra I", "Honors Geometry", "Honors"),
                    10: ("Geometry", "Honors Algebra II", "Honors"),
                    11: ("Algebra II", "Honors Precalculus", "Honors"),
                    12: ("Precalculus", "AP Calculus AB", "AP"),
                },
            ),
            "science": (
                "SCI",
                "Science",
                {
                    9: ("Biology", "Honors Biology", "Honors"),
                    10: ("Chemistry", "Honors Chemistry", "Honors"),
                    11: ("Physics", "AP Biology", "AP"),
                    12: ("Environmental Science", "AP Chemistry", "AP"),
                },
            ),
            "social_studies": (
                "SOC",
                "Social Studies",
                {
                    9: ("World Geography", "Honors World Geography", "Honors"),
                    10: ("World History", "AP World History", "AP"),
                    11: ("US History", "AP US History", "AP"),
                    12: ("Government and Economics", "AP US Government and Politics", "AP"),
                },
            ),
        }
        hs_electives = (
            Course("ART1", "Art I", "Fine Arts"),
            Course("SPAN1", "Spanish I", "World Languages"),
            Course("SPAN2", "Spanish II", "World Languages"),
            Course("CS1", "Intro to Computer Science", "Career Tech"),
            Course("BAND", "Concert Band", "Fine Arts"),
            Course("PSYCH", "Psychology", "Electives"),
            Course("ENGR", "Engineering Design", "Career Tech"),
        )
        ms_electives = (
            Course("ART-MS", "Art", "Fine Arts"),
            Course("BAND-MS", "Band", "Fine Arts"),
            Course("STEM-MS", "STEM Exploration", "Career Tech"),
            Course("SPAN-MS", "Exploring Spanish", "World Languages"),
        )
        for st in self.students:
            g = st.grade
            if g <= 5:
                st.courses = (
                    Course(
                        f"HR-{_grade_code(g)}",
                        "Kindergarten Homeroom" if g == 0 else f"Grade {g} Homeroom",
                        "Homeroom",
                    ),
                )
                continue
            if g <= 8:
                courses = [
                    Course(f"ELA{g:02d}", f"English Language Arts {g}", "English"),
                    Course(f"MAT{g:02d}", f"Math {g}", "Mathematics"),
                    Course(f"SCI{g:02d}", f"Science {g}", "Science"),
                    Course(f"SOC{g:02d}", f"Social Studies {g}", "Social Studies"),
                    Course(f"PE{g:02d}", f"Physical Education {g}", "Physical Education"),
                ]
                electives = st.electives or (rng.choice(ms_electives),)
                st.courses = (*courses, *electives)
                continue
            if not st.planted:
                # Planted: Hispanic students reach advanced (AP/honors) courses at a third of
                # the rate of their peers.
                p_track = 0.12 if st.race_ethnicity == "hispanic_latino" else 0.36
                if rng.random() < p_track:
                    subjects = [s for s in CORE_SUBJECTS if rng.random() < 0.55]
                    st.advanced = tuple(subjects or [rng.choice(CORE_SUBJECTS)])
            courses = []
            for subject in CORE_SUBJECTS:
                prefix, dept, by_grade = hs_titles[subject]
                regular, adv, label = by_grade[g]
                if subject in st.advanced:
                    courses.append(
                        Course(
                            f"{prefix}{g:02d}{'H' if label == 'Honors' else 'AP'}", adv, dept, label
                        )
                    )
                else:
                    courses.append(Course(f"{prefix}{g:02d}", regular, dept))
            if g <= 10:
                courses.append(Course(f"PE{g:02d}", f"Health and PE {g}", "Physical Education"))
                electives = st.electives or (rng.choice(hs_electives),)
            else:
                electives = st.electives or tuple(rng.sample(hs_electives, 2))
            st.courses = (*courses, *electives)

    def build_sections(self) -> None:
        rng = self.rng("sections")
        groups: dict[
            tuple[str, str], tuple[School, Course, dict[int, list[tuple[dt.date, dt.date]]]]
        ] = {}
        for st in self.students:
            for school, a, b in st.spans():
                for course in st.courses:
                    key = (school.school_id, course.code)
                    groups.setdefault(key, (school, course, {}))[2].setdefault(st.idx, []).append(
                        (a, b)
                    )
        periods: dict[str, int] = {}
        for key in sorted(groups):
            school, course, members = groups[key]
            idxs = sorted(members)
            rng.shuffle(idxs)
            size = 24 if school.level == "elementary" else 28
            n_sec = max(1, math.ceil(len(idxs) / size))
            for k in range(n_sec):
                periods[school.school_id] = periods.get(school.school_id, 0) + 1
                sec = Section(
                    f"{school.school_id}-{course.code}-{k + 1:02d}",
                    school,
                    course,
                    (periods[school.school_id] - 1) % 7 + 1,
                )
                for i in sorted(idxs[k::n_sec]):
                    for a, b in members[i]:
                        sec.roster.append((self.students[i], a, b))
                self.sections.append(sec)
        self._assign_teachers()

    def _new_teacher_id(self, rng: random.Random) -> str:
        while True:
            tid = f"E{rng.randrange(10000, 99999)}"
            if tid not in self._used_ids:
                self._used_ids.add(tid)
                return tid

    def _assign_teachers(self) -> None:
        """Teachers per school and department; one middle school is staffed mostly by new
        teachers (a school-level fact, not a subgroup disparity: demographics do not
        depend on the school)."""
        rng = self.rng("teachers")
        self.novice_school = self.level_schools("middle")[-1]
        by_dept: dict[tuple[str, str], list[Section]] = {}
        for sec in self.sections:
            by_dept.setdefault((sec.school.school_id, sec.course.dept), []).append(sec)
        for key in sorted(by_dept):
            secs = by_dept[key]
            school = secs[0].school
            per_teacher = 1 if school.level == "elementary" else 5
            n_t = max(1, math.ceil(len(secs) / per_teacher))
            teachers = []
            for _ in range(n_t):
                novice = rng.random() < (0.45 if school is self.novice_school else 0.12)
                years = rng.randint(0, 2) if novice else rng.randint(3, 32)
                sex_pool = FEMALE_NAMES if rng.random() < 0.7 else MALE_NAMES
                t = Teacher(
                    self._new_teacher_id(rng),
                    rng.choice(sex_pool),
                    rng.choice(LAST_NAMES),
                    school,
                    key[1],
                    years,
                    rng.random() < 0.92,
                )
                teachers.append(t)
                self.teachers.append(t)
            for j, sec in enumerate(secs):
                sec.teacher = teachers[j % n_t]
        for school in self.schools:
            coach = Teacher(
                self._new_teacher_id(rng),
                rng.choice(FEMALE_NAMES),
                rng.choice(LAST_NAMES),
                school,
                "Instruction",
                rng.randint(8, 25),
                True,
                "Instructional Coach",
            )
            self.teachers.append(coach)

    # ---- behavior -----------------------------------------------------------------------

    def build_incidents(self) -> None:
        """Minor incidents at the same rate for everyone; suspensions planted at 3x for black
        students. Out-of-school suspension days become absences in the attendance feed."""
        rng = self.rng("behavior")
        minor_rate = {"elementary": 0.10, "middle": 0.40, "high": 0.25}
        susp_rate = {"elementary": 0.012, "middle": 0.055, "high": 0.045}
        raw: list[
            tuple[dt.date, int, int, School, str, str, int | None]
        ] = []  # (day, student, seq, school, offense, action, days)
        seq = 0
        by_school_day: dict[tuple[str, dt.date], list[Student]] = {}
        for st in self.students:
            for school, d in st.days:
                by_school_day.setdefault((school.school_id, d), []).append(st)
        for st in self.students:
            if st.planted or not st.days:
                continue
            level = st.level
            for _ in range(_poisson(rng, minor_rate[level])):
                school, d = rng.choice(st.days)
                offense = rng.choices(
                    ("DISR", "DEFY", "TECH", "TARDY", "BULLY", "THEFT"), (35, 25, 15, 10, 10, 5)
                )[0]
                action = rng.choices(("CONF", "DET", "NONE"), (40, 45, 15))[0]
                seq += 1
                raw.append((d, st.idx, seq, school, offense, action, None))
                if offense == "DISR" and rng.random() < 0.15:
                    mates = [
                        m
                        for m in by_school_day.get((school.school_id, d), [])
                        if m is not st and not m.planted
                    ]
                    if mates:
                        mate = rng.choice(mates)
                        raw.append((d, mate.idx, seq, school, offense, action, None))
            p = susp_rate[level] * (3 if st.race_ethnicity == "black" else 1)
            if rng.random() < p:
                for _ in range(1 + _poisson(rng, 0.4)):
                    school, d = rng.choice(st.days)
                    offense = rng.choices(
                        ("FIGHT", "DEFY", "DRUG", "WEAP", "BULLY"), (40, 25, 15, 5, 15)
                    )[0]
                    if rng.random() < 0.55:
                        action, days = "OSS", rng.randint(1, 5)
                    else:
                        action, days = "ISS", rng.randint(1, 3)
                    seq += 1
                    raw.append((d, st.idx, seq, school, offense, action, days))
        # the planted students' incidents
        p3, p4 = self.planted["suspended_high_school"], self.planted["midyear_sped_partial_days"]
        for st, d, offense, action, days in (
            (p3, D(2025, 10, 8), "DEFY", "ISS", 1),
            (p3, D(2026, 3, 10), "FIGHT", "OSS", 3),
            (p3, D(2026, 5, 5), "DISR", "DET", None),
            (p4, D(2026, 2, 10), "DISR", "DET", None),
        ):
            seq += 1
            raw.append((d, st.idx, seq, st.home, offense, action, days))
        raw.sort(key=lambda r: (r[0], r[2], r[1]))
        ids: dict[int, str] = {}
        for d, i, s, school, offense, action, days in raw:
            if s not in ids:
                ids[s] = f"INC-{SCHOOL_YEAR}-{len(ids) + 1:05d}"
            self.incidents.append(
                Incident(ids[s], self.students[i], d, school, offense, action, days)
            )

    # ---- attendance ---------------------------------------------------------------------

    def build_attendance(self) -> None:
        rng = self.rng("attendance")
        oss: dict[int, set[dt.date]] = {}
        for inc in self.incidents:
            if inc.action != "OSS" or not inc.days_removed:
                continue
            following = [d for s, d in inc.student.days if d > inc.day and s is inc.school]
            oss.setdefault(inc.student.idx, set()).update(following[: inc.days_removed])
        for st in self.students:
            if st.planted or not st.days:
                continue
            suspended_days = oss.get(st.idx, set())
            for school, d in st.days:
                if d in suspended_days:
                    self.events.append(AttEvent(st, school, d, "SUS"))
                    continue
                r = rng.random()
                full = False
                if r < 0.8 * st.p_abs:
                    code = rng.choices(("U", "E", "A"), (45, 45, 10))[0]
                    self.events.append(AttEvent(st, school, d, code))
                    full = True
                elif r < st.p_abs:
                    code = "PD" if rng.random() < 0.6 else "ED"
                    minutes = rng.choice((60, 90, 120, 180, 240, 300))
                    if rng.random() < 0.25:  # the clerk did not record how long
                        self.events.append(AttEvent(st, school, d, code))
                    else:
                        self.events.append(
                            AttEvent(st, school, d, code, round(minutes / 390, 2), minutes)
                        )
                if not full and rng.random() < st.p_tardy:
                    minutes = rng.randint(5, 25)
                    self.events.append(
                        AttEvent(st, school, d, "T", round(minutes / 390, 2), minutes)
                    )
        self._planted_attendance(oss)
        # The marts' as-of is the last instructional day with loaded attendance: make sure
        # the last day has an event even in a tiny district.
        if not any(e.day == LAST_DAY for e in self.events):
            for st in self.students[5:]:
                if st.days and st.days[-1][1] == LAST_DAY:
                    self.events.append(AttEvent(st, st.days[-1][0], LAST_DAY, "T", 0.03, 12))
                    break
        self.events.sort(key=lambda e: (e.day, e.school.school_id, e.student.local_id, e.code))

    def _planted_attendance(self, oss: dict[int, set[dt.date]]) -> None:
        P = self.planted
        # P1: 18 full days, two half days and two tardies over a full year -> chronic.
        p1 = P["chronic_absence_ed_el"]
        school = p1.home
        days = [d for _, d in p1.days]
        codes = ("U", "E", "A")
        for j in range(18):
            self.events.append(AttEvent(p1, school, days[5 + 9 * j], codes[j % 3]))
        self.events.append(AttEvent(p1, school, days[7], "PD", 0.5, 195))
        self.events.append(AttEvent(p1, school, days[100], "PD", 0.5, 195))
        self.events.append(AttEvent(p1, school, days[30], "T", 0.03, 10))
        self.events.append(AttEvent(p1, school, days[121], "T", 0.04, 15))

        # P2: four absences at the first school, five at the second, and two events that
        # must not count: one after the first exit (not enrolled) and one on MLK Day.
        p2 = P["two_enrollments"]
        first, second = p2.enrollments[0].school, p2.enrollments[1].school
        at_first = [d for s, d in p2.days if d <= D(2025, 11, 14)]
        at_second = [d for s, d in p2.days if d >= D(2025, 12, 1)]
        for j, code in zip((10, 20, 40, 50), ("U", "E", "E", "A"), strict=True):
            self.events.append(AttEvent(p2, first, at_first[j], code))
        for j, code in zip((3, 15, 30, 45, 60), ("E", "U", "E", "E", "U"), strict=True):
            self.events.append(AttEvent(p2, second, at_second[j], code))
        self.events.append(AttEvent(p2, first, D(2025, 11, 18), "U"))
        self.events.append(AttEvent(p2, second, D(2026, 1, 19), "U"))

        # P3: three out-of-school suspension days after the March fight, four absences.
        p3 = P["suspended_high_school"]
        days = [d for _, d in p3.days]
        fight = D(2026, 3, 10)
        sus = [d for d in days if d > fight][:3]
        oss[p3.idx] = set(sus)
        for d in sus:
            self.events.append(AttEvent(p3, p3.home, d, "SUS"))
        for j, code in zip((20, 70, 110, 150), ("E", "U", "E", "U"), strict=True):
            assert days[j] not in sus
            self.events.append(AttEvent(p3, p3.home, days[j], code))

        # P4: partial days of every kind. Chronically absent under the CRDC half-day rule,
        # not under the default fraction rule.
        p4 = P["midyear_sped_partial_days"]
        days = [d for _, d in p4.days]
        e = len(days)
        threshold = 0.1 * e
        k = math.ceil(threshold) - 3  # full days, so that half_day_whole = ceil(0.1 * e)
        assert k + 2.33 < threshold <= k + 3, "pick P4's entry date so the two rules disagree"
        partial_at = {
            6: ("PD", 0.25, 98),
            17: ("PD", None, None),
            28: ("ED", 0.75, 293),
            39: ("ED", None, None),
            50: ("T", 0.05, 20),
        }
        for j, (code, frac, minutes) in partial_at.items():
            self.events.append(AttEvent(p4, p4.home, days[j], code, frac, minutes))
        self.events.append(AttEvent(p4, p4.home, days[61], "T", 0.04, 15))
        self.events.append(AttEvent(p4, p4.home, days[61], "PD", 0.33, 129))
        full_idx = [j for j in range(3, e, 9) if j not in partial_at and j != 61][:k]
        for n, j in enumerate(full_idx):
            self.events.append(AttEvent(p4, p4.home, days[j], "E" if n % 2 else "U"))

        # P5: eight absences inside the merged span of two overlapping enrollments.
        p5 = P["overlap_withdrawn_advanced"]
        days = [d for _, d in p5.days]
        for j, code in zip((12, 33, 47, 66, 80, 91, 105, 118), "UEUEAEUE", strict=True):
            self.events.append(AttEvent(p5, p5.home, days[j], code))

    # ---- marks --------------------------------------------------------------------------

    PLANTED_MARKS = {
        "suspended_high_school": {
            "English": ("B", "B-"),
            "Mathematics": ("F", "D"),
            "Science": ("C", "C+"),
            "Social Studies": ("B+", "A-"),
            "Physical Education": ("A", "A"),
            "World Languages": ("C", "B-"),
        },
        "midyear_sped_partial_days": {
            "English": ("C", "C"),
            "Mathematics": ("B-", "C+"),
            "Science": ("D", "F"),
            "Social Studies": ("B", "B"),
            "Physical Education": ("A-", "A"),
            "Fine Arts": ("A", "A-"),
        },
        "overlap_withdrawn_advanced": {
            "English": ("A", None),
            "Mathematics": ("A-", None),
            "Science": ("B+", None),
            "Social Studies": ("B", None),
            "World Languages": ("A", None),
            "Fine Arts": ("A", None),
        },
    }

    def build_marks(self) -> None:
        """Semester final marks for grades 6-12, from ability plus noise (no demographic
        term), for each section the student is on at the end of the term."""
        rng = self.rng("marks")
        for sec in self.sections:
            if sec.school.level == "elementary":
                continue
            for st, a, b in sec.roster:
                for t, (term, _start, end) in enumerate(TERMS):
                    if not (a <= end <= b and a <= end - dt.timedelta(days=15)):
                        continue
                    if st.planted:
                        letter = self.PLANTED_MARKS[st.planted][sec.course.dept][t]
                    else:
                        z = 0.7 * st.ability + rng.gauss(0, 0.75)
                        letter = next((lt for cut, lt in LETTER_CUTS if z >= cut), "F")
                    if letter is not None:
                        self.marks.append(Mark(st, sec, term, letter))

    # ---- assessments --------------------------------------------------------------------

    MAP_TERMS = (
        ("Fall 2025-2026", D(2025, 8, 25), D(2025, 9, 19), 0.0),
        ("Winter 2025-2026", D(2026, 1, 12), D(2026, 1, 23), 0.55),
        ("Spring 2025-2026", D(2026, 5, 4), D(2026, 5, 15), 1.0),
    )
    MAP_NORMS = {  # grade -> (math fall mean, reading fall mean, math gain, reading gain)
        2: (172.4, 172.0, 13.0, 11.5),
        3: (186.6, 185.4, 11.8, 9.9),
        4: (197.1, 195.5, 10.2, 8.4),
        5: (206.0, 202.7, 9.0, 6.8),
        6: (211.3, 207.5, 7.3, 5.4),
        7: (215.8, 211.4, 6.0, 4.3),
        8: (220.0, 214.5, 5.2, 3.8),
    }

    def build_map(self) -> None:
        rng = self.rng("map")
        for st in self.students:
            if not (2 <= st.grade <= 8) or not st.days:
                continue
            z = {s: 0.85 * st.ability + 0.53 * rng.gauss(0, 1) for s in ("Mathematics", "Reading")}
            for term, start, end, progress in self.MAP_TERMS:
                for subject in ("Mathematics", "Reading"):
                    options = [(s, d) for s, d in st.days if start <= d <= end]
                    if not options or rng.random() < 0.03:
                        continue
                    school, d = rng.choice(options)
                    m_mean, r_mean, m_gain, r_gain = self.MAP_NORMS[st.grade]
                    mean = (
                        (m_mean + progress * m_gain)
                        if subject == "Mathematics"
                        else (r_mean + progress * r_gain)
                    )
                    sd = 13.0 if subject == "Mathematics" else 14.0
                    score = round(mean + sd * z[subject] + rng.gauss(0, 3))
                    pct = min(99, max(1, round(100 * _phi((score - mean) / sd))))
                    band = "6+" if st.grade >= 6 else "2-5"
                    self.map_rows.append(
                        {
                            "student": st,
                            "school": school,
                            "term": term,
                            "subject": subject,
                            "date": d,
                            "score": score,
                            "percentile": pct,
                            "test_name": f"Growth: {'Math' if subject == 'Mathematics' else 'Reading'} {band} CCSS 2010 V{4 if band == '6+' else 3}",
                            "test_id": rng.randrange(100000000, 999999999),
                            "minutes": rng.randint(35, 80),
                            "se": round(rng.uniform(2.9, 3.5), 1),
                            "rapid": rng.choice((0, 0, 0, 0, 5, 10, 15)),
                        }
                    )

    def build_state_assessment(self) -> None:
        rng = self.rng("state_assessment")
        window = (D(2026, 4, 13), D(2026, 5, 8))
        cut = {"ELA": 0.15, "MATH": 0.3, "SCI": 0.2}
        for st in self.students:
            if st.grade not in (3, 4, 5, 6, 7, 8, 11) or not st.days:
                continue
            areas = ["ELA", "MATH"] + (["SCI"] if st.grade in (5, 8, 11) else [])
            for area in areas:
                options = [(s, d) for s, d in st.days if window[0] <= d <= window[1]]
                if not options or rng.random() < 0.02:
                    continue
                school, d = rng.choice(options)
                z = 0.85 * st.ability + 0.53 * rng.gauss(0, 1)
                level = 1 if z < -0.6 else 2 if z < cut[area] else 3 if z < 1.1 else 4
                self.state_rows.append(
                    {
                        "student": st,
                        "ssid": st.state_id,
                        "school": school,
                        "area": area,
                        "date": d,
                        "score": int(2400 + 40 * st.grade + round(95 * z)),
                        "level": level,
                        "unmatched": False,
                    }
                )

    # ---- wellbeing survey and LMS -------------------------------------------------------

    SURVEY_WINDOWS = (
        ("SEL Survey Fall 2025", D(2025, 10, 14), D(2025, 10, 24)),
        ("SEL Survey Spring 2026", D(2026, 4, 13), D(2026, 4, 23)),
    )

    def build_survey(self) -> None:
        rng = self.rng("survey")
        for st in self.students:
            if st.grade < 3 or not st.days:
                continue
            for name, start, end in self.SURVEY_WINDOWS:
                options = [(s, d) for s, d in st.days if start <= d <= end]
                if not options or rng.random() < 0.15:
                    continue
                school, d = rng.choice(options)
                email = st.email
                if rng.random() < 0.05:  # typed with capitals: must still match (case-insensitive)
                    local, domain = email.split("@")
                    email = ".".join(p.capitalize() for p in local.split(".")) + "@" + domain
                for topic, _construct, items in SURVEY_TOPICS:
                    p = _phi(0.3 + 0.8 * st.wellbeing + rng.gauss(0, 0.5))
                    k = sum(1 for _ in range(items) if rng.random() < p)
                    self.survey_rows.append(
                        {
                            "student": st,
                            "survey": name,
                            "email": email,
                            "grade": st.grade,
                            "school": school,
                            "date": d,
                            "topic": topic,
                            "score": round(100 * k / items, 1),
                        }
                    )

    def build_lms(self) -> None:
        """Weekly activity per high-school student (the high school runs the LMS; the middle
        schools' classroom tool is not connected, a realistic coverage gap)."""
        rng = self.rng("lms")
        for st in self.students:
            weeks: dict[dt.date, int] = {}
            for school, d in st.days:
                if school.level == "high":
                    weeks[_monday(d)] = weeks.get(_monday(d), 0) + 1
            for week in sorted(weeks):
                n_days = weeks[week]
                due = max(0, round(rng.randint(4, 9) * n_days / 5))
                submitted = sum(1 for _ in range(due) if rng.random() < st.engagement)
                minutes = max(0, round(n_days * rng.gauss(45, 15) * st.engagement))
                self.lms_rows.append(
                    {
                        "login": st.username,
                        "student": st,
                        "week": week,
                        "minutes": minutes,
                        "views": max(0, round(minutes * rng.uniform(0.8, 2.2))),
                        "submitted": submitted,
                        "due": due,
                    }
                )

    def build(self) -> _District:
        self.build_schools()
        self.build_students()
        self.build_enrollments()
        self.plant_students()
        self.finalize_days()
        self.build_programs()
        self.draw_absence()
        self.build_courses()
        self.build_sections()
        self.build_incidents()
        self.build_attendance()
        self.build_marks()
        self.build_map()
        self.build_state_assessment()
        self.build_survey()
        self.build_lms()
        return self


# --------------------------------------------------------------------------------------
# Writers: byte-stable CSV, xlsx and parquet
# --------------------------------------------------------------------------------------


def _write_csv(
    path: Path,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
    trailing_delimiter: bool = False,
) -> int:
    """Write a CSV the way the vendor does (CRLF, minimal quoting); return the data rows."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(header)
    n = 0
    for row in rows:
        cells = ["" if v is None else str(v) for v in row]
        if trailing_delimiter:
            cells.append("")  # real exports end rows with a stray delimiter
        w.writerow(cells)
        n += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue().encode(encoding))
    return n


_FIXED_TIME = dt.datetime(2026, 7, 1, 0, 0, 0)


def _write_xlsx(
    path: Path, sheet: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Write an xlsx with fixed document properties and zip timestamps, so reruns are
    byte-identical (openpyxl stamps both with the wall clock by default)."""
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(list(header))
    n = 0
    for row in rows:
        ws.append(["" if v is None else v for v in row])
        n += 1
    wb.properties.creator = "wholechild demo generator"
    wb.properties.created = _FIXED_TIME
    wb.properties.modified = _FIXED_TIME
    raw = io.BytesIO()
    wb.save(raw)
    src = zipfile.ZipFile(io.BytesIO(raw.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                # openpyxl stamps `modified` with the clock at save time, whatever we set
                data = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                    rb"\g<1>" + _FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode() + rb"\g<2>",
                    data,
                )
            dst.writestr(zi, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())
    return n


def _write_parquet(path: Path, table: pa.Table) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="snappy")
    return table.num_rows


# --------------------------------------------------------------------------------------
# Rendering the truth through each vendor, with the planted faults
# --------------------------------------------------------------------------------------


class _Exporter:
    def __init__(self, district: _District, out: Path):
        self.d = district
        self.out = out
        self.deliveries: list[Delivery] = []
        self.rng = district.rng("faults")

    def path(self, source: str, file_name: str) -> Path:
        return self.out / LANDING_NAMES[source] / file_name

    def add(self, delivery: Delivery) -> Delivery:
        self.deliveries.append(delivery)
        return delivery

    def unmatched(
        self, source: str, entity: str, ref: str, kind: str, reason: str, n_rows: int
    ) -> None:
        self.d.unmatched.append(
            {
                "source": source,
                "entity": entity,
                "student_ref": ref,
                "id_kind": kind,
                "reason": reason,
                "n_rows": n_rows,
            }
        )

    def _victims(self, candidates: list[Any], n: int) -> list[Any]:
        return self.rng.sample(candidates, min(n, len(candidates)))

    # ---- SIS: OneRoster roster, calendar CSV; Ed-Fi enrollment and attendance ----------

    def sis(self) -> None:
        from wholechild.demo import export_oneroster

        export_oneroster.write_bundle(self)

    def sis_calendar(self) -> None:
        """OneRoster has no instructional calendar: the SIS's calendar export stays a CSV."""
        d = self.d
        name = "calendar_2026-06-05.csv"
        rows = []
        for s in d.schools:
            for day in _date_range(FIRST_DAY, LAST_DAY):
                if day in s.day_set:
                    rows.append([s.school_id, _us(day), "1", "In Session", ""])
                elif day.weekday() >= 5:
                    rows.append([s.school_id, _us(day), "0", "Weekend", ""])
                else:
                    rows.append([s.school_id, _us(day), "0", "Holiday", s.closed[day]])
        n = _write_csv(self.path("sis_calendar", name), SIS_CALENDAR_HEADER, rows)
        self.add(Delivery("sis_calendar", name, "calendar_day", n))

    def attendance(self) -> None:
        from wholechild.demo import export_edfi

        export_edfi.write_enrollments(self)
        export_edfi.write_attendance(self)

    # ---- MAP Growth ---------------------------------------------------------------------

    def map_growth(self) -> None:
        d = self.d
        files = (
            ("Fall 2025-2026", "map_growth_2025-09-26.csv"),
            ("Winter 2025-2026", "map_growth_2026-01-30.csv"),
            ("Spring 2025-2026", "map_growth_2026-05-22.csv"),
        )
        quintile = ((21, "Low"), (41, "LoAvg"), (61, "Avg"), (81, "HiAvg"), (101, "High"))
        for term, name in files:
            recs = [r for r in d.map_rows if r["term"] == term]
            recs.sort(
                key=lambda r: (
                    r["date"],
                    r["school"].school_id,
                    r["student"].state_id,
                    r["subject"],
                )
            )
            quarantined: list[dict[str, Any]] = []
            if term.startswith("Fall") and _room_for(len(recs), 1):
                victim = self._victims([r for r in recs if not r["student"].planted], 1)[0]
                victim["percentile"] = 120  # Planted: out of range (a vendor rescoring glitch)
                victim["quarantine"] = "range"
            if term.startswith("Spring"):
                # Planted: a student tested before the SIS had their record: not on the roster.
                school = d.level_schools("middle")[0]
                ghost = d.spare_state_ids[0]
                for subject, score in (("Mathematics", 214), ("Reading", 209)):
                    recs.append(
                        {
                            "student": None,
                            "ghost": ghost,
                            "school": school,
                            "term": term,
                            "subject": subject,
                            "date": D(2026, 5, 14),
                            "score": score,
                            "percentile": 48,
                            "test_name": f"Growth: {'Math' if subject == 'Mathematics' else 'Reading'} 6+ CCSS 2010 V4",
                            "test_id": 500000000 + score,
                            "minutes": 52,
                            "se": 3.1,
                            "rapid": 0,
                        }
                    )
                self.unmatched(
                    "map_growth",
                    "assessment_result",
                    ghost,
                    "state",
                    "state id not on the roster (tested before the SIS record was entered)",
                    2,
                )
            rows = []
            for i, r in enumerate(recs, start=1):
                st = r["student"]
                if r.get("quarantine"):
                    quarantined.append(
                        {
                            "row_number": i + 1,
                            "data_row": i,
                            "rule": "range",
                            "column": "percentile",
                            "value": str(r["percentile"]),
                        }
                    )
                sid = st.state_id if st else r["ghost"]
                last, first, grade = (
                    (st.last, st.first, st.grade) if st else ("Okonkwo", "Chidi", 6)
                )
                pct = r["percentile"]
                q = next(label for lim, label in quintile if pct < lim) if pct <= 100 else "High"
                rows.append(
                    [
                        term,
                        DISTRICT_NAME,
                        r["school"].name,
                        sid,
                        last,
                        first,
                        "K" if grade == 0 else grade,
                        r["subject"],
                        "Math K-12" if r["subject"] == "Mathematics" else "Reading",
                        "Survey With Goals",
                        r["test_name"],
                        r["test_id"],
                        _us(r["date"]),
                        r["minutes"],
                        r["score"],
                        f"{r['se']:.1f}",
                        pct,
                        q,
                        r["rapid"],
                    ]
                )
            n = _write_csv(self.path("map_growth", name), MAP_HEADER, rows)
            self.add(Delivery("map_growth", name, "assessment_result", n, quarantined=quarantined))

    # ---- state assessment (xlsx) --------------------------------------------------------

    def state_assessment(self) -> None:
        d = self.d
        name = "state_assessment_2026-07-15.xlsx"
        recs = sorted(
            d.state_rows, key=lambda r: (r["school"].school_id, r["student"].state_id, r["area"])
        )
        # Planted: one student's SSID mistyped (two digits swapped): not on the roster.
        candidates = sorted({r["student"].idx for r in recs if not r["student"].planted})
        roster_ids = {st.state_id for st in d.students}
        for idx in self._victims(candidates, 5):
            sid = d.students[idx].state_id
            typo = sid[:4] + sid[5] + sid[4] + sid[6:]
            if typo != sid and typo not in roster_ids:
                n_rows = 0
                for r in recs:
                    if r["student"].idx == idx:
                        r["ssid"], r["unmatched"] = typo, True
                        n_rows += 1
                self.unmatched(
                    "state_assessment",
                    "assessment_result",
                    typo,
                    "state",
                    f"SSID mistyped by the test vendor (digits 5 and 6 of {sid} swapped)",
                    n_rows,
                )
                break
        levels = {
            1: "Level 1 - Standard Not Met",
            2: "Level 2 - Standard Nearly Met",
            3: "Level 3 - Standard Met",
            4: "Level 4 - Standard Exceeded",
        }
        rows = [
            [
                DISTRICT_ID,
                r["school"].school_id,
                r["ssid"],
                r["student"].last,
                r["student"].first,
                f"{r['student'].grade:02d}",
                "Spring 2026",
                r["area"],
                _iso(r["date"]),
                r["score"],
                levels[r["level"]],
                "Yes" if r["level"] >= 3 else "No",
            ]
            for r in recs
        ]
        n = _write_xlsx(
            self.path("state_assessment", name), "Student Results", STATE_ASSESSMENT_HEADER, rows
        )
        self.add(Delivery("state_assessment", name, "assessment_result", n))

    # ---- gradebook ----------------------------------------------------------------------

    def gradebook(self) -> None:
        d = self.d
        name = "section_enrollments_2026-06-05.csv"
        recs = []
        for sec in d.sections:
            for st, a, b in sec.roster:
                recs.append((sec, st, a, b))
        recs.sort(key=lambda r: (r[0].school.school_id, r[0].section_id, r[1].local_id, r[2]))
        quarantined: list[dict[str, Any]] = []
        bad_row: tuple[Section, Student, dt.date] | None = None
        if _room_for(len(recs), 1):
            pool = [
                r
                for r in recs
                if not r[1].planted
                and not r[0].course.advanced
                and r[0].school.level != "elementary"
            ]
            sec, st, a, _ = self._victims(pool, 1)[0]
            bad_row = (sec, st, a)
            d.section_quarantine[(st.idx, sec.section_id)] = "end_date_not_before_begin_date"
        rows = []
        for i, (sec, st, a, b) in enumerate(recs, start=1):
            end = b
            if bad_row == (sec, st, a):
                end = a - dt.timedelta(days=1)  # Planted: a schedule change keyed backwards
                quarantined.append(
                    {
                        "row_number": i + 1,
                        "data_row": i,
                        "rule": "end_date_not_before_begin_date",
                        "column": "end_date",
                        "value": _iso(end),
                    }
                )
            rows.append(
                [
                    int(st.local_id),
                    sec.school.school_id,
                    sec.section_id,
                    sec.course.code,
                    sec.course.title,
                    sec.course.dept,
                    sec.course.level,
                    sec.teacher.teacher_id if sec.teacher else "",
                    sec.period,
                    _iso(a),
                    _iso(end),
                ]
            )
        n = _write_csv(self.path("gradebook", name), SECTIONS_HEADER, rows)
        self.add(
            Delivery(
                "gradebook",
                name,
                "section_enrollment",
                n,
                quarantined=quarantined,
                note="local ids without leading zeros (the YAML pads them)",
            )
        )

        for term, file_date in (("S1", "2026-01-16"), ("S2", "2026-06-05")):
            name = f"course_marks_{file_date}.csv"
            marks = sorted(
                (m for m in d.marks if m.term == term),
                key=lambda m: (
                    m.section.school.school_id,
                    m.student.local_id,
                    m.section.course.code,
                ),
            )
            quarantined = []
            if term == "S1" and _room_for(len(marks), 2):
                for m in self._victims([m for m in marks if not m.student.planted], 2):
                    m.quarantine = "required"  # Planted: the teacher never entered the mark
            rows = []
            for i, m in enumerate(marks, start=1):
                c = m.section.course
                if m.quarantine:
                    quarantined.append(
                        {
                            "row_number": i + 1,
                            "data_row": i,
                            "rule": "required",
                            "column": "mark",
                            "value": None,
                        }
                    )
                    rows.append(
                        [
                            int(m.student.local_id),
                            m.section.school.school_id,
                            "2025-2026",
                            c.code,
                            c.title,
                            c.dept,
                            term,
                            "",
                            "",
                            "0.5",
                            "",
                            "No",
                        ]
                    )
                    continue
                rows.append(
                    [
                        int(m.student.local_id),
                        m.section.school.school_id,
                        "2025-2026",
                        c.code,
                        c.title,
                        c.dept,
                        term,
                        m.letter,
                        f"{LETTER_POINTS[m.letter]:.1f}",
                        "0.5",
                        f"{m.credits_earned:.1f}",
                        "Yes" if m.failing else "No",
                    ]
                )
            n = _write_csv(self.path("gradebook", name), MARKS_HEADER, rows)
            self.add(Delivery("gradebook", name, "course_mark", n, quarantined=quarantined))

    # ---- behavior -----------------------------------------------------------------------

    BEHAVIOR_FILES = (
        ("behavior_2025-10-31.csv", D(2025, 8, 1), D(2025, 10, 31)),
        ("behavior_2026-01-30.csv", D(2025, 11, 1), D(2026, 1, 30)),
        ("behavior_2026-03-31.csv", D(2026, 1, 31), D(2026, 3, 31)),
        ("behavior_2026-04-02.csv", D(2026, 1, 31), D(2026, 3, 31)),
        ("behavior_2026-06-05.csv", D(2026, 4, 1), D(2026, 6, 5)),
    )

    def behavior(self) -> None:
        d = self.d
        reporters = d.rng("reporters")
        staff_names = [f"{t.first[0]}. {t.last}" for t in d.teachers]
        reporter = {inc.incident_id: reporters.choice(staff_names) for inc in d.incidents}
        for name, start, end in self.BEHAVIOR_FILES:
            incs = [i for i in d.incidents if start <= i.day <= end]
            incs.sort(key=lambda i: (i.incident_id, i.student.local_id))
            broken = name == "behavior_2026-03-31.csv"
            quarantined: list[dict[str, Any]] = []
            if name == "behavior_2026-01-30.csv" and _room_for(len(incs), 1):
                ids = [i.incident_id for i in incs]
                pool = [
                    i
                    for i in incs
                    if not i.student.planted
                    and not i.is_suspension
                    and ids.count(i.incident_id) == 1
                ]
                for inc in self._victims(pool, 1):
                    inc.quarantine, inc.shown_date = "dates_are_plausible", D(1900, 1, 1)
            rows = []
            for r, inc in enumerate(incs, start=1):
                shown = inc.shown_date or inc.day
                if inc.quarantine:
                    quarantined.append(
                        {
                            "row_number": r + 1,
                            "data_row": r,
                            "rule": inc.quarantine,
                            "column": "incident_date",
                            "value": _us(shown),
                        }
                    )
                row = [
                    inc.incident_id,
                    inc.student.local_id,
                    _us(shown),
                    inc.school.school_id,
                    inc.offense,
                    BEHAVIOR_OFFENSES[inc.offense][0],
                    inc.action,
                    inc.days_removed or "",
                    reporter[inc.incident_id],
                ]
                if broken:
                    del row[BEHAVIOR_HEADER.index("IncidentDate")]
                rows.append(row)
            header = BEHAVIOR_BROKEN_HEADER if broken else BEHAVIOR_HEADER
            n = _write_csv(self.path("behavior", name), header, rows, delimiter="|")
            delivery = Delivery("behavior", name, "discipline_incident", n, quarantined=quarantined)
            if broken:
                delivery.rejected = {
                    "rule": "missing_column",
                    "column": "IncidentDate",
                    "canonical_column": "incident_date",
                    "reason": "the vendor's new export template dropped the IncidentDate column, which incident_date (required) maps to; the whole delivery is rejected and the previous good data stays",
                }
            if name == "behavior_2026-04-02.csv":
                delivery.note = "the vendor's corrected re-export of behavior_2026-03-31.csv (same incidents, all columns)"
            self.add(delivery)

    # ---- programs -----------------------------------------------------------------------

    def programs(self) -> None:
        d = self.d
        # wide flag rows: one per (student, effective date), flags for programs starting then
        recs: list[tuple[Student, dt.date, set[str]]] = []
        for st in sorted(d.students, key=lambda s: s.state_id):
            by_begin: dict[dt.date, set[str]] = {}
            for program, begin in st.programs.items():
                by_begin.setdefault(begin, set()).add(program)
            for begin in sorted(by_begin):
                recs.append((st, begin, by_begin[begin]))
        for file_date in (D(2025, 10, 1), D(2026, 5, 29)):
            name = f"program_flags_{file_date.isoformat()}.csv"
            chosen = [r for r in recs if r[1] <= file_date]
            rows = []
            n_out = 0
            for st, begin, progs in chosen:
                flags = [_yn(PROGRAM_FLAGS[h] in progs) for h in PROGRAM_FLAGS]
                n_out += len(progs)
                rows.append([st.state_id, st.last, st.first, _us(begin), "", *flags])
            n = _write_csv(
                self.path("programs", name), PROGRAM_FLAGS_HEADER, rows, encoding="cp1252"
            )
            self.add(
                Delivery(
                    "programs",
                    name,
                    "program_participation",
                    n,
                    canonical_rows=n_out,
                    note="wide Y/N flags: one canonical row per Y"
                    + (
                        "; a full re-export (the earlier rows again, upserted)"
                        if file_date.month == 5
                        else ""
                    ),
                )
            )

        name = "sped_students_2026-05-29.csv"
        sped = sorted((st for st in d.students if st.sped), key=lambda s: s.state_id)
        quarantined: list[dict[str, Any]] = []
        if _room_for(len(sped), 2):
            pool = [
                st
                for st in sped
                if not st.planted
                and st.race_ethnicity != "black"
                and st.sped != "emotional_disturbance"
            ]
            a, b = self._victims(pool, 2)
            d.sped_quarantine[a.idx] = (
                "dates_are_plausible",
                "begin_date",
                D(1900, 1, 1),
                a.sped_end,
            )
            end_b = (b.sped_begin or FIRST_DAY) - dt.timedelta(days=30)
            d.sped_quarantine[b.idx] = (
                "end_date_not_before_begin_date",
                "end_date",
                b.sped_begin,
                end_b,
            )
        cases = d.rng("case_managers")
        managers = [f"{cases.choice(FEMALE_NAMES)} {cases.choice(LAST_NAMES)}" for _ in range(8)]
        rows = []
        for i, st in enumerate(sped, start=1):
            begin, end = st.sped_begin, st.sped_end
            if st.idx in d.sped_quarantine:
                rule, column, begin, end = d.sped_quarantine[st.idx]
                value = _us(begin) if column == "begin_date" else _us(end)
                quarantined.append(
                    {
                        "row_number": i + 1,
                        "data_row": i,
                        "rule": rule,
                        "column": column,
                        "value": value,
                    }
                )
            code = SPED_CODE_FOR.get(st.sped or "", "")
            if not code:
                code = ("OI", "MD", "HI", "DD")[st.idx % 4]
            lre = ("80+", "80+", "80+", "40-79", "<40")[st.idx % 5]
            rows.append(
                [
                    st.state_id,
                    st.last,
                    st.first,
                    code,
                    _us(begin),
                    _us(end),
                    managers[st.idx % len(managers)],
                    lre,
                ]
            )
        n = _write_csv(self.path("programs", name), SPED_HEADER, rows, encoding="cp1252")
        self.add(Delivery("programs", name, "program_participation", n, quarantined=quarantined))

    # ---- wellbeing survey ---------------------------------------------------------------

    def survey(self) -> None:
        d = self.d
        files = (
            ("SEL Survey Fall 2025", "sel_survey_2025-10-31.csv"),
            ("SEL Survey Spring 2026", "sel_survey_2026-04-30.csv"),
        )
        hs = d.level_schools("high")[0]
        for survey_name, file_name in files:
            recs = [r for r in d.survey_rows if r["survey"] == survey_name]
            start = D(2025, 10, 15) if "Fall" in survey_name else D(2026, 4, 14)
            if "Fall" in survey_name:
                # Planted: a typo of a real student's email (that student's answers are lost
                # to the marts) and a personal email.
                pool = sorted({r["student"].idx for r in recs if not r["student"].planted})
                victim = d.students[self.rng.choice(pool)]
                local, domain = victim.email.split("@")
                typo = local[1] + local[0] + local[2:] + "@" + domain
                if typo == victim.email:
                    typo = "x" + victim.email
                n_rows = 0
                for r in recs:
                    if r["student"] is victim:
                        r["email"], r["unmatched"] = typo, True
                        n_rows += 1
                self.unmatched(
                    "wellbeing_survey",
                    "survey_response",
                    typo,
                    "email",
                    f"typo of {victim.email} (first two letters swapped)",
                    n_rows,
                )
                extra = [
                    (
                        "jayden.w2011@gmail.com",
                        9,
                        "personal email typed instead of the school account",
                    )
                ]
            else:
                extra = [
                    (f"guest.student@{EMAIL_DOMAIN}", 10, "shared guest account, not a student"),
                    (
                        f"a.nguyen@{EMAIL_DOMAIN}",
                        11,
                        "address format of the old email system, not on the roster",
                    ),
                ]
            for email, grade, reason in extra:
                for k, (topic, _c, items) in enumerate(SURVEY_TOPICS):
                    recs.append(
                        {
                            "student": None,
                            "survey": survey_name,
                            "email": email,
                            "grade": grade,
                            "school": hs,
                            "date": start,
                            "topic": topic,
                            "score": round(100 * ((k + 2) % (items + 1)) / items, 1),
                            "unmatched": True,
                        }
                    )
                self.unmatched(
                    "wellbeing_survey",
                    "survey_response",
                    email,
                    "email",
                    reason,
                    len(SURVEY_TOPICS),
                )
            recs.sort(key=lambda r: (r["date"], r["email"].lower(), r["topic"]))
            rows = [
                [
                    r["survey"],
                    r["email"],
                    r["grade"],
                    r["school"].name,
                    _us(r["date"]),
                    r["topic"],
                    f"{r['score']:.1f}",
                ]
                for r in recs
            ]
            n = _write_csv(self.path("wellbeing_survey", file_name), SURVEY_HEADER, rows)
            self.add(Delivery("wellbeing_survey", file_name, "survey_response", n))

    # ---- LMS (parquet) ------------------------------------------------------------------

    def lms(self) -> None:
        d = self.d
        files = (
            ("canvas_weekly_2025-12-19.parquet", D(2025, 7, 1), D(2025, 12, 19)),
            ("canvas_weekly_2026-06-05.parquet", D(2025, 12, 20), D(2026, 6, 5)),
        )
        test_rows: dict[str, int] = {}
        for k, (name, start, end) in enumerate(files):
            recs = [r for r in d.lms_rows if start <= r["week"] <= end]
            # Planted: test accounts the LMS admin created; not students.
            weeks = sorted({r["week"] for r in recs})[: 6 + k]
            for login in ("canvas.teststudent", "demo.student01"):
                for w in weeks:
                    recs.append(
                        {
                            "login": login,
                            "student": None,
                            "week": w,
                            "minutes": 5,
                            "views": 12,
                            "submitted": 0,
                            "due": 0,
                        }
                    )
                test_rows[login] = test_rows.get(login, 0) + len(weeks)
            recs.sort(key=lambda r: (r["week"], r["login"]))
            table = pa.table(
                {
                    "login_id": pa.array([r["login"] for r in recs], pa.string()),
                    "week_start": pa.array([r["week"] for r in recs], pa.date32()),
                    "active_minutes": pa.array([r["minutes"] for r in recs], pa.int32()),
                    "page_views": pa.array([r["views"] for r in recs], pa.int32()),
                    "submissions": pa.array([r["submitted"] for r in recs], pa.int32()),
                    "assignments_due": pa.array([r["due"] for r in recs], pa.int32()),
                }
            )
            n = _write_parquet(self.path("lms", name), table)
            self.add(Delivery("lms", name, "lms_activity", n))
        for login, n_rows in sorted(test_rows.items()):
            self.unmatched(
                "lms", "lms_activity", login, "username", "LMS test account, not a student", n_rows
            )

    # ---- staffing (xlsx) ----------------------------------------------------------------

    def staffing(self) -> None:
        d = self.d
        name = "staff_assignments_2025-09-15.xlsx"
        by_teacher: dict[str, list[Section]] = {}
        for sec in d.sections:
            if sec.teacher:
                by_teacher.setdefault(sec.teacher.teacher_id, []).append(sec)
        rows = []
        for t in sorted(d.teachers, key=lambda t: (t.school.school_id, t.teacher_id)):
            secs = sorted(by_teacher.get(t.teacher_id, []), key=lambda s: s.section_id)
            for sec in secs or [None]:
                rows.append(
                    [
                        t.teacher_id,
                        t.last,
                        t.first,
                        t.school.school_id,
                        sec.section_id if sec else "",
                        t.role,
                        t.years,
                        "Yes" if t.in_field else "No",
                    ]
                )
        n = _write_xlsx(self.path("staffing", name), "Assignments", STAFF_HEADER, rows)
        self.add(Delivery("staffing", name, "staff_assignment", n))

    # ---- state IDEA comparison counts ---------------------------------------------------

    def state_idea(self) -> None:
        rng = self.d.rng("state_idea")
        name = "idea_state_counts_2026-08-15.csv"
        shares = {
            "hispanic_latino": 0.30,
            "american_indian_alaska_native": 0.02,
            "asian": 0.08,
            "black": 0.12,
            "native_hawaiian_pacific_islander": 0.01,
            "white": 0.42,
            "two_or_more": 0.05,
        }
        cat_share = {
            "IDEN_ID": 0.06,
            "IDEN_SLD": 0.33,
            "IDEN_ED": 0.05,
            "IDEN_SLI": 0.18,
            "IDEN_OHI": 0.16,
            "IDEN_AUT": 0.13,
        }
        rows = []
        for year, total in ((2025, 884_000), (2026, 891_500)):
            for race, share in shares.items():
                pop = round(total * share * rng.uniform(0.98, 1.02))
                swd = round(pop * 0.145 * rng.uniform(0.95, 1.05))
                for label, _canon in STATE_IDEA_CATEGORIES.items():
                    if label == "IDEN_ALL":
                        num, den = swd, pop
                    elif label in cat_share:
                        boost = 1.6 if (label == "IDEN_ED" and race == "black") else 1.0
                        num, den = (
                            round(swd * cat_share[label] * boost * rng.uniform(0.9, 1.1)),
                            pop,
                        )
                    else:
                        base = {
                            "DISC_OSSEXP_LE10": 0.045,
                            "DISC_OSSEXP_GT10": 0.006,
                            "DISC_ISS_LE10": 0.05,
                            "DISC_ISS_GT10": 0.003,
                            "DISC_TOTREM": 0.18,
                        }[label]
                        boost = 1.8 if race == "black" else 1.0
                        num, den = round(swd * base * boost * rng.uniform(0.9, 1.1)), swd
                    rows.append([year, label, STATE_RACE_LABELS[race], num, den])
        n = _write_csv(
            self.path("state_idea", name), STATE_IDEA_HEADER, rows, trailing_delimiter=True
        )
        self.add(
            Delivery(
                "state_idea",
                name,
                "state_comparison",
                n,
                note="every data row ends with a stray comma (an empty extra field)",
            )
        )

    def export_all(self) -> list[Delivery]:
        self.sis()
        self.sis_calendar()
        self.attendance()
        self.map_growth()
        self.state_assessment()
        self.gradebook()
        self.behavior()
        self.programs()
        self.survey()
        self.lms()
        self.staffing()
        self.state_idea()
        return self.deliveries


# --------------------------------------------------------------------------------------
# The answers: planted facts and what the marts should find
# --------------------------------------------------------------------------------------

PLANTED_DISPARITIES = (
    {
        "metric": "suspended",
        "dimension": "race_ethnicity",
        "subgroup": "black",
        "planted": "suspension probability x3 for black students (incidents without suspension at parity)",
        "planted_ratio": 3.0,
    },
    {
        "metric": "chronically_absent",
        "dimension": "economically_disadvantaged",
        "subgroup": "yes",
        "planted": "chronically-absent propensity 25% vs 12% (about 2x)",
        "planted_ratio": 2.0,
    },
    {
        "metric": "advanced_course_enrolled",
        "dimension": "race_ethnicity",
        "subgroup": "hispanic_latino",
        "planted": "advanced-track probability 12% vs 36% in grades 9-12 (about 1/3)",
        "planted_ratio": 0.33,
    },
    {
        "metric": "identification_emotional_disturbance",
        "dimension": "race_ethnicity",
        "subgroup": "black",
        "planted": "4% of black students without an IEP additionally identified with emotional disturbance (IDEA risk ratio well above 3)",
        "planted_ratio": 5.0,
        "mart": "mart_disproportionality",
    },
)


class _Answers:
    """Computes, from the generated truth minus what the pipeline will quarantine or fail
    to match, the numbers the marts should produce (METRICS.md rules)."""

    def __init__(self, district: _District):
        self.d = district

    def counted_events(self, st: Student) -> list[AttEvent]:
        return [e for e in self.by_student.get(st.idx, []) if not e.quarantine and not e.unmatched]

    def prepare(self) -> None:
        self.by_student: dict[int, list[AttEvent]] = {}
        for e in self.d.events:
            self.by_student.setdefault(e.student.idx, []).append(e)
        # the published incidents of each student, in d.incidents order (one pass, not one
        # scan of every incident per student: that was quadratic at 100k students)
        self.incidents_by_student: dict[int, list[Incident]] = {}
        for i in self.d.incidents:
            if not i.quarantine:
                self.incidents_by_student.setdefault(i.student.idx, []).append(i)
        self.advanced_idx: set[int] = set()
        for sec in self.d.sections:
            if sec.course.advanced:
                for st, _a, _b in sec.roster:
                    if (st.idx, sec.section_id) not in self.d.section_quarantine:
                        self.advanced_idx.add(st.idx)

    def attendance(self, st: Student) -> dict[str, Any]:
        enrolled = {(s.school_id, d) for s, d in st.days}
        day_abs: dict[dt.date, float] = {}
        day_hdw: dict[dt.date, float] = {}
        ignored = []
        by_school: dict[str, list[float]] = {}
        for s, _d in st.days:
            by_school.setdefault(s.school_id, [0, 0.0])[0] += 1
        for e in self.counted_events(st):
            if (e.school.school_id, e.day) not in enrolled:
                why = (
                    "not an instructional day"
                    if e.day not in e.school.day_set
                    else "student not enrolled at that school that day"
                )
                ignored.append(
                    {
                        "school_id": e.school.school_id,
                        "event_date": _iso(e.day),
                        "code": e.code,
                        "why_not_counted": why,
                    }
                )
                continue
            day_abs[e.day] = min(1.0, max(day_abs.get(e.day, 0.0), e.absence))
            day_hdw[e.day] = min(1.0, max(day_hdw.get(e.day, 0.0), e.absence_half_day_whole))
        school_of = {d: s.school_id for s, d in st.days}
        for day, a in day_abs.items():
            by_school[school_of[day]][1] += a
        n = len(st.days)
        absent = round(sum(day_abs.values()), 4)
        hdw = round(sum(day_hdw.values()), 4)
        return {
            "as_of": _iso(AS_OF),
            "days_enrolled": n,
            "days_absent": absent,
            "days_absent_half_day_whole": hdw,
            "attendance_rate": round((n - absent) / n, 6) if n else None,
            "is_chronically_absent": bool(n >= 10 and absent / n >= 0.10),
            "is_chronically_absent_half_day_whole": bool(n >= 10 and hdw / n >= 0.10),
            "by_school": {
                sid: {"days_enrolled": v[0], "days_absent": round(v[1], 4)}
                for sid, v in sorted(by_school.items())
            },
            "events_not_counted": ignored,
        }

    def published_incidents(self, st: Student) -> list[Incident]:
        return list(self.incidents_by_student.get(st.idx, ()))

    def has_sped(self, st: Student) -> bool:
        return bool(st.sped) and st.idx not in self.d.sped_quarantine and bool(st.days)

    def advanced(self, st: Student) -> bool:
        return st.idx in self.advanced_idx

    def disparities(self) -> list[dict[str, Any]]:
        d = self.d
        enrolled = [st for st in d.students if st.days]
        out = []

        def rate(group: list[bool]) -> float | None:
            return round(sum(group) / len(group), 4) if group else None

        def entry(spec: dict[str, Any], yes: list[bool], no: list[bool]) -> dict[str, Any]:
            r, o = rate(yes), rate(no)
            return {
                **spec,
                "scope": "district",
                "realized": {
                    "n_students": len(yes),
                    "n_outcome": sum(yes),
                    "rate": r,
                    "others_n_students": len(no),
                    "others_n_outcome": sum(no),
                    "others_rate": o,
                    "risk_ratio": round(r / o, 3) if r is not None and o else None,
                },
            }

        specs = {s["metric"]: s for s in PLANTED_DISPARITIES}
        # suspended, over all enrolled students
        susp = {
            st.idx: any(i.is_suspension for i in self.published_incidents(st)) for st in enrolled
        }
        out.append(
            entry(
                specs["suspended"],
                [susp[st.idx] for st in enrolled if st.race_ethnicity == "black"],
                [susp[st.idx] for st in enrolled if st.race_ethnicity != "black"],
            )
        )
        # chronically absent, over students with >= 10 enrolled days
        pop = [st for st in enrolled if len(st.days) >= 10]
        chronic = {st.idx: self.attendance_quick(st) for st in pop}
        ed = [st for st in pop if "economically_disadvantaged" in st.programs]
        out.append(
            entry(
                specs["chronically_absent"],
                [chronic[st.idx] for st in ed],
                [chronic[st.idx] for st in pop if "economically_disadvantaged" not in st.programs],
            )
        )
        # advanced course enrolled, grades 9-12
        hs = [st for st in enrolled if st.grade >= 9]
        adv = {st.idx: self.advanced(st) for st in hs}
        out.append(
            entry(
                specs["advanced_course_enrolled"],
                [adv[st.idx] for st in hs if st.race_ethnicity == "hispanic_latino"],
                [adv[st.idx] for st in hs if st.race_ethnicity != "hispanic_latino"],
            )
        )
        # IDEA: emotional disturbance identification, unknown race left out
        known = [st for st in enrolled if st.race_ethnicity != "unknown"]
        ident = {st.idx: self.has_sped(st) and st.sped == "emotional_disturbance" for st in known}
        e = entry(
            specs["identification_emotional_disturbance"],
            [ident[st.idx] for st in known if st.race_ethnicity == "black"],
            [ident[st.idx] for st in known if st.race_ethnicity != "black"],
        )
        e["category"] = "identification_emotional_disturbance"
        out.append(e)
        return out

    def attendance_quick(self, st: Student) -> bool:
        enrolled = {(s.school_id, d) for s, d in st.days}
        day_abs: dict[dt.date, float] = {}
        for e in self.counted_events(st):
            if (e.school.school_id, e.day) in enrolled:
                day_abs[e.day] = min(1.0, max(day_abs.get(e.day, 0.0), e.absence))
        return sum(day_abs.values()) / len(st.days) >= 0.10

    def planted_students(self) -> list[dict[str, Any]]:
        d = self.d
        out = []
        stories = {
            "chronic_absence_ed_el": "Grade 3, full year at one school; economically disadvantaged English learner; 18 full-day absences and two half days: chronically absent under both partial-day rules.",
            "two_enrollments": "Grade 5; leaves one school on 2025-11-14 and enrolls at another (or re-enrolls) on 2025-12-01; one attendance event after the exit and one on MLK Day must not count; homeless from 2025-12-01.",
            "suspended_high_school": "Grade 10; one in-school suspension (Oct) and one out-of-school suspension (Mar, 3 days recorded as attendance code SUS); fails Geometry in S1; the March incident arrives in the rejected behavior file and again in the corrected re-export.",
            "midyear_sped_partial_days": "Grade 7; enters 2025-10-09; IEP for emotional disturbance since 2024-03-12; partial days with and without a fraction, early departures, tardies (a tardy with a fraction counts 0): chronically absent under half_day_whole only.",
            "overlap_withdrawn_advanced": "Grade 11; two overlapping enrollments at the same school (merged, never double counted), withdrawn 2026-03-13; AP English Language and Honors Precalculus; S1 marks only; gifted.",
        }
        for label, st in d.planted.items():
            marks = sorted(
                (m for m in d.marks if m.student is st),
                key=lambda m: (m.term, m.section.course.code),
            )
            pts = [(LETTER_POINTS[m.letter], 0.5) for m in marks if m.letter]
            gpa = round(sum(p * c for p, c in pts) / sum(c for _, c in pts), 4) if pts else None
            incs = self.published_incidents(st)
            maps = [r for r in d.map_rows if r["student"] is st]
            states = sorted(
                (r for r in d.state_rows if r["student"] is st), key=lambda r: r["area"]
            )
            prof = {r["area"]: r["level"] >= 3 for r in states}
            sections = sorted(
                sec.section_id for sec in d.sections if any(s is st for s, _a, _b in sec.roster)
            )
            surveys = [r for r in d.survey_rows if r["student"] is st]
            out.append(
                {
                    "label": label,
                    "story": stories[label],
                    "local_id": st.local_id,
                    "state_id": st.state_id,
                    "email": st.email,
                    "username": st.username,
                    "first_name": st.first,
                    "last_name": st.last,
                    "grade_level": _grade_code(st.grade),
                    "sex": st.sex,
                    "race_ethnicity": st.race_ethnicity,
                    "school_id": max(st.enrollments, key=lambda e: e.entry).school.school_id,
                    "enrollments": [
                        {
                            "school_id": e.school.school_id,
                            "entry_date": _iso(e.entry),
                            "exit_date": _iso(e.exit) or None,
                            "exit_code": SIS_EXIT.get(e.exit_code or ""),
                        }
                        for e in sorted(st.enrollments, key=lambda e: e.entry)
                    ],
                    "attendance": self.attendance(st),
                    "marks": [
                        {
                            "school_id": m.section.school.school_id,
                            "course_code": m.section.course.code,
                            "subject_area": m.section.course.subject,
                            "term": m.term,
                            "mark": m.letter,
                            "is_failing": m.failing,
                            "grade_points": LETTER_POINTS[m.letter],
                            "credits_attempted": 0.5,
                            "credits_earned": m.credits_earned,
                        }
                        for m in marks
                    ],
                    "gpa": gpa,
                    "core_course_failures": sum(
                        1 for m in marks if m.failing and m.section.course.subject in CORE_SUBJECTS
                    ),
                    "course_failures": sum(1 for m in marks if m.failing),
                    "credits_earned": sum(m.credits_earned for m in marks),
                    "sections": sections,
                    "advanced_course_enrolled": self.advanced(st),
                    "incidents": [
                        {
                            "incident_id": i.incident_id,
                            "incident_date": _iso(i.day),
                            "behavior": BEHAVIOR_OFFENSES[i.offense][1],
                            "action": i.canonical_action,
                            "days_removed": i.days_removed,
                        }
                        for i in sorted(incs, key=lambda i: i.day)
                    ],
                    "n_incidents": len(incs),
                    "n_suspensions": sum(1 for i in incs if i.is_suspension),
                    "suspended": any(i.is_suspension for i in incs),
                    "programs": {
                        p: (p in st.programs) if p != "special_education" else self.has_sped(st)
                        for p in PROGRAMS
                    },
                    "program_begin_dates": {p: _iso(b) for p, b in sorted(st.programs.items())}
                    | ({"special_education": _iso(st.sped_begin)} if st.sped else {}),
                    "disability_category": st.sped if self.has_sped(st) else None,
                    "map_results": len(maps),
                    "state_assessment": {
                        "ela_proficient": prof.get("ELA"),
                        "math_proficient": prof.get("MATH"),
                        "science_proficient": prof.get("SCI"),
                    },
                    "survey_rows": len(surveys),
                    "lms_weeks": sum(1 for r in d.lms_rows if r["student"] is st),
                }
            )
        return out


# --------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------


def generate(out: Path, students: int = 2000, seed: int = 42) -> dict:
    """Write the demo district's exports under ``out`` (one folder per source landing name)
    and return the planted facts, also written to ``out/_expected.json``.

    Files are overwritten, never deleted: ``out`` may already hold other deliveries.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    district = _District(students, seed).build()
    exporter = _Exporter(district, out)
    deliveries = exporter.export_all()
    answers = _Answers(district)
    answers.prepare()

    roster = [st for st in district.students]
    schools = []
    for s in district.schools:
        n_enrolled = sum(1 for st in roster if any(sc is s for sc, _a, _b in st.spans()))
        schools.append(
            {
                "school_id": s.school_id,
                "name": s.name,
                "school_type": s.level,
                "grade_low": _grade_code(s.grade_low),
                "grade_high": _grade_code(s.grade_high),
                "instructional_days": len(s.days),
                "students_enrolled": n_enrolled,
            }
        )
    by_source: dict[str, list[str]] = {}
    for dl in deliveries:
        by_source.setdefault(dl.source, []).append(dl.file_name)
    rejected = [dl.expected() for dl in deliveries if dl.rejected]
    expected: dict[str, Any] = {
        "generator": {"version": GENERATOR_VERSION, "students": students, "seed": seed},
        "conventions": {
            "row_number": "the row as a spreadsheet shows it and the quarantine reports it (header = row 1, first data row = 2); data_row counts data rows from 1. Ed-Fi JSON: the record's position in the array, or its line in a JSON Lines file (both from 1, so row_number = data_row)",
            "rules": "the planted rule, named as quality.validate names it (unmapped_code, range, required, dates_are_plausible, end_date_not_before_begin_date; file rule missing_column); a row may break more rules than the one planted",
            "realized": "computed by the generator with METRICS.md rules from the published rows (quarantined, unmatched and rejected rows left out)",
        },
        "district": {
            "district_id": DISTRICT_ID,
            "name": DISTRICT_NAME,
            "school_year": SCHOOL_YEAR,
            "first_day": _iso(FIRST_DAY),
            "last_day": _iso(LAST_DAY),
            "as_of": _iso(AS_OF),
            "schools": schools,
            "students_on_roster": len(roster),
            "students_enrolled": sum(1 for st in roster if st.days),
            "no_show_students": sorted(district.students[i].local_id for i in district.no_show_idx),
            "overlapping_enrollment_students": sorted(
                [district.students[i].local_id for i in district.overlap_idx]
                + [district.planted["overlap_withdrawn_advanced"].local_id]
            ),
            "students_with_two_or_more_enrollments": sum(
                1 for st in roster if len(st.enrollments) >= 2
            ),
            "teachers": sum(1 for t in district.teachers if t.role == "Classroom Teacher"),
            "novice_teacher_school": district.novice_school.school_id,
        },
        "sources": {
            name: {"landing": LANDING_NAMES[name], "files": by_source.get(name, [])}
            for name in LANDING_NAMES
        },
        "unconnected_domains": list(UNCONNECTED_DOMAINS),
        "deliveries": [dl.expected() for dl in deliveries],
        "rejected_deliveries": rejected,
        "unmatched": sorted(district.unmatched, key=lambda u: (u["source"], u["student_ref"])),
        "disparities": answers.disparities(),
        "planted_students": answers.planted_students(),
        "corrected_records": district.corrections,
        "totals": {"files": len(deliveries), "rows": sum(dl.rows for dl in deliveries)},
        "notes": [
            "Derived, not planted: out-of-school suspension days are absences (attendance code SUS), so the suspension disparity adds a little absence for black students; the extra emotional-disturbance identification raises black students' any-disability share (~1.25x); suspensions and absences feed off_track.",
            "Every other group is at parity in expectation: programs, ability, wellbeing and engagement are drawn independently of race, sex and programs, and schools are assigned independently of demographics.",
            f"School {district.novice_school.school_id} is staffed mostly by teachers with under 3 years of experience (a school-level fact for taught_by_inexperienced_teacher).",
            "The unpadded local id, the mistyped SSID and the mistyped email belong to real students, whose rows in those deliveries are therefore missing from the marts.",
            "Corrected records (corrected_records): a few September attendance events were sent with the wrong category and re-sent right in the October upserts; the October deletes file removes the wrong ones by id. The planted facts count the corrected events only, so they hold only if the deletes apply.",
        ],
    }
    (out / "_expected.json").write_text(
        json.dumps(expected, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return expected
