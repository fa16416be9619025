"""A skeleton for every frame: MediaPipe's offline pose model, the dancer picked among people.

MediaPipe 0.10.14's wheel carries the BlazePose detector and the full landmark model, and
its legacy `solutions.pose` API runs them without downloading anything (model
complexity 1; the lite and heavy models are not in the wheel and would be fetched).

Frames are one second apart, so each is posed on its own (static image mode): the
tracker that MediaPipe offers for consecutive video frames carries its region from
one frame to the next and, measured on the generated lake, drew a confident skeleton
onto a frame of pure static noise, which cleaning must be able to trust as "nobody".

The model returns one person per call. To see everyone and to find small figures:
- after a person is found, their box is painted over and the frame is posed again,
  up to `max_people` times, so `people` counts the distinct people seen;
- when nobody is found in the whole frame, the frame is first set in a wider border
  of its own median colour (a dancer filmed close, cut off by the frame's edges, is too
  large for the detector, which looks for whole bodies), then overlapping square
  windows are tried (a dancer far from the camera, or a tiled "clone" filter, is too
  small at the detector's 224-pixel input when the whole frame is squeezed into it).
The dancer is the most central, largest of the people found.

Landmarks are in the frame's normalised coordinates (x to the right, y down, 0-1 inside
the frame, beyond it for parts out of view), in MediaPipe's order: LANDMARK_NAMES.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from dance_assets.core.ingest.quality import median_colour

# Bump when what a pose row means changes: every video's poses are then computed again.
POSE_VERSION = 2
LANDMARK_NAMES: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_foot_index", "right_foot_index",
)
# Bones to draw, as pairs of landmark indices (MediaPipe's POSE_CONNECTIONS).
CONNECTIONS: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10),
    (11, 12), (11, 23), (12, 24), (23, 24),
    (11, 13), (13, 15), (15, 17), (15, 19), (15, 21), (17, 19),
    (12, 14), (14, 16), (16, 18), (16, 20), (16, 22), (18, 20),
    (23, 25), (25, 27), (27, 29), (29, 31), (27, 31),
    (24, 26), (26, 28), (28, 30), (30, 32), (28, 32),
)
TORSO = (11, 12, 23, 24)  # shoulders and hips: present in every real detection
# Landmarks are joint centres; the body reaches past them. Margins in shares of the
# skeleton's own height (top: hair above the eyes; sides: arm and hand thickness).
_MARGIN_TOP, _MARGIN_SIDE, _MARGIN_BOTTOM = 0.10, 0.06, 0.03


@dataclass(kw_only=True, frozen=True)
class PoseSettings:
    """How poses are found; a change re-runs the pose step (and nothing else)."""

    min_detection_confidence: float = 0.5
    min_torso_visibility: float = 0.5  # a detection whose torso is not visible is no person
    max_people: int = 3  # people counted per frame (each beyond the first costs a pass)
    zoom_when_missed: bool = True  # try square windows when the whole frame shows nobody
    min_inside_share: float = 0.5  # landmarks inside the image: fewer is a ghost at its edge
    min_height: float = 0.2  # the skeleton's in-frame height, as a share of the image's

    def fingerprint(self) -> str:
        return (f"pose=v{POSE_VERSION};det={self.min_detection_confidence:g};"
                f"torso={self.min_torso_visibility:g};people={self.max_people};"
                f"zoom={int(self.zoom_when_missed)};inside={self.min_inside_share:g};"
                f"height={self.min_height:g}")


@dataclass(frozen=True)
class Person:
    """One skeleton in frame coordinates: arrays of x, y and visibility per landmark
    (LANDMARK_NAMES' 33, in MediaPipe's order)."""

    x: np.ndarray
    y: np.ndarray
    visibility: np.ndarray

    @property
    def box(self) -> tuple[float, float, float, float]:
        """The body's box (x0, y0, x1, y1), normalised and clipped to the frame."""
        x0, x1 = float(self.x.min()), float(self.x.max())
        y0, y1 = float(self.y.min()), float(self.y.max())
        height = max(y1 - y0, x1 - x0, 1e-3)
        return (max(0.0, x0 - _MARGIN_SIDE * height), max(0.0, y0 - _MARGIN_TOP * height),
                min(1.0, x1 + _MARGIN_SIDE * height), min(1.0, y1 + _MARGIN_BOTTOM * height))

    def prominence(self) -> float:
        """Largest and most central wins: box area, less for a box far from the centre."""
        x0, y0, x1, y1 = self.box
        off_centre = np.hypot((x0 + x1) / 2 - 0.5, (y0 + y1) / 2 - 0.5) / np.hypot(0.5, 0.5)
        return (x1 - x0) * (y1 - y0) * (1.0 - 0.5 * off_centre)


@dataclass(frozen=True)
class FramePose:
    """What the pose step saw in one frame: the dancer (if anyone) and how many people."""

    dancer: Person | None
    people: int

    @property
    def found(self) -> bool:
        return self.dancer is not None


NOBODY = FramePose(None, 0)


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def zoom_windows(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """Overlapping squares (x0, y0, x1, y1) along the long side, then the four quadrants."""
    side = min(width, height)
    long_side = max(width, height)
    offsets = sorted({0, (long_side - side) // 2, long_side - side})
    squares = [(0, o, side, o + side) if height >= width else (o, 0, o + side, side)
               for o in offsets]
    half_w, half_h = width // 2, height // 2
    quadrants = [(x, y, x + half_w, y + half_h) for y in (0, half_h) for x in (0, half_w)]
    return squares + quadrants


@dataclass(frozen=True)
class Border:
    """A frame set in a border of half its size on every side, filled with its median
    colour: a dancer filmed close, cut off by the frame's edges, is too large for the
    detector, which looks for whole bodies; with room around her it finds her."""

    width: int
    height: int

    @property
    def pad(self) -> tuple[int, int]:
        return self.width // 2, self.height // 2

    def around(self, rgb: np.ndarray, fill: np.ndarray | None = None) -> np.ndarray:
        pad_x, pad_y = self.pad
        canvas = np.empty((self.height + 2 * pad_y, self.width + 2 * pad_x, 3), rgb.dtype)
        canvas[:] = median_colour(rgb) if fill is None else fill
        canvas[pad_y:pad_y + self.height, pad_x:pad_x + self.width] = rgb
        return canvas

    def back(self, person: Person) -> Person:
        """A person found on the canvas, in the frame's own normalised coordinates."""
        pad_x, pad_y = self.pad
        return Person((person.x * (self.width + 2 * pad_x) - pad_x) / self.width,
                      (person.y * (self.height + 2 * pad_y) - pad_y) / self.height,
                      person.visibility)


def pose_of(model: object, rgb: np.ndarray) -> Person | None:
    """The person a MediaPipe pose model (static or tracking) finds in `rgb`, or None."""
    result = model.process(np.ascontiguousarray(rgb))  # type: ignore[attr-defined]
    if result.pose_landmarks is None:
        return None
    values = np.array([(p.x, p.y, p.visibility) for p in result.pose_landmarks.landmark],
                      dtype=np.float32)
    return Person(values[:, 0], values[:, 1], values[:, 2])


# What MediaPipe 0.10.14's C++ side writes to file descriptor 2 as a graph starts (TFLite's
# minimal logger, and absl's log before anything initialises it): measured, no setting
# quiets these (GLOG_minloglevel, TF_CPP_MIN_LOG_LEVEL: neither logger reads them).
def ignore_protobuf_deprecation() -> None:
    """MediaPipe 0.10.14 on protobuf 4 calls a deprecated protobuf function on every frame
    in which it finds someone, and Python would print the warning once per process: this
    ignores that one warning (its message, from protobuf's module), in a process that starts
    a MediaPipe graph, not in one that merely imports this module. A filter, not a
    catch_warnings() around each call: poses run on several threads, and
    catch_warnings() swaps the process's filters under the others' feet. (Adding the same
    filter again replaces it.)"""
    warnings.filterwarnings("ignore", message=r"SymbolDatabase\.GetPrototype\(\) is deprecated",
                            category=UserWarning, module=r"google\.protobuf\.symbol_database")


_START_UP_LINES = re.compile(
    rb"INFO: Created TensorFlow Lite XNNPACK delegate for CPU\."
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to "
    rb"STDERR"
    rb"|W\d{4} [\d:.]+ +\d+ inference_feedback_manager\.cc:\d+\] Feedback manager requires "
    rb"a model with a single signature inference\. Disabling support for feedback tensors\.")
_native_stderr = threading.Lock()


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def _forward_all_but_start_up(pipe: int, out: int) -> None:
    """Copy `pipe` to `out` line by line, less MediaPipe's start-up lines, until every
    writer has closed the pipe; then close both."""
    pending = b""
    try:
        while chunk := os.read(pipe, 65536):
            *lines, pending = (pending + chunk).split(b"\n")
            _write_all(out, b"".join(line + b"\n" for line in lines
                                     if not _START_UP_LINES.fullmatch(line)))
        if pending and not _START_UP_LINES.fullmatch(pending):
            _write_all(out, pending)
    finally:
        os.close(pipe)
        os.close(out)


@contextlib.contextmanager
def native_start_up_quiet() -> Iterator[None]:
    """Leave out the lines MediaPipe's C++ side (TFLite, absl) writes to file descriptor 2
    while a graph starts: "Created TensorFlow Lite XNNPACK delegate" and the like are noise
    to a dancer running `score`. The descriptor is the process's, so meanwhile it is a pipe
    that a thread copies to where it pointed, those lines dropped: what other threads (or
    a child process started meanwhile) write still arrives. One graph at a time."""
    with _native_stderr:
        sys.stderr.flush()
        saved = os.dup(2)
        pipe, into_pipe = os.pipe()
        forwarder = threading.Thread(target=_forward_all_but_start_up,
                                     args=(pipe, os.dup(saved)), daemon=True,
                                     name="mediapipe-start-up-stderr")
        forwarder.start()
        os.dup2(into_pipe, 2)
        os.close(into_pipe)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)  # the pipe's last write end, unless a child holds a copy
            os.close(saved)
            # Copied through before returning, as they would have been written; a child
            # started meanwhile keeps the pipe open, and the copying goes on as it writes.
            forwarder.join(timeout=1)


class PoseEstimator:
    """MediaPipe's pose model, ready to pose frames one after another (one per thread)."""

    def __init__(self, settings: PoseSettings = PoseSettings()) -> None:
        from mediapipe.python.solutions import pose as mp_pose

        self.settings = settings
        self._closed = False
        ignore_protobuf_deprecation()
        with native_start_up_quiet():
            self._model = mp_pose.Pose(
                static_image_mode=True, model_complexity=1, smooth_landmarks=False,
                enable_segmentation=False,
                min_detection_confidence=settings.min_detection_confidence)
            self._one(np.zeros((64, 64, 3), np.uint8))  # the graph starts on its first frame

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._model.close()

    def _one(self, rgb: np.ndarray) -> Person | None:
        """The single person MediaPipe finds in `rgb`, in its coordinates, or None."""
        person = pose_of(self._model, rgb)
        return person if person is not None and self.plausible(person) else None

    def plausible(self, person: Person) -> bool:
        """A real body: torso visible, mostly inside the image, and not a sliver at its edge.

        Measured on generated empty rooms, the model sometimes places a confident skeleton
        almost wholly below the image's bottom edge; these rules turn such ghosts away.
        """
        settings = self.settings
        inside = (person.x >= 0) & (person.x <= 1) & (person.y >= 0) & (person.y <= 1)
        _, y0, _, y1 = person.box
        return bool(person.visibility[list(TORSO)].mean() >= settings.min_torso_visibility
                    and inside.mean() >= settings.min_inside_share
                    and y1 - y0 >= settings.min_height)

    def _people_in(self, rgb: np.ndarray) -> Iterator[Person]:
        """People found one after another, each painted over before looking again."""
        canvas = rgb
        fill = median_colour(rgb)
        height, width = rgb.shape[:2]
        for _ in range(self.settings.max_people):
            person = self._one(canvas)
            if person is None:
                return
            yield person
            x0, y0, x1, y1 = person.box
            if canvas is rgb:
                canvas = rgb.copy()
            canvas[int(y0 * height):int(np.ceil(y1 * height)),
                   int(x0 * width):int(np.ceil(x1 * width))] = fill

    def people(self, rgb: np.ndarray) -> list[Person]:
        """Everyone found in the whole frame (no zoomed windows), each a plausible body."""
        return list(self._people_in(rgb))

    def people_zoomed_out(self, rgb: np.ndarray) -> list[Person]:
        """People found in the frame set in a border (Border), in the frame's coordinates."""
        border = Border(rgb.shape[1], rgb.shape[0])
        found = []
        for person in self._people_in(border.around(rgb)):
            inside = border.back(person)
            if self.plausible(inside):  # judged again in the frame's own coordinates
                found.append(inside)
        return found

    def __call__(self, rgb: np.ndarray) -> FramePose:
        """Pose one RGB frame (uint8, height x width x 3)."""
        height, width = rgb.shape[:2]
        people = list(self._people_in(rgb))
        if not people and self.settings.zoom_when_missed:
            people = self.people_zoomed_out(rgb)
        if not people and self.settings.zoom_when_missed:
            for x0, y0, x1, y1 in zoom_windows(width, height):
                for found in self._people_in(rgb[y0:y1, x0:x1]):
                    person = Person(
                        (found.x * (x1 - x0) + x0) / width, (found.y * (y1 - y0) + y0) / height,
                        found.visibility)
                    if all(_iou(person.box, other.box) < 0.3 for other in people):
                        people.append(person)
                if len(people) >= self.settings.max_people:
                    break
        if not people:
            return NOBODY
        return FramePose(max(people, key=Person.prominence), len(people))

    def video(self, frames: Sequence[np.ndarray]) -> list[FramePose]:
        return [self(frame) for frame in frames]


_per_thread = threading.local()
_made: dict[int, PoseEstimator] = {}  # thread id -> the estimator it made
_made_lock = threading.Lock()


def estimator(settings: PoseSettings) -> PoseEstimator:
    """This thread's estimator for `settings`, made once (a graph takes a while to start)."""
    cached: PoseEstimator | None = getattr(_per_thread, "estimator", None)
    if cached is None or cached.closed or cached.settings != settings:
        if cached is not None:
            cached.close()
        cached = PoseEstimator(settings)
        _per_thread.estimator = cached
        with _made_lock:
            _made[threading.get_ident()] = cached
    return cached


def close_estimators(threads: Iterable[int]) -> None:
    """Close the estimators that `threads`, done posing, made. A thread's end alone does
    not free one: a reference cycle through MediaPipe's graph keeps it, and its native
    memory (about 600 MB over an ingest of nine small videos), until a garbage
    collection that may not come before the next batch has made its own."""
    with _made_lock:
        closing = [_made.pop(thread) for thread in threads if thread in _made]
    for made in closing:
        made.close()
