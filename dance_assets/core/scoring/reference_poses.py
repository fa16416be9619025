"""A video posed densely, with a teacher's poses kept in the lake's cache.

A teacher's video is scored against again and again (every student of the dance), so
its poses are kept in cache/poses/, named by the video's content hash and the pose
settings: a renamed copy is found again, a changed video or setting is posed anew. The
`choreography` asset fills the cache for the lake's teacher videos; `score` fills it
for a teacher given on the command line. Like everything under cache/, it is derived
and safe to delete.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from dance_assets.core.ingest.dense_poses import DensePoses, DenseSettings, decode, read_video
from dance_assets.core.ingest.motion import VERSION as MOTION_VERSION
from dance_assets.core.ingest.motion import PixelMotion
from dance_assets.core.ingest.video import FfmpegSettings, VideoError, output_size, probe_video
from dance_assets.core.lake.errors import DanceAssetsError, UnusableVideo
from dance_assets.core.lake.lake import Lake, atomic_path

_ARRAYS = ("times", "x", "y", "visibility", "people")


def content_id(path: Path) -> str:
    """The first 16 hex digits of the file's sha256, as the lake names videos."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def cache_path(lake: Lake, video_id: str, settings: DenseSettings) -> Path:
    tag = hashlib.sha256(settings.fingerprint().encode()).hexdigest()[:8]
    return lake.cache / "poses" / f"{video_id}-{tag}.npz"


def save_poses(path: Path, poses: DensePoses) -> None:
    """Write the poses and their pixel motion, if read (not the frames), atomically."""
    # Half precision: the grid is a minute of video's largest array (3 MB in single).
    motion = ({"motion_times": poses.motion.times,
               "motion_grid": poses.motion.grid.astype(np.float16),
               "motion_version": np.array(MOTION_VERSION)}
              if poses.motion is not None else {})
    with atomic_path(path, fsync=False) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **{name: getattr(poses, name) for name in _ARRAYS},
                 size=np.array([poses.width, poses.height]), rate=np.array(poses.rate),
                 **motion)


def load_poses(path: Path) -> DensePoses | None:
    """Poses saved by save_poses, or None when there are none readable."""
    try:
        with np.load(path) as stored:
            width, height = (int(v) for v in stored["size"])
            motion = (PixelMotion(times=stored["motion_times"],
                                  grid=stored["motion_grid"].astype(np.float32))
                      if "motion_version" in stored.files
                      and int(stored["motion_version"]) == MOTION_VERSION else None)
            return DensePoses(**{name: stored[name] for name in _ARRAYS[:4]},
                              people=stored["people"], width=width, height=height,
                              rate=float(stored["rate"]), motion=motion)
    except (OSError, KeyError, ValueError):
        return None


def cached_poses(lake: Lake, video: Path, ffmpeg: FfmpegSettings,
                 settings: DenseSettings, motion: bool = False) -> DensePoses:
    """The video's dense poses (without its frames), from the cache or posed and cached;
    with `motion`, its pixel motion too (a cached entry without it is posed again)."""
    target = cache_path(lake, content_id(video), settings)
    poses = load_poses(target) if target.is_file() else None
    if poses is None or (motion and poses.motion is None):
        poses = read_video(video, ffmpeg, settings, motion=motion)
        save_poses(target, poses)
    return poses


def poses_of(lake: Lake, video: Path, ffmpeg: FfmpegSettings, settings: DenseSettings,
             cached: bool, motion: bool = False) -> DensePoses:
    """The video's dense poses with its frames (for the report), with `motion` its pixel
    motion too; with `cached`, poses are taken from and kept in the lake's cache (the
    `music` asset's and the choreography's), and only the frames are decoded again."""
    if not cached:
        return read_video(video, ffmpeg, settings, keep_frames=True, motion=motion)
    if not video.is_file():
        raise DanceAssetsError(f"no such file: {video}")
    target = cache_path(lake, content_id(video), settings)
    stored = load_poses(target) if target.is_file() else None
    if stored is None or (motion and stored.motion is None):
        poses = read_video(video, ffmpeg, settings, keep_frames=True, motion=motion)
        save_poses(target, poses)
        return poses
    try:
        probe = probe_video(video, ffmpeg)
    except VideoError as exc:
        raise UnusableVideo(video, exc) from None
    size = output_size(probe, settings.short_side)
    stored.frames = list(decode(video, settings.rate, size, ffmpeg))[:len(stored)]
    return stored
