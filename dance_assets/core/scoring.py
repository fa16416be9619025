"""The dancer's score: how close is a new video to a dance, and where it drifts.

The video goes through the same path as the lake's: ffmpeg extracts one frame per
second, the pose step finds the dancer, and the cleaning verdicts set aside empty or
noisy seconds. Two answers come out, side by side:

- the score: the dancer's normalised pose sequence aligned to the target dance's
  choreography reference with dynamic time warping (core/choreography.py), 0-100, with
  the three weakest moments and the body part that drifted most at each;
- the classifier's verdict: which dance the video looks like, from the best evaluated
  model (or the one asked for), reading its inputs as its model card says.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from dance_assets.core import tables
from dance_assets.core.choreography import (
    RECOGNISED_FROM,
    Alignment,
    Moment,
    Reference,
    align,
    nearest_dance,
    references_from_table,
    weakest_moments,
)
from dance_assets.core.cleaning import automatic_verdicts
from dance_assets.core.errors import DanceAssetsError
from dance_assets.core.frame_images import Dancer, prepare_images
from dance_assets.core.inference import Network, load_network, predict_images, predict_windows
from dance_assets.core.lake import Lake
from dance_assets.core.pose import FramePose, estimator
from dance_assets.core.pose_features import mirror, normalise, windows
from dance_assets.core.pose_model import MODEL_NAMES, POSE_INPUT
from dance_assets.core.quality import load_rgb, video_features
from dance_assets.core.registry import (
    card_cleaning_thresholds,
    card_extraction_params,
    card_pose_settings,
    current_evaluations,
    model_status,
    read_cards,
)
from dance_assets.core.reports import png_bytes, save_png, timeline_image
from dance_assets.core.skeletons import dancer_beside_reference
from dance_assets.core.video import (
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
    if arch is not None and arch not in MODEL_NAMES:
        raise DanceAssetsError(f"unknown --arch {arch!r}; choose from {', '.join(MODEL_NAMES)}")
    cards = read_cards(lake)
    current = current_evaluations(tables.read_table(lake, "model_metrics"), cards)
    if not cards:
        raise DanceAssetsError("no trained model yet: run `dance-assets demo` to train one")
    if arch is not None:
        if (protocol, arch) not in cards:
            raise DanceAssetsError(f"no trained {arch} under {protocol}: run `dance-assets "
                                   f"demo` (or materialize models/{arch} in the UI)")
        why = f"requested ({model_status(cards, current, protocol, arch)})"
    else:
        candidates = current[current["protocol"] == protocol].sort_values(
            ["video_accuracy", "frame_accuracy"], ascending=False)
        if candidates.empty:
            raise DanceAssetsError(
                f"no evaluated model under {protocol} (none passed its accuracy check): "
                "train longer, or pass --arch and --protocol to use one anyway")
        best = candidates.iloc[0]
        arch = str(best["arch"])
        why = f"best video accuracy under {protocol} ({best['video_accuracy']:.0%})"
    return ChosenModel(arch, protocol, lake.model_dir(protocol, arch),
                       cards[(protocol, arch)], why)


@dataclass
class Score:
    video: Path
    model: ChosenModel
    target: str
    predicted: str  # the classifier's verdict
    score: int  # 0-100: the dance aligned to the target's choreography reference
    top: list[tuple[str, float]]  # the classifier's three likeliest dances
    per_second: pd.DataFrame  # second, scored, reason, match, best_class
    weakest: list[Moment]
    mirrored: bool  # danced as in a mirror of the reference
    nearest: tuple[str, int]  # the choreography it scores highest against, and that score
    timeline: Path
    elapsed_s: float

    @property
    def recognised(self) -> bool:
        """Whether any dance's choreography matches better than halfway to another dance."""
        return self.nearest[1] >= RECOGNISED_FROM


def load_references(lake: Lake) -> dict[str, Reference]:
    references = references_from_table(tables.read_table(lake, "choreography"))
    if not references:
        raise DanceAssetsError("no choreography reference yet: run `dance-assets demo` (or "
                               "materialize choreography in the UI)")
    return references


@dataclass
class _Seconds:
    """What the video shows, second by second: its frames, poses and cleaning verdicts."""

    seconds: np.ndarray
    images: list[np.ndarray]
    poses: list[FramePose]
    found: np.ndarray
    reasons: pd.Series
    usable: np.ndarray  # posed and kept by cleaning: the seconds that are scored


def _read_seconds(video: Path, scratch: Path, settings: FfmpegSettings,
                  card: dict) -> _Seconds:
    """One frame per interval, posed and cleaned as the model's training frames were.

    The extraction, pose and cleaning settings come from the model's card: a model that
    learned from frames two seconds apart, or cleaned with other thresholds, is shown the
    dancer's video made the same way. A card written before it recorded them gets the
    defaults for whatever it lacks (core/registry.py card_extraction_params and its
    siblings), which is what every card was read with before.
    """
    try:
        probe = probe_video(video, settings)
        frames = extract_frames(video, probe, scratch, card_extraction_params(card), settings)
    except VideoError as exc:
        raise DanceAssetsError(f"{video.name} is not a usable video: {exc}") from None
    seconds = np.array([second for second, _ in frames], dtype=int)
    images = [load_rgb(path) for _, path in frames]
    poses = estimator(card_pose_settings(card)).video(images)
    found = np.array([pose.found for pose in poses], dtype=bool)
    if found.sum() < max(2, (len(frames) + 1) // 2):
        raise DanceAssetsError(
            f"no dancer found in most seconds of {video.name} (a pose in {found.sum()} of "
            f"{len(frames)}): film the whole body, in good light, and score again")
    features = pd.DataFrame([f.__dict__ for f in video_features(images)]).assign(
        video_id="scored", person_found=found)
    reasons = automatic_verdicts(features, card_cleaning_thresholds(card))
    usable = found & reasons.isna().to_numpy()
    if usable.sum() < 2:  # cleaning took nearly everything: judge every posed second
        usable = found.copy()
    return _Seconds(seconds, images, poses, found, reasons, usable)


def score_video(lake: Lake, video: Path, dance: str | None, model: ChosenModel,
                ffmpeg_binary: str) -> Score:
    """Extract, pose, clean, classify, align and score one video.

    Raises DanceAssetsError, one line for the user, on bad input or when the video shows
    nobody in most seconds.
    """
    started = time.perf_counter()
    if not video.is_file():
        raise DanceAssetsError(f"no such file: {video}")
    classes = model.card["classes"]
    references = load_references(lake)
    if dance is not None and dance not in classes:
        raise DanceAssetsError(f"unknown dance {dance!r}; known dances: {', '.join(classes)}")
    settings = FfmpegSettings(ffmpeg_binary, threads=os.cpu_count() or 1, timeout_s=300)
    with tempfile.TemporaryDirectory(prefix="dance-score-") as scratch, \
            ThreadPoolExecutor(1) as loader:
        network_loading = loader.submit(load_network, model.folder)  # while ffmpeg decodes
        shown = _read_seconds(video, Path(scratch), settings, model.card)
        skeletons = _skeletons(shown.poses, shown.usable, shown.images)
        probabilities = _classify(network_loading.result(), shown.images, shown.poses,
                                  shown.seconds, shown.usable, skeletons)
    mean = probabilities.mean(axis=0)
    order = np.argsort(mean)[::-1]
    predicted = classes[int(order[0])]
    target = dance or predicted
    if target not in references:
        raise DanceAssetsError(f"no choreography reference for {target}: materialize "
                               "choreography again")
    reference = references[target]
    alignment = align(skeletons, reference.skeletons)
    seconds, usable = shown.seconds, shown.usable
    match = np.full(len(seconds), np.nan)
    match[usable] = [reference.score(d) for d in alignment.distances.mean(axis=1)]
    per_second = pd.DataFrame({
        "second": seconds, "scored": usable,
        "reason": np.where(shown.found, shown.reasons.to_numpy(dtype=object), "nobody found"),
        "match": match,
        "best_class": pd.Series(np.array(classes)[probabilities.argmax(axis=1)],
                                index=np.flatnonzero(usable)).reindex(range(len(seconds))),
    })
    weakest = weakest_moments(alignment, seconds[usable])
    timeline = _timeline(lake, video, per_second, target, weakest, skeletons,
                         seconds[usable], reference, alignment)
    return Score(video, model, target, predicted, reference.score(alignment.cost),
                 [(classes[i], float(mean[i])) for i in order[:3]], per_second, weakest,
                 alignment.mirrored, nearest_dance(skeletons, references), timeline,
                 time.perf_counter() - started)


def _skeletons(poses: list[FramePose], usable: np.ndarray,
               images: list[np.ndarray]) -> np.ndarray:
    """The dancer's normalised skeletons in the usable seconds, in time order."""
    height, width = images[0].shape[:2]
    dancers = [pose.dancer for pose, use in zip(poses, usable, strict=True) if use]
    return normalise(np.stack([d.x for d in dancers]), np.stack([d.y for d in dancers]),
                     width, height)


def _classify(network: Network, images: list[np.ndarray], poses: list[FramePose],
              seconds: np.ndarray, usable: np.ndarray, skeletons: np.ndarray) -> np.ndarray:
    """The classifier's probabilities for the usable seconds, inputs as its card says."""
    if network.input_mode == POSE_INPUT:
        return predict_windows(network, windows(seconds[usable], skeletons, seconds[usable],
                                                network.window))
    kept = [i for i in range(len(images)) if usable[i]]
    return predict_images(network, prepare_images(
        [images[i] for i in kept], network.image_size, network.input_mode,
        [_dancer(poses[i]) for i in kept]))


def _dancer(pose: FramePose) -> Dancer | None:
    """The pose step's dancer as frame preparation takes it."""
    if not pose.found:
        return None
    return Dancer(pose.dancer.box, tuple(map(float, pose.dancer.x)),
                  tuple(map(float, pose.dancer.y)))


def _timeline(lake: Lake, video: Path, per_second: pd.DataFrame, target: str,
              weakest: list[Moment], skeletons: np.ndarray, posed_seconds: np.ndarray,
              reference: Reference, alignment: Alignment) -> Path:
    """A bar per second (how well it matches the reference), and beneath, at each of the
    weakest moments, the reference's skeleton beside the dancer's."""
    from PIL import Image

    bars = timeline_image(
        list(per_second["match"].fillna(0) / 100), list(per_second["scored"]),
        f"{video.name}: {target}, second by second against its choreography",
        "seconds; grey: nobody, empty or noisy, not scored")
    row_of = {int(s): i for i, s in enumerate(posed_seconds)}
    pairs = []
    for moment in weakest:
        step = reference.skeletons[moment.step]
        pairs.append((f"{moment.second} s: {moment.body_part}",
                      skeletons[row_of[moment.second]],
                      mirror(step) if alignment.mirrored else step))
    figures = dancer_beside_reference(pairs)
    sheet = Image.new("RGB", (max(bars.width, figures.width), bars.height + figures.height),
                      "white")
    sheet.paste(bars, (0, 0))
    sheet.paste(figures, (0, bars.height))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return save_png(lake.reports / "scores" / f"{video.stem}-{stamp}.png",
                    png_bytes(sheet, colours=32))


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
        "posed_seconds": int((result.per_second["reason"] != "nobody found").sum()),
        "mirrored": result.mirrored,
        "recognised": result.recognised,
        "weakest": json.dumps([{**asdict(m), "distance": round(m.distance, 3)}
                               for m in result.weakest]),
    }
    tables.append_rows(lake, "scores", pd.DataFrame([row]))
