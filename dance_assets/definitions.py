"""The one Definitions object of the dance_assets code location."""

import dagster as dg

from dance_assets.assets.ingest import raw_videos, video_frames
from dance_assets.partitions import dance_class_partitions
from dance_assets.resources import FfmpegResource, LakeResource

ingest_job = dg.define_asset_job(
    "ingest",
    selection=[raw_videos, video_frames],
    partitions_def=dance_class_partitions,
    description="Probe a dance class's videos and extract their frames.",
)

defs = dg.Definitions(
    assets=[raw_videos, video_frames],
    jobs=[ingest_job],
    resources={"lake": LakeResource(), "ffmpeg": FfmpegResource()},
    executor=dg.multiprocess_executor,
)
