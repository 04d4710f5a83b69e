"""Standard-format sources in the registry: the entities they publish, narrowed and overridden."""

from __future__ import annotations

import textwrap

import pytest

from tests.conftest import MAP_GROWTH_YML
from wholechild.registry import STANDARD_ENTITIES, RegistryError, load_source

BASE = """\
name: roster
format: {fmt}
domains: [enrollment]
steward: team:sis
cadence: daily
"""


def write(tmp_path, text: str, fmt: str = "oneroster"):
    path = tmp_path / "roster.yml"
    path.write_text(BASE.format(fmt=fmt) + textwrap.dedent(text))
    return path


@pytest.mark.parametrize("fmt", sorted(STANDARD_ENTITIES))
def test_a_standard_source_publishes_its_formats_entities(tmp_path, fmt):
    src = load_source(write(tmp_path, "", fmt))
    assert src.entities == STANDARD_ENTITIES[fmt]
    assert src.is_standard
    assert all(e.columns == {} for e in src.exports)


def test_entities_list_narrows(tmp_path):
    src = load_source(write(tmp_path, "entities: [student, school]\nmode: snapshot\n"))
    assert src.entities == ("student", "school")
    assert src.export_of("student").mode == "snapshot"


def test_entities_mapping_overrides_codes_constants_and_mode(tmp_path):
    text = """\
    student_id: {kind: local, pad_to: 6}
    entities:
      student:
        codes: {grade_level: {"13": "12"}, sex: {Other: nonbinary}}
      section_enrollment:
        constants: {is_advanced: false}
        mode: snapshot
    """
    src = load_source(write(tmp_path, text))
    assert src.entities == ("student", "section_enrollment")
    assert src.export_of("student").codes["grade_level"] == {"13": "12"}
    assert src.export_of("student").student_id.pad_to == 6
    assert src.export_of("section_enrollment").constants == {"is_advanced": False}
    assert src.export_of("section_enrollment").mode == "snapshot"
    assert src.export_of("school") is None


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("entities: [attendance_event]\n", "entities.attendance_event"),
        ("entities: []\n", "entities"),
        ("entities: {student: {columns: {}}}\n", "entities.student.columns"),
        ("entities: {student: {codes: {sex: {F: woman}}}}\n", "entities.student.codes.sex"),
        ("entities: {student: {constants: {colour: blue}}}\n", "entities.student.constants.colour"),
        ("columns: {student_ref: Id}\n", "columns"),
        ("entity: student\n", "entity"),
        ("codes: {sex: {F: female}}\n", "codes"),
    ],
)
def test_bad_standard_settings_name_the_key(tmp_path, text, key):
    with pytest.raises(RegistryError) as info:
        load_source(write(tmp_path, text))
    assert info.value.key == key
    assert str(info.value).startswith("roster.yml: key ")


def test_entities_is_refused_for_a_tabular_source(tmp_path):
    path = tmp_path / "map_growth.yml"
    path.write_text(MAP_GROWTH_YML + "entities: [assessment_result]\n")
    with pytest.raises(RegistryError) as info:
        load_source(path)
    assert info.value.key == "entities"


def test_every_missing_required_column_is_named_at_once(tmp_path):
    path = tmp_path / "map_growth.yml"
    text = MAP_GROWTH_YML.replace("  subject: Subject\n", "").replace(
        "  assessment_name: MAP Growth\n", "  test_code: X\n"
    )
    path.write_text(text)
    with pytest.raises(RegistryError) as info:
        load_source(path)
    assert info.value.key == "columns.assessment_name"
    assert "also missing: columns.subject" in str(info.value)
