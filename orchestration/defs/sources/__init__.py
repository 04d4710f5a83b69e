"""The registry's sources as Dagster assets, checks and landing sensors."""

from __future__ import annotations

import dagster as dg

from wholechild.registry import Registry

from .assets import build_source_assets
from .checks import build_source_checks
from .freshness import build_freshness_checks, build_freshness_sensor
from .sensors import build_landing_sensor


def build_defs(registry: Registry) -> dg.Definitions:
    """Assets, checks and a sensor for every usable source that publishes an entity,
    plus freshness checks by cadence and the sensor that runs them (freshness.py)."""
    assets, checks, sensors = [], [], []
    for name in sorted(registry.sources):
        source = registry.sources[name]
        if not source.entities:
            continue  # a standard format with no export yet: coverage.py reports it
        assets.append(build_source_assets(source))
        checks.extend(build_source_checks(source, e) for e in source.entities)
        sensors.append(build_landing_sensor(source))
    freshness = build_freshness_checks(registry)
    checks.extend(freshness)
    freshness_sensor = build_freshness_sensor(freshness)
    if freshness_sensor is not None:
        sensors.append(freshness_sensor)
    return dg.Definitions(assets=assets, asset_checks=checks, sensors=sensors)
