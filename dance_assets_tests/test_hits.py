"""Her hits against the beat, on constructed movements and hits: what counts as a hit and
how her offset resists stray ones (no video, no pose model)."""

from __future__ import annotations

import numpy as np

from dance_assets.core.ingest.dense_poses import smooth
from dance_assets.core.performance.beats import Beats
from dance_assets.core.performance.movement import SEGMENT_NAMES, Movement
from dance_assets.core.scoring.music import ON_BEAT_S, Hits, against_beats, hits

RATE = 10.0
PERIOD = 0.5  # 120 bpm


def _beats(seconds: float) -> Beats:
    times = np.arange(0.25, seconds, PERIOD)
    return Beats(60 / PERIOD, times, np.zeros(0), np.zeros((12, 0)), 1.0)


def _arms(ends: list[float], move_s: float, seconds: float, flicker_at: float | None = None
          ) -> Movement:
    """Both upper arms swing 90° between two held poses in a cubic ease of move_s that
    ends at each of `ends`; other segments hold still. A flicker is one frame's 8° jump."""
    times = np.arange(0.0, seconds, 1 / RATE)
    angle = np.zeros(len(times))
    for index, end in enumerate(ends):
        x = np.clip((times - end + move_s) / move_s, 0, 1)
        step = x * x * (3 - 2 * x) * np.pi / 2
        angle = np.where(times >= end - move_s, (index % 2) * np.pi / 2
                         + (step if index % 2 == 0 else -step), angle)
    directions = np.zeros((len(times), len(SEGMENT_NAMES), 2), np.float32)
    directions[..., 1] = 1.0
    if flicker_at is not None:
        angle = angle + np.where(np.abs(times - flicker_at) < 0.05, np.radians(8), 0.0)
    for name in ("left upper arm", "right upper arm"):
        column = SEGMENT_NAMES.index(name)
        directions[:, column, 0], directions[:, column, 1] = np.sin(angle), np.cos(angle)
    directions = smooth(directions.reshape(len(times), -1), 5).reshape(directions.shape)
    directions /= np.linalg.norm(directions, axis=-1, keepdims=True)
    weights = np.ones((len(times), len(SEGMENT_NAMES)), np.float32)
    return Movement(times=times, directions=directions, weights=weights,
                    skeletons=np.zeros((len(times), 13, 2)), rate=RATE)


def test_a_hit_is_where_a_move_stops_and_a_flicker_is_none():
    """At ten poses a second the smoothing spreads a move: its end is found within 40 ms
    for moves of 0.3 to 0.6 s, and a quick 0.2 s move reads late (HIT_LEVEL's trade)."""
    for move_s, late_ms in ((0.2, (30, 90)), (0.3, (-40, 40)), (0.5, (-40, 40)),
                            (0.6, (-40, 40))):
        errors = []
        for phase in np.arange(0.0, 0.1, 0.02):  # where the frames fall against the moves
            ends = [1.3 + phase + 1.0 * k for k in range(8)]
            found = hits(_arms(ends, move_s, 10.0, flicker_at=5.8 + phase))
            assert len(found) == len(ends), (move_s, phase, found.times)
            errors.extend(1000 * (found.times - ends))
        assert late_ms[0] <= np.mean(errors) <= late_ms[1], (move_s, np.mean(errors))
        assert np.std(errors) < 15, (move_s, errors)


def _picture_speed(ends: list[float], move_s: float, seconds: float, fps: float = 30.0
                   ) -> tuple[np.ndarray, np.ndarray]:
    """How much her picture changes between frames at `fps` through the same moves: as
    fast as the cubic ease moves (times midway between frames, as motion.py keeps them)."""
    times = (np.arange(int(seconds * fps) - 1) + 0.5) / fps
    change = np.zeros(len(times))
    for end in ends:
        x = np.clip((times - end + move_s) / move_s, 0, 1)
        change += 6 * x * (1 - x) / move_s
    return times, change


def test_her_picture_times_each_hit_to_a_frame_whatever_the_move_s_length():
    """The same moves with her picture's motion read at 30 frames a second: each hit is
    found within 25 ms of its end, the quick 0.2 s move (70 ms late from poses alone) and
    the slow 0.6 s one (30 ms early) alike; a hit her picture does not show (she held
    still there, the poses flickered) keeps its pose time."""
    for move_s in (0.2, 0.3, 0.5, 0.6):
        for phase in np.arange(0.0, 0.1, 0.02):
            ends = [1.3 + phase + 1.0 * k for k in range(8)]
            movement = _arms(ends, move_s, 10.0)
            posed = hits(movement)
            movement.motion_times, movement.motion = _picture_speed(ends, move_s, 10.0)
            timed = hits(movement)
            assert len(timed) == len(ends) and np.array_equal(timed.strengths,
                                                              posed.strengths)
            assert np.abs(1000 * (timed.times - ends)).max() < 25, (move_s, timed.times)
    movement = _arms(ends, 0.3, 10.0)
    posed = hits(movement)
    movement.motion_times, movement.motion = _picture_speed(ends[:4], 0.3, 10.0)
    timed = hits(movement)
    assert np.array_equal(timed.times[4:], posed.times[4:])
    assert np.abs(timed.times[:4] - ends[:4]).max() < 0.025


def test_stray_hits_between_moves_do_not_pull_her_offset_to_the_beat():
    rng = np.random.default_rng(7)
    beats = _beats(30.0)
    late = beats.times[4:50:2] + 0.12 + rng.normal(0, 0.015, len(beats.times[4:50:2]))
    strays = rng.uniform(2.0, 28.0, 12)
    times = np.concatenate([late, strays])
    strengths = np.concatenate([np.full(len(late), 1.0), np.full(len(strays), 0.4)])
    order = np.argsort(times)
    timing = against_beats(Hits(times[order], strengths[order]), beats)
    assert timing is not None and timing.hits == len(times)
    assert abs(timing.mean_offset_ms - 120) <= 10
    offsets = np.array(timing.hit_offsets_ms)
    assert abs(offsets.mean() - 120) > 20  # a plain mean would be pulled towards the beat
    assert timing.on_beat_share < 1 and timing.spread_ms > 100 * ON_BEAT_S
