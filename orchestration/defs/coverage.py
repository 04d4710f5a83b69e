"""Interoperability coverage in the asset graph: which whole-child domains are connected.

Every one of the eleven domains (``schemas.DOMAINS``) is an asset group. A domain no
registered source feeds gets a visibly unconnected placeholder,
``coverage/unconnected/<domain>``, whose description says which YAML would connect it.
``coverage/registry`` shows the registry itself: the sources loaded and every file that
could not be (a bad YAML never takes the other sources down, but must not go unseen).
"""

from __future__ import annotations

import logging

import dagster as dg

from schemas import DOMAINS, ENTITIES
from wholechild.registry import Registry

log = logging.getLogger(__name__)

REGISTRY_KEY = dg.AssetKey(["coverage", "registry"])
REGISTRY_GROUP = "registry"


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


def build_defs(registry: Registry, problems: list[str] | None = None) -> dg.Definitions:
    """Placeholders for unconnected domains and the registry-status asset.

    ``problems`` are other load problems to surface (e.g. the dbt project failed to parse).
    """
    problems = list(problems or [])
    for err in registry.errors:
        log.warning("source skipped: %s", err)
    connected = connected_domains(registry)
    specs = [unconnected_spec(d, registry) for d in DOMAINS if d not in connected]
    specs.append(registry_spec(registry, problems))
    return dg.Definitions(assets=specs)
