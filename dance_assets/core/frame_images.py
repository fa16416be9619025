"""What a model sees of a frame: the whole frame, or a square around the dancer.

Two input modes, chosen per model (TrainConfig.input) and recorded on its card so that
evaluation and `score` prepare frames exactly as training did:
- `frame`: the whole frame squished to size × size (the study's input; what fastai's
  Resize(method="squish") does);
- `dancer`: a square around the dancer's box from the pose step, with a margin, so the
  room around a dancer (which says who, never which dance) mostly drops out of view and
  the dancer fills the input whatever the camera's distance. Parts of the square outside
  the frame are black. A frame without a pose falls back to the whole frame.

No torch here: the scoring command uses this and must start fast.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

INPUT_MODES = ("frame", "dancer")
DANCER_MARGIN = 0.12  # added on every side, as a share of the box's longer side

Box = tuple[float, float, float, float]  # x0, y0, x1, y1, normalised to the frame


def dancer_square(width: int, height: int, box: Box) -> tuple[int, int, int, int]:
    """The pixel square (x0, y0, x1, y1) around a normalised box, with the margin."""
    x0, y0, x1, y1 = box[0] * width, box[1] * height, box[2] * width, box[3] * height
    side = max(x1 - x0, y1 - y0, 8.0) * (1 + 2 * DANCER_MARGIN)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left, top = math.floor(cx - side / 2), math.floor(cy - side / 2)
    side_px = math.ceil(side)
    return left, top, left + side_px, top + side_px


def prepare(image: Image.Image, size: int, mode: str, box: Box | None) -> np.ndarray:
    """One frame as the model's size × size × 3 uint8 input."""
    if mode not in INPUT_MODES:
        raise ValueError(f"input mode must be one of {INPUT_MODES}, got {mode!r}")
    image = image.convert("RGB")
    if mode == "dancer" and box is not None and not any(map(_missing, box)):
        image = image.crop(dancer_square(image.width, image.height, box))
    return np.asarray(image.resize((size, size), Image.Resampling.BILINEAR))


def _missing(value: float | None) -> bool:
    return value is None or value != value


def prepare_images(images: Sequence[np.ndarray], size: int, mode: str,
                   boxes: Sequence[Box | None]) -> np.ndarray:
    """Decoded RGB frames as an N × size × size × 3 uint8 array."""
    prepared = [prepare(Image.fromarray(image), size, mode, box)
                for image, box in zip(images, boxes, strict=True)]
    return np.stack(prepared) if prepared else np.empty((0, size, size, 3), dtype=np.uint8)


def prepare_files(paths: Sequence[Path], size: int, mode: str,
                  boxes: Sequence[Box | None] | None = None,
                  workers: int | None = None) -> np.ndarray:
    """Frame files as an N × size × size × 3 uint8 array, decoded in threads."""
    boxes = list(boxes) if boxes is not None else [None] * len(paths)

    def load(item: tuple[Path, Box | None]) -> np.ndarray:
        with Image.open(item[0]) as image:
            return prepare(image, size, mode, item[1])

    with ThreadPoolExecutor(workers or os.cpu_count() or 1) as pool:
        arrays = list(pool.map(load, zip(paths, boxes, strict=True)))
    if not arrays:
        return np.empty((0, size, size, 3), dtype=np.uint8)
    return np.stack(arrays)
