"""A dancer scored against her teacher's video: poses at the speed of the dance, timing,
mirroring, moments, the command's answers and errors, and teachers kept in the lake."""

from __future__ import annotations

import html
import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from dance_assets.cli import main
from dance_assets.core.ingest.dense_poses import read_video
from dance_assets.core.ingest.video import FfmpegSettings, find_ffmpeg
from dance_assets.core.lake import tables
from dance_assets.core.lake.errors import DanceAssetsError
from dance_assets.core.lake.lake import Lake
from dance_assets.core.performance.movement import PART_NAMES, movement_of
from dance_assets.core.scoring.coaching import feedback
from dance_assets.core.scoring.pair_alignment import (
    COARSE_CANDIDATES,
    _chosen,
    _coarse_candidates,
    _Line,
    align_pair,
)
from dance_assets.core.scoring.scoring import score, score_against_teacher
from dance_assets.core.synthetic.lessons import write_pairs
from dance_assets.core.synthetic.plans import plan_videos
from dance_assets.core.synthetic.writing import write_video
from dance_assets.resources import FfmpegResource
from dance_assets_tests.helpers import counting_ffmpeg, materialize, reads_of, resources_for

pytestmark = pytest.mark.slow  # poses ten times a second on 12 s pairs

DANCES = ("wap", "mood")


@pytest.fixture(scope="module")
def lessons(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A teacher and a student of two dances, 12 s at 240x426, with their sidecars."""
    root = tmp_path_factory.mktemp("lessons")
    write_pairs(root, DANCES, 1, 12, (240, 426), 0, find_ffmpeg())
    return root


@pytest.fixture(scope="module")
def movements(lessons: Path) -> dict[str, object]:
    ffmpeg = FfmpegSettings(find_ffmpeg())
    return {f"{path.parent.name}/{path.stem}": movement_of(read_video(path, ffmpeg))
            for path in sorted(lessons.glob("*/*.mp4"))}


def _truth(lessons: Path, dance: str) -> dict:
    return json.loads((lessons / dance / "s01.truth.json").read_text())


@pytest.mark.parametrize("dance", DANCES)
def test_her_timing_mirroring_and_lapse_are_found(lessons, movements, dance):
    truth = _truth(lessons, dance)
    alignment = align_pair(movements[f"{dance}/s01"], movements[f"{dance}/teacher"])
    # One pair: within two pose steps (benchmarks/score.py holds the median of 60 to 0.1 s).
    assert abs(alignment.warp.offset_s - truth["offset_s"]) < 0.2
    assert abs(alignment.warp.tempo / truth["tempo"] - 1) < 0.03
    assert alignment.mirrored == truth["mirrored"]
    judged = feedback(alignment)
    worst = judged.weakest[0]  # the few seconds she danced another dance's moves
    assert worst.start_s < truth["splice_end_s"] and worst.end_s > truth["splice_start_s"]
    assert worst.body_part in PART_NAMES and worst.what
    assert judged.offset_ms == round(1000 * alignment.warp.offset_s)


def test_her_own_teacher_scores_higher_than_another_dances(movements):
    for dance, other in (DANCES, DANCES[::-1]):
        own = feedback(align_pair(movements[f"{dance}/s01"], movements[f"{dance}/teacher"]))
        wrong = feedback(align_pair(movements[f"{dance}/s01"], movements[f"{other}/teacher"]))
        assert own.score >= wrong.score + 30, (dance, own.score, wrong.score)
        assert own.shares_a_dance and not wrong.shares_a_dance


def test_score_against_a_teacher_needs_no_lake_and_answers_in_json(lessons, tmp_path, capsys):
    lake = tmp_path / "fresh"  # nothing in it: no model, no tables
    student, teacher = lessons / "wap" / "s01.mp4", lessons / "wap" / "teacher.mp4"
    assert main(["score", str(student), "--reference", str(teacher), "--json",
                 "--lake", str(lake)]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert set(answer) == {"video", "reference", "score", "error_deg", "timing", "mirrored",
                           "turned_deg", "body_parts", "weights", "steady", "weakest", "best",
                           "seconds", "classifier", "report", "elapsed_s", "music"}
    assert abs(sum(answer["weights"].values()) - 1) < 0.01
    assert 0 < answer["seconds"]["coverage"] <= 1
    assert answer["turned_deg"] == {"video": 0, "reference": 0}
    assert answer["reference"]["kind"] == "teacher video" and answer["classifier"] is None
    assert 0 <= answer["score"] <= 100 and set(answer["body_parts"]) == set(PART_NAMES)
    truth = _truth(lessons, "wap")
    assert abs(answer["timing"]["offset_ms"] / 1000 - truth["offset_s"]) < 0.15
    assert answer["timing"]["stretches"] and answer["mirrored"] == truth["mirrored"]
    # Both play the dance's song: put in step by the sound, and her hits judged on its beat.
    music = answer["music"]
    assert truth["sound"] == "song" and music["same_song"] is True
    assert abs(music["audio_offset_s"] - truth["audio_offset_s"]) < 0.034
    assert abs(music["tempo_bpm"] / truth["music_bpm"] - 1) < 0.02
    assert music["hits"]["count"] >= 4 and "the beat" in music["words"]
    report = Path(answer["report"])
    assert report.is_file() and report.parent == lake / "reports" / "scores"
    # The report's header says what the JSON says.
    header = report.read_text().split("</header>")[0]
    assert f'<span id="score">{answer["score"]}</span>' in header
    assert html.escape(answer["timing"]["words"]) in header
    assert f"{music['tempo_bpm']:.0f} bpm · the same song" in header
    assert f"{answer['seconds']['compared']:g} of {answer['seconds']['video']:g} s" in header
    row = tables.read_table(Lake.resolve(lake), "scores").iloc[0]
    assert row["reference_kind"] == "teacher video" and row["reference_path"] == str(teacher)
    assert row["offset_ms"] == answer["timing"]["offset_ms"] and row["report"].endswith(".html")
    assert row["left_arm"] == answer["body_parts"]["left arm"]
    # One record: every value the JSON gives is in the row, read back from Parquet.
    assert row["source"] == "command line" and row["reference_name"] == "teacher.mp4"
    assert row["error_deg"] == answer["error_deg"] and row["coverage"] == \
        answer["seconds"]["coverage"]
    assert (row["turned_deg"], row["reference_turned_deg"]) == (0, 0)
    assert json.loads(row["timing"]) == answer["timing"]["stretches"]
    assert row["timing_words"] == answer["timing"]["words"]
    assert json.loads(row["weights"]) == answer["weights"]
    assert json.loads(row["steady"]) == answer["steady"]
    assert json.loads(row["weakest"]) == answer["weakest"]
    assert row["audio_offset_s"] == music["audio_offset_s"] and row["beat_words"] == \
        music["words"] and row["music_note"] == music["note"]
    assert row["elapsed_s"] == answer["elapsed_s"]


def test_a_classifier_asked_for_beside_a_reference_is_refused(lessons, tmp_path, capsys):
    student, teacher = lessons / "wap" / "s01.mp4", lessons / "wap" / "teacher.mp4"
    assert main(["score", str(student), "--reference", str(teacher), "--arch", "resnet18",
                 "--lake", str(tmp_path / "lake")]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "--reference does not use" in error[0], error
    assert not (tmp_path / "lake").exists()


def test_score_against_a_teacher_in_words_writing_nothing_into_a_lake(lessons, tmp_path,
                                                                      capsys):
    """In words, and with `--no-record`: the report is written outside any lake, and no
    row, no pose cache, not even the lake's folder is."""
    lake = tmp_path / "never"
    student, teacher = lessons / "mood" / "s01.mp4", lessons / "mood" / "teacher.mp4"
    assert main(["score", str(student), "--reference", str(teacher), "--no-record",
                 "--lake", str(lake)]) == 0
    captured = capsys.readouterr()
    assert not lake.exists() and "not recorded (--no-record)" in captured.err
    report = Path(captured.out.splitlines()[-1].removeprefix("report: "))
    assert report.is_file() and not report.is_relative_to(tmp_path)
    lines = captured.out.splitlines()
    assert lines[0].startswith("score: ") and "/100 against teacher.mp4" in lines[0]
    assert lines[1].startswith("timing: ") and "x the teacher's tempo" in lines[1]
    assert any(line.startswith("music: the same song as in teacher.mp4") for line in lines)
    assert any(line.startswith("on the beat: your hits land ") for line in lines)
    assert any(line.startswith("body parts: left arm ") for line in lines)
    assert any(line.startswith("weakest moments: 0:") for line in lines)
    assert lines[-1].startswith("report: ") and lines[-1].endswith(".html")


def _filmed_turned(video: Path, turn: str, target: Path) -> Path:
    """The video's picture turned by ffmpeg filter `turn`, with no rotation in the file
    for a player to undo (a phone held sideways)."""
    subprocess.run([find_ffmpeg(), "-v", "error", "-y", "-i", str(video), "-vf", turn,
                    "-c:v", "libx264", "-c:a", "copy", str(target)], check=True)
    return target


@pytest.mark.parametrize(("turn", "degrees"), [("transpose=clock", 90),
                                               ("hflip,vflip", 180),
                                               ("transpose=cclock", 270)])
def test_a_student_filmed_sideways_is_turned_upright(lessons, movements, tmp_path, turn,
                                                     degrees):
    """A phone held sideways without rotation in the file shows her on her side: her
    limbs' directions are the picture's, so she matched no dance (a mean angle of 85°).
    Turned back upright, she is timed and scored as filmed the right way up."""
    turned = _filmed_turned(lessons / "wap" / "s01.mp4", turn, tmp_path / f"turned_{degrees}.mp4")
    movement = movement_of(read_video(turned, FfmpegSettings(find_ffmpeg())))
    assert movement.turned_deg == degrees
    upright = feedback(align_pair(movements["wap/s01"], movements["wap/teacher"]))
    alignment = align_pair(movement, movements["wap/teacher"])
    judged = feedback(alignment)
    truth = _truth(lessons, "wap")
    assert abs(alignment.warp.offset_s - truth["offset_s"]) < 0.2
    assert alignment.mirrored == truth["mirrored"]
    assert judged.shares_a_dance and judged.score >= upright.score - 10
    assert judged.turned_deg == degrees and judged.reference_turned_deg == 0


def test_the_answer_says_her_video_was_turned(lessons, tmp_path, capsys):
    turned = _filmed_turned(lessons / "mood" / "s01.mp4", "transpose=clock",
                            tmp_path / "sideways.mp4")
    assert main(["score", str(turned), "--reference", str(lessons / "mood" / "teacher.mp4"),
                 "--lake", str(tmp_path / "lake")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert ("sideways.mp4 shows the dancer turned 90° clockwise (filmed sideways): her poses "
            "were turned upright to compare") in lines
    report = Path(lines[-1].removeprefix("report: ")).read_text()
    assert "Your video shows the dancer turned 90° clockwise" in report


def _empty_room(path: Path) -> Path:
    subprocess.run([find_ffmpeg(), "-v", "error", "-f", "lavfi", "-i",
                    "color=c=0x8a7f70:s=180x320:d=4", "-pix_fmt", "yuv420p", str(path)],
                   check=True)
    return path


@pytest.mark.parametrize("student, teacher, message", [
    ("wap/s01.mp4", "{notes}", "notes.mp4 is not a usable video: plain text"),
    ("{room}", "wap/teacher.mp4", "no dancer found in most of empty_room.mp4 (a pose in 0 of 40"),
    ("wap/s01.mp4", "{room}", "no dancer found in most of empty_room.mp4"),
    ("wap/s01.mp4", "mood/teacher.mp4", "s01.mp4 and teacher.mp4 share no dance"),
    ("wap/s01.mp4", "{missing}", "no such file: "),
])
def test_two_videos_that_cannot_be_compared_get_one_line(lessons, tmp_path, capsys, student,
                                                         teacher, message):
    notes = tmp_path / "notes.mp4"
    notes.write_text("not a video\n")
    names = {"notes": notes, "room": _empty_room(tmp_path / "empty_room.mp4"),
             "missing": tmp_path / "gone.mp4"}

    def path(text: str) -> str:
        return text.format(**names) if text.startswith("{") else str(lessons / text)

    assert main(["score", path(student), "--reference", path(teacher), "--lake",
                 str(tmp_path / "lake")]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and message in error[0], error


def test_dense_poses_trust_nobody_on_static(tmp_path):
    """Tracking mode holds a skeleton where there is none; the keyframes stop it."""
    spec = plan_videos(["savage"], 1, 5, (240, 426), seed=3)[0]
    spec = replace(spec, noise_seconds=(2, 3), empty_seconds=(), card_seconds=(),
                   still_seconds=(), others=(), style="none", handheld=False)
    video = write_video(spec, tmp_path / "static.mp4", find_ffmpeg())
    poses = read_video(video, FfmpegSettings(find_ffmpeg()))
    assert len(poses) == 50 and poses.rate == 10
    assert not poses.found[20:40].any()  # static from 2 s to 4 s
    assert poses.found[:20].mean() > 0.9 and poses.found[40:].mean() > 0.9


def test_a_score_reads_each_video_once_and_a_cached_teacher_only_for_its_report(lessons,
                                                                                tmp_path):
    """Each file is probed once and decoded once per score (the pictures, her pixel motion
    and her sound in one ffmpeg pass); a teacher read before, even under another name, is
    decoded only for the frames its report draws: no posing, no sound."""
    lake = Lake.resolve(tmp_path / "lake")
    ffmpeg, log = counting_ffmpeg(tmp_path)
    student, teacher = lessons / "wap" / "s01.mp4", lessons / "wap" / "teacher.mp4"
    first = score_against_teacher(lake, student, teacher, ffmpeg)
    hers, theirs = reads_of(log, student, teacher)
    assert len(hers) == 2 and len(theirs) == 2, (hers, theirs)
    assert "f32le" in hers[1] and "adts" in hers[1] and "gray" in hers[1]
    assert "f32le" in theirs[1]  # the teacher's beats, kept with her poses
    renamed = Path(shutil.copy(teacher, tmp_path / "renamed.mp4"))
    again = score_against_teacher(lake, student, renamed, ffmpeg)
    hers, theirs = reads_of(log, student, renamed)
    assert len(hers) == 2 and len(theirs) == 2
    assert "f32le" not in theirs[1] and "adts" not in theirs[1]
    assert again.feedback.score == first.feedback.score
    assert again.music.same_song and again.music.audio_offset_s == first.music.audio_offset_s


def test_a_tiny_ffmpeg_timeout_stops_the_choreography_and_score_with_one_line(lessons,
                                                                              tmp_path):
    """The FfmpegResource's settings reach the choreography's ffmpeg, and score's own
    settings every ffmpeg it runs: a tiny timeout rejects the only teacher with that
    reason (the step stops, saying so in one line), and refuses a score in one line,
    before any posing."""
    from dance_assets.assets.choreography import choreography

    lake = Lake.resolve(tmp_path / "lake")
    (lake.references / "wap").mkdir(parents=True)
    shutil.copy(lessons / "wap" / "teacher.mp4", lake.references / "wap" / "teacher.mp4")
    hurried = {**resources_for(lake), "ffmpeg": FfmpegResource(timeout_s=0.001)}
    result = materialize([choreography], resources=hurried, raise_on_error=False)
    failure = result.failure_data_for_node("choreography").user_failure_data
    assert failure.description.endswith(
        "(references/wap/teacher.mp4: ffmpeg took longer than the 0.001 s limit per video)")
    with pytest.raises(DanceAssetsError) as refused:
        score(lake, lessons / "wap" / "s01.mp4", FfmpegSettings(find_ffmpeg(), timeout_s=0.001),
              reference=lessons / "wap" / "teacher.mp4")
    assert str(refused.value) == ("s01.mp4 is not a usable video: ffmpeg took longer than "
                                  "the 0.001 s limit per video")


def test_the_choreography_asset_takes_a_dances_teacher(lessons, tmp_path, capsys):
    from dance_assets.assets.choreography import choreography

    lake = Lake.resolve(tmp_path / "lake")
    (lake.references / "wap").mkdir(parents=True)
    shutil.copy(lessons / "wap" / "teacher.mp4", lake.references / "wap" / "teacher.mp4")
    (lake.references / "wap" / "notes.mp4").write_text("not a video\n")
    (lake.references / "wap" / ".DS_Store").write_bytes(b"\0")
    result = materialize([choreography], resources=resources_for(lake))
    assert result.success
    table = tables.read_table(lake, "choreography")
    assert set(table["source"]) == {"teacher video"}
    assert set(table["reference_path"]) == {"references/wap/teacher.mp4"}
    assert len(table) == 120 and set(table["steps_per_second"]) == {10.0}
    metadata = result.asset_materializations_for_node("choreography")[0].metadata
    files = metadata["teacher_files"].value
    assert "references/wap/notes.mp4 | rejected | plain text" in files
    assert ".DS_Store" not in files and metadata["teacher_videos"].value == 1
    # `score --dance` finds the teacher in the lake; no classifier is needed for it.
    assert main(["score", str(lessons / "wap" / "s01.mp4"), "--dance", "wap", "--lake",
                 str(lake.root)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("score for wap: ") and "teacher.mp4 (wap's teacher)" in out
    assert tables.read_table(lake, "scores").iloc[0]["reference_kind"] == "teacher video"
    # Another dance's dancer is refused, and told which dance's teacher she was tried on.
    assert main(["score", str(lessons / "mood" / "teacher.mp4"), "--dance", "wap", "--lake",
                 str(lake.root)]) == 2
    assert "teacher.mp4 and wap's teacher (teacher.mp4) share no dance" in (
        capsys.readouterr().err)


def test_of_lines_as_good_a_repeat_later_loses_to_the_start_near_the_teachers():
    """The lines found for a 60 s student (tempo 0.94, 0.50 s ahead) of a routine that
    repeats every 5.7 s: the right line and one a repeat earlier fit within NEAR_TIE, at
    tempos 0.7 % apart that straddle a tempo bin's edge."""
    right = _Line(tempo=0.939, offset=-0.572, fit=37.56, mean=0.080, frames=633.0)
    lines = [right,
             _Line(tempo=0.944, offset=-0.352, fit=37.10, mean=0.081, frames=632.0),
             _Line(tempo=0.939, offset=-6.552, fit=36.19, mean=0.066, frames=573.0),
             _Line(tempo=0.946, offset=-6.152, fit=35.33, mean=0.067, frames=572.0),
             _Line(tempo=0.937, offset=5.198, fit=35.62, mean=0.083, frames=627.0)]
    assert _chosen(lines) == right
    # A line at the teacher's own tempo a repeat later, as a 15 s clip of her fits it
    # (its drift within the local shifts): 6 % is one tempo, and her start wins.
    drifting = _Line(tempo=1.0, offset=-6.0, fit=36.0, mean=0.07, frames=600.0)
    assert _chosen([*lines, drifting]) == right


def test_of_lines_at_two_rhythms_the_teachers_tempo_wins():
    """Two steps for her three lands on the same poses too: then the line at the
    teacher's tempo wins over a nearer start, and a line as far off on the other side of
    it is another rhythm, not its equal."""
    steady = _Line(tempo=1.19, offset=3.9, fit=36.0, mean=0.07, frames=600.0)
    other_rhythm = _Line(tempo=0.8, offset=-0.3, fit=36.5, mean=0.07, frames=600.0)
    assert _chosen([steady, other_rhythm]) == steady
    assert _chosen([_Line(tempo=1.0, offset=-6.0, fit=36.0, mean=0.07, frames=600.0),
                    _Line(tempo=0.75, offset=-0.3, fit=36.5, mean=0.07, frames=600.0)]
                   ).tempo == 1.0


def test_a_short_clip_of_a_long_teacher_keeps_the_start_near_the_teachers_among_its_lines():
    """Her 20 s clip against a 60 s teacher of a routine repeating every 6 s: the coarse
    search finds a dozen repeats within a few per cent of each other, the start near the
    teacher's only eighth by fit. It is refined all the same (then _chosen prefers it);
    a line far below the best is not, however near its start."""
    offsets = [-23.6, -24.6, -29.4, -41.0, -12.4, -28.2, -35.2, -0.4, -6.6, -18.0]
    lines = [_Line(tempo=0.95, offset=offset, fit=4.14 - 0.02 * rank, mean=0.1, frames=200.0)
             for rank, offset in enumerate(offsets)]
    far_below = _Line(tempo=0.95, offset=0.1, fit=2.0, mean=0.3, frames=200.0)
    candidates = _coarse_candidates([*lines, far_below])
    assert candidates[:COARSE_CANDIDATES] == lines[:COARSE_CANDIDATES]
    assert lines[7] in candidates and lines[8] in candidates and far_below not in candidates
    assert len(candidates) <= 2 * COARSE_CANDIDATES


def test_under_a_clone_filter_one_copy_of_her_is_followed(tmp_path):
    """Four copies of her: each keyframe names one, and the tracker, shown only the frame
    cut around it, stays on that copy instead of holding on to another."""
    spec = plan_videos(["savage"], 1, 8, (360, 640), seed=3)[0]
    spec = replace(spec, noise_seconds=(), empty_seconds=(), card_seconds=(),
                   still_seconds=(), others=(), style="clone", handheld=False)
    video = write_video(spec, tmp_path / "clone.mp4", find_ffmpeg())
    poses = read_video(video, FfmpegSettings(find_ffmpeg()))
    assert poses.found.mean() > 0.9, poses.found.astype(int)
    hips_x = np.nanmean(poses.x[:, [23, 24]], axis=1)[poses.found]
    hips_y = np.nanmean(poses.y[:, [23, 24]], axis=1)[poses.found]
    copy = 2 * (hips_y > 0.5) + (hips_x > 0.5)  # which quarter of the frame
    assert np.count_nonzero(np.diff(copy)) <= 2, copy  # not a new copy every keyframe
