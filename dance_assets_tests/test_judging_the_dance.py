"""The score's rules on constructed dancers (no real clip is ever committed): a part counts
as much as the dance moves it, and a part off all along is said so."""

from __future__ import annotations

import numpy as np

from dance_assets.core.performance.movement import PART_NAMES, movement_from_skeletons
from dance_assets.core.scoring.coaching import feedback, part_weights
from dance_assets.core.scoring.pair_alignment import Start, align_pair

RATE = 10.0
SECONDS = 16.0


def _dancer(left_arm_deg: np.ndarray, right_arm_deg: np.ndarray, sway: np.ndarray,
            noise_deg: float = 0.0, seed: int = 0):
    """A dancer standing upright whose arms rise by the given angles from hanging down
    (0) to straight up (180), her hips swaying by `sway` (in torso lengths), every joint
    jittered as a phone's poses are."""
    n = len(left_arm_deg)
    points = np.zeros((n, 13, 2), np.float32)
    points[:, 0] = (0.0, -1.4)  # nose
    points[:, 1], points[:, 2] = (0.25, -1.0), (-0.25, -1.0)  # shoulders
    points[:, 7], points[:, 8] = (0.15, 0.0), (-0.15, 0.0)  # hips
    points[:, 9], points[:, 10] = (0.17, 0.55), (-0.17, 0.55)  # knees
    points[:, 11], points[:, 12] = (0.17, 1.1), (-0.17, 1.1)  # ankles
    for side, (shoulder, elbow, wrist), lift in ((1, (1, 3, 5), left_arm_deg),
                                                  (-1, (2, 4, 6), right_arm_deg)):
        angle = np.radians(lift)
        direction = np.stack([side * np.sin(angle), np.cos(angle)], axis=-1)
        points[:, elbow] = points[:, shoulder] + 0.35 * direction
        points[:, wrist] = points[:, elbow] + 0.3 * direction
    points[:, :, 0] += sway[:, None]
    rng = np.random.default_rng(seed)
    points += rng.normal(0, np.radians(noise_deg) * 0.4, points.shape).astype(np.float32)
    times = np.arange(n) / RATE
    return movement_from_skeletons(times, points, None, RATE)


def _routine(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An arm routine: the arms rise and fall at two rhythms."""
    return (80 + 70 * np.sin(2 * np.pi * 0.45 * t), 90 + 60 * np.sin(2 * np.pi * 0.31 * t + 1))


T = np.arange(int(SECONDS * RATE)) / RATE
STILL = np.zeros_like(T)
TEACHER = _dancer(*_routine(T), STILL, noise_deg=2, seed=1)


def test_the_parts_a_routine_moves_are_what_it_is_judged_on():
    """Standing upright earns nothing: against an arm routine, someone who stands with her
    arms down matches legs, torso and head perfectly, yet scores low, while the routine
    danced with a phone's pose noise scores high."""
    same = feedback(align_pair(_dancer(*_routine(T), STILL, noise_deg=6, seed=2), TEACHER))
    standing = feedback(align_pair(_dancer(STILL + 10, STILL + 10, STILL, noise_deg=6, seed=3),
                                   TEACHER))
    assert same.score >= 80 and same.shares_a_dance
    # Put in step as well as she can be (the line finds the teacher's arms at their
    # lowest), she is refused as sharing no dance, or scores next to nothing.
    assert not standing.shares_a_dance or standing.score <= 20
    for part in ("left leg", "right leg", "torso"):
        assert standing.body_parts[part] >= 80  # what they share is there, and weighs little
    assert standing.weights["left arm"] + standing.weights["right arm"] >= 0.5


def test_a_part_held_still_weighs_little_and_one_she_moves_counts():
    moving_hips = 0.2 * np.sin(2 * np.pi * 0.5 * T)
    alignment = align_pair(_dancer(*_routine(T), moving_hips, seed=4), TEACHER)
    weights = dict(zip(PART_NAMES, part_weights(alignment), strict=True))
    assert weights["left arm"] > 2.5 * weights["head"]
    assert weights["left arm"] > 2.5 * weights["left leg"]


def test_a_part_off_all_along_is_said_so_and_scores_apart():
    """Her left arm kept low (never above her shoulder) while the teacher's rises and
    falls: its part score falls far below her right arm's, and she is told it is low for
    most of the dance."""
    left, right = _routine(T)
    judged = feedback(align_pair(_dancer(np.minimum(left, 40), right, STILL, noise_deg=4,
                                         seed=5), TEACHER))
    assert judged.body_parts["right arm"] - judged.body_parts["left arm"] >= 40
    assert any(fault.startswith("left arm too low for most of the dance")
               for fault in judged.steady), judged.steady
    assert not any(fault.startswith("right arm") for fault in judged.steady)


def test_the_sound_proposes_and_the_dance_decides():
    """A beat tracker took her song's tempo for 3/2 of it: the music's start says 1.05x
    while she dances at 0.7x. Its line fits her poses far worse than the line at her own
    tempo, which is the one chosen; a right start is kept."""
    hers = _dancer(*_routine(0.7 * T), STILL, noise_deg=4, seed=7)
    wrong = align_pair(hers, TEACHER, Start(1.05, 0.0))
    assert abs(wrong.warp.tempo - 0.7) <= 0.02, wrong.warp
    right = align_pair(hers, TEACHER, Start(0.7, 0.3))
    assert abs(right.warp.tempo - 0.7) <= 0.02 and abs(right.warp.offset_s) <= 0.1


def test_dancers_in_sync_keep_one_tempo_though_her_first_second_is_matched_off():
    """Her first second stands still where the teacher has begun (matched a beat off, as a
    still start is): the timing stretches still say the teacher's tempo throughout."""
    left, right = _routine(T)
    left[:10], right[:10] = left[0], right[0]
    judged = feedback(align_pair(_dancer(left, right, STILL, noise_deg=4, seed=8), TEACHER))
    assert judged.timing and all(abs(stretch.tempo - 1) <= 0.03 and
                                 abs(stretch.offset_ms) <= 100 for stretch in judged.timing), \
        judged.timing
