"""Skeletons drawn for people: over their frames, and as normalised stick figures.

Drawn with PIL only: the scoring command draws its timeline and cannot afford to
import a plotting library.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from dance_assets.core.ingest.pose import CONNECTIONS
from dance_assets.core.ingest.pose_features import BONES
from dance_assets.core.lake.lake import Lake
from dance_assets.core.lake.reports import UI_IMAGE_WIDTH, contact_sheet, thumbnail

_BONE = (255, 255, 0)
_JOINT = (255, 40, 40)
_BOX = (0, 230, 255)


def draw_pose(image: Image.Image, pose: dict | None) -> Image.Image:
    """Draw one `poses` row (landmarks normalised to the frame) over a copy of `image`.

    A frame where nobody was found gets a red corner mark, so a sheet shows misses too.
    """
    image = image.copy()
    draw = ImageDraw.Draw(image)
    width, height = image.size
    if pose is None or not pose["person_found"]:
        draw.rectangle([0, 0, max(3, width // 12), max(3, width // 12)], fill=(220, 0, 0))
        return image
    points = [(x * width, y * height) for x, y in zip(pose["x"], pose["y"], strict=True)]
    line = max(1, round(height / 90))
    for a, b in CONNECTIONS:
        draw.line([points[a], points[b]], fill=_BONE, width=line)
    radius = line
    for x, y in points[11:]:  # the face's eleven points would blot out a small head
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=_JOINT)
    box = (pose["box_x0"] * width, pose["box_y0"] * height, pose["box_x1"] * width,
           pose["box_y1"] * height)
    draw.rectangle(box, outline=_BOX, width=1)
    return image


def skeleton_sheet(lake: Lake, frames: pd.DataFrame, poses: pd.DataFrame,
                   labels: Sequence[str], thumb_height: int = 120) -> Image.Image:
    """A contact sheet of `frames` (rows with frame_id and path) with their poses drawn."""
    by_frame = poses.set_index("frame_id") if not poses.empty else poses
    images = []
    for frame_id, path in zip(frames["frame_id"], frames["path"], strict=True):
        pose = by_frame.loc[frame_id].to_dict() if frame_id in by_frame.index else None
        images.append(draw_pose(thumbnail(lake.absolute(path), thumb_height), pose))
    return contact_sheet(images, list(labels), columns=8, thumb_height=thumb_height)


_REFERENCE = (200, 40, 40)


def stick_figure(draw: ImageDraw.ImageDraw, skeleton: np.ndarray, centre: tuple[float, float],
                  scale: float, colour: tuple[int, int, int]) -> None:
    """A normalised skeleton (13 × 2, torso lengths from the hips) around `centre`."""
    points = [(centre[0] + x * scale, centre[1] + y * scale) for x, y in skeleton]
    for a, b in BONES:
        draw.line([points[a], points[b]], fill=colour, width=3)
    head = points[0]
    draw.ellipse([head[0] - 5, head[1] - 5, head[0] + 5, head[1] + 5], outline=colour, width=2)


def figures_panel(figures: Sequence[tuple[str, Sequence[tuple[np.ndarray, tuple[int, int, int]]]]],
                  cell: tuple[int, int] = (130, 170)) -> Image.Image:
    """A row of cells, each a label over one or more normalised skeletons side by side."""
    width, height = cell
    label_height = 14
    image = Image.new("RGB", (max(1, len(figures)) * width, height), "white")
    draw = ImageDraw.Draw(image)
    # A body spans about 1.6 torso lengths above the hips to 2.1 below: fit that in.
    scale = (height - label_height) / 4.2
    for column, (label, skeletons) in enumerate(figures):
        slot = width / max(1, len(skeletons))
        for i, (skeleton, colour) in enumerate(skeletons):
            stick_figure(draw, skeleton, (column * width + slot * (i + 0.5),
                                           label_height + 1.8 * scale), min(scale, slot / 3.2),
                          colour)
        draw.text((column * width + 4, 1), label[: width // 6], fill=(0, 0, 0))
    return image


_REFERENCE_CELL = (80, 110)


def references_sheet(references: dict[str, np.ndarray]) -> Image.Image:
    """One row per dance: its reference's first steps as stick figures, as many as the
    UI draws at full size."""
    max_steps = UI_IMAGE_WIDTH // _REFERENCE_CELL[0]
    rows = [figures_panel([(f"{dance}: {step}" if step == 0 else str(step),
                            [(skeletons[step], _REFERENCE)])
                           for step in range(min(max_steps, len(skeletons)))],
                          cell=_REFERENCE_CELL)
            for dance, skeletons in references.items()]
    sheet = Image.new("RGB", (max(r.width for r in rows), sum(r.height for r in rows)), "white")
    top = 0
    for row in rows:
        sheet.paste(row, (0, top))
        top += row.height
    return sheet
