"""What the teacher-scoring and music benchmarks both need: a measured value judged
against its target, the share of flags that hold, a WIDTHxHEIGHT argument, and dense
poses cached by the video's content and the pose settings (so a rerun poses nothing it
has posed before). `python benchmarks/NAME.py` puts this folder on the path."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from provenance import OtherLoad

from dance_assets.core.ingest.dense_poses import DEFAULT_SETTINGS, DensePoses
from dance_assets.core.ingest.video import FfmpegSettings
from dance_assets.core.performance.performance import Performance, read_performance
from dance_assets.core.performance.store import content_id, entry_path


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


def pose_cache_path(video: Path, work: Path) -> Path:
    """Where read_once keeps the video's performance under `work`."""
    return entry_path(work, content_id(video), DEFAULT_SETTINGS)


def read_once(video: Path, work: Path, ffmpeg: str, motion: bool = False) -> Performance:
    """The video read as `score` reads it (core/performance), kept by content in
    `work`/poses/ (with `motion`, her pixel motion too)."""
    return read_performance(video, FfmpegSettings(ffmpeg, threads=1, timeout_s=600),
                            cache=work, motion=motion)


def cached_poses(video: Path, work: Path, ffmpeg: str, motion: bool = False) -> DensePoses:
    """The video's dense poses, read once (read_once)."""
    return read_once(video, work, ffmpeg, motion).poses


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
