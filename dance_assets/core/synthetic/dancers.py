"""The people in the videos: each participant keeps one body, clothing and
room across all dances (so the background says who, never which dance), with a tempo,
size, position, mirroring and sloppiness of her own; the friends who sometimes
dance beside her; and where her body is at any moment of a dance (pose_at).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from dance_assets.core.synthetic.dances import KeyPoses, stable_seed


@dataclass(kw_only=True, frozen=True)
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
    rng = np.random.default_rng(stable_seed("participant", seed, index))
    return draw_participant(rng, f"p{index + 1:02d}")


def draw_participant(rng: np.random.Generator, name: str) -> Participant:
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
