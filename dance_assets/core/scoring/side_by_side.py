"""The report's side-by-side video: her frame beside the teacher's matched frame (or the
reference's stick figure), her limbs coloured by how far each body part was from the
teacher's, encoded as H.264 with her own sound muxed in the same ffmpeg pass.

Composed at the poses' rate from her time 0, so her sound lines up as it is; yuv420p and
faststart, so every browser plays it (Debian's chromium included). The stills are the
same pictures, so the video and the stills always agree.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from dance_assets.core.ingest.dense_poses import DensePoses
from dance_assets.core.ingest.pose import CONNECTIONS, LANDMARK_NAMES
from dance_assets.core.ingest.skeletons import stick_figure
from dance_assets.core.ingest.video import FfmpegSettings
from dance_assets.core.lake.errors import DanceAssetsError
from dance_assets.core.performance.movement import PART_NAMES, UNSEEN
from dance_assets.core.scoring.pair_alignment import PairAlignment
from dance_assets.core.scoring.score_report_page import TEACHER_COLOUR, Colour, band_colour

_OUTLINE = (20, 20, 20)
_BACKDROP = (28, 30, 36)  # around the frames, behind captions and the reference figure
_CAPTION_H = 22


def _part_of(a: int, b: int) -> int:
    """The body part (position in PART_NAMES) that a bone of MediaPipe's belongs to, read
    from its landmarks' names: shoulder and hip lines are torso, the rest an arm or leg."""
    names = LANDMARK_NAMES[a], LANDMARK_NAMES[b]
    if all(name.split("_")[1] in ("shoulder", "hip") for name in names):
        return PART_NAMES.index("torso")
    side, joint = names[1].split("_")[:2]
    limb = "leg" if joint in ("knee", "ankle", "heel", "foot") else "arm"
    return PART_NAMES.index(f"{side} {limb}")


# The body's bones (the face's small ones left out: the neck stands for the head), each
# with its body part (its position in PART_NAMES): what the report's video and the
# studio's live skeleton draw.
BODY_BONES = tuple((a, b, _part_of(a, b)) for a, b in CONNECTIONS if min(a, b) >= 11)
_HEAD = PART_NAMES.index("head")
_NOSE, _SHOULDERS = 0, (11, 12)


def _even(value: int) -> int:
    return value + value % 2


class SideBySide:
    """Her frame beside the teacher's matched frame, both skeletons drawn: the picture
    the video plays and the stills show, so the two always agree."""

    def __init__(self, student: DensePoses, teacher: DensePoses | None,
                 alignment: PairAlignment) -> None:
        if not student.frames or (teacher is not None and not teacher.frames):
            raise DanceAssetsError("a report needs the videos' frames: read them with "
                                   "read_video(..., keep_frames=True)")
        if len(student.frames) != len(alignment.teacher_frames):
            raise DanceAssetsError("her frames and the alignment do not match in length")
        self.student, self.teacher, self.alignment = student, teacher, alignment
        self.flip = teacher is not None and alignment.mirrored
        right = (teacher.width, teacher.height) if teacher else (student.width, student.height)
        self.panel_h = max(student.height, right[1])
        self.size = (_even(student.width + right[0]), _even(self.panel_h + _CAPTION_H))
        self.right_x = student.width
        self.right_size = right
        self.line = max(2, round(self.panel_h / 120))
        self.font = ImageFont.load_default(size=13)
        self.blank = np.empty((self.size[1], self.size[0], 3), np.uint8)
        self.blank[:] = _BACKDROP

    def __len__(self) -> int:
        return len(self.student.frames)

    def frame(self, index: int) -> Image.Image:
        """Frame `index` of her video, composed with the teacher's match and captions."""
        canvas = self.blank.copy()
        mine = self.student.frames[index]
        top = _CAPTION_H + (self.panel_h - mine.shape[0]) // 2
        canvas[top:top + mine.shape[0], :mine.shape[1]] = mine
        match = int(self.alignment.teacher_frames[index])
        if self.teacher is not None and match >= 0:
            theirs = self.teacher.frames[match][:, ::-1] if self.flip \
                else self.teacher.frames[match]
            their_top = _CAPTION_H + (self.panel_h - theirs.shape[0]) // 2
            canvas[their_top:their_top + theirs.shape[0],
                   self.right_x:self.right_x + theirs.shape[1]] = theirs
        image = Image.fromarray(canvas)
        draw = ImageDraw.Draw(image)
        colours = [band_colour(e) for e in self.alignment.part_errors[index]]
        self._draw_body(draw, self.student, index, 0, top, colours, flip=False)
        if match >= 0:
            self._draw_match(draw, match)
        self._caption(draw, index, match)
        return image

    def _draw_match(self, draw: ImageDraw.ImageDraw, match: int) -> None:
        """The teacher's skeleton over the teacher's frame, or the reference's stick figure
        where the reference is an averaged routine without a video."""
        if self.teacher is not None:
            top = _CAPTION_H + (self.panel_h - self.teacher.height) // 2
            self._draw_body(draw, self.teacher, match, self.right_x, top,
                            [TEACHER_COLOUR] * len(PART_NAMES), flip=self.flip)
            return
        skeleton = self.alignment.teacher.skeletons[match]  # as compared: mirrored if she was
        if np.isnan(skeleton).any():
            return
        scale = self.panel_h / 4.4  # a body spans about 4 torso lengths
        centre = (self.right_x + self.right_size[0] / 2,
                  _CAPTION_H + self.panel_h / 2 + 0.2 * scale)
        stick_figure(draw, skeleton, centre, scale, TEACHER_COLOUR)

    def _draw_body(self, draw: ImageDraw.ImageDraw, poses: DensePoses, index: int, left: int,
                   top: int, colours: list[Colour], *, flip: bool) -> None:
        """One skeleton over its panel, each bone in its body part's colour on a dark
        outline (legible on any clothes); bones with an unseen end are left out."""
        x, y = poses.x[index], poses.y[index]
        if np.isnan(x[0]):
            return
        xs = left + (1 - x if flip else x) * poses.width
        ys = top + y * poses.height
        seen = np.nan_to_num(poses.visibility[index]) >= UNSEEN
        neck = (xs[list(_SHOULDERS)].mean(), ys[list(_SHOULDERS)].mean())
        bones = [((xs[a], ys[a]), (xs[b], ys[b]), part) for a, b, part in BODY_BONES
                 if seen[a] and seen[b]]
        if seen[_NOSE] and seen[list(_SHOULDERS)].all():
            bones.append((neck, (xs[_NOSE], ys[_NOSE]), _HEAD))
        for width, coloured in ((self.line + 2, False), (self.line, True)):
            for start, end, part in bones:
                draw.line([start, end], fill=colours[part] if coloured else _OUTLINE,
                          width=width)
        if seen[_NOSE]:
            r = self.line + 1
            draw.ellipse([xs[_NOSE] - r, ys[_NOSE] - r, xs[_NOSE] + r, ys[_NOSE] + r],
                         fill=colours[_HEAD], outline=_OUTLINE)

    def _caption(self, draw: ImageDraw.ImageDraw, index: int, match: int) -> None:
        """Whose frame is whose, and the time in each video: above the frames, where
        the video's controls do not cover it."""
        y = 4
        draw.text((6, y), f"you  {self.student.times[index]:5.1f} s", fill=(235, 235, 235),
                  font=self.font)
        if match < 0:
            words = "no match here"
        elif self.teacher is None:
            words = f"reference  {self.alignment.teacher.times[match]:5.1f} s"
            words += ", as in a mirror" if self.alignment.mirrored else ""
        else:
            words = f"teacher  {self.teacher.times[match]:5.1f} s"
            words += ", flipped as in a mirror" if self.flip else ""
        draw.text((self.right_x + 6, y), words, fill=(235, 235, 235), font=self.font)

    def frames(self) -> Iterator[Image.Image]:
        return (self.frame(index) for index in range(len(self)))


@dataclass(frozen=True)
class SideBySideMp4:
    """The report's video: its MP4 bytes, and whether her sound plays in it."""

    data: bytes
    has_sound: bool


@dataclass(frozen=True)
class Sound:
    """Her video's sound as AAC (ADTS), as her performance was read with it
    (core/performance/performance.py): copied into the report's MP4 as it is, so the
    report reads nothing of her video file again."""

    aac: bytes


def encode_mp4(pictures: SideBySide, ffmpeg: FfmpegSettings,
               sound: Sound | None = None) -> SideBySideMp4:
    """H.264 MP4 of the side-by-side frames at the poses' rate, with `sound` over the
    span the pictures show: yuv420p and faststart so any browser plays it at once. A
    sound ffmpeg cannot read leaves the video silent rather than failing the report."""
    rate, start_s = pictures.student.rate, float(pictures.student.times[0])
    with tempfile.TemporaryDirectory(prefix="score-report-") as scratch:
        output = Path(scratch) / "side-by-side.mp4"
        if sound is not None:
            heard = Path(scratch) / "sound.aac"
            heard.write_bytes(sound.aac)
            with_sound = ["-ss", f"{start_s:.3f}", "-t", f"{len(pictures) / rate:.3f}",
                          "-f", "aac", "-i", str(heard), "-map", "0:v:0", "-map", "1:a:0",
                          "-c:a", "copy"]
            try:
                _encode(pictures.frames(), pictures.size, rate, ffmpeg, with_sound, output)
                return SideBySideMp4(output.read_bytes(), True)
            except DanceAssetsError:
                pass  # its sound, not the pictures: encoded again without it below
        _encode(pictures.frames(), pictures.size, rate, ffmpeg, ["-an"], output)
        return SideBySideMp4(output.read_bytes(), False)


def _encode(frames: Iterable[Image.Image], size: tuple[int, int], rate: float,
            ffmpeg: FfmpegSettings, sound_options: list[str], output: Path) -> None:
    """Encode RGB frames (even `size`) into `output`, piped raw into ffmpeg's stdin so
    drawing and encoding run side by side; `sound_options` add the audio in the same
    pass (or -an for none)."""
    command = [ffmpeg.binary, "-hide_banner", "-nostdin", "-v", "error", "-y",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{size[0]}x{size[1]}",
               "-r", f"{rate:g}", "-i", "pipe:0", *sound_options, "-c:v", "libx264",
               "-preset", "veryfast", "-crf", "26", "-g", str(max(1, round(2 * rate))),
               "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4", str(output)]
    encoder = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    assert encoder.stdin is not None
    try:
        for frame in frames:
            encoder.stdin.write(frame.tobytes())
    except BrokenPipeError:
        pass  # ffmpeg stopped early: its message says why
    except BaseException:
        encoder.kill()
        encoder.communicate()
        raise
    try:
        _, error = encoder.communicate(timeout=ffmpeg.timeout_s)
    except subprocess.TimeoutExpired:
        encoder.kill()
        encoder.communicate()
        raise DanceAssetsError(f"ffmpeg took more than {ffmpeg.timeout_s:g} s to "
                               "encode the report's video") from None
    if encoder.returncode != 0:
        first = (error.decode(errors="replace").strip().splitlines() or ["no message"])[0]
        raise DanceAssetsError(f"ffmpeg could not encode the report's video: {first}")
