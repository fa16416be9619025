"""A report she can watch: her dance beside her teacher's, in one HTML file.

A score and a list of words say what differed; seeing it is what teaches. The report
shows her video beside the teacher's, kept in step through the alignment (her frame i
beside the teacher's frame `teacher_frames[i]`, whatever her tempo or offset), her limbs
coloured by how far each body part was from the teacher's, a timeline of the dance and
under it her hits against the beat (both seek the video where she clicks), and stills of
her weakest moments.

One file, opened straight from disk: she keeps it, mails it, opens it offline. So the
side-by-side video is composed here at the poses' rate from her time 0 (so her own
sound, muxed in the same ffmpeg pass, lines up as it is), encoded as H.264 (yuv420p,
faststart: every browser plays it, Debian's chromium included) and embedded as base64,
which the page makes a Blob: Chromium seeks a Blob URL like a file, a data: URL poorly.
The stills are JPEGs, the timeline and the beat grid inline SVG (score_report_page.py).
"""

from __future__ import annotations

import base64
import io
import math
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html import escape
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from dance_assets.core.ingest.dense_poses import DensePoses
from dance_assets.core.ingest.pose import CONNECTIONS, LANDMARK_NAMES
from dance_assets.core.lake.errors import DanceAssetsError
from dance_assets.core.lake.lake import atomic_write_text
from dance_assets.core.scoring.coaching import Feedback, Moment, MusicFeedback, offset_words
from dance_assets.core.scoring.movement import PART_NAMES, UNSEEN
from dance_assets.core.scoring.pair_alignment import PairAlignment
from dance_assets.core.scoring.score_report_page import (
    TEACHER_COLOUR,
    Colour,
    band_colour,
    beat_html,
    duration_of,
    hex_colour,
    limbs_legend_html,
    moment_words,
    page,
    score_colour,
    timeline_svg,
)
from dance_assets.core.scoring.skeletons import stick_figure

_OUTLINE = (20, 20, 20)
_BACKDROP = (28, 30, 36)  # around the frames, behind captions and the reference figure
_CAPTION_H = 22
_ENCODE_TIMEOUT_S = 300.0


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
# with its body part.
_BODY_BONES = tuple((a, b, _part_of(a, b)) for a, b in CONNECTIONS if min(a, b) >= 11)
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
        bones = [((xs[a], ys[a]), (xs[b], ys[b]), part) for a, b, part in _BODY_BONES
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
    """Her video file as the report's sound: AAC (what phones record) is copied as it
    is, any other codec encoded as AAC, so the side-by-side MP4 plays everywhere."""

    path: Path
    codec: str

    def audio_options(self) -> list[str]:
        return ["-c:a", "copy"] if self.codec == "aac" else ["-c:a", "aac", "-b:a", "128k"]


def encode_mp4(pictures: SideBySide, ffmpeg_binary: str,
               sound: Sound | None = None) -> SideBySideMp4:
    """H.264 MP4 of the side-by-side frames at the poses' rate, with `sound` over the
    span the pictures show: yuv420p and faststart so any browser plays it at once. A
    sound ffmpeg cannot read leaves the video silent rather than failing the report."""
    rate, start_s = pictures.student.rate, float(pictures.student.times[0])
    with tempfile.TemporaryDirectory(prefix="score-report-") as scratch:
        output = Path(scratch) / "side-by-side.mp4"
        if sound is not None:
            with_sound = ["-ss", f"{start_s:.3f}", "-t", f"{len(pictures) / rate:.3f}",
                          "-i", str(sound.path), "-map", "0:v:0", "-map", "1:a:0",
                          *sound.audio_options()]
            try:
                _encode(pictures.frames(), pictures.size, rate, ffmpeg_binary, with_sound,
                        output)
                return SideBySideMp4(output.read_bytes(), True)
            except DanceAssetsError:
                pass  # its sound, not the pictures: encoded again without it below
        _encode(pictures.frames(), pictures.size, rate, ffmpeg_binary, ["-an"], output)
        return SideBySideMp4(output.read_bytes(), False)


def _encode(frames: Iterable[Image.Image], size: tuple[int, int], rate: float,
            ffmpeg_binary: str, sound_options: list[str], output: Path) -> None:
    """Encode RGB frames (even `size`) into `output`, piped raw into ffmpeg's stdin so
    drawing and encoding run side by side; `sound_options` add the audio in the same
    pass (or -an for none)."""
    command = [ffmpeg_binary, "-hide_banner", "-nostdin", "-v", "error", "-y",
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
        _, error = encoder.communicate(timeout=_ENCODE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        encoder.kill()
        encoder.communicate()
        raise DanceAssetsError(f"ffmpeg took more than {_ENCODE_TIMEOUT_S:g} s to "
                               "encode the report's video") from None
    if encoder.returncode != 0:
        first = (error.decode(errors="replace").strip().splitlines() or ["no message"])[0]
        raise DanceAssetsError(f"ffmpeg could not encode the report's video: {first}")


def worst_frame(alignment: PairAlignment, moment: Moment) -> int:
    """Her frame in `moment` where its body part was farthest from the teacher's (a
    frame matched to the teacher's, where there is one)."""
    times = alignment.student.times
    inside = np.flatnonzero((times >= moment.start_s - 1e-6) & (times < moment.end_s - 1e-6))
    if len(inside) == 0:
        return int(np.argmin(np.abs(times - moment.start_s)))
    errors = alignment.part_errors[inside, PART_NAMES.index(moment.body_part)]
    errors = np.where(alignment.teacher_frames[inside] >= 0, errors, np.nan)
    if np.isnan(errors).all():
        return int(inside[0])
    return int(inside[np.nanargmax(errors)])


def jpeg_base64(image: Image.Image, quality: int = 85) -> str:
    """A still as base64 JPEG: video frames compress a fraction of PNG's size."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return base64.b64encode(buffer.getvalue()).decode()


def _parts_html(feedback: Feedback) -> str:
    """A small bar per body part, its score written beside it ("not seen" where the part
    never was)."""
    rows = []
    for part in PART_NAMES:
        score = feedback.body_parts.get(part)
        bar = (f'<span class="bar"><span style="width:{score}%;background:'
               f'{hex_colour(score_colour(score))}"></span></span>' if score is not None
               else '<span class="bar"></span>')
        value = f"{score}" if score is not None else "not seen"
        rows.append(f'<li data-part="{part}"><span class="part">{part}</span>{bar}'
                    f'<span class="value">{value}</span></li>')
    return f'<ul class="parts" aria-label="Score per body part">{"".join(rows)}</ul>'


def _music_html(music: MusicFeedback | None) -> str:
    """Her music's tempo and whether the teacher's video plays the same song, briefly."""
    if music is None or music.tempo_bpm is None:
        return ""
    song = {True: " · the same song as the teacher's video",
            False: " · not the song of the teacher's video", None: ""}[music.same_song]
    return f'<p id="music"><strong>Music:</strong> {music.tempo_bpm:.0f} bpm{song}</p>'


def _header_html(feedback: Feedback, music: MusicFeedback | None, student_name: str,
                 reference_name: str) -> str:
    """The score, what it was measured against, her timing, her music and whether she
    mirrored."""
    notes = [f'<p id="timing"><strong>Timing:</strong> {escape(feedback.timing_words())}</p>']
    if len(feedback.timing) > 1:
        stretches = "; ".join(f"{t.start_s:g}–{t.end_s:g} s {offset_words(t.offset_ms)}, "
                              f"{t.tempo:.2f}x" for t in feedback.timing)
        notes.append(f'<p class="small">{escape(stretches)}</p>')
    notes.append(_music_html(music))
    if feedback.mirrored:
        notes.append('<p id="mirrored">You danced as in a mirror of the teacher: that is '
                     "fine, you were compared with the teacher's mirror image.</p>")
    if not feedback.shares_a_dance:
        notes.append('<p class="warning">These two videos hardly share a dance: is this the '
                     "right reference?</p>")
    colour = hex_colour(score_colour(feedback.score))
    angle = (f" · body parts {feedback.error_deg:.0f}° from the teacher's on average"
             if math.isfinite(feedback.error_deg) else "")
    return (f'<header class="summary"><div class="score" style="border-color:{colour}" '
            f'role="img" aria-label="score {feedback.score} out of 100"><span id="score">'
            f'{feedback.score}</span><small>/ 100</small></div>'
            f'<div class="about"><h1>Your dance beside {escape(reference_name)}</h1>'
            f'<p class="small">{escape(student_name)} · {feedback.compared_s:g} of '
            f"{feedback.video_s:g} s compared{angle}</p>{''.join(notes)}</div>"
            f"{_parts_html(feedback)}</header>")


def _video_html(mp4: SideBySideMp4, size: tuple[int, int], reference_is_video: bool) -> str:
    """The video element and its bytes; the page's script makes them a Blob URL. Muted
    only where there is no sound: with her music, play plays it."""
    muted = "" if mp4.has_sound else " muted"
    return (f'<section aria-labelledby="watch"><h2 id="watch">Watch it side by side</h2>'
            f'<video id="side-by-side" width="{size[0]}" height="{size[1]}" controls{muted} '
            f'playsinline preload="auto" aria-label="You (left) beside the teacher (right), '
            f'in step"></video>'
            f'<noscript><p class="warning">Allow scripts to play the video.</p></noscript>'
            f"{limbs_legend_html(reference_is_video)}"
            f'<script type="application/octet-stream" id="side-by-side-mp4">'
            f"{base64.b64encode(mp4.data).decode()}</script></section>")


def _moment_button(moment: Moment, label: str, picture: str | None) -> str:
    """A button that plays `moment`: a still with its words, or its words alone."""
    words = escape(f"{label} {moment_words(moment)} (score {moment.score})".strip())
    image = f'<img src="data:image/jpeg;base64,{picture}" alt="{words}">' if picture else ""
    kind = "still" if picture else "moment-link"
    return (f'<button type="button" class="{kind}" data-start="{moment.start_s:.2f}" '
            f'aria-label="{words}. Play from here.">{image}'
            f"<span>{words}</span></button>")


def _stills_html(pictures: SideBySide, feedback: Feedback) -> str:
    """Her weakest moments at their worst frame beside the teacher's; her best in words."""
    stills = [_moment_button(moment, f"{n}.", jpeg_base64(pictures.frame(
        worst_frame(pictures.alignment, moment)))) for n, moment in
              enumerate(feedback.weakest, 1)]
    best = (f'<p class="best">Your best moment: {_moment_button(feedback.best, "", None)}</p>'
            if feedback.best else "")
    hint = "Each at its worst frame. Click one to watch it." if stills \
        else "None: no stretch of your dance stood out from the rest."
    return (f'<section aria-labelledby="weakest"><h2 id="weakest">Your weakest moments</h2>'
            f'<p class="small">{hint}</p>'
            f'<div class="stills">{"".join(stills)}</div>{best}</section>')




def write_report(path: Path, student: DensePoses, teacher: DensePoses | None,
                 alignment: PairAlignment, feedback: Feedback, *, student_name: str,
                 reference_name: str, ffmpeg_binary: str, music: MusicFeedback | None = None,
                 sound: Sound | None = None) -> Path:
    """Write her report, one self-contained HTML file (module docstring), at `path`.

    `student` and `teacher` must be read with keep_frames=True; `teacher` is None where
    the reference is an averaged routine without a video, whose matched stick figure is
    drawn instead. `music` is her hits against her music's beat (None: no music judged);
    `sound` is her video's audio, which plays in the side-by-side video (None: it plays
    silent). Written under a temporary name and renamed:
    never half a file.
    """
    pictures = SideBySide(student, teacher, alignment)
    mp4 = encode_mp4(pictures, ffmpeg_binary, sound)
    body = (_header_html(feedback, music, student_name, reference_name)
            + _video_html(mp4, pictures.size, teacher is not None)
            + '<section aria-labelledby="over-time"><h2 id="over-time">Over time</h2>'
            + '<p class="small">Each body part, half a second at a time. Click anywhere '
            + "to watch from there.</p>"
            + timeline_svg(alignment, feedback) + beat_html(music, duration_of(alignment))
            + "</section>" + _stills_html(pictures, feedback))
    return atomic_write_text(path, page(f"{student_name}: {feedback.score}/100 beside "
                                        f"{reference_name}", body))
