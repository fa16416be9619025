"""Writing generated videos: frames and sound encoded bit-exactly as a 9:16
H.264 MP4, and beside each a JSON sidecar of the truth the pipeline must recover (its
bad seconds, phone traits, beats and lesson timing), many videos at once in parallel
processes, keeping those already written.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from dance_assets.core.lake.lake import atomic_path
from dance_assets.core.synthetic.dances import FPS
from dance_assets.core.synthetic.phone import FILLS_FRAME
from dance_assets.core.synthetic.rendering import render_frames
from dance_assets.core.synthetic.sound import song
from dance_assets.core.synthetic.soundtrack import SAMPLE_RATE, add_noise, render_music
from dance_assets.core.synthetic.specs import VideoSpec, sidecar_path, video_path


@dataclass(kw_only=True, frozen=True)
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
    truth = GroundTruth(dance=spec.dance, participant=spec.participant.name, seconds=spec.seconds,
                        fps=FPS, width=spec.width,
                        height=spec.height, style=spec.style,
                        tempo_bpm=round(spec.participant.tempo_bpm, 2),
                        mirrored=spec.participant.mirrored, empty_seconds=list(spec.empty_seconds),
                        noise_seconds=list(spec.noise_seconds),
                        card_seconds=list(spec.card_seconds),
                        still_seconds=list(spec.still_seconds), handheld=spec.handheld,
                        dancers=1 + len(spec.others),
                        fills_frame=spec.participant.height >= FILLS_FRAME,
                        motion_blur=spec.motion_blur,
                        bitrate_kbps=spec.bitrate_kbps)
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


def _write_one(job: tuple[VideoSpec, str, str]) -> str:
    spec, target, binary = job
    write_video(spec, Path(target), binary)
    return target


def generate(raw: Path, specs: list[VideoSpec], ffmpeg_binary: str, workers: int | None = None,
             progress: Callable[[int, int, Path], None] | None = None) -> list[Path]:
    """Write every planned video that is not already there, in parallel processes."""
    return generate_into({raw: specs}, ffmpeg_binary, workers, progress)


def generate_into(folders: dict[Path, list[VideoSpec]], ffmpeg_binary: str,
                  workers: int | None = None,
                  progress: Callable[[int, int, Path], None] | None = None) -> list[Path]:
    """generate for several folders (raw/ and references/) in one pool of processes, so
    that no core waits for the last video of one folder before the next one starts."""
    jobs = [(spec, str(video_path(root, spec)), ffmpeg_binary)
            for root, specs in folders.items() for spec in specs]
    pending = [job for job in jobs if not Path(job[1]).exists()
               or not sidecar_path(Path(job[1])).exists()]
    workers = workers or os.cpu_count() or 1
    if workers == 1 or len(pending) <= 1:
        return _reported(map(_write_one, pending), len(pending), progress)
    import multiprocessing

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return _reported(pool.map(_write_one, pending), len(pending), progress)


def _reported(targets: Iterator[str], total: int,
              progress: Callable[[int, int, Path], None] | None) -> list[Path]:
    """The videos written, in order, each reported to `progress` as it is done."""
    written = []
    for done, target in enumerate(targets, 1):
        written.append(Path(target))
        if progress:
            progress(done, total, Path(target))
    return written
