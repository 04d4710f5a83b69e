"""The whole pipeline against the physical floor, on one generated district (issue 8).

    python bench/run_bench.py --students 100000 [--seed 42] [--out DIR] [--keep] [--profile]

Stages, each in its own worker process so each has its own peak memory and no stage
inherits another's heap:

    generate      the demo generator writes one year of every source (not the platform)
    floor         DuckDB loads every delivery into plain tables, no validation at all:
                  read_csv (all_varchar) / read_parquet / read_json; xlsx through the
                  platform's own reader (wholechild.readers.read_xlsx), as DuckDB has no
                  xlsx reader without downloading an extension
    ingest        wholechild.pipeline.process_pending: read, map, validate, quarantine,
                  publish (what `wholechild run` does first)
    build         wholechild.transform.build: identity keys, lake views, every dbt model
                  and test, the analyst share (what `wholechild run` does next)
    delta_ingest  one new day of attendance and of LMS activity, landed after the full
    delta_build   load, through the same two steps

Rows per second use the ledger's rows_read (the floor uses the rows its tables hold).
Peak memory is sampled over the worker's process tree (dbt runs as a grandchild) from
/proc, and cross-checked with wait4's ru_maxrss (the largest single process).
Figures and target verdicts go to --results (default bench/results.json).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RESULTS = ROOT / "bench" / "results.json"

#: Issue 8's targets on the large district.
TARGET_PUBLISH_VS_FLOOR = 0.5  # validated publish >= half the floor's rows/s
TARGET_PLATFORM_VS_FLOOR = 3.0  # landing-to-marts time <= 3x the floor's time
TARGET_DELTA_VS_FULL = 0.10  # one-day delta <= 10% of the full run
TARGET_PEAK_MB = 4000.0  # peak memory under 4 GB (decimal megabytes)

STAGES = ("generate", "floor", "ingest", "build", "delta_ingest", "delta_build")
PIPELINE_STAGES = ("ingest", "build", "delta_ingest", "delta_build")


# ======================================================================================
# Memory of a process tree, from /proc
# ======================================================================================


def _status_kb(pid: int, *fields: str) -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                key, _, rest = line.partition(":")
                if key in fields:
                    out[key] = int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return out


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: fields follow the last ')'
        after = stat[stat.rfind(")") + 2 :].split()
        if len(after) > 1:
            kids[int(after[1])].append(int(entry))
    return kids


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as fh:
            return fh.read().strip()
    except OSError:
        return "?"


class TreeSampler:
    """Polls the RSS of a process and all its descendants; keeps the largest sum seen and
    every process's high-water mark (VmHWM)."""

    def __init__(self, pid: int, interval: float = 0.2):
        self.pid = pid
        self.interval = interval
        self.peak_tree_kb = 0
        self.samples = 0
        self.hwm: dict[int, tuple[str, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _tree(self) -> list[int]:
        kids = _children_map()
        out, todo = [], [self.pid]
        while todo:
            p = todo.pop()
            out.append(p)
            todo.extend(kids.get(p, ()))
        return out

    def sample(self) -> None:
        total = 0
        for pid in self._tree():
            st = _status_kb(pid, "VmRSS", "VmHWM")
            if not st:
                continue
            total += st.get("VmRSS", 0)
            name, best = self.hwm.get(pid, (None, 0))
            self.hwm[pid] = (name or _comm(pid), max(best, st.get("VmHWM", 0)))
        self.peak_tree_kb = max(self.peak_tree_kb, total)
        self.samples += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)


# ======================================================================================
# Running one stage in a worker process
# ======================================================================================


#: Set by --snapshot-code: the folder holding a frozen copy of the code the workers import.
CODE: Path | None = None
CODE_DIRS = ("wholechild", "quality", "schemas", "orchestration", "sources", "dbt_project")


def snapshot_code(dest: Path) -> Path:
    """Copy the packages, sources and dbt project, so a run measures one state of the
    code even while others edit the work tree (workers import from the copy first)."""
    if dest.exists():
        shutil.rmtree(dest)
    ignore = shutil.ignore_patterns("__pycache__", "target", "logs", "dbt_packages", ".user.yml")
    for name in CODE_DIRS:
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    return dest


def _code_hash(root: Path) -> str:
    """One hash of the Python and SQL the stages run (names and bytes), to tell runs apart."""
    import hashlib

    h = hashlib.sha256()
    for name in CODE_DIRS:
        for f in sorted((root / name).rglob("*")):
            if f.is_file() and f.suffix in (".py", ".sql", ".yml", ".yaml", ".csv"):
                if any(part in ("target", "logs", "__pycache__") for part in f.parts):
                    continue
                h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def _worker_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["WHOLECHILD_HOME"] = str(home)
    if CODE is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(CODE), env.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        )
        env["WHOLECHILD_SOURCES"] = str(CODE / "sources")
    env.setdefault("WHOLECHILD_SOURCES", str(ROOT / "sources"))
    env.setdefault("WHOLECHILD_SETTLE_SECONDS", "0")
    # The public demo key prints a warning; the HMAC costs the same with any key.
    env.setdefault("WHOLECHILD_PSEUDONYM_KEY", "wholechild-bench-key")
    env.setdefault("DO_NOT_TRACK", "1")
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_stage(stage: str, work: Path, home: Path, profile: bool, extra: dict | None = None) -> dict:
    """Run one stage in a fresh interpreter; return its figures plus memory and wall time."""
    result_file = work / f".stage-{stage}.json"
    result_file.unlink(missing_ok=True)
    spec = {"stage": stage, "work": str(work), "profile": profile, **(extra or {})}
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "_worker",
        json.dumps(spec),
        str(result_file),
    ]
    log = (work / f".stage-{stage}.log").open("w")
    load_before = [round(x, 2) for x in os.getloadavg()]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=_worker_env(home), stdout=log, stderr=subprocess.STDOUT, cwd=CODE or ROOT
    )
    with TreeSampler(proc.pid) as sampler:
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    log.close()
    if result_file.exists():
        out = json.loads(result_file.read_text())
    else:
        tail = (work / f".stage-{stage}.log").read_text(errors="replace")[-4000:]
        out = {"stage": stage, "error": f"worker exited {proc.returncode}", "log_tail": tail}
    out["process_wall_seconds"] = round(wall, 3)
    # CPU seconds of the worker and every child it waited for (dbt): on a shared machine
    # this moves less with the neighbours' load than wall time does
    out["process_cpu_seconds"] = round(usage.ru_utime + usage.ru_stime, 3)
    # a shared machine: what else ran shows in the load average (1, 5, 15 minutes)
    out["load_average"] = {"before": load_before, "after": [round(x, 2) for x in os.getloadavg()]}
    out["exit_code"] = proc.returncode
    top = sorted(sampler.hwm.items(), key=lambda kv: -kv[1][1])[:5]
    out["memory"] = {
        "peak_tree_rss_mb": round(sampler.peak_tree_kb / 1024, 1),
        "max_process_rss_mb": round(usage.ru_maxrss / 1024, 1),  # wait4: largest single process
        "peak_mb": round(max(sampler.peak_tree_kb, usage.ru_maxrss) / 1024, 1),
        "samples": sampler.samples,
        "processes": [{"pid": p, "name": n, "hwm_mb": round(k / 1024, 1)} for p, (n, k) in top],
    }
    result_file.write_text(json.dumps(out, indent=2, default=str))
    return out


# ======================================================================================
# Inside a worker
# ======================================================================================


class PhaseTimer:
    """Wraps module functions to add up their calls and seconds (nested calls included)."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = defaultdict(int)
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, module, attr: str, label: str | None = None) -> None:
        fn = getattr(module, attr, None)
        if fn is None or not callable(fn):
            return  # the function moved: the bench still runs, that phase is not shown
        label = label or f"{module.__name__}.{attr}"

        def timed(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                self.seconds[label] += time.perf_counter() - t
                self.calls[label] += 1

        timed.__wrapped__ = fn
        setattr(module, attr, timed)

    def report(self, rows: int) -> list[dict]:
        return [
            {
                "phase": k,
                "calls": self.calls[k],
                "seconds": round(s, 3),
                "rows_per_s": round(rows / s) if s > 0 and rows else None,
            }
            for k, s in sorted(self.seconds.items(), key=lambda kv: -kv[1])
        ]


def _profile_start(spec: dict):
    if not spec.get("profile"):
        return None
    try:
        from pyinstrument import Profiler
    except ImportError:
        print("pyinstrument is not installed: profiling skipped", file=sys.stderr)
        return None
    profiler = Profiler(interval=0.002, async_mode="disabled")
    profiler.start()
    return profiler


PROJECT_DIRS = ("wholechild/", "quality/", "schemas/", "orchestration/")


def _profile_finish(profiler, spec: dict) -> dict | None:
    """Write the pyinstrument tree and return the top functions by cumulative time."""
    if profiler is None:
        return None
    profiler.stop()
    stage = spec["stage"]
    folder = Path(spec["work"]) / "profiles"
    folder.mkdir(parents=True, exist_ok=True)
    text_file = folder / f"{stage}.txt"
    text_file.write_text(profiler.output_text(unicode=False, color=False, show_all=False))
    (folder / f"{stage}.html").write_text(profiler.output_html())
    session = profiler.last_session
    root = session.root_frame()
    total = root.time if root is not None else 0.0
    cumulative: dict[tuple, float] = defaultdict(float)
    own: dict[tuple, float] = defaultdict(float)

    def visit(frame, active: set) -> None:
        path = frame.file_path or ""
        rel = path.split(str(ROOT) + "/", 1)[-1] if str(ROOT) in path else frame.file_path_short
        if frame.is_synthetic or (rel or "").startswith("bench/"):
            key = None  # the bench's own frames (stage entry, phase timers) are transparent
        else:
            key = (frame.function, rel or "?", frame.line_no)
            if key not in active:  # recursion counts once
                cumulative[key] += frame.time
            own[key] += frame.total_self_time
        inner = active | {key} if key else active
        for child in frame.children:
            visit(child, inner)

    if root is not None:
        sys.setrecursionlimit(max(10000, sys.getrecursionlimit()))
        visit(root, set())

    def rows(table: dict, only_project: bool, n: int) -> list[dict]:
        items = [
            (k, v)
            for k, v in table.items()
            if not only_project or any(k[1].startswith(d) for d in PROJECT_DIRS)
        ]
        items.sort(key=lambda kv: -kv[1])
        return [
            {
                "function": k[0],
                "where": f"{k[1]}:{k[2]}",
                "seconds": round(v, 2),
                "share": round(v / total, 3) if total else None,
            }
            for k, v in items[:n]
        ]

    return {
        "profiled_seconds": round(total, 2),
        "tree": str(text_file),
        "top_project_cumulative": rows(cumulative, True, 20),
        "top_all_cumulative": rows(cumulative, False, 25),
        "top_self": rows(own, False, 20),
    }


def worker_generate(spec: dict) -> dict:
    from wholechild.demo.generator import generate

    out = Path(spec["work"]) / "generated"
    if out.exists():
        shutil.rmtree(out)
    profiler = _profile_start(spec)
    t = time.perf_counter()
    expected = generate(out, students=spec["students"], seed=spec["seed"])
    seconds = time.perf_counter() - t
    prof = _profile_finish(profiler, spec)
    per_source: dict[str, dict] = {}
    for d in expected["deliveries"]:
        s = per_source.setdefault(d["source"], {"files": 0, "rows": 0, "bytes": 0})
        s["files"] += 1
        s["rows"] += d["rows_read"]
        s["bytes"] += (out / d["landing"] / d["file_name"]).stat().st_size
    n = spec["students"]
    for s in per_source.values():
        s["rows_per_student"] = round(s["rows"] / n, 3)
    rows = expected["totals"]["rows"]
    return {
        "stage": "generate",
        "seconds": round(seconds, 3),
        "rows": rows,
        "files": expected["totals"]["files"],
        "bytes": sum(s["bytes"] for s in per_source.values()),
        "rows_per_s": round(rows / seconds) if seconds else None,
        "rows_per_student": round(rows / n, 2),
        "per_source": per_source,
        "profile": prof,
    }


def _delivery_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "_")))


def _duck_encoding(encoding: str | None) -> tuple[str, str]:
    """DuckDB's built-in decoders are utf-8, utf-16 and latin-1 (others need an extension
    download): cp1252 is read as latin-1, a one-byte decode of the same cost."""
    enc = (encoding or "utf-8").lower().replace("_", "-")
    if enc in ("utf-8", "utf8", "utf-8-sig"):
        return "utf-8", ""
    if enc in ("utf-16", "utf16"):
        return "utf-16", ""
    return "latin-1", f"{encoding} read as latin-1"


def worker_floor(spec: dict) -> dict:
    import duckdb

    from wholechild.readers import read_table
    from wholechild.registry import load_registry

    registry = load_registry()
    by_landing = {s.landing: s for s in registry.sources.values()}
    root = Path(spec["root"])
    db = Path(spec["work"]) / f"floor-{spec.get('label', 'full')}.duckdb"
    db.unlink(missing_ok=True)
    tmp_root = Path(spec["work"]) / f"floor-{spec.get('label', 'full')}-members"
    shutil.rmtree(tmp_root, ignore_errors=True)
    files = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        src = by_landing.get(folder.name)
        for f in _delivery_files(folder):
            files.append((src, f))
    profiler = _profile_start(spec)
    t_all = time.perf_counter()
    con = duckdb.connect(str(db))
    per_file = []
    for i, (src, f) in enumerate(files):
        table = f"t{i}_{''.join(c if c.isalnum() else '_' for c in f.stem)}"
        suffix = f.suffix.lower()
        fmt = src.format if src else suffix.lstrip(".")
        opts = dict(src.options) if src else {}
        note = ""
        t = time.perf_counter()
        try:
            if fmt == "csv" or suffix in (".csv", ".txt", ".tsv"):
                enc, note = _duck_encoding(opts.get("encoding"))
                delim = opts.get("delimiter") or ","
                delim = {"tab": "\t", "\\t": "\t", "pipe": "|", "comma": ",", "semicolon": ";"}.get(
                    delim, delim
                )
                method = "duckdb.read_csv"
                con.execute(
                    f"create table {table} as select * from read_csv(?, delim = ?, header = true, "
                    "all_varchar = true, encoding = ?, null_padding = true, strict_mode = false)",
                    [str(f), delim, enc],
                )
            elif fmt == "oneroster" or suffix == ".zip":
                # A OneRoster bundle: every CSV member read as text into one table each;
                # the floor's rows are those of all members (lookups included).
                method = "zip members via duckdb.read_csv"
                import zipfile

                members = tmp_root / f"{table}_members"
                with zipfile.ZipFile(f) as zf:
                    zf.extractall(members)
                rows_total = 0
                for i, member in enumerate(sorted(members.rglob("*.csv"))):
                    con.execute(
                        f"create table {table}_{i} as select * from read_csv(?, header = true, "
                        "all_varchar = true, null_padding = true, strict_mode = false)",
                        [str(member)],
                    )
                    rows_total += con.execute(f"select count(*) from {table}_{i}").fetchall()[0][0]
                con.execute(
                    f"create table {table} as select {rows_total} as n from range({rows_total})"
                )
            elif fmt == "parquet" or suffix == ".parquet":
                method = "duckdb.read_parquet"
                con.execute(f"create table {table} as select * from read_parquet(?)", [str(f)])
            elif suffix in (".json", ".ndjson", ".jsonl"):
                method = "duckdb.read_json"
                con.execute(f"create table {table} as select * from read_json_auto(?)", [str(f)])
            elif fmt == "xlsx" or suffix == ".xlsx":
                method = "wholechild.readers.read_xlsx (python-calamine) + duckdb from the frame"
                frame = read_table(f, "xlsx", opts).frame
                con.register("xlsx_frame", frame)
                con.execute(f"create table {table} as select * from xlsx_frame")
                con.unregister("xlsx_frame")
            else:
                raise ValueError(f"no floor reader for {f.name}")
            rows = con.execute(f"select count(*) from {table}").fetchall()[0][0]
            error = None
        except Exception as exc:  # noqa: BLE001 - a file the floor cannot read is reported
            rows, error, method = 0, f"{type(exc).__name__}: {str(exc)[:300]}", "failed"
        per_file.append(
            {
                "source": src.name if src else None,
                "file": f.name,
                "format": fmt,
                "method": method,
                "bytes": f.stat().st_size,
                "rows": rows,
                "seconds": round(time.perf_counter() - t, 4),
                **({"note": note} if note else {}),
                **({"error": error} if error else {}),
            }
        )
    con.close()  # checkpoint: the tables are on disk like the platform's Parquet
    seconds = time.perf_counter() - t_all
    prof = _profile_finish(profiler, spec)
    rows = sum(p["rows"] for p in per_file)
    by_method: dict[str, dict] = {}
    for p in per_file:
        m = by_method.setdefault(p["method"], {"files": 0, "rows": 0, "seconds": 0.0})
        m["files"] += 1
        m["rows"] += p["rows"]
        m["seconds"] = round(m["seconds"] + p["seconds"], 4)
    db.unlink(missing_ok=True)
    Path(str(db) + ".wal").unlink(missing_ok=True)
    return {
        "stage": "floor",
        "seconds": round(seconds, 3),
        "rows": rows,
        "rows_per_s": round(rows / seconds) if seconds else None,
        "files": len(per_file),
        "duckdb_threads": os.cpu_count(),
        "by_method": by_method,
        "per_file": per_file,
        "profile": prof,
    }


def worker_ingest(spec: dict) -> dict:
    import quality.validate
    from wholechild import config, lake, landing, pipeline
    from wholechild.registry import load_registry

    registry = load_registry()
    paths = config.paths().ensure()
    timer = PhaseTimer()
    per_delivery: list[dict] = []
    process_delivery = pipeline.process_delivery

    def timed_delivery(source, path, *a, **k):
        t = time.perf_counter()
        out = process_delivery(source, path, *a, **k)
        s = time.perf_counter() - t
        per_delivery.append(
            {
                "source": out.source,
                "file": out.file_name,
                "status": out.status,
                "rows_read": out.rows_read,
                "rows_published": out.rows_published,
                "rows_quarantined": out.rows_quarantined,
                "seconds": round(s, 3),
                "rows_per_s": round(out.rows_read / s) if s and out.rows_read else None,
            }
        )
        return out

    pipeline.process_delivery = timed_delivery
    from wholechild import lake_store

    # Phases of one delivery: the names process_delivery and audit_delivery look up at call
    # time. Nested phases (inside publish, inside audit) are listed too, so shares overlap.
    for mod, attr, label in (
        (pipeline, "pending", "landing: list pending"),
        (landing, "sha256_of", "landing: sha256"),
        (lake, "read_ledger", "dedup: read ledger"),
        (pipeline, "audit_delivery", "audit_delivery (read+map+validate)"),
        (pipeline, "read_table", "  read"),
        (pipeline, "map_table", "  map"),
        (pipeline, "audit", "  validate (audit)"),
        (quality.validate, "cast_column", "    validate: cast_column"),
        (quality.validate, "contract_violations", "    validate: contract_violations"),
        (pipeline, "duplicate_keys", "  validate: duplicate_keys"),
        (pipeline, "_record_json", "  quarantine: record json"),
        (pipeline, "publish", "publish"),
        (lake, "entity_table", "  publish: entity_table (pandas->arrow)"),
        (lake_store.LocalStore, "write_parquet", "  publish: write_parquet+fsync"),
        (pipeline, "_as_table", "  publish: quarantine/ledger tables"),
        (pipeline, "summarize", "report: summarize"),
        (pipeline, "write_reports", "report: write"),
        (pipeline, "_move", "archive: move"),
    ):
        timer.wrap(mod, attr, label)
    profiler = _profile_start(spec)
    t = time.perf_counter()
    outcomes = pipeline.process_pending(registry, paths, settle=0)
    seconds = time.perf_counter() - t
    prof = _profile_finish(profiler, spec)
    rows = sum(o.rows_read for o in outcomes)
    statuses: dict[str, int] = defaultdict(int)
    for o in outcomes:
        statuses[o.status] += 1
    return {
        "stage": spec["stage"],
        "seconds": round(seconds, 3),
        "rows": rows,
        "rows_published": sum(o.rows_published for o in outcomes),
        "rows_quarantined": sum(o.rows_quarantined for o in outcomes),
        "rows_per_s": round(rows / seconds) if seconds and rows else None,
        "deliveries": len(outcomes),
        "statuses": dict(statuses),
        "phases": timer.report(rows),
        "per_delivery": per_delivery,
        "profile": prof,
    }


def _dbt_nodes(paths) -> dict:
    results = paths.home / "dbt" / "target" / "run_results.json"
    if not results.exists():
        return {}
    data = json.loads(results.read_text())
    nodes = []
    for r in data.get("results", []):
        uid = r.get("unique_id", "")
        nodes.append(
            {
                "node": uid,
                "status": r.get("status"),
                "seconds": round(r.get("execution_time") or 0.0, 3),
                "rows_affected": (r.get("adapter_response") or {}).get("rows_affected"),
            }
        )
    kinds: dict[str, dict] = {}
    for n in nodes:
        k = kinds.setdefault(n["node"].split(".")[0], {"count": 0, "seconds": 0.0})
        k["count"] += 1
        k["seconds"] = round(k["seconds"] + n["seconds"], 3)
    nodes.sort(key=lambda n: -n["seconds"])
    return {
        "elapsed_seconds": round(data.get("elapsed_time") or 0.0, 3),
        "by_kind": kinds,
        "top_nodes": nodes[:20],
        "failed": [n for n in nodes if n["status"] in ("fail", "error")],
    }


def _operators(node: dict, out: list) -> None:
    out.append(node)
    for child in node.get("children") or []:
        _operators(child, out)


def explain_models(paths, dbt: dict, top: int = 3) -> list[dict]:
    """Re-run the slowest models' compiled SQL under DuckDB's profiler (into a temporary
    table, as the materialization does) and return their costliest operators."""
    import duckdb

    target = paths.home / "dbt" / "target"
    manifest = json.loads((target / "manifest.json").read_text())["nodes"]
    models = [n for n in dbt.get("top_nodes", []) if n["node"].startswith("model.")][:top]
    out = []
    for n in models:
        node = manifest.get(n["node"], {})
        name = node.get("name") or n["node"].rsplit(".", 1)[-1]
        # the model's own SQL (a unit test compiles the same model with its fixtures)
        compiled = (
            target / "compiled" / node.get("package_name", "") / node.get("original_file_path", "")
        )
        sql = node.get("compiled_code") or (compiled.read_text() if compiled.is_file() else "")
        if not sql:
            continue
        prof = Path(tempfile.mkstemp(suffix=".json")[1])
        con = duckdb.connect()
        try:
            con.execute(f"attach '{paths.warehouse}' as warehouse (read_only)")
            con.execute("pragma enable_profiling = 'json'")
            con.execute(f"pragma profiling_output = '{prof}'")
            t = time.perf_counter()
            con.execute(f"create temp table _explained as {sql}")
            seconds = time.perf_counter() - t
            con.execute("pragma disable_profiling")
            rows = con.execute("select count(*) from _explained").fetchall()[0][0]
        except duckdb.Error as exc:
            out.append({"model": name, "error": str(exc)[:300]})
            continue
        finally:
            con.close()
        data = json.loads(prof.read_text())
        prof.unlink(missing_ok=True)
        ops: list[dict] = []
        for root in data.get("operator") or data.get("children") or []:
            _operators(root, ops)
        total = sum(o.get("timing") or o.get("operator_timing") or 0 for o in ops) or 1.0
        ops.sort(key=lambda o: -(o.get("timing") or o.get("operator_timing") or 0))
        out.append(
            {
                "model": name,
                "file": node.get("original_file_path"),
                "seconds": round(seconds, 2),
                "rows": rows,
                "peak_buffer_mb": round(
                    ((data.get("system") or {}).get("peak_buffer_memory") or 0) / 1e6, 1
                ),
                "top_operators": [
                    {
                        "operator": o.get("name") or o.get("operator_name"),
                        "operator_seconds": round(
                            o.get("timing") or o.get("operator_timing") or 0, 2
                        ),
                        "share_of_operator_time": round(
                            (o.get("timing") or o.get("operator_timing") or 0) / total, 3
                        ),
                        "rows_out": o.get("intermediate_rows") or o.get("operator_cardinality"),
                        "detail": json.dumps(o.get("extra_info") or {}, default=str)[:300],
                    }
                    for o in ops[:8]
                ],
            }
        )
    return out


def worker_build(spec: dict) -> dict:
    import orchestration.dbt_prepare
    from wholechild import config, identity, share, transform, warehouse
    from wholechild.registry import load_registry

    registry = load_registry()
    paths = config.paths().ensure()
    timer = PhaseTimer()
    for mod, attr, label in (
        (orchestration.dbt_prepare, "prepare", "dbt_prepare (registry -> dbt files)"),
        (transform, "before_build", "before_build (keys + views)"),
        (identity, "build_student_keys", "  identity: student keys (HMAC)"),
        (warehouse, "sync_views", "  warehouse: sync views"),
        (transform, "run_dbt", "dbt build (subprocess)"),
        (transform, "after_build", "after_build (analyst share)"),
        (share, "export_share", "  share: export marts"),
    ):
        timer.wrap(mod, attr, label)
    ledger = _ledger_rows(paths)
    # transform.build now does what the second pass proposed (--proposed-build patched it
    # in): no unit tests in production builds, and a build after a delta selects what the
    # deliveries since the last successful build feed (its own record, not the bench's).
    profiler = _profile_start(spec)
    t = time.perf_counter()
    result = transform.build(registry, paths)
    seconds = time.perf_counter() - t
    prof = _profile_finish(profiler, spec)
    dbt = _dbt_nodes(paths)
    run_dbt = timer.seconds.get("dbt build (subprocess)", 0.0)
    if dbt and run_dbt:
        dbt["startup_and_parse_seconds"] = round(run_dbt - dbt["elapsed_seconds"], 3)
    if spec.get("profile") and dbt and result.ok:
        # after the timed build: the operators of the slowest models (DuckDB's profiler)
        dbt["explained"] = explain_models(paths, dbt)
    return {
        "stage": spec["stage"],
        "seconds": round(seconds, 3),
        "rows": ledger,  # every row read from landing, now behind the marts
        "rows_per_s": round(ledger / seconds) if seconds and ledger else None,
        "dbt_ok": result.ok,
        "models_built": result.models_built,
        "tests_failed": result.tests_failed,
        "dbt_output_tail": None if result.ok else result.output[-4000:],
        "select": _selection(result.command),
        "built_deliveries": sorted(_ledger_ids(paths)),
        "phases": timer.report(ledger),
        "dbt": dbt,
        "marts": _mart_rows(paths),
        "profile": prof,
    }


def _selection(command: list[str]) -> str | None:
    """The --select of a dbt command (None: everything)."""
    return command[command.index("--select") + 1] if "--select" in command else None


def _ledger_ids(paths) -> set[str]:
    from wholechild import lake

    return set(lake.read_ledger(paths)["delivery_id"])


def _ledger_rows(paths) -> int:
    from wholechild import lake

    ledger = lake.read_ledger(paths)
    return int(ledger["rows_read"].sum()) if len(ledger) else 0


def _mart_rows(paths) -> dict[str, int]:
    import duckdb

    try:
        con = duckdb.connect(str(paths.warehouse), read_only=True)
    except duckdb.Error:
        return {}
    try:
        names = con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' "
            "order by 1"
        ).fetchall()
        return {
            n: con.execute(f'select count(*) from marts."{n}"').fetchall()[0][0] for (n,) in names
        }
    finally:
        con.close()


def worker_ledger(spec: dict) -> dict:
    from wholechild import config, lake

    ledger = lake.read_ledger(config.paths())
    bad = ledger[ledger["rows_read"] != ledger["rows_published"] + ledger["rows_quarantined"]]
    per_file = ledger.groupby(["source", "file_name"]).size()
    return {
        "stage": "ledger",
        "ledger_rows": len(ledger),
        "deliveries_expected": spec["landed"],
        "one_row_per_delivery": bool(len(ledger) == spec["landed"] and (per_file == 1).all()),
        "rows_read_equals_published_plus_quarantined": bool(len(bad) == 0),
        "violations": bad[
            ["source", "file_name", "rows_read", "rows_published", "rows_quarantined"]
        ]
        .astype(str)
        .to_dict(orient="records"),
        "statuses": {str(k): int(v) for k, v in ledger["status"].value_counts().items()},
        "rows_read": int(ledger["rows_read"].sum()),
    }


WORKERS = {
    "generate": worker_generate,
    "floor": worker_floor,
    "delta_floor": worker_floor,
    "ingest": worker_ingest,
    "build": worker_build,
    "delta_ingest": worker_ingest,
    "delta_build": worker_build,
    "ledger": worker_ledger,
}


def worker_main(spec_json: str, result_file: str) -> int:
    spec = json.loads(spec_json)
    out = WORKERS[spec["stage"]](spec)
    Path(result_file).write_text(json.dumps(out, indent=2, default=str))
    return 0


# ======================================================================================
# The one new day
# ======================================================================================


def _latest(folder: Path, suffix: str) -> Path:
    from wholechild.landing import date_in_name

    files = [p for p in _delivery_files(folder) if p.suffix == suffix]
    return max(files, key=lambda p: (date_in_name(p.name) or dt.date.min, p.name))


def _next_weekday(d: dt.date) -> dt.date:
    d += dt.timedelta(days=1)
    while d.weekday() >= 5:
        d += dt.timedelta(days=1)
    return d


def write_delta(generated: Path, delta: Path) -> dict:
    """One new day, in the vendors' own layouts: the Ed-Fi attendance events of the day
    after the last one delivered (JSON lines, as the API export sends them), and Canvas's
    weekly Parquet with the current week's rows brought up to date with that day.

    The generated year ends on its last instructional day, so the new day is the next
    weekday; its events are the last day's events moved to it (a realistic one-day
    volume and code mix), and the week's LMS numbers grow by one day's average.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if delta.exists():
        shutil.rmtree(delta)
    # Attendance arrives as Ed-Fi API JSON (studentSchoolAttendanceEvents upserts): the
    # newest daily file's events of its last day, moved to the next weekday, with new ids.
    att_files = sorted(
        p for p in (generated / "attendance").glob("studentSchoolAttendanceEvents.upserts.*.json")
    )
    events = []
    for f in att_files[-3:]:  # the last day's events are in the newest files
        text = f.read_bytes().decode("utf-8-sig").strip()
        events += (
            json.loads(text)
            if text.startswith("[")
            else [json.loads(line) for line in text.splitlines() if line.strip()]
        )
    last = max(dt.date.fromisoformat(e["eventDate"]) for e in events)
    new_day = _next_weekday(last)
    day_events = []
    for e in events:
        if e["eventDate"] != last.isoformat():
            continue
        moved = dict(e, eventDate=new_day.isoformat())
        moved["id"] = hashlib.sha256(f"{e['id']}:{new_day}".encode()).hexdigest()[:32]
        day_events.append(moved)
    att_out = (
        delta / "attendance" / (f"studentSchoolAttendanceEvents.upserts.{new_day.isoformat()}.json")
    )
    att_out.parent.mkdir(parents=True, exist_ok=True)
    att_out.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in day_events))

    lms_file = _latest(generated / "lms", ".parquet")
    table = pq.read_table(lms_file)
    week = pc.max(table["week_start"]).as_py()
    week_rows = table.filter(pc.equal(table["week_start"], pa.scalar(week, pa.date32())))
    days_so_far = max(
        1, sum(1 for i in range((last - week).days + 1) if (week + dt.timedelta(i)).weekday() < 5)
    )

    def grown(name: str) -> pa.Array:
        v = week_rows[name].to_numpy()
        return pa.array(v + (v + days_so_far // 2) // days_so_far, pa.int32())

    lms_table = pa.table(
        {
            "login_id": week_rows["login_id"],
            "week_start": week_rows["week_start"],
            "active_minutes": grown("active_minutes"),
            "page_views": grown("page_views"),
            "submissions": week_rows["submissions"],
            "assignments_due": week_rows["assignments_due"],
        }
    ).select(table.column_names)
    lms_out = delta / "lms" / f"canvas_weekly_{new_day.isoformat()}_daily.parquet"
    lms_out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(lms_table, lms_out, compression="snappy")
    return {
        "new_day": new_day.isoformat(),
        "last_day_in_full_load": last.isoformat(),
        "files": {
            "attendance": {
                "file": att_out.name,
                "rows": len(day_events),
                "template": att_files[-1].name,
            },
            "lms": {
                "file": lms_out.name,
                "rows": lms_table.num_rows,
                "week_start": week.isoformat(),
                "template": lms_file.name,
            },
        },
    }


def land(src_root: Path, landing: Path) -> int:
    """Put every delivery of ``src_root`` into the landing zone (hard links: free, and the
    pipeline's move to the archive leaves the generated copy for the floor)."""
    n = 0
    for folder in sorted(p for p in src_root.iterdir() if p.is_dir()):
        dest = landing / folder.name
        dest.mkdir(parents=True, exist_ok=True)
        for f in _delivery_files(folder):
            target = dest / f.name
            try:
                os.link(f, target)
            except OSError:
                shutil.copy2(f, target)
            n += 1
    return n


# ======================================================================================
# The run
# ======================================================================================


def _machine() -> dict:
    mem_kb = _status_kb_meminfo()
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import duckdb

    def git(*a: str) -> str:
        try:
            return subprocess.run(
                ["git", *a], cwd=ROOT, capture_output=True, text=True
            ).stdout.strip()
        except OSError:
            return ""

    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "mem_total_mb": round(mem_kb / 1024),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "git_commit": git("rev-parse", "--short", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _status_kb_meminfo() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _rate(rows: int | None, seconds: float | None) -> int | None:
    return round(rows / seconds) if rows and seconds else None


def summarize(stages: dict, delta_info: dict, ledger: dict, args, machine: dict) -> dict:
    floor, ingest, build = stages["floor"], stages["ingest"], stages["build"]
    d_ing, d_build = stages["delta_ingest"], stages["delta_build"]
    platform_s = ingest["seconds"] + build["seconds"]
    delta_s = d_ing["seconds"] + d_build["seconds"]
    rows = ingest["rows"]
    peak = max(stages[s]["memory"]["peak_mb"] for s in PIPELINE_STAGES)
    peak_stage = max(PIPELINE_STAGES, key=lambda s: stages[s]["memory"]["peak_mb"])
    publish_ratio = (
        (ingest["rows_per_s"] or 0) / floor["rows_per_s"] if floor.get("rows_per_s") else None
    )
    platform_ratio = platform_s / floor["seconds"] if floor.get("seconds") else None
    delta_ratio = delta_s / platform_s if platform_s else None
    targets = {
        "publish_throughput_vs_floor": {
            "target": f">= {TARGET_PUBLISH_VS_FLOOR}",
            "measured": round(publish_ratio, 3) if publish_ratio is not None else None,
            "met": publish_ratio is not None and publish_ratio >= TARGET_PUBLISH_VS_FLOOR,
            "meaning": "ingest (validated publish) rows/s divided by the floor's rows/s",
        },
        "landing_to_marts_vs_floor": {
            "target": f"<= {TARGET_PLATFORM_VS_FLOOR}",
            "measured": round(platform_ratio, 2) if platform_ratio is not None else None,
            "met": platform_ratio is not None and platform_ratio <= TARGET_PLATFORM_VS_FLOOR,
            "meaning": "(ingest + build) seconds divided by the floor's seconds",
        },
        "delta_vs_full_run": {
            "target": f"<= {TARGET_DELTA_VS_FULL}",
            "measured": round(delta_ratio, 3) if delta_ratio is not None else None,
            "met": delta_ratio is not None and delta_ratio <= TARGET_DELTA_VS_FULL,
            "meaning": "(delta ingest + delta build) seconds divided by (ingest + build) seconds",
        },
        "peak_memory_mb": {
            "target": f"< {TARGET_PEAK_MB:.0f}",
            "measured": peak,
            "met": peak < TARGET_PEAK_MB,
            "meaning": f"largest process-tree RSS of the pipeline stages (here: {peak_stage})",
        },
    }
    cpu = {k: stages[k].get("process_cpu_seconds") for k in STAGES if k in stages}
    cpu_ratios = {}
    if all(cpu.get(k) for k in ("floor", "ingest", "build", "delta_ingest", "delta_build")):
        full_cpu = cpu["ingest"] + cpu["build"]
        cpu_ratios = {
            "platform_to_floor": round(full_cpu / cpu["floor"], 3),
            "ingest_to_floor": round(cpu["ingest"] / cpu["floor"], 3),
            "delta_to_full": round((cpu["delta_ingest"] + cpu["delta_build"]) / full_cpu, 3),
            "note": "whole worker processes (interpreter start and imports included), dbt included",
        }
    return {
        "issue": 8,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpu_seconds": {**cpu, "ratios": cpu_ratios},
        "without_xlsx": _without_xlsx(floor, ingest),
        "students": args.students,
        "seed": args.seed,
        "machine": machine,
        "figures": {
            "floor_seconds": floor["seconds"],
            "floor_rows": floor["rows"],
            "floor_rows_per_s": floor["rows_per_s"],
            "ingest_seconds": ingest["seconds"],
            "ingest_rows_read": rows,
            "ingest_rows_per_s": ingest["rows_per_s"],
            "build_seconds": build["seconds"],
            "build_rows_per_s": build["rows_per_s"],
            "landing_to_marts_seconds": round(platform_s, 3),
            "landing_to_marts_rows_per_s": _rate(rows, platform_s),
            "ratio_platform_to_floor": round(platform_ratio, 3) if platform_ratio else None,
            "delta_seconds": round(delta_s, 3),
            "delta_rows_read": d_ing["rows"],
            "ratio_delta_to_full": round(delta_ratio, 4) if delta_ratio is not None else None,
            "peak_memory_mb": peak,
            "dbt_ok": bool(build.get("dbt_ok")) and bool(d_build.get("dbt_ok")),
        },
        "targets": targets,
        "stages": stages,
        "delta": delta_info,
        "ledger": ledger,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }


def _without_xlsx(floor: dict, ingest: dict) -> dict:
    """The same comparison over the CSV and Parquet deliveries only: there DuckDB's own
    readers are the floor, while an xlsx costs both sides the same openpyxl parse."""
    xlsx = {f["file"] for f in floor.get("per_file", []) if f.get("format") == "xlsx"}
    f_rows = sum(f["rows"] for f in floor.get("per_file", []) if f["file"] not in xlsx)
    f_s = sum(f["seconds"] for f in floor.get("per_file", []) if f["file"] not in xlsx)
    done = [d for d in ingest.get("per_delivery", []) if d["file"] not in xlsx]
    i_rows = sum(d["rows_read"] for d in done)
    i_s = sum(d["seconds"] for d in done)
    floor_rate, ingest_rate = _rate(f_rows, f_s), _rate(i_rows, i_s)
    return {
        "xlsx_files": sorted(xlsx),
        "floor_rows": f_rows,
        "floor_seconds": round(f_s, 3),
        "floor_rows_per_s": floor_rate,
        "ingest_rows": i_rows,
        "ingest_seconds": round(i_s, 3),
        "ingest_rows_per_s": ingest_rate,
        "publish_throughput_vs_floor": round(ingest_rate / floor_rate, 3)
        if floor_rate and ingest_rate
        else None,
    }


def _print(results: dict) -> None:
    st = results["stages"]
    print()
    print(
        f"wholechild bench: {results['students']} students, seed {results['seed']}, "
        f"{results['machine']['cpus']} cpus, load {results['machine']['load_average_at_start']}"
    )
    print(f"{'stage':<14}{'seconds':>10}{'rows':>12}{'rows/s':>12}{'peak MB':>10}")
    for name in STAGES:
        s = st.get(name, {})
        print(
            f"{name:<14}{s.get('seconds', float('nan')):>10.1f}{s.get('rows') or 0:>12,}"
            f"{s.get('rows_per_s') or 0:>12,}{s.get('memory', {}).get('peak_mb', 0):>10.0f}"
        )
    f = results["figures"]
    print(
        f"{'landing->marts':<14}{f['landing_to_marts_seconds']:>10.1f}{f['ingest_rows_read']:>12,}"
        f"{f['landing_to_marts_rows_per_s'] or 0:>12,}"
    )
    print()
    for name, t in results["targets"].items():
        verdict = "MET " if t["met"] else "MISS"
        print(f"  [{verdict}] {name}: {t['measured']} (target {t['target']}) - {t['meaning']}")
    led = results["ledger"]
    print(
        f"  ledger: {led.get('ledger_rows')} rows for {led.get('deliveries_expected')} deliveries; "
        f"rows_read = published + quarantined: {led.get('rows_read_equals_published_plus_quarantined')}"
    )
    ratios = (results.get("cpu_seconds") or {}).get("ratios") or {}
    if ratios:
        print(
            f"  cpu seconds (steadier on a shared machine): platform/floor "
            f"{ratios['platform_to_floor']}, ingest/floor {ratios['ingest_to_floor']}, "
            f"delta/full {ratios['delta_to_full']}"
        )
    wx = results.get("without_xlsx") or {}
    if wx.get("publish_throughput_vs_floor") is not None:
        print(
            f"  csv+parquet only: floor {wx['floor_rows_per_s']:,} rows/s (DuckDB), ingest "
            f"{wx['ingest_rows_per_s']:,} rows/s: {wx['publish_throughput_vs_floor']} of the floor"
        )
    if not f["dbt_ok"]:
        print("  dbt build FAILED: see stages.build.dbt_output_tail in the results")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "_worker":
        return worker_main(argv[1], argv[2])
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--students", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", help="work folder (default: a new temporary folder)")
    p.add_argument(
        "--keep", action="store_true", help="keep the work folder (district, home, profiles)"
    )
    p.add_argument("--results", default=str(DEFAULT_RESULTS), help="where to write the figures")
    p.add_argument(
        "--profile",
        action="store_true",
        help="run every stage under pyinstrument (slower; trees in <out>/profiles)",
    )
    p.add_argument(
        "--snapshot-code",
        action="store_true",
        help="run the stages on a copy of the code taken at the start (a shared work tree)",
    )
    p.add_argument(
        "--code",
        metavar="DIR",
        help="run the stages on an earlier snapshot (the code folder of a kept --snapshot-code run)",
    )
    p.add_argument(
        "--reuse-generated",
        action="store_true",
        help="reuse <out>/generated when it was made with the same students and seed",
    )
    p.add_argument(
        "--proposed-build",
        action="store_true",
        help="no effect (kept for old command lines): transform.build now leaves unit tests "
        "out of production builds and selects what a delta's deliveries feed",
    )
    p.add_argument(
        "--resummarize",
        metavar="RESULTS_JSON",
        help="recompute the figures and verdicts of an earlier results file, run nothing",
    )
    p.add_argument(
        "--explain",
        metavar="HOME",
        help="profile the slowest models of the last dbt build in HOME (DuckDB's profiler)",
    )
    args = p.parse_args(argv)
    if args.explain:
        from wholechild.config import Paths

        paths = Paths(Path(args.explain).resolve())
        print(json.dumps(explain_models(paths, _dbt_nodes(paths), top=4), indent=2))
        return 0
    if args.resummarize:
        old = json.loads(Path(args.resummarize).read_text())
        args.students, args.seed = old["students"], old["seed"]
        again = summarize(old["stages"], old["delta"], old["ledger"], args, old["machine"])
        again["generated_at"], again["work"] = old["generated_at"], old.get("work")
        again["load_average_at_end"] = old.get("load_average_at_end")
        Path(args.results).write_text(json.dumps(again, indent=2, default=str) + "\n")
        _print(again)
        return 0

    work = (
        Path(args.out).resolve() if args.out else Path(tempfile.mkdtemp(prefix="wholechild-bench-"))
    )
    work.mkdir(parents=True, exist_ok=True)
    home, generated, delta = work / "home", work / "generated", work / "delta"
    if home.exists():
        shutil.rmtree(home)
    machine = _machine()
    global CODE
    if args.code:
        CODE = Path(args.code).resolve()
        machine["code"] = f"an earlier snapshot, {CODE}"
    elif args.snapshot_code:
        CODE = snapshot_code(work / "code")
        machine["code"] = f"snapshot of the work tree at the start, in {CODE}"
    else:
        machine["code"] = "the live work tree"
    machine["code_sha256"] = _code_hash(CODE or ROOT)
    machine["git_modified"] = [
        line[3:]
        for line in subprocess.run(
            ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True
        ).stdout.splitlines()
    ]
    stages: dict[str, dict] = {}

    def stage(name: str, **extra) -> dict:
        print(f"[bench] {name} ...", flush=True)
        out = run_stage(name, work, home, args.profile, extra)
        stages[name] = out
        if out.get("error"):
            print(f"[bench] {name} FAILED: {out['error']}\n{out.get('log_tail', '')}", flush=True)
            raise SystemExit(3)
        print(
            f"[bench] {name}: {out.get('seconds', 0):.1f}s, {out.get('rows') or 0:,} rows, "
            f"{out.get('rows_per_s') or 0:,} rows/s, peak {out['memory']['peak_mb']:.0f} MB",
            flush=True,
        )
        return out

    expected = generated / "_expected.json"
    reuse = False
    if args.reuse_generated and expected.exists():
        gen = json.loads(expected.read_text())["generator"]
        reuse = gen.get("students") == args.students and gen.get("seed") == args.seed
    if reuse:
        print("[bench] generate: reusing", generated)
        before = work / ".stage-generate.json"  # the figures of the run that generated it
        stages["generate"] = json.loads(before.read_text()) if before.exists() else {}
        stages["generate"].setdefault("memory", {"peak_mb": 0})
        stages["generate"]["reused"] = True
    else:
        stage("generate", students=args.students, seed=args.seed)
    stage("floor", root=str(generated), label="full")
    delta_info = write_delta(generated, delta)
    landed = land(generated, home / "landing")
    stage("ingest")
    proposed = {"proposed_build": True} if args.proposed_build else {}
    built = stage("build", **proposed)
    landed += land(delta, home / "landing")
    stage("delta_ingest")
    stage("delta_build", **proposed, built_deliveries=built.get("built_deliveries", []))
    delta_info["floor"] = {
        k: v
        for k, v in run_stage(
            "delta_floor", work, home, False, {"root": str(delta), "label": "delta"}
        ).items()
        if k in ("seconds", "rows", "rows_per_s", "per_file")
    }
    ledger = run_stage("ledger", work, home, False, {"landed": landed})
    ledger.pop("memory", None)
    results = summarize(stages, delta_info, ledger, args, machine)
    results["work"] = str(work) if args.keep else None
    out = Path(args.results)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    _print(results)
    print(f"\nfigures: {out}")
    if args.keep:
        print(f"work folder kept: {work}")
    else:
        _clean(work)
    return 0


def _clean(work: Path) -> None:
    """Remove what the bench wrote (never anything else a given --out folder holds)."""
    for name in ("home", "generated", "delta", "profiles", "code"):
        shutil.rmtree(work / name, ignore_errors=True)
    for f in work.glob(".stage-*"):
        f.unlink(missing_ok=True)
    for f in work.glob("floor-*.duckdb*"):
        f.unlink(missing_ok=True)
    for d in work.glob("floor-*-members"):
        shutil.rmtree(d, ignore_errors=True)
    with contextlib.suppress(OSError):
        work.rmdir()  # only when empty


if __name__ == "__main__":
    sys.exit(main())
