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
from pathlib import Path

EXIT_OK, EXIT_REJECTED, EXIT_CONFIG, EXIT_PIPELINE = 0, 1, 2, 3


class ConfigError(Exception):
    """A usage or configuration problem: exit 2 with one sentence."""


def _console():
    from rich.console import Console

    # Wide enough for file names when output is captured (CI logs, make demo | tee).
    return Console(highlight=False, width=None if sys.stdout.isatty() else 140)


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


def _run_pipeline(console, settle: float | None, build: bool = True) -> tuple[list, object]:
    from wholechild import config, pipeline, transform

    registry = _registry(console)
    paths = config.paths().ensure()
    with console.status("Loading deliveries..."):
        outcomes = pipeline.process_pending(registry, paths, settle=settle)
    _print_outcomes(console, outcomes)
    result = None
    if build:
        with console.status("Building dbt models (dbt build)..."):
            result = transform.build(registry, paths)
        if not result.ok:
            tail = "\n".join(result.output.strip().splitlines()[-25:])
            console.print(f"[red]dbt build failed[/]:\n{tail}")
        else:
            console.print(f"dbt build: {result.models_built} models built, all tests passed.")
    return outcomes, result


def _summary(console, outcomes, dbt_result) -> None:
    from wholechild import config

    paths = config.paths()
    loaded = sum(o.status in ("published", "published_with_quarantine") for o in outcomes)
    rejected = sum(o.status == "rejected" for o in outcomes)
    quarantined = sum(o.rows_quarantined for o in outcomes if o.status != "rejected")
    console.print(
        f"\n[bold]{loaded}[/] deliveries loaded, [bold]{rejected}[/] rejected, "
        f"[bold]{quarantined}[/] rows quarantined in loaded deliveries."
    )
    console.print(f"Warehouse: {paths.warehouse}")
    console.print(f"Rejected files and their reports: {paths.rejected}")
    console.print(
        "Open the UI: make dagster   (or: DAGSTER_HOME=$WHOLECHILD_HOME/dagster dagster dev)"
    )


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
    with console.status(f"Generating a district of {args.students} students..."):
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
            }
        ):
            raise ConfigError(
                f"{paths.home} holds files wholechild did not write; point WHOLECHILD_HOME "
                "at an empty folder or pass --keep."
            )
        shutil.rmtree(paths.home)
    paths.ensure()
    with console.status(
        f"Generating the demo district ({args.students} students, seed {args.seed})..."
    ):
        expected = generate(paths.landing, students=args.students, seed=args.seed)
    console.print(f"Demo district landed in {paths.landing}")
    outcomes, result = _run_pipeline(console, settle=0)
    _summary(console, outcomes, result)
    if result is not None and not result.ok:
        return EXIT_PIPELINE
    surprises = _surprises(outcomes, expected)
    if surprises:
        for s in surprises:
            console.print(f"[red]unexpected:[/] {s}")
        return EXIT_REJECTED
    console.print("The outcome is what the demo planted (its planted rejection included).")
    return EXIT_OK


# --------------------------------------------------------------------------- validate
def cmd_validate(args, console) -> int:
    from quality.report import render_text, summarize
    from wholechild import pipeline

    registry = _registry(console, quiet_errors=True)
    source = registry.sources.get(args.source)
    if source is None:
        bad = [e for e in registry.errors if e.file.stem == args.source]
        if bad:
            raise ConfigError(str(bad[0]))
        raise ConfigError(
            f"no source named '{args.source}'; known sources: {', '.join(sorted(registry.sources))}."
        )
    target = Path(args.path)
    if not target.exists():
        raise ConfigError(f"{target} does not exist; give a delivered file or a folder of them.")
    files = (
        [target]
        if target.is_file()
        else sorted(
            p for p in target.iterdir() if p.is_file() and not p.name.startswith((".", "_"))
        )
    )
    if not files:
        raise ConfigError(f"{target} holds no files to validate.")
    summaries, worst = [], EXIT_OK
    for f in files:
        if (
            target.is_dir()
            and source.format in ("csv", "xlsx", "parquet")
            and source.export_for(f.name) is None
        ):
            continue
        out = pipeline.audit_delivery(source, f)
        summary = summarize(out)
        summaries.append(summary)
        if out.status == "rejected" or (args.strict and out.rows_quarantined):
            worst = EXIT_REJECTED
        if not args.json:
            console.print(render_text(summary), end="")
            verdict = (
                "would be REJECTED"
                if out.status == "rejected"
                else (
                    "would be published"
                    + (" with quarantined rows" if out.rows_quarantined else "")
                )
            )
            console.print(f"=> {f.name} {verdict}.\n")
    if args.json:
        print(json.dumps(summaries if len(summaries) != 1 else summaries[0], indent=2, default=str))
    return worst


# --------------------------------------------------------------------------- sources
def cmd_sources(args, console) -> int:
    from rich.table import Table

    from wholechild import config, lake

    registry = _registry(console)
    ledger = lake.read_ledger(config.paths())
    t = Table(title=f"Sources in {registry.folder}")
    for col in (
        "source",
        "system",
        "format",
        "entities",
        "domains",
        "steward",
        "cadence",
        "last delivery",
        "status",
    ):
        t.add_column(col)
    for src in sorted(registry.sources.values(), key=lambda s: s.name):
        mine = ledger[ledger["source"] == src.name] if len(ledger) else ledger
        last = mine.iloc[-1] if len(mine) else None
        t.add_row(
            src.name,
            src.system,
            src.format,
            ", ".join(src.entities) or "(standard)",
            ", ".join(src.domains),
            src.steward,
            src.cadence,
            "never"
            if last is None
            else f"{last['file_name']} ({last['received_at']:%Y-%m-%d %H:%M})",
            "-" if last is None else str(last["status"]),
        )
    console.print(t)
    return EXIT_OK


# --------------------------------------------------------------------------- parser
EXAMPLES = {
    "demo": "wholechild demo --students 500 --seed 7",
    "generate": "wholechild generate --out /tmp/district --students 2000",
    "run": "WHOLECHILD_HOME=/srv/wholechild wholechild run",
    "validate": "wholechild validate exports/map_growth_2026-01-15.csv --source map_growth --strict",
    "sources": "wholechild sources",
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="wholechild",
        description="Make a school district data ready: contracts, write-audit-publish, whole-child marts.",
        epilog="State lives under $WHOLECHILD_HOME (default ./.wholechild); sources under $WHOLECHILD_SOURCES (default ./sources).",
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
    sp.add_argument("--students", type=int, default=2000)
    sp.add_argument("--seed", type=int, default=42)
    sp.add_argument("--keep", action="store_true", help="keep the existing WHOLECHILD_HOME")

    sp = add(
        "generate",
        "Write the demo district's exports, one folder per source (a landing root).",
        cmd_generate,
    )
    sp.add_argument("--out", required=True)
    sp.add_argument("--students", type=int, default=2000)
    sp.add_argument("--seed", type=int, default=42)

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
    sp.add_argument("path", metavar="FILE_OR_DIR")
    sp.add_argument("--source", required=True)
    sp.add_argument("--json", action="store_true", help="print the report as JSON")
    sp.add_argument(
        "--strict", action="store_true", help="exit 1 on any violation, not only rejection"
    )

    add("sources", "List registered sources, their domains, last delivery and status.", cmd_sources)
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
