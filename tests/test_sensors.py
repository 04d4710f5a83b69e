"""The landing sensors: complete, new deliveries become one run keyed by content hash."""

from __future__ import annotations

import json
import os
import time

import dagster as dg
import pytest

from orchestration.defs.sources.assets import op_name
from orchestration.defs.sources.sensors import build_landing_sensor, sensor_name
from tests.conftest import MAP_GROWTH_YML, land
from wholechild import landing, pipeline
from wholechild.registry import load_registry

FALL = """\
Student_StateID,TestStartDate,Subject,TestRITScore,TestPercentile
TX001,09/15/2025,Mathematics,201,55
TX002,09/15/2025,Reading,195,40
"""


@pytest.fixture
def source(sources_dir):
    (sources_dir / "map_growth.yml").write_text(MAP_GROWTH_YML)
    return load_registry(sources_dir).sources["map_growth"]


@pytest.fixture
def sensor(source) -> dg.SensorDefinition:
    return build_landing_sensor(source)


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


def tick(sensor, instance, cursor=None):
    return sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor))


def test_sensor_is_named_per_source_and_runs_by_default(sensor):
    assert sensor.name == sensor_name("map_growth") == "map_growth_landing_sensor"
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.minimum_interval_seconds == 30


def test_settled_file_yields_one_run_keyed_by_source_and_sha(home, sensor, instance):
    path = land(home, "map_growth", "map_fall_2025-09-30.csv", FALL)
    result = tick(sensor, instance)
    assert len(result.run_requests) == 1
    request = result.run_requests[0]
    assert request.run_key == f"map_growth:{landing.sha256_of(path)}"
    # The run config names the delivery, so the run processes that one file.
    assert request.run_config["ops"][op_name("map_growth")]["config"]["delivery"] == path.name
    assert {k.to_user_string() for k in request.asset_selection or []} <= {
        "raw/map_growth/assessment_result"
    }


def test_empty_landing_skips_with_reason(home, sensor, instance):
    result = tick(sensor, instance)
    assert not result.run_requests
    assert "No files in landing/map_growth/" in result.skip_message


def test_unchanged_file_is_requested_once(home, sensor, instance):
    land(home, "map_growth", "map_fall.csv", FALL)
    first = tick(sensor, instance)
    again = tick(sensor, instance, first.cursor)
    assert len(first.run_requests) == 1
    assert not again.run_requests
    assert "already seen" in again.skip_message


def test_same_bytes_under_a_new_name_after_loading_start_no_run(home, sensor, source, instance):
    path = land(home, "map_growth", "map_fall.csv", FALL)
    first = tick(sensor, instance)
    assert len(first.run_requests) == 1
    out = pipeline.process_delivery(source, path, home)  # what the requested run does
    assert out.status == pipeline.PUBLISHED

    land(home, "map_growth", "map_fall_copy.csv", FALL)
    result = tick(sensor, instance, first.cursor)
    assert not result.run_requests
    assert "already loaded" in result.skip_message
    assert "map_fall_copy.csv" in result.skip_message


def test_same_bytes_twice_in_the_landing_zone_request_one_run(home, sensor, instance):
    land(home, "map_growth", "a.csv", FALL)
    land(home, "map_growth", "b.csv", FALL)
    result = tick(sensor, instance)
    assert len(result.run_requests) == 1


def test_corrected_file_under_the_same_name_is_new(home, sensor, instance):
    path = land(home, "map_growth", "map_fall.csv", FALL)
    first = tick(sensor, instance)
    path.write_text(FALL.replace("201", "202"))
    os.utime(path, (time.time() - 60, time.time() - 60))
    second = tick(sensor, instance, first.cursor)
    assert len(second.run_requests) == 1
    assert second.run_requests[0].run_key != first.run_requests[0].run_key


def test_file_still_being_written_is_skipped_with_reason(home, sensor, instance, monkeypatch):
    monkeypatch.setenv("WHOLECHILD_SETTLE_SECONDS", "3600")
    land(home, "map_growth", "map_fall.csv", FALL)  # mtime: now
    result = tick(sensor, instance)
    assert not result.run_requests
    assert "1 file(s) still being written" in result.skip_message
    assert "map_fall.csv" in result.skip_message
    # Nothing half-written is remembered: the file is judged afresh once complete.
    assert json.loads(result.cursor) == {}


def test_done_marker_makes_a_file_ready(home, sensor, instance, monkeypatch):
    monkeypatch.setenv("WHOLECHILD_SETTLE_SECONDS", "3600")
    path = land(home, "map_growth", "map_fall.csv", FALL)
    assert not tick(sensor, instance).run_requests
    path.with_name(path.name + ".done").write_text("")
    result = tick(sensor, instance)
    assert len(result.run_requests) == 1
    assert result.run_requests[0].run_key == f"map_growth:{landing.sha256_of(path)}"


def test_cursor_is_json_of_what_was_seen_not_the_clock(home, sensor, instance):
    path = land(home, "map_growth", "map_fall.csv", FALL)
    before = time.time()
    result = tick(sensor, instance)
    st = path.stat()
    assert json.loads(result.cursor) == {
        "map_fall.csv": [st.st_size, st.st_mtime, landing.sha256_of(path)]
    }
    # The file's mtime, not the time of the tick.
    assert json.loads(result.cursor)["map_fall.csv"][1] <= before


def test_files_that_left_the_landing_zone_leave_the_cursor(home, sensor, instance):
    path = land(home, "map_growth", "map_fall.csv", FALL)
    first = tick(sensor, instance)
    path.unlink()
    second = tick(sensor, instance, first.cursor)
    assert json.loads(second.cursor) == {}


def test_delivery_whose_run_died_is_requested_again_under_a_new_key(home, sensor, instance):
    from dagster._core.test_utils import create_run_for_test

    path = land(home, "map_growth", "map_fall_2025-09-30.csv", FALL)
    first = tick(sensor, instance)
    (request,) = first.run_requests
    sha = landing.sha256_of(path)
    tags = {"wholechild/source": "map_growth", "wholechild/sha256": sha}
    # Its run started and is still going: nothing new to request.
    run = create_run_for_test(
        instance, job_name="ingest", status=dg.DagsterRunStatus.STARTED, tags=tags
    )
    assert tick(sensor, instance, first.cursor).run_requests == []
    # It died before publishing (no ledger row, file still landed): asked for again.
    instance.report_run_failed(run)
    (retry,) = tick(sensor, instance, first.cursor).run_requests
    assert retry.run_key == f"{request.run_key}:retry-1"
