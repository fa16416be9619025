"""Poses at the speed of the dance: a skeleton several times a second, for scoring.

The lake poses one frame a second, each on its own, because its frames are a second
apart and cleaning must trust "nobody" on a frame of static. A dancer's timing lives
between those seconds (a TikTok move lasts less than one), so scoring decodes the video
at `rate` frames a second straight from ffmpeg into memory and poses every frame.

Within one video MediaPipe's tracking mode is faster (it carries the body's region from
one frame to the next instead of running the person detector on each), but it follows
whoever it first found and can hold a skeleton on static. So it is trusted only where a
person is known to be there:
- every second the pixels are checked: a second of static or a title card has nobody,
  whatever the tracker says;
- every `keyframe_s` (half that when others dance beside her, and half a second after
  the tracker lost her) the frame is posed on its own instead (static mode, everyone in
  the frame found, the most prominent person is the dancer, core/ingest/pose.py);
- the other people a keyframe found are painted over in the tracker's frames until the
  next keyframe, so the tracker stays on the dancer in a group;
- a tracked skeleton must be a plausible body (core/ingest/pose.py's rules) near the dancer's
  box of the last keyframe;
- a dancer too close for the detector, cut off by the frame's edges, is tracked in the
  frame set in a border (core/ingest/pose.Border) when the plain frame shows nobody.
Landmarks are then smoothed in time with a zero-phase Savitzky-Golay filter over each
run of consecutive poses (offline, so no lag as a causal One Euro filter would add).
"""

from __future__ import annotations

import contextlib
import math
import queue
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dance_assets.core.ingest.pose import (
    Border,
    Person,
    PoseEstimator,
    PoseSettings,
    ignore_protobuf_deprecation,
    native_start_up_quiet,
    pose_of,
)
from dance_assets.core.ingest.quality import luma, noise_sigma, uniform_share
from dance_assets.core.ingest.video import (
    FfmpegSettings,
    VideoError,
    output_size,
    probe_video,
)
from dance_assets.core.lake.errors import DanceAssetsError

N_LANDMARKS = 33
# A keyframe with nobody whose pixels look like this shows no scene at all: static or
# snow (Immerkaer's noise, 0-255), or a title card (most of it one flat colour). The
# thresholds are the cleaning step's defaults (core/curation/cleaning.py).
_STATIC_NOISE = 2.0
_CARD_SHARE = 0.6
# A tracked body is the dancer when its box overlaps the keyframe dancer's box by this
# much (intersection over the smaller box): she moves within a second, others stay apart.
_SAME_PERSON_OVERLAP = 0.3


@dataclass(frozen=True)
class DenseSettings:
    """How a video is posed for scoring; teacher and student use the same."""

    rate: float = 10.0  # poses a second
    short_side: int = 256  # decoded frame's short side: the landmark model's own input size
    keyframe_s: float = 2.0  # how often the tracker is checked against a static pose
    smoothing: int = 5  # Savitzky-Golay window, in frames (0 or 1: no smoothing)
    min_detection_confidence: float = 0.5

    def fingerprint(self) -> str:
        return (f"dense=v4;rate={self.rate:g};short={self.short_side};"
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

    @property
    def found(self) -> np.ndarray:
        return ~np.isnan(self.x[:, 0])

    def __len__(self) -> int:
        return len(self.times)


def read_video(path: Path, ffmpeg: FfmpegSettings, settings: DenseSettings = DEFAULT_SETTINGS,
               keep_frames: bool = False) -> DensePoses:
    """Probe, decode and pose a video; DanceAssetsError names what is wrong with it."""
    if not path.is_file():
        raise DanceAssetsError(f"no such file: {path}")
    try:
        probe = probe_video(path, ffmpeg)
    except VideoError as exc:
        raise DanceAssetsError(f"{path.name} is not a usable video: {exc}") from None
    width, height = output_size(probe, settings.short_side)
    frames = decode(path, settings.rate, (width, height), ffmpeg)
    return pose_frames(frames, width, height, settings, keep_frames)


def decode(path: Path, rate: float, size: tuple[int, int],
           ffmpeg: FfmpegSettings) -> Iterator[np.ndarray]:
    """RGB frames at `rate` a second, `size` (width, height), display rotation applied.

    Frame n is the latest frame shown at or before n / rate (the fps filter's
    round=up), so a 30 or 60 fps video's poses carry their frames' own times; its default
    rounding would take the frame a third of a pose step later and make every movement
    look that much early against the music. ffmpeg decodes into a pipe read by a thread a
    few dozen frames ahead, so decoding runs beside posing instead of in turns.
    """
    width, height = size
    command = [ffmpeg.binary, "-hide_banner", "-nostdin", "-v", "error",
               "-threads", str(ffmpeg.threads), "-i", str(path), "-map", "0:v:0",
               "-vf", f"fps={rate:g}:round=up,scale={width}:{height}:flags=area",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    frame_bytes = width * height * 3
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ahead: queue.Queue[bytes | None] = queue.Queue(maxsize=32)
    stop = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        while not stop.is_set():
            chunk = process.stdout.read(frame_bytes)
            if len(chunk) < frame_bytes:
                break
            ahead.put(chunk)
        ahead.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    timer = threading.Timer(ffmpeg.timeout_s, process.kill)
    timer.start()
    try:
        while (chunk := ahead.get()) is not None:
            yield np.frombuffer(chunk, np.uint8).reshape(height, width, 3)
    finally:
        stop.set()
        timer.cancel()
        process.kill()
        while reader.is_alive():  # unblock a reader waiting on a full queue
            with contextlib.suppress(queue.Empty):
                ahead.get_nowait()
            reader.join(0.01)
        process.wait()


def _looks_like_no_scene(rgb: np.ndarray) -> bool:
    """Static, snow or a title card: no person can be there, whatever a tracker says."""
    gray = luma(rgb[::2, ::2])
    return noise_sigma(gray) > _STATIC_NOISE or uniform_share(gray[::2, ::2]) > _CARD_SHARE


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over the smaller of two boxes (x0, y0, x1, y1)."""
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return width * height / smaller if smaller > 0 else 0.0


@dataclass
class _Keyframe:
    """What the last keyframe established: the dancer's box and the others', or no scene."""

    dancer_box: tuple[float, float, float, float] | None = None
    others: list[tuple[float, float, float, float]] = field(default_factory=list)
    no_scene: bool = False
    people: int = 0
    fill: np.ndarray | None = None  # the frame's median colour, to paint others with


class _Tracker:
    """MediaPipe's pose in tracking mode, one video at a time."""

    def __init__(self, settings: DenseSettings) -> None:
        from mediapipe.python.solutions import pose as mp_pose

        ignore_protobuf_deprecation()
        with native_start_up_quiet():
            self._model = mp_pose.Pose(
                static_image_mode=False, model_complexity=1, smooth_landmarks=False,
                enable_segmentation=False,
                min_detection_confidence=settings.min_detection_confidence,
                min_tracking_confidence=0.5)
            self._model.process(np.zeros((64, 64, 3), np.uint8))  # its graph starts here

    def __call__(self, rgb: np.ndarray) -> Person | None:
        return pose_of(self._model, rgb)

    def close(self) -> None:
        self._model.close()


def _paint_over(rgb: np.ndarray, key: _Keyframe) -> np.ndarray:
    """The frame with the other people's boxes (from the keyframe) filled with the
    keyframe's median colour, the dancer's box left as it is."""
    if not key.others:
        return rgb
    height, width = rgb.shape[:2]
    canvas = rgb.copy()
    for x0, y0, x1, y1 in key.others:
        canvas[int(y0 * height):int(np.ceil(y1 * height)),
               int(x0 * width):int(np.ceil(x1 * width))] = key.fill
    if key.dancer_box is not None:
        x0, y0, x1, y1 = key.dancer_box
        rows = slice(int(y0 * height), int(np.ceil(y1 * height)))
        columns = slice(int(x0 * width), int(np.ceil(x1 * width)))
        canvas[rows, columns] = rgb[rows, columns]
    return canvas


class _Follower:
    """Follows one dancer through a video: a static keyframe now and then, and between
    them a tracker on the frame as it is or, for a dancer too close for the detector, on
    the frame set in a border (core/ingest/pose.Border), whichever found her last."""

    def __init__(self, settings: DenseSettings) -> None:
        self.static = PoseEstimator(PoseSettings(
            min_detection_confidence=settings.min_detection_confidence, zoom_when_missed=False,
            max_people=4))
        self.settings = settings
        self.trackers: dict[bool, _Tracker] = {}  # by "in a border"
        self.bordered = False
        self.key = _Keyframe()
        self.since_key = math.inf  # frames since the last keyframe
        self.lost = True  # the last frame found nobody

    def step(self, index: int, rgb: np.ndarray) -> Person | None:
        """The dancer in the next frame, or None. Each second the pixels are checked for
        static or a title card; a keyframe comes every keyframe_s (half that in a group),
        or half a second after the tracker lost her."""
        rate = self.settings.rate
        if index % max(1, round(rate)) == 0 and _looks_like_no_scene(rgb):
            self.key, self.lost = _Keyframe(no_scene=True), True
            return None
        if self.key.no_scene and index % max(1, round(rate)) != 0:
            return None
        self.since_key += 1
        # With others in the frame she is checked twice as often: a tracker may drift to
        # a friend, and it follows whoever it holds (with keyframes every keyframe_s, two
        # of twelve generated group students' weakest moment moved off their mistake).
        every = self.settings.keyframe_s / (2 if self.key.people > 1 else 1)
        due = self.since_key >= every * rate
        person = None
        if due or (self.lost and self.since_key >= rate / 2):
            person, self.since_key = self.keyframe(rgb), 0
        if person is None:
            person = self.track(rgb)
        self.lost = person is None
        return person

    def keyframe(self, rgb: np.ndarray) -> Person | None:
        """Everyone in the frame, posed on its own; the most prominent is the dancer. Only
        when the tracker has lost her too is she looked for with a border around the frame.
        A keyframe that finds nobody keeps the last one's dancer: the tracker may still see
        her where the detector does not."""
        people = self.static.people(rgb)
        if people:
            self.bordered = False  # the detector sees her in the plain frame: so will the tracker
        elif self.lost:
            people = self.static.people_zoomed_out(rgb)
        if not people:
            self.key = _Keyframe(self.key.dancer_box, self.key.others, fill=self.key.fill)
            return None
        dancer = max(people, key=Person.prominence)
        fill = np.median(rgb[::8, ::8].reshape(-1, 3), axis=0).astype(rgb.dtype)
        self.key = _Keyframe(dancer.box, [p.box for p in people if p is not dancer], False,
                             len(people), fill)
        return dancer

    def track(self, rgb: np.ndarray) -> Person | None:
        """The dancer in a frame between keyframes, or None. When the tracker sees nobody,
        the other way of looking (with or without a border) is tried once."""
        painted = _paint_over(rgb, self.key)
        for bordered in (self.bordered, not self.bordered):
            person = self._tracked(painted, bordered)
            if person is not None:
                if not self._trusted(person):
                    return None
                self.bordered = bordered
                return person
        return None

    def _tracked(self, rgb: np.ndarray, bordered: bool) -> Person | None:
        if bordered not in self.trackers:
            self.trackers[bordered] = _Tracker(self.settings)
        if not bordered:
            return self.trackers[False](rgb)
        border = Border(rgb.shape[1], rgb.shape[0])
        fill = np.median(rgb[::8, ::8].reshape(-1, 3), axis=0).astype(rgb.dtype)
        found = self.trackers[True](border.around(rgb, fill))
        return border.back(found) if found is not None else None

    def _trusted(self, person: Person) -> bool:
        """A plausible body, and where a keyframe placed the dancer if one did."""
        if not self.static.plausible(person):
            return False
        box = self.key.dancer_box
        return box is None or _overlap(person.box, box) >= _SAME_PERSON_OVERLAP

    def close(self) -> None:
        for tracker in self.trackers.values():
            tracker.close()
        self.static.close()


def pose_frames(frames: Iterator[np.ndarray], width: int, height: int,
                settings: DenseSettings = DEFAULT_SETTINGS,
                keep_frames: bool = False) -> DensePoses:
    """Pose every frame: static keyframes, the tracker between them (module docstring)."""
    follower = _Follower(settings)
    rows: list[np.ndarray] = []
    people: list[int] = []
    kept: list[np.ndarray] = []
    try:
        for index, rgb in enumerate(frames):
            rows.append(_landmarks(follower.step(index, rgb)))
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


def _landmarks(person: Person | None) -> np.ndarray:
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
