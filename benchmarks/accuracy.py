"""Accuracy over training seeds: one architecture, the demo profile's settings, both
protocols, trained as the model assets train it (core.learning.training.train on the cached
frames). The demo itself trains one seed; this says how far that one run can be from
the mean.

    python benchmarks/accuracy.py --lake data_lake [--arch resnet18 --seeds 0 1 2]
        [--set batch_size=16 --set lr=0.001]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from demo_lake import curated_lake

from dance_assets.core.curation.splits import split_column
from dance_assets.core.lake.catalogue import ARCHITECTURES, PROTOCOLS
from dance_assets.core.lake.profiles import get_profile
from dance_assets.core.learning.compute import ComputeSettings
from dance_assets.core.learning.frame_cache import kept_frames_cache
from dance_assets.core.learning.frame_images import INPUT_MODES
from dance_assets.core.learning.training import TrainSettings, frame_sets, train

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", type=Path, default=Path("data_lake"))
    parser.add_argument("--arch", default="resnet18", choices=ARCHITECTURES)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--profile", default="demo")
    parser.add_argument("--input", choices=INPUT_MODES,
                        help="what the network sees, instead of the profile's")
    parser.add_argument("--protocols", nargs="+", default=list(PROTOCOLS), choices=PROTOCOLS)
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="a TrainSettings field other than the profile's (repeatable)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "accuracy.json")
    args = parser.parse_args()
    lake, manifest, classes = curated_lake(args.lake)
    settings = TrainSettings(**get_profile(args.profile).train_config(args.arch))
    if args.input:
        settings = replace(settings, input=args.input)
    settings = replace(settings, **{field: json.loads(value) for field, value in
                                    (item.split("=", 1) for item in args.set)})
    cache = kept_frames_cache(lake, manifest, settings.image_size, settings.input)
    results = {}
    for protocol in args.protocols:
        train_set, valid_set = frame_sets(cache, manifest, split_column(protocol), classes)
        runs = []
        for seed in args.seeds:
            started = time.perf_counter()
            result = train(args.arch, train_set, valid_set, classes,
                           replace(settings, seed=seed), ComputeSettings(), report=lambda _: None,
                           own_process=True)  # this script's: glibc tuned as in a step
            runs.append({"seed": seed, "frame_pct": round(100 * result.accuracy, 1),
                         "video_pct": round(100 * result.video_accuracy, 1),
                         "videos_right": f"{result.video_correct}/{result.n_valid_videos}",
                         "seconds": round(time.perf_counter() - started)})
            print(protocol, json.dumps(runs[-1]), flush=True)
        results[protocol] = {
            "by_seed": runs,
            "mean_frame_pct": round(statistics.mean(r["frame_pct"] for r in runs), 1),
            "mean_video_pct": round(statistics.mean(r["video_pct"] for r in runs), 1)}
    report = {"benchmark": f"{args.arch} accuracy over seeds ({args.profile} profile)",
              "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
              "settings": {"image_size": settings.image_size, "input": settings.input,
                           "epochs": settings.epochs, "batch_size": settings.batch_size,
                           "lr": settings.lr, "head_dropout": settings.head_dropout},
              "lake": str(lake.root), "results": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({p: {k: v for k, v in r.items() if k != "by_seed"}
                      for p, r in results.items()}))


if __name__ == "__main__":
    main()
