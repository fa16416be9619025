"""One score, one record: what `score --json` prints for a program, and the `scores` row
made from that same document, so the table holds every value the JSON gives (its lists
and objects as JSON text; the beats and each hit stay in the JSON and the `music`
table) and neither can say what the other does not. score_lines.py says the same to a
person.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pandas as pd

from dance_assets.core.lake import tables
from dance_assets.core.lake.lake import Lake
from dance_assets.core.lake.warehouse import refresh_views

if TYPE_CHECKING:  # scoring renders its report's header from as_json
    from dance_assets.core.scoring.scoring import DanceScore

# Where an attempt was scored from (the `scores` table's source column).
COMMAND_LINE = "command line"
DEMO = "demo"
STUDIO = "studio"


def as_json(result: DanceScore) -> dict:
    """What `score --json` prints (its schema is in docs/scoring.md)."""
    judged, verdict, reference = result.feedback, result.verdict, result.reference
    timing = None
    if judged.offset_ms is not None:
        timing = {"offset_ms": judged.offset_ms, "tempo": judged.tempo,
                  "words": judged.timing_words(),
                  "stretches": [asdict(s) for s in judged.timing]}
    classifier = None
    if verdict is not None:
        classifier = {
            "arch": verdict.model.arch, "protocol": verdict.model.protocol,
            "why": verdict.model.why, "looks_like": verdict.predicted,
            "top": {name: round(p, 4) for name, p in verdict.top},
            "recognised": result.recognised,
            "nearest": ({"dance": result.nearest[0], "score": result.nearest[1]}
                        if result.nearest else None)}
    return {
        "video": str(result.video.resolve()),
        "reference": {"kind": reference.kind, "name": reference.name,
                      "path": str(reference.path.resolve()) if reference.path else None,
                      "dance": reference.dance},
        "score": judged.score, "error_deg": judged.error_deg, "timing": timing,
        "mirrored": judged.mirrored,
        "turned_deg": {"video": judged.turned_deg, "reference": judged.reference_turned_deg},
        "body_parts": judged.body_parts, "weights": judged.weights, "steady": judged.steady,
        "weakest": [asdict(m) for m in judged.weakest],
        "best": asdict(judged.best) if judged.best else None,
        "seconds": {"video": judged.video_s, "compared": judged.compared_s,
                    "coverage": judged.coverage},
        "classifier": classifier, "report": str(result.report.resolve()),
        "music": result.music.as_dict() if result.music else None,
        "elapsed_s": round(result.elapsed_s, 2),
    }


def _text(value: object) -> str | None:
    """A list or an object of the JSON as one JSON text column (None stays None)."""
    return None if value is None else json.dumps(value)


def table_row(document: dict, report: str, source: str) -> dict:
    """The `scores` row of an as_json document; `report` as the lake names it, and where
    the attempt was scored from."""
    reference, timing = document["reference"], document["timing"] or {}
    classifier, music = document["classifier"] or {}, document["music"] or {}
    hits = music.get("hits") or {}
    seconds = document["seconds"]
    return {
        "scored_at": datetime.now(UTC), "path": document["video"], "source": source,
        "reference_kind": reference["kind"], "reference_name": reference["name"],
        "reference_path": reference["path"], "target_dance": reference["dance"],
        "target_score": document["score"], "error_deg": document["error_deg"],
        "offset_ms": timing.get("offset_ms"), "tempo": timing.get("tempo"),
        "timing": _text(timing.get("stretches")), "mirrored": document["mirrored"],
        "turned_deg": document["turned_deg"]["video"],
        "reference_turned_deg": document["turned_deg"]["reference"],
        **{part.replace(" ", "_"): score for part, score in document["body_parts"].items()},
        "weights": _text(document["weights"]), "steady": _text(document["steady"]),
        "weakest": _text(document["weakest"]), "best": _text(document["best"]),
        "seconds": round(seconds["video"]), "scored_seconds": round(seconds["compared"]),
        "coverage": seconds["coverage"],
        # Without a classifier she was scored against a teacher she shares a dance with
        # (a pair that shares none is refused, never recorded).
        "recognised": classifier.get("recognised", True),
        "arch": classifier.get("arch"), "protocol": classifier.get("protocol"),
        "predicted_dance": classifier.get("looks_like"),
        "top_classes": _text(classifier.get("top")),
        "nearest": _text(classifier.get("nearest")), "report": report,
        "music_tempo_bpm": music.get("tempo_bpm"), "same_song": music.get("same_song"),
        "audio_offset_s": music.get("audio_offset_s"), "music_note": music.get("note"),
        "beat_words": music.get("words"), "timing_words": timing.get("words"),
        "beat_offset_ms": hits.get("mean_offset_ms"), "beat_spread_ms": hits.get("spread_ms"),
        "on_beat_share": hits.get("on_beat_share"), "elapsed_s": document["elapsed_s"],
    }


def record(lake: Lake, result: DanceScore, source: str = COMMAND_LINE) -> None:
    """Her attempt as one row of the `scores` table."""
    row = table_row(as_json(result), lake.relative(result.report), source)
    tables.append_rows(lake, "scores", pd.DataFrame([row]))


def record_attempt(lake: Lake, result: DanceScore, source: str) -> None:
    """Her attempt as a row of `scores`, with the warehouse's views refreshed so that SQL
    and the UI see it at once: what `score` and the studio do after every attempt."""
    record(lake, result, source)
    refresh_views(lake)
