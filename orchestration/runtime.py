"""What a run reads at run time: the state folders and the registry, from the environment.

Definitions capture the registry once, when the code location loads; a run re-reads both
here (``WHOLECHILD_HOME``, ``WHOLECHILD_SOURCES``), so the sensors, the assets and
``wholechild run`` always act on the same folders.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from wholechild import config
from wholechild.config import Paths
from wholechild.registry import Registry, load_registry

#: The instance config template (a concurrency pool ``warehouse`` limited to 1).
DAGSTER_YAML_TEMPLATE = Path(__file__).with_name("dagster.yaml")


def paths() -> Paths:
    return config.paths().ensure()


def registry() -> Registry:
    return load_registry()


def ensure_dagster_home(state: Paths | None = None) -> Path:
    """``$WHOLECHILD_HOME/dagster`` with our ``dagster.yaml``, copied there if missing.

    Point ``DAGSTER_HOME`` at the returned folder before ``dagster dev`` starts: the
    instance reads its concurrency pools (``warehouse``: one slot, so one process writes
    warehouse.duckdb) when it starts. An existing ``dagster.yaml`` is left as the operator
    edited it.
    """
    state = state or config.paths()
    home = state.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists():
        shutil.copyfile(DAGSTER_YAML_TEMPLATE, target)
    return home


if __name__ == "__main__":  # `DAGSTER_HOME=$(python -m orchestration.runtime) dagster dev`
    print(ensure_dagster_home())
