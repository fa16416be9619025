"""The one Definitions object of the dance_assets code location."""

import dagster as dg

from dance_assets.assets.curation import frame_manifest
from dance_assets.assets.ingest import raw_videos, video_frames
from dance_assets.partitions import dance_class_partitions
from dance_assets.resources import FfmpegResource, LakeResource

ingest_job = dg.define_asset_job(
    "ingest",
    selection=[raw_videos, video_frames],
    partitions_def=dance_class_partitions,
    description="Probe a dance class's videos and extract their frames.",
)
curation_job = dg.define_asset_job(
    "curation",
    selection=[frame_manifest],
    description="Rebuild the frame manifest: cleaning verdicts, human decisions, splits.",
)

defs = dg.Definitions(
    assets=[raw_videos, video_frames, frame_manifest],
    jobs=[ingest_job, curation_job],
    resources={"lake": LakeResource(), "ffmpeg": FfmpegResource()},
    executor=dg.multiprocess_executor,
)
