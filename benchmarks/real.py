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
   sharing no dance. A pair `score` refuses ranks below any score, as she is told "not
   this dance" (`auc_of_scores_alone` ranks the refused by their scores all the same).
2. averaged: every dancer of a routine danced by several against each routine averaged
   over the other dancers (the `choreography` asset's averaging, one pose a second), as
   `score --dance` judges her; the same targets. Two dancers cut out of one group video
   dance in sync: their timing stretches must show no tempo jump and no drift.
3. edits: for every student of a routine, ffmpeg makes edits whose truth is known, each
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
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
from provenance import code, machine, sources
from shared import cached_poses, judged, pose_cache_path, read_once, share

from dance_assets.core.ingest.dense_poses import DensePoses
from dance_assets.core.ingest.pose_features import normalise
from dance_assets.core.ingest.video import FfmpegSettings, find_ffmpeg, probe_video
from dance_assets.core.performance.beats import Beats
from dance_assets.core.performance.movement import Movement
from dance_assets.core.scoring.coaching import Feedback, feedback
from dance_assets.core.scoring.routines import RECOGNISED_FROM, align_to_routine, build_references
from dance_assets.core.scoring.scoring import judge_pair, routine_alignment

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
IN_SYNC_S = 0.2
SAME_SCORE = 10
MEASURED = ("dance_assets.core.scoring.coaching", "dance_assets.core.performance.movement",
            "dance_assets.core.scoring.pair_alignment", "dance_assets.core.scoring.scoring",
            "dance_assets.core.scoring.music", "dance_assets.core.ingest.follower")


@dataclass(frozen=True)
class Clip:
    name: str
    routine: str
    part: str
    path: Path
    group: str | None = None  # the group video she was cut out of, dancing in sync


@dataclass(frozen=True)
class Performance:
    movement: Movement
    music: Beats | None


def load_clips(folder: Path | None, work: Path, ffmpeg: str) -> list[Clip]:
    """The manifest's clips in `folder`, each file checked against its sha256; a dancer
    cut out of a group video (`crop`, `window`) is made once under work/clips/."""
    if folder is None:
        sys.exit(f"real.py: no clips folder: pass --clips DIR or set {CLIPS_VAR} "
                 "(shared/real_dev_clips.md says where the clips come from)")
    manifest = json.loads(MANIFEST.read_text())
    clips, problems = [], []
    for entry in manifest["clips"]:
        path = folder / entry.get("file", entry["name"])
        if not path.is_file():
            problems.append(f"{path.name} missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"]:
            problems.append(f"{path.name} is not the listed file (sha256 differs)")
        else:
            group = None
            if "crop" in entry or "window" in entry:
                group = path.name
                path = cut_out(path, entry, work / "clips" / entry["name"], ffmpeg)
            clips.append(Clip(entry["name"], entry["routine"], entry["part"], path, group))
    if problems:
        sys.exit(f"real.py: in {folder}: " + "; ".join(problems))
    return clips


def cut_out(source: Path, entry: dict, target: Path, ffmpeg: str) -> Path:
    """One dancer of a group video: its `window` of seconds, cropped to her `crop`."""
    start, end = entry.get("window", (0.0, None))
    trim = ["-ss", str(start), *(["-t", str(end - start)] if end is not None else [])]
    crop = []
    if "crop" in entry:  # x:y:w:h in the manifest, as people read a box; ffmpeg's is w:h:x:y
        x, y, width, height = entry["crop"].split(":")
        crop = ["-vf", f"crop={width}:{height}:{x}:{y}"]
    return ffmpeg_edit(ffmpeg, source, target, *crop, before=trim)


class Judge:
    """Performances read once (poses cached by content), and pairs judged as score does."""

    def __init__(self, work: Path, ffmpeg: str):
        self.cache, self.ffmpeg = work, ffmpeg
        self.read: dict[Path, Performance] = {}

    def performance(self, video: Path) -> Performance:
        if video not in self.read:
            read = read_once(video, self.cache, self.ffmpeg)
            self.read[video] = Performance(read.movement, read.beats)
        return self.read[video]

    def __call__(self, student: Path, teacher: Path) -> Feedback:
        hers, theirs = self.performance(student), self.performance(teacher)
        return judge_pair(hers.movement, theirs.movement, hers.music, theirs.music)[1]


def in_sync(result: Feedback) -> dict:
    """Two dancers of one group video dance in sync: no tempo jumps (every timing stretch
    within 3 % of the teacher's tempo) and no drifting offset (every stretch within
    IN_SYNC_S of the other dancer: people in step differ by a tenth of a second or so)."""
    stretches = [[t.start_s, t.end_s, t.offset_ms, t.tempo] for t in result.timing]
    return {"timing": stretches, "in_sync_right": bool(stretches) and all(
        abs(offset) <= 1000 * IN_SYNC_S and abs(tempo - 1) <= 0.03
        for _, _, offset, tempo in stretches)}


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
                         "error_deg": result.error_deg, "body_parts": result.body_parts,
                         **(in_sync(result) if student.group and student.group
                            == reference.group else {})})
            print(f"  {student.name} vs {reference.name}: {result.score}"
                  f"{'' if result.shares_a_dance else ' (no shared dance)'}", flush=True)
    return {"rows": rows, "by_part": {part: routine_summary(
        [r for r in rows if r["part"] == part]) for part in ("tune", "measure")}}


def told(row: dict) -> int:
    """What `score` tells her of a pair: its score, or nothing (0) when it refuses the pair
    as sharing no dance (a teacher) or as no dance it knows (a routine): she is told it
    is not this dance, below any score."""
    return row["score"] if row["shares_a_dance"] else 0


def routine_summary(rows: list[dict]) -> dict:
    firsts = []
    for student in dict.fromkeys(r["student"] for r in rows):
        own = [told(r) for r in rows if r["student"] == student and r["same"]]
        others = [told(r) for r in rows if r["student"] == student and not r["same"]]
        if own and others:
            firsts.append(own[0] > max(others))
    same = [r for r in rows if r["same"]]
    other = [r for r in rows if not r["same"]]
    return {
        "dancers": len(firsts),
        "own_routine_first": judged(TARGETS, "own_routine_first", share(firsts)),
        "auc": judged(TARGETS, "auc", auc([told(r) for r in same], [told(r) for r in other])),
        "auc_of_scores_alone": auc([r["score"] for r in same], [r["score"] for r in other]),
        "same_routine_refused": judged(TARGETS, "same_routine_refused",
                                       sum(not r["shares_a_dance"] for r in same)),
        "other_routine_refused": share([not r["shares_a_dance"] for r in other]),
        "in_sync_right": share([r["in_sync_right"] for r in same if "in_sync_right" in r]),
        "same_routine_scores": sorted(r["score"] for r in same),
        "other_routine_scores_max": max((r["score"] for r in other), default=None),
    }


def seconds_of(poses: DensePoses) -> DensePoses:
    """A video's poses one a second, as the lake's frames sample it (the frame nearest
    each whole second)."""
    wanted = np.arange(0.0, float(poses.times[-1]) + 1e-9, 1.0)
    picked = np.unique(np.clip(np.searchsorted(poses.times, wanted), 0, len(poses) - 1))
    return replace(poses, times=np.round(poses.times[picked]), x=poses.x[picked],
                   y=poses.y[picked], visibility=poses.visibility[picked],
                   people=poses.people[picked], rate=1.0, frames=[], motion=None)


def run_averaged(clips: list[Clip], judge: Judge) -> dict:
    """Every dancer of a routine with others against each routine averaged over its other
    dancers (as the `choreography` asset averages a lake's training performances), judged
    as `score --dance` judges her: routine_alignment, then the untimed feedback."""
    seconds = {c.name: seconds_of(cached_poses(c.path, judge.cache, judge.ffmpeg))
               for c in clips}
    rows = []
    for student in clips:
        if sum(c.routine == student.routine for c in clips) < 2:
            continue
        others = [c for c in clips if c.name != student.name]
        skeletons = pd.DataFrame([
            {"frame_id": f"{c.name}:{i}", "video_id": c.name, "second": int(poses.times[i]),
             "skeleton": skeleton}
            for c in others for poses in [seconds[c.name]]
            for i, skeleton in zip(np.flatnonzero(poses.found), normalise(
                poses.x[poses.found], poses.y[poses.found], poses.width, poses.height),
                strict=True)])
        videos = pd.DataFrame({"video_id": [c.name for c in others],
                               "dance_class": [c.routine for c in others]})
        references = {r.dance: r for r in build_references(skeletons, videos)}
        hers = seconds[student.name]
        usable = np.flatnonzero(hers.found)
        for routine, reference in references.items():
            result = feedback(routine_alignment(hers, usable, reference))
            upright = normalise(hers.x[usable], hers.y[usable], hers.width, hers.height)
            fit = reference.score(align_to_routine(upright, reference.skeletons).cost)
            rows.append({"student": student.name, "part": student.part, "reference": routine,
                         "same": routine == student.routine, "score": result.score,
                         "shares_a_dance": fit >= RECOGNISED_FROM, "routine_fit": fit,
                         "error_deg": result.error_deg, "body_parts": result.body_parts})
            print(f"  {student.name} vs {routine}'s routine: {result.score} (fit {fit})",
                  flush=True)
    return {"rows": rows, "by_part": {part: routine_summary(
        [r for r in rows if r["part"] == part]) for part in ("tune", "measure")}}


def ffmpeg_edit(ffmpeg: str, sources: Path | list[Path], target: Path, *args: str,
                before: list[str] | None = None) -> Path:
    """An edited copy of `sources` (one video, or two for a filter graph), made once;
    `before`: input options (where to start reading)."""
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial.mp4")
        inputs = [item for source in ([sources] if isinstance(sources, Path) else sources)
                  for item in (*(before or []), "-i", str(source))]
        subprocess.run([ffmpeg, "-hide_banner", "-v", "error", "-y", *inputs, *args,
                        "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-threads",
                        "1", "-c:a", "aac", str(partial)], check=True)
        partial.rename(target)
    return target


def make_edits(student: Clip, teacher: Clip, other: Clip, work: Path, ffmpeg: str
               ) -> dict[str, Path]:
    """The edits of one pair, under work/edits/<student>/."""
    folder = work / "edits" / Path(student.name).stem
    middle = probe_video(student.path, FfmpegSettings(ffmpeg, threads=1, timeout_s=60)
                         ).duration_s / 2
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


def edited_pairs(clips: list[Clip]) -> list[tuple[Clip, Clip, Clip]]:
    """(student, her routine's teacher, a clip of another routine) for every student."""
    pairs = []
    for student in clips:
        routine = [c for c in clips if c.routine == student.routine]
        if len(routine) >= 2 and routine[0].name != student.name:
            other = next(c for c in clips if c.routine != student.routine)
            pairs.append((student, routine[0], other))
    return pairs


def pose_all(videos: list[Path], judge: Judge) -> None:
    """Every video's dense poses into the cache, two at a time (the cores this runs on),
    before anything is judged."""
    todo = [v for v in dict.fromkeys(videos) if not pose_cache_path(v, judge.cache).is_file()]
    print(f"posing {len(todo)} of {len(set(videos))} videos (the rest are cached)", flush=True)
    with ProcessPoolExecutor(2) as pool:
        for video, _ in zip(todo, pool.map(cached_poses, todo, [judge.cache] * len(todo),
                                           [judge.ffmpeg] * len(todo)), strict=True):
            print(f"  posed {video.parent.name}/{video.name}", flush=True)


def run_edits(clips: list[Clip], judge: Judge, work: Path, ffmpeg: str) -> dict:
    rows = []
    pairs = edited_pairs(clips)
    made = [make_edits(student, teacher, other, work, ffmpeg)
            for student, teacher, other in pairs]
    pose_all([path for edits in made for key, path in edits.items() if key != "_splice"],
             judge)
    for (student, teacher, _), edits in zip(pairs, made, strict=True):
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
    parser.add_argument("--parts", nargs="+", default=["routines", "averaged", "edits"],
                        choices=["routines", "averaged", "edits"])
    parser.add_argument("--work", type=Path, default=HERE / "work" / "real")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "real.json")
    args = parser.parse_args()
    ffmpeg = find_ffmpeg()
    clips = load_clips(args.clips, args.work, ffmpeg)
    at_start = sources(MEASURED)
    judge = Judge(args.work, ffmpeg)
    pose_all([c.path for c in clips], judge)
    report: dict = {
        "benchmark": "scoring on real dancers (benchmarks/real.py)",
        "command": "python benchmarks/real.py --clips DIR",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "clips": {entry["name"]: {key: entry[key] for key in
                                  ("routine", "part", "sha256", "crop", "window") if key in entry}
                  for entry in json.loads(MANIFEST.read_text())["clips"]},
        "pairs_of_one_routine": [[a.name, b.name] for a, b in combinations(clips, 2)
                                 if a.routine == b.routine],
        "targets": {name: f"{rel} {bound:g}" for name, (rel, bound) in TARGETS.items()},
    }
    if "routines" in args.parts:
        print("routines: every dancer against every routine", flush=True)
        report["routines"] = run_routines(clips, judge)
    if "averaged" in args.parts:
        print("averaged routines: every dancer against each routine averaged over the "
              "others, as score --dance", flush=True)
        report["averaged"] = run_averaged(clips, judge)
    if "edits" in args.parts:
        print("edits with a known truth", flush=True)
        report["edits"] = run_edits(clips, judge, args.work, ffmpeg)
    report["code"] = code(MEASURED, at_start)
    args.out.write_text(json.dumps(report, indent=1, default=str) + "\n")
    for part in ("tune", "measure"):
        summary = {name: report[name]["by_part"][part] for name in ("routines", "averaged", "edits")
                   if name in report}
        print(part, json.dumps(summary, default=str))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
