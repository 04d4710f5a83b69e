"""The dbt CLI resource: the venv's ``dbt`` (an unactivated ``.venv/bin/wholechild`` works)."""

from __future__ import annotations

from dagster_dbt import DbtCliResource, DbtProject

from wholechild.transform import dbt_executable


def dbt_resource(project: DbtProject) -> DbtCliResource:
    return DbtCliResource(project_dir=project, dbt_executable=dbt_executable())
