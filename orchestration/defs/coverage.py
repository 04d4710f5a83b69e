"""Interoperability coverage in the asset graph: which whole-child domains are connected.

Every one of the eleven domains (``schemas.DOMAINS``) is an asset group. A domain no
registered source feeds gets a visibly unconnected placeholder,
``coverage/unconnected/<domain>``, whose description says which YAML would connect it.
``coverage/registry`` shows the registry itself: the sources loaded and every file that
could not be (a bad YAML never takes the other sources down, but must not go unseen).
``coverage/interoperability``, downstream of every raw asset and placeholder, recomputes
the coverage table (domain, connected, sources, rows, reject rate, match rate, freshness,
contract) in Python from the registry, the lake ledger and, once built, the match-rate
mart (``wholechild.coverage``; read-only, never the warehouse lock), and shows it as
Markdown on its materialization; ``marts.mart_interoperability_coverage`` is the same
table in the warehouse.
"""

import logging

import dagster as dg

from orchestration import automation, runtime
from schemas import DOMAINS, ENTITIES
from wholechild import coverage
from wholechild.registry import Registry

log = logging.getLogger(__name__)

REGISTRY_KEY = dg.AssetKey(["coverage", "registry"])
REGISTRY_GROUP = "registry"
INTEROPERABILITY_KEY = dg.AssetKey(["coverage", "interoperability"])
COVERAGE_GROUP = "coverage"
#: The ingest's bookkeeping views (wholechild.warehouse), dbt sources of the coverage marts.
LEDGER_KEY = dg.AssetKey(["ops", "load_ledger"])
QUARANTINE_KEY = dg.AssetKey(["quarantine", "rejected_rows"])
#: dbt models the coverage asset reads when they are built (match rates) or that show
#: the same table, so lineage joins up when the dbt project is loaded.
MART_KEYS = (
    dg.AssetKey(["marts", "mart_source_match_rates"]),
    dg.AssetKey(["marts", "mart_interoperability_coverage"]),
)


def unconnected_key(domain: str) -> dg.AssetKey:
    return dg.AssetKey(["coverage", "unconnected", domain])


def connected_domains(registry: Registry) -> set[str]:
    """Domains with at least one raw asset: some source publishes one of its entities."""
    return {ENTITIES[e].domain for s in registry.sources.values() for e in s.entities}


def unconnected_spec(domain: str, registry: Registry) -> dg.AssetSpec:
    entities = sorted(e for e, spec in ENTITIES.items() if spec.domain == domain)
    declared = sorted(s.name for s in registry.sources.values() if domain in s.domains)
    example = entities[0] if entities else "<entity>"
    lines = [
        f"**Not connected**: no registered source feeds the `{domain}` domain, so the "
        f"whole-child profile has no {domain} data.",
        f"Canonical entities of this domain: {', '.join(f'`{e}`' for e in entities) or 'none'}.",
        f"To connect it, add one YAML file to `{registry.folder}`, e.g. `<system>.yml` with "
        f"`entity: {example}` and `domains: [{domain}]` (or scaffold one: "
        f"`wholechild add-source <system> --sample <export.csv> --entity {example}`).",
    ]
    if declared:
        lines.append(
            f"Declared by {', '.join(declared)}, but none of them publishes an entity of "
            "this domain yet."
        )
    return dg.AssetSpec(
        key=unconnected_key(domain),
        group_name=domain,
        description="\n\n".join(lines),
        kinds={"coverage"},
        tags={"wholechild/coverage": "unconnected"},
        metadata={
            "is_connected": False,
            "domain": domain,
            "entities": ", ".join(entities),
            "sources_folder": dg.MetadataValue.path(str(registry.folder)),
        },
    )


def registry_spec(registry: Registry, problems: list[str]) -> dg.AssetSpec:
    usable = sorted(registry.sources)
    no_entity = sorted(n for n, s in registry.sources.items() if not s.entities)
    lines = [
        f"The source registry in `{registry.folder}`: {len(usable)} source(s) loaded"
        + (f" ({', '.join(usable)})" if usable else "")
        + f", {len(registry.errors)} file(s) skipped."
    ]
    lines += [f"- skipped: {err}" for err in registry.errors]
    lines += [
        f"- {name}: format {registry.sources[name].format} publishes no entity yet (no assets)"
        for name in no_entity
    ]
    lines += [f"- {p}" for p in problems]
    metadata: dict = {
        "sources_folder": dg.MetadataValue.path(str(registry.folder)),
        "sources_loaded": dg.MetadataValue.int(len(usable)),
        "sources": ", ".join(usable),
        "files_skipped": dg.MetadataValue.int(len(registry.errors)),
    }
    for err in registry.errors:
        metadata[f"error: {err.file.name}"] = str(err)
    for i, problem in enumerate(problems, 1):
        metadata[f"problem {i}"] = problem
    return dg.AssetSpec(
        key=REGISTRY_KEY,
        group_name=REGISTRY_GROUP,
        description="\n".join(lines),
        kinds={"yaml"},
        metadata=metadata,
    )


def raw_keys(registry: Registry) -> list[dg.AssetKey]:
    return [
        dg.AssetKey(["raw", name, entity])
        for name in sorted(registry.sources)
        for entity in registry.sources[name].entities
    ]


def bookkeeping_specs(upstream: list[dg.AssetKey]) -> list[dg.AssetSpec]:
    """The ledger and quarantine views as assets fed by every raw asset (each delivery
    writes its ledger row and quarantined rows beside its data), so the coverage marts'
    lineage starts at the deliveries."""
    common = {"group_name": COVERAGE_GROUP, "deps": upstream, "kinds": {"parquet", "duckdb"}}
    return [
        dg.AssetSpec(
            key=LEDGER_KEY,
            description="ops.load_ledger: one row per delivery (rows read = published + "
            "quarantined; status published, published_with_quarantine, rejected or "
            "duplicate), a view over every lake/raw/<source>/<delivery_id>/_ledger.parquet.",
            **common,
        ),
        dg.AssetSpec(
            key=QUARANTINE_KEY,
            description="quarantine.rejected_rows: every quarantined row with its rule, row "
            "number and raw record, a view over every _quarantine.parquet of the lake.",
            **common,
        ),
    ]


def coverage_metadata(rows: list[coverage.DomainCoverage], match_rates_read: bool) -> dict:
    """What the coverage asset records: the table as Markdown plus counts to chart."""
    connected = [r.domain for r in rows if r.is_connected]
    return {
        "coverage": dg.MetadataValue.md(coverage.markdown_table(rows)),
        "domains": dg.MetadataValue.int(len(rows)),
        "domains_connected": dg.MetadataValue.int(len(connected)),
        "domains_fresh": dg.MetadataValue.int(
            sum(r.freshness_status == coverage.FRESH for r in rows)
        ),
        "unconnected_domains": ", ".join(r.domain for r in rows if not r.is_connected) or "none",
        "stale_domains": ", ".join(r.domain for r in rows if r.freshness_status == coverage.STALE)
        or "none",
        "contract_failed_domains": ", ".join(
            r.domain for r in rows if r.contract_status == coverage.FAILED
        )
        or "none",
        "match_rates": "marts.mart_source_match_rates"
        if match_rates_read
        else "not built yet (run the dbt models)",
    }


def interoperability_asset(registry: Registry, upstream: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        key=INTEROPERABILITY_KEY,
        deps=upstream,
        group_name=COVERAGE_GROUP,
        kinds={"python"},
        automation_condition=automation.COVERAGE(),
        description=(
            "Which parts of the whole child the district can see: one line per domain "
            "(all eleven) with whether it is connected, its sources, rows published and "
            "quarantined, reject rate, student match rate, last load, freshness against "
            "each source's cadence and the contract status of the latest delivery "
            "(METRICS.md, 'Interoperability coverage'). Computed from the registry and "
            "the lake ledger; match rates from marts.mart_source_match_rates once built. "
            "The table is in the materialization's `coverage` metadata; the same table "
            "is marts.mart_interoperability_coverage."
        ),
        tags={"wholechild/coverage": "table"},
    )
    def interoperability() -> dg.MaterializeResult:
        paths, current = runtime.paths(), runtime.registry()
        rates = coverage.match_rates(paths)
        rows = coverage.domain_coverage(current, paths, rates=rates)
        return dg.MaterializeResult(metadata=coverage_metadata(rows, rates is not None))

    return interoperability


def build_defs(
    registry: Registry,
    problems: list[str] | None = None,
    extra_deps: list[dg.AssetKey] | None = None,
) -> dg.Definitions:
    """Placeholders for unconnected domains, the registry-status asset and the coverage
    asset (downstream of every raw asset, placeholder and ``extra_deps``).

    ``problems`` are other load problems to surface (e.g. the dbt project failed to parse).
    """
    problems = list(problems or [])
    for err in registry.errors:
        log.warning("source skipped: %s", err)
    connected = connected_domains(registry)
    specs = [unconnected_spec(d, registry) for d in DOMAINS if d not in connected]
    upstream = raw_keys(registry) + [s.key for s in specs] + list(extra_deps or [])
    assets: list = [*specs, registry_spec(registry, problems)]
    assets += bookkeeping_specs(raw_keys(registry))
    assets.append(interoperability_asset(registry, upstream))
    return dg.Definitions(assets=assets)
