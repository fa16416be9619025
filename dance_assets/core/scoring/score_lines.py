"""What `dance-assets score` prints for a person: her score and what it was against, her
timing, mirroring, music, body parts, weakest and best moments, the classifier's
verdict and where the report is, a line each. as_json (scoring.py) says the same for a
program.
"""

from __future__ import annotations

from dance_assets.core.scoring.coaching import WEAK_FROM_DEG
from dance_assets.core.scoring.scoring import DanceScore


def _clock(seconds: float) -> str:
    """0:12.3, as a dancer finds a moment in her video."""
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


def score_lines(result: DanceScore) -> list[str]:
    """What `score` prints for a person (as_json says the same for a program)."""
    judged, reference, verdict = result.feedback, result.reference, result.verdict
    target = f"score for {reference.dance}" if reference.dance else "score"
    lines = [f"{target}: {judged.score}/100 against {reference.name} "
             f"({judged.compared_s:g} of {judged.video_s:g} seconds compared)"]
    if judged.offset_ms is not None:
        lines.append(f"timing: {judged.timing_words()}")
        if len(judged.timing) > 1:
            lines.append("  " + "; ".join(
                f"{_clock(s.start_s)}-{_clock(s.end_s)} {s.offset_ms:+d} ms, {s.tempo:.2f}x"
                for s in judged.timing))
    if judged.mirrored:
        lines.append("danced as in a mirror of the reference")
    for name, degrees in ((result.video.name, judged.turned_deg),
                          (reference.name, judged.reference_turned_deg)):
        if degrees:
            lines.append(f"{name} shows the dancer turned {degrees}° clockwise (filmed "
                         f"{'upside down' if degrees == 180 else 'sideways'}): her poses were "
                         "turned upright to compare")
    if result.music is not None:
        lines.append(f"music: {result.music.note}")
        lines.append(f"on the beat: {result.music.beat_words()}")
    lines.append("body parts: " + ", ".join(
        f"{part} {score if score is not None else 'not seen'}"
        for part, score in judged.body_parts.items()))
    if judged.steady:
        lines.append("throughout: " + "; ".join(judged.steady))
    weakest = "; ".join(f"{_clock(m.start_s)}-{_clock(m.end_s)} {m.what}"
                        for m in judged.weakest) or \
        f"none: every stretch stays within {WEAK_FROM_DEG:g}° of the reference"
    lines.append(f"weakest moments: {weakest}")
    if judged.best:
        lines.append(f"best moment: {_clock(judged.best.start_s)}-{_clock(judged.best.end_s)} "
                     f"({judged.best.score}/100)")
    if verdict is not None:
        top = ", ".join(f"{name} {p:.0%}" for name, p in verdict.top)
        said = f"({top}; {verdict.model.arch} / {verdict.model.protocol}, {verdict.model.why})"
        if result.nearest is not None and not result.recognised:
            name, best = result.nearest
            lines.append(f"looks like: no dance recognised: no routine matches better than "
                         f"halfway to another dance (nearest: {name}, {best}/100); the "
                         f"classifier's pick: {verdict.predicted} {said}")
        else:
            lines.append(f"looks like: {verdict.predicted} {said}")
    lines.append(f"report: {result.report}")
    return lines
