"""The report as one self-contained HTML document.

One file: the styles are in the document, the charts are inline SVG, there is no script
and no external reference of any kind (no CDN, font, image or link), so it opens offline
and can be mailed. Every value from the data goes through ``html.escape``. Published
rates are the marts' ``rate_display`` (or the same coding, data.code_rate); suppressed
cells say "suppressed", never 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from wholechild.report import charts
from wholechild.report.charts import Bar, Stack, Tile, esc
from wholechild.report.data import (
    ATTENDANCE,
    CODING_TIERS,
    COVERAGE,
    DISPROPORTIONALITY,
    EQUITY,
    GROWTH,
    READINESS,
    ReportData,
    display_value,
    is_exact_display,
)

TITLE = "Whole-child equity and readiness report"

#: (id, heading) of every section, in page order.
SECTIONS = (
    ("overview", "Overview and rules"),
    ("coverage", "Coverage by domain"),
    ("readiness", "Readiness distribution"),
    ("chronic-absence", "Chronic absence by school"),
    ("equity-gaps", "Equity gaps by metric and subgroup"),
    ("disproportionality", "IDEA significant disproportionality"),
    ("privacy", "Privacy and limits"),
)

#: The known limit METRICS.md requires the report to state.
KNOWN_LIMIT = (
    "a suppressed school cell can sometimes be derived from the district row minus the "
    "other schools"
)

METRIC_LABELS = {
    "chronically_absent": "Chronically absent",
    "ela_proficient": "Proficient in ELA",
    "math_proficient": "Proficient in math",
    "off_track": "Off track (readiness)",
    "suspended": "Suspended",
    "advanced_course_enrolled": "In an advanced course (grades 9-12)",
    "taught_by_inexperienced_teacher": "Taught by an inexperienced teacher",
    "gifted_identified": "Identified as gifted",
}
DIMENSION_LABELS = {
    "race_ethnicity": "Race/ethnicity",
    "sex": "Sex",
    "disability": "Students with disabilities",
    "english_learner": "English learners",
    "economically_disadvantaged": "Economically disadvantaged",
    "homeless": "Homeless",
    "foster_care": "Foster care",
}
DIMENSION_ORDER = tuple(DIMENSION_LABELS)
SUBGROUP_LABELS = {
    "hispanic_latino": "Hispanic/Latino",
    "american_indian_alaska_native": "American Indian/Alaska Native",
    "asian": "Asian",
    "black": "Black",
    "native_hawaiian_pacific_islander": "Native Hawaiian/Pacific Islander",
    "white": "White",
    "two_or_more": "Two or more races",
    "unknown": "Unknown",
    "female": "Female",
    "male": "Male",
    "nonbinary": "Nonbinary",
    "not_selected": "Not selected",
    "yes": "Yes",
    "no": "No",
}
INDICATOR_LABELS = {
    "attendance": "Attendance",
    "behavior": "Behavior",
    "course_performance": "Course performance",
    "assessment": "Assessment",
    "ninth_grade_on_track": "Ninth-grade on-track",
    "overall": "Overall (worst indicator)",
}
CATEGORY_LABELS = {
    "identification_any": "Identification: any disability",
    "oss_expulsion_le10": "Discipline: out-of-school suspension/expulsion, 10 days or fewer",
    "oss_expulsion_gt10": "Discipline: out-of-school suspension/expulsion, more than 10 days",
    "iss_le10": "Discipline: in-school suspension, 10 days or fewer",
    "iss_gt10": "Discipline: in-school suspension, more than 10 days",
    "total_removals": "Discipline: total disciplinary removals (per child)",
}
GROWTH_LABELS = {
    "unconnected_domain": "Unconnected domain",
    "low_match_rate": "Low match rate",
    "stale_source": "Stale source",
    "high_reject_rate": "High reject rate",
    "unmapped_codes": "Unmapped codes",
}

CSS = """
:root { --ink:#1a1a1a; --muted:#555; --rule:#d9d9d9; --flag:#D55E00; --warn:#E69F00; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 28px; margin: 0 0 4px; }
h2 { font-size: 22px; margin: 40px 0 8px; padding-top: 12px; border-top: 2px solid var(--ink); }
h3 { font-size: 17px; margin: 24px 0 6px; }
p { margin: 6px 0 10px; max-width: 80ch; }
.lede { color: var(--muted); margin-top: 0; }
.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 12px 0; }
.meta dt { font-weight: 600; } .meta dd { margin: 0; }
nav ol { columns: 2; margin: 8px 0 0; padding-left: 20px; }
a { color: #0060a0; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
th, td { border: 1px solid var(--rule); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.group th { background: #e9eef3; text-align: left; }
.scroll { overflow-x: auto; max-width: 100%; }
.nowrap { white-space: nowrap; }
table.matrix { font-size: 12px; } table.matrix th { font-size: 12px; }
table.matrix td, table.matrix th { padding: 3px 6px; }
td.center { text-align: center; }
td.exceeds-cell { background: #fbe6dc; outline: 2px solid var(--flag); outline-offset: -2px; }
.supp { color: var(--muted); font-style: italic;
  background: repeating-linear-gradient(45deg, #fff 0 4px, #efefef 4px 8px); }
.missing { border-left: 5px solid var(--warn); background: #fdf3e1; padding: 10px 14px; }
.callout { border-left: 5px solid var(--flag); background: #fbe6dc; padding: 10px 14px; }
.note { color: var(--muted); font-size: 13px; }
tr.exceeds td { background: #fbe6dc; }
tr.exceeds td:first-child { border-left: 5px solid var(--flag); }
.flag { color: #8a3200; font-weight: 700; white-space: nowrap; }
.no { color: var(--muted); }
svg.chart { display: block; max-width: 100%; height: auto; margin: 8px 0 4px; }
figure { margin: 12px 0 20px; }
figcaption { color: var(--muted); font-size: 13px; }
details { margin: 6px 0; } summary { cursor: pointer; font-weight: 600; }
code { font-size: 90%; background: #f4f4f4; padding: 0 3px; }
@media print { h2 { break-before: page; } figure, table { break-inside: avoid; }
  details > *:not(summary) { display: block; } }
"""


def label(mapping: dict[str, str], code: str | None) -> str:
    if code is None:
        return ""
    return mapping.get(code, code.replace("_", " ").capitalize())


def school_year_label(year: int | None) -> str:
    return "unknown" if year is None else f"{year - 1}-{str(year)[-2:]} (school year {year})"


def _pct1(v: float | None) -> str:
    """A share to one decimal that never rounds to 100.0% or 0.0% unless it is."""
    if v is None:
        return ""
    if v < 1 and round(100 * v, 1) >= 100:
        return ">99.9%"
    if v > 0 and round(100 * v, 1) <= 0:
        return "<0.1%"
    return f"{100 * v:.1f}%"


def _missing(mart: str) -> str:
    return (
        f'<p class="missing"><strong>Not built yet.</strong> <code>marts.{esc(mart)}</code> '
        "is not in the analyst share, so this section has nothing to show. Run "
        "<code>wholechild run</code> (or wait for the next build), then write the report "
        "again.</p>"
    )


def _table(
    headers: Iterable[tuple[str, bool]], rows: Iterable[str], caption: str = "", cls: str = ""
) -> str:
    head = "".join(
        f'<th scope="col"{" class=num" if num else ""}>{esc(h)}</th>' for h, num in headers
    )
    cap = f"<caption class='note'>{esc(caption)}</caption>" if caption else ""
    attr = f' class="{cls}"' if cls else ""
    return (
        f'<div class="scroll"><table{attr}>{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _td(value: object, num: bool = False, cls: str = "") -> str:
    classes = " ".join(c for c in (("num" if num else ""), cls) if c)
    attr = f' class="{classes}"' if classes else ""
    return f"<td{attr}>{esc(value)}</td>"


def _suppressed_text(display: str | None, reason: str | None = None) -> str:
    if display and display.startswith("n<"):
        return f"suppressed ({display})"
    if reason and reason.startswith("complementary"):
        return "suppressed (complementary)"
    if display == "suppressed":
        return "suppressed (complementary)"
    return "suppressed"


def _rate_cell(
    display: str | None, suppressed: bool, reason: str | None = None, text: str | None = None
) -> str:
    """A published rate, or the suppressed text (``text`` when given), never a zero."""
    if suppressed or display is None or display_value(display) is None:
        return _td(text or _suppressed_text(display, reason), cls="supp")
    return _td(display, num=True)


# --------------------------------------------------------------------------- sections
def _overview(data: ReportData) -> str:
    r = data.rules
    generated = data.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    meta = [
        ("District", data.district),
        ("School year", school_year_label(data.school_year)),
        ("Generated at", generated),
    ]
    if data.as_of_date is not None:
        meta.append(("Attendance counted through", data.as_of_date.isoformat()))
    built = [m for m, ok in data.present.items() if ok]
    meta.append(("Marts read", ", ".join(f"marts.{m}" for m in built) or "none"))
    dl = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in meta)
    rules = [
        (
            "Smallest published subgroup (suppression)",
            f"n >= {r['suppression_min_n']}",
            "suppression_min_n",
        ),
        (
            "Chronic absence threshold",
            f"{100 * float(r['chronic_threshold']):g}% of enrolled days missed (inclusive)",
            "chronic_threshold",
        ),
        ("Minimum enrolled days to count", r["chronic_min_days"], "chronic_min_days"),
        ("Partial days", r["partial_day_rule"], "partial_day_rule"),
        ("IDEA minimum cell size (numerator)", r["idea_min_cell"], "idea_min_cell"),
        ("IDEA minimum n-size (denominator)", r["idea_min_n"], "idea_min_n"),
        (
            "IDEA risk-ratio threshold",
            f"above {float(r['idea_risk_ratio_threshold']):g}",
            "idea_risk_ratio_threshold",
        ),
        (
            "IDEA consecutive years before flagging",
            r["idea_consecutive_years"],
            "idea_consecutive_years",
        ),
    ]
    rule_rows = [
        f"<tr>{_td(name)}{_td(value)}{_td(r.origin.get(key, ''), cls='note')}</tr>"
        for name, value, key in rules
    ]
    toc = "".join(f'<li><a href="#{sid}">{esc(title)}</a></li>' for sid, title in SECTIONS[1:])
    return (
        f'<header id="overview"><h1>{esc(TITLE)}</h1>'
        f'<p class="lede">{esc(data.district)}, {esc(school_year_label(data.school_year))}. '
        "Built from the district's analyst share (aggregates only: no student appears in "
        "this report).</p>"
        f'<dl class="meta">{dl}</dl>'
        f"<nav aria-label='Sections'><ol>{toc}</ol></nav>"
        "<h3>Rules used</h3>"
        + _table([("Rule", False), ("Value", False), ("Read from", False)], rule_rows)
        + "</header>"
    )


def _coverage(data: ReportData) -> str:
    out = [f'<section id="coverage"><h2>{esc(dict(SECTIONS)["coverage"])}</h2>']
    out.append(
        "<p>Which parts of the whole child the district can see: each of the eleven "
        "domains is connected when a registered source has published a delivery, fresh "
        "when every source delivered within its cadence, and stale otherwise.</p>"
    )
    if data.coverage is None:
        out.append(_missing(COVERAGE))
    else:
        tiles = []
        rows = []
        for c in data.coverage:
            state = c.get("freshness_status") or ("never" if not c.get("is_connected") else "fresh")
            if not c.get("is_connected"):
                state = "never"
            failed = c.get("contract_status") == "failed"
            sources = c.get("sources") or ""
            tiles.append(
                Tile(
                    domain=str(c.get("domain")),
                    state=state,
                    detail=sources if sources else "no source registered",
                    contract_failed=failed,
                )
            )
            loaded = c.get("last_loaded_at")
            loaded_text = (
                loaded.strftime("%Y-%m-%d %H:%M") if isinstance(loaded, datetime) else loaded
            )
            rows.append(
                "<tr>"
                + _td(c.get("domain"))
                + _td(
                    "yes" if c.get("is_connected") else "no",
                    cls="" if c.get("is_connected") else "flag",
                )
                + _td(sources or "none")
                + _td(f"{int(c.get('rows_published') or 0):,}", num=True)
                + _td(f"{int(c.get('rows_quarantined') or 0):,}", num=True)
                + _td(_pct1(c.get("reject_rate")) or "-", num=True)
                + _td(_pct1(c.get("student_match_rate")) or "-", num=True)
                + _td(_pct1(c.get("student_coverage_rate")) or "-", num=True)
                + _td(loaded_text or "-", cls="nowrap")
                + _td(
                    c.get("freshness_status"),
                    cls="flag" if c.get("freshness_status") == "stale" else "",
                )
                + _td(c.get("contract_status"), cls="flag" if failed else "")
                + "</tr>"
            )
        connected = sum(1 for c in data.coverage if c.get("is_connected"))
        fresh = sum(1 for c in data.coverage if c.get("freshness_status") == "fresh")
        out.append(
            f"<p><strong>{connected} of {len(data.coverage)}</strong> domains connected, "
            f"<strong>{fresh}</strong> connected and fresh.</p>"
        )
        out.append(
            "<figure>"
            + charts.coverage_grid("chart-coverage", "Whole-child domains by coverage", tiles)
            + "<figcaption>Green: connected and fresh; orange: connected but stale; hatched "
            "grey: no source connected. A red border marks a domain whose latest delivery "
            "was rejected (the previous good data is kept).</figcaption></figure>"
        )
        out.append(
            _table(
                [
                    ("Domain", False),
                    ("Connected", False),
                    ("Sources", False),
                    ("Rows published", True),
                    ("Rows quarantined", True),
                    ("Reject rate", True),
                    ("Student match rate", True),
                    ("Students covered", True),
                    ("Last loaded (UTC)", False),
                    ("Freshness", False),
                    ("Contract", False),
                ],
                rows,
            )
        )
    out.append("<h3>Growth points</h3>")
    if data.growth_points is None:
        out.append(_missing(GROWTH))
    elif not data.growth_points:
        out.append("<p>No growth points: every domain is connected, fresh and matched.</p>")
    else:
        out.append(
            "<p>Gaps the platform sees in its own metadata, ranked by the students they "
            "affect, each with what to do next.</p>"
        )
        rows = []
        for g in data.growth_points:
            affected = g.get("students_affected")
            rows.append(
                "<tr>"
                + _td(g.get("growth_point_rank"), num=True)
                + _td(label(GROWTH_LABELS, g.get("kind")))
                + _td(g.get("domain"))
                + _td(g.get("source") or "-")
                + _td(g.get("entity") or "-")
                + _td("unknown" if affected is None else f"{int(affected):,}", num=True)
                + _td(g.get("action"))
                + "</tr>"
            )
        out.append(
            _table(
                [
                    ("#", True),
                    ("Kind", False),
                    ("Domain", False),
                    ("Source", False),
                    ("Entity", False),
                    ("Students affected", True),
                    ("What to do", False),
                ],
                rows,
            )
        )
    out.append("</section>")
    return "".join(out)


def _readiness(data: ReportData) -> str:
    out = [f'<section id="readiness"><h2>{esc(dict(SECTIONS)["readiness"])}</h2>']
    out.append(
        "<p>Share of students on track, on watch, off track, or without the data to say, "
        "for each early-warning indicator (METRICS.md, readiness), and overall (each "
        "student's worst indicator with data).</p>"
    )
    if data.readiness is None:
        out.append(_missing(READINESS) + "</section>")
        return "".join(out)
    min_n = data.rules["suppression_min_n"]
    stacks, rows = [], []
    statuses = list(charts.STATUS_LABELS)
    for r in data.readiness:
        name = label(INDICATOR_LABELS, r.indicator)
        if r.suppressed:
            stacks.append(Stack(name, None, f"suppressed (n<{min_n})"))
            cells = [_td(f"suppressed (n<{min_n})", cls="supp") for _ in statuses]
        else:
            segs = [(s, r.shares.get(s)) for s in statuses]
            stacks.append(Stack(name, segs))
            cells = [_rate_cell(r.shares.get(s), False) for s in statuses]
        rows.append(f"<tr>{_td(name)}{''.join(cells)}</tr>")
    out.append(
        "<figure>"
        + charts.stacked_bar_chart(
            "chart-readiness", "Readiness status by indicator (share of students)", stacks
        )
        + "<figcaption>Segment widths follow the published shares below (top/bottom coded "
        "like every rate in this report); hatched grey is no data.</figcaption></figure>"
    )
    out.append(
        _table(
            [("Indicator", False)] + [(charts.STATUS_LABELS[s], True) for s in statuses],
            rows,
        )
    )
    out.append("</section>")
    return "".join(out)


def _chronic(data: ReportData) -> str:
    out = [f'<section id="chronic-absence"><h2>{esc(dict(SECTIONS)["chronic-absence"])}</h2>']
    r = data.rules
    out.append(
        f"<p>Share of students missing at least {100 * float(r['chronic_threshold']):g}% of "
        f"their enrolled days, among students enrolled at least {esc(r['chronic_min_days'])} "
        "days at the school (a student is counted at each school where the rule is met). "
        "The dashed line is the district rate.</p>"
    )
    if data.chronic is None:
        out.append(_missing(ATTENDANCE) + "</section>")
        return "".join(out)
    min_n = r["suppression_min_n"]
    c = data.chronic
    bars = [
        Bar(data.school_label(s.school_id), s.display, f"suppressed (n<{min_n})") for s in c.schools
    ]
    out.append(
        "<figure>"
        + charts.bar_chart(
            "chart-chronic",
            "Chronic absence rate by school",
            bars,
            reference=("District", c.district_display),
            color=charts.ORANGE,
        )
        + f"<figcaption>District rate: {esc(c.district_basis)}.</figcaption></figure>"
    )
    supp = f"suppressed (n<{min_n})"
    rows = [
        f"<tr>{_td(data.school_label(s.school_id))}"
        f"{_rate_cell(s.display, s.display is None, text=supp)}</tr>"
        for s in c.schools
    ]
    rows.append(
        f"<tr><th scope='row'>District</th>"
        f"{_rate_cell(c.district_display, c.district_display is None, text=supp)}</tr>"
    )
    out.append(_table([("School", False), ("Chronically absent", True)], rows))
    out.append("</section>")
    return "".join(out)


def _dimension_key(dim: str) -> tuple[int, str]:
    return (DIMENSION_ORDER.index(dim) if dim in DIMENSION_ORDER else len(DIMENSION_ORDER), dim)


def _equity(data: ReportData) -> str:
    out = [f'<section id="equity-gaps"><h2>{esc(dict(SECTIONS)["equity-gaps"])}</h2>']
    min_n = data.rules["suppression_min_n"]
    out.append(
        "<p>For each student metric, the rate of every subgroup of every dimension, against "
        "the rate of all students (dashed line). Rates are the published, top/bottom coded "
        f"values; a subgroup with fewer than {esc(min_n)} students is shown as suppressed, "
        "and so is the next smallest subgroup when only one would be (complementary "
        "suppression). District scope counts each student once; the school tables below "
        "count a student at each school enrolled.</p>"
    )
    if data.equity is None:
        out.append(_missing(EQUITY) + "</section>")
        return "".join(out)
    eq = data.equity
    by_scope: dict[tuple[str, str | None], list] = {}
    for cell in eq.cells:
        by_scope.setdefault((cell.scope, cell.school_id), []).append(cell)
    district = by_scope.get(("district", None), [])
    out.append("<h3>District: gaps by subgroup for each metric</h3>")
    if not district:
        out.append("<p>No district rows in marts.mart_equity_gaps for this year.</p>")
    for i, metric in enumerate(eq.metrics):
        cells = sorted(
            (c for c in district if c.metric == metric),
            key=lambda c: (_dimension_key(c.dimension), c.subgroup_order, c.subgroup),
        )
        if not cells:
            continue
        all_display = eq.all_students.get(("district", None, metric))
        bars = []
        for c in cells:
            suppressed = c.is_suppressed or display_value(c.rate_display) is None
            note = ""
            if (
                not suppressed
                and is_exact_display(c.rate_display)
                and is_exact_display(all_display)
            ):
                diff = int(display_value(c.rate_display) - display_value(all_display))  # type: ignore[operator]
                note = f"({diff:+d} pp vs all)" if diff else "(same as all)"
            bars.append(
                Bar(
                    label=label(SUBGROUP_LABELS, c.subgroup),
                    display=None if suppressed else c.rate_display,
                    suppressed_text=_suppressed_text(c.rate_display, c.suppression_reason),
                    group=label(DIMENSION_LABELS, c.dimension),
                    note=note,
                )
            )
        name = label(METRIC_LABELS, metric)
        out.append(
            f'<figure id="equity-{esc(metric)}"><h4>{esc(name)}</h4>'
            + charts.bar_chart(
                f"chart-equity-{i}",
                f"{name}: rate by subgroup, district",
                bars,
                reference=("All students", all_display or "suppressed"),
                color=charts.BLUE,
            )
            + f"<figcaption>{esc(name)}; all students: {esc(all_display or 'suppressed')}. "
            "pp: percentage points between the published rates.</figcaption></figure>"
        )
    out.append("<h3>District table</h3>")
    out.append(_equity_table(eq, district, ("district", None), min_n))
    out.append("<h3>Schools</h3>")
    if not eq.schools:
        out.append("<p>No school rows in marts.mart_equity_gaps for this year.</p>")
    for school in eq.schools:
        cells = by_scope.get(("school", school), [])
        out.append(
            f"<details><summary>{esc(data.school_label(school))}</summary>"
            + _equity_table(eq, cells, ("school", school), min_n)
            + "</details>"
        )
    out.append("</section>")
    return "".join(out)


def _equity_table(eq, cells, scope: tuple[str, str | None], min_n) -> str:
    index = {(c.metric, c.dimension, c.subgroup): c for c in cells}
    dims = sorted({c.dimension for c in cells}, key=_dimension_key)
    metrics = [m for m in eq.metrics if any(c.metric == m for c in cells)]
    headers = [("Subgroup", False)] + [(label(METRIC_LABELS, m), True) for m in metrics]
    rows = []
    all_cells = []
    for m in metrics:
        d = eq.all_students.get((scope[0], scope[1], m))
        all_cells.append(_rate_cell(d, d is None, text=f"suppressed (n<{min_n})"))
    rows.append(f"<tr><th scope='row'>All students</th>{''.join(all_cells)}</tr>")
    for dim in dims:
        rows.append(
            f"<tr class='group'><th colspan='{len(metrics) + 1}' scope='rowgroup'>"
            f"{esc(label(DIMENSION_LABELS, dim))}</th></tr>"
        )
        subgroups = sorted({(c.subgroup_order, c.subgroup) for c in cells if c.dimension == dim})
        for _, sub in subgroups:
            tds = []
            for m in metrics:
                c = index.get((m, dim, sub))
                if c is None:
                    tds.append(_td(""))
                else:
                    tds.append(_rate_cell(c.rate_display, c.is_suppressed, c.suppression_reason))
            rows.append(f"<tr><td>{esc(label(SUBGROUP_LABELS, sub))}</td>{''.join(tds)}</tr>")
    return _table(headers, rows, cls="matrix")


def _risk(value: float | None, category: str) -> str:
    if value is None:
        return ""
    if category == "total_removals":
        return f"{value:.2f} per child"
    return f"{100 * value:.1f}%"


def _category_label(code: str) -> str:
    if code in CATEGORY_LABELS:
        return CATEGORY_LABELS[code]
    if code.startswith("identification_"):
        return "Identification: " + code.removeprefix("identification_").replace("_", " ")
    return code.replace("_", " ").capitalize()


#: The federal groups in the order of METRICS.md.
RACE_ORDER = (
    "hispanic_latino",
    "american_indian_alaska_native",
    "asian",
    "black",
    "native_hawaiian_pacific_islander",
    "white",
    "two_or_more",
)


def _category_key(code: str) -> tuple[int, str]:
    order = ["identification_any"]
    discipline = ["oss_expulsion_le10", "oss_expulsion_gt10", "iss_le10", "iss_gt10"]
    if code in order:
        return (0, code)
    if code.startswith("identification_"):
        return (1, code)
    if code in discipline:
        return (2, f"{discipline.index(code)}")
    return (3, code)


def _disproportionality(data: ReportData) -> str:
    out = [f'<section id="disproportionality"><h2>{esc(dict(SECTIONS)["disproportionality"])}</h2>']
    r = data.rules
    threshold = float(r["idea_risk_ratio_threshold"])
    years = int(r["idea_consecutive_years"])
    out.append(
        "<p>Risk ratios by racial/ethnic group (34 CFR 300.646-300.647): the group's risk "
        "against the risk of all other groups in the district, or in the State (the "
        "alternate risk ratio) when the district comparison is too small. A ratio is "
        f"calculated only when the group and its comparison have at least "
        f"{esc(r['idea_min_cell'])} students with the outcome and {esc(r['idea_min_n'])} in "
        f"the denominator; a group is flagged when its ratio is above {threshold:g}"
        + (f" for {years} consecutive years" if years > 1 else "")
        + ". Identification is among enrolled students; discipline among students with "
        "disabilities.</p>"
    )
    if data.disproportionality is None:
        out.append(_missing(DISPROPORTIONALITY) + "</section>")
        return "".join(out)
    rows_data = sorted(
        data.disproportionality,
        key=lambda d: (
            _category_key(d.category),
            RACE_ORDER.index(d.race_ethnicity) if d.race_ethnicity in RACE_ORDER else 99,
            d.race_ethnicity,
        ),
    )
    calculated = sum(1 for d in rows_data if d.is_calculated)
    flagged = [d for d in rows_data if d.exceeds_threshold]
    out.append(
        f"<p><strong>{calculated} of {len(rows_data)}</strong> group and category "
        f"combinations could be calculated; <strong>{len(flagged)}</strong> "
        f"{'exceeds' if len(flagged) == 1 else 'exceed'} the threshold.</p>"
    )
    if flagged:
        items = "".join(
            f"<li>{esc(_category_label(d.category))}: "
            f"{esc(label(SUBGROUP_LABELS, d.race_ethnicity))}, risk ratio "
            f"{esc(f'{d.risk_ratio:.2f}' if d.risk_ratio is not None else '')}"
            f"{' (against the State)' if d.comparison_source == 'state' else ''}</li>"
            for d in flagged
        )
        out.append(
            f'<div class="callout"><strong>&#9650; Above the threshold of {threshold:g}'
            f"</strong><ul>{items}</ul></div>"
        )
    # The overview: category x group, the risk ratio or n/c, flagged cells outlined.
    races = [g for g in RACE_ORDER if any(d.race_ethnicity == g for d in rows_data)]
    races += sorted({d.race_ethnicity for d in rows_data} - set(RACE_ORDER))
    cell = {(d.category, d.race_ethnicity): d for d in rows_data}
    categories = list(dict.fromkeys(d.category for d in rows_data))
    matrix_rows = []
    for cat in categories:
        tds = []
        for g in races:
            d = cell.get((cat, g))
            if d is None:
                tds.append(_td(""))
            elif not d.is_calculated:
                tds.append(
                    f'<td class="center no" title="{esc(d.reason or "not calculated")}">n/c</td>'
                )
            else:
                text = f"{d.risk_ratio:.2f}" if d.risk_ratio is not None else "-"
                mark = "&#8224;" if d.comparison_source == "state" else ""
                if d.exceeds_threshold:
                    tds.append(
                        f'<td class="center exceeds-cell flag">&#9650; {esc(text)}{mark}</td>'
                    )
                else:
                    tds.append(f'<td class="center">{esc(text)}{mark}</td>')
        matrix_rows.append(
            f"<tr><th scope='row'>{esc(_category_label(cat))}</th>{''.join(tds)}</tr>"
        )
    out.append("<h3>Risk ratios by category and group</h3>")
    out.append(
        _table(
            [("Category", False)] + [(label(SUBGROUP_LABELS, g), False) for g in races],
            matrix_rows,
            cls="matrix",
        )
    )
    out.append(
        f"<p class='note'>&#9650; outlined: above the threshold of {threshold:g}. n/c: not "
        "calculated (the group or its comparison is below the minimums; the reason is in "
        "the detail table). &#8224;: alternate risk ratio, against the other groups in the "
        "State.</p>"
    )
    rows = []
    last = None
    for d in rows_data:
        if d.category != last:
            rows.append(
                f"<tr class='group'><th colspan='7' scope='rowgroup'>"
                f"{esc(_category_label(d.category))}</th></tr>"
            )
            last = d.category
        comparison = "State (alternate)" if d.comparison_source == "state" else "District"
        if d.is_calculated:
            risks = (
                _td(_risk(d.group_risk, d.category), num=True)
                + _td(comparison, cls="nowrap")
                + _td(_risk(d.comparison_risk, d.category), num=True)
                + _td(f"{d.risk_ratio:.2f}" if d.risk_ratio is not None else "-", num=True)
                + _td("yes")
            )
        else:
            risks = (
                _td("-", cls="no center")
                + _td(comparison, cls="nowrap")
                + _td("-", cls="no center")
                + _td("not calculated", cls="no nowrap")
                + _td(f"no: {d.reason or 'below the minimums'}", cls="no")
            )
        if d.exceeds_threshold:
            flag = f'<td class="flag nowrap">&#9650; above {esc(f"{threshold:g}")}</td>'
        else:
            flag = _td("-", cls="no center")
        rows.append(
            f"<tr{' class=exceeds' if d.exceeds_threshold else ''}>"
            + _td(label(SUBGROUP_LABELS, d.race_ethnicity))
            + risks
            + flag
            + "</tr>"
        )
    out.append(
        f"<details><summary>Detail: every group and category ({len(rows_data)} rows), with "
        "risks, comparison and why a ratio was not calculated</summary>"
        + _table(
            [
                ("Group", False),
                ("Group risk", True),
                ("Comparison", False),
                ("Comparison risk", True),
                ("Risk ratio", True),
                ("Calculated", False),
                ("Exceeds threshold", False),
            ],
            rows,
            cls="matrix",
        )
        + "</details>"
    )
    out.append(
        "<p class='note'>The risks of groups that are not calculated are not published (they "
        "rest on small counts); neither are the counts in the reasons. Placement "
        "categories of 300.647(b) need a placement entity that is not loaded yet.</p>"
        "</section>"
    )
    return "".join(out)


def _privacy(data: ReportData) -> str:
    r = data.rules
    min_n = r["suppression_min_n"]
    tiers = "".join(
        f"<li>{smallest}{'+' if i == 0 else f'-{CODING_TIERS[i - 1][0] - 1}'} students: "
        f"shown as <code>&gt;={top}%</code> or <code>&lt;={bottom}%</code> at or beyond "
        "those bounds</li>"
        for i, (smallest, top, bottom) in enumerate(CODING_TIERS)
    )
    return (
        f'<section id="privacy"><h2>{esc(dict(SECTIONS)["privacy"])}</h2>'
        "<ul>"
        "<li>No student appears in this report: it is built only from the aggregate marts "
        "of the analyst share, and shows rates, never a student's record.</li>"
        f"<li><strong>Suppression.</strong> A subgroup (or school) with fewer than "
        f"{esc(min_n)} students is suppressed and shown as "
        f"<em>suppressed (n&lt;{esc(min_n)})</em>; within one scope, metric and dimension, "
        "when exactly one subgroup is suppressed the next smallest is suppressed too "
        "(<em>suppressed (complementary)</em>), and more while the suppressed subgroups "
        "would all be 0% or 100%. Suppressed cells are shown as suppressed, never as zero, "
        "and charts draw them hatched, never as a bar.</li>"
        "<li><strong>Top/bottom coding.</strong> Published rates are whole percentages, "
        f"coded by the number of students behind them:<ul>{tiers}</ul>"
        "otherwise the rate rounded to a whole percent. Charts draw the coded value. "
        "Counts, exact rates, gaps and ratios of the equity mart stay inside the district "
        "(marts.mart_equity_gaps); this report shows the published text only.</li>"
        f"<li><strong>IDEA disproportionality.</strong> Risk ratios need at least "
        f"{esc(r['idea_min_cell'])} students with the outcome and {esc(r['idea_min_n'])} "
        "in the denominator for the group and its comparison; the risks of groups below "
        "those minimums are not published.</li>"
        "<li><strong>Readiness and chronic absence</strong> shares are coded the same way, "
        "from the number of students counted for the indicator or at the school.</li>"
        f'<li id="known-limit"><strong>Known limit.</strong> Suppression is applied within '
        f"each school and within the district separately, so {esc(KNOWN_LIMIT)}. Complementary "
        "suppression across schools is planned; until then, check a school table against "
        "the district table before publishing it outside the district.</li>"
        "</ul></section>"
    )


def render(data: ReportData) -> str:
    body = "".join(
        [
            _overview(data),
            _coverage(data),
            _readiness(data),
            _chronic(data),
            _equity(data),
            _disproportionality(data),
            _privacy(data),
        ]
    )
    title = f"{TITLE}: {data.district}, {school_year_label(data.school_year)}"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="wholechild report">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>"
        f"<body><main>{body}"
        f'<footer class="note"><p>Generated by <code>wholechild report</code> at '
        f"{esc(data.generated_at.strftime('%Y-%m-%d %H:%M UTC'))}.</p></footer>"
        "</main></body></html>\n"
    )
