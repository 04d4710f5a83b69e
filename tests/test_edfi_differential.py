"""Ed-Fi JSON: the columnar reader and mapper give exactly the per-record parts of before.

The reference below is the per-record implementation as it stood before the columnar
path (git ``ad02ab6``: ``wholechild/readers/edfi.py`` ``read_records`` and the loop of
``wholechild/standards/edfi.py`` ``read_parts``), frozen here; it calls the module's
per-record row functions (``RESOURCES[...].row``), which stay the specification of every
resource. Each case compares every field of every :class:`Part` (the text table, row
numbers, bad records, prior violations, tombstone flags, raw record texts, the export)
or the rejection, on the demo district's Ed-Fi files, the real Ed-Fi exports in
``../shared/data/real`` (copied, never edited) and hand-made edge cases.
"""

from __future__ import annotations

import codecs
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quality.violations import VIOLATION_COLUMNS, empty_violations
from tests.conftest import ROOT, SHARED
from tests.test_edfi import YML, _program, _school, attendance, d
from wholechild.parts import Part, standard_export
from wholechild.readers import BadRecord, DeliveryRejected
from wholechild.readers.edfi import DELETES, UPSERTS, resource_of
from wholechild.readers.text import to_utf8
from wholechild.registry import load_registry
from wholechild.standards import crosswalk, edfi
from wholechild.standards.common import merged_codes, text_table

REAL_EDFI = SHARED / "data" / "real" / "edfi_api_json"


# ----------------------------------------------------------------- the frozen reference
class _RefRecords:
    def __init__(self, file: Path, resource: str, kind: str):
        self.file, self.resource, self.kind = file, resource, kind
        self.records: list[dict] = []
        self.row_numbers: list[int] = []
        self.texts: list[str] = []
        self.bad_records: list[BadRecord] = []


def _ref_read_records(path: Path, options: dict | None = None) -> _RefRecords:
    path = Path(path)
    named = resource_of(path.name)
    if named is None:
        raise DeliveryRejected(
            "unknown_file",
            f"{path.name}: an Ed-Fi export is named by its resource, e.g. "
            "students.upserts.2022-07-14.json.",
        )
    out = _RefRecords(path, *named)
    if path.is_dir():
        raise DeliveryRejected(
            "unknown_file",
            f"{path.name}: is a folder; deliver Ed-Fi resources one JSON file each.",
        )
    data = path.read_bytes()
    if not data.strip():
        raise DeliveryRejected(
            "empty_file", f"{path.name}: is empty; ask the sender to export it again."
        )
    encoding = (options or {}).get("encoding") or "utf-8"
    text = to_utf8(data, encoding, path).decode("utf-8")
    if text.lstrip().startswith("["):
        _ref_read_array(out, text)
    else:
        _ref_read_lines(out, text)
    return out


def _ref_add(out: _RefRecords, number: int, value, raw: str) -> None:
    if isinstance(value, dict):
        out.records.append(value)
        out.row_numbers.append(number)
        out.texts.append(raw)
    else:
        out.bad_records.append(
            BadRecord(
                number,
                "not_an_object",
                f"the record is a JSON {type(value).__name__}, not an object.",
                raw[:2000],
            )
        )


def _ref_read_array(out: _RefRecords, text: str) -> None:
    try:
        values = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DeliveryRejected(
            "invalid_json",
            f"{out.file.name}: is not valid JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}); ask the sender for a complete export.",
        ) from exc
    if not isinstance(values, list):
        raise DeliveryRejected(
            "invalid_json", f"{out.file.name}: holds a JSON {type(values).__name__}, not records."
        )
    for i, value in enumerate(values, start=1):
        _ref_add(out, i, value, json.dumps(value, ensure_ascii=False))


def _ref_parses(line: str) -> bool:
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True


def _ref_read_lines(out: _RefRecords, text: str) -> None:
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    if lines and not _ref_parses(lines[0].strip()):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, dict):
            _ref_add(out, 1, value, text.strip())
            return
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line:
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            out.bad_records.append(
                BadRecord(
                    number,
                    "invalid_json",
                    f"the line is not a JSON object ({exc.msg} at column {exc.colno}).",
                    line[:2000],
                )
            )
            continue
        _ref_add(out, number, value, line)


def _ref_read_parts(source, path: Path, lookup=None) -> list[Part]:
    get, text = edfi.get, edfi.text
    name, kind, resource = edfi._resource(source, path)
    export = source.export_of(resource.entity)
    data = _ref_read_records(path, source.options)
    label = path.name
    if kind == DELETES:
        if export.mode == "snapshot":
            raise DeliveryRejected(
                "deletes_in_snapshot",
                f"{label}: deletes apply to incremental sources, and this source loads "
                f"{resource.entity} as a snapshot (its next full export drops the rows); "
                "stop landing deletes files or set mode: incremental.",
            )
        ids = [text(get(r, "id")) for r in data.records]
        table = text_table(label, {"source_record_id": ids}, data.row_numbers, data.bad_records)
        if not table.records_read:
            return []
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
    ctx = edfi.Context(export=export, xwalk=crosswalk.load(), lookup=lookup)
    rows, numbers, texts, violations = [], [], [], []
    for record, number, raw in zip(data.records, data.row_numbers, data.texts, strict=True):
        ctx.violations = []
        row = resource.row(record, ctx)
        if row is None:
            continue
        row["source_record_id"] = get(record, "id")
        for rule, column, value, message in ctx.violations:
            violations.append(
                {
                    "row": len(rows),
                    "rule": rule,
                    "column_name": column,
                    "value": value,
                    "message": message,
                }
            )
        rows.append(row)
        numbers.append(number)
        texts.append(raw)
    columns = (*resource.columns, "source_record_id")
    table = text_table(
        label, {c: [text(r.get(c)) for r in rows] for c in columns}, numbers, data.bad_records
    )
    if not table.records_read:
        return []
    frame = pd.DataFrame(violations) if violations else empty_violations()
    if violations:
        frame["row"] = frame["row"].astype("int64")
        frame = frame[VIOLATION_COLUMNS]
    codes = merged_codes({}, export, skip=edfi.DESCRIPTOR_COLUMNS)
    return [
        Part(
            entity=resource.entity,
            export=standard_export(export, list(columns), codes),
            table=table,
            label=label,
            violations=frame,
            records=texts,
        )
    ]


# ------------------------------------------------------------------------- comparison
def _outcome(read, source, path, lookup):
    try:
        return read(source, path, lookup)
    except DeliveryRejected as exc:
        return ("rejected", exc.rule, exc.message)


def assert_same_parts(source, path: Path, lookup=None) -> list[Part]:
    """The columnar ``edfi.read_parts`` and the frozen per-record reference agree exactly."""
    want = _outcome(_ref_read_parts, source, path, lookup)
    got = _outcome(edfi.read_parts, source, path, lookup)
    if isinstance(want, tuple) or isinstance(got, tuple):
        assert got == want, path.name
        return []
    assert len(got) == len(want), path.name
    for g, w in zip(got, want, strict=True):
        assert (g.entity, g.label, g.export) == (w.entity, w.label, w.export), path.name
        assert g.table.file == w.table.file and g.table.headers == w.table.headers
        pd.testing.assert_frame_equal(g.table.frame, w.table.frame, check_exact=True)
        assert g.table.row_numbers.dtype == w.table.row_numbers.dtype
        np.testing.assert_array_equal(g.table.row_numbers, w.table.row_numbers)
        assert g.table.bad_records == w.table.bad_records, path.name
        if w.violations is None:
            assert g.violations is None
        else:
            pd.testing.assert_frame_equal(g.violations, w.violations, check_exact=True)
        if w.deleted is None:
            assert g.deleted is None
        else:
            assert g.deleted.dtype == w.deleted.dtype
            np.testing.assert_array_equal(g.deleted, w.deleted)
        assert len(g.records) == len(w.records)
        assert list(g.records) == list(w.records), path.name
        # what the quarantine asks for: a few positions, and a subset of the part
        n = len(w.table.frame)
        if n:
            positions = np.unique(np.array([0, n // 2, n - 1], dtype=np.int64))
            assert g.record_text(positions) == w.record_text(positions)
            keep = np.zeros(n, dtype=bool)
            keep[positions] = True
            assert g.subset(keep, True).records == w.subset(keep, True).records
        assert g.source_frame is None and w.source_frame is None
    return got


# ------------------------------------------------------------------------------ cases
@pytest.fixture(scope="module")
def demo_attendance(tmp_path_factory) -> Path:
    from wholechild.demo import generate

    out = tmp_path_factory.mktemp("demo")
    generate(out, students=2000, seed=42)
    return out / "attendance"


def test_demo_attendance_and_enrollment_files_give_the_same_parts(demo_attendance):
    registry = load_registry(ROOT / "sources")
    assert registry.errors == []
    source = registry.sources["attendance"]
    files = sorted(demo_attendance.glob("*.json"))
    assert len(files) >= 10
    kinds = {resource_of(f.name)[1] for f in files}
    assert kinds == {UPSERTS, DELETES}
    quarantined = 0
    for f in files:
        for part in assert_same_parts(source, f):
            if part.violations is not None:
                quarantined += len(part.violations)
    assert quarantined > 0  # the demo plants unmapped descriptors: compared too


def _source(sources_dir: Path, text: str, name: str = "edfi"):
    (sources_dir / f"{name}.yml").write_text(text)
    registry = load_registry(sources_dir)
    assert registry.errors == []
    return registry.sources[name]


@pytest.mark.skipif(not REAL_EDFI.is_dir(), reason=f"no real Ed-Fi exports at {REAL_EDFI}")
@pytest.mark.parametrize("kind", ["local", "state"])
def test_real_edfi_exports_give_the_same_parts(tmp_path, sources_dir, kind):
    from tests.test_real_exports import EDFI_YML

    source = _source(sources_dir, EDFI_YML.replace("student_id: local", f"student_id: {kind}"))
    folder = tmp_path / "real"
    shutil.copytree(REAL_EDFI, folder)
    files = sorted(folder.glob("*.json"))
    assert len(files) == 4
    for f in files:
        assert_same_parts(source, f)


def _write(folder: Path, name: str, records: list, jsonl=True, bom=False, raw=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if raw is not None:
        text = raw
    elif jsonl:
        text = "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records)
    else:
        text = json.dumps(records, indent=2)
    path = folder / name
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + text.encode("utf-8"))
    return path


ODD = d("AttendanceEventCategoryDescriptor", "Field Trip", "uri://district.org")


def _attendance_cases() -> list:
    base = [
        attendance(1, "Excused Absence", 0.5),
        attendance(2, "Unexcused Absence", 1),
        attendance(3, "Tardy", 0.1),
        attendance(4, "In Attendance"),
        attendance(5, "Excused Absence", 1.0, ns="uri://grandbend.org"),
        {**attendance(6, "Tardy"), "attendanceEventCategoryDescriptor": ODD},
        {**attendance(7, "Tardy"), "attendanceEventCategoryDescriptor": None},
        {**attendance(8, "Tardy"), "attendanceEventCategoryDescriptor": "  "},
        {**attendance(9, "Tardy"), "attendanceEventCategoryDescriptor": "Excused Absence"},
        {**attendance(10, "Partial"), "eventDuration": "0.25"},
        {**attendance(11, "Unexcused Absence"), "eventDuration": 1e20},
        {**attendance(12, "Unexcused Absence"), "eventDuration": True},
        {**attendance(13, "Unexcused Absence"), "eventDuration": {"x": [1, "é"]}},
        {**attendance(14, "Unexcused Absence"), "eventDuration": -0.0},
        {"ID": "att15", "StudentReference": {"StudentUniqueId": "0015"}, "eventDate": 20250903},
        {
            "id": "att16",
            "studentReference": "not an object",
            "schoolReference": [1, 2],
            "eventDate": None,
            "attendanceEventCategoryDescriptor": d("AttendanceEventCategoryDescriptor", "tardy"),
        },
        {"id": None, "Id": "att17", "studentReference": {"studentUniqueId": "  0017 "}},
        {"Id": "att18", "id": "att18b", "schoolReference": {"SchoolID": "101", "schoolId": 102}},
        {**attendance(19, "Early departure", 0.3)},
        {**attendance(20, "Tardy"), "attendanceEventCategoryDescriptor": 7},
        {},
    ]
    return base


def _enrollment_cases() -> list:
    def enr(i: int, grade: str | None, exit_code: str | None = None, **extra) -> dict:
        rec = {
            "id": f"e{i}",
            "studentReference": {"studentUniqueId": f"s{i}"},
            "schoolReference": {"schoolId": 101},
            "entryDate": "2025-08-13",
            "schoolYearTypeReference": {"schoolYear": 2026},
            **extra,
        }
        if grade is not None:
            rec["entryGradeLevelDescriptor"] = d("GradeLevelDescriptor", grade)
        if exit_code is not None:
            rec["exitWithdrawTypeDescriptor"] = exit_code
            rec["exitWithdrawDate"] = "2026-01-10"
        return rec

    district = "uri://district.example/ExitWithdrawTypeDescriptor#Duplicate record"
    return [
        enr(1, "Sixth grade"),
        enr(2, "Ungraded"),  # maps to no code, and grade_level is required
        enr(3, "Grade 6"),  # unknown
        enr(4, None),
        enr(5, "Ninth grade", district),
        enr(6, "Ninth grade", d("ExitWithdrawTypeDescriptor", "Graduated")),
        enr(7, "Tenth grade", d("ExitWithdrawTypeDescriptor", "No Such Exit")),
        enr(8, "Grade 6", "Nowhere"),  # two violations on one row, in call order
        enr(9, "Kindergarten", exitWithdrawDate=None),
        {**enr(10, "Sixth grade"), "schoolYearTypeReference": {"schoolYear": "2026"}},
    ]


def _student_cases() -> list:
    return [
        {
            "id": "st1",
            "studentUniqueId": "001",
            "firstName": "Ann",
            "lastSurname": "Lee",
            "birthDate": "2012-01-02",
            "birthSexDescriptor": d("SexDescriptor", "Female"),
        },
        {"id": "st2", "studentUniqueId": 2, "sexDescriptor": d("SexDescriptor", "Male")},
        {"id": "st3", "studentUniqueId": "003", "birthSexDescriptor": "", "sexDescriptor": "Male"},
        {"id": "st4", "studentUniqueId": "004", "birthSexDescriptor": d("SexDescriptor", "Odd")},
        {"id": "st5", "StudentUniqueID": "005", "FirstName": " Bo ", "birthSexDescriptor": 0},
    ]


CASE_RECORDS = {
    "studentSchoolAttendanceEvents": _attendance_cases,
    "studentSchoolAssociations": _enrollment_cases,
    "students": _student_cases,
    "schools": lambda: [_school(1), _school(2), {"id": "sch3", "schoolId": "103"}],
    "studentProgramAssociations": lambda: [
        _program(1, "Gifted and Talented"),
        _program(2, "Athletics"),
        _program(3, "Homeless"),
        _program(4, "Unheard Of"),
        {"id": "p5", "studentReference": {"studentUniqueId": "s5"}},
    ],
}

YAML_CODES = """\
entities:
  attendance_event:
    codes: {category: {Field Trip: present, excused absence: excused_absence, "7": tardy}}
  enrollment:
    codes:
      exit_code: {"uri://district.example/ExitWithdrawTypeDescriptor#Duplicate record": other}
      grade_level: {grade 6: "06"}
"""


@pytest.mark.parametrize("yaml_codes", [False, True], ids=["crosswalk", "yaml_codes"])
@pytest.mark.parametrize(
    ("jsonl", "bom"), [(True, False), (True, True), (False, False), (False, True)]
)
@pytest.mark.parametrize("resource", sorted(CASE_RECORDS))
def test_edge_cases_give_the_same_parts(tmp_path, sources_dir, resource, jsonl, bom, yaml_codes):
    source = _source(sources_dir, YML + (YAML_CODES if yaml_codes else ""))
    records = CASE_RECORDS[resource]()
    path = _write(tmp_path / "in", f"{resource}.upserts.2025-09-04.json", records, jsonl, bom)
    parts = assert_same_parts(source, path)
    # the YAML with `entities:` leaves schools, students and programs out: compared as
    # the same rejection
    kept = resource in ("studentSchoolAssociations", "studentSchoolAttendanceEvents")
    assert len(parts) == (1 if not yaml_codes or kept else 0)


def test_state_ids_and_the_student_ref_kinds_give_the_same_parts(tmp_path, sources_dir):
    for kind in ("local", "state", "email"):
        source = _source(sources_dir, YML.replace("student_id: state", f"student_id: {kind}"))
        path = _write(tmp_path / kind, "students.json", _student_cases())
        assert_same_parts(source, path)


RAW_FILES = {
    # JSON Lines: a broken line, a non-object, blank and whitespace lines, CRLF
    "lines_with_bad_records": "\r\n".join(
        [
            json.dumps(attendance(1, "Tardy")),
            '{"id": "broken", ',
            "",
            "   ",
            json.dumps(attendance(3, "Tardy")),
            "[1, 2]",
            '"a string"',
            "null",
            json.dumps(attendance(4, "Excused Absence", 1)),
            "",
        ]
    ),
    "one_pretty_object": json.dumps(attendance(1, "Tardy"), indent=2),
    "pretty_object_after_blank_lines": "\n\n" + json.dumps(attendance(1, "Tardy"), indent=2),
    "broken_first_line": '{"id": \n' + json.dumps(attendance(2, "Tardy")),
    "array_with_non_objects": json.dumps([attendance(1, "Tardy"), 5, None, [1], "x"]),
    "array_of_nothing_but_non_objects": "[1, 2, 3]",
    "empty_array": "[]",
    "empty_lines": "\n\n  \n",
    "broken_array": '[{"id": "a"}, ',
    "array_then_garbage": "[] []",
    "an_object_not_an_array": "  " + json.dumps({"records": [attendance(1, "Tardy")]}),
    "unicode_separators": json.dumps({**attendance(1, "Tardy"), "note": "a\u2028b\u0085c"}),
    "non_ascii": json.dumps({**attendance(1, "Tardy"), "id": "é\u00fc"}, ensure_ascii=False),
    "nan_and_infinity": '{"id": "n1", "eventDuration": NaN}\n{"id": "n2", "eventDuration": -Infinity}',
    "duplicate_keys": '{"id": "x", "id": "y", "studentReference": {"studentUniqueId": "1"}}',
    "big_integers": '{"id": 123456789012345678901234567890, "eventDuration": 1E400}',
    "array_with_whitespace_before": "\n  \t" + json.dumps([attendance(1, "Tardy")]),
}


@pytest.mark.parametrize("deletes", [False, True], ids=["upserts", "deletes"])
@pytest.mark.parametrize("case", sorted(RAW_FILES))
def test_raw_file_shapes_give_the_same_parts_or_rejection(tmp_path, sources_dir, case, deletes):
    source = _source(sources_dir, YML)
    kind = "deletes" if deletes else "upserts"
    path = _write(
        tmp_path / "in",
        f"studentSchoolAttendanceEvents.{kind}.2025-09-04.json",
        [],
        raw=RAW_FILES[case],
        bom=case.startswith("array"),
    )
    assert_same_parts(source, path)


def test_deletes_files_give_the_same_tombstones(tmp_path, sources_dir):
    source = _source(sources_dir, YML)
    folder = tmp_path / "in"
    for jsonl in (True, False):
        path = _write(
            folder,
            f"schools.deletes.2025-09-0{2 if jsonl else 3}.json",
            [{"Id": "sch1", "ChangeVersion": "7"}, {"id": "sch2"}, {"iD": 3}, {}, {"id": None}],
            jsonl=jsonl,
        )
        (part,) = assert_same_parts(source, path)
        assert part.deleted.all()
    empty = _write(folder, "students.deletes.2025-09-01.json", [], jsonl=False)
    assert assert_same_parts(source, empty) == []
    snapshot = _source(sources_dir, YML + "mode: snapshot\n")
    assert_same_parts(snapshot, _write(folder, "schools.deletes.2025-09-04.json", [{"Id": "x"}]))


def test_rejections_are_the_same(tmp_path, sources_dir):
    source = _source(sources_dir, YML)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "studentSchoolAttendanceEvents.json").write_bytes(b"  \n")
    assert_same_parts(source, folder / "studentSchoolAttendanceEvents.json")
    (folder / "students.json").mkdir()
    assert_same_parts(source, folder / "students.json")
    latin = folder / "students.upserts.2025-09-01.json"
    latin.write_bytes('{"id": "s1", "firstName": "Zo\xeb"}'.encode("latin-1"))
    assert_same_parts(source, latin)
    cp = _source(sources_dir, YML + "options: {encoding: cp1252}\n")
    assert_same_parts(cp, latin)
    narrowed = _source(sources_dir, YML + "entities: [school, student]\n")
    assert_same_parts(narrowed, _write(folder, "studentSchoolAssociations.json", [{"id": 1}]))
