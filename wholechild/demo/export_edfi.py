"""The demo's Ed-Fi ODS/API change exports: school enrollments and daily attendance.

The SIS posts school enrollments (``studentSchoolAssociations``) and the attendance system
posts attendance events (``studentSchoolAttendanceEvents``) to the district's Ed-Fi
ODS/API; the district pulls change exports from it into ``landing/attendance/``:

- enrollments: a first-day load (``studentSchoolAssociations.upserts.2025-08-13.json``,
  a JSON array) and change files (JSON Lines) in which a record comes back, same ``id``,
  once its exit date is known; the latest upsert of a key wins, so the last state is the
  SIS's;
- attendance: one upserts file a month (a JSON array) through May, then one a school day
  (JSON Lines written with a UTF-8 byte-order mark) for June;
- one deletes file, ``studentSchoolAttendanceEvents.deletes.2025-10-31.json``: a few events
  of September were sent with the wrong category (an absence later excused by a parent's
  note, a tardy first marked absent). Category is part of an attendance event's natural
  key, so the ODS deleted the wrong record and created the right one (sent in the October
  upserts); the deletes file names the wrong record's ``id``.

Descriptors are namespaced URIs: Ed-Fi's own where one fits, the district's namespace
(``uri://district.example``) for its local codes, which ``sources/attendance.yml`` maps.
Every ``id`` is a stable GUID, so reruns are byte-identical.
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wholechild.demo.generator import (
    S1_END,
    SCHOOL_YEAR,
    AttEvent,
    D,
    Delivery,
    Enrollment,
    Student,
    _iso,
    _room_for,
)

if TYPE_CHECKING:
    from wholechild.demo.generator import _Exporter

SOURCE = "attendance"
EDFI = "uri://ed-fi.org"
DISTRICT_NS = "uri://district.example"

GRADES = (
    "Kindergarten",
    "First grade",
    "Second grade",
    "Third grade",
    "Fourth grade",
    "Fifth grade",
    "Sixth grade",
    "Seventh grade",
    "Eighth grade",
    "Ninth grade",
    "Tenth grade",
    "Eleventh grade",
    "Twelfth grade",
)
#: the SIS's exit codes as Ed-Fi ExitWithdrawTypeDescriptors
EXIT_DESCRIPTORS = {
    "T1": f"{EDFI}/ExitWithdrawTypeDescriptor#Transferred",
    "T2": f"{EDFI}/ExitWithdrawTypeDescriptor#Transferred",
    "TI": f"{EDFI}/ExitWithdrawTypeDescriptor#Transferred",
    "W1": f"{EDFI}/ExitWithdrawTypeDescriptor#Withdrawn",
    "DO": f"{EDFI}/ExitWithdrawTypeDescriptor#Dropout",
    "GR": f"{EDFI}/ExitWithdrawTypeDescriptor#Graduated",
    "NS": f"{EDFI}/ExitWithdrawTypeDescriptor#No show",
    "EX": f"{EDFI}/ExitWithdrawTypeDescriptor#Expelled",
    # a duplicate record closed by a clerk: the district's own code (the YAML maps it)
    "ZZ": f"{DISTRICT_NS}/ExitWithdrawTypeDescriptor#Duplicate record",
}
#: the attendance system's codes as AttendanceEventCategoryDescriptors
CATEGORY_DESCRIPTORS = {
    "A": f"{EDFI}/AttendanceEventCategoryDescriptor#Unexcused Absence",
    "U": f"{EDFI}/AttendanceEventCategoryDescriptor#Unexcused Absence",
    "E": f"{EDFI}/AttendanceEventCategoryDescriptor#Excused Absence",
    "SUS": f"{DISTRICT_NS}/AttendanceEventCategoryDescriptor#Out-of-school suspension",
    "T": f"{EDFI}/AttendanceEventCategoryDescriptor#Tardy",
    "ED": f"{EDFI}/AttendanceEventCategoryDescriptor#Early departure",
    "PD": f"{EDFI}/AttendanceEventCategoryDescriptor#Partial",
    "P": f"{EDFI}/AttendanceEventCategoryDescriptor#In Attendance",
    # planted: a category the attendance system added without telling anyone
    "X": f"{DISTRICT_NS}/AttendanceEventCategoryDescriptor#Remote learning",
}
REASONS = {
    "A": "Absent - unverified",
    "U": "Unexcused absence",
    "E": "Excused absence",
    "SUS": "Suspended (out of school)",
    "T": "Tardy",
    "ED": "Early dismissal",
    "PD": "Partial day",
}
FULL_DAY = ("A", "U", "E", "SUS")

#: Enrollment change exports: (last day covered, file layout). The first is the load of the
#: first day (not earlier: a record dated after its export is refused as a future date); a
#: window with no change writes no file.
ENROLLMENT_FILES = (
    (D(2025, 8, 13), "array"),
    (D(2025, 10, 31), "lines"),
    (D(2025, 12, 31), "lines"),
    (D(2026, 3, 31), "lines"),
    (D(2026, 6, 5), "lines"),
)
#: Monthly attendance upserts (JSON arrays); after the last, one file a school day.
ATTENDANCE_MONTHS = (
    D(2025, 9, 30),
    D(2025, 10, 31),
    D(2025, 11, 30),
    D(2025, 12, 31),
    D(2026, 1, 31),
    D(2026, 2, 28),
    D(2026, 3, 31),
    D(2026, 4, 30),
    D(2026, 5, 31),
)
#: The month whose events the attendance clerk corrected, and the export that carries the
#: corrections (its upserts, then its deletes).
CORRECTED_MONTH = D(2025, 9, 30)
CORRECTIONS_IN = D(2025, 10, 31)
RANDOM_CORRECTIONS = 3


def _namespace(ex: _Exporter) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"https://ods.district.example/{ex.d.seed}/{ex.d.n}")


def _id(ns: uuid.UUID, *parts: Any) -> str:
    """Ed-Fi resource ids: GUIDs without dashes, stable for a record across exports."""
    return uuid.uuid5(ns, ":".join(str(p) for p in parts)).hex


def _write(path: Path, records: Sequence[dict], layout: str, bom: bool = False) -> int:
    lines = [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in records]
    if layout == "array":
        text = "[\n" + ",\n".join(lines) + "\n]\n"
    else:
        text = "".join(line + "\n" for line in lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + text.encode("utf-8"))
    return len(records)


def _file(resource: str, kind: str, day: dt.date) -> str:
    return f"{resource}.{kind}.{day.isoformat()}.json"


# --------------------------------------------------------------------------------------
# studentSchoolAssociations
# --------------------------------------------------------------------------------------


def _window(day: dt.date) -> dt.date:
    """The export that first carries a change made on ``day``."""
    for end, _layout in ENROLLMENT_FILES:
        if day <= end:
            return end
    return ENROLLMENT_FILES[-1][0]


def _association(
    ns: uuid.UUID, st: Student, e: Enrollment, with_exit: bool, stamp: dt.date
) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "id": _id(ns, "ssa", st.local_id, e.school.school_id, e.entry),
        "entryDate": _iso(e.entry),
        "schoolReference": {"schoolId": int(e.school.school_id)},
        "studentReference": {"studentUniqueId": st.local_id},
        "entryGradeLevelDescriptor": f"{EDFI}/GradeLevelDescriptor#{GRADES[e.grade]}",
        "schoolYearTypeReference": {"schoolYear": SCHOOL_YEAR},
        "primarySchool": True,
    }
    if with_exit and e.exit is not None:
        rec["exitWithdrawDate"] = _iso(e.exit)
        if e.exit_code:
            rec["exitWithdrawTypeDescriptor"] = EXIT_DESCRIPTORS[e.exit_code]
    rec["_lastModifiedDate"] = f"{stamp.isoformat()}T22:00:00Z"
    return rec


def write_enrollments(ex: _Exporter) -> None:
    """Each enrollment is sent in the export covering its entry date (the first day's in the
    first-day load), and again, same id, in the export covering its exit date."""
    ns = _namespace(ex)
    by_file: dict[dt.date, list[tuple[tuple, dict]]] = {end: [] for end, _ in ENROLLMENT_FILES}
    first_load = ENROLLMENT_FILES[0][0]
    for st in sorted(ex.d.students, key=lambda s: s.local_id):
        for e in sorted(st.enrollments, key=lambda e: (e.entry, e.school.school_id)):
            created = _window(e.entry)
            closed = None if e.exit is None else max(_window(e.exit), created)
            order = (st.local_id, e.school.school_id, e.entry)
            by_file[created].append((order, _association(ns, st, e, closed == created, created)))
            if closed is not None and closed != created:
                by_file[closed].append((order, _association(ns, st, e, True, closed)))
    for end, layout in ENROLLMENT_FILES:
        records = [r for _o, r in sorted(by_file[end], key=lambda t: t[0])]
        if not records:
            continue  # nothing entered or exited in the window: the export sends no file
        name = _file("studentSchoolAssociations", "upserts", end)
        n = _write(ex.path(SOURCE, name), records, layout)
        note = (
            "first-day load: every enrollment entered on the first day, exits to come"
            if end == first_load
            else "enrollments entered or exited in the window (a re-sent record has its id)"
        )
        ex.add(Delivery(SOURCE, name, "enrollment", n, note=note))


# --------------------------------------------------------------------------------------
# studentSchoolAttendanceEvents
# --------------------------------------------------------------------------------------


def _event(
    ns: uuid.UUID, e: AttEvent, code: str | None = None, variant: str = ""
) -> dict[str, Any]:
    code = code or e.code
    ref = e.ref or e.student.local_id
    school = int(e.school.school_id)
    rec: dict[str, Any] = {
        "id": _id(ns, "ssae", ref, school, e.day, code, variant),
        "attendanceEventCategoryDescriptor": CATEGORY_DESCRIPTORS[code],
        "eventDate": _iso(e.day),
        "schoolReference": {"schoolId": school},
        "sessionReference": {
            "schoolId": school,
            "schoolYear": SCHOOL_YEAR,
            "sessionName": (
                f"{SCHOOL_YEAR - 1}-{SCHOOL_YEAR} "
                + ("Fall Semester" if e.day <= S1_END else "Spring Semester")
            ),
        },
        "studentReference": {"studentUniqueId": ref},
    }
    if code in REASONS:
        rec["attendanceEventReason"] = REASONS[code]
    fraction = e.fraction if code == e.code else None
    if fraction is not None:
        rec["eventDuration"] = fraction
    elif code in FULL_DAY:
        rec["eventDuration"] = 1.0
    rec["_lastModifiedDate"] = f"{e.day.isoformat()}T23:00:00Z"
    return rec


def _plant_unmapped(ex: _Exporter, end: dt.date, events: list[AttEvent], taken: set) -> None:
    """Planted: a category the vendor added without telling anyone (unmapped descriptor)."""
    d = ex.d
    slots = [
        (st, s, day)
        for st in d.students[5:]
        for s, day in st.days
        if D(2025, 10, 1) <= day <= end and (st.idx, day) not in taken
    ]
    for st, s, day in ex._victims(slots[:: max(1, len(slots) // 500)], 2):
        events.append(AttEvent(st, s, day, "X", quarantine="unmapped_code"))
    events.sort(key=lambda e: (e.day, e.school.school_id, e.student.local_id, e.code))


def _plant_unpadded(ex: _Exporter, events: list[AttEvent]) -> str:
    """Planted: one student's events keyed without the leading zeros of the district id,
    in a source that declares no pad_to: unmatched, not quarantined."""
    counts: dict[int, int] = {}
    for e in events:
        if not e.student.planted:
            counts[e.student.idx] = counts.get(e.student.idx, 0) + 1
    pick = ex.rng.choice(sorted(i for i, c in counts.items() if c >= 2))
    st = ex.d.students[pick]
    ref = st.local_id.lstrip("0")
    n_rows = 0
    for e in events:
        if e.student is st:
            e.unmatched, e.ref = True, ref
            n_rows += 1
    ex.unmatched(
        SOURCE,
        "attendance_event",
        ref,
        "local",
        f"leading zeros dropped from local id {st.local_id} (entered by hand); the attendance "
        "source declares no pad_to",
        n_rows,
    )
    return f"events of student {st.local_id} carry studentUniqueId '{ref}' (unmatched)"


def _pick_corrections(ex: _Exporter, events: list[AttEvent]) -> list[tuple[AttEvent, str]]:
    """(true event, the category it was first sent as): the planted student P1's first
    tardy, first marked absent, and a few excused absences first sent as unexcused."""
    p1 = ex.d.planted["chronic_absence_ed_el"]
    tardy = [e for e in events if e.student is p1 and e.code == "T"]
    picks: list[tuple[AttEvent, str]] = [(tardy[0], "U")] if tardy else []
    excused = [
        e
        for e in events
        if e.code == "E" and not e.student.planted and not e.quarantine and not e.unmatched
    ]
    rng = ex.d.rng("edfi-corrections")
    for e in sorted(rng.sample(excused, min(RANDOM_CORRECTIONS, len(excused))), key=events.index):
        picks.append((e, "U"))
    return picks


def write_attendance(ex: _Exporter) -> None:
    d = ex.d
    ns = _namespace(ex)
    windows: list[tuple[dt.date, list[AttEvent]]] = []
    prev = D(2025, 8, 1)
    for end in ATTENDANCE_MONTHS:
        windows.append((end, [e for e in d.events if prev < e.day <= end]))
        prev = end
    # June: one export a school day (a day without events sends no file)
    for day in sorted({e.day for e in d.events if e.day > prev}):
        windows.append((day, [e for e in d.events if e.day == day]))
    taken = {(e.student.idx, e.day) for e in d.events}

    notes: dict[dt.date, str] = {}
    # The planted faults draw from the exporter's fault stream in the order they always did,
    # so every other source's plants stay where they were.
    for end, events in windows:
        if end == D(2025, 10, 31) and _room_for(len(events) + 2, 2):
            _plant_unmapped(ex, end, events, taken)
        if end == D(2026, 1, 31):
            notes[end] = _plant_unpadded(ex, events)

    corrections = _pick_corrections(ex, dict(windows)[CORRECTED_MONTH])
    wrong_of = {id(e): code for e, code in corrections}
    sent_in_error: dict[int, dict[str, Any]] = {}
    for n, (end, events) in enumerate(windows):
        records: list[dict[str, Any]] = []
        quarantined: list[dict[str, Any]] = []
        for e in events:
            if id(e) in wrong_of:
                sent_in_error[id(e)] = _event(ns, e, wrong_of[id(e)], "sent in error")
                records.append(sent_in_error[id(e)])
                continue
            records.append(_event(ns, e))
            if e.quarantine:
                quarantined.append(
                    {
                        "row_number": len(records),
                        "data_row": len(records),
                        "rule": e.quarantine,
                        "column": "category",
                        "value": CATEGORY_DESCRIPTORS[e.code],
                    }
                )
        note = notes.get(end, "")
        if end == CORRECTIONS_IN and corrections:
            records.extend(_event(ns, e) for e, _code in corrections)
            note = (
                f"the last {len(corrections)} records correct events of "
                f"{CORRECTED_MONTH:%B} first sent with the wrong category"
            )
        daily = n >= len(ATTENDANCE_MONTHS)
        name = _file("studentSchoolAttendanceEvents", "upserts", end)
        rows = _write(ex.path(SOURCE, name), records, "lines" if daily else "array", bom=daily)
        if daily:
            note = (note + "; " if note else "") + "daily export: JSON Lines with a byte-order mark"
        ex.add(Delivery(SOURCE, name, "attendance_event", rows, quarantined=quarantined, note=note))
        if end == CORRECTIONS_IN and corrections:
            _write_deletes(ex, [sent_in_error[id(e)] for e, _ in corrections], corrections)


def _write_deletes(
    ex: _Exporter, wrong: list[dict[str, Any]], corrections: list[tuple[AttEvent, str]]
) -> None:
    records = [
        {
            "id": w["id"],
            "changeVersion": 48_210 + i,
            "keyValues": {
                "attendanceEventCategoryDescriptor": w["attendanceEventCategoryDescriptor"],
                "eventDate": w["eventDate"],
                "schoolId": w["schoolReference"]["schoolId"],
                "studentUniqueId": w["studentReference"]["studentUniqueId"],
            },
        }
        for i, w in enumerate(wrong)
    ]
    name = _file("studentSchoolAttendanceEvents", "deletes", CORRECTIONS_IN)
    n = _write(ex.path(SOURCE, name), records, "array")
    ex.add(
        Delivery(
            SOURCE,
            name,
            "attendance_event",
            n,
            note=(
                f"deletes the {n} events of {CORRECTED_MONTH:%B} sent with the wrong category "
                "(tombstones, applied after the same date's upserts)"
            ),
        )
    )
    up = _file("studentSchoolAttendanceEvents", "upserts", CORRECTED_MONTH)
    fixed = _file("studentSchoolAttendanceEvents", "upserts", CORRECTIONS_IN)
    for w, (e, code) in zip(wrong, corrections, strict=True):
        ex.d.corrections.append(
            {
                "student_ref": w["studentReference"]["studentUniqueId"],
                "school_id": e.school.school_id,
                "event_date": _iso(e.day),
                "sent_as": CATEGORY_DESCRIPTORS[code],
                "sent_in": up,
                "deleted_id": w["id"],
                "deleted_in": name,
                "corrected_to": CATEGORY_DESCRIPTORS[e.code],
                "corrected_in": fixed,
                "planted_student": e.student.planted,
            }
        )
