"""Training throughput of the project's fastai path against a bare PyTorch loop, in one run.

For each architecture, on the same decoded frames, batch size and resolution:
- bare: a plain float32 PyTorch loop (index a batch, scale and normalise, forward,
  cross-entropy, backward, AdamW step) on an identical copy of the fastai model, run
  before and after the project's paths (the best of the two counts);
- ours, fast path off: `core.training` as the assets run it, float32;
- ours, fast path on: the same with channels_last and bfloat16 autocast (CPU) or mixed
  precision (CUDA).
Each path runs a warm-up epoch, then --epochs timed ones; the best epoch counts (this
machine is shared, and single epochs vary by about 5 %). Throughput is training
images per second. Optionally (--accuracy PROFILE --seeds N), the profile's full
training runs N seeds with the fast path off and on, to compare validation accuracy
against the spread between seeds.

    python benchmarks/train.py --lake data_lake [--image-size 128 --batch-size 32]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import time
import warnings
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import torch
from demo_lake import curated_lake

from dance_assets.core.frame_cache import kept_frames_cache
from dance_assets.core.frame_images import INPUT_MODES
from dance_assets.core.profiles import get_profile
from dance_assets.core.training import (
    ARCHITECTURES,
    DEFAULT_LR,
    ComputeSettings,
    TrainSettings,
    build_learner,
    dataloaders,
    fast_path_mode,
    frame_sets,
    resolve_device,
    train,
)

HERE = Path(__file__).resolve().parent
warnings.filterwarnings("ignore", category=FutureWarning)


def bare_loop(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor,
              batch_size: int, lr: float, device: str, epochs: int) -> float:
    """Images per second of a plain float32 loop: a warm-up epoch, then the best timed."""
    model = model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, foreach=True)
    mean = torch.tensor([0.485, 0.456, 0.406], device=device).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225], device=device).view(1, 3, 1, 1)
    loss_fn = torch.nn.CrossEntropyLoss()
    steps = len(labels) // batch_size

    def epoch() -> None:
        order = torch.randperm(len(labels))
        for step in range(steps):
            index = order[step * batch_size:(step + 1) * batch_size]
            x = (images[index].to(device).float() / 255 - mean) / std
            y = labels[index].to(device)
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if device == "cuda":
            torch.cuda.synchronize()

    epoch()
    best = 0.0
    for _ in range(epochs):
        started = time.perf_counter()
        epoch()
        best = max(best, steps * batch_size / (time.perf_counter() - started))
    return best


def ours(arch: str, train_set, valid_set, n_classes: int, settings: TrainSettings,
         compute: ComputeSettings, device: str, epochs: int) -> float:
    """Images per second of the project's training phase (validation excluded)."""
    from fastai.callback.core import Callback
    from fastai.callback.progress import ProgressCallback

    from dance_assets.core.callbacks import speed_callbacks

    class TimeTraining(Callback):
        order = 95

        def before_fit(self) -> None:
            self.rates: list[float] = []

        def before_train(self) -> None:
            self.started, self.images = time.perf_counter(), 0

        def after_batch(self) -> None:
            if self.training:
                self.images += len(self.yb[0])

        def after_train(self) -> None:
            if device == "cuda":
                torch.cuda.synchronize()
            self.rates.append(self.images / (time.perf_counter() - self.started))

    torch.manual_seed(settings.seed)
    dls = dataloaders(train_set, valid_set, settings, device, compute.num_workers)
    learn = build_learner(arch, dls, n_classes, settings, compute, device)
    learn.remove_cb(ProgressCallback)
    learn.logger = lambda *_: None
    mode = fast_path_mode(compute, device)
    learn.add_cbs(speed_callbacks(mode))
    if mode == "cuda-amp":
        learn.to_bf16() if torch.cuda.is_bf16_supported() else learn.to_fp16()
    timer = TimeTraining()
    learn.add_cb(timer)
    learn.fit(1 + epochs, DEFAULT_LR[arch])
    return max(timer.rates[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", type=Path, default=Path("data_lake"),
                        help="a lake with frame_manifest (run `dance-assets demo` first)")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--archs", default=",".join(ARCHITECTURES))
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per path")
    parser.add_argument("--accuracy", metavar="PROFILE",
                        help="also train PROFILE's settings with the fast path off and on")
    parser.add_argument("--seeds", type=int, default=3, help="seeds for --accuracy")
    parser.add_argument("--input", default="frame", choices=INPUT_MODES,
                        help="what the networks see (default: whole frames)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "train.json")
    args = parser.parse_args()

    lake, manifest, classes = curated_lake(args.lake)
    device = resolve_device(args.device)
    if device == "cpu":
        torch.set_num_threads(os.cpu_count() or 1)
    train_set, valid_set = frame_sets(
        kept_frames_cache(lake, manifest, args.image_size, args.input), manifest,
        "split_random_frames", classes)
    settings = TrainSettings(image_size=args.image_size, batch_size=args.batch_size,
                             augment=False)
    results: dict[str, dict] = {}
    for arch in args.archs.split(","):
        # The bare loop runs before and after the project's paths and its best counts:
        # a shared machine drifts by several percent within minutes, and bracketing
        # keeps that drift from flattering either side.
        torch.manual_seed(settings.seed)
        model = build_learner(arch, dataloaders(train_set, valid_set, settings, device, 0),
                              len(classes), settings, ComputeSettings(device=device),
                              device).model
        bare_runs = [bare_loop(copy.deepcopy(model), train_set.inputs, train_set.labels,
                               args.batch_size, DEFAULT_LR[arch], device, args.epochs)]
        fp32 = ours(arch, train_set, valid_set, len(classes), settings,
                    ComputeSettings(device=device, fast_path=False), device, args.epochs)
        fast = ours(arch, train_set, valid_set, len(classes), settings,
                    ComputeSettings(device=device, fast_path=True), device, args.epochs)
        bare_runs.append(bare_loop(copy.deepcopy(model), train_set.inputs, train_set.labels,
                                   args.batch_size, DEFAULT_LR[arch], device, args.epochs))
        bare = max(bare_runs)
        results[arch] = {
            "bare_fp32_img_per_s": round(bare, 1),
            "bare_runs_img_per_s": [round(r, 1) for r in bare_runs],
            "ours_fast_path_off_img_per_s": round(fp32, 1),
            "ours_fast_path_on_img_per_s": round(fast, 1),
            "fast_path": fast_path_mode(ComputeSettings(device=device), device),
            "ratio_off_vs_bare": round(fp32 / bare, 3),
            "ratio_on_vs_bare": round(fast / bare, 3),
        }
        print(arch, json.dumps(results[arch]), flush=True)

    accuracy = {}
    if args.accuracy:
        profile = get_profile(args.accuracy)
        full = TrainSettings(epochs=profile.epochs, image_size=profile.image_size,
                             batch_size=profile.batch_size, augment=profile.augment)
        full_train, full_valid = frame_sets(
            kept_frames_cache(lake, manifest, profile.image_size, profile.input), manifest,
            "split_random_frames", classes)
        for arch in args.archs.split(","):
            runs: dict[str, dict] = {}
            for fast_path in (False, True):
                scores, seconds = [], []
                for seed in range(args.seeds):
                    result = train(arch, full_train, full_valid, classes,
                                   replace(full, seed=seed),
                                   ComputeSettings(device=device, fast_path=fast_path),
                                   report=lambda _: None)
                    scores.append(100 * result.accuracy)
                    seconds.append(result.seconds)
                runs["on" if fast_path else "off"] = {
                    "accuracy_pct_by_seed": [round(a, 2) for a in scores],
                    "mean_pct": round(statistics.mean(scores), 2),
                    "seed_sd_pct": round(statistics.stdev(scores), 2) if len(scores) > 1 else None,
                    "mean_seconds": round(statistics.mean(seconds), 1)}
            runs["mean_difference_points"] = round(
                runs["on"]["mean_pct"] - runs["off"]["mean_pct"], 2)
            accuracy[arch] = runs
            print(arch, "accuracy", json.dumps(runs), flush=True)

    report = {
        "benchmark": "training throughput",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"device": device, "cpus": os.cpu_count(), "platform": platform.platform(),
                    "gpu": torch.cuda.get_device_name() if device == "cuda" else None},
        "torch": torch.__version__,
        "image_size": args.image_size, "batch_size": args.batch_size,
        "train_frames": len(train_set.labels),
        "throughput": results,
        "targets": {"ratio_off_vs_bare": ">= 0.95", "ratio_on_vs_bare": ">= 1.8 (CPU)"},
        "accuracy_fast_path_off_vs_on": accuracy or None,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
