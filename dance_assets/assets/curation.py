"""Curation: every extracted frame, kept or dropped with a reason, and split two ways."""

import time

import dagster as dg
import pandas as pd
from pydantic import Field

from dance_assets import checks
from dance_assets.assets.failures import user_errors_fail_the_step
from dance_assets.assets.ingest import video_frames
from dance_assets.assets.launchpad import LaunchpadConfig
from dance_assets.automation import follow_new_frames
from dance_assets.core.curation.cleaning import CleaningThresholds, with_poses
from dance_assets.core.curation.decisions import decisions_path, read_decisions, unknown_frames
from dance_assets.core.curation.grading import cleaning_quality, read_ground_truth, reason_confusion
from dance_assets.core.curation.manifest import (
    ManifestSettings,
    build_manifest,
    class_table,
    manifest_version,
    record_thresholds,
)
from dance_assets.core.curation.splits import VALID, split_column
from dance_assets.core.ingest.skeletons import skeleton_sheet
from dance_assets.core.lake import tables
from dance_assets.core.lake.catalogue import BY_PARTICIPANT, PROTOCOLS, RANDOM_FRAMES, VALID_SHARE
from dance_assets.core.lake.lake import Lake
from dance_assets.core.lake.reports import markdown_image, markdown_table, png_bytes, save_png
from dance_assets.lake_tables import LAKE_TABLES, Tables, stores_tables, table_input
from dance_assets.resources import LakeResource


class CurationConfig(LaunchpadConfig):
    """Cleaning thresholds (defaults tuned on the generator's ground truth) and splits."""

    empty_relative: float = Field(
        default=CleaningThresholds.empty_relative, gt=0,
        description="A frame where the pose model found nobody is empty unless its pixels "
        "differ from the room at least this share as much as the video's frames with a "
        "person do (then the model missed a dancer, and the frame is kept).")
    noise_above: float = Field(
        default=CleaningThresholds.noise_above,
        description="noise (Immerkaer's pixel noise std, 0-255) above this, with nobody "
        "found: static, snow or grain.")
    empty_below_without_anyone: float = Field(
        default=CleaningThresholds.empty_below_without_anyone, ge=0, le=1,
        description="In a video where the pose model found nobody in any frame, a frame is "
        "empty when less than this share of it differs from the room.")
    static_relative: float = Field(
        default=CleaningThresholds.static_relative, gt=1,
        description="A frame where the pose model found nobody is static (smoothed by a "
        "low bitrate) when its pixel noise exceeds this many times that of the video's "
        "frames with a person, and it differs more from the room than they do.")
    dark_below: float = Field(default=CleaningThresholds.dark_below,
                              description="brightness below this: too dark.")
    bright_above: float = Field(default=CleaningThresholds.bright_above,
                                description="brightness above: washed out.")
    flat_below: float = Field(default=CleaningThresholds.flat_below,
                              description="contrast below this: flat.")
    card_above: float = Field(
        default=CleaningThresholds.card_above, gt=0, le=1,
        description="A frame where the pose model found nobody is a title or outro card "
        "when more than this share of it is one flat colour (one band of 8 luma levels).")
    blur_ratio: float = Field(default=CleaningThresholds.blur_ratio,
                              description="sharpness below this share of the video's "
                              "median: blurred.")
    drop_near_duplicates: bool = Field(default=CleaningThresholds.drop_near_duplicates,
                                       description="Drop repeats of a frame.")
    split_seed: int = Field(default=0, description="Seed of both split protocols.")
    valid_share: float = Field(default=VALID_SHARE, gt=0, lt=1, description="Validation share.")
    max_dropped_share: float = Field(default=0.5, description="Warn about classes dropping "
                                     "more than this share of their frames.")

    def settings(self) -> ManifestSettings:
        thresholds = CleaningThresholds(**{
            name: getattr(self, name) for name in CleaningThresholds.__dataclass_fields__})
        return ManifestSettings(thresholds, self.split_seed, self.valid_share)


@dg.asset(
    ins={"video_frames": table_input(video_frames)},
    io_manager_key=LAKE_TABLES,
    dagster_type=pd.DataFrame,
    group_name="curation",
    automation_condition=follow_new_frames,
    kinds={"pandas", "parquet"},
    metadata=stores_tables("frame_manifest"),
    check_specs=checks.FRAME_MANIFEST_CHECKS,
    description="Every extracted frame with keep / reason (automatic verdicts, overridden "
    f"by review/decisions.csv) and its side under {split_column(RANDOM_FRAMES)} and "
    f"{split_column(BY_PARTICIPANT)}.",
)
def frame_manifest(
    context: dg.AssetExecutionContext, config: CurationConfig, lake: LakeResource,
    video_frames: Tables,
) -> dg.MaterializeResult:
    """The manifest from video_frames' frames, poses and extractions; the lake gives the
    reviewers' decisions and keeps the cleaning thresholds and the dropped frames' sheet."""
    started = time.perf_counter()
    the_lake = lake.lake()
    frames, poses = video_frames["frames"], video_frames["poses"]
    if frames.empty:
        raise dg.Failure("no frames yet: materialize video_frames for at least one class first")
    decisions = read_decisions(decisions_path(the_lake))
    stale = unknown_frames(decisions["frame_id"], frames["frame_id"])
    if stale:
        context.log.warning(f"{len(stale)} decision(s) name frames that no longer exist, "
                            f"e.g. {stale[0]}; they are ignored")
    settings = config.settings()
    with user_errors_fail_the_step():
        frames = with_poses(frames, poses)
        manifest = build_manifest(frames, decisions, settings)
    record_thresholds(the_lake, manifest, settings.thresholds)  # for the models' cards
    seconds = time.perf_counter() - started

    kept = manifest[manifest["keep"]]
    metadata: dict[str, object] = {
        "dagster/row_count": len(manifest),
        "kept": int(manifest["keep"].sum()),
        "dropped": int((~manifest["keep"]).sum()),
        "human_decisions": len(decisions) - len(stale),
        "stale_decisions": len(stale),
        "build_seconds": round(seconds, 3),
        "frames_per_class": dg.MetadataValue.md(markdown_table(class_table(manifest))),
        "validation_participants": ", ".join(sorted(
            kept.loc[kept[split_column(BY_PARTICIPANT)] == VALID, "participant"].unique())),
        **{f"valid_share_{protocol}": _share(kept[split_column(protocol)])
           for protocol in PROTOCOLS},
        "dropped_frames": dg.MetadataValue.md(_dropped_sheet(the_lake, manifest, poses)),
    }
    metadata.update(_graded(context, the_lake, manifest, frames))
    pose_params = video_frames["extractions"]["pose_params"].dropna()
    return dg.MaterializeResult(
        value=manifest,
        metadata=metadata,
        data_version=dg.DataVersion(manifest_version(manifest, sorted(set(pose_params)))),
        check_results=[
            checks.classes_on_both_sides(manifest),
            checks.no_participant_leak(manifest),
            checks.dropped_share(manifest, config.max_dropped_share),
        ],
    )


def _graded(context: dg.AssetExecutionContext, the_lake: Lake, manifest: pd.DataFrame,
            frames: pd.DataFrame) -> dict[str, object]:
    """Cleaning against the generator's ground truth, where the lake has it (else nothing)."""
    truth = read_ground_truth(the_lake, tables.read_table(the_lake, "videos"))
    graded = manifest.assign(person_found=frames["person_found"].to_numpy())
    quality = cleaning_quality(graded, truth)
    if quality is None:
        return {}
    metadata: dict[str, object] = {
        "cleaning_precision": round(quality.precision, 4),
        "cleaning_recall": round(quality.recall, 4),
        "cleaning_vs_ground_truth": quality.as_dict(),
        "cleaning_confusion": dg.MetadataValue.md(markdown_table(
            reason_confusion(manifest, truth)))}
    if quality.pose_found_on_dancers is not None:
        metadata["pose_found_on_dancers"] = round(quality.pose_found_on_dancers, 4)
    context.log.info(f"cleaning vs generator ground truth: precision "
                     f"{quality.precision:.3f}, recall {quality.recall:.3f}")
    return metadata


def _share(sides: pd.Series) -> float:
    return round(float((sides == VALID).mean()), 4) if len(sides) else 0.0


def _dropped_sheet(the_lake: Lake, manifest: pd.DataFrame, poses: pd.DataFrame) -> str:
    """Up to 8 dropped frames of every reason with their poses, to see what went and why."""
    dropped = manifest[~manifest["keep"]]
    if dropped.empty:
        return "_nothing dropped_"
    why = dropped["reason"].str.replace(r":.*", "", regex=True)
    sample = dropped.groupby(why, group_keys=False).apply(
        lambda group: group.sample(n=min(8, len(group)), random_state=0))
    sheet = skeleton_sheet(the_lake, sample, poses, list(why.loc[sample.index]))
    png = png_bytes(sheet)
    save_png(the_lake.reports / "dropped_frames.png", png)
    return markdown_image(png, "dropped frames")
