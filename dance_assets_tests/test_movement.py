"""Which way up a video shows its dancer, on constructed skeletons (no video, no pose
model): a lean is no turn, a body on its side is, and turning back keeps left as left."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dance_assets.core.ingest.pose_features import JOINTS
from dance_assets.core.performance.movement import (
    SEGMENT_NAMES,
    directions_of,
    quarter_turns,
    turned_upright,
)

# Normalised skeleton (pose_features.JOINTS order: nose, shoulders, elbows, wrists, hips,
# knees, ankles; left then right), hips at the origin, y down, one torso long: her left
# arm raised to the side, her right arm down.
UPRIGHT = np.array([[0.0, -1.4], [0.3, -1.0], [-0.3, -1.0], [0.8, -1.1], [-0.35, -0.5],
                    [1.3, -1.2], [-0.35, 0.0], [0.15, 0.0], [-0.15, 0.0], [0.2, 0.9],
                    [-0.2, 0.9], [0.2, 1.8], [-0.2, 1.8]], np.float32)
SEEN = np.ones((1, len(SEGMENT_NAMES)), np.float32)


def _turned(skeleton: np.ndarray, degrees: float) -> np.ndarray:
    """The skeleton as a video turned `degrees` clockwise shows it (y down)."""
    theta = math.radians(degrees)
    rotation = np.array([[math.cos(theta), -math.sin(theta)],
                         [math.sin(theta), math.cos(theta)]], np.float32)
    return skeleton @ rotation.T


def _video(skeleton: np.ndarray, frames: int = 20, sway_deg: float = 10.0) -> np.ndarray:
    """`frames` copies of the skeleton, swaying a little either way."""
    return np.stack([_turned(skeleton, sway_deg * math.sin(k)) for k in range(frames)])


def test_the_skeleton_here_has_one_point_per_joint():
    assert len(UPRIGHT) == len(JOINTS)


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_a_dancer_shown_turned_is_turned_back_with_her_left_still_her_left(degrees):
    shown = _video(_turned(UPRIGHT, degrees))
    turns = quarter_turns(directions_of(shown), np.repeat(SEEN, len(shown), axis=0))
    assert turns * 90 == degrees
    back = turned_upright(shown, turns)
    assert np.allclose(directions_of(back), directions_of(_video(UPRIGHT)), atol=1e-5)


@pytest.mark.parametrize("lean_deg", [0, 25, -45])
def test_a_lean_is_not_a_turn(lean_deg):
    shown = _video(_turned(UPRIGHT, lean_deg))
    assert quarter_turns(directions_of(shown), np.repeat(SEEN, len(shown), axis=0)) == 0


def test_no_turn_when_the_frames_disagree_or_the_spine_was_not_seen():
    half_and_half = np.concatenate([_video(UPRIGHT, 10), _video(_turned(UPRIGHT, 180), 10)])
    assert quarter_turns(directions_of(half_and_half), np.repeat(SEEN, 20, axis=0)) == 0
    sideways = _video(_turned(UPRIGHT, 90))
    unseen = np.repeat(SEEN, len(sideways), axis=0)
    unseen[:, SEGMENT_NAMES.index("spine")] = 0.0
    assert quarter_turns(directions_of(sideways), unseen) == 0
