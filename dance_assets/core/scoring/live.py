"""Live feedback while she dances: each of her poses against the teacher's, one at a time.

The report (coaching.py) puts her whole video in step with the teacher's at once. Live,
only the poses so far are known, and each must be judged as it comes, so:

- **which of the teacher's poses.** Her pose is compared with each of the teacher's in a
  window of the teacher's video around the moment it showed when her camera took the
  frame: from LAG_S behind it to LEAD_S ahead, in her (wall-clock) seconds, so in the
  teacher's time that window times the playback speed (at 0.5x, a second of her lag is
  half a second of the teacher's video). The pose in the window she is closest to is her
  match: the live counterpart of the report's alignment, which lets her be late or
  early by a steady offset. LAG_S is a second because a dancer copying a screen follows
  it: seeing a move and doing it takes 0.2-0.4 s, and a dancer still learning a routine
  runs a few tenths of a second behind that (the generated students are up to 0.6 s late);
  LEAD_S a third of a second because one who knows the routine dances on the beat the
  screen is about to show. A wider window would forgive a wrong move by finding its
  shape elsewhere in the routine; a narrower one would call a late dancer wrong.
- **as in a mirror or not.** Both are compared all along, and the one she matches better
  over the session so far is used, as the report picks one for the whole video.
- **colours.** Each body part's angle from the matched pose (movement.part_errors,
  weighted by how well both were seen), in the report's bands and colours
  (score_report_page.band_colour): the limbs she sees live are the limbs of her report.
- **the running score** is the report's formula on the poses so far: coaching.score_of of
  the mean over her matched poses of each pose's body-part angle (each part weighted by
  how much the teacher's routine moves it, as coaching.part_weights does with the more
  active dancer), times the square root of the share of her poses matched at all. It is
  the score her report would give if her recording were matched pose by pose; the report
  also lets her tempo drift and leaves out her still seconds at either end, so the two
  differ by a few points, the report usually the lower (LAG_S's window forgives a
  little more than the report's single line through the dance).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from dance_assets.core.ingest.pose_features import JOINTS, normalise
from dance_assets.core.performance.movement import (
    PART_NAMES,
    UNSEEN,
    Movement,
    directions_of,
    part_errors,
    part_motion,
    segment_weights,
)
from dance_assets.core.scoring.coaching import MIN_MOTION_DEG, frame_errors, score_of
from dance_assets.core.scoring.score_report_page import band_colour, hex_colour

LAG_S, LEAD_S = 1.0, 0.3  # the window around the teacher's moment (module docstring)
# Her whole body is in view when her feet and head are seen and every joint that carries
# the dance is this far inside the picture's edges (a share of its width or height).
IN_VIEW_MARGIN = 0.02
_NOSE, _ANKLES = 0, (27, 28)


@dataclass
class _Tally:
    """Her matched poses' errors so far in one orientation, with the lag of each match."""

    errors: list[float] = field(default_factory=list)
    lags_s: list[float] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class LivePose:
    """One of her poses judged: what the page draws and shows."""

    errors: dict[str, float | None]  # body part → degrees from the matched pose
    colours: dict[str, str]  # body part → the report's colour for it
    matched_s: float | None  # the teacher's time of the pose she matched, None if none
    score: int | None  # the running score, None before any pose was matched
    lag_ms: int | None  # how far behind the teacher she dances lately (ahead: negative)
    mirrored: bool  # whether she is judged as dancing the teacher's mirror image

    def as_dict(self) -> dict:
        return {"errors": self.errors, "colours": self.colours, "matched_s": self.matched_s,
                "score": self.score, "lag_ms": self.lag_ms, "mirrored": self.mirrored}


def her_pose(x: np.ndarray, y: np.ndarray, visibility: np.ndarray, width: int, height: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """One frame's 33 landmarks as a Movement's frame: segment directions (1 × segments × 2)
    and weights (1 × segments), normalised as movement.movement_of does for score."""
    skeleton = normalise(x[None], y[None], width, height)
    return directions_of(skeleton), segment_weights(visibility[None])


class LiveComparison:
    """Her poses, one at a time, against a teacher's Movement (module docstring)."""

    def __init__(self, teacher: Movement) -> None:
        self.teachers = {False: teacher, True: teacher.mirrored()}
        self.part_weights = np.maximum(
            np.nan_to_num(part_motion(teacher, np.flatnonzero(teacher.found))), MIN_MOTION_DEG)
        self.tallies = {False: _Tally(), True: _Tally()}
        self.poses = 0  # every pose of hers while the teacher played, matched or not

    def window(self, teacher_s: float, speed: float) -> np.ndarray:
        """The teacher's frames with a pose within the window around `teacher_s`."""
        times = self.teachers[False].times
        inside = (times >= teacher_s - LAG_S * speed) & (times <= teacher_s + LEAD_S * speed)
        return np.flatnonzero(inside & self.teachers[False].found)

    @property
    def mirrored(self) -> bool:
        """Whether she matches the teacher's mirror image better over the session so far."""
        means = {side: np.mean(t.errors) if t.errors else math.inf
                 for side, t in self.tallies.items()}
        return bool(means[True] < means[False])

    def score(self) -> int | None:
        """The running score (module docstring), None before any pose was matched."""
        matched = self.tallies[self.mirrored].errors
        if not matched:
            return None
        return round(score_of(float(np.mean(matched))) * math.sqrt(len(matched) / self.poses))

    def compare(self, directions: np.ndarray | None, weights: np.ndarray | None,
                teacher_s: float, speed: float) -> LivePose:
        """Judge her next pose (her_pose's arrays, None when nobody was found), taken
        while the teacher's video showed `teacher_s` at `speed`."""
        self.poses += 1
        frames = self.window(teacher_s, speed)
        best: dict[bool, tuple[float, int, np.ndarray]] = {}
        if directions is not None and weights is not None and len(frames):
            for side, teacher in self.teachers.items():
                errors = part_errors(np.repeat(directions, len(frames), axis=0),
                                     teacher.directions[frames],
                                     weights * teacher.weights[frames])
                per_pose = frame_errors(errors, self.part_weights)
                if np.isnan(per_pose).all():
                    continue
                k = int(np.nanargmin(per_pose))
                best[side] = (float(per_pose[k]), int(frames[k]), errors[k])
                lag = (teacher_s - float(teacher.times[frames[k]])) / speed
                self.tallies[side].errors.append(float(per_pose[k]))
                self.tallies[side].lags_s.append(lag)
        return self._judged(best.get(self.mirrored))

    def _judged(self, match: tuple[float, int, np.ndarray] | None) -> LivePose:
        side = self.mirrored
        errors = {part: None for part in PART_NAMES}
        if match is not None:
            errors = {part: None if math.isnan(e) else round(float(e), 1)
                      for part, e in zip(PART_NAMES, match[2], strict=True)}
        lags = self.tallies[side].lags_s[-30:]  # about the last three seconds
        return LivePose(
            errors=errors,
            colours={part: hex_colour(band_colour(math.nan if e is None else e))
                     for part, e in errors.items()},
            matched_s=float(self.teachers[side].times[match[1]]) if match else None,
            score=self.score(), lag_ms=round(1000 * float(np.median(lags))) if lags else None,
            mirrored=side)


def whole_body_advice(x: np.ndarray, y: np.ndarray, visibility: np.ndarray) -> str | None:
    """What she should do so that the camera sees her whole body (None: it does), from one
    frame's 33 landmarks (NaN: nobody found): her feet and head seen (MediaPipe's
    visibility past movement.UNSEEN, as the report draws a joint) and every joint that
    carries the dance (pose_features.JOINTS) inside the picture's edges."""
    if np.isnan(x[_NOSE]):
        return "nobody in view: stand in front of the camera, your whole body in the picture"
    seen = np.nan_to_num(visibility) >= UNSEEN
    low, high = IN_VIEW_MARGIN, 1 - IN_VIEW_MARGIN
    ankles = list(_ANKLES)
    if not seen[ankles].all() or y[ankles].max() > high:
        return "step back: your feet are out of the picture"
    if not seen[_NOSE] or y[_NOSE] < low:
        return "raise the phone or step back: your head is out of the picture"
    joints = list(JOINTS)
    if x[joints].min() < low or x[joints].max() > high:
        return "move to the middle of the picture: part of you is outside it"
    return None
