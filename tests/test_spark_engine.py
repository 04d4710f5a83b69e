"""Same answers on both engines: the demo district built on DuckDB and on Apache Spark.

The slow tests build one demo district (200 students) with the DuckDB default, then build
the same lake again with ``WHOLECHILD_ENGINE=spark`` (dbt-spark's ``session`` method, a
local PySpark) through ``wholechild run``, and compare every mart row for row: the same
columns, the same row count, keys and counts equal, rates within 1e-9. dbt's data and
unit tests run in both builds.

They need PySpark (``make install`` adds the ``spark`` extra) and Java 17 (``.ci/run``
installs Debian's ``openjdk-17-jre-headless`` when ``java`` is missing); without either
they skip, saying which is missing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path

import duckdb
import jinja2
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from orchestration.cli import main
from orchestration.dbt_prepare import workspace
from tests.conftest import ROOT
from wholechild import mart_diff, spark_engine
from wholechild.config import Paths


def spark_missing() -> str | None:
    """Why the Spark tests cannot run here, or None."""
    if importlib.util.find_spec("pyspark") is None:
        return "PySpark is not installed (pip install -e '.[spark]'; make install does it)"
    if importlib.util.find_spec("dbt.adapters.spark") is None:
        return "dbt-spark is not installed (pip install -e '.[spark]'; make install does it)"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime (Spark needs Java 17: apt-get install openjdk-17-jre-headless)"
    return None


# --------------------------------------------------------------------------- fast


def test_engine_defaults_to_duckdb_and_names_a_bad_value(monkeypatch):
    monkeypatch.delenv("WHOLECHILD_ENGINE", raising=False)
    assert spark_engine.engine() == "duckdb"
    monkeypatch.setenv("WHOLECHILD_ENGINE", "Spark")
    assert spark_engine.engine() == "spark"
    monkeypatch.setenv("WHOLECHILD_ENGINE", "snowflake")
    with pytest.raises(ValueError, match=r"WHOLECHILD_ENGINE='snowflake'.*duckdb, spark"):
        spark_engine.engine()


def test_profile_starts_spark_as_the_engine_module_does(monkeypatch, tmp_path):
    """Dagster's dbt step starts Spark from profiles.yml, the CLI from session_conf: the two
    must put the metastore and tables in the same place, or a build would not see the
    views of the step before it."""
    monkeypatch.setenv("WHOLECHILD_HOME", str(tmp_path))
    monkeypatch.delenv("WHOLECHILD_SPARK_MASTER", raising=False)
    monkeypatch.delenv("WHOLECHILD_SPARK_DRIVER_MEMORY", raising=False)
    raw = yaml.safe_load((ROOT / "dbt_project" / "profiles.yml").read_text())
    output = raw["wholechild"]["outputs"]["spark"]
    assert output["method"] == "session"

    def env_var(name, default=None):
        return os.environ.get(name, default)

    env = jinja2.Environment()
    rendered = {
        k: env.from_string(str(v)).render(env_var=env_var)
        for k, v in output["server_side_parameters"].items()
    }
    assert rendered == spark_engine.session_conf(Paths(tmp_path))


def test_the_child_passes_dbt_its_own_options_untouched():
    assert spark_engine.parse_args(
        ["build", "--project-dir", "/p", "--", "build", "--quiet", "--select", "a+"]
    ) == ("build", Path("/p"), ["build", "--quiet", "--select", "a+"])
    assert spark_engine.parse_args(["views"]) == ("views", None, [])
    with pytest.raises(SystemExit):
        spark_engine.parse_args(["drop"])


def _table(rows: dict) -> pa.Table:
    return pa.table(rows)


def test_mart_diff_ignores_row_order_integer_width_and_float_noise():
    a = _table({"k": ["x", "y"], "n": pa.array([1, 2], pa.int32()), "rate": [0.1 + 0.2, 0.5]})
    b = _table({"rate": [0.5, 0.3], "n": pa.array([2, 1], pa.int64()), "k": ["y", "x"]})
    assert mart_diff.differences("m", a, b) == []


def test_mart_diff_names_what_differs():
    a = _table({"k": ["x", "y"], "rate": [0.25, 0.5]})
    assert mart_diff.differences("m", a, _table({"k": ["x", "y"], "rate": [0.25, 0.5 + 1e-6]})) == [
        "m: sorted row 1, column rate: 0.500001, expected 0.5"
    ]
    assert mart_diff.differences("m", a, _table({"k": ["x", "z"], "rate": [0.25, 0.5]})) == [
        "m: sorted row 1, column k: 'z', expected 'y'"
    ]
    assert mart_diff.differences("m", a, _table({"k": ["x"], "rate": [0.25]})) == [
        "m: 1 rows, expected 2"
    ]
    assert mart_diff.differences("m", a, _table({"k": ["x", "y"]})) == [
        "m: columns differ (missing ['rate'], extra [])"
    ]
    nulls = _table({"k": ["x", "y"], "rate": [None, 0.5]})
    assert mart_diff.differences("m", nulls, nulls) == []
    assert mart_diff.differences("m", nulls, a) == [
        "m: sorted row 0, column rate: 0.25, expected None"
    ]


# --------------------------------------------------------------------------- slow


@pytest.fixture(scope="module")
def both_engines(tmp_path_factory) -> tuple[Path, dict[str, pa.Table], dict, dict]:
    """The demo built on DuckDB (its marts kept as Arrow), then the same lake on Spark."""
    missing = spark_missing()
    if missing:
        pytest.skip(f"the two-engine comparison needs Spark: {missing}")
    home = tmp_path_factory.mktemp("two_engines") / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WHOLECHILD_HOME", str(home))
        mp.setenv("WHOLECHILD_SOURCES", str(ROOT / "sources"))
        mp.setenv("WHOLECHILD_SETTLE_SECONDS", "0")
        mp.setenv("WHOLECHILD_ENGINE", "duckdb")
        assert main(["demo", "--students", "200", "--seed", "11"]) == 0, "DuckDB demo failed"
        on_duckdb = mart_diff.warehouse_marts(home / "warehouse.duckdb")
        mp.setenv("WHOLECHILD_ENGINE", "spark")
        code = main(["run"])
        log = home / "dbt" / "logs" / "dbt.log"
        assert code == 0, f"the Spark build failed; see {log}"
        results = home / "dbt" / "target" / "run_results.json"
        build_results = json.loads(results.read_text())
        # Production builds leave dbt's unit tests to CI: run them on Spark here.
        unit = spark_engine.run_step(
            Paths(home), "build", ["test", "--select", "test_type:unit"], workspace(Paths(home))
        )
        assert unit.returncode == 0, f"dbt's unit tests failed on Spark; see {log}"
        unit_results = json.loads(results.read_text())
    return home, on_duckdb, build_results, unit_results


@pytest.mark.slow
def test_every_mart_builds_on_spark(both_engines):
    home, on_duckdb, *_ = both_engines
    on_spark = sorted(p.stem for p in spark_engine.marts_dir(Paths(home)).glob("*.parquet"))
    assert on_spark == sorted(on_duckdb)
    assert len(on_spark) >= 15


@pytest.mark.slow
def test_marts_agree_row_for_row(both_engines):
    home, on_duckdb, *_ = both_engines
    found = []
    for name, expected in on_duckdb.items():
        actual = pq.read_table(spark_engine.marts_dir(Paths(home)) / f"{name}.parquet")
        found += mart_diff.differences(name, expected, actual)
    assert found == []
    assert sum(t.num_rows for t in on_duckdb.values()) > 1000


@pytest.mark.slow
def test_dbt_data_and_unit_tests_pass_on_spark(both_engines):
    _, _, build_results, unit_results = both_engines
    by_kind: dict[str, list[str]] = {}
    for results in (build_results, unit_results):
        assert results["args"]["target"] == "spark"
        for r in results["results"]:
            by_kind.setdefault(r["unique_id"].split(".")[0], []).append(r["status"])
    assert set(by_kind["model"]) == {"success"} and len(by_kind["model"]) >= 50
    assert set(by_kind["test"]) == {"pass"} and len(by_kind["test"]) >= 200
    assert set(by_kind["unit_test"]) == {"pass"} and len(by_kind["unit_test"]) >= 30


@pytest.mark.slow
def test_the_share_and_warehouse_read_the_spark_build(both_engines):
    """After a Spark build the warehouse's marts are views over its Parquet marts, so the
    analyst share, the report and the CLI read the Spark answers."""
    home, on_duckdb, *_ = both_engines
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        kinds = dict(
            con.execute(
                "select table_name, table_type from information_schema.tables "
                "where table_schema = 'marts'"
            ).fetchall()
        )
    assert set(kinds) == set(on_duckdb)
    assert set(kinds.values()) == {"VIEW"}
    shared = {p.stem for p in (home / "share").glob("*.parquet")}
    assert shared == set(on_duckdb) - {"mart_unmatched_records"}
    profile = pq.read_table(home / "share" / "mart_whole_child_profile.parquet")
    assert profile.num_rows == on_duckdb["mart_whole_child_profile"].num_rows


@pytest.mark.slow
def test_dagster_builds_a_delivery_on_spark(home, sources_dir, tmp_path, monkeypatch):
    """The Dagster path: a sensor's run ingests a delivery, then dagster-dbt runs `dbt
    build` on the Spark target between the Spark views and the mart export steps."""
    import dagster as dg

    from orchestration.definitions import build_defs
    from orchestration.defs.sources.sensors import build_landing_sensor
    from tests.conftest import MAP_GROWTH_YML, land
    from tests.test_orchestration_run import FALL, KEY
    from wholechild.registry import load_registry

    missing = spark_missing()
    if missing:
        pytest.skip(f"the Spark Dagster test needs Spark: {missing}")
    monkeypatch.setenv("WHOLECHILD_ENGINE", "spark")
    (sources_dir / "map_growth.yml").write_text(MAP_GROWTH_YML)
    registry = load_registry(sources_dir)
    project = tmp_path / "dbt_project"
    shutil.copytree(ROOT / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
    defs = build_defs(registry, dbt_project_dir=project)
    land(home, "map_growth", "map_fall_2025-09-30.csv", FALL)
    stg = dg.AssetKey(["staging", "stg_assessment_result"])
    with dg.instance_for_test() as instance:
        sensor = build_landing_sensor(registry.sources["map_growth"])
        tick = sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
        result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=instance,
            asset_selection=[KEY, stg],
            run_config=tick.run_requests[0].run_config,
        )
    assert result.success
    assert {KEY, stg} <= {e.asset_key for e in result.get_asset_materialization_events()}
    table = home.home / "spark" / "warehouse" / "staging.db" / "stg_assessment_result"
    with duckdb.connect() as con:
        rows = con.execute(
            "select count(*) from read_parquet(?)", [f"{table}/*.parquet"]
        ).fetchall()
    assert rows == [(3,)]


def test_the_run_summary_names_the_spark_engine(monkeypatch, tmp_path):
    from rich.console import Console

    from orchestration import cli

    monkeypatch.setenv("WHOLECHILD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WHOLECHILD_SOURCES", str(tmp_path / "sources"))
    (tmp_path / "sources").mkdir()
    console = Console(record=True, width=300)
    monkeypatch.setenv("WHOLECHILD_ENGINE", "spark")
    cli._summary(console, [], None)
    assert f"Spark (tables in {tmp_path / 'home' / 'spark'}" in console.export_text()
    console = Console(record=True, width=300)
    monkeypatch.setenv("WHOLECHILD_ENGINE", "duckdb")
    cli._summary(console, [], None)
    assert "Spark (tables in" not in console.export_text()
