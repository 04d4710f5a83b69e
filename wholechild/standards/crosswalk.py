"""The Ed-Fi descriptor crosswalk: ``dbt_project/seeds/xwalk_edfi_descriptors.csv``.

The same CSV is a dbt seed, so a district edits one file and both the ingest and the
warehouse see the change. A descriptor value (``uri://ed-fi.org/GradeLevelDescriptor#Sixth
grade``) is looked up by namespace and code value, then by descriptor name and code value
in any namespace (a district's own namespace reusing the Ed-Fi code values), case-blind.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from schemas import ENTITIES
from wholechild import config
from wholechild.readers import DeliveryRejected

SEED_NAME = "xwalk_edfi_descriptors.csv"
COLUMNS = ("descriptor", "namespace", "code_value", "canonical_column", "canonical_code")

#: lookup() says: the value maps to a code, maps to "no canonical equivalent", or is unknown
MAPPED, EMPTY, UNKNOWN = "mapped", "empty", "unknown"


def seed_path() -> Path:
    return config.dbt_project_dir() / "seeds" / SEED_NAME


def split_descriptor(value: str) -> tuple[str, str, str]:
    """(namespace, descriptor name, code value) of a descriptor URI; a bare code value has
    no namespace."""
    if "#" not in value:
        return "", "", value.strip()
    namespace, code = value.rsplit("#", 1)
    name = namespace.rstrip("/").rsplit("/", 1)[-1]
    return namespace.strip(), name.strip(), code.strip()


def _allowed(column: str) -> tuple[str, ...] | None:
    """The codes a canonical column accepts (over every entity that has it)."""
    codes: set[str] = set()
    found = False
    for spec in ENTITIES.values():
        col = spec.columns.get(column)
        if col is None:
            continue
        found = True
        if col.type == "boolean":
            codes |= {"true", "false"}
        elif col.codes:
            codes |= set(col.codes)
    return tuple(sorted(codes)) if found and codes else None


@dataclass(frozen=True)
class Crosswalk:
    by_namespace: dict[tuple[str, str, str], str | None]
    by_descriptor: dict[tuple[str, str, str], str | None]
    path: Path

    def lookup(self, value: str, column: str, descriptor: str) -> tuple[str, str | None]:
        """(MAPPED|EMPTY|UNKNOWN, canonical code) of one descriptor value for ``column``."""
        namespace, name, code = split_descriptor(value)
        key = (namespace.lower(), code.lower(), column)
        if key in self.by_namespace:
            hit = self.by_namespace[key]
        else:
            key = ((name or descriptor).lower(), code.lower(), column)
            if key not in self.by_descriptor:
                return UNKNOWN, None
            hit = self.by_descriptor[key]
        return (MAPPED, hit) if hit else (EMPTY, None)


def load(path: Path | None = None) -> Crosswalk:
    path = path or seed_path()
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        raise DeliveryRejected(
            "crosswalk",
            f"{path.name}: the Ed-Fi descriptor crosswalk is missing from {path.parent}; "
            "restore it from the repository.",
        ) from None
    return _load(path, stamp)


@lru_cache(maxsize=4)
def _load(path: Path, stamp: int) -> Crosswalk:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DeliveryRejected(
                "crosswalk",
                f"{path.name}: has no column {', '.join(missing)}; its header must be "
                f"{', '.join(COLUMNS)}, description.",
            )
        by_namespace: dict[tuple[str, str, str], str | None] = {}
        by_descriptor: dict[tuple[str, str, str], str | None] = {}
        for number, row in enumerate(reader, start=2):
            column = (row["canonical_column"] or "").strip()
            code = (row["canonical_code"] or "").strip() or None
            allowed = _allowed(column)
            if allowed is None:
                raise DeliveryRejected(
                    "crosswalk",
                    f"{path.name} row {number}: canonical_column '{column}' is not a canonical "
                    "column with a code set.",
                )
            if code is not None and code not in allowed:
                raise DeliveryRejected(
                    "crosswalk",
                    f"{path.name} row {number}: canonical_code '{code}' is not one of "
                    f"{', '.join(allowed)} (the codes of {column}).",
                )
            value = (row["code_value"] or "").strip().lower()
            by_namespace[((row["namespace"] or "").strip().lower(), value, column)] = code
            by_descriptor.setdefault(
                ((row["descriptor"] or "").strip().lower(), value, column), code
            )
    return Crosswalk(by_namespace, by_descriptor, path)
