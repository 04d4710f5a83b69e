"""Write-audit-publish of deliveries: what is published, quarantined, rejected and filed."""

from __future__ import annotations

import json

import duckdb
import pytest

from tests.conftest import land
from wholechild import lake, pipeline

GOOD = """\
StudentID,School,Date,Code
004512,101,09/03/2025,A
004513,101,09/03/2025,E
004514,102,09/04/2025,T
004515,102,09/04/2025,P
"""


def published(home, entity="attendance_event"):
    return lake.read_published(home, "attendance", entity)


def test_good_delivery_is_published_archived_and_ledgered(home, attendance_registry):
    path = land(home, "attendance", "attendance_2025-09-05.csv", GOOD)
    (out,) = pipeline.process_pending(attendance_registry, home)
    assert out.status == "published"
    assert (out.rows_read, out.rows_published, out.rows_quarantined) == (4, 4, 0)
    rows = published(home)
    assert sorted(rows["student_ref"]) == ["004512", "004513", "004514", "004515"]
    assert set(rows["category"]) == {"unexcused_absence", "excused_absence", "tardy", "present"}
    assert not path.exists()
    assert (home.archive / "attendance" / out.delivery_id / path.name).exists()
    ledger = lake.read_ledger(home)
    assert ledger[
        ["status", "rows_read", "rows_published", "rows_quarantined"]
    ].values.tolist() == [["published", 4, 4, 0]]
    assert rows["_applied_at"].iloc[0].startswith("2025-09-05T")


def test_bad_rows_are_quarantined_with_rule_row_and_record(home, attendance_registry):
    land(
        home,
        "attendance",
        "attendance_2025-09-06.csv",
        GOOD + "004516,101,13/45/2025,A\n004517,101,09/05/2025,Q\n",
    )
    (out,) = pipeline.process_pending(attendance_registry, home)
    assert out.status == "published_with_quarantine"
    assert (out.rows_read, out.rows_published, out.rows_quarantined) == (6, 4, 2)
    q = lake.read_quarantine(home)
    assert q[["row_number", "rule", "column_name", "value"]].values.tolist() == [
        [6, "date_format", "event_date", "13/45/2025"],
        [7, "unmapped_code", "category", "Q"],
    ]
    record = json.loads(q["record"].iloc[1])
    assert record == {"StudentID": "004517", "School": "101", "Date": "09/05/2025", "Code": "Q"}
    assert "attendance_2025-09-06.csv row 7" in q["message"].iloc[1]
    assert len(published(home)) == 4


def test_rejected_delivery_publishes_nothing_and_keeps_previous_data(home, attendance_registry):
    land(home, "attendance", "attendance_2025-09-05.csv", GOOD)
    pipeline.process_pending(attendance_registry, home)
    before = published(home)
    bad = land(
        home, "attendance", "attendance_2025-09-06.csv", "StudentID,School,Code\n004512,101,A\n"
    )  # Date column missing
    (out,) = pipeline.process_pending(attendance_registry, home)
    assert out.status == "rejected"
    assert "no column 'Date'" in out.reason and "attendance_2025-09-06.csv" in out.reason
    assert (out.rows_read, out.rows_published, out.rows_quarantined) == (0, 0, 0) or (
        out.rows_read == out.rows_quarantined
    )
    after = published(home)
    assert after.equals(before)
    folder = home.rejected / "attendance" / out.delivery_id
    assert (folder / bad.name).exists()
    report = json.loads((folder / "report.json").read_text())
    assert report["status"] == "rejected"
    assert "no column 'Date'" in (folder / "report.txt").read_text()


def test_reject_rate_over_threshold_rejects_whole_delivery(home, attendance_registry):
    land(
        home,
        "attendance",
        "a_2025-09-07.csv",
        "StudentID,School,Date,Code\n1,101,09/03/2025,A\n2,101,09/03/2025,Z\n3,101,09/03/2025,Z\n",
    )
    (out,) = pipeline.process_pending(attendance_registry, home)
    assert out.status == "rejected"
    assert out.rows_read == 3 and out.rows_quarantined == 3 and out.rows_published == 0
    assert "max_reject_rate" in out.reason and "rule unmapped_code" in out.reason
    assert published(home).empty


def test_duplicate_keys_reject_the_delivery_naming_the_key(home, attendance_registry):
    land(home, "attendance", "a_2025-09-07.csv", GOOD + "004512,101,09/03/2025,A\n")
    (out,) = pipeline.process_pending(attendance_registry, home)
    assert out.status == "rejected"
    assert "004512" in out.reason and "repeats" in out.reason


def test_redelivered_file_is_loaded_once(home, attendance_registry):
    land(home, "attendance", "attendance_2025-09-05.csv", GOOD)
    pipeline.process_pending(attendance_registry, home)
    land(home, "attendance", "attendance_copy.csv", GOOD)  # same bytes, new name
    (out,) = pipeline.process_pending(attendance_registry, home)
    assert out.status == "duplicate"
    assert out.rows_read == 0
    assert len(published(home)) == 4
    assert lake.read_ledger(home)["status"].tolist() == ["published", "duplicate"]


def test_corrected_file_with_same_name_loads_and_wins(home, attendance_registry):
    land(home, "attendance", "attendance_2025-09-05.csv", GOOD)
    pipeline.process_pending(attendance_registry, home)
    land(
        home,
        "attendance",
        "attendance_2025-09-05.csv",
        GOOD.replace("004515,102,09/04/2025,P", "004515,102,09/04/2025,E"),
    )
    (out,) = pipeline.process_pending(attendance_registry, home)
    assert out.status == "published"
    current = lake.current_rows(home, "attendance", "attendance_event", "incremental")
    assert len(current) == 5  # the corrected key (category changed) is a new key
    assert len(lake.read_ledger(home)) == 2


@pytest.mark.parametrize("n_good,n_bad", [(4, 0), (4, 1)])
def test_ledger_invariant_rows_read_equals_published_plus_quarantined(
    home, attendance_registry, n_good, n_bad
):
    text = GOOD + "".join(f"9{i},101,09/03/2025,Z\n" for i in range(n_bad))
    land(home, "attendance", "a.csv", text)
    pipeline.process_pending(attendance_registry, home)
    ledger = lake.read_ledger(home)
    assert (ledger["rows_read"] == ledger["rows_published"] + ledger["rows_quarantined"]).all()
    assert int(ledger["rows_read"].iloc[0]) == n_good + n_bad


def test_warehouse_views_expose_raw_ledger_and_quarantine(home, attendance_registry):
    from wholechild import warehouse

    land(home, "attendance", "a_2025-09-06.csv", GOOD + "004517,101,09/05/2025,Q\n")
    pipeline.process_pending(attendance_registry, home)
    warehouse.refresh(attendance_registry, home)
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from raw.attendance__attendance_event").fetchone() == (
            4,
        )
        assert con.execute("select status from ops.load_ledger").fetchone() == (
            "published_with_quarantine",
        )
        assert con.execute("select rule from quarantine.rejected_rows").fetchone() == (
            "unmapped_code",
        )
        types = dict(
            con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_name = 'attendance__attendance_event'"
            ).fetchall()
        )
    assert types["event_date"] == "DATE" and types["absent_fraction"] == "DOUBLE"
