"""The dancer's score: how close is a new video to a dance class, second by second.

The video goes through the same path as the lake's: ffmpeg extracts one frame per
second, the quality features and cleaning verdicts set aside empty or noisy seconds,
and a trained classifier gives each remaining second a probability per dance. The
score for the intended dance is 100 × its mean probability over the scored seconds;
the weakest seconds are those where the frames look least like it.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from dance_assets.core import tables
from dance_assets.core.comparison import ComparisonInputs
from dance_assets.core.curation import CleaningThresholds, automatic_verdicts
from dance_assets.core.errors import DanceAssetsError
from dance_assets.core.frame_images import prepare_images
from dance_assets.core.inference import load_network, predict_images
from dance_assets.core.lake import Lake
from dance_assets.core.pose import PoseSettings, estimator
from dance_assets.core.quality import load_rgb, video_features
from dance_assets.core.reports import save_png, timeline_png
from dance_assets.core.training import ARCHITECTURES
from dance_assets.core.video import (
    ExtractionParams,
    FfmpegSettings,
    VideoError,
    extract_frames,
    probe_video,
)

DEFAULT_PROTOCOL = "by_participant"


@dataclass(frozen=True)
class ChosenModel:
    arch: str
    protocol: str
    folder: Path
    card: dict
    why: str


def choose_model(lake: Lake, arch: str | None, protocol: str | None) -> ChosenModel:
    """The requested model, else the best video accuracy among evaluated ones."""
    protocol = protocol or DEFAULT_PROTOCOL
    if arch is not None and arch not in ARCHITECTURES:
        raise DanceAssetsError(f"unknown --arch {arch!r}; choose from {', '.join(ARCHITECTURES)}")
    inputs = ComparisonInputs.read(lake)
    if not inputs.cards:
        raise DanceAssetsError("no trained model yet: run `dance-assets demo` to train one")
    if arch is not None:
        if (protocol, arch) not in inputs.cards:
            raise DanceAssetsError(f"no trained {arch} under {protocol}: run `dance-assets "
                                   f"demo` (or materialize models/{arch} in the UI)")
        why = f"requested ({inputs.status(protocol, arch)})"
    else:
        current = inputs.current_metrics
        candidates = current[current["protocol"] == protocol].sort_values(
            ["video_accuracy", "frame_accuracy"], ascending=False)
        if candidates.empty:
            raise DanceAssetsError(
                f"no evaluated model under {protocol} (none passed its accuracy check): "
                "train longer, or pass --arch and --protocol to use one anyway")
        best = candidates.iloc[0]
        arch = str(best["arch"])
        why = f"best video accuracy under {protocol} ({best['video_accuracy']:.0%})"
    return ChosenModel(arch, protocol, lake.models / protocol / arch,
                       inputs.cards[(protocol, arch)], why)


@dataclass
class Score:
    video: Path
    model: ChosenModel
    target: str
    predicted: str
    score: int
    top: list[tuple[str, float]]
    per_second: pd.DataFrame  # second, scored, reason, probability of target, best class
    weakest: list[tuple[int, float]]
    timeline: Path
    elapsed_s: float


def score_video(lake: Lake, video: Path, dance: str | None, model: ChosenModel,
                ffmpeg_binary: str) -> Score:
    """Extract, clean, classify and score one video; raises DanceAssetsError on bad input."""
    started = time.perf_counter()
    if not video.is_file():
        raise DanceAssetsError(f"no such file: {video}")
    classes = model.card["classes"]
    if dance is not None and dance not in classes:
        raise DanceAssetsError(f"unknown dance {dance!r}; known dances: {', '.join(classes)}")
    settings = FfmpegSettings(ffmpeg_binary, threads=os.cpu_count() or 1, timeout_s=300)
    with tempfile.TemporaryDirectory(prefix="dance-score-") as scratch, \
            ThreadPoolExecutor(1) as loader:
        network_loading = loader.submit(load_network, model.folder)  # while ffmpeg decodes
        try:
            probe = probe_video(video, settings)
            frames = extract_frames(video, probe, Path(scratch), ExtractionParams(), settings)
        except VideoError as exc:
            raise DanceAssetsError(f"{video.name} is not a usable video: {exc}") from None
        seconds = [second for second, _ in frames]
        paths = [path for _, path in frames]
        images = [load_rgb(p) for p in paths]
        poses = estimator(PoseSettings()).video(images)
        features = pd.DataFrame([f.__dict__ for f in video_features(images)]).assign(
            video_id="scored", person_found=[pose.found for pose in poses])
        reasons = automatic_verdicts(features, CleaningThresholds())
        network = network_loading.result()
        boxes = [pose.dancer.box if pose.found else None for pose in poses]
        probabilities = predict_images(network, prepare_images(
            images, network.image_size, network.input_mode, boxes))
    scored = reasons.isna().to_numpy().copy()
    if not scored.any():  # nothing usable: score every second rather than none
        scored[:] = True
    mean = probabilities[scored].mean(axis=0)
    order = np.argsort(mean)[::-1]
    predicted = classes[int(order[0])]
    target = dance or predicted
    target_index = classes.index(target)
    per_second = pd.DataFrame({
        "second": seconds, "scored": scored, "reason": reasons.to_numpy(),
        "probability": probabilities[:, target_index],
        "best_class": np.array(classes)[probabilities.argmax(axis=1)],
    })
    weakest = per_second[per_second["scored"]].nsmallest(3, "probability")
    timeline = _timeline(lake, video, per_second, target, model)
    return Score(video, model, target, predicted, round(100 * float(mean[target_index])),
                 [(classes[i], float(mean[i])) for i in order[:3]], per_second,
                 list(zip(weakest["second"].astype(int), weakest["probability"], strict=True)),
                 timeline, time.perf_counter() - started)


def _timeline(lake: Lake, video: Path, per_second: pd.DataFrame, target: str,
              model: ChosenModel) -> Path:
    """A bar per second: how much that second looks like the intended dance."""
    png = timeline_png(
        list(per_second["probability"]), list(per_second["scored"]),
        f"{video.name}: looks like {target}, second by second ({model.arch}, {model.protocol})",
        "seconds; grey: empty or noisy, not scored")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return save_png(lake.reports / "scores" / f"{video.stem}-{stamp}.png", png)


def record(lake: Lake, result: Score) -> None:
    """One row in the `scores` table."""
    row = {
        "scored_at": datetime.now(UTC), "path": str(result.video.resolve()),
        "arch": result.model.arch, "protocol": result.model.protocol,
        "target_dance": result.target, "predicted_dance": result.predicted,
        "target_score": result.score, "seconds": len(result.per_second),
        "scored_seconds": int(result.per_second["scored"].sum()),
        "top_classes": json.dumps({name: round(p, 4) for name, p in result.top}),
        "timeline": lake.relative(result.timeline),
    }
    tables.append_rows(lake, "scores", pd.DataFrame([row]))
