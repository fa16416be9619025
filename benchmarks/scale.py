"""Scale rehearsal without real video: the manifest and the sensor at two sizes.

With --plan it writes no new measurements but combines the stored ones (this
benchmark's, extract.json, fan_out.json, train.json and the H200's train-cuda-h200.json) into the
scale plan (docs/cluster.md): the time of ingest, manifest and training for 1k, 10k and 100k
phone videos on one 2-core box, on CPU pods and on one to eight GPU nodes.

Manifest: synthetic `frames` tables (12 class partitions, 50 frames per video, 20
participants) are read, curated and written exactly as frame_manifest does
(read_table → build_manifest → write_table). Sensor: a full new_videos_sensor tick
over empty stand-in files, cold and unchanged. Each size runs in its own process so
its peak memory (max RSS) is its own. Cost should grow linearly: the larger size
should take about (large / small) times as long.

    python benchmarks/scale.py [--frames 1000000 5000000 --files 20000 100000]
    python benchmarks/scale.py --plan      # writes results/scale-plan.md
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
FRAMES_PER_VIDEO = 50


def synthetic_frames(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n_videos = max(1, n // FRAMES_PER_VIDEO)
    video = np.arange(n) // FRAMES_PER_VIDEO
    second = np.arange(n) % FRAMES_PER_VIDEO
    video_ids = pd.Series(video).map("{:016x}".format)
    classes = np.array([f"class_{c:02d}" for c in range(12)])[video % 12]
    frame_ids = video_ids + "_" + pd.Series(second).map("{:05d}".format)
    duplicate = np.where(rng.random(n) < 0.01, frame_ids.shift(1), None)
    return pd.DataFrame({
        "frame_id": frame_ids, "video_id": video_ids, "dance_class": classes,
        "participant": np.array([f"p{p:02d}" for p in range(20)])[(video // 12) % 20],
        "second": second, "path": "frames/" + pd.Series(classes) + "/" + frame_ids + ".jpg",
        "width": 256, "height": 455,
        "brightness": rng.uniform(30, 220, n), "contrast": rng.uniform(5, 50, n),
        "sharpness": rng.uniform(20, 300, n), "noise": rng.uniform(0, 2.5, n),
        "subject_score": rng.uniform(0, 0.6, n), "near_duplicate_of": duplicate,
        "uniform_share": rng.uniform(0.1, 0.7, n),
    }).assign(videos=n_videos)


def manifest_run(n: int) -> dict:
    from dance_assets.core.curation.cleaning import CleaningThresholds
    from dance_assets.core.curation.manifest import ManifestSettings, build_manifest
    from dance_assets.core.lake import tables
    from dance_assets.core.lake.lake import Lake

    with tempfile.TemporaryDirectory() as scratch:
        lake = Lake.resolve(scratch)
        frames = synthetic_frames(n)
        videos = int(frames.pop("videos").iloc[0])
        for dance_class, part in frames.groupby("dance_class"):
            tables.write_table(lake, "frames", part, dance_class=str(dance_class))
        del frames, part
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        frames = tables.read_table(lake, "frames")
        read_s = time.perf_counter() - started
        built = build_manifest(frames, pd.DataFrame(columns=["frame_id", "decision", "note"]),
                               ManifestSettings(CleaningThresholds()))
        build_s = time.perf_counter() - started - read_s
        tables.write_table(lake, "frame_manifest", built)
        total_s = time.perf_counter() - started
        kept = int(built["keep"].sum())
    return {"frames": n, "videos": videos, "kept": kept, "read_s": round(read_s, 2),
            "build_s": round(build_s, 2), "write_s": round(total_s - read_s - build_s, 2),
            "total_s": round(total_s, 2), "us_per_frame": round(1e6 * total_s / n, 2),
            "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
            "rss_before_gb": round(before / 1e6, 2)}


def sensor_run(n: int) -> dict:
    import dagster as dg

    from dance_assets.resources import LakeResource
    from dance_assets.sensors import new_videos_sensor

    with tempfile.TemporaryDirectory() as scratch, dg.instance_for_test() as instance:
        root = Path(scratch)
        for index in range(n):
            folder = root / "raw" / f"class_{index % 12:02d}" / f"batch_{index // 2000}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"p{index:07d}.mp4").touch()

        def tick(cursor: str | None) -> tuple[float, dg.SensorResult]:
            context = dg.build_sensor_context(instance=instance, cursor=cursor,
                                              resources={"lake": LakeResource(root=scratch)})
            started = time.perf_counter()
            result = new_videos_sensor(context)
            return time.perf_counter() - started, result

        cold_s, first = tick(None)
        unchanged = [tick(first.cursor)[0] for _ in range(3)]
    return {"files": n, "cold_tick_s": round(cold_s, 3),
            "unchanged_tick_s": round(min(unchanged), 3),
            "us_per_file": round(1e6 * min(unchanged) / n, 2),
            "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2)}


def in_fresh_process(kind: str, n: int) -> dict:
    done = subprocess.run([sys.executable, __file__, "--one", kind, str(n)], check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# The plan's assumptions, stated once: a phone clip, what the study's pipeline keeps of
# it, and how it trains (the paper profile: 224 px, 10 epochs, three CNNs under two
# protocols; four fifths of the kept frames train).
SECONDS_PER_VIDEO = 30
KEPT_SHARE = 0.9
TRAIN_SHARE = 0.8
EPOCHS = 10
TRAININGS_PER_ARCH = 2  # random_frames and by_participant
CLASS_PARTITIONS = 12
PODS = 100
VIDEOS_PER_STEP = 8  # deploy/helm/values.yaml's DANCE_VIDEOS_PER_STEP
GPU = "H200"  # the lent GPU the throughput was measured on, and its memory
GPU_MEMORY_GB = 141
PIXELS_224 = 224 * 224 * 3


def _hours(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"


def _makespan(jobs: list[float], slots: int) -> float:
    """Longest-first onto the least busy of `slots` (the gpu pool's limit)."""
    busy = [0.0] * slots
    for job in sorted(jobs, reverse=True):
        busy[busy.index(min(busy))] += job
    return max(busy)


def scale_plan(results: Path) -> str:
    """The scale table (results/scale-plan.md), from the stored benchmark results."""
    extract = json.loads((results / "extract.json").read_text())
    rehearsal = json.loads((results / "scale.json").read_text())
    cpu = json.loads((results / "train.json").read_text())
    gpu = json.loads((results / f"train-cuda-{GPU.lower()}.json").read_text())
    frame_s = (extract["wall_seconds"]["ours_skip_nonref_with_poses"]
               / extract["sampled_frames"])  # decode, features and pose, per 2-core box
    manifest_us = rehearsal["manifest"][-1]["us_per_frame"]
    manifest_kb = 1e6 * (rehearsal["manifest"][-1]["peak_rss_gb"]
                         - rehearsal["manifest"][-1]["rss_before_gb"]) / rehearsal[
        "manifest"][-1]["frames"]
    sensor_us = rehearsal["sensor"][-1]["us_per_file"]
    step_start_s = json.loads((results / "fan_out.json").read_text())["step_start_median_s"]
    # CPU throughput was measured at 128 px; a 224 px image costs (224/128)^2 as much.
    cpu_resnet = (cpu["throughput"]["resnet18"]["ours_fast_path_on_img_per_s"]
                  * (cpu["image_size"] / 224) ** 2)
    gpu_rates = {arch: row["ours_fast_path_on_img_per_s"]
                 for arch, row in gpu["throughput"].items()}
    rows = [f"| videos | frames (kept) | ingest: 1 box | {CLASS_PARTITIONS} pods (a class "
            f"a step) | {PODS} pods ({VIDEOS_PER_STEP} videos a step) | manifest | "
            "sensor tick | ResNet18 on 1 CPU box "
            "| six CNNs on 1 GPU | on 8 GPUs | frame cache at 224 px |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for videos in (1_000, 10_000, 100_000):
        frames = videos * SECONDS_PER_VIDEO
        kept = frames * KEPT_SHARE
        ingest = frames * frame_s
        # Batches of VIDEOS_PER_STEP videos in waves of PODS, each step paying its start;
        # the plan and publish steps of each class add two more starts.
        waves = -(-videos // VIDEOS_PER_STEP // PODS)
        fanned = (waves * (VIDEOS_PER_STEP * SECONDS_PER_VIDEO * frame_s + step_start_s)
                  + 2 * step_start_s)
        per_image = kept * TRAIN_SHARE * EPOCHS
        trainings = [per_image / rate for rate in gpu_rates.values()
                     for _ in range(TRAININGS_PER_ARCH)]
        cache_gb = kept * PIXELS_224 / 1e9
        rows.append(
            f"| {videos:,} | {frames:,} ({kept:,.0f}) | {_hours(ingest)} "
            f"| {_hours(ingest / CLASS_PARTITIONS)} | {_hours(fanned)} "
            f"| {_hours(frames * manifest_us / 1e6)}, {frames * manifest_kb / 1e6:.1f} GB "
            f"| {_hours(videos * sensor_us / 1e6)} | {_hours(per_image / cpu_resnet)} "
            f"| {_hours(sum(trainings))} | {_hours(_makespan(trainings, 8))} "
            f"| {cache_gb:,.0f} GB |")
    breaks_at = GPU_MEMORY_GB * 1e9 / PIXELS_224 / KEPT_SHARE / SECONDS_PER_VIDEO
    return "\n".join([
        f"Assumed: {SECONDS_PER_VIDEO} s phone videos at 720x1280, one frame per second, "
        f"{KEPT_SHARE:.0%} kept, {TRAIN_SHARE:.0%} of those train; the paper profile "
        f"(224 px, {EPOCHS} epochs, three CNNs x two protocols). Measured: "
        f"{1000 * frame_s:.0f} ms per frame to decode, describe and pose on a 2-core box "
        f"(extract.json); the manifest at {manifest_us} us and {manifest_kb:.2f} kB per "
        f"frame and the sensor at {sensor_us} us per file (scale.json); {step_start_s} s "
        "for Dagster to start a step's process (fan_out.json; a pod's scheduling and "
        "image pull come on top and are not measured); ResNet18 at "
        f"{cpu_resnet:.0f} img/s on the 2-core CPU at 224 px (train.json, scaled from "
        f"{cpu['image_size']} px); on one {GPU} "
        + ", ".join(f"{a} {r:,.0f}" for a, r in gpu_rates.items())
        + f" img/s (train-cuda-{GPU.lower()}.json). A pod is one 2-core box; pods and GPU "
        "nodes are "
        "assumed to add up linearly (the lake's volume must keep up). The frame cache "
        f"fills one {GPU_MEMORY_GB} GB GPU at about {breaks_at:,.0f} videos.",
        "", *rows, ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, nargs=2, default=[1_000_000, 5_000_000])
    parser.add_argument("--files", type=int, nargs=2, default=[20_000, 100_000])
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "scale.json")
    parser.add_argument("--plan", action="store_true",
                        help="write results/scale-plan.md from the stored results")
    args = parser.parse_args()
    if args.plan:
        plan = scale_plan(HERE / "results")
        (HERE / "results" / "scale-plan.md").write_text(plan)
        print(plan)
        return
    if args.one:
        kind, n = args.one
        print(json.dumps((manifest_run if kind == "manifest" else sensor_run)(int(n))))
        return
    manifest = [in_fresh_process("manifest", n) for n in args.frames]
    sensor = [in_fresh_process("sensor", n) for n in args.files]
    report = {
        "benchmark": "scale rehearsal (synthetic metadata, no video)",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "manifest": manifest,
        "manifest_growth": {
            "size_ratio": args.frames[1] / args.frames[0],
            "time_ratio": round(manifest[1]["total_s"] / manifest[0]["total_s"], 2)},
        "sensor": sensor,
        "sensor_growth": {
            "size_ratio": args.files[1] / args.files[0],
            "time_ratio": round(sensor[1]["unchanged_tick_s"] / sensor[0]["unchanged_tick_s"],
                                2)},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
