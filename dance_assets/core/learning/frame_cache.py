"""Decode once: the kept frames as one uint8 array in cache/, shared by every model.

Six training steps (three architectures, two protocols) and their evaluations read
the same frames. Decoding, cropping and resizing them is done once per (frames and
their poses, image size, input mode) into cache/<mode>-<size>-<key>.npy, written
under a temporary name and renamed into place, and read memory-mapped. The key hashes
every frame's id, file and what the mode uses of its pose (the box, and for the
silhouette the landmarks), so a changed manifest or pose gives a new file; older
files of the same mode and size are swept when a new one is written. The folder is
derived data: deleting it only costs one decode.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dance_assets.core.lake import tables
from dance_assets.core.lake.lake import Lake, atomic_path, sweep_stale_temps
from dance_assets.core.learning.frame_images import Dancer, prepare_files

BOX_COLUMNS = ("box_x0", "box_y0", "box_x1", "box_y1")
_CHUNK = 512  # frames decoded per step: bounds the memory beside the array


@dataclass(frozen=True)
class CachedFrames:
    """Frames (N × S × S × 3 uint8, memory-mapped) and the frame id of each row."""

    images: np.ndarray
    frame_ids: list[str]
    path: Path

    def rows(self, frame_ids: list[str]) -> np.ndarray:
        """Positions of `frame_ids` in the array."""
        position = {frame_id: i for i, frame_id in enumerate(self.frame_ids)}
        return np.array([position[frame_id] for frame_id in frame_ids], dtype=np.int64)


_POSE_COLUMNS = (*BOX_COLUMNS, "x", "y")


def frames_with_dancers(frames: pd.DataFrame, poses: pd.DataFrame) -> pd.DataFrame:
    """frame_id, path, the dancer's box and landmarks (null without a pose), by frame id."""
    table = frames[["frame_id", "path"]].drop_duplicates("frame_id")
    if poses.empty:
        table = table.assign(**{column: None for column in _POSE_COLUMNS})
    else:
        table = table.join(poses.set_index("frame_id")[list(_POSE_COLUMNS)], on="frame_id")
    return table.sort_values("frame_id", ignore_index=True)


def _dancers(table: pd.DataFrame) -> list[Dancer | None]:
    """Each row's Dancer, or None where the pose step found nobody."""
    return [None if pd.isna(row.box_x0) else Dancer(
                (row.box_x0, row.box_y0, row.box_x1, row.box_y1),
                tuple(row.x) if row.x is not None else (),
                tuple(row.y) if row.y is not None else ())
            for row in table.itertuples(index=False)]


def cache_key(table: pd.DataFrame, size: int, mode: str) -> str:
    """What the array depends on: frames, their files, what the mode uses of each pose,
    size and mode."""
    columns = ["frame_id", "path"] + ([*BOX_COLUMNS] if mode != "frame" else [])
    text = table[columns].round(6).to_csv(index=False, header=False)
    if mode == "silhouette":
        landmarks = (np.round(np.asarray(value, dtype=float), 5).tobytes()
                     if value is not None else b"" for value in (*table["x"], *table["y"]))
        text += hashlib.sha256(b"|".join(landmarks)).hexdigest()
    return hashlib.sha256(f"{mode};{size};{text}".encode()).hexdigest()[:20]


def cached_frames(lake: Lake, table: pd.DataFrame, size: int, mode: str,
                  report: Callable[[str], None] = print) -> CachedFrames:
    """The array for `table` (from frames_with_dancers), decoded now or reused."""
    folder = lake.cache
    target = folder / f"{mode}-{size}-{cache_key(table, size, mode)}.npy"
    frame_ids = list(table["frame_id"])
    if not target.exists():
        report(f"decoding {len(table)} frames once ({mode}, {size} px) into {target.name}")
        _build(lake, table, size, mode, target)
        _sweep(folder, keep=target)
    images = np.load(target, mmap_mode="r")
    if images.shape[0] != len(frame_ids):  # not ours: a foreign or damaged file
        target.unlink()
        return cached_frames(lake, table, size, mode, report)
    return CachedFrames(images, frame_ids, target)


def _build(lake: Lake, table: pd.DataFrame, size: int, mode: str, target: Path) -> None:
    paths = [lake.absolute(p) for p in table["path"]]
    dancers = _dancers(table)
    with atomic_path(target) as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8,
                                        shape=(len(paths), size, size, 3))
        with ThreadPoolExecutor(1) as ahead:  # decode the next chunk while writing this one
            chunks = range(0, len(paths), _CHUNK)

            def decode(start: int) -> np.ndarray:
                return prepare_files(paths[start:start + _CHUNK], size, mode,
                                     dancers[start:start + _CHUNK])

            pending = ahead.submit(decode, 0) if len(paths) else None
            for start in chunks:
                chunk = pending.result()
                following = start + _CHUNK
                pending = ahead.submit(decode, following) if following < len(paths) else None
                out[start:start + len(chunk)] = chunk
        out.flush()
        del out


def _sweep(folder: Path, keep: Path) -> None:
    """Remove older arrays of the same mode and size, and dead writers' temporaries."""
    sweep_stale_temps(folder)
    prefix = keep.name.rsplit("-", 1)[0] + "-"
    for old in folder.glob(f"{prefix}*.npy"):
        if old != keep:
            old.unlink(missing_ok=True)


def kept_frames_cache(lake: Lake, manifest: pd.DataFrame, size: int, mode: str,
                      report: Callable[[str], None] = print) -> CachedFrames:
    """The manifest's kept frames, decoded: one array for every model and evaluation that
    uses this size and mode, whatever the protocol."""
    kept = manifest[manifest["keep"]]
    return cached_frames(lake, frames_with_dancers(kept, tables.read_table(lake, "poses")),
                         size, mode, report)
