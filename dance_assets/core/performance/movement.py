"""A pose as a dancer's teacher sees it: where each limb points, and how sure we are.

Comparing two people's landmarks directly mixes the dance with their bodies: a tall
dancer's wrist is further from her hips than a small one's in the same pose. What a
teacher corrects is where each limb points, so a pose here is the direction of each of
twelve body segments (upper arms, forearms, thighs, shins, the spine, the shoulder and
hip lines, the neck), each a unit vector in the picture (x right, y down). Those do not
change with height, build, distance from the camera or place in the frame.

A segment counts as far as MediaPipe saw both its ends: a phone that cuts off the legs
leaves them unscored rather than wrong. Directions are compared as angles in degrees,
and the words a dancer gets ("left arm too low", "knees too straight") come from the
joint angles behind them, measured in her own body's frame so that leaning does not
read as a raised arm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy.ndimage import uniform_filter1d

from dance_assets.core.ingest.dense_poses import DensePoses
from dance_assets.core.ingest.motion import dancer_motion
from dance_assets.core.ingest.pose_features import JOINTS, mirror, normalise

# Joint positions in pose_features.JOINTS: 0 nose, 1/2 shoulders, 3/4 elbows, 5/6 wrists,
# 7/8 hips, 9/10 knees, 11/12 ankles (left, right); 13 and 14 are the shoulder and hip
# centres, added here.
_SHOULDERS, _HIPS = 13, 14
SEGMENTS: dict[str, tuple[int, int]] = {
    "left upper arm": (1, 3), "left forearm": (3, 5),
    "right upper arm": (2, 4), "right forearm": (4, 6),
    "left thigh": (7, 9), "left shin": (9, 11),
    "right thigh": (8, 10), "right shin": (10, 12),
    "spine": (_HIPS, _SHOULDERS), "shoulders": (2, 1), "hips": (8, 7),
    "neck": (_SHOULDERS, 0),
}
SEGMENT_NAMES = tuple(SEGMENTS)
# The body parts a dancer is scored on, as segments.
BODY_PARTS: dict[str, tuple[str, ...]] = {
    "left arm": ("left upper arm", "left forearm"),
    "right arm": ("right upper arm", "right forearm"),
    "left leg": ("left thigh", "left shin"),
    "right leg": ("right thigh", "right shin"),
    "torso": ("spine", "shoulders", "hips"),
    "head": ("neck",),
}
PART_NAMES = tuple(BODY_PARTS)
_PART_SEGMENTS = {part: [SEGMENT_NAMES.index(s) for s in segments]
                  for part, segments in BODY_PARTS.items()}
# MediaPipe's visibility below the first is "not seen", above the second "seen"; a
# segment's weight ramps between them (the smaller of its two ends').
UNSEEN, SEEN = 0.35, 0.65
# A video whose dancer's spine points, on average over the video, within this many
# degrees of a quarter turn (or a half) from up shows her on its side (or upside down):
# filmed sideways without the rotation a player would undo. Dancers lean, but no upright
# routine leans 60° or more for most of a video.
TURN_WITHIN_DEG = 30.0


@dataclass(kw_only=True)
class Movement:
    """A performance as segment directions over time."""

    times: np.ndarray  # seconds
    directions: np.ndarray  # frames × segments × 2 unit vectors; NaN where nobody
    weights: np.ndarray  # frames × segments, 0-1: how well both ends were seen
    skeletons: np.ndarray  # frames × 13 × 2: pose_features' normalised skeletons
    rate: float
    # How much her picture changed at every frame of the video (core/ingest/motion.py),
    # when it was read: where her moves end, finer than the poses.
    motion_times: np.ndarray | None = None
    motion: np.ndarray | None = None
    # Degrees (90, 180 or 270, clockwise as the video shows her) her skeletons were turned
    # back to upright; 0 for a video filmed the right way up.
    turned_deg: int = 0

    @property
    def found(self) -> np.ndarray:
        return ~np.isnan(self.directions[:, 0, 0])

    def mirrored(self) -> Movement:
        """The same performance as in a mirror: left and right swap, x flips."""
        skeletons = mirror(self.skeletons)
        swapped = [SEGMENT_NAMES.index(_swap_side(name)) for name in SEGMENT_NAMES]
        return replace(self, directions=directions_of(skeletons),
                       weights=self.weights[:, swapped], skeletons=skeletons)


def _swap_side(name: str) -> str:
    return name.replace("left", "@").replace("right", "left").replace("@", "right")


def _with_centres(skeletons: np.ndarray) -> np.ndarray:
    """… × 13 × 2 → … × 15 × 2: the shoulder and hip centres appended."""
    shoulders = skeletons[..., [1, 2], :].mean(axis=-2, keepdims=True)
    hips = skeletons[..., [7, 8], :].mean(axis=-2, keepdims=True)
    return np.concatenate([skeletons, shoulders, hips], axis=-2)


def directions_of(skeletons: np.ndarray) -> np.ndarray:
    """Unit vectors of SEGMENTS for … × 13 × 2 skeletons (NaN stays NaN)."""
    points = _with_centres(skeletons)
    starts = points[..., [a for a, _ in SEGMENTS.values()], :]
    ends = points[..., [b for _, b in SEGMENTS.values()], :]
    vectors = ends - starts
    length = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.maximum(length, 1e-6)).astype(np.float32)


def segment_weights(visibility: np.ndarray) -> np.ndarray:
    """frames × 33 MediaPipe visibilities → frames × segments weights in 0-1."""
    seen = np.clip((visibility[:, list(JOINTS)] - UNSEEN) / (SEEN - UNSEEN), 0, 1)
    seen = np.nan_to_num(seen, nan=0.0)
    points = np.concatenate([seen, np.minimum(seen[:, [1]], seen[:, [2]]),
                             np.minimum(seen[:, [7]], seen[:, [8]])], axis=1)
    ends = np.minimum(points[:, [a for a, _ in SEGMENTS.values()]],
                      points[:, [b for _, b in SEGMENTS.values()]])
    return ends.astype(np.float32)


def quarter_turns(directions: np.ndarray, weights: np.ndarray) -> int:
    """How many quarter turns clockwise (0-3) the video shows its dancer turned by: her
    spine's mean direction over the frames where it was seen, when that lies within
    TURN_WITHIN_DEG of a quarter or a half turn from up and the frames agree on it."""
    spine = directions[:, SEGMENT_NAMES.index("spine")]
    seen = (weights[:, SEGMENT_NAMES.index("spine")] >= 0.5) & ~np.isnan(spine[:, 0])
    if seen.sum() < 3:
        return 0
    mean = spine[seen].mean(axis=0)
    if np.linalg.norm(mean) < 0.5:  # the frames disagree: no one way up
        return 0
    clockwise = math.degrees(math.atan2(float(mean[0]), -float(mean[1]))) % 360
    turns = round(clockwise / 90) % 4
    off = abs((clockwise - 90 * turns + 180) % 360 - 180)
    return turns if turns and off <= TURN_WITHIN_DEG else 0


def turned_upright(vectors: np.ndarray, turns: int) -> np.ndarray:
    """Points or directions (… × 2, y down) of a dancer shown turned `turns` quarter
    turns clockwise, turned back: a rotation, so her left stays her left."""
    x, y = vectors[..., 0], vectors[..., 1]
    turned = {0: (x, y), 1: (y, -x), 2: (-x, -y), 3: (-y, x)}[turns % 4]
    return np.stack(turned, axis=-1).astype(np.float32)


def movement_of(poses: DensePoses) -> Movement:
    """A posed video's movement, turned upright when the video shows its dancer on her
    side or upside down (quarter_turns)."""
    weights = segment_weights(poses.visibility)
    skeletons = normalise(poses.x, poses.y, poses.width, poses.height)
    directions = directions_of(skeletons)
    turns = quarter_turns(directions, weights)
    motion = poses.motion
    return Movement(times=poses.times, directions=turned_upright(directions, turns),
                    weights=weights, skeletons=turned_upright(skeletons, turns),
                    rate=poses.rate, motion_times=motion.times if motion else None,
                    motion=dancer_motion(motion, poses.times, poses.x, poses.y)
                    if motion else None, turned_deg=90 * turns)


def movement_from_skeletons(times: np.ndarray, skeletons: np.ndarray,
                            weights: np.ndarray | None, rate: float) -> Movement:
    """A movement from stored normalised skeletons (a reference's steps); without
    visibilities every segment counts fully."""
    if weights is None:
        weights = np.ones((len(skeletons), len(SEGMENTS)), np.float32)
    return Movement(times=times, directions=directions_of(skeletons), weights=weights,
                    skeletons=skeletons, rate=rate)


def angle_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Degrees between unit vectors (… × 2)."""
    cosine = np.clip((a * b).sum(axis=-1), -1.0, 1.0)
    return np.degrees(np.arccos(cosine))


def part_errors(student: np.ndarray, teacher: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per body part, the mean angle (degrees) between matched frames' segments.

    student, teacher: frames × segments × 2 directions; weights: frames × segments.
    NaN where none of a part's segments was seen in both.
    """
    angles = np.nan_to_num(angle_between(student, teacher), nan=0.0)
    out = np.full((len(student), len(BODY_PARTS)), np.nan, np.float32)
    for column, segments in enumerate(_PART_SEGMENTS.values()):
        w = weights[:, segments]
        total = w.sum(axis=1)
        seen = total > 0.25
        out[seen, column] = (angles[:, segments] * w).sum(axis=1)[seen] / total[seen]
    return out


def part_motion(movement: Movement, frames: np.ndarray) -> np.ndarray:
    """How much each body part moves over `frames` (indices or a mask): the angular spread
    of its segments' directions around their mean, in degrees (0 for a part held still;
    pose noise alone gives a few degrees), NaN for a part never seen there."""
    directions = movement.directions[frames]
    weights = np.where(np.isnan(directions[..., 0]), 0.0, movement.weights[frames])
    total = weights.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (np.nan_to_num(directions) * weights[..., None]).sum(axis=0) / total[:, None]
    # 1 − |mean direction| is the circular variance; sqrt(2·(1 − R)) its spread in radians.
    resultant = np.clip(np.linalg.norm(mean, axis=-1), 0.0, 1.0)
    spread = np.degrees(np.sqrt(2 * (1 - resultant)))
    spread[total < 1.0] = np.nan
    out = np.full(len(BODY_PARTS), np.nan, np.float32)
    for column, segments in enumerate(_PART_SEGMENTS.values()):
        seen = spread[segments]
        if (~np.isnan(seen)).any():
            out[column] = np.nanmean(seen)
    return out


def _signed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Signed degrees turning a to b (positive: clockwise in the picture, y down)."""
    cross = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    return np.degrees(np.arctan2(cross, (a * b).sum(axis=-1)))


def joint_angles(directions: np.ndarray) -> dict[str, np.ndarray]:
    """Angles a teacher talks about, in degrees, from frames × segments × 2 directions.

    Elevations are from "hanging down along the body" (0) to "straight up" (180),
    measured against the spine; bends are 0 when straight.
    """
    seg = {name: directions[..., i, :] for i, name in enumerate(SEGMENT_NAMES)}
    down = -seg["spine"]
    vertical = np.broadcast_to(np.array([0.0, -1.0], np.float32), seg["spine"].shape)
    out = {}
    for side in ("left", "right"):
        out[f"{side} arm elevation"] = angle_between(seg[f"{side} upper arm"], down)
        out[f"{side} elbow bend"] = angle_between(seg[f"{side} upper arm"],
                                                  seg[f"{side} forearm"])
        out[f"{side} leg elevation"] = angle_between(seg[f"{side} thigh"], down)
        out[f"{side} knee bend"] = angle_between(seg[f"{side} thigh"], seg[f"{side} shin"])
    out["lean"] = _signed(vertical, seg["spine"])  # positive: towards the picture's right
    out["head tilt"] = _signed(seg["spine"], seg["neck"])
    return out


# What a difference (hers minus the teacher's, degrees) means, per part: the angle, and
# the words for "too much" and "too little".
_WORDS: dict[str, tuple[tuple[str, str, str], ...]] = {
    **{f"{side} arm": ((f"{side} arm elevation", f"{side} arm too high", f"{side} arm too low"),
                       (f"{side} elbow bend", f"{side} elbow too bent",
                        f"{side} arm too straight"))
       for side in ("left", "right")},
    **{f"{side} leg": ((f"{side} knee bend", f"{side} knee too bent",
                        f"{side} knee too straight"),
                       (f"{side} leg elevation", f"{side} leg lifted too high",
                        f"{side} leg not lifted enough"))
       for side in ("left", "right")},
    "torso": (("lean", "leaning too far to the picture's right",
               "leaning too far to the picture's left"),),
    "head": (("head tilt", "head tilted too far to the picture's right",
              "head tilted too far to the picture's left"),),
}
MIN_DIFFERENCE = 12.0  # degrees: smaller differences are not worth a word


def describe(part: str, student: np.ndarray, teacher: np.ndarray) -> str:
    """What differs in `part` over a moment, in words, from frames × segments × 2
    directions of the two (matched frame by frame)."""
    hers, theirs = joint_angles(student), joint_angles(teacher)
    best, words = 0.0, ""
    for angle, more, less in _WORDS[part]:
        differences = hers[angle] - theirs[angle]
        if np.isnan(differences).all():
            continue
        difference = float(np.nanmean(differences))
        if abs(difference) > abs(best):
            best, words = difference, (more if difference > 0 else less)
    if abs(best) < MIN_DIFFERENCE:
        return f"{part} placed differently"
    return f"{words} (by {abs(best):.0f}°)"


def steady_difference(part: str, student: np.ndarray, teacher: np.ndarray,
                      at_least_deg: float, share: float) -> str | None:
    """What is off in `part` all along, in words ("left arm too low for most of the dance
    (by 30° on average)"), when one of its angles differs the same way by more than
    MIN_DIFFERENCE in `share` of the frames and by `at_least_deg` on average; else None."""
    hers, theirs = joint_angles(student), joint_angles(teacher)
    for angle, more, less in _WORDS[part]:
        differences = hers[angle] - theirs[angle]
        differences = differences[~np.isnan(differences)]
        if not len(differences):
            continue
        mean = float(differences.mean())
        same_way = np.mean(np.sign(differences) * np.sign(mean) * np.abs(differences)
                           > MIN_DIFFERENCE)
        if abs(mean) >= at_least_deg and same_way >= share:
            words = more if mean > 0 else less
            return f"{words} for most of the dance (by {abs(mean):.0f}° on average)"
    return None


def moving_mean(values: np.ndarray, window: int, *, more_than: float = 0.0,
                at_least: float = 0.0, axis: int = -1) -> np.ndarray:
    """The mean over a centred window of `window` samples, NaN left out; NaN where the
    window holds no more than `more_than` (or less than `at_least`) as a share of values
    that are not NaN."""
    present = uniform_filter1d((~np.isnan(values)).astype(np.float64), window, axis=axis)
    summed = uniform_filter1d(np.nan_to_num(values).astype(np.float64), window, axis=axis)
    enough = (present > more_than) & (present >= at_least)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(enough, summed / present, np.nan)


IDLE_SHARE = 0.25  # moving less than this share of her typical speed is standing still
IDLE_AT_LEAST_S = 1.0


def idle_edges(movement: Movement) -> np.ndarray:
    """Frames at the start and end of a video where she stands still (waiting for the
    music, walking back to her phone is not that): not yet, or no longer, dancing.

    Speed is how fast her segments turn, averaged over a second; still is under
    IDLE_SHARE of her median speed, for at least IDLE_AT_LEAST_S.
    """

    n = len(movement.times)
    idle = np.zeros(n, dtype=bool)
    directions = movement.directions
    if n < 3:
        return idle
    change = np.full(n, np.nan)
    turned = np.linalg.norm(directions[2:] - directions[:-2], axis=-1) / 2  # frames × segments
    weights = np.minimum(movement.weights[2:], movement.weights[:-2])
    with np.errstate(invalid="ignore", divide="ignore"):
        change[1:-1] = np.nansum(turned * weights, axis=1) / weights.sum(axis=1)
    speed = moving_mean(change, max(1, round(movement.rate)), more_than=0.5)
    if np.isnan(speed).all():
        return idle
    still = speed < IDLE_SHARE * np.nanmedian(speed)
    least = round(IDLE_AT_LEAST_S * movement.rate)
    for order in (np.arange(n), np.arange(n)[::-1]):
        run = 0
        for i in order:
            if not still[i] and not np.isnan(speed[i]):
                break
            run += 1
        if run >= least:
            idle[order[:run]] = True
    return idle
