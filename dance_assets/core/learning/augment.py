"""Training-time augmentation of image batches as a few batched tensor ops on their device.

What varies between dancers and not between dances: a mirrored dancer (flip), where the
phone stood (a little zoom, shift, crop and keystone tilt), light (brightness and
contrast) and colour (an outfit's colours say who, never which dance: hue turns all
the way round). Rotation stays within a few degrees: how a body leans and where the
arms point is the signal. The ranges are fastai's `aug_transforms` as training used
them (flip 0.5; warp 0.05, rotation 3 degrees and zoom up to 1.1, each with p 0.75;
a square crop of 85-100 % of the area; brightness and contrast 0.3 in logit space,
p 0.75; hue half a turn either way, p 0.9; saturation 0.5, p 0.75).

Why not fastai's own transforms: they read random draws back to the host (five waits
for the GPU per batch, measured on an H200) and dispatch each op through typed tensors.
Here every random number is drawn on the batch's device with torch's seeded generator,
the geometry is one `grid_sample` and the colour one batched 3x3 matrix, so a batch
is augmented without the host waiting for the GPU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import torch
import torch.nn.functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# RGB to YIQ: luma and two chroma axes; turning the chroma plane turns the hue.
_RGB_TO_YIQ = ((0.299, 0.587, 0.114), (0.596, -0.274, -0.322), (0.211, -0.523, 0.312))


@dataclass(kw_only=True, frozen=True)
class Augmentation:
    flip: float = 0.5
    p_affine: float = 0.75
    max_rotate_deg: float = 3.0
    max_zoom: float = 1.1
    max_warp: float = 0.05
    min_crop_area: float = 0.85
    p_lighting: float = 0.75
    max_lighting: float = 0.3
    p_hue: float = 0.9
    max_hue_turns: float = 0.5
    p_saturation: float = 0.75
    max_saturation: float = 0.5


@cache
def _constants(device: torch.device) -> dict[str, torch.Tensor]:
    """ImageNet's statistics and the YIQ matrices, copied to `device` once: a copy from
    the host inside the batch would make it wait for the GPU."""
    to_yiq = torch.tensor(_RGB_TO_YIQ, dtype=torch.float64)
    return {"mean": torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1).to(device),
            "std": torch.tensor(IMAGENET_STD).view(1, 3, 1, 1).to(device),
            "to_yiq": to_yiq.float().to(device),
            "from_yiq": torch.linalg.inv(to_yiq).float().to(device)}


def _uniform(n: int, low: float, high: float, device: torch.device) -> torch.Tensor:
    return torch.empty(n, device=device).uniform_(low, high)


def _happens(n: int, p: float, device: torch.device) -> torch.Tensor:
    return torch.rand(n, device=device) < p


def sampling_grid(n: int, size: tuple[int, int], aug: Augmentation,
                  device: torch.device) -> torch.Tensor:
    """Where each output pixel reads from (grid_sample's normalised coordinates): a flip,
    a rotation, a zoom and a square crop around a random centre, and a keystone tilt."""
    affine = _happens(n, aug.p_affine, device)
    angle = torch.where(affine, _uniform(n, -1, 1, device), 0.0) * math.radians(
        aug.max_rotate_deg)
    zoom = torch.where(affine, _uniform(n, 1.0, aug.max_zoom, device), 1.0)
    crop = _uniform(n, aug.min_crop_area, 1.0, device).sqrt()  # side of the square crop
    scale = crop / zoom  # share of the frame's half-width the output spans
    mirror = torch.where(_happens(n, aug.flip, device), -1.0, 1.0)
    shift_x = (1 - scale) * _uniform(n, -1, 1, device)
    shift_y = (1 - scale) * _uniform(n, -1, 1, device)
    cos, sin = angle.cos() * scale, angle.sin() * scale
    theta = torch.stack([torch.stack([cos * mirror, -sin, shift_x], 1),
                         torch.stack([sin * mirror, cos, shift_y], 1)], 1)
    grid = F.affine_grid(theta, [n, 3, *size], align_corners=True)
    tilt = torch.where(affine[:, None], _uniform(2 * n, -1, 1, device).view(n, 2), 0.0)
    # Every image's untransformed coordinates are the same: one grid, broadcast.
    base = F.affine_grid(torch.eye(2, 3, device=device)[None], [1, 3, *size],
                         align_corners=True)
    depth = 1 + aug.max_warp * (base * tilt[:, None, None, :]).sum(-1, keepdim=True)
    return grid / depth


def colour_matrices(n: int, aug: Augmentation, device: torch.device) -> torch.Tensor:
    """Per-image 3x3 RGB matrices that turn the hue and scale the saturation."""
    turn = torch.where(_happens(n, aug.p_hue, device),
                       _uniform(n, -aug.max_hue_turns, aug.max_hue_turns, device), 0.0)
    bound = -math.log(1 - aug.max_saturation)
    saturation = torch.where(_happens(n, aug.p_saturation, device),
                             _uniform(n, -bound, bound, device).exp(), 1.0)
    cos, sin = (2 * math.pi * turn).cos() * saturation, (2 * math.pi * turn).sin() * saturation
    chroma = torch.zeros(n, 3, 3, device=device)
    chroma[:, 0, 0] = 1
    chroma[:, 1, 1], chroma[:, 1, 2], chroma[:, 2, 1], chroma[:, 2, 2] = cos, -sin, sin, cos
    constants = _constants(device)
    return constants["from_yiq"] @ chroma @ constants["to_yiq"]


def _lighting(x: torch.Tensor, aug: Augmentation) -> torch.Tensor:
    """fastai's Brightness and Contrast: a shift and a scale of the pixels' logits."""
    n, device = x.shape[0], x.device
    brightness = torch.where(_happens(n, aug.p_lighting, device), _uniform(
        n, 0.5 * (1 - aug.max_lighting), 0.5 * (1 + aug.max_lighting), device), 0.5)
    bound = -math.log(1 - aug.max_lighting)
    contrast = torch.where(_happens(n, aug.p_lighting, device),
                           _uniform(n, -bound, bound, device).exp(), 1.0)
    logits = torch.logit(x, eps=1e-7) + torch.logit(brightness)[:, None, None, None]
    return torch.sigmoid(logits * contrast[:, None, None, None])


def augment(x: torch.Tensor, aug: Augmentation = Augmentation()) -> torch.Tensor:
    """A float batch (N, 3, H, W) in [0, 1], each image varied on its own."""
    n, _, height, width = x.shape
    grid = sampling_grid(n, (height, width), aug, x.device)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=True)
    x = torch.einsum("nij,njhw->nihw", colour_matrices(n, aug, x.device), x).clamp(0, 1)
    return _lighting(x, aug)


def image_batch(images: torch.Tensor, augmented: bool, channels_last: bool) -> torch.Tensor:
    """uint8 (N, 3, H, W) to the network's input: scaled to [0, 1], augmented if asked,
    normalised with ImageNet's statistics, in the memory layout the fast path uses."""
    x = images.float().div_(255)
    if augmented:
        x = augment(x)
    constants = _constants(x.device)
    x = (x - constants["mean"]) / constants["std"]
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x
