"""A report she can watch: her dance beside her teacher's, in one HTML file.

A score and a list of words say what differed; seeing it is what teaches. The report
shows her video beside the teacher's, kept in step through the alignment (her frame i
beside the teacher's frame `teacher_frames[i]`, whatever her tempo or offset), her limbs
coloured by how far each body part was from the teacher's at that moment, a timeline of
the whole dance that seeks the video where she clicks, and stills of her weakest moments.

One file, opened straight from disk: she keeps it, mails it, opens it offline; nothing
is served or fetched. So the side-by-side video is composed here, at the poses' rate,
encoded as H.264 (yuv420p, faststart: every browser plays it, Debian's chromium
included, as the browser test checks) and embedded as base64, which the page turns
into a Blob: Chromium seeks a Blob URL like a file, a data: URL video poorly. The
timeline is inline SVG and the stills are JPEGs, so no picture needs a script.
"""

from __future__ import annotations

import base64
import io
import math
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from html import escape
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from dance_assets.core.coaching import Feedback, Moment, frame_errors, offset_words, score_of
from dance_assets.core.dense_poses import DensePoses
from dance_assets.core.errors import DanceAssetsError
from dance_assets.core.lake import atomic_write_text
from dance_assets.core.movement import PART_NAMES, UNSEEN
from dance_assets.core.pair_alignment import PairAlignment
from dance_assets.core.pose import CONNECTIONS, LANDMARK_NAMES
from dance_assets.core.skeletons import stick_figure

# A body part within GOOD_DEG of the teacher's is green, within FAIR_DEG amber, beyond
# red: about what a teacher lets pass, corrects, and calls wrong (score 95 and 50).
GOOD_DEG, FAIR_DEG = 15.0, 30.0
Colour = tuple[int, int, int]
GREEN, AMBER, RED, GREY = (38, 166, 74), (242, 163, 13), (222, 53, 53), (150, 150, 150)
TEACHER_COLOUR = (240, 240, 240)  # neutral: the teacher's skeleton is the yardstick
_OUTLINE = (20, 20, 20)
_BACKDROP = (28, 30, 36)  # around the frames, behind captions and the reference figure
_CAPTION_H = 22
CELL_S = 0.5  # the timeline's resolution: a cell is half a second of her video
_ENCODE_TIMEOUT_S = 300.0


def band_colour(error_deg: float) -> Colour:
    """Green, amber or red for a body part's angle from the teacher's; grey where it was
    not compared."""
    if not math.isfinite(error_deg):
        return GREY
    return GREEN if error_deg < GOOD_DEG else AMBER if error_deg < FAIR_DEG else RED


def score_colour(score: int | None) -> Colour:
    """The band of a 0-100 score, on the same thresholds as the limbs' colours."""
    if score is None:
        return GREY
    return GREEN if score >= score_of(GOOD_DEG) else AMBER if score >= score_of(FAIR_DEG) \
        else RED


def _hex(colour: Colour) -> str:
    return "#{:02x}{:02x}{:02x}".format(*colour)


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


def encode_mp4(frames: Iterable[Image.Image], size: tuple[int, int], rate: float,
               ffmpeg_binary: str) -> bytes:
    """H.264 MP4 bytes of RGB frames (even `size`), piped raw into ffmpeg's stdin so
    drawing and encoding run side by side; yuv420p and faststart so any browser plays
    it and starts at once."""
    with tempfile.TemporaryDirectory(prefix="score-report-") as scratch:
        output = Path(scratch) / "side-by-side.mp4"
        command = [ffmpeg_binary, "-hide_banner", "-nostdin", "-v", "error", "-y",
                   "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{size[0]}x{size[1]}",
                   "-r", f"{rate:g}", "-i", "pipe:0", "-an", "-c:v", "libx264",
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
        return output.read_bytes()


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


# The timeline's drawing, in SVG user units (the page scales it to its width).
TIMELINE_ROWS = ("overall", *PART_NAMES)
_TL_WIDTH, _TL_X0, _TL_X1 = 960, 84, 940
_ROW_H, _LANE_H, _AXIS_H = 18, 17, 22
_CHAR_W = 6.6  # a 12 px label's mean character width
_NOT_COMPARED = "#dedee3"


def _x(seconds: float, duration_s: float) -> float:
    return _TL_X0 + (_TL_X1 - _TL_X0) * min(max(seconds / duration_s, 0.0), 1.0)


def cell_means(values: np.ndarray, times: np.ndarray, cells: int) -> np.ndarray:
    """frames × rows values → cells × rows: the mean in each CELL_S of her video over the
    values present (NaN where none is)."""
    index = np.minimum(np.floor(times / CELL_S + 1e-9).astype(np.int64), cells - 1)
    present = ~np.isnan(values)
    sums = np.zeros((cells, values.shape[1]))
    counts = np.zeros((cells, values.shape[1]))
    np.add.at(sums, index, np.where(present, values, 0.0))
    np.add.at(counts, index, present)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan)


def _rows_svg(alignment: PairAlignment, duration_s: float, top: float) -> str:
    """One row per body part and one overall, half-second cells in the limbs' colours,
    each with its score as a tooltip."""
    errors = np.column_stack([frame_errors(alignment.part_errors), alignment.part_errors])
    cells = max(1, math.ceil(duration_s / CELL_S - 1e-9))
    means = cell_means(errors, alignment.student.times, cells)
    out = []
    for row, name in enumerate(TIMELINE_ROWS):
        y = top + row * _ROW_H
        out.append(f'<text class="row-label" x="{_TL_X0 - 8}" y="{y + 13}">{name}</text>')
        for cell in range(cells):
            start = cell * CELL_S
            x0, x1 = _x(start, duration_s), _x(start + CELL_S, duration_s)
            error = float(means[cell, row])
            fill = _hex(band_colour(error)) if math.isfinite(error) else _NOT_COMPARED
            tip = (f"{score_of(error)}/100, {error:.0f}° from the teacher"
                   if math.isfinite(error) else "not compared")
            out.append(f'<rect x="{x0:.1f}" y="{y + 1}" width="{x1 - x0 + 0.4:.1f}" '
                       f'height="{_ROW_H - 2}" fill="{fill}"><title>{name}, '
                       f'{start:.1f}–{start + CELL_S:.1f} s: {tip}</title></rect>')
    return "".join(out)


def _axis_svg(duration_s: float, y: float) -> str:
    """Seconds under the rows, a tick every 1, 2, 5, 10… s: a dozen at most."""
    step = next(s for s in (1, 2, 5, 10, 15, 30, 60, 120, 300) if duration_s / s <= 12)
    out = [f'<line class="axis" x1="{_TL_X0}" x2="{_TL_X1}" y1="{y}" y2="{y}"/>']
    for second in np.arange(0, duration_s + 1e-9, step):
        x = _x(float(second), duration_s)
        out.append(f'<line class="axis" x1="{x:.1f}" x2="{x:.1f}" y1="{y}" y2="{y + 4}"/>'
                   f'<text class="tick" x="{x:.1f}" y="{y + 16}">{second:g} s</text>')
    return "".join(out)


def _placed_labels(moments: list[tuple[Moment, str]], duration_s: float
                   ) -> list[tuple[float, int]]:
    """For each (moment, label): where its label starts and its lane above the rows (0
    nearest), so that no two labels overlap; labels are placed left to right."""
    placed: dict[int, tuple[float, int]] = {}
    lane_ends: list[float] = []
    for k in sorted(range(len(moments)), key=lambda k: moments[k][0].start_s):
        moment, label = moments[k]
        width = _CHAR_W * len(label) + 10
        x = max(_TL_X0, min(_x(moment.start_s, duration_s), _TL_X1 - width))
        lane = next((i for i, end in enumerate(lane_ends) if end < x), len(lane_ends))
        lane_ends[lane:lane + 1] = [x + width]
        placed[k] = (x, lane)
    return [placed[k] for k in range(len(moments))]


def moment_words(moment: Moment) -> str:
    return f"{moment.start_s:.1f}–{moment.end_s:.1f} s: {moment.what}"


def _moment_svg(moment: Moment, kind: str, label: str, place: tuple[float, int],
                duration_s: float, top: float) -> tuple[str, str]:
    """A moment's span over the rows with a stem up to its lane, and its label: apart,
    so that every label can be drawn over every stem. A click or Enter plays it."""
    x0, x1 = _x(moment.start_s, duration_s), _x(moment.end_s, duration_s)
    label_x, lane = place
    label_y = top - 6 - lane * _LANE_H
    rows_h = len(TIMELINE_ROWS) * _ROW_H
    words = escape(f"{'Weak' if kind == 'weak' else 'Best'} moment, {moment_words(moment)}"
                   f" (score {moment.score}). Play from here.")
    seek = f'data-start="{moment.start_s:.2f}" data-end="{moment.end_s:.2f}"'
    mark = (f'<g class="moment {kind}" {seek} tabindex="0" role="button" '
            f'aria-label="{words}"><title>{words}</title>'
            f'<rect class="span" x="{x0:.1f}" y="{top - 1}" width="{max(x1 - x0, 2):.1f}" '
            f'height="{rows_h + 2}"/>'
            f'<line class="stem" x1="{x0:.1f}" x2="{x0:.1f}" y1="{label_y + 4}" y2="{top}"/>'
            f"</g>")
    text = (f'<text class="moment-label {kind}" {seek} aria-hidden="true" '
            f'x="{label_x + 3:.1f}" y="{label_y}">{escape(label)}</text>')
    return mark, text


def timeline_svg(alignment: PairAlignment, feedback: Feedback) -> str:
    """Her whole video at a glance: how close each body part was, half a second at a
    time, her weak moments and her best marked; the page seeks the video on a click."""
    duration_s = len(alignment.student.times) / alignment.student.rate
    moments = [(m, "weak", f"{n}. {m.what}") for n, m in enumerate(feedback.weakest, 1)]
    if feedback.best is not None:
        moments.append((feedback.best, "best", "best"))
    places = _placed_labels([(m, label) for m, _, label in moments], duration_s)
    top = max((lane + 1 for _, lane in places), default=0) * _LANE_H + 6
    rows_h = len(TIMELINE_ROWS) * _ROW_H
    drawn = [_moment_svg(m, kind, label, place, duration_s, top)
             for (m, kind, label), place in zip(moments, places, strict=True)]
    marks = "".join(mark for mark, _ in drawn) + "".join(text for _, text in drawn)
    height = top + rows_h + _AXIS_H
    return (f'<svg id="timeline" viewBox="0 0 {_TL_WIDTH} {height}" width="100%" '
            f'data-duration="{duration_s:.3f}" data-x0="{_TL_X0}" data-x1="{_TL_X1}" '
            f'role="group" aria-label="Timeline of your video: click to play from there">'
            f"{_rows_svg(alignment, duration_s, top)}{_axis_svg(duration_s, top + rows_h + 2)}"
            f"{marks}"
            f'<line id="playhead" x1="{_TL_X0}" x2="{_TL_X0}" y1="{top - 3}" '
            f'y2="{top + rows_h + 3}"/></svg>')


def _parts_html(feedback: Feedback) -> str:
    """A small bar per body part, its score written beside it ("not seen" where the part
    never was)."""
    rows = []
    for part in PART_NAMES:
        score = feedback.body_parts.get(part)
        bar = (f'<span class="bar"><span style="width:{score}%;background:'
               f'{_hex(score_colour(score))}"></span></span>' if score is not None
               else '<span class="bar"></span>')
        value = f"{score}" if score is not None else "not seen"
        rows.append(f'<li data-part="{part}"><span class="part">{part}</span>{bar}'
                    f'<span class="value">{value}</span></li>')
    return f'<ul class="parts" aria-label="Score per body part">{"".join(rows)}</ul>'


def _header_html(feedback: Feedback, student_name: str, reference_name: str) -> str:
    """The score, what it was measured against, her timing and whether she mirrored."""
    notes = [f'<p id="timing"><strong>Timing:</strong> {escape(feedback.timing_words())}</p>']
    if len(feedback.timing) > 1:
        stretches = "; ".join(f"{t.start_s:g}–{t.end_s:g} s {offset_words(t.offset_ms)}, "
                              f"{t.tempo:.2f}x" for t in feedback.timing)
        notes.append(f'<p class="small">{escape(stretches)}</p>')
    if feedback.mirrored:
        notes.append('<p id="mirrored">You danced as in a mirror of the teacher: that is '
                     "fine, you were compared with the teacher's mirror image.</p>")
    if not feedback.shares_a_dance:
        notes.append('<p class="warning">These two videos hardly share a dance: is this the '
                     "right reference?</p>")
    colour = _hex(score_colour(feedback.score))
    angle = (f" · body parts {feedback.error_deg:.0f}° from the teacher's on average"
             if math.isfinite(feedback.error_deg) else "")
    return (f'<header class="summary"><div class="score" style="border-color:{colour}" '
            f'role="img" aria-label="score {feedback.score} out of 100"><span id="score">'
            f'{feedback.score}</span><small>/ 100</small></div>'
            f'<div class="about"><h1>Your dance beside {escape(reference_name)}</h1>'
            f'<p class="small">{escape(student_name)} · {feedback.compared_s:g} of '
            f"{feedback.video_s:g} s compared{angle}</p>{''.join(notes)}</div>"
            f"{_parts_html(feedback)}</header>")


def _legend_html(reference_is_video: bool) -> str:
    keys = [(GREEN, f"within {GOOD_DEG:g}°"), (AMBER, f"{GOOD_DEG:g}–{FAIR_DEG:g}°"),
            (RED, f"over {FAIR_DEG:g}°"), (GREY, "not compared"),
            (TEACHER_COLOUR, "the teacher" if reference_is_video else "the reference")]
    return ('<p class="legend">Your limbs, by their angle from the teacher\'s: ' + "".join(
        f'<span><i style="background:{_hex(colour)}"></i>{escape(words)}</span>'
        for colour, words in keys) + "</p>")


def _video_html(mp4: bytes, size: tuple[int, int], reference_is_video: bool) -> str:
    """The video element and its bytes; the page's script makes them a Blob URL."""
    return (f'<section aria-labelledby="watch"><h2 id="watch">Watch it side by side</h2>'
            f'<video id="side-by-side" width="{size[0]}" height="{size[1]}" controls muted '
            f'playsinline preload="auto" aria-label="You (left) beside the teacher (right), '
            f'in step"></video>'
            f'<noscript><p class="warning">Allow scripts to play the video.</p></noscript>'
            f"{_legend_html(reference_is_video)}"
            f'<script type="application/octet-stream" id="side-by-side-mp4">'
            f"{base64.b64encode(mp4).decode()}</script></section>")


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


_STYLE = """
:root { color-scheme: light; --ink: #1d1f24; --muted: #5b616e; --line: #d9dce3; }
* { box-sizing: border-box; }
body { font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--ink); background: #f6f7f9; margin: 0; }
main { max-width: 1000px; margin: 0 auto; padding: 1.2rem 1rem 3rem; }
h1 { font-size: 1.45rem; margin: 0 0 .2rem; } h2 { font-size: 1.15rem; margin: 1.6rem 0 .5rem; }
p { margin: .3rem 0; } .small { color: var(--muted); font-size: .88rem; }
.warning { color: #a11d1d; font-weight: 600; }
.summary { display: grid; grid-template-columns: auto 1fr 250px; gap: 1.2rem;
           align-items: center; background: #fff; border: 1px solid var(--line);
           border-radius: 12px; padding: 1rem 1.2rem; }
.score { width: 118px; height: 118px; border-radius: 50%; border: 9px solid;
         display: flex; flex-direction: column; align-items: center; justify-content: center; }
.score span { font-size: 2.9rem; font-weight: 750; line-height: 1; }
.score small { color: var(--muted); }
.parts { list-style: none; margin: 0; padding: 0; font-size: .88rem; }
.parts li { display: grid; grid-template-columns: 72px 1fr 58px; gap: .5rem;
            align-items: center; margin: .15rem 0; }
.bar { height: 9px; background: #eceef2; border-radius: 5px; overflow: hidden; }
.bar span { display: block; height: 100%; }
.value { text-align: right; color: var(--muted); font-variant-numeric: tabular-nums; }
video { display: block; margin: 0 auto; height: min(68vh, 660px); width: auto;
        max-width: 100%; background: #1c1e24; border-radius: 8px; }
.legend { display: flex; flex-wrap: wrap; gap: .3rem 1rem; justify-content: center;
          font-size: .85rem; color: var(--muted); margin-top: .5rem; }
.legend i { display: inline-block; width: 14px; height: 5px; margin-right: .35rem;
            vertical-align: middle; border: 1px solid #777; }
#timeline { display: block; cursor: pointer; background: #fff; border: 1px solid var(--line);
            border-radius: 8px; font-size: 12px; user-select: none; }
#timeline .row-label { text-anchor: end; fill: var(--ink); }
#timeline .tick { text-anchor: middle; fill: var(--muted); font-size: 11px; }
#timeline .axis { stroke: #9aa0ab; }
#timeline .moment-label { fill: var(--ink); font-weight: 600; paint-order: stroke;
                          stroke: #fff; stroke-width: 4px; stroke-linejoin: round; }
#timeline .moment .span { fill: rgba(0,0,0,.07); stroke: #15171b; stroke-width: 2; }
#timeline .moment .stem { stroke: #15171b; }
#timeline .moment.best .span { fill: none; stroke: #1d5fd1; stroke-dasharray: 5 3; }
#timeline .moment.best .stem { stroke: #1d5fd1; }
#timeline .moment-label.best { fill: #1d5fd1; }
#timeline .moment:hover .span, #timeline .moment:focus .span { stroke-width: 3.5; }
#timeline .moment:focus { outline: none; }
#playhead { stroke: #1d5fd1; stroke-width: 2.5; pointer-events: none; }
.stills { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr));
          gap: .8rem; }
button.still { font: inherit; text-align: left; color: inherit; background: #fff;
               border: 1px solid var(--line); border-radius: 10px; padding: .5rem;
               cursor: pointer; }
button.still:hover, button.still:focus-visible { border-color: #1d5fd1;
                                                 outline: 2px solid #1d5fd1; }
button.still img { display: block; width: 100%; height: auto; border-radius: 6px; }
button.still span { display: block; margin-top: .35rem; font-size: .9rem; }
button.moment-link { font: inherit; color: #1d5fd1; background: none; border: 0;
                     padding: 0; cursor: pointer; text-decoration: underline; }
@media (max-width: 720px) { .summary { grid-template-columns: auto 1fr; }
                            .parts { grid-column: 1 / -1; } }
"""

# The video's bytes become a Blob URL once (Chromium seeks a Blob like a file); any
# element with data-start seeks there, a click elsewhere on the timeline seeks to its
# time; the playhead follows the video, every animation frame while it plays.
_SCRIPT = """
(() => {
  const video = document.getElementById('side-by-side');
  const text = document.getElementById('side-by-side-mp4').textContent.trim();
  const binary = atob(text), bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  video.src = URL.createObjectURL(new Blob([bytes], {type: 'video/mp4'}));
  const timeline = document.getElementById('timeline');
  const playhead = document.getElementById('playhead');
  const x0 = +timeline.dataset.x0, x1 = +timeline.dataset.x1;
  const duration = +timeline.dataset.duration;
  const place = () => {
    const x = x0 + (x1 - x0) * Math.min(video.currentTime / duration, 1);
    playhead.setAttribute('x1', x); playhead.setAttribute('x2', x);
  };
  const follow = () => { place(); if (!video.paused) requestAnimationFrame(follow); };
  const seek = seconds => {
    video.currentTime = Math.max(0, Math.min(seconds, duration - 0.05)); place();
  };
  ['play', 'seeked', 'timeupdate'].forEach(e => video.addEventListener(e, follow));
  document.addEventListener('click', event => {
    const moment = event.target.closest('[data-start]');
    if (moment) {
      seek(+moment.dataset.start);
      if (!timeline.contains(moment)) video.scrollIntoView({block: 'nearest'});
    } else if (timeline.contains(event.target)) {
      const point = new DOMPoint(event.clientX, event.clientY)
        .matrixTransform(timeline.getScreenCTM().inverse());
      seek((point.x - x0) / (x1 - x0) * duration);
    }
  });
  timeline.addEventListener('keydown', event => {
    const moment = event.target.closest('[data-start]');
    if (moment && (event.key === 'Enter' || event.key === ' ')) {
      event.preventDefault(); seek(+moment.dataset.start);
    }
  });
})();
"""


def _page(title: str, body: str) -> str:
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head>\n"
            f"<body><main>{body}</main><script>{_SCRIPT}</script></body></html>\n")


def write_report(path: Path, student: DensePoses, teacher: DensePoses | None,
                 alignment: PairAlignment, feedback: Feedback, *, student_name: str,
                 reference_name: str, ffmpeg_binary: str) -> Path:
    """Write her report, one self-contained HTML file (module docstring), at `path`.

    `student` and `teacher` must be read with keep_frames=True; `teacher` is None where
    the reference is an averaged routine without a video, whose matched stick figure is
    drawn instead. Written under a temporary name and renamed: never half a file.
    """
    pictures = SideBySide(student, teacher, alignment)
    mp4 = encode_mp4(pictures.frames(), pictures.size, student.rate, ffmpeg_binary)
    body = (_header_html(feedback, student_name, reference_name)
            + _video_html(mp4, pictures.size, teacher is not None)
            + '<section aria-labelledby="over-time"><h2 id="over-time">Over time</h2>'
            + '<p class="small">Each body part, half a second at a time. Click anywhere '
            + "to watch from there.</p>" + timeline_svg(alignment, feedback) + "</section>"
            + _stills_html(pictures, feedback))
    return atomic_write_text(path, _page(f"{student_name}: {feedback.score}/100 beside "
                                         f"{reference_name}", body))
