"""The performance bench (bench/run_bench.py, issue 8) end to end on a small district.

No timing is asserted: this only keeps the bench runnable as the pipeline changes, and
checks that it records every stage and that the ledger adds up after the one-day delta.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("generate", "floor", "ingest", "build", "delta_ingest", "delta_build")

pytestmark = pytest.mark.slow


def test_bench_runs_every_stage_and_the_ledger_adds_up(tmp_path):
    results = tmp_path / "results.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run_bench.py"),
            "--students",
            "2000",
            "--out",
            str(tmp_path / "work"),
            "--results",
            str(results),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    data = json.loads(results.read_text())

    for stage in STAGES:
        s = data["stages"][stage]
        assert s["exit_code"] == 0, stage
        assert s["seconds"] > 0, stage
        assert s["rows"] > 0, stage
        assert s["memory"]["peak_mb"] > 0, stage
    # the floor loads every row the platform reads (xlsx through the platform's reader)
    assert not [f for f in data["stages"]["floor"]["per_file"] if f.get("error")]
    # ...and more: a OneRoster bundle's lookup records (the district org, teachers, roles,
    # sessions) are read by the floor but are rows of no entity (docs/STANDARD_FORMATS.md).
    assert data["stages"]["floor"]["rows"] >= data["stages"]["ingest"]["rows"] > 0
    assert data["stages"]["build"]["dbt_ok"] and data["stages"]["delta_build"]["dbt_ok"]

    # one new day: one attendance file and one LMS file, each published
    delta = data["stages"]["delta_ingest"]
    assert delta["deliveries"] == 2
    assert set(delta["statuses"]) <= {"published", "published_with_quarantine"}

    ledger = data["ledger"]
    assert ledger["one_row_per_delivery"]
    assert ledger["rows_read_equals_published_plus_quarantined"]
    assert ledger["ledger_rows"] == data["stages"]["ingest"]["deliveries"] + 2

    for name in (
        "publish_throughput_vs_floor",
        "landing_to_marts_vs_floor",
        "delta_vs_full_run",
        "peak_memory_mb",
    ):
        assert isinstance(data["targets"][name]["met"], bool)
        assert data["targets"][name]["measured"] is not None
    # without --keep the bench leaves nothing behind
    assert not (tmp_path / "work").exists()
