"""Drawing a video's pictures: a participant's room, a filled cartoon person
in a pose, and the app-style filters (clone, disco) the study's videos carried.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageChops, ImageDraw

from dance_assets.core.synthetic.dancers import Participant


def render_room(width: int, height: int, room: int, floor: float) -> Image.Image:
    """A participant's room: wall and floor, a window or poster, a plant, a lamp."""
    rng = np.random.default_rng(room)
    wall_top = rng.integers(90, 240, 3)
    wall_bottom = np.clip(wall_top - rng.integers(10, 60, 3), 0, 255)
    floor_colour = rng.integers(40, 170, 3)
    rows = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    canvas = (wall_top * (1 - rows) + wall_bottom * rows).repeat(width, axis=1)
    floor_y = int(height * (floor - 0.06))
    canvas[floor_y:] = floor_colour
    image = Image.fromarray(canvas.clip(0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    draw.line([(0, floor_y), (width, floor_y)], fill=tuple(int(v) for v in floor_colour // 2),
              width=max(1, height // 200))
    # A window or poster on the wall.
    px, py = rng.uniform(0.05, 0.6) * width, rng.uniform(0.08, 0.3) * height
    pw, ph = rng.uniform(0.2, 0.35) * width, rng.uniform(0.12, 0.22) * height
    frame_colour = tuple(int(v) for v in rng.integers(0, 255, 3))
    fill_colour = tuple(int(v) for v in rng.integers(60, 255, 3))
    draw.rectangle([px, py, px + pw, py + ph], fill=frame_colour)
    inset = max(2, int(0.04 * width))
    draw.rectangle([px + inset, py + inset, px + pw - inset, py + ph - inset], fill=fill_colour)
    # A plant in a pot near the floor.
    cx = rng.uniform(0.08, 0.92) * width
    pot = max(4, int(0.05 * width))
    draw.polygon([(cx - pot, floor_y), (cx + pot, floor_y), (cx + pot * 0.7, floor_y - pot * 1.6),
                  (cx - pot * 0.7, floor_y - pot * 1.6)],
                 fill=tuple(int(v) for v in rng.integers(90, 200, 3)))
    green = (int(rng.integers(20, 80)), int(rng.integers(110, 190)), int(rng.integers(20, 90)))
    for _ in range(5):
        lx = cx + rng.uniform(-1.6, 1.6) * pot
        ly = floor_y - pot * rng.uniform(2.0, 4.0)
        r = pot * rng.uniform(0.6, 1.1)
        draw.ellipse([lx - r, ly - r, lx + r, ly + r], fill=green)
    # A floor lamp.
    lx = rng.uniform(0.05, 0.95) * width
    draw.line([(lx, floor_y), (lx, floor_y - 0.35 * height)], fill=(40, 40, 40),
              width=max(1, width // 120))
    shade = 0.05 * width
    draw.polygon([(lx - shade, floor_y - 0.35 * height), (lx + shade, floor_y - 0.35 * height),
                  (lx + shade * 0.6, floor_y - 0.41 * height),
                  (lx - shade * 0.6, floor_y - 0.41 * height)], fill=(250, 235, 190))
    return image


def _limb(draw: ImageDraw.ImageDraw, a: tuple[float, float], b: tuple[float, float],
          width: float, colour: tuple[int, int, int]) -> None:
    """A filled capsule from a to b: a thick segment with round ends."""
    draw.line([a, b], fill=colour, width=max(1, round(width)))
    r = width / 2
    for x, y in (a, b):
        draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)


def _direction(angle: float) -> np.ndarray:
    """A unit vector on screen: angle 0 points up, growing clockwise."""
    return np.array([math.sin(angle), -math.cos(angle)])


@dataclass(kw_only=True, frozen=True)
class _Figure:
    """Where a dancer's body is on screen for one pose: its frame of reference."""

    dancer: Participant
    unit: float  # one body height in pixels
    feet_y: float
    hip: np.ndarray
    lean: float
    head_tilt: float

    @property
    def up(self) -> np.ndarray:
        return _direction(self.lean)

    @property
    def across(self) -> np.ndarray:  # points to screen right
        return np.array([-self.up[1], self.up[0]])

    @property
    def neck(self) -> np.ndarray:
        return self.hip + self.up * 0.30 * self.unit

    @property
    def limb(self) -> float:
        return self.dancer.limb * self.unit

    def shoulder(self, outward: int) -> np.ndarray:
        return self.neck + outward * self.across * self.dancer.shoulder * self.unit

    def hip_joint(self, outward: int) -> np.ndarray:
        return self.hip + outward * self.across * self.dancer.hips * self.unit

    def segment(self, start: np.ndarray, outward: int, angle: float, length: float,
                tilt: float) -> np.ndarray:
        """The far end of a limb: angle 0 points down and grows outward (screen left for
        -1, right for +1); tilt turns the limb with the torso (clockwise when positive)."""
        turned = angle - outward * tilt
        return start + np.array([outward * math.sin(turned),
                                 math.cos(turned)]) * length * self.unit


def draw_dancer(image: Image.Image, dancer: Participant, angles: np.ndarray, crouch: float,
                travel: float) -> None:
    """Draw a filled cartoon person in the pose given by `angles`: legs first, so the
    torso covers the hip joints, then torso and head, arms last so they can cross in
    front of the body."""
    width, height = image.size
    unit = dancer.height * height
    lean, head_tilt, sh_l, el_l, sh_r, el_r, hip_l, kn_l, hip_r, kn_r = angles
    side = -1.0 if dancer.mirrored else 1.0
    if dancer.mirrored:  # the same dance, performed as in a mirror
        sh_l, el_l, sh_r, el_r = sh_r, el_r, sh_l, el_l
        hip_l, kn_l, hip_r, kn_r = hip_r, kn_r, hip_l, kn_l
    feet_y = dancer.floor * height
    hip = np.array([dancer.x * width + travel * side * width, feet_y - (0.47 - crouch) * unit])
    figure = _Figure(dancer=dancer, unit=unit, feet_y=feet_y, hip=hip, lean=lean * side,
                     head_tilt=head_tilt * side)
    draw = ImageDraw.Draw(image)
    _draw_legs(image, draw, figure, crouch, ((-1, hip_l, kn_l), (1, hip_r, kn_r)))
    _draw_torso_and_head(draw, figure)
    _draw_arms(draw, figure, ((-1, sh_l, el_l), (1, sh_r, el_r)))


def _draw_legs(image: Image.Image, draw: ImageDraw.ImageDraw, figure: _Figure, crouch: float,
               legs: tuple[tuple[int, float, float], ...]) -> None:
    """A shadow on the floor, then thighs, shins and shoes."""
    width, height = image.size
    dancer, unit, hip, feet_y = figure.dancer, figure.unit, figure.hip, figure.feet_y
    shadow = (hip[0] - 0.16 * unit, feet_y - 0.015 * unit, hip[0] + 0.16 * unit,
              feet_y + 0.02 * unit)
    base = image.getpixel((min(width - 1, max(0, int(hip[0]))), min(height - 1, int(feet_y))))
    draw.ellipse(shadow, fill=tuple(int(c * 0.7) for c in base))
    # Crouching bends both knees outward just enough to keep the feet on the floor.
    splay = math.acos(max(-1.0, min(1.0, 1 - crouch / 0.45)))
    for outward, thigh, knee in legs:
        start = figure.hip_joint(outward)
        knee_point = figure.segment(start, outward, thigh + splay, 0.23, 0.0)
        ankle = figure.segment(knee_point, outward, thigh - splay - knee * 0.8, 0.22, 0.0)
        _limb(draw, tuple(start), tuple(knee_point), figure.limb * 1.25, dancer.pants)
        _limb(draw, tuple(knee_point), tuple(ankle), figure.limb * 1.1, dancer.pants)
        foot = ankle + np.array([outward * 0.05 * unit, 0.01 * unit])
        _limb(draw, tuple(ankle), tuple(foot), figure.limb * 0.9, dancer.shoes)


def _draw_torso_and_head(draw: ImageDraw.ImageDraw, figure: _Figure) -> None:
    """A shirt from shoulders to hips, rounded at the shoulders; a belt; neck, hair, face."""
    dancer, unit, across, limb = figure.dancer, figure.unit, figure.across, figure.limb
    torso = [tuple(figure.shoulder(-1)), tuple(figure.shoulder(1)),
             tuple(figure.hip_joint(1) + across * 0.01 * unit),
             tuple(figure.hip_joint(-1) - across * 0.01 * unit)]
    draw.polygon(torso, fill=dancer.shirt)
    for point in (figure.shoulder(-1), figure.shoulder(1)):
        r = limb * 0.75
        draw.ellipse([point[0] - r, point[1] - r, point[0] + r, point[1] + r], fill=dancer.shirt)
    belt = [tuple(figure.hip_joint(-1) - across * 0.012 * unit),
            tuple(figure.hip_joint(1) + across * 0.012 * unit)]
    draw.line(belt, fill=dancer.pants, width=max(1, int(limb * 0.5)))
    neck, facing = figure.neck, figure.lean + figure.head_tilt
    head_centre = neck + _direction(facing) * (0.03 + dancer.head) * unit
    _limb(draw, tuple(neck), tuple(neck + figure.up * 0.04 * unit), limb * 0.8, dancer.skin)
    r = dancer.head * unit
    hair_x, hair_y = head_centre + _direction(facing) * 0.2 * r
    draw.ellipse([hair_x - r * 1.05, hair_y - r * 1.08, hair_x + r * 1.05, hair_y + r * 0.7],
                 fill=dancer.hair)
    draw.ellipse([head_centre[0] - r * 0.85, head_centre[1] - r * 0.8, head_centre[0] + r * 0.85,
                  head_centre[1] + r * 1.0], fill=dancer.skin)
    eye_y = head_centre[1] + r * 0.1
    for dx in (-0.35, 0.35):
        er = max(1.0, r * 0.1)
        ex = head_centre[0] + dx * r + math.sin(facing) * r * 0.2
        draw.ellipse([ex - er, eye_y - er, ex + er, eye_y + er], fill=(30, 30, 30))


def _draw_arms(draw: ImageDraw.ImageDraw, figure: _Figure,
               arms: tuple[tuple[int, float, float], ...]) -> None:
    """Sleeve, forearm and hand of each arm, turned with the torso's lean."""
    dancer, limb = figure.dancer, figure.limb
    for outward, shoulder_angle, elbow in arms:
        start = figure.shoulder(outward)
        elbow_point = figure.segment(start, outward, shoulder_angle, 0.15, figure.lean)
        wrist = figure.segment(elbow_point, outward, shoulder_angle + elbow, 0.14, figure.lean)
        _limb(draw, tuple(start), tuple(elbow_point), limb * 1.05, dancer.shirt)
        _limb(draw, tuple(elbow_point), tuple(wrist), limb * 0.85, dancer.skin)
        hand = limb * 0.65
        draw.ellipse([wrist[0] - hand, wrist[1] - hand, wrist[0] + hand, wrist[1] + hand],
                     fill=dancer.skin)


_DISCO = ((255, 60, 200), (60, 200, 255), (255, 230, 60), (90, 255, 110), (255, 120, 40),
          (150, 90, 255))


def apply_filter(image: Image.Image, kind: str, beat: float) -> Image.Image:
    """The app-style effects the study's videos carried."""
    if kind == "clone":
        small = image.reduce(2)
        tiled = Image.new("RGB", image.size)
        for x in (0, small.width):
            for y in (0, small.height):
                tiled.paste(small, (x, y))
        return tiled
    if kind == "disco":
        colour = np.array(_DISCO[math.floor(beat) % len(_DISCO)], dtype=np.float32)
        pulse = 0.75 + 0.25 * math.cos(2 * math.pi * beat)
        tint = tuple(int(v) for v in (110 + 145 * colour / 255 * pulse).clip(0, 255))
        return ImageChops.multiply(image, Image.new("RGB", image.size, tint))
    return image
