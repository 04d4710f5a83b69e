"""Standard formats mapped to canonical parts: OneRoster CSV bundles and Ed-Fi API JSON.

A csv/xlsx/parquet source says in its YAML which header feeds which canonical column; a
standard format's columns are fixed by the standard, so its mapping lives here, once:

    entities_of(source, path) -> [entity]            known before reading (for the ledger)
    read_parts(source, path, lookup) -> [Part]        one part per entity the delivery feeds

Each :class:`wholechild.parts.Part` holds canonical columns as text; from there the
pipeline maps (YAML constants and codes), audits and publishes exactly as for a CSV.
``lookup(entity)`` returns the source's current published rows (Ed-Fi behavior records
borrow their incident's date from them); it may be None (``wholechild validate``).
"""

from __future__ import annotations

from pathlib import Path

from wholechild.parts import Part
from wholechild.registry import Source


def entities_of(source: Source, path: Path) -> list[str]:
    if source.format == "oneroster":
        return list(source.entities)
    from wholechild.standards import edfi

    return [edfi.entity_of(source, path)]


def read_parts(source: Source, path: Path, lookup=None) -> list[Part]:
    if source.format == "oneroster":
        from wholechild.standards import oneroster

        return oneroster.read_parts(source, path)
    from wholechild.standards import edfi

    return edfi.read_parts(source, path, lookup)
