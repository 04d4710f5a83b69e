"""The source registry: one YAML file per source system, loaded and validated.

A bad file is reported as one sentence naming the file and the key, and never takes the
other sources down: :func:`load_registry` returns the good sources *and* the errors.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from schemas import ENTITIES

FORMATS = ("csv", "xlsx", "parquet", "oneroster", "edfi_json")
#: Formats that carry exactly one canonical entity per file (mapped by `columns:`).
TABULAR_FORMATS = ("csv", "xlsx", "parquet")
#: Standard formats know their own columns; each publishes these entities (all by default,
#: narrowed by `entities:` in the YAML). See wholechild/standards/.
STANDARD_ENTITIES: dict[str, tuple[str, ...]] = {
    "oneroster": ("school", "student", "section_enrollment"),
    "edfi_json": (
        "school",
        "student",
        "enrollment",
        "attendance_event",
        "assessment_result",
        "discipline_incident",
        "program_participation",
    ),
}
CADENCES = ("daily", "weekly", "monthly", "term", "yearly")
ID_KINDS = ("local", "state", "email", "username")
MODES = ("incremental", "snapshot")
#: Spelled-out delimiters a YAML may use instead of the character itself.
DELIMITER_NAMES = frozenset({"tab", "\\t", "semicolon", "comma", "pipe"})
#: A date column's format for Excel's day numbers (days since 1899-12-30).
EXCEL_SERIAL = "excel_serial"
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
STEWARD_RE = re.compile(r"^([^@\s]+@[^@\s]+\.[^@\s]+|team:[A-Za-z0-9_.-]+)$")

SOURCE_KEYS = {
    "name",
    "system",
    "format",
    "entity",
    "domains",
    "steward",
    "cadence",
    "landing",
    "student_id",
    "mode",
    "columns",
    "constants",
    "codes",
    "options",
    "quality",
    "unpivot",
    "roster",
    "exports",
    "entities",
    "description",
}
#: What `entities.<entity>` of a standard-format source may override.
STANDARD_ENTITY_KEYS = {"codes", "constants", "mode", "student_id"}
EXPORT_KEYS = {"match", "entity", "columns", "constants", "codes", "unpivot", "mode", "student_id"}
OPTION_KEYS = {"encoding", "delimiter", "sheet", "quotechar", "header_row"}
QUALITY_KEYS = {"max_reject_rate"}
COLUMN_MAPPING_KEYS = {"header", "format"}


class RegistryError(ValueError):
    """A source YAML that cannot be used; ``str()`` is one sentence naming file and key."""

    def __init__(self, file: Path, key: str, problem: str):
        self.file = Path(file)
        self.key = key
        self.problem = problem
        super().__init__(f"{self.file.name}: key '{key}' {problem}.")


@dataclass(frozen=True)
class StudentId:
    """Which identifier a source carries for students, and how to normalize it."""

    kind: str = "local"
    #: the system drops leading zeros of a numeric id; left-pad with zeros to this width
    pad_to: int | None = None


@dataclass(frozen=True)
class ColumnMapping:
    header: str
    format: str | None = None  # strptime format for dates


@dataclass(frozen=True)
class Export:
    """One file a source system exports, mapped to one canonical entity."""

    entity: str
    match: str = "*"
    columns: dict[str, ColumnMapping] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    unpivot: dict[str, dict[str, str]] | None = None
    mode: str = "incremental"
    student_id: StudentId = StudentId()

    def matches(self, file_name: str) -> bool:
        return fnmatch.fnmatch(file_name.lower(), self.match.lower())


@dataclass(frozen=True)
class Source:
    name: str
    system: str
    format: str
    domains: tuple[str, ...]
    steward: str
    cadence: str
    landing: str
    student_id: StudentId
    mode: str
    exports: tuple[Export, ...]
    options: dict[str, Any]
    max_reject_rate: float
    roster: bool
    path: Path
    description: str = ""

    @property
    def entities(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for e in self.exports:
            seen.setdefault(e.entity, None)
        return tuple(seen)

    @property
    def is_standard(self) -> bool:
        """A OneRoster or Ed-Fi source: the standard, not `columns:`, maps its files."""
        return self.format in STANDARD_ENTITIES

    def export_of(self, entity: str) -> Export | None:
        """The (first) export of ``entity``: for a standard format, its overrides."""
        return next((e for e in self.exports if e.entity == entity), None)

    def export_for(self, file_name: str) -> Export | None:
        """The export a delivered file belongs to (first match wins), or None."""
        for e in self.exports:
            if e.matches(file_name):
                return e
        return None


@dataclass
class Registry:
    sources: dict[str, Source]
    errors: list[RegistryError]
    folder: Path

    def feeding(self, entity: str) -> list[Source]:
        """Sources with an export of ``entity``, in name order."""
        return [s for s in self.sources.values() if entity in s.entities]

    @property
    def roster(self) -> Source | None:
        """The roster source: marked ``roster: true``, else the only source feeding student."""
        marked = [s for s in self.sources.values() if s.roster]
        if marked:
            return marked[0]
        students = self.feeding("student")
        return students[0] if len(students) == 1 else None

    def by_landing(self, landing: str) -> Source | None:
        for s in self.sources.values():
            if s.landing == landing:
                return s
        return None


def _require(cond: bool, file: Path, key: str, problem: str) -> None:
    if not cond:
        raise RegistryError(file, key, problem)


def _unknown_keys(d: dict, allowed: set[str], file: Path, prefix: str) -> None:
    for k in d:
        _require(
            k in allowed,
            file,
            f"{prefix}{k}",
            f"is not a known key (allowed: {', '.join(sorted(allowed))})",
        )


def _parse_student_id(raw: Any, file: Path, key: str) -> StudentId:
    if isinstance(raw, str):
        _require(raw in ID_KINDS, file, key, f"must be one of {', '.join(ID_KINDS)}")
        return StudentId(raw)
    _require(isinstance(raw, dict), file, key, "must be an id kind or {kind, pad_to}")
    _unknown_keys(raw, {"kind", "pad_to"}, file, f"{key}.")
    kind = raw.get("kind", "local")
    _require(kind in ID_KINDS, file, f"{key}.kind", f"must be one of {', '.join(ID_KINDS)}")
    pad = raw.get("pad_to")
    _require(
        pad is None or (isinstance(pad, int) and 1 <= pad <= 32),
        file,
        f"{key}.pad_to",
        "must be a whole number of digits between 1 and 32",
    )
    return StudentId(kind, pad)


def _parse_export(raw: dict, defaults: dict, file: Path, prefix: str, tabular: bool) -> Export:
    entity = raw.get("entity")
    _require(entity is not None, file, f"{prefix}entity", "is required")
    _require(
        entity in ENTITIES,
        file,
        f"{prefix}entity",
        f"names unknown entity '{entity}' (known: {', '.join(sorted(ENTITIES))})",
    )
    spec = ENTITIES[entity]
    columns: dict[str, ColumnMapping] = {}
    raw_columns = raw.get("columns") or {}
    _require(isinstance(raw_columns, dict), file, f"{prefix}columns", "must be a mapping")
    for canon, mapping in raw_columns.items():
        ckey = f"{prefix}columns.{canon}"
        _require(
            canon in spec.columns,
            file,
            ckey,
            f"is not a column of entity '{entity}'",
        )
        if isinstance(mapping, str):
            columns[canon] = ColumnMapping(mapping)
        else:
            _require(isinstance(mapping, dict), file, ckey, "must be a header or {header, format}")
            _unknown_keys(mapping, COLUMN_MAPPING_KEYS, file, f"{ckey}.")
            _require(
                isinstance(mapping.get("header"), str) and mapping["header"],
                file,
                f"{ckey}.header",
                "is required",
            )
            fmt = mapping.get("format")
            if fmt is not None:
                _require(
                    spec.columns[canon].type == "date",
                    file,
                    f"{ckey}.format",
                    f"only applies to date columns, and '{canon}' is not one",
                )
                _require(
                    isinstance(fmt, str) and (fmt == EXCEL_SERIAL or "%" in fmt),
                    file,
                    f"{ckey}.format",
                    f"'{fmt}' is not a date format: use strptime directives such as "
                    f'"%m/%d/%Y", or {EXCEL_SERIAL} for spreadsheet day numbers',
                )
            columns[canon] = ColumnMapping(mapping["header"], fmt)
    constants = raw.get("constants") or {}
    _require(isinstance(constants, dict), file, f"{prefix}constants", "must be a mapping")
    for canon in constants:
        _require(
            canon in spec.columns,
            file,
            f"{prefix}constants.{canon}",
            f"is not a column of entity '{entity}'",
        )
    codes = raw.get("codes") or {}
    _require(isinstance(codes, dict), file, f"{prefix}codes", "must be a mapping")
    norm_codes: dict[str, dict[str, str]] = {}
    for canon, table in codes.items():
        _require(
            canon in spec.columns,
            file,
            f"{prefix}codes.{canon}",
            f"is not a column of entity '{entity}'",
        )
        _require(isinstance(table, dict), file, f"{prefix}codes.{canon}", "must be a mapping")
        allowed = spec.columns[canon].codes
        for src_value, code in table.items():
            if allowed is not None and code is not None:
                _require(
                    str(code) in allowed or (spec.columns[canon].type == "boolean"),
                    file,
                    f"{prefix}codes.{canon}",
                    f"maps '{src_value}' to '{code}', which is not one of {', '.join(allowed)}",
                )
        norm_codes[canon] = {str(k): (None if v is None else v) for k, v in table.items()}
    unpivot = raw.get("unpivot")
    if unpivot is not None:
        _require(
            isinstance(unpivot, dict) and len(unpivot) == 1,
            file,
            f"{prefix}unpivot",
            "must map one canonical column to {header: code}",
        )
        ((target, flags),) = unpivot.items()
        _require(
            target in spec.columns,
            file,
            f"{prefix}unpivot.{target}",
            f"is not a column of entity '{entity}'",
        )
        _require(
            isinstance(flags, dict) and flags,
            file,
            f"{prefix}unpivot.{target}",
            "must map flag headers to codes",
        )
        allowed = spec.columns[target].codes
        for header, code in flags.items():
            _require(
                allowed is None or code in allowed,
                file,
                f"{prefix}unpivot.{target}.{header}",
                f"maps to '{code}', which is not one of {', '.join(allowed or ())}",
            )
        unpivot = {target: {str(h): str(c) for h, c in flags.items()}}
    mode = raw.get("mode", defaults["mode"])
    _require(mode in MODES, file, f"{prefix}mode", f"must be one of {', '.join(MODES)}")
    student_id = (
        _parse_student_id(raw["student_id"], file, f"{prefix}student_id")
        if "student_id" in raw
        else defaults["student_id"]
    )
    if tabular:
        provided = set(columns) | set(constants) | (set(unpivot) if unpivot else set())
        if entity == "student" and "race_ethnicity" in provided:
            provided |= {c for c in spec.columns if c.startswith("race_")}
        missing = [req for req in spec.required if req not in provided]
        if missing:
            also = [f"{prefix}columns.{m}" for m in missing[1:]]
            raise RegistryError(
                file,
                f"{prefix}columns.{missing[0]}",
                f"is missing: entity '{entity}' requires it (map a header or set a constant)"
                + (f"; also missing: {', '.join(also)}" if also else ""),
            )
    match = raw.get("match", "*")
    _require(isinstance(match, str) and match, file, f"{prefix}match", "must be a file glob")
    return Export(
        entity=entity,
        match=match,
        columns=columns,
        constants=dict(constants),
        codes=norm_codes,
        unpivot=unpivot,
        mode=mode,
        student_id=student_id,
    )


def _standard_exports(raw: dict, fmt: str, defaults: dict, file: Path) -> list[Export]:
    """One export per entity a OneRoster/Ed-Fi source publishes.

    Their columns come from the standard (wholechild/standards/), so the YAML only narrows
    the entities and overrides codes and constants per entity::

        entities: [school, student]                    # a list narrows, or
        entities:                                      # a mapping narrows and overrides
          student: {codes: {grade_level: {"13": "12"}}}
          section_enrollment: {constants: {is_advanced: false}}
    """
    known = STANDARD_ENTITIES[fmt]
    for key in ("entity", "columns", "unpivot", "exports", "codes", "constants"):
        _require(
            key not in raw,
            file,
            key,
            f"does not apply to format '{fmt}', which maps its own columns; set codes and "
            "constants per entity under `entities:` instead",
        )
    wanted = raw.get("entities", list(known))
    if isinstance(wanted, list):
        _require(bool(wanted), file, "entities", "must name at least one entity")
        wanted = {e: {} for e in wanted}
    _require(
        isinstance(wanted, dict) and bool(wanted),
        file,
        "entities",
        f"must list entities (or map each to its overrides) out of {', '.join(known)}",
    )
    exports = []
    for entity, overrides in wanted.items():
        prefix = f"entities.{entity}"
        _require(
            entity in known,
            file,
            prefix,
            f"is not an entity format '{fmt}' publishes (it publishes {', '.join(known)})",
        )
        overrides = overrides or {}
        _require(isinstance(overrides, dict), file, prefix, "must map to codes/constants")
        _unknown_keys(overrides, STANDARD_ENTITY_KEYS, file, f"{prefix}.")
        exports.append(
            _parse_export({"entity": entity, **overrides}, defaults, file, f"{prefix}.", False)
        )
    return exports


def parse_source(raw: Any, file: Path) -> Source:
    """Validate one YAML document; raises :class:`RegistryError` on the first problem."""
    file = Path(file)
    _require(isinstance(raw, dict), file, "(top)", "must be a mapping of source settings")
    _unknown_keys(raw, SOURCE_KEYS, file, "")
    name = raw.get("name")
    _require(
        isinstance(name, str) and bool(NAME_RE.match(name or "")),
        file,
        "name",
        "must match [a-z][a-z0-9_]* (it becomes the asset key raw/<name>/<entity>)",
    )
    fmt = raw.get("format")
    _require(fmt in FORMATS, file, "format", f"must be one of {', '.join(FORMATS)}")
    domains = raw.get("domains") or []
    from schemas import DOMAINS

    _require(
        isinstance(domains, list) and domains, file, "domains", "must list at least one domain"
    )
    for d in domains:
        _require(
            d in DOMAINS,
            file,
            "domains",
            f"names unknown domain '{d}' (known: {', '.join(DOMAINS)})",
        )
    steward = raw.get("steward")
    _require(
        isinstance(steward, str) and bool(STEWARD_RE.match(steward or "")),
        file,
        "steward",
        "must be an email address or team:<name>",
    )
    cadence = raw.get("cadence")
    _require(cadence in CADENCES, file, "cadence", f"must be one of {', '.join(CADENCES)}")
    landing = raw.get("landing", name)
    _require(
        isinstance(landing, str) and bool(NAME_RE.match(landing)),
        file,
        "landing",
        "must be a plain folder name matching [a-z][a-z0-9_]*",
    )
    student_id = _parse_student_id(raw.get("student_id", "local"), file, "student_id")
    mode = raw.get("mode", "incremental")
    _require(mode in MODES, file, "mode", f"must be one of {', '.join(MODES)}")
    options = raw.get("options") or {}
    _require(isinstance(options, dict), file, "options", "must be a mapping")
    _unknown_keys(options, OPTION_KEYS, file, "options.")
    if "encoding" in options:
        import codecs

        try:
            codecs.lookup(str(options["encoding"]))
        except LookupError:
            raise RegistryError(
                file, "options.encoding", f"names unknown encoding '{options['encoding']}'"
            ) from None
    if "delimiter" in options:
        delimiter = options["delimiter"]
        _require(
            isinstance(delimiter, str) and (len(delimiter) == 1 or delimiter in DELIMITER_NAMES),
            file,
            "options.delimiter",
            f"must be a single character or one of {', '.join(sorted(DELIMITER_NAMES))}",
        )
    quality = raw.get("quality") or {}
    _require(isinstance(quality, dict), file, "quality", "must be a mapping")
    _unknown_keys(quality, QUALITY_KEYS, file, "quality.")
    max_reject = quality.get("max_reject_rate", 0.02)
    _require(
        isinstance(max_reject, int | float) and 0 <= max_reject <= 1,
        file,
        "quality.max_reject_rate",
        "must be a share between 0 and 1",
    )
    roster = raw.get("roster", False)
    _require(isinstance(roster, bool), file, "roster", "must be true or false")

    defaults = {"mode": mode, "student_id": student_id}
    tabular = fmt in TABULAR_FORMATS
    single_keys = {"entity", "columns", "constants", "codes", "unpivot"} & set(raw)
    if not tabular:
        exports = _standard_exports(raw, fmt, defaults, file)
    elif "entities" in raw:
        raise RegistryError(
            file,
            "entities",
            f"only applies to the standard formats ({', '.join(STANDARD_ENTITIES)}); a "
            f"{fmt} source names its one `entity` (or lists `exports`)",
        )
    elif "exports" in raw:
        _require(
            not single_keys,
            file,
            "exports",
            f"cannot be combined with top-level {', '.join(sorted(single_keys))}",
        )
        raw_exports = raw["exports"]
        _require(
            isinstance(raw_exports, list) and raw_exports,
            file,
            "exports",
            "must list at least one export",
        )
        exports = []
        for i, raw_export in enumerate(raw_exports):
            prefix = f"exports[{i}]."
            _require(isinstance(raw_export, dict), file, f"exports[{i}]", "must be a mapping")
            _unknown_keys(raw_export, EXPORT_KEYS, file, prefix)
            _require(
                "match" in raw_export,
                file,
                f"{prefix}match",
                "is required when a source has several exports",
            )
            exports.append(_parse_export(raw_export, defaults, file, prefix, tabular))
    else:
        _require("entity" in raw, file, "entity", f"is required for format '{fmt}'")
        exports = [_parse_export({k: raw[k] for k in single_keys}, defaults, file, "", tabular)]
    return Source(
        name=name,
        system=str(raw.get("system") or name),
        format=fmt,
        domains=tuple(domains),
        steward=steward,
        cadence=cadence,
        landing=landing,
        student_id=student_id,
        mode=mode,
        exports=tuple(exports),
        options=dict(options),
        max_reject_rate=float(max_reject),
        roster=roster,
        path=file,
        description=str(raw.get("description") or ""),
    )


def load_source(file: Path) -> Source:
    file = Path(file)
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise RegistryError(file, "(yaml)", f"is not valid YAML{where}") from None
    except UnicodeDecodeError:
        raise RegistryError(file, "(yaml)", "is not UTF-8 text") from None
    return parse_source(raw, file)


def load_registry(folder: Path | None = None) -> Registry:
    """Load every ``*.yml``/``*.yaml`` of ``folder``; bad files become errors, not crashes."""
    from wholechild import config

    folder = Path(folder) if folder is not None else config.sources_dir()
    sources: dict[str, Source] = {}
    errors: list[RegistryError] = []
    landings: dict[str, str] = {}
    files = sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]) if folder.is_dir() else []
    for file in files:
        try:
            src = load_source(file)
            if src.name in sources:
                raise RegistryError(
                    file, "name", f"'{src.name}' is already used by {sources[src.name].path.name}"
                )
            if src.landing in landings:
                raise RegistryError(
                    file,
                    "landing",
                    f"'{src.landing}' is already watched by source '{landings[src.landing]}'",
                )
        except RegistryError as err:
            errors.append(err)
            continue
        sources[src.name] = src
        landings[src.landing] = src.name
    rosters = [s.name for s in sources.values() if s.roster]
    if len(rosters) > 1:
        for extra in rosters[1:]:
            src = sources.pop(extra)
            errors.append(
                RegistryError(
                    src.path,
                    "roster",
                    f"is true here and in source '{rosters[0]}'; only one source can be the roster",
                )
            )
    return Registry(sources=sources, errors=errors, folder=folder)
