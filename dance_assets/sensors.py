"""new_videos_sensor: new, changed or removed videos under raw/ re-run their class."""

import json
import os

import dagster as dg

from dance_assets.core.ingest.watch import changed_classes, recorded_snapshot, snapshot
from dance_assets.core.lake import tables
from dance_assets.core.lake.errors import DanceAssetsError
from dance_assets.partitions import class_sync, dance_class_partitions
from dance_assets.resources import LakeResource

INTERVAL_VAR = "DANCE_NEW_VIDEOS_INTERVAL_S"


def interval_s() -> int:
    """How often the sensor looks at raw/: $DANCE_NEW_VIDEOS_INTERVAL_S, else every 30 s
    (read when the code location loads)."""
    value = os.environ.get(INTERVAL_VAR, "30")
    if not value.isdigit() or int(value) < 1:
        raise DanceAssetsError(f"{INTERVAL_VAR} must be a whole number of seconds, at least 1, "
                               f"got {value!r}")
    return int(value)


def _cursor(raw: str | None, lake: LakeResource) -> dict:
    """The previous tick's state; on the first tick, what the lake already ingested."""
    if raw:
        return json.loads(raw)
    return {"classes": recorded_snapshot(tables.read_table(lake.lake(), "videos")),
            "missing": []}


@dg.sensor(
    job_name="ingest",
    minimum_interval_seconds=interval_s(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Watches raw/: a new class folder adds a dance_classes partition; new, "
    "changed or removed files re-run raw_videos and video_frames for exactly their class. "
    "Its first tick compares with what the lake already ingested.",
)
def new_videos_sensor(context: dg.SensorEvaluationContext, lake: LakeResource) -> dg.SensorResult:
    state = _cursor(context.cursor, lake)
    current = snapshot(lake.lake().raw)
    sync = class_sync(current, set(context.instance.get_dynamic_partitions(
        dance_class_partitions.name)))
    for name, reason in sync.invalid.items():
        context.log.warning(f"ignoring class folder {name!r}: {reason}")
    for name in sorted(set(sync.missing) - set(state["missing"])):
        context.log.warning(f"raw/{name}/ has disappeared; the dance_classes partition and its "
                            "rows are kept until you delete the partition")
    requests = [
        dg.RunRequest(partition_key=name, run_key=f"{name}:{current[name]}",
                      tags={"dance_assets/trigger": "new_videos_sensor"})
        for name in changed_classes(state["classes"], current) if name not in sync.invalid
    ]
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=(
            [dance_class_partitions.build_add_request(sync.added)] if sync.added else []),
        cursor=json.dumps({"classes": current, "missing": sync.missing}),
    )
