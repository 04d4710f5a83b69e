"""The ``wholechild`` command line (PRODUCT.md, CLI).

Every command is a thin shell over the same functions the Dagster sensors and assets
call, so ``wholechild run`` processes a delivery exactly as a sensor-triggered run would.
Errors are one sentence with the fix; tracebacks are for ``--debug``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

EXIT_OK, EXIT_REJECTED, EXIT_CONFIG, EXIT_PIPELINE = 0, 1, 2, 3


class ConfigError(Exception):
    """A usage or configuration problem: exit 2 with one sentence."""


def _console():
    from rich.console import Console

    # Wide enough for file names when output is captured (CI logs, make demo | tee).
    return Console(highlight=False, width=None if sys.stdout.isatty() else 140)


@contextmanager
def _progress(console, label: str, total: int | None = None) -> Iterator[Callable[[str], None]]:
    """Show a long step: a bar (``total`` known) or a spinner, with the elapsed time.

    Yields ``tick(detail)``: one unit done, ``detail`` (e.g. the file) shown beside the
    bar. On a terminal it is a live rich display; otherwise (CI logs, ``| tee``) one plain
    line when the step starts and one with its duration when it ends.
    """
    start = time.monotonic()
    if not console.is_terminal or console.is_dumb_terminal:
        console.print(f"{label}...")
        yield lambda detail="": None
        console.print(f"{label}: done in {time.monotonic() - start:.1f}s.")
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = [SpinnerColumn(), TextColumn("{task.description}")]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn()]
    columns += [TimeElapsedColumn(), TextColumn("[dim]{task.fields[detail]}")]
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=total, detail="")
        yield lambda detail="": bar.update(task, advance=1, detail=detail)
    console.print(f"{label}: done in {time.monotonic() - start:.1f}s.")


def _registry(console, quiet_errors: bool = False):
    from wholechild.registry import load_registry

    registry = load_registry()
    if not quiet_errors:
        for err in registry.errors:
            console.print(f"[yellow]source skipped:[/] {err}")
    if not registry.sources:
        raise ConfigError(
            f"no usable source YAML in {registry.folder}; set WHOLECHILD_SOURCES to the folder "
            "of your sources/*.yml (see README, 'Adding a source')."
        )
    return registry


# --------------------------------------------------------------------------- run
def _print_outcomes(console, outcomes) -> None:
    from rich.table import Table

    if not outcomes:
        console.print("No pending deliveries in the landing zone.")
        return
    t = Table(title="Deliveries", show_lines=False)
    for col in ("source", "file", "status", "read", "published", "quarantined"):
        t.add_column(
            col, justify="right" if col in ("read", "published", "quarantined") else "left"
        )
    for o in outcomes:
        style = {"rejected": "red", "published_with_quarantine": "yellow", "duplicate": "dim"}.get(
            o.status, "green"
        )
        t.add_row(
            o.source,
            o.file_name,
            f"[{style}]{o.status}[/]",
            str(o.rows_read),
            str(o.rows_published),
            str(o.rows_quarantined),
        )
    console.print(t)
    for o in outcomes:
        if o.status == "rejected":
            console.print(f"[red]rejected[/] {o.source}/{o.file_name}: {o.reason}")
            console.print(f"  report: {o.report_path}")


def _ready_paths():
    """The home and lake, created and reachable, with the engine able to read the lake;
    a bad setting (an unreachable bucket, Spark over a bucket) is a configuration error,
    raised before any delivery is touched."""
    from wholechild import config, spark_engine

    try:
        paths = config.paths().ensure()
        if spark_engine.engine() == "spark":
            spark_engine.check_lake(paths)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return paths


def _readable_paths():
    """The home and lake for a read-only command: nothing is created, but a bucket lake
    must be reachable (listing only), or the command would see an empty lake."""
    from wholechild import config

    paths = config.paths()
    try:
        if not paths.store.is_local:
            paths.store.ensure()
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return paths


def _run_pipeline(console, settle: float | None, build: bool = True) -> tuple[list, object]:
    from wholechild import pipeline, spark_engine, transform

    registry = _registry(console)
    paths = _ready_paths()
    todo = len(pipeline.pending(registry, paths, settle=settle))
    outcomes: list = []
    if todo:
        with _progress(console, f"Loading {todo} deliveries", total=todo) as tick:
            outcomes = pipeline.process_pending(
                registry,
                paths,
                settle=settle,
                progress=lambda o: tick(f"{o.source}/{o.file_name}: {o.status}"),
            )
    _print_outcomes(console, outcomes)
    result = None
    if build:
        on = " on Spark" if spark_engine.engine() == "spark" else ""
        with _progress(console, f"Building the dbt models (dbt build{on})"):
            result = transform.build(registry, paths)
        if not result.ok:
            tail = "\n".join(result.output.strip().splitlines()[-25:])
            console.print(f"[red]dbt build failed[/]:\n{tail}")
        else:
            console.print(f"dbt build: {result.models_built} models built, all tests passed.")
    _record_in_dagster(console, registry, paths, outcomes, result)
    return outcomes, result


def _record_in_dagster(console, registry, paths, outcomes, result) -> None:
    """Show this run in the Dagster UI too; never fail the run over it."""
    from orchestration import record

    try:
        instance = record.instance_for(paths)
        n = record.record_deliveries(instance, registry, paths, outcomes)
        if result is not None and result.ok:
            n += record.record_dbt_build(instance, paths.home / "dbt" / "target")
    except Exception as exc:  # noqa: BLE001 - the data is loaded; only the UI history is missing
        console.print(f"[yellow]note:[/] the Dagster instance did not record this run ({exc}).")
        return
    if n:
        console.print(f"Recorded {n} asset events in the Dagster instance at {paths.dagster_home}.")


def _summary(console, outcomes, dbt_result) -> None:
    """The closing table of ``run`` and ``demo``: what was loaded and built, and where."""
    from rich.table import Table

    from wholechild import config, spark_engine

    paths = config.paths()
    rows = _print_coverage(console, paths)
    count = {s: sum(o.status == s for o in outcomes) for s in STATUSES}
    loaded = count["published"] + count["published_with_quarantine"]
    quarantined = sum(o.rows_quarantined for o in outcomes if o.status != "rejected")
    t = Table(title="Summary", show_header=False)
    t.add_column(style="bold")
    t.add_column()
    t.add_row(
        "deliveries",
        f"{loaded} loaded ({count['published_with_quarantine']} with quarantined rows), "
        f"{_red(count['rejected'])} rejected, {count['duplicate']} duplicate",
    )
    t.add_row(
        "rows",
        f"{sum(o.rows_read for o in outcomes):,} read, "
        f"{sum(o.rows_published for o in outcomes):,} published, "
        f"{sum(o.rows_quarantined for o in outcomes):,} quarantined",
    )
    t.add_row("marts built", _marts_line(paths, dbt_result))
    if rows is not None:
        missing = [r.domain for r in rows if not r.is_connected]
        t.add_row(
            "coverage",
            f"{len(rows) - len(missing)}/{len(rows)} whole-child domains connected"
            + (f" (not yet: {', '.join(missing)})" if missing else ""),
        )
    if spark_engine.engine() == "spark":
        t.add_row(
            "engine",
            f"Spark (tables in {spark_engine.spark_home(paths)}; the warehouse's marts are "
            f"views over {spark_engine.marts_dir(paths)}/*.parquet)",
        )
    if paths.lake_root is not None:
        t.add_row("lake", paths.lake_location)
    t.add_row("warehouse", str(paths.warehouse))
    t.add_row("analyst share", f"{paths.analytics} (views over {paths.share}/*.parquet)")
    t.add_row("rejected files", str(paths.rejected))
    console.print(t)
    console.print(
        f"[bold]{loaded}[/] deliveries loaded, [bold]{count['rejected']}[/] rejected, "
        f"[bold]{quarantined}[/] rows quarantined in loaded deliveries."
    )
    console.print(
        "Open the UI: make dagster   (or: DAGSTER_HOME=$WHOLECHILD_HOME/dagster dagster dev)"
    )


STATUSES = ("published", "published_with_quarantine", "rejected", "duplicate")


def _red(n: int) -> str:
    return f"[red]{n}[/]" if n else str(n)


def _marts_line(paths, dbt_result) -> str:
    """``marts.*`` models the last dbt build built, from dbt's own run results."""
    if dbt_result is None:
        return "not built (no dbt build in this run)"
    if not dbt_result.ok:
        return "[red]dbt build failed[/] (its output is above)"
    target = paths.home / "dbt" / "target"
    try:
        nodes = json.loads((target / "manifest.json").read_text())["nodes"]
        results = json.loads((target / "run_results.json").read_text())["results"]
    except (OSError, ValueError, KeyError):
        return f"{dbt_result.models_built} dbt models built"
    marts = sorted(
        nodes[r["unique_id"]]["name"]
        for r in results
        if r.get("status") == "success"
        and r.get("unique_id", "").startswith("model.")
        and nodes.get(r["unique_id"], {}).get("schema") == "marts"
    )
    return (
        f"{len(marts)} marts (of {dbt_result.models_built} dbt models), all tests passed"
        if marts
        else f"{dbt_result.models_built} dbt models built"
    )


def _print_coverage(console, paths) -> list | None:
    """The coverage table (wholechild.coverage), and the same on coverage/interoperability
    in the Dagster instance so the UI shows it; never fails the run over either."""
    from rich.table import Table

    from wholechild import coverage

    try:
        registry = _registry(console, quiet_errors=True)
        rates = coverage.match_rates(paths)
        rows = coverage.domain_coverage(registry, paths, rates=rates)
    except Exception as exc:  # noqa: BLE001 - the data is loaded; only the summary is missing
        console.print(f"[yellow]note:[/] coverage could not be computed ({exc}).")
        return None
    t = Table(title="Interoperability coverage")
    for col in (
        "domain",
        "connected",
        "sources",
        "rows",
        "reject",
        "match",
        "freshness",
        "contract",
    ):
        t.add_column(col, justify="right" if col in ("rows", "reject", "match") else "left")
    for r in rows:
        t.add_row(
            r.domain,
            "yes" if r.is_connected else "[red]no[/]",
            ", ".join(r.sources) or "-",
            f"{r.rows_published:,}",
            "-" if r.reject_rate is None else f"{100 * r.reject_rate:.1f}%",
            "-" if r.student_match_rate is None else f"{100 * r.student_match_rate:.1f}%",
            r.freshness_status if r.freshness_status != "stale" else "[red]stale[/]",
            r.contract_status if r.contract_status != "failed" else "[red]failed[/]",
        )
    console.print(t)
    connected = sum(r.is_connected for r in rows)
    console.print(f"{connected} of {len(rows)} whole-child domains connected.")
    try:
        import dagster as dg

        from orchestration import record
        from orchestration.defs.coverage import INTEROPERABILITY_KEY, coverage_metadata

        record.instance_for(paths).report_runless_asset_event(
            dg.AssetMaterialization(
                asset_key=INTEROPERABILITY_KEY,
                description="Recorded from the wholechild CLI.",
                metadata=coverage_metadata(rows, rates is not None),
            )
        )
    except Exception:  # noqa: BLE001 - the UI history is a convenience
        pass
    return rows


def cmd_run(args, console) -> int:
    outcomes, result = _run_pipeline(console, settle=args.settle)
    _summary(console, outcomes, result)
    if result is not None and not result.ok:
        return EXIT_PIPELINE
    return EXIT_REJECTED if any(o.status == "rejected" for o in outcomes) else EXIT_OK


# --------------------------------------------------------------------------- demo
def cmd_generate(args, console) -> int:
    from wholechild.demo.generator import generate

    out = Path(args.out)
    with _progress(console, f"Generating a district of {args.students} students"):
        expected = generate(out, students=args.students, seed=args.seed)
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    console.print(f"Wrote {len(folders)} source folders to {out}: {', '.join(folders)}")
    if "deliveries" in expected:
        console.print(
            f"{len(expected['deliveries'])} deliveries; planted facts in {out / '_expected.json'}"
        )
    return EXIT_OK


def _planted(expected: dict) -> dict[tuple[str, str], dict]:
    """(source, file) -> what the demo planted for that delivery (``_expected.json``)."""
    return {(d["source"], d["file_name"]): d for d in expected.get("deliveries", [])}


def _surprises(outcomes, expected: dict) -> list[str]:
    """Every way the run differs from what the generator planted (status and row counts)."""
    planted = _planted(expected)
    out = []
    for o in outcomes:
        want = planted.pop((o.source, o.file_name), None)
        if want is None:
            out.append(f"{o.source}/{o.file_name}: not planted by the demo ({o.status})")
            continue
        got = (o.status, o.rows_read, o.rows_published, o.rows_quarantined)
        exp = (want["status"], want["rows_read"], want["rows_published"], want["rows_quarantined"])
        if got != exp:
            out.append(
                f"{o.source}/{o.file_name}: planted {exp}, got {got}"
                + (f" ({o.reason})" if o.reason else "")
            )
    out += [f"{s}/{f}: planted but never processed" for s, f in planted]
    return out


def cmd_demo(args, console) -> int:
    from wholechild import config
    from wholechild.demo.generator import generate

    paths = config.paths()
    if not args.keep and paths.lake_root is not None:
        raise ConfigError(
            f"the demo resets its home but never a lake outside it ({paths.lake_location}, from "
            "WHOLECHILD_LAKE); unset WHOLECHILD_LAKE for the demo or pass --keep."
        )
    if not args.keep and paths.home.exists():
        # Only ever delete a folder that looks like a wholechild home.
        markers = {"landing", "lake", "warehouse.duckdb", "archive", "rejected"}
        if not (
            {p.name for p in paths.home.iterdir()}
            <= markers
            | {
                "dagster",
                "share",
                "locks",
                "dbt",
                "pii.duckdb",
                "analytics.duckdb",
                "warehouse.duckdb.wal",
                "catalog",  # `wholechild catalog` writes here by default
                "reports",
                "spark",  # WHOLECHILD_ENGINE=spark: metastore, tables, marts
            }
        ):
            raise ConfigError(
                f"{paths.home} holds files wholechild did not write; point WHOLECHILD_HOME "
                "at an empty folder or pass --keep."
            )
        shutil.rmtree(paths.home)
    paths.ensure()
    with _progress(
        console, f"Generating the demo district ({args.students} students, seed {args.seed})"
    ):
        expected = generate(paths.landing, students=args.students, seed=args.seed)
    console.print(f"Demo district landed in {paths.landing}")
    outcomes, result = _run_pipeline(console, settle=0)
    surprises = _surprises(outcomes, expected) if result is None or result.ok else []
    for s in surprises:
        console.print(f"[red]unexpected:[/] {s}")
    if (result is None or result.ok) and not surprises:
        console.print("The outcome is what the demo planted (its planted rejection included).")
    _summary(console, outcomes, result)
    if result is not None and not result.ok:
        return EXIT_PIPELINE
    return EXIT_REJECTED if surprises else EXIT_OK


# --------------------------------------------------------------------------- validate
def cmd_validate(args, console) -> int:
    from datetime import UTC, datetime

    from quality.report import render_text, summarize
    from wholechild import lake, landing, pipeline
    from wholechild.registry import load_registry

    registry = load_registry()
    source = registry.sources.get(args.source)
    if source is None:
        bad = [e for e in registry.errors if e.file.stem == args.source]
        if bad:
            raise ConfigError(str(bad[0]))
        _registry(console, quiet_errors=True)  # no usable source at all: say so
        raise ConfigError(
            f"no source named '{args.source}'; known sources: {', '.join(sorted(registry.sources))}."
        )
    target = Path(args.path)
    if not target.exists():
        raise ConfigError(f"{target} does not exist; give a delivered file or a folder of them.")
    files = _in_apply_order(_deliveries_in(target, source))
    if not files:
        raise ConfigError(f"{target} holds no files to validate.")
    paths = _readable_paths()  # a delete finds the rows it names; nothing is created
    # The folder's files in the order they would apply, each audited as if the earlier
    # ones were published (a deletes file after the upserts it names; nothing is written).
    # Bytes loaded before (in the lake, or earlier in the folder) are a duplicate, as run
    # says, and apply nothing.
    published = pipeline.published_rows(source, paths)
    loaded = pipeline.loaded_before(lake.read_ledger(paths, source.name))
    summaries, worst = [], EXIT_OK
    for f in files:
        if (
            target.is_dir()
            and source.format in ("csv", "xlsx", "parquet")
            and source.export_for(f.name) is None
        ):
            continue
        sha, now = landing.sha256_of(f), datetime.now(UTC)
        if sha in loaded:
            out = pipeline.duplicate(source, f, sha, now, *loaded[sha])
        else:
            out = pipeline.audit_delivery(
                source, f, sha256=sha, received_at=now, paths=paths, published=published
            )
            loaded[sha] = ("(not published: validate)", f.name)
            if out.status != pipeline.REJECTED:
                published.include(out.published)
        summary = summarize(out)
        summaries.append(summary)
        if out.status == "rejected" or (args.strict and out.rows_quarantined):
            worst = EXIT_REJECTED
        if not args.json:
            console.print(render_text(summary), end="")
            verdict = (
                "would be REJECTED"
                if out.status == "rejected"
                else "is a duplicate, not loaded again"
                if out.status == pipeline.DUPLICATE
                else (
                    "would be published"
                    + (" with quarantined rows" if out.rows_quarantined else "")
                )
            )
            console.print(f"=> {f.name} {verdict}.\n")
    if args.json:
        print(json.dumps(summaries if len(summaries) != 1 else summaries[0], indent=2, default=str))
    return worst


def _deliveries_in(target: Path, source) -> list[Path]:
    """What ``validate`` checks: the file, or the deliveries in a folder, skipping what
    the landing zone skips (markers, partial uploads, links). A OneRoster bundle is a
    folder itself (with manifest.csv) or a zip."""
    from wholechild import landing

    visible = (
        sorted(
            p
            for p in target.iterdir()
            if not p.name.startswith(landing.IGNORED_PREFIXES)
            and not p.name.endswith(landing.IGNORED_SUFFIXES)
            and not p.is_symlink()
        )
        if target.is_dir()
        else [target]
    )
    if source.format == "oneroster" and target.is_dir():
        if any(p.name.lower() == "manifest.csv" for p in visible):
            return [target]
        return [p for p in visible if p.is_dir() or p.suffix.lower() == ".zip"]
    return [p for p in visible if p.is_file()]


def _in_apply_order(files: list[Path]) -> list[Path]:
    """Files in the order ``wholechild run`` would apply them (``landing.apply_order_key``:
    the date in the name, a deletes file after the others of its date)."""
    from wholechild import landing

    def key(p: Path) -> tuple:
        return landing.apply_order_key(landing.LandedFile(p, *landing.tree_signature(p)))

    return sorted(files, key=key)


# --------------------------------------------------------------------------- sources
def cmd_sources(args, console) -> int:
    """The registry with each source's last delivery, status, freshness and match rate.

    Read-only: the lake ledger, and the match rates from the analyst share or the
    warehouse opened read-only (wholechild.coverage); a missing or busy warehouse only
    leaves the match rate empty.
    """
    from rich.table import Table

    from wholechild import config, coverage

    registry = _registry(console)
    reports = coverage.source_reports(registry, config.paths())
    t = Table(title=f"Sources in {registry.folder}")
    for col in (
        "source",
        "domains",
        "entities",
        "steward",
        "cadence",
        "last delivery",
        "status",
        "freshness",
        "match rate",
    ):
        t.add_column(col, justify="right" if col == "match rate" else "left")
    style = {"rejected": "red", "published_with_quarantine": "yellow", "stale": "red"}
    for r in reports:
        t.add_row(
            r.source,
            r.domains,
            r.entities,
            r.steward,
            r.cadence,
            r.last_delivery,
            f"[{style.get(r.status, 'default')}]{r.status}[/]",
            f"[{style.get(r.freshness, 'default')}]{r.freshness}[/]",
            "-" if r.match_rate is None else f"{100 * r.match_rate:.1f}%",
        )
    console.print(t)
    if all(r.match_rate is None for r in reports):
        console.print("Match rates appear once the marts are built (wholechild run).")
    return EXIT_OK


# --------------------------------------------------------------------------- catalog
def cmd_catalog(args, console) -> int:
    from wholechild import catalog, config

    registry = _registry(console)
    out = Path(args.out) if args.out else config.paths().home / "catalog"
    md, csv_path, entries = catalog.write_catalog(registry, out, steward=args.steward)
    canonical = [e for e in entries if e.kind == "canonical"]
    marts = [e for e in entries if e.kind == "mart"]
    governed = sum(e.is_governed for e in canonical)
    console.print(
        f"Catalog: {len(canonical)} canonical data elements ({governed} with a definition, "
        f"a steward and a sensitivity class) and {len(marts)} mart columns."
    )
    undocumented = [e.element for e in marts if not e.definition]
    if undocumented:
        console.print(
            f"[yellow]{len(undocumented)} mart column(s) have no description[/]: "
            + ", ".join(undocumented[:10])
            + (" ..." if len(undocumented) > 10 else "")
        )
    console.print(f"Wrote {md} and {csv_path}")
    return EXIT_OK


# --------------------------------------------------------------------------- add-source
def cmd_add_source(args, console) -> int:
    from wholechild import config, onboarding

    try:
        scaffold = onboarding.scaffold(args.name, Path(args.sample), args.entity)
        path = onboarding.write(scaffold, config.sources_dir())
    except onboarding.OnboardingError as exc:
        raise ConfigError(str(exc)) from None
    console.print(f"Wrote {path} (entity [bold]{scaffold.entity}[/], from {args.sample}).")
    for name, p in scaffold.columns.items():
        fmt = f"  format {p.format}" if p.format else ""
        note = f"  ({p.note})" if p.note else ""
        console.print(f"  {name:<22} <- {p.header}{fmt}{note}")
    if scaffold.todos:
        console.print(f"Left to do in {path.name} (the lines marked TODO):")
        for todo in scaffold.todos:
            console.print(f"  - {todo}")
    console.print(
        f"Then check it against the sample: wholechild validate {args.sample} --source {args.name}"
    )
    return EXIT_OK


# --------------------------------------------------------------------------- check-lake
def cmd_check_lake(args, console) -> int:
    """Every published delivery's rows against its ledger row, and the leftovers of
    publishes that never committed (read-only; wholechild.lake_check)."""
    from wholechild import lake_check

    paths = _readable_paths()
    result = lake_check.check(paths)
    if args.json:
        print(
            json.dumps(
                {
                    "lake": paths.lake_location,
                    "deliveries": result.deliveries,
                    "files": result.files,
                    "rows": result.rows,
                    "unverified": result.unverified,
                    "findings": [f.as_dict() for f in result.findings],
                },
                indent=2,
            )
        )
    else:
        for f in result.findings:
            mark = "[red]problem[/]" if f.is_problem else "[yellow]note[/]"
            console.print(f"{mark} {f.kind}: {f.message}", soft_wrap=True)
        verdict = (
            f"{len(result.problems)} problem(s)" if result.problems else "every delivery is whole"
        )
        unverified = (
            f" ({result.unverified:,} published before the ledger counted rows written: "
            "read, not counted)"
            if result.unverified
            else ""
        )
        console.print(
            f"{paths.lake_location}: {result.deliveries:,} published deliveries, "
            f"{result.files:,} data files, {result.rows:,} rows{unverified}; {verdict}.",
            soft_wrap=True,
        )
    return EXIT_REJECTED if result.problems else EXIT_OK


# --------------------------------------------------------------------------- report
def cmd_report(args, console) -> int:
    """The HTML equity and readiness report, from the analyst share (read-only)."""
    from wholechild import config
    from wholechild.report import NoMartsError, write_report

    try:
        result = write_report(config.paths(), Path(args.out) if args.out else None)
    except NoMartsError as exc:
        raise ConfigError(str(exc)) from None
    console.print(f"Wrote the report to {result.path} ({result.size_bytes:,} bytes).")
    if result.marts_missing:
        console.print(
            "[yellow]not built yet[/] (their sections say so): "
            + ", ".join(f"marts.{m}" for m in result.marts_missing)
        )
    return EXIT_OK


# --------------------------------------------------------------------------- parser
EXAMPLES = {
    "demo": "wholechild demo --students 500 --seed 7",
    "generate": "wholechild generate --out /tmp/district --students 2000",
    "run": "WHOLECHILD_HOME=/srv/wholechild wholechild run",
    "validate": "wholechild validate exports/map_growth_2026-01-15.csv --source map_growth --strict",
    "sources": "wholechild sources",
    "catalog": "wholechild catalog --out docs/catalog",
    "add-source": "wholechild add-source map_growth --sample exports/map_growth_sample.csv",
    "report": "wholechild report --out /tmp/wholechild_report.html",
    "check-lake": "WHOLECHILD_LAKE=s3://district-data/wholechild wholechild check-lake --json",
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="wholechild",
        description="Make a school district data ready: contracts, write-audit-publish, whole-child marts.",
        epilog="examples:\n"
        + "".join(f"  {EXAMPLES[c]}\n" for c in ("demo", "run", "validate", "report"))
        + "\nState lives under $WHOLECHILD_HOME (default ./.wholechild); sources under "
        "$WHOLECHILD_SOURCES (default ./sources).\n`wholechild COMMAND --help` shows each "
        "command's options and an example.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", required=True)

    def add(name, help_text, func):
        sp = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=f"example:\n  {EXAMPLES[name]}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sp.set_defaults(func=func)
        return sp

    sp = add(
        "demo",
        "Reset the demo home, generate the demo district, land it and run everything once.",
        cmd_demo,
    )
    sp.add_argument(
        "--students", type=int, default=2000, help="students in the district (default 2000)"
    )
    sp.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    sp.add_argument("--keep", action="store_true", help="keep the existing WHOLECHILD_HOME")

    sp = add(
        "generate",
        "Write the demo district's exports, one folder per source (a landing root).",
        cmd_generate,
    )
    sp.add_argument("--out", required=True, metavar="DIR", help="folder to write the exports to")
    sp.add_argument(
        "--students", type=int, default=2000, help="students in the district (default 2000)"
    )
    sp.add_argument("--seed", type=int, default=42, help="random seed (default 42)")

    sp = add(
        "run",
        "Process every pending delivery in the landing zone and build all marts, once.",
        cmd_run,
    )
    sp.add_argument(
        "--settle",
        type=float,
        default=0.0,
        help="seconds a file must be unchanged to count as complete (default 0: all files)",
    )

    sp = add(
        "validate",
        "Check an export against a source's contract as a delivery would be checked; writes nothing.",
        cmd_validate,
    )
    sp.add_argument("path", metavar="FILE_OR_DIR", help="an export, or a folder of them")
    sp.add_argument(
        "--source", required=True, metavar="NAME", help="the registered source it comes from"
    )
    sp.add_argument("--json", action="store_true", help="print the report as JSON")
    sp.add_argument(
        "--strict", action="store_true", help="exit 1 on any violation, not only rejection"
    )

    add(
        "sources",
        "List registered sources: domains, steward, last delivery, status, freshness, match rate.",
        cmd_sources,
    )

    sp = add(
        "catalog",
        "Write the data catalog (catalog.md, catalog.csv): every canonical data element and "
        "mart column with its definition, steward and sensitivity class.",
        cmd_catalog,
    )
    sp.add_argument(
        "--out", metavar="DIR", help="folder to write to (default $WHOLECHILD_HOME/catalog)"
    )
    sp.add_argument(
        "--steward",
        help="steward of the mart columns (default $WHOLECHILD_DATA_STEWARD, else team:data)",
    )

    sp = add(
        "add-source",
        "Scaffold sources/NAME.yml (or in $WHOLECHILD_SOURCES) from a sample export's header.",
        cmd_add_source,
    )
    sp.add_argument("name", metavar="NAME", help="the new source's name, [a-z][a-z0-9_]*")
    sp.add_argument("--sample", required=True, metavar="FILE", help="a sample export")
    sp.add_argument("--entity", help="the canonical entity (default: the best match)")

    sp = add(
        "report",
        "Write the HTML equity and readiness report (one self-contained file) from the "
        "analyst share.",
        cmd_report,
    )
    sp.add_argument(
        "--out",
        metavar="FILE",
        help="file to write (default $WHOLECHILD_HOME/reports/wholechild_report.html)",
    )

    sp = add(
        "check-lake",
        "Check that every published delivery holds the rows its ledger row says, and list "
        "publishes that never committed (read-only; exit 1 on a problem).",
        cmd_check_lake,
    )
    sp.add_argument("--json", action="store_true", help="print the findings as JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    console = _console()
    try:
        code = args.func(args, console)
    except ConfigError as exc:
        console.print(f"[red]error:[/] {exc}")
        code = EXIT_CONFIG
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:  # noqa: BLE001 - the user gets one sentence, developers get --debug
        if args.debug:
            raise
        console.print(
            textwrap.fill(
                f"error: {type(exc).__name__}: {exc}. Rerun with --debug for the traceback.", 100
            )
        )
        code = EXIT_PIPELINE
    sys.stdout.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
