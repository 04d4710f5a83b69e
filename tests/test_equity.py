"""The equity marts on the demo district: they find what the generator planted, and
publish nothing small-cell suppression should hide.

The demo is built once for the module (2000 students, seed 42; about 40 s): the size the
README's demo uses, and large enough that every planted disparity is several standard
errors clear of noise (checked below) while the IDEA comparison group for emotional
disturbance still meets the minimum cell of 10 in the district. Each test reads the
warehouse and the generator's answers (``landing/_expected.json``).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

from orchestration.cli import main
from schemas.common import DISPROPORTIONALITY_CATEGORIES, RACE_ETHNICITY
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

STUDENTS, SEED = 2000, 42

#: METRICS.md "Equity gaps": the metrics, and every subgroup of every dimension.
METRICS = (
    "chronically_absent",
    "ela_proficient",
    "math_proficient",
    "suspended",
    "off_track",
    "advanced_course_enrolled",
    "taught_by_inexperienced_teacher",
    "gifted_identified",
)
SUBGROUPS = {
    "race_ethnicity": set(RACE_ETHNICITY),
    "sex": {"female", "male", "nonbinary", "not_selected"},
    **{
        d: {"yes", "no"}
        for d in (
            "disability",
            "english_learner",
            "economically_disadvantaged",
            "homeless",
            "foster_care",
        )
    },
}
IDEA_GROUPS = set(RACE_ETHNICITY) - {"unknown"}
NUMBERS = ("n_outcome", "rate", "others_rate", "gap_pp", "risk_ratio", "representation_ratio")

#: How many standard errors a gap may stray from 0 where nothing was planted. Under
#: parity gap_pp / SE is about standard normal; 4 SE is exceeded by chance with
#: probability 6e-5 per subgroup (about 2e-3 over the ~30 subgroups checked), yet is
#: small against the planted gaps (all above 5 SE at this size, asserted below).
PARITY_Z = 4.0
#: A planted gap must be at least this many standard errors: "statistically clear".
PLANTED_Z = 4.0


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """Build the demo district once; returns its WHOLECHILD_HOME."""
    home = tmp_path_factory.mktemp("equity") / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WHOLECHILD_HOME", str(home))
        mp.setenv("WHOLECHILD_SOURCES", str(ROOT / "sources"))
        mp.setenv("WHOLECHILD_SETTLE_SECONDS", "0")
        code = main(["demo", "--students", str(STUDENTS), "--seed", str(SEED)])
    assert code == 0, (
        f"the demo build failed; run `wholechild demo --students {STUDENTS} --seed {SEED}`"
    )
    return home


@pytest.fixture(scope="module")
def con(demo):
    with duckdb.connect(str(demo / "warehouse.duckdb"), read_only=True) as c:
        yield c


@pytest.fixture(scope="module")
def expected(demo) -> dict:
    return json.loads((demo / "landing" / "_expected.json").read_text(encoding="utf-8"))


def _rows(con, sql: str, params=()) -> list[dict]:
    cur = con.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


@pytest.fixture(scope="module")
def gaps(con) -> list[dict]:
    return _rows(con, "select * from marts.mart_equity_gaps")


@pytest.fixture(scope="module")
def dispro(con) -> list[dict]:
    return _rows(con, "select * from marts.mart_disproportionality")


@pytest.fixture(scope="module")
def min_n(gaps) -> int:
    values = {r["suppression_min_n"] for r in gaps}
    assert values == {10}, "the demo runs with the default var wholechild:equity:suppression_min_n"
    return 10


def _district(gaps, metric: str, dimension: str) -> dict[str, dict]:
    return {
        r["subgroup"]: r
        for r in gaps
        if r["scope"] == "district" and r["metric"] == metric and r["dimension"] == dimension
    }


def _cell_groups(gaps) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in gaps:
        key = (r["school_year"], r["scope"], r["school_id"], r["metric"], r["dimension"])
        groups[key].append(r)
    return groups


def _standard_error(row: dict) -> float:
    """SE of the risk difference under parity (pooled rate = all_rate)."""
    p = row["all_rate"]
    return math.sqrt(p * (1 - p) * (1 / row["n_students"] + 1 / row["others_n"]))


def _coded(n: int, k: int) -> str:
    """rate_display of an unsuppressed row, written from METRICS.md independently of SQL."""
    for low, high, bound in ((300, None, 1), (100, 299, 2), (40, 99, 5), (10, 39, 10)):
        if n >= low and (high is None or n <= high):
            if 100 * k >= (100 - bound) * n:
                return f">={100 - bound}%"
            if 100 * k <= bound * n:
                return f"<={bound}%"
            break
    return f"{math.floor((200 * k + n) / (2 * n))}%"


# ---- completeness ---------------------------------------------------------------------


def test_equity_gaps_have_every_metric_scope_dimension_and_subgroup(con, gaps):
    years = {
        r[0] for r in con.execute("select distinct school_year from marts.dim_student").fetchall()
    }
    schools = {
        (r[0], r[1])
        for r in con.execute(
            "select distinct school_year, school_id from intermediate.int_enrollment_spans"
        ).fetchall()
    }
    scopes = {(y, "district", None) for y in years} | {(y, "school", s) for y, s in schools}
    want = {
        (*scope, metric, dimension, subgroup)
        for scope in scopes
        for metric in METRICS
        for dimension, subgroups in SUBGROUPS.items()
        for subgroup in subgroups
    }
    got = [
        (r["school_year"], r["scope"], r["school_id"], r["metric"], r["dimension"], r["subgroup"])
        for r in gaps
    ]
    assert len(got) == len(set(got)), "mart_equity_gaps has duplicate rows"
    assert set(got) == want
    assert len(schools) == 6


def test_disproportionality_has_every_category_and_group(con, dispro):
    years = {
        r[0] for r in con.execute("select distinct school_year from marts.dim_student").fetchall()
    }
    want = {(y, c, g) for y in years for c in DISPROPORTIONALITY_CATEGORIES for g in IDEA_GROUPS}
    got = [(r["school_year"], r["category"], r["race_ethnicity"]) for r in dispro]
    assert len(got) == len(set(got)) == len(want) == 12 * 7
    assert set(got) == want


# ---- what was planted is found ---------------------------------------------------------


def _planted(expected, mart: str | None = None) -> list[dict]:
    return [d for d in expected["disparities"] if d.get("mart") == mart]


def test_every_planted_gap_is_the_largest_in_its_dimension(gaps, expected):
    planted = _planted(expected)
    assert {d["metric"] for d in planted} == {
        "suspended",
        "chronically_absent",
        "advanced_course_enrolled",
    }
    for d in planted:
        rows = _district(gaps, d["metric"], d["dimension"])
        row = rows[d["subgroup"]]
        realized = d["realized"]
        where = f"{d['metric']} / {d['dimension']} = {d['subgroup']}"
        assert not row["is_suppressed"], where
        # The mart counts exactly what the generator says it published.
        assert (row["n_students"], row["n_outcome"]) == (
            realized["n_students"],
            realized["n_outcome"],
        ), where
        assert row["others_n"] == realized["others_n_students"], where
        others_rate = realized["others_n_outcome"] / realized["others_n_students"]
        assert row["others_rate"] == pytest.approx(others_rate), where
        assert row["risk_ratio"] == pytest.approx(row["rate"] / others_rate), where
        published = [r for r in rows.values() if not r["is_suppressed"]]
        if d["planted_ratio"] > 1:
            assert row["gap_pp"] == max(r["gap_pp"] for r in published), where
        else:
            assert row["gap_pp"] == min(r["gap_pp"] for r in published), where
        assert abs(row["gap_pp"]) == max(abs(r["gap_pp"]) for r in published), where
        assert abs(row["gap_pp"] / 100) / _standard_error(row) >= PLANTED_Z, where


def test_planted_emotional_disturbance_identification_exceeds_the_idea_threshold(dispro, expected):
    (d,) = _planted(expected, "mart_disproportionality")
    (row,) = [
        r for r in dispro if r["category"] == d["category"] and r["race_ethnicity"] == d["subgroup"]
    ]
    realized = d["realized"]
    assert row["is_calculated"], row["not_calculated_reason"]
    assert row["comparison_source"] == "district"
    assert (row["n_group"], row["n_group_outcome"]) == (
        realized["n_students"],
        realized["n_outcome"],
    )
    assert (row["comparison_n"], row["comparison_outcome"]) == (
        realized["others_n_students"],
        realized["others_n_outcome"],
    )
    assert row["comparison_outcome"] >= row["min_cell"]
    assert row["risk_ratio"] == pytest.approx(
        (realized["n_outcome"] / realized["n_students"])
        / (realized["others_n_outcome"] / realized["others_n_students"])
    )
    assert row["risk_ratio"] > row["risk_ratio_threshold"] == 3.0
    assert row["exceeds_threshold"]


def test_no_unplanted_identification_is_flagged(dispro):
    flagged = {
        (r["category"], r["race_ethnicity"])
        for r in dispro
        if r["exceeds_threshold"] and r["category"].startswith("identification_")
    }
    assert flagged == {("identification_emotional_disturbance", "black")}


@pytest.mark.parametrize("dimension", ["sex", "english_learner"])
@pytest.mark.parametrize("metric", METRICS)
def test_groups_without_a_planted_disparity_stay_near_parity(gaps, metric, dimension):
    """Sex and English learner status are drawn independently of everything planted, so
    each published gap is within PARITY_Z standard errors of 0 (pooled rate, the two
    groups' sizes): about 3-4 pp for sex on suspension at this size."""
    rows = [r for r in _district(gaps, metric, dimension).values() if not r["is_suppressed"]]
    assert rows, f"{metric} / {dimension}: nothing published"
    for r in rows:
        tolerance_pp = 100 * PARITY_Z * _standard_error(r)
        assert abs(r["gap_pp"]) < tolerance_pp, (
            f"{metric} / {dimension} = {r['subgroup']}: gap {r['gap_pp']:.1f} pp "
            f"beyond {tolerance_pp:.1f} pp"
        )


# ---- suppression -----------------------------------------------------------------------


def test_no_published_row_breaks_the_suppression_rules(gaps, min_n):
    for r in gaps:
        where = {k: r[k] for k in ("scope", "school_id", "metric", "dimension", "subgroup")}
        if r["n_students"] < min_n:
            assert r["is_suppressed"], where
            assert r["suppression_reason"] == "below_min_n", where
            assert r["rate_display"] == f"n<{min_n}", where
        if r["is_suppressed"]:
            assert all(r[c] is None for c in NUMBERS), where
            if r["n_students"] >= min_n:
                assert r["suppression_reason"].startswith("complementary"), where
                assert r["rate_display"] == "suppressed", where
        else:
            assert r["n_students"] >= min_n, where
            assert r["rate"] == pytest.approx(r["n_outcome"] / r["n_students"]), where
            assert r["rate_display"] == _coded(r["n_students"], r["n_outcome"]), where
        if r["risk_ratio"] is not None:
            assert r["others_rate"] > 0, where
    reasons = {r["suppression_reason"] for r in gaps}
    assert {"below_min_n", "complementary"} <= reasons, "the demo exercises both rules"


def test_no_suppressed_count_can_be_recovered_from_the_published_total(gaps):
    """Within a school year, scope, metric and dimension the total outcome is published
    (all_rate x the students summed over the subgroups); minus the published counts it
    gives what the suppressed subgroups hold together. That must never be one subgroup
    alone, nor 0 or all of their students (which would give each of them)."""
    checked = 0
    for key, rows in _cell_groups(gaps).items():
        hidden = [r for r in rows if r["is_suppressed"] and r["n_students"] > 0]
        shown = [r for r in rows if not r["is_suppressed"] and r["n_students"] > 0]
        all_rate = rows[0]["all_rate"]
        if not hidden or all_rate is None:
            continue
        checked += 1
        assert len(hidden) >= 2, f"{key}: {hidden[0]['subgroup']} is derivable from the total"
        if not shown:
            continue  # everything is hidden: only the scope's own total is published
        total = round(all_rate * sum(r["n_students"] for r in rows))
        remainder = total - sum(r["n_outcome"] for r in shown)
        hidden_students = sum(r["n_students"] for r in hidden)
        assert 0 < remainder < hidden_students, (
            f"{key}: the suppressed subgroups hold {remainder} of {hidden_students}, "
            "so each one's count follows"
        )
    assert checked > 50, "the demo has suppressed cells to protect"
