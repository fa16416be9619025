"""Two performances of one dance put in step: her offset, her tempo, and what matches what.

A student films herself with her own phone, starts a little early or late, dances a
little slower or faster, maybe as in a mirror. Her video at time t shows the teacher's
routine at the teacher's time τ(t), and the question is τ. Three steps:

1. **The global warp**, τ = tempo · (t − offset): every tempo from 0.67x to 1.5x and every
   offset is tried, on a cost matrix of how far each of her frames is from each of the
   teacher's (core/performance/movement.py: segment directions, weighted by what was
   seen), as filmed and mirrored. A line is scored by its mean cost over the frames
   where both videos overlap (at least half the shorter one). Coarse first (half her
   frames, a ±0.2 s tolerance), then finely, without tolerance, interpolating between the
   teacher's frames, to a hundredth of a second and a quarter per cent of tempo.
   A routine that repeats would fit one repeat later as well as now: among near-equal
   fits (within NEAR_TIE) the smaller offset wins, and the coarse lines refined include
   the near-equal ones with the smallest offsets as well as the best few. A line the
   music proposes (Start) is kept unless one anywhere fits clearly better.
2. **Local timing**: around the line, a shift of up to ±1 s is chosen for every frame,
   on a 2-second window, so a dancer who drifts behind and catches up is followed.
   Where nothing fits (she danced something else) the shift is that of her neighbours.
3. **The matches**: each of her frames against the teacher's frame at τ(t), and the
   angle of every body part between them (core/performance/movement.part_errors).

This is dynamic time warping with a smoothness the dance itself has: a dancer keeps a
tempo, so her warp is a line plus small local shifts, which is what lets a few seconds
of wrong moves show up as wrong instead of being warped onto some similar pose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter, median_filter, minimum_filter1d

from dance_assets.core.lake.errors import DanceAssetsError
from dance_assets.core.performance.movement import Movement, idle_edges, moving_mean, part_errors

MIN_TEMPO, MAX_TEMPO = 0.67, 1.5
COARSE_TEMPOS = 28  # the coarse search's tempos, 3 % apart
MIN_OVERLAP_S = 3.0
MIN_OVERLAP_SHARE = 0.5  # of the shorter performance, mapped onto the other's clock
NEAR_TIE = 0.1  # lines whose fit is this much below the best count as as good
# A frame whose cost is below this matches (1 - cos 28°): it adds to a line's fit, a
# frame above takes away, but little (MISMATCH_LOSS at most): a dancer who stood still
# for two seconds and forgot a move for three must not make a line that skips them, one
# repeat of the routine later, look better than the line that follows her whole dance.
MATCH_COST = 0.12
# Tempos this close count as one when choosing: along a clip of 15 s, a line 6 % off her
# tempo drifts less than the local shifts follow, so it fits a repeat later almost as
# well as her own line fits now; lines further apart are another rhythm (two steps for
# three), which the teacher's tempo settles.
SAME_TEMPO_TIE = 0.10
COARSE_CANDIDATES = 6  # lines of the coarse search refined finely, by fit and by offset
COARSE_POOL = 48  # coarse peaks the candidates are drawn from
DISTINCT_OFFSET_S = 0.5
MISMATCH_LOSS = 0.02
LOCAL_SHIFT_S = 1.0
LOCAL_WINDOW_S = 2.0


@dataclass(frozen=True)
class Warp:
    """τ = tempo · (t − offset_s): the teacher's time shown at her time t."""

    tempo: float
    offset_s: float
    cost: float  # mean matching cost along the line (1 − cos of segment angles)
    overlap_s: float  # her seconds that have a teacher frame on the line
    fit: float  # how much of her performance matches, per frame of hers (the line's fit)

    def teacher_time(self, t: np.ndarray) -> np.ndarray:
        return self.tempo * (np.asarray(t) - self.offset_s)


@dataclass(kw_only=True)
class PairAlignment:
    """Her performance matched to the teacher's (or to a dance's averaged routine)."""

    warp: Warp | None  # None against a routine: matched as a loop, no line to time her by
    mirrored: bool  # she danced it as in a mirror of the teacher
    path_times: np.ndarray  # for each of her frames, the teacher's time on the smooth path
    teacher_frames: np.ndarray  # the teacher's frame matched to each of hers (-1: none)
    part_errors: np.ndarray  # her frames × body parts, degrees (NaN: not compared)
    student: Movement  # as compared (the teacher is mirrored when she was)
    teacher: Movement

    @property
    def compared(self) -> np.ndarray:
        return ~np.isnan(self.part_errors).all(axis=1)


def cost_matrix(student: Movement, teacher: Movement) -> np.ndarray:
    """Her frames × the teacher's: weighted mean of (1 − cos) over the segments seen in
    both; NaN where either has no pose."""
    a = np.nan_to_num(student.weights * student.found[:, None])
    b = np.nan_to_num(teacher.weights * teacher.found[:, None])
    u = np.nan_to_num(student.directions) * a[..., None]
    v = np.nan_to_num(teacher.directions) * b[..., None]
    both = a @ b.T
    agreement = u.reshape(len(u), -1) @ v.reshape(len(v), -1).T
    with np.errstate(invalid="ignore", divide="ignore"):
        cost = (both - agreement) / both
    cost[both < 0.5] = np.nan  # fewer than one segment seen in both
    return cost.astype(np.float32)


def _lines(cost: np.ndarray, times: np.ndarray, rate: float, tempos: np.ndarray,
           offsets: np.ndarray, interpolate: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every line (tempo × offset): its fit (the sum over her frames of MATCH_COST
    less their cost, each between -MATCH_COST and MATCH_COST), mean cost and overlap."""
    n, m = cost.shape
    fits = np.full((len(tempos), len(offsets)), -np.inf)
    means = np.full((len(tempos), len(offsets)), np.inf)
    counts = np.zeros((len(tempos), len(offsets)))
    rows = np.arange(n)
    for k, tempo in enumerate(tempos):
        position = tempo * (times[None, :] - offsets[:, None]) * rate  # offsets × n
        inside = (position >= 0) & (position <= m - 1)
        if interpolate:
            low = np.clip(np.floor(position).astype(np.int64), 0, m - 2)
            share = np.clip(position - low, 0, 1)
            values = cost[rows, low] * (1 - share) + cost[rows, low + 1] * share
        else:
            values = cost[rows, np.clip(np.rint(position).astype(np.int64), 0, m - 1)]
        values = np.where(inside, values, np.nan)
        counts[k] = (~np.isnan(values)).sum(axis=1)
        fits[k] = np.nansum(np.clip(MATCH_COST - values, -MISMATCH_LOSS, MATCH_COST), axis=1)
        with np.errstate(invalid="ignore"):
            means[k] = np.where(counts[k] > 0, np.nansum(values, axis=1) / counts[k], np.inf)
    return fits, means, counts


@dataclass(frozen=True)
class _Line:
    tempo: float
    offset: float
    fit: float
    mean: float
    frames: float


def _peaks(cost: np.ndarray, times: np.ndarray, rate: float, tempos: np.ndarray,
           offsets: np.ndarray, needed: np.ndarray, interpolate: bool, keep: int
           ) -> list[_Line]:
    """The `keep` best-fitting lines with enough overlap that are each the best of their
    neighbourhood (so a good line's near neighbours do not crowd out other candidates)."""
    fits, means, counts = _lines(cost, times, rate, tempos, offsets, interpolate)
    fits = np.where(counts >= needed[:, None], fits, -np.inf)
    peaks = np.isfinite(fits) & (fits >= maximum_filter(fits, size=(5, 7), mode="nearest"))
    order = np.argsort(np.where(peaks, fits, -np.inf), axis=None)[::-1][:keep]
    lines = []
    for flat in order:
        k, o = np.unravel_index(int(flat), fits.shape)
        if peaks[k, o]:
            lines.append(_Line(float(tempos[k]), float(offsets[o]), float(fits[k, o]),
                               float(means[k, o]), float(counts[k, o])))
    return lines


def _chosen(lines: list[_Line]) -> _Line:
    """The best fit; or among lines within NEAR_TIE of it, those whose tempo is within
    SAME_TEMPO_TIE of the one nearest the teacher's, and of them the one with the
    smallest offset. Generated or real, a routine repeats: a line one repeat later, or
    one at another tempo that lands on the same poses, can fit almost as well, and a
    dancer is far likelier to follow her song's tempo and start near the teacher than
    not. (The tie is measured from that line's own tempo: 0.8x is not the equal of 1.19x
    for being about as far from 1x, on the other side. Nor are there fixed bins, whose
    edges split two lines 1 % apart.)"""
    best = max(lines, key=lambda line: line.fit)
    near = [best] + [line for line in lines
                     if _as_good(line, best.fit) and _distinct(line, best)]
    nearest = min(near, key=lambda line: abs(math.log(line.tempo)))
    level = [line for line in near
             if abs(math.log(line.tempo / nearest.tempo)) <= math.log(1 + SAME_TEMPO_TIE)]
    return min(level, key=lambda line: abs(line.offset))


def _coarse_candidates(peaks: list[_Line]) -> list[_Line]:
    """The coarse lines to refine: the best-fitting, and of those within NEAR_TIE of the
    best the ones with the smallest offsets. A short clip against a long teacher video
    of a routine that repeats fits a dozen repeats almost equally, in any order; the
    start that _chosen prefers must be among the lines refined, not lost below the
    best few."""
    if not peaks:
        return []
    by_fit = sorted(peaks, key=lambda line: line.fit, reverse=True)[:COARSE_CANDIDATES]
    near = sorted((line for line in peaks if _as_good(line, by_fit[0].fit)),
                  key=lambda line: abs(line.offset))
    return by_fit + [line for line in near[:COARSE_CANDIDATES] if line not in by_fit]


def _as_good(line: _Line, best_fit: float) -> bool:
    """Whether a line fits within NEAR_TIE of the best: as good a way to put them in step."""
    return line.fit >= best_fit - NEAR_TIE * abs(best_fit)


def _distinct(a: _Line, b: _Line) -> bool:
    """Two different ways to put the videos in step, not one found twice: another tempo,
    or another repeat of the routine (a neighbour of the best is only a worse copy)."""
    return (abs(math.log(a.tempo / b.tempo)) > 2 * math.log(1 + SAME_TEMPO_TIE)
            or abs(a.offset - b.offset) > DISTINCT_OFFSET_S)


def _needed_overlap(student: Movement, teacher: Movement, tempos: np.ndarray,
                    frame_s: float) -> np.ndarray:
    """Her frames a line must cover: half the shorter performance, on her clock."""
    hers = student.found.sum() / student.rate
    theirs = teacher.found.sum() / teacher.rate / tempos  # the teacher's length on her clock
    seconds = np.maximum(MIN_OVERLAP_S, MIN_OVERLAP_SHARE * np.minimum(hers, theirs))
    return seconds / frame_s


@dataclass(frozen=True)
class Start:
    """Where to look for the line when something else (the music) has already put the two
    videos roughly in step: her poses lag her music by less than `reach_s` either way."""

    tempo: float
    offset_s: float
    reach_s: float = 1.0


def _search_grid(student: Movement, teacher: Movement, start: Start | None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The coarse search's tempos and offsets: everything, or around `start`."""
    if start is not None:
        tempos = start.tempo * np.geomspace(1 / 1.03, 1.03, 5)
        return tempos, start.offset_s + np.arange(-start.reach_s, start.reach_s + 1e-9, 0.2)
    duration = student.times[-1] + 1 / student.rate
    teacher_duration = teacher.times[-1] + 1 / teacher.rate
    return (np.geomspace(MIN_TEMPO, MAX_TEMPO, COARSE_TEMPOS),
            np.arange(-teacher_duration / MIN_TEMPO, duration, 0.2))


def global_warp(student: Movement, teacher: Movement, cost: np.ndarray,
                start: Start | None = None) -> Warp:
    """The best line τ = tempo · (t − offset), coarse then fine (module docstring). With
    a `start` from the music, the line near it, unless a line anywhere fits the poses
    clearly better (by more than NEAR_TIE): the sound proposes, the dance decides. A
    beat tracker can take a song's tempo for 3/2 or 2 times itself, and a dancer can
    practise at another speed than her song plays."""
    # The coarse search's cost: each of her frames against the best teacher frame within
    # two either way (a ±0.2 s tolerance), computed once for both searches.
    tolerant = minimum_filter1d(np.nan_to_num(cost, nan=np.inf), size=5, axis=1)
    tolerant[np.isinf(tolerant)] = np.nan
    line = _best_line(student, teacher, cost, tolerant, *_search_grid(student, teacher, None))
    if start is not None:
        near = _best_line(student, teacher, cost, tolerant,
                          *_search_grid(student, teacher, start))
        if near is not None and (line is None or _as_good(near, line.fit)):
            line = near
    if line is None:
        raise DanceAssetsError("the two videos overlap too little to compare (less than "
                               f"{MIN_OVERLAP_S:g} s with a dancer in both)")
    return Warp(line.tempo, line.offset, line.mean, line.frames / student.rate,
                line.fit / max(1, student.found.sum()))


def _best_line(student: Movement, teacher: Movement, cost: np.ndarray, tolerant: np.ndarray,
               tempos: np.ndarray, offsets: np.ndarray) -> _Line | None:
    """The chosen line over a grid of tempos and offsets, coarse (on `tolerant`) then fine
    (on `cost`); None when no line overlaps enough."""
    every = 2
    candidates = _coarse_candidates(_peaks(
        tolerant[::every], student.times[::every], teacher.rate, tempos, offsets,
        _needed_overlap(student, teacher, tempos, every / student.rate), interpolate=False,
        keep=COARSE_POOL))
    refined = []
    for coarse in candidates:
        fine_tempos = np.clip(coarse.tempo * np.geomspace(0.96, 1.04, 33), MIN_TEMPO,
                              MAX_TEMPO)
        fine_offsets = coarse.offset + np.arange(-0.4, 0.4001, 0.01)
        refined += _peaks(cost, student.times, teacher.rate, fine_tempos, fine_offsets,
                          _needed_overlap(student, teacher, fine_tempos, 1 / student.rate),
                          interpolate=True, keep=1)
    return _chosen(refined) if refined else None


def local_shifts(cost: np.ndarray, student: Movement, teacher: Movement, warp: Warp
                 ) -> np.ndarray:
    """For each of her frames, the teacher's time matched: the line plus a smooth local
    shift of up to ±LOCAL_SHIFT_S that fits best over a LOCAL_WINDOW_S window."""
    n, m = cost.shape
    on_line = warp.teacher_time(student.times) * teacher.rate
    reach = round(LOCAL_SHIFT_S * teacher.rate)
    shifts = np.arange(-reach, reach + 1)
    positions = np.rint(on_line)[None, :] + shifts[:, None]  # shifts × n
    inside = (positions >= 0) & (positions <= m - 1)
    values = cost[np.arange(n)[None, :], np.clip(positions, 0, m - 1).astype(np.int64)]
    values = np.where(inside, values, np.nan)
    window = max(1, round(LOCAL_WINDOW_S * student.rate))
    windowed = moving_mean(values, window, more_than=0.5, axis=1)
    windowed[np.isnan(windowed)] = np.inf
    # A shift away from the line must earn its place: the line is the dancer's tempo.
    windowed += 0.002 * np.abs(shifts)[:, None]
    best = shifts[np.argmin(windowed, axis=0)].astype(np.float64)
    fits = np.isfinite(windowed.min(axis=0))
    fits &= windowed.min(axis=0) <= 2.5 * max(warp.cost, 0.02)
    if fits.any():
        best = np.interp(np.arange(n), np.flatnonzero(fits), best[fits])
    else:
        best[:] = 0
    smoothed = median_filter(best, size=max(1, window | 1), mode="nearest")
    matched = np.rint(on_line) + smoothed
    return np.where((matched >= 0) & (matched <= m - 1), matched, np.nan)


def _matches(cost: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The teacher's frame matched to each of hers: the best of the position and its two
    neighbours (a tenth of a second either way is within anyone's timing); -1: none."""
    n, m = cost.shape
    frames = np.full(n, -1, dtype=np.int64)
    for i in np.flatnonzero(~np.isnan(positions)):
        centre = int(positions[i])
        around = np.arange(max(0, centre - 1), min(m, centre + 2))
        row = cost[i, around]
        if not np.isnan(row).all():
            frames[i] = int(around[np.nanargmin(row)])
    return frames


def align_pair(student: Movement, teacher: Movement, start: Start | None = None
               ) -> PairAlignment:
    """Align her performance to the teacher's, as filmed and as in a mirror; near `start`
    when the music has put the two in step."""
    if not student.found.any() or not teacher.found.any():
        raise DanceAssetsError("nothing to align: a video has no pose")
    best: tuple[Warp, bool, Movement, np.ndarray] | None = None
    for mirrored, seen in ((False, teacher), (True, teacher.mirrored())):
        cost = cost_matrix(student, seen)
        try:
            warp = global_warp(student, seen, cost, start)
        except DanceAssetsError:
            continue
        if best is None or warp.fit > best[0].fit:
            best = (warp, mirrored, seen, cost)
    if best is None:
        raise DanceAssetsError("the two videos overlap too little to compare (less than "
                               f"{MIN_OVERLAP_S:g} s with a dancer in both)")
    warp, mirrored, seen, cost = best
    positions = local_shifts(cost, student, seen, warp)
    frames = _matches(cost, positions)
    frames[idle_edges(student)] = -1  # she is not dancing yet, or no longer
    matched = frames >= 0
    errors = np.full((len(frames), 6), np.nan, np.float32)
    if matched.any():
        weights = student.weights[matched] * seen.weights[frames[matched]]
        errors[matched] = part_errors(student.directions[matched],
                                      seen.directions[frames[matched]], weights)
    return PairAlignment(warp=warp, mirrored=mirrored, path_times=positions / seen.rate,
                         teacher_frames=frames, part_errors=errors, student=student, teacher=seen)
