"""The classifier's verdict on a dancer's video: which of the lake's dances it looks like.

The video goes through the same path as the training frames of the chosen model, as its
card records it: ffmpeg extracts one frame per interval, the pose step finds the dancer
with the card's pose settings, and the card's cleaning thresholds set aside empty or
noisy frames. The model (ONNX, no torch) then reads each usable frame, or each window of
skeletons for the pose model, as its card says.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dance_assets.core.curation.cleaning import automatic_verdicts
from dance_assets.core.ingest.audio import SoundCapture
from dance_assets.core.ingest.dense_poses import shows_a_dancer
from dance_assets.core.ingest.pose import FramePose, estimator
from dance_assets.core.ingest.pose_features import normalise, windows
from dance_assets.core.ingest.quality import load_rgb, video_features
from dance_assets.core.ingest.video import (
    FfmpegSettings,
    Probe,
    VideoError,
    collect_frames,
    extract_frames,
    frame_outputs,
    output_size,
    probe_video,
)
from dance_assets.core.lake import tables
from dance_assets.core.lake.catalogue import (
    DEFAULT_PROTOCOL,
    MODEL_NAMES,
    POSE_INPUT,
)
from dance_assets.core.lake.errors import DanceAssetsError, UnusableVideo
from dance_assets.core.lake.lake import Lake
from dance_assets.core.learning.card import ModelCard
from dance_assets.core.learning.frame_images import Dancer, prepare_images
from dance_assets.core.learning.inference import (
    Network,
    load_network,
    predict_images,
    predict_windows,
)
from dance_assets.core.learning.registry import (
    current_evaluations,
    model_status,
    read_cards,
)
from dance_assets.core.performance.performance import Performance


@dataclass(frozen=True)
class ChosenModel:
    arch: str
    protocol: str
    folder: Path
    card: ModelCard
    why: str


def choose_model(lake: Lake, arch: str | None, protocol: str | None) -> ChosenModel:
    """The requested model, else the best video accuracy among evaluated ones."""
    protocol = protocol or DEFAULT_PROTOCOL
    if arch is not None and arch not in MODEL_NAMES:
        raise DanceAssetsError(f"unknown --arch {arch!r}; choose from {', '.join(MODEL_NAMES)}")
    cards = read_cards(lake)
    current = current_evaluations(tables.read_table(lake, "model_metrics"), cards)
    if not cards:
        raise DanceAssetsError("no trained model yet: run `dance-assets demo` to train one, "
                               "or score against a teacher's video with --reference")
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


@dataclass(kw_only=True)
class Seconds:
    """What the video shows, interval by interval: its frames, poses and cleaning verdicts."""

    seconds: np.ndarray
    images: list[np.ndarray]
    poses: list[FramePose]
    found: np.ndarray
    reasons: pd.Series
    usable: np.ndarray  # posed and kept by cleaning: the seconds that are judged
    sound: bytes | None  # the video's sound as AAC for a report, from the same decoding

    def skeletons(self) -> np.ndarray:
        """The dancer's normalised skeletons in the usable seconds, in time order."""
        height, width = self.images[0].shape[:2]
        dancers = [pose.dancer for pose, use in zip(self.poses, self.usable, strict=True)
                   if use]
        return normalise(np.stack([d.x for d in dancers]), np.stack([d.y for d in dancers]),
                         width, height)

    def visibility(self) -> np.ndarray:
        """MediaPipe's visibility of the 33 landmarks in the usable seconds."""
        return np.stack([pose.dancer.visibility for pose, use
                         in zip(self.poses, self.usable, strict=True) if use])


def read_seconds(video: Path, scratch: Path, settings: FfmpegSettings,
                 card: ModelCard) -> Seconds:
    """One frame per interval, posed and cleaned as the model's training frames were.

    The extraction, pose and cleaning settings come from the model's card: a model that
    learned from frames two seconds apart, or cleaned with other thresholds, is shown the
    dancer's video made the same way.
    """
    try:
        probe = probe_video(video, settings)
        heard = (SoundCapture(scratch, probe.audio_codec, samples=False, keep_stream=True)
                 if probe.audio_codec else None)
        frames = extract_frames(video, probe, scratch, card.extraction_params, settings,
                                also=heard.output_args() if heard else ())
    except VideoError as exc:
        raise UnusableVideo(video, exc) from None
    return seconds_of(video, frames, card, heard.stream() if heard else None)


def seconds_of(video: Path, frames: list[tuple[int, Path]], card: ModelCard,
               sound: bytes | None) -> Seconds:
    """The card's frames of `video` (second, JPEG), posed and cleaned as its training
    frames were; `sound` her video's sound as AAC for a report."""
    seconds = np.array([second for second, _ in frames], dtype=int)
    images = [load_rgb(path) for _, path in frames]
    poses = estimator(card.pose_settings).video(images)
    found = np.array([pose.found for pose in poses], dtype=bool)
    if not shows_a_dancer(int(found.sum()), len(frames)):
        raise DanceAssetsError(
            f"no dancer found in most seconds of {video.name} (a pose in {found.sum()} of "
            f"{len(frames)}): film the whole body, in good light, and score again")
    features = pd.DataFrame([f.__dict__ for f in video_features(images)]).assign(
        video_id="scored", person_found=found)
    reasons = automatic_verdicts(features, card.cleaning_thresholds)
    usable = found & reasons.isna().to_numpy()
    if usable.sum() < 2:  # cleaning took nearly everything: judge every posed second
        usable = found.copy()
    return Seconds(seconds=seconds, images=images, poses=poses, found=found, reasons=reasons,
                   usable=usable, sound=sound)


@dataclass
class Verdict:
    """Which dance the classifier says the video is, from the frames its card asks for."""

    video: Path
    model: ChosenModel
    classes: list[str]
    probabilities: np.ndarray  # usable seconds × classes
    shown: Seconds

    @property
    def ranked(self) -> list[tuple[str, float]]:
        mean = self.probabilities.mean(axis=0)
        return [(self.classes[i], float(mean[i])) for i in np.argsort(mean)[::-1]]

    @property
    def predicted(self) -> str:
        return self.ranked[0][0]

    @property
    def top(self) -> list[tuple[str, float]]:
        return self.ranked[:3]

    def per_second(self) -> pd.DataFrame:
        """second, judged, why not, and the class each judged second looks like."""
        shown = self.shown
        best = pd.Series(np.array(self.classes)[self.probabilities.argmax(axis=1)],
                         index=np.flatnonzero(shown.usable))
        return pd.DataFrame({
            "second": shown.seconds, "scored": shown.usable,
            "reason": np.where(shown.found, shown.reasons.to_numpy(dtype=object),
                               "nobody found"),
            "best_class": best.reindex(range(len(shown.seconds)))})


def classify(video: Path, model: ChosenModel, ffmpeg: FfmpegSettings) -> Verdict:
    """Extract, pose, clean and classify a video as the model's card says."""
    with tempfile.TemporaryDirectory(prefix="dance-score-") as scratch, \
            ThreadPoolExecutor(1) as loader:
        network_loading = loader.submit(load_network, model.folder)  # while ffmpeg decodes
        shown = read_seconds(video, Path(scratch), ffmpeg, model.card)
        probabilities = _probabilities(network_loading.result(), shown)
    return Verdict(video, model, list(model.card.classes), probabilities, shown)


def classify_while_reading(video: Path, probe: Probe, model: ChosenModel,
                           read: Callable[[Sequence[str]], Performance]
                           ) -> tuple[Performance, Verdict]:
    """Her video read once for both her score and the classifier: `read` (her
    read_performance, given further ffmpeg outputs) decodes it, and its one decoding
    also writes the frames the model's card asks for, which are then posed, cleaned and
    classified (from every frame of the video, where the training frames may have been
    sampled from nearby reference frames only: see video.ExtractionParams)."""
    params = model.card.extraction_params
    with tempfile.TemporaryDirectory(prefix="dance-score-") as scratch, \
            ThreadPoolExecutor(1) as loader:
        network_loading = loader.submit(load_network, model.folder)  # while ffmpeg decodes
        folder = Path(scratch)
        her = read(frame_outputs(folder, output_size(probe, params.short_side), params))
        shown = seconds_of(video, collect_frames(folder, params.interval_s), model.card,
                           her.sound)
        probabilities = _probabilities(network_loading.result(), shown)
    return her, Verdict(video, model, list(model.card.classes), probabilities, shown)


def _probabilities(network: Network, shown: Seconds) -> np.ndarray:
    """The classifier's probabilities for the usable seconds, inputs as its card says."""
    usable, card = shown.seconds[shown.usable], network.card
    if card.input == POSE_INPUT:
        return predict_windows(network, windows(usable, shown.skeletons(), usable,
                                                card.window))
    kept = np.flatnonzero(shown.usable)
    return predict_images(network, prepare_images(
        [shown.images[i] for i in kept], card.image_size, card.input,
        [_dancer(shown.poses[i]) for i in kept]))


def _dancer(pose: FramePose) -> Dancer | None:
    """The pose step's dancer as frame preparation takes it."""
    if not pose.found:
        return None
    return Dancer(pose.dancer.box, tuple(map(float, pose.dancer.x)),
                  tuple(map(float, pose.dancer.y)))
