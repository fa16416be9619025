"""The dances' teacher videos: found under references/, checked, posed densely.

The study gave each dance a reference video that its participants learned from, and a
dancer is best judged against it (core/scoring/scoring.py). references/<dance>/ is read like a
class folder of raw/ (core/ingest/ingest.py: hidden files, OS junk and unfinished downloads
are skipped, links never followed out of it); every other file is probed, and one that
is not a usable video, or shows nobody in most of it, is recorded with the reason and
passed over. The first usable file by name is the dance's teacher; its poses are kept
in the lake's cache with its beats (core/performance/store.py), so `score` reads no more
of it than its report draws.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dance_assets.core.ingest.dense_poses import (
    DEFAULT_SETTINGS,
    DensePoses,
    DenseSettings,
    shows_a_dancer,
)
from dance_assets.core.ingest.ingest import ProbeLimits, class_folders, list_class_files
from dance_assets.core.ingest.pose_features import JOINTS, normalise
from dance_assets.core.ingest.video import FfmpegSettings
from dance_assets.core.lake.errors import DanceAssetsError, UnusableVideo
from dance_assets.core.lake.lake import Lake
from dance_assets.core.performance.performance import read_performance
from dance_assets.core.scoring.routines import TEACHER_VIDEO

USED, SPARE, REJECTED = "used", "not used", "rejected"


@dataclass(frozen=True)
class TeacherVideo:
    """One file under references/<dance>/ and what became of it."""

    dance: str
    path: Path
    status: str  # USED, SPARE (another file of the dance is used) or REJECTED
    reason: str | None = None
    poses: DensePoses | None = None


def usable_teacher(lake: Lake, path: Path, ffmpeg: FfmpegSettings, settings: DenseSettings,
                   limits: ProbeLimits) -> DensePoses:
    """The file's dense poses, from the cache or read now (and cached, with its beats),
    when it can be a teacher; DanceAssetsError says why it cannot (UnusableVideo: it is
    no video)."""
    poses = read_performance(path, ffmpeg, settings, cache=lake.cache).poses
    found = int(poses.found.sum())
    if not shows_a_dancer(found, len(poses)):
        raise DanceAssetsError(f"no dancer found in most of it (a pose in {found} of "
                               f"{len(poses)} frames)")
    if len(poses) / poses.rate > limits.max_duration_s:
        raise DanceAssetsError("too long")
    return poses


def _dance_teachers(lake: Lake, dance: str, ffmpeg: FfmpegSettings, settings: DenseSettings,
                    limits: ProbeLimits) -> list[TeacherVideo]:
    """Every file of one dance's folder, the first usable one the teacher."""
    videos: list[TeacherVideo] = []
    chosen = False
    for entry in list_class_files(lake.references, dance):
        if entry.problem:
            videos.append(TeacherVideo(dance, entry.path, REJECTED, entry.problem))
            continue
        if chosen:
            videos.append(TeacherVideo(dance, entry.path, SPARE, "another file is the teacher"))
            continue
        try:
            poses = usable_teacher(lake, entry.path, ffmpeg, settings, limits)
        except DanceAssetsError as exc:
            reason = exc.reason if isinstance(exc, UnusableVideo) else str(exc)
            videos.append(TeacherVideo(dance, entry.path, REJECTED, reason))
            continue
        videos.append(TeacherVideo(dance, entry.path, USED, None, poses))
        chosen = True
    return videos


def find_teachers(lake: Lake, ffmpeg: FfmpegSettings, settings: DenseSettings = DEFAULT_SETTINGS,
                  limits: ProbeLimits | None = None,
                  progress: Callable[[str], None] | None = None) -> list[TeacherVideo]:
    """Every file under references/, dance by dance, two dances at a time."""
    limits = limits or ProbeLimits()
    dances = class_folders(lake.references)

    def one(dance: str) -> list[TeacherVideo]:
        videos = _dance_teachers(lake, dance, ffmpeg, settings, limits)
        if progress:
            used = [v.path.name for v in videos if v.status == USED]
            progress(f"{dance}: teacher {used[0] if used else 'none usable'} "
                     f"({len(videos)} file(s))")
        return videos

    with ThreadPoolExecutor(2) as pool:  # MediaPipe lets go of the GIL: one core each
        return [video for videos in pool.map(one, dances) for video in videos]


def teacher_rows(lake: Lake, teacher: TeacherVideo) -> pd.DataFrame:
    """The `choreography` rows of a teacher: one per posed frame (NaN where nobody)."""
    poses = teacher.poses
    assert poses is not None
    skeletons = normalise(poses.x, poses.y, poses.width, poses.height)
    visibility = np.nan_to_num(poses.visibility[:, list(JOINTS)]).astype(np.float32)
    return pd.DataFrame({
        "dance_class": teacher.dance, "step": np.arange(len(poses)),
        "x": list(skeletons[..., 0]), "y": list(skeletons[..., 1]),
        "spread": [np.zeros(len(JOINTS), np.float32)] * len(poses),
        "own_cost": np.nan, "other_cost": np.nan, "n_videos": 1, "source": TEACHER_VIDEO,
        "reference_path": lake.relative(teacher.path), "steps_per_second": poses.rate,
        "visibility": list(visibility)})
