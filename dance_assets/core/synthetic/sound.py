"""What a generated video's sound is: the dance's song (composed in
soundtrack.py) played at the dancer's own tempo, as her clock, with her key poses a
known fraction of a second late or early on its beats. Some videos have no sound,
another dance's song or noise over the music, as phone clips do; the shares of each
are drawn from a stream of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from dance_assets.core.synthetic.dancers import Participant
from dance_assets.core.synthetic.dances import DANCE_CLASSES, stable_seed
from dance_assets.core.synthetic.soundtrack import Song, compose_song


@cache
def song(dance: str) -> Song:
    """The dance's song (its melody, key and drums), from its name alone and a stream of
    its own, so a dance sounds the same whatever the seed and no other draw moved."""
    return compose_song(np.random.default_rng(stable_seed("song", dance)))


@dataclass(kw_only=True, frozen=True)
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
    return Soundtrack(song=dance, bpm=dancer.tempo_bpm, first_beat_s=first_beat_s,
                      beat_offset_s=beat_offset_s, noise_snr_db=noise_snr_db,
                      noise_seed=noise_seed)


@dataclass(frozen=True)
class SoundShares:
    """Which share of videos has no sound, another dance's song, or noise over the
    music (of those with sound); how late or early (uniform, seconds) she dances."""

    none: float = 0.1
    other_song: float = 0.1
    noise: float = 0.2
    max_beat_offset_s: float = 0.15


STUDENT_SOUND = SoundShares(other_song=0.15)  # a student's music may differ from the lesson's


def drawn_sound(dance: str, dancer: Participant, shares: SoundShares,
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
