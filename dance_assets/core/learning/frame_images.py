"""What a model sees of a frame: the whole frame, a square around the dancer, or that
square with the room masked out.

Three input modes, chosen per model (TrainConfig.input) and recorded on its card so that
evaluation and `score` prepare frames exactly as training did:
- `frame`: the whole frame squished to size × size (the study's input; what fastai's
  Resize(method="squish") does);
- `dancer`: a square around the dancer's box from the pose step, with a margin, so the
  room around a dancer (which says who, never which dance) mostly drops out of view and
  the dancer fills the input whatever the camera's distance. Parts of the square outside
  the frame are black. A frame without a pose falls back to the whole frame.
- `silhouette`: the dancer's square, with everything farther from her skeleton than
  about half a torso's width painted flat grey, so that no room is left to recognise
  a dancer by, only her body, clothes and pose. A frame without a pose falls back to
  the whole frame, as for `dancer`.

No torch here: the scoring command uses this and must start fast.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from dance_assets.core.ingest.pose import CONNECTIONS, TORSO

INPUT_MODES = ("frame", "dancer", "silhouette")
DANCER_MARGIN = 0.12  # added on every side, as a share of the box's longer side
LIMB_WIDTH = 0.45  # the silhouette's limbs, as a share of the torso's length
BACKGROUND = (128, 128, 128)  # what the silhouette paints the room with

Box = tuple[float, float, float, float]  # x0, y0, x1, y1, normalised to the frame


@dataclass(frozen=True)
class Dancer:
    """What the pose step found of the dancer in a frame: her box and her landmarks
    (MediaPipe's 33, x and y normalised to the frame)."""

    box: Box
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()


def dancer_square(width: int, height: int, box: Box) -> tuple[int, int, int, int]:
    """The pixel square (x0, y0, x1, y1) around a normalised box, with the margin."""
    x0, y0, x1, y1 = box[0] * width, box[1] * height, box[2] * width, box[3] * height
    side = max(x1 - x0, y1 - y0, 8.0) * (1 + 2 * DANCER_MARGIN)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left, top = math.floor(cx - side / 2), math.floor(cy - side / 2)
    side_px = math.ceil(side)
    return left, top, left + side_px, top + side_px


def silhouette_mask(size: tuple[int, int], dancer: Dancer) -> Image.Image:
    """White where the dancer's body is (thick limbs, torso, head), black elsewhere."""
    xs = np.asarray(dancer.x, dtype=float) * size[0]
    ys = np.asarray(dancer.y, dtype=float) * size[1]
    shoulders = np.array([xs[list(TORSO[:2])].mean(), ys[list(TORSO[:2])].mean()])
    hips = np.array([xs[list(TORSO[2:])].mean(), ys[list(TORSO[2:])].mean()])
    width = max(2.0, LIMB_WIDTH * float(np.hypot(*(shoulders - hips))))
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    for a, b in CONNECTIONS:
        draw.line([(xs[a], ys[a]), (xs[b], ys[b])], fill=255, width=round(width))
    for x, y in zip(xs, ys, strict=True):
        draw.ellipse([x - width / 2, y - width / 2, x + width / 2, y + width / 2], fill=255)
    draw.polygon([(xs[i], ys[i]) for i in (TORSO[0], TORSO[1], TORSO[3], TORSO[2])], fill=255)
    draw.ellipse([xs[0] - width, ys[0] - width, xs[0] + width, ys[0] + width], fill=255)
    return mask.filter(ImageFilter.MaxFilter(5))  # a little room to spare around her


def prepare(image: Image.Image, size: int, mode: str, dancer: Dancer | None) -> np.ndarray:
    """One frame as the model's size × size × 3 uint8 input."""
    if mode not in INPUT_MODES:
        raise ValueError(f"input mode must be one of {INPUT_MODES}, got {mode!r}")
    image = image.convert("RGB")
    found = dancer is not None and not any(map(_missing, dancer.box))
    if mode == "silhouette" and found and len(dancer.x) == len(dancer.y) > max(TORSO):
        image = Image.composite(image, Image.new("RGB", image.size, BACKGROUND),
                                silhouette_mask(image.size, dancer))
    if mode != "frame" and found:
        image = image.crop(dancer_square(image.width, image.height, dancer.box))
    return np.asarray(image.resize((size, size), Image.Resampling.BILINEAR))


def _missing(value: float | None) -> bool:
    return value is None or value != value


def prepare_images(images: Sequence[np.ndarray], size: int, mode: str,
                   dancers: Sequence[Dancer | None]) -> np.ndarray:
    """Decoded RGB frames as an N × size × size × 3 uint8 array."""
    prepared = [prepare(Image.fromarray(image), size, mode, dancer)
                for image, dancer in zip(images, dancers, strict=True)]
    return np.stack(prepared) if prepared else np.empty((0, size, size, 3), dtype=np.uint8)


def prepare_files(paths: Sequence[Path], size: int, mode: str,
                  dancers: Sequence[Dancer | None] | None = None,
                  workers: int | None = None) -> np.ndarray:
    """Frame files as an N × size × size × 3 uint8 array, decoded in threads."""
    dancers = list(dancers) if dancers is not None else [None] * len(paths)

    def load(item: tuple[Path, Dancer | None]) -> np.ndarray:
        with Image.open(item[0]) as image:
            return prepare(image, size, mode, item[1])

    with ThreadPoolExecutor(workers or os.cpu_count() or 1) as pool:
        arrays = list(pool.map(load, zip(paths, dancers, strict=True)))
    if not arrays:
        return np.empty((0, size, size, 3), dtype=np.uint8)
    return np.stack(arrays)
