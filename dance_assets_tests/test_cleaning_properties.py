"""Properties of the cleaning rules, checked by hypothesis over generated cases."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageEnhance

from dance_assets.core.curation.cleaning import CleaningThresholds, automatic_verdicts
from dance_assets.core.ingest.pose import PoseSettings, estimator
from dance_assets.core.ingest.quality import video_features
from dance_assets.core.synthetic.dancers import participant, pose_at
from dance_assets.core.synthetic.dances import DANCE_CLASSES, key_poses
from dance_assets.core.synthetic.drawing import draw_dancer, render_room

REASONS = {"too dark", "washed out", "flat", "card", "noise", "empty", "blurred",
           "near duplicate"}
LIMITS = CleaningThresholds()

frame_rows = st.fixed_dictionaries({
    "brightness": st.floats(0, 255), "contrast": st.floats(0, 120),
    "sharpness": st.floats(0, 5000), "noise": st.floats(0, 30),
    "subject_score": st.floats(0, 1), "uniform_share": st.floats(0, 1),
    "near_duplicate_of": st.one_of(st.none(), st.integers(0, 5)),
    "person_found": st.one_of(st.none(), st.booleans()),
})


def _frames(rows: list[dict]) -> pd.DataFrame:
    frames = pd.DataFrame(rows).assign(video_id="v")
    frames["person_found"] = frames["person_found"].astype("boolean")
    return frames


@given(st.lists(frame_rows, min_size=1, max_size=12))
def test_every_frame_gets_one_verdict_at_most(rows):
    verdicts = automatic_verdicts(_frames(rows), LIMITS)
    assert len(verdicts) == len(rows)
    assert all(v is None or v in REASONS for v in verdicts)


@given(st.lists(frame_rows, min_size=1, max_size=12), st.data())
def test_a_frame_with_a_person_is_never_empty_or_noise(rows, data):
    seen = data.draw(st.integers(0, len(rows) - 1))
    rows[seen]["person_found"] = True
    verdict = automatic_verdicts(_frames(rows), LIMITS).iloc[seen]
    assert verdict not in ("empty", "noise")


@cache
def _dancing_video() -> tuple[np.ndarray, ...]:
    """Four seconds of a generated dancer in her room, 360×640."""
    dancer, dance = participant(0, 0), key_poses(DANCE_CLASSES[0])
    room = render_room(360, 640, dancer.room, dancer.floor)
    frames = []
    for second in range(4):
        frame = room.copy()
        draw_dancer(frame, dancer, *pose_at(dance, dancer, float(second),
                                            lambda _t: np.zeros(10)))
        frames.append(np.asarray(frame))
    return tuple(frames)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(brightness=st.floats(0.6, 1.4), dx=st.integers(-25, 25), dy=st.integers(-40, 40))
def test_light_and_camera_shake_never_make_a_dancing_second_empty(brightness, dx, dy):
    video = list(_dancing_video())
    shaken = ImageChops.offset(Image.fromarray(video[1]), dx, dy)  # the camera moved
    video[1] = np.asarray(ImageEnhance.Brightness(shaken).enhance(brightness))
    poses = estimator(PoseSettings()).video(video)
    frames = pd.DataFrame([f.__dict__ for f in video_features(video)]).assign(
        video_id="v", person_found=[pose.found for pose in poses])
    frames["person_found"] = frames["person_found"].astype("boolean")
    assert automatic_verdicts(frames, LIMITS).iloc[1] != "empty"


def _exposure_verdict(luma: float) -> str:
    """What a frame of one colour must be called: exposure first, then no contrast."""
    if luma < LIMITS.dark_below:
        return "too dark"
    return "washed out" if luma > LIMITS.bright_above else "flat"


@settings(max_examples=15, deadline=None)
@given(colour=st.tuples(*[st.integers(0, 255)] * 3), at=st.integers(0, 4))
@example(colour=(0, 0, 0), at=0).via("black: too dark")
@example(colour=(255, 255, 255), at=4).via("white: washed out")
@example(colour=(128, 128, 128), at=2).via("grey: flat")
def test_a_constant_frame_is_never_kept(colour, at):
    luma = float(np.dot(colour, [0.299, 0.587, 0.114]))  # BT.601, as the features
    assume(min(abs(luma - LIMITS.dark_below), abs(luma - LIMITS.bright_above)) > 0.01)
    video = list(_dancing_video())
    video.insert(at, np.full_like(video[0], colour, dtype=np.uint8))
    frames = pd.DataFrame([f.__dict__ for f in video_features(video)]).assign(
        video_id="v", person_found=pd.NA)
    frames["person_found"] = frames["person_found"].astype("boolean")
    verdicts = automatic_verdicts(frames, LIMITS)
    assert verdicts.iloc[at] == _exposure_verdict(luma)
    # The dancing seconds around it are kept: the constant frame alone is dropped.
    assert verdicts.drop(index=at).isna().all(), verdicts.tolist()
