"""What the studio knows of the lake: the dances with a teacher, her attempts, new teachers.

A dance's teacher is the first file by name in the lake's references/<dance>/ that the
ingest's listing keeps (core/ingest/ingest.list_class_files: no hidden files, OS junk,
unfinished downloads or links out of the folder), the file the `choreography` asset
picks when it is usable. The studio stores only teachers it has checked, one per dance,
so the two agree. The browser names a teacher by its dance, never by a path.

Her attempts are the `scores` rows against a dance's teacher, whoever scored them (the
studio, `score --dance`, or `score --reference` with the teacher's file).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dance_assets.core.ingest.dense_poses import DEFAULT_SETTINGS, DensePoses
from dance_assets.core.ingest.ingest import ProbeLimits, class_folders, is_ignored, list_class_files
from dance_assets.core.lake import tables
from dance_assets.core.lake.errors import DanceAssetsError, UnusableVideo
from dance_assets.core.lake.lake import Lake
from dance_assets.core.performance.movement import PART_NAMES
from dance_assets.core.scoring.routines import TEACHER_VIDEO
from dance_assets.core.scoring.scoring import score_ffmpeg
from dance_assets.core.scoring.teachers import usable_teacher
from dance_assets.partitions import invalid_partition_reason

MAX_DANCE_NAME = 64


def teacher_poses(lake: Lake, video: Path) -> DensePoses:
    """The teacher's dense poses, read once as `score` reads them (core/performance) and
    kept in the lake's cache, checked as the choreography asset checks a teacher
    (DanceAssetsError says why a file put in by hand cannot be one). The one place the
    studio gets them."""
    return usable_teacher(lake, video, score_ffmpeg(), DEFAULT_SETTINGS, ProbeLimits())


def dance_name_problem(name: str) -> str | None:
    """Why `name` cannot be a dance of the lake, or None: it becomes a folder under
    references/ and a partition key, so it must be one plain folder name that the ingest
    would not skip and that Dagster accepts as a key."""
    if not name.strip():
        return "name the dance"
    if len(name) > MAX_DANCE_NAME:
        return f"a dance's name has at most {MAX_DANCE_NAME} characters"
    if name != name.strip() or any(c in name for c in '/\\\0') or name in (".", ".."):
        return (f"{name!r} cannot be a folder name: no slashes, no spaces at either end, "
                "not . or ..")
    if is_ignored(name):
        return f"{name!r} is a name the ingest skips (hidden, or a system or partial file)"
    return invalid_partition_reason(name)


def teacher_of(lake: Lake, dance: str) -> Path | None:
    """The dance's teacher video, None when the dance has none (module docstring)."""
    if dance not in class_folders(lake.references):
        return None
    files = [entry.path for entry in list_class_files(lake.references, dance)
             if entry.problem is None]
    return files[0] if files else None


def teachers(lake: Lake) -> dict[str, Path]:
    """Every dance with a teacher, and her video."""
    found = {dance: teacher_of(lake, dance) for dance in class_folders(lake.references)}
    return {dance: video for dance, video in found.items() if video is not None}


def add_teacher(lake: Lake, dance: str, upload: Path) -> Path:
    """Keep an uploaded teacher video as references/<dance>/teacher<suffix> (the name
    her reports and the practice page show, as in the demo's lake), after it is probed
    and posed as the choreography asset does (teachers.usable_teacher: its poses land in
    the lake's cache on the way); DanceAssetsError, with the ingest's reason, when
    it cannot be a teacher, and nothing is stored then. The upload is moved, not copied."""
    problem = dance_name_problem(dance)
    if problem:
        raise DanceAssetsError(problem)
    existing = teacher_of(lake, dance)
    if existing is not None:
        raise DanceAssetsError(f"{dance} already has a teacher ({existing.name}): name the "
                               "new dance differently")
    try:
        usable_teacher(lake, upload, score_ffmpeg(), DEFAULT_SETTINGS, ProbeLimits())
    except UnusableVideo as exc:
        raise DanceAssetsError(f"{upload.name} is not a usable video: {exc.reason}") from None
    except DanceAssetsError as exc:
        raise DanceAssetsError(f"{upload.name} cannot be a teacher: {exc}") from None
    target = lake.references / dance / f"teacher{upload.suffix.lower()}"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(upload, target)  # one rename: the upload waits inside the lake
    return target


@dataclass(frozen=True, kw_only=True)
class Attempt:
    """One of her scored attempts, as home shows it."""

    scored_at: str
    score: int
    body_parts: dict[str, int | None]
    timing: str | None
    offset_ms: int | None
    tempo: float | None
    report: str | None  # the report's path inside the lake's reports/
    weakest: list[dict]  # the report's weakest moments, in the teacher's time too
    source: str | None


def _number(value: object) -> float | None:
    """A table value as a number, None for a null (pandas' NaN or NA)."""
    return None if value is None or pd.isna(value) else float(value)


def _in_teacher_time(moments: list[dict], offset_ms: float | None, tempo: float | None
                     ) -> list[dict]:
    """Her moments with the teacher's time beside hers: τ = tempo · (t − offset), the
    report's line (core/scoring/pair_alignment.Warp)."""
    if offset_ms is None or tempo is None:
        return moments
    return [{**m, "teacher_start_s": round(tempo * (m["start_s"] - offset_ms / 1000), 2),
             "teacher_end_s": round(tempo * (m["end_s"] - offset_ms / 1000), 2)}
            for m in moments]


def _attempt(lake: Lake, row: pd.Series) -> Attempt:
    offset, tempo = _number(row["offset_ms"]), _number(row["tempo"])
    report = str(row["report"]) if isinstance(row["report"], str) else None
    inside = report is not None and lake.absolute(report).resolve().is_relative_to(
        lake.reports.resolve())
    return Attempt(
        scored_at=row["scored_at"].isoformat(timespec="seconds"),
        score=int(row["target_score"]),
        body_parts={part: None if (v := _number(row[part.replace(" ", "_")])) is None
                    else int(v) for part in PART_NAMES},
        timing=row["timing_words"] if isinstance(row["timing_words"], str) else None,
        offset_ms=None if offset is None else int(offset), tempo=tempo,
        report=Path(report).relative_to("reports").as_posix() if inside else None,
        weakest=_in_teacher_time(json.loads(row["weakest"] or "[]"), offset, tempo),
        source=row["source"] if isinstance(row["source"], str) else None)


def attempts(lake: Lake, scores: pd.DataFrame, dance: str, teacher: Path) -> list[Attempt]:
    """Her attempts against the dance's teacher among the `scores` rows, oldest first."""
    if scores.empty:
        return []
    against = scores["reference_kind"] == TEACHER_VIDEO
    same_file = scores["reference_path"].map(
        lambda path: isinstance(path, str) and Path(path).resolve() == teacher.resolve())
    rows = scores[against & ((scores["target_dance"] == dance) | same_file)]
    return [_attempt(lake, row) for _, row in rows.sort_values("scored_at").iterrows()]


def weakest_moment(found: list[Attempt]) -> dict | None:
    """Her last report's weakest moment, in the teacher's time, None without one."""
    for attempt in reversed(found):
        timed = [m for m in attempt.weakest if "teacher_start_s" in m]
        if timed:
            return timed[0]
    return None


def overview(lake: Lake) -> list[dict]:
    """Home's content: each dance with a teacher, her attempts and her weakest moment."""
    dances = []
    scores = tables.read_table(lake, "scores")
    for dance, video in sorted(teachers(lake).items()):
        found = attempts(lake, scores, dance, video)
        dances.append({"dance": dance, "teacher": video.name,
                       "attempts": [a.__dict__ for a in found],
                       "weakest": weakest_moment(found)})
    return dances
