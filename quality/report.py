"""Delivery reports: what a steward reads beside a rejected (or archived) file.

``report.json`` is for machines (CI of a vendor, ``wholechild validate --json``);
``report.txt`` is the same story in sentences. Values are shown, whole records are not:
a report travels by email and must not carry a student's full row.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

MAX_EXAMPLES = 20


def summarize(outcome: Any) -> dict:
    """A JSON-able summary of a delivery outcome (see wholechild.pipeline.DeliveryOutcome)."""
    q: pd.DataFrame = outcome.quarantine
    rules = Counter(q["rule"]) if len(q) else Counter()
    examples = []
    for row in q.head(MAX_EXAMPLES).itertuples(index=False):
        examples.append(
            {
                "row": None if pd.isna(row.row_number) else int(row.row_number),
                "rule": row.rule,
                "column": row.column_name or None,
                "value": None if pd.isna(row.value) else row.value,
                "message": row.message,
            }
        )
    return {
        "delivery_id": outcome.delivery_id,
        "source": outcome.source,
        "file": outcome.file_name,
        "sha256": outcome.sha256,
        "status": outcome.status,
        "reason": outcome.reason,
        "rows_read": outcome.rows_read,
        "rows_published": outcome.rows_published,
        "rows_quarantined": outcome.rows_quarantined,
        "entities": {
            e: {"published": p, "quarantined": qn} for e, (p, qn) in outcome.entity_counts.items()
        },
        "violations_by_rule": dict(rules.most_common()),
        "examples": examples,
    }


def render_text(summary: dict) -> str:
    lines = [
        f"Delivery {summary['file']} from source {summary['source']}: {summary['status']}.",
    ]
    if summary["reason"]:
        lines.append(f"Reason: {summary['reason']}")
    lines.append(
        f"Rows read {summary['rows_read']}, published {summary['rows_published']}, "
        f"quarantined {summary['rows_quarantined']}."
    )
    if summary["violations_by_rule"]:
        lines.append("Violations by rule:")
        lines += [f"  {rule}: {n}" for rule, n in summary["violations_by_rule"].items()]
        lines.append("First violations:")
        for ex in summary["examples"]:
            where = f"row {ex['row']}" if ex["row"] is not None else "file"
            lines.append(f"  {summary['file']} {where}: {ex['message']} (rule {ex['rule']})")
    return "\n".join(lines) + "\n"


def write_reports(folder: Path, summary: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    path = folder / "report.txt"
    path.write_text(render_text(summary))
    return path
