"""The Dagster code location loads from a registry: assets, groups, owners, checks, sensors.

Two small source YAMLs (and one broken one) in a temporary WHOLECHILD_SOURCES. The dbt
part parses a copy of the dbt project, so parallel tests never share generated files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from orchestration import automation
from orchestration.definitions import AUTOMATION_SENSOR, build_defs
from orchestration.defs import coverage
from orchestration.defs.dbt.translator import group_for
from orchestration.defs.sources.checks import LATEST_DELIVERY_ACCEPTED
from schemas import DOMAINS
from tests.conftest import MAP_GROWTH_YML
from wholechild.registry import load_registry

ROOT = Path(__file__).resolve().parents[1]

SCHOOLS_YML = """\
name: sis_schools
system: District SIS schools export
format: csv
entity: school
domains: [enrollment]
steward: team:sis
cadence: yearly
landing: schools
mode: snapshot
columns:
  school_id: SchoolCode
  school_name: SchoolName
"""

# Unknown key: the registry reports it and loads the others.
BROKEN_YML = """\
name: broken
system: Broken
format: csv
entity: school
domains: [enrollment]
steward: team:x
cadence: daily
colums: {school_id: A}
"""

#: The graph without dbt, as a reviewer should see it change (snapshot).
EXPECTED_KEYS = [
    "coverage/interoperability",
    "coverage/registry",
    "coverage/unconnected/attendance",
    "coverage/unconnected/behavior",
    "coverage/unconnected/coursework",
    "coverage/unconnected/demographics",
    "coverage/unconnected/engagement",
    "coverage/unconnected/health",
    "coverage/unconnected/programs",
    "coverage/unconnected/staffing",
    "coverage/unconnected/wellbeing",
    "ops/load_ledger",
    "pii/student_keys",
    "quarantine/rejected_rows",
    "raw/map_growth/assessment_result",
    "raw/sis_schools/school",
]


@pytest.fixture
def registry(sources_dir):
    (sources_dir / "map_growth.yml").write_text(MAP_GROWTH_YML)
    (sources_dir / "sis_schools.yml").write_text(SCHOOLS_YML)
    (sources_dir / "broken.yml").write_text(BROKEN_YML)
    return load_registry(sources_dir)


@pytest.fixture
def defs(registry) -> dg.Definitions:
    return build_defs(registry, include_dbt=False)


def _specs(defs: dg.Definitions) -> dict[str, dg.AssetSpec]:
    return {s.key.to_user_string(): s for s in defs.resolve_all_asset_specs()}


def test_definitions_load_from_the_environment_registry(registry):
    # No registry passed: WHOLECHILD_SOURCES (set by the fixture) is read.
    defs = build_defs(include_dbt=False)
    dg.Definitions.validate_loadable(defs)
    repo = defs.get_repository_def()
    assert repo.has_sensor_def("map_growth_landing_sensor")
    assert repo.has_sensor_def("sis_schools_landing_sensor")
    assert repo.has_sensor_def(AUTOMATION_SENSOR)


def test_code_location_entry_point_is_lazy():
    from dagster.components.definitions import LazyDefinitions

    from orchestration.definitions import defs

    # Importing the module reads no registry and parses no dbt: Dagster calls defs().
    assert isinstance(defs, LazyDefinitions)


def test_asset_keys_snapshot(defs):
    assert sorted(_specs(defs)) == EXPECTED_KEYS


def test_raw_assets_carry_domain_group_steward_and_kinds(defs, registry):
    specs = _specs(defs)
    growth = specs["raw/map_growth/assessment_result"]
    assert growth.group_name == "assessment"
    assert growth.owners == ["assessment@district.example"]
    assert growth.kinds == {"csv", "parquet"}
    assert "NWEA MAP Growth" in growth.description
    assert growth.tags["wholechild/source_yaml"] == "map_growth.yml"
    assert growth.metadata["source_yaml"].value.endswith("map_growth.yml")

    schools = specs["raw/sis_schools/school"]
    assert schools.group_name == "enrollment"
    assert schools.owners == ["team:sis"]
    assert schools.metadata["landing_folder"] == "landing/schools/"
    assert schools.metadata["mode"] == "snapshot"


def test_one_subsettable_multi_asset_per_source(defs):
    by_key = {k.to_user_string(): a for a in defs.resolve_asset_graph().assets_defs for k in a.keys}
    ingest = by_key["raw/map_growth/assessment_result"]
    assert ingest.op.name == "ingest_map_growth"
    assert ingest.can_subset


def test_every_domain_is_a_group(defs):
    groups = {s.group_name for s in defs.resolve_all_asset_specs()}
    assert set(DOMAINS) <= groups


def test_unconnected_domain_placeholder_says_how_to_connect(defs):
    spec = _specs(defs)["coverage/unconnected/wellbeing"]
    assert spec.group_name == "wellbeing"
    assert "no registered source feeds" in spec.description
    assert "survey_response" in spec.description
    assert spec.metadata["is_connected"] is False


def test_each_raw_asset_has_its_contract_checks(defs):
    graph = defs.resolve_asset_graph()
    checks = {
        (c.asset_key.to_user_string(), c.name): graph.get(c).blocking
        for c in graph.asset_check_keys
    }
    assert checks == {
        ("raw/map_growth/assessment_result", "assessment_result_keys_are_unique"): True,
        ("raw/map_growth/assessment_result", "assessment_result_rows_meet_contract"): True,
        ("raw/map_growth/assessment_result", LATEST_DELIVERY_ACCEPTED): False,
        ("raw/sis_schools/school", "school_keys_are_unique"): True,
        ("raw/sis_schools/school", "school_rows_meet_contract"): True,
        ("raw/sis_schools/school", LATEST_DELIVERY_ACCEPTED): False,
        # by cadence (orchestration/defs/sources/freshness.py): warn, never block
        ("raw/map_growth/assessment_result", "freshness_check"): False,
        ("raw/sis_schools/school", "freshness_check"): False,
    }


def test_invalid_yaml_is_surfaced_not_fatal(defs, registry):
    assert [e.file.name for e in registry.errors] == ["broken.yml"]
    status = _specs(defs)["coverage/registry"]
    assert status.metadata["sources_loaded"].value == 2
    assert "colums" in status.metadata["error: broken.yml"]
    assert "broken.yml" in status.description


def test_every_domain_unconnected_with_an_empty_registry(sources_dir):
    defs = build_defs(load_registry(sources_dir), include_dbt=False)
    keys = {s.key for s in defs.resolve_all_asset_specs()}
    assert {coverage.unconnected_key(d) for d in DOMAINS} <= keys


def test_dbt_group_follows_domain_then_folder():
    staging = {
        "fqn": ["wholechild", "staging", "stg_school"],
        "config": {"meta": {"wholechild": {"domain": "enrollment"}}},
    }
    mart = {"fqn": ["wholechild", "marts", "attendance", "fct_student_attendance_year"]}
    profile = {"fqn": ["wholechild", "marts", "mart_whole_child_profile"]}
    seed = {"fqn": ["wholechild", "xwalk_schools"], "resource_type": "seed"}
    assert group_for(staging) == "enrollment"
    assert group_for(mart) == "attendance"
    assert group_for(profile) == "marts"
    assert group_for(seed) == "seeds"


# --------------------------------------------------------------------------- dbt
@pytest.fixture
def dbt_copy(tmp_path) -> Path:
    dest = tmp_path / "dbt_project"
    shutil.copytree(
        ROOT / "dbt_project",
        dest,
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", ".user.yml"),
    )
    return dest


@pytest.mark.slow
def test_dbt_sources_join_the_raw_assets(registry, dbt_copy):
    defs = build_defs(registry, dbt_project_dir=dbt_copy)
    dg.Definitions.validate_loadable(defs)
    assert (dbt_copy / "target" / "manifest.json").exists()
    graph = defs.resolve_asset_graph()
    specs = _specs(defs)
    assert "problem 1" not in specs["coverage/registry"].metadata

    stg = graph.get(dg.AssetKey(["staging", "stg_assessment_result"]))
    assert dg.AssetKey(["raw", "map_growth", "assessment_result"]) in stg.parent_keys
    assert stg.group_name == "assessment"
    assert stg.automation_condition.get_label() == automation.DBT_MODELS().get_label()
    school = graph.get(dg.AssetKey(["staging", "stg_school"]))
    assert dg.AssetKey(["raw", "sis_schools", "school"]) in school.parent_keys
    # No dbt source became an asset of its own: every raw key is an ingest asset.
    raw_keys = {k for k in graph.get_all_asset_keys() if k.path[0] == "raw"}
    assert raw_keys == {
        dg.AssetKey(["raw", "map_growth", "assessment_result"]),
        dg.AssetKey(["raw", "sis_schools", "school"]),
    }
    dbt_def = defs.resolve_assets_def(dg.AssetKey(["staging", "stg_school"]))
    assert dbt_def.op.pool == "warehouse"

    # A second load finds the manifest fresh and does not parse again.
    mtime = (dbt_copy / "target" / "manifest.json").stat().st_mtime
    build_defs(registry, dbt_project_dir=dbt_copy)
    assert (dbt_copy / "target" / "manifest.json").stat().st_mtime == mtime


def test_dagster_home_gets_a_warehouse_pool_of_one(home):
    from orchestration.runtime import ensure_dagster_home

    folder = ensure_dagster_home(home)
    assert folder == home.dagster_home
    (folder / "dagster.yaml").write_text((folder / "dagster.yaml").read_text() + "\n# edited\n")
    ensure_dagster_home(home)  # an operator's edits are kept
    assert "# edited" in (folder / "dagster.yaml").read_text()

    instance = dg.DagsterInstance.from_config(str(folder))
    try:
        pools = instance.get_concurrency_config().pool_config
        assert pools.default_pool_limit == 1  # `warehouse` is the only pool
    finally:
        instance.dispose()


# --------------------------------------------------------------------------- contract rules
def _results(rows: list[dict]):
    import pandas as pd

    base = {
        "student_ref": "TX001",
        "assessment_name": "MAP Growth",
        "subject": "math",
        "assessed_on": pd.Timestamp("2025-09-15"),
        "test_code": None,
        "scale_score": 201.0,
        "percentile": 55.0,
        "performance_level": None,
        "is_proficient": None,
        "source_record_id": None,
    }
    return pd.DataFrame([{**base, **r} for r in rows])


def test_keys_are_unique_names_the_repeated_key():
    from orchestration.defs.sources import rules

    key = ("student_ref", "assessment_name", "subject", "assessed_on", "test_code")
    assert rules.keys_are_unique(_results([{}, {"student_ref": "TX002"}]), key).passed
    verdict = rules.keys_are_unique(_results([{}, {}, {"student_ref": "TX002"}]), key)
    assert not verdict.passed
    assert verdict.metadata["duplicate_keys"] == 1
    assert "TX001, MAP Growth, math, 2025-09-15, NULL" in verdict.description


def test_rows_meet_contract_counts_failing_rows():
    from orchestration.defs.sources import rules

    ok = rules.rows_meet_contract(_results([{}, {"student_ref": "TX002"}]), "assessment_result")
    assert ok.passed and ok.metadata["rows_checked"] == 2
    bad = rules.rows_meet_contract(
        _results([{"subject": "art"}, {"percentile": 140.0}, {"student_ref": "TX003"}]),
        "assessment_result",
    )
    assert not bad.passed
    assert bad.metadata["rows_failing"] == 2
    assert "subject" in bad.description and "percentile" in bad.description


def test_latest_delivery_accepted_judges_the_newest_non_duplicate(registry):
    import pandas as pd

    from orchestration.defs.sources import rules

    source = registry.sources["map_growth"]
    assert rules.latest_delivery_accepted(pd.DataFrame(), source, "assessment_result").passed

    def row(file, status, entities="assessment_result"):
        return {
            "delivery_id": f"id-{file}",
            "file_name": file,
            "status": status,
            "reason": "bad file" if status == "rejected" else "",
            "entities": entities,
            "rows_published": 0,
            "rows_quarantined": 0,
        }

    ledger = pd.DataFrame(
        [
            row("fall.csv", "published"),
            row("winter.csv", "rejected", entities=""),
            row("fall_again.csv", "duplicate", entities=""),
        ]
    )
    verdict = rules.latest_delivery_accepted(ledger, source, "assessment_result")
    assert not verdict.passed
    assert verdict.metadata["last_delivery_file"] == "winter.csv"
    assert verdict.metadata["reject_reason"] == "bad file"
    later = pd.concat([ledger, pd.DataFrame([row("spring.csv", "published")])])
    assert rules.latest_delivery_accepted(later, source, "assessment_result").passed
