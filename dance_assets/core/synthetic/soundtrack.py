"""A dance's song, rendered with numpy: the music a generated video's dancer moves to.

Music analysis (beats from a video's sound, a dancer's accents against them, two videos
put in step by their audio) needs videos whose music and timing are known exactly. So
each dance has a song of its own: a kick on every beat, a clap on beats 2 and 4 of each
4-beat bar, a hi-hat on every off-beat and a looping pentatonic melody. What makes a
song this song (its melody, key and drum sounds) is drawn once from a random stream
(see `compose_song`); the tempo and where beat 0 falls are chosen per video, so one
song can play faster, slower, earlier or later, at the same pitch, as a practice app
plays it. Every function here is pure: the same arguments give the same samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 22050  # Hz, mono: enough for drums and a melody, and cheap to encode
BEATS_PER_BAR = 4
STEPS_PER_BEAT = 2  # the melody moves in eighth notes
_PENTATONIC = (0, 2, 4, 7, 9)  # semitones of the major pentatonic scale
# Levels chosen so that the loudest moment (kick, clap and a note together) stays under 1.
_KICK_GAIN, _CLAP_GAIN, _HAT_GAIN, _NOTE_GAIN = 0.3, 0.2, 0.07, 0.35


@dataclass(frozen=True)
class Song:
    """What makes one song recognisably itself, whatever its tempo: a melody in a key
    and a drum kit of its own (so two songs at one tempo do not correlate even where
    their drums hit together)."""

    root_hz: float
    notes: tuple[int | None, ...]  # semitones above the root per eighth note; None rests
    kick_hz: tuple[float, float]  # the kick's pitch sweep, from its hit down to its body
    kick_decay_s: float
    drum_seed: int  # the clap's and the hi-hat's noise


def compose_song(rng: np.random.Generator) -> Song:
    """A song drawn from `rng`: 2-4 bars of a pentatonic random walk over two octaves,
    in one of twelve keys, with a fifth of its eighth notes rests."""
    scale = [semitone + 12 * octave for octave in (0, 1) for semitone in _PENTATONIC]
    steps = int(rng.integers(2, 5)) * BEATS_PER_BAR * STEPS_PER_BEAT
    degree = int(rng.integers(len(scale)))
    notes: list[int | None] = []
    for _ in range(steps):
        degree = int(np.clip(degree + rng.integers(-2, 3), 0, len(scale) - 1))
        notes.append(None if rng.random() < 0.2 else scale[degree])
    return Song(
        root_hz=220.0 * 2 ** (int(rng.integers(12)) / 12),  # A3 up to G#4: above the kick
        notes=tuple(notes),
        kick_hz=(float(rng.uniform(100, 220)), float(rng.uniform(40, 80))),
        kick_decay_s=float(rng.uniform(0.05, 0.09)),
        drum_seed=int(rng.integers(2**31)),
    )


def beat_times(bpm: float, first_beat_s: float, start_s: float, end_s: float) -> np.ndarray:
    """The beats first_beat_s + k * 60 / bpm that fall in [start_s, end_s)."""
    beats = _beats_between(bpm, first_beat_s, start_s, end_s)
    return first_beat_s + np.arange(beats.start, beats.stop) * 60.0 / bpm


def _beats_between(bpm: float, first_beat_s: float, start_s: float, end_s: float) -> range:
    """The numbers k of the beats first_beat_s + k * 60 / bpm in [start_s, end_s)."""
    period = 60.0 / bpm
    return range(math.ceil((start_s - first_beat_s) / period),
                 math.ceil((end_s - first_beat_s) / period))


def render_music(song: Song, bpm: float, first_beat_s: float, seconds: float,
                 rate: int = SAMPLE_RATE) -> np.ndarray:
    """`seconds` of `song` at `bpm`, its beat k at first_beat_s + k * 60 / bpm (beat 0
    may lie before the start or after the end), as mono float32 samples at `rate`.

    Sounds that started before the start ring into it, as in a clip cut from a song.
    """
    out = np.zeros(round(seconds * rate), np.float32)
    period = 60.0 / bpm
    kick = _kick(song, rate)
    clap = _noise_hit(song.drum_seed, rate, decay_s=0.03, brightness=1, gain=_CLAP_GAIN)
    hat = _noise_hit(song.drum_seed, rate, decay_s=0.012, brightness=2, gain=_HAT_GAIN)
    for beat in _beats_between(bpm, first_beat_s, -0.5, seconds):  # and tails from before
        at = first_beat_s + beat * period
        _place(out, kick, at, rate)
        if beat % BEATS_PER_BAR in (1, 3):  # beats 2 and 4 of the bar
            _place(out, clap, at, rate)
        _place(out, hat, at + period / 2, rate)
        for step in range(STEPS_PER_BEAT):
            semitone = song.notes[(beat * STEPS_PER_BEAT + step) % len(song.notes)]
            if semitone is not None:
                note = _note(song.root_hz * 2 ** (semitone / 12), period / STEPS_PER_BEAT, rate)
                _place(out, note, at + step * period / STEPS_PER_BEAT, rate)
    return out


def _place(out: np.ndarray, sound: np.ndarray, at_s: float, rate: int) -> None:
    """Add `sound` into `out` starting at `at_s` seconds, cut at either end."""
    start = round(at_s * rate)
    begin, end = max(start, 0), min(start + len(sound), len(out))
    if begin < end:
        out[begin:end] += sound[begin - start:end - start]


def _kick(song: Song, rate: int) -> np.ndarray:
    """A bass drum: a sine sweeping down from the hit's pitch to the body's, dying away.
    It starts at zero phase, so its onset is sharp (under 2 ms)."""
    t = np.arange(round(4 * song.kick_decay_s * rate)) / rate
    hit_hz, body_hz = song.kick_hz
    frequency = body_hz + (hit_hz - body_hz) * np.exp(-t / 0.03)
    phase = 2 * np.pi * np.cumsum(frequency) / rate
    return (_KICK_GAIN * np.sin(phase) * np.exp(-t / song.kick_decay_s)).astype(np.float32)


def _noise_hit(drum_seed: int, rate: int, decay_s: float, brightness: int,
               gain: float) -> np.ndarray:
    """A clap (brightness 1) or a hi-hat (2): the song's own noise, high-passed by
    differencing `brightness` times, dying away in `decay_s`."""
    noise = np.random.default_rng([drum_seed, brightness]).standard_normal(
        round(5 * decay_s * rate) + brightness)
    bright = np.diff(noise, n=brightness) / math.sqrt(2**brightness)
    envelope = np.exp(-np.arange(len(bright)) / (decay_s * rate))
    return (gain * bright * envelope / 3).astype(np.float32)  # peaks near `gain`


def _note(frequency: float, length_s: float, rate: int) -> np.ndarray:
    """One melody note: a sine with a soft second harmonic, a 5 ms attack, a decay,
    and a 5 ms release before the next step so steps never click."""
    t = np.arange(max(2, round(length_s * 0.9 * rate))) / rate
    edges = np.clip(np.minimum(t, t[-1] - t) / 0.005, 0.0, 1.0)
    envelope = edges * np.exp(-t / (0.6 * length_s))
    tone = np.sin(2 * np.pi * frequency * t) + 0.3 * np.sin(4 * np.pi * frequency * t)
    return (_NOTE_GAIN * tone * envelope / 1.3).astype(np.float32)


def add_noise(music: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    """`music` with pink noise over it (a room's or a crowd's: most of its power low,
    where the music's is) at `snr_db`: the music's power over the noise's, in dB, over
    the whole track."""
    if not len(music):
        return music
    white = np.fft.rfft(np.random.default_rng(seed).standard_normal(len(music)))
    bins = np.arange(len(white), dtype=np.float64)
    pink = np.fft.irfft(white / np.sqrt(np.maximum(bins, 1.0)), n=len(music))
    music_power = float(np.mean(np.square(music, dtype=np.float64)))
    scale = math.sqrt(music_power / 10 ** (snr_db / 10) / max(float(np.mean(pink**2)), 1e-30))
    return (music + scale * pink).astype(np.float32)
