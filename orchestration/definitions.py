"""The wholechild code location: ``defs`` (``[tool.dagster] module_name``).

Built lazily from the source registry when the location loads (``@dg.definitions``),
never at import time:

- ``defs/sources``: raw assets, contract checks and a landing sensor per source;
- ``defs/identity.py``: the pseudonymous student keys (``pii/student_keys``);
- ``defs/dbt``: the dbt project, its sources joined to the raw assets;
- ``defs/report.py``: the HTML equity and readiness report,
  ``reports/equity_readiness_report``, downstream of the marts it reads (with dbt only);
- ``defs/coverage.py``: the eleven whole-child domains, unconnected ones made visible,
  the registry's own status (a bad YAML is shown there, never fatal) and the coverage
  table, ``coverage/interoperability``, downstream of every raw asset;
- one automation sensor evaluating the presets of ``automation.py``.

Call ``build_defs()`` for a ``Definitions`` object (tests, the CLI); ``defs()`` does the
same with the environment's registry and dbt project.
"""

from __future__ import annotations

import logging
from pathlib import Path

import dagster as dg

from orchestration.defs import coverage, identity, report, sources
from wholechild.registry import Registry, load_registry

log = logging.getLogger(__name__)

AUTOMATION_SENSOR = "wholechild_automation_sensor"


def automation_sensor() -> dg.AutomationConditionSensorDefinition:
    return dg.AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR,
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
        description="Rebuilds dbt models whose upstream assets updated and passed their "
        "blocking checks (orchestration/automation.py).",
    )


def _dbt_defs(registry: Registry, project_dir: str | Path | None) -> tuple[dg.Definitions, str]:
    """The dbt assets, or nothing and one sentence why (ingestion still loads)."""
    from orchestration.defs import dbt

    try:
        return dbt.build_defs(registry, project_dir), ""
    except Exception as exc:  # noqa: BLE001 - surfaced on coverage/registry, not fatal
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        problem = f"dbt project not loaded ({type(exc).__name__}): {first}"
        log.error(problem)
        return dg.Definitions(), problem


def build_defs(
    registry: Registry | None = None,
    *,
    include_dbt: bool = True,
    dbt_project_dir: str | Path | None = None,
) -> dg.Definitions:
    registry = registry if registry is not None else load_registry()
    problems: list[str] = []
    parts = [sources.build_defs(registry), identity.build_defs(registry)]
    mart_deps: list[dg.AssetKey] = []
    if include_dbt:
        dbt_defs, problem = _dbt_defs(registry, dbt_project_dir)
        parts.append(dbt_defs)
        if problem:
            problems.append(problem)
        dbt_keys = {k for a in dbt_defs.assets or [] for k in getattr(a, "keys", ())}
        mart_deps = [k for k in coverage.MART_KEYS if k in dbt_keys]
        # The HTML report, downstream of the marts it reads that the project defines.
        parts.append(report.build_defs(dbt_keys))
    parts.append(coverage.build_defs(registry, problems, mart_deps))
    parts.append(dg.Definitions(sensors=[automation_sensor()]))
    return dg.Definitions.merge(*parts)


@dg.definitions
def defs() -> dg.Definitions:
    return build_defs()
