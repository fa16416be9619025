"""The dances themselves: their names and their key poses on the beat.

There is no public copy of the study's videos, so its twelve dances have stand-ins. Each
dance is a fixed routine of key poses (joint angles, crouch, sideways travel) held for
whole beats and moved between quickly; a dancer performs it on her own tempo and phase,
with a smooth wobble of her own (see dancers.pose_at). Key poses depend only on the
dance's name (a dance is the same dance whatever the seed); every draw comes from a
stream named by what it is for (`stable_seed`), so adding a draw never moves another.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np

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


def stable_seed(*parts: object) -> int:
    """A random stream's seed named by what it is for: the same on every machine and run
    (unlike Python's salted hash), and independent of every other stream's draws."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little")


@dataclass(kw_only=True, frozen=True)
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
    rng = np.random.default_rng(stable_seed("dance", dance))
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
    return float(np.random.default_rng(stable_seed("dance-tempo", dance)).uniform(92, 128))


def smooth_noise(rng: np.random.Generator, n: int) -> Callable[[float], np.ndarray]:
    """Smooth per-joint noise: a few slow sinusoids with random phases."""
    freqs = rng.uniform(0.2, 1.3, (3, n))
    phases = rng.uniform(0, 2 * np.pi, (3, n))
    weights = rng.uniform(0.4, 1.0, (3, n))

    def at(t: float) -> np.ndarray:
        return (weights * np.sin(2 * np.pi * freqs * t + phases)).sum(axis=0) / 2.0

    return at
