"""Drawings on her video's time axis: the timeline (each body part's closeness, half a
second at a time, her weak and best moments) and under it the beat grid (the beats, her
hits early, on time or late).

Both are inline SVG of one width in one set of units, so a second sits at the same x in
both and a click on either seeks the video there (the page's script reads the
attributes `_time_axis_svg` writes).
"""

from __future__ import annotations

import math
from html import escape

import numpy as np

from dance_assets.core.performance.movement import PART_NAMES
from dance_assets.core.scoring.coaching import (
    Feedback,
    Moment,
    frame_errors,
    score_of,
)
from dance_assets.core.scoring.music import ON_BEAT_S, MusicFeedback
from dance_assets.core.scoring.pair_alignment import PairAlignment
from dance_assets.core.scoring.score_report_page import (
    EARLY_BLUE,
    GREEN,
    RED,
    band_colour,
    hex_colour,
    legend_html,
)

CELL_S = 0.5  # the timeline's resolution: a cell is half a second of her video
# The drawings, in SVG user units (the page scales them to its width).
TIMELINE_ROWS = ("overall", *PART_NAMES)
_WIDTH, _X0, _X1 = 960, 84, 940
_ROW_H, _LANE_H, _AXIS_H = 18, 17, 22
_CHAR_W, _BOLD_CHAR_W = 6.6, 7.2  # a 12 px label's mean character width
_NOT_COMPARED = "#dedee3"


def _x(seconds: float, duration_s: float) -> float:
    return _X0 + (_X1 - _X0) * min(max(seconds / duration_s, 0.0), 1.0)


def _time_axis_svg(svg_id: str, height: float, duration_s: float, label: str,
                   content: str, playhead: tuple[float, float]) -> str:
    """An <svg> on the shared time axis, with the attributes the script seeks by and a
    playhead spanning `playhead` (top, bottom)."""
    return (f'<svg id="{svg_id}" class="time-axis" viewBox="0 0 {_WIDTH} {height:g}" '
            f'width="100%" data-duration="{duration_s:.3f}" data-x0="{_X0}" data-x1="{_X1}" '
            f'role="group" aria-label="{escape(label)}">{content}'
            f'<line class="playhead" x1="{_X0}" x2="{_X0}" y1="{playhead[0]:g}" '
            f'y2="{playhead[1]:g}"/></svg>')


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
        out.append(f'<text class="row-label" x="{_X0 - 8}" y="{y + 13}">{name}</text>')
        for cell in range(cells):
            start = cell * CELL_S
            x0, x1 = _x(start, duration_s), _x(start + CELL_S, duration_s)
            error = float(means[cell, row])
            fill = hex_colour(band_colour(error)) if math.isfinite(error) else _NOT_COMPARED
            tip = (f"{score_of(error)}/100, {error:.0f}° from the teacher"
                   if math.isfinite(error) else "not compared")
            out.append(f'<rect x="{x0:.1f}" y="{y + 1}" width="{x1 - x0 + 0.4:.1f}" '
                       f'height="{_ROW_H - 2}" fill="{fill}"><title>{name}, '
                       f'{start:.1f}–{start + CELL_S:.1f} s: {tip}</title></rect>')
    return "".join(out)


def _axis_svg(duration_s: float, y: float) -> str:
    """Seconds under the rows, a tick every 1, 2, 5, 10… s: a dozen at most."""
    step = next(s for s in (1, 2, 5, 10, 15, 30, 60, 120, 300) if duration_s / s <= 12)
    out = [f'<line class="axis" x1="{_X0}" x2="{_X1}" y1="{y}" y2="{y}"/>']
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
        x = max(_X0, min(_x(moment.start_s, duration_s), _X1 - width))
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


def duration_of(alignment: PairAlignment) -> float:
    """Her video's length as the report shows it: one pose frame per 1/rate seconds."""
    return len(alignment.student.times) / alignment.student.rate


def timeline_svg(alignment: PairAlignment, feedback: Feedback) -> str:
    """Her whole video at a glance: how close each body part was, half a second at a
    time, her weak moments and her best marked; the page seeks the video on a click."""
    duration_s = duration_of(alignment)
    moments = [(m, "weak", f"{n}. {m.what}") for n, m in enumerate(feedback.weakest, 1)]
    if feedback.best is not None:
        moments.append((feedback.best, "best", "best"))
    places = _placed_labels([(m, label) for m, _, label in moments], duration_s)
    top = max((lane + 1 for _, lane in places), default=0) * _LANE_H + 6
    rows_h = len(TIMELINE_ROWS) * _ROW_H
    drawn = [_moment_svg(m, kind, label, place, duration_s, top)
             for (m, kind, label), place in zip(moments, places, strict=True)]
    marks = "".join(mark for mark, _ in drawn) + "".join(text for _, text in drawn)
    content = (f"{_rows_svg(alignment, duration_s, top)}"
               f"{_axis_svg(duration_s, top + rows_h + 2)}{marks}")
    return _time_axis_svg("timeline", top + rows_h + _AXIS_H, duration_s,
                          "Timeline of your video: click to play from there", content,
                          (top - 3, top + rows_h + 3))


# The beat grid's rows: a lane for the worst stretch's label, the beats, and a strip
# where each hit sits above the beat's line when late, below it when early.
_LABEL_Y, _BEATS_TOP, _BEATS_H, _STRIP_TOP, _STRIP_H = 13, 20, 12, 40, 64


def hit_kind(offset_ms: float) -> str:
    """early, on-time or late: within ON_BEAT_S of the beat is on it, as music.py counts
    her on-beat share."""
    limit_ms = 1000 * ON_BEAT_S
    return "early" if offset_ms < -limit_ms else "late" if offset_ms > limit_ms else "on-time"


def _hits_svg(music: MusicFeedback, duration_s: float) -> str:
    """Her hits on the strip, ±reach_ms from the beat's line, over the on-beat band; the
    stretch furthest off the beat outlined and labelled above the beats."""
    timing = music.timing
    if timing is None:
        return ""
    reach_ms = 50 * math.ceil(max([2000 * ON_BEAT_S, *map(abs, timing.hit_offsets_ms)]) / 50)
    half, middle = _STRIP_H / 2, _STRIP_TOP + _STRIP_H / 2
    band = half * 1000 * ON_BEAT_S / reach_ms
    start, end = _x(timing.worst_start_s, duration_s), _x(timing.worst_end_s, duration_s)
    label = f"furthest off the beat: {timing.worst_offset_ms:+d} ms"
    label_x = max(_X0, min(start, _X1 - _BOLD_CHAR_W * len(label)))
    out = [f'<rect class="on-beat-band" x="{_X0}" y="{middle - band:.1f}" '
           f'width="{_X1 - _X0}" height="{2 * band:.1f}"/>',
           f'<g class="worst"><rect x="{start - 4:.1f}" y="{_BEATS_TOP - 3}" '
           f'width="{end - start + 8:.1f}" height="{_STRIP_TOP + _STRIP_H - _BEATS_TOP + 5}"/>'
           f'<text x="{label_x:.1f}" y="{_LABEL_Y}">{label}</text></g>',
           f'<text class="row-label" x="{_X0 - 8}" y="{_STRIP_TOP + 10}">late</text>'
           f'<text class="row-label" x="{_X0 - 8}" y="{middle + 4:g}">on beat</text>'
           f'<text class="row-label" x="{_X0 - 8}" y="{_STRIP_TOP + _STRIP_H - 2}">early</text>']
    for time_s, offset_ms in zip(timing.hit_times, timing.hit_offsets_ms, strict=True):
        kind = hit_kind(offset_ms)
        y = middle - half * max(-1.0, min(1.0, offset_ms / reach_ms))
        when = "on the beat" if kind == "on-time" else kind
        out.append(f'<circle class="hit {kind}" data-time="{time_s:.3f}" '
                   f'data-offset="{offset_ms}" cx="{_x(time_s, duration_s):.1f}" cy="{y:.1f}" '
                   f'r="4.5"><title>{time_s:.2f} s: {offset_ms:+d} ms, {when}</title></circle>')
    return "".join(out)


def beat_grid_svg(music: MusicFeedback, duration_s: float) -> str:
    """The music's beats in her video and her hits against them, on the timeline's axis."""
    beats = [t for t in music.beats if 0.0 <= t <= duration_s]
    ticks = "".join(f'<line class="beat" data-time="{t:.3f}" x1="{_x(t, duration_s):.1f}" '
                    f'x2="{_x(t, duration_s):.1f}" y1="{_BEATS_TOP}" '
                    f'y2="{_BEATS_TOP + _BEATS_H}"/>' for t in beats)
    middle = _STRIP_TOP + _STRIP_H / 2
    content = (f'<text class="row-label" x="{_X0 - 8}" y="{_BEATS_TOP + 10}">beats</text>'
               f'<line class="axis" x1="{_X0}" x2="{_X1}" y1="{middle:g}" y2="{middle:g}"/>'
               f"{_hits_svg(music, duration_s)}{ticks}")
    bottom = _STRIP_TOP + _STRIP_H
    return _time_axis_svg("beat-grid", bottom + 6, duration_s,
                          "Your hits against the music's beat: click to play from there",
                          content, (_BEATS_TOP - 2, bottom + 2))


def _sentence(words: str) -> str:
    return words[:1].upper() + words[1:].rstrip(".") + "."


def beat_html(music: MusicFeedback | None, duration_s: float) -> str:
    """One line on her timing against the music and how the videos were put in step, and
    the beat grid; a line saying why not where there was no music to judge."""
    if music is None or music.tempo_bpm is None:
        why = _sentence(music.note) if music is not None and music.note \
            else "There was no music to judge."
        return f'<p id="beat-words" class="no-music">{escape(why)}</p>'
    note = f' <span class="small">{escape(_sentence(music.note))}</span>' if music.note else ""
    limit = f"{1000 * ON_BEAT_S:.0f} ms"
    keys = [(EARLY_BLUE, f"early: over {limit} before the beat"), (GREEN, f"within {limit}"),
            (RED, f"late: over {limit} after")]
    return (f'<p id="beat-words"><strong>On the beat:</strong> '
            f"{escape(_sentence(music.beat_words()))}{note}</p>"
            f"{beat_grid_svg(music, duration_s)}{legend_html('Your hits: ', keys)}")
