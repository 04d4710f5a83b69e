"""Run the dbt project against the warehouse, as the one writer.

The CLI calls this; the Dagster dbt assets do the same three steps through dagster-dbt:
generate the registry-driven dbt files, refresh the lake views, then ``dbt build`` while
holding the warehouse lock.

A build builds only what changed since the last successful one (bench/README.md, "Delta"):
``$WHOLECHILD_HOME/dbt/built_deliveries.json`` records the delivery ids that build saw and
a fingerprint of the dbt project it ran (hand-written and generated files, the registry's
YAML). The next build selects the models downstream of the raw tables that received
deliveries since, plus what reads the ledger, the quarantine and the student keys (every
build moves them). It builds everything when nothing is recorded, the fingerprint changed,
a recorded delivery left the lake, or the warehouse is new; the record is removed before
dbt runs and written back only when the build succeeded, so a failed or interrupted build
is followed by a full one. Unit tests are left to CI (``tests/test_dbt_project.py`` runs a
plain ``dbt build``, unit tests included).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from wholechild import identity, lake, share, spark_engine, warehouse
from wholechild.config import Paths
from wholechild.registry import Registry


@dataclass
class DbtResult:
    ok: bool
    command: list[str]
    output: str
    models_built: int
    tests_failed: int


def dbt_executable() -> str:
    """The venv's dbt beside the running interpreter, so an unactivated venv works."""
    here = Path(sys.executable).parent / "dbt"
    return str(here) if here.exists() else "dbt"


def dbt_env(paths: Paths) -> dict[str, str]:
    """The environment of dbt and the Spark child: they read the same home and lake as
    the caller, whatever the caller's own environment says."""
    env = dict(os.environ)
    env["WHOLECHILD_HOME"] = str(paths.home)
    if paths.lake_root is not None:
        env["WHOLECHILD_LAKE"] = str(paths.lake_root)
    env["WHOLECHILD_ENGINE"] = spark_engine.engine()  # profiles.yml's target, normalized
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    env.setdefault("DO_NOT_TRACK", "1")
    return env


def run_dbt(
    args: list[str], paths: Paths, project_dir: Path | None = None
) -> subprocess.CompletedProcess:
    from orchestration.dbt_prepare import workspace

    project_dir = project_dir or workspace(paths)
    # The project, its generated files, target and logs live under WHOLECHILD_HOME so two
    # homes (tests, districts) never share a registry's files or dbt's run artifacts.
    cmd = [
        dbt_executable(),
        *args,
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
        "--target-path",
        str(paths.home / "dbt" / "target"),
        "--log-path",
        str(paths.home / "dbt" / "logs"),
    ]
    return subprocess.run(cmd, env=dbt_env(paths), capture_output=True, text=True, check=False)


def before_build(registry: Registry, paths: Paths, *, engine_views: bool = True) -> None:
    """Student keys and the lake views dbt reads. The caller holds the warehouse lock.

    The warehouse's DuckDB views are refreshed on every engine (ops and analysts read
    them). On Spark the same views are made in Spark's catalog too, by a short Spark
    process, unless ``engine_views`` is False because the Spark build makes them itself.
    """
    identity.build_student_keys(registry, paths)
    con = warehouse.connect_writer(paths)
    try:
        warehouse.sync_views(con, registry, paths)
    finally:
        con.close()
    if engine_views and spark_engine.engine() == "spark":
        spark_engine.require_success(
            spark_engine.run_step(paths, "views", sources=Path(registry.folder)), "views", paths
        )


def after_build(paths: Paths, *, engine_export: bool = True) -> None:
    """The analyst share of a successful build. The caller holds the warehouse lock.

    After a Spark build the marts are first exported from Spark as Parquet (unless
    ``engine_export`` is False because the Spark build did it) and the warehouse's
    ``marts`` become views over them, so the share reads the Spark answers.
    """
    on_spark = spark_engine.engine() == "spark"
    if on_spark and engine_export:
        spark_engine.require_success(spark_engine.run_step(paths, "export"), "export", paths)
    con = warehouse.connect_writer(paths)
    try:
        if on_spark:
            spark_engine.attach_marts(con, paths)
        share.export_share(con, paths)
    finally:
        con.close()


def build(registry: Registry, paths: Paths, select: str | None = None) -> DbtResult:
    """Keys, views, ``dbt build`` and the analyst share, all under the warehouse lock.

    ``select`` (dbt's ``--select``) builds that and leaves the record of the last full or
    delta build alone; None builds what changed since it (see the module's docstring).
    On Spark (``WHOLECHILD_ENGINE=spark``) one child process makes the views, runs dbt
    and exports the marts (wholechild.spark_engine). The Dagster dbt assets run the same
    three steps around dagster-dbt's own invocation.
    """
    from orchestration.dbt_prepare import prepare, workspace

    on_spark = spark_engine.engine() == "spark"
    paths.ensure()
    project = workspace(paths)
    prepare(registry, project)
    with warehouse.warehouse_lock(paths):
        plan = None if select is not None else plan_build(registry, paths, project)
        if plan is not None:
            select = plan.select
            forget_build(paths)  # until this build succeeds, the next one is a full build
        before_build(registry, paths, engine_views=False)
        args = ["build", "--quiet", *(["--select", select] if select else []), *PRODUCTION]
        if on_spark:
            proc = spark_engine.run_step(
                paths, "build", args, project, sources=Path(registry.folder)
            )
        else:
            proc = run_dbt(args, paths)
        if proc.returncode == 0:
            after_build(paths, engine_export=False)
            if plan is not None:
                plan.record(paths)
        else:
            # Even a selected build may have dropped tables it failed to rebuild (Spark
            # drops a Parquet table before creating it): the next build is a full one.
            forget_build(paths)
    out = (proc.stdout or "") + (proc.stderr or "")
    built, failed = _count_results(paths)
    return DbtResult(
        ok=proc.returncode == 0,
        command=args,
        output=out,
        models_built=built,
        tests_failed=failed,
    )


#: Production builds leave dbt's unit tests (fixed inputs, no warehouse data) to CI.
PRODUCTION = ("--exclude-resource-type", "unit_test")
#: Under WHOLECHILD_HOME: what the last successful build saw (see the module's docstring).
BUILT = Path("dbt") / "built_deliveries.json"
#: dbt sources every delivery moves: the ledger, the quarantine, the student keys.
ALWAYS_SELECTED = ("source:ops+", "source:quarantine+", "source:pii+")


@dataclass
class BuildPlan:
    """The selection of a build (None: everything) and what to record once it succeeds."""

    select: str | None
    deliveries: list[str]
    fingerprint: str

    def record(self, paths: Paths) -> None:
        state = {"fingerprint": self.fingerprint, "deliveries": self.deliveries}
        target = paths.home / BUILT
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(json.dumps(state, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, target)


def forget_build(paths: Paths) -> None:
    (paths.home / BUILT).unlink(missing_ok=True)


def plan_build(registry: Registry, paths: Paths, project: Path) -> BuildPlan:
    """What a build with no ``--select`` must build, from the ledger as it is now (read
    before dbt starts, so a delivery published meanwhile is built again next time)."""
    ledger = lake.read_ledger(paths)
    deliveries = sorted(str(d) for d in ledger["delivery_id"])
    fingerprint = project_fingerprint(registry, paths, project)
    full = BuildPlan(None, deliveries, fingerprint)
    try:
        state = json.loads((paths.home / BUILT).read_text(encoding="utf-8"))
        built = set(state["deliveries"])
        same_project = state["fingerprint"] == fingerprint
    except (OSError, ValueError, KeyError, TypeError):
        return full  # no successful build recorded (or an unreadable record)
    if not same_project or not built_tables_exist(paths) or not built <= set(deliveries):
        return full  # the models or registry changed, a new warehouse, or a delivery left
    new = ledger[~ledger["delivery_id"].isin(built) & (ledger["rows_published"] > 0)]
    if any(not isinstance(e, str) or not e.strip() for e in new["entities"]):
        return full  # a delivery whose entities the ledger does not name: build it all
    raw = sorted(
        {
            f"source:raw.{row.source}__{entity}+"
            for row in new.itertuples()
            for entity in (row.entities if isinstance(row.entities, str) else "").split(",")
            if entity
        }
    )
    return BuildPlan(" ".join([*raw, *ALWAYS_SELECTED]), deliveries, fingerprint)


def built_tables_exist(paths: Paths) -> bool:
    """The store the last build wrote is still there: the DuckDB file, or on Spark its
    metastore and warehouse folder (a new pod or a cleaned home has neither)."""
    if spark_engine.engine() == "spark":
        home = spark_engine.spark_home(paths)
        return (home / "metastore_db").is_dir() and (home / "warehouse").is_dir()
    return paths.warehouse.exists()


#: Python that decides what dbt reads (the lake views of both engines, the lake layout):
#: a change to it is a change to every model's input, so it is in the fingerprint.
VIEW_CODE = (
    "lake.py",
    "lake_store.py",
    "dbt_lake.py",
    "warehouse.py",
    "spark_engine.py",
    "identity.py",
)


def project_fingerprint(registry: Registry, paths: Paths, project: Path) -> str:
    """sha256 of the engine, the lake root, the versions of dbt and its adapters, the
    Python that makes the lake views (:data:`VIEW_CODE`), the dbt project a build runs (the
    checkout's files behind the workspace's links and its generated files) and the
    registry's YAML files. Any change there is a full build: the kept tables were built by
    the old inputs."""
    from importlib import metadata

    from orchestration.dbt_prepare import NOT_LINKED

    digest = hashlib.sha256(f"engine={spark_engine.engine()}\0".encode())
    digest.update(f"lake={paths.lake_location}\0".encode())
    for package in ("dbt-core", "dbt-duckdb", "dbt-spark", "duckdb", "pyspark"):
        try:
            digest.update(f"{package}={metadata.version(package)}\0".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{package}=-\0".encode())
    here_dir = Path(__file__).parent
    for name in VIEW_CODE:
        digest.update(
            name.encode() + b"\0" + hashlib.sha256((here_dir / name).read_bytes()).digest()
        )
    files: list[tuple[str, Path]] = []
    for root, dirs, names in os.walk(project, followlinks=True):
        here = Path(root)
        if here == project:
            dirs[:] = [d for d in dirs if d == "generated" or d not in NOT_LINKED]
            names = [n for n in names if n not in NOT_LINKED]
        dirs.sort()
        files += [(f"dbt/{(here / n).relative_to(project).as_posix()}", here / n) for n in names]
    folder = Path(registry.folder)
    files += [(f"registry/{p.name}", p) for p in folder.glob("*.y*ml") if p.is_file()]
    for name, path in sorted(files):
        digest.update(name.encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _count_results(paths: Paths) -> tuple[int, int]:
    results = paths.home / "dbt" / "target" / "run_results.json"
    if not results.exists():
        return 0, 0
    data = json.loads(results.read_text())
    built = sum(
        1
        for r in data.get("results", [])
        if r.get("unique_id", "").startswith("model.") and r.get("status") == "success"
    )
    failed = sum(
        1
        for r in data.get("results", [])
        if r.get("unique_id", "").startswith("test.") and r.get("status") in ("fail", "error")
    )
    return built, failed
