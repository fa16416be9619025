"""Synthetic dance videos with the study's structure, for demos and tests.

There is no public copy of the study's videos. This generator keeps what matters
for the pipeline: each participant keeps one body, clothing and room across all
dances (so the background says who, never which dance); each dance is a fixed
routine of key poses moving on the beat, performed with the participant's own
tempo, size, position, mirroring and sloppiness; some videos get a "clone" (tiled)
or "disco" (flashing coloured light) filter; some start or end with a second or two
of empty room or of static noise. A JSON sidecar next to each video records those
bad seconds as ground truth for measuring the cleaning step.

Phone footage is not filmed from a tripod in an empty room, so some videos also get
what real clips have (see PhoneShares): a handheld camera that drifts, shakes and
zooms; a dancer who fills the frame; two or three people dancing the same dance; a
title or outro card; a person standing still before the dance starts; motion blur;
and a phone's low bitrate. The sidecar records each.

Key poses depend only on the dance's name (a dance is the same dance whatever
the seed); participants, filters and bad seconds depend on the seed.

For scoring a dancer against her teacher, each dance also has a teacher (a clean
performance on the dance's own tempo, from a tripod) and students of that teacher whose
timing is known: late or early, faster or slower, maybe mirrored, and for a few seconds
dancing another dance's moves (see Lesson). Their sidecars record that timing.

Every video can carry music (see Soundtrack): the dance's song (see soundtrack.py)
played at the dancer's own tempo, the dancer's clock, with her key poses a known
fraction of a second late or early on its beats. Some lake videos and students have no
sound, another dance's song or noise over the music, as phone clips do; the sidecar
records the beat times, her lateness and the noise.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw

from dance_assets.core.ingest.ingest import SIDECAR_SUFFIX
from dance_assets.core.lake.lake import atomic_path
from dance_assets.core.synthetic.soundtrack import (
    SAMPLE_RATE,
    Song,
    add_noise,
    compose_song,
    render_music,
)

# Stand-ins for the study's twelve TikTok dances (its paper does not list them in
# any copy we could reach); folder-friendly names, used as the class labels.
DANCE_CLASSES: tuple[str, ...] = (
    "renegade",
    "savage",
    "say_so",
    "blinding_lights",
    "toosie_slide",
    "supalonely",
    "laxed_siren_beat",
    "wap",
    "buss_it",
    "kiss_me_more",
    "mood",
    "corvette_corvette",
)

FPS = 30
JOINTS = ("lean", "head", "sh_l", "el_l", "sh_r", "el_r", "hip_l", "kn_l", "hip_r", "kn_r")


def _stable_seed(*parts: object) -> int:
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little")


@dataclass(frozen=True)
class KeyPoses:
    """A dance: key poses (joint angles, crouch, sideways travel) held for whole beats."""

    poses: tuple[tuple[float, ...], ...]
    crouch: tuple[float, ...]
    travel: tuple[float, ...]
    beats_per_pose: int
    bounce: float
    tempo_bpm: float  # the music's tempo, which its teacher dances on


@cache
def key_poses(dance: str) -> KeyPoses:
    """The fixed key poses of a dance, derived from its name alone.

    A dance has a signature (where the arms mostly are, how the body leans, whether a
    leg comes up) and its key poses vary around it, so two dances can share moves but
    each has its own look, as real dances do. Its tempo comes from a stream of
    its own, so adding it left every other draw (and every video's bytes) as it was.
    Cached: rendering asks for it every frame once a video has a splice.
    """
    rng = np.random.default_rng(_stable_seed("dance", dance))
    signature = np.array([
        rng.uniform(-0.25, 0.25),  # torso lean
        rng.uniform(-0.3, 0.3),  # head tilt
        rng.uniform(0.2, 3.0),  # left shoulder: 0 down, pi/2 sideways, pi up
        rng.uniform(-1.5, 1.5),  # left elbow bend
        rng.uniform(0.2, 3.0),
        rng.uniform(-1.5, 1.5),
        rng.uniform(0.0, 0.5),  # hips
        rng.uniform(0.0, 0.5),  # knees
        rng.uniform(0.0, 0.5),
        rng.uniform(0.0, 0.5),
    ])
    spread = np.array([0.1, 0.15, 0.7, 0.7, 0.7, 0.7, 0.2, 0.25, 0.2, 0.25])
    lifts_leg = rng.random() < 0.35
    n_poses = int(rng.integers(4, 7))
    poses = []
    for _ in range(n_poses):
        pose = signature + rng.uniform(-1, 1, len(signature)) * spread
        if lifts_leg and rng.random() < 0.5:
            side = 6 if rng.random() < 0.5 else 8
            pose[side], pose[side + 1] = rng.uniform(0.7, 1.3), rng.uniform(0.4, 1.2)
        poses.append(tuple(float(v) for v in np.clip(pose, -3.1, 3.1)))
    return KeyPoses(
        poses=tuple(poses),
        crouch=tuple(rng.uniform(0.0, 0.12, n_poses)),
        travel=tuple(rng.uniform(-0.18, 0.18, n_poses)),
        beats_per_pose=int(rng.integers(1, 3)),
        bounce=float(rng.uniform(0.0, 0.05)),
        tempo_bpm=_dance_tempo(dance),
    )


def _dance_tempo(dance: str) -> float:
    """The music's tempo, from its own stream: the key poses' draws stay as they were."""
    return float(np.random.default_rng(_stable_seed("dance-tempo", dance)).uniform(92, 128))


@cache
def song(dance: str) -> Song:
    """The dance's song (its melody, key and drums), from its name alone and a stream of
    its own, so a dance sounds the same whatever the seed and no other draw moved."""
    return compose_song(np.random.default_rng(_stable_seed("song", dance)))


@dataclass(frozen=True)
class Participant:
    """One dancer: body, clothes, room and personal style, the same in every dance."""

    name: str
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    shirt: tuple[int, int, int]
    pants: tuple[int, int, int]
    shoes: tuple[int, int, int]
    height: float  # share of the frame height, feet to top of head
    shoulder: float  # half shoulder width, in body heights
    hips: float
    limb: float  # limb thickness, in body heights
    head: float  # head radius, in body heights
    x: float  # horizontal centre, share of frame width
    floor: float  # feet line, share of frame height
    tempo_bpm: float
    mirrored: bool
    sloppiness: float  # radians of smooth wobble on every joint
    phase: float  # where in the dance the recording starts, in beats
    room: int  # seed of the room's layout and colours


_SKINS = ((255, 219, 172), (241, 194, 125), (224, 172, 105), (198, 134, 66), (141, 85, 36),
          (92, 58, 33))
_HAIRS = ((20, 16, 12), (70, 45, 25), (150, 100, 50), (220, 190, 120), (120, 30, 20),
          (60, 60, 70))


def participant(seed: int, index: int) -> Participant:
    """The lake's participant `index`: the same person in every dance of one seed."""
    rng = np.random.default_rng(_stable_seed("participant", seed, index))
    return _draw_participant(rng, f"p{index + 1:02d}")


def _draw_participant(rng: np.random.Generator, name: str) -> Participant:
    """A person drawn from `rng`, so teachers and students can come from streams of their
    own while the lake's participants keep theirs."""

    def colour() -> tuple[int, int, int]:
        return tuple(int(v) for v in rng.integers(25, 235, 3))  # type: ignore[return-value]

    return Participant(
        name=name,
        skin=_SKINS[int(rng.integers(len(_SKINS)))],
        hair=_HAIRS[int(rng.integers(len(_HAIRS)))],
        shirt=colour(),
        pants=colour(),
        shoes=tuple(int(v) for v in rng.integers(10, 90, 3)),  # type: ignore[arg-type]
        height=float(rng.uniform(0.5, 0.68)),
        shoulder=float(rng.uniform(0.095, 0.125)),
        hips=float(rng.uniform(0.07, 0.09)),
        limb=float(rng.uniform(0.05, 0.064)),
        head=float(rng.uniform(0.058, 0.072)),
        x=float(rng.uniform(0.4, 0.6)),
        floor=float(rng.uniform(0.86, 0.93)),
        tempo_bpm=float(rng.uniform(92, 128)),
        mirrored=bool(rng.random() < 0.3),
        sloppiness=float(rng.uniform(0.03, 0.16)),
        phase=float(rng.uniform(0, 16)),
        room=int(rng.integers(2**31)),
    )


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


def _wobble(rng: np.random.Generator, n: int) -> Callable[[float], np.ndarray]:
    """Smooth per-joint noise: a few slow sinusoids with random phases."""
    freqs = rng.uniform(0.2, 1.3, (3, n))
    phases = rng.uniform(0, 2 * np.pi, (3, n))
    weights = rng.uniform(0.4, 1.0, (3, n))

    def at(t: float) -> np.ndarray:
        return (weights * np.sin(2 * np.pi * freqs * t + phases)).sum(axis=0) / 2.0

    return at


def _smoothstep(x: float) -> float:
    return x * x * (3 - 2 * x)


def pose_at(dance: KeyPoses, dancer: Participant, t: float,
            wobble: Callable[[float], np.ndarray]) -> tuple[np.ndarray, float, float]:
    """Joint angles, crouch and sideways travel of `dancer` at time t seconds."""
    beat = dancer.phase + t * dancer.tempo_bpm / 60.0
    position = beat / dance.beats_per_pose
    index = math.floor(position) % len(dance.poses)
    following = (index + 1) % len(dance.poses)
    # Hold the pose for most of its beats, then move quickly to the next: snappy, on beat.
    local = position - math.floor(position)
    mix = _smoothstep(min(1.0, max(0.0, (local - 0.55) / 0.45)))
    angles = (1 - mix) * np.array(dance.poses[index]) + mix * np.array(dance.poses[following])
    angles = angles + dancer.sloppiness * wobble(t)
    crouch = (1 - mix) * dance.crouch[index] + mix * dance.crouch[following]
    crouch += dance.bounce * abs(math.sin(math.pi * beat))
    travel = (1 - mix) * dance.travel[index] + mix * dance.travel[following]
    return angles, crouch, travel


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


@dataclass(frozen=True)
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
    figure = _Figure(dancer, unit, feet_y, hip, lean * side, head_tilt * side)
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


@dataclass(frozen=True)
class Splice:
    """Seconds [start_s, end_s) in which the dancer dances another dance's moves on her own
    clock, then picks her routine up again where her clock has got to (friends keep to
    the routine): a lapse a scorer should find, not a shift of her timing."""

    start_s: float
    end_s: float
    dance: str


@dataclass(frozen=True)
class Lesson:
    """A teacher's or a student's video: the timing truth its sidecar adds.

    The student's video at time t shows the teacher's routine at the teacher's time
    tau = tempo * (t - offset_s). A positive offset means she is late; a tempo above 1
    that she dances faster. In beats: her bpm is tempo * the teacher's, and her phase
    the teacher's minus tempo * offset_s * the teacher's bpm / 60 (often negative).
    """

    role: str  # "teacher" or "student"
    teacher: str | None = None  # the teacher video's file name, beside the student's
    offset_s: float | None = None
    tempo: float | None = None


@dataclass(frozen=True)
class Soundtrack:
    """The music a video carries, as it plays in the video.

    Beat k of the song plays at first_beat_s + k * 60 / bpm seconds of the video (beat 0
    may lie before the start). The dancer dances to it, so `bpm` is her tempo and her
    beat clock reaches k (a key pose arrives when k is a multiple of the dance's
    beats_per_pose) beat_offset_s later than beat k plays: positive, she is late.
    """

    song: str  # the dance whose song plays: her own, or another dance's
    bpm: float
    first_beat_s: float
    beat_offset_s: float = 0.0
    noise_snr_db: float | None = None  # noise over the music: its power below the music's
    noise_seed: int = 0


def music_for(dancer: Participant, dance: str, beat_offset_s: float = 0.0,
              noise_snr_db: float | None = None, noise_seed: int = 0) -> Soundtrack:
    """`dance`'s song played as `dancer`'s clock: at her tempo, beat k where her beat
    clock phase + t * tempo / 60 reaches k, moved earlier by beat_offset_s."""
    first_beat_s = (0.0 - dancer.phase) * 60.0 / dancer.tempo_bpm - beat_offset_s  # not -0.0
    return Soundtrack(dance, dancer.tempo_bpm, first_beat_s, beat_offset_s, noise_snr_db,
                      noise_seed)


@dataclass(frozen=True)
class SoundShares:
    """Which share of videos has no sound, another dance's song, or noise over the
    music (of those with sound); how late or early (uniform, seconds) she dances."""

    none: float = 0.1
    other_song: float = 0.1
    noise: float = 0.2
    max_beat_offset_s: float = 0.15


STUDENT_SOUND = SoundShares(other_song=0.15)  # a student's music may differ from the lesson's


def _drawn_sound(dance: str, dancer: Participant, shares: SoundShares,
                 rng: np.random.Generator, beat_offset_s: float) -> Soundtrack | None:
    """No sound, another dance's song or the dance's own, maybe with noise (SNR uniform
    0-15 dB), drawn from `rng`: always the same number of draws, so no share moves
    another's."""
    silent, other, noisy = (rng.random() < share for share in
                            (shares.none, shares.other_song, shares.noise))
    snr_db, noise_seed = float(rng.uniform(0.0, 15.0)), int(rng.integers(2**31))
    played = str(rng.choice([d for d in DANCE_CLASSES if d != dance]))
    if silent:
        return None
    return music_for(dancer, played if other else dance, beat_offset_s,
                     snr_db if noisy else None, noise_seed)


def soundtrack_samples(spec: VideoSpec) -> np.ndarray | None:
    """The video's sound as mono float32 at SAMPLE_RATE, exactly as long as its frames
    (None when it has none)."""
    track = spec.sound
    if track is None:
        return None
    seconds = round(spec.seconds * FPS) / FPS
    music = render_music(song(track.song), track.bpm, track.first_beat_s, seconds)
    if track.noise_snr_db is None:
        return music
    return add_noise(music, track.noise_snr_db, track.noise_seed)


@dataclass(frozen=True)
class VideoSpec:
    """Everything that decides one generated video's frames, and its lesson truth."""

    dance: str
    participant: Participant
    seconds: float
    width: int
    height: int
    style: str = "none"  # none | clone | disco
    empty_seconds: tuple[int, ...] = ()
    noise_seconds: tuple[int, ...] = ()
    noise_seed: int = 0
    handheld: bool = False  # the camera drifts, shakes, rolls and zooms
    others: tuple[Participant, ...] = ()  # people dancing the same dance beside the dancer
    card_seconds: tuple[int, ...] = ()  # a title or outro card: no scene at all
    still_seconds: tuple[int, ...] = ()  # the dancer stands still, waiting to start
    motion_blur: bool = False  # fast limbs smear over the shutter time
    bitrate_kbps: int | None = None  # a phone's bitrate instead of constant quality
    splice: Splice | None = None  # the dancer's seconds of another dance's moves
    lesson: Lesson | None = None  # teachers and students only: sidecar keys of their own
    sound: Soundtrack | None = None  # the music it carries; None: no audio stream


@dataclass(frozen=True)
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


def plan_videos(dances: list[str], participants: int, seconds: float, size: tuple[int, int],
                seed: int, phone: PhoneShares = PhoneShares(),
                sound: SoundShares = SoundShares()) -> list[VideoSpec]:
    """The study's design: every participant performs every dance once.

    Her sound comes from streams of its own, so every earlier draw stays as it was; how
    late she dances on the beat is hers, the same in every dance.
    """
    specs = []
    for index in range(participants):
        dancer = participant(seed, index)
        lateness = np.random.default_rng(_stable_seed("beat-offset", seed, index))
        beat_offset_s = float(lateness.uniform(-1.0, 1.0) * sound.max_beat_offset_s)
        for dance in dances:
            rng = np.random.default_rng(_stable_seed("video", seed, index, dance))
            spec = _recorded(dance, dancer, seconds, size, rng)
            phone_rng = np.random.default_rng(_stable_seed("phone", seed, index, dance))
            spec = _filmed_on_a_phone(spec, phone, phone_rng)
            sound_rng = np.random.default_rng(_stable_seed("sound", seed, index, dance))
            specs.append(replace(spec, sound=_drawn_sound(dance, spec.participant, sound,
                                                          sound_rng, beat_offset_s)))
    return specs


def _recorded(dance: str, dancer: Participant, seconds: float, size: tuple[int, int],
              rng: np.random.Generator) -> VideoSpec:
    """One video's study-shaped variations: its length (varied from 30 s on), an app
    filter, and maybe a second or two of empty room or static noise at an edge."""
    length = seconds if seconds < 30 else float(round(seconds * rng.uniform(0.85, 1.15)))
    style = str(rng.choice(["none", "clone", "disco"], p=[0.7, 0.15, 0.15]))
    empty: list[int] = []
    noise: list[int] = []
    whole = math.floor(length)
    if whole >= 4 and rng.random() < 0.4:
        count = int(rng.integers(1, 3)) if whole >= 8 else 1
        at_start = bool(rng.random() < 0.5)
        bad = list(range(count)) if at_start else list(range(whole - count, whole))
        (empty if rng.random() < 0.5 else noise).extend(bad)
    return VideoSpec(dance, dancer, length, size[0], size[1], style, tuple(empty),
                     tuple(noise), int(rng.integers(2**31)))


def _filmed_on_a_phone(spec: VideoSpec, shares: PhoneShares,
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


def dancing_friends(rng: np.random.Generator, dancer: Participant,
                    count: int) -> tuple[Participant, ...]:
    """Friends dancing along, a step behind the dancer: smaller, to either side, with
    their own body and clothes, slightly off the dancer's timing."""
    sides = (-1, 1) if count == 2 else (int(rng.choice([-1, 1])),)
    friends = []
    for side in sides:
        body = participant(int(rng.integers(2**31)), 99)
        friends.append(replace(
            body, name=f"{dancer.name}-friend", room=dancer.room, tempo_bpm=dancer.tempo_bpm,
            phase=dancer.phase + float(rng.uniform(-0.3, 0.3)), mirrored=dancer.mirrored,
            height=dancer.height * float(rng.uniform(0.7, 0.85)),
            floor=dancer.floor - float(rng.uniform(0.03, 0.07)),
            x=float(np.clip(dancer.x + side * rng.uniform(0.3, 0.36), 0.12, 0.88))))
    return tuple(friends)


def _phone_bitrate(width: int, height: int) -> int:
    """What a sharing app leaves per pixel (about 1.5 Mbit/s at 1080x1920), in kbit/s."""
    return max(60, round(1500 * width * height / (1080 * 1920)))


TEACHER = "teacher"  # the teacher's name, so her video is <dance>/teacher.mp4


def teacher_spec(dance: str, seed: int, seconds: float, size: tuple[int, int]) -> VideoSpec:
    """The teacher of `dance`: a clean performance students are scored against.

    No sloppiness, on the dance's own tempo, not mirrored, from the routine's first
    beat, filmed from a tripod with nothing else in the video, so every difference a
    scorer finds in a student is the student's. Her body comes from a stream of her
    own: the lake's participants stay as they were.
    """
    body = _draw_participant(np.random.default_rng(_stable_seed("teacher", seed, dance)),
                             TEACHER)
    teacher = replace(body, sloppiness=0.0, tempo_bpm=key_poses(dance).tempo_bpm,
                      mirrored=False, phase=0.0)
    return VideoSpec(dance, teacher, seconds, size[0], size[1], lesson=Lesson(TEACHER),
                     sound=music_for(teacher, dance))


def student_specs(dance: str, seed: int, count: int, seconds: float,
                  size: tuple[int, int]) -> list[VideoSpec]:
    """`count` students (s01, s02, ...) of the teacher of `dance`, with known timing.

    The student's video at time t shows the teacher's routine at the teacher's time
    tau = tempo * (t - offset_s) (see Lesson), except in her splice. Her music is the
    teacher's song played at her tempo, as a practice app slows or speeds it: at her
    time t the song's time tempo * (t - audio_offset_s), where audio_offset_s = offset_s
    - beat_offset_s (her key poses are beat_offset_s late on her music); some students
    have no sound, another song or noise over it (STUDENT_SOUND). Each is drawn like
    the lake's participants and filmed like the lake's videos (filters, bad seconds,
    phone traits), from streams of her own, so a scorer is tested on real footage's
    troubles, never on easier videos.
    """
    teacher = teacher_spec(dance, seed, seconds, size)
    return [_student(teacher, seed, index) for index in range(count)]


def _student(teacher: VideoSpec, seed: int, index: int) -> VideoSpec:
    """One student: off the teacher's timing by a known offset and tempo, about 40 %
    mirrored, with a splice of another dance."""
    rng = np.random.default_rng(_stable_seed("student", seed, teacher.dance, index))
    body = _draw_participant(rng, f"s{index + 1:02d}")  # sloppy as the lake's dancers
    offset_s = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.2, 0.8))
    tempo = float(np.exp(rng.uniform(math.log(0.8), math.log(1.25))))
    lead = teacher.participant
    dancer = replace(body, tempo_bpm=tempo * lead.tempo_bpm, mirrored=bool(rng.random() < 0.4),
                     phase=lead.phase - tempo * offset_s * lead.tempo_bpm / 60.0)
    spec = _recorded(teacher.dance, dancer, teacher.seconds, (teacher.width, teacher.height),
                     rng)
    spec = replace(spec, splice=_splice(rng, teacher.dance, spec.seconds),
                   lesson=Lesson("student", video_path(Path(), teacher).name, offset_s, tempo))
    phone = np.random.default_rng(_stable_seed("student-phone", seed, teacher.dance, index))
    spec = _filmed_on_a_phone(spec, PhoneShares(), phone)
    sound = np.random.default_rng(_stable_seed("student-sound", seed, teacher.dance, index))
    beat_offset_s = float(sound.uniform(-1.0, 1.0) * STUDENT_SOUND.max_beat_offset_s)
    return replace(spec, sound=_drawn_sound(teacher.dance, spec.participant, STUDENT_SOUND,
                                            sound, beat_offset_s))


def _splice(rng: np.random.Generator, dance: str, seconds: float) -> Splice | None:
    """2-4 s of another dance, at least 2 s from either end; None when the video is
    shorter than 6 s and has no room for one."""
    room = seconds - 4.0  # where the window may lie
    if room < 2.0:
        return None
    length = float(rng.uniform(2.0, min(4.0, room)))
    start = 2.0 + float(rng.uniform(0.0, room - length))
    other = str(rng.choice([d for d in DANCE_CLASSES if d != dance]))
    return Splice(start, start + length, other)


_STANDING = np.array([0.0, 0.0, 0.15, 0.1, 0.15, 0.1, 0.05, 0.0, 0.05, 0.0])  # arms down


def routine_at(spec: VideoSpec, t: float) -> KeyPoses:
    """The key poses the video's dancer performs at t: her dance's, or inside her
    splice the other dance's (danced on her own clock, so pose_at needs no change)."""
    splice = spec.splice
    if splice is not None and splice.start_s <= t < splice.end_s:
        return key_poses(splice.dance)
    return key_poses(spec.dance)


def _wobbles(spec: VideoSpec,
             people: tuple[Participant, ...]) -> list[Callable[[float], np.ndarray]]:
    """Each person's own sloppiness. Friends share the dancer's name and room, so their
    place tells their wobble apart."""
    return [_wobble(np.random.default_rng(_stable_seed(
        "wobble", p.name, p.room, spec.dance, *((p.x,) if p is not spec.participant else ()))),
        len(JOINTS)) for p in people]


def render_frames(spec: VideoSpec) -> Iterator[Image.Image]:
    """The video's frames, one PIL image per 1/30 s."""
    dance = key_poses(spec.dance)  # what friends dance, even during the dancer's splice
    room = render_room(spec.width, spec.height, spec.participant.room, spec.participant.floor)
    people = (*spec.others, spec.participant)  # the dancer in front
    wobbles = _wobbles(spec, people)
    noise_rng = np.random.default_rng(spec.noise_seed)
    camera = _handheld_camera(spec) if spec.handheld else None
    card = _card(spec) if spec.card_seconds else None
    # Motion blur: the mean of three instants over a 1/60 s shutter.
    instants = (-1 / 90, -1 / 180, 0.0) if spec.motion_blur else (0.0,)

    def scene(t: float) -> Image.Image:
        frame = room.copy()
        if int(t) in spec.empty_seconds:
            return frame
        for person, wobble in zip(people, wobbles, strict=True):
            if int(t) in spec.still_seconds:  # waiting: standing, shifting weight a little
                angles, crouch = _STANDING + 0.1 * wobble(t), 0.0
                travel = 0.015 * math.sin(2 * math.pi * t / 3)
            else:
                routine = routine_at(spec, t) if person is spec.participant else dance
                angles, crouch, travel = pose_at(routine, person, t, wobble)
            draw_dancer(frame, person, angles, crouch, travel)
        return frame

    for index in range(round(spec.seconds * FPS)):
        t = index / FPS
        second = int(t)
        if second in spec.noise_seconds:
            grain = noise_rng.integers(0, 256, (spec.height // 4, spec.width // 4, 3), np.uint8)
            yield Image.fromarray(grain, "RGB").resize((spec.width, spec.height),
                                                       Image.Resampling.NEAREST)
            continue
        if card is not None and second in spec.card_seconds:
            yield card
            continue
        if len(instants) > 1:
            shots = np.mean([np.asarray(scene(max(0.0, t + dt)), np.float32) for dt in instants],
                            axis=0)
            frame = Image.fromarray(shots.round().astype(np.uint8), "RGB")
        else:
            frame = scene(t)
        if camera is not None:
            frame = camera(frame, t)
        yield apply_filter(frame, spec.style, spec.participant.phase
                           + t * spec.participant.tempo_bpm / 60.0)


def _handheld_camera(spec: VideoSpec) -> Callable[[Image.Image, float], Image.Image]:
    """A phone in someone's hand: slow drift and roll, a little shake, a slow zoom.

    The view is always zoomed in at least as far as the drift reaches, so no border
    of nothing ever shows (a phone films a full frame however it moves).
    """
    rng = np.random.default_rng(_stable_seed("camera", spec.noise_seed))
    drift, shake = _wobble(rng, 3), _wobble(rng, 3)
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


def _card(spec: VideoSpec) -> Image.Image:
    """A title or outro card: a flat colour, a user name and a line of text."""
    rng = np.random.default_rng(_stable_seed("card", spec.noise_seed))
    background = tuple(int(v) for v in rng.integers(20, 235, 3))
    ink = tuple(255 - v for v in background)
    card = Image.new("RGB", (spec.width, spec.height), background)
    draw = ImageDraw.Draw(card)
    draw.text((spec.width * 0.2, spec.height * 0.42), f"@{spec.participant.name}_dances",
              fill=ink)
    draw.text((spec.width * 0.2, spec.height * 0.5), f"#{spec.dance} challenge", fill=ink)
    return card


@dataclass(frozen=True)
class GroundTruth:
    """The sidecar: what a perfect cleaning step would drop from this video."""

    dance: str
    participant: str
    seconds: float
    fps: int
    width: int
    height: int
    style: str
    tempo_bpm: float
    mirrored: bool
    empty_seconds: list[int] = field(default_factory=list)
    noise_seconds: list[int] = field(default_factory=list)
    card_seconds: list[int] = field(default_factory=list)  # bad: no scene
    still_seconds: list[int] = field(default_factory=list)  # good: somebody is there
    handheld: bool = False
    dancers: int = 1
    fills_frame: bool = False
    motion_blur: bool = False
    bitrate_kbps: int | None = None


def write_video(spec: VideoSpec, path: Path, ffmpeg_binary: str) -> Path:
    """Encode the frames as 9:16 H.264 MP4 at 30 fps, with the sound as AAC when the
    spec has any, bit-exact, and write the sidecar."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, fsync=False) as tmp, tempfile.TemporaryDirectory() as scratch:
        samples = soundtrack_samples(spec)
        audio = None
        if samples is not None:  # a file, not a second pipe: ffmpeg reads it as it needs
            audio = Path(scratch) / "sound.f32"
            audio.write_bytes(samples.tobytes())
        _encode(_encoder_command(spec, tmp, audio, ffmpeg_binary), spec, path.name)
    sidecar = sidecar_path(path)
    with atomic_path(sidecar, fsync=False) as tmp:
        tmp.write_text(json.dumps(_sidecar(spec), indent=2) + "\n")
    return path


def _encoder_command(spec: VideoSpec, target: Path, audio: Path | None,
                     ffmpeg_binary: str) -> list[str]:
    """ffmpeg's arguments: raw RGB frames on stdin, raw float PCM from `audio` if any.

    The native AAC encoder gives the same bytes on every run, and the same with
    ffmpeg's SIMD turned off (so whatever the CPU has); the muxer waits for a packet of
    each stream before it writes (max_interleave_delta 0), so how fast the frames arrive
    never reorders the file.
    """
    sound: list[str] = []
    if audio is not None:
        sound = ["-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", str(audio),
                 "-map", "0:v", "-map", "1:a", "-c:a", "aac", "-b:a", "96k",
                 "-max_interleave_delta", "0"]
    return [
        ffmpeg_binary, "-hide_banner", "-nostdin", "-v", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{spec.width}x{spec.height}",
        "-r", str(FPS), "-i", "pipe:0", *sound,
        "-c:v", "libx264", "-preset", "veryfast", *_rate_control(spec), "-pix_fmt", "yuv420p",
        "-flags", "+bitexact", "-fflags", "+bitexact",
        "-map_metadata", "-1", "-movflags", "+faststart", "-f", "mp4", str(target),
    ]


def _encode(command: list[str], spec: VideoSpec, name: str) -> None:
    """Run the encoder, feeding it the spec's frames; raise with ffmpeg's own words."""
    encoder = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    assert encoder.stdin is not None
    try:
        for frame in render_frames(spec):
            encoder.stdin.write(frame.tobytes())
    finally:
        encoder.stdin.close()
        error = encoder.stderr.read().decode(errors="replace") if encoder.stderr else ""
        encoder.wait()
    if encoder.returncode != 0:
        raise RuntimeError(f"ffmpeg could not encode {name}: {error.strip()}")


def _sidecar(spec: VideoSpec) -> dict[str, object]:
    """The sidecar's record: GroundTruth, the sound's keys (every video has them, "none"
    when silent), then a teacher's or student's lesson keys."""
    truth = GroundTruth(spec.dance, spec.participant.name, spec.seconds, FPS, spec.width,
                        spec.height, spec.style, round(spec.participant.tempo_bpm, 2),
                        spec.participant.mirrored, list(spec.empty_seconds),
                        list(spec.noise_seconds), list(spec.card_seconds),
                        list(spec.still_seconds), spec.handheld, 1 + len(spec.others),
                        spec.participant.height >= FILLS_FRAME, spec.motion_blur,
                        spec.bitrate_kbps)
    return {**asdict(truth), **_sound_truth(spec), **_lesson_truth(spec)}


def _sound_truth(spec: VideoSpec) -> dict[str, object]:
    """What music analysis must recover: which song plays, its beats (first_beat_s +
    k * 60 / music_bpm), how late her key poses land on them and the noise over it; for
    a student also where her music is the lesson's (song time = tempo * (t -
    audio_offset_s)), null when she has no sound or another song."""
    track = spec.sound
    if track is None:
        record: dict[str, object] = {"sound": "none", **dict.fromkeys(
            ("song", "music_bpm", "first_beat_s", "beat_offset_s", "noise_snr_db"))}
    else:
        record = {"sound": "song" if track.song == spec.dance else "other song",
                  "song": track.song, "music_bpm": track.bpm,
                  "first_beat_s": track.first_beat_s, "beat_offset_s": track.beat_offset_s,
                  "noise_snr_db": track.noise_snr_db}
    lesson = spec.lesson
    if lesson is not None and lesson.role == "student":
        record["audio_offset_s"] = None
        if track is not None and track.song == spec.dance and lesson.offset_s is not None:
            record["audio_offset_s"] = lesson.offset_s - track.beat_offset_s
    return record


def _lesson_truth(spec: VideoSpec) -> dict[str, object]:
    """What a timing scorer must recover, beyond GroundTruth (which already has the
    tempo_bpm and mirrored): nothing for the lake's videos. A student's always names her
    splice, null when her video had no room for one."""
    if spec.lesson is None:
        return {}
    record = {key: value for key, value in asdict(spec.lesson).items() if value is not None}
    if spec.lesson.role == "student":
        splice = spec.splice
        record |= {"splice_start_s": splice.start_s if splice else None,
                   "splice_end_s": splice.end_s if splice else None,
                   "splice_dance": splice.dance if splice else None}
    return record


def _rate_control(spec: VideoSpec) -> list[str]:
    """Constant quality, or a phone app's bitrate with its usual buffer, on one thread.

    With two threads x264's output depends on thread timing, at a constant quality as
    well as at a bitrate (two of the demo's 96 videos came out different in two runs),
    and the same spec must give the same bytes. The videos are encoded in parallel
    processes instead.
    """
    if spec.bitrate_kbps is None:
        control = ["-crf", "23"]
    else:
        rate = f"{spec.bitrate_kbps}k"
        control = ["-b:v", rate, "-maxrate", rate, "-bufsize", f"{2 * spec.bitrate_kbps}k"]
    return [*control, "-threads", "1"]


def sidecar_path(video: Path) -> Path:
    return video.with_name(video.stem + SIDECAR_SUFFIX)


def video_path(raw: Path, spec: VideoSpec) -> Path:
    return raw / spec.dance / f"{spec.participant.name}.mp4"


def _write_one(job: tuple[VideoSpec, str, str]) -> str:
    spec, target, binary = job
    write_video(spec, Path(target), binary)
    return target


def generate(raw: Path, specs: list[VideoSpec], ffmpeg_binary: str, workers: int | None = None,
             progress: Callable[[int, int, Path], None] | None = None) -> list[Path]:
    """Write every planned video that is not already there, in parallel processes."""
    jobs = [(spec, str(video_path(raw, spec)), ffmpeg_binary) for spec in specs]
    pending = [job for job in jobs if not Path(job[1]).exists()
               or not sidecar_path(Path(job[1])).exists()]
    workers = workers or os.cpu_count() or 1
    written: list[Path] = []
    if workers == 1 or len(pending) <= 1:
        results: Iterator[str] = map(_write_one, pending)
        for done, target in enumerate(results, 1):
            written.append(Path(target))
            if progress:
                progress(done, len(pending), Path(target))
        return written
    import multiprocessing

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for done, target in enumerate(pool.map(_write_one, pending), 1):
            written.append(Path(target))
            if progress:
                progress(done, len(pending), Path(target))
    return written


def write_pairs(root: Path, dances: Sequence[str], students: int, seconds: float,
                size: tuple[int, int], seed: int, ffmpeg_binary: str, workers: int | None = None,
                progress: Callable[[int, int, Path], None] | None = None,
                ) -> list[tuple[Path, list[Path]]]:
    """Each dance's teacher (root/<dance>/teacher.mp4) and `students` students
    (root/<dance>/s01.mp4, ...) with their sidecars, written as `generate` writes the lake
    (in parallel, keeping what is there); per dance, the teacher's path and the
    students'."""
    lessons = [(teacher_spec(dance, seed, seconds, size),
                student_specs(dance, seed, students, seconds, size)) for dance in dances]
    generate(root, [spec for teacher, group in lessons for spec in (teacher, *group)],
             ffmpeg_binary, workers, progress)
    return [(video_path(root, teacher), [video_path(root, spec) for spec in group])
            for teacher, group in lessons]
