"""Per-frame quality features, computed once at extraction for the cleaning step.

All features are on a 0-255 luma scale unless said otherwise:
- brightness: mean luma; contrast: its standard deviation.
- sharpness: variance of the Laplacian (low = blurred).
- noise: Immerkaer's estimate of the standard deviation of pixel noise (static, snow).
- subject_score: share of pixels that differ from the video's static background (see
  static_background) after undoing a global colour cast such as a disco light; roughly
  how much of the frame is dancer, near 0 for an empty room, high for noise.
- uniform_share: share of the frame in its most common band of 8 luma levels; near 1
  for a title card or a flat colour, low for a room, a person, or static.
- near_duplicate_of: the earliest earlier frame of the same video that looks the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

# Bump when a feature's definition changes: frames then count as stale and re-extract.
FEATURES_VERSION = 4
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
_WORK_SHORT_SIDE = 64
SUBJECT_DIFF = 25.0  # colour distance (max over RGB) that counts as "different"
NEAR_DUPLICATE_SHARE = 0.005  # frames differing in fewer pixels than this look the same
NEAR_DUPLICATE_WINDOW = 10  # how many earlier frames a frame is compared with
_NOT_A_SCENE_SHARE = 0.5  # frames differing this much from the rest show no scene (noise)
_FLAT_STD = 4.0  # frames with a luma spread below this show nothing
_BLURRED_SHARE = 0.15  # frames this much less sharp than the video's median are blurred


@dataclass(kw_only=True, frozen=True)
class FrameFeatures:
    brightness: float
    contrast: float
    sharpness: float
    noise: float
    subject_score: float
    near_duplicate_of: int | None
    uniform_share: float


def load_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def luma(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32) @ _LUMA


def _laplacian(gray: np.ndarray) -> np.ndarray:
    return (
        gray[:-2, 1:-1] + gray[2:, 1:-1] + gray[1:-1, :-2] + gray[1:-1, 2:] - 4 * gray[1:-1, 1:-1]
    )


def noise_sigma(gray: np.ndarray) -> float:
    """Immerkaer (1996): noise std from a mask that cancels smooth image structure."""
    height, width = gray.shape
    if height < 3 or width < 3:
        return 0.0
    response = (
        gray[:-2, :-2] - 2 * gray[:-2, 1:-1] + gray[:-2, 2:]
        - 2 * gray[1:-1, :-2] + 4 * gray[1:-1, 1:-1] - 2 * gray[1:-1, 2:]
        + gray[2:, :-2] - 2 * gray[2:, 1:-1] + gray[2:, 2:]
    )
    return float(np.sqrt(np.pi / 2) * np.abs(response).mean() / 6)


def uniform_share(small_gray: np.ndarray) -> float:
    """Share of pixels in the most common band of 8 luma levels (bands overlap by half,
    so a flat colour on a band's edge still counts as one)."""
    counts = np.bincount(np.clip(small_gray, 0, 255).astype(np.int64).ravel() // 4,
                         minlength=64)
    return float((counts[:-1] + counts[1:]).max() / max(1, small_gray.size))


def median_colour(rgb: np.ndarray) -> np.ndarray:
    """The frame's median colour, channel by channel, as uint8: what
    np.median(pixels, axis=0).astype(np.uint8) gives (the mean of the two middle values,
    truncated, for an even count), counted from histograms, six times faster on a frame.
    Painting people over and setting a frame in a border need it on every keyframe."""
    pixels = rgb.reshape(-1, 3)
    count = len(pixels)
    colour = np.empty(3, np.uint8)
    for channel in range(3):
        cumulative = np.cumsum(np.bincount(pixels[:, channel], minlength=256))
        # The value at 0-based rank k: the first whose cumulative count exceeds k.
        low = int(np.searchsorted(cumulative, (count - 1) // 2, side="right"))
        high = int(np.searchsorted(cumulative, count // 2, side="right"))
        colour[channel] = (low + high) // 2
    return colour


def _downscale(rgb: np.ndarray) -> np.ndarray:
    """Box-average down to about _WORK_SHORT_SIDE pixels on the short side."""
    factor = max(1, min(rgb.shape[:2]) // _WORK_SHORT_SIDE)
    small = Image.fromarray(rgb).reduce(factor) if factor > 1 else Image.fromarray(rgb)
    return np.asarray(small, dtype=np.float32)


def _light_normalised(small: np.ndarray) -> np.ndarray:
    """Undo each frame's global colour cast (a disco light scales every channel)."""
    reference = np.median(small, axis=0)
    gain = np.median(small, axis=(1, 2)) / np.maximum(np.median(reference, axis=(0, 1)), 1.0)
    return (small / np.maximum(gain, 1e-3)[:, None, None, :]).astype(np.float32)


def _distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Largest per-channel difference; written out because max over a 3-wide axis is slow."""
    diff = np.abs(a - b)
    return np.maximum(np.maximum(diff[..., 0], diff[..., 1]), diff[..., 2])


def _differs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _distance(a, b) > SUBJECT_DIFF


def _box_sum(image: np.ndarray, radius: int) -> np.ndarray:
    """Sum over a (2r+1)-square window around each pixel, via cumulative sums."""
    padded = np.pad(image, ((radius + 1, radius), (radius + 1, radius), (0, 0)), mode="constant")
    summed = padded.cumsum(axis=0).cumsum(axis=1)
    size = 2 * radius + 1
    return (summed[size:, size:] - summed[:-size, size:] - summed[size:, :-size]
            + summed[:-size, :-size])


def _fill_from_surroundings(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Estimate unknown pixels as the mean of known pixels nearby, widening as needed."""
    estimate = image.copy()
    missing = ~known
    weights = known[:, :, None].astype(np.float32)
    for radius in (4, 12, 36, max(image.shape)):
        if not missing.any():
            break
        count = _box_sum(weights, radius)
        total = _box_sum(image * weights, radius)
        reachable = missing & (count[:, :, 0] > 0)
        estimate[reachable] = (total / np.maximum(count, 1))[reachable]
        missing &= ~reachable
    return estimate


def static_background(frames: np.ndarray, reliable: np.ndarray) -> np.ndarray:
    """The video's empty room, from its (light-normalised, downscaled) frames.

    The per-pixel median is the room wherever the dancer is absent most of the time;
    where the dancer stands most of the time it shows the dancer. So wherever any frame
    differs from the median, the background is the candidate (the median or an observed
    value) closest to the room around it, estimated from the undisputed pixels nearby.
    Only `reliable` frames that show a scene take part: not flat or blurred ones, nor
    static noise (which differs from everything).
    """
    median = np.median(frames, axis=0)
    scene = reliable & (_differs(frames, median).mean(axis=(1, 2)) < _NOT_A_SCENE_SHARE)
    if scene.sum() < 2:
        return median
    frames = frames[scene]
    median = np.median(frames, axis=0)
    disputed = _differs(frames, median).any(axis=0)
    surroundings = _fill_from_surroundings(median, ~disputed)
    candidates = np.concatenate([median[None], frames])
    closest = _distance(candidates, surroundings).argmin(axis=0)
    chosen = np.take_along_axis(candidates, closest[None, :, :, None], axis=0)[0]
    return np.where(disputed[:, :, None], chosen, median)


def subject_scores(normalised: np.ndarray, reliable: np.ndarray) -> list[float]:
    """Share of each frame that differs from the video's static background."""
    background = static_background(normalised, reliable)
    return [float(share) for share in _differs(normalised, background).mean(axis=(1, 2))]


def near_duplicates(normalised: np.ndarray) -> list[int | None]:
    """For each frame the first of the previous NEAR_DUPLICATE_WINDOW frames it matches.

    Runs of identical frames (a paused video, an empty room) are contiguous, so a
    window keeps this linear in the video's length.
    """
    result: list[int | None] = []
    for index in range(len(normalised)):
        start = max(0, index - NEAR_DUPLICATE_WINDOW)
        if index == start:
            result.append(None)
            continue
        shares = _differs(normalised[start:index], normalised[index]).mean(axis=(1, 2))
        matches = np.flatnonzero(shares < NEAR_DUPLICATE_SHARE)
        result.append(start + int(matches[0]) if matches.size else None)
    return result


def video_features(frames: Sequence[np.ndarray]) -> list[FrameFeatures]:
    """Features of every sampled frame of one video (they share one background)."""
    if not frames:
        return []
    grays = [luma(frame) for frame in frames]
    brightness = [float(g.mean()) for g in grays]
    contrast = [float(g.std()) for g in grays]
    sharpness = [float(_laplacian(g).var()) if min(g.shape) > 2 else 0.0 for g in grays]
    # Flat (black, white) and blurred frames say nothing reliable about the room.
    reliable = (np.array(contrast) > _FLAT_STD) & (
        np.array(sharpness) >= _BLURRED_SHARE * float(np.median(sharpness)))
    small = np.stack([_downscale(frame) for frame in frames])
    normalised = _light_normalised(small)
    subjects = subject_scores(normalised, reliable)
    duplicates = near_duplicates(normalised)
    return [
        FrameFeatures(brightness=brightness[i], contrast=contrast[i], sharpness=sharpness[i],
                      noise=noise_sigma(grays[i]),
                      subject_score=subjects[i], near_duplicate_of=duplicates[i],
                      uniform_share=uniform_share(luma(small[i])))
        for i in range(len(frames))
    ]
