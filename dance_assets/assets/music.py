"""music: each dance class's videos with sound: their tempo and beats, and how the dancer
hits them. The audio is never a classifier's input (docs/music.md)."""

from concurrent.futures import ThreadPoolExecutor

import dagster as dg
import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from dance_assets.assets.ingest import raw_videos
from dance_assets.automation import follow_new_frames
from dance_assets.core.ingest.dense_poses import DEFAULT_SETTINGS
from dance_assets.core.ingest.ingest import NO_AUDIO
from dance_assets.core.lake import tables
from dance_assets.core.lake.reports import UI_IMAGE_WIDTH, markdown_image, markdown_table, png_bytes
from dance_assets.core.scoring.music import ANALYSED, fingerprint, music_row
from dance_assets.lake_tables import LAKE_TABLES, stores_tables, table_input
from dance_assets.partitions import dance_class_partitions
from dance_assets.resources import FfmpegResource, LakeResource


def _with_sound(videos: pd.DataFrame) -> pd.DataFrame:
    has_sound = videos["audio_codec"].notna() & (videos["audio_codec"] != NO_AUDIO)
    return videos[(videos["status"] == "ok") & has_sound].drop_duplicates("video_id")


def _beat_strip(rows: pd.DataFrame) -> bytes:
    """One line per video: the beats as grey ticks over its length, and the mean offset
    of her hits as a coloured bar from the line (blue early, green on time, red late)."""
    height, left = 16, 150
    image = Image.new("RGB", (UI_IMAGE_WIDTH, max(1, len(rows)) * height + 4), "white")
    draw = ImageDraw.Draw(image)
    longest = max([float(max(b)) for b in rows["beats"] if b is not None and len(b)] or [1.0])
    scale = (UI_IMAGE_WIDTH - left - 8) / longest
    for index, row in enumerate(rows.itertuples()):
        top = 2 + index * height
        tempo = "no beat" if pd.isna(row.tempo_bpm) else f"{row.tempo_bpm:.0f} bpm"
        draw.text((2, top + 2), f"{row.path.split('/')[-1][:16]} {tempo}", fill=(0, 0, 0))
        for beat in row.beats if row.beats is not None else []:
            x = left + beat * scale
            draw.line([(x, top + 3), (x, top + height - 3)], fill=(170, 170, 170))
        if row.beat_offset_ms is not None and not pd.isna(row.beat_offset_ms):
            offset = int(row.beat_offset_ms)
            colour = (40, 160, 70) if abs(offset) <= 100 else (
                (200, 50, 50) if offset > 0 else (50, 90, 200))
            draw.rectangle([left, top + 6, left + min(200, abs(offset)), top + height - 6],
                           fill=colour)
    return png_bytes(image)


def _summary(rows: pd.DataFrame) -> pd.DataFrame:
    return rows.assign(video=rows["path"].str.split("/").str[-1])[[
        "video", "status", "tempo_bpm", "beat_offset_ms", "beat_spread_ms", "on_beat_share",
        "worst_start_s", "worst_end_s", "reason"]]


@dg.asset(
    partitions_def=dance_class_partitions,
    ins={"raw_videos": table_input(raw_videos)},
    io_manager_key=LAKE_TABLES,
    dagster_type=pd.DataFrame,
    group_name="ingest",
    automation_condition=follow_new_frames,
    kinds={"librosa", "parquet"},
    metadata=stores_tables("music"),
    description="Per video with sound: the music's tempo and beats (librosa, from the "
    "video's own audio), and the dancer's hits against them from her skeletons ten times a "
    "second: mean offset (late or early), spread, the share on the beat, the stretch "
    "furthest off. Incremental: unchanged videos keep their rows.",
)
def music(context: dg.AssetExecutionContext, lake: LakeResource, ffmpeg: FfmpegResource,
          raw_videos: pd.DataFrame) -> dg.MaterializeResult:
    the_lake = lake.lake()
    dance_class = context.partition_key
    videos = _with_sound(raw_videos)
    # This class's rows from before: a video analysed with these settings is not again.
    previous = tables.read_table(the_lake, "music", dance_class=dance_class)
    params = fingerprint(DEFAULT_SETTINGS)
    keep = previous[previous["video_id"].isin(videos["video_id"]) & (previous["params"] == params)]
    todo = videos[~videos["video_id"].isin(keep["video_id"])]
    settings = ffmpeg.settings()

    def analyse(video: dict) -> dict:
        row = music_row(the_lake, video, settings, DEFAULT_SETTINGS)
        context.log.info(f"{video['path']}: {row['status']}"
                         + (f", {row['tempo_bpm']:.1f} bpm" if row["tempo_bpm"] else "")
                         + (f", hits {row['beat_offset_ms']:+d} ms" if row["beat_offset_ms"]
                            is not None else "") + (f" ({row['reason']})" if row["reason"]
                                                    else ""))
        return row

    with ThreadPoolExecutor(2) as pool:  # MediaPipe and ffmpeg let go of the GIL
        new = pd.DataFrame(list(pool.map(analyse, tables.records(todo))),
                           columns=tables.SCHEMAS["music"].names)
    rows = pd.concat([keep, new], ignore_index=True) if len(keep) else new
    rows = rows.sort_values("path", ignore_index=True)
    analysed = rows[rows["status"] == ANALYSED]
    return dg.MaterializeResult(value=rows, metadata={
        "dagster/row_count": len(rows),
        "analysed": len(analysed), "new": len(new), "unchanged": len(keep),
        "median_tempo_bpm": float(np.median(analysed["tempo_bpm"])) if len(analysed) else 0.0,
        "videos": dg.MetadataValue.md(markdown_table(_summary(rows))),
        "beats": dg.MetadataValue.md(markdown_image(_beat_strip(rows), "beats and hits")),
    })
