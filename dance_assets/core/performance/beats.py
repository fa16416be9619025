"""The music's beat in a dance video's own sound: its tempo and beat times.

librosa's onset strength and dynamic-programming beat tracker on the video's own sound
(core/ingest/audio.py decodes it), at the pulse the low band (kick and bass) keeps: the
whole spectrum's strongest pulse is as often a half, a double or two thirds of the beat,
led by a melody's phrasing or a backbeat's claps. That pulse is refined by a comb over
the onset strength before the tracker follows it (a tempogram's bins are several per
cent apart); the tempo is the slope of a line fitted through the tracked beats, which
beats the tracker missed or doubled do not bend. When the low band hits clearly harder
half a beat after the tracked beats (a melody on the off-beats led the tracker), the
beats move there: the kick keeps the beat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VERSION = 1  # of what find_beats finds: beats cached by another version are found again
HOP = 256  # samples between onset-strength frames (11.6 ms at 22050 Hz)
COMB_SPAN = 0.03  # how far (a share of the period) the comb looks from the coarse tempo
LOW_BAND_HZ = 200.0
KICK_SHIFT = 2.0  # the beat moves half a beat when the low band hits this much harder there
SILENT_RMS = 1e-3  # quieter than this throughout is no music
MIN_BEATS = 4
# Sound this far below the loudest at either end of the video is not the music yet (or
# any more): a phone clip whose song starts after the recording does, or stops early.
QUIET_DB = 60.0
# No onset counts for more than this many times the 99th percentile of all of them.
OUTBURST = 2.0


@dataclass
class Beats:
    """A video's music: tempo, beat times and what the sync needs."""

    tempo_bpm: float
    times: np.ndarray  # seconds in the video
    onsets: np.ndarray  # onset strength per hop
    chroma: np.ndarray  # 12 × hops, normalised per hop
    hop_s: float

    @property
    def period_s(self) -> float:
        return 60.0 / self.tempo_bpm


def _tempo(times: np.ndarray, bpm: float) -> float:
    """BPM from a line through the beats, each numbered by how many beat periods of
    `bpm` (the comb's, good to a fraction of a per cent) it lies from the first: a missed
    or an extra beat keeps its place. (Gaps between tracked beats are whole hops, so their
    median is up to a hop off, and numbering by it miscounts a beat within a minute.)"""
    numbers = np.rint((times - times[0]) * bpm / 60.0)
    return 60.0 / float(np.polyfit(numbers, times, 1)[0])


def _on_onsets(frames: np.ndarray, onsets: np.ndarray, reach: int = 3) -> np.ndarray:
    """Each tracked beat moved to the strongest onset within `reach` hops: the tracker
    keeps to its tempo grid, the music's own hits are a little off it."""
    moved = frames.astype(np.float64)
    for index, frame in enumerate(frames):
        low, high = max(0, frame - reach), min(len(onsets), frame + reach + 1)
        moved[index] = low + int(np.argmax(onsets[low:high]))
    return moved


def _on_the_kick(frames: np.ndarray, low: np.ndarray, period: float) -> np.ndarray:
    """The tracked beats, or the grid half a beat later when the low band (the kick and
    the bass) hits clearly harder there: the tracker follows the whole spectrum, and a
    melody that plays on the off-beats can pull it half a beat off the kick."""
    def strength(at: np.ndarray) -> float:
        return float(np.mean([low[max(0, f - 2):f + 3].max(initial=0.0)
                              for f in np.rint(at).astype(int) if f < len(low)] or [0.0]))

    later = frames + period / 2
    if strength(later) > KICK_SHIFT * strength(frames):
        return np.rint(later[later < len(low)]).astype(frames.dtype)
    return frames


def _comb_bpm(onsets: np.ndarray, bpm: float, sample_rate: int) -> float:
    """`bpm` refined to the beat period whose grid, at its best phase, collects the most
    onset strength. A tempo estimate comes in whole hops of lag (a 2 % step at 120 bpm);
    the beat tracker keeps to the tempo it is given, so over a minute a beat period off by
    1 % drifts its beats off the music. Periods within COMB_SPAN of `bpm` are tried in
    steps of 0.05 %, each at every phase a hop apart."""
    hop_s = HOP / sample_rate
    period = 60.0 / bpm / hop_s  # in hops
    periods = period * (1.0 + np.linspace(-COMB_SPAN, COMB_SPAN, 2 * round(COMB_SPAN / 5e-4) + 1))
    best, best_strength = period, -np.inf
    for candidate in periods:
        beats = np.arange(0.0, len(onsets) - 1 - candidate, candidate)
        phases = np.arange(int(candidate))[:, None]
        strength = np.interp(phases + beats[None, :], np.arange(len(onsets)), onsets).mean(axis=1)
        if strength.max() > best_strength:
            best, best_strength = candidate, float(strength.max())
    return 60.0 / (best * hop_s)


def _tamed(onsets: np.ndarray) -> np.ndarray:
    """The onset strength with its outbursts capped. Music that resumes after a silence
    (-80 dB) makes one onset many times any beat's; librosa's tracker, which scales the
    envelope by its spread and trims the beats weaker than half their mean, then keeps
    only a few. Steady music's strongest onset stays below twice its 99th percentile
    (the demo lake's 84 soundtracks: at most 1.96 times)."""
    return np.minimum(onsets, OUTBURST * np.percentile(onsets, 99))


def _spectra(samples: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray,
                                                                  np.ndarray]:
    """Power spectrogram, its mel bands, and their onset strength (outbursts tamed)."""
    import librosa

    power = np.abs(librosa.stft(samples, n_fft=2048, hop_length=HOP)) ** 2
    mel = librosa.feature.melspectrogram(S=power, sr=sample_rate, n_mels=128)
    onsets = _tamed(librosa.onset.onset_strength(S=librosa.power_to_db(mel), sr=sample_rate))
    return power, mel, onsets


def _music_span(samples: np.ndarray) -> tuple[int, int]:
    """The samples from the music's first sound to its last, to the sample: a span that
    began a few samples of silence early would begin with an onset the tracker takes
    for a beat."""
    magnitude = np.abs(samples)
    loud = np.flatnonzero(magnitude > magnitude.max() * 10 ** (-QUIET_DB / 20))
    return int(loud[0]), int(loud[-1]) + 1


def _tracked(mel: np.ndarray, onsets: np.ndarray, sample_rate: int
             ) -> tuple[np.ndarray, float] | None:
    """Beat times (seconds from the start of `mel`) and the comb's BPM, or None."""
    import librosa

    # Which pulse is the beat: the one the kick and bass keep (below LOW_BAND_HZ), which
    # a melody's phrasing or a backbeat's claps pull off by a half or a third less often.
    low_bands = librosa.mel_frequencies(n_mels=128, fmax=sample_rate / 2) < LOW_BAND_HZ
    low = _tamed(librosa.onset.onset_strength(S=librosa.power_to_db(mel[low_bands]),
                                              sr=sample_rate))
    pulse = float(librosa.feature.tempo(onset_envelope=low, sr=sample_rate,
                                        hop_length=HOP)[0])
    bpm = _comb_bpm(onsets, pulse, sample_rate)
    _, frames = librosa.beat.beat_track(onset_envelope=onsets, sr=sample_rate, hop_length=HOP,
                                        bpm=bpm)
    if len(frames) < MIN_BEATS:
        return None
    frames = _on_the_kick(frames, low, 60.0 / bpm / (HOP / sample_rate))
    return librosa.frames_to_time(_on_onsets(frames, onsets), sr=sample_rate,
                                  hop_length=HOP), bpm


def find_beats(samples: np.ndarray, sample_rate: int) -> Beats | None:
    """The music's tempo and beats, or None when there is no music to judge. The beats
    are tracked in the music's own span (a silence before it would be its loudest
    onset); the onsets and chroma the sync compares cover the whole video."""
    import librosa

    if len(samples) < sample_rate or float(np.sqrt(np.mean(samples ** 2))) < SILENT_RMS:
        return None
    power, mel, onsets = _spectra(samples, sample_rate)
    start, end = _music_span(samples)
    if end - start < sample_rate:
        return None
    if (start, end) == (0, len(samples)):
        tracked = _tracked(mel, onsets, sample_rate)
    else:
        _, music_mel, music_onsets = _spectra(samples[start:end], sample_rate)
        tracked = _tracked(music_mel, music_onsets, sample_rate)
    if tracked is None:
        return None
    times, bpm = tracked
    times = times + start / sample_rate
    chroma = librosa.feature.chroma_stft(S=power, sr=sample_rate)
    chroma = chroma / np.maximum(np.linalg.norm(chroma, axis=0, keepdims=True), 1e-9)
    return Beats(_tempo(times, bpm), times, onsets.astype(np.float32), chroma.astype(np.float32),
                 HOP / sample_rate)
