"""The dbt project: generated sources and registry, and staging's "latest delivery wins".

The slow test builds the real project (a copy, so parallel tests never share generated
files or target/) against a hand-written lake: two deliveries of an incremental source
(an update and a tombstone), two of a snapshot source, and entities no source feeds.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import jinja2
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

import schemas
from orchestration import dbt_prepare
from wholechild import warehouse
from wholechild.config import Paths
from wholechild.registry import load_registry

ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT = ROOT / "dbt_project"

CANONICAL_ENTITIES = {
    "school",
    "student",
    "enrollment",
    "calendar_day",
    "section_enrollment",
    "attendance_event",
    "assessment_result",
    "course_mark",
    "discipline_incident",
    "program_participation",
    "survey_response",
    "lms_activity",
    "health_event",
    "staff_assignment",
    "state_comparison",
}

SIS_YML = """\
name: sis
system: Test SIS
format: csv
domains: [enrollment, demographics]
steward: sis@district.example
cadence: daily
mode: incremental
exports:
  - match: "schools*.csv"
    entity: school
    columns: {school_id: SchoolID, school_name: Name}
  - match: "students*.csv"
    entity: student
    columns: {student_ref: ID, first_name: First, last_name: Last}
"""

HR_YML = """\
name: hr
system: Test HR
format: csv
domains: [staffing]
steward: team:hr
cadence: term
mode: snapshot
exports:
  - match: "staff*.csv"
    entity: staff_assignment
    columns: {teacher_id: TeacherID, school_id: School, years_experience: Years}
  - match: "sites*.csv"
    entity: school
    columns: {school_id: Site, school_name: SiteName}
"""

ARROW = {
    "string": pa.string(),
    "date": pa.date32(),
    "boolean": pa.bool_(),
    "bigint": pa.int64(),
    "double": pa.float64(),
}
DUCKDB = {
    "string": "varchar",
    "date": "date",
    "boolean": "boolean",
    "bigint": "bigint",
    "double": "double",
}
BOOKKEEPING = [
    ("_delivery_id", "string"),
    ("_source", "string"),
    ("_row_number", "bigint"),
    ("_applied_at", "string"),
    ("_is_deleted", "boolean"),
]


def make_registry(folder: Path):
    folder.mkdir()
    (folder / "sis.yml").write_text(SIS_YML)
    (folder / "hr.yml").write_text(HR_YML)
    reg = load_registry(folder)
    assert not reg.errors, reg.errors
    return reg


@pytest.fixture
def registry(tmp_path):
    return make_registry(tmp_path / "sources")


def copy_project(dest: Path) -> Path:
    generated = {p.name for p in dbt_prepare.generated_files(DBT_PROJECT)}
    shutil.copytree(
        DBT_PROJECT,
        dest,
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", ".user.yml", *generated),
    )
    return dest


def registry_literal(project: Path) -> dict:
    """Evaluate the generated macro's dict exactly as Jinja (and so dbt) reads it."""
    text = (project / dbt_prepare.REGISTRY_SQL).read_text()
    literal = re.search(r"\{\{ return\((.*)\) \}\}", text, re.S).group(1)
    return jinja2.Environment().compile_expression(literal)()


# --------------------------------------------------------------------------- unit


def test_prepare_gives_each_raw_table_its_dagster_asset_key(tmp_path, registry):
    project = tmp_path / "dbt_project"
    assert dbt_prepare.prepare(registry, project) is True
    doc = yaml.safe_load((project / dbt_prepare.SOURCES_YML).read_text())
    (raw,) = doc["sources"]
    assert (raw["name"], raw["schema"]) == ("raw", "raw")
    tables = {t["name"]: t for t in raw["tables"]}
    assert set(tables) == {"hr__school", "hr__staff_assignment", "sis__school", "sis__student"}
    for name, table in tables.items():
        source, entity = name.split("__")
        meta = table["config"]["meta"]
        assert meta["dagster"]["asset_key"] == ["raw", source, entity]
        assert meta["wholechild"]["source"] == source
        assert meta["wholechild"]["entity"] == entity
        assert meta["wholechild"]["domain"] == schemas.ENTITIES[entity].domain
        assert table["description"]
        described = {c["name"]: c["description"] for c in table["columns"]}
        assert set(schemas.ENTITIES[entity].columns) <= set(described)
        assert all(described.values())
    assert tables["hr__school"]["config"]["meta"]["wholechild"]["mode"] == "snapshot"


def test_registry_macro_lists_every_canonical_entity_and_its_sources(tmp_path, registry):
    project = tmp_path / "dbt_project"
    dbt_prepare.prepare(registry, project)
    reg = registry_literal(project)
    assert set(reg) == set(schemas.ENTITIES)
    assert set(reg) >= CANONICAL_ENTITIES
    for name, spec in reg.items():
        contract = schemas.ENTITIES[name]
        assert spec["columns"] == [[c.name, c.type] for c in contract.columns.values()]
        assert spec["key"] == list(contract.key)
        assert ["source_record_id", "string"] in spec["columns"]
    assert reg["school"]["sources"] == [
        {"name": "hr", "mode": "snapshot", "id_kind": "local", "roster": False},
        {"name": "sis", "mode": "incremental", "id_kind": "local", "roster": False},
    ]
    assert reg["enrollment"]["sources"] == []


def test_staging_yaml_tests_key_per_source_and_required_columns(tmp_path, registry):
    project = tmp_path / "dbt_project"
    dbt_prepare.prepare(registry, project)
    doc = yaml.safe_load((project / dbt_prepare.STAGING_YML).read_text())
    models = {m["name"]: m for m in doc["models"]}
    assert set(models) == {f"stg_{e}" for e in schemas.ENTITIES}
    for entity, contract in schemas.ENTITIES.items():
        model = models[f"stg_{entity}"]
        assert (DBT_PROJECT / "models" / "staging" / f"stg_{entity}.sql").exists()
        (unique,) = model["data_tests"]
        assert unique["unique_combination"]["arguments"]["columns"] == ["source", *contract.key]
        assert unique["unique_combination"]["description"]
        columns = {c["name"]: c for c in model["columns"]}
        for col in contract.columns.values():
            assert columns[col.name]["description"] == col.description
            tests = [next(iter(t)) for t in columns[col.name].get("data_tests", [])]
            assert tests == (["not_null"] if col.required else [])


def test_prepare_rewrites_nothing_when_the_registry_is_unchanged(tmp_path, registry):
    project = tmp_path / "dbt_project"
    assert dbt_prepare.prepare(registry, project) is True
    stamps = {p: p.stat().st_mtime_ns for p in dbt_prepare.generated_files(project)}
    assert dbt_prepare.prepare(registry, project) is False
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


def test_every_canonical_entity_has_a_staging_model():
    models = {p.stem for p in (DBT_PROJECT / "models" / "staging").glob("stg_*.sql")}
    assert models == {f"stg_{e}" for e in CANONICAL_ENTITIES}


# --------------------------------------------------------------------------- dbt build


def write_delivery(
    lake: Path,
    source: str,
    delivery_id: str,
    applied_at: str,
    entity: str,
    rows: list[dict],
    drop: tuple[str, ...] = (),
) -> None:
    """One delivery's <entity>.parquet as the ingest publishes it (optionally lacking columns)."""
    spec = schemas.ENTITIES[entity]
    fields = [(n, c.type) for n, c in spec.columns.items() if n not in drop] + BOOKKEEPING
    records = []
    for i, row in enumerate(rows, start=1):
        rec = {n: row.get(n) for n, _ in fields}
        rec.update(
            _delivery_id=delivery_id,
            _source=source,
            _row_number=i,
            _applied_at=applied_at,
            _is_deleted=bool(row.get("_is_deleted", False)),
        )
        records.append(rec)
    schema = pa.schema([(n, ARROW[t]) for n, t in fields])
    path = lake / "raw" / source / delivery_id / f"{entity}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(records, schema=schema), path)


def create_raw_views(home: Path, registry) -> None:
    """The views exactly as the platform makes them before every build."""
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    try:
        warehouse.sync_views(con, registry, Paths(home))
    finally:
        con.close()


SEP_1, SEP_2 = "2025-09-01T2025-09-01T06:00:00.000000", "2025-09-02T2025-09-02T06:00:00.000000"
AUG, OCT = "2025-08-01T2025-08-01T06:00:00.000000", "2025-10-01T2025-10-01T06:00:00.000000"

#: (source, delivery_id, _applied_at, entity, rows). sis (incremental): delivery 2 renames
#: S1 and deletes S2, and carries no student file; its id sorts before delivery 1's on
#: purpose (apply order is _applied_at). hr (snapshot): only its latest delivery counts.
DELIVERIES = [
    ("sis", "z-first", SEP_1, "school", [
        {"school_id": "S1", "school_name": "Alpha"},
        {"school_id": "S2", "school_name": "Beta"},
        {"school_id": "S3", "school_name": "Gamma"},
    ]),
    ("sis", "z-first", SEP_1, "student", [
        {"student_ref": "000123", "first_name": "Ada", "last_name": "L"},
        {"student_ref": "000124", "first_name": "Alan", "last_name": "T"},
    ]),
    ("sis", "a-second", SEP_2, "school", [
        {"school_id": "S1", "school_name": "Alpha Renamed"},
        {"school_id": "S2", "_is_deleted": True},
    ]),
    ("hr", "h1", AUG, "staff_assignment", [
        {"teacher_id": "T1", "school_id": "S1", "years_experience": 1.0},
        {"teacher_id": "T2", "school_id": "S1", "section_id": "SEC1", "years_experience": 4.0},
    ]),
    ("hr", "h1", AUG, "school", [{"school_id": "S9", "school_name": "Old Site"}]),
    ("hr", "h2", OCT, "staff_assignment", [
        {"teacher_id": "T2", "school_id": "S1", "section_id": "SEC1", "years_experience": 5.0},
        {"teacher_id": "T3", "school_id": "S3", "years_experience": 0.5, "is_in_field": True},
    ]),
    ("hr", "h2", OCT, "school", [{"school_id": "S8", "school_name": "New Site"}]),
]  # fmt: skip


@pytest.fixture(scope="module")
def built_warehouse(tmp_path_factory):
    """Build the project once for the module's slow tests; yields a read-only connection."""
    tmp_path = tmp_path_factory.mktemp("dbt_build")
    registry = make_registry(tmp_path / "sources")
    home = tmp_path / "home"
    lake = home / "lake"
    for source, delivery_id, applied_at, entity, records in DELIVERIES:
        # The sis school files lack district_id (a column the contract gained later).
        drop = ("district_id",) if (source, entity) == ("sis", "school") else ()
        write_delivery(lake, source, delivery_id, applied_at, entity, records, drop=drop)
    create_raw_views(home, registry)

    project = copy_project(tmp_path / "dbt_project")
    dbt_prepare.prepare(registry, project)
    env = {
        **os.environ,
        "WHOLECHILD_HOME": str(home),
        "WHOLECHILD_SOURCES": str(registry.folder),
        "DO_NOT_TRACK": "1",
    }
    dbt = Path(sys.executable).parent / "dbt"
    result = subprocess.run(
        [
            str(dbt),
            "build",
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    yield con
    con.close()


def rows(con, sql: str) -> list[tuple]:
    return con.execute(textwrap.dedent(sql)).fetchall()


@pytest.mark.slow
def test_staging_keeps_the_current_rows_of_every_source(built_warehouse):
    con = built_warehouse
    # incremental: the later delivery wins per key, the tombstone deletes S2, S3 untouched;
    # snapshot: only hr's latest delivery counts.
    assert rows(
        con,
        """
        select source, school_id, school_name, district_id, _delivery_id
        from staging.stg_school order by source, school_id
    """,
    ) == [
        ("hr", "S8", "New Site", None, "h2"),
        ("sis", "S1", "Alpha Renamed", None, "a-second"),
        ("sis", "S3", "Gamma", None, "z-first"),
    ]
    # a delivery without a student file leaves the earlier students current
    assert rows(con, "select student_ref, first_name from staging.stg_student order by 1") == [
        ("000123", "Ada"),
        ("000124", "Alan"),
    ]
    assert rows(
        con,
        """
        select teacher_id, section_id, years_experience, is_in_field
        from staging.stg_staff_assignment order by teacher_id
    """,
    ) == [("T2", "SEC1", 5.0, None), ("T3", None, 0.5, True)]


@pytest.mark.slow
def test_entities_without_a_source_are_empty_typed_views(built_warehouse):
    con = built_warehouse
    for entity, contract in schemas.ENTITIES.items():
        described = con.execute(f"describe staging.stg_{entity}").fetchall()
        columns = {name: type_ for name, type_, *_ in described}
        expected = {n: DUCKDB[c.type].upper() for n, c in contract.columns.items()}
        expected |= {"source": "VARCHAR", "_delivery_id": "VARCHAR", "_applied_at": "VARCHAR"}
        assert columns == expected, entity
    assert rows(con, "select count(*) from staging.stg_enrollment") == [(0,)]
    assert rows(con, "select count(*) from staging.stg_attendance_event") == [(0,)]
