"""One video read once: its probe, its dense poses with the dancer followed, her movement,
its sound and beats.

`read_performance` is the one loader every later view of a video uses (the music and
choreography assets, `score`, its report, the studio). It probes the file once, then
decodes it in one ffmpeg pass that feeds the posing, the pixel motion (where her hits
are timed) and the sound (the beats' samples, and for a report the sound itself). With
a cache folder, what reading gave is kept by content (core/performance/store.py); a
cached performance read for a report decodes only what the report draws: its frames,
and its sound when the report plays it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from dance_assets.core.ingest.audio import ANALYSIS_RATE, AudioError, SoundCapture
from dance_assets.core.ingest.dense_poses import (
    DEFAULT_SETTINGS,
    DensePoses,
    DenseSettings,
    decode,
    probed,
    read_video,
    shows_a_dancer,
)
from dance_assets.core.ingest.video import FfmpegSettings, Probe, output_size
from dance_assets.core.lake.errors import DanceAssetsError
from dance_assets.core.performance.beats import Beats, find_beats
from dance_assets.core.performance.movement import Movement, movement_of
from dance_assets.core.performance.store import (
    Heard,
    content_id,
    entry_path,
    load_poses,
    save_poses,
)

NO_STEADY_BEAT = "no steady beat"  # the sound decodes, but holds no music to judge by


@dataclass(kw_only=True)
class Performance:
    """A video as read once; `poses.frames` are kept only where read for a report."""

    path: Path
    probe: Probe
    poses: DensePoses
    heard: Heard
    sound: bytes | None = None  # the sound as AAC, where read for a report

    @cached_property
    def movement(self) -> Movement:
        """Her normalised limb directions, turned upright when filmed on her side."""
        return movement_of(self.poses)

    @property
    def beats(self) -> Beats | None:
        return self.heard.beats

    @property
    def no_beat(self) -> str:
        """Why the video gives no beat to judge by ("" where it does)."""
        return f"{self.heard.no_beat} in {self.path.name}" if self.heard.no_beat else ""

    def require_dancer(self) -> None:
        """DanceAssetsError unless a dancer is found in most of the video."""
        found, frames = int(self.poses.found.sum()), len(self.poses)
        if not shows_a_dancer(found, frames):
            raise DanceAssetsError(
                f"no dancer found in most of {self.path.name} (a pose in {found} of "
                f"{frames} frames): film the whole body, in good light, and score again")


def read_performance(video: Path, ffmpeg: FfmpegSettings,
                     settings: DenseSettings = DEFAULT_SETTINGS, *,
                     probe: Probe | None = None, cache: Path | None = None,
                     frames: bool = False, motion: bool = False, sound: bool = False,
                     also: Sequence[str] = ()) -> Performance:
    """The video read once (probed, unless `probe` is given): with `cache` (the lake's
    cache folder) taken from and kept there; with `frames` its frames kept and with
    `sound` its sound, both for a report; with `motion` its pixel motion where it has a
    sound to time her hits against; `also`: further ffmpeg outputs the same decoding
    writes (a classifier's frames). DanceAssetsError names what is wrong with it."""
    probe = probe or probed(video, ffmpeg)
    codec = probe.audio_codec
    motion = motion and codec is not None
    target = entry_path(cache, content_id(video), settings) if cache is not None else None
    stored = load_poses(target) if target is not None and target.is_file() else None
    with tempfile.TemporaryDirectory(prefix="performance-") as scratch:
        if stored is not None and stored[1] is not None and (stored[0].motion is not None
                                                            or not motion):
            poses, heard = stored
            capture = (SoundCapture(Path(scratch), codec, samples=False, keep_stream=True)
                       if sound and codec else None)
            if frames or capture is not None or also:
                size = output_size(probe, settings.short_side)
                poses.frames = []
                for frame in decode(video, settings.rate, size, ffmpeg,
                                    also=[*_outputs(capture), *also]):
                    if frames and len(poses.frames) < len(poses):
                        poses.frames.append(frame)
        else:
            capture = (SoundCapture(Path(scratch), codec, keep_stream=sound)
                       if codec else None)
            poses = read_video(video, ffmpeg, settings, keep_frames=frames, motion=motion,
                               probe=probe, also=[*_outputs(capture), *also])
            heard = _hear(capture)
            if target is not None:
                save_poses(target, poses, heard)
        return Performance(path=video, probe=probe, poses=poses, heard=heard,
                           sound=capture.stream() if capture is not None else None)


def _outputs(capture: SoundCapture | None) -> list[str]:
    return capture.output_args() if capture is not None else []


def _hear(capture: SoundCapture | None) -> Heard:
    """The beats of the sound decoded beside the pictures, or why there are none."""
    if capture is None:
        return Heard(None, "no sound")
    try:
        samples = capture.samples()
    except AudioError as exc:
        return Heard(None, str(exc))
    beats = find_beats(samples, ANALYSIS_RATE)
    return Heard(beats, "" if beats else NO_STEADY_BEAT)

