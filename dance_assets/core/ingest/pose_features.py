"""Skeletons as numbers a model can compare: normalised, mirrored, windowed in time.

A pose in the lake is 33 MediaPipe landmarks in image coordinates. Where a dancer
stands, how tall she is and how far the camera is say nothing about the dance, so each
skeleton is moved to its hip centre and scaled by its torso length (in pixels, so that
a 9:16 frame does not squash it). A dancer who performs the dance as in a mirror is the
same dance: `mirror` flips a skeleton and swaps its left and right joints, and models
and scores look at both. Pure NumPy on arrays and DataFrames; no torch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

# The body's thirteen joints that carry a dance: nose, shoulders, elbows, wrists, hips,
# knees, ankles (MediaPipe indices). The face's ten points and the hands' and feet's
# small points add noise, not moves.
JOINTS: tuple[int, ...] = (0, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
JOINT_NAMES: tuple[str, ...] = ("nose", "left shoulder", "right shoulder", "left elbow",
                                "right elbow", "left wrist", "right wrist", "left hip",
                                "right hip", "left knee", "right knee", "left ankle",
                                "right ankle")
# Where each joint goes in a mirror image: left and right swap.
MIRRORED: tuple[int, ...] = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11)
# Bones for drawing a normalised skeleton, as positions in JOINTS.
BONES: tuple[tuple[int, int], ...] = ((1, 2), (1, 7), (2, 8), (7, 8), (1, 3), (3, 5), (2, 4),
                                      (4, 6), (7, 9), (9, 11), (8, 10), (10, 12))
_L_SHOULDER, _R_SHOULDER, _L_HIP, _R_HIP = 1, 2, 7, 8
N_JOINTS = len(JOINTS)
# One time step of a window: x and y of each joint, then 1 where a pose was found.
STEP_FEATURES = 2 * N_JOINTS + 1


def normalise(x: np.ndarray, y: np.ndarray, width: float, height: float) -> np.ndarray:
    """JOINTS of one or more skeletons (… × 33 normalised coordinates) → … × 13 × 2.

    Centred on the middle of the hips, in torso lengths (hip centre to shoulder centre),
    y pointing down as in the image.
    """
    points = np.stack([np.asarray(x, np.float32)[..., JOINTS] * width,
                       np.asarray(y, np.float32)[..., JOINTS] * height], axis=-1)
    hips = points[..., [_L_HIP, _R_HIP], :].mean(axis=-2, keepdims=True)
    shoulders = points[..., [_L_SHOULDER, _R_SHOULDER], :].mean(axis=-2, keepdims=True)
    torso = np.linalg.norm(shoulders - hips, axis=-1, keepdims=True)
    return ((points - hips) / np.maximum(torso, 1e-6)).astype(np.float32)


def mirror(skeletons: np.ndarray) -> np.ndarray:
    """The mirror image of … × 13 × 2 skeletons: x negated, left and right swapped."""
    flipped = skeletons[..., MIRRORED, :].copy()
    flipped[..., 0] *= -1
    return flipped


def skeletons_of(poses: pd.DataFrame, sizes: pd.DataFrame) -> pd.DataFrame:
    """One row per frame with a pose: video_id, second and its normalised skeleton.

    `poses` are rows of the `poses` table; `sizes` has frame_id, width and height (the
    `frames` table), since landmarks are shares of the frame's width and height.
    """
    found = poses[poses["person_found"]].merge(sizes[["frame_id", "width", "height"]],
                                               on="frame_id")
    if found.empty:
        return pd.DataFrame({"frame_id": [], "video_id": [], "second": [], "skeleton": []})
    x = np.stack(found["x"].to_numpy())
    y = np.stack(found["y"].to_numpy())
    skeletons = normalise(x, y, found["width"].to_numpy()[:, None],
                          found["height"].to_numpy()[:, None])
    return pd.DataFrame({"frame_id": found["frame_id"].to_numpy(),
                         "video_id": found["video_id"].to_numpy(),
                         "second": found["second"].to_numpy().astype(int),
                         "skeleton": list(skeletons)})


def sequence(skeletons: pd.DataFrame, video_id: str) -> tuple[np.ndarray, np.ndarray]:
    """A video's (seconds, skeletons seconds × 13 × 2), in time order, posed seconds only."""
    rows = skeletons[skeletons["video_id"] == video_id].sort_values("second")
    if rows.empty:
        return np.zeros(0, int), np.zeros((0, N_JOINTS, 2), np.float32)
    return rows["second"].to_numpy(), np.stack(rows["skeleton"].to_numpy())


def windows(seconds: np.ndarray, skeletons: np.ndarray, wanted: Sequence[int],
            width: int) -> np.ndarray:
    """For each wanted second, the `width` seconds centred on it: N × width × STEP_FEATURES.

    Seconds with no pose are zeros with the found flag 0, so a model sees gaps as gaps.
    """
    half = width // 2
    at = {int(s): i for i, s in enumerate(seconds)}
    out = np.zeros((len(wanted), width, STEP_FEATURES), np.float32)
    for row, centre in enumerate(wanted):
        for step, second in enumerate(range(int(centre) - half, int(centre) - half + width)):
            index = at.get(second)
            if index is not None:
                out[row, step, :-1] = skeletons[index].reshape(-1)
                out[row, step, -1] = 1.0
    return out


def frame_windows(skeletons: pd.DataFrame, frames: pd.DataFrame, width: int) -> np.ndarray:
    """Windows for `frames` (rows with video_id and second), in their order."""
    out = np.zeros((len(frames), width, STEP_FEATURES), np.float32)
    positions = pd.Series(np.arange(len(frames)))
    for video_id, rows in positions.groupby(frames["video_id"].to_numpy()):
        seconds, video = sequence(skeletons, video_id)
        out[rows.to_numpy()] = windows(seconds, video,
                                       frames["second"].to_numpy()[rows.to_numpy()], width)
    return out


def mirror_permutation() -> tuple[np.ndarray, np.ndarray]:
    """(index, sign) over STEP_FEATURES that mirrors one flattened time step."""
    index, sign = [], []
    for joint in MIRRORED:
        index += [2 * joint, 2 * joint + 1]
        sign += [-1.0, 1.0]
    return np.array([*index, STEP_FEATURES - 1]), np.array([*sign, 1.0], np.float32)
