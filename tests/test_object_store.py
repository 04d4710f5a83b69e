"""WHOLECHILD_LAKE=s3://...: the lake in an object store, reached through fsspec.

A local S3 (moto's server, on loopback) stands in for the district's bucket. The fast tests
publish deliveries into it and read them back, prove that a delivery is invisible until its
ledger (the commit marker) is uploaded, also when the publishing process is killed, and
that the warehouse views read the bucket. The slow test builds the demo district's marts
from the bucket and compares them row for row with the same lake on disk.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import uuid

import duckdb
import pyarrow as pa
import pytest

from tests.conftest import ROOT, land
from tests.test_bad_inputs import GOOD, deliver, lines, write_source
from tests.test_faults import publish_paused, wait_for
from tests.test_pipeline import GOOD as ATTENDANCE
from wholechild import lake, lake_store, mart_diff, pipeline, spark_engine, warehouse
from wholechild.config import Paths
from wholechild.registry import load_registry

s3fs = pytest.importorskip("s3fs", reason="the object-store lake tests need s3fs (make install)")
moto_server = pytest.importorskip(
    "moto.server", reason="the object-store lake tests need moto's S3 server (make install)"
)


@pytest.fixture(scope="module")
def endpoint():
    """A local S3 on loopback for this module's tests (each test takes its own bucket)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket_lake(home, endpoint, monkeypatch, tmp_path) -> Paths:
    """``home`` with its lake at ``s3://<a new bucket>/lake`` (also in the environment,
    for child processes and dbt)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv(lake_store.OPTIONS_VARIABLE, json.dumps({"endpoint_url": endpoint}))
    bucket = f"district-{uuid.uuid4().hex[:12]}"
    s3fs.S3FileSystem(endpoint_url=endpoint).mkdir(bucket)
    root = f"s3://{bucket}/lake"
    monkeypatch.setenv("WHOLECHILD_LAKE", root)
    return Paths(home.home, lake_root=root).ensure()


def objects(paths: Paths, *parts: str) -> list[str]:
    """The keys under a lake prefix, relative to it."""
    store = paths.store
    prefix = store.url(*parts)
    store.fs.invalidate_cache()
    found = store.fs.find(prefix)
    return sorted(k.removeprefix(store._key(prefix) + "/") for k in found)


def test_deliveries_publish_into_the_bucket_and_read_back(bucket_lake, attendance_registry):
    paths = bucket_lake
    land(paths, "attendance", "attendance_2025-09-05.csv", ATTENDANCE)
    (out,) = pipeline.process_pending(attendance_registry, paths)
    assert out.status == "published"
    assert objects(paths, "raw", "attendance") == [
        f"{out.delivery_id}/{name}"
        for name in sorted([lake.LEDGER_FILE, lake.QUARANTINE_FILE, "attendance_event.parquet"])
    ]
    assert not any(p.is_file() for p in (paths.home / "lake").rglob("*"))  # none in the home
    assert lake.read_ledger(paths)["rows_published"].tolist() == [4]
    assert len(lake.read_published(paths, "attendance", "attendance_event")) == 4

    # The same bytes again are a duplicate: the check reads the ledgers in the bucket.
    land(paths, "attendance", "attendance_2025-09-05-again.csv", ATTENDANCE)
    (again,) = pipeline.process_pending(attendance_registry, paths)
    assert again.status == "duplicate"
    assert lake.read_ledger(paths)["status"].tolist() == ["published", "duplicate"]


def test_the_warehouse_and_dbt_connection_read_the_bucket(bucket_lake, attendance_registry):
    paths = bucket_lake
    land(paths, "attendance", "attendance_2025-09-05.csv", ATTENDANCE)
    pipeline.process_pending(attendance_registry, paths)
    warehouse.refresh(attendance_registry, paths)
    with paths.store.register(duckdb.connect(str(paths.warehouse), read_only=True)) as con:
        events = con.execute('select count(*) from raw."attendance__attendance_event"')
        assert events.fetchall() == [(4,)]
        assert con.execute("select count(*) from ops.load_ledger").fetchall() == [(1,)]

    from wholechild.dbt_lake import Plugin  # the dbt-duckdb plugin profiles.yml names

    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        Plugin(name="dbt_lake", plugin_config={}).configure_connection(con)
        events = con.execute('select count(*) from raw."attendance__attendance_event"')
        assert events.fetchall() == [(4,)]


def test_a_delivery_is_invisible_until_its_ledger_is_uploaded(bucket_lake, attendance_registry):
    paths = bucket_lake
    land(paths, "attendance", "attendance_2025-09-05.csv", ATTENDANCE)
    (out,) = pipeline.process_pending(attendance_registry, paths)
    published = lake.read_published(paths, "attendance", "attendance_event")
    # An upload that has not reached its ledger: data and quarantine, no commit marker.
    half = paths.store.url("raw", "attendance", "20250906T000000000000-0123456789ab")
    paths.store.write_parquet(
        pa.Table.from_pandas(published, preserve_index=False), f"{half}/attendance_event.parquet"
    )
    quarantined = lake.QUARANTINE_SCHEMA.empty_table().to_pylist()
    quarantined.append({f.name: None for f in lake.QUARANTINE_SCHEMA} | {"delivery_id": "half"})
    paths.store.write_parquet(
        pa.Table.from_pylist(quarantined, schema=lake.QUARANTINE_SCHEMA),
        f"{half}/{lake.QUARANTINE_FILE}",
    )
    assert len(lake.read_published(paths, "attendance", "attendance_event")) == 4
    assert lake.read_ledger(paths)["delivery_id"].tolist() == [out.delivery_id]
    assert "half" not in set(lake.read_quarantine(paths)["delivery_id"])
    warehouse.refresh(attendance_registry, paths)
    with paths.store.register(duckdb.connect(str(paths.warehouse), read_only=True)) as con:
        events = con.execute('select count(*) from raw."attendance__attendance_event"')
        assert events.fetchall() == [(4,)]

    # A fresh half-upload may belong to a live writer: kept. Once stale: swept.
    assert paths.store.sweep("attendance") == []
    assert paths.store.sweep("attendance", older_than=0) == [half]
    with pytest.raises(FileExistsError, match="is already published"):
        paths.store.open_delivery("attendance", out.delivery_id)  # never over a commit
    assert objects(paths, "raw", "attendance") == [
        f"{out.delivery_id}/{name}"
        for name in sorted([lake.LEDGER_FILE, lake.QUARANTINE_FILE, "attendance_event.parquet"])
    ]


@pytest.mark.parametrize(
    "hook", [lake_store.PAUSE_BEFORE_COMMIT, lake_store.PAUSE_AFTER_COMMIT], ids=["before", "after"]
)
def test_a_publish_killed_around_its_ledger_upload_is_old_or_new(bucket_lake, sources_dir, hook):
    paths = bucket_lake
    source = write_source(sources_dir)
    first = pipeline.process_delivery(
        source, deliver(paths, source, "roster_2025-09-05.csv", GOOD.encode()), paths
    )
    second = deliver(
        paths, source, "roster_2025-09-06.csv", lines("004516,Eli,Novak,2015-05-05,101").encode()
    )
    proc = publish_paused(paths, sources_dir, "roster", second, hook)

    def uploaded() -> set[str]:
        return {k for k in objects(paths, "raw", "roster") if not k.startswith(first.delivery_id)}

    if hook == lake_store.PAUSE_BEFORE_COMMIT:  # data uploaded, the ledger not yet
        wait_for(lambda: any(k.endswith("/student.parquet") for k in uploaded()), proc)
    else:  # the ledger uploaded, the landed file not yet filed away
        wait_for(lambda: any(k.endswith(f"/{lake.LEDGER_FILE}") for k in uploaded()), proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert second.exists()  # the landing zone still holds it

    ledger = lake.read_ledger(paths, "roster")
    students = lake.read_published(paths, "roster", "student")
    if hook == lake_store.PAUSE_BEFORE_COMMIT:  # entirely old
        assert ledger["file_name"].tolist() == ["roster_2025-09-05.csv"]
        assert set(students["_delivery_id"]) == {first.delivery_id}
    else:  # entirely new
        assert ledger["file_name"].tolist() == ["roster_2025-09-05.csv", "roster_2025-09-06.csv"]
        assert len(students) == 4 + 1

    (out,) = pipeline.process_pending(load_registry(sources_dir), paths, settle=0)
    assert out.status == ("published" if hook == lake_store.PAUSE_BEFORE_COMMIT else "duplicate")
    ledger = lake.read_ledger(paths, "roster")
    assert (ledger["status"] != "duplicate").sum() == 2  # the second file counted once
    assert len(lake.read_published(paths, "roster", "student")) == 4 + 1


def test_a_commit_by_another_process_shows_at_the_next_read(bucket_lake, attendance_registry):
    """Another process (its own filesystem object, caching its listings) uploads a
    delivery while this one reads: the half upload is invisible, its commit shows next."""
    paths = bucket_lake
    land(paths, "attendance", "attendance_2025-09-05.csv", ATTENDANCE)
    (out,) = pipeline.process_pending(attendance_registry, paths)
    options = json.loads(os.environ[lake_store.OPTIONS_VARIABLE])
    other = s3fs.S3FileSystem(skip_instance_cache=True, **options)
    mine = paths.store.url("raw", "attendance", out.delivery_id)
    theirs = paths.store.url("raw", "attendance", "20250906T000000000000-0123456789ab")
    for name in ("attendance_event.parquet", lake.QUARANTINE_FILE):
        other.copy(f"{mine}/{name}", f"{theirs}/{name}")
    assert len(lake.read_ledger(paths)) == 1  # listed while their ledger is missing
    assert len(lake.read_published(paths, "attendance", "attendance_event")) == 4
    other.copy(f"{mine}/{lake.LEDGER_FILE}", f"{theirs}/{lake.LEDGER_FILE}")  # their commit
    assert len(lake.read_ledger(paths)) == 2
    assert len(lake.read_published(paths, "attendance", "attendance_event")) == 8


def test_check_lake_counts_the_bucket_and_names_lost_objects(bucket_lake, attendance_registry):
    from wholechild import lake_check

    paths = bucket_lake
    land(paths, "attendance", "attendance_2025-09-05.csv", ATTENDANCE)
    (out,) = pipeline.process_pending(attendance_registry, paths)
    result = lake_check.check(paths)
    assert (result.deliveries, result.files, result.rows, result.findings) == (1, 1, 4, [])
    folder = paths.store.url("raw", "attendance", out.delivery_id)
    paths.store.fs.rm(f"{folder}/attendance_event.parquet")  # a lifecycle rule took it
    half = paths.store.url("raw", "attendance", "20250906T000000000000-0123456789ab")
    paths.store.write_parquet(pa.table({"a": [1]}), f"{half}/attendance_event.parquet")
    kinds = {(f.kind, f.location) for f in lake_check.check(paths).findings}
    assert kinds == {("count_mismatch", folder), ("uncommitted", half)}

    # A published delivery that lost its ledger is a problem, not a dead upload, and no
    # sweep removes it (its landed file was filed away).
    paths.store.fs.rm(f"{folder}/{lake.LEDGER_FILE}")
    kinds = {(f.kind, f.location) for f in lake_check.check(paths).findings}
    assert kinds == {("ledger_lost", folder), ("uncommitted", half)}
    filed = lake.filed_away(paths, "attendance")
    assert filed == {out.delivery_id}
    assert paths.store.sweep("attendance", older_than=0, filed=filed) == [half]
    assert paths.store.exists(f"{folder}/{lake.QUARANTINE_FILE}")


def test_student_keys_are_written_to_the_bucket(bucket_lake, sources_dir):
    from wholechild import identity

    paths = bucket_lake
    source = write_source(sources_dir)
    pipeline.process_delivery(source, deliver(paths, source, "r.csv", GOOD.encode()), paths)
    url = identity.build_student_keys(load_registry(sources_dir), paths)
    assert url == paths.store.url("pii", "student_keys.parquet")
    keys = paths.store.read_table(url).to_pandas()
    assert sorted(keys["district_id"]) == ["004512", "004513", "004514", "004515"]


def test_spark_refuses_an_object_store_lake_before_any_work(
    bucket_lake, attendance_registry, monkeypatch, capsys
):
    from orchestration.cli import EXIT_CONFIG, main

    with pytest.raises(ValueError, match=r"^WHOLECHILD_ENGINE=spark runs a local Spark session"):
        spark_engine.run_step(bucket_lake, "views")
    landed = land(bucket_lake, "attendance", "attendance_2025-09-05.csv", ATTENDANCE)
    monkeypatch.setenv("WHOLECHILD_ENGINE", "spark")
    assert main(["run"]) == EXIT_CONFIG
    assert "cannot read the object-store lake" in capsys.readouterr().out
    assert landed.exists() and lake.read_ledger(bucket_lake).empty  # nothing loaded


def test_a_missing_bucket_or_missing_credentials_is_one_sentence(
    home, endpoint, monkeypatch, tmp_path
):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv(lake_store.OPTIONS_VARIABLE, json.dumps({"endpoint_url": endpoint}))
    paths = Paths(home.home, lake_root="s3://no-such-bucket-here/lake")
    with pytest.raises(
        ValueError,
        match=r"^WHOLECHILD_LAKE='s3://no-such-bucket-here/lake' cannot be listed "
        r"\(FileNotFoundError: .*bucket does not exist",
    ):
        paths.ensure()

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    paths = Paths(home.home, lake_root="s3://any-bucket/lake")
    with pytest.raises(ValueError, match=r"cannot be listed \(NoCredentialsError: "):
        lake_store.ObjectStore(paths.lake_root, {"skip_instance_cache": True}).ensure()


def test_a_policy_granting_only_the_prefix_is_enough(bucket_lake, attendance_registry, monkeypatch):
    """Least privilege: every request of a new lake's first publish stays under the lake's
    prefix (the bucket's other keys, and the prefix's own name, are denied)."""
    options = {**lake_store.storage_options(), "skip_instance_cache": True}
    store = lake_store.ObjectStore(bucket_lake.store.url("fresh"), options)
    prefix = store._key(store.root).split("/", 1)[1] + "/"
    plain = store.fs._call_s3

    async def guarded(method, *args, **kwargs):
        name = kwargs.get("Key", kwargs.get("Prefix", ""))
        if not name.startswith(prefix):
            raise PermissionError(f"AccessDenied: {method} {name!r}")
        return await plain(method, *args, **kwargs)

    monkeypatch.setattr(store.fs, "_call_s3", guarded)
    store.ensure()  # a brand-new, empty prefix
    writer = store.open_delivery("attendance", "20250905T000000000000-0123456789ab")
    writer.write("attendance_event.parquet", pa.table({"a": [1]}))
    writer.commit(pa.table({"delivery_id": ["x"]}))
    assert [f.url.rsplit("/", 1)[1] for f in store.files(None, lake.LEDGER_FILE)] == [
        lake.LEDGER_FILE
    ]


# --------------------------------------------------------------------------- slow


@pytest.mark.slow
def test_marts_from_the_bucket_equal_marts_from_the_same_lake_on_disk(
    bucket_lake, monkeypatch, tmp_path
):
    """The demo district published into the bucket and built from it; then the bucket's
    lake copied to disk and built again: every mart agrees row for row."""
    from orchestration.cli import EXIT_REJECTED, main
    from wholechild.demo import generate

    paths = bucket_lake
    monkeypatch.setenv("WHOLECHILD_SOURCES", str(ROOT / "sources"))
    generated = tmp_path / "generated"
    generate(generated, students=150, seed=7)
    for folder in generated.iterdir():
        if folder.is_dir():
            shutil.copytree(folder, paths.landing / folder.name)
    # 1: the demo plants one rejected file; 3 would be a failed build
    assert main(["run"]) == EXIT_REJECTED, f"the bucket build failed; see {paths.home}/dbt/logs"
    assert not any(p.is_file() for p in (paths.home / "lake").rglob("*"))
    from_bucket = mart_diff.warehouse_marts(paths.warehouse)

    disk = Paths(tmp_path / "disk")
    disk.ensure()
    shutil.rmtree(disk.lake / "raw")  # fsspec copies a folder into an existing one
    paths.store.fs.get(paths.store.url("raw"), str(disk.lake / "raw"), recursive=True)
    assert len(lake.read_ledger(disk)) == len(lake.read_ledger(paths)) > 30
    monkeypatch.setenv("WHOLECHILD_HOME", str(disk.home))
    monkeypatch.delenv("WHOLECHILD_LAKE")
    assert main(["run"]) == 0, f"the disk build failed; see {disk.home}/dbt/logs"  # built only
    from_disk = mart_diff.warehouse_marts(disk.warehouse)

    assert sorted(from_bucket) == sorted(from_disk) and len(from_disk) >= 15
    found = []
    for name, expected in from_disk.items():
        found += mart_diff.differences(name, expected, from_bucket[name])
    assert found == []
    assert sum(t.num_rows for t in from_disk.values()) > 500


def test_a_connection_registers_the_store_once(bucket_lake):
    con = duckdb.connect()
    bucket_lake.store.register(con)
    bucket_lake.store.register(con)  # a second caller on the same connection: no error
    assert con.list_filesystems().count("s3") == 1
