"""What a dancer is told after her performance is put in step with her teacher's.

From a PairAlignment (core/scoring/pair_alignment.py):
- **the score**, 0-100, from the mean angle between her body parts and the teacher's
  at matched moments (core/performance/movement.py), each part counting as much as the more
  active of the two dancers moves it (part_weights), times the square root of the share
  of her dancing matched at all (coverage: a video running on past the teacher's loses
  a little, a few seconds of another routine fitted at an odd tempo a lot). A logistic in
  degrees: 50 at ANCHOR_DEG (28°), each SCALE_DEG (3°) closer doubling the odds (90 at
  21°, 10 at 35°), set on real dancers (benchmarks/real.py): the same routine by
  another dancer mostly gives 18-26°, other routines mostly 30° and more;
- **timing**: her offset in milliseconds (positive: behind, late) and her tempo against
  the teacher's, overall and for each stretch where they change;
- **per body part**: the same scale per part, or None where a part was never seen;
- **moments**: her weakest stretches (a few seconds each, in her video's time) with the
  body part that differed most and what differed in words, and her best.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import siegelslopes

from dance_assets.core.performance.movement import (
    PART_NAMES,
    describe,
    idle_edges,
    moving_mean,
    part_motion,
    steady_difference,
)
from dance_assets.core.scoring.pair_alignment import PairAlignment, Warp

ANCHOR_DEG = 28.0
SCALE_DEG = 3.0
# A body part's own score is on a scale of its own: real dancers of one routine differ
# most in their arms (styling, and MediaPipe's arms are its noisiest joints), so 50 sits
# where the same routine's real dancers end and other routines begin, part by part
# (benchmarks/results/real.json, the tune part).
PART_ANCHOR_DEG = {"left arm": 40.0, "right arm": 40.0, "left leg": 25.0, "right leg": 25.0,
                   "torso": 20.0, "head": 25.0}
PART_SCALE_DEG = 4.0
# Two videos share no dance when, put in step as well as they can be, her frames that
# match the teacher's (core/scoring/pair_alignment.MATCH_COST) barely outweigh those that do not:
# a line's fit per frame of hers under this. Over generated pairs the same routine never
# fell below 0.011 (its median is 0.07), while two routines out of three did.
NO_SHARED_DANCE_FIT = 0.005
# A part moving less than this (degrees of spread) counts as this much: real dancers sway
# and MediaPipe jitters, so a part the routine holds still still counts, a little.
MIN_MOTION_DEG = 15.0
# A part whose angle differs the same way by this much on average, over more than this
# share of the dance, is said to be off throughout, besides the moments that stand out.
STEADY_FROM_DEG = 15.0
STEADY_SHARE = 0.6
# A moment closer to the teacher than this is not weak, whatever its rank.
WEAK_FROM_DEG = 15.0
MOMENT_S = (1.0, 4.0)  # shortest and longest weak moment
NO_TIMING = "no timing: the reference is an average of many performances"
SMOOTHING_S = 2.0  # errors are judged over two seconds: a glitch is not a moment
ON_TIME_MS = 100  # closer than this is on time
SAME_TEMPO = 0.03  # within 3 % is the teacher's tempo
SEGMENT_S = 5.0  # timing is looked at in stretches of this length


def score_of(error_deg: float, anchor_deg: float = ANCHOR_DEG,
             scale_deg: float = SCALE_DEG) -> int:
    """0-100 from a mean body-part angle in degrees (module docstring)."""
    if not math.isfinite(error_deg):
        return 0
    return round(100 / (1 + math.exp(min(50.0, (error_deg - anchor_deg) / scale_deg))))


@dataclass(frozen=True)
class Moment:
    """A stretch of her video, with what differed there."""

    start_s: float
    end_s: float
    body_part: str
    what: str  # in words: "left arm too low (by 25°)"
    score: int


@dataclass(frozen=True)
class TimingStretch:
    start_s: float
    end_s: float
    offset_ms: int
    tempo: float


@dataclass(kw_only=True)
class Feedback:
    score: int
    error_deg: float  # mean body-part angle from the teacher
    mirrored: bool
    offset_ms: int | None  # None when the reference has no timing (an averaged routine)
    tempo: float | None
    body_parts: dict[str, int | None]
    weakest: list[Moment]
    best: Moment | None
    timing: list[TimingStretch] = field(default_factory=list)
    # Each body part's share of the score: how much the routine moves it (part_weights).
    weights: dict[str, float] = field(default_factory=dict)
    # Parts off for most of the dance, in words with the mean difference.
    steady: list[str] = field(default_factory=list)
    compared_s: float = 0.0  # seconds of her video compared with the teacher
    coverage: float = 1.0  # share of her dancing that was compared (the score's factor)
    video_s: float = 0.0
    shares_a_dance: bool = True  # False: nothing she does matches the reference
    # Degrees each video showed its dancer turned by (on her side: 90 or 270, upside
    # down: 180), her poses turned back upright before they were compared.
    turned_deg: int = 0
    reference_turned_deg: int = 0

    def timing_words(self) -> str:
        """Her timing in one phrase: "240 ms behind, 0.85x the teacher's tempo (slower)"."""
        if self.offset_ms is None or self.tempo is None:
            return NO_TIMING
        return f"{offset_words(self.offset_ms)}, {tempo_words(self.tempo)}"

def offset_words(offset_ms: int) -> str:
    if abs(offset_ms) < ON_TIME_MS:
        return f"on time ({offset_ms:+d} ms)"
    return f"{abs(offset_ms)} ms {'behind' if offset_ms > 0 else 'ahead of'} the teacher"


def tempo_words(tempo: float) -> str:
    if abs(tempo - 1) <= SAME_TEMPO:
        return f"{tempo:.2f}x the teacher's tempo"
    return f"{tempo:.2f}x the teacher's tempo ({'faster' if tempo > 1 else 'too slow'})"


def feedback(alignment: PairAlignment, n_weakest: int = 3) -> Feedback:
    """Everything the dancer is told, from her performance matched to the teacher's; her
    timing only where a line through time put her in step (not against a routine)."""
    warp = alignment.warp
    errors = alignment.part_errors
    compared = alignment.compared
    weights = part_weights(alignment)
    per_frame = frame_errors(errors, weights)
    error = float(np.nanmean(per_frame)) if compared.any() else math.inf
    parts = {name: (score_of(float(np.nanmean(errors[:, k])), PART_ANCHOR_DEG[name],
                             PART_SCALE_DEG)
                    if (~np.isnan(errors[:, k])).any() else None)
             for k, name in enumerate(PART_NAMES)}
    student = alignment.student
    covered = coverage(alignment)
    return Feedback(
        score=round(score_of(error) * math.sqrt(covered)),
        error_deg=round(error, 1) if math.isfinite(error) else error, coverage=round(covered, 3),
        mirrored=alignment.mirrored,
        offset_ms=round(1000 * warp.offset_s) if warp else None,
        tempo=round(warp.tempo, 3) if warp else None,
        body_parts=parts, weakest=weakest_moments(alignment, per_frame, n_weakest),
        weights={name: round(float(w / weights.sum()), 3)
                 for name, w in zip(PART_NAMES, weights, strict=True)},
        steady=steady_faults(alignment, weights),
        best=best_moment(alignment, per_frame),
        timing=timing_stretches(alignment, warp) if warp else [],
        compared_s=round(float(compared.sum()) / student.rate, 1),
        video_s=round(len(student.times) / student.rate, 1),
        shares_a_dance=warp is None or not warp.fit < NO_SHARED_DANCE_FIT,
        turned_deg=student.turned_deg, reference_turned_deg=alignment.teacher.turned_deg)


def part_weights(alignment: PairAlignment) -> np.ndarray:
    """How much each body part counts: as much as the more active of the two dancers
    moves it over what was compared (movement.part_motion, at least MIN_MOTION_DEG).
    Standing upright then earns nothing (legs, torso and head held still weigh little),
    a routine made of arms is judged by its arms, and a part she moves where the teacher
    holds it still still counts."""
    compared = alignment.compared
    matched = alignment.teacher_frames[compared]
    hers = part_motion(alignment.student, compared)
    theirs = part_motion(alignment.teacher, matched[matched >= 0])
    return np.maximum(np.nan_to_num(np.fmax(hers, theirs)), MIN_MOTION_DEG)


def coverage(alignment: PairAlignment) -> float:
    """The share of her dancing (her poses, less the still seconds at either end) that the
    teacher's dance was matched with: the score is for her whole dance, so seconds of it
    the line leaves out (a few seconds of the routine fitted at an odd tempo) count as
    missed (the score takes its square root: module docstring)."""
    student = alignment.student
    dancing = student.found & ~idle_edges(student)
    return float(alignment.compared[dancing].mean()) if dancing.any() else 0.0


def frame_errors(errors: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Each frame's mean over the parts compared there, each part counting `weights`
    (equally without)."""
    seen = ~np.isnan(errors)
    w = np.ones(errors.shape[1]) if weights is None else weights
    total = (np.where(seen, errors, 0) * w).sum(axis=1)
    count = (seen * w).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def steady_faults(alignment: PairAlignment, weights: np.ndarray) -> list[str]:
    """Body parts that count (a tenth of the score or more) and differ the same way for
    most of what was compared (movement.steady_difference), in words."""
    frames = np.flatnonzero(alignment.compared)
    faults = []
    for k, part in enumerate(PART_NAMES):
        if weights[k] / weights.sum() < 0.1 or not len(frames):
            continue
        fault = steady_difference(
            part, alignment.student.directions[frames],
            alignment.teacher.directions[alignment.teacher_frames[frames]],
            STEADY_FROM_DEG, STEADY_SHARE)
        if fault:
            faults.append(fault)
    return faults


def smoothed(per_frame: np.ndarray, rate: float) -> np.ndarray:
    """Errors averaged over SMOOTHING_S around each frame, over the frames compared."""
    return moving_mean(per_frame, max(1, round(SMOOTHING_S * rate)), at_least=0.5)


def _stretch_around(curve: np.ndarray, peak: int, rate: float, free: np.ndarray
                    ) -> tuple[int, int]:
    """The frames around `peak` where the curve stays above halfway from its median to
    the peak, at least MOMENT_S[0] and at most MOMENT_S[1] long, within `free`."""
    median = float(np.nanmedian(curve))
    floor = median + (curve[peak] - median) / 2
    shortest, longest = (round(s * rate) for s in MOMENT_S)
    start = stop = peak
    while stop - start + 1 < longest:
        before = curve[start - 1] if start > 0 and free[start - 1] else -np.inf
        after = curve[stop + 1] if stop + 1 < len(curve) and free[stop + 1] else -np.inf
        if max(before, after) < floor and stop - start + 1 >= shortest:
            break
        if max(before, after) == -np.inf:
            break
        if after >= before:
            stop += 1
        else:
            start -= 1
    return start, stop


def _part_means(errors: np.ndarray) -> np.ndarray:
    """Each body part's mean error over frames × parts, NaN for a part never compared."""
    seen = (~np.isnan(errors)).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(seen > 0, np.nansum(errors, axis=0) / seen, np.nan)


def _moment(alignment: PairAlignment, start: int, stop: int) -> Moment | None:
    """The stretch's worst body part and, from the joint angles, what differed; None when
    nothing in it was compared."""
    frames = np.arange(start, stop + 1)
    frames = frames[alignment.compared[frames]]
    if not len(frames):
        return None
    errors = alignment.part_errors[frames]
    part = PART_NAMES[int(np.nanargmax(_part_means(errors)))]
    what = describe(part, alignment.student.directions[frames],
                    alignment.teacher.directions[alignment.teacher_frames[frames]])
    rate = alignment.student.rate
    times = alignment.student.times
    return Moment(round(float(times[start]), 2), round(float(times[stop]) + 1 / rate, 2),
                  part, what, score_of(float(np.nanmean(frame_errors(errors)))))


def _stretches(curve: np.ndarray, rate: float) -> list[tuple[float, int, int]]:
    """Every stretch around a local peak of the curve, as (how much it stands out over
    the median, summed over its frames; start; stop), most first. A few seconds of
    wrong moves outweigh a second's glitch as they would for a teacher."""
    median = float(np.nanmedian(curve))
    free = ~np.isnan(curve)
    found = []
    while free.any():
        peak = int(np.nanargmax(np.where(free, curve, np.nan)))
        start, stop = _stretch_around(curve, peak, rate, free)
        found.append((float(np.nansum(curve[start:stop + 1] - median)), start, stop))
        free[start:stop + 1] = False
    return sorted(found, reverse=True)


def weakest_moments(alignment: PairAlignment, per_frame: np.ndarray, n: int) -> list[Moment]:
    """Up to `n` stretches of her video farthest from the teacher, worst first."""
    rate = alignment.student.rate
    curve = smoothed(per_frame, rate)
    margin = round(rate / 2)
    taken = np.zeros(len(curve), dtype=bool)
    moments = []
    for _, start, stop in _stretches(curve, rate):
        if len(moments) == n:
            break
        if taken[max(0, start - margin):stop + margin + 1].any():
            continue
        moment = _moment(alignment, start, stop)
        if moment is None or np.nanmean(curve[start:stop + 1]) < WEAK_FROM_DEG:
            continue
        moments.append(moment)
        taken[start:stop + 1] = True
    return moments


def best_moment(alignment: PairAlignment, per_frame: np.ndarray) -> Moment | None:
    """Her best two seconds."""
    rate = alignment.student.rate
    window = round(2 * rate)
    curve = moving_mean(per_frame, window, at_least=0.9)
    if np.isnan(curve).all():
        return None
    centre = int(np.nanargmin(curve))
    start = max(0, centre - window // 2)
    stop = min(len(curve) - 1, start + window - 1)
    moment = _moment(alignment, start, stop)
    if moment is None:
        return None
    closest = float(np.nanmean(per_frame[start:stop + 1]))
    by_part = _part_means(alignment.part_errors[start:stop + 1])
    return Moment(moment.start_s, moment.end_s, PART_NAMES[int(np.nanargmin(by_part))],
                  f"closest to the teacher: body parts within {closest:.0f}° on average",
                  moment.score)


def timing_stretches(alignment: PairAlignment, warp: Warp) -> list[TimingStretch]:
    """Her offset and tempo stretch by stretch (the repeated-medians slope over its
    compared frames: a still second matched a beat off must not bend a stretch danced
    in sync into another tempo), neighbours that agree merged."""
    times, path = alignment.student.times, alignment.path_times
    stretches: list[TimingStretch] = []
    for start in np.arange(0, times[-1] + 1e-9, SEGMENT_S):
        inside = ((times >= start) & (times < start + SEGMENT_S) & ~np.isnan(path)
                  & alignment.compared)
        if inside.sum() < 2 * alignment.student.rate:
            continue
        slope, _ = siegelslopes(path[inside], times[inside])
        tempo = float(np.clip(slope, 0.25, 4.0))
        offset = float(np.median(times[inside] - path[inside] / warp.tempo))
        stretch = TimingStretch(round(float(start), 2),
                                round(float(min(start + SEGMENT_S, times[-1])), 2),
                                round(1000 * offset), round(tempo, 3))
        last = stretches[-1] if stretches else None
        if last and abs(last.offset_ms - stretch.offset_ms) < ON_TIME_MS \
                and abs(last.tempo - stretch.tempo) < 2 * SAME_TEMPO:
            stretches[-1] = TimingStretch(last.start_s, stretch.end_s,
                                          round((last.offset_ms + stretch.offset_ms) / 2),
                                          round((last.tempo + stretch.tempo) / 2, 3))
        else:
            stretches.append(stretch)
    return stretches
