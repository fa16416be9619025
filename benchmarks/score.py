"""The teacher-scoring targets: accuracy over generated pairs, and speed end to end.

`dance-assets score STUDENT --reference TEACHER` is measured in three parts:

1. pairs: generated teachers and students (core/synthetic/lessons.write_pairs; videos and poses
   are cached under benchmarks/work/score/ and reused when there). Every student is
   aligned to her own teacher and scored against every teacher of her seed. Targets:
   median |offset error| <= 0.1 s, median |tempo error| <= 5 %, mirroring right >= 98 %,
   weakest moment inside the splice >= 90 % (its midpoint in [splice_start_s,
   splice_end_s]; "overlaps" is reported beside it), her own teacher scoring higher than
   every other >= 98 %. Per-pair rows with the sidecars' traits go to score-pairs.json.
2. end to end: a 60 s 720x1280 teacher and one of its students, `python -m
   dance_assets.cli score STUDENT --reference TEACHER --lake LAKE` in a fresh process,
   cold (a new lake, so the teacher is posed) and warm (the lake's pose cache filled),
   interleaved, --repeats times. Target: cold <= 30 s on a 2-core machine.
3. pose step: the student decoded once into memory as read_video decodes it, then a
   bare MediaPipe tracking loop and the project's pose_frames over the same frames,
   interleaved, --pose-repeats times. Target: bare / ours >= 0.9 (per-frame time).
Parts 2 and 3 go to score-speed.json; score.json gathers every target from both files.
Measure speed with nothing else running on the machine: every speed measurement records
the CPU seconds other processes used meanwhile (others_cpu_s; above ~1 s it shared the
cores). On 2 cores: pairs about 6 min from scratch (generating 2.5, posing 3, aligning
0.75), 45 s with videos and poses cached; speed about 3.5 min.

    python benchmarks/score.py --parts pairs [--seeds 1 2 --dances 6 --students 5
        --seconds 20 --size 360x640]
    python benchmarks/score.py --parts speed [--speed-seconds 60 --speed-size 720x1280
        --repeats 3 --pose-repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from provenance import OtherLoad, code, machine, sources
from shared import cached_poses, fresh_process, judged, share, size

from dance_assets.core.ingest import dense_poses, pose
from dance_assets.core.ingest.dense_poses import (
    DEFAULT_SETTINGS,
    decode,
    pose_frames,
)
from dance_assets.core.ingest.video import FfmpegSettings, find_ffmpeg, output_size, probe_video
from dance_assets.core.lake.errors import DanceAssetsError
from dance_assets.core.performance import movement, performance, store
from dance_assets.core.performance.movement import Movement, movement_of
from dance_assets.core.scoring import coaching, pair_alignment, scoring
from dance_assets.core.scoring.coaching import Feedback, feedback, frame_errors
from dance_assets.core.scoring.pair_alignment import PairAlignment, align_pair
from dance_assets.core.synthetic import (
    dancers,
    dances,
    drawing,
    lessons,
    phone,
    rendering,
    sound,
    specs,
    writing,
)
from dance_assets.core.synthetic.dances import DANCE_CLASSES, key_poses
from dance_assets.core.synthetic.lessons import student_specs, teacher_spec, write_pairs
from dance_assets.core.synthetic.specs import sidecar_path, video_path
from dance_assets.core.synthetic.writing import generate

HERE = Path(__file__).resolve().parent
WORK = HERE / "work" / "score"
RESULTS = HERE / "results"
TARGETS = {
    "median_abs_offset_error_s": ("<=", 0.1),
    "median_abs_tempo_error": ("<=", 0.05),
    "mirroring_right": (">=", 0.98),
    "weakest_inside_splice": (">=", 0.90),
    "own_teacher_highest": (">=", 0.98),
    "end_to_end_cold_median_s": ("<=", 30.0),
    "pose_bare_over_ours": (">=", 0.9),
}
# The modules measured, compared with the commit a result names.
MEASURED = tuple(module.__name__ for module in (
    dense_poses, pose, movement, pair_alignment, coaching, scoring, performance, store,
    dances, dancers, drawing, lessons, phone, rendering, sound, specs, writing))
TRUTH = ("offset_s", "tempo", "mirrored", "splice_start_s", "splice_end_s", "splice_dance")
TRAITS = ("seconds", "style", "handheld", "dancers", "fills_frame", "motion_blur",
          "bitrate_kbps", "empty_seconds", "noise_seconds", "card_seconds", "still_seconds")



# -- part 1: pairs -----------------------------------------------------------------------



def make_pairs(args: argparse.Namespace, ffmpeg: str) -> list[dict]:
    """Write what is missing of every seed's pairs; one entry per dance and seed."""
    lessons = []
    for seed in args.seeds:
        root = WORK / "pairs" / f"{args.seconds:g}s-{args.size[0]}x{args.size[1]}" / f"seed{seed}"
        dances = list(DANCE_CLASSES[:args.dances])
        for teacher, students in write_pairs(root, dances, args.students, args.seconds,
                                             args.size, seed, ffmpeg):
            lessons.append({"seed": seed, "dance": teacher.parent.name, "teacher": teacher,
                            "students": students})
    return lessons


def pose_everything(lessons: list[dict], ffmpeg: str) -> dict[Path, Movement]:
    """Every video posed once (two at a time: MediaPipe lets go of the GIL)."""
    videos = [v for lesson in lessons for v in (lesson["teacher"], *lesson["students"])]
    cache = WORK
    with ThreadPoolExecutor(2) as pool:
        poses = list(pool.map(lambda v: cached_poses(v, cache, ffmpeg), videos))
    return {video: movement_of(p) for video, p in zip(videos, poses, strict=True)}


def try_align(student: Movement, teacher: Movement) -> tuple[PairAlignment, Feedback] | str:
    try:
        alignment = align_pair(student, teacher)
    except DanceAssetsError as exc:
        return str(exc)
    return alignment, feedback(alignment)


def weakest_fields(judgement: Feedback, truth: dict) -> dict:
    """Where her weakest moment lies against the splice window (her video's time)."""
    start, end = truth.get("splice_start_s"), truth.get("splice_end_s")
    moments = judgement.weakest
    out: dict = {"weakest": [[m.start_s, m.end_s, m.body_part] for m in moments],
                 "weakest_inside_splice": None, "weakest_overlaps_splice": None,
                 "any_weakest_overlaps_splice": None}
    if start is None:
        return out
    if not moments:
        return out | {"weakest_inside_splice": False, "weakest_overlaps_splice": False,
                      "any_weakest_overlaps_splice": False}
    first = moments[0]
    overlaps = [m.start_s < end and m.end_s > start for m in moments]
    return out | {"weakest_inside_splice": bool(start <= (first.start_s + first.end_s) / 2
                                                <= end),
                  "weakest_overlaps_splice": overlaps[0],
                  "any_weakest_overlaps_splice": any(overlaps)}


def splice_fields(alignment: PairAlignment, truth: dict) -> dict:
    """Her mean body-part angle inside the splice and outside it, and how much of the
    splice was compared at all (a line that leaves it off the teacher's video cannot
    find it)."""
    start, end = truth.get("splice_start_s"), truth.get("splice_end_s")
    if start is None:
        return {}
    times = alignment.student.times
    inside = (times >= start) & (times < end)
    errors = frame_errors(alignment.part_errors)

    def mean(frames: np.ndarray) -> float | None:
        seen = frames & ~np.isnan(errors)
        return round(float(errors[seen].mean()), 1) if seen.any() else None

    return {"splice_error_deg": mean(inside), "outside_error_deg": mean(~inside),
            "splice_compared": round(float(alignment.compared[inside].mean()), 2)}


def loop_fields(dance: str, truth: dict, offset_error: float) -> dict:
    """The routine's repeat on her clock, and the offset error in repeats: a line one
    repeat off shows the same poses, so only the timing is wrong."""
    routine = key_poses(dance)
    loop = len(routine.poses) * routine.beats_per_pose * 60 / routine.tempo_bpm / truth["tempo"]
    return {"loop_s": round(loop, 2), "offset_error_loops": round(offset_error / loop, 2)}


def own_fields(result: tuple[PairAlignment, Feedback] | str, truth: dict) -> dict:
    """Her alignment to her own teacher against the sidecar's truth."""
    if isinstance(result, str):
        return {"error": result, "offset_error_s": None, "tempo_error": None,
                "mirroring_right": False, "own_score": None, "own_shares_a_dance": False,
                "weakest_inside_splice": False if truth.get("splice_start_s") is not None
                else None}
    alignment, judgement = result
    warp = alignment.warp
    return {"offset_s": round(warp.offset_s, 3), "tempo": round(warp.tempo, 4),
            "mirrored": alignment.mirrored,
            "offset_error_s": round(warp.offset_s - truth["offset_s"], 3),
            "tempo_error": round(warp.tempo / truth["tempo"] - 1, 4),
            "mirroring_right": alignment.mirrored == truth["mirrored"],
            "own_score": judgement.score, "own_error_deg": judgement.error_deg,
            "own_fit": round(warp.fit, 4), "own_shares_a_dance": judgement.shares_a_dance,
            **weakest_fields(judgement, truth), **splice_fields(alignment, truth)}


def pair_row(lesson: dict, student: Path, movements: dict[Path, Movement],
             teachers: dict[str, Path]) -> dict:
    """One student against her own teacher and every other teacher of her seed."""
    truth = json.loads(sidecar_path(student).read_text())
    hers = movements[student]
    row = {"seed": lesson["seed"], "dance": lesson["dance"], "student": student.stem,
           "truth": {k: truth.get(k) for k in TRUTH},
           "traits": {k: truth.get(k) for k in TRAITS},
           "found_share": round(float(hers.found.mean()), 3)}
    row |= own_fields(try_align(hers, movements[teachers[lesson["dance"]]]), truth)
    if row["offset_error_s"] is not None:
        row |= loop_fields(lesson["dance"], truth, row["offset_error_s"])
    others = {}
    for dance, teacher in teachers.items():
        if dance == lesson["dance"]:
            continue
        result = try_align(hers, movements[teacher])
        others[dance] = ({"score": None, "shares_a_dance": False, "error": result}
                         if isinstance(result, str) else
                         {"score": result[1].score, "shares_a_dance": result[1].shares_a_dance,
                          "fit": round(result[0].warp.fit, 4)})
    scores = [o["score"] for o in others.values() if o["score"] is not None]
    row["others"] = others
    row["best_other_score"] = max(scores) if scores else None
    row["own_teacher_highest"] = row["own_score"] is not None and all(
        row["own_score"] > s for s in scores)
    return row


def spread(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    p5, p50, p95 = np.percentile(values, [5, 50, 95])
    return {"n": len(values), "p5": round(float(p5), 1), "median": round(float(p50), 1),
            "p95": round(float(p95), 1)}



def magnitudes(values: list[float | None]) -> np.ndarray:
    """|v|, a failed alignment (None) as infinitely wrong."""
    return np.array([abs(v) if v is not None else np.inf for v in values])


def pair_name(row: dict) -> str:
    return f"seed{row['seed']}/{row['dance']}/{row['student']}"


def whole_repeats(row: dict) -> bool:
    """Her offset is off by one or more whole repeats of the routine (within a tenth)."""
    loops = row.get("offset_error_loops")
    return loops is not None and round(loops) != 0 and abs(loops - round(loops)) < 0.1


def failures(rows: list[dict]) -> dict[str, list[str]]:
    """The pairs that miss each target, by name."""
    return {
        "offset_over_0.1_s": [pair_name(r) for r in rows
                              if magnitudes([r["offset_error_s"]])[0] > 0.1],
        "tempo_over_5_percent": [pair_name(r) for r in rows
                                 if magnitudes([r["tempo_error"]])[0] > 0.05],
        "mirroring_wrong": [pair_name(r) for r in rows if not r["mirroring_right"]],
        "weakest_not_inside_splice": [pair_name(r) for r in rows
                                      if r["weakest_inside_splice"] is False],
        "own_not_highest": [pair_name(r) for r in rows if not r["own_teacher_highest"]],
        "own_flagged_no_dance": [pair_name(r) for r in rows if not r["own_shares_a_dance"]]}


def pair_summary(rows: list[dict]) -> dict:
    """The targets over all pairs, the score distributions and the failures by name."""
    others = [o for r in rows for o in r["others"].values()]
    offsets = magnitudes([r["offset_error_s"] for r in rows])
    tempos = magnitudes([r["tempo_error"] for r in rows])
    return {
        "pairs": len(rows),
        "targets": {
            "median_abs_offset_error_s": judged(TARGETS, "median_abs_offset_error_s",
                                                round(float(np.median(offsets)), 3)),
            "median_abs_tempo_error": judged(TARGETS, "median_abs_tempo_error",
                                             round(float(np.median(tempos)), 4)),
            "mirroring_right": judged(TARGETS, "mirroring_right",
                                      share([r["mirroring_right"] for r in rows])),
            "weakest_inside_splice": judged(TARGETS, "weakest_inside_splice", share(
                [r["weakest_inside_splice"] for r in rows])),
            "own_teacher_highest": judged(TARGETS, "own_teacher_highest",
                                          share([r["own_teacher_highest"] for r in rows]))},
        "weakest_overlaps_splice": share([r.get("weakest_overlaps_splice") for r in rows]),
        "any_of_weakest_overlaps_splice": share(
            [r.get("any_weakest_overlaps_splice") for r in rows]),
        "p90_abs_offset_error_s": round(float(np.percentile(offsets, 90)), 3),
        "offset_off_by_whole_repeats": share([whole_repeats(r) for r in rows]),
        "p90_abs_tempo_error": round(float(np.percentile(tempos, 90)), 4),
        "scores": {"own": spread([r["own_score"] for r in rows if r["own_score"] is not None]),
                   "other": spread([o["score"] for o in others if o["score"] is not None]),
                   "best_other": spread([r["best_other_score"] for r in rows
                                         if r["best_other_score"] is not None])},
        "flagged_shares_no_dance": {
            "own": share([not r["own_shares_a_dance"] for r in rows]),
            "other": share([not o["shares_a_dance"] for o in others])},
        "failures": failures(rows),
    }


def run_pairs(args: argparse.Namespace, ffmpeg: str) -> dict:
    timings = {}
    started = time.perf_counter()
    lessons = make_pairs(args, ffmpeg)
    timings["generate_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    movements = pose_everything(lessons, ffmpeg)
    timings["pose_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    rows = []
    for seed in args.seeds:
        mine = [lesson for lesson in lessons if lesson["seed"] == seed]
        teachers = {lesson["dance"]: lesson["teacher"] for lesson in mine}
        rows += [pair_row(lesson, s, movements, teachers)
                 for lesson in mine for s in lesson["students"]]
    timings["align_and_judge_s"] = round(time.perf_counter() - started, 1)
    return {"benchmark": "teacher scoring over generated pairs",
            "setup": {"seeds": args.seeds, "dances": args.dances, "students": args.students,
                      "seconds": args.seconds, "size": "x".join(map(str, args.size)),
                      "videos": len(movements), "pose_settings":
                      DEFAULT_SETTINGS.fingerprint()},
            "definitions": {
                "offset_error_s": "measured offset_s - sidecar offset_s",
                "tempo_error": "measured tempo / sidecar tempo - 1",
                "weakest_inside_splice": "midpoint of the first (worst) weakest moment in "
                                         "[splice_start_s, splice_end_s]",
                "weakest_overlaps_splice": "the worst weakest moment overlaps the window",
                "own_teacher_highest": "own score > every other teacher's (failed "
                                       "alignments to other teachers count as lower)"},
            "timings": timings, "summary": pair_summary(rows), "rows": rows}


# -- part 2: end to end ------------------------------------------------------------------


def speed_videos(args: argparse.Namespace, ffmpeg: str) -> tuple[Path, Path, dict]:
    """The 60 s teacher and one student of it, written when missing."""
    width, height = args.speed_size
    root = WORK / "speed" / f"{args.speed_seconds:g}s-{width}x{height}-seed{args.speed_seed}"
    dance = DANCE_CLASSES[0]
    teacher = teacher_spec(dance, args.speed_seed, args.speed_seconds, args.speed_size)
    student = student_specs(dance, args.speed_seed, args.speed_student + 1,
                            args.speed_seconds, args.speed_size)[args.speed_student]
    generate(root, [teacher, student], ffmpeg)
    paths = video_path(root, teacher), video_path(root, student)
    probes = [probe_video(p, FfmpegSettings(ffmpeg)) for p in paths]
    truth = json.loads(sidecar_path(paths[1]).read_text())
    info = {"dance": dance, "seed": args.speed_seed,
            "teacher": {"path": str(paths[0]), "planned_s": teacher.seconds,
                        "duration_s": round(probes[0].duration_s, 2),
                        "size": f"{probes[0].width}x{probes[0].height}"},
            "student": {"path": str(paths[1]), "planned_s": student.seconds,
                        "duration_s": round(probes[1].duration_s, 2),
                        "size": f"{probes[1].width}x{probes[1].height}",
                        "truth": {k: v for k, v in truth.items() if k in TRUTH},
                        "traits": {k: v for k, v in truth.items() if k in TRAITS}}}
    return paths[0], paths[1], info


def one_run(command: list[str]) -> tuple[float, float | None, list[str], float]:
    """Wall time of a fresh process, the `scored in` it prints, its output and the CPU
    seconds others used meanwhile (shared.fresh_process)."""
    wall, lines, stderr, others = fresh_process(command)
    found = re.search(r"scored in ([\d.]+) s", stderr)
    return wall, float(found.group(1)) if found else None, lines, others

def end_to_end(teacher: Path, student: Path, repeats: int) -> dict:
    """Cold (fresh lake) and warm (teacher's poses cached) runs, interleaved."""
    runs: dict[str, list] = {"cold": [], "warm": []}
    output: list[str] = []
    failed = []
    with tempfile.TemporaryDirectory(prefix="score-bench-") as scratch:
        for repeat in range(repeats):
            lake = Path(scratch) / f"lake{repeat}"
            command = [sys.executable, "-m", "dance_assets.cli", "score", str(student),
                       "--reference", str(teacher), "--lake", str(lake)]
            for kind in ("cold", "warm"):
                wall, inside, output, others = one_run(command)
                runs[kind].append((wall, inside, others))
                if inside is None:
                    failed.append({"kind": kind, "repeat": repeat + 1, "output": output})
                print(f"  end to end {kind} {repeat + 1}/{repeats}: {wall:.1f} s "
                      f"(others used {others:.1f} CPU s)", flush=True)
    out = {"command": shlex.join([Path(sys.executable).name, "-m", "dance_assets.cli",
                                  "score", "STUDENT", "--reference", "TEACHER", "--lake",
                                  "LAKE"]), "last_output": output, "failed_runs": failed}
    for kind, values in runs.items():
        walls = [w for w, _, _ in values]
        out[kind] = {"wall_best_s": round(min(walls), 2),
                     "wall_median_s": round(statistics.median(walls), 2),
                     "runs_s": [round(w, 2) for w in walls],
                     "scored_in_s": [i for _, i, _ in values],
                     "others_cpu_s": [o for _, _, o in values]}
    return out


# -- part 3: the pose step against a bare MediaPipe loop ---------------------------------


def bare_loop(frames: list[np.ndarray]) -> tuple[float, int]:
    """MediaPipe's tracking pose on every frame, its graph started before the clock."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    from mediapipe.python.solutions import pose as mp_pose

    model = mp_pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=False,
                         enable_segmentation=False, min_detection_confidence=0.5,
                         min_tracking_confidence=0.5)
    model.process(frames[0])
    found = 0
    started = time.perf_counter()
    for rgb in frames:
        found += model.process(rgb).pose_landmarks is not None
    elapsed = time.perf_counter() - started
    model.close()
    return elapsed, found


def ours(frames: list[np.ndarray], width: int, height: int) -> tuple[float, int]:
    """The project's pose_frames (its models' start-up inside the clock)."""
    started = time.perf_counter()
    poses = pose_frames(iter(frames), width, height, DEFAULT_SETTINGS)
    return time.perf_counter() - started, int(poses.found.sum())


def pose_step(student: Path, repeats: int, ffmpeg: str) -> dict:
    settings = FfmpegSettings(ffmpeg, threads=2, timeout_s=600)
    probe = probe_video(student, settings)
    width, height = output_size(probe, DEFAULT_SETTINGS.short_side)
    frames = [f.copy() for f in decode(student, DEFAULT_SETTINGS.rate, (width, height),
                                       settings)]
    times: dict[str, list[float]] = {"bare": [], "ours": []}
    contention: dict[str, list[float]] = {"bare": [], "ours": []}
    found = {}
    start_up = []  # pose_frames over one frame: its models' start-up and one keyframe
    for repeat in range(repeats):
        for name, measure in (("bare", lambda: bare_loop(frames)),
                              ("ours", lambda: ours(frames, width, height))):
            with OtherLoad() as others:
                elapsed, found[name] = measure()
            times[name].append(1000 * elapsed / len(frames))
            contention[name].append(others.cpu_s)
            print(f"  pose step {name} {repeat + 1}/{repeats}: {times[name][-1]:.1f} ms a "
                  f"frame (others used {others.cpu_s:.1f} CPU s)", flush=True)
        start_up.append(ours(frames[:1], width, height)[0])
    out = {"frames": len(frames), "size": f"{width}x{height}", "rate": DEFAULT_SETTINGS.rate,
           "ours_start_up_s_median": round(statistics.median(start_up), 3)}
    for name in times:
        out[name] = {"ms_per_frame_best": round(min(times[name]), 2),
                     "ms_per_frame_median": round(statistics.median(times[name]), 2),
                     "runs_ms_per_frame": [round(t, 2) for t in times[name]],
                     "others_cpu_s": contention[name],
                     "frames_with_person": found[name]}
    out["bare_over_ours_median"] = round(out["bare"]["ms_per_frame_median"]
                                         / out["ours"]["ms_per_frame_median"], 3)
    out["bare_over_ours_best"] = round(out["bare"]["ms_per_frame_best"]
                                       / out["ours"]["ms_per_frame_best"], 3)
    per_frame_start_up = 1000 * statistics.median(start_up) / len(frames)
    out["bare_over_ours_without_start_up"] = round(
        out["bare"]["ms_per_frame_median"]
        / (out["ours"]["ms_per_frame_median"] - per_frame_start_up), 3)
    return out


def run_speed(args: argparse.Namespace, ffmpeg: str) -> dict:
    started = time.perf_counter()
    teacher, student, videos = speed_videos(args, ffmpeg)
    timings = {"generate_s": round(time.perf_counter() - started, 1)}
    started = time.perf_counter()
    whole = end_to_end(teacher, student, args.repeats)
    timings["end_to_end_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    step = pose_step(student, args.pose_repeats, ffmpeg)
    # The teacher dances alone: the bare loop's work exactly, without a group to keep apart.
    solo = pose_step(teacher, args.pose_repeats, ffmpeg)
    timings["pose_step_s"] = round(time.perf_counter() - started, 1)
    frames = max(videos["teacher"]["duration_s"], videos["student"]["duration_s"]) * 10
    floor = step["bare"]["ms_per_frame_median"] * frames / 1000
    return {"benchmark": "teacher scoring speed", "videos": videos, "timings": timings,
            "end_to_end": whole, "pose_step": step, "pose_step_solo_teacher": solo,
            "bare_pose_floor_s": {
                "value": round(floor, 1),
                "what": "the bare loop's median ms a frame times the longer video's frames at "
                        "10/s: posing both videos on two cores at the bare loop's speed",
                "cold_median_over_floor": round(whole["cold"]["wall_median_s"] / floor, 2)},
            "targets": {
                "end_to_end_cold_median_s": judged(TARGETS, "end_to_end_cold_median_s",
                                                   whole["cold"]["wall_median_s"]),
                "pose_bare_over_ours": judged(TARGETS, "pose_bare_over_ours",
                                              step["bare_over_ours_median"]),
                "pose_bare_over_ours_solo": judged(TARGETS, "pose_bare_over_ours",
                                                   solo["bare_over_ours_median"])}}


# -- results -----------------------------------------------------------------------------


def stamped(report: dict, args: argparse.Namespace) -> dict:
    return {**report, "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(), "code": code(MEASURED, args.sources),
            "command": shlex.join(["python", "benchmarks/score.py", *sys.argv[1:]]),
            "wall_s": round(time.perf_counter() - args.started, 1)}


def write_summary(out: Path) -> dict:
    """score.json: every target from the latest score-pairs.json and score-speed.json."""
    summary: dict = {"benchmark": "teacher scoring targets (benchmarks/score.py)",
                     "targets": {}, "sources": {}}
    for name in ("score-pairs.json", "score-speed.json"):
        path = out / name
        if not path.is_file():
            continue
        report = json.loads(path.read_text())
        targets = report.get("summary", report)["targets"]
        summary["targets"] |= targets
        summary["sources"][name] = {"measured_at": report["measured_at"],
                                    "command": report["command"], "wall_s": report["wall_s"]}
    summary["all_met"] = all(t["met"] for t in summary["targets"].values())
    (out / "score.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", choices=("pairs", "speed"),
                        default=["pairs", "speed"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--dances", type=int, default=6)
    parser.add_argument("--students", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--size", type=size, default=(360, 640))
    parser.add_argument("--speed-seconds", type=float, default=60)
    parser.add_argument("--speed-size", type=size, default=(720, 1280))
    parser.add_argument("--speed-seed", type=int, default=1)
    parser.add_argument("--speed-student", type=int, default=0, help="which student (0: s01)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pose-repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    args.started, args.sources = time.perf_counter(), sources(MEASURED)
    ffmpeg = find_ffmpeg()
    args.out.mkdir(parents=True, exist_ok=True)
    if "pairs" in args.parts:
        report = stamped(run_pairs(args, ffmpeg), args)
        (args.out / "score-pairs.json").write_text(json.dumps(report, indent=2) + "\n")
        print(json.dumps({k: v for k, v in report["summary"].items() if k != "failures"},
                         indent=2))
        print("failures:", json.dumps(report["summary"]["failures"], indent=2))
    if "speed" in args.parts:
        args.started, args.sources = time.perf_counter(), sources(MEASURED)
        report = stamped(run_speed(args, ffmpeg), args)
        (args.out / "score-speed.json").write_text(json.dumps(report, indent=2) + "\n")
        print(json.dumps({k: report[k] for k in ("videos", "timings", "bare_pose_floor_s",
                                                 "targets")}, indent=2))
    summary = write_summary(args.out)
    for name, target in summary["targets"].items():
        print(f"{name}: {target['value']} (target {target['target']}): "
              f"{'met' if target['met'] else 'NOT met'}")


if __name__ == "__main__":
    main()
