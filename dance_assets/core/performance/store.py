"""Performances kept in the lake's cache, by content: what a video gave once is not read again.

A teacher's video is scored against again and again (every student of the dance), and a
lake dancer's is read by the music asset and by `score`, so what reading a video gives
(its dense poses, its pixel motion when read, its beats) is kept in cache/poses/, named
by the video's content hash and the pose settings: a renamed copy is found again, a
changed video or setting is read anew. Entries are written atomically; like everything
under cache/, they are derived and safe to delete.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dance_assets.core.ingest.dense_poses import DensePoses, DenseSettings
from dance_assets.core.ingest.motion import VERSION as MOTION_VERSION
from dance_assets.core.ingest.motion import PixelMotion
from dance_assets.core.lake.lake import atomic_path
from dance_assets.core.performance.beats import VERSION as BEATS_VERSION
from dance_assets.core.performance.beats import Beats

_ARRAYS = ("times", "x", "y", "visibility", "people")
_BEATS = ("tempo_bpm", "times", "onsets", "chroma", "hop_s")


@dataclass(frozen=True)
class Heard:
    """What a video's sound gave: its beats, or None and why there are none."""

    beats: Beats | None
    no_beat: str  # "" where there are beats


def content_id(path: Path) -> str:
    """The first 16 hex digits of the file's sha256, as the lake names videos."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def entry_path(cache: Path, video_id: str, settings: DenseSettings) -> Path:
    tag = hashlib.sha256(settings.fingerprint().encode()).hexdigest()[:8]
    return cache / "poses" / f"{video_id}-{tag}.npz"


def save_poses(path: Path, poses: DensePoses, heard: Heard | None = None) -> None:
    """Write the poses, their pixel motion if read, and what the sound gave if it was
    heard (not the frames), atomically."""
    # Half precision: the grid is a minute of video's largest array (3 MB in single).
    motion = ({"motion_times": poses.motion.times,
               "motion_grid": poses.motion.grid.astype(np.float16),
               "motion_version": np.array(MOTION_VERSION)}
              if poses.motion is not None else {})
    sound = {}
    if heard is not None:
        sound = {"beats_version": np.array(BEATS_VERSION), "no_beat": np.array(heard.no_beat)}
        if heard.beats is not None:
            sound |= {f"beats_{name}": np.asarray(getattr(heard.beats, name))
                      for name in _BEATS}
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, fsync=False) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **{name: getattr(poses, name) for name in _ARRAYS},
                 size=np.array([poses.width, poses.height]), rate=np.array(poses.rate),
                 **motion, **sound)


def load_poses(path: Path) -> tuple[DensePoses, Heard | None] | None:
    """Poses saved by save_poses and what their sound gave (None where it was not heard,
    or by another version of the beats), or None when there is nothing readable."""
    try:
        with np.load(path) as stored:
            width, height = (int(v) for v in stored["size"])
            motion = (PixelMotion(times=stored["motion_times"],
                                  grid=stored["motion_grid"].astype(np.float32))
                      if "motion_version" in stored.files
                      and int(stored["motion_version"]) == MOTION_VERSION else None)
            poses = DensePoses(**{name: stored[name] for name in _ARRAYS[:4]},
                               people=stored["people"], width=width, height=height,
                               rate=float(stored["rate"]), motion=motion)
            return poses, _heard(stored)
    except (OSError, KeyError, ValueError):
        return None


def _heard(stored: np.lib.npyio.NpzFile) -> Heard | None:
    if "beats_version" not in stored.files or int(stored["beats_version"]) != BEATS_VERSION:
        return None
    if "beats_times" not in stored.files:
        return Heard(None, str(stored["no_beat"]))
    beats = Beats(**{name: stored[f"beats_{name}"] for name in _BEATS})
    beats.tempo_bpm, beats.hop_s = float(beats.tempo_bpm), float(beats.hop_s)
    return Heard(beats, "")
