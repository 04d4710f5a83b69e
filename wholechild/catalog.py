"""The data catalog: every canonical data element and every mart column, generated.

Nothing here is written by hand, so nothing is written twice:

- a **canonical data element** (``<entity>.<column>``) comes from its contract in
  ``schemas/`` (definition, type, required, code set, sensitivity class) and the registry
  (its stewards are the stewards of the sources feeding the entity);
- a **mart column** (``<mart>.<column>``) comes from the dbt models' YAML under
  ``dbt_project/models/marts/`` (definition, type, accepted values, not_null), plus any
  column a built mart has that its YAML lacks (listed as undocumented, so the gap shows);
  its steward is the data team's (``WHOLECHILD_DATA_STEWARD``, default ``team:data``) and
  its sensitivity class follows :func:`mart_sensitivity`.

``wholechild catalog`` writes ``catalog.md`` and ``catalog.csv``; ``dbt docs generate``
carries the same definitions (the staging YAML is generated from the contracts by
``orchestration/dbt_prepare.py``, with the sensitivity class in each column's meta). The
governance figures of ``marts.mart_data_readiness`` come from :func:`governance`.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import yaml

from schemas import ENTITIES
from schemas._base import SENSITIVITY
from wholechild import config
from wholechild.registry import Registry

DATA_STEWARD_ENV = "WHOLECHILD_DATA_STEWARD"
DEFAULT_DATA_STEWARD = "team:data"

#: Marts allowed to carry direct identifiers (PRODUCT.md: the stewardship exception).
PII_EXEMPT_MARTS = frozenset({"mart_unmatched_records"})

#: Mart column names that are sensitive (METRICS.md subgroups, programs, discipline,
#: health), matched whole or as a prefix/suffix word: see :func:`mart_sensitivity`.
SENSITIVE_WORDS = (
    # demographics
    "race",
    "race_ethnicity",
    "ethnicity",
    "hispanic_latino",
    "sex",
    "gender",
    # disability and programs
    "disability",
    "disability_category",
    "special_education",
    "section_504",
    "english_learner",
    "economically_disadvantaged",
    "homeless",
    "foster_care",
    "gifted",
    "migrant",
    "program",
    "programs",
    # discipline
    "discipline",
    "incident",
    "incidents",
    "suspension",
    "suspensions",
    "suspended",
    "expulsion",
    "expulsions",
    "removal",
    "removals",
    "behavior",
    "days_removed",
    # health
    "health",
)

SENSITIVITY_RULE = (
    "Canonical data elements carry the class their contract declares (schemas/, "
    "`metadata={'sensitivity': ...}`, default public). Mart columns are classed by name: "
    "a contract's direct identifier (student_ref, local_id, state_id, email, username, "
    "names, birth_date) or district_id is pii_direct (only mart_unmatched_records may "
    "carry one); student_key is pii_indirect (a pseudonym that links a student's rows); "
    "a column naming demographics (race, ethnicity, sex, gender), disability, a program "
    "(special education, 504, English learner, economically disadvantaged, homeless, "
    "foster care, gifted, migrant) or discipline (incidents, suspensions, expulsions, "
    "removals, behavior) or health is sensitive, whether it is a student's value "
    "or a count over a group; everything else is public."
)


def data_steward() -> str:
    return os.environ.get(DATA_STEWARD_ENV) or DEFAULT_DATA_STEWARD


def pii_direct_names() -> list[str]:
    """Column names that are direct identifiers in some contract, plus the district id."""
    names = {
        c.name
        for e in ENTITIES.values()
        for c in e.columns.values()
        if c.sensitivity == "pii_direct"
    }
    return sorted(names | {"district_id"})


def mart_sensitivity(mart: str, column: str) -> tuple[str, str]:
    """(class, why) of a mart column, by the rule of :data:`SENSITIVITY_RULE`."""
    name = column.lower()
    if name in pii_direct_names():
        return "pii_direct", "direct identifier"
    if name == "student_key":
        return "pii_indirect", "pseudonymous student key"
    words = name.split("_")
    for word in SENSITIVE_WORDS:
        parts = word.split("_")
        n = len(parts)
        if any(words[i : i + n] == parts for i in range(len(words) - n + 1)):
            return "sensitive", f"names {word.replace('_', ' ')}"
    return "public", "no sensitive term in the name"


@dataclass(frozen=True)
class CatalogEntry:
    kind: str  # canonical | mart
    element: str  # <entity>.<column> | <mart>.<column>
    table: str
    column: str
    domain: str
    definition: str
    type: str
    required: str  # yes | no | "" (unknown)
    code_set: str
    stewards: str
    sources: str
    sensitivity: str
    sensitivity_basis: str

    @property
    def is_governed(self) -> bool:
        """Has a definition, a steward and a sensitivity class (the readiness rule)."""
        return (
            bool(self.definition.strip())
            and bool(self.stewards)
            and (self.sensitivity in SENSITIVITY)
        )


COLUMNS = [f.name for f in fields(CatalogEntry)]


def _code_set(col) -> str:
    if col.codes:
        return " | ".join(str(c) for c in col.codes)
    if col.minimum is not None or col.maximum is not None:
        lo = "" if col.minimum is None else f"{col.minimum:g}"
        hi = "" if col.maximum is None else f"{col.maximum:g}"
        return f"{lo}..{hi}"
    return ""


def canonical_entries(registry: Registry) -> list[CatalogEntry]:
    out = []
    for name in sorted(ENTITIES):
        spec = ENTITIES[name]
        feeding = registry.feeding(name)
        stewards = "; ".join(sorted({s.steward for s in feeding}))
        sources = ", ".join(sorted(s.name for s in feeding))
        for col in spec.columns.values():
            out.append(
                CatalogEntry(
                    kind="canonical",
                    element=f"{name}.{col.name}",
                    table=name,
                    column=col.name,
                    domain=spec.domain,
                    definition=col.description,
                    type=col.type,
                    required="yes" if col.required else "no",
                    code_set=_code_set(col),
                    stewards=stewards,
                    sources=sources,
                    sensitivity=col.sensitivity,
                    sensitivity_basis=f"contract schemas/{name}.py",
                )
            )
    return out


def _clean(text: object) -> str:
    return re.sub(r"\s+", " ", str(text or "")).strip()


def _tests_of(col: dict) -> list:
    return list(col.get("data_tests") or col.get("tests") or [])


def _accepted_values(col: dict) -> str:
    for test in _tests_of(col):
        if isinstance(test, dict) and "accepted_values" in test:
            body = test["accepted_values"] or {}
            values = (body.get("arguments") or {}).get("values") or body.get("values") or []
            return " | ".join(str(v) for v in values)
    return ""


def _not_null(col: dict) -> bool:
    for test in _tests_of(col):
        name = test if isinstance(test, str) else next(iter(test), "")
        if name == "not_null":
            body = test.get("not_null") if isinstance(test, dict) else None
            where = ((body or {}).get("config") or {}).get("where")
            if not where:
                return True
    return False


def mart_models(project_dir: Path | None = None) -> dict[str, dict]:
    """Mart name -> {description, columns: [yaml column dict], folder} from the models' YAML."""
    project_dir = Path(project_dir) if project_dir is not None else config.dbt_project_dir()
    marts_dir = project_dir / "models" / "marts"
    models: dict[str, dict] = {}
    sql_files = {p.stem: p for p in marts_dir.rglob("*.sql")}
    for yml in sorted([*marts_dir.rglob("*.yml"), *marts_dir.rglob("*.yaml")]):
        try:
            doc = yaml.safe_load(yml.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError:
            continue
        for model in doc.get("models") or []:
            if not isinstance(model, dict) or model.get("name") not in sql_files:
                continue
            models[model["name"]] = {
                "description": _clean(model.get("description")),
                "columns": [c for c in model.get("columns") or [] if isinstance(c, dict)],
                "folder": yml.parent.name,
            }
    for name, path in sql_files.items():  # a mart with no YAML yet is listed, undocumented
        models.setdefault(name, {"description": "", "columns": [], "folder": path.parent.name})
    return dict(sorted(models.items()))


def built_mart_columns(home_paths=None) -> dict[str, list[tuple[str, str]]]:
    """Mart -> [(column, type)] of the built warehouse (read-only); {} when unavailable."""
    import duckdb

    paths = home_paths or config.paths()
    if not paths.warehouse.is_file():
        return {}
    try:
        with duckdb.connect(str(paths.warehouse), read_only=True) as con:
            rows = con.execute(
                "select table_name, column_name, data_type from information_schema.columns "
                "where table_schema = 'marts' order by table_name, ordinal_position"
            ).fetchall()
    except duckdb.Error:
        return {}
    out: dict[str, list[tuple[str, str]]] = {}
    for table, column, dtype in rows:
        out.setdefault(table, []).append((column, str(dtype).lower()))
    return out


def mart_entries(
    project_dir: Path | None = None,
    *,
    steward: str | None = None,
    built: dict[str, list[tuple[str, str]]] | None = None,
) -> list[CatalogEntry]:
    steward = steward or data_steward()
    built = built or {}
    out = []
    models = mart_models(project_dir)
    for mart in sorted(set(models) | set(built)):
        model = models.get(mart, {"columns": [], "folder": "", "description": ""})
        documented = {str(c.get("name")).lower(): c for c in model["columns"] if c.get("name")}
        names = list(documented)
        names += [c for c, _t in built.get(mart, []) if c.lower() not in documented]
        types = {c.lower(): t for c, t in built.get(mart, [])}
        for column in names:
            col = documented.get(column, {})
            sensitivity, why = mart_sensitivity(mart, column)
            out.append(
                CatalogEntry(
                    kind="mart",
                    element=f"{mart}.{column}",
                    table=f"marts.{mart}",
                    column=column,
                    domain=model["folder"],
                    definition=_clean(col.get("description")),
                    type=str(col.get("data_type") or types.get(column, "")),
                    required="yes" if col and _not_null(col) else ("no" if col else ""),
                    code_set=_accepted_values(col) if col else "",
                    stewards=steward,
                    sources="dbt: " + mart,
                    sensitivity=sensitivity,
                    sensitivity_basis=f"rule: {why}",
                )
            )
    return out


def build_catalog(
    registry: Registry,
    project_dir: Path | None = None,
    *,
    steward: str | None = None,
    include_built: bool = True,
) -> list[CatalogEntry]:
    built = built_mart_columns() if include_built else {}
    return canonical_entries(registry) + mart_entries(project_dir, steward=steward, built=built)


# --------------------------------------------------------------------------- governance


def governance(registry: Registry, project_dir: Path | None = None) -> dict:
    """The catalog's governance figures for ``marts.mart_data_readiness`` (dbt_prepare)."""
    canonical = canonical_entries(registry)
    marts = mart_entries(project_dir, steward=data_steward(), built={})
    return {
        "elements": len(canonical),
        "elements_with_definition": sum(bool(e.definition.strip()) for e in canonical),
        "elements_with_steward": sum(bool(e.stewards) for e in canonical),
        "elements_with_sensitivity": sum(e.sensitivity in SENSITIVITY for e in canonical),
        "elements_governed": sum(e.is_governed for e in canonical),
        "ungoverned_entities": sorted({e.table for e in canonical if not e.is_governed}),
        "mart_columns": len(marts),
        "mart_columns_described": sum(bool(e.definition) for e in marts),
        "pii_direct_names": pii_direct_names(),
        "pii_exempt_marts": sorted(PII_EXEMPT_MARTS),
        "data_steward": data_steward(),
    }


# --------------------------------------------------------------------------- writing


def render_csv(entries: list[CatalogEntry]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for e in entries:
        writer.writerow(asdict(e))
    return buf.getvalue()


def _cell(text: str) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def render_markdown(entries: list[CatalogEntry], registry: Registry) -> str:
    canonical = [e for e in entries if e.kind == "canonical"]
    marts = [e for e in entries if e.kind == "mart"]
    governed = sum(e.is_governed for e in canonical)
    lines = [
        "# wholechild data catalog",
        "",
        "Generated by `wholechild catalog` from the contracts (`schemas/`), the source "
        f"registry (`{registry.folder}`) and the dbt models' YAML; do not edit, regenerate.",
        "",
        f"- {len(canonical)} canonical data elements in {len(ENTITIES)} entities; "
        f"{governed} have a definition, a steward and a sensitivity class.",
        f"- {len(marts)} mart columns in {len({e.table for e in marts})} marts "
        f"(steward: {marts[0].stewards if marts else data_steward()}).",
        "",
        "**Sensitivity classes** (pii_direct, pii_indirect, sensitive, public). "
        + SENSITIVITY_RULE,
        "",
        "## Canonical data elements",
    ]
    head = "| element | definition | type | required | code set | steward(s) | sensitivity |"
    for entity in sorted({e.table for e in canonical}):
        rows = [e for e in canonical if e.table == entity]
        spec = ENTITIES[entity]
        lines += [
            "",
            f"### {entity} ({spec.domain})",
            "",
            spec.description,
            "",
            f"Sources: {rows[0].sources or 'none registered'}.",
            "",
            head,
            "|---|---|---|---|---|---|---|",
        ]
        for e in rows:
            lines.append(
                f"| `{e.element}` | {_cell(e.definition)} | {e.type} | {e.required} "
                f"| {_cell(e.code_set)} | {_cell(e.stewards) or '**none**'} | {e.sensitivity} |"
            )
    lines += ["", "## Mart columns"]
    for table in sorted({e.table for e in marts}):
        rows = [e for e in marts if e.table == table]
        lines += [
            "",
            f"### {table}",
            "",
            head,
            "|---|---|---|---|---|---|---|",
        ]
        for e in rows:
            lines.append(
                f"| `{e.element}` | {_cell(e.definition) or '**undocumented**'} | {e.type} "
                f"| {e.required} | {_cell(e.code_set)} | {_cell(e.stewards)} "
                f"| {e.sensitivity} ({_cell(e.sensitivity_basis)}) |"
            )
    return "\n".join(lines) + "\n"


def write_catalog(
    registry: Registry,
    out_dir: Path,
    *,
    project_dir: Path | None = None,
    steward: str | None = None,
) -> tuple[Path, Path, list[CatalogEntry]]:
    entries = build_catalog(registry, project_dir, steward=steward)
    out_dir.mkdir(parents=True, exist_ok=True)
    md, csv_path = out_dir / "catalog.md", out_dir / "catalog.csv"
    md.write_text(render_markdown(entries, registry), encoding="utf-8")
    csv_path.write_text(render_csv(entries), encoding="utf-8")
    return md, csv_path, entries
