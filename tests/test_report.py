"""The HTML equity and readiness report (wholechild.report, `wholechild report`, and the
asset reports/equity_readiness_report): built from hand-made share marts, then from the
demo district end to end."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orchestration.cli import main
from tests.conftest import ROOT
from wholechild.config import Paths
from wholechild.report import (
    MARTS,
    SECTIONS,
    NoMartsError,
    build_report,
    default_output,
    write_report,
)
from wholechild.report.data import code_rate, display_value, public_reason
from wholechild.report.html import KNOWN_LIMIT

EVIL_SCHOOL = "<script>alert('x')</script>"
SECTION_IDS = [sid for sid, _ in SECTIONS]

#: Void elements of HTML: no end tag.
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class StrictParser(HTMLParser):
    """html.parser plus the checks it does not make: every element closed, in order."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.texts: list[tuple[str, dict, str]] = []  # (tag, attrs, text) of svg texts
        self.rects: list[dict] = []
        self._text_attrs: dict | None = None
        self._text_buf: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs_d = dict(attrs)
        if tag == "rect":
            self.rects.append(attrs_d)
        if tag == "text":
            self._text_attrs, self._text_buf = attrs_d, []
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        if tag == "rect":
            self.rects.append(dict(attrs))

    def handle_endtag(self, tag):
        if tag == "text" and self._text_attrs is not None:
            self.texts.append(("text", self._text_attrs, "".join(self._text_buf)))
            self._text_attrs = None
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> (open: {self.stack[-3:]})")
            return
        self.stack.pop()

    def handle_data(self, data):
        if self._text_attrs is not None:
            self._text_buf.append(data)


def parse(page: str) -> StrictParser:
    p = StrictParser()
    p.feed(page)
    p.close()
    assert not p.errors, p.errors[:5]
    assert not p.stack, f"unclosed elements: {p.stack}"
    return p


def _write(path: Path, rows: list[dict], schema: pa.Schema | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def _equity_rows() -> list[dict]:
    def row(scope, school, subgroup, order, n, others_n, rate, display, reason=None):
        suppressed = reason is not None
        return {
            "school_year": 2026,
            "scope": scope,
            "school_id": school,
            "metric": "chronically_absent",
            "dimension": "sex",
            "subgroup": subgroup,
            "n_students": n,
            "n_outcome": None if suppressed else round(rate * n),
            "rate": None if suppressed else rate,
            "others_rate": None if suppressed else 0.2,
            "all_rate": 0.2,
            "gap_pp": None if suppressed else 100 * (rate - 0.2),
            "risk_ratio": None if suppressed else rate / 0.2,
            "representation_ratio": None if suppressed else rate / 0.2,
            "is_suppressed": suppressed,
            "rate_display": display,
            "others_n": others_n,
            "subgroup_order": order,
            "suppression_reason": reason,
            "suppression_min_n": 10,
        }

    return [
        row("district", None, "female", 1, 60, 60, 0.25, "25%"),
        row("district", None, "male", 2, 47, 73, 0.17, "17%"),
        row("district", None, "nonbinary", 3, 3, 117, None, "n<10", "below_min_n"),
        row("district", None, "not_selected", 4, 10, 110, None, "suppressed", "complementary"),
        row("school", EVIL_SCHOOL, "female", 1, 30, 30, 0.3, "30%"),
        row("school", EVIL_SCHOOL, "male", 2, 22, 38, 0.1, "<=10%"),
        row("school", EVIL_SCHOOL, "nonbinary", 3, 2, 58, None, "n<10", "below_min_n"),
        row("school", EVIL_SCHOOL, "not_selected", 4, 6, 54, None, "n<10", "below_min_n"),
    ]


def _disproportionality_rows() -> list[dict]:
    base = {
        "school_year": 2026,
        "category": "identification_any",
        "comparison_source": "district",
        "alternate_reason": None,
        "exceeds_threshold_this_year": False,
        "consecutive_years_exceeded": 0,
        "risk_ratio_threshold": 3.0,
        "consecutive_years_required": 1,
        "min_cell": 10,
        "min_n": 30,
    }
    return [
        base
        | {
            "race_ethnicity": "asian",
            "n_group": 20,
            "n_group_outcome": 3,
            "group_risk": 0.15,
            "comparison_n": 500,
            "comparison_outcome": 60,
            "comparison_risk": 0.12,
            "risk_ratio": None,
            "is_calculated": False,
            "not_calculated_reason": "group n-size 20 below min_n 30 and cell size 3 below "
            "min_cell 10",
            "exceeds_threshold": False,
        },
        base
        | {
            "race_ethnicity": "black",
            "n_group": 200,
            "n_group_outcome": 80,
            "group_risk": 0.4,
            "comparison_n": 400,
            "comparison_outcome": 40,
            "comparison_risk": 0.1,
            "risk_ratio": 4.0,
            "is_calculated": True,
            "not_calculated_reason": None,
            "exceeds_threshold_this_year": True,
            "consecutive_years_exceeded": 1,
            "exceeds_threshold": True,
        },
        base
        | {
            "race_ethnicity": "white",
            "n_group": 300,
            "n_group_outcome": 30,
            "group_risk": 0.1,
            "comparison_n": 300,
            "comparison_outcome": 90,
            "comparison_risk": 0.3,
            "risk_ratio": 0.333,
            "is_calculated": True,
            "not_calculated_reason": None,
            "exceeds_threshold": False,
        },
    ]


def _coverage_rows() -> list[dict]:
    loaded = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)

    def row(domain, pos, connected, sources, fresh, contract):
        return {
            "domain": domain,
            "is_connected": connected,
            "sources": sources,
            "rows_published": 1000 if connected else 0,
            "rows_quarantined": 5 if connected else 0,
            "reject_rate": 0.005 if connected else None,
            "student_match_rate": 0.9995 if connected else None,
            "student_coverage_rate": 0.8 if connected else 0.0,
            "last_loaded_at": loaded if connected else None,
            "freshness_status": fresh,
            "contract_status": contract,
            "domain_position": pos,
        }

    return [
        row("enrollment", 1, True, "sis", "fresh", "passed"),
        row("attendance", 3, True, "attendance", "fresh", "passed"),
        row("behavior", 6, True, "behavior", "stale", "failed"),
        row("health", 10, False, None, "never", "never"),
    ]


def _readiness_rows() -> list[dict]:
    statuses = ["on_track"] * 20 + ["watch"] * 5 + ["off_track"] * 4 + ["no_data"]
    rows = []
    for i, status in enumerate(statuses):
        for indicator in ("attendance", "behavior"):
            rows.append(
                {
                    "student_key": f"k{i:03d}",
                    "school_year": 2026,
                    "indicator": indicator,
                    "status": status,
                    "reason": "because",
                    "value": 0.1,
                    "readiness_status": status,
                }
            )
    # An indicator with fewer students than the suppression minimum.
    rows += [
        {
            "student_key": f"k{i:03d}",
            "school_year": 2026,
            "indicator": "ninth_grade_on_track",
            "status": "on_track",
            "reason": "because",
            "value": 6.0,
            "readiness_status": statuses[i],
        }
        for i in range(4)
    ]
    return rows


def _attendance_rows() -> list[dict]:
    rows = []
    for school, n, chronic in (("101", 40, 8), (EVIL_SCHOOL, 5, 2)):
        for i in range(n):
            rows.append(
                {
                    "student_key": f"{school}-{i}",
                    "school_id": school,
                    "school_year": 2026,
                    "days_enrolled": 100,
                    "days_absent": 15.0 if i < chronic else 2.0,
                    "attendance_rate": 0.85 if i < chronic else 0.98,
                    "is_chronically_absent": i < chronic,
                    "as_of_date": date(2026, 6, 4),
                    "chronic_threshold": 0.1,
                    "chronic_min_days": 10,
                    "partial_day_rule": "fraction",
                }
            )
    return rows


def _growth_rows() -> list[dict]:
    return [
        {
            "kind": "unconnected_domain",
            "domain": "health",
            "source": None,
            "entity": None,
            "action": "connect domain health: add sources/<system>.yml",
            "growth_point_rank": 1,
            "students_affected": 120,
            "metric_value": None,
        }
    ]


@pytest.fixture
def share_home(tmp_path, monkeypatch) -> Paths:
    """A WHOLECHILD_HOME whose share holds small hand-made marts."""
    home = tmp_path / "home"
    monkeypatch.setenv("WHOLECHILD_HOME", str(home))
    monkeypatch.delenv("WHOLECHILD_DISTRICT_NAME", raising=False)
    paths = Paths(home)
    share = paths.share
    _write(share / "mart_equity_gaps.parquet", _equity_rows())
    _write(share / "mart_disproportionality.parquet", _disproportionality_rows())
    _write(share / "mart_interoperability_coverage.parquet", _coverage_rows())
    _write(share / "mart_growth_points.parquet", _growth_rows())
    _write(share / "mart_student_readiness.parquet", _readiness_rows())
    _write(share / "fct_student_attendance_year.parquet", _attendance_rows())
    return paths


def _section(page: str, sid: str) -> str:
    """The whole element (``<section>`` or ``<header>``) whose id is ``sid``."""
    start = page.rindex("<", 0, page.index(f'id="{sid}"'))
    tag = re.match(r"<(\w+)", page[start:]).group(1)
    end = page.index(f"</{tag}>", start) + len(tag) + 3
    return page[start:end]


def test_report_from_hand_made_marts(share_home):
    out = build_report(share_home)
    assert out == default_output(share_home)
    assert out == share_home.home / "reports" / "wholechild_report.html"
    # One file, nothing beside it (no assets folder, no temp file).
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]
    page = out.read_text(encoding="utf-8")

    # Self-contained: no external reference of any kind, no script at all.
    for needle in ("http://", "https://", "<script", "<link", "src=", "@import", "url(http"):
        assert needle not in page.lower(), needle
    assert page.count("<style>") == 1

    # Every section, none of them "not built yet".
    for sid in SECTION_IDS:
        assert f'id="{sid}"' in page, sid
    assert "Not built yet" not in page

    # The planted school id is escaped wherever it appears.
    assert EVIL_SCHOOL not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page

    # The known limit of METRICS.md, verbatim.
    assert KNOWN_LIMIT == (
        "a suppressed school cell can sometimes be derived from the district row minus the "
        "other schools"
    )
    assert KNOWN_LIMIT in _section(page, "privacy")

    parsed = parse(page)
    # No SVG value label says 0%, and no bar is drawn with no width.
    values = [t for _, a, t in parsed.texts if a.get("font-weight") == "600"]
    assert values and "0%" not in values
    for rect in parsed.rects:
        if "width" in rect and rect.get("fill", "").startswith("#"):
            assert float(rect["width"]) > 0, rect


def test_suppressed_cells_are_shown_as_suppressed_never_zero(share_home):
    page = build_report(share_home).read_text(encoding="utf-8")
    equity = _section(page, "equity-gaps")
    # Tables: the mart's rate_display, with the suppression said in words.
    assert "suppressed (n&lt;10)" in equity
    assert "suppressed (complementary)" in equity
    assert ">25%<" in equity and ">17%<" in equity and "&lt;=10%" in equity
    # The district chart: a hatched, labelled row for the suppressed subgroup, no bar.
    parsed = parse(equity)
    suppressed = [r for r in parsed.rects if r.get("class") == "suppressed"]
    assert len(suppressed) == 2  # nonbinary and its complement, district scope
    assert all(r["fill"].startswith("url(#") for r in suppressed)
    labels = [t for _, a, t in parsed.texts if a.get("class") == "suppressed"]
    assert labels == ["suppressed (n<10)", "suppressed (complementary)"]
    # Exact numbers of the equity mart never reach the page.
    assert "0.25" not in equity and "gap_pp" not in equity
    # The all-students reference: the scope total (120 students, 20%) coded.
    assert "All students 20%" in equity

    # Chronic absence: the school with 5 students counted is suppressed, not 40%.
    chronic = _section(page, "chronic-absence")
    assert "suppressed (n&lt;10)" in chronic
    assert "40%" not in chronic
    assert ">20%<" in chronic  # school 101: 8 of 40

    # Readiness: an indicator with 4 students is suppressed; shares are coded (n=30).
    readiness = _section(page, "readiness")
    assert "Ninth-grade on-track" in readiness and "suppressed (n&lt;10)" in readiness
    assert ">67%<" in readiness and "&lt;=10%" in readiness


def test_disproportionality_flags_and_reasons(share_home):
    page = build_report(share_home).read_text(encoding="utf-8")
    section = _section(page, "disproportionality")
    # The exceeding group is flagged in the callout, the matrix and the detail table.
    assert "callout" in section and "risk ratio 4.00" in section
    assert "exceeds-cell" in section and "class=exceeds" in section
    assert section.count("&#9650;") >= 3 or section.count("▲") >= 3
    # The not-calculated group: its reason, without its small counts; no risk published.
    assert "no: group n-size below min_n 30 and cell size below min_cell 10" in section
    assert "n-size 20" not in section and "cell size 3" not in section
    assert "15.0%" not in section
    assert "1 of 3" not in section and "2 of 3</strong>" in section
    assert public_reason("district comparison cell size 7 below min_cell 10") == (
        "district comparison cell size below min_cell 10"
    )


def test_coverage_section_shows_every_domain_state(share_home):
    page = build_report(share_home).read_text(encoding="utf-8")
    section = _section(page, "coverage")
    parse(section)
    assert 'id="chart-coverage"' in section
    for state in ("tile-fresh", "tile-stale", "tile-never"):
        assert state in section
    assert "not connected" in section and "latest delivery rejected" in section
    # Shares never round to 100% unless they are.
    assert ">99.9%" in section.replace("&gt;", ">")
    assert "connect domain health" in section  # growth points


def test_missing_marts_leave_their_sections_saying_so(share_home):
    (share_home.share / "mart_disproportionality.parquet").unlink()
    (share_home.share / "mart_growth_points.parquet").unlink()
    result = write_report(share_home)
    page = result.path.read_text(encoding="utf-8")
    assert result.marts_missing == ("mart_growth_points", "mart_disproportionality")
    assert "Not built yet" in _section(page, "disproportionality")
    assert "marts.mart_growth_points" in _section(page, "coverage")
    assert "Not built yet" not in _section(page, "equity-gaps")
    parse(page)


def test_empty_share_is_one_sentence_with_the_fix(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WHOLECHILD_HOME", str(tmp_path / "home"))
    with pytest.raises(NoMartsError):
        build_report(Paths(tmp_path / "home"))
    assert main(["report"]) == 2
    out = " ".join(capsys.readouterr().out.split())  # the console wraps long lines
    assert "run `wholechild run` first" in out
    assert "Traceback" not in out
    assert not (tmp_path / "home" / "reports").exists()


def test_cli_report_writes_the_file_given(share_home, tmp_path, capsys):
    out = tmp_path / "elsewhere" / "r.html"
    assert main(["report", "--out", str(out)]) == 0
    assert out.is_file()
    assert str(out) in "".join(capsys.readouterr().out.split())
    assert not default_output(share_home).exists()


def test_district_name_and_rules_in_the_header(share_home, monkeypatch):
    monkeypatch.setenv("WHOLECHILD_DISTRICT_NAME", "Springfield <Unified>")
    page = build_report(share_home).read_text(encoding="utf-8")
    header = _section(page, "overview")
    assert "Springfield &lt;Unified&gt;" in header
    assert "2025-26" in header and "2026-06-04" in header
    assert "n &gt;= 10" in header and "marts.mart_equity_gaps" in header
    assert "above 3" in header


def test_code_rate_matches_the_marts_coding():
    assert code_rate(5, 9, 10) is None
    assert code_rate(0, 300, 10) == "<=1%"
    assert code_rate(297, 300, 10) == ">=99%"
    assert code_rate(296, 300, 10) == "99%"  # just under the bound rounds to it
    assert code_rate(2, 100, 10) == "<=2%"
    assert code_rate(38, 40, 10) == ">=95%"
    assert code_rate(1, 10, 10) == "<=10%"
    assert code_rate(37, 100, 10) == "37%"
    assert code_rate(1, 8, 5) == "13%"  # below the tiers: rounded half up
    assert display_value(">=95%") == 95 and display_value("n<10") is None
    assert display_value("suppressed") is None


def test_report_asset_writes_the_same_file(share_home):
    from orchestration.defs.report import MART_KEYS, REPORT_KEY, report_asset, report_deps

    assert [k.path[-1] for k in MART_KEYS] == list(MARTS)
    available = [dg.AssetKey(["marts", "mart_equity_gaps"]), dg.AssetKey(["raw", "x", "y"])]
    assert report_deps(available) == [dg.AssetKey(["marts", "mart_equity_gaps"])]

    asset = report_asset(report_deps(available))
    assert asset.key == REPORT_KEY
    (spec,) = asset.specs
    assert {d.asset_key for d in spec.deps} == {dg.AssetKey(["marts", "mart_equity_gaps"])}
    result = dg.materialize([asset])
    assert result.success
    (event,) = result.get_asset_materialization_events()
    meta = {k: v.value for k, v in event.materialization.metadata.items()}
    assert meta["path"] == str(default_output(share_home))
    assert meta["sections"] == ", ".join(SECTION_IDS)
    assert meta["size_bytes"] == default_output(share_home).stat().st_size
    assert "k001" not in str(meta)  # no student-level value


@pytest.mark.slow
def test_demo_then_report_has_every_section_with_data(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WHOLECHILD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WHOLECHILD_SOURCES", str(ROOT / "sources"))
    assert main(["demo", "--students", "300"]) == 0, capsys.readouterr().out[-3000:]
    capsys.readouterr()
    assert main(["report"]) == 0, capsys.readouterr().out
    out = tmp_path / "home" / "reports" / "wholechild_report.html"
    page = out.read_text(encoding="utf-8")
    parse(page)
    for needle in ("http://", "https://", "<script", "<link"):
        assert needle not in page
    assert "Not built yet" not in page
    for sid in SECTION_IDS:
        assert f'id="{sid}"' in page
    for chart in ("chart-coverage", "chart-readiness", "chart-chronic", "chart-equity-0"):
        assert f'id="{chart}"' in page, chart
    equity = _section(page, "equity-gaps")
    assert re.search(r">\d+%<", equity), "no published rate"
    assert "suppressed (n&lt;10)" in equity  # 300 students: small subgroups exist
    # the demo's roster names its schools (marts.dim_school): "Name (id)"
    assert re.search(
        r"<details><summary>[^<]+ (Elementary|Middle School|High School) \(\d+\)", equity
    )
    assert "School 1" not in page
    assert "not connected" in _section(page, "coverage")  # health has no source
    assert "Risk ratios by category and group" in _section(page, "disproportionality")
    assert KNOWN_LIMIT in page


def test_schools_are_labelled_by_name_where_dim_school_has_one(share_home):
    """marts.dim_school names school 101; the planted school has no name and keeps its id
    (escaped); without dim_school every school is "School <id>" as before."""
    page = build_report(share_home).read_text(encoding="utf-8")
    assert "School 101" in page and "Lincoln Elementary" not in page
    _write(
        share_home.share / "dim_school.parquet",
        [
            {"school_id": "101", "school_name": "Lincoln <Elementary>"},
            {"school_id": EVIL_SCHOOL, "school_name": None},
        ],
    )
    page = build_report(share_home).read_text(encoding="utf-8")
    chronic = _section(page, "chronic-absence")
    assert "Lincoln &lt;Elementary&gt; (101)" in chronic
    assert "School 101" not in page
    assert "School &lt;script&gt;" in chronic and EVIL_SCHOOL not in page
    assert "<summary>School &lt;script&gt;" in _section(page, "equity-gaps")  # no name
    assert not parse(page).errors


def test_a_long_label_is_shortened_in_the_chart_and_whole_in_its_tooltip():
    from wholechild.report import charts

    name = "Dr. Martin Luther King Jr. Memorial Elementary School (255901001)"
    svg = charts.bar_chart("c", "t", [charts.Bar(name, "37%")], label_width=250)
    shown = charts.fit(name, 250)
    assert len(shown) <= 250 / charts.CHAR_PX < len(name)
    assert shown.endswith("\u2026") and f">{shown}</text>" in svg
    assert f"<title>{name}: 37%</title>" in svg
    assert charts.fit("Lincoln Elementary (101)", 250) == "Lincoln Elementary (101)"
