"""How dbt nodes become Dagster assets: one override, ``get_asset_spec``.

- A dbt source maps to the ingest asset named in its ``meta.dagster.asset_key``
  (``[raw, <source>, <entity>]``, written by ``orchestration/dbt_prepare.py``), so the dbt
  graph hangs off the raw assets and lineage is one graph.
- A model's group is its whole-child domain when it has one (``meta.wholechild.domain``,
  which the generated staging models carry, or a domain-named folder such as
  ``marts/attendance/``), else its layer folder (``staging``/``intermediate``/``marts``).
- Models and seeds rebuild by the preset ``eager() & all_deps_blocking_checks_passed()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject

from orchestration import automation
from schemas import DOMAINS


def _meta(props: Mapping[str, Any]) -> Mapping[str, Any]:
    """A node's meta; dbt 1.10+ keeps it under ``config.meta`` (older: top-level ``meta``)."""
    return (props.get("config") or {}).get("meta") or props.get("meta") or {}


def asset_key_from_meta(props: Mapping[str, Any]) -> dg.AssetKey | None:
    key = (_meta(props).get("dagster") or {}).get("asset_key")
    return dg.AssetKey(list(key)) if key else None


def group_for(props: Mapping[str, Any]) -> str:
    meta = _meta(props)
    explicit = (meta.get("dagster") or {}).get("group")
    if explicit:
        return str(explicit)
    domain = (meta.get("wholechild") or {}).get("domain")
    if domain in DOMAINS:
        return str(domain)
    fqn = list(props.get("fqn") or [])
    folders = fqn[1:-1]  # fqn = [package, *folders, name]
    for folder in reversed(folders):
        if folder in DOMAINS:
            return folder
    if folders:
        return folders[0]
    return f"{props.get('resource_type', 'dbt')}s"


class WholechildDbtTranslator(DagsterDbtTranslator):
    def __init__(self, settings: DagsterDbtTranslatorSettings | None = None):
        super().__init__(settings or DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            key = asset_key_from_meta(props)
            return spec.replace_attributes(key=key) if key is not None else spec
        return spec.replace_attributes(
            group_name=group_for(props),
            automation_condition=automation.DBT_MODELS(),
        )
