"""One frame per interval for every usable video of a class, with quality features and poses.

Incremental by content: a video whose frames exist with the same extraction
parameters is skipped (even if renamed); a video that left raw/ loses its frames.
Poses have their own fingerprint: changing the pose settings poses the existing
frames again without extracting them again. Each video's frames are written into a
hidden staging folder and renamed into place whole, so readers see all of a video's
frames or none.

A class's work is planned once (`plan_class`), done in batches (`run_batch`: one step
each, so a cluster can spread one class over many pods) and combined into the class's
tables (`combine`); `extract_class` is the three in one batch.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from dance_assets.core.ingest.pose import FramePose, PoseSettings, close_estimators, estimator
from dance_assets.core.ingest.quality import (
    FEATURES_VERSION,
    FrameFeatures,
    load_rgb,
    video_features,
)
from dance_assets.core.ingest.video import (
    ExtractionParams,
    FfmpegSettings,
    Probe,
    VideoError,
    expected_frames,
    extract_frames,
)
from dance_assets.core.lake.lake import (
    Lake,
    ensure_free_space,
    remove_dir,
    replace_dir,
    sweep_stale_temps,
    temp_sibling,
)
from dance_assets.core.lake.tables import SCHEMAS, records


def fingerprint(params: ExtractionParams) -> str:
    """What a video's frames were made with; a difference means extract again."""
    return f"{params.fingerprint()};features=v{FEATURES_VERSION}"


def frame_id(video_id: str, second: int) -> str:
    return f"{video_id}_{second:05d}"


def video_frames_dir(lake: Lake, dance_class: str, video_id: str) -> Path:
    return lake.frames / dance_class / video_id


@dataclass(kw_only=True, frozen=True)
class ClassFrames:
    """The outcome for one class: the three tables and what changed."""

    frames: pd.DataFrame
    extractions: pd.DataFrame
    poses: pd.DataFrame
    extracted: list[str]
    reused: list[str]
    reposed: list[str]
    failed: list[str]
    removed: list[str]


def pose_rows(video_id: str, dance_class: str, seconds: list[int],
              poses: list[FramePose]) -> list[dict]:
    """`poses` table rows for one video's frames."""
    rows = []
    for second, pose in zip(seconds, poses, strict=True):
        dancer = pose.dancer
        box = dancer.box if dancer is not None else (None,) * 4
        rows.append({
            "frame_id": frame_id(video_id, second), "video_id": video_id,
            "dance_class": dance_class, "second": second, "person_found": pose.found,
            "people": pose.people,
            "x": None if dancer is None else dancer.x.tolist(),
            "y": None if dancer is None else dancer.y.tolist(),
            "visibility": None if dancer is None else dancer.visibility.tolist(),
            "box_x0": box[0], "box_y0": box[1], "box_x1": box[2], "box_y1": box[3],
        })
    return rows


def pose_video(video: dict, seconds: list[int], images: list, settings: PoseSettings | None,
               summary: dict) -> list[dict]:
    """Pose one video's frames; records settings and time in its `extractions` summary.

    With no settings the pose step is off: no rows, and the video counts as not posed.
    """
    if settings is None:
        return []
    started = time.perf_counter()
    poses = estimator(settings).video(images)
    summary.update(pose_params=settings.fingerprint(),
                   pose_seconds=time.perf_counter() - started)
    return pose_rows(video["video_id"], video["dance_class"], seconds, poses)


def _probe_of(video: dict) -> Probe:
    return Probe(duration_s=video["duration_s"], fps=video["fps"], width=int(video["width"]),
                 height=int(video["height"]),
                 rotation=int(video["rotation"]), codec=video["codec"])


def extract_video(lake: Lake, video: dict, params: ExtractionParams, settings: FfmpegSettings,
                  pose_settings: PoseSettings | None) -> tuple[dict, list[dict], list[dict]]:
    """Extract, describe, pose and publish one video's frames; never raises for a bad video.

    Returns its `extractions` summary, its `frames` rows and its `poses` rows.
    """
    started = time.perf_counter()
    final = video_frames_dir(lake, video["dance_class"], video["video_id"])
    staged = temp_sibling(final)
    summary = {
        "video_id": video["video_id"], "dance_class": video["dance_class"],
        "participant": video["participant"], "path": video["path"], "params": fingerprint(params),
        "expected_frames": expected_frames(video["duration_s"], params.interval_s),
        "pose_params": None, "pose_seconds": None,
    }
    try:
        written = extract_frames(lake.absolute(video["path"]), _probe_of(video), staged, params,
                                 settings)
        if not written:
            raise VideoError("ffmpeg produced no frames")
        images = [load_rgb(path) for _, path in written]
        features = video_features(images)
        seconds = [second for second, _ in written]
        poses = pose_video(video, seconds, images, pose_settings, summary)
        replace_dir(staged, final)
    except (VideoError, OSError) as exc:
        shutil.rmtree(staged, ignore_errors=True)
        summary.update(status="failed", reason=str(exc), n_frames=0,
                       seconds=time.perf_counter() - started, extracted_at=datetime.now(UTC),
                       pose_params=None, pose_seconds=None)
        return summary, [], []
    rows = _frame_rows(lake, video, final, written, images, features)
    summary.update(status="extracted", reason=None, n_frames=len(rows),
                   seconds=time.perf_counter() - started, extracted_at=datetime.now(UTC))
    return summary, rows, poses


def _frame_rows(lake: Lake, video: dict, published: Path, written: list[tuple[int, Path]],
                images: list[np.ndarray], features: list[FrameFeatures]) -> list[dict]:
    """One `frames` row per extracted second: where its JPEG is once published, and what
    it looks like (core/ingest/quality.py), a near-duplicate named by its frame id."""
    seconds = [second for second, _ in written]
    rows = []
    for (second, _), image, feature in zip(written, images, features, strict=True):
        duplicate = feature.near_duplicate_of
        rows.append({
            "frame_id": frame_id(video["video_id"], second),
            "video_id": video["video_id"],
            "dance_class": video["dance_class"],
            "participant": video["participant"],
            "second": second,
            "path": lake.relative(published / f"{second:05d}.jpg"),
            "width": image.shape[1],
            "height": image.shape[0],
            "brightness": feature.brightness,
            "contrast": feature.contrast,
            "sharpness": feature.sharpness,
            "noise": feature.noise,
            "subject_score": feature.subject_score,
            "near_duplicate_of": None if duplicate is None
            else frame_id(video["video_id"], seconds[duplicate]),
            "uniform_share": feature.uniform_share,
        })
    return rows


def estimated_bytes(videos: list[dict], params: ExtractionParams) -> int:
    """A generous estimate of the JPEGs a set of videos will produce."""
    per_frame = 0.5 * params.short_side * params.short_side * 16 / 9  # ~0.5 byte per pixel
    return int(sum(expected_frames(v["duration_s"], params.interval_s) + 1
                   for v in videos) * per_frame)


@dataclass(frozen=True)
class PreviousClass:
    """What the lake already holds for one class: its frames, extractions and poses."""

    frames: pd.DataFrame
    extractions: pd.DataFrame
    poses: pd.DataFrame


@dataclass(frozen=True)
class FrameBatch:
    """A share of one class's work that one step does: videos to extract, and videos
    already extracted whose frames are posed again (each with its previous summary and
    its frames' (second, path) pairs)."""

    label: str
    extract: list[dict]
    repose: list[tuple[dict, list[tuple[int, str]]]]

    def __len__(self) -> int:
        return len(self.extract) + len(self.repose)


@dataclass(frozen=True)
class BatchOutcome:
    """What one batch produced: `extractions`, `frames` and `poses` rows."""

    summaries: list[dict]
    frame_rows: list[dict]
    pose_rows: list[dict]


@dataclass(kw_only=True, frozen=True)
class ClassPlan:
    """What one class needs: videos to extract, videos whose frames stay (some to pose
    again), and the previous extraction of each video that stays."""

    dance_class: str
    current: dict[str, dict]
    done_before: dict[str, dict]
    reused: list[str]
    reposed: list[str]
    todo: list[dict]

    def refreshed(self, vid: str) -> dict:
        """A reused video's previous extraction; its path and participant may have changed."""
        video = self.current[vid]
        return {**self.done_before[vid], "path": video["path"],
                "participant": video["participant"]}

    def batches(self, previous_frames: pd.DataFrame, videos_per_batch: int = 0
                ) -> list[FrameBatch]:
        """The work cut into batches of at most `videos_per_batch` videos (0: one batch),
        videos to pose again first. Always at least one batch, empty when nothing
        changed, so the step that combines them always runs."""
        reposed = previous_frames[previous_frames["video_id"].isin(self.reposed)]
        frames_of = {vid: list(zip(group["second"].astype(int), group["path"], strict=True))
                     for vid, group in reposed.sort_values("second").groupby("video_id")}
        work: list[tuple[str, object]] = [
            ("repose", (self.refreshed(vid), frames_of.get(vid, []))) for vid in self.reposed]
        work += [("extract", video) for video in self.todo]
        size = videos_per_batch if videos_per_batch > 0 else max(len(work), 1)
        chunks = [work[start:start + size] for start in range(0, len(work), size)] or [[]]
        return [FrameBatch(
            label=f"videos_{index * size + 1}_to_{index * size + len(chunk)}" if chunk
            else "nothing_changed",
            extract=[item for kind, item in chunk if kind == "extract"],
            repose=[item for kind, item in chunk if kind == "repose"])
            for index, chunk in enumerate(chunks)]


def plan_class(lake: Lake, dance_class: str, videos: pd.DataFrame, previous: PreviousClass,
               params: ExtractionParams, pose_settings: PoseSettings | None,
               reserve_bytes: int = 0) -> ClassPlan:
    """Decide what one class needs, before any of its batches starts.

    Sweeps the class's staging leftovers of killed runs (only here: batches running
    at once stage beside each other). Raises DanceAssetsError, before writing anything,
    when the new frames would not fit on the disk with `reserve_bytes` to spare.
    """
    sweep_stale_temps(lake.frames / dance_class)
    usable = videos[videos["status"] == "ok"].drop_duplicates("video_id")
    current = {row["video_id"]: row for row in records(usable)}
    current_fingerprint = fingerprint(params)
    done_before = {
        row["video_id"]: row for row in records(previous.extractions)
        if row["status"] == "extracted" and row["params"] == current_fingerprint
    }
    reused = [vid for vid in current if vid in done_before
              and video_frames_dir(lake, dance_class, vid).is_dir()]
    posed_before = set(previous.poses["video_id"])
    pose_fingerprint = pose_settings.fingerprint() if pose_settings else None
    reposed = [vid for vid in reused if pose_settings is not None and (
        done_before[vid]["pose_params"] != pose_fingerprint or vid not in posed_before)]
    todo = [current[vid] for vid in current if vid not in reused]
    ensure_free_space(lake.frames, estimated_bytes(todo, params), reserve_bytes)
    return ClassPlan(dance_class=dance_class, current=current, done_before=done_before,
                     reused=reused, reposed=reposed, todo=todo)


Extracted = tuple[dict, list[dict], list[dict]]  # a video's summary, frame rows, pose rows


def run_batch(lake: Lake, batch: FrameBatch, params: ExtractionParams, settings: FfmpegSettings,
              pose_settings: PoseSettings | None, workers: int,
              progress: Callable[[int, int, dict], None] | None = None) -> BatchOutcome:
    """Extract and pose one batch's videos, `workers` at a time; never raises for a bad video."""

    def repose(item: tuple[dict, list[tuple[int, str]]]) -> Extracted:
        summary, frames = item
        seconds = [second for second, _ in frames]
        images = [load_rgb(lake.absolute(path)) for _, path in frames]
        summary = dict(summary)
        return summary, [], pose_video(summary, seconds, images, pose_settings, summary)

    def on_a_worker(work: Callable[..., Extracted], *args: object) -> Extracted:
        workers_used.add(threading.get_ident())
        return work(*args)

    summaries: list[dict] = []
    frame_rows: list[dict] = []
    pose_rows: list[dict] = []
    workers_used: set[int] = set()
    try:
        with ThreadPoolExecutor(max(1, workers)) as pool:
            jobs = [pool.submit(on_a_worker, repose, item) for item in batch.repose]
            jobs += [pool.submit(on_a_worker, extract_video, lake, v, params, settings,
                                 pose_settings) for v in batch.extract]
            for done, job in enumerate(jobs, 1):
                summary, rows, poses = job.result()
                summaries.append(summary)
                frame_rows.extend(rows)
                pose_rows.extend(poses)
                if progress:
                    progress(done, len(jobs), summary)
    finally:
        close_estimators(workers_used)
    return BatchOutcome(summaries, frame_rows, pose_rows)


def combine(plan: ClassPlan, previous: PreviousClass,
            outcomes: list[BatchOutcome]) -> ClassFrames:
    """The class's tables: what stays from before plus what the batches produced."""
    summaries = [plan.refreshed(vid) for vid in plan.reused if vid not in plan.reposed]
    summaries += [s for outcome in outcomes for s in outcome.summaries]
    kept = previous.frames[previous.frames["video_id"].isin(plan.reused)].copy()
    if not kept.empty:
        kept["participant"] = kept["video_id"].map(lambda v: plan.current[v]["participant"])
    kept_poses = previous.poses[previous.poses["video_id"].isin(
        set(plan.reused) - set(plan.reposed))]
    return ClassFrames(
        frames=_combined(kept, [r for o in outcomes for r in o.frame_rows], "frames"),
        extractions=pd.DataFrame(summaries, columns=SCHEMAS["extractions"].names).sort_values(
            "path", ignore_index=True),
        poses=_combined(kept_poses, [r for o in outcomes for r in o.pose_rows], "poses"),
        extracted=[s["video_id"] for s in summaries if s["status"] == "extracted"
                   and s["video_id"] not in plan.reused],
        reused=plan.reused,
        reposed=plan.reposed,
        failed=[s["video_id"] for s in summaries if s["status"] == "failed"],
        removed=sorted(set(previous.extractions["video_id"]) - set(plan.current)),
    )


def extract_class(lake: Lake, dance_class: str, videos: pd.DataFrame, previous: PreviousClass,
                  params: ExtractionParams, settings: FfmpegSettings,
                  pose_settings: PoseSettings | None, workers: int,
                  progress: Callable[[int, int, dict], None] | None = None,
                  reserve_bytes: int = 0) -> ClassFrames:
    """Bring one class's frames and poses in line with its `ok` videos, doing only what
    changed, in one batch: what the video_frames asset does when its steps are not split.

    `pose_settings` None leaves the pose step out (the benchmark's "without poses").
    """
    plan = plan_class(lake, dance_class, videos, previous, params, pose_settings,
                      reserve_bytes)
    (batch,) = plan.batches(previous.frames)
    outcome = run_batch(lake, batch, params, settings, pose_settings, workers, progress)
    return combine(plan, previous, [outcome])


def _combined(kept: pd.DataFrame, new_rows: list[dict], table: str) -> pd.DataFrame:
    """Rows kept from before plus new ones, in (video, second) order."""
    new = pd.DataFrame(new_rows, columns=SCHEMAS[table].names)
    combined = pd.concat([df for df in (kept, new) if not df.empty] or [new], ignore_index=True)
    return combined.sort_values(["video_id", "second"], ignore_index=True)


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
