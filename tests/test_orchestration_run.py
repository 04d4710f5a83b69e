"""A source's assets materialize a delivery end to end, the way a sensor-triggered run does."""

from __future__ import annotations

import shutil

import dagster as dg
import duckdb
import pytest

from orchestration.definitions import build_defs
from orchestration.defs.sources.assets import build_source_assets
from orchestration.defs.sources.checks import LATEST_DELIVERY_ACCEPTED, build_source_checks
from orchestration.defs.sources.sensors import build_landing_sensor
from tests.conftest import MAP_GROWTH_YML, ROOT, land
from wholechild import lake
from wholechild.registry import load_registry

pytestmark = pytest.mark.slow

FALL = """\
Student_StateID,TestStartDate,Subject,TestRITScore,TestPercentile
TX001,09/15/2025,Mathematics,201,55
TX002,09/15/2025,Reading,195,40
TX003,09/16/2025,Mathematics,210,71
"""

# Every row has an unmapped subject: over max_reject_rate, so the delivery is rejected.
BROKEN = """\
Student_StateID,TestStartDate,Subject,TestRITScore,TestPercentile
TX001,01/20/2026,Art,205,50
TX002,01/20/2026,Art,199,45
"""

KEY = dg.AssetKey(["raw", "map_growth", "assessment_result"])


@pytest.fixture
def source(sources_dir):
    (sources_dir / "map_growth.yml").write_text(MAP_GROWTH_YML)
    return load_registry(sources_dir).sources["map_growth"]


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


def _run_for_landed_file(source, instance) -> dg.ExecuteInProcessResult:
    """What the daemon does: the sensor's run request, executed in process."""
    tick = build_landing_sensor(source).evaluate_tick(dg.build_sensor_context(instance=instance))
    assert len(tick.run_requests) == 1, tick.skip_message
    request = tick.run_requests[0]
    return dg.materialize(
        [build_source_assets(source), *[build_source_checks(source, e) for e in source.entities]],
        instance=instance,
        run_config=request.run_config,
        tags=request.tags,
    )


def _checks(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_delivery_materializes_with_rows_published_and_checks_pass(home, source, instance):
    path = land(home, "map_growth", "map_fall_2025-09-30.csv", FALL)
    result = _run_for_landed_file(source, instance)
    assert result.success

    [mat] = result.asset_materializations_for_node("ingest_map_growth")
    assert mat.asset_key == KEY
    meta = mat.metadata
    assert meta["rows_published"].value == 3
    assert meta["rows_quarantined"].value == 0
    assert meta["last_delivery_file"].value == path.name
    assert meta["last_delivery_status"].value == "published"
    assert meta["report_path"].value.endswith("report.txt")
    assert not path.exists()  # filed away into archive/

    checks = _checks(result)
    assert checks["assessment_result_keys_are_unique"].passed
    assert checks["assessment_result_rows_meet_contract"].passed
    assert checks["assessment_result_rows_meet_contract"].metadata["rows_checked"].value == 3
    assert checks[LATEST_DELIVERY_ACCEPTED].passed
    assert len(lake.current_rows(home, "map_growth", "assessment_result", "incremental")) == 3


def test_rejected_delivery_warns_without_failing_blocking_checks(home, source, instance):
    land(home, "map_growth", "map_fall_2025-09-30.csv", FALL)
    assert _run_for_landed_file(source, instance).success

    land(home, "map_growth", "map_winter_2026-01-30.csv", BROKEN)
    result = _run_for_landed_file(source, instance)
    assert result.success  # blocking checks judge the published state: old rows, still good

    [mat] = result.asset_materializations_for_node("ingest_map_growth")
    assert mat.metadata["last_delivery_status"].value == "rejected"
    assert mat.metadata["reject_reason"].value
    assert mat.metadata["rows_published"].value == 0

    checks = _checks(result)
    assert checks["assessment_result_keys_are_unique"].passed
    assert checks["assessment_result_rows_meet_contract"].passed
    warn = checks[LATEST_DELIVERY_ACCEPTED]
    assert not warn.passed
    assert warn.severity == dg.AssetCheckSeverity.WARN
    assert "map_winter_2026-01-30.csv" in warn.description


def test_run_tolerates_a_delivery_already_filed_away(home, source, instance):
    path = land(home, "map_growth", "map_fall.csv", FALL)
    tick = build_landing_sensor(source).evaluate_tick(dg.build_sensor_context(instance=instance))
    path.unlink()  # e.g. `wholechild run` processed it first
    result = dg.materialize(
        [build_source_assets(source)], instance=instance, run_config=tick.run_requests[0].run_config
    )
    assert result.success
    assert not result.asset_materializations_for_node("ingest_map_growth")


def test_delivery_flows_through_checks_into_dbt_staging(
    home, source, sources_dir, instance, tmp_path
):
    """One run: ingest, its blocking checks, then dbt (views refreshed, under the lock)."""
    project = tmp_path / "dbt_project"
    shutil.copytree(
        ROOT / "dbt_project",
        project,
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"),
    )
    defs = build_defs(load_registry(sources_dir), dbt_project_dir=project)
    land(home, "map_growth", "map_fall_2025-09-30.csv", FALL)
    tick = build_landing_sensor(source).evaluate_tick(dg.build_sensor_context(instance=instance))
    stg = dg.AssetKey(["staging", "stg_assessment_result"])

    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=instance,
        asset_selection=[KEY, stg],
        run_config=tick.run_requests[0].run_config,
    )
    assert result.success
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert {KEY, stg} <= materialized
    # The raw asset's contract checks ran in the same run, before dbt.
    assert {
        "assessment_result_keys_are_unique",
        "assessment_result_rows_meet_contract",
        LATEST_DELIVERY_ACCEPTED,
    } <= set(_checks(result))
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        n = con.execute("select count(*) from staging.stg_assessment_result").fetchone()[0]
    assert n == 3


def test_run_without_config_processes_every_pending_delivery(home, source, instance):
    land(home, "map_growth", "map_fall_2025-09-30.csv", FALL)
    land(home, "map_growth", "map_fall_resent.csv", FALL)  # same bytes: loaded once
    result = dg.materialize([build_source_assets(source)], instance=instance)
    assert result.success
    [mat] = result.asset_materializations_for_node("ingest_map_growth")
    assert mat.metadata["deliveries"].value == 2
    assert mat.metadata["rows_published"].value == 3
    statuses = set(lake.read_ledger(home, "map_growth")["status"])
    assert statuses == {"published", "duplicate"}
    assert not list((home.landing / "map_growth").iterdir())


def test_a_run_for_a_later_delivery_loads_the_earlier_ones_first(home, source, instance):
    """The daemon may start the sensor's runs in any order; the winter file's run applies
    the fall file first (as `wholechild run` would), and the fall run then has nothing."""
    land(home, "map_growth", "map_fall_2025-09-30.csv", FALL)
    winter = FALL.replace("09/1", "01/2").replace("TX003", "TX004")
    land(home, "map_growth", "map_winter_2026-01-20.csv", winter)
    tick = build_landing_sensor(source).evaluate_tick(dg.build_sensor_context(instance=instance))
    requests = {
        r.run_config["ops"]["ingest_map_growth"]["config"]["delivery"]: r for r in tick.run_requests
    }
    assert set(requests) == {"map_fall_2025-09-30.csv", "map_winter_2026-01-20.csv"}

    def run(name):
        return dg.materialize(
            [build_source_assets(source)],
            instance=instance,
            run_config=requests[name].run_config,
            tags=requests[name].tags,
        )

    assert run("map_winter_2026-01-20.csv").success
    ledger = lake.read_ledger(home)
    assert ledger["file_name"].tolist() == ["map_fall_2025-09-30.csv", "map_winter_2026-01-20.csv"]
    assert ledger["applied_at"].is_monotonic_increasing
    assert run("map_fall_2025-09-30.csv").success
    assert len(lake.read_ledger(home)) == 2
