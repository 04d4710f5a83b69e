"""The demo district generator and the demo's source registry (``sources/*.yml``).

The demo is only worth something if its files are what the registry says they are and
its ``_expected.json`` is true, so these tests pin both: byte-identical reruns, one
landing folder per source, every mapped header present, the SIS's OneRoster 1.2 bundle
and Ed-Fi change exports as the standards write them, a real calendar, the planted facts
recomputed from the raw files (Ed-Fi upserts and deletes applied in order), and (when the
pipeline is importable) each delivery getting exactly the outcome the generator planted.
"""

from __future__ import annotations

import csv
import datetime as dt
import fnmatch
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from openpyxl import load_workbook

from wholechild.demo import LANDING_NAMES, generate

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "sources"
STANDARD_FORMATS = ("oneroster", "edfi_json")
BUNDLE = "sis/oneroster_2026-06-05.zip"
CALENDAR = "sis_calendar/calendar_2026-06-05.csv"


def _digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _yamls() -> dict[str, dict]:
    return {
        p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(SOURCES.glob("*.yml"))
    }


def _exports(src: dict) -> list[dict]:
    """The source's exports in the multi-file form; the single-file form is one export."""
    if "exports" in src:
        return src["exports"]
    keys = ("entity", "columns", "constants", "codes", "unpivot")
    return [{"match": "*", **{k: src[k] for k in keys if k in src}}]


def _header(path: Path, src: dict) -> list[str]:
    options = src.get("options") or {}
    if src["format"] == "csv":
        text = path.read_bytes().decode(options.get("encoding", "utf-8"))
        return next(csv.reader(io.StringIO(text), delimiter=options.get("delimiter", ",")))
    if src["format"] == "xlsx":
        wb = load_workbook(path, read_only=True)
        ws = wb[options["sheet"]] if "sheet" in options else wb.worksheets[0]
        header = [str(c) for c in next(ws.iter_rows(values_only=True))]
        wb.close()
        return header
    if src["format"] == "parquet":
        return pq.read_schema(path).names
    raise AssertionError(f"unexpected format {src['format']}")


def _read_csv(path: Path, encoding: str = "utf-8", delimiter: str = ",") -> list[dict[str, str]]:
    text = path.read_bytes().decode(encoding)
    return list(csv.DictReader(io.StringIO(text), delimiter=delimiter))


def _bundle_csv(path: Path, member: str) -> list[dict[str, str]]:
    with zipfile.ZipFile(path) as z:
        return list(csv.DictReader(io.StringIO(z.read(member).decode("utf-8"))))


def _edfi_records(path: Path) -> list[dict]:
    """An Ed-Fi export's records: a JSON array, or JSON Lines (BOM or not)."""
    text = path.read_bytes().decode("utf-8-sig")
    if text.lstrip().startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _edfi_files(folder: Path, resource: str) -> list[Path]:
    """A resource's exports in the order they apply: by date, deletes after upserts."""
    files = [p for p in folder.iterdir() if p.name.startswith(f"{resource}.")]
    return sorted(files, key=lambda p: (p.name.split(".")[2], ".deletes." in p.name))


def _edfi_current(folder: Path, resource: str, key) -> dict[tuple, dict]:
    """The records left once every upserts and deletes file has applied (latest wins)."""
    current: dict[tuple, dict] = {}
    for f in _edfi_files(folder, resource):
        records = _edfi_records(f)
        if ".deletes." in f.name:
            gone = {r["id"] for r in records}
            current = {k: r for k, r in current.items() if r["id"] not in gone}
        else:
            for r in records:
                current[key(r)] = r
    return current


def _code(descriptor: str) -> str:
    return descriptor.rsplit("#", 1)[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("demo") / "landing"
    return out, generate(out)


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("small")
    return out, generate(out, students=200, seed=42)


# ---- determinism --------------------------------------------------------------------


def test_same_seed_gives_byte_identical_exports(demo, tmp_path):
    out, _ = demo
    again = tmp_path / "again"
    generate(again)
    assert _digests(again) == _digests(out)


def test_different_seed_gives_different_exports(small, tmp_path):
    out, _ = small
    other = tmp_path / "other"
    generate(other, students=200, seed=43)
    a, b = _digests(out), _digests(other)
    assert a.keys() == b.keys()
    assert a[BUNDLE] != b[BUNDLE]
    assert sum(a[k] != b[k] for k in a) > len(a) // 2


def test_exports_do_not_depend_on_the_python_hash_seed(small, tmp_path):
    out, _ = small
    other = tmp_path / "hashseed"
    code = (
        "from pathlib import Path; from wholechild.demo import generate; "
        f"generate(Path({str(other)!r}), students=200, seed=42)"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env=env)
    assert _digests(other) == _digests(out)


# ---- the registry and the files agree -----------------------------------------------


def test_every_source_yaml_has_a_landing_folder_with_deliveries(demo):
    out, expected = demo
    yamls = _yamls()
    assert len(yamls) >= 9
    landings = {name: src.get("landing", src["name"]) for name, src in yamls.items()}
    assert landings == LANDING_NAMES
    for landing in landings.values():
        folder = out / landing
        assert folder.is_dir(), f"no folder for landing {landing}"
        assert any(folder.iterdir()), f"landing {landing} is empty"
    domains = {d for src in yamls.values() for d in src["domains"]}
    assert "health" not in domains and len(domains) >= 9
    assert expected["unconnected_domains"] == ["health"]


def test_every_mapped_header_exists_in_the_generated_files(demo):
    out, _ = demo
    for name, src in _yamls().items():
        if src["format"] in STANDARD_FORMATS:
            continue  # the standard fixes the columns (test_standard_exports_... below)
        files = sorted((out / src.get("landing", name)).iterdir())
        exports = _exports(src)
        for f in files:
            assert any(fnmatch.fnmatch(f.name.lower(), e["match"].lower()) for e in exports), (
                f"{name}: {f.name} matches no export"
            )
        for export in exports:
            matched = [f for f in files if fnmatch.fnmatch(f.name.lower(), export["match"].lower())]
            assert matched, f"{name}: export {export['match']} matches no generated file"
            wanted = {
                c: (m if isinstance(m, str) else m["header"]) for c, m in export["columns"].items()
            }
            for flags in (export.get("unpivot") or {}).values():
                wanted |= {f"unpivot {h}": str(h) for h in flags}
            for f in matched:
                header = _header(f, src)
                if src["name"] == "behavior" and f.name == "behavior_2026-03-31.csv":
                    assert "IncidentDate" not in header  # the planted broken delivery
                    continue
                missing = {c: h for c, h in wanted.items() if h not in header}
                assert not missing, f"{name}/{f.name}: mapped headers missing {missing}"


def test_registry_loads_the_demo_sources_without_errors():
    registry = pytest.importorskip("wholechild.registry")
    reg = registry.load_registry(SOURCES)
    assert [str(e) for e in reg.errors] == []
    assert set(reg.sources) == set(LANDING_NAMES)
    assert reg.roster is not None and reg.roster.name == "sis"


def test_ids_keep_or_lose_leading_zeros_as_each_vendor_does(demo):
    out, expected = demo
    roles = _bundle_csv(out / BUNDLE, "roles.csv")
    students = {r["userSourcedId"] for r in roles if r["role"] == "student"}
    users = [u for u in _bundle_csv(out / BUNDLE, "users.csv") if u["sourcedId"] in students]
    local = {u["identifier"] for u in users}
    assert all(len(i) == 6 and i[0] == "0" for i in local)
    for u in users:
        ids = re.fullmatch(r"\{Local:(\d{6})\},\{State:(\d{10})\}", u["userIds"])
        assert ids and ids.group(1) == u["identifier"], u["userIds"]
    marks = _read_csv(out / "gradebook/course_marks_2026-01-16.csv")
    assert all(not m["Student ID"].startswith("0") for m in marks)
    assert _yamls()["gradebook"]["student_id"] == {"kind": "local", "pad_to": 6}
    # Ed-Fi carries the student number with its zeros, except the one planted hand-typed id.
    unpadded = {u["student_ref"] for u in expected["unmatched"] if u["source"] == "attendance"}
    refs = {
        r["studentReference"]["studentUniqueId"]
        for f in sorted((out / "attendance").glob("*.upserts.*.json"))
        for r in _edfi_records(f)
    }
    assert refs - local == unpadded and len(unpadded) == 1


# ---- the calendar -------------------------------------------------------------------


def test_calendar_has_a_realistic_instructional_year(demo):
    out, expected = demo
    rows = _read_csv(out / CALENDAR)
    by_school: dict[str, dict[str, str]] = {}
    for r in rows:
        by_school.setdefault(r["SchoolID"], {})[r["Date_Value"]] = r["InSession"]
    assert len(by_school) >= 3
    closed = ["09/01/2025", "11/27/2025", "12/25/2025", "01/19/2026", "02/16/2026", "05/25/2026"]
    for school, days in by_school.items():
        n = sum(v == "1" for v in days.values())
        assert 170 <= n <= 185, f"school {school} has {n} instructional days"
        assert days["08/13/2025"] == "1" and days["06/04/2026"] == "1"
        assert all(days[d] == "0" for d in closed), f"school {school} is open on a holiday"
        weekend = [d for d, v in days.items() if dt.datetime.strptime(d, "%m/%d/%Y").weekday() >= 5]
        assert all(days[d] == "0" for d in weekend)
    assert {s["instructional_days"] for s in expected["district"]["schools"]} <= set(
        range(170, 186)
    )


# ---- the planted facts --------------------------------------------------------------


def test_expected_json_names_one_rejected_delivery_and_unmatched_ids(demo):
    out, expected = demo
    assert json.loads((out / "_expected.json").read_text(encoding="utf-8")) == expected
    (rejected,) = expected["rejected_deliveries"]
    assert (
        rejected["status"] == "rejected" and rejected["rows_quarantined"] == rejected["rows_read"]
    )
    assert rejected["rejected"]["rule"] == "missing_column" and rejected["rejected"]["reason"]
    assert (out / rejected["landing"] / rejected["file_name"]).is_file()
    assert [d for d in expected["deliveries"] if d["status"] == "rejected"] == [rejected]
    quarantined = [d for d in expected["deliveries"] if d["quarantined_rows"]]
    rules = {q["rule"] for d in quarantined for q in d["quarantined_rows"]}
    assert {"unmapped_code", "range", "required", "dates_are_plausible"} <= rules
    assert "end_date_not_before_begin_date" in rules
    kinds = {u["id_kind"] for u in expected["unmatched"]}
    assert {"local", "state", "email", "username"} <= kinds
    assert all(u["reason"] and u["n_rows"] > 0 for u in expected["unmatched"])
    assert 50_000 <= expected["totals"]["rows"] <= 110_000


def test_planted_disparities_are_present_in_the_generated_truth(demo):
    _, expected = demo
    found = {
        (d["metric"], d["subgroup"]): d["realized"]["risk_ratio"] for d in expected["disparities"]
    }
    assert found[("suspended", "black")] > 2.0
    assert found[("chronically_absent", "yes")] > 1.5
    assert found[("advanced_course_enrolled", "hispanic_latino")] < 0.6
    assert found[("identification_emotional_disturbance", "black")] > 3.0


def test_planted_students_facts_match_the_raw_exports(demo):
    """Recompute each planted student's days enrolled and absent from the raw calendar and
    Ed-Fi exports with METRICS.md's rules, independently of the generator: enrollments are
    the latest upsert of each key, attendance what is left once the deletes file applied."""
    out, expected = demo
    planted = {p["label"]: p for p in expected["planted_students"]}
    assert len(planted) == 5
    calendar: dict[tuple[str, dt.date], bool] = {}
    for r in _read_csv(out / CALENDAR):
        day = dt.datetime.strptime(r["Date_Value"], "%m/%d/%Y").date()
        calendar[(r["SchoolID"], day)] = r["InSession"] == "1"
    as_of = dt.date.fromisoformat(expected["district"]["as_of"])

    def enrollment_key(r: dict) -> tuple:
        return (
            r["studentReference"]["studentUniqueId"],
            r["schoolReference"]["schoolId"],
            r["entryDate"],
        )

    def event_key(r: dict) -> tuple:
        return (
            r["studentReference"]["studentUniqueId"],
            r["schoolReference"]["schoolId"],
            r["eventDate"],
            r["attendanceEventCategoryDescriptor"],
        )

    enrollments = _edfi_current(out / "attendance", "studentSchoolAssociations", enrollment_key)
    events = _edfi_current(out / "attendance", "studentSchoolAttendanceEvents", event_key)
    weight = {
        "Unexcused Absence": 1,
        "Excused Absence": 1,
        "Out-of-school suspension": 1,
        "Partial": 0.5,
        "Early departure": 0.5,
        "Tardy": 0,
        "In Attendance": 0,
    }
    for label, p in planted.items():
        enrolled: set[tuple[str, dt.date]] = set()
        for (ref, school, _entry), e in enrollments.items():
            exit_type = e.get("exitWithdrawTypeDescriptor", "")
            if ref != p["local_id"] or exit_type.endswith("#No show"):
                continue
            a = dt.date.fromisoformat(e["entryDate"])
            b = dt.date.fromisoformat(e["exitWithdrawDate"]) if "exitWithdrawDate" in e else as_of
            enrolled |= {
                (s, d) for (s, d), on in calendar.items() if on and s == str(school) and a <= d <= b
            }
        day_absence: dict[dt.date, float] = {}
        for (ref, school, day_text, category), r in events.items():
            if ref != p["local_id"]:
                continue
            day = dt.date.fromisoformat(day_text)
            if (str(school), day) not in enrolled:
                continue
            code = _code(category)
            duration = r.get("eventDuration")
            value = weight[code] if duration is None or weight[code] == 0 else duration
            day_absence[day] = min(1.0, max(day_absence.get(day, 0.0), value))
        att = p["attendance"]
        assert len(enrolled) == att["days_enrolled"], label
        assert round(sum(day_absence.values()), 4) == att["days_absent"], label
        got = sorted(
            (dt.date.fromisoformat(e["entryDate"]), str(e["schoolReference"]["schoolId"]))
            for (ref, _s, _d), e in enrollments.items()
            if ref == p["local_id"]
        )
        want = sorted(
            (dt.date.fromisoformat(e["entry_date"]), e["school_id"]) for e in p["enrollments"]
        )
        assert got == want, label
    assert planted["chronic_absence_ed_el"]["attendance"]["is_chronically_absent"]
    p4 = planted["midyear_sped_partial_days"]["attendance"]
    assert not p4["is_chronically_absent"] and p4["is_chronically_absent_half_day_whole"]
    assert len(planted["two_enrollments"]["enrollments"]) == 2
    assert len(planted["two_enrollments"]["attendance"]["events_not_counted"]) == 2
    assert planted["suspended_high_school"]["n_suspensions"] == 2
    assert planted["suspended_high_school"]["core_course_failures"] == 1
    assert planted["overlap_withdrawn_advanced"]["advanced_course_enrolled"]


def test_corrected_attendance_records_only_count_once_the_deletes_apply(demo):
    """The Ed-Fi deletes file removes the events first sent with the wrong category; one of
    them is a planted student's tardy first sent as an absence, so without the deletes that
    student's planted absences would be one day too many."""
    out, expected = demo
    corrections = expected["corrected_records"]
    assert len(corrections) >= 2
    assert any(c["planted_student"] == "chronic_absence_ed_el" for c in corrections)
    folder = out / "attendance"
    (deletes,) = sorted(folder.glob("studentSchoolAttendanceEvents.deletes.*.json"))
    deleted = {r["id"] for r in _edfi_records(deletes)}
    assert deleted == {c["deleted_id"] for c in corrections}
    for c in corrections:
        assert c["deleted_in"] == deletes.name and c["sent_as"] != c["corrected_to"]
        sent = {r["id"]: r for r in _edfi_records(folder / c["sent_in"])}
        wrong = sent[c["deleted_id"]]
        assert wrong["attendanceEventCategoryDescriptor"] == c["sent_as"]
        assert wrong["studentReference"]["studentUniqueId"] == c["student_ref"]
        fixed = [
            r
            for r in _edfi_records(folder / c["corrected_in"])
            if (r["studentReference"]["studentUniqueId"], r["eventDate"])
            == (c["student_ref"], c["event_date"])
        ]
        assert [r["attendanceEventCategoryDescriptor"] for r in fixed] == [c["corrected_to"]]
        assert fixed[0]["id"] not in deleted
        # the correction comes later, and the deletes apply after it (same date, deletes last)
        assert c["sent_in"].split(".")[2] < c["corrected_in"].split(".")[2]
        assert c["corrected_in"].split(".")[2] == deletes.name.split(".")[2]
    (planted,) = [p for p in expected["planted_students"] if p["label"] == "chronic_absence_ed_el"]
    assert planted["attendance"]["days_absent"] == 19.0  # 18 full days and two half days


# ---- the standard formats -----------------------------------------------------------


def test_sis_roster_is_a_oneroster_1_2_bundle(demo):
    out, expected = demo
    yml = _yamls()["sis"]
    assert (yml["format"], yml["student_id"], yml["roster"]) == ("oneroster", "local", True)
    with zipfile.ZipFile(out / BUNDLE) as z:
        names = z.namelist()
        assert {i.date_time for i in z.infolist()} == {(2026, 6, 5, 2, 0, 0)}
    assert names[0] == "manifest.csv"
    manifest = {r["propertyName"]: r["value"] for r in _bundle_csv(out / BUNDLE, "manifest.csv")}
    assert manifest["oneroster.version"] == "1.2"
    bulk = {k.removeprefix("file.") for k, v in manifest.items() if v == "bulk"}
    assert bulk == {"orgs", "users", "roles", "demographics", "academicSessions"}
    assert {f"{b}.csv" for b in bulk} | {"manifest.csv"} == set(names)

    orgs = _bundle_csv(out / BUNDLE, "orgs.csv")
    district = expected["district"]
    assert [o["sourcedId"] for o in orgs if o["type"] == "district"] == [district["district_id"]]
    schools = {o["sourcedId"]: o for o in orgs if o["type"] == "school"}
    assert set(schools) == {s["school_id"] for s in district["schools"]}
    assert {o["parentSourcedId"] for o in schools.values()} == {district["district_id"]}

    roles = _bundle_csv(out / BUNDLE, "roles.csv")
    users = {u["sourcedId"]: u for u in _bundle_csv(out / BUNDLE, "users.csv")}
    assert "role" not in next(iter(users.values()))  # 1.2: roles live in roles.csv
    student_roles = [r for r in roles if r["role"] == "student"]
    primary = {r["userSourcedId"]: r for r in student_roles if r["roleType"] == "primary"}
    assert len(primary) == district["students_on_roster"]
    assert {r["orgSourcedId"] for r in student_roles} <= set(schools)
    assert {r["role"] for r in roles} == {"student", "teacher"}
    demographics = {d["sourcedId"]: d for d in _bundle_csv(out / BUNDLE, "demographics.csv")}
    assert set(demographics) == set(primary)
    by_local = {users[sid]["identifier"]: users[sid] for sid in primary}
    for p in expected["planted_students"]:
        u = by_local[p["local_id"]]
        assert u["sourcedId"] != p["local_id"]  # a GUID: the district id is in userIds
        assert u["userIds"] == f"{{Local:{p['local_id']}}},{{State:{p['state_id']}}}"
        assert (u["email"], u["username"]) == (p["email"], p["username"])
        assert (u["grades"], primary[u["sourcedId"]]["orgSourcedId"]) == (
            p["grade_level"],
            p["school_id"],
        )
        demo_row = demographics[u["sourcedId"]]
        sex = {
            "female": "female",
            "male": "male",
            "nonbinary": "other",
            "not_selected": "unspecified",
        }
        assert demo_row["sex"] == sex[p["sex"]]
    (delivery,) = [d for d in expected["deliveries"] if d["source"] == "sis"]
    assert delivery["entity_rows"] == {
        "school": len(schools),
        "student": district["students_on_roster"],
    }


def test_edfi_exports_are_api_json_with_upserts_and_deletes(demo):
    out, expected = demo
    yml = _yamls()["attendance"]
    assert yml["format"] == "edfi_json"
    assert set(yml["entities"]) == {"enrollment", "attendance_event"}
    folder = out / "attendance"
    files = sorted(folder.iterdir())
    layouts = set()
    for f in files:
        resource, kind, day, ext = f.name.split(".")
        assert resource in ("studentSchoolAssociations", "studentSchoolAttendanceEvents"), f
        assert kind in ("upserts", "deletes") and ext == "json"
        dt.date.fromisoformat(day)
        data = f.read_bytes()
        bom = data.startswith(b"\xef\xbb\xbf")
        array = data.decode("utf-8-sig").lstrip().startswith("[")
        layouts.add(("array" if array else "lines", bom))
        records = _edfi_records(f)
        assert records and all(len(r["id"]) == 32 for r in records), f.name
        if kind == "deletes":
            continue
        for r in records:
            for field, value in r.items():
                if field.endswith("Descriptor"):
                    assert re.fullmatch(r"uri://[a-z.-]+/\w+Descriptor#.+", value), value
    assert {("array", False), ("lines", False), ("lines", True)} <= layouts
    assert sum(".deletes." in f.name for f in files) == 1
    # a re-sent enrollment keeps its id: ids are unique per key across the exports
    ids: dict[str, tuple] = {}
    for f in _edfi_files(folder, "studentSchoolAssociations"):
        for r in _edfi_records(f):
            key = (r["studentReference"]["studentUniqueId"], r["schoolReference"]["schoolId"])
            assert ids.setdefault(r["id"], key + (r["entryDate"],)) == key + (r["entryDate"],)
    resent = len(
        [r for f in _edfi_files(folder, "studentSchoolAssociations") for r in _edfi_records(f)]
    ) - len(ids)
    assert resent > 0
    names = [d["file_name"] for d in expected["deliveries"] if d["source"] == "attendance"]
    assert sorted(names) == [f.name for f in files]


def test_each_delivery_gets_the_planted_outcome_from_the_pipeline(demo, tmp_path):
    """Run every generated file through the real audit (read, map, validate) in the order
    deliveries apply, publishing each into a scratch lake so the Ed-Fi deletes find the
    records they name: status, counts and quarantined rows are exactly what was planted."""
    pipeline = pytest.importorskip("wholechild.pipeline")
    registry = pytest.importorskip("wholechild.registry")
    from wholechild.config import Paths
    from wholechild.landing import date_in_name, is_deletes

    out, expected = demo
    reg = registry.load_registry(SOURCES)
    home = Paths(tmp_path / "home").ensure()
    order = sorted(
        expected["deliveries"],
        key=lambda d: (d["source"], date_in_name(d["file_name"]), is_deletes(d["file_name"])),
    )
    for d in order:
        outcome = pipeline.audit_delivery(
            reg.sources[d["source"]], out / d["landing"] / d["file_name"], paths=home
        )
        assert (outcome.status, outcome.rows_read, outcome.rows_quarantined) == (
            d["status"],
            d["rows_read"],
            d["rows_quarantined"],
        ), f"{d['file_name']}: {outcome.reason}"
        if "entity_rows" in d:
            read = {e: p + q for e, (p, q) in outcome.entity_counts.items()}
            assert read == d["entity_rows"], d["file_name"]
        q = outcome.quarantine
        got = {
            (int(r), rule)
            for r, rule in zip(q["row_number"], q["rule"], strict=True)
            if r == r and r is not None
        }
        want = {(x["row_number"], x["rule"]) for x in d["quarantined_rows"]}
        assert want <= got, d["file_name"]
        pipeline.publish(outcome, home)


# ---- a small district ---------------------------------------------------------------


def test_small_district_generates(small):
    out, expected = small
    assert expected["generator"]["students"] == 200
    assert len(expected["district"]["schools"]) >= 3
    assert {s["school_type"] for s in expected["district"]["schools"]} == {
        "elementary",
        "middle",
        "high",
    }
    for landing in LANDING_NAMES.values():
        assert any((out / landing).iterdir())
    assert len(expected["rejected_deliveries"]) == 1
    assert len(expected["planted_students"]) == 5
    # no planted bad row may push a small delivery over its reject threshold
    for d in expected["deliveries"]:
        if d["status"] != "rejected":
            assert d["rows_quarantined"] <= 0.02 * d["rows_read"], d["file_name"]
