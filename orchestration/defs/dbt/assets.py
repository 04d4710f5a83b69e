"""The dbt project as assets: staging -> intermediate -> marts over the raw assets.

``dbt build`` is the one writer of warehouse.duckdb: its op is in the concurrency pool
``warehouse`` (limit 1, see orchestration/dagster.yaml) and also holds
``wholechild.warehouse.warehouse_lock`` (an OS file lock the CLI takes too, and which
in-process runs, which take no pool slot, still respect). Under that one lock it
computes the student keys, refreshes the views over the lake, builds, and copies the
analyst share.
"""

import os

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from orchestration import runtime
from wholechild import transform, warehouse

from .translator import WholechildDbtTranslator

POOL = "warehouse"


def target_path(paths) -> os.PathLike:
    """dbt's run artifacts live under WHOLECHILD_HOME (shared with ``wholechild run``)."""
    return paths.home / "dbt" / "target"


def build_dbt_assets(project: DbtProject) -> dg.AssetsDefinition:
    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        name="wholechild_dbt",
        dagster_dbt_translator=WholechildDbtTranslator(),
        pool=POOL,
        op_tags={"wholechild/writes": "warehouse.duckdb"},
    )
    def wholechild_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        registry = runtime.registry()
        paths = runtime.paths()
        # profiles.yml reads the warehouse path from WHOLECHILD_HOME; the dbt subprocess
        # inherits this process's environment.
        os.environ["WHOLECHILD_HOME"] = str(paths.home)
        # The same steps as `wholechild run` (wholechild.transform.build), around
        # dagster-dbt's invocation so each model is its own materialization.
        with warehouse.warehouse_lock(paths):
            # This build is not recorded for `wholechild run`'s delta selection, and may
            # fail halfway: the next CLI build is a full one.
            transform.forget_build(paths)
            transform.before_build(registry, paths)
            # Like every production build, unit tests are left to CI (transform.PRODUCTION).
            yield from dbt.cli(
                ["build", *transform.PRODUCTION], context=context, target_path=target_path(paths)
            ).stream()
            transform.after_build(paths)

    return wholechild_dbt
