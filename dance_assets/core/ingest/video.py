"""Probing and frame extraction with ffmpeg, driven through ffmpeg-python.

The imageio-ffmpeg wheel ships ffmpeg without ffprobe, so probing reads what ffmpeg
itself prints about its input, and proves the file decodes by decoding one frame
near its end (a truncated file fails there, not weeks later in training).
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import ffmpeg

from dance_assets.core.lake.catalogue import FFMPEG_TIMEOUT_S
from dance_assets.core.lake.errors import DanceAssetsError


class VideoError(Exception):
    """A file that cannot be used as a video; the message is the reason recorded."""


@dataclass(frozen=True)
class FfmpegSettings:
    """How to run ffmpeg: which binary, how many threads, how long a video may take."""

    binary: str
    threads: int = 1
    timeout_s: float = FFMPEG_TIMEOUT_S


def find_ffmpeg(explicit: str | None = None) -> str:
    """The ffmpeg to use: an explicit path, else the one on PATH, else imageio-ffmpeg's."""
    if explicit:
        if not Path(explicit).is_file():
            raise DanceAssetsError(f"ffmpeg binary not found at {explicit}")
        return explicit
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@dataclass(kw_only=True, frozen=True)
class Probe:
    """What ffmpeg reports about a video's first real video stream."""

    duration_s: float
    fps: float | None
    width: int
    height: int
    rotation: int
    codec: str
    audio_codec: str | None = None  # the first audio stream's, None without sound
    audio_sample_rate: int | None = None

    @property
    def display_size(self) -> tuple[int, int]:
        """Width and height as shown, after the rotation is applied."""
        if self.rotation in (90, 270):
            return self.height, self.width
        return self.width, self.height


_DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
_STREAM = re.compile(r"^\s*Stream #\d+:\d+.*?: (Video|Audio|Data|Subtitle|Attachment): (.*)$")
_SIZE = re.compile(r"\b(\d{2,5})x(\d{2,5})\b")
_FPS = re.compile(r"([\d.]+)(k?) (?:fps|tbr)\b")
_SAMPLE_RATE = re.compile(r"\b(\d+) Hz\b")
_ROTATION = re.compile(r"display ?matrix: rotation of (-?[\d.]+) degrees", re.IGNORECASE)
_ROTATE_TAG = re.compile(r"^\s*rotate\s*:\s*(-?\d+)", re.MULTILINE)
_FRAMES_OUT = re.compile(r"frame=\s*(\d+)")
_TIME_OUT = re.compile(r"time=(\d+):(\d+):(\d+(?:\.\d+)?)")
_OPEN_ERROR = re.compile(r"Error opening input(?: file)?[^:]*: (.+)")
_INPUT_FORMAT = re.compile(r"^Input #0, ([\w,]+), from ", re.MULTILINE)
STILL_IMAGE = "a still image, not a video"


def _is_image_format(stderr: str) -> bool:
    """ffmpeg reads single pictures (JPEG, PNG, WebP, BMP...) through image2 or *_pipe."""
    found = _INPUT_FORMAT.search(stderr)
    return bool(found) and any(name == "image2" or name.endswith("_pipe")
                               for name in found.group(1).split(","))


def _hms(match: re.Match[str]) -> float:
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _run(args: list[str], timeout_s: float) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            args, capture_output=True, text=True, errors="replace", timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise VideoError(f"ffmpeg took longer than the {timeout_s:g} s limit per video") from exc


def sniff(head: bytes) -> str | None:
    """A plainer reason than ffmpeg's for files that are obviously not video."""
    if head and b"\0" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return "plain text, not a video"
    return None


def parse_header(stderr: str, head: bytes = b"") -> Probe:
    """Read ffmpeg's description of its input; raise VideoError when there is no video."""
    _refuse_unopened(stderr, head)
    video_line, side_data, audio_line = _streams(stderr.splitlines())
    if video_line is None:
        raise VideoError("no video stream (audio only)" if audio_line else "no video stream")
    if _is_image_format(stderr):
        raise VideoError(STILL_IMAGE)
    size = _SIZE.search(video_line)
    if not size:
        raise VideoError("video stream has no frame size")
    fps_match = _FPS.search(video_line)
    fps = None
    if fps_match:
        fps = float(fps_match.group(1)) * (1000 if fps_match.group(2) else 1)
    duration = _DURATION.search(stderr)
    codec = video_line.split(",")[0].split(" ")[0].strip()
    audio_codec, audio_rate = _audio(audio_line)
    return Probe(
        duration_s=_hms(duration) if duration else math.nan,
        fps=fps,
        width=int(size.group(1)),
        height=int(size.group(2)),
        rotation=_rotation("\n".join(side_data)),
        codec=codec,
        audio_codec=audio_codec,
        audio_sample_rate=audio_rate,
    )


def _refuse_unopened(stderr: str, head: bytes) -> None:
    """Raise VideoError, in the plainest words there are, when ffmpeg could not open the
    input at all: text is text, a truncated MP4 is named as one."""
    opened = _OPEN_ERROR.search(stderr)
    if not opened:
        return
    if reason := sniff(head):
        raise VideoError(reason)
    detail = opened.group(1).strip()
    if "moov atom not found" in stderr:
        detail = "moov atom not found (truncated or unfinished MP4)"
    raise VideoError(f"ffmpeg cannot read it: {detail}")


def _streams(lines: list[str]) -> tuple[str | None, list[str], str | None]:
    """ffmpeg's description of the first video stream (a cover picture is none), the
    indented lines under it (its side data, where a phone's rotation is), and the first
    audio stream's description."""
    video_line, side_data, audio_line = None, [], None
    for index, line in enumerate(lines):
        stream = _STREAM.match(line)
        if not stream:
            continue
        kind, description = stream.groups()
        if kind == "Audio" and audio_line is None:
            audio_line = description
        if kind == "Video" and video_line is None and "(attached pic)" not in description:
            video_line = description
            for follow in lines[index + 1 :]:
                if _STREAM.match(follow) or not follow.startswith("    "):
                    break
                side_data.append(follow)
    return video_line, side_data, audio_line


def _rotation(side_data: str) -> int:
    """Degrees the picture is turned, from the display matrix (or an older rotate tag)."""
    if rot := _ROTATION.search(side_data):
        return round(float(rot.group(1))) % 360
    if tag := _ROTATE_TAG.search(side_data):
        return (-int(tag.group(1))) % 360
    return 0


def _audio(description: str | None) -> tuple[str | None, int | None]:
    """(codec, sample rate) from ffmpeg's description of an audio stream."""
    if description is None:
        return None, None
    rate = _SAMPLE_RATE.search(description)
    return description.split(",")[0].split(" ")[0].strip(), int(rate.group(1)) if rate else None


def probe_video(path: Path, settings: FfmpegSettings) -> Probe:
    """Describe a video and prove its last second decodes; VideoError says why not."""
    if path.stat().st_size == 0:
        raise VideoError("empty file (0 bytes)")
    tail = (
        ffmpeg.input(str(path), sseof=-1)
        .output("-", format="null", map="0:v:0?", **{"frames:v": 1})
        .global_args("-hide_banner", "-nostdin", "-threads", str(settings.threads))
        .compile(cmd=settings.binary)
    )
    result = _run(tail, settings.timeout_s)
    with open(path, "rb") as handle:
        head = handle.read(512)
    probe = parse_header(result.stderr, head)
    if math.isnan(probe.duration_s):
        probe = _with_decoded_duration(path, probe, settings)
    if probe.fps and probe.duration_s * probe.fps < 1.5:  # one picture, e.g. a GIF
        raise VideoError(STILL_IMAGE)
    decoded = _FRAMES_OUT.findall(result.stderr)
    if result.returncode != 0 or not decoded or int(decoded[-1]) < 1:
        raise VideoError("no decodable frame near the end (truncated or corrupt video)")
    return probe


def _with_decoded_duration(path: Path, probe: Probe, settings: FfmpegSettings) -> Probe:
    """Some streams state no duration; decode them once to measure it."""
    args = (
        ffmpeg.input(str(path))
        .output("-", format="null", map="0:v:0")
        .global_args("-hide_banner", "-nostdin", "-threads", str(settings.threads))
        .compile(cmd=settings.binary)
    )
    result = _run(args, settings.timeout_s)
    times = _TIME_OUT.findall(result.stderr)
    if not times:
        raise VideoError("duration unknown and the stream does not decode")
    frames = _FRAMES_OUT.findall(result.stderr)
    if frames and int(frames[-1]) <= 1:  # a one-frame GIF states no duration either
        raise VideoError(STILL_IMAGE)
    hours, minutes, seconds = times[-1]
    duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    return replace(probe, duration_s=duration)


@dataclass(frozen=True)
class ExtractionParams:
    """What decides which frames come out; a change means re-extraction."""

    interval_s: int = 1
    short_side: int = 256
    jpeg_quality: int = 3
    skip_nonref: bool = True

    def fingerprint(self) -> str:
        return (
            f"interval={self.interval_s};short_side={self.short_side};"
            f"q={self.jpeg_quality};skip_nonref={int(self.skip_nonref)}"
        )


def expected_frames(duration_s: float, interval_s: int) -> int:
    """Frames one-per-interval sampling yields: floor(duration / interval), at least one."""
    return max(1, math.floor(duration_s / interval_s))


def output_size(probe: Probe, short_side: int) -> tuple[int, int]:
    """The displayed size scaled so its short side is at most `short_side`, kept even."""
    width, height = probe.display_size
    scale = min(1.0, short_side / min(width, height))

    def even(value: float) -> int:
        return max(2, round(value / 2) * 2)

    return even(width * scale), even(height * scale)


def frame_outputs(out_dir: Path, size: tuple[int, int], params: ExtractionParams) -> list[str]:
    """The ffmpeg output that writes one JPEG per interval of the decoded video, `size`
    (width, height), into `out_dir` as 00000.jpg, 00001.jpg, … (collect_frames names
    them by their second). Any decoding can write it beside its other outputs."""
    width, height = size
    return ["-map", "0:v:0", "-vf",
            f"fps=fps=1/{params.interval_s},scale={width}:{height}:flags=area",
            "-fps_mode", "passthrough", "-q:v", str(params.jpeg_quality),
            "-start_number", "0", str(out_dir / "%05d.jpg")]


def collect_frames(out_dir: Path, interval_s: int) -> list[tuple[int, Path]]:
    """frame_outputs' JPEGs renamed <second:05d>.jpg, with their seconds, in time order."""
    written = sorted(out_dir.glob("*.jpg"))
    frames = []
    # Highest index first: a target name (index * interval) is never one still unread.
    for index in range(len(written) - 1, -1, -1):
        second = index * interval_s
        target = out_dir / f"{second:05d}.jpg"
        if written[index] != target:
            written[index].rename(target)
        frames.append((second, target))
    return frames[::-1]


def extract_frames(
    path: Path, probe: Probe, out_dir: Path, params: ExtractionParams, settings: FfmpegSettings,
    also: Sequence[str] = (),
) -> list[tuple[int, Path]]:
    """Write one JPEG per interval into `out_dir` as <second:05d>.jpg, rotation applied;
    `also`: further ffmpeg outputs the same decoding writes (a video's sound).

    `skip_nonref` lets the decoder skip frames no other frame depends on; a sampled
    frame then comes from at most a few frames off the exact second, and decoding is
    much faster. ffmpeg applies the display rotation itself (autorotate).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    skip = ["-skip_frame", "noref"] if params.skip_nonref else []
    command = [settings.binary, "-hide_banner", "-nostdin", "-v", "error",
               "-threads", str(settings.threads), *skip, "-i", str(path),
               *frame_outputs(out_dir, output_size(probe, params.short_side), params), *also]
    result = _run(command, settings.timeout_s)
    if result.returncode != 0 and not any(out_dir.glob("*.jpg")):
        message = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "no output"
        raise VideoError(f"ffmpeg failed to extract frames: {message}")
    return collect_frames(out_dir, params.interval_s)
