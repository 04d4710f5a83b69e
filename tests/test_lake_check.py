"""`wholechild check-lake`: every published delivery holds the rows its ledger row says it
wrote; unreadable files and publishes that never committed are named (lake on disk; the
object-store lake is checked in tests/test_object_store.py)."""

from __future__ import annotations

import json
import os
import time

import pyarrow.parquet as pq

from orchestration.cli import EXIT_OK, EXIT_REJECTED, main
from tests.conftest import land
from tests.test_pipeline import GOOD
from wholechild import lake, lake_check, lake_store, pipeline


def _published(home, registry, days=("05", "06")) -> list[str]:
    for day in days:  # the same events, another school day: other bytes
        text = GOOD.replace("09/03/", f"09/{day}/").replace("09/04/", f"09/{day}/")
        land(home, "attendance", f"attendance_2025-09-{day}.csv", text)
    outcomes = pipeline.process_pending(registry, home)
    assert {o.status for o in outcomes} == {"published"}
    return [o.delivery_id for o in outcomes]


def test_a_whole_lake_has_no_findings_and_exits_0(home, attendance_registry, capsys):
    _published(home, attendance_registry)
    result = lake_check.check(home)
    assert (result.deliveries, result.files, result.rows, result.findings) == (2, 2, 8, [])
    assert main(["check-lake"]) == EXIT_OK
    assert "2 published deliveries, 2 data files, 8 rows; every delivery is whole." in (
        capsys.readouterr().out
    )


def test_lost_and_broken_files_are_problems_and_leftovers_are_notes(
    home, attendance_registry, capsys
):
    first, second = _published(home, attendance_registry)
    raw = home.lake_raw / "attendance"
    (raw / first / "attendance_event.parquet").unlink()  # a lifecycle rule took it
    (raw / second / "attendance_event.parquet").write_bytes(b"PAR1 not parquet")
    stale = home.lake_staging / "20250101T000000000000-deadbeef0000"
    stale.mkdir(parents=True)
    (stale / "attendance_event.parquet").write_bytes(b"half")
    past = time.time() - lake_store.STALE_SECONDS - 60
    for p in (stale / "attendance_event.parquet", stale):
        os.utime(p, (past, past))

    assert main(["check-lake", "--json"]) == EXIT_REJECTED
    report = json.loads(capsys.readouterr().out)
    found = {(f["kind"], f["location"].rsplit("/", 2)[-2:][-1]): f for f in report["findings"]}
    assert set(found) == {
        ("count_mismatch", first),
        ("unreadable", "attendance_event.parquet"),
        ("uncommitted", stale.name),
    }
    assert found[("count_mismatch", first)]["message"].endswith(
        "holds 0 published rows but its ledger row says 4 were written; files were lost or "
        "changed after publishing (check the storage's lifecycle rules and clean-up jobs), "
        "restore them or deliver the file again."
    )
    assert found[("uncommitted", stale.name)]["is_problem"] is False
    assert "next publish removes it" in found[("uncommitted", stale.name)]["message"]


def test_a_ledger_older_than_rows_written_is_read_but_not_counted(home, attendance_registry):
    (first,) = _published(home, attendance_registry, days=("05",))
    ledger = home.lake_raw / "attendance" / first / lake.LEDGER_FILE
    pq.write_table(pq.read_table(ledger).drop_columns(["rows_written"]), ledger)
    lake._LEDGER_CACHE.clear()
    result = lake_check.check(home)
    assert (result.deliveries, result.unverified, result.rows, result.findings) == (1, 1, 4, [])


def test_a_lost_copied_or_broken_ledger_is_a_problem_and_stray_files_are_not(
    home, attendance_registry
):
    import shutil

    first, second = _published(home, attendance_registry)
    raw = home.lake_raw / "attendance"
    (raw / first / lake.LEDGER_FILE).unlink()
    (raw / second / ".DS_Store").write_bytes(b"\0finder")  # not part of the delivery
    copy = raw / "20250101T000000000000-c0ffee000000"
    shutil.copytree(raw / second, copy)
    result = lake_check.check(home)
    kinds = sorted((f.kind, f.location.rsplit("/", 1)[-1]) for f in result.findings)
    assert kinds == [("ledger_lost", first), ("misplaced", copy.name)]
    assert all(f.is_problem for f in result.findings)

    (copy / lake.LEDGER_FILE).write_bytes(b"not parquet")
    (raw / second / lake.QUARANTINE_FILE).write_bytes(b"not parquet")
    kinds = sorted((f.kind, f.location.rsplit("/", 1)[-1]) for f in lake_check.check(home).findings)
    assert kinds == [
        ("ledger_lost", first),
        ("unreadable", lake.LEDGER_FILE),
        ("unreadable", lake.QUARANTINE_FILE),
    ]
