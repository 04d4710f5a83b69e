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
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from quality.validate import cast_column
from quality.violations import VIOLATION_COLUMNS, empty_violations, violation_frame
from schemas import ENTITIES
from schemas._base import PANDAS_DTYPES
from wholechild.parts import UNKNOWN_DELETE

#: entity -> the current published rows of the delivery's source (``lake.current_rows``)
Lookup = Callable[[str], pd.DataFrame]


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
    current = lookup(entity) if lookup is not None and ids.notna().any() else None
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
