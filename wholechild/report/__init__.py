"""The HTML equity and readiness report (``wholechild report``, and the Dagster asset
``reports/equity_readiness_report``).

One self-contained HTML file built from the analyst share (``$WHOLECHILD_HOME/share/
*.parquet``, read-only): coverage by domain and growth points, readiness distribution,
chronic absence by school, equity gaps by metric and subgroup (district and per school),
IDEA disproportionality with flags, and the privacy rules and limits. Published rates
are the marts' ``rate_display``; suppressed cells say so and are never drawn as zero. A
mart that is not built yet leaves its section saying so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from wholechild.config import Paths
from wholechild.report import data as report_data
from wholechild.report.data import MARTS, NoMartsError
from wholechild.report.html import SECTIONS, render

__all__ = [
    "MARTS",
    "SECTIONS",
    "NoMartsError",
    "ReportResult",
    "build_report",
    "default_output",
    "write_report",
]

REPORT_FILE = "wholechild_report.html"


@dataclass(frozen=True)
class ReportResult:
    path: Path
    size_bytes: int
    school_year: int | None
    #: section ids, in page order
    sections: tuple[str, ...]
    marts_read: tuple[str, ...]
    marts_missing: tuple[str, ...]


def default_output(paths: Paths) -> Path:
    """``$WHOLECHILD_HOME/reports/wholechild_report.html`` (``share/`` holds marts only)."""
    return paths.home / "reports" / REPORT_FILE


def write_report(
    paths: Paths, out: Path | None = None, *, now: datetime | None = None
) -> ReportResult:
    """Read the share, render the report and write it atomically to ``out``."""
    data = report_data.load(paths, now=now)
    page = render(data)
    out = Path(out) if out is not None else default_output(paths)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, out)
    return ReportResult(
        path=out,
        size_bytes=out.stat().st_size,
        school_year=data.school_year,
        sections=tuple(sid for sid, _ in SECTIONS),
        marts_read=tuple(m for m, ok in data.present.items() if ok),
        marts_missing=tuple(m for m, ok in data.present.items() if not ok),
    )


def build_report(paths: Paths, out: Path | None = None) -> Path:
    """Write the report (default :func:`default_output`) and return its path. Raises
    :class:`NoMartsError` when the share holds no mart yet."""
    return write_report(paths, out).path
