"""Pixel motion at the video's own frame rate, read beside the posed frames from one
decoding: every frame's change where it happened, and her change told from the room's."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from dance_assets.core.ingest.dense_poses import DensePoses, decode
from dance_assets.core.ingest.motion import CELL, MotionReader, PixelMotion, dancer_motion
from dance_assets.core.ingest.motion import VERSION as MOTION_VERSION
from dance_assets.core.ingest.video import FfmpegSettings, find_ffmpeg
from dance_assets.core.performance import store
from dance_assets.core.performance.beats import Beats
from dance_assets.core.performance.store import Heard, load_poses, save_poses

FPS, WIDTH, HEIGHT, FRAMES = 30, 96, 168, 60
MOVES = range(10, 31)  # the block moves one step in each of these frames, then holds


@pytest.fixture(scope="module")
def moving_block(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lossless 2 s clip: a textured wall, and a bright block that slides right from
    frame 10 to frame 30 and then stands still."""
    rng = np.random.default_rng(0)
    wall = rng.integers(40, 120, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    frames = []
    for index in range(FRAMES):
        frame = wall.copy()
        left = 10 + 2 * (min(max(index, MOVES.start - 1), MOVES.stop - 1) - (MOVES.start - 1))
        frame[60:100, left:left + 20] = 250
        frames.append(frame)
    path = tmp_path_factory.mktemp("motion") / "block.mp4"
    subprocess.run([find_ffmpeg(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
                    "-s", f"{WIDTH}x{HEIGHT}", "-r", str(FPS), "-i", "-", "-c:v", "libx264",
                    "-qp", "0", "-pix_fmt", "yuv444p", str(path)],
                   input=b"".join(f.tobytes() for f in frames), check=True)
    return path


def test_every_frame_s_change_is_read_where_it_happened(moving_block):
    ffmpeg = FfmpegSettings(find_ffmpeg(), threads=1)
    reader = MotionReader((WIDTH, HEIGHT), FPS)
    posed = list(decode(moving_block, 10, (WIDTH, HEIGHT), ffmpeg, reader))
    motion = reader.result()
    assert motion.grid.shape == (FRAMES - 1, HEIGHT // CELL, WIDTH // CELL)
    # Change k is frame k+1's from frame k, timed midway between them.
    assert np.allclose(motion.times, (np.arange(FRAMES - 1) + 0.5) / FPS)
    change = motion.grid.sum(axis=(1, 2))
    moving = np.zeros(FRAMES - 1, bool)
    moving[MOVES.start - 1:MOVES.stop - 1] = True
    assert change[moving].min() > 20 * max(change[~moving].max(), 1e-3)
    # The posed frames are the same with the motion read beside them as without.
    alone = list(decode(moving_block, 10, (WIDTH, HEIGHT), ffmpeg))
    assert len(posed) == len(alone) == FRAMES // 3
    assert all(np.array_equal(a, b) for a, b in zip(posed, alone, strict=True))


def test_her_motion_is_her_box_s_change_less_the_room_s():
    rows, columns = 20, 12
    grid = np.zeros((3, rows, columns), np.float32)
    grid[0] = 0.5  # a flash: everything changes alike
    grid[1, 5:15, 3:9] = 1.0  # only where she is
    grid[2, 5:15, 3:9] = 1.0
    motion = PixelMotion(times=np.array([0.05, 0.15, 0.25]), grid=grid)
    # Her skeleton spans the middle of the picture; nobody at the last posed frame.
    x = np.array([[0.35, 0.6], [0.35, 0.6], [np.nan, np.nan]])
    y = np.array([[0.3, 0.7], [0.3, 0.7], [np.nan, np.nan]])
    hers = dancer_motion(motion, np.array([0.0, 0.1, 0.3]), x, y)
    assert abs(hers[0]) < 1e-6
    assert hers[1] > 0.5
    assert np.isnan(hers[2])


def test_the_motion_and_the_beats_are_cached_with_the_poses(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    motion = PixelMotion(times=(np.arange(29) + 0.5) / 30,
                         grid=rng.uniform(0, 2, (29, 4, 3)).astype(np.float32))
    poses = DensePoses(times=np.arange(10) / 10, x=rng.uniform(size=(10, 33)),
                       y=rng.uniform(size=(10, 33)), visibility=np.ones((10, 33)),
                       people=np.ones(10, np.int64), width=64, height=96, rate=10.0,
                       motion=motion)
    beats = Beats(tempo_bpm=120.0, times=np.arange(4) * 0.5, onsets=rng.uniform(size=90),
                  chroma=rng.uniform(size=(12, 90)), hop_s=256 / 22050)
    save_poses(tmp_path / "poses.npz", poses, Heard(beats, ""))
    loaded, heard = load_poses(tmp_path / "poses.npz")
    assert loaded.motion is not None
    assert np.array_equal(loaded.motion.times, motion.times)
    assert loaded.motion.grid.dtype == np.float32
    assert np.allclose(loaded.motion.grid, motion.grid, atol=2e-3)
    assert heard.beats.tempo_bpm == 120.0 and np.array_equal(heard.beats.chroma, beats.chroma)
    save_poses(tmp_path / "still.npz", replace(poses, motion=None), Heard(None, "no sound"))
    still, silent = load_poses(tmp_path / "still.npz")
    assert still.motion is None and silent == Heard(None, "no sound")
    save_poses(tmp_path / "unheard.npz", poses)
    assert load_poses(tmp_path / "unheard.npz")[1] is None  # its sound was never read
    monkeypatch.setattr(store, "MOTION_VERSION", MOTION_VERSION + 1)
    monkeypatch.setattr(store, "BEATS_VERSION", store.BEATS_VERSION + 1)
    again, unheard = load_poses(tmp_path / "poses.npz")
    assert again.motion is None and unheard is None  # read again by a newer motion.py, beats.py
