"""Training throughput of the project's fastai path against a bare PyTorch loop, in one run.

For each architecture, on the same frames, batch size and resolution:
- bare: a plain PyTorch loop (index a batch, scale and normalise, forward,
  cross-entropy, backward, AdamW step) on an identical copy of the fastai model, with
  the frames where ours keeps them (on a GPU: already on the GPU, so this is the
  compute bound). It runs in float32 and with the fast path's precision and layout
  (channels_last, bf16 autocast);
- ours, fast path off: `core.learning.training` as the assets run it, float32;
- ours, fast path on: the same with channels_last and bfloat16 autocast (CPU) or mixed
  precision (CUDA).
Every path runs twice, interleaved with the others (bare, ours, bare fast, ours
fast, and again); each run is a warm-up epoch, then --epochs timed ones, and a path's
best epoch counts (a shared machine drifts by about 5 % between epochs and up to 15 %
between runs). On a CPU both sides run with glibc keeping freed memory for the next
batch, as core.learning.training sets it (core/learning/host_memory.py);
--glibc-defaults measures both without. Throughput is training images per second. On
CUDA, two more short fits (plain and augmented) count the times an epoch makes the host
wait for the GPU (torch.cuda.set_sync_debug_mode): fastai as shipped waits after every
batch.

Frames come from a curated lake (its decoded cache), or with --synthetic N from N random
images: throughput does not depend on what the pixels show, and a lent GPU machine
may have no lake. Optionally (--accuracy PROFILE --seeds N, lake only), the profile's
full training runs N seeds with the fast path off and on, to compare validation
accuracy against the spread between seeds.

    python benchmarks/train.py --lake data_lake [--image-size 128 --batch-size 32]
    python benchmarks/train.py --synthetic 4096 --image-size 224 --batch-size 64
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
from contextlib import nullcontext
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import torch
from demo_lake import curated_lake

from dance_assets.core.lake.catalogue import ARCHITECTURES
from dance_assets.core.lake.profiles import get_profile
from dance_assets.core.learning.callbacks import metrics_on_device
from dance_assets.core.learning.compute import ComputeSettings, fast_path_mode, resolve_device
from dance_assets.core.learning.estimate import synthetic_sets
from dance_assets.core.learning.frame_cache import kept_frames_cache
from dance_assets.core.learning.frame_images import INPUT_MODES
from dance_assets.core.learning.host_memory import keep_freed_memory
from dance_assets.core.learning.learners import FrameSet
from dance_assets.core.learning.training import (
    TrainSettings,
    build_learner,
    dataloaders,
    fits_on_gpu,
    frame_sets,
    on_device,
    train,
)

HERE = Path(__file__).resolve().parent
warnings.filterwarnings("ignore", category=FutureWarning)
# What the issue asks of each architecture's fast path against its compute bound (GPU)
# and of the float32 path against a bare loop (CPU).
GPU_TARGETS = {"alexnet": 0.8, "resnet18": 0.9, "squeezenet1_0": 0.8}
RESNET18_GPU_FLOOR = 2 * 2880  # img/s: twice the H100 figure before this work
CPU_TARGET_OFF = 0.95


def bare_loop(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor,
              batch_size: int, lr: float, device: str, epochs: int, mode: str) -> float:
    """Images per second of a plain loop in `mode`'s precision and layout: a warm-up
    epoch, then the best timed one. Frames on a GPU are gathered there."""
    fast = mode != "off"
    half_precision = mode in ("cpu-bf16", "cuda-amp")
    model = model.to(device).train()
    if fast:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, foreach=True)
    mean = torch.tensor([0.485, 0.456, 0.406], device=device).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225], device=device).view(1, 3, 1, 1)
    loss_fn = torch.nn.CrossEntropyLoss()
    steps = len(labels) // batch_size
    half = torch.float16 if device == "cuda" and not torch.cuda.is_bf16_supported() \
        else torch.bfloat16

    def epoch() -> None:
        order = torch.randperm(len(labels), device=images.device)
        for step in range(steps):
            index = order[step * batch_size:(step + 1) * batch_size]
            x = (images[index].to(device).float() / 255 - mean) / std
            if fast:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device, dtype=half) if half_precision else nullcontext():
                logits = model(x)
            loss = loss_fn(logits.float(), labels[index].to(device))
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


def _learner(arch: str, train_set: FrameSet, valid_set: FrameSet, n_classes: int,
             settings: TrainSettings, compute: ComputeSettings, device: str,
             float32_channels_last: bool = False):
    """The Learner core.learning.training builds, with the callbacks its fit adds; with
    `float32_channels_last`, the fast path off but the network and batches in
    channels_last (a float32 layout --cpu-float32 compares)."""
    from fastai.callback.progress import ProgressCallback

    from dance_assets.core.learning.callbacks import use_fast_path

    torch.manual_seed(settings.seed)
    mode = fast_path_mode(compute, device)
    dls = dataloaders(train_set, valid_set, settings, device, compute.num_workers,
                      channels_last=mode != "off" or float32_channels_last)
    learn = build_learner(arch, dls, n_classes, settings, compute)
    learn.remove_cb(ProgressCallback)
    learn.logger = lambda *_: None
    use_fast_path(learn, mode)
    if float32_channels_last:
        learn.model.to(memory_format=torch.channels_last)
    return learn


def ours(arch: str, train_set: FrameSet, valid_set: FrameSet, n_classes: int,
         settings: TrainSettings, compute: ComputeSettings, device: str, epochs: int,
         float32_channels_last: bool = False) -> float:
    """Images per second of the project's training phase (validation excluded)."""
    from fastai.callback.core import Callback

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

    learn = _learner(arch, train_set, valid_set, n_classes, settings, compute, device,
                     float32_channels_last)
    timer = TimeTraining()
    learn.add_cb(timer)
    with metrics_on_device(learn):
        learn.fit(1 + epochs, settings.default_lr(arch))
    return max(timer.rates[1:])


def host_syncs(arch: str, train_set: FrameSet, valid_set: FrameSet, n_classes: int,
               settings: TrainSettings, device: str) -> int:
    """How often the fast path's second training epoch made the host wait for the GPU
    (the first has cuDNN's autotuning in it)."""
    from fastai.callback.core import Callback

    class CountSyncs(Callback):
        def before_train(self) -> None:
            if self.epoch == self.n_epoch - 1:
                torch.cuda.set_sync_debug_mode("warn")

        def after_train(self) -> None:
            torch.cuda.set_sync_debug_mode("default")

    learn = _learner(arch, train_set, valid_set, n_classes, settings,
                     ComputeSettings(device=device), device)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with metrics_on_device(learn):
            learn.fit(2, settings.default_lr(arch), cbs=CountSyncs())
    return sum("synchroniz" in str(w.message) for w in caught)


def throughput(arch: str, train_set: FrameSet, valid_set: FrameSet, n_classes: int,
               settings: TrainSettings, device: str, epochs: int) -> dict:
    """One architecture's bare and project paths, float32 and fast."""
    fast_mode = fast_path_mode(ComputeSettings(device=device), device)
    torch.manual_seed(settings.seed)
    model = build_learner(arch, dataloaders(train_set, valid_set, settings, "cpu", 0),
                          n_classes, settings, ComputeSettings(device="cpu")).model
    # Frames where ours keeps them: on the GPU when they fit, as core.learning.training decides.
    frames = on_device(train_set, device) if device == "cuda" and fits_on_gpu(
        train_set, valid_set) else train_set

    def bare(mode: str) -> float:
        return bare_loop(copy.deepcopy(model), frames.inputs, frames.labels,
                         settings.batch_size, settings.default_lr(arch), device, epochs, mode)

    def project(fast_path: bool) -> float:
        return ours(arch, train_set, valid_set, n_classes, settings,
                    ComputeSettings(device=device, fast_path=fast_path), device, epochs)

    # Two rounds that run every path once, and the best run of each path counts: a shared
    # machine drifts within minutes, and interleaving with as many tries for each side
    # keeps that drift from flattering either.
    bare_off, ours_off, bare_on, ours_on = [], [], [], []
    for _ in range(2):
        bare_off.append(bare("off"))
        ours_off.append(project(False))
        bare_on.append(bare(fast_mode))
        ours_on.append(project(True))
    off, on = max(ours_off), max(ours_on)
    steps = len(train_set) // settings.batch_size
    return {
        "bare_fp32_img_per_s": round(max(bare_off), 1),
        "bare_fp32_runs_img_per_s": [round(r, 1) for r in bare_off],
        "bare_fast_img_per_s": round(max(bare_on), 1),
        "bare_fast_runs_img_per_s": [round(r, 1) for r in bare_on],
        "ours_fast_path_off_img_per_s": round(off, 1),
        "ours_fast_path_off_runs_img_per_s": [round(r, 1) for r in ours_off],
        "ours_fast_path_on_img_per_s": round(on, 1),
        "ours_fast_path_on_runs_img_per_s": [round(r, 1) for r in ours_on],
        "fast_path": fast_mode,
        "ratio_off_vs_bare_fp32": round(off / max(bare_off), 3),
        "ratio_on_vs_bare_fast": round(on / max(bare_on), 3),
        "fast_path_speedup_vs_bare_fp32": round(on / max(bare_off), 3),
        "host_syncs_per_training_epoch": None if device != "cuda" else {
            "plain": host_syncs(arch, train_set, valid_set, n_classes, settings, device),
            "augmented": host_syncs(arch, train_set, valid_set, n_classes,
                                    replace(settings, augment=True), device)},
        "steps_per_epoch": steps,
    }


# The float32 path as a CPU without bfloat16 trains it (contiguous layout, every core,
# oneDNN's convolutions), and the ways it could train instead.
FLOAT32_VARIANTS = {
    "as_trained": {},
    "channels_last": {"float32_channels_last": True},
    "one_thread": {"threads": 1},
    "onednn_off": {"onednn": False},
}


def float32_variants(arch: str, train_set: FrameSet, valid_set: FrameSet, n_classes: int,
                     settings: TrainSettings, epochs: int) -> dict:
    """On a CPU, the project's float32 path against channels_last, one thread and oneDNN
    off: images a second, each variant's best of two interleaved runs, and its ratio to
    the path as it trains."""
    runs: dict[str, list[float]] = {name: [] for name in FLOAT32_VARIANTS}
    cores = torch.get_num_threads()
    for _ in range(2):
        for name, variant in FLOAT32_VARIANTS.items():
            torch.set_num_threads(variant.get("threads", cores))
            with torch.backends.mkldnn.flags(enabled=variant.get("onednn", True)):
                runs[name].append(ours(
                    arch, train_set, valid_set, n_classes, settings,
                    ComputeSettings(device="cpu", fast_path=False), "cpu", epochs,
                    float32_channels_last=variant.get("float32_channels_last", False)))
    torch.set_num_threads(cores)
    best = {name: max(rates) for name, rates in runs.items()}
    return {"img_per_s": {name: round(rate, 1) for name, rate in best.items()},
            "runs_img_per_s": {name: [round(r, 1) for r in rates]
                               for name, rates in runs.items()},
            "ratio_to_as_trained": {name: round(rate / best["as_trained"], 3)
                                    for name, rate in best.items()}}


def cpu_kind() -> dict:
    """What decides a CPU's path: torch's instruction set (ATEN_CPU_CAPABILITY can hold
    it to AVX2), oneDNN's limit (ONEDNN_MAX_CPU_ISA) and whether bf16 is native."""
    from dance_assets.core.learning.compute import cpu_supports_bf16

    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return {"model": model, "torch_capability": torch.backends.cpu.get_cpu_capability(),
            "onednn_max_isa": os.environ.get("ONEDNN_MAX_CPU_ISA", "all"),
            "bf16_used": cpu_supports_bf16()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", type=Path, default=Path("data_lake"),
                        help="a lake with frame_manifest (run `dance-assets demo` first)")
    parser.add_argument("--synthetic", type=int, metavar="N",
                        help="time N random frames instead of a lake's")
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
    parser.add_argument("--glibc-defaults", action="store_true",
                        help="CPU: leave glibc's malloc as it is, for both paths (training "
                        "itself always keeps freed memory)")
    parser.add_argument("--cpu-float32", action="store_true",
                        help="CPU: compare the float32 path's layout, threads and oneDNN "
                        "instead (the path of a CPU without bf16: run it there, or here "
                        "under ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "train.json")
    args = parser.parse_args()
    if args.synthetic and args.accuracy:
        raise SystemExit("--accuracy needs a lake's frames, not --synthetic ones")
    if args.cpu_float32 and not args.synthetic:
        raise SystemExit("--cpu-float32 times random frames at each architecture's demo "
                         "size: give --synthetic N")

    device = resolve_device(args.device)
    freed_memory_kept = False
    if device == "cpu":
        torch.set_num_threads(os.cpu_count() or 1)
        freed_memory_kept = not args.glibc_defaults and keep_freed_memory()
    else:
        torch.backends.cudnn.benchmark = True  # as core.learning.training does unless deterministic
    if args.synthetic:
        train_set, valid_set = synthetic_sets(args.synthetic, args.image_size)
        n_classes = 12
    else:
        lake, manifest, classes = curated_lake(args.lake)
        n_classes = len(classes)
        train_set, valid_set = frame_sets(
            kept_frames_cache(lake, manifest, args.image_size, args.input), manifest,
            "split_random_frames", classes)
    settings = TrainSettings(image_size=args.image_size, batch_size=args.batch_size,
                             augment=args.cpu_float32)
    if args.cpu_float32:
        write_float32_variants(args, n_classes, settings)
        return
    results: dict[str, dict] = {}
    for arch in args.archs.split(","):
        results[arch] = throughput(arch, train_set, valid_set, n_classes, settings, device,
                                   args.epochs)
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
        "freed_memory_kept": freed_memory_kept,
        "image_size": args.image_size, "batch_size": args.batch_size,
        "frames": f"{args.synthetic} random" if args.synthetic else str(args.lake),
        "train_frames": len(train_set.labels),
        "throughput": results,
        "targets": ({"ratio_on_vs_bare_fast": GPU_TARGETS,
                     "resnet18_ours_fast_path_on_img_per_s": RESNET18_GPU_FLOOR}
                    if device == "cuda" else {"ratio_off_vs_bare_fp32": CPU_TARGET_OFF}),
        "accuracy_fast_path_off_vs_on": accuracy or None,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {args.out}")


def write_float32_variants(args: argparse.Namespace, n_classes: int,
                           settings: TrainSettings) -> None:
    """--cpu-float32: every architecture at the demo profile's size for it, augmented as
    the demo trains."""
    profile = get_profile("demo")
    results = {}
    for arch in args.archs.split(","):
        size = profile.train_config(arch)["image_size"]
        sets = synthetic_sets(args.synthetic, size)
        results[arch] = {"image_size": size, **float32_variants(
            arch, *sets, n_classes, replace(settings, image_size=size), args.epochs)}
        print(arch, json.dumps(results[arch]), flush=True)
    report = {
        "benchmark": "the float32 training path on a CPU: layout, threads, oneDNN",
        "command": "python benchmarks/train.py --cpu-float32 --synthetic N --epochs E",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "cpu": cpu_kind(), "platform": platform.platform()},
        "torch": torch.__version__, "batch_size": settings.batch_size,
        "frames": f"{args.synthetic} random" if args.synthetic else str(args.lake),
        "timed_epochs": args.epochs, "variants": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
