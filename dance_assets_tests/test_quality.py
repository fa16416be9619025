"""Frame quality features on hand-made frames with known answers."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from dance_assets.core.ingest.quality import noise_sigma, video_features


def _room(seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (144, 256), tuple(int(v) for v in rng.integers(80, 200, 3)))
    draw = ImageDraw.Draw(image)
    draw.rectangle([10, 20, 60, 70], fill=(200, 40, 40))
    draw.rectangle([0, 200, 144, 256], fill=(90, 60, 30))
    return image


def _with_person(x: int, arm_up: bool) -> Image.Image:
    image = _room()
    draw = ImageDraw.Draw(image)
    draw.ellipse([x - 8, 80, x + 8, 96], fill=(230, 180, 140))
    draw.rectangle([x - 12, 96, x + 12, 150], fill=(30, 120, 220))
    draw.line([x - 12, 100, x - 30, 70 if arm_up else 140], fill=(30, 120, 220), width=6)
    draw.line([x - 6, 150, x - 10, 200], fill=(40, 40, 40), width=8)
    draw.line([x + 6, 150, x + 10, 200], fill=(40, 40, 40), width=8)
    return image


def _features(images):
    return video_features([np.asarray(i) for i in images])


def test_brightness_and_contrast_of_black_and_white():
    black, white = Image.new("RGB", (64, 64), "black"), Image.new("RGB", (64, 64), "white")
    dark, bright = _features([black, white])
    assert dark.brightness < 1 and bright.brightness > 254
    assert dark.contrast < 1 and bright.contrast < 1


def test_blur_lowers_sharpness():
    sharp = _with_person(72, True)
    blurred = sharp.filter(ImageFilter.GaussianBlur(4))
    a, b = _features([sharp, blurred])
    assert b.sharpness < a.sharpness / 5


def test_noise_frame_has_high_noise_and_subject_score():
    rng = np.random.default_rng(1)
    frames = [_with_person(x, up) for x, up in ((50, True), (72, False), (95, True), (60, False))]
    noise = Image.fromarray(rng.integers(0, 256, (256, 144, 3), dtype=np.uint8))
    features = _features([*frames, noise])
    assert features[-1].noise > 20 > max(f.noise for f in features[:-1])
    assert features[-1].subject_score > 0.6


def test_empty_room_scores_near_zero_even_where_the_dancer_usually_stands():
    # The dancer stands at x=72 in most frames, so a median background would keep them.
    frames = [_with_person(72, up) for up in (True, False, True, False, True)]
    frames += [_with_person(40, False), _room()]
    features = _features(frames)
    empty, dancing = features[-1], features[:-1]
    assert empty.subject_score < 0.01
    assert min(f.subject_score for f in dancing) > 0.03


def test_disco_light_does_not_count_as_subject():
    frames = [_with_person(x, True) for x in (40, 72, 100)] + [_room()]
    tinted = Image.fromarray((np.asarray(_room()) * np.array([1.0, 0.5, 0.8])).astype(np.uint8))
    features = _features([*frames, tinted])
    assert features[-1].subject_score < 0.02


def test_near_duplicates_point_to_the_first_copy():
    a, b = _with_person(50, True), _with_person(90, False)
    features = _features([a, b, a.copy(), _room(), _room()])
    assert [f.near_duplicate_of for f in features] == [None, None, 0, None, 3]


def test_noise_sigma_of_gaussian_noise():
    rng = np.random.default_rng(0)
    flat = np.full((200, 200), 128.0) + rng.normal(0, 10, (200, 200))
    assert 8.5 < noise_sigma(flat) < 11.5
    assert noise_sigma(np.tile(np.linspace(0, 255, 200), (200, 1))) < 0.5
