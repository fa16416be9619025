"""The report page's colours, legends, style and script, and the page around a body.

One place for the colours, so the limbs in the video, the timeline's cells, the score
and the legends always mean the same thing. score_timeline.py draws on her video's time
axis; score_report.py puts the page together.
"""

from __future__ import annotations

import math
from html import escape

# A body part within GOOD_DEG of the teacher's is green, within FAIR_DEG amber, beyond
# red: about what a teacher lets pass, corrects, and calls wrong (score 95 and 50).
GOOD_DEG, FAIR_DEG = 15.0, 30.0
Colour = tuple[int, int, int]
GREEN, AMBER, RED, GREY = (38, 166, 74), (242, 163, 13), (222, 53, 53), (150, 150, 150)
EARLY_BLUE = (37, 99, 235)  # a hit before the beat: apart from the limbs' three bands
HIT_COLOURS = {"early": EARLY_BLUE, "on-time": GREEN, "late": RED}
TEACHER_COLOUR = (240, 240, 240)  # neutral: the teacher's skeleton is the yardstick


def band_colour(error_deg: float) -> Colour:
    """Green, amber or red for a body part's angle from the teacher's; grey where it was
    not compared."""
    if not math.isfinite(error_deg):
        return GREY
    return GREEN if error_deg < GOOD_DEG else AMBER if error_deg < FAIR_DEG else RED


# A score's band: real dancers of one routine mostly score GOOD_SCORE or more against
# each other, and most pairs of different routines stay under FAIR_SCORE
# (benchmarks/results/real.json).
GOOD_SCORE, FAIR_SCORE = 75, 40


def score_colour(score: int | None) -> Colour:
    """The band of a 0-100 score (the overall one, or a body part's on its own scale)."""
    if score is None:
        return GREY
    return GREEN if score >= GOOD_SCORE else AMBER if score >= FAIR_SCORE else RED


def hex_colour(colour: Colour) -> str:
    return "#{:02x}{:02x}{:02x}".format(*colour)


def legend_html(intro: str, keys: list[tuple[Colour, str]]) -> str:
    """A line of colour keys."""
    return (f'<p class="legend">{escape(intro)}' + "".join(
        f'<span><i style="background:{hex_colour(colour)}"></i>{escape(words)}</span>'
        for colour, words in keys) + "</p>")


def limbs_legend_html(reference_is_video: bool) -> str:
    """What her limbs' colours in the video mean."""
    return legend_html("Your limbs, by their angle from the teacher's: ", [
        (GREEN, f"within {GOOD_DEG:g}°"), (AMBER, f"{GOOD_DEG:g}–{FAIR_DEG:g}°"),
        (RED, f"over {FAIR_DEG:g}°"), (GREY, "not compared"),
        (TEACHER_COLOUR, "the teacher" if reference_is_video else "the reference")])


_STYLE = """
:root { color-scheme: light; --ink: #1d1f24; --muted: #5b616e; --line: #d9dce3; }
* { box-sizing: border-box; }
body { font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--ink); background: #f6f7f9; margin: 0; }
main { max-width: 1000px; margin: 0 auto; padding: 1.2rem 1rem 3rem; }
h1 { font-size: 1.45rem; margin: 0 0 .2rem; } h2 { font-size: 1.15rem; margin: 1.6rem 0 .5rem; }
p { margin: .3rem 0; } .small { color: var(--muted); font-size: .88rem; }
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
.bar span { display: block; height: 100%; } .warning { color: #a11d1d; font-weight: 600; }
.value { text-align: right; color: var(--muted); font-variant-numeric: tabular-nums; }
video { display: block; margin: 0 auto; height: min(68vh, 660px); width: auto;
        max-width: 100%; background: #1c1e24; border-radius: 8px; }
.legend { display: flex; flex-wrap: wrap; gap: .3rem 1rem; justify-content: center;
          font-size: .85rem; color: var(--muted); margin-top: .5rem; }
.legend i { display: inline-block; width: 14px; height: 5px; margin-right: .35rem;
            vertical-align: middle; border: 1px solid #777; }
.time-axis { display: block; cursor: pointer; background: #fff; border: 1px solid var(--line);
             border-radius: 8px; font-size: 12px; user-select: none; }
.time-axis .row-label { text-anchor: end; fill: var(--ink); }
.time-axis .axis { stroke: #9aa0ab; }
#timeline .tick { text-anchor: middle; fill: var(--muted); font-size: 11px; }
#timeline .moment-label { fill: var(--ink); font-weight: 600; paint-order: stroke;
                          stroke: #fff; stroke-width: 4px; stroke-linejoin: round; }
#timeline .moment .span { fill: rgba(0,0,0,.07); stroke: #15171b; stroke-width: 2; }
#timeline .moment .stem { stroke: #15171b; }
#timeline .moment.best .span { fill: none; stroke: #1d5fd1; stroke-dasharray: 5 3; }
#timeline .moment.best .stem { stroke: #1d5fd1; } #timeline .moment-label.best { fill: #1d5fd1; }
#timeline .moment:hover .span, #timeline .moment:focus .span { stroke-width: 3.5; }
#timeline .moment:focus { outline: none; }
.playhead { stroke: #1d5fd1; stroke-width: 2.5; pointer-events: none; }
#beat-words { margin-top: 1rem; } #beat-grid { margin-top: .4rem; }
#beat-grid .beat { stroke: #6b7280; stroke-width: 1.5; }
#beat-grid .on-beat-band { fill: rgba(38,166,74,.1); }
#beat-grid .worst rect { fill: rgba(0,0,0,.04); stroke: #15171b; stroke-dasharray: 5 3; }
#beat-grid .worst text { fill: var(--ink); font-weight: 600; }
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
""" + "".join(f"#beat-grid .hit.{kind} {{ fill: {hex_colour(colour)}; stroke: #fff; }}\n"
              for kind, colour in HIT_COLOURS.items())

# The video's bytes become a Blob URL once (Chromium seeks a Blob like a file); any
# element with data-start seeks there, a click elsewhere on the timeline or the beat
# grid seeks to its time; the playheads follow the video, every animation frame while
# it plays.
_SCRIPT = """
(() => {
  const video = document.getElementById('side-by-side');
  const text = document.getElementById('side-by-side-mp4').textContent.trim();
  const binary = atob(text), bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  video.src = URL.createObjectURL(new Blob([bytes], {type: 'video/mp4'}));
  const timeline = document.getElementById('timeline');
  const axes = [...document.querySelectorAll('svg.time-axis')];
  const playheads = document.querySelectorAll('.playhead');
  const x0 = +timeline.dataset.x0, x1 = +timeline.dataset.x1;
  const duration = +timeline.dataset.duration;
  const place = () => {
    const x = x0 + (x1 - x0) * Math.min(video.currentTime / duration, 1);
    playheads.forEach(line => { line.setAttribute('x1', x); line.setAttribute('x2', x); });
  };
  const follow = () => { place(); if (!video.paused) requestAnimationFrame(follow); };
  const seek = seconds => {
    video.currentTime = Math.max(0, Math.min(seconds, duration - 0.05)); place();
  };
  ['play', 'seeked', 'timeupdate'].forEach(e => video.addEventListener(e, follow));
  document.addEventListener('click', event => {
    const moment = event.target.closest('[data-start]');
    const axis = axes.find(svg => svg.contains(event.target));
    if (moment) {
      seek(+moment.dataset.start);
      if (!axis) video.scrollIntoView({block: 'nearest'});
    } else if (axis) {
      const point = new DOMPoint(event.clientX, event.clientY)
        .matrixTransform(axis.getScreenCTM().inverse());
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


def page(title: str, body: str) -> str:
    """The whole document: its style in the head, its script after the body's content."""
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head>\n"
            f"<body><main>{body}</main><script>{_SCRIPT}</script></body></html>\n")
