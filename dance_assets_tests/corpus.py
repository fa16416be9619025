"""Awkward inputs made with the bundled ffmpeg at test time (nothing large is committed).

Each entry says what the pipeline must make of it: `ok` (with its displayed frame
orientation) or `rejected` / `duplicate` with a phrase its reason must contain.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Expectation:
    status: str
    reason: str | None = None  # a phrase the recorded reason must contain
    landscape: bool | None = None  # for ok videos: frames wider than tall


def _ffmpeg(ffmpeg: str, *args: str) -> None:
    subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-y", *args], check=True)


def _source(size: str, seconds: float, rate: int = 30) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}"]


H264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
PORTRAIT = Expectation("ok", landscape=False)
Add = Callable[[Path, Expectation], None]


def build_awkward_corpus(ffmpeg: str, raw: Path, outside: Path) -> dict[str, Expectation]:
    """Write the corpus under raw/<class>/...; returns expectations keyed by lake path."""
    expect: dict[str, Expectation] = {}
    a, b = raw / "awkward_a", raw / "awkward_b"
    for folder in (a, b, a / "nested" / "deeper", outside):
        folder.mkdir(parents=True, exist_ok=True)

    def add(path: Path, expectation: Expectation) -> None:
        expect[f"raw/{path.relative_to(raw).as_posix()}"] = expectation

    _playable_videos(ffmpeg, a, b, add)
    _files_that_are_no_video(ffmpeg, a, b, add)
    _copies_and_links(ffmpeg, a, b, outside, add)
    _junk_that_is_not_listed(a)
    return expect


def _playable_videos(ffmpeg: str, a: Path, b: Path, add: Add) -> None:
    """Containers, codecs, orientations, rates and names a phone or a download gives."""
    _ffmpeg(ffmpeg, *_source("180x320", 3), *H264, str(a / "mp4_h264.mp4"))
    add(a / "mp4_h264.mp4", PORTRAIT)
    _ffmpeg(ffmpeg, *_source("180x320", 2), "-c:v", "libvpx-vp9", "-deadline", "realtime",
            "-cpu-used", "8", "-b:v", "200k", str(a / "webm_vp9.webm"))
    add(a / "webm_vp9.webm", PORTRAIT)
    _ffmpeg(ffmpeg, *_source("180x320", 2), *H264, str(a / "matroska.mkv"))
    add(a / "matroska.mkv", PORTRAIT)
    # A phone held upright records landscape pixels plus a display rotation.
    _ffmpeg(ffmpeg, *_source("320x180", 2), *H264, str(b / "landscape.mov"))
    _ffmpeg(ffmpeg, "-display_rotation", "90", "-i", str(b / "landscape.mov"), "-c", "copy",
            str(a / "rotated.mov"))
    (b / "landscape.mov").unlink()
    add(a / "rotated.mov", PORTRAIT)
    _ffmpeg(ffmpeg, *_source("320x180", 2), "-c:v", "mjpeg", "-q:v", "5", str(a / "mjpeg.avi"))
    add(a / "mjpeg.avi", Expectation("ok", landscape=True))
    _ffmpeg(ffmpeg, *_source("180x320", 2), "-c:v", "libx264", "-preset", "ultrafast",
            "-pix_fmt", "yuv420p10le", str(a / "ten_bit.mp4"))
    add(a / "ten_bit.mp4", PORTRAIT)
    _ffmpeg(ffmpeg, *_source("180x320", 3),
            "-vf", r"select='lt(mod(n\,7)\,3)+lt(n\,10)'", "-fps_mode", "vfr", *H264,
            str(a / "variable_rate.mp4"))
    add(a / "variable_rate.mp4", PORTRAIT)
    _ffmpeg(ffmpeg, *_source("180x320", 0.5), *H264, str(a / "half_second.mp4"))
    add(a / "half_second.mp4", PORTRAIT)
    _ffmpeg(ffmpeg, *_source("3840x2160", 1, rate=5), *H264, str(a / "uhd_4k.mp4"))
    add(a / "uhd_4k.mp4", Expectation("ok", landscape=True))
    _ffmpeg(ffmpeg, *_source("180x320", 1), *H264, str(a / "nested" / "deeper" / "nested.mp4"))
    add(a / "nested" / "deeper" / "nested.mp4", PORTRAIT)
    for index, odd in enumerate(("Zoë Ünïcode.mp4", "with space__take 2.mp4",
                                 "it's \"quoted\".mp4")):
        _ffmpeg(ffmpeg, *_source("180x320", 1 + index, rate=24), *H264, str(a / odd))
        add(a / odd, PORTRAIT)
    _ffmpeg(ffmpeg, *_source("180x320", 2), *H264, str(b / "fine.mp4"))
    add(b / "fine.mp4", PORTRAIT)


def _files_that_are_no_video(ffmpeg: str, a: Path, b: Path, add: Add) -> None:
    """Sound, nothing, text, pictures and videos cut short: each rejected with its reason."""
    _ffmpeg(ffmpeg, "-f", "lavfi", "-i", "sine=duration=2", "-c:a", "aac", str(a / "song.m4a"))
    add(a / "song.m4a", Expectation("rejected", "audio only"))
    _ffmpeg(ffmpeg, "-f", "lavfi", "-i", "sine=duration=2", "-c:a", "aac", "-f", "mp4",
            str(a / "audio_in.mp4"))
    add(a / "audio_in.mp4", Expectation("rejected", "audio only"))
    (a / "zero_bytes.mp4").write_bytes(b"")
    add(a / "zero_bytes.mp4", Expectation("rejected", "empty file"))
    (a / "notes.mp4").write_text("this is not a video\n")
    add(a / "notes.mp4", Expectation("rejected", "plain text"))
    # Pictures dropped among the videos, one named as if it were a video.
    for still in ("photo.jpg", "screenshot.png", "sticker.gif", "frame_grab.mp4"):
        _ffmpeg(ffmpeg, *_source("180x320", 1), "-frames:v", "1",
                *(["-f", "image2", "-c:v", "png"] if still.endswith(".mp4") else []),
                str(a / still))
        add(a / still, Expectation("rejected", "a still image, not a video"))
    _ffmpeg(ffmpeg, *_source("180x320", 3), *H264, "-movflags", "+faststart", str(b / "whole.mp4"))
    data = (b / "whole.mp4").read_bytes()
    (a / "truncated.mp4").write_bytes(data[: len(data) // 3])
    (b / "whole.mp4").unlink()
    add(a / "truncated.mp4", Expectation("rejected", "truncated"))
    _ffmpeg(ffmpeg, *_source("180x320", 3), *H264, str(b / "no_index.mp4"))
    data = (b / "no_index.mp4").read_bytes()
    (a / "cut_short.mp4").write_bytes(data[: len(data) // 2])
    (b / "no_index.mp4").unlink()
    add(a / "cut_short.mp4", Expectation("rejected", "moov atom not found"))


def _copies_and_links(ffmpeg: str, a: Path, b: Path, outside: Path, add: Add) -> None:
    """The same video twice, in one class and in two, and links that lead astray."""
    # One video in two classes: its label is ambiguous, so both copies are flagged.
    _ffmpeg(ffmpeg, *_source("180x320", 2, rate=25), *H264, str(a / "shared.mp4"))
    shutil.copy(a / "shared.mp4", b / "shared_copy.mp4")
    add(a / "shared.mp4", Expectation("duplicate", "another class"))
    add(b / "shared_copy.mp4", Expectation("duplicate", "another class"))
    # Within one class the second copy is the duplicate.
    shutil.copy(a / "mp4_h264.mp4", a / "mp4_h264_again.mp4")
    add(a / "mp4_h264_again.mp4", Expectation("duplicate", "same content as"))
    _ffmpeg(ffmpeg, *_source("180x320", 1), *H264, str(outside / "secret.mp4"))
    os.symlink(outside / "secret.mp4", a / "escape.mp4")
    add(a / "escape.mp4", Expectation("rejected", "outside raw/"))
    os.symlink(a / "missing.mp4", a / "dangling.mp4")
    add(a / "dangling.mp4", Expectation("rejected", "broken symlink"))


def _junk_that_is_not_listed(a: Path) -> None:
    """What file managers, downloads and the generator leave beside videos: never a row."""
    for junk in (".DS_Store", "._mp4_h264.mp4", "Thumbs.db", "desktop.ini", ".hidden.mp4",
                 "download.mp4.part", "p01.truth.json"):
        (a / junk).write_bytes(b"junk")
    (a / "__MACOSX").mkdir()
    (a / "__MACOSX" / "p01.mp4").write_bytes(b"junk")
