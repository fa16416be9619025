"""choreography: each dance's reference performance, which `score` judges a dancer against:
its teacher's video where references/ has one, and its routine averaged over the training
performances."""

import dagster as dg
import numpy as np
import pandas as pd
from pydantic import Field

from dance_assets.assets.curation import frame_manifest
from dance_assets.assets.failures import user_errors_fail_the_step
from dance_assets.assets.launchpad import LaunchpadConfig
from dance_assets.automation import follow_new_frames
from dance_assets.core.curation.splits import TRAIN, split_column
from dance_assets.core.ingest.pose_features import normalise, skeletons_of
from dance_assets.core.ingest.skeletons import references_sheet
from dance_assets.core.lake import tables
from dance_assets.core.lake.catalogue import BY_PARTICIPANT
from dance_assets.core.lake.errors import DanceAssetsError
from dance_assets.core.lake.lake import Lake
from dance_assets.core.lake.reports import markdown_image, markdown_table, png_bytes, save_png
from dance_assets.core.scoring.routines import Reference, build_references, references_table
from dance_assets.core.scoring.teachers import (
    REJECTED,
    USED,
    TeacherVideo,
    find_teachers,
    teacher_rows,
)
from dance_assets.lake_tables import LAKE_TABLES, stores_tables, table_input
from dance_assets.resources import FfmpegResource, LakeResource

# The participants a by_participant model never saw are the honest test of a score too.
REFERENCE_SIDE = (split_column(BY_PARTICIPANT), TRAIN)


class ChoreographyConfig(LaunchpadConfig):
    min_seconds: int = Field(default=3, ge=2, description="Training videos with fewer kept "
                             "seconds that have a pose are left out of the averaged routine.")


def _routines(the_lake: Lake, manifest: pd.DataFrame,
              min_seconds: int) -> tuple[list[Reference], float, int]:
    """The averaged routines of the training performances, their steps a second, and
    how many training videos they come from (none before any frames are curated). Their
    poses are read from the lake: frame_manifest, not video_frames, is upstream here."""
    column, side = REFERENCE_SIDE
    kept = manifest[manifest["keep"]]
    training = kept[kept[column] == side].groupby("video_id", as_index=False)["dance_class"].first()
    if training.empty:
        return [], 1.0, 0
    poses = tables.read_table(the_lake, "poses")
    skeletons = skeletons_of(poses[poses["frame_id"].isin(kept["frame_id"])],
                             tables.read_table(the_lake, "frames"))
    gaps = skeletons.sort_values("second").groupby("video_id")["second"].diff().dropna()
    interval = float(gaps.mode().iloc[0]) if not gaps.empty else 1.0
    try:
        routines = build_references(skeletons, training, min_seconds)
    except DanceAssetsError:  # too little posed; teachers may still serve
        return [], 1 / interval, len(training)
    return routines, 1 / interval, len(training)


def _teachers_table(the_lake: Lake, teachers: list[TeacherVideo]) -> pd.DataFrame:
    return pd.DataFrame([{"dance_class": t.dance, "file": the_lake.relative(t.path),
                          "status": t.status, "reason": t.reason or "",
                          "seconds": round(len(t.poses) / t.poses.rate, 1) if t.poses else None}
                         for t in teachers])


def _summary(routines: list[Reference], teachers: list[TeacherVideo]) -> pd.DataFrame:
    """Per dance, which reference `score` uses and what it is made of."""
    used = {t.dance: t for t in teachers if t.status == USED}
    averaged = {r.dance: r for r in routines}
    rows = []
    for dance in sorted(set(used) | set(averaged)):
        routine = averaged.get(dance)
        rows.append({"dance_class": dance,
                     "score uses": "teacher video" if dance in used else "training performances",
                     "teacher": used[dance].path.name if dance in used else "",
                     "routine steps": len(routine.skeletons) if routine else 0,
                     "training videos": routine.n_videos if routine else 0,
                     "own_cost": round(routine.own_cost, 3) if routine else None,
                     "other_cost": round(routine.other_cost, 3) if routine else None})
    return pd.DataFrame(rows)


def _teacher_steps(teacher: TeacherVideo) -> np.ndarray:
    """A teacher's posed frames as normalised skeletons, one a second, for the sheet."""
    poses = teacher.poses
    every = max(1, round(poses.rate))
    found = np.flatnonzero(poses.found)[::every]
    return normalise(poses.x[found], poses.y[found], poses.width, poses.height)


@dg.asset(
    ins={"frame_manifest": table_input(frame_manifest)},
    io_manager_key=LAKE_TABLES,
    dagster_type=pd.DataFrame,
    group_name="training",
    kinds={"numpy", "parquet"},
    metadata=stores_tables("choreography"),
    automation_condition=follow_new_frames,
    description="Per dance, what `dance-assets score` judges a dancer against: the "
    "teacher's video under references/<dance>/ (posed 10 times a second), and the "
    f"routine averaged over the training performances ({BY_PARTICIPANT}'s training side, "
    "DTW barycentre averaging, with its spread). Score uses the teacher where there is one.",
)
def choreography(context: dg.AssetExecutionContext, config: ChoreographyConfig,
                 lake: LakeResource, ffmpeg: FfmpegResource,
                 frame_manifest: pd.DataFrame) -> dg.MaterializeResult:
    the_lake = lake.lake()
    with user_errors_fail_the_step():
        routines, steps_per_second, n_training = _routines(the_lake, frame_manifest,
                                                           config.min_seconds)
        teachers = find_teachers(the_lake, ffmpeg.settings(), limits=ffmpeg.limits(),
                                 progress=context.log.info)
        used = [t for t in teachers if t.status == USED]
        if not routines and not used:
            rejected = "; ".join(f"{the_lake.relative(t.path)}: {t.reason}" for t in teachers
                                 if t.status == REJECTED)
            raise DanceAssetsError("no reference for any dance: no curated training frames "
                                   "and no usable teacher video under references/"
                                   + (f" ({rejected})" if rejected else ""))
    table = pd.concat([references_table(routines, steps_per_second),
                       *(teacher_rows(the_lake, t) for t in used)], ignore_index=True)
    sheet = png_bytes(references_sheet({**{r.dance: r.skeletons for r in routines},
                                        **{f"{t.dance} (teacher)": _teacher_steps(t)
                                           for t in used}}))
    save_png(the_lake.reports / "choreography.png", sheet)
    context.log.info(f"references: {len(used)} teacher video(s), {len(routines)} averaged "
                     f"routine(s) from {n_training} training videos")
    rejected = sum(t.status != USED for t in teachers)
    return dg.MaterializeResult(value=table, metadata={
        "dagster/row_count": len(table),
        "dances": len({*(r.dance for r in routines), *(t.dance for t in used)}),
        "teacher_videos": len(used),
        "teacher_files_not_used": rejected,
        "references": dg.MetadataValue.md(
            markdown_table(_summary(routines, teachers)) + "\n\nCosts are mean joint "
            "distances in torso lengths of the training performances from their dance's "
            "routine (own) and from other dances' (other).\n\n"
            + markdown_image(sheet, "reference steps")),
        "teacher_files": dg.MetadataValue.md(
            markdown_table(_teachers_table(the_lake, teachers)) if teachers
            else "No files under references/."),
    })
