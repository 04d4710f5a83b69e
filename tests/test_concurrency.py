"""Concurrent deliveries and writers: no lock error, the right totals, each delivery once."""

from __future__ import annotations

import multiprocessing as mp
import os
import textwrap

import duckdb
import pytest

from tests.conftest import ATTENDANCE_YML
from wholechild import lake

pytestmark = pytest.mark.slow


def _worker(home: str, sources: str, barrier) -> str:
    os.environ["WHOLECHILD_HOME"] = home
    os.environ["WHOLECHILD_SOURCES"] = sources
    from wholechild import config, pipeline, warehouse
    from wholechild.registry import load_registry

    registry = load_registry()
    paths = config.paths()
    barrier.wait()
    try:
        pipeline.process_pending(registry, paths, settle=0)
        warehouse.refresh(registry, paths)
    except Exception as exc:  # report, do not hide: the test asserts on it
        return f"{type(exc).__name__}: {exc}"
    return "ok"


def test_ten_deliveries_at_once_load_once_each_with_no_lock_error(home, sources_dir):
    # Two sources, five daily files each, processed by four competing processes.
    for name in ("att_a", "att_b"):
        (sources_dir / f"{name}.yml").write_text(
            ATTENDANCE_YML.replace("name: attendance", f"name: {name}")
        )
        folder = home.landing / name
        folder.mkdir(parents=True)
        for day in range(1, 6):
            rows = "".join(f"{i:06d},101,09/{day:02d}/2025,A\n" for i in range(50))
            (folder / f"{name}_2025-09-{day:02d}.csv").write_text(
                textwrap.dedent("StudentID,School,Date,Code\n") + rows
            )
    ctx = mp.get_context("spawn")
    barrier = ctx.Manager().Barrier(4)
    with ctx.Pool(4) as pool:
        results = pool.starmap(_worker, [(str(home.home), str(sources_dir), barrier)] * 4)
    assert results == ["ok"] * 4
    ledger = lake.read_ledger(home)
    assert len(ledger) == 10
    assert set(ledger["status"]) == {"published"}
    assert ledger.groupby("source")["rows_published"].sum().to_dict() == {
        "att_a": 250,
        "att_b": 250,
    }
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from raw.att_a__attendance_event").fetchone() == (250,)
    assert not any(home.landing.rglob("*.csv"))
