"""One frame per interval for every usable video of a class, with quality features.

Incremental by content: a video whose frames exist with the same extraction
parameters is skipped (even if renamed); a video that left raw/ loses its frames.
Each video's frames are written into a hidden staging folder and renamed into place
whole, so readers see all of a video's frames or none.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from dance_assets.core.lake import (
    Lake,
    ensure_free_space,
    remove_dir,
    replace_dir,
    sweep_stale_temps,
    temp_sibling,
)
from dance_assets.core.quality import FEATURES_VERSION, load_rgb, video_features
from dance_assets.core.tables import SCHEMAS, records
from dance_assets.core.video import (
    ExtractionParams,
    FfmpegSettings,
    Probe,
    VideoError,
    expected_frames,
    extract_frames,
)


def fingerprint(params: ExtractionParams) -> str:
    """What a video's frames were made with; a difference means extract again."""
    return f"{params.fingerprint()};features=v{FEATURES_VERSION}"


def frame_id(video_id: str, second: int) -> str:
    return f"{video_id}_{second:05d}"


def video_frames_dir(lake: Lake, dance_class: str, video_id: str) -> Path:
    return lake.frames / dance_class / video_id


@dataclass(frozen=True)
class ClassFrames:
    """The outcome for one class: the two tables and what changed."""

    frames: pd.DataFrame
    extractions: pd.DataFrame
    extracted: list[str]
    reused: list[str]
    failed: list[str]
    removed: list[str]


def _probe_of(video: dict) -> Probe:
    return Probe(video["duration_s"], video["fps"], int(video["width"]), int(video["height"]),
                 int(video["rotation"]), video["codec"])


def extract_video(lake: Lake, video: dict, params: ExtractionParams,
                  settings: FfmpegSettings) -> tuple[dict, list[dict]]:
    """Extract, describe and publish one video's frames; never raises for a bad video."""
    started = time.perf_counter()
    final = video_frames_dir(lake, video["dance_class"], video["video_id"])
    staged = temp_sibling(final)
    summary = {
        "video_id": video["video_id"], "dance_class": video["dance_class"],
        "participant": video["participant"], "path": video["path"], "params": fingerprint(params),
        "expected_frames": expected_frames(video["duration_s"], params.interval_s),
    }
    try:
        written = extract_frames(lake.absolute(video["path"]), _probe_of(video), staged, params,
                                 settings)
        if not written:
            raise VideoError("ffmpeg produced no frames")
        images = [load_rgb(path) for _, path in written]
        features = video_features(images)
        replace_dir(staged, final)
    except (VideoError, OSError) as exc:
        shutil.rmtree(staged, ignore_errors=True)
        summary.update(status="failed", reason=str(exc), n_frames=0,
                       seconds=time.perf_counter() - started, extracted_at=datetime.now(UTC))
        return summary, []
    rows = []
    seconds = [second for second, _ in written]
    for (second, _), image, feature in zip(written, images, features, strict=True):
        duplicate = feature.near_duplicate_of
        rows.append({
            "frame_id": frame_id(video["video_id"], second),
            "video_id": video["video_id"],
            "dance_class": video["dance_class"],
            "participant": video["participant"],
            "second": second,
            "path": lake.relative(final / f"{second:05d}.jpg"),
            "width": image.shape[1],
            "height": image.shape[0],
            "brightness": feature.brightness,
            "contrast": feature.contrast,
            "sharpness": feature.sharpness,
            "noise": feature.noise,
            "subject_score": feature.subject_score,
            "near_duplicate_of": None if duplicate is None
            else frame_id(video["video_id"], seconds[duplicate]),
        })
    summary.update(status="extracted", reason=None, n_frames=len(rows),
                   seconds=time.perf_counter() - started, extracted_at=datetime.now(UTC))
    return summary, rows


def estimated_bytes(videos: list[dict], params: ExtractionParams) -> int:
    """A generous estimate of the JPEGs a set of videos will produce."""
    per_frame = 0.5 * params.short_side * params.short_side * 16 / 9  # ~0.5 byte per pixel
    return int(sum(expected_frames(v["duration_s"], params.interval_s) + 1
                   for v in videos) * per_frame)


def extract_class(lake: Lake, dance_class: str, videos: pd.DataFrame,
                  previous_frames: pd.DataFrame, previous_extractions: pd.DataFrame,
                  params: ExtractionParams, settings: FfmpegSettings, workers: int,
                  progress: Callable[[int, int, dict], None] | None = None,
                  reserve_bytes: int = 0) -> ClassFrames:
    """Bring one class's frames in line with its `ok` videos, doing only what changed.

    Raises DanceAssetsError, before writing anything, when the frames would not fit
    on the disk with `reserve_bytes` to spare.
    """
    class_dir = lake.frames / dance_class
    sweep_stale_temps(class_dir)
    usable = videos[videos["status"] == "ok"].drop_duplicates("video_id")
    current = {row["video_id"]: row for row in records(usable)}
    current_fingerprint = fingerprint(params)
    done_before = {
        row["video_id"]: row for row in records(previous_extractions)
        if row["status"] == "extracted" and row["params"] == current_fingerprint
    }
    reused = [vid for vid in current if vid in done_before
              and video_frames_dir(lake, dance_class, vid).is_dir()]
    todo = [current[vid] for vid in current if vid not in reused]
    ensure_free_space(lake.frames, estimated_bytes(todo, params), reserve_bytes)

    summaries: list[dict] = []
    frame_rows: list[dict] = []
    for vid in reused:  # names may have changed: refresh path and participant
        video = current[vid]
        summaries.append({**done_before[vid], "path": video["path"],
                          "participant": video["participant"]})
    kept = previous_frames[previous_frames["video_id"].isin(reused)].copy()
    if not kept.empty:
        kept["participant"] = kept["video_id"].map(lambda v: current[v]["participant"])

    with ThreadPoolExecutor(max(1, workers)) as pool:
        jobs = pool.map(lambda v: extract_video(lake, v, params, settings), todo)
        for done, (summary, rows) in enumerate(jobs, 1):
            summaries.append(summary)
            frame_rows.extend(rows)
            if progress:
                progress(done, len(todo), summary)

    new_frames = pd.DataFrame(frame_rows, columns=SCHEMAS["frames"].names)
    frames = pd.concat([df for df in (kept, new_frames) if not df.empty] or [new_frames],
                       ignore_index=True)
    frames = frames.sort_values(["video_id", "second"], ignore_index=True)
    extractions = pd.DataFrame(summaries, columns=SCHEMAS["extractions"].names)
    previous_ids = set(previous_extractions["video_id"])
    return ClassFrames(
        frames=frames,
        extractions=extractions.sort_values("path", ignore_index=True),
        extracted=[s["video_id"] for s in summaries if s["status"] == "extracted"
                   and s["video_id"] not in reused],
        reused=reused,
        failed=[s["video_id"] for s in summaries if s["status"] == "failed"],
        removed=sorted(previous_ids - set(current)),
    )


def remove_stale_frames(lake: Lake, dance_class: str, keep: set[str]) -> list[str]:
    """Delete frame folders no longer in the table (videos that left, crash leftovers).

    Called after the table is written, so no published row ever points at a deleted file.
    """
    class_dir = lake.frames / dance_class
    if not class_dir.is_dir():
        return []
    removed = []
    for entry in class_dir.iterdir():
        if entry.is_dir() and not entry.name.startswith(".") and entry.name not in keep:
            remove_dir(entry)
            removed.append(entry.name)
    return sorted(removed)
