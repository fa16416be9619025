"""The synthetic dance videos: deterministic, study-shaped, and a person on screen."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from dance_assets.core.generator import (
    DANCE_CLASSES,
    FILLS_FRAME,
    FPS,
    JOINTS,
    PHONE_HARD,
    Lesson,
    VideoSpec,
    choreography,
    dancing_friends,
    plan_videos,
    pose_at,
    render_frames,
    render_room,
    routine_at,
    sidecar_path,
    student_specs,
    teacher_spec,
    write_pairs,
    write_video,
)
from dance_assets.core.quality import uniform_share
from dance_assets.core.video import probe_video


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_twelve_dance_classes():
    assert len(DANCE_CLASSES) == 12 == len(set(DANCE_CLASSES))


def test_same_seed_same_bytes_other_seed_other_video(tmp_path, ffmpeg_binary):
    spec = plan_videos(["renegade"], 1, 2, (180, 320), seed=5)[0]
    first = write_video(spec, tmp_path / "a" / "p01.mp4", ffmpeg_binary)
    second = write_video(spec, tmp_path / "b" / "p01.mp4", ffmpeg_binary)
    assert _sha(first) == _sha(second)
    phone = replace(spec, bitrate_kbps=60, handheld=True)  # a bitrate too gives the same bytes
    assert _sha(write_video(phone, tmp_path / "d" / "p01.mp4", ffmpeg_binary)) == _sha(
        write_video(phone, tmp_path / "e" / "p01.mp4", ffmpeg_binary))
    other = plan_videos(["renegade"], 1, 2, (180, 320), seed=6)[0]
    assert _sha(write_video(other, tmp_path / "c" / "p01.mp4", ffmpeg_binary)) != _sha(first)


def test_a_demo_sized_video_gives_the_same_bytes_every_time(tmp_path, ffmpeg_binary):
    """The demo's mood/p02 (three dancers): encoded on two threads, x264 gave one of two
    byte streams at random; its content hash is the video's id, and the id seeds splits."""
    spec = next(s for s in plan_videos(["mood"], 2, 10, (360, 640), seed=0)
                if s.participant.name == "p02")
    shas = {_sha(write_video(spec, tmp_path / str(i) / "p02.mp4", ffmpeg_binary))
            for i in range(4)}
    assert len(shas) == 1


def test_video_is_vertical_h264_at_30_fps_with_a_sidecar(tmp_path, ffmpeg_binary,
                                                          ffmpeg_settings):
    spec = plan_videos(["savage"], 1, 3, (180, 320), seed=1)[0]
    path = write_video(spec, tmp_path / "p01.mp4", ffmpeg_binary)
    probe = probe_video(path, ffmpeg_settings)
    assert (probe.codec, probe.width, probe.height, probe.fps) == ("h264", 180, 320, FPS)
    assert abs(probe.duration_s - 3) < 0.1
    truth = json.loads(sidecar_path(path).read_text())
    assert truth["dance"] == "savage" and truth["participant"] == "p01"
    assert set(truth) >= {"empty_seconds", "noise_seconds", "style"}


def test_participant_keeps_body_clothes_and_room_across_dances():
    specs = plan_videos(list(DANCE_CLASSES), 2, 4, (180, 320), seed=0)
    # Filmed closer or further away, so only the size and place in the frame change.
    first = [replace(s.participant, height=0, floor=0, x=0) for s in specs
             if s.participant.name == "p01"]
    assert len(first) == 12 and all(p == first[0] for p in first)
    assert first[0] != next(s.participant for s in specs if s.participant.name == "p02")


def test_each_dance_has_its_own_choreography_independent_of_seed():
    assert choreography("renegade") == choreography("renegade")
    poses = {choreography(d).poses for d in DANCE_CLASSES}
    assert len(poses) == 12


def test_some_videos_have_filters_and_bad_edge_seconds():
    specs = plan_videos(list(DANCE_CLASSES), 8, 10, (180, 320), seed=0)
    styles = {s.style for s in specs}
    assert {"clone", "disco"} <= styles
    bad = [s for s in specs if s.empty_seconds or s.noise_seconds]
    assert 0.2 < len(bad) / len(specs) < 0.6
    for spec in bad:
        seconds = sorted(spec.empty_seconds + spec.noise_seconds)
        assert seconds[0] == 0 or seconds[-1] == int(spec.seconds) - 1  # at an edge
        assert len(seconds) <= 2


def test_frame_shows_a_filled_person_on_the_room():
    spec = next(s for s in plan_videos(["mood"], 4, 2, (180, 320), seed=2)
                if s.style == "none" and not s.empty_seconds and not s.noise_seconds)
    frame = np.asarray(next(iter(render_frames(spec))), dtype=np.int16)
    room = np.asarray(render_room(180, 320, spec.participant.room, spec.participant.floor),
                      dtype=np.int16)
    person = np.abs(frame - room).max(axis=2) > 20
    rows = np.nonzero(person)[0]
    assert person.mean() > 0.04  # a body with area, not a few lines
    height = (rows.max() - rows.min()) / 320
    assert 0.4 < height < 0.8  # a whole person, head to feet
    for colour in (spec.participant.skin, spec.participant.shirt, spec.participant.pants):
        assert (np.abs(frame - np.array(colour)).max(axis=2) < 3).sum() > 30


def test_empty_and_noise_seconds_render_as_promised():
    spec = plan_videos(["wap"], 1, 4, (180, 320), seed=0)[0]
    spec = type(spec)(**{**spec.__dict__, "empty_seconds": (0,), "noise_seconds": (3,),
                         "style": "none"})
    frames = [np.asarray(f, dtype=np.int16) for f in render_frames(spec)]
    room = np.asarray(render_room(180, 320, spec.participant.room, spec.participant.floor),
                      dtype=np.int16)
    assert np.abs(frames[15] - room).max() == 0  # second 0: the empty room
    assert np.abs(frames[3 * FPS + 15] - room).mean() > 40  # second 3: static noise
    assert np.abs(frames[FPS + 15] - room).max() > 0  # second 1: someone dancing


def test_phone_traits_reach_their_share_of_videos():
    specs = plan_videos(list(DANCE_CLASSES), 8, 10, (180, 320), seed=3)
    shares = {
        "handheld": np.mean([s.handheld for s in specs]),
        "group": np.mean([bool(s.others) for s in specs]),
        "card": np.mean([bool(s.card_seconds) for s in specs]),
        "still": np.mean([bool(s.still_seconds) for s in specs]),
        "blur": np.mean([s.motion_blur for s in specs]),
        "bitrate": np.mean([s.bitrate_kbps is not None for s in specs]),
        "fills": np.mean([s.participant.height >= FILLS_FRAME for s in specs]),
    }
    assert all(0.05 < share < 0.5 for share in shares.values()), shares
    for spec in specs:  # the bad seconds never overlap, and stills come first
        seconds = [*spec.empty_seconds, *spec.noise_seconds, *spec.card_seconds,
                   *spec.still_seconds]
        assert len(seconds) == len(set(seconds))
        assert not spec.still_seconds or min(spec.still_seconds) <= 1
    hard = plan_videos(list(DANCE_CLASSES), 4, 10, (180, 320), seed=3, phone=PHONE_HARD)
    assert all(s.handheld for s in hard) and any(s.others for s in hard)


def _solo(seconds: float = 4) -> VideoSpec:
    spec = plan_videos(["wap"], 1, seconds, (180, 320), seed=0)[0]
    return replace(spec, style="none", empty_seconds=(), noise_seconds=(), card_seconds=(),
                   still_seconds=(), handheld=False, others=(), motion_blur=False)


def test_phone_traits_render_as_promised():
    solo = _solo()
    plain = [np.asarray(f, dtype=np.int16) for f in render_frames(solo)]
    handheld = [np.asarray(f, dtype=np.int16) for f in render_frames(replace(solo, handheld=True))]
    room = np.asarray(render_room(180, 320, solo.participant.room, solo.participant.floor),
                      dtype=np.int16)
    # The camera moves the room itself, and never shows a black border.
    assert np.abs(handheld[0] - plain[0]).mean() > 5
    assert np.abs(handheld[60] - handheld[0]).mean() > 2
    for frame in handheld[::10]:
        edges = np.concatenate([frame[0], frame[-1], frame[:, 0], frame[:, -1]])
        assert (edges.sum(axis=1) == 0).mean() < 0.01
    card = [np.asarray(f) for f in render_frames(replace(solo, card_seconds=(3,)))]
    assert uniform_share(np.asarray(card[3 * FPS + 5], np.float32).mean(axis=2)) > 0.9
    # Standing still: barely moving while waiting, then dancing.
    waiting = replace(solo, still_seconds=(0,))
    still = [np.asarray(f, dtype=np.int16) for f in render_frames(waiting)]
    assert np.abs(still[20] - still[5]).mean() < np.abs(plain[50] - plain[35]).mean()
    assert np.abs(still[5] - room).max() > 0  # somebody is there
    friends = replace(solo, others=dancing_friends(np.random.default_rng(1), solo.participant, 2))
    crowd = np.asarray(next(iter(render_frames(friends))), dtype=np.int16)
    assert (np.abs(crowd - room).max(axis=2) > 20).mean() > (
        np.abs(plain[0] - room).max(axis=2) > 20).mean() * 1.3


def test_phone_traits_are_in_the_sidecar(tmp_path, ffmpeg_binary, ffmpeg_settings):
    spec = replace(_solo(3), handheld=True, card_seconds=(2,), still_seconds=(0,),
                   motion_blur=True, bitrate_kbps=60)
    path = write_video(spec, tmp_path / "p01.mp4", ffmpeg_binary)
    truth = json.loads(sidecar_path(path).read_text())
    assert (truth["handheld"], truth["card_seconds"], truth["still_seconds"],
            truth["motion_blur"], truth["bitrate_kbps"], truth["dancers"]) == (
        True, [2], [0], True, 60, 1)
    assert probe_video(path, ffmpeg_settings).codec == "h264"
    assert path.stat().st_size < 3 * 60_000 / 8 * 1.5  # about the bitrate asked for


def test_an_ordinary_video_keeps_its_bytes(tmp_path):
    """Pinned before teachers and students were added to the generator: the lake's video
    ids are content hashes and seed its splits, so the lake's videos must not move. The
    demo's renegade/p02 at 180x320, 3 s: disco, handheld, two friends, motion blur and a
    phone's bitrate. Frames pin the drawing whatever the encoder; the file pins it with
    the pinned imageio-ffmpeg's x264 (an ffmpeg on PATH may encode differently)."""
    import imageio_ffmpeg

    spec = next(s for s in plan_videos(["renegade"], 2, 3, SIZE, seed=0)
                if s.participant.name == "p02")
    frames = hashlib.sha256(b"".join(frame.tobytes() for frame in render_frames(spec)))
    assert frames.hexdigest() == (
        "69846fb6dba5695f60f3a5d2519aa7daa2594360fb824e3bf2cf9174feccf9d1")
    path = write_video(spec, tmp_path / "p02.mp4", imageio_ffmpeg.get_ffmpeg_exe())
    assert _sha(path) == "638a0e52ed5e1dafa5005d1b33042053aa0b074317413935642dd3e58433e700"
    assert _sha(sidecar_path(path)) == (
        "10adf1113fdd703f8d9a2fa06281e6ebc0655d5df728ddb54a059b0042b06497")


SIZE = (180, 320)


def _no_wobble(_t: float) -> np.ndarray:
    return np.ones(len(JOINTS))  # multiplied by a sloppiness of 0


def test_a_student_dances_the_teachers_routine_at_the_stated_time():
    """The student's video at t shows the teacher's routine at tau = tempo * (t - offset_s),
    except in her splice; late students start before the routine (negative phases)."""
    teacher = teacher_spec("wap", 0, 8, SIZE)
    students = student_specs("wap", 0, 6, 8, SIZE)
    assert any(s.participant.phase < 0 for s in students)
    for student in students:
        assert student.lesson is not None and student.splice is not None
        dancer = replace(student.participant, sloppiness=0.0)
        for t in np.linspace(0.05, 7.95, 41):
            tau = student.lesson.tempo * (t - student.lesson.offset_s)
            theirs = pose_at(choreography("wap"), teacher.participant, tau, _no_wobble)
            mine = pose_at(routine_at(student, t), dancer, t, _no_wobble)
            same = np.allclose(mine[0], theirs[0], atol=1e-6) and np.allclose(
                mine[1:], theirs[1:], atol=1e-6)
            assert same != (student.splice.start_s <= t < student.splice.end_s), (student, t)


def test_a_splice_changes_only_the_dancers_frames_inside_it():
    student = replace(student_specs("mood", 1, 1, 6, SIZE)[0], style="none", handheld=False,
                      motion_blur=False, card_seconds=(), still_seconds=(), empty_seconds=(),
                      noise_seconds=())
    assert student.splice is not None
    spliced = [np.asarray(f) for f in render_frames(student)]
    plain = [np.asarray(f) for f in render_frames(replace(student, splice=None))]
    for index, (a, b) in enumerate(zip(spliced, plain, strict=True)):
        inside = student.splice.start_s <= index / FPS < student.splice.end_s
        assert np.array_equal(a, b) != inside, index


def test_the_teacher_is_clean_and_on_the_dances_tempo():
    tempos = {choreography(d).tempo_bpm for d in DANCE_CLASSES}
    assert len(tempos) == 12 and all(92 <= bpm <= 128 for bpm in tempos)
    for dance in DANCE_CLASSES[:3]:
        teacher = teacher_spec(dance, 0, 8, SIZE)
        dancer = teacher.participant
        assert (dancer.sloppiness, dancer.mirrored, dancer.phase, dancer.tempo_bpm) == (
            0.0, False, 0.0, choreography(dance).tempo_bpm)
        # Nothing else: no filter, bad seconds, splice or phone trait.
        assert teacher == VideoSpec(dance, dancer, 8, *SIZE, lesson=Lesson("teacher"))
        assert teacher_spec(dance, 1, 8, SIZE).participant.shirt != dancer.shirt


def test_students_timing_and_footage_within_their_ranges():
    """40 students of two seeds: every stated range holds, and real footage's troubles
    appear as in the lake."""
    students = [s for seed in (0, 1) for dance in ("savage", "mood")
                for s in student_specs(dance, seed, 10, 10, SIZE)]
    for s in students:
        assert s.lesson is not None and s.splice is not None
        assert 0.2 <= abs(s.lesson.offset_s) <= 0.8 and 0.8 <= s.lesson.tempo <= 1.25
        assert 2 <= s.splice.end_s - s.splice.start_s <= 4
        assert s.splice.start_s >= 2 and s.splice.end_s <= s.seconds - 2
        assert s.splice.dance in DANCE_CLASSES and s.splice.dance != s.dance
        assert 0.03 <= s.participant.sloppiness <= 0.16
        assert all(f.tempo_bpm == s.participant.tempo_bpm for f in s.others)  # her clock
    assert {np.sign(s.lesson.offset_s) for s in students} == {-1, 1}
    # About 40 % mirrored: 24 of these 40 (0.42 of 600 students); binomial bounds.
    assert 0.15 < np.mean([s.participant.mirrored for s in students]) < 0.65
    assert any(s.handheld for s in students) and any(s.others for s in students)
    assert any(s.motion_blur for s in students) and any(s.style != "none" for s in students)
    assert len({s.participant.name for s in students}) == 10  # s01..s10 per dance
    assert len({s.participant.shirt for s in students}) == 40


def test_pairs_sidecars_record_the_timing(tmp_path, ffmpeg_binary):
    pairs = write_pairs(tmp_path, ["wap"], 2, 6, SIZE, 0, ffmpeg_binary, workers=1)
    [(teacher, students)] = pairs
    assert teacher == tmp_path / "wap" / "teacher.mp4"
    assert students == [tmp_path / "wap" / "s01.mp4", tmp_path / "wap" / "s02.mp4"]
    truth = json.loads(sidecar_path(teacher).read_text())
    assert (truth["role"], truth["tempo_bpm"]) == (
        "teacher", round(choreography("wap").tempo_bpm, 2))
    assert "offset_s" not in truth and "splice_dance" not in truth
    for path, spec in zip(students, student_specs("wap", 0, 2, 6, SIZE), strict=True):
        truth = json.loads(sidecar_path(path).read_text())
        assert spec.lesson is not None and spec.splice is not None
        assert truth["role"] == "student" and truth["teacher"] == "teacher.mp4"
        assert (truth["offset_s"], truth["tempo"], truth["mirrored"]) == (
            spec.lesson.offset_s, spec.lesson.tempo, spec.participant.mirrored)
        assert (truth["splice_start_s"], truth["splice_end_s"], truth["splice_dance"]) == (
            spec.splice.start_s, spec.splice.end_s, spec.splice.dance)
    written: list[Path] = []
    assert write_pairs(tmp_path, ["wap"], 2, 6, SIZE, 0, ffmpeg_binary, workers=1,
                       progress=lambda _d, _n, path: written.append(path)) == pairs
    assert written == []  # what is there is kept
