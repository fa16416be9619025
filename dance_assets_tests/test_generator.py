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
    PHONE_HARD,
    VideoSpec,
    choreography,
    dancing_friends,
    plan_videos,
    render_frames,
    render_room,
    sidecar_path,
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
