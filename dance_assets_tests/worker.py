"""Run pipeline work in a separate process, so a test can kill it or run many at once.

    python -m dance_assets_tests.worker ingest LAKE CLASS [POSE_MAX_PEOPLE]
    python -m dance_assets_tests.worker manifest LAKE
    python -m dance_assets_tests.worker ingest_run CLASS   # $DAGSTER_HOME, $DANCE_LAKE
"""

from __future__ import annotations

import sys

import dagster as dg


def ingest(lake_root: str, dance_class: str, pose_max_people: str = "3") -> None:
    from dance_assets.assets.ingest import raw_videos, video_frames
    from dance_assets.partitions import dance_class_partitions
    from dance_assets.resources import FfmpegResource, LakeResource

    config = {"ops": {"video_frames": {"config": {"pose_max_people": int(pose_max_people)}}}}
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(dance_class_partitions.name, [dance_class])
        dg.materialize([raw_videos, video_frames], partition_key=dance_class, instance=instance,
                       resources={"lake": LakeResource(root=lake_root),
                                  "ffmpeg": FfmpegResource(workers=1)}, run_config=config)


def manifest(lake_root: str) -> None:
    """The manifest's computation and its write, as frame_manifest runs them."""
    import pandas as pd

    from dance_assets.core.curation.cleaning import CleaningThresholds, with_poses
    from dance_assets.core.curation.manifest import ManifestSettings, build_manifest
    from dance_assets.core.lake import tables
    from dance_assets.core.lake.lake import Lake

    lake = Lake.resolve(lake_root)
    frames = with_poses(tables.read_table(lake, "frames"), tables.read_table(lake, "poses"))
    no_decisions = pd.DataFrame(columns=["frame_id", "decision", "note"])
    built = build_manifest(frames, no_decisions, ManifestSettings(CleaningThresholds()))
    tables.write_table(lake, "frame_manifest", built)


# The code location's jobs, for dg.reconstructable (the multiprocess executor rebuilds the
# job in each step's process from a module-level function that returns it).
def ingest_job() -> dg.JobDefinition:
    from dance_assets.definitions import defs

    return defs.resolve_job_def("ingest")


def curation_job() -> dg.JobDefinition:
    from dance_assets.definitions import defs

    return defs.resolve_job_def("curation")


def training_job() -> dg.JobDefinition:
    from dance_assets.definitions import defs

    return defs.resolve_job_def("training")


def _where_am_i(context) -> None:  # type: ignore[no-untyped-def]  (an op context)
    """Records, under $DANCE_TEST_OUT, the environment's $DANCE_TEST_MARK and this step's
    process and its parent."""
    import json
    import os
    from pathlib import Path

    seen = {"mark": os.environ["DANCE_TEST_MARK"], "pid": os.getpid(), "ppid": os.getppid()}
    Path(os.environ["DANCE_TEST_OUT"], f"{context.op.name}.json").write_text(json.dumps(seen))


def where_steps_run_job() -> dg.JobDefinition:
    """Two independent steps under the code location's executor, each saying where it ran."""
    from dance_assets.definitions import defs

    first, second = (dg.op(name=name)(_where_am_i) for name in ("first", "second"))

    @dg.job(executor_def=defs.executor)
    def where_steps_run() -> None:
        first()
        second()

    return where_steps_run


def job(name: str):  # type: ignore[no-untyped-def]  (a ReconstructableJob)
    """The named job of the code location, as a run worker's multiprocess executor runs it."""
    jobs = {"ingest": ingest_job, "curation": curation_job, "training": training_job,
            "where_steps_run": where_steps_run_job}
    return dg.reconstructable(jobs[name])


def ingest_run(dance_class: str) -> None:
    """One run of the ingest job, as a run worker would launch it: own process, the
    code location's multiprocess executor, the instance in $DAGSTER_HOME."""
    with dg.DagsterInstance.get() as instance:
        result = dg.execute_job(job("ingest"), instance=instance,
                                tags={"dagster/partition": dance_class})
    sys.exit(0 if result.success else 1)


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    {"ingest": ingest, "manifest": manifest, "ingest_run": ingest_run}[command](*arguments)
