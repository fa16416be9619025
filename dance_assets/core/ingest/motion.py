"""Pixel motion at the video's own frame rate: where a move ends, finer than poses.

Poses come ten a second, and a quick move (a quarter of a second) spans two or three of
them, so where the move stops can only be read from poses to within a few tens of
milliseconds, and how far off depends on the move's length. The pictures in between
are decoded anyway: beside the posed frames, ffmpeg hands over every frame (up to
MAX_RATE a second) shrunk to a small grey picture, and each frame's change from the one
before is kept as a coarse grid of CELL-pixel cells (a few hundred numbers a frame, so
an hour of video fits in memory).

Each picture is normalised (its mean and spread) before it is compared with the last,
so that a light that dims, an auto-exposure step or a colour filter pulsing on the beat
changes little; what still changes everywhere (a phone that shakes, a strobe) is taken
off by `dancer_motion`, which reads the change inside the dancer's box, from her
skeleton, less the change around it.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import numpy as np

VERSION = 1  # of what the grid holds: cached motion of another version is read again
MAX_RATE = 60.0  # frames a second: a slow-motion phone video is read at this rate
SHORT_SIDE = 96  # pixels: the grey picture's short side
CELL = 6  # pixels: the grid's cell side
BATCH = 32  # frames read and compared at a time
# Her box, from her skeleton, widened by these shares of its width and height (hands and
# feet reach past the wrists and ankles; arms swing out sideways more than up).
BOX_MARGIN_X, BOX_MARGIN_Y = 0.25, 0.15


@dataclass
class PixelMotion:
    """How much each frame's picture changed from the one before, per grid cell."""

    times: np.ndarray  # seconds: midway between the two frames compared
    grid: np.ndarray  # frames × rows × columns: mean absolute change of the normalised picture


def motion_rate(fps: float | None) -> float:
    """The rate the motion is read at: the video's own, at most MAX_RATE (30 when unknown)."""
    return min(fps or 30.0, MAX_RATE)


class MotionReader:
    """Reads ffmpeg's grey frames from a pipe in a thread of its own, keeping only the grid
    of changes; ffmpeg writes into the other end (`write_fd`, passed to it)."""

    def __init__(self, size: tuple[int, int], rate: float) -> None:
        self.width, self.height = size
        self.rate = rate
        self._read_fd, self.write_fd = os.pipe()
        self._grids: list[np.ndarray] = []
        self._thread = threading.Thread(target=self._read, daemon=True)

    def start(self) -> None:
        """Begin reading; the caller closes `write_fd` once ffmpeg holds it."""
        self._thread.start()

    def _read(self) -> None:
        """Frames are taken BATCH at a time: numpy's work per call, not per pixel, is most
        of the cost at this size."""
        frame_bytes = self.width * self.height
        rows, columns = self.height // CELL, self.width // CELL
        previous = None
        with os.fdopen(self._read_fd, "rb") as pipe:
            while chunk := pipe.read(frame_bytes * BATCH):
                count = len(chunk) // frame_bytes
                if not count:
                    break
                pictures = np.frombuffer(chunk[:count * frame_bytes], np.uint8).reshape(
                    count, self.height, self.width)[:, :rows * CELL, :columns * CELL]
                pictures = pictures.astype(np.float32)
                pictures -= pictures.mean(axis=(1, 2), keepdims=True)
                pictures /= pictures.std(axis=(1, 2), keepdims=True) + 1.0
                if previous is not None:
                    pictures = np.concatenate([previous, pictures])
                if len(pictures) > 1:
                    change = np.abs(np.diff(pictures, axis=0))
                    self._grids.append(change.reshape(-1, rows, CELL, columns, CELL)
                                       .mean(axis=(2, 4)))
                previous = pictures[-1:]

    def result(self) -> PixelMotion:
        """The motion read, once ffmpeg has finished (or been stopped)."""
        self._thread.join()
        rows, columns = self.height // CELL, self.width // CELL
        grid = (np.concatenate(self._grids) if self._grids
                else np.zeros((0, rows, columns), np.float32)).astype(np.float32)
        times = (np.arange(len(grid)) + 0.5) / self.rate
        return PixelMotion(times=times, grid=grid)


def dancer_motion(motion: PixelMotion, times: np.ndarray, x: np.ndarray,
                  y: np.ndarray) -> np.ndarray:
    """Per motion frame, how much her picture changed: the mean change inside her box (her
    skeleton's extent at the nearest posed frame, widened by BOX_MARGIN_X and _Y) less the mean
    change outside it; NaN where no skeleton is near.

    times: the posed frames' seconds; x, y: frames × landmarks, shares of the picture.
    """
    out = np.full(len(motion.times), np.nan)
    if not len(times) or not len(motion.times):
        return out
    rows, columns = motion.grid.shape[1:]
    nearest = nearest_index(motion.times, times)
    step = float(np.median(np.diff(times))) if len(times) > 1 else 1.0
    seen = ~np.isnan(x).all(axis=1)
    left, right, top, bottom = (np.full(len(x), np.nan) for _ in range(4))
    left[seen], right[seen] = np.nanmin(x[seen], axis=1), np.nanmax(x[seen], axis=1)
    top[seen], bottom[seen] = np.nanmin(y[seen], axis=1), np.nanmax(y[seen], axis=1)
    centres_x = (np.arange(columns) + 0.5) / columns
    centres_y = (np.arange(rows) + 0.5) / rows
    total = motion.grid.sum(axis=(1, 2))
    for index, frame in enumerate(nearest):
        if np.isnan(left[frame]) or abs(motion.times[index] - times[frame]) > step:
            continue
        margin_x = BOX_MARGIN_X * (right[frame] - left[frame])
        margin_y = BOX_MARGIN_Y * (bottom[frame] - top[frame])
        inside_x = (centres_x >= left[frame] - margin_x) & (centres_x <= right[frame] + margin_x)
        inside_y = (centres_y >= top[frame] - margin_y) & (centres_y <= bottom[frame] + margin_y)
        cells = int(inside_x.sum()) * int(inside_y.sum())
        if cells == 0:
            continue
        inside = float(motion.grid[index][np.ix_(inside_y, inside_x)].sum())
        around = (float(total[index]) - inside) / max(1, rows * columns - cells)
        out[index] = inside / cells - around
    return out


def nearest_index(at: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Index of the nearest of the sorted `times` to each of `at` (in time and memory
    proportional to their lengths)."""
    if len(times) == 1:
        return np.zeros(len(at), np.int64)
    after = np.clip(np.searchsorted(times, at), 1, len(times) - 1)
    before = after - 1
    return np.where(at - times[before] <= times[after] - at, before, after)
