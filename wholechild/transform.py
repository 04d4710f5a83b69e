"""Run the dbt project against the warehouse, as the one writer.

The CLI calls this; the Dagster dbt assets do the same three steps through dagster-dbt:
generate the registry-driven dbt files, refresh the lake views, then ``dbt build`` while
holding the warehouse lock.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from wholechild import identity, share, warehouse
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
    env = dict(os.environ)
    env["WHOLECHILD_HOME"] = str(paths.home)
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


def before_build(registry: Registry, paths: Paths) -> None:
    """Student keys and the lake views dbt reads. The caller holds the warehouse lock."""
    identity.build_student_keys(registry, paths)
    con = warehouse.connect_writer(paths)
    try:
        warehouse.sync_views(con, registry, paths)
    finally:
        con.close()


def after_build(paths: Paths) -> None:
    """The analyst share of a successful build. The caller holds the warehouse lock."""
    con = warehouse.connect_writer(paths)
    try:
        share.export_share(con, paths)
    finally:
        con.close()


def build(registry: Registry, paths: Paths, select: str | None = None) -> DbtResult:
    """Keys, views, ``dbt build`` and the analyst share, all under the warehouse lock.

    The Dagster dbt assets run the same three steps around dagster-dbt's own invocation.
    """
    from orchestration.dbt_prepare import prepare, workspace

    paths.ensure()
    prepare(registry, workspace(paths))
    with warehouse.warehouse_lock(paths):
        before_build(registry, paths)
        args = ["build", "--quiet"] if select is None else ["build", "--quiet", "--select", select]
        proc = run_dbt(args, paths)
        if proc.returncode == 0:
            after_build(paths)
    out = (proc.stdout or "") + (proc.stderr or "")
    built, failed = _count_results(paths)
    return DbtResult(
        ok=proc.returncode == 0,
        command=args,
        output=out,
        models_built=built,
        tests_failed=failed,
    )


def _count_results(paths: Paths) -> tuple[int, int]:
    import json

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
