"""The source registry: valid files load, a bad file is one sentence and never takes others down."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.conftest import MAP_GROWTH_YML as MAP_GROWTH
from wholechild.registry import RegistryError, load_registry, load_source


def write(folder: Path, name: str, text: str) -> Path:
    p = folder / name
    p.write_text(textwrap.dedent(text))
    return p


def test_product_example_yaml_loads(tmp_path):
    src = load_source(write(tmp_path, "map_growth.yml", MAP_GROWTH))
    assert src.name == "map_growth"
    assert src.entities == ("assessment_result",)
    assert src.student_id.kind == "state"
    export = src.exports[0]
    assert export.columns["assessed_on"].format == "%m/%d/%Y"
    assert export.constants == {"assessment_name": "MAP Growth"}
    assert export.codes["subject"]["Mathematics"] == "math"
    assert src.export_for("anything.csv") is export


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (("entity: assessment_result", "entity: assessments"), "entity"),
        (("cadence: term", "cadence: hourly"), "cadence"),
        (("steward: assessment@district.example", "steward: bob"), "steward"),
        (("  subject: Subject\n", "  subjekt: Subject\n"), "columns.subjekt"),
        (("  subject: Subject\n", ""), "columns.subject"),
        (("mode: incremental", "mode: merge"), "mode"),
        (
            ("quality: {max_reject_rate: 0.02}", "quality: {max_reject_rate: 2}"),
            "quality.max_reject_rate",
        ),
        (("name: map_growth", "name: Map-Growth"), "name"),
        (("student_id: state", "student_id: {kind: state, pad_to: zero}"), "student_id.pad_to"),
        (("Science: science", "Science: biology"), "codes.subject"),
        (("options: {encoding: utf-8", "options: {encoding: klingon-8"), "options.encoding"),
        (("format: csv", "format: csv\ncolour: blue"), "colour"),
    ],
)
def test_invalid_yaml_names_file_and_key(tmp_path, change, key):
    old, new = change
    assert old in MAP_GROWTH
    path = write(tmp_path, "map_growth.yml", MAP_GROWTH.replace(old, new))
    with pytest.raises(RegistryError) as info:
        load_source(path)
    err = info.value
    assert err.key == key
    message = str(err)
    assert message.startswith("map_growth.yml: key ")
    assert key in message
    assert message.count(".") >= 1 and "\n" not in message


def test_bad_file_does_not_take_other_sources_down(tmp_path):
    write(tmp_path, "map_growth.yml", MAP_GROWTH)
    write(tmp_path, "broken.yml", "name: broken\nformat: csv\n  bad indentation: [\n")
    write(
        tmp_path,
        "wrong_entity.yml",
        MAP_GROWTH.replace("map_growth", "other").replace(
            "entity: assessment_result", "entity: nope"
        ),
    )
    reg = load_registry(tmp_path)
    assert list(reg.sources) == ["map_growth"]
    assert sorted(e.file.name for e in reg.errors) == ["broken.yml", "wrong_entity.yml"]
    assert "not valid YAML" in str(next(e for e in reg.errors if e.file.name == "broken.yml"))


def test_duplicate_names_and_landings_are_errors(tmp_path):
    write(tmp_path, "a.yml", MAP_GROWTH)
    write(tmp_path, "b.yml", MAP_GROWTH)
    reg = load_registry(tmp_path)
    assert list(reg.sources) == ["map_growth"]
    assert reg.errors[0].key == "name"


def test_exports_form_maps_files_to_entities(tmp_path):
    text = """\
    name: sis
    system: SIS
    format: csv
    domains: [enrollment, demographics]
    steward: team:sis
    cadence: daily
    student_id: {kind: local, pad_to: 6}
    roster: true
    mode: snapshot
    exports:
      - match: "schools*.csv"
        entity: school
        columns: {school_id: SchoolCode, school_name: Name}
      - match: "students*.csv"
        entity: student
        mode: incremental
        columns: {student_ref: Id, first_name: First, last_name: Last, race_ethnicity: Race}
    """
    src = load_source(write(tmp_path, "sis.yml", text))
    assert src.entities == ("school", "student")
    assert src.export_for("Schools_2025-08-01.csv").entity == "school"
    assert src.export_for("students.csv").mode == "incremental"
    assert src.export_for("schools.csv").mode == "snapshot"
    assert src.export_for("courses.csv") is None
    assert src.student_id.pad_to == 6
    reg = load_registry(tmp_path)
    assert reg.roster is reg.sources["sis"]


def test_exports_need_a_match(tmp_path):
    text = MAP_GROWTH.replace("entity: assessment_result\n", "").split("columns:")[0] + (
        "exports:\n  - entity: school\n    columns: {school_id: A, school_name: B}\n"
    )
    with pytest.raises(RegistryError) as info:
        load_source(write(tmp_path, "x.yml", text))
    assert info.value.key == "exports[0].match"


def test_demo_registry_loads_cleanly():
    folder = Path(__file__).resolve().parents[1] / "sources"
    reg = load_registry(folder)
    assert reg.errors == []
    assert len(reg.sources) >= 9
    assert reg.roster is not None
