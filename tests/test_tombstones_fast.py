"""Deletes resolve their ids by reading only the rows those ids name, with the same result.

``tombstones.current_rows_by_id`` (what a delivery's deletes ask the lake since issue 8)
must give exactly the rows of ``lake.current_rows`` (what they read before: every current
row of the source) that carry one of the ids, and so the same tombstones, violations and
ledger counts. Each delivery below is audited both ways on the same lake (the old lookup
is frozen here as ``_full_lookup``) before it is processed: a delete of a key published in
an earlier delivery, of an already deleted key, of an unknown id, delete then re-add, a
key re-published under another id, and OneRoster bundles loaded as snapshot or
incremental. Then randomized lakes (ties, NULL key parts, shared ids, deliveries with the
same ``_applied_at``) compare the two lookups directly.
"""

from __future__ import annotations

import datetime as dt
import random

import pandas as pd
import pyarrow as pa
import pytest

from tests.test_edfi import attendance, land
from tests.test_oneroster import ENROLLMENTS, USERS, bundle_files, land_bundle
from tests.test_oneroster import YML as ROSTER_YML
from wholechild import lake, pipeline, tombstones
from wholechild.config import Paths
from wholechild.landing import sha256_of
from wholechild.registry import load_registry

EDFI_YML = """\
name: edfi
system: Ed-Fi ODS/API
format: edfi_json
domains: [attendance]
steward: team:sis
cadence: daily
student_id: state
quality: {max_reject_rate: 0.5}
"""
RECEIVED = dt.datetime(2025, 10, 1, 12, 0, tzinfo=dt.UTC)


def _full_lookup(source, paths):
    """The lookup as it was before (git ad02ab6): every current row of the source."""
    if paths is None:
        return None

    def current(entity: str) -> pd.DataFrame:
        export = source.export_of(entity)
        return lake.current_rows(paths, source.name, entity, export.mode if export else source.mode)

    return current


def _summary(out):
    quarantine = out.quarantine.reset_index(drop=True)
    published = {e: f.reset_index(drop=True) for e, f in sorted(out.published.items())}
    counts = (out.status, out.reason, out.rows_read, out.rows_published, out.rows_quarantined)
    return counts, dict(out.entity_counts), quarantine, published


def audit_both_ways(registry, home: Paths, source_name: str, path):
    """The delivery audited with the fast lookup and with the full one: the same outcome."""
    source = registry.sources[source_name]
    sha = sha256_of(path)
    fast = pipeline.audit_delivery(source, path, sha256=sha, received_at=RECEIVED, paths=home)
    full = pipeline.audit_delivery(
        source,
        path,
        sha256=sha,
        received_at=RECEIVED,
        paths=home,
        published=_full_lookup(source, home),
    )
    got, want = _summary(fast), _summary(full)
    assert got[:2] == want[:2], path.name
    pd.testing.assert_frame_equal(got[2], want[2], check_exact=True)
    assert got[3].keys() == want[3].keys()
    for entity in want[3]:
        pd.testing.assert_frame_equal(got[3][entity], want[3][entity], check_exact=True)
    return fast


def _process(registry, home):
    (out,) = pipeline.process_pending(registry, home)
    return out


def _unknown(out) -> list[tuple[int, str]]:
    q = out.quarantine
    q = q[q["rule"] == "unknown_delete"]
    return list(zip(q["row_number"].tolist(), q["value"].tolist(), strict=True))


def _current_ids(home, source: str, entity: str, mode: str = "incremental") -> list[str]:
    return sorted(lake.current_rows(home, source, entity, mode)["source_record_id"])


@pytest.fixture
def edfi(sources_dir):
    (sources_dir / "edfi.yml").write_text(EDFI_YML)
    reg = load_registry(sources_dir)
    assert reg.errors == []
    return reg


def test_edfi_deletes_by_id_across_deliveries(home, edfi, monkeypatch):
    def step(name: str, records: list):
        path = land(home, name, records)
        fast = audit_both_ways(edfi, home, "edfi", path)
        out = _process(edfi, home)
        assert (out.status, out.rows_read, out.rows_published, out.rows_quarantined) == (
            fast.status,
            fast.rows_read,
            fast.rows_published,
            fast.rows_quarantined,
        )
        return out

    step(
        "studentSchoolAttendanceEvents.upserts.2025-09-03.json",
        [attendance(i, "Tardy") for i in range(1, 5)],
    )
    assert _current_ids(home, "edfi", "attendance_event") == ["att1", "att2", "att3", "att4"]

    # A key published in an earlier delivery, deleted by its id alone.
    out = step("studentSchoolAttendanceEvents.deletes.2025-09-04.json", [{"id": "att2"}])
    assert (out.status, out.rows_published) == ("published", 1)
    (stone,) = out.published["attendance_event"].to_dict("records")
    assert (stone["student_ref"], stone["school_id"], stone["_is_deleted"]) == ("002", "101", True)
    assert _current_ids(home, "edfi", "attendance_event") == ["att1", "att3", "att4"]

    # The same key again (already deleted) and an id never loaded: both reported alike.
    out = step(
        "studentSchoolAttendanceEvents.deletes.2025-09-05.json",
        [{"id": "att2"}, {"id": "att99"}],
    )
    assert (out.status, out.rows_read, out.rows_published) == ("published_with_quarantine", 2, 0)
    assert _unknown(out) == [(1, "att2"), (2, "att99")]
    messages = out.quarantine["message"].tolist()
    assert (
        "deletes id 'att2', but no published attendance_event row of source edfi" in (messages[0])
    )

    # Re-added, then deleted again: the re-added row is what the id names now.
    step("studentSchoolAttendanceEvents.upserts.2025-09-06.json", [attendance(2, "Tardy")])
    assert _current_ids(home, "edfi", "attendance_event") == ["att1", "att2", "att3", "att4"]
    out = step(
        "studentSchoolAttendanceEvents.deletes.2025-09-07.json",
        [{"id": "att2", "changeVersion": 9}],  # not byte-identical to the first delete
    )
    assert (out.status, out.rows_published) == ("published", 1)
    assert _current_ids(home, "edfi", "attendance_event") == ["att1", "att3", "att4"]

    # att3's key published again under another id: the old id names nothing current.
    step(
        "studentSchoolAttendanceEvents.upserts.2025-09-08.json",
        [{**attendance(3, "Tardy"), "id": "att3b"}],
    )
    assert _current_ids(home, "edfi", "attendance_event") == ["att1", "att3b", "att4"]
    out = step("studentSchoolAttendanceEvents.deletes.2025-09-09.json", [{"id": "att3"}])
    assert (out.rows_published, _unknown(out)) == (0, [(1, "att3")])
    out = step(
        "studentSchoolAttendanceEvents.deletes.2025-09-10.json",
        [{"id": "att3b"}, {"id": "att4"}],
    )
    assert (out.status, out.rows_published) == ("published", 2)
    assert _current_ids(home, "edfi", "attendance_event") == ["att1"]


@pytest.mark.parametrize("mode", ["snapshot", "incremental"])
def test_oneroster_tombstones_by_mode(home, sources_dir, monkeypatch, mode):
    (sources_dir / "roster.yml").write_text(ROSTER_YML + f"mode: {mode}\n")
    reg = load_registry(sources_dir)
    assert reg.errors == []

    def step(name: str, files: dict):
        path = land_bundle(home, name, files)
        audit_both_ways(reg, home, "roster", path)
        return _process(reg, home)

    step("roster_2025-09-01", bundle_files())
    assert _current_ids(home, "roster", "section_enrollment", mode) == ["E1", "E2", "E3"]

    # Bulk files with tobedeleted rows: U3 and E1 by their ids, U9 and E9 never loaded.
    users = USERS + "U3,tobedeleted,,,,,,,,,,,,,,,,,,\nU9,tobedeleted,,,,,,,,,,,,,,,,,,\n"
    users = users.replace("U3,active,,true,S2,student,cy,,Cy,Cole,,,cy@x.org,,,,10,,,\n", "")
    enrollments = ENROLLMENTS + "E1,tobedeleted,,,,,,,,\nE9,tobedeleted,,,,,,,,\n"
    enrollments = enrollments.replace(
        "E1,active,,C1,S1,U1,student,false,2025-08-20,2026-05-29\n", ""
    )
    out = step(
        "roster_2025-09-02", bundle_files(**{"users.csv": users, "enrollments.csv": enrollments})
    )
    assert [v for _, v in _unknown(out)] == ["E9"]  # U9 carries its key (its sourcedId)
    stones = out.published["section_enrollment"]
    stones = stones[stones["_is_deleted"]]
    assert stones[["student_ref", "section_id"]].values.tolist() == [["U1", "C1"]]
    if mode == "incremental":
        assert _current_ids(home, "roster", "section_enrollment", mode) == ["E2", "E3"]

    # E1 again: deleted in the latest delivery (incremental: its key is gone; snapshot: the
    # latest delivery's E1 row is a tombstone, which is not current either).
    files = bundle_files(
        modes={"users": "absent", "orgs": "absent", "demographics": "absent"},
        **{
            "users.csv": None,
            "orgs.csv": None,
            "demographics.csv": None,
            "enrollments.csv": ENROLLMENTS.splitlines()[0] + "\n" + "E1,tobedeleted,,,,,,,,\n"
            "E2,tobedeleted,,,,,,,,\nE4,active,,C1,S1,U2,student,false,2025-08-20,\n",
        },
    )
    out = step("roster_2025-09-03", files)
    assert [v for _, v in _unknown(out)] == ["E1"]
    stones = out.published["section_enrollment"]
    assert stones.loc[stones["_is_deleted"], "source_record_id"].tolist() == ["E2"]


def test_deletes_without_a_lake_or_an_id_name_nothing(home, edfi, monkeypatch):
    path = land(
        home,
        "studentSchoolAttendanceEvents.deletes.2025-09-04.json",
        [{"id": "att1"}, {"changeVersion": 3}],
    )
    out = audit_both_ways(edfi, home, "edfi", path)
    assert [r for r, _ in _unknown(out)] == [1, 2]
    found = tombstones.current_rows_by_id(home, "edfi", "attendance_event", "incremental", ["x"])
    assert found.empty and list(found.columns)[:4] == [
        "student_ref",
        "school_id",
        "event_date",
        "category",
    ]


def test_a_lake_without_source_record_ids_names_nothing_as_before(home, edfi, monkeypatch):
    schema = lake.entity_schema("attendance_event")
    schema = schema.remove(schema.get_field_index("source_record_id"))
    row = {f.name: None for f in schema}
    row.update(
        student_ref="001",
        school_id="101",
        event_date=dt.date(2025, 9, 3),
        category="tardy",
        _delivery_id="d1",
        _row_number=1,
        _applied_at="2025-09-03T1",
        _is_deleted=False,
    )
    table = pa.Table.from_pylist([row], schema=schema)
    home.store.write_parquet(table, str(home.lake_raw / "edfi" / "d1" / "attendance_event.parquet"))
    path = land(home, "studentSchoolAttendanceEvents.deletes.2025-09-04.json", [{"id": "att1"}])
    out = audit_both_ways(edfi, home, "edfi", path)
    assert _unknown(out) == [(1, "att1")]


# ---------------------------------------------------------------- randomized lakes
ENTITY = "section_enrollment"  # key (student_ref, section_id, begin_date): begin_date NULL-able


def _random_lake(paths: Paths, rng: random.Random) -> None:
    schema = lake.entity_schema(ENTITY)
    stamps = ["2025-09-01T1", "2025-09-02T1", "2025-09-02T1", "2025-09-03T1"]
    dates = [None, dt.date(2025, 8, 20), dt.date(2026, 1, 5)]
    for d in range(rng.randint(1, 6)):
        delivery = f"2025090{d}-{rng.randint(0, 9)}{d}"  # names sort apart from their order
        applied = rng.choice(stamps)
        rows = []
        for _ in range(rng.randint(0, 8)):
            row = {f.name: None for f in schema}
            row.update(
                student_ref=rng.choice(["S1", "S2", "S3"]),
                section_id=rng.choice(["A", "B"]),
                begin_date=rng.choice(dates),
                source_record_id=rng.choice(["r1", "r2", "r3", "r4", "r5", None]),
                teacher_id=f"t{rng.randint(0, 99)}",
                _delivery_id=delivery,
                _source="roster",
                _row_number=rng.randint(1, 4),  # repeats: ties the sort keeps in file order
                _applied_at=applied,
                _is_deleted=rng.random() < 0.3,
            )
            rows.append(row)
        table = pa.Table.from_pylist(rows, schema=schema)
        paths.store.write_parquet(
            table, str(paths.lake_raw / "roster" / delivery / f"{ENTITY}.parquet")
        )


@pytest.mark.parametrize("mode", ["incremental", "snapshot"])
def test_random_lakes_give_the_same_rows_and_tombstones(tmp_path, mode):
    columns = ["student_ref", "section_id", "begin_date", "source_record_id", "_applied_at"]
    columns += ["_delivery_id", "_row_number", "_is_deleted"]
    checked = 0
    for seed in range(30):
        rng = random.Random(seed)
        paths = Paths(tmp_path / f"{mode}{seed}").ensure()
        _random_lake(paths, rng)
        ids = rng.sample(["r1", "r2", "r3", "r4", "r5", "r9"], rng.randint(1, 6))
        full = lake.current_rows(paths, "roster", ENTITY, mode)
        want = (
            full[full["source_record_id"].isin(ids)][columns].reset_index(drop=True)
            if len(full)
            else None
        )
        got = tombstones.current_rows_by_id(paths, "roster", ENTITY, mode, [*ids, None])
        if want is None or want.empty:
            assert got.empty, seed
        else:
            pd.testing.assert_frame_equal(got[columns], want, check_exact=True)
            checked += 1

        # The tombstones themselves: ids alone, and one row carrying its own key.
        text = pd.DataFrame(
            {
                "student_ref": [None] * len(ids) + ["S9"],
                "section_id": [None] * len(ids) + ["Z"],
                "begin_date": [None] * (len(ids) + 1),
                "source_record_id": [*ids, "r1"],
            },
            dtype="string",
        )

        def plain(entity, paths=paths):
            return lake.current_rows(paths, "roster", entity, mode)

        fast = tombstones.PublishedRows(paths, "roster", lambda entity: mode)
        a = tombstones.audit_tombstones(ENTITY, text, {}, fast, "roster")
        b = tombstones.audit_tombstones(ENTITY, text, {}, plain, "roster")
        pd.testing.assert_frame_equal(a[0], b[0], check_exact=True)
        pd.testing.assert_frame_equal(a[1], b[1], check_exact=True)
    assert checked >= 15  # most lakes had current rows with a wanted id


def _random_pending(rng: random.Random) -> list[pd.DataFrame]:
    """Rows of deliveries audited but not published, as the pipeline's frames hold them."""
    frames = []
    for d in range(rng.randint(1, 3)):
        rows = []
        for _ in range(rng.randint(0, 6)):
            row = {f.name: None for f in lake.entity_schema(ENTITY)}
            row.update(
                student_ref=rng.choice(["S1", "S2", "S3", "S4"]),
                section_id=rng.choice(["A", "B"]),
                begin_date=rng.choice([None, "2025-08-20", "2026-01-05"]),
                source_record_id=rng.choice(["r1", "r2", "r6", None]),
                _delivery_id=f"20250909-p{d}",
                _source="roster",
                _row_number=rng.randint(1, 4),
                _applied_at=rng.choice(["2025-09-02T1", "2025-09-09T1"]),
                _is_deleted=rng.random() < 0.3,
            )
            rows.append(row)
        schema = lake.entity_schema(ENTITY)
        frame = pd.DataFrame(rows, columns=[f.name for f in schema])
        for f in schema:  # dates as the pipeline's cast frames hold them
            if pa.types.is_date32(f.type):
                frame[f.name] = pd.to_datetime(frame[f.name])
        frames.append(frame)
    return frames


@pytest.mark.parametrize("mode", ["incremental", "snapshot"])
def test_pending_rows_by_id_equal_the_plain_rule_over_lake_and_pending(tmp_path, monkeypatch, mode):
    """validate's lookup with pending deliveries (PublishedRows.include): reading only the
    keys the ids name gives the rows of the plain rule over every lake and pending row."""
    columns = ["student_ref", "section_id", "begin_date", "source_record_id", "_applied_at"]
    columns += ["_delivery_id", "_row_number", "_is_deleted"]
    checked = 0
    for seed in range(30):
        rng = random.Random(1000 + seed)
        paths = Paths(tmp_path / f"{mode}{seed}").ensure()
        if seed % 5:  # and now and then no lake at all
            _random_lake(paths, rng)
        rows = tombstones.PublishedRows(paths, "roster", lambda entity: mode)
        for frame in _random_pending(rng):
            rows.include({ENTITY: frame})
        ids = rng.sample(["r1", "r2", "r3", "r6", "r9"], rng.randint(1, 5))
        full = rows(ENTITY)  # the plain rule over the lake's rows, then the pending ones
        want = full[full["source_record_id"].isin(ids)][columns].reset_index(drop=True)
        with monkeypatch.context() as m:  # by_id must not take the long way
            m.setattr(lake, "read_published", lambda *a: pytest.fail("read the whole entity"))
            got = rows.by_id(ENTITY, [*ids, None])
        if want.empty:
            assert got.empty, seed
            continue
        got = got[columns].reset_index(drop=True)
        for frame in (got, want):
            frame["begin_date"] = pd.to_datetime(frame["begin_date"]).astype("datetime64[ns]")
            frame["_row_number"] = frame["_row_number"].astype("int64")
            frame["_is_deleted"] = frame["_is_deleted"].astype(bool)
        pd.testing.assert_frame_equal(got, want, check_exact=True, check_dtype=False)
        checked += 1
    assert checked >= 10
