"""The synthetic dance videos: deterministic, study-shaped, and a person on screen."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from dance_assets.core.ingest.quality import uniform_share
from dance_assets.core.ingest.video import probe_video
from dance_assets.core.lake.lake import Lake
from dance_assets.core.synthetic.dancers import dancing_friends, pose_at
from dance_assets.core.synthetic.dances import DANCE_CLASSES, FPS, JOINTS, key_poses
from dance_assets.core.synthetic.drawing import render_room
from dance_assets.core.synthetic.lessons import student_specs, teacher_spec, write_pairs
from dance_assets.core.synthetic.phone import FILLS_FRAME, PHONE_HARD
from dance_assets.core.synthetic.plans import plan_videos
from dance_assets.core.synthetic.rendering import render_frames, routine_at
from dance_assets.core.synthetic.sound import SoundShares, music_for, song
from dance_assets.core.synthetic.soundtrack import SAMPLE_RATE, add_noise, beat_times, render_music
from dance_assets.core.synthetic.specs import Lesson, VideoSpec, sidecar_path, video_path
from dance_assets.core.synthetic.writing import soundtrack_samples, write_video
from dance_assets.runs import sync_dance_classes


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_twelve_dances_become_twelve_classes_of_the_lake(tmp_path, instance):
    """A video of each dance lands in a folder of its own, which the lake lists as a class
    and Dagster takes as a partition key (the names are folder- and key-friendly)."""
    lake = Lake.resolve(tmp_path / "lake")
    for spec in plan_videos(list(DANCE_CLASSES), 1, 4, SIZE, seed=0):
        path = video_path(lake.raw, spec)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    sync = sync_dance_classes(instance, lake)
    assert len(sync.added) == 12 and sorted(sync.added) == sorted(DANCE_CLASSES)
    assert sorted(instance.get_dynamic_partitions("dance_classes")) == sorted(DANCE_CLASSES)


def test_same_seed_same_bytes_other_seed_other_video(tmp_path, ffmpeg_binary):
    spec = plan_videos(["renegade"], 1, 2, (180, 320), seed=5)[0]
    first = write_video(spec, tmp_path / "a" / "p01.mp4", ffmpeg_binary)
    second = write_video(spec, tmp_path / "b" / "p01.mp4", ffmpeg_binary)
    assert _sha(first) == _sha(second)
    # A bitrate, and noisy music in a second stream, too give the same bytes.
    phone = replace(spec, bitrate_kbps=60, handheld=True,
                    sound=music_for(spec.participant, "mood", 0.1, 6.0, 1))
    assert _sha(write_video(phone, tmp_path / "d" / "p01.mp4", ffmpeg_binary)) == _sha(
        write_video(phone, tmp_path / "e" / "p01.mp4", ffmpeg_binary))
    other = plan_videos(["renegade"], 1, 2, (180, 320), seed=6)[0]
    assert _sha(write_video(other, tmp_path / "c" / "p01.mp4", ffmpeg_binary)) != _sha(first)


def test_a_demo_sized_video_gives_the_same_bytes_every_time(tmp_path, ffmpeg_binary):
    """The demo's mood/p02 (three dancers): encoded on two threads, x264 gave one of two
    byte streams at random; its content hash is the video's id, and the id seeds splits.
    It has no sound of its own draw; given some, ten seconds of two streams interleave
    the same way every time too."""
    spec = next(s for s in plan_videos(["mood"], 2, 10, (360, 640), seed=0)
                if s.participant.name == "p02")
    spec = replace(spec, sound=music_for(spec.participant, "mood", -0.05, 3.0, 2))
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


_KEY_POSES_IN_ANOTHER_PROCESS = """
import json
from dance_assets.core.synthetic.dances import DANCE_CLASSES, key_poses
print(json.dumps({d: [key_poses(d).tempo_bpm, key_poses(d).poses] for d in DANCE_CLASSES}))
"""


def test_each_dance_has_its_own_routine_from_its_name_alone():
    """Twelve routines; a video's seed picks its dancer, not her routine; and another
    interpreter (another string-hash seed) derives the same key poses from the names."""
    assert len({key_poses(d).poses for d in DANCE_CLASSES}) == 12
    for seed in (0, 5):
        for spec in plan_videos(["renegade", "wap"], 2, 4, SIZE, seed=seed):
            assert routine_at(replace(spec, splice=None), 1.0) == key_poses(spec.dance)
    done = subprocess.run([sys.executable, "-c", _KEY_POSES_IN_ANOTHER_PROCESS],
                          capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONHASHSEED": "12345"})
    there = json.loads(done.stdout)
    here = {d: [key_poses(d).tempo_bpm, key_poses(d).poses] for d in DANCE_CLASSES}
    assert there == json.loads(json.dumps(here))


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
                   motion_blur=True, bitrate_kbps=60, sound=None)  # the size is the video's
    path = write_video(spec, tmp_path / "p01.mp4", ffmpeg_binary)
    truth = json.loads(sidecar_path(path).read_text())
    assert (truth["handheld"], truth["card_seconds"], truth["still_seconds"],
            truth["motion_blur"], truth["bitrate_kbps"], truth["dancers"]) == (
        True, [2], [0], True, 60, 1)
    assert probe_video(path, ffmpeg_settings).codec == "h264"
    assert path.stat().st_size < 3 * 60_000 / 8 * 1.5  # about the bitrate asked for


def test_an_ordinary_video_keeps_its_pictures_and_sound(tmp_path, ffmpeg_settings):
    """Pinned before teachers and students were added to the generator: the lake's videos
    must not move. What the project controls is pinned exactly: the drawn frames, the
    soundtrack's samples (to float32 rounding, which differs between CPUs) and the
    sidecar. What x264 and the AAC encoder make of them is not: their bytes differ
    between CPUs (AVX2 against AVX-512), so the file is held to showing those frames and
    that sound. The demo's renegade/p02 at 180x320, 3 s (disco, handheld, two friends,
    motion blur, a phone's bitrate) has no sound; renegade/p04 has music with noise."""
    import imageio_ffmpeg

    from dance_assets.core.ingest.audio import decode_audio
    from dance_assets.core.ingest.dense_poses import decode

    spec = next(s for s in plan_videos(["renegade"], 2, 3, SIZE, seed=0)
                if s.participant.name == "p02")
    drawn = [np.asarray(frame) for frame in render_frames(spec)]
    frames = hashlib.sha256(b"".join(frame.tobytes() for frame in drawn))
    assert frames.hexdigest() == (
        "69846fb6dba5695f60f3a5d2519aa7daa2594360fb824e3bf2cf9174feccf9d1")
    path = write_video(spec, tmp_path / "p02.mp4", imageio_ffmpeg.get_ffmpeg_exe())
    assert _sha(sidecar_path(path)) == (
        "d6a48c622061c79bcf957a6df98d00fab02ad49117ad7d932fb575603dabaa2c")
    decoded = list(decode(path, FPS, SIZE, ffmpeg_settings))
    assert len(decoded) == len(drawn)
    # At a phone's bitrate x264 keeps the picture (about 30 dB) but not its grain; the
    # same frames one second later (the dance moved on) are far further off.
    assert _psnr(decoded, drawn) > 24
    assert _psnr(decoded[FPS:], drawn[:-FPS]) < _psnr(decoded, drawn) - 4

    musical = next(s for s in plan_videos(["renegade"], 4, 3, SIZE, seed=0)
                   if s.participant.name == "p04")
    assert musical.sound is not None and musical.sound.noise_snr_db is not None
    samples = soundtrack_samples(musical)
    assert samples is not None and len(samples) == 3 * SAMPLE_RATE
    assert float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) == pytest.approx(
        SOUND_RMS, rel=1e-5)
    assert samples[[1000, 20_000, 60_000]].tolist() == pytest.approx(SOUND_SAMPLES, abs=1e-5)
    path = write_video(musical, tmp_path / "p04.mp4", imageio_ffmpeg.get_ffmpeg_exe())
    assert _sha(sidecar_path(path)) == SOUND_SIDECAR_PIN
    heard = decode_audio(path, ffmpeg_settings, SAMPLE_RATE)
    # AAC at 96 kbit/s keeps the waveform (the decoder drops its priming samples; the lag
    # found is that of any other ffmpeg).
    lag = int(np.argmax(np.correlate(heard[:SAMPLE_RATE], samples[:SAMPLE_RATE // 2],
                                     mode="valid")))
    compared = min(len(heard) - lag, len(samples))
    assert np.corrcoef(heard[lag:lag + compared], samples[:compared])[0, 1] > 0.99


def _psnr(decoded: list[np.ndarray], drawn: list[np.ndarray]) -> float:
    error = np.mean([np.mean((a.astype(np.float64) - b) ** 2)
                     for a, b in zip(decoded, drawn, strict=False)])
    return float(10 * np.log10(255.0**2 / error))


SOUND_RMS = 0.109944
SOUND_SAMPLES = [-0.055530, 0.057396, 0.298840]
SOUND_SIDECAR_PIN = "36dce6a91c840100df7c0a522df53d33b70087662d0e0307f80cea3c8972da7c"


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
            theirs = pose_at(key_poses("wap"), teacher.participant, tau, _no_wobble)
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
    tempos = {key_poses(d).tempo_bpm for d in DANCE_CLASSES}
    assert len(tempos) == 12 and all(92 <= bpm <= 128 for bpm in tempos)
    for dance in DANCE_CLASSES[:3]:
        teacher = teacher_spec(dance, 0, 8, SIZE)
        dancer = teacher.participant
        assert (dancer.sloppiness, dancer.mirrored, dancer.phase, dancer.tempo_bpm) == (
            0.0, False, 0.0, key_poses(dance).tempo_bpm)
        # Nothing else: no filter, bad seconds, splice or phone trait; her own song at
        # her tempo, no noise, her key poses right on its beats.
        assert teacher == VideoSpec(dance=dance, participant=dancer, seconds=8, width=SIZE[0],
                                    height=SIZE[1], lesson=Lesson("teacher"),
                                    sound=music_for(dancer, dance))
        assert teacher.sound is not None and (teacher.sound.bpm, teacher.sound.first_beat_s) == (
            key_poses(dance).tempo_bpm, 0.0)
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
        "teacher", round(key_poses("wap").tempo_bpm, 2))
    assert "offset_s" not in truth and "splice_dance" not in truth
    assert (truth["sound"], truth["song"], truth["music_bpm"], truth["first_beat_s"],
            truth["beat_offset_s"], truth["noise_snr_db"]) == (
        "song", "wap", key_poses("wap").tempo_bpm, 0.0, 0.0, None)
    assert "audio_offset_s" not in truth
    for path, spec in zip(students, student_specs("wap", 0, 2, 6, SIZE), strict=True):
        truth = json.loads(sidecar_path(path).read_text())
        assert spec.lesson is not None and spec.splice is not None
        assert truth["role"] == "student" and truth["teacher"] == "teacher.mp4"
        assert (truth["offset_s"], truth["tempo"], truth["mirrored"]) == (
            spec.lesson.offset_s, spec.lesson.tempo, spec.participant.mirrored)
        assert (truth["splice_start_s"], truth["splice_end_s"], truth["splice_dance"]) == (
            spec.splice.start_s, spec.splice.end_s, spec.splice.dance)
        _assert_sound_truth(truth, spec)
    written: list[Path] = []
    assert write_pairs(tmp_path, ["wap"], 2, 6, SIZE, 0, ffmpeg_binary, workers=1,
                       progress=lambda _d, _n, path: written.append(path)) == pairs
    assert written == []  # what is there is kept


def _assert_sound_truth(truth: dict, spec: VideoSpec) -> None:
    """The sidecar's sound keys say what the spec's soundtrack is."""
    track = spec.sound
    if track is None:
        assert (truth["sound"], truth["song"], truth["music_bpm"], truth["first_beat_s"],
                truth["beat_offset_s"], truth["noise_snr_db"]) == ("none", *[None] * 5)
        assert truth.get("audio_offset_s") is None
        return
    assert truth["sound"] == ("song" if track.song == spec.dance else "other song")
    assert (truth["song"], truth["music_bpm"], truth["first_beat_s"], truth["beat_offset_s"],
            truth["noise_snr_db"]) == (track.song, spec.participant.tempo_bpm,
                                       track.first_beat_s, track.beat_offset_s,
                                       track.noise_snr_db)
    if spec.lesson is not None and spec.lesson.role == "student":
        assert spec.lesson.offset_s is not None
        expected = (spec.lesson.offset_s - track.beat_offset_s if truth["sound"] == "song"
                    else None)
        assert truth["audio_offset_s"] == expected


def _decoded_sound(path: Path, ffmpeg_binary: str) -> np.ndarray:
    """The video's audio stream as ffmpeg decodes it, mono float at the generator's rate."""
    pcm = subprocess.run([ffmpeg_binary, "-v", "error", "-i", str(path), "-map", "0:a:0",
                          "-f", "f32le", "-ac", "1", "-ar", str(SAMPLE_RATE), "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(pcm, np.float32)


def _stream_lines(path: Path, ffmpeg_binary: str) -> list[str]:
    """ffmpeg's description of the file's streams (it exits non-zero: no output given)."""
    described = subprocess.run([ffmpeg_binary, "-hide_banner", "-i", str(path)],
                               capture_output=True, text=True, check=False).stderr
    return [line.strip() for line in described.splitlines() if "Stream #" in line]


def _kick_onsets(samples: np.ndarray) -> np.ndarray:
    """When the bass (under 150 Hz, where only the kick plays) rises past a third of its
    loudest, at most once in 150 ms: an onset detector that knows nothing of the beats."""
    padded = len(samples) + SAMPLE_RATE  # so the end does not wrap round into the start
    spectrum = np.fft.rfft(samples.astype(np.float64), n=padded)
    spectrum[np.fft.rfftfreq(padded, 1 / SAMPLE_RATE) > 150] = 0
    bass = np.fft.irfft(spectrum, n=padded)[: len(samples)]
    window = round(0.004 * SAMPLE_RATE)
    envelope = np.sqrt(np.convolve(bass**2, np.ones(window) / window, mode="same"))
    loud = envelope > envelope.max() / 3
    onsets: list[int] = []  # a kick ringing in from before the start counts as one at 0
    for rise in np.flatnonzero(np.diff(loud.astype(np.int8), prepend=0) == 1):
        if not onsets or rise - onsets[-1] > 0.15 * SAMPLE_RATE:
            onsets.append(int(rise))
    return np.array(onsets) / SAMPLE_RATE


def _sound_kind(spec: VideoSpec) -> str:
    if spec.sound is None:
        return "none"
    return "song" if spec.sound.song == spec.dance else "other"


def _lake_video(kind: str, noisy: bool, seconds: float = 3) -> VideoSpec:
    """The first lake video (seed 0) whose sound is `kind`, with noise or without."""
    for spec in plan_videos(["renegade", "mood", "wap"], 8, seconds, SIZE, seed=0):
        has_noise = spec.sound is not None and spec.sound.noise_snr_db is not None
        if _sound_kind(spec) == kind and has_noise == noisy:
            return spec
    raise AssertionError(f"no lake video with {kind} sound, noise {noisy}")


def test_songs_are_their_dances_own_quick_and_pure():
    """Each dance's song has its own melody, and no other song correlates with it at the
    same tempo and beats, though their drums hit together; rendering is fast and pure."""
    tracks = {dance: render_music(song(dance), 110.0, 0.3, 8) for dance in DANCE_CLASSES}
    assert len({song(dance).notes for dance in DANCE_CLASSES}) == 12
    unit = np.array([tracks[dance] / np.linalg.norm(tracks[dance]) for dance in DANCE_CLASSES])
    correlations = np.abs(unit @ unit.T)
    for a, b in itertools.combinations(range(len(DANCE_CLASSES)), 2):
        assert correlations[a, b] < 0.4, (DANCE_CLASSES[a], DANCE_CLASSES[b])
    assert np.array_equal(render_music(song("wap"), 110.0, 0.3, 8), tracks["wap"])
    assert tracks["wap"].dtype == np.float32 and len(tracks["wap"]) == 8 * SAMPLE_RATE
    assert 0.2 < np.abs(tracks["wap"]).max() < 1.0
    started = time.perf_counter()
    add_noise(render_music(song("mood"), 128.0, -40.0, 60), 5.0, 1)
    assert time.perf_counter() - started < 2.0  # well under a second where nothing else runs
    noisy = add_noise(tracks["wap"], 7.5, 3)
    noise = (noisy - tracks["wap"]).astype(np.float64)
    assert abs(10 * np.log10(np.mean(tracks["wap"].astype(np.float64) ** 2)
                             / np.mean(noise**2)) - 7.5) < 0.01


def test_sound_draws_reach_their_shares_and_move_nothing_else():
    """60 lake videos and 40 students: shares about as stated (binomial bounds); each
    participant dances equally late in every dance; the music is her clock."""
    specs = plan_videos(list(DANCE_CLASSES), 5, 4, SIZE, seed=0)
    kinds = [_sound_kind(spec) for spec in specs]
    assert 0.02 < kinds.count("none") / len(specs) < 0.25
    assert 0.02 < kinds.count("other") / len(specs) < 0.25
    heard = [(spec, spec.sound) for spec in specs if spec.sound is not None]
    snrs = [track.noise_snr_db for _, track in heard if track.noise_snr_db is not None]
    assert 0.05 < len(snrs) / len(heard) < 0.4 and all(0 <= snr <= 15 for snr in snrs)
    late = {(spec.participant.name, track.beat_offset_s) for spec, track in heard}
    assert len(late) == len({name for name, _ in late}) == 5  # one lateness per dancer
    assert all(abs(offset) <= 0.15 for _, offset in late)
    assert all(track.bpm == spec.participant.tempo_bpm for spec, track in heard)
    silent = plan_videos(list(DANCE_CLASSES), 5, 4, SIZE, seed=0, sound=SoundShares(none=1.0))
    assert silent == [replace(s, sound=None) for s in specs]  # drawn from streams of its own
    students = [s for seed in (0, 1) for dance in ("savage", "mood")
                for s in student_specs(dance, seed, 10, 10, SIZE)]
    kinds = [_sound_kind(student) for student in students]
    assert kinds.count("song") > 20 and 0 < kinds.count("none") < 12
    assert 0 < kinds.count("other") < 14
    assert all(abs(s.sound.beat_offset_s) <= 0.15 for s in students if s.sound)


def _key_pose_arrivals(spec: VideoSpec, step: float) -> np.ndarray:
    """When the dancer (without sloppiness) reaches a key pose of her dance after moving,
    sampled every `step` seconds: the first sample at which her angles are a key pose's
    exactly. (A splice dances another routine on the same clock.)"""
    dance, dancer = key_poses(spec.dance), replace(spec.participant, sloppiness=0.0)
    poses = np.array(dance.poses)
    arrivals, held_before = [], True
    for t in np.arange(0.0, spec.seconds, step):
        angles = pose_at(dance, dancer, float(t), _no_wobble)[0]
        held = np.abs(poses - angles).max(axis=1).min() < 1e-12
        if held and not held_before:
            arrivals.append(t)
        held_before = held
    return np.array(arrivals)


def test_key_poses_land_beat_offset_s_after_the_beats():
    """Her key poses arrive on every beats_per_pose-th beat of her music, beat_offset_s
    late, in lake videos, students and teachers alike."""
    step = 0.001
    specs = [*[s for s in plan_videos(["wap", "savage"], 3, 5, SIZE, seed=0) if s.sound],
             teacher_spec("mood", 0, 5, SIZE),
             *[s for s in student_specs("mood", 0, 3, 5, SIZE) if s.sound]]
    assert len(specs) >= 5
    for spec in specs:
        track, per_pose = spec.sound, key_poses(spec.dance).beats_per_pose
        assert track is not None
        arrivals = _key_pose_arrivals(spec, step)
        beats = (arrivals - track.beat_offset_s - track.first_beat_s) * track.bpm / 60.0
        whole = np.round(beats)
        assert np.all(np.abs(beats - whole) < step * track.bpm / 60.0 + 1e-9), spec
        assert np.all(whole % per_pose == 0)
        late_beats = beat_times(track.bpm, track.first_beat_s + track.beat_offset_s, 1e-9,
                                spec.seconds - step)
        numbers = np.round((late_beats - track.first_beat_s - track.beat_offset_s)
                           * track.bpm / 60.0)
        assert len(arrivals) == np.sum(numbers % per_pose == 0) >= 2, spec


def test_a_video_with_music_carries_it_as_aac_on_its_beats(tmp_path, ffmpeg_binary):
    """Decoded, the sound is the track: its kicks where the sidecar's beats are, exactly
    as long as the video; without sound there is no audio stream at all."""
    spec = _lake_video("song", noisy=False)
    path = write_video(spec, tmp_path / "song.mp4", ffmpeg_binary)
    truth = json.loads(sidecar_path(path).read_text())
    _assert_sound_truth(truth, spec)
    assert sum("Audio: aac" in line and "mono" in line for line in
               _stream_lines(path, ffmpeg_binary)) == 1
    sound = _decoded_sound(path, ffmpeg_binary)
    assert len(sound) == round(spec.seconds * SAMPLE_RATE)
    onsets, beats = _kick_onsets(sound), beat_times(truth["music_bpm"], truth["first_beat_s"],
                                                    0.0, spec.seconds)
    inner = beats[(beats > 0.05) & (beats < spec.seconds - 0.05)]
    assert len(inner) >= 4 and np.abs(onsets[None] - inner[:, None]).min(axis=1).max() < 0.015
    inner = onsets[(onsets > 0.07) & (onsets < spec.seconds - 0.07)]  # and no kick elsewhere
    assert np.abs(inner[:, None] - beats[None]).min(axis=1).max() < 0.015
    silent = write_video(_lake_video("none", noisy=False), tmp_path / "none.mp4",
                         ffmpeg_binary)
    lines = _stream_lines(silent, ffmpeg_binary)
    assert any("Video:" in line for line in lines) and not any("Audio" in line for line in lines)
    assert json.loads(sidecar_path(silent).read_text())["sound"] == "none"


def test_noise_over_the_music_at_the_stated_snr(tmp_path, ffmpeg_binary):
    spec = _lake_video("song", noisy=True)
    track = spec.sound
    assert track is not None and track.noise_snr_db is not None
    sound = _decoded_sound(write_video(spec, tmp_path / "noisy.mp4", ffmpeg_binary),
                           ffmpeg_binary).astype(np.float64)
    music = render_music(song(track.song), track.bpm, track.first_beat_s, spec.seconds)

    def snr_db(heard: np.ndarray) -> float:
        noise = heard.astype(np.float64) - music
        return float(10 * np.log10(np.mean(music.astype(np.float64) ** 2) / np.mean(noise**2)))

    assert abs(snr_db(soundtrack_samples(spec)) - track.noise_snr_db) < 0.01  # as rendered
    assert abs(snr_db(sound) - track.noise_snr_db) < 1.0  # and after AAC's own error


def test_a_students_music_is_the_lessons_song_at_her_tempo(tmp_path, ffmpeg_binary):
    """At her time t her sound is the teacher's at tau = tempo * (t - audio_offset_s):
    40 ms from each eighth note on match the teacher's (same drums, same pitch), and
    the teacher's an eighth note later do not."""
    root = tmp_path / "pairs"
    [(teacher_path, student_paths)] = write_pairs(root, ["wap"], 4, 6, SIZE, 0, ffmpeg_binary,
                                                  workers=1)
    teacher = _decoded_sound(teacher_path, ffmpeg_binary)
    truths = [json.loads(sidecar_path(path).read_text()) for path in student_paths]
    assert {truth["sound"] for truth in truths} >= {"song", "other song"}
    path, truth = next((p, t) for p, t in zip(student_paths, truths, strict=True)
                       if t["sound"] == "song" and t["noise_snr_db"] is None)
    student = _decoded_sound(path, ffmpeg_binary)
    window, eighth = round(0.04 * SAMPLE_RATE), 30.0 / truth["music_bpm"]
    matched, shifted = [], []
    for t in beat_times(2 * truth["music_bpm"], truth["first_beat_s"], 0.0, 5.9):
        tau = truth["tempo"] * (t - truth["audio_offset_s"])
        if not 0.0 <= tau < 5.9 - truth["tempo"] * eighth:
            continue
        mine = student[round(t * SAMPLE_RATE):][:window].astype(np.float64)
        for found, at in ((matched, tau), (shifted, tau + truth["tempo"] * eighth)):
            theirs = teacher[round(at * SAMPLE_RATE):][:window].astype(np.float64)
            found.append(mine @ theirs / np.sqrt((mine @ mine) * (theirs @ theirs)))
    assert len(matched) >= 10
    assert np.median(matched) > 0.9 and np.min(matched) > 0.6, matched
    assert np.median(shifted) < 0.5, shifted
