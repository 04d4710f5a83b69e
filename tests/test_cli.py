"""The command line: validate's exit codes and report, the demo end to end."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from orchestration.cli import main
from tests.conftest import ROOT
from wholechild.demo import generate


@pytest.fixture(scope="module")
def demo_export(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export")
    generate(out, students=200, seed=3)
    return out


@pytest.fixture
def demo_sources(monkeypatch, tmp_path):
    monkeypatch.setenv("WHOLECHILD_SOURCES", str(ROOT / "sources"))
    monkeypatch.setenv("WHOLECHILD_HOME", str(tmp_path / "home"))


def test_validate_demo_export_exits_0_and_writes_nothing(
    demo_export, demo_sources, tmp_path, capsys
):
    before = sorted(p for p in demo_export.rglob("*"))
    code = main(["validate", str(demo_export / "map_growth"), "--source", "map_growth"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "would be published" in out
    assert sorted(p for p in demo_export.rglob("*")) == before
    assert not (tmp_path / "home").exists()


def test_validate_broken_copy_exits_1_naming_rule_and_row(
    demo_export, demo_sources, tmp_path, capsys
):
    src = sorted((demo_export / "map_growth").iterdir())[0]
    lines = src.read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    col = header.index("TestStartDate")
    bad = []
    for i, line in enumerate(lines[1:], start=2):
        cells = line.split(",")
        if i % 3 == 0:  # a third of the rows get an impossible date
            cells[col] = "31/31/2025"
        bad.append(",".join(cells))
    broken = tmp_path / src.name
    broken.write_text("\n".join([lines[0], *bad]) + "\n")
    code = main(["validate", str(broken), "--source", "map_growth"])
    out = capsys.readouterr().out
    assert code == 1
    assert "REJECTED" in out
    assert "row 3" in out and "date_format" in out
    code = main(["validate", str(broken), "--source", "map_growth", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "rejected"
    assert report["violations_by_rule"]["date_format"] >= 1
    assert report["examples"][0]["row"] is None or report["examples"][0]["row"] >= 2


def test_validate_strict_fails_on_any_quarantined_row(demo_export, demo_sources, tmp_path, capsys):
    src = sorted((demo_export / "map_growth").iterdir())[0]
    text = src.read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index("TestStartDate")] = "not a date"
    one_bad = tmp_path / src.name
    one_bad.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")
    assert main(["validate", str(one_bad), "--source", "map_growth"]) == 0
    assert main(["validate", str(one_bad), "--source", "map_growth", "--strict"]) == 1
    capsys.readouterr()


def test_validate_unknown_source_is_a_config_error(demo_export, demo_sources, capsys):
    assert main(["validate", str(demo_export), "--source", "nope"]) == 2
    assert "no source named 'nope'" in capsys.readouterr().out


@pytest.mark.slow
def test_demo_end_to_end_builds_the_warehouse(demo_sources, tmp_path, capsys):
    code = main(["demo", "--students", "300", "--seed", "11"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "deliveries loaded" in out and "1 rejected" in out
    assert "The outcome is what the demo planted" in out
    home = tmp_path / "home"
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        ledger = con.execute("select status, count(*) from ops.load_ledger group by 1").fetchall()
        assert dict(ledger)["rejected"] == 1
        n = con.execute("select count(*) from staging.stg_student").fetchone()[0]
        assert n == 300
        bad = con.execute(
            "select count(*) from ops.load_ledger "
            "where rows_read <> rows_published + rows_quarantined"
        ).fetchone()[0]
        assert bad == 0
    # The UI's instance shows what the CLI did: raw assets with their checks, dbt models.
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        raw = dg.AssetKey(["raw", "sis", "student"])
        event = instance.get_latest_materialization_event(raw)
        assert event is not None
        meta = event.asset_materialization.metadata
        assert meta["rows_published"].value == 300
        assert instance.get_latest_materialization_event(dg.AssetKey(["marts", "dim_student"]))
    # A second run finds nothing new and keeps everything.
    assert main(["run"]) == 0
    assert "No pending deliveries" in capsys.readouterr().out
    # Every delivery holds the rows its ledger says it wrote (unpivots, Ed-Fi deletes and
    # behavior actions, OneRoster bundles alike).
    assert main(["check-lake"]) == 0
    assert "every delivery is whole" in capsys.readouterr().out
