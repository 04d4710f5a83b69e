"""Interoperability coverage in Python: which whole-child domains the district can see.

The same rules as the dbt mart ``marts.mart_interoperability_coverage`` (METRICS.md,
"Interoperability coverage"), computed from the registry and the lake ledger alone, so
the Dagster asset ``coverage/interoperability`` and ``wholechild sources`` can say it
without the warehouse (and without its lock). Where the warehouse has built the marts,
match rates are read from the analyst share (``share/<mart>.parquet``: lock-free) or,
failing that, from the warehouse opened read-only; a missing or busy warehouse only
leaves the match rates empty, it never fails.

Rules (each mirrored in ``dbt_project/models/intermediate/coverage``):

- A ledger row concerns the entities it lists in ``entities``; a row listing none (an
  unknown file, an old ledger) concerns every entity of its source. Duplicates count
  for nothing.
- A source x entity is *published* when one of its deliveries was published (with or
  without quarantined rows); a domain is *connected* when one of its entities is.
- Freshness of a source x entity: ``never`` without a published delivery, ``stale`` when
  its newest published delivery arrived more than its cadence window before ``as_of``
  (windows: dbt var ``wholechild:coverage:freshness_days``), else ``fresh``. A domain is
  ``never`` when not connected, ``stale`` when one of its published source x entities is
  stale, else ``fresh``.
- Contract status of a source x entity: ``failed`` when its latest non-duplicate delivery
  was rejected, ``never`` without one, else ``passed``; a domain has ``failed`` when any
  of its source x entities has.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from schemas import DOMAINS, ENTITIES
from wholechild import config, lake, lake_store
from wholechild.config import Paths
from wholechild.registry import Registry, Source

#: Cadence -> days a source may go without a published delivery (PRODUCT.md, `cadence`).
#: The defaults of the dbt var ``wholechild:coverage:freshness_days`` (dbt_project.yml),
#: which is the one place a district changes them; Python reads the var from there.
DEFAULT_FRESHNESS_DAYS: dict[str, int] = {
    "daily": 1,
    "weekly": 7,
    "monthly": 31,
    "term": 120,
    "yearly": 366,
}
FRESHNESS_VAR = "wholechild:coverage:freshness_days"

PUBLISHED_STATUSES = ("published", "published_with_quarantine")
REJECTED = "rejected"
DUPLICATE = "duplicate"

FRESH, STALE, NEVER = "fresh", "stale", "never"
PASSED, FAILED = "passed", "failed"

#: The mart Python reads match rates from (no ids: it is in the analyst share).
MATCH_RATES_MART = "mart_source_match_rates"


def freshness_days(project_dir: Path | None = None) -> dict[str, int]:
    """Cadence -> window in days: the dbt var if dbt_project.yml sets it, else the defaults."""
    project_dir = Path(project_dir) if project_dir is not None else config.dbt_project_dir()
    windows = dict(DEFAULT_FRESHNESS_DAYS)
    try:
        doc = yaml.safe_load((project_dir / "dbt_project.yml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return windows
    configured = ((doc or {}).get("vars") or {}).get(FRESHNESS_VAR) or {}
    for cadence, days in configured.items():
        if cadence in windows and isinstance(days, int | float) and days > 0:
            windows[cadence] = int(days)
    return windows


def domain_entities(domain: str) -> list[str]:
    return sorted(e for e, spec in ENTITIES.items() if spec.domain == domain)


def domain_sources(registry: Registry, domain: str) -> list[str]:
    """Registered sources feeding one of the domain's entities, by name."""
    entities = set(domain_entities(domain))
    return sorted(n for n, s in registry.sources.items() if entities & set(s.entities))


# --------------------------------------------------------------------------- per source


@dataclass
class SourceEntityStatus:
    """What the ledger says about one source's deliveries of one entity."""

    source: str
    entity: str
    domain: str
    steward: str
    cadence: str
    window_days: int
    deliveries: int = 0
    rows_published: int = 0
    rows_quarantined: int = 0
    last_delivery_file: str | None = None
    last_delivery_status: str | None = None
    last_delivery_at: dt.datetime | None = None
    last_published_at: dt.datetime | None = None
    freshness: str = NEVER
    contract_status: str = NEVER
    #: delivery ids counted above (a delivery feeding two entities is counted once per domain)
    delivery_rows: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def is_published(self) -> bool:
        return self.last_published_at is not None


def _concerns(entities: object, entity: str) -> bool:
    listed = [e for e in (entities if isinstance(entities, str) else "").split(",") if e]
    return not listed or entity in listed


def _ts(value) -> dt.datetime | None:
    if value is None or pd.isna(value):
        return None
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts.to_pydatetime()


def source_entity_status(
    registry: Registry,
    ledger: pd.DataFrame,
    as_of: dt.datetime,
    windows: dict[str, int] | None = None,
) -> list[SourceEntityStatus]:
    """One status per registered source and entity it feeds, in name order."""
    windows = windows or freshness_days()
    out = []
    for name in sorted(registry.sources):
        src = registry.sources[name]
        mine = ledger[ledger["source"] == name] if len(ledger) else ledger
        for entity in src.entities:
            st = SourceEntityStatus(
                source=name,
                entity=entity,
                domain=ENTITIES[entity].domain,
                steward=src.steward,
                cadence=src.cadence,
                window_days=windows.get(src.cadence, DEFAULT_FRESHNESS_DAYS[src.cadence]),
            )
            if len(mine):
                rows = mine[
                    [_concerns(e, entity) for e in mine.get("entities", [None] * len(mine))]
                ]
                rows = rows[rows["status"] != DUPLICATE]
                rows = rows.sort_values(["received_at", "delivery_id"])
                for r in rows.itertuples(index=False):
                    st.delivery_rows[r.delivery_id] = (
                        int(r.rows_published),
                        int(r.rows_quarantined),
                    )
                st.deliveries = len(rows)
                st.rows_published = int(rows["rows_published"].sum()) if len(rows) else 0
                st.rows_quarantined = int(rows["rows_quarantined"].sum()) if len(rows) else 0
                if len(rows):
                    last = rows.iloc[-1]
                    st.last_delivery_file = str(last["file_name"])
                    st.last_delivery_status = str(last["status"])
                    st.last_delivery_at = _ts(last["received_at"])
                    st.contract_status = FAILED if last["status"] == REJECTED else PASSED
                published = rows[rows["status"].isin(PUBLISHED_STATUSES)]
                if len(published):
                    st.last_published_at = _ts(published["received_at"].max())
            if st.last_published_at is None:
                st.freshness = NEVER
            elif st.last_published_at < as_of - dt.timedelta(days=st.window_days):
                st.freshness = STALE
            else:
                st.freshness = FRESH
            out.append(st)
    return out


def last_published_at(paths: Paths, source: Source, entity: str) -> dt.datetime | None:
    """When the newest published delivery of ``source``'s ``entity`` arrived (the ledger)."""
    ledger = lake.read_ledger(paths, source.name)
    if ledger.empty:
        return None
    rows = ledger[[_concerns(e, entity) for e in ledger.get("entities", [None] * len(ledger))]]
    rows = rows[rows["status"].isin(PUBLISHED_STATUSES)]
    return _ts(rows["received_at"].max()) if len(rows) else None


# --------------------------------------------------------------------------- marts (read-only)


def read_mart(paths: Paths, name: str) -> pd.DataFrame | None:
    """A mart as a frame, or None when it cannot be read right now.

    The analyst share (``share/<name>.parquet``) first: reading it takes no lock, so it
    never blocks the one warehouse writer. Else the warehouse, opened read-only; a
    missing, locked or older warehouse (no such table) gives None, never an error.
    """
    import duckdb

    shared = paths.share / f"{name}.parquet"
    if shared.is_file():
        try:
            with duckdb.connect() as con:
                return con.execute(
                    "select * from read_parquet(?)", [lake_store.literal_pattern(shared)]
                ).df()
        except duckdb.Error:
            pass
    if not paths.warehouse.is_file():
        return None
    try:
        with duckdb.connect(str(paths.warehouse), read_only=True) as con:
            return con.execute(f'select * from marts."{name}"').df()
    except duckdb.Error:
        return None


def match_rates(paths: Paths) -> pd.DataFrame | None:
    """``marts.mart_source_match_rates`` (source, entity, rows, rows_matched...), if built."""
    rates = read_mart(paths, MATCH_RATES_MART)
    if rates is None or not {"source", "entity", "rows", "rows_matched"} <= set(rates.columns):
        return None
    return rates


def _rate(numerator: float, denominator: float) -> float | None:
    return float(numerator) / float(denominator) if denominator else None


# --------------------------------------------------------------------------- per domain


@dataclass
class DomainCoverage:
    domain: str
    entities: list[str]
    sources: list[str]
    is_connected: bool
    rows_published: int
    rows_quarantined: int
    reject_rate: float | None
    student_match_rate: float | None
    last_loaded_at: dt.datetime | None
    freshness_status: str
    contract_status: str
    stale_sources: list[str]
    failed_sources: list[str]

    def as_dict(self) -> dict:
        return {
            "domain": self.domain,
            "is_connected": self.is_connected,
            "sources": ", ".join(self.sources),
            "rows_published": self.rows_published,
            "rows_quarantined": self.rows_quarantined,
            "reject_rate": self.reject_rate,
            "student_match_rate": self.student_match_rate,
            "last_loaded_at": self.last_loaded_at,
            "freshness_status": self.freshness_status,
            "contract_status": self.contract_status,
        }


def domain_coverage(
    registry: Registry,
    paths: Paths,
    *,
    as_of: dt.datetime | None = None,
    ledger: pd.DataFrame | None = None,
    rates: pd.DataFrame | None = None,
    statuses: list[SourceEntityStatus] | None = None,
) -> list[DomainCoverage]:
    """The coverage table: one row per whole-child domain, all eleven, in DOMAINS order."""
    as_of = as_of or dt.datetime.now(dt.UTC)
    if statuses is None:
        ledger = lake.read_ledger(paths) if ledger is None else ledger
        statuses = source_entity_status(registry, ledger, as_of)
    out = []
    for domain in DOMAINS:
        mine = [s for s in statuses if s.domain == domain]
        deliveries: dict[str, tuple[int, int]] = {}
        for s in mine:
            deliveries.update(s.delivery_rows)
        published = sum(p for p, _q in deliveries.values())
        quarantined = sum(q for _p, q in deliveries.values())
        connected = any(s.is_published for s in mine)
        stale = sorted({s.source for s in mine if s.freshness == STALE})
        failed = sorted({s.source for s in mine if s.contract_status == FAILED})
        freshness = NEVER if not connected else (STALE if stale else FRESH)
        if failed:
            contract = FAILED
        elif any(s.contract_status == PASSED for s in mine):
            contract = PASSED
        else:
            contract = NEVER
        match = None
        if rates is not None and len(rates):
            entities = set(domain_entities(domain))
            sel = rates[
                rates["entity"].isin(entities) & rates["source"].isin({s.source for s in mine})
            ]
            match = _rate(sel["rows_matched"].fillna(0).sum(), sel["rows"].fillna(0).sum())
        loaded = [s.last_published_at for s in mine if s.last_published_at is not None]
        out.append(
            DomainCoverage(
                domain=domain,
                entities=domain_entities(domain),
                sources=sorted({s.source for s in mine}),
                is_connected=connected,
                rows_published=published,
                rows_quarantined=quarantined,
                reject_rate=_rate(quarantined, published + quarantined),
                student_match_rate=match,
                last_loaded_at=max(loaded) if loaded else None,
                freshness_status=freshness,
                contract_status=contract,
                stale_sources=stale,
                failed_sources=failed,
            )
        )
    return out


# --------------------------------------------------------------------------- per source (CLI)


@dataclass
class SourceReport:
    """One line of ``wholechild sources``."""

    source: str
    system: str
    format: str
    entities: str
    domains: str
    steward: str
    cadence: str
    last_delivery: str
    status: str
    last_published_at: dt.datetime | None
    freshness: str
    contract_status: str
    match_rate: float | None


def _worst(values: Iterable[str], order: tuple[str, ...]) -> str:
    values = list(values)
    for v in order:
        if v in values:
            return v
    return values[0] if values else order[-1]


def source_reports(
    registry: Registry, paths: Paths, *, as_of: dt.datetime | None = None
) -> list[SourceReport]:
    as_of = as_of or dt.datetime.now(dt.UTC)
    ledger = lake.read_ledger(paths)
    statuses = source_entity_status(registry, ledger, as_of)
    rates = match_rates(paths)
    out = []
    for name in sorted(registry.sources):
        src = registry.sources[name]
        mine = [s for s in statuses if s.source == name]
        rows = ledger[ledger["source"] == name] if len(ledger) else ledger
        last = rows.iloc[-1] if len(rows) else None
        match = None
        if rates is not None:
            sel = rates[rates["source"] == name]
            match = _rate(sel["rows_matched"].fillna(0).sum(), sel["rows"].fillna(0).sum())
        published = [s.last_published_at for s in mine if s.last_published_at is not None]
        when = _ts(last["received_at"]) if last is not None else None
        out.append(
            SourceReport(
                source=name,
                system=src.system,
                format=src.format,
                entities=", ".join(src.entities) or "(none yet)",
                domains=", ".join(sorted({ENTITIES[e].domain for e in src.entities}))
                or ", ".join(src.domains),
                steward=src.steward,
                cadence=src.cadence,
                last_delivery="never"
                if last is None
                else f"{last['file_name']} ({when:%Y-%m-%d %H:%M})",
                status="-" if last is None else str(last["status"]),
                last_published_at=max(published) if published else None,
                freshness=_worst((s.freshness for s in mine), (STALE, NEVER, FRESH)),
                contract_status=_worst((s.contract_status for s in mine), (FAILED, PASSED, NEVER)),
                match_rate=match,
            )
        )
    return out


# --------------------------------------------------------------------------- rendering


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _when(value: dt.datetime | None) -> str:
    return "-" if value is None else f"{value:%Y-%m-%d %H:%M}"


FRESHNESS_MARK = {FRESH: "fresh", STALE: "**stale**", NEVER: "never"}
CONTRACT_MARK = {PASSED: "passed", FAILED: "**failed**", NEVER: "never"}


def markdown_table(rows: list[DomainCoverage]) -> str:
    """The coverage table as Markdown, one line per domain (the asset's metadata)."""
    head = (
        "| domain | connected | sources | rows published | rows quarantined | reject rate "
        "| match rate | last loaded (UTC) | freshness | contract |"
    )
    lines = [head, "|---|---|---|---:|---:|---:|---:|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r.domain} | {'yes' if r.is_connected else '**no**'} "
            f"| {', '.join(r.sources) or '-'} | {r.rows_published:,} | {r.rows_quarantined:,} "
            f"| {_pct(r.reject_rate)} | {_pct(r.student_match_rate)} | {_when(r.last_loaded_at)} "
            f"| {FRESHNESS_MARK[r.freshness_status]} | {CONTRACT_MARK[r.contract_status]} |"
        )
    connected = sum(r.is_connected for r in rows)
    fresh = sum(r.freshness_status == FRESH for r in rows)
    lines.append("")
    lines.append(
        f"{connected} of {len(rows)} domains connected, {fresh} fresh. "
        "Match rate: share of current rows whose student id resolved to a roster student "
        "(from marts.mart_source_match_rates; '-' before the first build or for domains "
        "without student rows)."
    )
    return "\n".join(lines)
