"""Run pipeline work in a separate process, so a test can kill it or run many at once.

    python -m dance_assets_tests.worker ingest LAKE CLASS [POSE_MAX_PEOPLE]
    python -m dance_assets_tests.worker manifest LAKE
    python -m dance_assets_tests.worker runs_at_once REQUESTS OUT  # $DAGSTER_HOME, $DANCE_LAKE
"""

from __future__ import annotations

import sys

import dagster as dg


def ingest(lake_root: str, dance_class: str, pose_max_people: str = "3") -> None:
    from dance_assets.assets.ingest import raw_videos, video_frames
    from dance_assets.lake_tables import LAKE_TABLES, lake_tables_io_manager
    from dance_assets.partitions import dance_class_partitions
    from dance_assets.resources import FfmpegResource, LakeResource

    config = {"ops": {"video_frames": {"config": {"pose_max_people": int(pose_max_people)}}}}
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(dance_class_partitions.name, [dance_class])
        dg.materialize([raw_videos, video_frames], partition_key=dance_class, instance=instance,
                       resources={"lake": LakeResource(root=lake_root),
                                  LAKE_TABLES: lake_tables_io_manager,
                                  "ffmpeg": FfmpegResource(workers=1)}, run_config=config)


def manifest(lake_root: str) -> None:
    """The manifest's computation, and its write as the lake_tables IO manager stores
    frame_manifest's output."""
    import pandas as pd

    from dance_assets.assets.curation import frame_manifest
    from dance_assets.core.curation.cleaning import CleaningThresholds, with_poses
    from dance_assets.core.curation.manifest import ManifestSettings, build_manifest
    from dance_assets.core.lake import tables
    from dance_assets.core.lake.lake import Lake
    from dance_assets.lake_tables import LakeTableIOManager

    lake = Lake.resolve(lake_root)
    frames = with_poses(tables.read_table(lake, "frames"), tables.read_table(lake, "poses"))
    no_decisions = pd.DataFrame(columns=["frame_id", "decision", "note"])
    built = build_manifest(frames, no_decisions, ManifestSettings(CleaningThresholds()))
    stored = dg.build_output_context(asset_key=frame_manifest.key,
                                     definition_metadata=frame_manifest.specs_by_key[
                                         frame_manifest.key].metadata)
    LakeTableIOManager(lake).handle_output(stored, built)


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


def one_run(name: str, partition: str, assets: list[list[str]] | None,
            run_config: dict) -> dict:
    """One run of the named job, as a run worker runs it: the code location's multiprocess
    executor, the instance in $DAGSTER_HOME. What became of it: its id, success, and its
    step and run failures and the engine's errors."""
    import json

    with dg.DagsterInstance.get() as instance:
        selection = [dg.AssetKey(a) for a in assets] if assets else None
        with dg.execute_job(job(name), instance, tags={"dagster/partition": partition},
                            asset_selection=selection, run_config=run_config) as result:
            failures = [f"{e.event_type_value} {e.step_key or ''}: {e.message}"
                        for e in result.all_events
                        if e.is_step_failure or e.is_run_failure
                        or (e.is_engine_event and ("error" in (e.message or "").lower()
                                                   or "pool" in (e.message or "").lower()))]
            return {"run_id": result.run_id, "success": result.success,
                    "request": json.dumps([name, partition, assets, run_config]),
                    "failures": failures}


def runs_at_once(requests: str, out_dir: str) -> None:
    """Each request's run (one_run's arguments, a JSON list of them) in a process of its
    own, all started at once; each writes what became of it to OUT_DIR/<index>.json, and
    this exits 1 unless every process did.

    The processes are forks of this one, made after it imported Dagster and the code
    location once: a fresh interpreter for each run would spend 2-3 s of CPU on that
    before its run began (ten at once: half a minute of 2 cores). Nothing opens the
    instance before the forks; each run opens its own, and its executor starts its own
    step server as it would in a run worker."""
    import json
    import os
    import traceback
    from pathlib import Path

    import dance_assets.definitions  # noqa: F401  (once, before the forks)

    # By module name, not __main__'s: the jobs' reconstructable pointers name this module.
    from dance_assets_tests import worker

    children = []
    for index, request in enumerate(json.loads(requests)):
        pid = os.fork()
        if pid == 0:  # the run's process
            code = 1
            try:
                outcome = worker.one_run(*request)
                Path(out_dir, f"{index}.json").write_text(json.dumps(outcome))
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        children.append(pid)
    codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
    sys.exit(0 if codes == [0] * len(codes) else 1)


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    {"ingest": ingest, "manifest": manifest, "runs_at_once": runs_at_once}[command](*arguments)
