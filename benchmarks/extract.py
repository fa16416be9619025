"""Frame extraction throughput against its bound and a naive baseline, in one run.

On the same videos:
- bound: ffmpeg decoding every video to a null sink, as many at once as we run
  (and, if faster, one at a time with ffmpeg's own threads): decoding is the floor;
- naive: one `ffmpeg -i VIDEO -vf fps=1 %05d.jpg` after another;
- ours: `extract_class`, what the video_frames asset's steps run when a class is one
  batch, as on one machine (plan, then decoding, scaling, JPEG, quality features,
  staging and renaming, then the combined tables), with and without skipping
  non-reference frames, and with and without the pose step.
Then the pose step alone, on the same decoded frames held in memory, as many threads
as cores:
- bare: MediaPipe's solutions.pose called in a loop, one call per frame;
- ours_same_work: the project's pose step doing the same single call per frame (no
  people counting, no zoom): what our wrapping costs;
- ours_default: the default settings, which also count people (a second, masked call)
  and look again in windows when nobody is found.
Each figure is the best of --repeats runs, so a disk-cache miss does not count.
Throughput is sampled frames per second of wall time: the same frames for all.

    python benchmarks/extract.py [--videos 12 --seconds 20 --size 720x1280]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from dance_assets.core.ingest.frames import PreviousClass, extract_class
from dance_assets.core.ingest.ingest import ProbeLimits, scan_class
from dance_assets.core.ingest.pose import PoseSettings, estimator
from dance_assets.core.ingest.quality import load_rgb
from dance_assets.core.ingest.video import ExtractionParams, FfmpegSettings, find_ffmpeg
from dance_assets.core.lake.lake import Lake
from dance_assets.core.lake.tables import empty_frame
from dance_assets.core.synthetic.dances import DANCE_CLASSES
from dance_assets.core.synthetic.plans import plan_videos
from dance_assets.core.synthetic.writing import generate

HERE = Path(__file__).resolve().parent


def best_of(repeats: int, run: Callable[[], None], reset: Callable[[], None]) -> float:
    times = []
    for _ in range(repeats):
        reset()
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--size", default="720x1280")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "extract.json")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    workers = os.cpu_count() or 1
    binary = find_ffmpeg()
    settings = FfmpegSettings(binary, threads=1, timeout_s=600)

    work = HERE / "work" / f"extract_{args.videos}x{args.seconds:g}s_{args.size}"
    lake = Lake.resolve(work)
    dance = DANCE_CLASSES[0]
    specs = plan_videos([dance], args.videos, args.seconds, (width, height), seed=1)
    generate(lake.raw, specs, binary)
    videos = scan_class(lake, dance, settings, ProbeLimits(), empty_frame("videos"),
                        empty_frame("videos"), workers)
    usable = videos[videos["status"] == "ok"]
    paths = [lake.absolute(p) for p in usable["path"]]
    scratch = Path(tempfile.mkdtemp(prefix="extract-bench-"))

    def null_decode(path: Path, threads: int) -> None:
        subprocess.run([binary, "-hide_banner", "-nostdin", "-v", "error", "-threads",
                        str(threads), "-i", str(path), "-f", "null", "-"], check=True)

    def bound_parallel() -> None:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda p: null_decode(p, 1), paths))

    def bound_sequential() -> None:
        for path in paths:
            null_decode(path, 0)

    def naive() -> None:
        for index, path in enumerate(paths):
            out = scratch / f"naive{index}"
            out.mkdir(parents=True, exist_ok=True)
            subprocess.run([binary, "-hide_banner", "-nostdin", "-v", "error", "-i", str(path),
                            "-vf", "fps=1", str(out / "%05d.jpg")], check=True)

    nothing_yet = PreviousClass(empty_frame("frames"), empty_frame("extractions"),
                                empty_frame("poses"))

    def ours(skip_nonref: bool, poses: PoseSettings | None) -> Callable[[], None]:
        def run() -> None:
            result = extract_class(lake, dance, usable, nothing_yet,
                                   ExtractionParams(skip_nonref=skip_nonref), settings, poses,
                                   workers)
            assert not result.failed
            ours.frames = len(result.frames)  # type: ignore[attr-defined]
        return run

    def reset() -> None:
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(lake.frames, ignore_errors=True)

    bound_parallel()  # warm the page cache once
    seconds = {
        "bound_null_decode_parallel": best_of(args.repeats, bound_parallel, reset),
        "bound_null_decode_sequential_threaded": best_of(args.repeats, bound_sequential, reset),
        "naive_sequential_fps1": best_of(args.repeats, naive, reset),
        "ours_skip_nonref": best_of(args.repeats, ours(True, None), reset),
        "ours_full_decode": best_of(args.repeats, ours(False, None), reset),
        "ours_skip_nonref_with_poses": best_of(args.repeats, ours(True, PoseSettings()),
                                               reset),
    }
    frames = ours.frames  # type: ignore[attr-defined]
    decoded = [[load_rgb(p) for p in sorted(folder.glob("*.jpg"))]
               for folder in sorted((lake.frames / dance).iterdir())]
    seconds.update(pose_seconds(decoded, workers, args.repeats))
    reset()
    shutil.rmtree(scratch, ignore_errors=True)
    bound = min(seconds["bound_null_decode_parallel"],
                seconds["bound_null_decode_sequential_threaded"])
    throughput = {name: frames / value for name, value in seconds.items()}
    ratios = {
        "ours_vs_bound": bound / seconds["ours_skip_nonref"],
        "ours_full_decode_vs_bound": bound / seconds["ours_full_decode"],
        "ours_vs_naive": seconds["naive_sequential_fps1"] / seconds["ours_skip_nonref"],
        "poses_added_seconds_per_1000_frames": 1000 / frames * (
            seconds["ours_skip_nonref_with_poses"] - seconds["ours_skip_nonref"]),
        "pose_same_work_vs_bare": seconds["pose_bare_mediapipe"]
        / seconds["pose_ours_same_work"],
        "pose_default_vs_bare": seconds["pose_bare_mediapipe"] / seconds["pose_ours_default"],
    }
    result = {
        "benchmark": "frame extraction",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": workers, "platform": platform.platform(),
                    "processor": platform.processor() or platform.machine()},
        "ffmpeg": subprocess.run([binary, "-version"], capture_output=True, text=True)
        .stdout.splitlines()[0],
        "videos": len(paths), "seconds_each": args.seconds, "size": args.size,
        "sampled_frames": frames, "repeats": args.repeats,
        "wall_seconds": {k: round(v, 3) for k, v in seconds.items()},
        "frames_per_second": {k: round(v, 1) for k, v in throughput.items()},
        "ratios": {k: round(v, 3) for k, v in ratios.items()},
        "targets": {"ours_vs_bound": ">= 0.85", "ours_vs_naive": "> 1",
                    "pose_same_work_vs_bare": ">= 0.9"},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(pd.Series(result["wall_seconds"]).to_string())
    print(json.dumps(result["ratios"], indent=2))
    print(f"written to {args.out}")


def pose_seconds(videos: list[list], workers: int, repeats: int) -> dict[str, float]:
    """The pose step alone on decoded frames: a bare MediaPipe loop against ours.

    One thread pool serves every run, and each side keeps one model per thread, made
    during the warm-up run: the timed runs measure posing, not model start-up.
    """
    from mediapipe.python.solutions import pose as mp_pose

    bare_models = threading.local()

    def bare(frames: list) -> None:
        if not hasattr(bare_models, "model"):
            bare_models.model = mp_pose.Pose(static_image_mode=True, model_complexity=1,
                                             smooth_landmarks=False)
        for frame in frames:
            bare_models.model.process(frame)

    def ours(settings: PoseSettings) -> Callable[[list], None]:
        return lambda frames: estimator(settings).video(frames)

    runs = {"pose_bare_mediapipe": bare,
            "pose_ours_same_work": ours(PoseSettings(max_people=1, zoom_when_missed=False)),
            "pose_ours_default": ours(PoseSettings())}
    timings = {}
    with ThreadPoolExecutor(workers) as pool:
        for name, work in runs.items():
            list(pool.map(work, videos * workers))  # every thread gets its model
            timings[name] = best_of(repeats, lambda w=work: list(pool.map(w, videos)),
                                    lambda: None)
    return timings


if __name__ == "__main__":
    main()
