"""Write-audit-publish of one delivery, and of everything pending in the landing zone.

The Dagster sensors' runs, ``wholechild run`` and ``wholechild validate`` all go through
:func:`audit_delivery`; only the first two continue to :func:`publish`. Every delivery
ends with exactly one ledger row where rows read = rows published + rows quarantined.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from filelock import FileLock

from quality.report import summarize, write_reports
from quality.validate import audit, duplicate_keys
from wholechild import lake, landing
from wholechild.config import Paths
from wholechild.mapping import map_table
from wholechild.parts import UNKNOWN_DELETE, Part
from wholechild.readers import DeliveryRejected, read_table
from wholechild.readers.csv_reader import count_records_leniently
from wholechild.registry import TABULAR_FORMATS, Registry, Source
from wholechild.tombstones import PublishedRows, audit_tombstones

#: Reader rejections of a file that is text, so its records can still be counted.
TEXT_REJECTIONS = frozenset({"encoding", "unterminated_quote"})

PUBLISHED = "published"
PUBLISHED_WITH_QUARANTINE = "published_with_quarantine"
REJECTED = "rejected"
DUPLICATE = "duplicate"


@dataclass
class DeliveryOutcome:
    """What happened to one delivery: the ledger row plus what publishing needs."""

    delivery_id: str
    source: str
    file_name: str
    sha256: str
    received_at: dt.datetime
    applied_at: str
    status: str = PUBLISHED
    reason: str = ""
    rows_read: int = 0
    rows_published: int = 0
    rows_quarantined: int = 0
    #: rows in the entity files as published (set by :func:`publish`)
    rows_written: int | None = None
    #: entity -> published rows (cast frame with bookkeeping columns)
    published: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: entity -> (records published, records quarantined)
    entity_counts: dict[str, tuple[int, int]] = field(default_factory=dict)
    quarantine: pd.DataFrame = field(
        default_factory=lambda: lake.QUARANTINE_SCHEMA.empty_table().to_pandas()
    )
    report_path: Path | None = None

    @property
    def ok(self) -> bool:
        return self.status in (PUBLISHED, PUBLISHED_WITH_QUARANTINE, DUPLICATE)

    @classmethod
    def of(
        cls, source: Source, path: Path, sha256: str, received_at: dt.datetime, **fields
    ) -> DeliveryOutcome:
        """A new outcome for the delivery ``path`` of ``source``, received now."""
        return cls(
            delivery_id=new_delivery_id(received_at, sha256),
            source=source.name,
            file_name=path.name,
            sha256=sha256,
            received_at=received_at,
            applied_at=applied_at(path.name, received_at),
            **fields,
        )

    def ledger_row(self) -> dict:
        return {
            "delivery_id": self.delivery_id,
            "source": self.source,
            "file_name": self.file_name,
            "sha256": self.sha256,
            "received_at": self.received_at,
            "rows_read": self.rows_read,
            "rows_published": self.rows_published,
            "rows_quarantined": self.rows_quarantined,
            "status": self.status,
            "reason": self.reason,
            "entities": ",".join(self.entity_counts),
            "applied_at": self.applied_at,
            "rows_written": self.rows_written,
        }


def new_delivery_id(received_at: dt.datetime, sha256: str) -> str:
    """Sortable and unique per delivery event (the same bytes twice get two ids)."""
    return f"{received_at:%Y%m%dT%H%M%S%f}-{sha256[:12]}"


def applied_at(file_name: str, received_at: dt.datetime) -> str:
    """Order in which a source's deliveries apply: the date in the name, else arrival."""
    d = landing.date_in_name(file_name) or received_at.date()
    return f"{d.isoformat()}T{received_at.isoformat(timespec='microseconds')}"


def audit_delivery(
    source: Source,
    path: Path,
    *,
    sha256: str | None = None,
    received_at: dt.datetime | None = None,
    paths: Paths | None = None,
    published: PublishedRows | None = None,
) -> DeliveryOutcome:
    """Read, map and validate one delivery; decide its status. Writes nothing.

    A delivery is one or more parts (:mod:`wholechild.parts`), each mapped and audited on
    its own; the outcome sums them. ``paths`` lets deletes find the published rows they
    name (read only); without it a delete by id names nothing published. ``published``
    (from :func:`published_rows`) replaces that view of the lake, e.g. one that counts
    earlier deliveries of a ``validate`` folder as published.
    """
    received_at = received_at or dt.datetime.now(dt.UTC)
    sha256 = sha256 or landing.sha256_of(path)
    out = DeliveryOutcome.of(source, path, sha256, received_at)
    delivered_on = landing.date_in_name(path.name) or received_at.date()
    read_by_entity: dict[str, int] = {}
    sink: list[pd.DataFrame] = []
    lookup = published if published is not None else published_rows(source, paths)
    try:
        # Known before reading, so even a rejected delivery is attributed to its entities.
        for entity in _entities_of(source, path):
            out.entity_counts[entity] = (0, 0)
        parts = _read_parts(source, path, lookup)
        if parts:  # a bundle lacking a file feeds fewer entities than its source publishes
            out.entity_counts = {p.entity: (0, 0) for p in parts}
        for part in parts:
            read_by_entity[part.entity] = (
                read_by_entity.get(part.entity, 0) + part.table.records_read
            )
        published: dict[str, list[pd.DataFrame]] = {}
        for part in parts:
            frame, n_read, n_quarantined = _audit_part(
                part, source, out, delivered_on, lookup, sink
            )
            out.rows_read += n_read
            out.rows_quarantined += n_quarantined
            out.rows_published += n_read - n_quarantined
            p, q = out.entity_counts.get(part.entity, (0, 0))
            out.entity_counts[part.entity] = (p + n_read - n_quarantined, q + n_quarantined)
            published.setdefault(part.entity, []).append(frame)
        out.published = {
            e: frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
            for e, frames in published.items()
        }
        out.quarantine = _concat_quarantine(sink)
        quarantined = out.rows_quarantined
        out.status = PUBLISHED_WITH_QUARANTINE if quarantined else PUBLISHED
        if quarantined:
            out.reason = (
                f"{quarantined} row(s) quarantined; first: {out.quarantine.iloc[0]['message']}"
            )
    except DeliveryRejected as exc:
        if sink:
            out.quarantine = _concat_quarantine(sink)
        if (
            not read_by_entity
            and exc.rule in TEXT_REJECTIONS
            and source.format == "csv"
            and len(out.entity_counts) == 1
        ):
            # The reader refused a text file whole (its encoding, an open quote): its rows
            # still count, all of them quarantined, so the ledger balances.
            (entity,) = out.entity_counts
            read_by_entity[entity] = count_records_leniently(path, source.options)
        _reject(out, exc.rule, exc.message, read_by_entity)
    return out


def published_rows(source: Source, paths: Paths | None) -> PublishedRows | None:
    """entity -> the source's current published rows (what a delete by id can name); its
    ``by_id(entity, ids)`` reads only the rows those ids name."""
    if paths is None:
        return None

    def mode_of(entity: str) -> str:
        export = source.export_of(entity)
        return export.mode if export else source.mode

    return PublishedRows(paths, source.name, mode_of)


def _entities_of(source: Source, path: Path) -> list[str]:
    if source.is_standard:
        from wholechild import standards

        return standards.entities_of(source, path)
    if source.format not in TABULAR_FORMATS:
        raise DeliveryRejected(
            "unsupported_format",
            f"{path.name}: format '{source.format}' is not supported by this version; "
            "use csv, xlsx, parquet, oneroster or edfi_json.",
        )
    export = source.export_for(path.name)
    if export is None:
        patterns = ", ".join(e.match for e in source.exports)
        raise DeliveryRejected(
            "unknown_file",
            f"{path.name} matches none of source {source.name}'s exports ({patterns}); "
            "rename the file or add an export to the source YAML.",
        )
    return [export.entity]


def _read_parts(source: Source, path: Path, lookup) -> list[Part]:
    if source.is_standard:
        from wholechild import standards

        return standards.read_parts(source, path, lookup)
    export = source.export_for(path.name)
    table = read_table(path, source.format, source.options)
    return [Part(export.entity, export, table, path.name)]


def _concat_quarantine(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if not frames:
        return lake.QUARANTINE_SCHEMA.empty_table().to_pandas()
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def _quarantine_frame(
    out: DeliveryOutcome,
    part: Part,
    v: pd.DataFrame,
    row_numbers: np.ndarray,
    positions: np.ndarray,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "delivery_id": out.delivery_id,
            "source": out.source,
            "entity": part.entity,
            "row_number": row_numbers.astype("int64"),
            "rule": v["rule"].astype(str).to_numpy() if len(v) else [],
            "column_name": v["column_name"].to_numpy() if len(v) else [],
            "value": v["value"].to_numpy() if len(v) else [],
            "record": part.record_text(positions) if len(v) else [],
            "message": [
                f"{part.label} row {r}: {m}" for r, m in zip(row_numbers, v["message"], strict=True)
            ]
            if len(v)
            else [],
        }
    )


def _audit_part(
    part: Part,
    source: Source,
    out: DeliveryOutcome,
    delivered_on: dt.date,
    lookup,
    sink: list[pd.DataFrame],
) -> tuple[pd.DataFrame, int, int]:
    """Map and audit one part: (rows to publish, rows read, rows quarantined).

    File rules (duplicate keys, reject rate) raise :class:`DeliveryRejected` after the part's
    quarantine went to ``sink``, so a rejected delivery's report still lists its bad rows.
    """
    label, export = part.label, part.export
    deleted = part.deleted
    has_tombstones = deleted is not None and bool(deleted.any())
    live = part.subset(~deleted, with_bad_records=True) if has_tombstones else part
    table = live.table
    records_read = table.records_read
    mapped = map_table(table, source, export)
    prior = mapped.violations
    if live.violations is not None and len(live.violations):
        if export.unpivot:
            raise ValueError("a part with prior violations cannot be unpivoted")
        prior = pd.concat([prior, live.violations], ignore_index=True)
    formats = {c: m.format for c, m in export.columns.items() if m.format}
    audited = audit(export.entity, mapped.frame, formats, delivered_on, prior)

    n_records = len(table.frame)
    record_bad = np.zeros(n_records, dtype=bool)
    bad_rows = np.flatnonzero(~audited.row_ok)
    record_bad[mapped.source_row[bad_rows]] = True
    v = audited.violations
    positions = (
        mapped.source_row[v["row"].to_numpy(dtype="int64")]
        if len(v)
        else np.array([], dtype=np.int64)
    )
    row_numbers = table.row_numbers[positions] if len(v) else np.array([], dtype=np.int64)
    quarantine = _quarantine_frame(out, live, v, row_numbers, positions)
    reader_bad = pd.DataFrame(
        {
            "delivery_id": out.delivery_id,
            "source": source.name,
            "entity": export.entity,
            "row_number": [b.row_number for b in table.bad_records],
            "rule": [b.rule for b in table.bad_records],
            "column_name": [None] * len(table.bad_records),
            "value": [None] * len(table.bad_records),
            "record": [b.raw for b in table.bad_records],
            "message": [f"{label} row {b.row_number}: {b.message}" for b in table.bad_records],
        }
    )
    quarantined = int(record_bad.sum()) + len(table.bad_records)
    judged = quarantined  # rows that count against max_reject_rate

    good = audited.frame[audited.row_ok].reset_index(drop=True)
    good_rows = mapped.source_row[audited.row_ok]
    good["_delivery_id"] = out.delivery_id
    good["_source"] = source.name
    good["_row_number"] = table.row_numbers[good_rows].astype("int64")
    good["_applied_at"] = out.applied_at
    good["_is_deleted"] = False
    frames = [reader_bad, quarantine]

    if has_tombstones:
        dead = part.subset(deleted, with_bad_records=False)
        dead_mapped = map_table(dead.table, source, export)
        stones, dv = audit_tombstones(
            export.entity, dead_mapped.frame, formats, lookup, source.name
        )
        ok = np.ones(len(stones), dtype=bool)
        if len(dv):
            ok[dv["row"].to_numpy(dtype="int64")] = False
            pos = dv["row"].to_numpy(dtype="int64")
            frames.append(_quarantine_frame(out, dead, dv, dead.table.row_numbers[pos], pos))
        n_dead_bad = int((~ok).sum())
        unknown = set(dv.loc[dv["rule"] == UNKNOWN_DELETE, "row"].astype("int64"))
        records_read += len(stones)
        quarantined += n_dead_bad
        judged += n_dead_bad - len(unknown)
        stones = stones[ok].reset_index(drop=True)
        stones["_delivery_id"] = out.delivery_id
        stones["_source"] = source.name
        stones["_row_number"] = dead.table.row_numbers[ok].astype("int64")
        stones["_applied_at"] = out.applied_at
        stones["_is_deleted"] = True
        publish_frame = pd.concat([good, stones], ignore_index=True)
    else:
        publish_frame = good

    part_quarantine = (
        pd.concat(frames, ignore_index=True)
        .sort_values("row_number", kind="stable")
        .reset_index(drop=True)
    )
    sink.append(part_quarantine)

    dups = duplicate_keys(export.entity, good)
    if dups:
        shown = "; ".join(", ".join("NULL" if x is None else str(x) for x in k) for k in dups)
        raise DeliveryRejected(
            "duplicate_key",
            f"{label}: the key ({', '.join(_key(export.entity))}) repeats within the "
            f"delivery, e.g. {shown}; send one row per key.",
        )
    if records_read and judged / records_read > source.max_reject_rate:
        first = part_quarantine.iloc[0]
        raise DeliveryRejected(
            "reject_rate",
            f"{label}: {judged} of {records_read} rows "
            f"({judged / records_read:.1%}) break the contract, over the source's "
            f"max_reject_rate of {source.max_reject_rate:.1%}; first: {first['message']} "
            f"(rule {first['rule']}).",
        )
    return publish_frame, records_read, quarantined


def _key(entity: str) -> tuple[str, ...]:
    from schemas import ENTITIES

    return ENTITIES[entity].key


def _reject(out: DeliveryOutcome, rule: str, message: str, read_by_entity: dict[str, int]) -> None:
    """A file rule failed: nothing is published and every row read counts as quarantined."""
    records_read = sum(read_by_entity.values())
    out.status = REJECTED
    out.reason = message
    out.published = {}
    out.rows_read = records_read
    out.rows_published = 0
    out.rows_quarantined = records_read
    out.entity_counts = {e: (0, read_by_entity.get(e, 0)) for e in out.entity_counts}
    file_row = pd.DataFrame(
        [
            {
                "delivery_id": out.delivery_id,
                "source": out.source,
                "entity": None,
                "row_number": None,
                "rule": rule,
                "column_name": None,
                "value": None,
                "record": None,
                "message": message,
            }
        ]
    )
    out.quarantine = pd.concat([file_row, out.quarantine], ignore_index=True)


def publish(out: DeliveryOutcome, paths: Paths) -> None:
    """Write the delivery's data and quarantine, then its ledger row, publishing them."""
    files = {
        f"{entity}.parquet": lake.entity_table(entity, frame)
        for entity, frame in out.published.items()
    }
    out.rows_written = sum(t.num_rows for t in files.values())
    q = out.quarantine.copy()
    q["row_number"] = q["row_number"].astype("Int64")
    files[lake.QUARANTINE_FILE] = _as_table(q, lake.QUARANTINE_SCHEMA)
    ledger = _as_table(pd.DataFrame([out.ledger_row()]), lake.LEDGER_SCHEMA)
    lake.publish_delivery(paths, out.source, out.delivery_id, files, ledger)


def _as_table(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    arrays = [
        pa.array(
            frame[f.name].astype(object).where(frame[f.name].notna(), None).tolist()
            if len(frame)
            else [],
            type=f.type,
        )
        for f in schema
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def _move(path: Path, dest_dir: Path) -> Path:
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / path.name
    shutil.move(str(path), str(dest))
    marker = path.with_name(path.name + ".done")
    if marker.exists():
        marker.unlink()
    return dest


def source_lock(paths: Paths, source: str) -> FileLock:
    """Deliveries of one source run one at a time (dedup and order depend on it)."""
    paths.locks.mkdir(parents=True, exist_ok=True)
    return FileLock(str(paths.locks / f"source-{source}.lock"))


def process_delivery(
    source: Source, path: Path, paths: Paths, received_at: dt.datetime | None = None
) -> DeliveryOutcome:
    """Audit, publish and file away one landed delivery (idempotent by content hash)."""
    paths.ensure()
    landing_root = (paths.landing / source.landing).resolve()
    if path.resolve().parent != landing_root or path.is_symlink():
        raise ValueError(f"{path} is not a delivery inside {landing_root}")
    with source_lock(paths, source.name):
        if not path.exists():  # another process filed it away while we waited
            raise FileNotFoundError(path)
        sha = landing.sha256_of(path)
        received_at = received_at or dt.datetime.now(dt.UTC)
        earlier = loaded_before(lake.read_ledger(paths, source.name)).get(sha)
        if earlier is not None:
            out = duplicate(source, path, sha, received_at, *earlier)
        else:
            out = audit_delivery(source, path, sha256=sha, received_at=received_at, paths=paths)
        publish(out, paths)
        summary = summarize(out)
        if out.status == REJECTED:
            folder = paths.rejected / source.name / out.delivery_id
        else:
            folder = paths.archive / source.name / out.delivery_id
        _move(path, folder)
        out.report_path = write_reports(folder, summary)
        return out


def loaded_before(ledger: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """sha256 -> (delivery_id, file_name) of the first delivery of those bytes that was
    not itself a duplicate (published or rejected: either way they are not loaded again)."""
    rows = ledger[ledger["status"] != DUPLICATE]
    out: dict[str, tuple[str, str]] = {}
    for sha, delivery_id, name in zip(
        rows["sha256"], rows["delivery_id"], rows["file_name"], strict=True
    ):
        out.setdefault(str(sha), (str(delivery_id), str(name)))
    return out


def duplicate(
    source: Source,
    path: Path,
    sha: str,
    received_at: dt.datetime,
    earlier_id: str,
    earlier_name: str,
) -> DeliveryOutcome:
    """The outcome of bytes delivered before: nothing read, nothing applied."""
    return DeliveryOutcome.of(
        source,
        path,
        sha,
        received_at,
        status=DUPLICATE,
        reason=f"{path.name} has the same bytes as delivery {earlier_id} ({earlier_name}); "
        "loaded once.",
    )


def pending(
    registry: Registry, paths: Paths, sources: list[str] | None = None, settle: float | None = None
) -> list[tuple[Source, landing.LandedFile]]:
    """Complete deliveries waiting in the landing zone, in the order they apply."""
    out = []
    for src in registry.sources.values():
        if sources and src.name not in sources:
            continue
        for f in landing.list_landed(paths.landing_for(src.landing)):
            if landing.is_settled(f, settle=settle):
                out.append((src, f))
    return out


def process_pending(
    registry: Registry,
    paths: Paths,
    sources: list[str] | None = None,
    settle: float | None = None,
    progress=None,
) -> list[DeliveryOutcome]:
    """Process every complete delivery once (``wholechild run``)."""
    results = []
    todo = pending(registry, paths, sources, settle)
    for src, f in todo:
        try:
            results.append(process_delivery(src, f.path, paths))
        except FileNotFoundError:
            continue
        if progress:
            progress(results[-1])
    return results
