"""The synthetic dance videos: deterministic, study-shaped, and a person on screen."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from dance_assets.core.generator import (
    DANCE_CLASSES,
    FPS,
    choreography,
    plan_videos,
    render_frames,
    render_room,
    sidecar_path,
    write_video,
)
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
    other = plan_videos(["renegade"], 1, 2, (180, 320), seed=6)[0]
    assert _sha(write_video(other, tmp_path / "c" / "p01.mp4", ffmpeg_binary)) != _sha(first)


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
    first = [s.participant for s in specs if s.participant.name == "p01"]
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
