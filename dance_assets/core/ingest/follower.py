"""Following one dancer through the frames of a video posed densely (dense_poses.py).

Within one video MediaPipe's tracking mode is faster (it carries the body's region from
one frame to the next instead of running the person detector on each), but it follows
whoever it first found and can hold a skeleton on static. So it is trusted only where a
person is known to be there:
- every second the pixels are checked: a frame that looks like static or a title card
  (or like grain in a dim room, or a plain wall behind her) is posed on its own, and a
  second where nobody is found has nobody, whatever the tracker says;
- every `keyframe_s` (half that when others dance beside her, and half a second after
  the tracker lost her) the frame is posed on its own instead (static mode, everyone in
  the frame found, the most prominent person is the dancer, core/ingest/pose.py);
- when a keyframe finds others, the tracker sees only the frame cut around her, the
  others painted over, so it stays on her in a group or under a clone filter;
- a tracked skeleton must be a plausible body (pose.py's rules) near her keyframe box;
- a dancer too close for the detector, cut off by the frame's edges, is tracked in the
  frame set in a border (core/ingest/pose.Border) when the plain frame shows nobody.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

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
from dance_assets.core.ingest.quality import luma, median_colour, noise_sigma, uniform_share

if TYPE_CHECKING:
    from dance_assets.core.ingest.dense_poses import DenseSettings

# A keyframe with nobody whose pixels look like this shows no scene at all: static or
# snow (Immerkaer's noise, 0-255), or a title card (most of it one flat colour). The
# thresholds are the cleaning step's defaults (core/curation/cleaning.py), which also
# ask the pose model first.
_STATIC_NOISE = 2.0
_CARD_SHARE = 0.6
# A tracked body is the dancer when its box overlaps the keyframe dancer's box by this
# much (intersection over the smaller box): she moves within a second, others stay apart.
_SAME_PERSON_OVERLAP = 0.3
# Among others the tracker sees her keyframe box widened by this share of its size each
# way: room for a second's moves, not for the friend beside her.
_REACH = 0.5
# The last keyframe's dancer stays the dancer while her prominence is at least this share
# of the most prominent person's.
_STAYS = 0.8



def _looks_like_no_scene(rgb: np.ndarray) -> bool:
    """Static or snow, or a title card (most of it one flat colour); grain in a dim room
    or a plain wall behind her looks the same, so a keyframe decides."""
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


def _backdrop(rgb: np.ndarray) -> np.ndarray:
    """The colour that paints friends over and fills a border: the frame's median, from
    every eighth pixel each way (the room dominates; a sample of it is enough)."""
    return median_colour(rgb[::8, ::8])


def _pixels(box: tuple[float, float, float, float], height: int, width: int
            ) -> tuple[slice, slice]:
    """The rows and columns a normalised box (x0, y0, x1, y1) covers."""
    x0, y0, x1, y1 = box
    return (slice(int(y0 * height), math.ceil(y1 * height)),
            slice(int(x0 * width), math.ceil(x1 * width)))


def _paint_over(rgb: np.ndarray, key: _Keyframe) -> np.ndarray:
    """The frame with the other people's boxes (from the keyframe) filled with the
    keyframe's median colour, the dancer's box left as it is."""
    if not key.others:
        return rgb
    height, width = rgb.shape[:2]
    canvas = rgb.copy()
    for box in key.others:
        canvas[_pixels(box, height, width)] = key.fill
    if key.dancer_box is not None:
        mine = _pixels(key.dancer_box, height, width)
        canvas[mine] = rgb[mine]
    return canvas


class Follower:
    """Follows one dancer through a video: a static keyframe now and then, and between
    them a tracker on the frame cut around her when others are there; alone, on the frame
    as it is or, for a dancer too close for the detector, on the frame set in a border
    (core/ingest/pose.Border), whichever found her last."""

    def __init__(self, settings: DenseSettings) -> None:
        self.static = PoseEstimator(PoseSettings(
            min_detection_confidence=settings.min_detection_confidence, zoom_when_missed=False,
            max_people=4))
        self.settings = settings
        self.trackers: dict[str, _Tracker] = {}  # by view: frame, border, around her
        self.bordered = False
        self.key = _Keyframe()
        self.since_key = math.inf  # frames since the last keyframe
        self.lost = True  # the last frame found nobody

    def step(self, index: int, rgb: np.ndarray) -> Person | None:
        """The dancer in the next frame, or None. Each second the pixels are checked: a
        frame that looks like static or a title card is posed on its own, and if nobody
        is found the second is empty, whatever the tracker would say. A keyframe comes
        every keyframe_s (half that in a group), or half a second after she was lost."""
        rate = self.settings.rate
        each_second = index % max(1, round(rate)) == 0
        if each_second and _looks_like_no_scene(rgb):
            person, self.since_key = self.keyframe(rgb), 0
            if person is None:
                self.key, self.since_key = _Keyframe(no_scene=True), math.inf
            self.lost = person is None
            return person
        if self.key.no_scene and not each_second:
            return None
        self.since_key += 1
        # With others in the frame she is checked twice as often: a tracker may drift to
        # a friend, and it follows whoever it holds.
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
        dancer = self._dancer_among(people)
        fill = _backdrop(rgb)
        self.key = _Keyframe(dancer.box, [p.box for p in people if p is not dancer], False,
                             len(people), fill)
        return dancer

    def _dancer_among(self, people: list[Person]) -> Person:
        """The most prominent person, unless the last keyframe's dancer is there and
        nearly as prominent: she stays the dancer (in a group, or one copy of her under a
        clone filter) until someone is clearly more so."""
        most = max(people, key=Person.prominence)
        if self.key.dancer_box is None:
            return most
        same = [person for person in people
                if _overlap(person.box, self.key.dancer_box) >= _SAME_PERSON_OVERLAP
                and person.prominence() >= _STAYS * most.prominence()]
        return max(same, key=Person.prominence) if same else most

    def track(self, rgb: np.ndarray) -> Person | None:
        """The dancer in a frame between keyframes, or None. Among others she is tracked
        in the frame cut around her; alone, when the tracker sees nobody, the other way
        of looking (with or without a border) is tried once."""
        painted = _paint_over(rgb, self.key)
        if self.key.others and self.key.dancer_box is not None:
            person = self._tracked_around(painted, self.key.dancer_box)
            return person if person is not None and self._trusted(person) else None
        for bordered in (self.bordered, not self.bordered):
            person = self._tracked(painted, bordered)
            if person is not None:
                if not self._trusted(person):
                    return None
                self.bordered = bordered
                return person
        return None

    def _tracker(self, view: str) -> _Tracker:
        if view not in self.trackers:
            self.trackers[view] = _Tracker(self.settings)
        return self.trackers[view]

    def _tracked(self, rgb: np.ndarray, bordered: bool) -> Person | None:
        if not bordered:
            return self._tracker("frame")(rgb)
        border = Border(rgb.shape[1], rgb.shape[0])
        fill = _backdrop(rgb)
        found = self._tracker("border")(border.around(rgb, fill))
        return border.back(found) if found is not None else None

    def _tracked_around(self, rgb: np.ndarray, box: tuple[float, float, float, float]
                        ) -> Person | None:
        """The dancer tracked in the frame cut to her keyframe box widened by _REACH: there
        the tracker can hold only her, not a friend (or a clone filter's copy) the keyframe
        missed, and she is larger, so its detector finds her again where it would not."""
        height, width = rgb.shape[:2]
        x0, y0, x1, y1 = box
        reach_x, reach_y = _REACH * (x1 - x0), _REACH * (y1 - y0)
        rows, columns = _pixels((max(0.0, x0 - reach_x), max(0.0, y0 - reach_y),
                                 min(1.0, x1 + reach_x), min(1.0, y1 + reach_y)), height, width)
        cut = rgb[rows, columns]
        found = self._tracker("around")(cut)
        if found is None:
            return None
        return Person(columns.start / width + found.x * cut.shape[1] / width,
                      rows.start / height + found.y * cut.shape[0] / height, found.visibility)

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
