"""What must hold for a source's published data: pure predicates, no Dagster.

Each rule judges the *published state* (what staging will read, ``lake.current_rows``),
never the delivery in flight: a rejected delivery publishes nothing, so the previous good
rows are still what is judged, and only :func:`latest_delivery_accepted` (a WARN) says
that the newest delivery did not make it. ``checks.py`` wraps these in Dagster checks;
tests call them directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pandera.errors

from schemas import ENTITIES
from schemas._base import PANDAS_DTYPES
from wholechild.registry import Source

REJECTED = "rejected"
DUPLICATE = "duplicate"
SAMPLE_SIZE = 5


@dataclass(frozen=True)
class Verdict:
    """The outcome of one rule: passed or not, one sentence why, and numbers to show."""

    passed: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


def mode_for(source: Source, entity: str) -> str:
    """The load mode of ``entity`` in ``source``: its first export of it, else the source's."""
    for export in source.exports:
        if export.entity == entity:
            return export.mode
    return source.mode


def _show(value: Any) -> str:
    if value is None or (not isinstance(value, str | bytes) and pd.isna(value)):
        return "NULL"
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return str(value)


def keys_are_unique(rows: pd.DataFrame, key: Sequence[str]) -> Verdict:
    """The entity's key identifies one current row (NULL counts as a value, as in staging)."""
    key = list(key)
    n = len(rows)
    if n == 0:
        return Verdict(True, "No current rows yet.", {"rows": 0, "duplicate_keys": 0})
    dup = rows.duplicated(subset=key, keep=False)
    n_dup_rows = int(dup.sum())
    n_dup_keys = int(rows.loc[dup, key].drop_duplicates().shape[0]) if n_dup_rows else 0
    meta: dict[str, Any] = {
        "rows": n,
        "key": ", ".join(key),
        "duplicate_keys": n_dup_keys,
        "rows_with_duplicate_key": n_dup_rows,
    }
    if not n_dup_rows:
        return Verdict(True, f"All {n} current rows have a distinct ({', '.join(key)}).", meta)
    sample = rows.loc[dup, key].drop_duplicates().head(SAMPLE_SIZE)
    shown = "; ".join(", ".join(_show(v) for v in r) for r in sample.itertuples(index=False))
    meta["examples"] = shown
    return Verdict(
        False,
        f"{n_dup_keys} key value(s) of ({', '.join(key)}) occur on more than one current row, "
        f"e.g. {shown}.",
        meta,
    )


def canonical_frame(rows: pd.DataFrame, entity: str) -> pd.DataFrame:
    """The contract's columns of published rows, cast to the dtypes the contract expects.

    The lake stores exact contract types; reading it back through DuckDB yields numpy /
    object dtypes, so each column is brought back to the pandas dtype the audit validated.
    A column missing from older deliveries (contract grew) comes back as all-NULL.
    """
    spec = ENTITIES[entity]
    out = {}
    for name, col in spec.columns.items():
        dtype = PANDAS_DTYPES[col.type]
        if name not in rows.columns:
            out[name] = pd.Series([None] * len(rows), dtype=dtype)
            continue
        s = rows[name].reset_index(drop=True)
        if col.type == "date":
            s = pd.to_datetime(s, errors="coerce").astype("datetime64[ns]")
        else:
            s = s.astype(object).where(s.notna(), None).astype(dtype)
        out[name] = s
    return pd.DataFrame(out, index=pd.RangeIndex(len(rows)))


def rows_meet_contract(rows: pd.DataFrame, entity: str) -> Verdict:
    """Every current row passes the entity's Pandera contract (validated lazily)."""
    spec = ENTITIES[entity]
    n = len(rows)
    if n == 0:
        return Verdict(True, "No current rows yet.", {"rows_checked": 0, "rows_failing": 0})
    frame = canonical_frame(rows, entity)
    try:
        spec.model.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        fc = exc.failure_cases
        with_row = fc[fc["index"].notna()]
        n_bad_rows = int(with_row["index"].nunique())
        schema_level = fc[fc["index"].isna()]
        by_check = (
            fc.assign(
                where=fc["column"].fillna("(frame)").astype(str) + ": " + fc["check"].astype(str)
            )
            .groupby("where")
            .size()
            .sort_values(ascending=False)
        )
        top = "; ".join(f"{w} ({c})" for w, c in by_check.head(SAMPLE_SIZE).items())
        meta = {
            "rows_checked": n,
            "rows_failing": n_bad_rows,
            "schema_failures": len(schema_level),
            "failures": top,
        }
        if n_bad_rows:
            sentence = f"{n_bad_rows} of {n} current rows break the {entity} contract: {top}."
        else:
            sentence = f"The current {entity} rows break the contract as a whole: {top}."
        return Verdict(False, sentence, meta)
    return Verdict(
        True,
        f"All {n} current rows meet the {entity} contract.",
        {"rows_checked": n, "rows_failing": 0},
    )


def ledger_rows_for(ledger: pd.DataFrame, source: Source, entity: str) -> pd.DataFrame:
    """The ledger rows of ``source`` that concern ``entity``, oldest first.

    A published delivery lists its entities; a rejected or duplicate one publishes none, so
    it is attributed by the export its file name matches (or to every entity of the source
    when it matches none, e.g. an unknown file).
    """
    if ledger.empty:
        return ledger

    def concerns(entities: Any, file_name: Any) -> bool:
        listed = [e for e in (entities if isinstance(entities, str) else "").split(",") if e]
        if listed:
            return entity in listed
        export = source.export_for(str(file_name))
        return export is None or export.entity == entity

    entities = ledger["entities"] if "entities" in ledger else [None] * len(ledger)
    mask = [concerns(e, f) for e, f in zip(entities, ledger["file_name"], strict=True)]
    return ledger[mask]


def latest_delivery_accepted(ledger: pd.DataFrame, source: Source, entity: str) -> Verdict:
    """The newest delivery of this entity was published (duplicates do not count)."""
    rows = ledger_rows_for(ledger, source, entity)
    if not rows.empty:
        rows = rows[rows["status"] != DUPLICATE]
    if rows.empty:
        return Verdict(
            True,
            f"No {entity} delivery from {source.name} has been processed yet.",
            {"deliveries": 0},
        )
    last = rows.iloc[-1]
    meta = {
        "deliveries": len(rows),
        "last_delivery_file": str(last["file_name"]),
        "last_delivery_id": str(last["delivery_id"]),
        "last_delivery_status": str(last["status"]),
        "rows_published": int(last["rows_published"]),
        "rows_quarantined": int(last["rows_quarantined"]),
    }
    if last["status"] == REJECTED:
        meta["reject_reason"] = str(last["reason"] or "")
        return Verdict(
            False,
            f"The latest {entity} delivery {last['file_name']} ({last['delivery_id']}) was "
            f"rejected and published nothing; the previous good rows stay current. "
            f"{last['reason']}",
            meta,
        )
    return Verdict(
        True,
        f"The latest {entity} delivery {last['file_name']} was {last['status']}.",
        meta,
    )
