"""Frame extraction throughput against its bound and a naive baseline, in one run.

On the same videos:
- bound: ffmpeg decoding every video to a null sink, as many at once as we run
  (and, if faster, one at a time with ffmpeg's own threads): decoding is the floor;
- naive: one `ffmpeg -i VIDEO -vf fps=1 %05d.jpg` after another;
- ours: `extract_class`, exactly what the video_frames asset runs (decoding, scaling,
  JPEG, quality features, staging and renaming), with and without skipping
  non-reference frames.
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
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from dance_assets.core.frames import extract_class
from dance_assets.core.generator import DANCE_CLASSES, generate, plan_videos
from dance_assets.core.ingest import ProbeLimits, scan_class
from dance_assets.core.lake import Lake
from dance_assets.core.tables import empty_frame
from dance_assets.core.video import ExtractionParams, FfmpegSettings, find_ffmpeg

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

    def ours(skip_nonref: bool) -> Callable[[], None]:
        def run() -> None:
            result = extract_class(lake, dance, usable, empty_frame("frames"),
                                   empty_frame("extractions"),
                                   ExtractionParams(skip_nonref=skip_nonref), settings, workers)
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
        "ours_skip_nonref": best_of(args.repeats, ours(True), reset),
        "ours_full_decode": best_of(args.repeats, ours(False), reset),
    }
    frames = ours.frames  # type: ignore[attr-defined]
    reset()
    shutil.rmtree(scratch, ignore_errors=True)
    bound = min(seconds["bound_null_decode_parallel"],
                seconds["bound_null_decode_sequential_threaded"])
    throughput = {name: frames / value for name, value in seconds.items()}
    ratios = {
        "ours_vs_bound": bound / seconds["ours_skip_nonref"],
        "ours_full_decode_vs_bound": bound / seconds["ours_full_decode"],
        "ours_vs_naive": seconds["naive_sequential_fps1"] / seconds["ours_skip_nonref"],
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
        "targets": {"ours_vs_bound": ">= 0.85", "ours_vs_naive": "> 1"},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(pd.Series(result["wall_seconds"]).to_string())
    print(json.dumps(result["ratios"], indent=2))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
