"""The dbt project and its manifest, built lazily (a cached factory, never at import time).

The manifest depends on the registry: ``orchestration.dbt_prepare.prepare`` writes the
generated dbt sources (one per source x entity) before any parse. ``manifest_for`` runs it,
then re-parses only when the manifest is missing or older than a project file, under a
file lock, so code-location loads and run workers that find it fresh do not parse again
(``prepare`` rewrites a file only when its content changes).

Tests prepare explicitly on a copy of the project (``prepared_project(..., project_dir)``).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from dagster_dbt import DbtProject
from filelock import FileLock

from wholechild import config
from wholechild.registry import Registry

#: Folders that do not feed the manifest (dbt's own output, installed packages).
SKIP_DIRS = {"target", "logs", "dbt_packages"}


@functools.cache
def dbt_project(project_dir: str | None = None) -> DbtProject:
    """The project object (cheap; reads dbt_project.yml). Cached per project folder."""
    folder = Path(project_dir) if project_dir else config.dbt_project_dir()
    return DbtProject(project_dir=folder, profiles_dir=folder)


def _newest_input(project_dir: Path) -> float:
    newest = 0.0
    # Follow links: a home's workspace links the checkout's models and macros.
    for root, dirs, files in os.walk(project_dir, followlinks=True):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.startswith(".")]
        for f in files:
            if f.endswith((".sql", ".yml", ".yaml", ".csv", ".md")):
                newest = max(newest, os.stat(os.path.join(root, f)).st_mtime)
    return newest


def manifest_is_fresh(project: DbtProject) -> bool:
    manifest = project.manifest_path
    return manifest.exists() and manifest.stat().st_mtime >= _newest_input(project.project_dir)


def parse(project: DbtProject) -> Path:
    """``dbt parse`` with the venv's dbt (the stock preparer calls a bare ``dbt``)."""
    from .resources import dbt_resource

    dbt_resource(project).cli(["parse", "--quiet"], target_path=project.target_path).wait()
    return project.manifest_path


def manifest_for(registry: Registry, project: DbtProject) -> Path:
    """Generate the registry's dbt files, then parse if the manifest is stale."""
    from orchestration.dbt_prepare import prepare

    changed = prepare(registry, project_dir=project.project_dir)
    if not changed and manifest_is_fresh(project):
        return project.manifest_path
    target = project.project_dir / project.target_path
    target.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target / ".wholechild-parse.lock")):
        if changed or not manifest_is_fresh(project):
            parse(project)
    return project.manifest_path


def prepared_project(registry: Registry, project_dir: str | Path | None = None) -> DbtProject:
    """The project with the registry's generated files and a fresh manifest.

    Default: the workspace of the current WHOLECHILD_HOME (``dbt_prepare.workspace``),
    the same project ``wholechild run`` builds; tests pass a copy of the checkout.
    """
    if project_dir is None:
        from orchestration.dbt_prepare import workspace

        project_dir = workspace(config.paths().ensure())
    project = dbt_project(str(project_dir))
    manifest_for(registry, project)
    return project
