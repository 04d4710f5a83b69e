"""One landing sensor per source: a complete, new delivery becomes one keyed run.

The run key is ``<source>:<sha256>``: Dagster launches a key once, so identical bytes load
once and a corrected file (new bytes) is new. The cursor records what was seen (see
``landing_scan``); when nothing is requested the tick says why.
"""

import dagster as dg

from orchestration import runtime
from wholechild import lake
from wholechild.registry import Source

from .assets import DeliveryConfig, op_name, raw_asset_key
from .landing_scan import decode_cursor, encode_cursor, scan_landing

MINIMUM_INTERVAL_SECONDS = 30


def sensor_name(source: Source | str) -> str:
    return f"{getattr(source, 'name', source)}_landing_sensor"


def run_key(source: str, sha256: str) -> str:
    return f"{source}:{sha256}"


def build_landing_sensor(source: Source) -> dg.SensorDefinition:
    keys = [raw_asset_key(source.name, e) for e in source.entities]

    @dg.sensor(
        name=sensor_name(source),
        target=dg.AssetSelection.assets(*keys),
        minimum_interval_seconds=MINIMUM_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            f"Watches landing/{source.landing}/ and requests one run per complete, new "
            f"{source.system} delivery (run key: {source.name}:<sha256>)."
        ),
    )
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        paths = runtime.paths()
        folder = paths.landing_for(source.landing)

        def loaded_shas():
            return lake.read_ledger(paths, source.name)["sha256"].dropna().tolist()

        def runs_for(sha: str) -> list:
            return context.instance.get_runs(
                filters=dg.RunsFilter(
                    tags={"wholechild/source": source.name, "wholechild/sha256": sha}
                )
            )

        def run_ended(sha: str) -> bool:
            runs = runs_for(sha)
            return bool(runs) and all(r.is_finished for r in runs)

        scan = scan_landing(folder, decode_cursor(context.cursor), loaded_shas, run_ended=run_ended)
        cursor = encode_cursor(scan.cursor)
        if not scan.requests:
            return dg.SensorResult(
                skip_reason=dg.SkipReason(scan.skip_reason(f"landing/{source.landing}/")),
                cursor=cursor,
            )
        requests = [
            dg.RunRequest(
                # A retry needs a fresh key: Dagster launches each run key once.
                run_key=(
                    f"{run_key(source.name, d.sha256)}:retry-{len(runs_for(d.sha256))}"
                    if d.retry
                    else run_key(source.name, d.sha256)
                ),
                run_config=dg.RunConfig(
                    ops={op_name(source): DeliveryConfig(delivery=d.name, sha256=d.sha256)}
                ),
                tags={
                    "wholechild/source": source.name,
                    "wholechild/delivery": d.name,
                    "wholechild/sha256": d.sha256,
                },
            )
            for d in scan.requests
        ]
        return dg.SensorResult(run_requests=requests, cursor=cursor)

    return _sensor
