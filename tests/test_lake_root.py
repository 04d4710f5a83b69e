"""WHOLECHILD_LAKE: the Parquet lake on a volume of its own, outside the home.

A state hub puts the lake on a shared volume that every pod and the Spark cluster read;
the home keeps the landing zone, archive and warehouse. Publishing still renames a
delivery's directory within the lake root, so the root must support atomic rename; an
object-storage URI is kept as a URI (tests/test_object_store.py publishes into one).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.conftest import land
from tests.test_pipeline import GOOD
from wholechild import config, lake, pipeline, warehouse
from wholechild.config import Paths


def test_the_lake_is_under_the_home_unless_told_otherwise(monkeypatch, tmp_path):
    monkeypatch.setenv("WHOLECHILD_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WHOLECHILD_LAKE", raising=False)
    assert config.paths().lake == tmp_path / "home" / "lake"
    monkeypatch.setenv("WHOLECHILD_LAKE", str(tmp_path / "shared" / "lake"))
    assert config.paths().lake_raw == tmp_path / "shared" / "lake" / "raw"
    assert config.paths().lake_staging == tmp_path / "shared" / "lake" / "_incoming"
    monkeypatch.setenv("WHOLECHILD_LAKE", f"file://{tmp_path}/mounted")
    assert config.paths().lake == tmp_path / "mounted"


def test_an_object_storage_uri_is_kept_as_a_uri(monkeypatch, tmp_path):
    monkeypatch.setenv("WHOLECHILD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WHOLECHILD_LAKE", "s3://district-lake/wholechild/")
    paths = config.paths()
    assert paths.lake_root == "s3://district-lake/wholechild"
    assert paths.store.url("raw", "sis") == "s3://district-lake/wholechild/raw/sis"
    assert not paths.store.is_local
    with pytest.raises(TypeError, match="is an object store, not a directory"):
        _ = paths.lake


@pytest.mark.parametrize(
    ("value", "options", "message"),
    [
        ("nosuch://bucket/lake", "", r"^WHOLECHILD_LAKE='nosuch://bucket/lake' needs the fsspec "),
        ("s3://bucket/lake", "{not json", r"^WHOLECHILD_LAKE_OPTIONS is not valid JSON"),
        ("s3://bucket/lake", "[1]", r"^WHOLECHILD_LAKE_OPTIONS must be a JSON object"),
        ("://nothing", "", r"^WHOLECHILD_LAKE='://nothing' is neither a path nor a URI\.$"),
        ("s3://bucket/a [b]", "", r"^WHOLECHILD_LAKE='s3://bucket/a \[b\]' holds a glob"),
    ],
)
def test_a_lake_that_cannot_be_opened_is_one_sentence(monkeypatch, value, options, message):
    monkeypatch.setenv("WHOLECHILD_LAKE", value)
    monkeypatch.setenv("WHOLECHILD_LAKE_OPTIONS", options)
    with pytest.raises(ValueError, match=message):
        _ = config.paths().store


def test_deliveries_publish_into_the_lake_root_and_the_views_read_it(
    home, attendance_registry, tmp_path
):
    paths = Paths(home.home, lake_root=tmp_path / "volume" / "lake").ensure()
    land(paths, "attendance", "attendance_2025-09-05.csv", GOOD)
    (out,) = pipeline.process_pending(attendance_registry, paths)
    assert out.status == "published"
    delivery = tmp_path / "volume" / "lake" / "raw" / "attendance" / out.delivery_id
    assert (delivery / "attendance_event.parquet").is_file()
    assert (delivery / lake.LEDGER_FILE).is_file()
    assert not (home.home / "lake" / "raw" / "attendance").exists()
    assert lake.read_ledger(paths)["rows_published"].tolist() == [4]

    warehouse.refresh(attendance_registry, paths)
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        n = con.execute('select count(*) from raw."attendance__attendance_event"').fetchall()
    assert n == [(4,)]


def test_the_demo_never_resets_a_lake_outside_its_home(monkeypatch, tmp_path, capsys):
    from orchestration.cli import EXIT_CONFIG, main

    monkeypatch.setenv("WHOLECHILD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WHOLECHILD_LAKE", str(tmp_path / "shared"))
    assert main(["demo", "--students", "50"]) == EXIT_CONFIG
    assert "never a lake outside it" in capsys.readouterr().out
    assert not Path(tmp_path / "home").exists()
