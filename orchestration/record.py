"""Record what ``wholechild run`` did in the Dagster instance, so the UI shows it.

The CLI processes deliveries and builds the models in-process with the same functions
the Dagster assets call; without this, ``dagster dev`` after ``make demo`` would show a
graph of never-materialized assets. Each raw asset a delivery touched gets a runless
materialization with the same metadata its op would emit and the same check
evaluations; each dbt model the build produced gets a materialization. Counts and file
names only: no record values reach Dagster's event log.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import dagster as dg

from orchestration import runtime
from orchestration.defs.sources.assets import raw_asset_key, summarize_outcomes
from orchestration.defs.sources.checks import all_check_names, evaluate_checks
from wholechild.config import Paths
from wholechild.pipeline import DeliveryOutcome
from wholechild.registry import Registry


def instance_for(paths: Paths) -> dg.DagsterInstance:
    """The instance ``make dagster`` opens: ``$WHOLECHILD_HOME/dagster``."""
    return dg.DagsterInstance.from_config(str(runtime.ensure_dagster_home(paths)))


def record_deliveries(
    instance: dg.DagsterInstance,
    registry: Registry,
    paths: Paths,
    outcomes: Iterable[DeliveryOutcome],
) -> int:
    """Materializations and check evaluations for every raw asset the outcomes touched."""
    by_source: dict[str, list[DeliveryOutcome]] = {}
    for out in outcomes:
        by_source.setdefault(out.source, []).append(out)
    events = 0
    for name, outs in by_source.items():
        source = registry.sources.get(name)
        if source is None:
            continue
        for entity, run in summarize_outcomes(source, outs).items():
            key = raw_asset_key(name, entity)
            if not run.only_duplicates:
                instance.report_runless_asset_event(
                    dg.AssetMaterialization(
                        asset_key=key,
                        description="Recorded from `wholechild run`.",
                        metadata={**run.metadata(), "recorded_by": "wholechild run"},
                    )
                )
                events += 1
            for check, verdict, severity in evaluate_checks(
                source, entity, paths, all_check_names(entity)
            ):
                instance.report_runless_asset_event(
                    dg.AssetCheckEvaluation(
                        asset_key=key,
                        check_name=check,
                        passed=verdict.passed,
                        severity=severity,
                        description=verdict.description,
                        metadata=verdict.metadata,
                    )
                )
                events += 1
    return events


def record_dbt_build(instance: dg.DagsterInstance, target_dir: Path) -> int:
    """A materialization per model the last ``dbt build`` in ``target_dir`` built."""
    from orchestration.defs.dbt.translator import WholechildDbtTranslator

    results_file, manifest_file = target_dir / "run_results.json", target_dir / "manifest.json"
    if not (results_file.exists() and manifest_file.exists()):
        return 0
    manifest = json.loads(manifest_file.read_text())
    results = json.loads(results_file.read_text()).get("results", [])
    translator = WholechildDbtTranslator()
    events = 0
    for result in results:
        uid = result.get("unique_id", "")
        if not uid.startswith(("model.", "seed.")) or result.get("status") != "success":
            continue
        key = translator.get_asset_spec(manifest, uid, None).key
        instance.report_runless_asset_event(
            dg.AssetMaterialization(
                asset_key=key,
                description="Built by `wholechild run` (dbt build).",
                metadata={
                    "dbt_unique_id": uid,
                    "execution_time_s": float(result.get("execution_time") or 0.0),
                    "rows_affected": (result.get("adapter_response") or {}).get(
                        "rows_affected", -1
                    ),
                },
            )
        )
        events += 1
    return events
