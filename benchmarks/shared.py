"""What the teacher-scoring and music benchmarks both need: a measured value judged
against its target, the share of flags that hold, a WIDTHxHEIGHT argument, and dense
poses cached by the video's content and the pose settings (so a rerun poses nothing it
has posed before). `python benchmarks/NAME.py` puts this folder on the path."""

from __future__ import annotations

import hashlib
import subprocess
import time
from pathlib import Path

from provenance import OtherLoad

from dance_assets.core.ingest.dense_poses import DEFAULT_SETTINGS, DensePoses, read_video
from dance_assets.core.ingest.video import FfmpegSettings
from dance_assets.core.scoring.reference_poses import content_id, load_poses, save_poses


def judged(targets: dict[str, tuple[str, float]], name: str, value: float | None) -> dict:
    """A measured value beside its target, and whether it is met."""
    relation, bound = targets[name]
    met = None if value is None else (value <= bound if relation == "<=" else value >= bound)
    return {"value": value, "target": f"{relation} {bound:g}", "met": met}


def share(flags: list[bool | None]) -> float | None:
    """The share of flags that hold, those not measured (None) left out."""
    counted = [bool(f) for f in flags if f is not None]
    return round(sum(counted) / len(counted), 4) if counted else None


def size(text: str) -> tuple[int, int]:
    width, height = (int(v) for v in text.split("x"))
    return width, height


def pose_cache_path(video: Path, cache: Path) -> Path:
    tag = hashlib.sha256(DEFAULT_SETTINGS.fingerprint().encode()).hexdigest()[:8]
    return cache / f"{content_id(video)}-{tag}.npz"


def cached_poses(video: Path, cache: Path, ffmpeg: str, motion: bool = False) -> DensePoses:
    """The video's dense poses (with `motion`, its pixel motion too), from `cache` when its
    content and the settings match."""
    target = pose_cache_path(video, cache)
    stored = load_poses(target) if target.is_file() else None
    if stored is not None and (stored.motion is not None or not motion):
        return stored
    poses = read_video(video, FfmpegSettings(ffmpeg, threads=1, timeout_s=600), motion=motion)
    cache.mkdir(parents=True, exist_ok=True)
    save_poses(target, poses)
    return poses


def fresh_process(command: list[str]) -> tuple[float, list[str], str, float]:
    """Wall time of `command` in a fresh process, its output lines (a run that fails is
    timed all the same, its exit status first), its stderr, and the CPU seconds other
    processes used meanwhile."""
    with OtherLoad() as others:
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
    lines = (done.stdout + done.stderr).strip().splitlines()
    if done.returncode != 0:
        lines = [f"exit status {done.returncode}", *lines]
    return wall, lines, done.stderr, others.cpu_s
