"""Contract checks on every raw asset, judging the published state.

Per ``raw/<source>/<entity>``:

- ``<entity>_keys_are_unique`` (blocking): the key identifies one current row;
- ``<entity>_rows_meet_contract`` (blocking): current rows pass the Pandera contract;
- ``latest_delivery_accepted`` (WARN, not blocking): the newest delivery was published.
  A rejected delivery keeps the old data, so it must warn without freezing the marts.

The three run in one step per raw asset (they read the same rows); the predicates are in
``rules.py``.
"""

from collections.abc import Iterator

import dagster as dg

from orchestration import runtime
from schemas import ENTITIES
from wholechild import lake
from wholechild.registry import Source

from . import rules
from .assets import raw_asset_key

LATEST_DELIVERY_ACCEPTED = "latest_delivery_accepted"


def keys_are_unique_name(entity: str) -> str:
    return f"{entity}_keys_are_unique"


def rows_meet_contract_name(entity: str) -> str:
    return f"{entity}_rows_meet_contract"


def check_specs(source: Source, entity: str) -> list[dg.AssetCheckSpec]:
    key = raw_asset_key(source.name, entity)
    spec = ENTITIES[entity]
    return [
        dg.AssetCheckSpec(
            keys_are_unique_name(entity),
            asset=key,
            blocking=True,
            description=f"The key ({', '.join(spec.key)}) identifies one current row "
            f"of {source.name}'s {entity} data.",
        ),
        dg.AssetCheckSpec(
            rows_meet_contract_name(entity),
            asset=key,
            blocking=True,
            description=f"Every current row passes the {entity} contract (schemas/{entity}.py).",
        ),
        dg.AssetCheckSpec(
            LATEST_DELIVERY_ACCEPTED,
            asset=key,
            blocking=False,
            description="The newest delivery was published. When it was rejected the "
            "previous good rows stay current: a warning, not a stop.",
        ),
    ]


def _result(
    key: dg.AssetKey, name: str, verdict: rules.Verdict, severity: dg.AssetCheckSeverity
) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=name,
        passed=verdict.passed,
        severity=severity,
        description=verdict.description,
        metadata=verdict.metadata,
    )


def evaluate_checks(
    source: Source, entity: str, paths, names: set[str]
) -> Iterator[tuple[str, rules.Verdict, dg.AssetCheckSeverity]]:
    """The named checks of one raw asset against the published state.

    Shared by the check op and by ``orchestration.record`` (which records what
    ``wholechild run`` did), so a check means the same wherever it is evaluated.
    """
    if names & {keys_are_unique_name(entity), rows_meet_contract_name(entity)}:
        rows = lake.current_rows(paths, source.name, entity, rules.mode_for(source, entity))
        if keys_are_unique_name(entity) in names:
            yield (
                keys_are_unique_name(entity),
                rules.keys_are_unique(rows, ENTITIES[entity].key),
                dg.AssetCheckSeverity.ERROR,
            )
        if rows_meet_contract_name(entity) in names:
            yield (
                rows_meet_contract_name(entity),
                rules.rows_meet_contract(rows, entity),
                dg.AssetCheckSeverity.ERROR,
            )
    if LATEST_DELIVERY_ACCEPTED in names:
        ledger = lake.read_ledger(paths, source.name)
        yield (
            LATEST_DELIVERY_ACCEPTED,
            rules.latest_delivery_accepted(ledger, source, entity),
            dg.AssetCheckSeverity.WARN,
        )


def all_check_names(entity: str) -> set[str]:
    return {keys_are_unique_name(entity), rows_meet_contract_name(entity), LATEST_DELIVERY_ACCEPTED}


def build_source_checks(source: Source, entity: str) -> dg.AssetChecksDefinition:
    key = raw_asset_key(source.name, entity)

    @dg.multi_asset_check(
        specs=check_specs(source, entity),
        name=f"check_{source.name}__{entity}",
        can_subset=True,
    )
    def _checks(context: dg.AssetCheckExecutionContext):
        selected = {k.name for k in context.selected_asset_check_keys}
        current = runtime.registry().sources.get(source.name, source)
        for name, verdict, severity in evaluate_checks(current, entity, runtime.paths(), selected):
            yield _result(key, name, verdict, severity)

    return _checks
