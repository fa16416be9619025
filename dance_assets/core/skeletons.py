"""Frames with their skeleton and the dancer's box drawn over them, for a person to check."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from PIL import Image, ImageDraw

from dance_assets.core.lake import Lake
from dance_assets.core.pose import CONNECTIONS
from dance_assets.core.reports import contact_sheet, thumbnail

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
