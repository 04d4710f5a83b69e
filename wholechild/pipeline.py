"""Write-audit-publish of one delivery, and of everything pending in the landing zone.

The Dagster sensors' runs, ``wholechild run`` and ``wholechild validate`` all go through
:func:`audit_delivery`; only the first two continue to :func:`publish`. Every delivery
ends with exactly one ledger row where rows read = rows published + rows quarantined.
"""

from __future__ import annotations

import datetime as dt
import json
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
from wholechild.readers import DeliveryRejected, RawTable, read_table
from wholechild.registry import Registry, Source

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
        }


def new_delivery_id(received_at: dt.datetime, sha256: str) -> str:
    """Sortable and unique per delivery event (the same bytes twice get two ids)."""
    return f"{received_at:%Y%m%dT%H%M%S%f}-{sha256[:12]}"


def applied_at(file_name: str, received_at: dt.datetime) -> str:
    """Order in which a source's deliveries apply: the date in the name, else arrival."""
    d = landing.date_in_name(file_name) or received_at.date()
    return f"{d.isoformat()}T{received_at.isoformat(timespec='microseconds')}"


def _record_json(table: RawTable, positions: np.ndarray) -> list[str]:
    frame = table.frame.iloc[positions]
    return [
        json.dumps({k: (None if pd.isna(v) else v) for k, v in rec.items()}, ensure_ascii=False)
        for rec in frame.to_dict(orient="records")
    ]


def audit_delivery(
    source: Source,
    path: Path,
    *,
    sha256: str | None = None,
    received_at: dt.datetime | None = None,
) -> DeliveryOutcome:
    """Read, map and validate one delivery; decide its status. Writes nothing."""
    received_at = received_at or dt.datetime.now(dt.UTC)
    sha256 = sha256 or landing.sha256_of(path)
    out = DeliveryOutcome(
        delivery_id=new_delivery_id(received_at, sha256),
        source=source.name,
        file_name=path.name,
        sha256=sha256,
        received_at=received_at,
        applied_at=applied_at(path.name, received_at),
    )
    delivered_on = landing.date_in_name(path.name) or received_at.date()
    records_read = 0
    try:
        if source.format not in ("csv", "xlsx", "parquet"):
            raise DeliveryRejected(
                "unsupported_format",
                f"{path.name}: format '{source.format}' is not supported by this version yet; "
                "use csv, xlsx or parquet.",
            )
        export = source.export_for(path.name)
        if export is None:
            patterns = ", ".join(e.match for e in source.exports)
            raise DeliveryRejected(
                "unknown_file",
                f"{path.name} matches none of source {source.name}'s exports ({patterns}); "
                "rename the file or add an export to the source YAML.",
            )
        # Known before reading, so even a rejected delivery is attributed to its entity.
        out.entity_counts[export.entity] = (0, 0)
        table = read_table(path, source.format, source.options)
        records_read = table.records_read
        mapped = map_table(table, source, export)
        formats = {c: m.format for c, m in export.columns.items() if m.format}
        audited = audit(export.entity, mapped.frame, formats, delivered_on, mapped.violations)

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
        quarantine = pd.DataFrame(
            {
                "delivery_id": out.delivery_id,
                "source": source.name,
                "entity": export.entity,
                "row_number": row_numbers.astype("int64"),
                "rule": v["rule"].astype(str).to_numpy() if len(v) else [],
                "column_name": v["column_name"].to_numpy() if len(v) else [],
                "value": v["value"].to_numpy() if len(v) else [],
                "record": _record_json(table, positions) if len(v) else [],
                "message": [
                    f"{path.name} row {r}: {m}"
                    for r, m in zip(row_numbers, v["message"], strict=True)
                ]
                if len(v)
                else [],
            }
        )
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
                "message": [
                    f"{path.name} row {b.row_number}: {b.message}" for b in table.bad_records
                ],
            }
        )
        out.quarantine = (
            pd.concat([reader_bad, quarantine], ignore_index=True)
            .sort_values("row_number", kind="stable")
            .reset_index(drop=True)
        )
        quarantined = int(record_bad.sum()) + len(table.bad_records)
        out.rows_read = records_read
        out.rows_quarantined = quarantined
        out.rows_published = records_read - quarantined

        good = audited.frame[audited.row_ok].reset_index(drop=True)
        dups = duplicate_keys(export.entity, good)
        if dups:
            shown = "; ".join(", ".join("NULL" if x is None else str(x) for x in k) for k in dups)
            raise DeliveryRejected(
                "duplicate_key",
                f"{path.name}: the key ({', '.join(_key(export.entity))}) repeats within the "
                f"delivery, e.g. {shown}; send one row per key.",
            )
        if records_read and quarantined / records_read > source.max_reject_rate:
            first = out.quarantine.iloc[0]
            raise DeliveryRejected(
                "reject_rate",
                f"{path.name}: {quarantined} of {records_read} rows "
                f"({quarantined / records_read:.1%}) break the contract, over the source's "
                f"max_reject_rate of {source.max_reject_rate:.1%}; first: {first['message']} "
                f"(rule {first['rule']}).",
            )
        good_rows = mapped.source_row[audited.row_ok]
        good["_delivery_id"] = out.delivery_id
        good["_source"] = source.name
        good["_row_number"] = table.row_numbers[good_rows].astype("int64")
        good["_applied_at"] = out.applied_at
        good["_is_deleted"] = False
        out.published[export.entity] = good
        out.entity_counts[export.entity] = (out.rows_published, out.rows_quarantined)
        out.status = PUBLISHED_WITH_QUARANTINE if quarantined else PUBLISHED
        if quarantined:
            out.reason = (
                f"{quarantined} row(s) quarantined; first: {out.quarantine.iloc[0]['message']}"
            )
    except DeliveryRejected as exc:
        _reject(out, exc.rule, exc.message, records_read)
    return out


def _key(entity: str) -> tuple[str, ...]:
    from schemas import ENTITIES

    return ENTITIES[entity].key


def _reject(out: DeliveryOutcome, rule: str, message: str, records_read: int) -> None:
    """A file rule failed: nothing is published and every row read counts as quarantined."""
    out.status = REJECTED
    out.reason = message
    out.published = {}
    out.rows_read = records_read
    out.rows_published = 0
    out.rows_quarantined = records_read
    out.entity_counts = {e: (0, records_read) for e in out.entity_counts}
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
    """Write the delivery's data, quarantine and ledger row, then rename them into the lake."""
    work = lake.incoming_dir(paths, out.delivery_id)
    for entity, frame in out.published.items():
        lake.write_parquet(lake.entity_table(entity, frame), work / f"{entity}.parquet")
    q = out.quarantine.copy()
    q["row_number"] = q["row_number"].astype("Int64")
    lake.write_parquet(_as_table(q, lake.QUARANTINE_SCHEMA), work / lake.QUARANTINE_FILE)
    lake.write_parquet(
        _as_table(pd.DataFrame([out.ledger_row()]), lake.LEDGER_SCHEMA), work / lake.LEDGER_FILE
    )
    lake.commit(paths, out.source, out.delivery_id)


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
        seen = lake.read_ledger(paths, source.name)
        earlier = seen[(seen["sha256"] == sha) & (seen["status"] != DUPLICATE)]
        if len(earlier):
            out = DeliveryOutcome(
                delivery_id=new_delivery_id(received_at, sha),
                source=source.name,
                file_name=path.name,
                sha256=sha,
                received_at=received_at,
                applied_at=applied_at(path.name, received_at),
                status=DUPLICATE,
                reason=f"{path.name} has the same bytes as delivery "
                f"{earlier.iloc[0]['delivery_id']} ({earlier.iloc[0]['file_name']}); "
                "loaded once.",
            )
        else:
            out = audit_delivery(source, path, sha256=sha, received_at=received_at)
        publish(out, paths)
        summary = summarize(out)
        if out.status == REJECTED:
            folder = paths.rejected / source.name / out.delivery_id
        else:
            folder = paths.archive / source.name / out.delivery_id
        _move(path, folder)
        out.report_path = write_reports(folder, summary)
        return out


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
