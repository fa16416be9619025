"""choreography: the reference performance of each dance, which `score` aligns a dancer to."""

import dagster as dg
import pandas as pd
from pydantic import Field

from dance_assets.assets.curation import frame_manifest
from dance_assets.assets.failures import user_errors_fail_the_step
from dance_assets.assets.launchpad import LaunchpadConfig
from dance_assets.assets.schemas import column_schema
from dance_assets.automation import follow_new_frames
from dance_assets.core import tables
from dance_assets.core.choreography import build_references, references_table
from dance_assets.core.pose_features import skeletons_of
from dance_assets.core.reports import markdown_image, markdown_table, png_bytes, save_png
from dance_assets.core.skeletons import references_sheet
from dance_assets.core.splits import TRAIN, split_column
from dance_assets.core.warehouse import refresh_views
from dance_assets.resources import LakeResource

# The participants a by_participant model never saw are the honest test of a score too.
REFERENCE_SIDE = (split_column("by_participant"), TRAIN)


class ChoreographyConfig(LaunchpadConfig):
    min_seconds: int = Field(default=3, ge=2, description="Training videos with fewer kept "
                             "seconds that have a pose are left out of the reference.")


@dg.asset(
    deps=[frame_manifest],
    group_name="training",
    kinds={"numpy", "parquet"},
    metadata=column_schema("choreography"),
    automation_condition=follow_new_frames,
    description="Per dance, the typical normalised pose sequence of its training "
    "performances (by_participant's training side), by DTW barycentre averaging, with "
    "its spread per step and joint: what `dance-assets score` aligns a dancer to.",
)
def choreography(context: dg.AssetExecutionContext, config: ChoreographyConfig,
                 lake: LakeResource) -> dg.MaterializeResult:
    the_lake = lake.lake()
    manifest = tables.read_table(the_lake, "frame_manifest")
    column, side = REFERENCE_SIDE
    kept = manifest[manifest["keep"]]
    training = kept[kept[column] == side].groupby("video_id", as_index=False)["dance_class"].first()
    poses = tables.read_table(the_lake, "poses")
    skeletons = skeletons_of(poses[poses["frame_id"].isin(kept["frame_id"])],
                             tables.read_table(the_lake, "frames"))
    with user_errors_fail_the_step():
        references = build_references(skeletons, training, config.min_seconds)
    table = references_table(references)
    tables.write_table(the_lake, "choreography", table)
    refresh_views(the_lake)
    sheet = png_bytes(references_sheet({r.dance: r.skeletons for r in references}))
    save_png(the_lake.reports / "choreography.png", sheet)
    summary = pd.DataFrame([{
        "dance_class": r.dance, "steps": len(r.skeletons), "videos": r.n_videos,
        "own_cost": round(r.own_cost, 3), "other_cost": round(r.other_cost, 3),
        "mean_spread": round(float(r.spread.mean()), 3)} for r in references])
    context.log.info(f"references for {len(references)} dances from {len(training)} "
                     "training videos")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(table),
        "dances": len(references),
        "references": dg.MetadataValue.md(
            markdown_table(summary) + "\n\nCosts are mean joint distances in torso lengths: "
            "own_cost for the dance's training performances, other_cost for other dances' "
            "(a score of 88 and 12).\n\n" + markdown_image(sheet, "reference steps")),
    })
