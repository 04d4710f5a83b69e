"""The HTML equity and readiness report as an asset: ``reports/equity_readiness_report``.

It depends on the marts it reads (those the dbt project defines; a mart the project lacks
is simply not a dependency, and its section of the report says "not built yet"), rebuilds
by the same preset as the dbt models once they are rebuilt and their blocking checks
passed, and writes the same file as ``wholechild report`` (``wholechild.report``):
``$WHOLECHILD_HOME/reports/wholechild_report.html``. It reads the analyst share's Parquet
files only (the dbt asset writes them after each build), so it needs no warehouse lock.
Its metadata are the path, the sections and the size: no student-level value.
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

from orchestration import automation, runtime
from wholechild import report

REPORT_KEY = dg.AssetKey(["reports", "equity_readiness_report"])
GROUP = "reports"
#: The marts the report reads, as the dbt assets name them.
MART_KEYS = tuple(dg.AssetKey(["marts", mart]) for mart in report.MARTS)


def report_deps(available: Iterable[dg.AssetKey]) -> list[dg.AssetKey]:
    """The report's marts that exist among ``available`` (the loaded dbt asset keys)."""
    have = set(available)
    return [k for k in MART_KEYS if k in have]


def report_metadata(result: report.ReportResult) -> dict:
    return {
        "path": dg.MetadataValue.path(str(result.path)),
        "size_bytes": dg.MetadataValue.int(result.size_bytes),
        "sections": ", ".join(result.sections),
        "school_year": dg.MetadataValue.int(result.school_year)
        if result.school_year is not None
        else "unknown",
        "marts_read": ", ".join(f"marts.{m}" for m in result.marts_read) or "none",
        "marts_not_built": ", ".join(f"marts.{m}" for m in result.marts_missing) or "none",
    }


def report_asset(deps: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        key=REPORT_KEY,
        deps=deps,
        group_name=GROUP,
        kinds={"python", "html"},
        automation_condition=automation.after_upstream_contracts_pass(),
        description=(
            "The equity and readiness report (PRODUCT.md, `wholechild report`): one "
            "self-contained HTML file (no script, no external reference) with coverage by "
            "domain and growth points, readiness distribution, chronic absence by school, "
            "equity gaps by metric and subgroup (district and each school), IDEA "
            "disproportionality with flags, and the privacy rules and known limits. "
            "Published rates only (rate_display); suppressed cells say so, never 0. Read "
            "from the analyst share; written to $WHOLECHILD_HOME/reports/"
            "wholechild_report.html."
        ),
        tags={"wholechild/sensitivity": "published"},
    )
    def equity_readiness_report() -> dg.MaterializeResult:
        try:
            result = report.write_report(runtime.paths())
        except report.NoMartsError as exc:
            raise dg.Failure(description=str(exc)) from None
        return dg.MaterializeResult(metadata=report_metadata(result))

    return equity_readiness_report


def build_defs(available: Iterable[dg.AssetKey]) -> dg.Definitions:
    """The report asset, depending on the marts found among ``available``."""
    return dg.Definitions(assets=[report_asset(report_deps(available))])
