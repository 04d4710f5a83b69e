"""Raw assets from the registry: ``raw/<source>/<entity>`` for every entity a source feeds.

One ``@multi_asset`` per source (subsettable): its op runs the source's deliveries through
``wholechild.pipeline.process_delivery`` (write-audit-publish; idempotent by content hash,
one delivery of a source at a time) and records one materialization per entity touched,
with what the delivery did. A rejected delivery is recorded too: it published nothing, so
the previous good rows stay current, the blocking checks pass on them and the WARN check
``latest_delivery_accepted`` says what happened.

(No ``from __future__ import annotations`` in the modules that define ops: Dagster reads
the op's ``config`` annotation at definition time and cannot resolve a string.)
"""

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from pydantic import Field

from orchestration import runtime
from schemas import ENTITIES
from wholechild import coverage, landing, pipeline
from wholechild.pipeline import DeliveryOutcome
from wholechild.registry import Source

from .rules import mode_for

TAG_VALUE = re.compile(r"[^A-Za-z0-9_.-]")


class DeliveryConfig(dg.Config):
    """Which delivery a run processes (the sensor names one; empty means all pending)."""

    delivery: str | None = Field(
        default=None,
        description="File (or OneRoster folder) name inside landing/<source landing>/; "
        "leave empty to process every complete delivery waiting there.",
    )
    sha256: str | None = Field(
        default=None, description="Content hash the sensor saw (for the run's logs)."
    )


def raw_asset_key(source: str, entity: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", source, entity])


def op_name(source: Source | str) -> str:
    return f"ingest_{getattr(source, 'name', source)}"


def _tag_value(value: str) -> str:
    return TAG_VALUE.sub("_", value)[:63]


def raw_asset_spec(source: Source, entity: str) -> dg.AssetSpec:
    spec = ENTITIES[entity]
    mode = mode_for(source, entity)
    lines = [
        f"`{entity}` rows published by **{source.system}** (source `{source.name}`).",
        spec.description,
    ]
    if source.description:
        lines.append(source.description)
    lines.append(
        f"Deliveries land in `landing/{source.landing}/`; each is checked against the "
        f"`{entity}` contract and published to `lake/raw/{source.name}/<delivery_id>/"
        f"{entity}.parquet` only if it passes ({mode}). Configured by "
        f"`{source.path.name}`."
    )
    return dg.AssetSpec(
        key=raw_asset_key(source.name, entity),
        group_name=spec.domain,
        owners=[source.steward],
        kinds={source.format, "parquet"},
        description="\n\n".join(lines),
        skippable=True,
        tags={
            "wholechild/source": _tag_value(source.name),
            "wholechild/entity": _tag_value(entity),
            "wholechild/source_yaml": _tag_value(source.path.name),
            "wholechild/cadence": _tag_value(source.cadence),
        },
        metadata={
            "source_yaml": dg.MetadataValue.path(str(source.path)),
            "system": source.system,
            "landing_folder": f"landing/{source.landing}/",
            "lake_files": f"lake/raw/{source.name}/*/{entity}.parquet",
            "key": ", ".join(spec.key),
            "mode": mode,
            "cadence": source.cadence,
            "declared_domains": ", ".join(source.domains),
        },
    )


@dataclass
class EntityRun:
    """What this run's deliveries did to one entity of the source."""

    entity: str
    rows_published: int = 0
    rows_quarantined: int = 0
    outcomes: list[DeliveryOutcome] = field(default_factory=list)
    #: arrival of the newest delivery that published rows of the entity: what the
    #: freshness checks judge (freshness.py), so a rejected delivery is not an update
    last_published_at: dt.datetime | None = None

    @property
    def last(self) -> DeliveryOutcome:
        return self.outcomes[-1]

    @property
    def only_duplicates(self) -> bool:
        return all(o.status == pipeline.DUPLICATE for o in self.outcomes)

    def metadata(self) -> dict:
        last = self.last
        meta: dict = {
            "rows_published": dg.MetadataValue.int(self.rows_published),
            "rows_quarantined": dg.MetadataValue.int(self.rows_quarantined),
            "deliveries": dg.MetadataValue.int(len(self.outcomes)),
            "last_delivery_file": last.file_name,
            "last_delivery_id": last.delivery_id,
            "last_delivery_status": last.status,
            "last_delivery_sha256": last.sha256,
        }
        if last.status == pipeline.REJECTED:
            meta["reject_reason"] = last.reason
        elif last.reason:
            meta["note"] = last.reason
        if last.report_path is not None:
            meta["report_path"] = dg.MetadataValue.path(str(last.report_path))
        if self.last_published_at is not None:
            meta["dagster/last_updated_timestamp"] = dg.MetadataValue.timestamp(
                self.last_published_at
            )
        return meta


def entity_counts(source: Source, outcome: DeliveryOutcome) -> dict[str, tuple[int, int]]:
    """entity -> (rows published, rows quarantined) for one delivery.

    A published delivery names its entities; a rejected or duplicate one publishes none,
    so it is attributed to the export its file name matches (every entity if none).
    """
    if outcome.entity_counts:
        return dict(outcome.entity_counts)
    export = source.export_for(outcome.file_name)
    entities = [export.entity] if export is not None else list(source.entities)
    return {e: (0, outcome.rows_quarantined) for e in entities}


def summarize_outcomes(source: Source, outcomes: list[DeliveryOutcome]) -> dict[str, EntityRun]:
    runs: dict[str, EntityRun] = {}
    for out in outcomes:
        for entity, (published, quarantined) in entity_counts(source, out).items():
            if entity not in source.entities:
                continue
            run = runs.setdefault(entity, EntityRun(entity))
            run.rows_published += published
            run.rows_quarantined += quarantined
            run.outcomes.append(out)
            if out.status in coverage.PUBLISHED_STATUSES and (
                run.last_published_at is None or out.received_at > run.last_published_at
            ):
                run.last_published_at = out.received_at
    return runs


def _deliveries_to_process(
    context: dg.AssetExecutionContext, registry, source: Source, config: DeliveryConfig, paths
) -> list[Path]:
    folder = paths.landing_for(source.landing)
    if config.delivery:
        name = config.delivery
        if Path(name).name != name or name in (".", ".."):
            raise dg.Failure(
                f"run config delivery '{name}' must be a file name inside {folder}, not a path."
            )
        path = folder / name
        gone = (
            f"{name} is no longer in {folder}: another run or `wholechild run` already "
            "filed it away; nothing to do."
        )
        if not path.exists():
            context.log.info(gone)
            return []
        # The sensor requests one run per file and the daemon may start them in any
        # order, so the deliveries of this source that apply before this one (an earlier
        # day; an Ed-Fi upserts file before the deletes file of its window) go first, as
        # `wholechild run` applies them; their own runs then find them filed away. The
        # order is the landing zone's own (a bundle folder by its newest file).
        pending = _pending_for_selection(context, registry, source, paths)
        named = next((f for f in pending if f.path == path), None)
        if named is None:
            try:
                named = landing.LandedFile(path, *landing.tree_signature(path))
            except FileNotFoundError:  # filed away by another run since the check above
                context.log.info(gone)
                return []
        earlier = [
            f.path
            for f in pending
            if f.path != path and landing.apply_order_key(f) < landing.apply_order_key(named)
        ]
        if earlier:
            context.log.info(
                f"{len(earlier)} earlier deliveries of {source.name} apply before {name}; "
                "loading them first: " + ", ".join(p.name for p in earlier)
            )
        return [*earlier, path]
    return [f.path for f in _pending_for_selection(context, registry, source, paths)]


def _pending_for_selection(
    context: dg.AssetExecutionContext, registry, source: Source, paths
) -> list[landing.LandedFile]:
    """Settled deliveries of ``source`` whose entity this run materializes, in apply order."""
    selected = {k.path[-1] for k in context.selected_asset_keys}
    everything = selected >= set(source.entities)
    todo = []
    for src, landed in pipeline.pending(registry, paths, [source.name]):
        export = src.export_for(landed.name)
        if everything or (export is not None and export.entity in selected):
            todo.append(landed)
    return todo


def build_source_assets(source: Source) -> dg.AssetsDefinition:
    specs = [raw_asset_spec(source, e) for e in source.entities]

    @dg.multi_asset(
        name=op_name(source),
        specs=specs,
        can_subset=True,
        description=(
            f"Load {source.system} deliveries from landing/{source.landing}/ "
            f"(write-audit-publish), configured by {source.path.name}."
        ),
        op_tags={"wholechild/source": _tag_value(source.name)},
    )
    def _ingest(context: dg.AssetExecutionContext, config: DeliveryConfig):
        registry = runtime.registry()
        current = registry.sources.get(source.name)
        if current is None:
            problems = [str(e) for e in registry.errors if e.file.name == source.path.name]
            raise dg.Failure(
                f"source '{source.name}' is no longer usable: "
                + (problems[0] if problems else f"{source.path.name} was removed.")
            )
        paths = runtime.paths()
        outcomes: list[DeliveryOutcome] = []
        for path in _deliveries_to_process(context, registry, current, config, paths):
            try:
                out = pipeline.process_delivery(current, path, paths)
            except FileNotFoundError:
                context.log.info(f"{path.name} was filed away by another process; skipped.")
                continue
            outcomes.append(out)
            line = (
                f"{current.name}/{out.file_name}: {out.status}, {out.rows_read} read, "
                f"{out.rows_published} published, {out.rows_quarantined} quarantined"
            )
            if out.status == pipeline.REJECTED:
                context.log.warning(f"{line}. {out.reason} Report: {out.report_path}")
            else:
                context.log.info(line + ".")
        if not outcomes:
            context.log.info(f"No pending delivery for {current.name}.")
        for entity, run in summarize_outcomes(current, outcomes).items():
            key = raw_asset_key(current.name, entity)
            if key not in context.selected_asset_keys:
                continue
            if run.last_published_at is None:  # only rejected: the last publish still counts
                run.last_published_at = coverage.last_published_at(paths, current, entity)
            if run.only_duplicates:
                # Nothing changed: record what arrived without triggering downstream.
                context.log_event(dg.AssetObservation(asset_key=key, metadata=run.metadata()))
                continue
            yield dg.MaterializeResult(asset_key=key, metadata=run.metadata())

    return _ingest
