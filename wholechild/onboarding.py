"""``wholechild add-source``: scaffold a source YAML from a sample export.

The sample is read by the ordinary readers (encoding and delimiter guessed first, so a
BOM, UTF-16 or a semicolon file all work). Each canonical entity is scored by how many of
its columns the header can feed (required columns count most); the best one wins unless
the user names one. A column is proposed for a header when the header is one of the
column's usual names (``StudentID``, ``Student_StateID``, ``SSID`` -> ``student_ref``) and
the sample's values fit the column's type; a date column gets the strptime format its
values parse with. Codes of the sample's values are proposed where they are obvious
(``Mathematics`` -> ``math``).

What cannot be guessed is left for a person, in a way the registry reports exactly: a
required column nobody could map is a ``# TODO`` line and stays missing (the registry
names every missing column in one error), the steward is ``TODO`` (not an email), and a
code nobody could guess maps to ``TODO`` (not a canonical code). The file is never
overwritten.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from schemas import ENTITIES
from schemas._base import ColumnSpec, EntitySpec
from wholechild.readers import DeliveryRejected, RawTable, read_table
from wholechild.registry import NAME_RE
from wholechild.standards.common import subject_from_text

TODO = "TODO"
SAMPLE_ROWS = 2000

#: Usual header names of each canonical column, normalized (lower case, letters and digits).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "student_ref": (
        "studentid",
        "studentnumber",
        "studentno",
        "studentlocalid",
        "localstudentid",
        "localid",
        "sisid",
        "pupilid",
        "studentstateid",
        "statestudentid",
        "stateid",
        "ssid",
        "studentemail",
        "studentusername",
    ),
    "local_id": ("localid", "studentnumber", "localstudentid", "sisid"),
    "state_id": ("stateid", "studentstateid", "statestudentid", "ssid"),
    "email": ("email", "studentemail", "emailaddress"),
    "username": ("username", "login", "networkid", "userid"),
    "first_name": ("firstname", "givenname", "studentfirstname", "fname", "first"),
    "last_name": ("lastname", "familyname", "surname", "lastsurname", "studentlastname", "lname"),
    "birth_date": ("birthdate", "dob", "dateofbirth", "birthday"),
    "sex": ("sex", "gender", "studentgender"),
    "race_ethnicity": ("race", "ethnicity", "raceethnicity", "federalrace"),
    "grade_level": ("grade", "gradelevel", "grd", "studentgrade", "enrolledgrade"),
    "school_id": (
        "schoolid",
        "schoolnumber",
        "schoolcode",
        "schoolstateid",
        "school",
        "buildingid",
        "locationid",
    ),
    "school_name": ("schoolname", "nameofinstitution", "buildingname"),
    "district_id": ("districtid", "districtnumber", "districtstateid", "leaid"),
    "assessment_name": ("assessmentname", "assessment", "assessmenttitle", "testfamily"),
    "test_code": ("testname", "testid", "testcode", "testform", "form"),
    "subject": ("subject", "subjectarea", "contentarea", "testsubject"),
    "subject_area": ("subjectarea", "subject", "department", "contentarea"),
    "assessed_on": (
        "testdate",
        "teststartdate",
        "assessmentdate",
        "administrationdate",
        "datetested",
        "testeddate",
    ),
    "scale_score": ("scalescore", "ritscore", "testritscore", "scaledscore", "ss"),
    "percentile": ("percentile", "testpercentile", "nationalpercentile", "percentilerank", "npr"),
    "performance_level": (
        "performancelevel",
        "achievementlevel",
        "proficiencylevel",
        "achievementquintile",
    ),
    "is_proficient": ("proficient", "isproficient", "metstandard"),
    "event_date": ("date", "eventdate", "attendancedate", "absencedate", "calendardate"),
    "category": ("code", "attendancecode", "category", "attendancetype", "absencecode"),
    "absent_fraction": ("absentfraction", "fraction", "portionabsent", "eventduration"),
    "entry_date": ("entrydate", "enrollmentdate", "enterdate", "admitdate"),
    "exit_date": ("exitdate", "withdrawdate", "withdrawaldate", "leavedate"),
    "exit_code": ("exitcode", "withdrawcode", "exitreason", "withdrawalcode"),
    "school_year": ("schoolyear", "academicyear", "yearid"),
    "calendar_date": ("calendardate", "date", "datevalue"),
    "is_instructional": ("insession", "instructional", "isinstructional", "instructionalday"),
    "section_id": ("sectionid", "section", "classid", "sectionnumber"),
    "course_code": ("coursecode", "courseid", "coursenumber", "course"),
    "course_title": ("coursetitle", "coursename"),
    "teacher_id": ("teacherid", "teachernumber", "staffid", "instructorid"),
    "begin_date": ("begindate", "startdate"),
    "end_date": ("enddate",),
    "term": ("term", "termname", "markingperiod", "storecode"),
    "mark": ("mark", "lettergrade", "finalgrade"),
    "grade_points": ("gradepoints", "gpapoints", "points"),
    "credits_attempted": ("creditsattempted", "potentialcredit", "credithours"),
    "credits_earned": ("creditsearned", "earnedcredit", "earnedcredits"),
    "incident_id": ("incidentid", "incidentnumber", "incident", "referralid"),
    "incident_date": ("incidentdate", "referraldate"),
    "behavior": ("behavior", "offense", "violation", "behaviorcode", "offensecode"),
    "action": ("action", "consequence", "actioncode", "disciplineaction"),
    "days_removed": ("daysremoved", "suspensiondays", "duration"),
    "program": ("program", "programcode", "programname"),
    "disability_category": ("disability", "disabilitycategory", "primarydisability"),
    "survey_name": ("surveyname", "survey"),
    "administered_on": ("administeredon", "surveydate", "responsedate"),
    "construct": ("construct", "scale", "measure"),
    "score": ("score",),
    "activity_date": ("activitydate", "logindate"),
    "course_ref": ("courseref", "courseid", "course"),
    "minutes_active": ("minutesactive", "minutes", "timeonline"),
    "assignments_submitted": ("assignmentssubmitted", "submitted"),
    "assignments_due": ("assignmentsdue", "due"),
    "event_type": ("eventtype", "visittype", "visitreason"),
    "minutes_missed": ("minutesmissed",),
    "outcome": ("outcome", "disposition"),
    "years_experience": ("yearsexperience", "experience", "yearsofexperience"),
    "is_in_field": ("infield", "isinfield"),
    "n_outcome": ("noutcome", "outcomecount"),
    "n_population": ("npopulation", "populationcount", "population"),
}
STATE_WORDS = ("state", "ssid")
DATE_FORMATS = (
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%m/%d/%y",
    "%d/%m/%Y",
    "%Y%m%d",
    "%m-%d-%Y",
    "%Y/%m/%d",
    "%d.%m.%Y",
    "%Y-%m-%dT%H:%M:%S",
)
_FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}


class OnboardingError(ValueError):
    """The scaffold cannot be written; ``str()`` says why and what to do."""


def normalize(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


@dataclass
class Sample:
    path: Path
    format: str
    options: dict
    table: RawTable

    def values(self, header: str) -> list[str]:
        s = self.table.frame[header].head(SAMPLE_ROWS).dropna().astype(str)
        return s.tolist()


@dataclass
class Proposal:
    """One canonical column fed by one header (``format`` for dates)."""

    column: str
    header: str
    score: float
    format: str | None = None
    note: str = ""


@dataclass
class Scaffold:
    """What add-source proposes (and writes): the YAML text and what is left to do."""

    name: str
    entity: str
    sample: Sample
    columns: dict[str, Proposal]
    id_kind: str
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    todos: list[str] = field(default_factory=list)
    text: str = ""
    path: Path | None = None


# --------------------------------------------------------------------------- reading
def _guess_encoding(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4096]:
        return "utf-16"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        data.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _guess_delimiter(data: bytes, encoding: str) -> str:
    text = data[: 1 << 16].decode(encoding, errors="replace").lstrip("\ufeff")
    first = text.splitlines()[0] if text.splitlines() else ""
    counts = {d: first.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_sample(path: Path) -> Sample:
    """The sample as a text table, by the same readers a delivery goes through."""
    path = Path(path)
    if not path.is_file():
        raise OnboardingError(f"{path} is not a file; give a sample export (csv, xlsx, parquet).")
    fmt = _FORMATS.get(path.suffix.lower(), "csv")
    options: dict = {}
    if fmt == "csv":
        data = path.read_bytes()
        encoding = _guess_encoding(data)
        options = {"encoding": encoding, "delimiter": _guess_delimiter(data, encoding)}
    try:
        table = read_table(path, fmt, options)
    except DeliveryRejected as exc:
        raise OnboardingError(f"the sample cannot be read: {exc.message}") from None
    return Sample(path, fmt, options, table)


# --------------------------------------------------------------------------- matching
def date_format(values: list[str]) -> str | None:
    """The first strptime format every value parses with (US before day-first)."""
    values = values[:200]
    if not values:
        return None
    for fmt in DATE_FORMATS:
        try:
            for v in values:
                dt.datetime.strptime(v, fmt)
        except ValueError:
            continue
        return fmt
    return None


def _fits(col: ColumnSpec, values: list[str]) -> tuple[bool, str | None]:
    """Whether the sample's values fit the column's type (and a date's format)."""
    if not values:
        return True, None
    if col.type == "date":
        fmt = date_format(values)
        return fmt is not None, fmt
    if col.type in ("double", "bigint"):
        nums = pd.to_numeric(pd.Series(values), errors="coerce")
        return bool(nums.notna().mean() >= 0.9), None
    if col.type == "boolean":
        words = {"y", "yes", "true", "t", "1", "x", "n", "no", "false", "f", "0"}
        return all(v.strip().lower() in words for v in values), None
    return True, None


def _name_score(column: str, header: str) -> float:
    h = normalize(header)
    names = (normalize(column), *SYNONYMS.get(column, ()))
    if h in names:
        return 1.0
    best = max(difflib.SequenceMatcher(None, h, n).ratio() for n in names)
    if best >= 0.88:
        return best
    if any(len(n) >= 6 and h.endswith(n) for n in names):
        return 0.8
    return 0.0


def _student_ref(sample: Sample) -> tuple[Proposal | None, str]:
    """The student id header and its kind: a local id first, then state, email, username."""
    ranked = []
    for header in sample.table.headers:
        h = normalize(header)
        if _name_score("student_ref", header) < 0.8 and h not in ("email", "username"):
            continue
        values = sample.values(header)
        if values and sum("@" in v for v in values) > len(values) / 2:
            kind = "email"
        elif any(w in h for w in STATE_WORDS):
            kind = "state"
        elif "user" in h or "login" in h:
            kind = "username"
        else:
            kind = "local"
        rank = ("local", "state", "email", "username").index(kind)
        ranked.append((rank, -_name_score("student_ref", header), header, kind))
    if not ranked:
        return None, "local"
    rank, score, header, kind = min(ranked)
    why = "digits" if all(v.isdigit() for v in sample.values(header)[:50]) else "values"
    return Proposal("student_ref", header, -score, note=f"{kind} id ({why})"), kind


def propose_columns(spec: EntitySpec, sample: Sample) -> tuple[dict[str, Proposal], str]:
    """Canonical column -> proposal for one entity, each header used once."""
    chosen: dict[str, Proposal] = {}
    kind = "local"
    used: set[str] = set()
    if "student_ref" in spec.columns:
        ref, kind = _student_ref(sample)
        if ref is not None:
            chosen["student_ref"] = ref
            used.add(ref.header)
    candidates = []
    for name, col in spec.columns.items():
        if name in chosen or name == "source_record_id":
            continue
        for header in sample.table.headers:
            score = _name_score(name, header)
            if score <= 0:
                continue
            ok, fmt = _fits(col, sample.values(header))
            if ok:
                candidates.append((score + (0.01 if col.required else 0), name, header, fmt))
    for score, name, header, fmt in sorted(candidates, key=lambda c: -c[0]):
        if name in chosen or header in used:
            continue
        chosen[name] = Proposal(name, header, score, fmt)
        used.add(header)
    ordered = {n: chosen[n] for n in spec.columns if n in chosen}
    return ordered, kind


def entity_score(spec: EntitySpec, columns: dict[str, Proposal]) -> float:
    """How well the header fits an entity: the share of its required columns it feeds,
    plus how specific the fed columns are (``scale_score`` says assessment far more
    than ``school_id``, which a dozen entities have)."""
    required = spec.required
    covered = sum(1 for r in required if r in columns)
    specific = sum(1.0 / sum(1 for e in ENTITIES.values() if c in e.columns) for c in columns)
    return 10.0 * covered / max(len(required), 1) + 3.0 * specific


def best_entity(sample: Sample) -> str:
    scores = {
        name: entity_score(spec, propose_columns(spec, sample)[0])
        for name, spec in ENTITIES.items()
    }
    return max(sorted(scores), key=lambda n: scores[n])


# --------------------------------------------------------------------------- codes
_SEX = {"f": "female", "female": "female", "girl": "female", "m": "male", "male": "male"}
_SEX |= {"boy": "male", "x": "nonbinary", "nonbinary": "nonbinary", "n": "nonbinary"}
_SEX |= {"u": "not_selected", "unknown": "not_selected", "notselected": "not_selected"}
_ATTENDANCE = {
    "p": "present",
    "present": "present",
    "a": "unexcused_absence",
    "u": "unexcused_absence",
    "absent": "unexcused_absence",
    "unexcused": "unexcused_absence",
    "e": "excused_absence",
    "excused": "excused_absence",
    "t": "tardy",
    "tardy": "tardy",
}


def guess_code(column: str, value: str, allowed: tuple[str, ...]) -> str | None:
    low = normalize(value)
    by_norm = {normalize(a): a for a in allowed}
    if low in by_norm:
        return by_norm[low]
    if column in ("subject", "subject_area"):
        return subject_from_text(value)
    if column == "sex":
        return _SEX.get(low)
    if column == "category":
        return _ATTENDANCE.get(low)
    if column in ("grade_level", "grade_low", "grade_high"):
        raw = value.strip().lower()
        if raw in ("k", "kg", "0", "00", "kindergarten"):
            return "KG"
        if raw in ("pk", "p", "-1", "prek", "pre-k", "prekindergarten"):
            return "PK"
        if raw.isdigit() and 1 <= int(raw) <= 12:
            return f"{int(raw):02d}"
    return None


def propose_codes(spec: EntitySpec, columns: dict[str, Proposal], sample: Sample) -> dict:
    codes: dict[str, dict[str, str]] = {}
    for name, proposal in columns.items():
        col = spec.columns[name]
        if not col.codes:
            continue
        table = {}
        for value in sorted(set(sample.values(proposal.header)))[:50]:
            if value in col.codes:
                continue
            table[value] = guess_code(name, value, col.codes) or TODO
        if table:
            codes[name] = table
    return codes


# --------------------------------------------------------------------------- writing
def _q(value) -> str:
    """A YAML scalar: plain when safe, else a JSON string (valid YAML)."""
    text = str(value)
    plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.@:/ -]*", text) and not text.endswith(" ")
    if plain and text.lower() not in ("yes", "no", "true", "false", "on", "off", "null", "y", "n"):
        return text
    return json.dumps(text, ensure_ascii=False)


def render(s: Scaffold) -> str:
    spec = ENTITIES[s.entity]
    today = dt.date.today().isoformat()
    lines = [
        f"# Scaffolded by `wholechild add-source {s.name}` from {s.sample.path.name} on {today}.",
        "# Review every line; `wholechild validate <file> --source "
        f"{s.name}` checks a real export against it.",
        f"name: {s.name}",
        f"system: {_q(s.name)}            # the label shown in the UI; rename freely",
        f"format: {s.sample.format}",
        f"entity: {s.entity}",
        f"domains: [{spec.domain}]",
        f"steward: {TODO}                # {TODO}: the steward's email, or team:<name>",
        "cadence: daily              # daily | weekly | monthly | term | yearly",
    ]
    if "student_ref" in spec.columns:
        ref = s.columns.get("student_ref")
        why = f"  # {ref.header}: {ref.note}" if ref else ""
        lines.append(f"student_id: {s.id_kind}{why}")
    lines += ["mode: incremental", "columns:"]
    for name, p in s.columns.items():
        if p.format and p.format != "%Y-%m-%d":
            lines.append(f"  {name}: {{header: {_q(p.header)}, format: {json.dumps(p.format)}}}")
        else:
            lines.append(f"  {name}: {_q(p.header)}")
    missing = [r for r in spec.required if r not in s.columns]
    for name in missing:
        lines.append(f"  # {TODO} {name}: map a header here, or set it under constants (required)")
    if s.codes:
        lines.append("codes:")
        for name, table in s.codes.items():
            lines.append(f"  {name}:")
            for value, code in table.items():
                comment = (
                    f"  # {TODO}: one of {', '.join(spec.columns[name].codes)}"
                    if code == TODO
                    else ""
                )
                lines.append(f"    {_q(value)}: {_q(code)}{comment}")
    opts = s.sample.options
    if opts:
        lines.append(
            f"options: {{encoding: {opts['encoding']}, delimiter: {json.dumps(opts['delimiter'])}}}"
        )
    lines.append("quality: {max_reject_rate: 0.02}")
    return "\n".join(lines) + "\n"


def scaffold(name: str, sample_path: Path, entity: str | None = None) -> Scaffold:
    """Read the sample and propose the YAML (nothing is written)."""
    if not NAME_RE.match(name or ""):
        raise OnboardingError(
            f"'{name}' is not a usable source name; use [a-z][a-z0-9_]* (e.g. map_growth)."
        )
    if entity is not None and entity not in ENTITIES:
        raise OnboardingError(
            f"'{entity}' is not a canonical entity; known: {', '.join(sorted(ENTITIES))}."
        )
    sample = read_sample(sample_path)
    entity = entity or best_entity(sample)
    spec = ENTITIES[entity]
    columns, kind = propose_columns(spec, sample)
    s = Scaffold(name, entity, sample, columns, kind)
    s.codes = propose_codes(spec, columns, sample)
    s.todos.append("steward: the steward's email address or team:<name>")
    for req in spec.required:
        if req not in columns:
            s.todos.append(f"{req}: map a header of the sample, or set a constant (required)")
    for column, table in s.codes.items():
        for value, code in table.items():
            if code == TODO:
                s.todos.append(f"codes.{column}: the canonical code of '{value}'")
    s.text = render(s)
    return s


def write(s: Scaffold, folder: Path) -> Path:
    """Write ``<folder>/<name>.yml``; an existing file is never overwritten."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{s.name}.yml"
    if path.exists() or (folder / f"{s.name}.yaml").exists():
        raise OnboardingError(
            f"{path} already exists; edit it, or remove it first to scaffold it again."
        )
    with path.open("x", encoding="utf-8") as fh:  # "x": never clobber a file made meanwhile
        fh.write(s.text)
    s.path = path
    return path
