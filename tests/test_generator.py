"""The demo district generator and the demo's source registry (``sources/*.yml``).

The demo is only worth something if its files are what the registry says they are and
its ``_expected.json`` is true, so these tests pin both: byte-identical reruns, one
landing folder per source, every mapped header present, a real calendar, the planted
facts recomputed from the raw files, and (when the pipeline is importable) each
delivery getting exactly the outcome the generator planted.
"""

from __future__ import annotations

import csv
import datetime as dt
import fnmatch
import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from openpyxl import load_workbook

from wholechild.demo import LANDING_NAMES, generate

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "sources"


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
    assert a["sis/students_2026-06-05.csv"] != b["sis/students_2026-06-05.csv"]
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
    out, _ = demo
    students = _read_csv(out / "sis/students_2026-06-05.csv")
    assert all(len(s["Student_Number"]) == 6 and s["Student_Number"][0] == "0" for s in students)
    marks = _read_csv(out / "gradebook/course_marks_2026-01-16.csv")
    assert all(not m["Student ID"].startswith("0") for m in marks)
    assert _yamls()["gradebook"]["student_id"] == {"kind": "local", "pad_to": 6}


# ---- the calendar -------------------------------------------------------------------


def test_calendar_has_a_realistic_instructional_year(demo):
    out, expected = demo
    rows = _read_csv(out / "sis/calendar_2026-06-05.csv")
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
    """Recompute each planted student's days enrolled and absent from the raw SIS and
    attendance files with METRICS.md's rules, independently of the generator."""
    out, expected = demo
    planted = {p["label"]: p for p in expected["planted_students"]}
    assert len(planted) == 5
    calendar: dict[tuple[str, dt.date], bool] = {}
    for r in _read_csv(out / "sis/calendar_2026-06-05.csv"):
        day = dt.datetime.strptime(r["Date_Value"], "%m/%d/%Y").date()
        calendar[(r["SchoolID"], day)] = r["InSession"] == "1"
    as_of = dt.date.fromisoformat(expected["district"]["as_of"])
    enrollments = _read_csv(out / "sis/enrollments_2026-06-05.csv")
    events = [
        r
        for f in sorted((out / "attendance").iterdir())
        for r in _read_csv(f, encoding="utf-8-sig")
    ]
    weight = {"A": 1, "U": 1, "E": 1, "SUS": 1, "PD": 0.5, "ED": 0.5, "T": 0, "P": 0}
    for label, p in planted.items():
        enrolled: set[tuple[str, dt.date]] = set()
        for e in enrollments:
            if e["Student_Number"] != p["local_id"] or e["ExitCode"] == "NS":
                continue
            a = dt.datetime.strptime(e["EntryDate"], "%m/%d/%Y").date()
            b = dt.datetime.strptime(e["ExitDate"], "%m/%d/%Y").date() if e["ExitDate"] else as_of
            enrolled |= {
                (s, d)
                for (s, d), on in calendar.items()
                if on and s == e["SchoolID"] and a <= d <= b
            }
        day_absence: dict[dt.date, float] = {}
        for r in events:
            if r["StudentNumber"] != p["local_id"]:
                continue
            day = dt.date.fromisoformat(r["AbsenceDate"])
            if (r["SchoolCode"], day) not in enrolled:
                continue
            frac = r["PctDayMissed"]
            value = float(frac) if frac and r["AttCode"] not in ("T", "P") else weight[r["AttCode"]]
            day_absence[day] = min(1.0, max(day_absence.get(day, 0.0), value))
        att = p["attendance"]
        assert len(enrolled) == att["days_enrolled"], label
        assert round(sum(day_absence.values()), 4) == att["days_absent"], label
    assert planted["chronic_absence_ed_el"]["attendance"]["is_chronically_absent"]
    p4 = planted["midyear_sped_partial_days"]["attendance"]
    assert not p4["is_chronically_absent"] and p4["is_chronically_absent_half_day_whole"]
    assert len(planted["two_enrollments"]["enrollments"]) == 2
    assert len(planted["two_enrollments"]["attendance"]["events_not_counted"]) == 2
    assert planted["suspended_high_school"]["n_suspensions"] == 2
    assert planted["suspended_high_school"]["core_course_failures"] == 1
    assert planted["overlap_withdrawn_advanced"]["advanced_course_enrolled"]


def test_each_delivery_gets_the_planted_outcome_from_the_pipeline(demo):
    """Run every generated file through the real audit (read, map, validate; nothing is
    written): status, counts and quarantined rows are exactly what was planted."""
    pipeline = pytest.importorskip("wholechild.pipeline")
    registry = pytest.importorskip("wholechild.registry")
    out, expected = demo
    reg = registry.load_registry(SOURCES)
    for d in expected["deliveries"]:
        outcome = pipeline.audit_delivery(
            reg.sources[d["source"]], out / d["landing"] / d["file_name"]
        )
        assert (outcome.status, outcome.rows_read, outcome.rows_quarantined) == (
            d["status"],
            d["rows_read"],
            d["rows_quarantined"],
        ), f"{d['file_name']}: {outcome.reason}"
        q = outcome.quarantine
        got = {
            (int(r), rule)
            for r, rule in zip(q["row_number"], q["rule"], strict=True)
            if r == r and r is not None
        }
        want = {(x["row_number"], x["rule"]) for x in d["quarantined_rows"]}
        assert want <= got, d["file_name"]


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
