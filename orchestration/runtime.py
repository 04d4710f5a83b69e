"""What a run reads at run time: the state folders and the registry, from the environment.

Definitions capture the registry once, when the code location loads; a run re-reads both
here (``WHOLECHILD_HOME``, ``WHOLECHILD_SOURCES``), so the sensors, the assets and
``wholechild run`` always act on the same folders.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from wholechild import config
from wholechild.config import Paths
from wholechild.registry import Registry, load_registry

#: The instance config template (a concurrency pool ``warehouse`` limited to 1).
DAGSTER_YAML_TEMPLATE = Path(__file__).with_name("dagster.yaml")
#: The same settings with Postgres run/event/schedule storage (``DAGSTER_PG_*`` variables).
DAGSTER_POSTGRES_YAML_TEMPLATE = Path(__file__).with_name("dagster.postgres.yaml")

#: ``WHOLECHILD_DAGSTER_STORAGE`` -> the instance template it selects (default: sqlite).
STORAGE_ENV = "WHOLECHILD_DAGSTER_STORAGE"
DAGSTER_YAML_TEMPLATES = {
    "sqlite": DAGSTER_YAML_TEMPLATE,
    "postgres": DAGSTER_POSTGRES_YAML_TEMPLATE,
}


def paths() -> Paths:
    """The home and lake, reachable; on Spark, a lake Spark can read (else one sentence,
    before a run touches a delivery)."""
    from wholechild import spark_engine

    state = config.paths().ensure()
    if spark_engine.engine() == "spark":
        spark_engine.check_lake(state)
    return state


def registry() -> Registry:
    return load_registry()


def dagster_yaml_template() -> Path:
    """The template ``WHOLECHILD_DAGSTER_STORAGE`` selects: ``sqlite`` (default) or ``postgres``."""
    storage = os.environ.get(STORAGE_ENV, "").strip().lower() or "sqlite"
    try:
        return DAGSTER_YAML_TEMPLATES[storage]
    except KeyError:
        raise ValueError(
            f"{STORAGE_ENV}={storage!r} is not a Dagster storage wholechild knows; "
            f"use one of: {', '.join(DAGSTER_YAML_TEMPLATES)}."
        ) from None


def ensure_dagster_home(state: Paths | None = None) -> Path:
    """``$WHOLECHILD_HOME/dagster`` with our ``dagster.yaml``, copied there if missing.

    Point ``DAGSTER_HOME`` at the returned folder before ``dagster dev`` starts: the
    instance reads its concurrency pools (``warehouse``: one slot, so one process writes
    warehouse.duckdb) when it starts. The template is ``dagster.yaml`` (SQLite files in
    that folder) or, with ``WHOLECHILD_DAGSTER_STORAGE=postgres``, ``dagster.postgres.yaml``
    (Postgres storage from the ``DAGSTER_PG_*`` variables). An unedited copy of the other
    template is replaced, so switching the variable switches the storage; a ``dagster.yaml``
    the operator edited is left as it is.
    """
    state = state or config.paths()
    home = state.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    template = dagster_yaml_template()
    if not target.exists() or _is_other_unedited_template(target, template):
        shutil.copyfile(template, target)
    return home


def _is_other_unedited_template(target: Path, template: Path) -> bool:
    current = target.read_bytes()
    return current != template.read_bytes() and any(
        current == t.read_bytes() for t in DAGSTER_YAML_TEMPLATES.values()
    )


if __name__ == "__main__":  # `DAGSTER_HOME=$(python -m orchestration.runtime) dagster dev`
    print(ensure_dagster_home())
