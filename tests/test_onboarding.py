"""``wholechild add-source``: a YAML proposed from a sample's header, TODOs the registry names."""

from __future__ import annotations

import codecs

import pytest
import yaml

from orchestration.cli import main
from tests.conftest import SHARED
from wholechild import onboarding
from wholechild.registry import RegistryError, load_source

MAP_SAMPLE = SHARED / "data" / "real" / "nwea_map_growth" / "map_growth_sample.csv"
needs_map = pytest.mark.skipif(
    not MAP_SAMPLE.is_file(),
    reason=f"the real MAP Growth sample is not here ({MAP_SAMPLE}); it lives in ../shared",
)


def fill_todos(path, constants: dict) -> None:
    """What a person does with the scaffold: name a steward, settle the missing columns."""
    data = yaml.safe_load(path.read_text())
    data["steward"] = "assessment@district.example"
    data.setdefault("constants", {}).update(constants)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@needs_map
def test_map_growth_sample_scaffolds_an_assessment_source(home, sources_dir, capsys):
    code = main(["add-source", "map_growth", "--sample", str(MAP_SAMPLE)])
    out = capsys.readouterr().out
    assert code == 0, out
    path = sources_dir / "map_growth.yml"
    text = path.read_text()
    data = yaml.safe_load(text)
    assert data["entity"] == "assessment_result"
    columns = data["columns"]
    assert columns["student_ref"] in ("StudentID", "Student_StateID")
    assert data["student_id"] == ("local" if columns["student_ref"] == "StudentID" else "state")
    assert columns["assessed_on"] == {"header": "TestStartDate", "format": "%m/%d/%Y"}
    assert columns["subject"] == "Subject"
    assert columns["scale_score"] == "TestRITScore"
    assert columns["percentile"] == "TestPercentile"
    assert data["codes"]["subject"] == {
        "Language Arts": "ela",
        "Mathematics": "math",
        "Science": "science",
    }
    # What is left is marked in the file and printed.
    assert "# TODO assessment_name" in text and "steward: TODO" in text
    assert "assessment_name" in out and "steward" in out and "wholechild validate" in out

    # Until the TODOs are done, the registry names exactly what is left.
    with pytest.raises(RegistryError) as info:
        load_source(path)
    assert info.value.key == "steward"
    data["steward"] = "team:assessment"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(RegistryError) as info:
        load_source(path)
    assert info.value.key == "columns.assessment_name"

    fill_todos(path, {"assessment_name": "MAP Growth"})
    assert load_source(path).entities == ("assessment_result",)
    assert main(["validate", str(MAP_SAMPLE), "--source", "map_growth"]) == 0
    assert "would be published" in capsys.readouterr().out


@needs_map
def test_an_existing_file_is_never_overwritten(home, sources_dir, capsys):
    path = sources_dir / "map_growth.yml"
    path.write_text("# mine\n")
    assert main(["add-source", "map_growth", "--sample", str(MAP_SAMPLE)]) == 2
    assert "already exists" in capsys.readouterr().out
    assert path.read_text() == "# mine\n"


def test_a_bom_semicolon_latin1_sample_with_state_ids_and_codes(home, sources_dir, tmp_path):
    sample = tmp_path / "absences.csv"
    text = "SSID;Building;Absence Date;Code;Élève\n700123;12;09/03/2025;A;Zoé\n700124;12;09/04/2025;T;Léa\n"
    sample.write_bytes(text.encode("cp1252"))
    scaffold = onboarding.scaffold("absences", sample)
    assert scaffold.entity == "attendance_event"
    assert scaffold.id_kind == "state"
    assert scaffold.columns["student_ref"].header == "SSID"
    assert scaffold.columns["event_date"].format == "%m/%d/%Y"
    assert scaffold.codes["category"] == {"A": "unexcused_absence", "T": "tardy"}
    assert scaffold.sample.options == {"encoding": "cp1252", "delimiter": ";"}
    assert scaffold.columns["school_id"].header == "Building"  # close to BuildingID
    assert [t.split(":")[0] for t in scaffold.todos] == ["steward"]

    utf16 = tmp_path / "students.csv"
    utf16.write_bytes(
        codecs.BOM_UTF16_LE
        + "Student Email,First Name,Last Name,Gender\namy@x.org,Amy,Adams,F\n".encode("utf-16-le")
    )
    scaffold = onboarding.scaffold("lms_roster", utf16)
    assert scaffold.entity == "student"
    assert scaffold.id_kind == "email"
    assert scaffold.codes["sex"] == {"F": "female"}


def test_an_unguessable_code_is_a_todo_the_registry_names(home, sources_dir, tmp_path):
    sample = tmp_path / "attendance.csv"
    sample.write_text("StudentNumber,SchoolID,Date,Code\n004512,101,2025-09-03,ZZ\n")
    path = onboarding.write(
        onboarding.scaffold("attendance", sample, "attendance_event"), sources_dir
    )
    text = path.read_text()
    assert "ZZ: TODO" in text
    data = yaml.safe_load(text)
    data["steward"] = "team:attendance"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(RegistryError) as info:
        load_source(path)
    assert info.value.key == "codes.category" and "'ZZ' to 'TODO'" in str(info.value)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["add-source", "Bad-Name", "--sample", "x.csv"], "not a usable source name"),
        (["add-source", "ok", "--sample", "/nonexistent.csv"], "is not a file"),
        (
            ["add-source", "ok", "--sample", "/nonexistent.csv", "--entity", "nope"],
            "not a canonical entity",
        ),
    ],
)
def test_usage_errors_exit_2_with_one_sentence(home, capsys, args, words):
    assert main(args) == 2
    assert words in capsys.readouterr().out
