"""Security: names and values from files and YAML are data, never SQL; landing paths stay in
their folder; reports and messages show values, never whole records of a student; the
pseudonym key comes from the environment."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from orchestration import cli
from tests.test_bad_inputs import GOOD, HEADER, ROSTER_YML, ROWS, deliver, lines, write_source
from wholechild import config, identity, lake, landing, pipeline, share, warehouse
from wholechild.config import Paths
from wholechild.registry import load_registry

SQL = 'x"; drop view raw.victim__student; --'
SQL_QUOTE = "Robert'); drop table ops.load_ledger; --"

VICTIM_YML = ROSTER_YML.format(options="{}", date_format="%Y-%m-%d").replace(
    "name: roster", "name: victim"
)


def refresh_and_count(registry, home: Paths) -> dict[str, int]:
    warehouse.refresh(registry, home)
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        return {
            view: con.execute(f"select count(*) from {view}").fetchone()[0]
            for view in (
                "raw.roster__student",
                "raw.victim__student",
                "ops.load_ledger",
                "quarantine.rejected_rows",
            )
        }


# --- names from YAML ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "key,value",
    [
        pytest.param("name", SQL, id="name-sql"),
        pytest.param("name", "roster; drop table raw.x", id="name-statement"),
        pytest.param("name", "raw.roster", id="name-qualified"),
        pytest.param("name", "Roster", id="name-uppercase"),
        pytest.param("name", "../roster", id="name-dotdot"),
        pytest.param("name", "roster name", id="name-space"),
        pytest.param("name", "1roster", id="name-digit-first"),
        pytest.param("landing", "../victim", id="landing-dotdot"),
        pytest.param("landing", "/etc", id="landing-absolute"),
        pytest.param("landing", "roster/../../x", id="landing-nested-dotdot"),
        pytest.param("landing", SQL_QUOTE, id="landing-sql"),
    ],
)
def test_registry_refuses_names_that_are_not_plain_identifiers(sources_dir, key, value):
    text = ROSTER_YML.format(options="{}", date_format="%Y-%m-%d")
    text = text.replace(
        "name: roster", f"name: {json.dumps(value)}" if key == "name" else "name: roster"
    )
    if key == "landing":
        text += f"landing: {json.dumps(value)}\n"
    (sources_dir / "roster.yml").write_text(text)
    (sources_dir / "victim.yml").write_text(VICTIM_YML)
    registry = load_registry(sources_dir)
    assert list(registry.sources) == ["victim"]  # the bad file takes nothing else down
    [error] = registry.errors
    assert error.key == key and "roster.yml" in str(error)


@pytest.mark.parametrize(
    "old,new,key",
    [
        pytest.param(
            "first_name: FirstName", f"{json.dumps(SQL)}: FirstName", f"columns.{SQL}", id="column"
        ),
        pytest.param("entity: student", f"entity: {json.dumps(SQL_QUOTE)}", "entity", id="entity"),
        pytest.param(
            "options: {}", f"options: {{{json.dumps(SQL)}: 1}}", f"options.{SQL}", id="option"
        ),
        pytest.param(
            "domains: [demographics]", f"domains: [{json.dumps(SQL)}]", "domains", id="domain"
        ),
    ],
)
def test_registry_refuses_columns_entities_and_keys_it_does_not_know(sources_dir, old, new, key):
    text = ROSTER_YML.format(options="{}", date_format="%Y-%m-%d")
    assert old in text
    (sources_dir / "roster.yml").write_text(text.replace(old, new))
    registry = load_registry(sources_dir)
    assert registry.sources == {}
    assert [e.key for e in registry.errors] == [key]


def test_headers_values_and_file_names_that_look_like_sql_are_stored_verbatim(home, sources_dir):
    # The roster maps headers that are SQL, and its file carries SQL as values and names.
    text = ROSTER_YML.format(options="{}", date_format="%Y-%m-%d")
    text = text.replace("first_name: FirstName", f"first_name: {json.dumps(SQL)}")
    text = text.replace("last_name: LastName", f"last_name: {json.dumps(SQL_QUOTE)}")
    text += f"constants: {{source_record_id: {json.dumps(SQL_QUOTE)}}}\n"
    (sources_dir / "roster.yml").write_text(text)
    (sources_dir / "victim.yml").write_text(VICTIM_YML)
    registry = load_registry(sources_dir)
    assert registry.errors == []
    roster, victim = registry.sources["roster"], registry.sources["victim"]
    header = HEADER.replace("FirstName", '"x""; drop view raw.victim__student; --"').replace(
        "LastName", SQL_QUOTE
    )
    name = "roster_2025-09-05 x'\"; drop view raw.victim__student; --.csv"
    body = lines(
        '004512,"x""; drop view raw.victim__student; --",' + SQL_QUOTE + ",2015-03-04,101",
        "004513,Ben,Okafor,2014-11-30,101",
        header=header,
    )
    out = pipeline.process_delivery(roster, deliver(home, roster, name, body.encode()), home)
    assert out.status == "published", out.reason
    v = pipeline.process_delivery(victim, deliver(home, victim, "v.csv", GOOD.encode()), home)
    assert v.status == "published"

    counts = refresh_and_count(registry, home)
    assert counts == {
        "raw.roster__student": 2,
        "raw.victim__student": 4,
        "ops.load_ledger": 2,
        "quarantine.rejected_rows": 0,
    }
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        row = con.execute(
            "select first_name, last_name, source_record_id from raw.roster__student "
            "where student_ref = '004512'"
        ).fetchone()
        assert row == (SQL, SQL_QUOTE, SQL_QUOTE)
        assert con.execute(
            "select file_name from ops.load_ledger where source = 'roster'"
        ).fetchone() == (name,)
    assert refresh_and_count(registry, home) == counts  # and again: nothing was dropped


def test_a_home_path_with_quotes_and_glob_characters_is_only_a_path(tmp_path, sources_dir):
    home = Paths(tmp_path / "o'brien's \"district\" [test] *; --").ensure()
    source = write_source(sources_dir)
    (sources_dir / "victim.yml").write_text(VICTIM_YML)
    registry = load_registry(sources_dir)
    pipeline.process_delivery(source, deliver(home, source, "r.csv", GOOD.encode()), home)
    # The lake is found again: the same bytes are a duplicate, not a second load.
    again = pipeline.process_delivery(source, deliver(home, source, "r2.csv", GOOD.encode()), home)
    assert again.status == "duplicate"
    assert len(lake.read_ledger(home, "roster")) == 2
    assert refresh_and_count(registry, home) == {
        "raw.roster__student": 4,
        "raw.victim__student": 0,
        "ops.load_ledger": 2,
        "quarantine.rejected_rows": 0,
    }


def test_analyst_share_survives_a_home_path_with_a_quote(tmp_path):
    home = Paths(tmp_path / "o'brien").ensure()
    with duckdb.connect(str(home.warehouse)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.mart_x as select 1 as n")
        share.export_share(con, home)
    with duckdb.connect(str(home.analytics), read_only=True) as con:
        assert con.execute('select n from "mart_x"').fetchall() == [(1,)]


# --- landing paths ------------------------------------------------------------------------


def test_process_delivery_refuses_paths_outside_its_landing_folder(home, sources_dir, tmp_path):
    source = write_source(sources_dir)
    (home.landing / "roster").mkdir(parents=True, exist_ok=True)
    outside = tmp_path / "secrets.csv"
    outside.write_text(GOOD)
    other = deliver(home, source, "x.csv", GOOD.encode()).parent.parent / "victim" / "v.csv"
    other.parent.mkdir()
    other.write_text(GOOD)
    nested = home.landing / "roster" / "sub" / "n.csv"
    nested.parent.mkdir()
    nested.write_text(GOOD)
    link = home.landing / "roster" / "link.csv"
    link.symlink_to(outside)
    attempts = [
        outside,  # absolute path elsewhere
        home.landing / "roster" / ".." / "victim" / "v.csv",  # dot-dot
        home.landing / "roster" / ".." / ".." / ".." / outside.name,
        nested,  # a subfolder is not the landing folder
        link,  # a symlink out
    ]
    for path in attempts:
        with pytest.raises(ValueError, match="is not a delivery inside"):
            pipeline.process_delivery(source, path, home)
    assert outside.read_text() == GOOD and other.exists() and nested.exists()  # untouched
    assert lake.read_ledger(home).empty
    assert not any(home.archive.rglob("*")) and not any(home.rejected.rglob("*"))


def test_list_landed_skips_symlinks_and_the_run_leaves_them_alone(home, sources_dir, tmp_path):
    source = write_source(sources_dir)
    outside = tmp_path / "elsewhere.csv"
    outside.write_text(GOOD)
    folder = deliver(home, source, "roster_2025-09-05.csv", GOOD.encode()).parent
    (folder / "roster_2025-09-06.csv").symlink_to(outside)
    (folder / "linked_dir").symlink_to(tmp_path, target_is_directory=True)
    assert [f.name for f in landing.list_landed(folder)] == ["roster_2025-09-05.csv"]
    (out,) = pipeline.process_pending(load_registry(sources_dir), home, settle=0)
    assert out.file_name == "roster_2025-09-05.csv"
    assert outside.read_text() == GOOD
    assert (folder / "roster_2025-09-06.csv").is_symlink()


# --- no whole records in reports and messages ---------------------------------------------

PLANTED = ("Zelda", "Quixote")


def planted_row(ref: str = "004599", birth: str = "2015-03-04") -> str:
    return f"{ref},{PLANTED[0]},{PLANTED[1]},{birth},101"


def outputs(home: Paths, out, capsys, path_in_rejected: Path | None = None) -> dict[str, str]:
    folder = out.report_path.parent
    texts = {
        "report.txt": (folder / "report.txt").read_text(),
        "report.json": (folder / "report.json").read_text(),
        "ledger reason": " ".join(lake.read_ledger(home)["reason"].fillna("")),
        "quarantine messages": " ".join(lake.read_quarantine(home)["message"].fillna("")),
    }
    if path_in_rejected is not None:  # what `wholechild validate` prints for the same file
        capsys.readouterr()
        cli.main(["validate", str(path_in_rejected), "--source", "roster"])
        texts["validate output"] = capsys.readouterr().out
        assert path_in_rejected.name in texts["validate output"]
    return texts


def assert_no_record(texts: dict[str, str]) -> None:
    for where, text in texts.items():
        assert not all(n in text for n in PLANTED), f"{where} shows a whole record:\n{text}"


@pytest.mark.parametrize(
    "case,body",
    [
        # a bad date in the planted row and another: over the 50% reject rate
        ("reject_rate", lines(ROWS[0], planted_row(birth="31/12/2015"), "004600,A,B,x,101")),
        ("duplicate_key", lines(*ROWS, planted_row(ref="004512"))),
        ("too_many_fields", lines(*ROWS, planted_row() + ",extra")),
        ("unterminated_quote", lines(*ROWS) + f'004599,{PLANTED[0]},"{PLANTED[1]}'),
        ("required", lines(*ROWS, planted_row(ref=""))),
    ],
    ids=["reject_rate", "duplicate_key", "too_many_fields", "unterminated_quote", "required"],
)
def test_reports_and_messages_show_values_never_whole_records(
    home, sources_dir, capsys, case, body
):
    source = write_source(sources_dir)
    path = deliver(home, source, "roster_2025-09-05.csv", body.encode())
    out = pipeline.process_delivery(source, path, home)
    rules = set(lake.read_quarantine(home)["rule"])
    assert case in rules, (out.status, rules)
    kept = next((out.report_path.parent).glob("*.csv"))
    texts = outputs(home, out, capsys, kept)
    assert_no_record(texts)
    # ...while the steward still finds the raw record in the quarantine, by design.
    if case != "duplicate_key":
        records = " ".join(lake.read_quarantine(home)["record"].dropna())
        assert PLANTED[0] in records and PLANTED[1] in records


def test_file_without_its_header_row_does_not_echo_its_first_record(home, sources_dir, capsys):
    source = write_source(sources_dir)
    body = "\n".join([planted_row(), *ROWS]) + "\n"  # the header row is missing
    path = deliver(home, source, "roster_2025-09-05.csv", body.encode())
    out = pipeline.process_delivery(source, path, home)
    assert out.status == "rejected"
    kept = next((out.report_path.parent).glob("*.csv"))
    assert_no_record(outputs(home, out, capsys, kept))


# --- the pseudonym key --------------------------------------------------------------------


def test_pseudonym_key_comes_from_the_environment_without_a_warning(monkeypatch, capsys):
    monkeypatch.setattr(config, "_warned", False)
    monkeypatch.setenv("WHOLECHILD_PSEUDONYM_KEY", "district-secret-1")
    assert config.pseudonym_key() == b"district-secret-1"
    assert capsys.readouterr().err == ""


def test_default_demo_key_prints_a_warning_once(monkeypatch, capsys):
    monkeypatch.setattr(config, "_warned", False)
    monkeypatch.delenv("WHOLECHILD_PSEUDONYM_KEY", raising=False)
    assert config.pseudonym_key() == config.DEMO_PSEUDONYM_KEY.encode()
    err = capsys.readouterr().err
    assert "warning" in err and "WHOLECHILD_PSEUDONYM_KEY" in err
    config.pseudonym_key()
    assert capsys.readouterr().err == ""  # once per process, not once per student


def test_student_keys_depend_on_the_secret_which_is_never_written(home, sources_dir, monkeypatch):
    source = write_source(sources_dir)
    registry = load_registry(sources_dir)
    pipeline.process_delivery(source, deliver(home, source, "r.csv", GOOD.encode()), home)
    keys = {}
    for secret in ("district-secret-1", "district-secret-2"):
        monkeypatch.setenv("WHOLECHILD_PSEUDONYM_KEY", secret)
        path = Path(identity.build_student_keys(registry, home))
        table = pq.read_table(path).to_pandas()
        keys[secret] = dict(zip(table["district_id"], table["student_key"], strict=True))
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    one, two = keys.values()
    assert sorted(one) == ["004512", "004513", "004514", "004515"]
    assert all(one[k] != two[k] for k in one)
    assert all(k not in v for k, v in one.items())  # the id is not inside its key
    for p in home.home.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            assert b"district-secret" not in data, p
    assert os.environ["WHOLECHILD_PSEUDONYM_KEY"] == "district-secret-2"
