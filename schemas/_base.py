"""The machinery shared by every canonical contract.

A contract is a Pandera ``DataFrameModel`` (types, nullability, code sets, ranges,
row rules, one description per column) registered with :func:`entity`, which adds what
Pandera has no slot for: the entity's key, its whole-child domain, and per-column
hints the ingest needs (identifier columns, event dates, sensitivity class).

Everything else in the platform (the reader's casts, the quarantine, the Dagster checks,
``wholechild validate``, the generated dbt registry, the catalog) reads the
:class:`EntitySpec` derived here, so each fact about an entity is written exactly once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd
import pandera.pandas as pa
from pandera.engines import pandas_engine

#: The eleven whole-child domains, in the order the UI and reports show them.
DOMAINS: tuple[str, ...] = (
    "enrollment",
    "demographics",
    "attendance",
    "assessment",
    "coursework",
    "behavior",
    "programs",
    "wellbeing",
    "engagement",
    "health",
    "staffing",
)

#: Sensitivity classes of the data catalog (issue 5); every column carries one.
SENSITIVITY = ("pii_direct", "pii_indirect", "sensitive", "public")

#: Logical column types. They are the ones Spark and DuckDB share, so staging SQL and
#: the Parquet lake stay portable (STYLE.md, "For Spark later").
LOGICAL_TYPES = ("string", "date", "boolean", "bigint", "double")

#: Dates before this are placeholders (1900-01-01, 0001-01-01) rather than real events.
EARLIEST_PLAUSIBLE_DATE = pd.Timestamp("1950-01-01")
LATEST_PLAUSIBLE_DATE = pd.Timestamp("2100-12-31")


def _logical_type(dtype: object) -> str:
    if isinstance(dtype, pandas_engine.DateTime):
        return "date"
    if isinstance(dtype, pandas_engine.BOOL):
        return "boolean"
    if isinstance(dtype, pandas_engine.INT64):
        return "bigint"
    if isinstance(dtype, pandas_engine.FLOAT64):
        return "double"
    if isinstance(dtype, pandas_engine.STRING):
        return "string"
    raise TypeError(f"contract column dtype {dtype!r} is not one of {LOGICAL_TYPES}")


@dataclass(frozen=True)
class ColumnSpec:
    """One canonical column, as the ingest and the catalog need it."""

    name: str
    type: str  # one of LOGICAL_TYPES
    required: bool
    description: str
    codes: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    #: identifiers are text: leading zeros kept, ``1.2E+07`` rejected
    is_id: bool = False
    #: an event date may not fall after the delivery date
    is_event_date: bool = False
    sensitivity: str = "public"


@dataclass(frozen=True)
class EntitySpec:
    """A canonical entity: its contract and the facts Pandera has no slot for."""

    name: str
    domain: str
    description: str
    key: tuple[str, ...]
    model: type[pa.DataFrameModel]
    columns: dict[str, ColumnSpec] = field(default_factory=dict)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns.values() if c.required)

    @property
    def schema(self) -> pa.DataFrameSchema:
        return self.model.to_schema()

    def empty_frame(self) -> pd.DataFrame:
        """A zero-row frame with the contract's dtypes (for deliveries that publish nothing)."""
        return pd.DataFrame(
            {name: pd.Series([], dtype=PANDAS_DTYPES[c.type]) for name, c in self.columns.items()}
        )


#: The pandas dtype each logical type is cast to before validation.
PANDAS_DTYPES = {
    "string": "string",
    "date": "datetime64[ns]",
    "boolean": "boolean",
    "bigint": "Int64",
    "double": "Float64",
}

ENTITIES: dict[str, EntitySpec] = {}


def entity(*, name: str, domain: str, key: tuple[str, ...], description: str):
    """Register a contract model as the canonical entity ``name``.

    Column hints go in ``Field(metadata=...)``: ``{"id": True}`` for identifiers,
    ``{"event_date": True}`` for dates that cannot be in the future of a delivery,
    ``{"sensitivity": "pii_direct"}`` (default ``public``).
    """
    if domain not in DOMAINS:
        raise ValueError(f"entity {name}: unknown domain {domain!r}")

    def register(model: type[pa.DataFrameModel]) -> type[pa.DataFrameModel]:
        schema = model.to_schema()
        columns: dict[str, ColumnSpec] = {}
        for col_name, col in schema.columns.items():
            meta = col.metadata or {}
            codes = minimum = maximum = None
            for check in col.checks:
                stats = check.statistics or {}
                if "allowed_values" in stats:
                    codes = tuple(stats["allowed_values"])
                if "min_value" in stats:
                    minimum = stats["min_value"]
                if "max_value" in stats:
                    maximum = stats["max_value"]
            if not col.description:
                raise ValueError(f"entity {name}: column {col_name} has no description")
            sensitivity = meta.get("sensitivity", "public")
            if sensitivity not in SENSITIVITY:
                raise ValueError(f"entity {name}: column {col_name} sensitivity {sensitivity!r}")
            columns[col_name] = ColumnSpec(
                name=col_name,
                type=_logical_type(col.dtype),
                required=not col.nullable,
                description=col.description,
                codes=codes,
                minimum=minimum,
                maximum=maximum,
                is_id=bool(meta.get("id")),
                is_event_date=bool(meta.get("event_date")),
                sensitivity=sensitivity,
            )
        missing = [k for k in key if k not in columns]
        if missing:
            raise ValueError(f"entity {name}: key columns {missing} are not contract columns")
        if name in ENTITIES:
            raise ValueError(f"entity {name} registered twice")
        ENTITIES[name] = EntitySpec(
            name=name,
            domain=domain,
            description=description,
            key=key,
            model=model,
            columns=columns,
        )
        return model

    return register


def plausible_dates(df: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Row rule: every listed date is NULL or inside the plausible range."""
    ok = pd.Series(True, index=df.index)
    for c in columns:
        s = df[c]
        ok &= s.isna() | ((s >= EARLIEST_PLAUSIBLE_DATE) & (s <= LATEST_PLAUSIBLE_DATE))
    return ok


def not_before(df: pd.DataFrame, later: str, earlier: str) -> pd.Series:
    """Row rule: ``later >= earlier`` wherever both are present."""
    return df[later].isna() | df[earlier].isna() | (df[later] >= df[earlier])


def today() -> dt.date:
    return dt.date.today()
