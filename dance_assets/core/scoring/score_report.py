"""A report she can watch: her dance beside her teacher's, in one HTML file.

A score and a list of words say what differed; seeing it is what teaches. The report
shows her video beside the teacher's, kept in step through the alignment (her frame i
beside the teacher's frame `teacher_frames[i]`, whatever her tempo or offset), her limbs
coloured by how far each body part was from the teacher's, a timeline of the dance and
under it her hits against the beat (both seek the video where she clicks), and stills of
her weakest moments.

One file, opened straight from disk: she keeps it, mails it, opens it offline. So the
side-by-side video (side_by_side.py) is embedded as base64, which the page makes a Blob:
Chromium seeks a Blob URL like a file, a data: URL poorly. The stills are JPEGs, the
timeline and the beat grid inline SVG (score_timeline.py), the colours, style and script
the page's own (score_report_page.py).
"""

from __future__ import annotations

import base64
import io
import math
from html import escape
from pathlib import Path

import numpy as np
from PIL import Image

from dance_assets.core.ingest.dense_poses import DensePoses
from dance_assets.core.ingest.video import FfmpegSettings
from dance_assets.core.lake.lake import atomic_write_text
from dance_assets.core.performance.movement import PART_NAMES
from dance_assets.core.scoring.coaching import NO_TIMING, Feedback, Moment, offset_words
from dance_assets.core.scoring.music import MusicFeedback
from dance_assets.core.scoring.pair_alignment import PairAlignment
from dance_assets.core.scoring.score_report_page import (
    hex_colour,
    limbs_legend_html,
    page,
    score_colour,
)
from dance_assets.core.scoring.score_timeline import (
    beat_html,
    duration_of,
    moment_words,
    timeline_svg,
)
from dance_assets.core.scoring.side_by_side import SideBySide, SideBySideMp4, Sound, encode_mp4


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


def _parts_html(body_parts: dict[str, int | None]) -> str:
    """A small bar per body part, its score written beside it ("not seen" where the part
    never was)."""
    rows = []
    for part in PART_NAMES:
        score = body_parts.get(part)
        bar = (f'<span class="bar"><span style="width:{score}%;background:'
               f'{hex_colour(score_colour(score))}"></span></span>' if score is not None
               else '<span class="bar"></span>')
        value = f"{score}" if score is not None else "not seen"
        rows.append(f'<li data-part="{part}"><span class="part">{part}</span>{bar}'
                    f'<span class="value">{value}</span></li>')
    return f'<ul class="parts" aria-label="Score per body part">{"".join(rows)}</ul>'


def _music_html(music: dict | None) -> str:
    """Her music's tempo and whether the teacher's video plays the same song, briefly."""
    if music is None or music["tempo_bpm"] is None:
        return ""
    song = {True: " · the same song as the teacher's video",
            False: " · not the song of the teacher's video", None: ""}[music["same_song"]]
    return f'<p id="music"><strong>Music:</strong> {music["tempo_bpm"]:.0f} bpm{song}</p>'


def _timing_html(timing: dict | None) -> str:
    """Her timing in words, and each stretch's where her timing changed."""
    words = timing["words"] if timing is not None else NO_TIMING
    notes = [f'<p id="timing"><strong>Timing:</strong> {escape(words)}</p>']
    if timing is not None and len(timing["stretches"]) > 1:
        stretches = "; ".join(f"{t['start_s']:g}–{t['end_s']:g} s "
                              f"{offset_words(t['offset_ms'])}, {t['tempo']:.2f}x"
                              for t in timing["stretches"])
        notes.append(f'<p class="small">{escape(stretches)}</p>')
    return "".join(notes)


def _header_html(record: dict) -> str:
    """The score, what it was measured against, her timing, her music, whether she
    mirrored and whether a video showed its dancer turned: from the score's record
    (score_record.as_json), as `--json`, the printed lines and the `scores` row are."""
    notes = [_timing_html(record["timing"]), _music_html(record["music"])]
    if record["mirrored"]:
        notes.append('<p id="mirrored">You danced as in a mirror of the teacher: that is '
                     "fine, you were compared with the teacher's mirror image.</p>")
    for whose, degrees in (("Your video", record["turned_deg"]["video"]),
                           ("The teacher's video", record["turned_deg"]["reference"])):
        if degrees:
            notes.append(f'<p class="turned">{whose} shows the dancer turned {degrees}° '
                         "clockwise: the poses were turned upright to compare.</p>")
    if record["classifier"] is not None and not record["classifier"]["recognised"]:
        notes.append('<p class="warning">No routine matches your dance better than halfway '
                     "to another dance: is this the dance you meant?</p>")
    score, seconds = record["score"], record["seconds"]
    colour = hex_colour(score_colour(score))
    angle = (f" · body parts {record['error_deg']:.0f}° from the teacher's on average"
             if math.isfinite(record["error_deg"]) else "")
    return (f'<header class="summary"><div class="score" style="border-color:{colour}" '
            f'role="img" aria-label="score {score} out of 100"><span id="score">'
            f'{score}</span><small>/ 100</small></div>'
            f'<div class="about"><h1>Your dance beside {escape(record["reference"]["name"])}'
            f'</h1><p class="small">{escape(Path(record["video"]).name)} · '
            f'{seconds["compared"]:g} of {seconds["video"]:g} s compared{angle}</p>'
            f"{''.join(notes)}</div>{_parts_html(record['body_parts'])}</header>")


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
                 alignment: PairAlignment, feedback: Feedback, *, record: dict,
                 ffmpeg: FfmpegSettings, music: MusicFeedback | None = None,
                 sound: Sound | None = None) -> Path:
    """Write her report, one self-contained HTML file (module docstring), at `path`.

    `student` and `teacher` must be read with keep_frames=True; `teacher` is None where
    the reference is an averaged routine without a video, whose matched stick figure is
    drawn instead. `record` is the score's record (score_record.as_json), which the header
    and the title say; `feedback` and `music` (her hits against her music's beat, None: no
    music judged) draw the timeline, the beat grid and the stills. `sound` is her video's
    audio, which plays in the side-by-side video (None: it plays silent). Written under a
    temporary name and renamed: never half a file.
    """
    pictures = SideBySide(student, teacher, alignment)
    mp4 = encode_mp4(pictures, ffmpeg, sound)
    body = (_header_html(record)
            + _video_html(mp4, pictures.size, teacher is not None)
            + '<section aria-labelledby="over-time"><h2 id="over-time">Over time</h2>'
            + '<p class="small">Each body part, half a second at a time. Click anywhere '
            + "to watch from there.</p>"
            + timeline_svg(alignment, feedback) + beat_html(music, duration_of(alignment))
            + "</section>" + _stills_html(pictures, feedback))
    title = (f"{Path(record['video']).name}: {record['score']}/100 beside "
             f"{record['reference']['name']}")
    return atomic_write_text(path, page(title, body))
