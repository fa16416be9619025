"""Poses at the speed of the dance: a skeleton several times a second, for scoring.

The lake poses one frame a second, each on its own; a dancer's timing lives between
those seconds (a TikTok move lasts less than one), so scoring decodes the video at
`rate` frames a second straight from ffmpeg into memory and poses every frame.

Within one video MediaPipe's tracking mode is faster (it carries the body's region from
one frame to the next instead of running the person detector on each); who it may
follow, and where it is trusted, is core/ingest/follower.py's. Landmarks are then
smoothed in time with a zero-phase Savitzky-Golay filter over each run of consecutive
poses (offline, so no lag as a causal One Euro filter would add).
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import subprocess
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dance_assets.core.ingest.follower import Follower
from dance_assets.core.ingest.motion import SHORT_SIDE as MOTION_SHORT_SIDE
from dance_assets.core.ingest.motion import MotionReader, PixelMotion, motion_rate
from dance_assets.core.ingest.pose import Person
from dance_assets.core.ingest.video import (
    FfmpegSettings,
    Probe,
    VideoError,
    output_size,
    probe_video,
)
from dance_assets.core.lake.errors import DanceAssetsError, UnusableVideo

N_LANDMARKS = 33
MIN_FOUND_SHARE = 0.5


def shows_a_dancer(found: int, frames: int) -> bool:
    """Whether a video shows its dancer in most of it: a pose in at least half its frames
    (and in two at least). A teacher, a scored dancer and a classified one are held to
    this one rule."""
    return found >= max(2, math.ceil(MIN_FOUND_SHARE * frames))

@dataclass(frozen=True)
class DenseSettings:
    """How a video is posed for scoring; teacher and student use the same."""

    rate: float = 10.0  # poses a second
    short_side: int = 256  # decoded frame's short side: the landmark model's own input size
    keyframe_s: float = 2.0  # how often the tracker is checked against a static pose
    smoothing: int = 5  # Savitzky-Golay window, in frames (0 or 1: no smoothing)
    min_detection_confidence: float = 0.5

    def fingerprint(self) -> str:
        return (f"dense=v8;rate={self.rate:g};short={self.short_side};"
                f"key={self.keyframe_s:g};smooth={self.smoothing};"
                f"det={self.min_detection_confidence:g}")


DEFAULT_SETTINGS = DenseSettings()


@dataclass(kw_only=True)
class DensePoses:
    """A video's skeletons at `rate`: landmarks in the frame's normalised coordinates
    (NaN where nobody was found), as MediaPipe orders them (core/ingest/pose.LANDMARK_NAMES)."""

    times: np.ndarray  # seconds from the video's start
    x: np.ndarray  # frames × 33
    y: np.ndarray
    visibility: np.ndarray
    people: np.ndarray  # people seen at the last keyframe
    width: int  # size of the posed frames, in pixels (landmarks are shares of it)
    height: int
    rate: float
    frames: list[np.ndarray] = field(default_factory=list, repr=False)  # RGB, if kept
    motion: PixelMotion | None = field(default=None, repr=False)  # every frame's, if read

    @property
    def found(self) -> np.ndarray:
        return ~np.isnan(self.x[:, 0])

    def __len__(self) -> int:
        return len(self.times)


def read_video(path: Path, ffmpeg: FfmpegSettings, settings: DenseSettings = DEFAULT_SETTINGS,
               keep_frames: bool = False, motion: bool = False, *, probe: Probe | None = None,
               also: Sequence[str] = ()) -> DensePoses:
    """Probe (unless `probe` is given), decode and pose a video, with `motion` also its
    pixel motion at its own frame rate (where her hits are timed); `also`: further ffmpeg
    outputs the same decoding writes (its sound, a classifier's frames). DanceAssetsError
    names what is wrong with it."""
    probe = probe or probed(path, ffmpeg)
    width, height = output_size(probe, settings.short_side)
    reader = (MotionReader(output_size(probe, MOTION_SHORT_SIDE), motion_rate(probe.fps))
              if motion else None)
    frames = decode(path, settings.rate, (width, height), ffmpeg, reader, also)
    poses = pose_frames(frames, width, height, settings, keep_frames)
    if reader is not None:
        poses.motion = reader.result()
    return poses


def probed(path: Path, ffmpeg: FfmpegSettings) -> Probe:
    """The video's probe; DanceAssetsError when it is missing, UnusableVideo with the
    ingest's reason when it is no usable video."""
    if not path.is_file():
        raise DanceAssetsError(f"no such file: {path}")
    try:
        return probe_video(path, ffmpeg)
    except VideoError as exc:
        raise UnusableVideo(path, exc) from None


def decode(path: Path, rate: float, size: tuple[int, int], ffmpeg: FfmpegSettings,
           motion: MotionReader | None = None,
           also: Sequence[str] = ()) -> Iterator[np.ndarray]:
    """RGB frames at `rate` a second, `size` (width, height), display rotation applied.

    Frame n is the latest shown at or before n / rate (round=up; the default keeps one a
    third of a step later, and every move would look early against the music). ffmpeg
    decodes into a pipe a thread reads a few dozen frames ahead, beside the posing. With
    `motion`, the same decoding also feeds every frame, small and grey, to its reader
    (core/ingest/motion.py) through a pipe of its own, and writes the outputs of `also`
    (its sound, a classifier's frames). A decoding that runs past ffmpeg's time limit raises
    DanceAssetsError rather than end early as if the video did.
    """
    width, height = size
    frame_bytes = width * height * 3
    process = subprocess.Popen(_decoding(path, rate, size, ffmpeg, motion, also),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               pass_fds=(motion.write_fd,) if motion else ())
    if motion is not None:
        os.close(motion.write_fd)
        motion.start()
    ahead: queue.Queue[bytes | None] = queue.Queue(maxsize=32)
    stop = threading.Event()
    reader = threading.Thread(target=_read_ahead, args=(process, frame_bytes, ahead, stop),
                              daemon=True)
    reader.start()
    timed_out = threading.Event()
    timer = threading.Timer(ffmpeg.timeout_s, lambda: (timed_out.set(), process.kill()))
    timer.start()
    try:
        while (chunk := ahead.get()) is not None:
            yield np.frombuffer(chunk, np.uint8).reshape(height, width, 3)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)  # it may still be writing the grey frames' last bytes
        if timed_out.is_set():
            raise DanceAssetsError(f"{path.name} took longer than the {ffmpeg.timeout_s:g} s "
                                   "ffmpeg limit to decode")
    finally:
        stop.set()
        timer.cancel()
        process.kill()
        while reader.is_alive():  # unblock a reader waiting on a full queue
            with contextlib.suppress(queue.Empty):
                ahead.get_nowait()
            reader.join(0.01)
        process.wait()


def _read_ahead(process: subprocess.Popen, frame_bytes: int,
                ahead: queue.Queue[bytes | None], stop: threading.Event) -> None:
    """Read ffmpeg's frames into `ahead` until they end or `stop` is set; None ends them."""
    assert process.stdout is not None
    while not stop.is_set():
        chunk = process.stdout.read(frame_bytes)
        if len(chunk) < frame_bytes:
            break
        ahead.put(chunk)
    ahead.put(None)


def _decoding(path: Path, rate: float, size: tuple[int, int], ffmpeg: FfmpegSettings,
              motion: MotionReader | None, also: Sequence[str]) -> list[str]:
    """The ffmpeg command for decode: RGB frames on stdout, with `motion` every frame
    small and grey on the motion reader's pipe, then the outputs of `also`."""
    width, height = size
    posed = f"fps={rate:g}:round=up,scale={width}:{height}:flags=area"
    command = [ffmpeg.binary, "-hide_banner", "-nostdin", "-v", "error",
               "-threads", str(ffmpeg.threads), "-i", str(path)]
    if motion is None:
        return [*command, "-map", "0:v:0", "-vf", posed, "-f", "rawvideo", "-pix_fmt",
                "rgb24", "pipe:1", *also]
    grey = (f"fps={motion.rate:g}:round=up,scale={motion.width}:{motion.height}"
            ":flags=area,format=gray")
    return [*command, "-filter_complex", f"[0:v:0]split=2[a][b];[a]{posed}[posed];[b]{grey}[grey]",
            "-map", "[posed]", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1",
            "-map", "[grey]", "-f", "rawvideo", f"pipe:{motion.write_fd}", *also]


def pose_frames(frames: Iterator[np.ndarray], width: int, height: int,
                settings: DenseSettings = DEFAULT_SETTINGS,
                keep_frames: bool = False) -> DensePoses:
    """Pose every frame: static keyframes, the tracker between them (core/ingest/follower.py)."""
    follower = Follower(settings)
    rows: list[np.ndarray] = []
    people: list[int] = []
    kept: list[np.ndarray] = []
    try:
        for index, rgb in enumerate(frames):
            rows.append(pose_rows(follower.step(index, rgb)))
            people.append(follower.key.people)
            if keep_frames:
                kept.append(rgb)
    finally:
        follower.close()
    landmarks = np.stack(rows) if rows else np.full((0, 3, N_LANDMARKS), np.nan, np.float32)
    x, y = smooth(landmarks[:, 0], settings.smoothing), smooth(landmarks[:, 1],
                                                                settings.smoothing)
    return DensePoses(times=np.arange(len(rows)) / settings.rate, x=x, y=y, visibility=landmarks[:,
                                                                                                 2],
                      people=np.array(people, dtype=np.int64), width=width, height=height,
                      rate=settings.rate, frames=kept)


def pose_rows(person: Person | None) -> np.ndarray:
    """A pose's x, y and visibility rows (3 × 33), NaN where nobody was found."""
    if person is None:
        return np.full((3, N_LANDMARKS), np.nan, np.float32)
    return np.stack([person.x, person.y, person.visibility]).astype(np.float32)


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Savitzky-Golay (order 2) along time over each run of frames without a gap; runs
    shorter than the window are left as they are."""
    from scipy.signal import savgol_filter  # a second to import: only where poses are read

    if window < 3 or len(values) < window:
        return values
    out = values.copy()
    present = ~np.isnan(values[:, 0])
    edges = np.flatnonzero(np.diff(np.concatenate([[0], present.astype(np.int8), [0]])))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        if stop - start >= window:
            out[start:stop] = savgol_filter(values[start:stop], window, 2, axis=0)
    return out
