"""Faults: killed processes, deliveries arriving together, half-written and corrected files,
days out of order, and a warehouse held open by a reader. Nothing is lost, nothing is
half-published, and a rerun completes what a crash interrupted exactly once."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.defs.sources.landing_scan import Seen, scan_landing
from tests.test_bad_inputs import GOOD, HEADER, ROSTER_YML, deliver, lines, write_source
from wholechild import lake, lake_store, landing, pipeline, warehouse
from wholechild.config import Paths
from wholechild.registry import load_registry

ROOT = Path(__file__).resolve().parents[1]

#: The corrected roster of the next day: one student renamed and moved, one new.
NEXT_DAY = lines("004512,Ana,Lopez-Diaz,2015-03-04,103", "004516,Eli,Novak,2015-05-05,101")

CHILD = """\
import sys
from pathlib import Path

from wholechild import config, pipeline
from wholechild.registry import load_registry

source = load_registry().sources[sys.argv[1]]
pipeline.process_delivery(source, Path(sys.argv[2]), config.paths())
"""

READER = """\
import sys, time
import duckdb

con = duckdb.connect(sys.argv[1], read_only=True)
n = con.execute("select count(*) from raw.roster__student").fetchone()[0]
print(n, flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def child_env(home: Paths, sources_dir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        WHOLECHILD_HOME=str(home.home),
        WHOLECHILD_SOURCES=str(sources_dir),
        WHOLECHILD_SETTLE_SECONDS="0",
        **extra,
    )
    return env


def publish_paused(
    home: Paths, sources_dir: Path, source: str, delivery: Path, hook: str
) -> subprocess.Popen:
    """A child process publishing ``delivery`` that pauses at ``hook`` (a commit's test
    hook, see wholechild.lake_store) for two minutes: long enough to be killed there."""
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, source, str(delivery)],
        cwd=ROOT,
        env=child_env(home, sources_dir, **{hook: "120"}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"child exited {proc.returncode} before the pause: {err}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the child never reached the pause")
        time.sleep(0.05)


def current(home: Paths, mode: str = "incremental") -> pd.DataFrame:
    """What staging sees, without the bookkeeping that differs from run to run."""
    rows = lake.current_rows(home, "roster", "student", mode)
    keep = [c for c in rows.columns if not c.startswith("_")]
    return rows[keep].sort_values("student_ref").reset_index(drop=True)


def last_names(home: Paths) -> dict[str, str]:
    return dict(current(home)[["student_ref", "last_name"]].itertuples(index=False))


# --- SIGKILL during publish ----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("hook", [lake_store.PAUSE_BEFORE_COMMIT, lake_store.PAUSE_AFTER_COMMIT])
def test_kill_during_publish_leaves_lake_old_or_new_and_rerun_completes_once(
    home, sources_dir, hook
):
    source = write_source(sources_dir)
    first = pipeline.process_delivery(
        source, deliver(home, source, "roster_2025-09-05.csv", GOOD.encode()), home
    )
    old = last_names(home)
    second = deliver(home, source, "roster_2025-09-06.csv", NEXT_DAY.encode())
    raw = home.lake_raw / "roster"

    proc = publish_paused(home, sources_dir, "roster", second, hook)
    if hook == lake_store.PAUSE_BEFORE_COMMIT:  # every file written, the rename not yet done
        wait_for(lambda: any(home.lake_staging.glob(f"*/{lake.LEDGER_FILE}")), proc)
    else:  # renamed into the lake, the landed file not yet filed away
        wait_for(lambda: len(list(raw.iterdir())) == 2, proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    ledger = lake.read_ledger(home, "roster")
    visible = sorted(p.name for p in raw.iterdir())
    assert second.exists()  # never filed away: the landing zone still holds it
    if hook == lake_store.PAUSE_BEFORE_COMMIT:  # entirely old
        assert visible == [first.delivery_id]
        assert ledger["file_name"].tolist() == ["roster_2025-09-05.csv"]
        assert last_names(home) == old
    else:  # entirely new: every file of the delivery is there
        assert len(visible) == 2
        new_dir = raw / next(v for v in visible if v != first.delivery_id)
        assert sorted(p.name for p in new_dir.iterdir()) == sorted(
            [lake.LEDGER_FILE, lake.QUARANTINE_FILE, "student.parquet"]
        )
        assert ledger["status"].tolist() == ["published", "published"]
    for d in visible:  # whatever is visible is whole
        assert (raw / d / lake.LEDGER_FILE).exists()
    warehouse.refresh(load_registry(sources_dir), home)  # the views ignore the leftovers

    (out,) = pipeline.process_pending(load_registry(sources_dir), home, settle=0)
    assert out.status == ("published" if hook == lake_store.PAUSE_BEFORE_COMMIT else "duplicate")
    ledger = lake.read_ledger(home, "roster")
    loaded = ledger[ledger["file_name"] == second.name]
    assert (loaded["status"] == "published").sum() == 1  # exactly once
    assert len(lake.read_published(home, "roster", "student")) == 4 + 2
    assert last_names(home) == {**old, "004512": "Lopez-Diaz", "004516": "Novak"}
    assert not any((home.landing / "roster").iterdir())
    assert (ledger["rows_read"] == ledger["rows_published"] + ledger["rows_quarantined"]).all()


def test_leftovers_of_a_dead_publish_are_swept_once_stale(home, sources_dir):
    stale = home.lake_staging / "20250101T000000000000-deadbeef0000"
    fresh = home.lake_staging / "20250101T000000000000-0123456789ab"
    for d in (stale, fresh):
        d.mkdir(parents=True)
        (d / "student.parquet").write_bytes(b"half")
    past = time.time() - lake_store.STALE_SECONDS - 60
    for p in (stale / "student.parquet", stale):
        os.utime(p, (past, past))
    source = write_source(sources_dir)
    pipeline.process_delivery(source, deliver(home, source, "r.csv", GOOD.encode()), home)
    assert not stale.exists()
    assert fresh.exists()  # may belong to a live writer
    assert len(lake.read_ledger(home, "roster")) == 1


def test_landing_sensor_requests_again_a_delivery_whose_run_died(home, sources_dir):
    source = write_source(sources_dir)
    path = deliver(home, source, "roster_2025-09-05.csv", GOOD.encode())
    (f,) = landing.list_landed(path.parent)
    cursor = {f.name: Seen(f.size, f.mtime, landing.sha256_of(path))}  # requested, then died
    # While its run is in progress, it is not requested twice...
    scan = scan_landing(path.parent, cursor, lambda: [], settle=0, run_ended=lambda sha: False)
    assert scan.requests == [] and scan.already_requested == [f.name]
    # ...once every run for those bytes ended with no ledger row, it is requested again.
    scan = scan_landing(path.parent, cursor, lambda: [], settle=0, run_ended=lambda sha: True)
    assert [(d.name, d.retry) for d in scan.requests] == [(f.name, True)]


# --- many deliveries at once ---------------------------------------------------------------


def _one_delivery(home: str, sources: str, name: str, barrier) -> str:
    os.environ["WHOLECHILD_HOME"] = home
    os.environ["WHOLECHILD_SOURCES"] = sources
    from wholechild import config, pipeline, warehouse
    from wholechild.registry import load_registry

    registry = load_registry()
    paths = config.paths()
    source = registry.sources["roster"]
    barrier.wait()
    try:
        out = pipeline.process_delivery(source, paths.landing / "roster" / name, paths)
        warehouse.refresh(registry, paths)
    except Exception as exc:  # report, do not hide: the test asserts on it
        return f"{type(exc).__name__}: {exc}"
    return out.status


def daily_roster(day: int) -> str:
    """Students 5*day .. 5*day+29, each renamed D<day>: consecutive days overlap."""
    return lines(*(f"{i:06d},N{i},D{day},2015-03-04,101" for i in range(5 * day, 5 * day + 30)))


@pytest.mark.slow
def test_ten_deliveries_of_one_source_at_once_apply_once_each_in_date_order(home, sources_dir):
    # One source, ten files, ten processes started together, each refreshing the warehouse.
    # Nine daily files and a re-sent copy of the last one under another name.
    source = write_source(sources_dir)
    names = []
    for day in range(1, 10):
        names.append(f"roster_2025-09-{day:02d}.csv")
        deliver(home, source, names[-1], daily_roster(day).encode())
    names.append("roster_2025-09-09_resent.csv")
    deliver(home, source, names[-1], daily_roster(9).encode())

    ctx = mp.get_context("spawn")
    barrier = ctx.Manager().Barrier(len(names))
    with ctx.Pool(len(names)) as pool:
        statuses = pool.starmap(
            _one_delivery, [(str(home.home), str(sources_dir), n, barrier) for n in names]
        )
    assert sorted(statuses) == ["duplicate"] + ["published"] * 9, statuses

    ledger = lake.read_ledger(home, "roster")
    assert len(ledger) == 10
    assert ledger["rows_published"].sum() == 9 * 30
    expected = {}
    for day in range(1, 10):  # the later day wins, whatever order the processes ran in
        expected.update({f"{i:06d}": f"D{day}" for i in range(5 * day, 5 * day + 30)})
    assert last_names(home) == expected
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from raw.roster__student").fetchone() == (270,)
        assert con.execute("select count(*) from ops.load_ledger").fetchone() == (10,)
    assert not any((home.landing / "roster").iterdir())


# --- files being written, re-sent and corrected -------------------------------------------


@pytest.mark.slow
def test_file_still_being_written_is_not_ingested_until_complete(home, sources_dir):
    source = write_source(sources_dir)
    registry = load_registry(sources_dir)
    path = home.landing / "roster" / "roster_2025-09-05.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    total = 12
    done = threading.Event()

    def writer():
        with path.open("w") as fh:
            fh.write(HEADER + "\n")
            for i in range(total):
                fh.write(f"{i:06d},N{i},L{i},2015-03-04,101\n")
                fh.flush()
                time.sleep(0.2)
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    outcomes = []
    try:
        while not done.is_set():  # a sensor polling faster than the writer writes
            assert pipeline.process_pending(registry, home, settle=1.0) == []
            time.sleep(0.1)
    finally:
        thread.join()
    deadline = time.monotonic() + 10
    while not outcomes and time.monotonic() < deadline:
        outcomes = pipeline.process_pending(registry, home, settle=1.0)
        time.sleep(0.1)
    (out,) = outcomes
    assert out.status == "published" and out.rows_read == out.rows_published == total
    assert source.name == out.source


def test_done_marker_makes_a_fresh_file_ready_and_partial_names_are_ignored(home, sources_dir):
    write_source(sources_dir)
    registry = load_registry(sources_dir)
    folder = home.landing / "roster"
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / "roster_2025-09-05.csv.part"  # an upload in progress under a temp name
    part.write_text(GOOD)
    assert pipeline.process_pending(registry, home, settle=0) == []
    path = part.rename(folder / "roster_2025-09-05.csv")
    assert pipeline.process_pending(registry, home, settle=3600) == []  # just written
    marker = folder / (path.name + ".done")
    marker.touch()
    (out,) = pipeline.process_pending(registry, home, settle=3600)
    assert out.status == "published" and out.rows_published == 4
    assert not path.exists() and not marker.exists()


def test_identical_bytes_under_a_new_name_load_once(home, sources_dir):
    source = write_source(sources_dir)
    deliver(home, source, "roster_2025-09-05.csv", GOOD.encode())
    deliver(home, source, "roster_export (1).csv", GOOD.encode())  # same run
    registry = load_registry(sources_dir)
    outs = pipeline.process_pending(registry, home, settle=0)
    deliver(home, source, "roster_again.csv", GOOD.encode())  # a later run
    outs += pipeline.process_pending(registry, home, settle=0)
    assert sorted(o.status for o in outs) == ["duplicate", "duplicate", "published"]
    assert len(lake.read_published(home, "roster", "student")) == 4
    ledger = lake.read_ledger(home, "roster")
    assert ledger.loc[ledger["status"] == "duplicate", "rows_read"].tolist() == [0, 0]


def test_corrected_file_with_the_same_name_and_an_older_mtime_loads(home, sources_dir):
    source = write_source(sources_dir)
    first = deliver(home, source, "roster.csv", GOOD.encode())
    first_mtime = first.stat().st_mtime
    registry = load_registry(sources_dir)
    pipeline.process_pending(registry, home, settle=0)
    corrected = deliver(home, source, "roster.csv", GOOD.replace("Lopez", "Lopes").encode())
    os.utime(corrected, (first_mtime - 86400, first_mtime - 86400))

    # The sensor's scan sees it as new although the name is known and the mtime is older.
    (f,) = landing.list_landed(corrected.parent)
    assert f.size == len(GOOD.encode())  # the same size: only the bytes and mtime differ
    seen = {"roster.csv": Seen(f.size, first_mtime, "0" * 64)}
    assert [
        d.name for d in scan_landing(corrected.parent, seen, lambda: [], settle=0).requests
    ] == ["roster.csv"]
    (out,) = pipeline.process_pending(registry, home, settle=0)
    assert out.status == "published"
    assert last_names(home)["004512"] == "Lopes"
    assert len(lake.read_ledger(home, "roster")) == 2


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["incremental", "snapshot"])
def test_daily_files_out_of_order_reach_the_same_state_as_in_order(tmp_path, sources_dir, mode):
    (sources_dir / "roster.yml").write_text(
        ROSTER_YML.format(options="{}", date_format="%Y-%m-%d").replace(
            "mode: incremental", f"mode: {mode}"
        )
    )
    source = load_registry(sources_dir).sources["roster"]
    days = [1, 2, 3, 4, 5]
    states = []
    for order in (days, days[::-1], [3, 1, 5, 2, 4]):
        home = Paths(tmp_path / f"home_{'_'.join(map(str, order))}").ensure()
        for day in order:  # each arrives, and is processed, on its own
            path = deliver(
                home, source, f"roster_2025-09-{day:02d}.csv", daily_roster(day).encode()
            )
            assert pipeline.process_delivery(source, path, home).status == "published"
        states.append(current(home, mode))
    assert len(states[0]) == (30 if mode == "snapshot" else 50)
    for state in states[1:]:
        pd.testing.assert_frame_equal(state, states[0])


# --- the warehouse held open by a reader ---------------------------------------------------


def _reader(home: Paths, hold: float) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", READER, str(home.warehouse), str(hold)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()  # the reader holds the warehouse from here on
    assert line.strip().isdigit(), proc.stderr.read()
    return proc


@pytest.mark.slow
def test_refresh_waits_for_a_reader_in_another_process_then_completes(home, sources_dir):
    source = write_source(sources_dir)
    registry = load_registry(sources_dir)
    pipeline.process_delivery(
        source, deliver(home, source, "roster_2025-09-05.csv", GOOD.encode()), home
    )
    warehouse.refresh(registry, home)
    reader = _reader(home, hold=2.0)
    try:
        started = time.monotonic()
        # Ingestion never opens the warehouse: it publishes while the reader holds it.
        deliver(home, source, "roster_2025-09-06.csv", NEXT_DAY.encode())
        (out,) = pipeline.process_pending(registry, home, settle=0)
        assert out.status == "published"
        warehouse.refresh(registry, home)  # waits for the reader, then writes
        waited = time.monotonic() - started
    finally:
        reader.communicate(timeout=30)
    assert reader.returncode == 0
    assert waited >= 1.0
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from raw.roster__student").fetchone() == (6,)
        assert con.execute("select count(*) from ops.load_ledger").fetchone() == (2,)


@pytest.mark.slow
def test_writer_blocked_too_long_fails_in_one_sentence_and_corrupts_nothing(home, sources_dir):
    source = write_source(sources_dir)
    registry = load_registry(sources_dir)
    pipeline.process_delivery(
        source, deliver(home, source, "roster_2025-09-05.csv", GOOD.encode()), home
    )
    warehouse.refresh(registry, home)
    reader = _reader(home, hold=60)
    try:
        with pytest.raises(warehouse.WarehouseBusy) as caught:
            warehouse.connect_writer(home, retries=3, wait=0.2)
    finally:
        reader.kill()
        reader.communicate(timeout=30)
    message = str(caught.value)
    assert "\n" not in message and str(home.warehouse) in message
    assert f"PID {reader.pid}" in message and "run again" in message
    warehouse.refresh(registry, home)  # nothing was half-written: the next refresh works
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from raw.roster__student").fetchone() == (4,)


def test_a_file_filed_away_while_the_landing_zone_is_listed_is_skipped(home, monkeypatch):
    # Competing processes: one lists landing/roster/ while another archives a file in it.
    folder = home.landing / "roster"
    folder.mkdir(parents=True)
    (folder / "roster_2025-09-05.csv").write_text(GOOD)
    gone = folder / "roster_2025-09-04.csv"
    real_iterdir = Path.iterdir

    def iterdir(self):
        yield from real_iterdir(self)
        if self == folder:
            yield gone  # listed, then moved to the archive before it could be stat'ed

    monkeypatch.setattr(Path, "iterdir", iterdir)
    assert [f.name for f in landing.list_landed(folder)] == ["roster_2025-09-05.csv"]
