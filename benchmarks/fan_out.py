"""What splitting a class's extraction over steps costs, in one run of the real ingest job.

The same class of videos is ingested by the code location's `ingest` job with Dagster's
multiprocess executor (each step a process of its own, as each step is a pod on
Kubernetes), three times on a fresh lake: `videos_per_step` 0 (the class in one step, the
one-machine default), then 2, then 1. For each it records the run's wall time and, per
step, the time from Dagster starting the step's process to the step's own start (the
fixed cost every extra step adds before it does any work; on Kubernetes a pod's
scheduling and image start come on top, and are not measured here) and the step's work.

    python benchmarks/fan_out.py [--videos 8 --seconds 10 --size 360x640]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from dance_assets.core.ingest.video import find_ffmpeg
from dance_assets.core.synthetic.dances import DANCE_CLASSES
from dance_assets.core.synthetic.plans import plan_videos
from dance_assets.core.synthetic.writing import generate

HERE = Path(__file__).resolve().parent


def ingest_job() -> dg.JobDefinition:
    """The code location's ingest job, rebuilt in each step's process."""
    from dance_assets.definitions import defs

    return defs.resolve_job_def("ingest")


def one_run(instance: dg.DagsterInstance, lake: Path, dance: str, per_step: int) -> dict:
    shutil.rmtree(lake / "frames", ignore_errors=True)
    shutil.rmtree(lake / "tables", ignore_errors=True)
    started = time.perf_counter()
    with dg.execute_job(dg.reconstructable(ingest_job), instance,
                        tags={"dagster/partition": dance},
                        run_config={"resources": {"ffmpeg": {"config": {
                            "videos_per_step": per_step}}}}) as result:
        assert result.success, per_step
        wall = time.perf_counter() - started
        launched: dict[str, float] = {}
        began: dict[str, float] = {}
        startup, working = {}, {}
        for record in instance.all_logs(result.run_id):
            event, step = record.dagster_event, record.step_key
            if event is None or step is None:
                continue
            if event.event_type_value == "STEP_WORKER_STARTING":
                launched[step] = record.timestamp
            elif event.is_step_start and step in launched:
                began[step] = record.timestamp
                startup[step] = round(record.timestamp - launched[step], 2)
            elif event.is_step_success:
                working[step] = round(record.timestamp - began[step], 2)
    return {"videos_per_step": per_step, "steps": len(startup), "wall_s": round(wall, 2),
            "step_start_s": dict(sorted(startup.items())),
            "step_work_s": dict(sorted(working.items()))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--size", default="360x640")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "fan_out.json")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    dance = DANCE_CLASSES[0]
    work = Path(tempfile.mkdtemp(prefix="fan-out-bench-"))
    lake = work / "lake"
    generate(lake / "raw", plan_videos([dance], args.videos, args.seconds, (width, height),
                                       seed=1), find_ffmpeg())
    os.environ["DANCE_LAKE"] = str(lake)  # the step processes' lake
    try:
        with dg.instance_for_test() as instance:
            instance.add_dynamic_partitions("dance_classes", [dance])
            runs = [one_run(instance, lake, dance, per_step) for per_step in (0, 2, 1)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    starts = [s for run in runs for s in run["step_start_s"].values()]
    result = {
        "benchmark": "extraction fan-out over steps (multiprocess executor)",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "videos": args.videos, "seconds_each": args.seconds, "size": args.size,
        "runs": runs,
        "step_start_median_s": round(statistics.median(starts), 2),
        "ratios": {"wall_one_video_a_step_vs_one_step": round(
            runs[2]["wall_s"] / runs[0]["wall_s"], 2)},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
