"""A delivery as (entity, table) parts: what write-audit-publish maps and audits one by one.

A csv/xlsx/parquet delivery is one part (its export's entity, the file as read). A
OneRoster bundle is up to three (school from orgs.csv, student from users.csv,
section_enrollment from enrollments.csv) and an Ed-Fi resource file is one. Each part is
mapped and audited on its own, its file rules (duplicate keys, reject rate) apply to it
alone, and the delivery's ledger row sums the parts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from quality.violations import VIOLATION_COLUMNS
from wholechild.readers import RawTable
from wholechild.registry import ColumnMapping, Export

#: The rule of a delete that names nothing published: reported, never counted against the
#: source's max_reject_rate (deleting what is already gone is not bad data).
UNKNOWN_DELETE = "unknown_delete"


@dataclass
class Part:
    """One entity's rows of one delivery, as text, ready for :func:`wholechild.mapping.map_table`.

    ``table.row_numbers`` number the rows in the file ``label`` names (for a bundle member,
    ``bundle.zip:users.csv``), so a quarantined row points at the line a steward opens.
    """

    entity: str
    export: Export
    table: RawTable
    label: str
    #: violations found before mapping (an unmapped Ed-Fi descriptor), by table row position
    violations: pd.DataFrame | None = None
    #: per table row: the row is a tombstone deleting its key (OneRoster ``tobedeleted``,
    #: an Ed-Fi deletes file); None means no tombstones
    deleted: np.ndarray | None = None
    #: the raw record of each table row, for the quarantine (default: the row as JSON)
    records: list[str] | None = None
    #: or the rows as delivered (a bundle member's own columns), aligned with the table
    source_frame: pd.DataFrame | None = None

    def record_text(self, positions: np.ndarray) -> list[str]:
        if self.records is not None:
            return [self.records[int(i)] for i in positions]
        frame = (self.source_frame if self.source_frame is not None else self.table.frame).iloc[
            positions
        ]
        return [
            json.dumps({k: (None if pd.isna(v) else v) for k, v in rec.items()}, ensure_ascii=False)
            for rec in frame.to_dict(orient="records")
        ]

    def subset(self, keep: np.ndarray, with_bad_records: bool) -> Part:
        """The part restricted to the table rows ``keep`` (a boolean mask)."""
        positions = np.flatnonzero(keep)
        new_position = np.full(len(keep), -1, dtype=np.int64)
        new_position[positions] = np.arange(len(positions))
        violations = None
        if self.violations is not None and len(self.violations):
            v = self.violations[keep[self.violations["row"].to_numpy(dtype="int64")]].copy()
            v["row"] = new_position[v["row"].to_numpy(dtype="int64")]
            violations = v[VIOLATION_COLUMNS].reset_index(drop=True)
        table = RawTable(
            file=self.table.file,
            headers=list(self.table.headers),
            frame=self.table.frame.iloc[positions].reset_index(drop=True),
            row_numbers=self.table.row_numbers[positions],
            bad_records=list(self.table.bad_records) if with_bad_records else [],
        )
        return Part(
            entity=self.entity,
            export=self.export,
            table=table,
            label=self.label,
            violations=violations,
            deleted=None,
            records=None if self.records is None else [self.records[i] for i in positions],
            source_frame=None
            if self.source_frame is None
            else self.source_frame.iloc[positions].reset_index(drop=True),
        )


def standard_export(export: Export, provided: list[str], codes: dict | None = None) -> Export:
    """The export a standard-format part is mapped with: its frame already holds canonical
    columns, so each maps to itself; YAML constants override a column the standard fills,
    and ``codes`` (the standard's own code tables, YAML entries winning) translate values."""
    columns = {c: ColumnMapping(c) for c in provided if c not in export.constants}
    return Export(
        entity=export.entity,
        match=export.match,
        columns=columns,
        constants=dict(export.constants),
        codes=dict(codes or {}),
        unpivot=None,
        mode=export.mode,
        student_id=export.student_id,
    )
