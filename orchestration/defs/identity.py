"""The pseudonymous student keys as an asset: ``pii/student_keys``.

It reads the roster's published students and writes ``lake/pii/student_keys.parquet``
(owner-only), the one table dbt joins to turn a district id into a ``student_key``. It
writes Parquet, not the warehouse, so it needs no warehouse lock. The dbt build also
refreshes the keys before it runs (``wholechild.transform.before_build``), so a build
never joins keys older than the roster it reads.
"""

import dagster as dg

from orchestration import automation, runtime
from wholechild import identity
from wholechild.registry import Registry

KEYS = dg.AssetKey(["pii", "student_keys"])
GROUP = "identity"


def build_defs(registry: Registry) -> dg.Definitions:
    roster = registry.roster
    deps = (
        [dg.AssetKey(["raw", roster.name, "student"])]
        if roster and "student" in roster.entities
        else []
    )

    @dg.asset(
        key=KEYS,
        deps=deps,
        group_name=GROUP,
        kinds={"python", "parquet"},
        owners=[roster.steward] if roster else None,
        automation_condition=automation.DBT_MODELS(),
        description=(
            "Keyed hashes (HMAC-SHA-256 under WHOLECHILD_PSEUDONYM_KEY) of the roster's "
            "district ids: how students appear in marts. Direct identifiers stay in the "
            "`pii` schema; nothing downstream of the marts sees a district id."
        ),
        tags={"wholechild/sensitivity": "pii_direct"},
    )
    def student_keys() -> dg.MaterializeResult:
        paths, current = runtime.paths(), runtime.registry()
        identity.build_student_keys(current, paths)
        n = len(identity.district_ids(current, paths))
        # Counts only: ids and keys never go into Dagster metadata.
        return dg.MaterializeResult(
            metadata={"students": n, "roster_source": roster.name if roster else "none"}
        )

    return dg.Definitions(assets=[student_keys])
