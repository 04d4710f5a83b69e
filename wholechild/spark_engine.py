"""The dbt project on Apache Spark (``WHOLECHILD_ENGINE=spark``).

The same sources, contracts, lake and dbt models as the DuckDB default; only the engine
under dbt changes (docs/DEPLOY.md, "The Spark target"). dbt-spark's ``session`` method runs
Spark inside the dbt process, so a build is one process (:func:`run_in_process`):

1. a local Spark session with a Hive metastore (Derby) and warehouse under
   ``$WHOLECHILD_HOME/spark/``, so the tables dbt builds outlive the process;
2. the raw, ops, quarantine and pii views over the Parquet lake, in Spark SQL, the
   same relations :func:`wholechild.warehouse.sync_views` gives DuckDB;
3. ``dbt build`` in-process (dbtRunner) on the ``spark`` target, which reuses the session;
4. every mart written to ``$WHOLECHILD_HOME/spark/marts/<mart>.parquet``.

The caller then makes the warehouse's ``marts`` schema views over those files
(:func:`attach_marts`), so the analyst share, the report and the CLI read a Spark build
exactly as a DuckDB one. Dagster's dbt step runs ``dbt build`` itself (dagster-dbt), so
for it step 2 and step 4 run alone, before and after (``views`` and ``export``).

:func:`run_step` runs a step as a child (``python -m wholechild.spark_engine STEP``) so
the JVM and the Derby metastore (one JVM at a time) never live in the CLI, a Dagster run
or a test worker; the caller holds the warehouse lock around it.
"""

from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from wholechild import lake_store, warehouse
from wholechild.config import Paths
from wholechild.registry import Registry
from wholechild.warehouse import quote_ident as warehouse_ident
from wholechild.warehouse import quote_literal

ENGINES = ("duckdb", "spark")

SPARK_TYPES = {
    "string": "string",
    "date": "date",
    "boolean": "boolean",
    "bigint": "bigint",
    "double": "double",
    "timestamp": "timestamp",
}


def engine() -> str:
    """The dbt engine chosen by ``WHOLECHILD_ENGINE`` (default ``duckdb``)."""
    value = os.environ.get("WHOLECHILD_ENGINE", "duckdb").strip().lower() or "duckdb"
    if value not in ENGINES:
        raise ValueError(
            f"WHOLECHILD_ENGINE={value!r} is not an engine wholechild builds on; "
            f"use one of {', '.join(ENGINES)}."
        )
    return value


def check_lake(paths: Paths) -> None:
    """The local session reads the lake as files; refuse an object-store lake in one
    sentence before any work starts (a cluster reads it through its own connector)."""
    if not paths.store.is_local:
        raise ValueError(
            f"WHOLECHILD_ENGINE=spark runs a local Spark session, which cannot read the "
            f"object-store lake {paths.store.root} (that needs a cluster with its hadoop-aws, "
            "GCS or ABFS connector); build with WHOLECHILD_ENGINE=duckdb or put the lake on "
            "a shared volume (docs/DEPLOY.md)."
        )


def spark_home(paths: Paths) -> Path:
    return paths.home / "spark"


def marts_dir(paths: Paths) -> Path:
    """Every mart of the last Spark build, one Parquet file each (incl. stewardship)."""
    return spark_home(paths) / "marts"


def session_conf(paths: Paths) -> dict[str, str]:
    """Settings of the local session; ``profiles.yml``'s spark output passes the same.

    The Derby metastore and the warehouse directory live under the home, so a second
    district or a test never sees this one's tables. Shuffle partitions are few because
    the local session has two cores; a cluster sets its own (docs/DEPLOY.md).
    """
    root = spark_home(paths)
    return {
        "spark.master": os.environ.get("WHOLECHILD_SPARK_MASTER", "local[2]"),
        "spark.app.name": "wholechild",
        "spark.sql.warehouse.dir": str(root / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={root / 'metastore_db'};create=true"
        ),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={root}",
        "spark.driver.memory": os.environ.get("WHOLECHILD_SPARK_DRIVER_MEMORY", "2g"),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": "4",
        "spark.sql.parquet.mergeSchema": "true",
        # Spark 4's default, set explicitly: a bad cast or a division by zero fails the
        # model instead of giving NULL (the models divide through nullif, as on DuckDB).
        "spark.sql.ansi.enabled": "true",
        # Rebuilding a table whose files outlived a crashed run must not fail.
        "spark.sql.legacy.allowNonEmptyLocationInCTAS": "true",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
    }


def session(paths: Paths):
    from pyspark.sql import SparkSession

    spark_home(paths).mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in session_conf(paths).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def quote_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def view_sql(spark, pattern: str | None, columns: list[tuple[str, str]]) -> str:
    """Spark's :func:`wholechild.warehouse.view_sql`: the same typed select over a Parquet
    glob (schemas merged), or the same empty relation when the glob matches no file (or is
    None). ``columns`` are (name, Spark type)."""
    if pattern is None or not glob.glob(pattern):
        return warehouse.typed_select(columns, None, None, quote_ident)
    present = set(spark.read.option("mergeSchema", "true").parquet(pattern).columns)
    return warehouse.typed_select(columns, present, f"parquet.{quote_ident(pattern)}", quote_ident)


def bookkeeping_copy(paths: Paths, pattern: str | None, name: str) -> str:
    """One Parquet file holding every file ``pattern`` matches (every delivery's
    ``_ledger.parquet`` or ``_quarantine.parquet``), for Spark; returns its literal glob,
    which matches nothing when the lake has none.

    Hadoop-based readers (Spark, Hive, Trino) skip files whose names start with ``_`` as
    hidden, so they cannot read the per-delivery bookkeeping files in place. Both are small
    (a row per delivery, a row per rejected row), so a consolidated copy is cheap; DuckDB
    reads the originals.
    """
    dest = spark_home(paths) / "bookkeeping" / f"{name}.parquet"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.unlink(missing_ok=True)
    if pattern is None or not glob.glob(pattern):
        return lake_store.literal_pattern(dest)
    tmp = dest.with_name(f".{name}.parquet.tmp")
    with duckdb.connect() as con:
        con.execute(
            f"copy (select * from read_parquet({quote_literal(pattern)}, union_by_name = true)) "
            f"to {quote_literal(str(tmp))} (format parquet)"
        )
    os.replace(tmp, dest)
    return lake_store.literal_pattern(dest)


def sync_views(spark, registry: Registry, paths: Paths) -> None:
    """(Re)create the lake's relations (:func:`wholechild.warehouse.lake_relations`) as
    views in the Spark catalog; the ledger and quarantine through their consolidated copy."""
    for schema in warehouse.LAKE_SCHEMAS:
        spark.sql(f"create database if not exists {schema}")
    check_lake(paths)  # from here on every scan is a local glob (or None)
    for rel in warehouse.lake_relations(registry, paths):
        pattern = bookkeeping_copy(paths, rel.scan, rel.name) if rel.bookkeeping else rel.scan
        columns = [(n, SPARK_TYPES[t]) for n, t in rel.columns]
        spark.sql(
            f"create or replace view {rel.schema}.{quote_ident(rel.name)} as "
            + view_sql(spark, pattern, columns)
        )


def export_marts(spark, paths: Paths) -> list[Path]:
    """Every table of the ``marts`` database to one Parquet file each, atomically."""
    out = marts_dir(paths)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if not spark.catalog.databaseExists("marts"):
        # No build has reached a mart in this metastore (a selection that stops at
        # staging, or a new metastore): keep the marts exported before, remove nothing.
        return sorted(out.glob("*.parquet"))
    names = sorted(r.tableName for r in spark.sql("show tables in marts").collect())
    for name in names:
        table = spark.table(f"marts.{quote_ident(name)}").toArrow()
        dest = out / f"{name}.parquet"
        tmp = out / f".{name}.parquet.tmp"
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, dest)
        written.append(dest)
    for stale in out.glob("*.parquet"):
        if stale not in written:
            stale.unlink()
    return written


def attach_marts(con: duckdb.DuckDBPyConnection, paths: Paths) -> list[str]:
    """Make the warehouse's ``marts`` schema views over the Spark build's Parquet marts.

    Everything after a build (the analyst share, the report, ``wholechild sources``,
    the catalog) reads ``marts.*`` in the warehouse, so a Spark build is seen exactly as a
    DuckDB one. ``con`` is the warehouse writer; a table left by an earlier DuckDB build
    of the same home is replaced by the view.
    """
    con.execute("create schema if not exists marts")
    existing = dict(
        con.execute(
            "select table_name, table_type from information_schema.tables "
            "where table_schema = 'marts'"
        ).fetchall()
    )
    names = []
    for f in sorted(marts_dir(paths).glob("*.parquet")):
        name = f.stem
        if existing.get(name) == "BASE TABLE":
            con.execute(f"drop table marts.{warehouse_ident(name)}")
        con.execute(
            f"create or replace view marts.{warehouse_ident(name)} as select * from "
            f"read_parquet({quote_literal(lake_store.literal_pattern(f))})"
        )
        names.append(name)
    for name, kind in existing.items():
        if name not in names:
            con.execute(
                f"drop {'view' if kind == 'VIEW' else 'table'} marts.{warehouse_ident(name)}"
            )
    return names


def dbt_command(paths: Paths, dbt_args: list[str], project_dir: Path) -> list[str]:
    return [
        *dbt_args,
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
        "--target",
        "spark",
        "--target-path",
        str(paths.home / "dbt" / "target"),
        "--log-path",
        str(paths.home / "dbt" / "logs"),
    ]


def run_in_process(
    paths: Paths, step: str, dbt_args: list[str] | None = None, project_dir: Path | None = None
) -> int:
    """One step in this process: ``views`` (step 2), ``export`` (step 4), or ``build``
    (steps 1-4 in one session); returns 0 on success, 1 when dbt failed."""
    from wholechild.registry import load_registry

    check_lake(paths)
    spark = session(paths)
    if step in ("views", "build"):
        sync_views(spark, load_registry(), paths)
    if step == "build":
        from dbt.cli.main import dbtRunner

        if project_dir is None:
            raise ValueError("the build step needs the dbt project directory")
        result = dbtRunner().invoke(dbt_command(paths, dbt_args or ["build"], project_dir))
        if not result.success:
            if result.exception is not None:
                print(f"dbt on Spark failed: {result.exception}", file=sys.stderr)
            return 1
    if step in ("export", "build"):
        export_marts(spark, paths)
    return 0


def run_step(
    paths: Paths,
    step: str,
    dbt_args: list[str] | None = None,
    project_dir: Path | None = None,
    sources: Path | None = None,
) -> subprocess.CompletedProcess:
    """:func:`run_in_process` in a child Python (see the module docstring), reading the
    caller's home, lake and (when given) source registry folder."""
    from wholechild.transform import dbt_env

    check_lake(paths)
    env = dbt_env(paths)
    env["WHOLECHILD_ENGINE"] = "spark"
    if sources is not None:
        env["WHOLECHILD_SOURCES"] = str(sources)
    cmd = [sys.executable, "-m", "wholechild.spark_engine", step]
    if project_dir is not None:
        cmd += ["--project-dir", str(project_dir)]
    cmd += ["--", *(dbt_args or [])]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)


class SparkStepFailed(RuntimeError):
    """A Spark step failed; the message is one sentence, the output is kept for --debug."""

    def __init__(self, message: str, output: str):
        super().__init__(message)
        self.output = output


def require_success(proc: subprocess.CompletedProcess, step: str, paths: Paths) -> None:
    if proc.returncode != 0:
        output = (proc.stdout or "") + (proc.stderr or "")
        last = next(
            (line.strip() for line in reversed(output.splitlines()) if line.strip()), "no output"
        )
        raise SparkStepFailed(
            f"the Spark {step} step failed (exit {proc.returncode}): {last[:300]}; "
            f"dbt's log is {paths.home / 'dbt' / 'logs' / 'dbt.log'}",
            output,
        )


def parse_args(argv: list[str]) -> tuple[str, Path | None, list[str]]:
    """``STEP [--project-dir DIR] [-- DBT ARGS...]`` -> (step, project dir, dbt args).

    Everything after ``--`` goes to dbt untouched (argparse would read dbt's own options).
    """
    dbt_args = argv[argv.index("--") + 1 :] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(prog="python -m wholechild.spark_engine")
    parser.add_argument("step", choices=("views", "build", "export"))
    parser.add_argument("--project-dir", type=Path)
    ns = parser.parse_args(own)
    return ns.step, ns.project_dir, dbt_args


def main(argv: list[str] | None = None) -> int:
    from wholechild.config import paths as current_paths

    step, project_dir, dbt_args = parse_args(list(sys.argv[1:] if argv is None else argv))
    return run_in_process(current_paths(), step, dbt_args, project_dir)


if __name__ == "__main__":
    raise SystemExit(main())
