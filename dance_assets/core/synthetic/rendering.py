"""A video's frames, one picture per 1/30 s: the room, the dancer and her
friends posed at that instant (standing still, or inside her splice dancing another
dance), then the bad seconds, cards, motion blur, camera and filter the spec asks for.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np
from PIL import Image

from dance_assets.core.synthetic.dancers import Participant, pose_at
from dance_assets.core.synthetic.dances import (
    FPS,
    JOINTS,
    KeyPoses,
    key_poses,
    smooth_noise,
    stable_seed,
)
from dance_assets.core.synthetic.drawing import apply_filter, draw_dancer, render_room
from dance_assets.core.synthetic.phone import handheld_camera, title_card
from dance_assets.core.synthetic.specs import VideoSpec

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
    return [smooth_noise(np.random.default_rng(stable_seed(
        "wobble", p.name, p.room, spec.dance, *((p.x,) if p is not spec.participant else ()))),
        len(JOINTS)) for p in people]


def render_frames(spec: VideoSpec) -> Iterator[Image.Image]:
    """The video's frames, one PIL image per 1/30 s."""
    dance = key_poses(spec.dance)  # what friends dance, even during the dancer's splice
    room = render_room(spec.width, spec.height, spec.participant.room, spec.participant.floor)
    people = (*spec.others, spec.participant)  # the dancer in front
    wobbles = _wobbles(spec, people)
    noise_rng = np.random.default_rng(spec.noise_seed)
    camera = handheld_camera(spec) if spec.handheld else None
    card = title_card(spec) if spec.card_seconds else None
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
