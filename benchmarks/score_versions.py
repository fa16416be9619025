"""`score` end to end, this code against an earlier commit's, side by side in one run.

A speed target set against "the code when the issue started" is only meaningful when both
are measured on the same machine in the same run: CPUs differ (AVX2 only or AVX-512) and
so does the load. The earlier commit is exported with `git archive` into a scratch
folder, and each run's fresh process imports one version or the other through
PYTHONPATH (the installed packages are shared). For each repeat and each version, a new
lake: `score STUDENT --reference TEACHER` cold (the teacher posed) then warm (the
teacher's poses cached); the versions' order alternates from repeat to repeat. The pair
is score.py's speed pair (a 60 s 720x1280 teacher and its student).

Targets: this code's cold median at most 0.8 of the earlier commit's (20 % faster), and
its warm median at most 0.7 of its own cold median (a second score of the same teacher
30 % faster). Results go to benchmarks/results/score-versions.json.

    python benchmarks/score_versions.py [--baseline 48915b1 --repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from provenance import OtherLoad, machine
from score import RESULTS, speed_videos
from shared import judged, size

from dance_assets.core.ingest.video import find_ffmpeg

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"cold_over_baseline": ("<=", 0.8), "warm_over_cold": ("<=", 0.7)}
KINDS = ("cold", "warm")


def export(commit: str, folder: Path) -> Path:
    """The package of `commit`, as its files were, under `folder`."""
    archive = subprocess.run(["git", "archive", commit, "dance_assets"], cwd=ROOT,
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def timed_score(student: Path, teacher: Path, lake: Path, code: Path) -> tuple[float, float]:
    """Wall seconds of `score` in a fresh process importing the package under `code`, and
    the CPU seconds other processes used meanwhile."""
    command = [sys.executable, "-m", "dance_assets.cli", "score", str(student), "--reference",
               str(teacher), "--lake", str(lake)]
    env = {**os.environ, "PYTHONPATH": str(code)}
    with OtherLoad() as others:
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"score under {code} failed: {done.stderr.strip()[-500:]}")
    return wall, others.cpu_s


def measure(student: Path, teacher: Path, versions: dict[str, Path], repeats: int) -> dict:
    """Each version's cold and warm walls, versions alternating first."""
    walls = {name: {kind: [] for kind in KINDS} for name in versions}
    others = []
    with tempfile.TemporaryDirectory(prefix="score-versions-") as scratch:
        for repeat in range(repeats):
            order = list(versions) if repeat % 2 == 0 else list(versions)[::-1]
            for name in order:
                lake = Path(scratch) / f"{name}-{repeat}"
                for kind in KINDS:
                    wall, load = timed_score(student, teacher, lake, versions[name])
                    walls[name][kind].append(round(wall, 2))
                    others.append(load)
                    print(f"  {name} {kind} {repeat + 1}/{repeats}: {wall:.1f} s (others "
                          f"used {load:.1f} CPU s)", flush=True)
    return {"runs_s": walls, "others_cpu_s": others,
            "median_s": {name: {kind: statistics.median(values)
                                for kind, values in kinds.items()}
                         for name, kinds in walls.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="48915b1",
                        help="the earlier commit (default: the last before issue 39's work)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--speed-seconds", type=float, default=60)
    parser.add_argument("--speed-size", type=size, default=(720, 1280))
    parser.add_argument("--speed-seed", type=int, default=1)
    parser.add_argument("--speed-student", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    started = time.perf_counter()
    teacher, student, videos = speed_videos(args, find_ffmpeg())
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="score-baseline-") as folder:
        versions = {"baseline": export(args.baseline, Path(folder)), "current": ROOT}
        result = measure(student, teacher, versions, args.repeats)
    medians = result["median_s"]
    report = {
        "benchmark": "score end to end, this code against an earlier commit",
        "videos": videos, "baseline_commit": args.baseline, "current_commit": head,
        **result,
        "targets": {
            "cold_over_baseline": judged(TARGETS, "cold_over_baseline", round(
                medians["current"]["cold"] / medians["baseline"]["cold"], 3)),
            "warm_over_cold": judged(TARGETS, "warm_over_cold", round(
                medians["current"]["warm"] / medians["current"]["cold"], 3))},
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(),
        "command": shlex.join(["python", "benchmarks/score_versions.py", *sys.argv[1:]]),
        "wall_s": round(time.perf_counter() - started, 1)}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "score-versions.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: report[k] for k in ("median_s", "targets")}, indent=2))


if __name__ == "__main__":
    main()
