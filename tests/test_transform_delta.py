"""`transform.build` builds what changed since its last successful build, never less.

Fast tests pin the plan (what a build with no ``--select`` would select) on a small
lake; the slow test builds the demo district, lands a new day, lets the delta build run
and compares every table it left with a full build from scratch on a copy of the lake.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.dbt_prepare import prepare, workspace
from tests.conftest import ROOT, land
from wholechild import lake, pipeline, transform
from wholechild.config import Paths
from wholechild.registry import load_registry

DAY_1 = """\
StudentID,School,Date,Code
1001,101,09/03/2025,A
1002,101,09/03/2025,T
"""
DAY_2 = DAY_1.replace("09/03/2025", "09/04/2025")


def _plan(registry, home: Paths) -> transform.BuildPlan:
    project = workspace(home)
    prepare(registry, project)
    return transform.plan_build(registry, home, project)


def _built(registry, home: Paths) -> transform.BuildPlan:
    """A successful build, as far as the record goes (no dbt run)."""
    plan = _plan(registry, home)
    home.warehouse.touch()
    plan.record(home)
    return plan


def _fake_dbt(monkeypatch, returncode: int) -> None:
    """transform.build without dbt: no views, no share, and dbt exiting with
    ``returncode``."""

    class Finished:
        stdout, stderr = "", "" if returncode == 0 else "boom"

    Finished.returncode = returncode
    monkeypatch.setattr(transform, "before_build", lambda registry, paths, **_: None)
    monkeypatch.setattr(transform, "after_build", lambda paths, **_: None)
    monkeypatch.setattr(transform, "run_dbt", lambda args, paths: Finished())


@pytest.fixture
def loaded(home, attendance_registry):
    land(home, "attendance", "attendance_2025-09-03.csv", DAY_1)
    (out,) = pipeline.process_pending(attendance_registry, home)
    assert out.status == "published"
    return attendance_registry


def test_the_first_build_is_a_full_build(home, loaded):
    plan = _plan(loaded, home)
    assert plan.select is None and len(plan.deliveries) == 1


def test_a_new_delivery_selects_its_raw_table_and_what_every_build_moves(home, loaded):
    _built(loaded, home)
    land(home, "attendance", "attendance_2025-09-04.csv", DAY_2)
    pipeline.process_pending(loaded, home)
    plan = _plan(loaded, home)
    assert plan.select == (
        "source:raw.attendance__attendance_event+ source:ops+ source:quarantine+ source:pii+"
    )
    assert len(plan.deliveries) == 2


def test_nothing_new_still_rebuilds_the_ledger_quarantine_and_keys(home, loaded):
    _built(loaded, home)
    assert _plan(loaded, home).select == "source:ops+ source:quarantine+ source:pii+"


def test_a_rejected_delivery_selects_no_raw_table(home, loaded):
    _built(loaded, home)
    land(home, "attendance", "attendance_2025-09-05.csv", "Nope,Header\n1,2\n")
    (out,) = pipeline.process_pending(loaded, home)
    assert out.status == "rejected"
    assert _plan(loaded, home).select == "source:ops+ source:quarantine+ source:pii+"


def test_a_registry_change_forces_a_full_build(home, loaded, sources_dir):
    _built(loaded, home)
    text = (sources_dir / "attendance.yml").read_text()
    (sources_dir / "attendance.yml").write_text(text.replace("cadence: daily", "cadence: weekly"))
    registry = load_registry(sources_dir)
    assert _plan(registry, home).select is None


def test_a_model_change_forces_a_full_build(home, loaded, tmp_path, monkeypatch):
    from wholechild import config

    project = tmp_path / "dbt_project"
    shutil.copytree(
        ROOT / "dbt_project",
        project,
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", ".user.yml"),
    )
    monkeypatch.setattr(config, "dbt_project_dir", lambda: project)
    _built(loaded, home)
    assert _plan(loaded, home).select is not None
    model = next((project / "models" / "marts").rglob("*.sql"))
    model.write_text(model.read_text() + "\n-- edited\n")
    assert _plan(loaded, home).select is None


def test_a_failed_build_forgets_the_record_so_the_next_is_full(home, loaded, monkeypatch):
    _built(loaded, home)

    _fake_dbt(monkeypatch, returncode=2)
    result = transform.build(loaded, home)
    assert not result.ok and "--select" in result.command
    assert "unit_test" in result.command  # production builds leave unit tests to CI
    assert not (home.home / transform.BUILT).exists()
    assert _plan(loaded, home).select is None


def test_a_delivery_gone_from_the_lake_or_a_new_warehouse_forces_a_full_build(home, loaded):
    plan = _built(loaded, home)
    state = json.loads((home.home / transform.BUILT).read_text())
    assert state == {"fingerprint": plan.fingerprint, "deliveries": plan.deliveries}
    home.warehouse.unlink()
    assert _plan(loaded, home).select is None
    home.warehouse.touch()
    state["deliveries"].append("a-delivery-no-longer-in-the-lake")
    (home.home / transform.BUILT).write_text(json.dumps(state))
    assert _plan(loaded, home).select is None


def test_an_explicit_select_leaves_the_record_alone(home, loaded, monkeypatch):
    plan = _built(loaded, home)

    _fake_dbt(monkeypatch, returncode=0)
    result = transform.build(loaded, home, select="stg_attendance_event")
    assert result.command[:4] == ["build", "--quiet", "--select", "stg_attendance_event"]
    state = json.loads((home.home / transform.BUILT).read_text())
    assert state["deliveries"] == plan.deliveries


def test_a_failed_selected_build_forgets_the_record_too(home, loaded, monkeypatch):
    _built(loaded, home)

    _fake_dbt(monkeypatch, returncode=1)
    assert not transform.build(loaded, home, select="stg_attendance_event").ok
    assert not (home.home / transform.BUILT).exists()


def test_on_spark_a_missing_metastore_forces_a_full_build(home, loaded, monkeypatch):
    monkeypatch.setenv("WHOLECHILD_ENGINE", "spark")
    _built(loaded, home)
    assert _plan(loaded, home).select is None  # no metastore and tables under spark/ yet
    (home.home / "spark" / "metastore_db").mkdir(parents=True)
    (home.home / "spark" / "warehouse").mkdir()
    assert _plan(loaded, home).select is not None
    monkeypatch.setenv("WHOLECHILD_ENGINE", "duckdb")
    assert _plan(loaded, home).select is None  # built on the other engine


def test_a_new_delivery_the_ledger_names_no_entity_of_forces_a_full_build(
    home, loaded, monkeypatch
):
    _built(loaded, home)
    land(home, "attendance", "attendance_2025-09-04.csv", DAY_2)
    pipeline.process_pending(loaded, home)
    ledger = lake.read_ledger(home)
    ledger.loc[ledger.index[-1], "entities"] = None
    monkeypatch.setattr(transform.lake, "read_ledger", lambda paths: ledger)
    assert _plan(loaded, home).select is None


# ------------------------------------------------------------------------ the slow proof
AS_OF = {"wholechild:coverage:as_of": "2026-06-10"}  # the coverage clock, fixed for both


def _tables(con: duckdb.DuckDBPyConnection, db: str) -> list[tuple[str, str]]:
    return con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = ? and table_type = 'BASE TABLE' "
        "and table_schema in ('staging', 'intermediate', 'marts') order by 1, 2",
        [db],
    ).fetchall()


def _differences(delta: Path, full: Path) -> dict[str, tuple[int, int]]:
    """Per table: rows only in the delta build's warehouse, rows only in the full one."""
    con = duckdb.connect()
    con.execute(f"attach '{delta}' as d (read_only)")
    con.execute(f"attach '{full}' as f (read_only)")
    tables = _tables(con, "d")
    assert tables == _tables(con, "f")
    assert len(tables) > 40
    out = {}
    for schema, name in tables:
        # DuckDB sums floats in parallel, in no fixed order: two builds of the same data
        # can differ in the last bits of a double (a GPA, an absent-day total), so doubles
        # are compared to 9 decimal places; every other value exactly.
        columns = con.execute(
            "select column_name, data_type from information_schema.columns where "
            "table_catalog = 'd' and table_schema = ? and table_name = ? order by ordinal_position",
            [schema, name],
        ).fetchall()
        cols = ", ".join(
            f'round("{c}", 9)' if t in ("DOUBLE", "FLOAT") else f'"{c}"' for c, t in columns
        )
        a, b = f'select {cols} from d.{schema}."{name}"', f'select {cols} from f.{schema}."{name}"'
        only_d = con.execute(f"select count(*) from ({a} except all {b})").fetchone()[0]
        only_f = con.execute(f"select count(*) from ({b} except all {a})").fetchone()[0]
        if only_d or only_f:
            out[f"{schema}.{name}"] = (only_d, only_f)
    con.close()
    return out


@pytest.mark.slow
def test_a_delta_build_gives_exactly_the_marts_of_a_full_build(tmp_path, monkeypatch):
    from wholechild import config
    from wholechild.demo import generate

    # a copy of the dbt project: the same models for all three builds, whatever the
    # checkout's project goes through meanwhile
    project = tmp_path / "dbt_project"
    shutil.copytree(
        ROOT / "dbt_project",
        project,
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", ".user.yml"),
    )
    monkeypatch.setattr(config, "dbt_project_dir", lambda: project)
    generated = tmp_path / "generated"
    generate(generated, students=300, seed=5)
    # held back: the last day of attendance (Ed-Fi JSON Lines) and the newest LMS file
    held = [
        sorted((generated / "attendance").glob("studentSchoolAttendanceEvents.upserts.*"))[-1],
        sorted((generated / "lms").glob("*"))[-1],
    ]
    home = Paths(tmp_path / "home")
    monkeypatch.setenv("WHOLECHILD_HOME", str(home.home))
    monkeypatch.setenv("WHOLECHILD_SOURCES", str(ROOT / "sources"))
    monkeypatch.setenv("WHOLECHILD_SETTLE_SECONDS", "0")
    home.ensure()
    for folder in generated.iterdir():
        if folder.is_dir():
            shutil.copytree(folder, home.landing / folder.name)
    for f in held:
        (home.landing / f.parent.name / f.name).unlink()
    registry = load_registry(ROOT / "sources")

    plain_run_dbt = transform.run_dbt

    def run_dbt(args, paths, *rest, **kw):
        return plain_run_dbt([*args, "--vars", json.dumps(AS_OF)], paths, *rest, **kw)

    monkeypatch.setattr(transform, "run_dbt", run_dbt)
    pipeline.process_pending(registry, home)
    first = transform.build(registry, home)
    assert first.ok, first.output[-3000:]
    assert "--select" not in first.command

    for f in held:
        shutil.copyfile(f, home.landing / f.parent.name / f.name)
    outcomes = pipeline.process_pending(registry, home)
    assert {o.source for o in outcomes} == {"attendance", "lms"}
    assert all(o.rows_published for o in outcomes)
    delta = transform.build(registry, home)
    assert delta.ok, delta.output[-3000:]
    select = delta.command[delta.command.index("--select") + 1].split()
    assert "source:raw.attendance__attendance_event+" in select
    assert not any("sis" in s or "gradebook" in s for s in select)

    # the same lake, built from scratch
    scratch = Paths(tmp_path / "scratch")
    scratch.ensure()
    shutil.rmtree(scratch.home / "lake")
    shutil.copytree(home.home / "lake", scratch.home / "lake")
    monkeypatch.setenv("WHOLECHILD_HOME", str(scratch.home))
    full = transform.build(registry, scratch)
    assert full.ok, full.output[-3000:]
    assert "--select" not in full.command
    assert _differences(home.warehouse, scratch.warehouse) == {}
