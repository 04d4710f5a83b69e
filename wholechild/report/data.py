"""What the report shows, read from the analyst share only.

Every mart is read with an in-memory DuckDB from ``$WHOLECHILD_HOME/share/<mart>.parquet``
(never the warehouse, so the report needs no lock and can run while dbt builds). A mart
that is not in the share leaves its section ``None``: the page says "not built yet".

Nothing here keeps a student-level value: readiness and attendance are aggregated in SQL,
and every rate that leaves this module is a published text (the mart's ``rate_display``,
or the same top/bottom coding applied here to an aggregate, see :func:`code_rate`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import yaml

from wholechild import config
from wholechild.config import Paths
from wholechild.warehouse import quote_literal

COVERAGE = "mart_interoperability_coverage"
GROWTH = "mart_growth_points"
READINESS = "mart_student_readiness"
ATTENDANCE = "fct_student_attendance_year"
EQUITY = "mart_equity_gaps"
DISPROPORTIONALITY = "mart_disproportionality"

#: The marts the report reads, in the order of its sections.
MARTS = (COVERAGE, GROWTH, READINESS, ATTENDANCE, EQUITY, DISPROPORTIONALITY)
#: Labels schools by name where present; no section of its own.
SCHOOLS = "dim_school"

READINESS_STATUSES = ("on_track", "watch", "off_track", "no_data")

#: dbt vars (dbt_project.yml) behind each rule, used when a mart does not say.
RULE_VARS = {
    "suppression_min_n": "wholechild:equity:suppression_min_n",
    "chronic_threshold": "wholechild:attendance:chronic_threshold",
    "chronic_min_days": "wholechild:attendance:chronic_min_days",
    "partial_day_rule": "wholechild:attendance:partial_day_rule",
    "idea_min_cell": "wholechild:idea:min_cell",
    "idea_min_n": "wholechild:idea:min_n",
    "idea_risk_ratio_threshold": "wholechild:idea:risk_ratio_threshold",
    "idea_consecutive_years": "wholechild:idea:consecutive_years",
}

RULE_DEFAULTS = {
    "suppression_min_n": 10,
    "chronic_threshold": 0.10,
    "chronic_min_days": 10,
    "partial_day_rule": "fraction",
    "idea_min_cell": 10,
    "idea_min_n": 30,
    "idea_risk_ratio_threshold": 3.0,
    "idea_consecutive_years": 1,
}

#: The env var that names the district in the report's header.
DISTRICT_NAME_ENV = "WHOLECHILD_DISTRICT_NAME"


class NoMartsError(Exception):
    """The share holds no mart at all: nothing to report yet."""


# --------------------------------------------------------------------------- coding
#: Top/bottom coding tiers (METRICS.md, NCES SLDS brief 2011-603 style): smallest n of
#: the tier, then the top and bottom bounds in whole percent.
CODING_TIERS = ((300, 99, 1), (100, 98, 2), (40, 95, 5), (10, 90, 10))


def code_rate(n_outcome: int, n: int, min_n: int) -> str | None:
    """The published text of ``n_outcome / n``, exactly as the equity mart codes its
    ``rate_display`` (macros/equity_rules.sql): ``None`` when ``n`` is below ``min_n``
    (suppressed), else top/bottom coded by ``n``, else the rate rounded half up."""
    if n < max(min_n, 1):
        return None
    for smallest, top, bottom in CODING_TIERS:
        if n >= smallest:
            if 100 * n_outcome >= top * n:
                return f">={top}%"
            if 100 * n_outcome <= bottom * n:
                return f"<={bottom}%"
            break
    return f"{(200 * n_outcome + n) // (2 * n)}%"


_DISPLAY = re.compile(r"^(>=|<=)?\s*(\d+(?:\.\d+)?)\s*%$")


def display_value(display: str | None) -> float | None:
    """The number a coded rate text stands for (``'>=95%'`` -> 95, ``'37%'`` -> 37), so a
    chart draws what is published and nothing finer; ``None`` for any suppressed text."""
    if not display:
        return None
    m = _DISPLAY.match(display.strip())
    return float(m.group(2)) if m else None


def is_exact_display(display: str | None) -> bool:
    return bool(display) and display_value(display) is not None and display[0].isdigit()


# --------------------------------------------------------------------------- data
@dataclass
class Rules:
    values: dict[str, Any]
    #: rule -> where its value came from ("mart X" or "dbt_project.yml")
    origin: dict[str, str]

    def __getitem__(self, key: str) -> Any:
        return self.values[key]


@dataclass
class ReadinessRow:
    indicator: str
    n_students: int
    #: status -> coded share text, or None for every status when the row is suppressed
    shares: dict[str, str | None]

    @property
    def suppressed(self) -> bool:
        return all(v is None for v in self.shares.values())


@dataclass
class SchoolRate:
    school_id: str
    display: str | None  # None: suppressed (fewer than min_n students counted)


@dataclass
class ChronicAbsence:
    schools: list[SchoolRate]
    district_display: str | None
    district_basis: str  # where the district rate comes from


@dataclass
class EquityCell:
    scope: str
    school_id: str | None
    metric: str
    dimension: str
    subgroup: str
    subgroup_order: int
    rate_display: str | None
    is_suppressed: bool
    suppression_reason: str | None


@dataclass
class Equity:
    cells: list[EquityCell]
    #: (scope, school_id, metric) -> coded rate of all students in scope, None if suppressed
    all_students: dict[tuple[str, str | None, str], str | None]
    metrics: list[str]
    schools: list[str]


@dataclass
class DisproportionalityRow:
    category: str
    race_ethnicity: str
    group_risk: float | None
    comparison_source: str
    comparison_risk: float | None
    risk_ratio: float | None
    is_calculated: bool
    reason: str | None
    exceeds_threshold: bool
    consecutive_years_exceeded: int | None


@dataclass
class ReportData:
    paths: Paths
    generated_at: datetime
    district: str
    school_year: int | None
    as_of_date: date | None
    rules: Rules
    present: dict[str, bool]
    coverage: list[dict[str, Any]] | None = None
    growth_points: list[dict[str, Any]] | None = None
    readiness: list[ReadinessRow] | None = None
    chronic: ChronicAbsence | None = None
    equity: Equity | None = None
    disproportionality: list[DisproportionalityRow] | None = None
    notes: list[str] = field(default_factory=list)
    #: school_id -> name, from marts.dim_school (empty without it)
    school_names: dict[str, str] = field(default_factory=dict)

    def school_label(self, school_id: str | None) -> str:
        """ "Lincoln Elementary (101)" where the name is known, else "School 101"."""
        name = self.school_names.get(str(school_id))
        return f"{name} ({school_id})" if name else f"School {school_id}"

    def mart_path(self, mart: str) -> Path:
        return self.paths.share / f"{mart}.parquet"


def mart_file(paths: Paths, mart: str) -> Path:
    return paths.share / f"{mart}.parquet"


class _Share:
    """Read-only access to the share's Parquet files through an in-memory DuckDB."""

    def __init__(self, paths: Paths):
        self.paths = paths
        self.con = duckdb.connect(":memory:")

    def has(self, mart: str) -> bool:
        return mart_file(self.paths, mart).is_file()

    def columns(self, mart: str) -> set[str]:
        rows = self.con.execute(f"describe select * from {self.src(mart)}").fetchall()
        return {r[0] for r in rows}

    def src(self, mart: str) -> str:
        return f"read_parquet({quote_literal(str(mart_file(self.paths, mart)))})"

    def rows(self, sql: str, params: list | None = None) -> list[dict[str, Any]]:
        cur = self.con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def close(self) -> None:
        self.con.close()


def dbt_vars(project_dir: Path | None = None) -> dict[str, Any]:
    path = (project_dir or config.dbt_project_dir()) / "dbt_project.yml"
    try:
        return (yaml.safe_load(path.read_text()) or {}).get("vars") or {}
    except (OSError, yaml.YAMLError):
        return {}


def _rules(share: _Share, year: int | None) -> Rules:
    project = dbt_vars()
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for key, var in RULE_VARS.items():
        if var in project and project[var] is not None:
            values[key], origin[key] = project[var], "dbt_project.yml"
        else:
            values[key], origin[key] = RULE_DEFAULTS[key], "METRICS.md default"
    # What the marts record as the rule that produced them wins over the project file
    # (a build may have run with --vars).
    from_marts = {
        EQUITY: {"suppression_min_n": "suppression_min_n"},
        ATTENDANCE: {
            "chronic_threshold": "chronic_threshold",
            "chronic_min_days": "chronic_min_days",
            "partial_day_rule": "partial_day_rule",
        },
        DISPROPORTIONALITY: {
            "idea_min_cell": "min_cell",
            "idea_min_n": "min_n",
            "idea_risk_ratio_threshold": "risk_ratio_threshold",
            "idea_consecutive_years": "consecutive_years_required",
        },
    }
    for mart, mapping in from_marts.items():
        if not share.has(mart):
            continue
        cols = share.columns(mart)
        wanted = {k: c for k, c in mapping.items() if c in cols}
        if not wanted:
            continue
        select = ", ".join(f"any_value({c}) as {k}" for k, c in wanted.items())
        where = " where school_year = ?" if year is not None and "school_year" in cols else ""
        row = share.rows(f"select {select} from {share.src(mart)}{where}", [year] if where else [])
        for key, value in (row[0] if row else {}).items():
            if value is not None:
                values[key], origin[key] = value, f"marts.{mart}"
    return Rules(values, origin)


def _school_year(share: _Share) -> int | None:
    years = []
    for mart in (EQUITY, READINESS, ATTENDANCE, DISPROPORTIONALITY):
        if share.has(mart) and "school_year" in share.columns(mart):
            y = share.rows(f"select max(school_year) as y from {share.src(mart)}")[0]["y"]
            if y is not None:
                years.append(int(y))
    return max(years) if years else None


def _year_filter(share: _Share, mart: str, year: int | None) -> tuple[str, list]:
    if year is not None and "school_year" in share.columns(mart):
        return " where school_year = ?", [year]
    return "", []


# --------------------------------------------------------------------------- sections
def _coverage(share: _Share) -> list[dict[str, Any]]:
    cols = share.columns(COVERAGE)
    order = "domain_position, domain" if "domain_position" in cols else "domain"
    return share.rows(f"select * from {share.src(COVERAGE)} order by {order}")


def _growth_points(share: _Share) -> list[dict[str, Any]]:
    cols = share.columns(GROWTH)
    order = "growth_point_rank" if "growth_point_rank" in cols else "kind, domain"
    return share.rows(f"select * from {share.src(GROWTH)} order by {order}")


def _readiness(share: _Share, year: int | None, min_n: int) -> list[ReadinessRow]:
    where, params = _year_filter(share, READINESS, year)
    counts = share.rows(
        f"select indicator, status, count(distinct student_key) as n "
        f"from {share.src(READINESS)}{where} group by indicator, status",
        params,
    )
    per: dict[str, dict[str, int]] = {}
    for r in counts:
        per.setdefault(r["indicator"], {})[r["status"]] = int(r["n"])
    if "readiness_status" in share.columns(READINESS):
        overall = share.rows(
            f"select readiness_status as status, count(*) as n from (select distinct "
            f"student_key, readiness_status from {share.src(READINESS)}{where}) "
            "group by readiness_status",
            params,
        )
        if overall:
            per["overall"] = {r["status"]: int(r["n"]) for r in overall if r["status"]}
    order = ["attendance", "behavior", "course_performance", "assessment"]
    indicators = [i for i in order if i in per]
    indicators += sorted(i for i in per if i not in order and i != "overall")
    indicators += ["overall"] if "overall" in per else []
    out = []
    for ind in indicators:
        n = sum(per[ind].values())
        statuses = list(READINESS_STATUSES) + sorted(
            s for s in per[ind] if s not in READINESS_STATUSES
        )
        shares = {s: code_rate(per[ind].get(s, 0), n, min_n) for s in statuses}
        out.append(ReadinessRow(ind, n, shares))
    return out


def _school_names(share: _Share) -> dict[str, str]:
    if not {"school_id", "school_name"} <= share.columns(SCHOOLS):
        return {}
    rows = share.rows(
        f"select school_id, school_name from {share.src(SCHOOLS)} "
        "where school_id is not null and nullif(trim(school_name), '') is not null"
    )
    return {str(r["school_id"]): str(r["school_name"]).strip() for r in rows}


def _chronic(share: _Share, year: int | None, min_n: int, equity_present: bool) -> ChronicAbsence:
    where, params = _year_filter(share, ATTENDANCE, year)
    cols = share.columns(ATTENDANCE)
    if "chronic_min_days" in cols:
        counted = "days_enrolled >= chronic_min_days"
    else:
        counted = "is_chronically_absent is not null"
    rows = share.rows(
        f"select school_id, count(*) filter (where {counted}) as n, "
        f"count(*) filter (where {counted} and is_chronically_absent) as k "
        f"from {share.src(ATTENDANCE)}{where} group by school_id order by school_id",
        params,
    )
    schools = [
        SchoolRate(str(r["school_id"]), code_rate(int(r["k"]), int(r["n"]), min_n)) for r in rows
    ]
    district, basis = None, ""
    if equity_present:
        where_e, params_e = _year_filter(share, EQUITY, year)
        extra = " and " if where_e else " where "
        found = share.rows(
            f"select n_students + others_n as n, all_rate from {share.src(EQUITY)}{where_e}"
            f"{extra}scope = 'district' and metric = 'chronically_absent' "
            "and all_rate is not null and others_n is not null limit 1",
            params_e,
        )
        if found:
            n = int(found[0]["n"])
            district = code_rate(round(found[0]["all_rate"] * n), n, min_n)
            basis = "every student once, over all of their enrollments"
    if not basis:
        n = sum(int(r["n"]) for r in rows)
        k = sum(int(r["k"]) for r in rows)
        district = code_rate(k, n, min_n)
        basis = "the schools pooled (a student counted at each school)"
    return ChronicAbsence(schools, district, basis)


METRIC_ORDER = (
    "chronically_absent",
    "ela_proficient",
    "math_proficient",
    "off_track",
    "suspended",
    "advanced_course_enrolled",
    "taught_by_inexperienced_teacher",
    "gifted_identified",
)


def _equity(share: _Share, year: int | None, min_n: int) -> Equity:
    where, params = _year_filter(share, EQUITY, year)
    cols = share.columns(EQUITY)
    order_col = "subgroup_order" if "subgroup_order" in cols else "0"
    reason_col = "suppression_reason" if "suppression_reason" in cols else "null"
    rows = share.rows(
        f"select scope, school_id, metric, dimension, subgroup, {order_col} as subgroup_order, "
        f"rate_display, is_suppressed, {reason_col} as suppression_reason "
        f"from {share.src(EQUITY)}{where}",
        params,
    )
    cells = [
        EquityCell(
            scope=r["scope"],
            school_id=None if r["school_id"] is None else str(r["school_id"]),
            metric=r["metric"],
            dimension=r["dimension"],
            subgroup=r["subgroup"],
            subgroup_order=int(r["subgroup_order"] or 0),
            rate_display=r["rate_display"],
            is_suppressed=bool(r["is_suppressed"]),
            suppression_reason=r["suppression_reason"],
        )
        for r in rows
    ]
    # All students in scope: one coded rate per scope and metric, from the scope's total
    # (n_students + others_n of any of its rows; all_rate is NULL below min_n).
    totals = share.rows(
        f"select scope, school_id, metric, max(n_students + others_n) as n, "
        f"max(all_rate) as all_rate from {share.src(EQUITY)}{where} "
        "group by scope, school_id, metric",
        params,
    )
    all_students: dict[tuple[str, str | None, str], str | None] = {}
    for t in totals:
        key = (t["scope"], None if t["school_id"] is None else str(t["school_id"]), t["metric"])
        if t["all_rate"] is None or t["n"] is None:
            all_students[key] = None
        else:
            n = int(t["n"])
            all_students[key] = code_rate(round(t["all_rate"] * n), n, min_n)
    present = {c.metric for c in cells}
    metrics = [m for m in METRIC_ORDER if m in present] + sorted(present - set(METRIC_ORDER))
    schools = sorted({c.school_id for c in cells if c.scope == "school" and c.school_id})
    return Equity(cells, all_students, metrics, schools)


_COUNT_IN_REASON = re.compile(r"\b(n-size|cell size) \d+ below")


def public_reason(reason: str | None) -> str | None:
    """``not_calculated_reason`` without the small counts it carries (the rule stays):
    'group cell size 3 below min_cell 10' -> 'group cell size below min_cell 10'."""
    return None if reason is None else _COUNT_IN_REASON.sub(r"\1 below", reason)


def _disproportionality(share: _Share, year: int | None) -> list[DisproportionalityRow]:
    where, params = _year_filter(share, DISPROPORTIONALITY, year)
    cols = share.columns(DISPROPORTIONALITY)
    consecutive = "consecutive_years_exceeded" if "consecutive_years_exceeded" in cols else "null"
    rows = share.rows(
        f"select category, race_ethnicity, group_risk, comparison_source, comparison_risk, "
        f"risk_ratio, is_calculated, not_calculated_reason, exceeds_threshold, "
        f"{consecutive} as consecutive_years_exceeded "
        f"from {share.src(DISPROPORTIONALITY)}{where} order by category, race_ethnicity",
        params,
    )
    out = []
    for r in rows:
        calculated = bool(r["is_calculated"])
        out.append(
            DisproportionalityRow(
                category=r["category"],
                race_ethnicity=r["race_ethnicity"],
                # A group that fails the minimums is small: its risk is not published.
                group_risk=r["group_risk"] if calculated else None,
                comparison_source=r["comparison_source"],
                comparison_risk=r["comparison_risk"] if calculated else None,
                risk_ratio=r["risk_ratio"] if calculated else None,
                is_calculated=calculated,
                reason=public_reason(r["not_calculated_reason"]),
                exceeds_threshold=bool(r["exceeds_threshold"]),
                consecutive_years_exceeded=r["consecutive_years_exceeded"],
            )
        )
    return out


def _as_of(share: _Share, year: int | None) -> date | None:
    if share.has(ATTENDANCE) and "as_of_date" in share.columns(ATTENDANCE):
        where, params = _year_filter(share, ATTENDANCE, year)
        value = share.rows(
            f"select max(as_of_date) as d from {share.src(ATTENDANCE)}{where}", params
        )
        return value[0]["d"] if value else None
    return None


def district_name() -> str:
    return os.environ.get(DISTRICT_NAME_ENV, "").strip() or "School district"


def load(paths: Paths, now: datetime | None = None) -> ReportData:
    """Everything the report shows, from ``paths.share``; raises :class:`NoMartsError`
    when the share holds no mart at all."""
    if not paths.share.is_dir() or not any(paths.share.glob("*.parquet")):
        raise NoMartsError(
            f"the analyst share {paths.share} holds no marts yet; run `wholechild run` first "
            "(or `wholechild demo` for the demo district)."
        )
    share = _Share(paths)
    try:
        present = {m: share.has(m) for m in MARTS}
        year = _school_year(share)
        rules = _rules(share, year)
        min_n = int(rules["suppression_min_n"])
        data = ReportData(
            paths=paths,
            generated_at=(now or datetime.now(UTC)).replace(microsecond=0),
            district=district_name(),
            school_year=year,
            as_of_date=_as_of(share, year),
            rules=rules,
            present=present,
        )
        if share.has(SCHOOLS):
            data.school_names = _school_names(share)
        if present[COVERAGE]:
            data.coverage = _coverage(share)
        if present[GROWTH]:
            data.growth_points = _growth_points(share)
        if present[READINESS]:
            data.readiness = _readiness(share, year, min_n)
        if present[ATTENDANCE]:
            data.chronic = _chronic(share, year, min_n, present[EQUITY])
        if present[EQUITY]:
            data.equity = _equity(share, year, min_n)
        if present[DISPROPORTIONALITY]:
            data.disproportionality = _disproportionality(share, year)
        return data
    finally:
        share.close()
