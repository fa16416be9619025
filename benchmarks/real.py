"""Scoring on real dancers: the same routine against other routines, and edits with a
known truth, over real clips that are never committed.

The clips are listed in benchmarks/real/clips.json (each one's source, sha256, routine
and part: `tune`, the pairs the score's rules were set on, or `measure`, pairs only ever
measured); the folder holding them is --clips or $DANCE_REAL_CLIPS. The first clip of a
routine is its teacher.

1. routines: every clip as a student against every routine's reference (its teacher,
   or for the teacher herself the routine's next dancer), judged as `score --reference`
   judges (core/scoring/scoring.judge_pair: the song first, then the poses). Targets:
   her own routine scored above every other routine for >= 95 % of dancers, AUC of
   same-routine against other-routine scores >= 0.97, no same-routine pair refused as
   sharing no dance.
2. edits: for every student of a routine, ffmpeg makes edits whose truth is known, each
   judged against the teacher beside the unedited student: the teacher cut 0.5 s later
   (her offset moves by 0.5 s / tempo, within 100 ms: >= 90 %), her video at 0.8x and
   1.25x (her tempo moves by that factor, within 5 %: >= 95 %), mirrored (mirroring
   flips: all), three seconds of another routine spliced into her middle (her weakest
   moment is there: >= 90 %), another dancer's video crossing the frame for three
   seconds (her offset within 100 ms, her score within 10), and filmed sideways (turned
   upright, her score within 10).
Dense poses are cached by content under --work (benchmarks/work/real/), so a rerun only
aligns; results go to benchmarks/results/real.json with the clips' hashes.

    python benchmarks/real.py --clips DIR [--parts routines edits]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path

import numpy as np
from provenance import code, machine, sources
from shared import cached_poses, judged, share

from dance_assets.core.ingest.video import FfmpegSettings, find_ffmpeg, probe_video
from dance_assets.core.scoring.beats import Beats
from dance_assets.core.scoring.coaching import Feedback
from dance_assets.core.scoring.movement import Movement, movement_of
from dance_assets.core.scoring.scoring import judge_pair, music_of

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "real" / "clips.json"
CLIPS_VAR = "DANCE_REAL_CLIPS"
TARGETS = {
    "own_routine_first": (">=", 0.95), "auc": (">=", 0.97), "same_routine_refused": ("<=", 0),
    "splice_found": (">=", 0.9), "cut_offset_right": (">=", 0.9),
    "tempo_right": (">=", 0.95), "mirroring_right": (">=", 1.0),
}
SPLICE_S = 3.0
CUT_S = 0.5
ON_TIME_S = 0.1
SAME_SCORE = 10
MEASURED = ("dance_assets.core.scoring.coaching", "dance_assets.core.scoring.movement",
            "dance_assets.core.scoring.pair_alignment", "dance_assets.core.scoring.scoring",
            "dance_assets.core.scoring.music", "dance_assets.core.ingest.follower")


@dataclass(frozen=True)
class Clip:
    name: str
    routine: str
    part: str
    path: Path


@dataclass(frozen=True)
class Performance:
    movement: Movement
    music: Beats | None


def load_clips(folder: Path | None) -> list[Clip]:
    """The manifest's clips in `folder`, each checked against its sha256."""
    if folder is None:
        sys.exit(f"real.py: no clips folder: pass --clips DIR or set {CLIPS_VAR} "
                 "(shared/real_dev_clips.md says where the clips come from)")
    manifest = json.loads(MANIFEST.read_text())
    clips, problems = [], []
    for entry in manifest["clips"]:
        path = folder / entry["name"]
        if not path.is_file():
            problems.append(f"{entry['name']} missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"]:
            problems.append(f"{entry['name']} is not the listed file (sha256 differs)")
        else:
            clips.append(Clip(entry["name"], entry["routine"], entry["part"], path))
    if problems:
        sys.exit(f"real.py: in {folder}: " + "; ".join(problems))
    return clips


class Judge:
    """Performances read once (poses cached by content), and pairs judged as score does."""

    def __init__(self, work: Path, ffmpeg: str):
        self.cache, self.ffmpeg = work / "poses", ffmpeg
        self.read: dict[Path, Performance] = {}

    def performance(self, video: Path) -> Performance:
        if video not in self.read:
            movement = movement_of(cached_poses(video, self.cache, self.ffmpeg))
            self.read[video] = Performance(movement, music_of(video, self.ffmpeg)[0])
        return self.read[video]

    def __call__(self, student: Path, teacher: Path) -> Feedback:
        hers, theirs = self.performance(student), self.performance(teacher)
        return judge_pair(hers.movement, theirs.movement, hers.music, theirs.music)[1]


def reference_for(student: Clip, routine: str, clips: list[Clip]) -> Clip:
    """A routine's teacher (its first clip), or its next dancer for the teacher herself."""
    return next(c for c in clips if c.routine == routine and c.name != student.name)


def auc(same: list[float], other: list[float]) -> float | None:
    """How often a same-routine score beats an other-routine one (ties count half)."""
    if not same or not other:
        return None
    a, b = np.asarray(same)[:, None], np.asarray(other)[None, :]
    return round(float(((a > b) + 0.5 * (a == b)).mean()), 4)


def run_routines(clips: list[Clip], judge: Judge) -> dict:
    routines = list(dict.fromkeys(c.routine for c in clips))
    rows = []
    for student in clips:
        for routine in routines:
            if sum(c.routine == routine and c.name != student.name for c in clips) == 0:
                continue
            reference = reference_for(student, routine, clips)
            result = judge(student.path, reference.path)
            rows.append({"student": student.name, "part": student.part,
                         "reference": reference.name, "same": routine == student.routine,
                         "score": result.score, "shares_a_dance": result.shares_a_dance,
                         "error_deg": result.error_deg, "body_parts": result.body_parts})
            print(f"  {student.name} vs {reference.name}: {result.score}"
                  f"{'' if result.shares_a_dance else ' (no shared dance)'}", flush=True)
    return {"rows": rows, "by_part": {part: routine_summary(
        [r for r in rows if r["part"] == part]) for part in ("tune", "measure")}}


def routine_summary(rows: list[dict]) -> dict:
    firsts = []
    for student in dict.fromkeys(r["student"] for r in rows):
        own = [r["score"] for r in rows if r["student"] == student and r["same"]]
        others = [r["score"] for r in rows if r["student"] == student and not r["same"]]
        if own and others:
            firsts.append(own[0] > max(others))
    same = [r for r in rows if r["same"]]
    return {
        "dancers": len(firsts),
        "own_routine_first": judged(TARGETS, "own_routine_first", share(firsts)),
        "auc": judged(TARGETS, "auc", auc([r["score"] for r in same],
                                          [r["score"] for r in rows if not r["same"]])),
        "same_routine_refused": judged(TARGETS, "same_routine_refused",
                                       sum(not r["shares_a_dance"] for r in same)),
        "same_routine_scores": sorted(r["score"] for r in same),
        "other_routine_scores_max": max((r["score"] for r in rows if not r["same"]),
                                        default=None),
    }


def ffmpeg_edit(ffmpeg: str, sources: Path | list[Path], target: Path, *args: str) -> Path:
    """An edited copy of `sources` (one video, or two for a filter graph), made once."""
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial.mp4")
        inputs = [item for source in ([sources] if isinstance(sources, Path) else sources)
                  for item in ("-i", str(source))]
        subprocess.run([ffmpeg, "-hide_banner", "-v", "error", "-y", *inputs, *args,
                        "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-threads",
                        "1", "-c:a", "aac", str(partial)], check=True)
        partial.rename(target)
    return target


def duration(video: Movement) -> float:
    return float(video.times[-1]) if len(video.times) else 0.0


def make_edits(student: Clip, teacher: Clip, other: Clip, work: Path, ffmpeg: str,
               judge: Judge) -> dict[str, Path]:
    """The edits of one pair, under work/edits/<student>/."""
    folder = work / "edits" / Path(student.name).stem
    middle = duration(judge.performance(student.path).movement) / 2
    start = round(middle - SPLICE_S / 2, 2)
    splice_filter = (
        f"[1:v]trim=start={start}:duration={SPLICE_S},setpts=PTS-STARTPTS+{start}/TB,"
        f"scale=w='trunc(iw/2)*2':h='trunc(ih/2)*2'[other];"
        f"[other][0:v]scale2ref[other2][base];"
        f"[base][other2]overlay=enable='between(t,{start},{start + SPLICE_S})'[v]")
    walk_filter = (
        f"[1:v]trim=start={start}:duration={SPLICE_S},setpts=PTS-STARTPTS+{start}/TB[o];"
        f"[o][0:v]scale2ref=w=main_w*0.45:h=main_h*0.7[walker][base];"
        f"[base][walker]overlay=x='(t-{start})/{SPLICE_S}*main_w-overlay_w/2':"
        f"y=main_h*0.25:enable='between(t,{start},{start + SPLICE_S})'[v]")
    return {
        "cut": ffmpeg_edit(ffmpeg, teacher.path, folder / "teacher_cut.mp4", "-ss", str(CUT_S)),
        "slow": ffmpeg_edit(ffmpeg, student.path, folder / "slow.mp4",
                            *_at_speed(student.path, ffmpeg, 0.8)),
        "fast": ffmpeg_edit(ffmpeg, student.path, folder / "fast.mp4",
                            *_at_speed(student.path, ffmpeg, 1.25)),
        "mirrored": ffmpeg_edit(ffmpeg, student.path, folder / "mirrored.mp4", "-vf", "hflip"),
        "sideways": ffmpeg_edit(ffmpeg, student.path, folder / "sideways.mp4", "-vf",
                                "transpose=1", "-metadata:s:v", "rotate=0"),
        "spliced": ffmpeg_edit(ffmpeg, [student.path, other.path], folder / "spliced.mp4",
                               "-filter_complex", splice_filter, "-map", "[v]", "-map", "0:a?"),
        "walk_through": ffmpeg_edit(ffmpeg, [student.path, other.path],
                                    folder / "walk_through.mp4", "-filter_complex",
                                    walk_filter, "-map", "[v]", "-map", "0:a?"),
        "_splice": (start, start + SPLICE_S),
    }


def _at_speed(video: Path, ffmpeg: str, factor: float) -> list[str]:
    """ffmpeg arguments playing `video` at `factor` times its speed, its sound too if any."""
    has_sound = probe_video(video, FfmpegSettings(ffmpeg, threads=1, timeout_s=60)).audio_codec
    if not has_sound:
        return ["-vf", f"setpts=PTS/{factor}"]
    return ["-filter_complex", f"[0:v]setpts=PTS/{factor}[v];[0:a]atempo={factor}[a]",
            "-map", "[v]", "-map", "[a]"]


def run_edits(clips: list[Clip], judge: Judge, work: Path, ffmpeg: str) -> dict:
    rows = []
    for student in clips:
        routine = [c for c in clips if c.routine == student.routine]
        if len(routine) < 2 or routine[0].name == student.name:
            continue
        teacher = routine[0]
        other = next(c for c in clips if c.routine != student.routine)
        edits = make_edits(student, teacher, other, work, ffmpeg, judge)
        plain = judge(student.path, teacher.path)
        cut = judge(student.path, edits["cut"])
        row = {"student": student.name, "teacher": teacher.name, "part": student.part,
               "plain": {"score": plain.score, "offset_ms": plain.offset_ms,
                         "tempo": plain.tempo, "mirrored": plain.mirrored}}
        row["cut_offset_moved_ms"] = cut.offset_ms - plain.offset_ms
        expected_ms = 1000 * CUT_S / plain.tempo
        row["cut_offset_right"] = abs(row["cut_offset_moved_ms"] - expected_ms) <= 1000 * ON_TIME_S
        for name, factor in (("slow", 0.8), ("fast", 1.25)):
            edited = judge(edits[name], teacher.path)
            row[f"{name}_tempo_ratio"] = round(edited.tempo / plain.tempo, 3)
            row[f"{name}_tempo_right"] = abs(edited.tempo / plain.tempo / factor - 1) <= 0.05
        mirrored = judge(edits["mirrored"], teacher.path)
        row["mirroring_right"] = mirrored.mirrored != plain.mirrored
        spliced = judge(edits["spliced"], teacher.path)
        start, end = edits["_splice"]
        weakest = spliced.weakest[0] if spliced.weakest else None
        row["splice"] = [start, end]
        row["weakest"] = None if weakest is None else [weakest.start_s, weakest.end_s]
        row["splice_found"] = (weakest is not None
                               and start <= (weakest.start_s + weakest.end_s) / 2 <= end)
        walked = judge(edits["walk_through"], teacher.path)
        row["walk_through"] = {"score": walked.score, "offset_ms": walked.offset_ms}
        row["walk_through_right"] = (abs(walked.offset_ms - plain.offset_ms) <= 1000 * ON_TIME_S
                                     and abs(walked.score - plain.score) <= SAME_SCORE)
        sideways = judge(edits["sideways"], teacher.path)
        row["sideways"] = {"score": sideways.score, "turned_deg": sideways.turned_deg}
        row["sideways_right"] = (sideways.turned_deg in (90, 270)
                                 and abs(sideways.score - plain.score) <= SAME_SCORE)
        print(f"  {student.name}: " + json.dumps({k: v for k, v in row.items()
                                                  if k.endswith("right") or k.endswith("found")}),
              flush=True)
        rows.append(row)
    return {"rows": rows, "by_part": {part: edit_summary(
        [r for r in rows if r["part"] == part]) for part in ("tune", "measure")}}


def edit_summary(rows: list[dict]) -> dict:
    return {
        "pairs": len(rows),
        "cut_offset_right": judged(TARGETS, "cut_offset_right",
                                   share([r["cut_offset_right"] for r in rows])),
        "tempo_right": judged(TARGETS, "tempo_right", share(
            [r[f"{n}_tempo_right"] for r in rows for n in ("slow", "fast")])),
        "mirroring_right": judged(TARGETS, "mirroring_right",
                                  share([r["mirroring_right"] for r in rows])),
        "splice_found": judged(TARGETS, "splice_found", share([r["splice_found"] for r in rows])),
        "walk_through_right": share([r["walk_through_right"] for r in rows]),
        "sideways_right": share([r["sideways_right"] for r in rows]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=Path, default=os.environ.get(CLIPS_VAR) or None,
                        help=f"the folder of real clips (default: ${CLIPS_VAR})")
    parser.add_argument("--parts", nargs="+", default=["routines", "edits"],
                        choices=["routines", "edits"])
    parser.add_argument("--work", type=Path, default=HERE / "work" / "real")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "real.json")
    args = parser.parse_args()
    clips = load_clips(args.clips)
    at_start = sources(MEASURED)
    ffmpeg = find_ffmpeg()
    judge = Judge(args.work, ffmpeg)
    report: dict = {
        "benchmark": "scoring on real dancers (benchmarks/real.py)",
        "command": "python benchmarks/real.py --clips DIR",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "clips": {c.name: {"routine": c.routine, "part": c.part,
                           "sha256": hashlib.sha256(c.path.read_bytes()).hexdigest()}
                  for c in clips},
        "pairs_of_one_routine": [[a.name, b.name] for a, b in combinations(clips, 2)
                                 if a.routine == b.routine],
        "targets": {name: f"{rel} {bound:g}" for name, (rel, bound) in TARGETS.items()},
    }
    if "routines" in args.parts:
        print("routines: every dancer against every routine", flush=True)
        report["routines"] = run_routines(clips, judge)
    if "edits" in args.parts:
        print("edits with a known truth", flush=True)
        report["edits"] = run_edits(clips, judge, args.work, ffmpeg)
    report["code"] = code(MEASURED, at_start)
    args.out.write_text(json.dumps(report, indent=1, default=str) + "\n")
    for part in ("tune", "measure"):
        summary = {name: report[name]["by_part"][part] for name in ("routines", "edits")
                   if name in report}
        print(part, json.dumps(summary, default=str))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
