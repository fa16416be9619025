"""A video's sound: checked when it is probed, decoded to mono PCM when it is analysed.

ffmpeg decodes every codec a phone or an app writes (AAC, Opus, Vorbis, MP3...) straight
into memory as 32-bit floats, one channel, at ANALYSIS_RATE: enough for beats and
onsets, and a sixth of the samples of 48 kHz stereo. Nothing here needs audioread or a
sound library; a missing or broken stream is an AudioError whose message is the reason.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dance_assets.core.ingest.video import FfmpegSettings

ANALYSIS_RATE = 22050
_TIME = re.compile(r"time=(\d+):(\d+):(\d+(?:\.\d+)?)")


class AudioError(Exception):
    """The video's sound cannot be used; the message says why."""


@dataclass(frozen=True)
class AudioCheck:
    """What decoding the whole audio stream showed: its length, or why it failed."""

    duration_s: float | None
    error: str | None


def _last_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no output"


def check_audio(path: Path, settings: FfmpegSettings) -> AudioCheck:
    """Decode the first audio stream to nothing: its duration, or the error that stops it
    (a stream cut short still gives the duration that decoded)."""
    command = [settings.binary, "-hide_banner", "-nostdin", "-v", "error", "-stats",
               "-threads", str(settings.threads), "-i", str(path), "-map", "0:a:0",
               "-f", "null", "-"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, errors="replace",
                              timeout=settings.timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return AudioCheck(None, f"audio took longer than the {settings.timeout_s:g} s limit")
    times = _TIME.findall(done.stderr)
    duration = None
    if times:
        hours, minutes, seconds = times[-1]
        duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    if done.returncode != 0 or not duration:
        return AudioCheck(duration, f"audio does not decode: {_last_line(done.stderr)}")
    return AudioCheck(duration, None)


def decode_audio(path: Path, settings: FfmpegSettings,
                 sample_rate: int = ANALYSIS_RATE) -> np.ndarray:
    """The first audio stream as mono float32 samples at `sample_rate`."""
    command = [settings.binary, "-hide_banner", "-nostdin", "-v", "error",
               "-threads", str(settings.threads), "-i", str(path), "-map", "0:a:0", "-vn",
               "-ac", "1", "-ar", str(sample_rate), "-f", "f32le", "pipe:1"]
    try:
        done = subprocess.run(command, capture_output=True, timeout=settings.timeout_s,
                              check=False)
    except subprocess.TimeoutExpired:
        raise AudioError(f"audio took longer than the {settings.timeout_s:g} s limit") from None
    samples = np.frombuffer(done.stdout, np.float32)
    if done.returncode != 0 and len(samples) < sample_rate:
        stderr = done.stderr.decode(errors="replace")
        if "matches no streams" in stderr:
            raise AudioError("no sound")
        raise AudioError(f"audio does not decode: {_last_line(stderr)}")
    if not len(samples):
        raise AudioError("no sound")
    return samples.copy()


class SoundCapture:
    """A video's sound, decoded in the same ffmpeg pass as its pictures
    (core/ingest/dense_poses.decode): with `samples`, mono samples at ANALYSIS_RATE for
    the beats; with `keep_stream`, the sound itself as AAC for a report (copied when it is
    AAC, as phones record it). ffmpeg writes both into files of `scratch` rather than
    pipes, so nothing has to drain them while the pictures flow."""

    def __init__(self, scratch: Path, codec: str, *, samples: bool = True,
                 keep_stream: bool = False) -> None:
        self.samples_path = scratch / "sound.f32" if samples else None
        self.stream_path = scratch / "sound.aac" if keep_stream else None
        self.codec = codec

    def output_args(self) -> list[str]:
        """The ffmpeg outputs that write the sound, after the pictures' outputs."""
        args = []
        if self.samples_path is not None:
            args += ["-map", "0:a:0", "-ac", "1", "-ar", str(ANALYSIS_RATE), "-f", "f32le",
                     str(self.samples_path)]
        if self.stream_path is not None:
            encoding = ["-c:a", "copy"] if self.codec == "aac" else ["-c:a", "aac", "-b:a",
                                                                      "128k"]
            args += ["-map", "0:a:0", *encoding, "-f", "adts", str(self.stream_path)]
        return args

    def samples(self) -> np.ndarray:
        """The decoded samples; AudioError when the stream gave none."""
        written = self.samples_path is not None and self.samples_path.is_file()
        samples = np.fromfile(self.samples_path, np.float32) if written else np.zeros(0)
        if not len(samples):
            raise AudioError("no sound" if written else "audio does not decode")
        return samples

    def stream(self) -> bytes | None:
        """The sound as AAC (ADTS), None when none was kept or it came out empty."""
        if self.stream_path is None or not self.stream_path.is_file():
            return None
        return self.stream_path.read_bytes() or None
