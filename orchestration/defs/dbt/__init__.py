"""The dbt project (staging, intermediate, marts) as Dagster assets."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from wholechild.registry import Registry

from .assets import build_dbt_assets
from .project import prepared_project
from .resources import dbt_resource


def build_defs(registry: Registry, project_dir: str | Path | None = None) -> dg.Definitions:
    project = prepared_project(registry, project_dir)
    return dg.Definitions(
        assets=[build_dbt_assets(project)],
        resources={"dbt": dbt_resource(project)},
    )
