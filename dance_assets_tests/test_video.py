"""Probing and extraction with real ffmpeg on real encoded files, good and broken."""

from __future__ import annotations

import pytest
from PIL import Image

from dance_assets.core.ingest.video import (
    ExtractionParams,
    Probe,
    VideoError,
    expected_frames,
    extract_frames,
    output_size,
    parse_header,
    probe_video,
)


def test_probe_reads_a_good_video(tiny_raw, ffmpeg_settings):
    probe = probe_video(next((tiny_raw / "renegade").glob("*.mp4")), ffmpeg_settings)
    assert probe == Probe(duration_s=4.0, fps=30.0, width=180, height=320, rotation=0, codec="h264")


@pytest.mark.parametrize("name, phrase", [
    ("zero_bytes.mp4", "empty file"),
    ("notes.mp4", "plain text"),
    ("truncated.mp4", "truncated"),
    ("cut_short.mp4", "moov atom not found"),
    ("song.m4a", "audio only"),
    ("audio_in.mp4", "audio only"),
    ("photo.jpg", "a still image"),
    ("screenshot.png", "a still image"),
    ("sticker.gif", "a still image"),
    ("frame_grab.mp4", "a still image"),
])
def test_probe_rejects_broken_files_with_a_reason(corpus, ffmpeg_settings, name, phrase):
    lake, _ = corpus
    with pytest.raises(VideoError, match=phrase):
        probe_video(lake / "raw" / "awkward_a" / name, ffmpeg_settings)


def test_probe_reads_rotation_and_odd_containers(corpus, ffmpeg_settings):
    lake, _ = corpus
    folder = lake / "raw" / "awkward_a"
    rotated = probe_video(folder / "rotated.mov", ffmpeg_settings)
    assert (rotated.width, rotated.height, rotated.rotation) == (320, 180, 90)
    assert rotated.display_size == (180, 320)
    assert probe_video(folder / "webm_vp9.webm", ffmpeg_settings).codec == "vp9"
    assert probe_video(folder / "mjpeg.avi", ffmpeg_settings).codec == "mjpeg"
    assert probe_video(folder / "uhd_4k.mp4", ffmpeg_settings).width == 3840


def test_parse_header_names_the_stream_problem():
    with pytest.raises(VideoError, match="no video stream"):
        parse_header("Input #0, data\n  Stream #0:0: Data: none\n")


@pytest.mark.parametrize("interval", [1, 2])
def test_extraction_yields_one_frame_per_interval(tiny_raw, ffmpeg_settings, tmp_path, interval):
    video = next((tiny_raw / "savage").glob("*.mp4"))
    probe = probe_video(video, ffmpeg_settings)
    frames = extract_frames(video, probe, tmp_path, ExtractionParams(interval_s=interval),
                            ffmpeg_settings)
    assert abs(len(frames) - expected_frames(probe.duration_s, interval)) <= 1
    assert [second for second, _ in frames] == [i * interval for i in range(len(frames))]
    assert all(path.name == f"{second:05d}.jpg" for second, path in frames)


def test_extraction_applies_rotation_and_limits_the_short_side(corpus, ffmpeg_settings, tmp_path):
    lake, _ = corpus
    video = lake / "raw" / "awkward_a" / "rotated.mov"
    probe = probe_video(video, ffmpeg_settings)
    frames = extract_frames(video, probe, tmp_path / "r", ExtractionParams(short_side=90),
                            ffmpeg_settings)
    with Image.open(frames[0][1]) as image:
        assert image.size == (90, 160)  # stored 320x180, displayed upright, scaled down
    uhd = lake / "raw" / "awkward_a" / "uhd_4k.mp4"
    probe = probe_video(uhd, ffmpeg_settings)
    assert output_size(probe, 256) == (456, 256)


def test_skipping_non_reference_frames_keeps_one_frame_per_second(tiny_raw, ffmpeg_settings,
                                                                  tmp_path):
    video = next((tiny_raw / "say_so").glob("*.mp4"))
    probe = probe_video(video, ffmpeg_settings)
    fast = extract_frames(video, probe, tmp_path / "fast", ExtractionParams(skip_nonref=True),
                          ffmpeg_settings)
    exact = extract_frames(video, probe, tmp_path / "exact", ExtractionParams(skip_nonref=False),
                           ffmpeg_settings)
    assert [s for s, _ in fast] == [s for s, _ in exact]


def test_timeout_is_a_clear_reason(corpus, ffmpeg_binary):
    from dance_assets.core.ingest.video import FfmpegSettings

    lake, _ = corpus
    impatient = FfmpegSettings(ffmpeg_binary, timeout_s=0.001)
    with pytest.raises(VideoError, match="longer than"):
        probe_video(lake / "raw" / "awkward_a" / "uhd_4k.mp4", impatient)


def test_expected_frames_floor_of_duration():
    assert expected_frames(10.0, 1) == 10
    assert expected_frames(10.9, 2) == 5
    assert expected_frames(0.4, 1) == 1
