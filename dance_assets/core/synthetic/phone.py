"""What real phone clips have that a tripod in an empty room does not: a
handheld camera that drifts, shakes and zooms; a dancer who fills the frame; two or
three people dancing the same dance; a title or outro card; a person standing still
before the dance starts; motion blur; and a phone's low bitrate. Each trait is drawn
per video (see PhoneShares), from a stream of its own, and recorded in the sidecar.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import numpy as np
from PIL import Image, ImageDraw

from dance_assets.core.synthetic.dancers import dancing_friends
from dance_assets.core.synthetic.dances import smooth_noise, stable_seed
from dance_assets.core.synthetic.specs import VideoSpec


@dataclass(kw_only=True, frozen=True)
class PhoneShares:
    """Which share of videos gets each of real phone footage's traits (independently)."""

    handheld: float = 0.3
    fills_frame: float = 0.15  # body height at least FILLS_FRAME of the frame
    group: float = 0.15
    card: float = 0.15
    still_start: float = 0.15
    motion_blur: float = 0.2
    phone_bitrate: float = 0.3


FILLS_FRAME = 0.8


# A lake where every video is hard for pixel rules: the camera always moves, and many
# dancers fill the frame or dance with others (`generate --phone-hard`).
PHONE_HARD = PhoneShares(handheld=1.0, fills_frame=0.4, group=0.4)


def filmed_on_a_phone(spec: VideoSpec, shares: PhoneShares,
                      rng: np.random.Generator) -> VideoSpec:
    """The spec with phone footage's traits drawn from `rng`, a stream of their own, so
    the study-shaped variations above stay as they were for every seed."""
    draws = {name: bool(rng.random() < share) for name, share in asdict(shares).items()}
    dancer, others = spec.participant, ()
    if draws["fills_frame"]:  # filmed close: head near the top, feet near the bottom
        dancer = replace(dancer, height=float(rng.uniform(FILLS_FRAME, 0.9)),
                         floor=float(rng.uniform(0.95, 0.99)), x=0.5)
    if draws["group"]:
        others = dancing_friends(rng, dancer, count=int(rng.integers(1, 3)))
    whole = math.floor(spec.seconds)
    taken = set(spec.empty_seconds) | set(spec.noise_seconds)
    start_free, end_free = 0 not in taken, whole - 1 not in taken
    cards: tuple[int, ...] = ()
    if draws["card"] and whole >= 4 and (start_free or end_free):
        at_start = start_free and (not end_free or rng.random() < 0.5)
        cards = (0,) if at_start else (whole - 1,)
        taken |= set(cards)
    still: tuple[int, ...] = ()
    if draws["still_start"] and whole >= 4:
        first = next(s for s in range(whole) if s not in taken)  # after a title card
        if first <= 1:
            still = tuple(range(first, first + int(rng.integers(1, 3))))
    return replace(
        spec, participant=dancer, handheld=draws["handheld"], others=others,
        card_seconds=cards, still_seconds=still, motion_blur=draws["motion_blur"],
        bitrate_kbps=_phone_bitrate(spec.width, spec.height) if draws["phone_bitrate"] else None)


def _phone_bitrate(width: int, height: int) -> int:
    """What a sharing app leaves per pixel (about 1.5 Mbit/s at 1080x1920), in kbit/s."""
    return max(60, round(1500 * width * height / (1080 * 1920)))


def handheld_camera(spec: VideoSpec) -> Callable[[Image.Image, float], Image.Image]:
    """A phone in someone's hand: slow drift and roll, a little shake, a slow zoom.

    The view is always zoomed in at least as far as the drift reaches, so no border
    of nothing ever shows (a phone films a full frame however it moves).
    """
    rng = np.random.default_rng(stable_seed("camera", spec.noise_seed))
    drift, shake = smooth_noise(rng, 3), smooth_noise(rng, 3)
    fast = float(rng.uniform(4.0, 7.0))  # shake frequency relative to the drift's
    zoom_from, zoom_to = sorted(rng.uniform(1.14, 1.28, 2))
    if rng.random() < 0.5:
        zoom_from, zoom_to = zoom_to, zoom_from
    cx, cy = spec.width / 2, spec.height / 2

    def film(frame: Image.Image, t: float) -> Image.Image:
        dx, dy, roll = 0.02 * drift(t) + 0.005 * shake(t * fast)
        zoom = zoom_from + (zoom_to - zoom_from) * min(1.0, t / max(spec.seconds, 1e-6))
        angle = 0.02 * roll  # radians: under 2 degrees
        cos, sin = math.cos(angle) / zoom, math.sin(angle) / zoom
        # Output pixel (x, y) shows the scene at centre + rotation/zoom of (x, y) - centre.
        ox, oy = cx + dx * spec.width, cy + dy * spec.height
        return frame.transform(frame.size, Image.Transform.AFFINE,
                               (cos, -sin, ox - cos * cx + sin * cy,
                                sin, cos, oy - sin * cx - cos * cy),
                               resample=Image.Resampling.BILINEAR)

    return film


def title_card(spec: VideoSpec) -> Image.Image:
    """A title or outro card: a flat colour, a user name and a line of text."""
    rng = np.random.default_rng(stable_seed("card", spec.noise_seed))
    background = tuple(int(v) for v in rng.integers(20, 235, 3))
    ink = tuple(255 - v for v in background)
    card = Image.new("RGB", (spec.width, spec.height), background)
    draw = ImageDraw.Draw(card)
    draw.text((spec.width * 0.2, spec.height * 0.42), f"@{spec.participant.name}_dances",
              fill=ink)
    draw.text((spec.width * 0.2, spec.height * 0.5), f"#{spec.dance} challenge", fill=ink)
    return card
