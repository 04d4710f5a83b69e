"""Pseudonymous student keys: the one identity step that must run in Python.

``student_key`` is HMAC-SHA-256 of the district id under ``WHOLECHILD_PSEUDONYM_KEY``.
DuckDB has no HMAC, and a key passed to dbt as a var would be written into ``target/``,
so Python computes the keys of the roster's students into ``lake/pii/student_keys.parquet``
(readable by the owner only, :func:`keys_url`). dbt does the matching of every source's ``student_ref`` to
the roster in SQL (``int_student_identity``) and joins these keys; marts see only the key.
"""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd
import pyarrow as pa

from wholechild import config, lake
from wholechild.config import Paths
from wholechild.registry import Registry

KEYS_FILE = "student_keys.parquet"
KEYS_SCHEMA = pa.schema([("district_id", pa.string()), ("student_key", pa.string())])


def student_key(district_id: str, key: bytes) -> str:
    """The keyed hash of one district id (hex, 32 characters: 128 bits is plenty)."""
    return hmac.new(key, district_id.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def keys_url(paths: Paths) -> str:
    """Where the keys live: ``<lake>/pii/student_keys.parquet``, owner-only on a
    filesystem; on an object store the bucket's policy on ``pii/`` guards them."""
    return paths.store.url("pii", KEYS_FILE)


def district_ids(registry: Registry, paths: Paths) -> pd.Series:
    """The roster's district ids: ``local_id``, else the ``student_ref`` of a local-id roster."""
    roster = registry.roster
    if roster is None or "student" not in roster.entities:
        return pd.Series([], dtype="string")
    export = next(e for e in roster.exports if e.entity == "student")
    rows = lake.current_rows(paths, roster.name, "student", export.mode)
    if rows.empty:
        return pd.Series([], dtype="string")
    ids = rows["local_id"].astype("string")
    if export.student_id.kind == "local":
        ids = ids.fillna(rows["student_ref"].astype("string"))
    ids = ids.str.strip()
    return ids[ids.notna() & (ids != "")].drop_duplicates().sort_values().reset_index(drop=True)


def build_student_keys(registry: Registry, paths: Paths) -> str:
    """Write the key of every roster student, atomically; returns the file."""
    key = config.pseudonym_key()
    ids = district_ids(registry, paths)
    table = pa.table(
        {"district_id": ids.tolist(), "student_key": [student_key(i, key) for i in ids]},
        schema=KEYS_SCHEMA,
    )
    url = keys_url(paths)
    paths.store.write_parquet(table, url, private=True)
    return url
