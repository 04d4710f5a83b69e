"""Tombstones: rows of a delivery that delete a key (``_is_deleted = true`` in the lake).

Staging's rule is "latest delivery wins per key, and a tombstone deletes the key", so a
tombstone must carry the full key. A OneRoster ``tobedeleted`` row usually does; an Ed-Fi
deletes file names its records only by resource ``id``. So a tombstone's key is, in order:

1. the key of the current published row of this source and entity whose
   ``source_record_id`` is the tombstone's id (what was published is what gets deleted);
2. else the key columns the record carries itself;
3. else nothing can be deleted: the row is quarantined with rule ``unknown_delete``
   (reported, not an error: it never counts against the reject rate).

Only the key and ``source_record_id`` are cast; a tombstone is not judged by the row rules
of a live row (it has no names, dates or codes to judge).

Step 1 reads only what it needs: :meth:`PublishedRows.by_id` asks DuckDB for the published
rows whose ``source_record_id`` is one of the deleted ids and the other rows of their keys
(a later delivery may have replaced or deleted them), then applies staging's rule to those
alone, so a deletes file of 4 rows does not load the source's million attendance events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from quality.validate import cast_column
from quality.violations import VIOLATION_COLUMNS, empty_violations, violation_frame
from schemas import ENTITIES
from schemas._base import PANDAS_DTYPES
from wholechild import lake
from wholechild.config import Paths
from wholechild.parts import UNKNOWN_DELETE

#: entity -> the current published rows of the delivery's source (``lake.current_rows``);
#: a :class:`PublishedRows` also answers ``by_id(entity, ids)``, which deletes prefer
Lookup = Callable[[str], pd.DataFrame]

#: the columns :meth:`PublishedRows.by_id` returns besides the key
_BY_ID_COLUMNS = ("source_record_id", "_applied_at", "_delivery_id", "_row_number", "_is_deleted")


class PublishedRows:
    """A source's published rows, read only: what a delivery's deletes (and Ed-Fi behavior
    records, for their incident's date) may name. ``mode_of(entity)`` is the entity's load
    mode (``incremental`` or ``snapshot``), which decides what is current."""

    def __init__(self, paths: Paths, source: str, mode_of: Callable[[str], str]):
        self.paths, self.source, self.mode_of = paths, source, mode_of
        #: entity -> rows of deliveries audited but not published (see :meth:`include`)
        self.pending: dict[str, list[pd.DataFrame]] = {}

    def include(self, published: dict[str, pd.DataFrame]) -> None:
        """Count a delivery's rows as published from now on, though they are not.

        ``wholechild validate`` on a folder audits its files in apply order, each as if
        the earlier ones had been published: an Ed-Fi deletes file names records its
        upserts file (beside it, not in the lake yet) creates.
        """
        for entity, frame in published.items():
            if len(frame):
                self.pending.setdefault(entity, []).append(frame)

    def __call__(self, entity: str) -> pd.DataFrame:
        """Every current row (``lake.current_rows``, over the pending rows too)."""
        mode, pending = self.mode_of(entity), self.pending.get(entity, [])
        return _current_with_pending(self.paths, self.source, entity, mode, pending)

    def by_id(self, entity: str, ids: Iterable) -> pd.DataFrame:
        """The current rows whose ``source_record_id`` is one of ``ids``: the rows of
        ``lake.current_rows`` with such an id, in its order, holding the key columns and
        ``source_record_id`` (plus the bookkeeping columns)."""
        mode, pending = self.mode_of(entity), self.pending.get(entity)
        return current_rows_by_id(self.paths, self.source, entity, mode, ids, pending)


def current_rows_by_id(
    paths: Paths,
    source: str,
    entity: str,
    mode: str,
    ids: Iterable,
    pending: list[pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """``lake.current_rows(...)`` restricted to the rows whose ``source_record_id`` is in
    ``ids``, reading from the lake only the rows that can decide them.

    Incremental: a key is current in its latest row (by ``_applied_at``, ``_delivery_id``,
    ``_row_number``), unless that row is a tombstone. A current row with a wanted id is the
    latest row of its key, so it is enough to read every row of the keys that some row with
    a wanted id has; the rule applied to them (as ``lake.current_rows`` applies it) gives
    the same rows, in the same relative order. Snapshot: the rows of the latest delivery
    (``_applied_at``, over all rows) with a wanted id that are not tombstones.

    Rows come back in the order ``lake.read_published`` reads them (files in path order,
    DuckDB's glob order, and rows in file order) before the rule sorts them, so ties of the
    sort resolve as there.

    ``pending`` are rows audited but not published
    (:meth:`PublishedRows.include`), counted after the lake's rows as if published last.
    """
    spec = ENTITIES[entity]
    key = list(spec.key)
    columns = [*key, *(c for c in _BY_ID_COLUMNS if c not in key)]
    wanted = sorted({str(i) for i in ids if i is not None and not pd.isna(i)})
    files = paths.store.scan(source, f"{entity}.parquet")
    pending = pending or []
    if not wanted or (files is None and not pending):
        return lake.entity_schema(entity).empty_table().select(columns).to_pandas()
    cols = ", ".join(f'"{c}"' for c in columns)
    select = ", ".join(f'r."{c}"' for c in columns)
    scan = "read_parquet(?, union_by_name = true, filename = true, file_row_number = true)"
    # Every row in read order: the lake's files in path order, rows in file order, then
    # the pending rows. The first branch of a union names its columns.
    parts, params = [], []
    if files is not None:
        parts.append(
            f"select {cols}, 0 as _part, filename as _file, file_row_number as _pos from {scan}"
        )
        params.append(files)
    if pending:
        parts.append(f"select {cols}, 1 as _part, '' as _file, _pos from _pending")
    if mode == "snapshot":
        sql = f"""
            with all_rows as ({" union all ".join(parts)})
            select {select} from all_rows r
            where r._applied_at = (select max(_applied_at) from all_rows)
              and r.source_record_id in (select id from _wanted)
            order by r._part, r._file, r._pos
        """
    else:
        same_key = " and ".join(f'r."{k}" is not distinct from h."{k}"' for k in key)
        keys = ", ".join(f'"{k}"' for k in key)
        sql = f"""
            with all_rows as ({" union all ".join(parts)}),
            hits as (
                select distinct {keys} from all_rows
                where source_record_id in (select id from _wanted)
            )
            select {select} from all_rows r
            where exists (select 1 from hits h where {same_key})
            order by r._part, r._file, r._pos
        """
    try:
        with lake.connect(paths) as con:
            con.register("_wanted", pa.table({"id": pa.array(wanted, type=pa.string())}))
            if pending:
                extra = lake.entity_table(entity, pd.concat(pending, ignore_index=True))
                extra = extra.select(columns)
                positions = pa.array(range(extra.num_rows), type=pa.int64())
                con.register("_pending", extra.append_column("_pos", positions))
            rows = con.execute(sql, params).df()
    except duckdb.BinderException:  # a column no delivery has (a lake older than its
        full = _current_with_pending(paths, source, entity, mode, pending)  # the long way
        if "source_record_id" not in full:
            return full
        return full[full["source_record_id"].isin(wanted)].reset_index(drop=True)
    # From here on, lake.current_rows' rule, on these rows only (a snapshot's rows are
    # all of the latest delivery already).
    rows = lake.apply_current_rule(rows, entity, mode)
    if rows.empty:
        return rows
    return rows[rows["source_record_id"].isin(wanted)].reset_index(drop=True)


def _current_with_pending(
    paths: Paths, source: str, entity: str, mode: str, pending: list[pd.DataFrame]
) -> pd.DataFrame:
    """``lake.current_rows`` over the published rows followed by the pending ones."""
    if not pending:
        return lake.current_rows(paths, source, entity, mode)
    rows = lake.read_published(paths, source, entity)
    rows = pd.concat([r for r in (rows, *pending) if len(r)], ignore_index=True)
    return lake.apply_current_rule(rows, entity, mode)


def _typed_current(rows: pd.DataFrame, entity: str) -> pd.DataFrame:
    spec = ENTITIES[entity]
    out = {}
    for name in (*spec.key, "source_record_id"):
        col = spec.columns[name]
        s = rows[name].reset_index(drop=True) if name in rows else pd.Series([None] * len(rows))
        if col.type == "date":
            s = pd.to_datetime(s, errors="coerce").astype("datetime64[ns]")
        else:
            s = s.astype(object).where(s.notna(), None).astype(PANDAS_DTYPES[col.type])
        out[name] = s
    return pd.DataFrame(out)


def audit_tombstones(
    entity: str,
    text: pd.DataFrame,
    date_formats: dict[str, str],
    lookup: Lookup | None,
    source: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(typed tombstone rows with every contract column, violations by row position)."""
    spec = ENTITIES[entity]
    n = len(text)
    names = (*spec.key, "source_record_id")
    pieces = [empty_violations()]
    cast: dict[str, pd.Series] = {}
    for name in names:
        values, v = cast_column(
            text[name].reset_index(drop=True), spec.columns[name], date_formats.get(name)
        )
        cast[name] = values.astype(PANDAS_DTYPES[spec.columns[name].type])
        pieces.append(v)
    frame = pd.DataFrame(cast)
    ids = frame["source_record_id"]
    current = None
    if lookup is not None and ids.notna().any():
        by_id = getattr(lookup, "by_id", None)  # only what the ids name, if it can
        current = by_id(entity, ids) if by_id is not None else lookup(entity)
    if current is not None and len(current) and "source_record_id" in current:
        typed = _typed_current(current, entity)
        typed = typed[typed["source_record_id"].notna()].drop_duplicates(
            "source_record_id", keep="last"
        )
        by_id = typed.set_index("source_record_id")
        hit = ids.isin(by_id.index).fillna(False).to_numpy(dtype=bool)
        if hit.any():
            found = by_id.loc[ids[hit].astype(str).tolist()]
            for name in spec.key:
                values = frame[name].copy()
                values.iloc[np.flatnonzero(hit)] = found[name].to_numpy()
                frame[name] = values
    required = [k for k in spec.key if spec.columns[k].required]
    incomplete = frame[required].isna().any(axis=1).to_numpy(dtype=bool)
    if incomplete.any():
        rows = np.flatnonzero(incomplete)
        values = ids.iloc[rows]
        messages = [
            (
                f"deletes id '{v}', but no published {entity} row of source {source} has that "
                "id (already deleted, or never loaded); nothing to delete"
                if not pd.isna(v)
                else f"the deleted record carries neither its key ({', '.join(spec.key)}) "
                "nor an id; nothing to delete"
            )
            for v in values
        ]
        pieces.append(violation_frame(rows, UNKNOWN_DELETE, "source_record_id", values, messages))
    violations = pd.concat(pieces, ignore_index=True)[VIOLATION_COLUMNS]
    full = {}
    for name, col in spec.columns.items():
        if name in frame:
            full[name] = frame[name]
        else:
            full[name] = pd.Series([None] * n, dtype=PANDAS_DTYPES[col.type])
    return pd.DataFrame(full), violations
