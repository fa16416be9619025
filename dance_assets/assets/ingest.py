"""Ingest: raw videos of one dance class to probed rows, then to per-second frames."""


import warnings
import zlib
from collections.abc import Iterator

import dagster as dg
import pandas as pd
from pydantic import Field

from dance_assets import checks
from dance_assets.assets.failures import user_errors_fail_the_step
from dance_assets.assets.launchpad import LaunchpadConfig
from dance_assets.core.ingest.frames import (
    BatchOutcome,
    ClassPlan,
    FrameBatch,
    PreviousClass,
    combine,
    plan_class,
    remove_stale_frames,
    run_batch,
)
from dance_assets.core.ingest.ingest import scan_class
from dance_assets.core.ingest.pose import PoseSettings
from dance_assets.core.ingest.skeletons import skeleton_sheet
from dance_assets.core.ingest.video import ExtractionParams
from dance_assets.core.lake import tables
from dance_assets.core.lake.lake import Lake, remove_dir
from dance_assets.core.lake.reports import markdown_image, markdown_table, png_bytes, save_png
from dance_assets.core.lake.warehouse import publish_tables
from dance_assets.lake_tables import LAKE_TABLES, stores_tables
from dance_assets.partitions import dance_class_partitions
from dance_assets.resources import FfmpegResource, LakeResource, step_outputs_io_manager


@dg.asset(
    partitions_def=dance_class_partitions,
    group_name="ingest",
    kinds={"ffmpeg", "parquet"},
    io_manager_key=LAKE_TABLES,
    dagster_type=pd.DataFrame,
    metadata=stores_tables("videos"),
    check_specs=checks.RAW_VIDEOS_CHECKS,
    description="Every file under raw/<dance class>/ probed: duration, fps, size, rotation, "
    "codec, sha256, participant, and status ok / rejected / duplicate with a reason.",
)
def raw_videos(
    context: dg.AssetExecutionContext, lake: LakeResource, ffmpeg: FfmpegResource
) -> dg.MaterializeResult:
    the_lake = lake.lake()
    dance_class = context.partition_key
    # What was probed before (this class's rows, and every class's for duplicates): a
    # video whose file is unchanged is not probed again.
    previous = tables.read_table(the_lake, "videos", dance_class=dance_class)

    def progress(done: int, total: int, _path: str) -> None:
        if done == total or done % 25 == 0:
            context.log.info(f"probed {done}/{total} files of {dance_class}")

    videos = scan_class(the_lake, dance_class, ffmpeg.settings(), ffmpeg.limits(), previous,
                        tables.read_table(the_lake, "videos"), ffmpeg.parallelism(), progress)
    if videos.empty and not (the_lake.raw / dance_class).is_dir():
        context.log.warning(f"raw/{dance_class}/ is gone: the class now has no videos")
    counts = videos["status"].value_counts().to_dict()
    not_ok = videos[videos["status"] != "ok"][["path", "status", "reason"]]
    for row in not_ok.itertuples():
        context.log.warning(f"{row.status}: {row.path}: {row.reason}")
    return dg.MaterializeResult(
        value=videos,
        metadata={
            "dagster/row_count": len(videos),
            "ok": counts.get("ok", 0),
            "rejected": counts.get("rejected", 0),
            "duplicate": counts.get("duplicate", 0),
            "participants": videos.loc[videos["status"] == "ok", "participant"].nunique(),
            "total_duration_s": float(videos.loc[videos["status"] == "ok", "duration_s"].sum()),
            "not_usable": dg.MetadataValue.md(markdown_table(not_ok)),
        },
        check_results=[checks.videos_readable(videos)],
    )


_EXTRACTION = ExtractionParams()


class FrameExtractionConfig(LaunchpadConfig):
    """How frames are sampled; changing any of these re-extracts the affected videos."""

    interval_s: int = Field(default=_EXTRACTION.interval_s, ge=1,
                            description="Seconds between sampled frames.")
    short_side: int = Field(default=_EXTRACTION.short_side, ge=16, description="Frames are "
                            "scaled down so their short side is at most this many pixels.")
    jpeg_quality: int = Field(default=_EXTRACTION.jpeg_quality, ge=2, le=31,
                              description="ffmpeg JPEG q:v (2 best).")
    skip_nonref_frames: bool = Field(
        default=_EXTRACTION.skip_nonref,
        description="Let the decoder skip frames no other frame depends on: much faster, "
        "and a sampled frame is at most a few frames away from the exact second.",
    )

    pose_min_confidence: float = Field(
        default=PoseSettings.min_detection_confidence, gt=0, lt=1,
        description="MediaPipe's person-detection confidence needed to pose a frame. "
        "Changing a pose setting poses the frames again without extracting them again.")
    pose_max_people: int = Field(
        default=PoseSettings.max_people, ge=1, le=10,
        description="People counted per frame (each one beyond the first costs a pass "
        "of the model); the dancer is the most central, largest of them.")
    pose_zoom_when_missed: bool = Field(
        default=PoseSettings.zoom_when_missed,
        description="When nobody is found in the whole frame, look again in overlapping "
        "windows: finds small or far dancers and tiled 'clone' filters.")

    def params(self) -> ExtractionParams:
        return ExtractionParams(self.interval_s, self.short_side, self.jpeg_quality,
                                self.skip_nonref_frames)

    def pose_settings(self) -> PoseSettings:
        return PoseSettings(min_detection_confidence=self.pose_min_confidence,
                            max_people=self.pose_max_people,
                            zoom_when_missed=self.pose_zoom_when_missed)


# The values video_frames' steps pass each other go through the lake (see resources.py).
_STEP_OUTPUTS = "step_outputs_io_manager"
_CHECK_OUTPUT = checks.VIDEO_FRAMES_CHECKS[0].get_python_identifier()


@dg.config_mapping
def _same_settings_for_every_step(config: FrameExtractionConfig) -> dict:
    """The Launchpad shows video_frames' settings once; the steps that use them get them all."""
    settings = {"config": config.model_dump()}
    return {"plan_frames": settings, "extract_frames": settings}


def _previous(the_lake: Lake, dance_class: str) -> PreviousClass:
    return PreviousClass(tables.read_table(the_lake, "frames", dance_class=dance_class),
                         tables.read_table(the_lake, "extractions", dance_class=dance_class),
                         tables.read_table(the_lake, "poses", dance_class=dance_class))


@dg.op(ins={"probed": dg.In(dg.Nothing)},
       out={"batches": dg.DynamicOut(FrameBatch, io_manager_key=_STEP_OUTPUTS),
            "plan": dg.Out(ClassPlan, io_manager_key=_STEP_OUTPUTS)})
def plan_frames(context: dg.OpExecutionContext, config: FrameExtractionConfig,
                lake: LakeResource, ffmpeg: FfmpegResource,
                ) -> Iterator[dg.DynamicOutput | dg.Output]:
    """What the class needs, cut into batches of `videos_per_step` videos, one step each."""
    the_lake = lake.lake()
    dance_class = context.partition_key
    previous = _previous(the_lake, dance_class)
    with user_errors_fail_the_step():
        plan = plan_class(the_lake, dance_class,
                          tables.read_table(the_lake, "videos", dance_class=dance_class),
                          previous, config.params(), config.pose_settings(),
                          reserve_bytes=lake.reserve_bytes())
    batches = plan.batches(previous.frames, ffmpeg.videos_per_step)
    context.log.info(f"{dance_class}: {len(plan.todo)} videos to extract, "
                     f"{len(plan.reposed)} to pose again, {len(plan.reused)} unchanged; "
                     f"{len(batches)} step(s)")
    for batch in batches:
        yield dg.DynamicOutput(batch, mapping_key=batch.label, output_name="batches")
    yield dg.Output(plan, output_name="plan")


@dg.op(out=dg.Out(BatchOutcome, io_manager_key=_STEP_OUTPUTS))
def extract_frames(context: dg.OpExecutionContext, config: FrameExtractionConfig,
                   ffmpeg: FfmpegResource, lake: LakeResource,
                   batch: FrameBatch) -> BatchOutcome:
    """Extract, describe and pose one batch's videos; each video's frames appear whole."""

    def progress(done: int, total: int, summary: dict) -> None:
        outcome = (f"{summary['n_frames']} frames" if summary["status"] == "extracted"
                   else f"FAILED: {summary['reason']}")
        posing = (f" (poses {summary['pose_seconds']:.1f} s)"
                  if summary.get("pose_seconds") is not None else "")
        context.log.info(f"[{done}/{total}] {summary['path']}: {outcome} "
                         f"in {summary['seconds']:.1f} s{posing}")

    return run_batch(lake.lake(), batch, config.params(), ffmpeg.settings(),
                     config.pose_settings(), ffmpeg.parallelism(), progress)


@dg.op(out={"result": dg.Out(dg.Nothing), _CHECK_OUTPUT: dg.Out(dg.Nothing)})
def publish_frames(context: dg.OpExecutionContext, lake: LakeResource, plan: ClassPlan,
                   outcomes: list[BatchOutcome]) -> dg.MaterializeResult:
    """Write the class's tables from what stays and what the batches made."""
    the_lake = lake.lake()
    dance_class = plan.dance_class
    # The class's tables are read again rather than passed on: no other step writes them
    # during the run, and a read is cheaper than pickling them through the lake.
    result = combine(plan, _previous(the_lake, dance_class), outcomes)
    # Published here rather than by the lake_tables IO manager, with the same call: the
    # frames of videos that left are removed only once the tables no longer list them.
    # extractions is the ledger of what is done: written last, so a crash in between
    # means the work is redone, never that a row is missing.
    publish_tables(the_lake, {"frames": result.frames, "poses": result.poses,
                              "extractions": result.extractions}, dance_class=dance_class)
    remove_stale_frames(the_lake, dance_class, set(result.frames["video_id"]))
    remove_dir(the_lake.step_outputs / context.run_id)  # passed on: no longer needed
    with_pose = float(result.poses["person_found"].mean()) if len(result.poses) else 0.0
    context.log.info(
        f"{dance_class}: {len(result.extracted)} extracted, {len(result.reused)} unchanged "
        f"({len(result.reposed)} posed again), {len(result.failed)} failed, "
        f"{len(result.removed)} removed; a pose in {with_pose:.0%} of frames"
    )
    failed = result.extractions[result.extractions["status"] == "failed"][["path", "reason"]]
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(result.frames),
            "videos": len(result.extractions),
            "extracted": len(result.extracted),
            "unchanged": len(result.reused),
            "posed_again": len(result.reposed),
            "failed": len(result.failed),
            "removed": len(result.removed),
            "steps": len(outcomes),
            "share_with_pose": round(with_pose, 4),
            "frames_with_several_people": int((result.poses["people"] > 1).sum()),
            "failed_videos": dg.MetadataValue.md(markdown_table(failed)),
            "contact_sheet": dg.MetadataValue.md(_contact_sheet(
                the_lake, result.frames, result.poses, dance_class)),
        },
        check_results=[checks.frames_per_video(result.extractions)],
    )


# `resource_defs` on a graph-backed asset is a beta parameter of Dagster's, whose warning
# would otherwise greet every command that loads the definitions.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)

    @dg.graph_asset(
        partitions_def=dance_class_partitions,
        ins={"raw_videos": dg.AssetIn(dagster_type=dg.Nothing)},
        config=_same_settings_for_every_step,
        group_name="ingest",
        kinds={"ffmpeg", "parquet"},
        metadata=stores_tables("frames", "poses", "extractions"),
        check_specs=checks.VIDEO_FRAMES_CHECKS,
        resource_defs={_STEP_OUTPUTS: step_outputs_io_manager},
        description="One JPEG per interval for every ok video of the class, rotation applied, "
        "with per-frame quality features and the dancer's pose (MediaPipe landmarks and box); "
        "incremental by video content. Planned once, extracted in batches of the ffmpeg "
        "resource's videos_per_step videos (a step, or a pod, each), published in one write.",
    )
    def video_frames(raw_videos: None) -> dict:
        batches, plan = plan_frames(probed=raw_videos)
        published = publish_frames(plan, batches.map(extract_frames).collect())
        return {"result": published.result, _CHECK_OUTPUT: getattr(published, _CHECK_OUTPUT)}


def _contact_sheet(the_lake: Lake, frames: pd.DataFrame, poses: pd.DataFrame,
                   dance_class: str) -> str:
    """Sixteen frames sampled across the class with their skeletons, saved and inlined."""
    if frames.empty:
        return "_no frames_"
    seed = zlib.crc32(dance_class.encode())
    sample = frames.sample(n=min(16, len(frames)), random_state=seed).sort_values(
        ["video_id", "second"])
    sheet = skeleton_sheet(the_lake, sample, poses,
                           [f"{p} {s}s" for p, s in zip(sample["participant"], sample["second"],
                                                        strict=True)])
    png = png_bytes(sheet)
    save_png(the_lake.reports / "contact_sheets" / f"{dance_class}.png", png)
    return markdown_image(png, f"frames of {dance_class} with their poses")
