"""Dagster on Postgres: a delivery goes through the landing sensor and a multiprocess run on
a Postgres instance (``orchestration/dagster.postgres.yaml``); the run history is read back.

A throwaway PostgreSQL cluster is started on loopback for the slow tests (``initdb`` and
``pg_ctl`` from PATH or Debian's ``/usr/lib/postgresql/<version>/bin``; ``.ci/run`` installs
Debian's ``postgresql`` when they are missing), one database per test. ``initdb`` refuses to
run as root, so as root the cluster belongs to the ``postgres`` OS user (created if
missing) and its commands run through ``runuser``. The tests skip only when no PostgreSQL
server is installed.

How the runs are launched:

- ``test_sensor_request_runs_multiprocess_on_postgres_and_is_recorded``: the sensor is
  evaluated against the Postgres-backed instance (``build_sensor_context``), and its run
  request is executed by ``execute_job`` on the job that sensor targets, named through a
  pointer to the code location (``ReconstructableRepository.for_module(...)
  .get_reconstructable_job(sensor.job_name)``, as a run worker resolves it). The
  multiprocess executor runs each step in its own process, which loads the code location
  again and reports to the same storage. The run carries the tags the sensor daemon adds
  (``dagster/run_key``, ``dagster/sensor_name``).
- ``test_daemon_launches_the_sensor_run_on_postgres``: ``dagster-daemon run`` does it all,
  as in a deployment: it ticks the sensor, queues the run, and its ``DefaultRunLauncher``
  starts a run worker that uses the multiprocess executor.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.definitions.reconstruct import ReconstructableJob, ReconstructableRepository
from dagster._core.storage.tags import RUN_KEY_TAG, SENSOR_NAME_TAG

from orchestration import runtime
from orchestration.definitions import build_defs
from orchestration.defs.sources.checks import LATEST_DELIVERY_ACCEPTED
from orchestration.defs.sources.sensors import sensor_name
from tests.conftest import MAP_GROWTH_YML, ROOT, land
from wholechild import lake, landing

FALL = """\
Student_StateID,TestStartDate,Subject,TestRITScore,TestPercentile
TX001,09/15/2025,Mathematics,201,55
TX002,09/15/2025,Reading,195,40
TX003,09/16/2025,Mathematics,210,71
"""

KEY = dg.AssetKey(["raw", "map_growth", "assessment_result"])
CHECKS = {
    "assessment_result_keys_are_unique",
    "assessment_result_rows_meet_contract",
    LATEST_DELIVERY_ACCEPTED,
}
PG_USER = "postgres"  # the OS user that owns the cluster when the tests run as root
PG_ROLE = "wholechild"  # the database superuser initdb creates (password auth on TCP)
DAEMON_TIMEOUT_SECONDS = 120


@dg.definitions
def code_location() -> dg.Definitions:
    """The code location as ``orchestration.definitions`` builds it, without dbt.

    A run worker loads it by name in every process (the multiprocess executor's step
    processes too), with the registry and the state folders of the environment
    (``WHOLECHILD_SOURCES``, ``WHOLECHILD_HOME`` are inherited). dbt is left out: this test
    is about the storage, and a dbt parse per process would only cost time.
    """
    return build_defs(include_dbt=False)


def sensor_job(sensor: dg.SensorDefinition) -> ReconstructableJob:
    """The job ``sensor`` targets, as a pointer other processes resolve (as a run worker does)."""
    location = ReconstructableRepository.for_module(
        __name__, "code_location", working_directory=str(ROOT)
    )
    return location.get_reconstructable_job(sensor.job_name)


# --------------------------------------------------------------------------- PostgreSQL
@dataclass(frozen=True)
class Postgres:
    """A running throwaway cluster: where it listens and its superuser."""

    host: str
    port: int
    user: str
    password: str

    def create_database(self, name: str) -> None:
        import psycopg2

        con = psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname="postgres",
        )
        try:
            con.autocommit = True
            with con.cursor() as cur:
                cur.execute(f"create database {name}")
        finally:
            con.close()

    def env(self, db: str) -> dict[str, str]:
        """The variables ``dagster.postgres.yaml`` reads."""
        return {
            "DAGSTER_PG_HOST": self.host,
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USER": self.user,
            "DAGSTER_PG_PASSWORD": self.password,
            "DAGSTER_PG_DB": db,
        }


def postgres_bin_dir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: PATH first, then Debian's newest."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        folder = Path(os.path.realpath(initdb)).parent
        if folder == Path(os.path.realpath(pg_ctl)).parent:
            return folder

    def version(folder: str) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", Path(folder).parent.name))

    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        if os.access(f"{folder}/initdb", os.X_OK) and os.access(f"{folder}/pg_ctl", os.X_OK):
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ensure_os_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home", name],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(name)


def _as_cluster_owner(cmd: list[str]) -> list[str]:
    """As root, run ``cmd`` as the ``postgres`` user (``initdb`` refuses root)."""
    if os.geteuid() != 0:
        return cmd
    if shutil.which("runuser"):
        return ["runuser", "-u", PG_USER, "--", *cmd]
    return ["su", PG_USER, "-s", "/bin/sh", "-c", shlex.join(cmd)]


def _run(cmd: list[str], what: str, log: Path | None = None) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd="/")
    if done.returncode != 0:
        tail = log.read_text()[-2000:] if log is not None and log.exists() else ""
        raise RuntimeError(
            f"{what} failed ({done.returncode}): {shlex.join(cmd)}\n"
            f"{done.stdout}{done.stderr}{tail}"
        )


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    """A throwaway cluster on 127.0.0.1 (a free port; its socket in its own folder)."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.skip(
            "PostgreSQL is not installed (no initdb/pg_ctl on PATH or in "
            "/usr/lib/postgresql/*/bin): install Debian's `postgresql` package, as .ci/run does."
        )
    try:
        import psycopg2  # noqa: F401 - installed with dagster-postgres
    except ImportError:
        pytest.fail("dagster-postgres (and psycopg2) must be installed: it is in pyproject.")

    owner = _ensure_os_user(PG_USER) if os.geteuid() == 0 else None
    # Under /tmp: the postgres user must reach it, and a socket path must stay short.
    root = Path(
        tempfile.mkdtemp(prefix="wholechild-pg-", dir="/tmp" if Path("/tmp").is_dir() else None)
    )
    data, sockets, log, pwfile = root / "data", root / "sockets", root / "server.log", root / "pw"
    sockets.mkdir()
    password = secrets.token_hex(12)
    pwfile.write_text(password + "\n")
    if owner is not None:
        for p in (root, sockets, pwfile):
            os.chown(p, owner.pw_uid, owner.pw_gid)
    pg_ctl = str(bin_dir / "pg_ctl")
    started = False
    try:
        _run(
            _as_cluster_owner(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    PG_ROLE,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-sync",
                ]
            ),
            "initdb",
        )
        for attempt in range(3):  # another process may take the free port first
            port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            cmd = [pg_ctl, "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options]
            try:
                _run(_as_cluster_owner([*cmd, "start"]), "pg_ctl start", log)
                started = True
                break
            except RuntimeError:
                if attempt == 2:
                    raise
        yield Postgres("127.0.0.1", port, PG_ROLE, password)
    finally:
        if started:
            subprocess.run(
                _as_cluster_owner([pg_ctl, "-D", str(data), "stop", "-m", "immediate"]),
                capture_output=True,
                timeout=60,
                cwd="/",
            )
        shutil.rmtree(root, ignore_errors=True)


# --------------------------------------------------------------------------- the templates
def _instance_settings(template) -> dict:
    settings = yaml.safe_load(template.read_text())
    settings.pop("storage", None)
    return settings


def test_postgres_template_keeps_the_pools_and_run_settings_of_the_default():
    assert "storage" in yaml.safe_load(runtime.DAGSTER_POSTGRES_YAML_TEMPLATE.read_text())
    assert _instance_settings(runtime.DAGSTER_POSTGRES_YAML_TEMPLATE) == _instance_settings(
        runtime.DAGSTER_YAML_TEMPLATE
    )


def test_storage_variable_picks_the_template_and_switches_an_unedited_copy(home, monkeypatch):
    target = home.dagster_home / "dagster.yaml"
    runtime.ensure_dagster_home(home)
    assert target.read_text() == runtime.DAGSTER_YAML_TEMPLATE.read_text()

    monkeypatch.setenv(runtime.STORAGE_ENV, "postgres")
    runtime.ensure_dagster_home(home)
    assert target.read_text() == runtime.DAGSTER_POSTGRES_YAML_TEMPLATE.read_text()

    target.write_text(target.read_text() + "\n# edited\n")
    monkeypatch.setenv(runtime.STORAGE_ENV, "sqlite")
    runtime.ensure_dagster_home(home)  # an operator's edits are kept
    assert "# edited" in target.read_text()

    monkeypatch.setenv(runtime.STORAGE_ENV, "mysql")
    with pytest.raises(ValueError, match="WHOLECHILD_DAGSTER_STORAGE"):
        runtime.ensure_dagster_home(home)


# --------------------------------------------------------------------------- the runs
@pytest.fixture
def dagster_home(postgres, home, sources_dir, monkeypatch) -> Path:
    """A fresh database on the cluster, ``DAGSTER_HOME`` with the Postgres ``dagster.yaml``,
    and a registry of one source (MAP Growth)."""
    db = f"wholechild_dagster_{secrets.token_hex(4)}"  # one database per test
    postgres.create_database(db)
    for name, value in postgres.env(db).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(runtime.STORAGE_ENV, "postgres")
    folder = runtime.ensure_dagster_home(home)
    monkeypatch.setenv("DAGSTER_HOME", str(folder))
    (sources_dir / "map_growth.yml").write_text(MAP_GROWTH_YML)
    return folder


def _assert_history(dagster_home: Path, run_key: str, sha: str) -> dg.DagsterRun:
    """One successful run for ``run_key`` in Postgres, with the raw asset and its checks."""
    with dg.DagsterInstance.from_config(str(dagster_home)) as history:
        assert type(history.run_storage).__name__ == "PostgresRunStorage"
        assert type(history.event_log_storage).__name__ == "PostgresEventLogStorage"
        # How the daemon finds that a run key was already launched.
        [run] = history.get_runs(filters=dg.RunsFilter(tags={RUN_KEY_TAG: run_key}))
        assert run.status == dg.DagsterRunStatus.SUCCESS
        assert run.tags[SENSOR_NAME_TAG] == "map_growth_landing_sensor"
        assert run.tags["wholechild/sha256"] == sha

        events = [e.dagster_event for e in history.all_logs(run.run_id) if e.is_dagster_event]
        # Steps ran in their own processes: the multiprocess executor, not in-process.
        assert dg.DagsterEventType.STEP_WORKER_STARTED in {e.event_type for e in events}
        [mat] = [e for e in events if e.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION]
        assert mat.asset_key == KEY
        assert mat.materialization.metadata["rows_published"].value == 3
        assert mat.materialization.metadata["last_delivery_status"].value == "published"
        evaluations = {
            e.event_specific_data.check_name: e.event_specific_data
            for e in events
            if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
        }
        assert set(evaluations) >= CHECKS
        assert all(evaluations[name].passed for name in CHECKS)
        latest = history.get_latest_materialization_event(KEY)
        assert latest is not None and latest.run_id == run.run_id
        return run


@pytest.mark.slow
def test_sensor_request_runs_multiprocess_on_postgres_and_is_recorded(home, dagster_home):
    """The sensor evaluated in the test, its request executed by ``execute_job``."""
    path = land(home, "map_growth", "map_fall_2025-09-30.csv", FALL)
    sha = landing.sha256_of(path)
    repository = build_defs(include_dbt=False).get_repository_def()
    sensor = repository.get_sensor_def(sensor_name("map_growth"))

    with dg.DagsterInstance.get() as instance:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1

        # What the sensor daemon does: one tick, one run request keyed by content hash.
        tick = sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
        [request] = tick.run_requests
        assert request.run_key == f"map_growth:{sha}"

        # ... and the run it launches, here with the multiprocess executor.
        result = dg.execute_job(
            sensor_job(sensor),
            instance=instance,
            run_config={
                **request.run_config,
                "execution": {"config": {"multiprocess": {"max_concurrent": 2}}},
            },
            tags={**request.tags, RUN_KEY_TAG: request.run_key, SENSOR_NAME_TAG: sensor.name},
            asset_selection=list(request.asset_selection or []),
        )
        with result:
            assert result.success
            run_id = result.run_id

        # The sensor's next tick finds nothing new: the delivery was filed away.
        again = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=tick.cursor))
        assert not again.run_requests

    assert not path.exists()  # filed away into archive/
    assert len(lake.current_rows(home, "map_growth", "assessment_result", "incremental")) == 3
    # The history, read back from Postgres by a new instance (what the webserver sees).
    assert _assert_history(dagster_home, request.run_key, sha).run_id == run_id


def _stop(daemon: subprocess.Popen) -> None:
    """SIGINT (the daemon's clean shutdown), then end its process group: the code server
    and run workers it started otherwise linger until their heartbeat times out."""
    if daemon.poll() is None:
        daemon.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            daemon.wait(timeout=5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(daemon.pid, signal.SIGKILL)  # the group of the session started below
    daemon.wait(timeout=15)


@pytest.mark.slow
def test_daemon_launches_the_sensor_run_on_postgres(home, dagster_home, tmp_path):
    """The deployment's shape on one machine: ``dagster-daemon run`` ticks the sensor, queues
    the run (``concurrency.runs``), launches a run worker (``DefaultRunLauncher``) that runs
    the steps with the multiprocess executor; everything recorded in Postgres."""
    path = land(home, "map_growth", "map_fall_2025-09-30.csv", FALL)
    sha = landing.sha256_of(path)
    run_key = f"map_growth:{sha}"
    log = tmp_path / "daemon.log"
    dagster_daemon = Path(sys.executable).with_name("dagster-daemon")
    if not dagster_daemon.exists():
        dagster_daemon = Path(shutil.which("dagster-daemon") or "dagster-daemon")
    with log.open("w") as out:
        daemon = subprocess.Popen(
            [str(dagster_daemon), "run", "-m", __name__, "-a", "code_location", "-d", str(ROOT)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, ended as one in _stop
        )
    try:
        finished = None
        deadline = time.monotonic() + DAEMON_TIMEOUT_SECONDS
        with dg.DagsterInstance.get() as instance:
            while finished is None and time.monotonic() < deadline and daemon.poll() is None:
                runs = instance.get_runs(filters=dg.RunsFilter(tags={RUN_KEY_TAG: run_key}))
                finished = next((r for r in runs if r.is_finished), None)
                time.sleep(1)
            assert finished is not None, (
                f"no finished run for {run_key} after {DAEMON_TIMEOUT_SECONDS}s; "
                f"daemon log:\n{log.read_text()[-3000:]}"
            )
            events = {
                e.dagster_event.event_type
                for e in instance.all_logs(finished.run_id)
                if e.is_dagster_event
            }
            # Through the run queue: the instance's concurrency.runs limit applies.
            assert dg.DagsterEventType.PIPELINE_ENQUEUED in events
            # The sensor's ticks live in Postgres too, the one that requested this run with them.
            [state] = [
                state
                for state in instance.all_instigator_state()
                if state.instigator_name == sensor_name("map_growth")
            ]
            ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id)
            assert any(finished.run_id in tick.run_ids for tick in ticks)
    finally:
        _stop(daemon)

    assert _assert_history(dagster_home, run_key, sha).run_id == finished.run_id
    assert not path.exists()  # filed away into archive/
