"""The music in a dance video as the dancer's clock: its beats, her hits against them,
and two videos of one song put in step by their sound.

- **Beats**: core/performance/beats.py finds the tempo and the beat times.
- **Her hits**: a dancer hits a move when a movement ends. From her dense skeletons
  (core/performance/movement.py) her speed is how fast her limbs turn; wherever it falls from a
  peak to the calm after it by at least HIT_FALL of her usual range (the spread of her
  speed between its 10th and 90th percentiles: a flicker of the pose model is no move), a
  hit is where it has fallen HIT_LEVEL of the way (interpolated between frames), which is
  where a held pose begins and where a continuous move dips. Ten poses a second and
  their smoothing spread a move, so such a hit is off by up to about 70 ms, early or late
  with the move's length (dance_assets_tests/test_hits.py). So each hit is then timed
  by her picture's motion at every frame of the video (core/ingest/motion.py: the change
  inside her box less the change around it), which sees the same end a frame at a time:
  the nearest point within SHARP_REACH_S where that motion has fallen SHARP_LEVEL of the
  way from a peak to its calm; a hit her picture does not confirm keeps its pose time.
  Poses and pictures carry their frames' own times (core/ingest/dense_poses.decode). Each
  hit is matched to the nearest beat (within half a beat). Her offset (positive: late)
  is the mean over the hits within ON_BEAT_S of the hits' median, both weighted by how
  far the speed fell, so that a stray flicker between moves does not pull it to zero;
  beside it the spread of all her matched hits, the share within ON_BEAT_S, and the
  stretch where she is furthest off. Movement-beat alignment in the dance literature
  (AIST++) uses velocity minima; the end of a burst is the same point for a move that
  stops, and is defined where a held pose makes the minimum a flat plateau.
- **Sync by sound**: two videos carry the same song when their chroma (the notes
  playing, beat by beat) match better at one lag than anywhere else by a clear margin;
  the tempo ratio comes from their beats and the offset from the cross-correlation of
  their onset strengths at that ratio, refined to a fraction of a hop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from dance_assets.core.ingest.dense_poses import DenseSettings
from dance_assets.core.ingest.motion import VERSION as MOTION_VERSION
from dance_assets.core.ingest.motion import nearest_index
from dance_assets.core.ingest.video import FfmpegSettings
from dance_assets.core.lake.errors import DanceAssetsError
from dance_assets.core.lake.lake import Lake
from dance_assets.core.lake.tables import SCHEMAS
from dance_assets.core.performance.beats import HOP, MIN_BEATS, Beats
from dance_assets.core.performance.movement import Movement
from dance_assets.core.performance.performance import NO_STEADY_BEAT, read_performance

ANALYSED, NO_MUSIC, FAILED = "analysed", "no music", "failed"  # a music row's status
HIT_LEVEL = 0.3  # a hit: the speed has fallen this share of the way back to calm
HIT_FALL = 0.35  # a move: the speed falls by this share of her usual range
SHARP_LEVEL = 0.15  # in her picture's motion, a hit has fallen this share of the way
SHARP_REACH_S = 0.1  # a hit in her poses is timed by her picture's within this
ON_BEAT_S = 0.1  # a hit within this of a beat is on it (perceptible asynchrony ~50-100 ms)
WORST_WINDOW_S = 4.0
# Two songs are one when their chroma matches at the best lag this much better than the
# median lag (standard deviations of the lag profile) and at least this well.
SAME_SONG_Z = 2.5
SAME_SONG_MIN = 0.75
COARSE = 8  # hops averaged when looking for the song's lag
SAME_SONG_TIE = 0.1  # lags within this share of the best match's excess match as well


def speed(movement: Movement) -> np.ndarray:
    """How fast her limbs turn at each frame (per second), NaN where nobody was seen."""
    directions = movement.directions
    speed_ = np.full(len(directions), np.nan)
    if len(directions) < 3:
        return speed_
    turned = np.linalg.norm(directions[2:] - directions[:-2], axis=-1) * movement.rate / 2
    weights = np.minimum(movement.weights[2:], movement.weights[:-2])
    with np.errstate(invalid="ignore", divide="ignore"):
        speed_[1:-1] = np.nansum(turned * weights, axis=1) / weights.sum(axis=1)
    return speed_


@dataclass(frozen=True)
class Hits:
    """The times her movements end, and how strongly each one stopped."""

    times: np.ndarray  # seconds in her video
    strengths: np.ndarray  # how far her speed fell (per second): a big move times best

    def __len__(self) -> int:
        return len(self.times)


def hits(movement: Movement) -> Hits:
    """The times her movements end (module docstring), in seconds of her video: found in
    her poses' speed, each timed by her picture's motion where that saw the same end."""
    found = _ends(movement.times, speed(movement), HIT_LEVEL)
    if movement.motion is None or not len(found):
        return found
    motion = movement.motion.copy()
    motion[1:-1] = 0.25 * motion[:-2] + 0.5 * motion[1:-1] + 0.25 * motion[2:]
    sharp = _ends(movement.motion_times, motion, SHARP_LEVEL).times
    if not len(sharp):
        return found
    nearest = sharp[nearest_index(found.times, sharp)]
    timed = np.where(np.abs(nearest - found.times) <= SHARP_REACH_S, nearest, found.times)
    return Hits(timed, found.strengths)


def _ends(times: np.ndarray, curve: np.ndarray, level_share: float) -> Hits:
    """Where `curve` (a speed) has fallen `level_share` of the way from each peak to the
    calm after it, for falls of at least HIT_FALL of its usual range."""
    if (~np.isnan(curve)).sum() < 5:
        return Hits(np.zeros(0), np.zeros(0))
    usual = float(np.nanpercentile(curve, 90) - np.nanpercentile(curve, 10))
    found, strengths = [], []
    for peak, calm in _falls(curve):
        fall = curve[peak] - curve[calm]
        if fall < HIT_FALL * usual:
            continue
        level = curve[calm] + level_share * fall
        below = peak + int(np.argmax(curve[peak:calm + 1] <= level))
        share = (curve[below - 1] - level) / (curve[below - 1] - curve[below])
        found.append(times[below - 1] + share * (times[below] - times[below - 1]))
        strengths.append(fall)
    return Hits(np.array(found), np.array(strengths))


def _falls(curve: np.ndarray) -> list[tuple[int, int]]:
    """Each descent of the speed: a peak, and the frame its fall ends at (before it rises
    again or her skeleton is lost)."""
    falls = []
    index = 1
    while index < len(curve) - 1:
        if (not np.isnan(curve[index - 1:index + 2]).any()
                and curve[index - 1] <= curve[index] > curve[index + 1]):
            end = index + 1
            while end + 1 < len(curve) and curve[end + 1] <= curve[end]:
                end += 1
            falls.append((index, end))
            index = end
        index += 1
    return falls


@dataclass(kw_only=True, frozen=True)
class BeatTiming:
    """How her hits fall against the music's beats."""

    mean_offset_ms: int  # positive: after the beat (late); over her main group of hits
    spread_ms: int  # standard deviation of her offsets
    on_beat_share: float  # hits within ON_BEAT_S of their beat
    hits: int
    worst_start_s: float  # the WORST_WINDOW_S stretch furthest off the beat, in her video
    worst_end_s: float
    worst_offset_ms: int
    hit_times: tuple[float, ...] = ()  # each hit matched to a beat, and its offset
    hit_offsets_ms: tuple[int, ...] = ()


def against_beats(found: Hits, beats: Beats) -> BeatTiming | None:
    """Her hits matched to the nearest beat; None with too few hits to say."""
    if len(found) < MIN_BEATS or len(beats.times) < MIN_BEATS:
        return None
    hit_times = found.times
    nearest = np.clip(np.searchsorted(beats.times, hit_times), 1, len(beats.times) - 1)
    before, after = beats.times[nearest - 1], beats.times[nearest]
    beat = np.where(hit_times - before < after - hit_times, before, after)
    offsets = hit_times - beat
    matched = np.abs(offsets) <= beats.period_s / 2
    if matched.sum() < MIN_BEATS:
        return None
    offsets, when, strengths = offsets[matched], hit_times[matched], found.strengths[matched]
    start, end, worst = _worst_stretch(when, offsets)
    return BeatTiming(mean_offset_ms=round(1000 * _main_offset(offsets, strengths)),
                      spread_ms=round(1000 * float(np.std(offsets))),
                      on_beat_share=round(float(np.mean(np.abs(offsets) <= ON_BEAT_S)), 3),
                      hits=len(offsets),
                      worst_start_s=start, worst_end_s=end, worst_offset_ms=round(1000 * worst),
                      hit_times=tuple(round(float(t), 3) for t in when),
                      hit_offsets_ms=tuple(round(1000 * float(o)) for o in offsets))


def _main_offset(offsets: np.ndarray, strengths: np.ndarray) -> float:
    """The strength-weighted mean of the offsets within ON_BEAT_S of their weighted median:
    stray hits between moves spread over the whole beat and would pull a plain mean
    towards zero."""
    order = np.argsort(offsets)
    cumulative = np.cumsum(strengths[order])
    median = offsets[order][np.searchsorted(cumulative, cumulative[-1] / 2)]
    main = np.abs(offsets - median) <= ON_BEAT_S
    return float(np.average(offsets[main], weights=strengths[main]))


def _worst_stretch(when: np.ndarray, offsets: np.ndarray) -> tuple[float, float, float]:
    """The WORST_WINDOW_S stretch of hits whose mean offset is furthest from zero."""
    best = (float(when[0]), float(when[-1]), float(np.mean(offsets)))
    for start in when:
        inside = (when >= start) & (when < start + WORST_WINDOW_S)
        if inside.sum() >= 2 and abs(np.mean(offsets[inside])) > abs(best[2]):
            best = (float(start), float(when[inside][-1]), float(np.mean(offsets[inside])))
    return round(best[0], 2), round(best[1], 2), best[2]


@dataclass(frozen=True)
class AudioSync:
    """Two videos' music compared: the same song or not, and if so how they line up."""

    same_song: bool
    match: float  # chroma agreement at the best lag (0-1)
    tempo: float | None  # her music's tempo over the teacher's
    offset_s: float | None  # her video at t plays the teacher's at tempo·(t − offset_s)

    def teacher_time(self, t: np.ndarray) -> np.ndarray:
        return self.tempo * (np.asarray(t) - self.offset_s)


def _stretched(values: np.ndarray, ratio: float) -> np.ndarray:
    """A per-hop series of hers on the teacher's clock: her hop h plays the teacher's
    hop ratio·h, so the teacher's hop k is her hop k / ratio."""
    positions = np.arange(int(len(values.T if values.ndim > 1 else values) * ratio)) / ratio
    if values.ndim == 1:
        return np.interp(positions, np.arange(len(values)), values)
    return np.stack([np.interp(positions, np.arange(values.shape[1]), row) for row in values])


def _coarse(chroma: np.ndarray) -> np.ndarray:
    """Chroma averaged over COARSE hops (about a tenth of a second), renormalised: the
    song is told by its notes, which do not change faster."""
    usable = chroma[:, :chroma.shape[1] // COARSE * COARSE]
    mean = usable.reshape(12, -1, COARSE).mean(axis=2)
    return mean / np.maximum(np.linalg.norm(mean, axis=0, keepdims=True), 1e-9)


def _lag_profile(hers: np.ndarray, theirs: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """At every lag (hers shifted by lag frames against theirs, overlapping by at least a
    third of the shorter): the mean chroma agreement, and the agreement summed over the
    overlap above the median lag's mean, which a short overlap cannot win by luck."""
    n, m = hers.shape[1], theirs.shape[1]
    least = max(1, min(n, m) // 3)
    lags = np.arange(-(n - least), m - least + 1)
    sums, counts = np.zeros(len(lags)), np.zeros(len(lags))
    for index, lag in enumerate(lags):
        start, stop = max(0, -lag), min(n, m - lag)
        sums[index] = float((hers[:, start:stop] * theirs[:, start + lag:stop + lag]).sum())
        counts[index] = stop - start
    means = sums / counts
    return lags, means, sums - float(np.median(means)) * counts


def sync_by_sound(hers: Beats, theirs: Beats) -> AudioSync:
    """Whether two videos play the same song and, if so, her offset and tempo against it."""
    ratio = hers.tempo_bpm / theirs.tempo_bpm
    lags, means, excess = _lag_profile(_coarse(_stretched(hers.chroma, ratio)),
                                       _coarse(theirs.chroma))
    best = int(np.argmax(excess))
    spread = float(np.std(means)) or 1e-9
    z = (means[best] - float(np.median(means))) / spread
    if means[best] < SAME_SONG_MIN or z < SAME_SONG_Z:
        return AudioSync(False, round(float(means[best]), 3), None, None)
    # A song repeats its bars: of the lags that match about as well as the best, the one
    # nearest to both videos starting together.
    near = np.flatnonzero(excess >= (1 - SAME_SONG_TIE) * excess[best])
    best = int(near[np.argmin(np.abs(lags[near]))])
    lag = _refined_lag(_stretched(hers.onsets, ratio), theirs.onsets,
                       int(lags[best]) * COARSE, reach=COARSE * 2)
    # Her hop k / ratio (her time k·hop/ratio) plays the teacher's hop k + lag.
    offset = -lag * theirs.hop_s / ratio
    return AudioSync(True, round(float(means[best]), 3), ratio, offset)


def _refined_lag(hers: np.ndarray, theirs: np.ndarray, around: int, reach: int = 8) -> float:
    """The onset strengths' cross-correlation peak within `reach` hops of `around`, to a
    fraction of a hop (a parabola through the peak and its neighbours)."""
    def score(lag: int) -> float:
        start, stop = max(0, -lag), min(len(hers), len(theirs) - lag)
        if stop - start < 10:
            return -math.inf
        a, b = hers[start:stop], theirs[start + lag:stop + lag]
        a, b = a - a.mean(), b - b.mean()
        return float((a * b).sum() / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-9))

    lags = np.arange(around - reach, around + reach + 1)
    scores = np.array([score(int(lag)) for lag in lags])
    best = int(np.argmax(scores))
    if 0 < best < len(lags) - 1 and np.isfinite(scores[best - 1:best + 2]).all():
        left, middle, right = scores[best - 1:best + 2]
        bend = left - 2 * middle + right
        if bend < 0:
            return float(lags[best] + 0.5 * (left - right) / bend)
    return float(lags[best])


def fingerprint(settings: DenseSettings) -> str:
    """What a music row depends on: a change analyses every video again."""
    return (f"music=v4;hop={HOP};hit={HIT_LEVEL:g};fall={HIT_FALL:g};sharp={SHARP_LEVEL:g};"
            f"motion={MOTION_VERSION};"
            f"{settings.fingerprint()}")


def music_row(lake: Lake, video: dict, ffmpeg: FfmpegSettings, settings: DenseSettings) -> dict:
    """One `music` row for a probed video with sound (a `videos` row): its beats, and her
    hits against them from her dense poses: the video read once (core/performance) and
    kept in the lake's cache, where `score` finds it again."""
    row = {name: None for name in SCHEMAS["music"].names}
    row.update(video_id=video["video_id"], dance_class=video["dance_class"],
               path=video["path"], params=fingerprint(settings),
               analysed_at=datetime.now(UTC))
    try:
        performance = read_performance(lake.absolute(video["path"]), ffmpeg, settings,
                                       cache=lake.cache, motion=True)
    except DanceAssetsError as exc:
        return {**row, "status": FAILED, "reason": str(exc)}
    beats = performance.beats
    if beats is None:
        if performance.heard.no_beat == NO_STEADY_BEAT:
            return {**row, "status": NO_MUSIC, "reason": "silent, or no steady beat"}
        return {**row, "status": FAILED, "reason": performance.heard.no_beat}
    row.update(status=ANALYSED, tempo_bpm=round(beats.tempo_bpm, 2),
               beats=beats.times.astype(np.float32))
    movement = performance.movement
    timing = against_beats(hits(movement), beats)
    if timing is None:
        return {**row, "reason": "too few hits to judge against the beat"}
    return {**row, "beat_offset_ms": timing.mean_offset_ms, "beat_spread_ms": timing.spread_ms,
            "on_beat_share": timing.on_beat_share, "hits": timing.hits,
            "worst_start_s": timing.worst_start_s, "worst_end_s": timing.worst_end_s,
            "worst_offset_ms": timing.worst_offset_ms}


@dataclass(kw_only=True)
class MusicFeedback:
    """What the music says: the beat of her video's sound, her hits against it, and
    whether the teacher's video plays the same song."""

    tempo_bpm: float | None  # her music's; None without music to judge
    beats: list[float]  # in her video
    timing: BeatTiming | None  # her hits against those beats
    same_song: bool | None  # None: no teacher's music to compare with
    audio_offset_s: float | None  # her video at t plays the teacher's song at tempo·(t − this)
    note: str  # how the videos were put in step, or why the music could not say
    no_beat: str = ""  # why her own video has no beat to judge her by (tempo_bpm None)

    def beat_words(self) -> str:
        """Her hits against the beat in one line, or why they cannot be judged."""
        timing = self.timing
        if timing is None:
            if self.tempo_bpm is None:
                return "no music to judge" + (f" ({self.no_beat})" if self.no_beat else "")
            return f"{self.tempo_bpm:.0f} bpm, but too few clear hits to judge against it"
        when = "after" if timing.mean_offset_ms > 0 else "before"
        return (f"your hits land {abs(timing.mean_offset_ms)} ms {when} the beat "
                f"(spread {timing.spread_ms} ms, {timing.on_beat_share:.0%} within "
                f"{round(1000 * ON_BEAT_S)} ms) at {self.tempo_bpm:.0f} bpm; furthest off "
                f"{timing.worst_start_s:.1f}-{timing.worst_end_s:.1f} s "
                f"({timing.worst_offset_ms:+d} ms)")

    def as_dict(self) -> dict:
        timing = self.timing
        return {"tempo_bpm": self.tempo_bpm, "beats": self.beats,
                "same_song": self.same_song, "audio_offset_s": self.audio_offset_s,
                "note": self.note, "words": self.beat_words(),
                "hits": None if timing is None else {
                    "mean_offset_ms": timing.mean_offset_ms, "spread_ms": timing.spread_ms,
                    "on_beat_share": timing.on_beat_share, "count": timing.hits,
                    "worst": {"start_s": timing.worst_start_s, "end_s": timing.worst_end_s,
                              "offset_ms": timing.worst_offset_ms},
                    "each": [{"time_s": t, "offset_ms": o} for t, o
                             in zip(timing.hit_times, timing.hit_offsets_ms, strict=True)]}}
