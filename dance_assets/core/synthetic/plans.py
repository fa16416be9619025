"""The lake's videos, planned with the study's structure: every participant
performs every dance once, some videos get an app filter (clone or disco) and some
start or end with a second or two of empty room or static noise, the bad seconds the
cleaning step must find; then phone traits and sound are drawn for each.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from dance_assets.core.synthetic.dancers import Participant, participant
from dance_assets.core.synthetic.dances import stable_seed
from dance_assets.core.synthetic.phone import PhoneShares, filmed_on_a_phone
from dance_assets.core.synthetic.sound import SoundShares, drawn_sound
from dance_assets.core.synthetic.specs import VideoSpec


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
        lateness = np.random.default_rng(stable_seed("beat-offset", seed, index))
        beat_offset_s = float(lateness.uniform(-1.0, 1.0) * sound.max_beat_offset_s)
        for dance in dances:
            rng = np.random.default_rng(stable_seed("video", seed, index, dance))
            spec = recorded(dance, dancer, seconds, size, rng)
            phone_rng = np.random.default_rng(stable_seed("phone", seed, index, dance))
            spec = filmed_on_a_phone(spec, phone, phone_rng)
            sound_rng = np.random.default_rng(stable_seed("sound", seed, index, dance))
            specs.append(replace(spec, sound=drawn_sound(dance, spec.participant, sound,
                                                         sound_rng, beat_offset_s)))
    return specs


def recorded(dance: str, dancer: Participant, seconds: float, size: tuple[int, int],
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
    return VideoSpec(dance=dance, participant=dancer, seconds=length, width=size[0], height=size[1],
                     style=style, empty_seconds=tuple(empty),
                     noise_seconds=tuple(noise), noise_seed=int(rng.integers(2**31)))
