"""Interoperability coverage, freshness, growth points, data readiness and the catalog.

Fast tests pin the rules on hand-made ledgers (wholechild.coverage), the Dagster
freshness checks on an ephemeral instance and the sensitivity rule of the catalog. The
slow ones build the demo district once for the module (300 students) in a temporary
WHOLECHILD_HOME, with a copy of sources/ (so a YAML can be removed) and a copy of the
dbt project (so a reduced registry never touches the checkout's generated files while
other tests build from it), then change one thing at a time: an as-of instant past the
cadence windows, a rejected latest delivery, a removed source YAML.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from types import SimpleNamespace

import dagster as dg
import duckdb
import pandas as pd
import pytest

from orchestration.cli import main
from orchestration.definitions import build_defs
from orchestration.defs import coverage as coverage_defs
from orchestration.defs.sources.assets import summarize_outcomes
from orchestration.defs.sources.freshness import FRESHNESS_CHECK, build_freshness_checks
from schemas import DOMAINS, ENTITIES
from tests.conftest import MAP_GROWTH_YML, ROOT
from wholechild import catalog, config, coverage, transform, warehouse
from wholechild.config import Paths
from wholechild.pipeline import DeliveryOutcome
from wholechild.registry import load_registry

NOW = dt.datetime(2026, 6, 10, 12, 0, tzinfo=dt.UTC)

SIS_YML = """\
name: sis
system: District SIS
format: csv
domains: [enrollment, demographics]
steward: team:sis
cadence: daily
roster: true
mode: snapshot
exports:
  - match: "schools*.csv"
    entity: school
    columns: {school_id: SchoolCode, school_name: SchoolName}
  - match: "students*.csv"
    entity: student
    columns: {student_ref: Id, first_name: First, last_name: Last}
"""


def _ledger(*rows: dict) -> pd.DataFrame:
    base = {"rows_published": 10, "rows_quarantined": 0, "reason": "", "entities": ""}
    frame = pd.DataFrame([{**base, **r} for r in rows])
    frame["received_at"] = pd.to_datetime(frame["received_at"], utc=True)
    return frame


def _row(source, file, status, when, entities="", published=10, quarantined=0):
    return {
        "delivery_id": f"{when:%Y%m%dT%H%M%S}-{file}",
        "source": source,
        "file_name": file,
        "status": status,
        "received_at": when,
        "entities": entities,
        "rows_published": published,
        "rows_quarantined": quarantined,
    }


@pytest.fixture
def small_registry(sources_dir):
    (sources_dir / "map_growth.yml").write_text(MAP_GROWTH_YML)
    (sources_dir / "sis.yml").write_text(SIS_YML)
    return load_registry(sources_dir)


# --------------------------------------------------------------------------- rules (fast)
def test_latest_rejected_delivery_fails_the_contract_but_keeps_the_last_publish(small_registry):
    ledger = _ledger(
        _row("map_growth", "fall.csv", "published", NOW - dt.timedelta(days=5)),
        _row(
            "map_growth",
            "winter.csv",
            "rejected",
            NOW - dt.timedelta(days=1),
            published=0,
            quarantined=7,
        ),
        _row("map_growth", "fall_again.csv", "duplicate", NOW, published=0),
    )
    rows = coverage.domain_coverage(small_registry, None, as_of=NOW, ledger=ledger)
    assessment = next(r for r in rows if r.domain == "assessment")
    assert assessment.is_connected
    assert assessment.contract_status == coverage.FAILED
    assert assessment.failed_sources == ["map_growth"]
    assert assessment.freshness_status == coverage.FRESH  # term window: 120 days
    assert assessment.last_loaded_at == NOW - dt.timedelta(days=5)  # the rejected one is not
    assert (assessment.rows_published, assessment.rows_quarantined) == (10, 7)
    assert assessment.reject_rate == pytest.approx(7 / 17)


def test_a_source_past_its_cadence_window_turns_its_domain_stale(small_registry):
    ledger = _ledger(
        _row("sis", "schools.csv", "published", NOW - dt.timedelta(days=3), entities="school"),
        _row("sis", "students.csv", "published", NOW - dt.timedelta(hours=2), entities="student"),
        _row("map_growth", "fall.csv", "published", NOW - dt.timedelta(days=100)),
    )
    by_domain = {
        r.domain: r
        for r in coverage.domain_coverage(small_registry, None, as_of=NOW, ledger=ledger)
    }
    # sis is daily: its school export is 3 days old (enrollment), its students are not.
    assert by_domain["enrollment"].freshness_status == coverage.STALE
    assert by_domain["enrollment"].stale_sources == ["sis"]
    assert by_domain["demographics"].freshness_status == coverage.FRESH
    assert by_domain["assessment"].freshness_status == coverage.FRESH  # 100 < 120 days
    later = coverage.domain_coverage(
        small_registry, None, as_of=NOW + dt.timedelta(days=30), ledger=ledger
    )
    assert next(r for r in later if r.domain == "assessment").freshness_status == coverage.STALE


def test_every_domain_has_a_row_and_unconnected_ones_are_never(small_registry):
    ledger = _ledger(_row("map_growth", "fall.csv", "rejected", NOW, published=0, quarantined=4))
    rows = coverage.domain_coverage(small_registry, None, as_of=NOW, ledger=ledger)
    assert [r.domain for r in rows] == list(DOMAINS)
    assessment = next(r for r in rows if r.domain == "assessment")
    # Registered, delivered, but nothing published: not connected.
    assert not assessment.is_connected
    assert assessment.freshness_status == coverage.NEVER
    assert assessment.contract_status == coverage.FAILED
    health = next(r for r in rows if r.domain == "health")
    assert (health.is_connected, health.sources, health.contract_status) == (False, [], "never")
    table = coverage.markdown_table(rows)
    assert "| health | **no** | - |" in table
    assert "| assessment | **no** | map_growth |" in table


def test_a_ledger_row_naming_no_entity_concerns_every_entity_of_its_source(small_registry):
    ledger = _ledger(_row("sis", "mystery.csv", "rejected", NOW, published=0, quarantined=3))
    statuses = coverage.source_entity_status(small_registry, ledger, NOW)
    sis = {s.entity: s for s in statuses if s.source == "sis"}
    assert {e: s.contract_status for e, s in sis.items()} == {
        "school": coverage.FAILED,
        "student": coverage.FAILED,
    }


def test_freshness_windows_come_from_the_dbt_var(tmp_path):
    assert coverage.freshness_days() == coverage.DEFAULT_FRESHNESS_DAYS
    (tmp_path / "dbt_project.yml").write_text(
        "vars:\n  'wholechild:coverage:freshness_days': {daily: 2, term: 90}\n"
    )
    windows = coverage.freshness_days(tmp_path)
    assert windows["daily"] == 2 and windows["term"] == 90 and windows["yearly"] == 366


def test_raw_materialization_records_when_the_newest_publish_arrived(small_registry):
    source = small_registry.sources["map_growth"]

    def outcome(file, status, when):
        return DeliveryOutcome(
            delivery_id=f"id-{file}",
            source="map_growth",
            file_name=file,
            sha256="0" * 64,
            received_at=when,
            applied_at=when.isoformat(),
            status=status,
            entity_counts={"assessment_result": (0, 0)},
        )

    first, second = NOW - dt.timedelta(days=2), NOW
    runs = summarize_outcomes(
        source, [outcome("a.csv", "published", first), outcome("b.csv", "rejected", second)]
    )
    meta = runs["assessment_result"].metadata()
    # The rejected delivery is the last one, but the freshness checks judge the publish.
    assert meta["last_delivery_status"] == "rejected"
    assert meta["dagster/last_updated_timestamp"].value == pytest.approx(first.timestamp())


def test_freshness_check_fails_a_source_past_its_cadence(small_registry):
    checks = build_freshness_checks(small_registry)
    keys = [
        dg.AssetKey(["raw", "sis", "student"]),
        dg.AssetKey(["raw", "map_growth", "assessment_result"]),
    ]
    all_keys = [k for c in checks for k in c.check_keys]
    assert {k.name for k in all_keys} == {FRESHNESS_CHECK}
    assert {k.asset_key for k in all_keys} == {
        dg.AssetKey(["raw", "sis", "school"]),
        *keys,
    }
    instance = dg.DagsterInstance.ephemeral()
    three_days_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    for key in keys:
        instance.report_runless_asset_event(
            dg.AssetMaterialization(
                asset_key=key,
                metadata={
                    "dagster/last_updated_timestamp": dg.MetadataValue.timestamp(three_days_ago)
                },
            )
        )
    job = dg.define_asset_job(
        "freshness",
        selection=dg.AssetSelection.checks(*[dg.AssetCheckKey(k, FRESHNESS_CHECK) for k in keys]),
    )
    defs = dg.Definitions(
        assets=[dg.AssetSpec(k.asset_key) for k in all_keys], asset_checks=checks, jobs=[job]
    )
    result = defs.resolve_job_def("freshness").execute_in_process(instance=instance)
    verdicts = {e.asset_key: e.passed for e in result.get_asset_check_evaluations()}
    # sis is daily (1 day): overdue; map_growth is term (120 days): fresh.
    assert verdicts == {keys[0]: False, keys[1]: True}


def test_coverage_asset_is_downstream_of_every_raw_asset_and_placeholder(small_registry):
    defs = build_defs(small_registry, include_dbt=False)
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    node = graph.get(coverage_defs.INTEROPERABILITY_KEY)
    assert node.group_name == "coverage"
    raw = {k for k in graph.get_all_asset_keys() if k.path[0] == "raw"}
    connected = {"assessment", "enrollment", "demographics"}
    placeholders = {coverage_defs.unconnected_key(d) for d in DOMAINS if d not in connected}
    assert raw | placeholders <= set(node.parent_keys)
    assert defs.get_repository_def().has_sensor_def("wholechild_freshness_sensor")


def test_mart_sensitivity_rule():
    rule = catalog.mart_sensitivity
    assert rule("dim_student", "student_key")[0] == "pii_indirect"
    assert rule("mart_unmatched_records", "student_ref")[0] == "pii_direct"
    for column in (
        "race_ethnicity",
        "sex",
        "disability",
        "english_learner",
        "suspensions",
        "is_suspended",
        "days_removed",
        "incidents",
        "program",
        "disability_category",
    ):
        assert rule("mart_whole_child_profile", column)[0] == "sensitive", column
    for column in ("attendance_rate", "school_id", "action", "match_rate", "gpa", "domain"):
        assert rule("mart_growth_points", column)[0] == "public", column


def test_generated_macros_describe_sources_domains_and_years(small_registry):
    from orchestration import dbt_prepare

    sql = dbt_prepare.render_coverage_sql(
        small_registry, ENTITIES, catalog.governance(small_registry)
    )
    for macro in (
        "wholechild_sources",
        "wholechild_domains",
        "wholechild_entity_years",
        "wholechild_governance",
    ):
        assert f"{{% macro {macro}() -%}}" in sql
    years = dbt_prepare.entity_years(ENTITIES)
    assert years["student"] == {"kind": "any"}  # a birth date is not the record's year
    assert years["program_participation"]["kind"] == "span"
    assert years["course_mark"]["kind"] == "year"
    assert years["attendance_event"] == {"kind": "date", "column": "event_date"}
    domains = {d["domain"]: d for d in dbt_prepare.coverage_domains(small_registry, ENTITIES)}
    assert domains["health"]["sources"] == "" and domains["assessment"]["sources"] == "map_growth"


# --------------------------------------------------------------------------- the demo (slow)
@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo district, built once, with its own sources/ and dbt project copies."""
    root = tmp_path_factory.mktemp("coverage")
    sources = root / "sources"
    shutil.copytree(ROOT / "sources", sources)
    project = root / "dbt_project"
    shutil.copytree(
        ROOT / "dbt_project",
        project,
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", ".user.yml"),
    )
    mp = pytest.MonkeyPatch()
    mp.setenv("WHOLECHILD_HOME", str(root / "home"))
    mp.setenv("WHOLECHILD_SOURCES", str(sources))
    mp.setenv("WHOLECHILD_SETTLE_SECONDS", "0")
    mp.setattr(config, "dbt_project_dir", lambda: project)
    try:
        code = main(["demo", "--students", "300"])
        assert code == 0, "the demo build failed; run `wholechild demo --students 300`"
        paths = Paths(root / "home")
        expected = json.loads((paths.landing / "_expected.json").read_text(encoding="utf-8"))
        yield SimpleNamespace(paths=paths, sources=sources, project=project, expected=expected)
    finally:
        mp.undo()


def query(demo, sql: str, params=None) -> pd.DataFrame:
    """Read the warehouse and close it again (a held connection would block `run`)."""
    with duckdb.connect(str(demo.paths.warehouse), read_only=True) as con:
        return con.execute(sql, params or []).df()


def mart(demo) -> pd.DataFrame:
    return query(
        demo, "select * from marts.mart_interoperability_coverage order by domain_position"
    ).set_index("domain")


def assert_python_matches_mart(demo, as_of=None):
    """The Python table (Dagster asset, CLI) and the dbt mart say the same thing."""
    registry = load_registry(demo.sources)
    rows = coverage.domain_coverage(
        registry, demo.paths, as_of=as_of, rates=coverage.match_rates(demo.paths)
    )
    table = mart(demo)
    for r in rows:
        m = table.loc[r.domain]
        assert bool(m.is_connected) == r.is_connected, r.domain
        assert (m.freshness_status, m.contract_status) == (
            r.freshness_status,
            r.contract_status,
        ), r.domain
        assert (int(m.rows_published), int(m.rows_quarantined)) == (
            r.rows_published,
            r.rows_quarantined,
        ), r.domain
        assert (m.sources if isinstance(m.sources, str) else "") == ", ".join(r.sources)
        if r.student_match_rate is None:
            assert pd.isna(m.student_match_rate), r.domain
        else:
            assert m.student_match_rate == pytest.approx(r.student_match_rate), r.domain
    return rows


@pytest.mark.slow
def test_demo_coverage_has_every_domain_and_only_health_unconnected(demo):
    table = mart(demo)
    assert list(table.index) == list(DOMAINS)
    assert demo.expected["unconnected_domains"] == ["health"]
    health = table.loc["health"]
    assert not health.is_connected
    assert (health.freshness_status, health.contract_status) == ("never", "never")
    assert pd.isna(health.sources) and health.rows_published == 0
    assert health.student_coverage_rate == 0
    connected = table.drop(index="health")
    assert connected.is_connected.all()
    assert (connected.freshness_status == "fresh").all()
    # behavior's rejected delivery was followed by a corrected one: passed, its rows counted.
    behavior = table.loc["behavior"]
    assert behavior.contract_status == "passed"
    rejected = [d for d in demo.expected["rejected_deliveries"] if d["source"] == "behavior"]
    assert rejected
    assert behavior.rows_quarantined >= sum(d["rows_quarantined"] for d in rejected)
    assert pd.isna(table.loc["staffing"].student_match_rate)  # no student rows
    assert pd.isna(table.loc["staffing"].student_coverage_rate)
    assert table.loc["enrollment"].student_coverage_rate == pytest.approx(1.0)
    assert 0 < table.loc["behavior"].student_coverage_rate < 1  # exceptions only
    assert_python_matches_mart(demo)


@pytest.mark.slow
def test_planted_id_mismatches_lower_the_match_rate_of_their_sources(demo):
    rates = query(demo, "select * from marts.mart_source_match_rates")
    table = mart(demo)
    planted = demo.expected["unmatched"]
    assert planted, "the demo plants unmatched ids"
    for source in {p["source"] for p in planted}:
        mine = [p for p in planted if p["source"] == source]
        entity = mine[0]["entity"]
        domain = ENTITIES[entity].domain
        row = rates[(rates.source == source) & (rates.entity == entity)].iloc[0]
        assert row.refs - row.refs_matched >= len(mine)
        assert row.rows - row.rows_matched >= sum(p["n_rows"] for p in mine)
        # The domain's rate is its sources' rows matched over rows: below 1 by the plant.
        sel = rates[rates.entity.isin([e for e, s in ENTITIES.items() if s.domain == domain])]
        assert table.loc[domain].student_match_rate == pytest.approx(
            sel.rows_matched.sum() / sel.rows.sum()
        )
        assert table.loc[domain].student_match_rate < 1
    growth = query(demo, "select * from marts.mart_growth_points")
    lms = growth[(growth.kind == "low_match_rate") & (growth.source == "lms")]
    n_lms = sum(p["source"] == "lms" for p in planted)
    assert lms.students_affected.tolist() == [n_lms]
    assert (
        f"fix the id mapping of source lms: {n_lms} usernames do not resolve" in lms.action.iloc[0]
    )


@pytest.mark.slow
def test_growth_points_are_ranked_and_readiness_is_scored(demo):
    growth = query(demo, "select * from marts.mart_growth_points order by growth_point_rank")
    first = growth.iloc[0]
    assert (first.kind, first.domain) == ("unconnected_domain", "health")
    assert first.students_affected == demo.expected["district"]["students_enrolled"]
    assert first.action.startswith("connect domain health: add sources/<system>.yml with entity")
    assert list(growth.growth_point_rank) == list(range(1, len(growth) + 1))
    known = growth.students_affected.dropna()
    assert list(known) == sorted(known, reverse=True)

    readiness = query(demo, "select * from marts.mart_data_readiness").set_index("indicator")
    assert set(readiness.framework_domain) == {"governance", "needs_assessment", "implementation"}
    governed = readiness.loc["data_elements_governed"]
    # health_event has no source, so its elements have no steward.
    n_health = len(ENTITIES["health_event"].columns)
    assert governed.value == pytest.approx(
        1 - n_health / sum(len(e.columns) for e in ENTITIES.values())
    )
    assert "health_event" in governed.detail
    assert readiness.loc["pii_columns_in_marts", "status"] == "met"
    assert readiness.loc["domains_connected", "value"] == pytest.approx(10 / 11)
    assert readiness.loc["growth_points_unconnected_domain", "value"] == 1
    assert readiness.loc["growth_points_unconnected_domain", "status"] == "not_met"
    assert readiness.loc["growth_points_stale_source", "status"] == "met"
    assert readiness.loc["identity_match_rate", "value"] < 1


@pytest.mark.slow
def test_coverage_asset_shows_the_table_as_markdown(demo):
    defs = build_defs(load_registry(demo.sources), include_dbt=False)
    asset = defs.resolve_assets_def(coverage_defs.INTEROPERABILITY_KEY)
    result = dg.materialize([asset], instance=dg.DagsterInstance.ephemeral())
    (mat,) = result.asset_materializations_for_node(asset.op.name)
    table = mat.metadata["coverage"].value
    assert table.splitlines()[0].startswith("| domain | connected | sources |")
    assert "| health | **no** | - | 0 | 0 | - | - | - | never | never |" in table
    assert "| engagement | yes | lms |" in table
    assert mat.metadata["domains_connected"].value == 10
    assert mat.metadata["unconnected_domains"].value == "health"
    assert mat.metadata["match_rates"].value == "marts.mart_source_match_rates"


@pytest.mark.slow
def test_every_mart_column_has_a_catalog_entry(demo, tmp_path):
    assert main(["catalog", "--out", str(tmp_path)]) == 0
    with (tmp_path / "catalog.csv").open(encoding="utf-8") as fh:
        entries = list(csv.DictReader(fh))
    elements = [e["element"] for e in entries]
    assert len(elements) == len(set(elements)), "an element is listed twice"
    by_element = {e["element"]: e for e in entries}
    built = query(
        demo,
        "select table_name, column_name from information_schema.columns "
        "where table_schema = 'marts'",
    )
    assert len(built) > 100
    for table_name, column in built.itertuples(index=False):
        entry = by_element.get(f"{table_name}.{column}")
        assert entry is not None, f"marts.{table_name}.{column} has no catalog entry"
        assert entry["definition"], f"marts.{table_name}.{column} has no definition"
        assert entry["stewards"] == catalog.DEFAULT_DATA_STEWARD
        assert entry["sensitivity"] in ("pii_direct", "pii_indirect", "sensitive", "public")
    for name, spec in ENTITIES.items():
        for col in spec.columns.values():
            entry = by_element[f"{name}.{col.name}"]
            assert entry["definition"] == col.description
            assert entry["sensitivity"] == col.sensitivity
    assert by_element["student.first_name"]["stewards"] == "sis-team@district.example"
    assert by_element["student.first_name"]["sensitivity"] == "pii_direct"
    assert by_element["health_event.event_type"]["stewards"] == ""
    assert by_element["dim_student.student_key"]["sensitivity"] == "pii_indirect"
    assert by_element["dim_student.race_ethnicity"]["sensitivity"] == "sensitive"
    assert by_element["mart_unmatched_records.student_ref"]["sensitivity"] == "pii_direct"
    md = (tmp_path / "catalog.md").read_text(encoding="utf-8")
    assert "### marts.mart_interoperability_coverage" in md
    assert "`student.first_name`" in md


@pytest.mark.slow
def test_sources_command_never_fails_on_a_busy_warehouse(demo, capsys):
    assert main(["sources"]) == 0
    out = capsys.readouterr().out
    assert "lms" in out and "fresh" in out and "%" in out
    # Without the share, match rates come from the warehouse: held by a writer here.
    share = demo.paths.share
    hidden = share.with_name("share_hidden")
    share.rename(hidden)
    try:
        with duckdb.connect(str(demo.paths.warehouse)):
            assert coverage.match_rates(demo.paths) is None
            assert main(["sources"]) == 0
        assert coverage.match_rates(demo.paths) is not None  # read-only, once free
    finally:
        hidden.rename(share)
    assert "Match rates appear" in capsys.readouterr().out


def _rebuild_coverage(demo, dbt_vars: dict | None = None) -> None:
    args = [
        "build",
        "--quiet",
        "--select",
        "path:models/intermediate/coverage",
        "path:models/marts/coverage",
    ]
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars)]
    with warehouse.warehouse_lock(demo.paths):
        proc = transform.run_dbt(args, demo.paths)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.mark.slow
def test_an_as_of_past_the_cadence_windows_shows_stale(demo):
    last = query(demo, "select max(received_at) as t from ops.load_ledger").t.iloc[0]
    as_of = pd.Timestamp(last).tz_convert("UTC") + pd.Timedelta(days=40)
    try:
        _rebuild_coverage(demo, {"wholechild:coverage:as_of": as_of.strftime("%Y-%m-%d %H:%M:%S")})
        table = mart(demo)
        # daily (sis) and monthly (attendance, behavior, programs) are past 40 days;
        # term (map_growth, gradebook, lms, wellbeing) and yearly (staffing) are not.
        stale = set(table.index[table.freshness_status == "stale"])
        assert stale == {"enrollment", "demographics", "attendance", "behavior", "programs"}
        assert table.loc["programs", "stale_sources"] == "programs"
        assert table.loc["health", "freshness_status"] == "never"
        assert_python_matches_mart(demo, as_of=as_of.to_pydatetime())
        growth = query(demo, "select * from marts.mart_growth_points where kind = 'stale_source'")
        assert set(growth.source) == {"sis", "attendance", "behavior", "programs"}
        sis = growth[growth.source == "sis"].iloc[0]
        assert "source sis is stale" in sis.action and "daily window of 1 day" in sis.action
        assert 40 <= sis.metric_value <= 41
        readiness = query(demo, "select * from marts.mart_data_readiness").set_index("indicator")
        assert readiness.loc["domains_connected_and_fresh", "value"] == pytest.approx(5 / 11)
    finally:
        _rebuild_coverage(demo)
    assert set(mart(demo).freshness_status) == {"fresh", "never"}


@pytest.mark.slow
def test_a_rejected_latest_delivery_shows_contract_failed(demo):
    archived = sorted(demo.paths.archive.glob("behavior/*/behavior_*.csv"))[-1]
    with archived.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter="|"))
    drop = rows[0].index("IncidentDate")
    bad = demo.paths.landing / "behavior" / "behavior_2026-06-30.csv"
    bad.parent.mkdir(parents=True, exist_ok=True)
    with bad.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, delimiter="|").writerows(
            [[v for i, v in enumerate(r) if i != drop] for r in rows]
        )
    before = mart(demo).loc["behavior"]
    assert main(["run"]) == 1  # rejected
    behavior = mart(demo).loc["behavior"]
    assert behavior.contract_status == "failed"
    assert behavior.failed_sources == "behavior"
    assert "the latest delivery of behavior was rejected" in behavior.detail
    # Nothing was published: the previous good rows stay current and fresh.
    assert behavior.is_connected and behavior.freshness_status == "fresh"
    assert behavior.rows_published == before.rows_published
    assert behavior.rows_quarantined == before.rows_quarantined + len(rows) - 1
    assert behavior.last_loaded_at == before.last_loaded_at
    assert_python_matches_mart(demo)


@pytest.mark.slow
def test_removing_a_source_yaml_unconnects_its_domain(demo):
    (demo.sources / "wellbeing_survey.yml").unlink()
    registry = load_registry(demo.sources)
    defs = build_defs(registry, include_dbt=False)
    graph = defs.resolve_asset_graph()
    placeholder = coverage_defs.unconnected_key("wellbeing")
    assert placeholder in graph.get_all_asset_keys()
    assert placeholder in graph.get(coverage_defs.INTEROPERABILITY_KEY).parent_keys
    assert not [k for k in graph.get_all_asset_keys() if k.path[:2] == ["raw", "wellbeing_survey"]]

    assert main(["run"]) == 0
    wellbeing = mart(demo).loc["wellbeing"]
    assert not wellbeing.is_connected
    assert pd.isna(wellbeing.sources)
    assert (wellbeing.freshness_status, wellbeing.contract_status) == ("never", "never")
    assert wellbeing.rows_published == 0 and wellbeing.student_coverage_rate == 0
    growth = query(demo, "select * from marts.mart_growth_points where kind = 'unconnected_domain'")
    assert set(growth.domain) == {"health", "wellbeing"}
    assert "entity survey_response" in growth[growth.domain == "wellbeing"].action.iloc[0]
    assert_python_matches_mart(demo)
