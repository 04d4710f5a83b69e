"""Freshness of every raw asset against its source's cadence, as Dagster freshness checks.

A source promises a delivery per ``cadence:`` (daily, weekly, monthly, term, yearly); the
window of each cadence is the dbt var ``wholechild:coverage:freshness_days`` (read by
``wholechild.coverage.freshness_days``), so the checks and the coverage mart judge by the
same numbers. One ``build_last_update_freshness_checks`` per window covers every raw
asset of that window (check name ``freshness_check``, WARN: a late source never blocks
the marts, the coverage mart turns its domain ``stale``), and one sensor,
``wholechild_freshness_sensor``, runs them whenever one could have turned overdue.

The last update a check judges is the raw asset's ``dagster/last_updated_timestamp``
metadata: the arrival of the newest *published* delivery (``assets.EntityRun``), so a
rejected delivery, which publishes nothing, does not make a source fresh.

Dagster 1.13 marks these factories "superseded" by ``FreshnessPolicy`` on the asset spec.
We keep the checks because a FreshnessPolicy needs the freshness daemon enabled in the
instance and judges by the materialization's own time (a rejected delivery would count),
while checks are visible and runnable per asset, honour the metadata above, and run in
tests without a daemon.
"""

from __future__ import annotations

import datetime as dt
import warnings

import dagster as dg

from wholechild import coverage
from wholechild.registry import Registry

from .assets import raw_asset_key

FRESHNESS_SENSOR = "wholechild_freshness_sensor"
FRESHNESS_CHECK = "freshness_check"  # the name Dagster's factory gives each check
#: The checks can only turn overdue at day granularity: look hourly.
SENSOR_INTERVAL_SECONDS = 3600


def keys_by_window(registry: Registry, windows: dict[str, int]) -> dict[int, list[dg.AssetKey]]:
    """Freshness window in days -> the raw assets of the sources with that cadence."""
    out: dict[int, list[dg.AssetKey]] = {}
    for name in sorted(registry.sources):
        src = registry.sources[name]
        days = windows.get(src.cadence, coverage.DEFAULT_FRESHNESS_DAYS[src.cadence])
        out.setdefault(days, []).extend(raw_asset_key(name, e) for e in src.entities)
    return {days: keys for days, keys in sorted(out.items()) if keys}


def build_freshness_checks(
    registry: Registry, windows: dict[str, int] | None = None
) -> list[dg.AssetChecksDefinition]:
    windows = windows or coverage.freshness_days()
    checks: list[dg.AssetChecksDefinition] = []
    with warnings.catch_warnings():
        # Superseded, not deprecated: see the module docstring for why we keep them.
        warnings.simplefilter("ignore", category=dg.SupersessionWarning)
        for days, keys in keys_by_window(registry, windows).items():
            checks.extend(
                dg.build_last_update_freshness_checks(
                    assets=keys, lower_bound_delta=dt.timedelta(days=days)
                )
            )
    return checks


def build_freshness_sensor(
    checks: list[dg.AssetChecksDefinition],
) -> dg.SensorDefinition | None:
    if not checks:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=dg.SupersessionWarning)
        return dg.build_sensor_for_freshness_checks(
            freshness_checks=checks,
            name=FRESHNESS_SENSOR,
            minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
            default_status=dg.DefaultSensorStatus.RUNNING,
        )
