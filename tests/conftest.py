"""Shared fixtures: an isolated WHOLECHILD_HOME and a small registry per test."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from wholechild.config import Paths
from wholechild.registry import load_registry

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

#: The example of PRODUCT.md's "Source registry" section.
MAP_GROWTH_YML = """\
name: map_growth
system: NWEA MAP Growth
format: csv
entity: assessment_result
domains: [assessment]
steward: assessment@district.example
cadence: term
landing: map_growth
student_id: state
mode: incremental
columns:
  student_ref: Student_StateID
  assessed_on: {header: TestStartDate, format: "%m/%d/%Y"}
  subject: Subject
  scale_score: TestRITScore
  percentile: TestPercentile
constants:
  assessment_name: MAP Growth
codes:
  subject: {Mathematics: math, Reading: ela, Language Usage: ela, Science: science}
options: {encoding: utf-8, delimiter: ","}
quality: {max_reject_rate: 0.02}
"""


ATTENDANCE_YML = """\
name: attendance
system: Attendance Tracker
format: csv
entity: attendance_event
domains: [attendance]
steward: attendance@district.example
cadence: daily
student_id: local
mode: incremental
columns:
  student_ref: StudentID
  school_id: School
  event_date: {header: Date, format: "%m/%d/%Y"}
  category: Code
codes:
  category: {A: unexcused_absence, E: excused_absence, T: tardy, P: present}
quality: {max_reject_rate: 0.5}
"""


@pytest.fixture
def home(tmp_path, monkeypatch) -> Paths:
    """A fresh WHOLECHILD_HOME with its folders, and a sources folder beside it."""
    h = tmp_path / "home"
    monkeypatch.setenv("WHOLECHILD_HOME", str(h))
    monkeypatch.setenv("WHOLECHILD_SOURCES", str(tmp_path / "sources"))
    monkeypatch.setenv("WHOLECHILD_SETTLE_SECONDS", "0")
    (tmp_path / "sources").mkdir()
    return Paths(h).ensure()


@pytest.fixture
def sources_dir(home, tmp_path) -> Path:
    return tmp_path / "sources"


@pytest.fixture
def attendance_registry(sources_dir):
    (sources_dir / "attendance.yml").write_text(ATTENDANCE_YML)
    return load_registry(sources_dir)


def land(home: Paths, landing: str, name: str, text: str) -> Path:
    folder = home.landing / landing
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path
