"""The music targets: tempo, her beat offset, sync by sound, and what the beats cost `score`.

Measured over generated teachers and students (core/synthetic/lessons.write_pairs: every video
has a soundtrack described in its sidecar), in two parts:

1. videos: each seed's teachers and students (videos, dense poses and frame-by-frame
   motion cached under benchmarks/work/music/ and reused when there). Every video's sound
   is decoded (core/ingest/audio.decode_audio) and its beats found
   (core/performance/beats.find_beats); every video with sound is posed with its motion
   (read_video(motion=True), movement_of) and her hits judged against her own beats
   (hits, against_beats); every student is synced by sound to her own teacher
   (sync_by_sound) and, as extra negatives, to the other teachers of her seed. Targets:
   - tempo within 2 % of the sidecar's music_bpm in >= 95 % of videos with sound;
   - her mean beat offset within 40 ms of beat_offset_s in >= 90 % of videos with her
     own song (the dance's song);
   - sync offset within one frame (1/30 s) of audio_offset_s in >= 95 % of students
     playing the teacher's song; a student playing another song told so (same_song
     False) in >= 95 %.
   Per-video and per-pair rows, with the sidecars' traits, go to music-videos.json.
2. speed: a 60 s teacher (--speed-dance, savage) and her first student playing the
   teacher's song, and copies of both with the audio stream removed (ffmpeg -an -c copy,
   same file names in another folder). `python -m dance_assets.cli score STUDENT
   --reference TEACHER --lake LAKE` in a fresh process with a fresh lake each run (so
   both videos are posed every time), with sound and silent, interleaved (ABBA),
   --repeats times. Target: median with sound minus median silent <= 3 s. Beside it,
   the music work alone in a fresh process (decode, find_beats, hits, against_beats on
   her video, find_beats again warm, then the teacher's beats and sync_by_sound); the
   report's sound (muxed in the pictures' own ffmpeg pass) is in the score runs.
music.json gathers the targets and summaries of both parts (a part not run keeps its
last result; speed is kept per video size). Every speed measurement records the CPU
seconds other processes used meanwhile (others_cpu_s; above ~1 s it shared the cores).
On 2 cores: videos about 9 min from scratch (generating 4, posing 4.5, beats 0.5; the
machine was shared then), 0.5 min with videos and poses cached; speed about 2.3 min at
360x640, 3 min at 720x1280, plus 0.3 min to generate the two videos.

    python benchmarks/music.py --parts videos [--seeds 1 2 --dances 6 --students 5
        --seconds 20 --size 360x640]
    python benchmarks/music.py --parts speed [--speed-seconds 60 --speed-size 360x640
        --speed-dance savage --repeats 3]
    python benchmarks/music.py --parts speed --speed-size 720x1280
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from provenance import OtherLoad, code, machine, sources
from shared import cached_poses, fresh_process, judged, pose_cache_path, share, size

from dance_assets.core.ingest import audio, dense_poses
from dance_assets.core.ingest.audio import ANALYSIS_RATE, AudioError, decode_audio
from dance_assets.core.ingest.dense_poses import DEFAULT_SETTINGS
from dance_assets.core.ingest.video import FfmpegSettings, find_ffmpeg
from dance_assets.core.lake.errors import DanceAssetsError
from dance_assets.core.performance import movement
from dance_assets.core.performance.beats import Beats, find_beats
from dance_assets.core.performance.movement import Movement, movement_of
from dance_assets.core.performance.store import load_poses
from dance_assets.core.scoring import music, scoring
from dance_assets.core.scoring.music import against_beats, hits, sync_by_sound
from dance_assets.core.synthetic import (
    dancers,
    dances,
    drawing,
    lessons,
    phone,
    rendering,
    sound,
    soundtrack,
    specs,
    writing,
)
from dance_assets.core.synthetic.dances import DANCE_CLASSES, key_poses
from dance_assets.core.synthetic.lessons import student_specs, teacher_spec, write_pairs
from dance_assets.core.synthetic.specs import sidecar_path, video_path
from dance_assets.core.synthetic.writing import generate

HERE = Path(__file__).resolve().parent
WORK = HERE / "work" / "music"
RESULTS = HERE / "results"
FRAME_S = 1 / 30
TARGETS = {
    "tempo_within_2pct": (">=", 0.95),
    "beat_offset_within_40ms": (">=", 0.90),
    "sync_offset_within_frame": (">=", 0.95),
    "other_song_told": (">=", 0.95),
    "beat_analysis_adds_s": ("<=", 3.0),
}
MEASURED = tuple(module.__name__ for module in (
    music, audio, soundtrack, dances, dancers, drawing, lessons, phone, rendering, sound, specs,
    writing, dense_poses, movement, scoring))
SOUND = ("sound", "song", "music_bpm", "first_beat_s", "beat_offset_s", "noise_snr_db",
         "audio_offset_s", "offset_s", "tempo")
TRAITS = ("style", "handheld", "dancers", "fills_frame", "motion_blur", "bitrate_kbps",
          "empty_seconds", "noise_seconds", "card_seconds", "still_seconds", "mirrored",
          "splice_start_s", "splice_end_s")
# Tempo errors with a name: the found tempo over the truth near a simple ratio.
RATIOS = {"double": 2.0, "half": 0.5, "three halves": 1.5, "two thirds": 2 / 3,
          "four thirds": 4 / 3, "three quarters": 0.75}


# -- the machine, the code, the load -----------------------------------------------------




def counted(flags: list[bool | None]) -> str:
    values = [bool(f) for f in flags if f is not None]
    return f"{sum(values)}/{len(values)}"


# -- part 1: videos ----------------------------------------------------------------------



def make_videos(args: argparse.Namespace, ffmpeg: str) -> list[dict]:
    """Write what is missing of every seed's pairs; one entry per video."""
    videos = []
    size = f"{args.size[0]}x{args.size[1]}"
    for seed in args.seeds:
        root = WORK / "pairs" / f"{args.seconds:g}s-{size}" / f"seed{seed}"
        for teacher, students in write_pairs(root, list(DANCE_CLASSES[:args.dances]),
                                             args.students, args.seconds, args.size, seed,
                                             ffmpeg):
            for path in (teacher, *students):
                videos.append({"seed": seed, "dance": teacher.parent.name, "path": path,
                               "teacher": teacher,
                               "truth": json.loads(sidecar_path(path).read_text())})
    return videos


def beats_of(video: Path, ffmpeg: str) -> tuple[Beats | None, str | None, float]:
    """The video's beats (or None and why), and how long decoding and finding took."""
    started = time.perf_counter()
    try:
        samples = decode_audio(video, FfmpegSettings(ffmpeg, threads=1, timeout_s=300))
    except AudioError as exc:
        return None, str(exc), time.perf_counter() - started
    beats = find_beats(samples, ANALYSIS_RATE)
    return beats, None if beats else "no steady beat", time.perf_counter() - started


def tempo_kind(ratio: float) -> str:
    """A tempo error by name: a simple ratio within 3 %, or just off."""
    if abs(ratio - 1) <= 0.02:
        return "right"
    for name, value in RATIOS.items():
        if abs(ratio / value - 1) <= 0.03:
            return name
    return "off"


def tempo_fields(beats: Beats | None, why: str | None, truth: dict) -> dict:
    """The tempo found against the sidecar's (a silent video: whether it was told)."""
    if truth["sound"] == "none":
        return {"silent_told": beats is None, "why_no_beats": why}
    if beats is None:
        return {"tempo_found_bpm": None, "tempo_ratio": None, "tempo_within_2pct": False,
                "tempo_kind": "no beats", "why_no_beats": why}
    ratio = beats.tempo_bpm / truth["music_bpm"]
    period = 60 / truth["music_bpm"]
    phase = (beats.times - truth["first_beat_s"]) / period
    beat_error = (phase - np.rint(phase)) * period
    return {"tempo_found_bpm": round(beats.tempo_bpm, 2), "tempo_ratio": round(ratio, 4),
            "tempo_within_2pct": bool(abs(ratio - 1) <= 0.02), "tempo_kind": tempo_kind(ratio),
            "beats_found": len(beats.times),
            "beat_times_median_error_ms": round(1000 * float(np.median(beat_error)), 1)}


def true_beats(truth: dict, seconds: float) -> Beats:
    """The sidecar's beats, as against_beats reads them (times and tempo only)."""
    period = 60 / truth["music_bpm"]
    first = truth["first_beat_s"]
    ks = np.arange(math.ceil(-first / period), math.floor((seconds - first) / period) + 1)
    return Beats(truth["music_bpm"], first + ks * period, np.zeros(0), np.zeros((12, 0)), 1.0)


def her_clock_fields(found: np.ndarray, truth: dict) -> dict:
    """Her hits against her own key-pose clock (the sidecar's beats moved by
    beat_offset_s), which no music analysis touches: how far the hits' main group lies
    from her beats (the hit definition's bias) and which share of hits lies more than a
    quarter beat from any of her beats (hits that are no key pose)."""
    if not len(found):
        return {}
    period = 60 / truth["music_bpm"]
    beats = (found - truth["first_beat_s"] - truth["beat_offset_s"]) / period
    off_ms = 1000 * period * (beats - np.rint(beats))
    near = np.abs(off_ms) <= 250 * period
    return {"hits_vs_her_beats_median_ms": round(float(np.median(off_ms[near])), 1)
            if near.any() else None,
            "hits_off_her_beats_share": round(float(1 - near.mean()), 3)}


def offset_fields(movement: Movement | None, beats: Beats | None, truth: dict) -> dict:
    """Her mean offset on her own found beats against the sidecar's beat_offset_s, and
    (to tell a hit error from a beat error) on the true beats."""
    if truth["sound"] == "none":
        return {}
    out: dict = {"beat_offset_error_ms": None, "beat_offset_within_40ms": False}
    if movement is None or beats is None:
        return out
    found = hits(movement)
    out["hits_found"] = len(found)
    out |= her_clock_fields(found.times, truth)
    truly = against_beats(found, true_beats(truth, truth["seconds"]))
    if truly is not None:
        out["offset_on_true_beats_error_ms"] = round(
            truly.mean_offset_ms - 1000 * truth["beat_offset_s"], 1)
    timing = against_beats(found, beats)
    if timing is None:
        return out
    error = timing.mean_offset_ms - 1000 * truth["beat_offset_s"]
    return out | {"beat_offset_found_ms": timing.mean_offset_ms,
                  "beat_offset_error_ms": round(error, 1),
                  "beat_offset_within_40ms": bool(abs(error) <= 40), "hits": timing.hits,
                  "spread_ms": timing.spread_ms, "on_beat_share": timing.on_beat_share}


def sync_truth(hers: dict, theirs: dict) -> tuple[float, float] | None:
    """Where her song plays the teacher's (tempo, offset) from the sidecars' beats, when
    both play one song: her beat k at f_h + k·60/bpm_h, the teacher's at f_t + k·60/bpm_t."""
    if hers["sound"] == "none" or theirs["sound"] == "none" or hers["song"] != theirs["song"]:
        return None
    tempo = hers["music_bpm"] / theirs["music_bpm"]
    return tempo, hers["first_beat_s"] - theirs["first_beat_s"] / tempo


def sync_fields(hers: Beats | None, theirs: Beats | None, truth: dict,
                expected: tuple[float, float] | None) -> dict:
    """Her music synced to a teacher's against the truth: same song or not, and if the
    same, the offset and tempo found."""
    if hers is None or theirs is None:
        return {"same_song_truth": expected is not None, "same_song_found": None,
                "told": False, "offset_within_frame": False if expected else None}
    synced = sync_by_sound(hers, theirs)
    same = bool(synced.same_song)
    out = {"same_song_truth": expected is not None, "same_song_found": same,
           "told": same == (expected is not None), "match": float(synced.match)}
    if expected is None:
        return out
    out["offset_within_frame"] = False
    if not synced.same_song:
        return out
    error = synced.offset_s - expected[1]
    return out | {"offset_s": round(synced.offset_s, 4), "offset_truth_s": round(expected[1], 4),
                  "offset_error_ms": round(1000 * error, 1),
                  "offset_error_beats": round(error * truth["music_bpm"] / 60, 2),
                  "offset_within_frame": bool(abs(error) <= FRAME_S),
                  "tempo_found": round(synced.tempo, 4), "tempo_truth": round(expected[0], 4),
                  "tempo_error": round(synced.tempo / expected[0] - 1, 4)}


def analyse_videos(videos: list[dict], ffmpeg: str, timings: dict) -> None:
    """Every video's beats, then every video with sound posed: in place, into `videos`."""
    started = time.perf_counter()
    for video in videos:
        video["beats"], video["why"], video["beats_s"] = beats_of(video["path"], ffmpeg)
    timings["beats_s"] = round(time.perf_counter() - started, 1)
    timings["beats_per_video_median_s"] = round(statistics.median(
        v["beats_s"] for v in videos if v["truth"]["sound"] != "none"), 2)
    started = time.perf_counter()
    heard = [v for v in videos if v["truth"]["sound"] != "none"]

    def pose(video: dict) -> None:
        try:
            video["movement"] = movement_of(cached_poses(video["path"], WORK, ffmpeg,
                                                         motion=True))
        except DanceAssetsError as exc:
            video["movement"], video["pose_error"] = None, str(exc)

    with ThreadPoolExecutor(2) as pool:  # MediaPipe lets go of the GIL
        list(pool.map(pose, heard))
    timings["pose_s"] = round(time.perf_counter() - started, 1)


def video_row(video: dict, by_path: dict[Path, dict]) -> dict:
    """One video against its sidecar: tempo, her offset and (a student) the sync to her
    own teacher."""
    truth = video["truth"]
    row = {"seed": video["seed"], "dance": video["dance"], "video": video["path"].stem,
           "role": truth.get("role"), "truth": {k: truth.get(k) for k in SOUND if k in truth},
           "traits": {k: truth.get(k) for k in TRAITS if k in truth}
           | {"beats_per_pose": key_poses(video["dance"]).beats_per_pose},
           "beats_s": round(video["beats_s"], 2)}
    movement = video.get("movement")
    if movement is not None:
        row["found_share"] = round(float(movement.found.mean()), 3)
    if "pose_error" in video:
        row["pose_error"] = video["pose_error"]
    row |= tempo_fields(video["beats"], video["why"], truth)
    row |= offset_fields(movement, video["beats"], truth)
    if truth.get("role") == "student" and truth["sound"] != "none":
        teacher = by_path[video["teacher"]]
        expected = sync_truth(truth, teacher["truth"])
        row["sync"] = sync_fields(video["beats"], teacher["beats"], truth, expected)
    return row


def cross_pairs(videos: list[dict]) -> list[dict]:
    """Each student with sound against the other teachers of her seed: a different song
    unless she plays that teacher's dance's song."""
    teachers = [v for v in videos if v["truth"].get("role") == "teacher"]
    rows = []
    for video in videos:
        truth = video["truth"]
        if truth.get("role") != "student" or truth["sound"] == "none":
            continue
        for teacher in teachers:
            if teacher["seed"] != video["seed"] or teacher["dance"] == video["dance"]:
                continue
            expected = sync_truth(truth, teacher["truth"])
            rows.append({"seed": video["seed"], "student": f"{video['dance']}/"
                         f"{video['path'].stem}", "teacher": teacher["dance"],
                         "her_song": truth["song"],
                         **sync_fields(video["beats"], teacher["beats"], truth, expected)})
    return rows


def name(row: dict) -> str:
    return f"seed{row['seed']}/{row['dance']}/{row['video']}"


def miss(row: dict, keys: tuple[str, ...]) -> dict:
    """A missed video with the fields that say why and its traits."""
    return {"video": name(row), **{k: row.get(k) for k in keys},
            "sound": {k: row["truth"].get(k) for k in ("sound", "music_bpm", "beat_offset_s",
                                                       "noise_snr_db")},
            "traits": {k: v for k, v in row["traits"].items() if v not in (None, [], False)}}


def sync_miss_kind(sync: dict) -> str:
    """Why a same-song sync missed, in words."""
    if sync["same_song_found"] is None:
        return "no beats in one video"
    if not sync["same_song_found"]:
        return f"told a different song (match {sync['match']})"
    beats = sync["offset_error_beats"]
    if abs(beats) >= 0.9 and abs(beats - round(beats)) < 0.1:
        return f"a whole {round(beats):+d} beats off (the song repeats)"
    return f"{sync['offset_error_ms']:+.0f} ms off, tempo {100 * sync['tempo_error']:+.1f} %"


def misses(rows: list[dict]) -> dict[str, list[dict]]:
    """The videos that miss each target, with what they have."""
    syncs = [r for r in rows if "sync" in r]
    return {
        "tempo": [miss(r, ("tempo_ratio", "tempo_kind", "why_no_beats")) for r in rows
                  if r.get("tempo_within_2pct") is False],
        "beat_offset": [miss(r, ("beat_offset_error_ms", "offset_on_true_beats_error_ms",
                                 "hits_vs_her_beats_median_ms", "hits_off_her_beats_share",
                                 "tempo_ratio", "beat_times_median_error_ms", "hits",
                                 "spread_ms", "found_share"))
                        for r in rows if r.get("beat_offset_within_40ms") is False],
        "sync": [miss(r, ("tempo_ratio",)) | {"kind": sync_miss_kind(r["sync"]),
                                                "sync": r["sync"]} for r in syncs
                 if r["sync"]["same_song_truth"] and not r["sync"]["offset_within_frame"]],
        "other_song": [miss(r, ("tempo_ratio",)) | {"sync": r["sync"]} for r in syncs
                       if not r["sync"]["same_song_truth"] and not r["sync"]["told"]]}


def abs_median(values: list[float | None]) -> float | None:
    """Median |v| with a failure (None) as infinitely wrong; None when nothing counted or
    when half or more failed."""
    if not values:
        return None
    middle = float(np.median([abs(v) if v is not None else math.inf for v in values]))
    return round(middle, 1) if math.isfinite(middle) else None


def breakdowns(own: list[dict], same: list[dict]) -> dict:
    """Where the beat-offset and sync hits and misses lie: by the size of her lateness,
    by dance (with its beats per pose and the teachers' found offsets, whose truth is 0)
    and the hits' own bias on her key-pose clock."""
    sizes = {"0-40": (0, 40), "40-80": (40, 80), "80-150": (80, 1000)}
    out: dict = {"beat_offset_within_40ms_by_abs_truth_ms": {
        label: counted([r["beat_offset_within_40ms"] for r in own
                        if low <= abs(1000 * r["truth"]["beat_offset_s"]) < high])
        for label, (low, high) in sizes.items()}}
    by_dance: dict = {}
    for dance in sorted({r["dance"] for r in own}):
        mine = [r for r in own if r["dance"] == dance]
        by_dance[dance] = {
            "beats_per_pose": mine[0]["traits"]["beats_per_pose"],
            "within_40ms": counted([r["beat_offset_within_40ms"] for r in mine]),
            "teachers_found_ms": [r.get("beat_offset_found_ms") for r in mine
                                  if r["role"] == "teacher"],
            "hits_vs_her_beats_median_ms": median_of(
                [r.get("hits_vs_her_beats_median_ms") for r in mine]),
            "sync_within_frame": counted([r["sync"]["offset_within_frame"] for r in same
                                          if r["dance"] == dance])}
    out["by_dance"] = by_dance
    out["hits_off_her_beats_share_median"] = median_of(
        [r.get("hits_off_her_beats_share") for r in own], 3)
    return out


def median_of(values: list[float | None], digits: int = 1) -> float | None:
    """The median of the values there are."""
    there = [v for v in values if v is not None]
    return round(float(np.median(there)), digits) if there else None


def own_song(row: dict) -> bool:
    return row["truth"]["sound"] == "song"


def video_summary(rows: list[dict], cross: list[dict]) -> dict:
    """The four accuracy targets, their counts, and the side figures beside them."""
    heard = [r for r in rows if r["truth"]["sound"] != "none"]
    own = [r for r in rows if own_song(r)]
    other = [r for r in heard if not own_song(r)]
    same = [r["sync"] for r in rows if "sync" in r and r["sync"]["same_song_truth"]]
    differ = [r["sync"] for r in rows if "sync" in r and not r["sync"]["same_song_truth"]]
    flags = {
        "tempo_within_2pct": [r["tempo_within_2pct"] for r in heard],
        "beat_offset_within_40ms": [r["beat_offset_within_40ms"] for r in own],
        "sync_offset_within_frame": [s["offset_within_frame"] for s in same],
        "other_song_told": [s["told"] for s in differ]}
    cross_differ = [c["told"] for c in cross if not c["same_song_truth"]]
    cross_same = [c for c in cross if c["same_song_truth"]]
    return {
        "videos": len(rows), "with_own_song": len(own), "with_other_song": len(other),
        "silent": len(rows) - len(heard),
        "targets": {k: judged(TARGETS, k, share(v)) for k, v in flags.items()},
        "counts": {k: counted(v) for k, v in flags.items()},
        "tempo_kinds": {k: sum(r["tempo_kind"] == k for r in heard)
                        for k in sorted({r["tempo_kind"] for r in heard})},
        "beat_offset_median_abs_error_ms": abs_median([r["beat_offset_error_ms"] for r in own]),
        "beat_offset_on_true_beats_median_abs_error_ms": abs_median(
            [r.get("offset_on_true_beats_error_ms") for r in own]),
        "beat_offset_within_40ms_other_song": share(
            [r["beat_offset_within_40ms"] for r in other]),
        "beat_times_median_abs_error_ms": abs_median(
            [r.get("beat_times_median_error_ms") for r in heard]),
        "sync_offset_median_abs_error_ms": abs_median([s.get("offset_error_ms") for s in same]),
        "sync_tempo_median_abs_error_permille": abs_median(
            [None if s.get("tempo_error") is None else 1000 * s["tempo_error"] for s in same]),
        "silent_told": share([r.get("silent_told") for r in rows if r not in heard]),
        "cross_teacher_different_song_told": share(cross_differ),
        "cross_teacher_different_song_counts": counted(cross_differ),
        "cross_teacher_same_song_within_frame": counted(
            [c["offset_within_frame"] for c in cross_same]),
        "breakdowns": breakdowns(own, [r for r in rows if "sync" in r
                                       and r["sync"]["same_song_truth"]])}


def run_videos(args: argparse.Namespace, ffmpeg: str) -> tuple[dict, dict]:
    """The accuracy part: its summary for music.json, and its rows for music-videos.json."""
    with OtherLoad() as others:
        started = time.perf_counter()
        videos = make_videos(args, ffmpeg)
        timings = {"generate_s": round(time.perf_counter() - started, 1)}
        analyse_videos(videos, ffmpeg, timings)
        started = time.perf_counter()
        by_path = {v["path"]: v for v in videos}
        rows = [video_row(v, by_path) for v in videos]
        cross = cross_pairs(videos)
        timings["hits_and_sync_s"] = round(time.perf_counter() - started, 1)
    timings["others_cpu_s"] = others.cpu_s
    summary = video_summary(rows, cross)
    setup = {"seeds": args.seeds, "dances": args.dances, "students": args.students,
             "seconds": args.seconds, "size": "x".join(map(str, args.size)),
             "pose_settings": DEFAULT_SETTINGS.fingerprint()}
    report = {"benchmark": "music accuracy over generated teachers and students",
              "setup": setup, "timings": timings, "summary": summary,
              "misses": misses(rows)}
    return report, {**report, "rows": rows, "cross_teacher_pairs": cross}


# -- part 2: speed -----------------------------------------------------------------------


def speed_videos(args: argparse.Namespace, ffmpeg: str) -> dict:
    """The 60 s teacher and its first student playing the teacher's song, with sound and
    as silent copies (same names, in silent/)."""
    width, height = args.speed_size
    root = (WORK / "speed" / f"{args.speed_seconds:g}s-{width}x{height}-seed{args.speed_seed}"
            / args.speed_dance)
    dance = args.speed_dance
    teacher = teacher_spec(dance, args.speed_seed, args.speed_seconds, args.speed_size)
    students = student_specs(dance, args.speed_seed, 10, args.speed_seconds, args.speed_size)
    student = next(s for s in students if s.sound is not None and s.sound.song == dance)
    generate(root / "sound", [teacher, student], ffmpeg)
    paths = {"sound": [video_path(root / "sound", s) for s in (teacher, student)],
             "silent": [video_path(root / "silent", s) for s in (teacher, student)]}
    for loud, quiet in zip(paths["sound"], paths["silent"], strict=True):
        if not quiet.is_file():
            quiet.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run([ffmpeg, "-v", "error", "-y", "-i", str(loud), "-an", "-c", "copy",
                            str(quiet)], check=True)
    truth = json.loads(sidecar_path(paths["sound"][1]).read_text())
    teacher_bpm = json.loads(sidecar_path(paths["sound"][0]).read_text())["music_bpm"]
    return {"paths": paths, "dance": dance, "seed": args.speed_seed,
            "student": student.participant.name, "teacher_music_bpm": teacher_bpm,
            "student_truth": {k: truth.get(k) for k in SOUND},
            "size": f"{width}x{height}", "seconds": args.speed_seconds}


def one_run(command: list[str]) -> tuple[float, list[str], float]:
    wall, lines, _, others = fresh_process(command)
    return wall, lines, others

def score_runs(paths: dict[str, list[Path]], repeats: int) -> dict:
    """`score` with sound and silent, a fresh lake each run, interleaved ABBA."""
    runs: dict[str, list[tuple[float, float]]] = {"sound": [], "silent": []}
    outputs: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="music-bench-") as scratch:
        for repeat in range(repeats):
            order = ("sound", "silent") if repeat % 2 == 0 else ("silent", "sound")
            for kind in order:
                teacher, student = paths[kind]
                lake = Path(scratch) / f"lake-{kind}-{repeat}"
                wall, outputs[kind], others = one_run(
                    [sys.executable, "-m", "dance_assets.cli", "score", str(student),
                     "--reference", str(teacher), "--lake", str(lake)])
                runs[kind].append((wall, others))
                print(f"  score {kind} {repeat + 1}/{repeats}: {wall:.1f} s (others used "
                      f"{others:.1f} CPU s)", flush=True)
    out: dict = {"command": "python -m dance_assets.cli score STUDENT --reference TEACHER "
                            "--lake LAKE (a fresh lake each run: both videos posed)"}
    for kind, values in runs.items():
        walls = [w for w, _ in values]
        out[kind] = {"wall_median_s": round(statistics.median(walls), 2),
                     "runs_s": [round(w, 2) for w in walls],
                     "others_cpu_s": [o for _, o in values], "last_output": outputs[kind]}
    out["difference_median_s"] = round(out["sound"]["wall_median_s"]
                                       - out["silent"]["wall_median_s"], 2)
    return out


def analyse_once(student: Path, teacher: Path, poses: Path) -> None:
    """(In a fresh process.) The music work of `score`, step by step, as JSON."""
    marks: dict = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        marks[name] = round(time.perf_counter() - clock, 3)
        clock = time.perf_counter()

    ffmpeg = FfmpegSettings(find_ffmpeg(), threads=1, timeout_s=300)
    movement = movement_of(load_poses(poses)[0])
    clock = time.perf_counter()
    samples = decode_audio(student, ffmpeg)
    lap("decode_s")
    hers = find_beats(samples, ANALYSIS_RATE)
    lap("find_beats_first_call_s")
    find_beats(samples, ANALYSIS_RATE)  # warm: the first call's extra is librosa's start-up
    lap("find_beats_again_s")
    timing = against_beats(hits(movement), hers)
    lap("hits_and_against_beats_s")
    theirs = find_beats(decode_audio(teacher, ffmpeg), ANALYSIS_RATE)
    lap("teacher_decode_and_find_beats_s")
    synced = sync_by_sound(hers, theirs)
    lap("sync_by_sound_s")
    marks["her_video_s"] = round(sum(marks[k] for k in (
        "decode_s", "find_beats_first_call_s", "hits_and_against_beats_s")), 3)
    marks["all_music_work_s"] = round(marks["her_video_s"] + marks[
        "teacher_decode_and_find_beats_s"] + marks["sync_by_sound_s"], 3)
    marks["found"] = {"tempo_bpm": round(hers.tempo_bpm, 2),
                      "teacher_tempo_bpm": round(theirs.tempo_bpm, 2),
                      "beat_offset_ms": timing.mean_offset_ms if timing else None,
                      "same_song": synced.same_song, "offset_s": synced.offset_s}
    print(json.dumps(marks))


def music_alone(paths: dict[str, list[Path]], repeats: int, ffmpeg: str) -> dict:
    """The music work in a fresh process, --repeats times (her poses cached first)."""
    teacher, student = paths["sound"]
    cached_poses(student, WORK, ffmpeg, motion=True)
    poses = pose_cache_path(student, WORK)
    runs = []
    for repeat in range(repeats):
        wall, lines, others = one_run([sys.executable, str(Path(__file__).resolve()),
                                       "--analyse-once", str(student), str(teacher),
                                       str(poses)])
        runs.append(json.loads(lines[-1]) | {"process_wall_s": round(wall, 2),
                                             "others_cpu_s": others})
        print(f"  music alone {repeat + 1}/{repeats}: her video {runs[-1]['her_video_s']} s, "
              f"all music work {runs[-1]['all_music_work_s']} s", flush=True)
    keys = ("decode_s", "find_beats_first_call_s", "find_beats_again_s", "hits_and_against_beats_s",
            "her_video_s", "teacher_decode_and_find_beats_s", "sync_by_sound_s",
            "all_music_work_s", "process_wall_s")
    return {"median": {k: round(statistics.median(r[k] for r in runs), 3) for k in keys},
            "runs": runs}


def run_speed(args: argparse.Namespace, ffmpeg: str) -> dict:
    started = time.perf_counter()
    videos = speed_videos(args, ffmpeg)
    timings = {"generate_s": round(time.perf_counter() - started, 1)}
    started = time.perf_counter()
    whole = score_runs(videos["paths"], args.repeats)
    timings["score_runs_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    alone = music_alone(videos["paths"], args.repeats, ffmpeg)
    timings["music_alone_s"] = round(time.perf_counter() - started, 1)
    videos["paths"] = {k: [str(p) for p in v] for k, v in videos["paths"].items()}
    found = alone["runs"][-1]["found"]
    alone["tempo_found_over_truth"] = {
        "student": round(found["tempo_bpm"] / videos["student_truth"]["music_bpm"], 4),
        "teacher": round(found["teacher_tempo_bpm"] / videos["teacher_music_bpm"], 4)}
    return {"benchmark": "what the beat analysis adds to score", "videos": videos,
            "timings": timings, "score": whole, "music_alone": alone,
            "targets": {"beat_analysis_adds_s": judged(TARGETS, "beat_analysis_adds_s",
                                                       whole["difference_median_s"])}}


# -- results -----------------------------------------------------------------------------


def stamped(report: dict, started: float, at_start: dict[str, str]) -> dict:
    return {**report, "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(), "code": code(MEASURED, at_start),
            "command": shlex.join(["python", "benchmarks/music.py", *sys.argv[1:]]),
            "wall_s": round(time.perf_counter() - started, 1)}


def write_results(out: Path, parts: dict[str, dict]) -> dict:
    """music.json: the parts just run, the others kept from the last music.json (the
    speed part per video size), and every target gathered."""
    path = out / "music.json"
    old = json.loads(path.read_text()) if path.is_file() else {}
    by_size = old.get("speed_by_size", {})
    if "speed" in parts:
        by_size[parts["speed"]["videos"]["size"]] = parts["speed"]
    merged = {"benchmark": "music targets (benchmarks/music.py)",
              "videos": parts.get("videos", old.get("videos")), "speed_by_size": by_size}
    targets: dict = {}
    if merged["videos"]:
        targets |= merged["videos"]["summary"]["targets"]
    for size_, report in sorted(by_size.items()):
        targets[f"beat_analysis_adds_s ({size_})"] = report["targets"]["beat_analysis_adds_s"]
    merged["targets"] = targets
    merged["all_met"] = bool(targets) and all(t["met"] for t in targets.values())
    path.write_text(dumped(merged))
    return merged


def dumped(report: dict) -> str:
    """JSON, numpy's scalars as Python's."""
    return json.dumps(report, indent=2, default=lambda o: o.item()) + "\n"



def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", choices=("videos", "speed"),
                        default=["videos", "speed"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--dances", type=int, default=6)
    parser.add_argument("--students", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--size", type=size, default=(360, 640))
    parser.add_argument("--speed-seconds", type=float, default=60)
    parser.add_argument("--speed-size", type=size, default=(360, 640))
    parser.add_argument("--speed-seed", type=int, default=1)
    parser.add_argument("--speed-dance", choices=DANCE_CLASSES, default="savage",
                        help="whose teacher and first student with the teacher's song")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--analyse-once", nargs=3, type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = arguments()
    if args.analyse_once:
        analyse_once(*args.analyse_once)
        return
    ffmpeg = find_ffmpeg()
    args.out.mkdir(parents=True, exist_ok=True)
    parts = {}
    if "videos" in args.parts:
        started, at_start = time.perf_counter(), sources(MEASURED)
        summary, full = run_videos(args, ffmpeg)
        parts["videos"] = stamped(summary, started, at_start)
        (args.out / "music-videos.json").write_text(dumped(parts["videos"] | full))
        print(dumped({k: summary[k] for k in ("timings", "summary", "misses")}))
    if "speed" in args.parts:
        started, at_start = time.perf_counter(), sources(MEASURED)
        parts["speed"] = stamped(run_speed(args, ffmpeg), started, at_start)
        print(dumped({k: parts["speed"][k] for k in ("timings", "targets")}))
        print(dumped(parts["speed"]["music_alone"]["median"]))
    merged = write_results(args.out, parts)
    for key, target in merged["targets"].items():
        print(f"{key}: {target['value']} (target {target['target']}): "
              f"{'met' if target['met'] else 'NOT met'}")


if __name__ == "__main__":
    main()
