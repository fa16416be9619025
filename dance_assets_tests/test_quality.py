"""Frame quality features on hand-made frames with known answers."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from dance_assets.core.ingest.quality import median_colour, noise_sigma, video_features
from dance_assets_tests.helpers import hand_made_person, hand_made_room


def _features(images):
    return video_features([np.asarray(i) for i in images])


def test_brightness_and_contrast_of_black_and_white():
    black, white = Image.new("RGB", (64, 64), "black"), Image.new("RGB", (64, 64), "white")
    dark, bright = _features([black, white])
    assert dark.brightness < 1 and bright.brightness > 254
    assert dark.contrast < 1 and bright.contrast < 1


def test_blur_lowers_sharpness():
    sharp = hand_made_person(72, True)
    blurred = sharp.filter(ImageFilter.GaussianBlur(4))
    a, b = _features([sharp, blurred])
    assert b.sharpness < a.sharpness / 5


def test_noise_frame_has_high_noise_and_subject_score():
    rng = np.random.default_rng(1)
    frames = [hand_made_person(x, up)
              for x, up in ((50, True), (72, False), (95, True), (60, False))]
    noise = Image.fromarray(rng.integers(0, 256, (256, 144, 3), dtype=np.uint8))
    features = _features([*frames, noise])
    assert features[-1].noise > 20 > max(f.noise for f in features[:-1])
    assert features[-1].subject_score > 0.6


def test_empty_room_scores_near_zero_even_where_the_dancer_usually_stands():
    # The dancer stands at x=72 in most frames, so a median background would keep them.
    frames = [hand_made_person(72, up) for up in (True, False, True, False, True)]
    frames += [hand_made_person(40, False), hand_made_room()]
    features = _features(frames)
    empty, dancing = features[-1], features[:-1]
    assert empty.subject_score < 0.01
    assert min(f.subject_score for f in dancing) > 0.03


def test_disco_light_does_not_count_as_subject():
    frames = [hand_made_person(x, True) for x in (40, 72, 100)] + [hand_made_room()]
    tinted = Image.fromarray(
        (np.asarray(hand_made_room()) * np.array([1.0, 0.5, 0.8])).astype(np.uint8))
    features = _features([*frames, tinted])
    assert features[-1].subject_score < 0.02


def test_near_duplicates_point_to_the_first_copy():
    a, b = hand_made_person(50, True), hand_made_person(90, False)
    features = _features([a, b, a.copy(), hand_made_room(), hand_made_room()])
    assert [f.near_duplicate_of for f in features] == [None, None, 0, None, 3]


def test_noise_sigma_of_gaussian_noise():
    rng = np.random.default_rng(0)
    flat = np.full((200, 200), 128.0) + rng.normal(0, 10, (200, 200))
    assert 8.5 < noise_sigma(flat) < 11.5
    assert noise_sigma(np.tile(np.linspace(0, 255, 200), (200, 1))) < 0.5


def test_median_colour_is_numpys_median_cast_to_uint8():
    """Odd and even pixel counts (an even count averages the two middle values and the
    cast truncates), narrow and full value ranges, a strided view like a subsampled frame."""
    rng = np.random.default_rng(7)
    frames = [rng.integers(0, high, shape, dtype=np.uint8) for high in (2, 9, 256)
              for shape in ((1, 1, 3), (2, 1, 3), (3, 5, 3), (4, 4, 3), (57, 32, 3))]
    frames.append(rng.integers(0, 256, (64, 48, 3), dtype=np.uint8)[::8, ::3])
    for frame in frames:
        expected = np.median(frame.reshape(-1, 3), axis=0).astype(np.uint8)
        assert median_colour(frame).tolist() == expected.tolist(), frame.shape
