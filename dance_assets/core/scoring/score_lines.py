"""What `dance-assets score` prints for a person: her score and what it was against, her
timing, mirroring, music, body parts, weakest and best moments, the classifier's
verdict and where the report is, a line each. They are rendered from the score's one
record (score_record.as_json, which `--json` prints and the `scores` row is made of),
so the lines cannot say what the record does not.
"""

from __future__ import annotations

from pathlib import Path

from dance_assets.core.scoring.coaching import WEAK_FROM_DEG


def _clock(seconds: float) -> str:
    """0:12.3, as a dancer finds a moment in her video."""
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


def _span(moment: dict) -> str:
    return f"{_clock(moment['start_s'])}-{_clock(moment['end_s'])}"


def score_lines(document: dict) -> list[str]:
    """What `score` prints for a person, from an as_json document."""
    reference, seconds, timing = document["reference"], document["seconds"], document["timing"]
    target = f"score for {reference['dance']}" if reference["dance"] else "score"
    lines = [f"{target}: {document['score']}/100 against {reference['name']} "
             f"({seconds['compared']:g} of {seconds['video']:g} seconds compared)"]
    if timing is not None:
        lines.append(f"timing: {timing['words']}")
        if len(timing["stretches"]) > 1:
            lines.append("  " + "; ".join(f"{_span(s)} {s['offset_ms']:+d} ms, {s['tempo']:.2f}x"
                                          for s in timing["stretches"]))
    if document["mirrored"]:
        lines.append("danced as in a mirror of the reference")
    turned = document["turned_deg"]
    for name, degrees in ((Path(document["video"]).name, turned["video"]),
                          (reference["name"], turned["reference"])):
        if degrees:
            lines.append(f"{name} shows the dancer turned {degrees}° clockwise (filmed "
                         f"{'upside down' if degrees == 180 else 'sideways'}): her poses were "
                         "turned upright to compare")
    if document["music"] is not None:
        lines.append(f"music: {document['music']['note']}")
        lines.append(f"on the beat: {document['music']['words']}")
    lines.append("body parts: " + ", ".join(
        f"{part} {score if score is not None else 'not seen'}"
        for part, score in document["body_parts"].items()))
    if document["steady"]:
        lines.append("throughout: " + "; ".join(document["steady"]))
    weakest = "; ".join(f"{_span(m)} {m['what']}" for m in document["weakest"]) or \
        f"none: every stretch stays within {WEAK_FROM_DEG:g}° of the reference"
    lines.append(f"weakest moments: {weakest}")
    if document["best"]:
        lines.append(f"best moment: {_span(document['best'])} ({document['best']['score']}/100)")
    if document["classifier"] is not None:
        lines.append(_verdict_line(document["classifier"]))
    lines.append(f"report: {document['report']}")
    return lines


def _verdict_line(classifier: dict) -> str:
    top = ", ".join(f"{name} {p:.0%}" for name, p in classifier["top"].items())
    said = f"({top}; {classifier['arch']} / {classifier['protocol']}, {classifier['why']})"
    nearest = classifier["nearest"]
    if nearest is not None and not classifier["recognised"]:
        return (f"looks like: no dance recognised: no routine matches better than halfway "
                f"to another dance (nearest: {nearest['dance']}, {nearest['score']}/100); "
                f"the classifier's pick: {classifier['looks_like']} {said}")
    return f"looks like: {classifier['looks_like']} {said}"
