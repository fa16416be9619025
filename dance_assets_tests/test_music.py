"""The music as the dancer's clock: sound probed and decoded, beats found, her hits
against them, two videos synced by their song, the `music` table, and classifiers that
never hear any of it."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from dance_assets.core.ingest.audio import ANALYSIS_RATE, AudioError, check_audio, decode_audio
from dance_assets.core.ingest.dense_poses import read_video
from dance_assets.core.ingest.ingest import NO_AUDIO
from dance_assets.core.ingest.video import (
    ExtractionParams,
    FfmpegSettings,
    extract_frames,
    find_ffmpeg,
    probe_video,
)
from dance_assets.core.lake import tables
from dance_assets.core.lake.lake import Lake
from dance_assets.core.performance.beats import find_beats
from dance_assets.core.performance.movement import movement_of
from dance_assets.core.scoring.music import against_beats, hits, sync_by_sound
from dance_assets.core.synthetic.lessons import student_specs, teacher_spec
from dance_assets.core.synthetic.plans import plan_videos
from dance_assets.core.synthetic.sound import music_for, song
from dance_assets.core.synthetic.soundtrack import SAMPLE_RATE, add_noise, render_music
from dance_assets.core.synthetic.specs import sidecar_path
from dance_assets.core.synthetic.writing import write_video
from dance_assets.resources import FfmpegResource
from dance_assets_tests.helpers import materialize, register_classes, resources_for

pytestmark = pytest.mark.slow  # beats and poses of 16 s videos, the music asset

SIZE = (240, 426)


@pytest.fixture(scope="module")
def ffmpeg() -> FfmpegSettings:
    return FfmpegSettings(find_ffmpeg())


@pytest.fixture(scope="module")
def lesson(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A teacher and her student playing the same song, and the student again with
    another dance's song and with none: 16 s at 240x426."""
    root = tmp_path_factory.mktemp("music")
    teacher = teacher_spec("wap", 0, 16, SIZE)
    student = student_specs("wap", 0, 1, 16, SIZE)[0]
    assert student.sound is not None and student.sound.song == "wap"
    other = replace(student, sound=music_for(student.participant, "mood",
                                             student.sound.beat_offset_s))
    silent = replace(student, sound=None)
    videos = {"teacher": teacher, "student": student, "other": other, "silent": silent}
    return {name: write_video(spec, root / f"{name}.mp4", find_ffmpeg())
            for name, spec in videos.items()}


def _truth(video: Path) -> dict:
    return json.loads(sidecar_path(video).read_text())


def test_sound_is_probed_and_decoded(lesson, ffmpeg):
    probe = probe_video(lesson["student"], ffmpeg)
    assert (probe.audio_codec, probe.audio_sample_rate) == ("aac", 22050)
    checked = check_audio(lesson["student"], ffmpeg)
    assert checked.error is None and abs(checked.duration_s - 16) < 0.1
    samples = decode_audio(lesson["student"], ffmpeg)
    assert samples.dtype == np.float32 and abs(len(samples) / ANALYSIS_RATE - 16) < 0.1
    assert probe_video(lesson["silent"], ffmpeg).audio_codec is None
    with pytest.raises(AudioError, match="no sound"):
        decode_audio(lesson["silent"], ffmpeg)


@pytest.mark.parametrize("name", ["teacher", "student", "other"])
def test_the_beat_is_found_where_the_song_puts_it(lesson, ffmpeg, name):
    truth = _truth(lesson[name])
    beats = find_beats(decode_audio(lesson[name], ffmpeg), ANALYSIS_RATE)
    assert beats is not None and abs(beats.tempo_bpm / truth["music_bpm"] - 1) < 0.02
    period = 60 / truth["music_bpm"]
    phase = ((beats.times - truth["first_beat_s"]) / period) % 1  # 0: on a true beat
    off_s = np.minimum(phase, 1 - phase) * period
    assert np.median(off_s) < 0.03


def test_her_hits_land_as_late_as_the_generator_made_her(lesson, ffmpeg):
    truth = _truth(lesson["student"])
    beats = find_beats(decode_audio(lesson["student"], ffmpeg), ANALYSIS_RATE)
    timing = against_beats(hits(movement_of(read_video(lesson["student"], ffmpeg))), beats)
    assert timing is not None and timing.hits >= 8
    assert abs(timing.mean_offset_ms - 1000 * truth["beat_offset_s"]) < 60
    assert len(timing.hit_times) == timing.hits == len(timing.hit_offsets_ms)
    assert timing.worst_start_s <= timing.worst_end_s


def test_one_song_syncs_two_videos_and_another_song_does_not(lesson, ffmpeg):
    teacher = find_beats(decode_audio(lesson["teacher"], ffmpeg), ANALYSIS_RATE)
    student = find_beats(decode_audio(lesson["student"], ffmpeg), ANALYSIS_RATE)
    truth = _truth(lesson["student"])
    synced = sync_by_sound(student, teacher)
    assert synced.same_song and abs(synced.offset_s - truth["audio_offset_s"]) < 0.034
    assert abs(synced.tempo / truth["tempo"] - 1) < 0.02
    other = find_beats(decode_audio(lesson["other"], ffmpeg), ANALYSIS_RATE)
    assert not sync_by_sound(other, teacher).same_song


def test_a_student_without_sound_is_still_scored(lesson, tmp_path):
    from dance_assets.core.scoring.scoring import score, score_ffmpeg

    result = score(Lake.resolve(tmp_path), lesson["silent"], score_ffmpeg(),
                   reference=lesson["teacher"])
    assert result.music is not None and result.music.tempo_bpm is None
    assert result.music.note.startswith("no sound in silent.mp4")
    assert "the dance alone" in result.music.note and result.feedback.offset_ms is not None
    # The beat line says there was no music to judge her by, not how the videos met.
    assert result.music.beat_words() == "no music to judge (no sound in silent.mp4)"


def test_classifiers_never_hear_the_music(lesson, ffmpeg, tmp_path):
    """The same pictures with the song, another song and none: the frames every model
    reads (and so their poses and inputs) are the same bytes."""
    frames = {}
    for name in ("student", "other", "silent"):
        probe = probe_video(lesson[name], ffmpeg)
        written = extract_frames(lesson[name], probe, tmp_path / name, ExtractionParams(),
                                 ffmpeg)
        frames[name] = [path.read_bytes() for _, path in written]
    assert frames["student"] == frames["other"] == frames["silent"]
    assert len(frames["student"]) == 16


def test_the_music_table_follows_the_class_incrementally(tmp_path, instance):
    from dance_assets.assets.ingest import raw_videos
    from dance_assets.assets.music import music

    lake = Lake.resolve(tmp_path / "lake")
    specs = plan_videos(["savage"], 4, 6, SIZE, seed=3)
    for spec in specs:
        write_video(spec, lake.raw / "savage" / f"{spec.participant.name}.mp4", find_ffmpeg())
    register_classes(instance, lake)
    assert dg.materialize([raw_videos, music], partition_key="savage", instance=instance,
                          resources=resources_for(lake)).success
    videos = tables.read_table(lake, "videos")
    with_sound = videos[videos["audio_codec"] != NO_AUDIO]
    assert set(videos["audio_codec"]) <= {"aac", NO_AUDIO} and len(with_sound) >= 2
    rows = tables.read_table(lake, "music").set_index("video_id")
    assert set(rows.index) == set(with_sound["video_id"])
    for video in with_sound.itertuples():
        truth = json.loads(sidecar_path(lake.absolute(video.path)).read_text())
        assert rows.loc[video.video_id, "status"] == "analysed"
        assert abs(rows.loc[video.video_id, "tempo_bpm"] / truth["music_bpm"] - 1) < 0.02
    again = materialize([music], partition_key="savage", instance=instance,
                        resources=resources_for(lake))
    metadata = again.asset_materializations_for_node("music")[0].metadata
    assert metadata["new"].value == 0 and metadata["unchanged"].value == len(rows)
    # The FfmpegResource's timeout reaches the music's ffmpeg: a tiny one fails each
    # video in one line, recorded as its reason, instead of running on.
    shutil.rmtree(tables.table_dir(lake, "music"))
    shutil.rmtree(lake.cache / "poses")  # a cached video is only probed: too quick to time out
    hurried = {**resources_for(lake), "ffmpeg": FfmpegResource(timeout_s=0.001)}
    assert materialize([music], partition_key="savage", instance=instance,
                       resources=hurried).success
    rows = tables.read_table(lake, "music")
    assert set(rows["status"]) == {"failed"}
    assert all("took longer than the 0.001 s" in reason for reason in rows["reason"])


@pytest.mark.parametrize("bpm", [118.37, 126.08])
def test_a_minute_of_music_keeps_its_tempo_to_a_fraction_of_a_per_cent(bpm):
    """Over a minute a tempo between two lags of the onset envelope (2 % apart at 120 bpm)
    would drift the beats off the music by a beat; the comb and the line through the
    tracked beats keep it."""
    music = render_music(song("savage"), bpm, -0.3, 60.0)
    beats = find_beats(music, SAMPLE_RATE)
    assert beats is not None
    assert abs(beats.tempo_bpm / bpm - 1) < 0.002
    assert len(beats.times) >= 0.95 * 60.0 * bpm / 60.0


@pytest.mark.parametrize(("bpm", "first_beat_s"), [(118.29, -0.548), (91.71, 0.5), (125.0, 0.3)])
def test_the_beat_is_the_kick_even_when_the_melody_plays_off_beat(bpm, first_beat_s):
    """This song's melody leans on the off-beats, and the tracker, following the whole
    spectrum, settled half a beat off the kick at these tempos (250-320 ms off)."""
    beats = find_beats(render_music(song("renegade"), bpm, first_beat_s, 20.0), SAMPLE_RATE)
    assert beats is not None
    period = 60 / bpm
    phase = ((beats.times - first_beat_s) / period) % 1
    assert np.median(np.minimum(phase, 1 - phase) * period) < 0.03


def _through_aac(sound: np.ndarray, folder: Path, ffmpeg: FfmpegSettings) -> np.ndarray:
    """The sound as a phone app leaves it: encoded as AAC by real ffmpeg, decoded back."""
    raw, encoded = folder / "sound.f32", folder / "sound.m4a"
    raw.write_bytes(sound.astype(np.float32).tobytes())
    subprocess.run([ffmpeg.binary, "-v", "error", "-y", "-f", "f32le", "-ar", str(SAMPLE_RATE),
                    "-ac", "1", "-i", str(raw), "-c:a", "aac", "-b:a", "96k", str(encoded)],
                   check=True)
    return decode_audio(encoded, ffmpeg)


@pytest.mark.parametrize(("silence", "dance"), [("before the song", "mood"),
                                              ("within the song", "savage")])
def test_a_silence_in_the_sound_loses_no_beat(silence, dance, ffmpeg, tmp_path):
    """An edited clip's song often starts seconds into the video, or pauses for a bar:
    the sound starting from digital silence is an onset many times any beat's in music
    under a room's noise, and librosa's tracker, scaling by the envelope's spread, kept
    few beats (before the song, this one's tempo came out 6 % slow; with the pause, only
    the 10 beats after it were found)."""
    bpm, first_beat_s = 96.0, -0.3  # the song already playing when the sound starts
    music = add_noise(render_music(song(dance), bpm, first_beat_s, 12.0), 8.0, seed=0)
    gap = np.zeros(round(4 * 60 / bpm * SAMPLE_RATE), np.float32)  # a bar: the grid goes on
    middle = round(6 * SAMPLE_RATE)
    sound = _through_aac(np.concatenate([gap, music]) if silence == "before the song"
                         else np.concatenate([music[:middle], gap, music[middle:]]),
                         tmp_path, ffmpeg)
    beats = find_beats(sound, ANALYSIS_RATE)
    assert beats is not None
    assert abs(beats.tempo_bpm / bpm - 1) < 0.02
    assert len(beats.times) >= 0.9 * 12.0 * bpm / 60  # the song's beats, all but a few
    song_time = beats.times - (len(gap) / SAMPLE_RATE if silence == "before the song" else 0.0)
    phase = ((song_time - first_beat_s) / (60 / bpm)) % 1
    assert np.median(np.minimum(phase, 1 - phase) * 60 / bpm) < 0.03
