"""Learning rates per architecture, as fastai's lr_find suggests them on the demo's input.

For each architecture, with the demo profile's image size, input mode and batch size,
fastai's `lr_find` runs on the training side of the honest protocol (by_participant)
for several seeds; its four suggestions (valley, slide, minimum/10, steepest) are
recorded beside the rate the demo trains each with unless a run sets `lr` or `find_lr`
(TrainSettings.default_lr: with batch norm added to AlexNet's and SqueezeNet's bodies).

    python benchmarks/lr.py --lake data_lake [--seeds 3]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import warnings
from datetime import UTC, datetime
from pathlib import Path

import torch
from demo_lake import curated_lake

from dance_assets.core.curation.splits import split_column
from dance_assets.core.lake.catalogue import ARCHITECTURES
from dance_assets.core.lake.lake import Lake
from dance_assets.core.lake.profiles import get_profile
from dance_assets.core.learning.compute import ComputeSettings, fast_path_mode
from dance_assets.core.learning.frame_cache import kept_frames_cache
from dance_assets.core.learning.training import (
    TrainSettings,
    build_learner,
    dataloaders,
    frame_sets,
)

HERE = Path(__file__).resolve().parent
warnings.filterwarnings("ignore")


def suggestions(arch: str, lake: Lake, manifest, classes: list[str], seed: int) -> dict:
    """fastai's lr_find on one architecture at the demo profile's settings."""
    from fastai.callback.schedule import minimum, slide, steep, valley
    from fastai.torch_core import set_seed
    from fastcore.basics import noop

    from dance_assets.core.learning.callbacks import use_fast_path

    profile = get_profile("demo")
    config = profile.train_config(arch)
    settings = TrainSettings(image_size=int(config["image_size"]),
                             batch_size=profile.batch_size, augment=profile.augment,
                             input=profile.input, seed=seed)
    train_set, valid_set = frame_sets(
        kept_frames_cache(lake, manifest, settings.image_size, settings.input,
                          report=lambda _: None),
        manifest, split_column("by_participant"), classes)
    compute = ComputeSettings(device="cpu")
    set_seed(seed, reproducible=True)
    learn = build_learner(arch, dataloaders(train_set, valid_set, settings, "cpu", 0),
                          len(classes), settings, compute)
    learn.logger = noop
    use_fast_path(learn, fast_path_mode(compute, "cpu"))
    with learn.no_bar():
        found = learn.lr_find(suggest_funcs=(valley, slide, minimum, steep), show_plot=False)
    return {"image_size": settings.image_size,
            **{name: float(f"{getattr(found, name):.2e}")
               for name in ("valley", "slide", "minimum", "steep")}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", type=Path, default=Path("data_lake"))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "lr.json")
    args = parser.parse_args()
    lake, manifest, classes = curated_lake(args.lake)
    torch.set_num_threads(os.cpu_count() or 1)
    results = {}
    for arch in ARCHITECTURES:
        runs = [suggestions(arch, lake, manifest, classes, seed) for seed in range(args.seeds)]
        valley = math.exp(statistics.mean(math.log(run["valley"]) for run in runs))
        results[arch] = {
            "by_seed": runs,
            "valley_geometric_mean": float(f"{valley:.2e}"),
            "default_lr": TrainSettings(**get_profile("demo").train_config(arch)
                                        ).default_lr(arch),
        }
        print(arch, json.dumps(results[arch]), flush=True)
    report = {"benchmark": "lr_find per architecture (demo profile, by_participant)",
              "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
              "lake": str(lake.root), "results": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
