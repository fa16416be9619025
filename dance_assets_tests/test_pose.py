"""Poses: MediaPipe's offline model on generated dancers, rooms, static and awkward videos."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from dance_assets.core.curation.cleaning import CleaningThresholds, automatic_verdicts
from dance_assets.core.ingest.frames import PreviousClass, extract_class
from dance_assets.core.ingest.ingest import ProbeLimits, scan_class
from dance_assets.core.ingest.pose import PoseEstimator, PoseSettings
from dance_assets.core.ingest.quality import video_features
from dance_assets.core.ingest.video import ExtractionParams
from dance_assets.core.lake import tables
from dance_assets.core.lake.lake import Lake
from dance_assets.core.synthetic.dancers import participant, pose_at
from dance_assets.core.synthetic.dances import JOINTS, key_poses
from dance_assets.core.synthetic.drawing import draw_dancer, render_room
from dance_assets.core.synthetic.specs import VideoSpec
from dance_assets.core.synthetic.writing import generate

SIZE = (256, 456)  # what extraction makes of a 9:16 phone video


@pytest.fixture(scope="module")
def poser() -> PoseEstimator:
    estimator = PoseEstimator(PoseSettings())
    yield estimator
    estimator.close()


def _scene(index: int, t: float, dance: str = "renegade", with_dancer: bool = True):
    """A generated participant's room at time t, with and without them dancing."""
    dancer = participant(0, index)
    room = render_room(*SIZE, dancer.room, dancer.floor)
    frame = room.copy()
    if with_dancer:
        angles, crouch, travel = pose_at(key_poses(dance), dancer, t,
                                         lambda _t: np.zeros(len(JOINTS)))
        draw_dancer(frame, dancer, angles, crouch, travel)
    return np.asarray(room), np.asarray(frame)


@pytest.mark.parametrize(("index", "t"), [(0, 0.0), (1, 1.5), (2, 3.0), (3, 4.5), (4, 6.0)])
def test_a_generated_dancer_is_found_and_the_box_holds_the_figure(poser, index, t):
    room, frame = _scene(index, t)
    pose = poser(frame)
    assert pose.found and pose.people == 1
    assert pose.dancer.x.shape == pose.dancer.y.shape == (33,)
    figure = np.abs(frame.astype(int) - room.astype(int)).max(axis=2) > 20
    rows, cols = np.nonzero(figure)
    height, width = figure.shape
    x0, y0, x1, y1 = pose.dancer.box
    inside = ((cols >= x0 * width - 1) & (cols <= x1 * width + 1)
              & (rows >= y0 * height - 1) & (rows <= y1 * height + 1))
    assert inside.mean() > 0.97  # the drawn person is in the box (a shadow may stick out)
    figure_height = (rows.max() - rows.min()) / height
    assert (y1 - y0) < 1.5 * figure_height  # and the box is not the whole frame


def test_nobody_in_an_empty_room_or_in_static(poser):
    rng = np.random.default_rng(0)
    for index in range(4):
        room, _ = _scene(index, 0.0, with_dancer=False)
        assert not poser(room).found
    static = rng.integers(0, 256, (SIZE[1] // 4, SIZE[0] // 4, 3), np.uint8)
    static = np.asarray(Image.fromarray(static).resize(SIZE, Image.Resampling.NEAREST))
    fine_static = rng.integers(0, 256, (SIZE[1], SIZE[0], 3), np.uint8)
    assert not poser(static).found and not poser(fine_static).found
    assert poser(np.zeros((SIZE[1], SIZE[0], 3), np.uint8)).people == 0


def test_two_dancers_are_counted_and_the_central_one_is_the_dancer(poser):
    _, left = _scene(0, 0.0)
    _, right = _scene(1, 1.0)
    # Two people side by side, the right one at the centre of a wider frame.
    frame = np.concatenate([left[:, 32:224], right, left[:, 0:0]], axis=1)
    pose = poser(frame)
    assert pose.people == 2
    centre_x = (pose.dancer.box[0] + pose.dancer.box[2]) / 2
    assert centre_x > 0.5


def test_a_person_standing_still_is_not_empty(poser):
    # A person who stands still for the whole video is part of the room estimated from
    # its frames, so the pixels alone call her absent; the pose model sees her.
    _, still = _scene(2, 0.0)
    frames = [still.copy() for _ in range(6)]
    for i, frame in enumerate(frames):  # a little camera noise, as any real video has
        noise = np.random.default_rng(i).integers(-2, 3, frame.shape)
        frames[i] = np.clip(frame.astype(int) + noise, 0, 255).astype(np.uint8)
    features = video_features(frames)
    table = pd.DataFrame([{**f.__dict__, "video_id": "v", "person_found": poser(frame).found}
                          for f, frame in zip(features, frames, strict=True)])
    assert table["person_found"].all()
    verdicts = automatic_verdicts(table, CleaningThresholds())
    assert "empty" not in set(verdicts)
    assert verdicts.iloc[0] is None  # the first of the look-alike frames is kept


def _ingest(lake: Lake, dance_class: str, settings, pose_settings: PoseSettings):
    videos = scan_class(lake, dance_class, settings, ProbeLimits(), tables.empty_frame("videos"),
                        tables.empty_frame("videos"), 1)
    previous = PreviousClass(*(tables.read_table(lake, name, dance_class=dance_class)
                               for name in ("frames", "extractions", "poses")))
    result = extract_class(lake, dance_class, videos, previous, ExtractionParams(), settings,
                           pose_settings, workers=2)
    for name in ("frames", "poses", "extractions"):
        tables.write_table(lake, name, getattr(result, name), dance_class=dance_class)
    return result


def test_a_video_where_nobody_appears(tmp_path, ffmpeg_binary, ffmpeg_settings):
    lake = Lake.resolve(tmp_path / "lake")
    spec = VideoSpec(dance="savage", participant=participant(0, 0), seconds=4, width=180,
                     height=320, empty_seconds=(0, 1, 2, 3))
    generate(lake.raw, [spec], ffmpeg_binary)
    result = _ingest(lake, "savage", ffmpeg_settings, PoseSettings())
    assert len(result.poses) == 4 and not result.poses["person_found"].any()
    assert result.poses["x"].isna().all() and (result.poses["people"] == 0).all()
    frames = result.frames.join(result.poses.set_index("frame_id")[["person_found"]],
                                on="frame_id")
    assert automatic_verdicts(frames, CleaningThresholds()).tolist() == ["empty"] * 4


def test_new_pose_settings_pose_again_without_extracting_again(tmp_path, tiny_raw,
                                                              ffmpeg_settings):
    lake = Lake.resolve(tmp_path / "lake")
    shutil.copytree(tiny_raw / "savage", lake.raw / "savage")
    first = _ingest(lake, "savage", ffmpeg_settings, PoseSettings())
    assert len(first.extracted) == 3 and first.reposed == []
    assert len(first.poses) == len(first.frames) == 12
    assert first.poses["person_found"].mean() > 0.7
    jpegs = {p: p.stat().st_mtime_ns for p in lake.frames.rglob("*.jpg")}

    unchanged = _ingest(lake, "savage", ffmpeg_settings, PoseSettings())
    assert unchanged.extracted == [] and unchanged.reposed == []
    pd.testing.assert_frame_equal(unchanged.poses, first.poses)

    changed = _ingest(lake, "savage", ffmpeg_settings, PoseSettings(max_people=1))
    assert changed.extracted == [] and sorted(changed.reposed) == sorted(first.reused
                                                                          + first.extracted)
    assert {p: p.stat().st_mtime_ns for p in lake.frames.rglob("*.jpg")} == jpegs
    assert (changed.poses["people"] <= 1).all()
    assert set(changed.extractions["pose_params"]) == {PoseSettings(max_people=1).fingerprint()}
    assert (changed.poses["frame_id"] == first.poses["frame_id"]).all()


def test_in_a_group_the_dancer_in_front_is_the_one_picked(poser):
    """The generator's groups: friends a step behind on either side; the crop and the
    pose model must follow the dancer (largest, in front), wherever she travels."""
    from dance_assets.core.synthetic.dancers import dancing_friends
    from dance_assets.core.synthetic.plans import plan_videos
    from dance_assets.core.synthetic.rendering import render_frames

    solo = plan_videos(["savage"], 1, 3, SIZE, seed=0)[0]
    dancer = solo.participant
    width, height = SIZE
    group = VideoSpec(dance="savage", participant=dancer, seconds=3, width=width, height=height,
                      others=dancing_friends(np.random.default_rng(4), dancer, count=2))
    alone = VideoSpec(dance="savage", participant=dancer, seconds=3, width=width, height=height)
    room = np.asarray(render_room(*SIZE, dancer.room, dancer.floor), dtype=np.int16)
    for index, (crowd, by_herself) in enumerate(zip(render_frames(group), render_frames(alone),
                                                     strict=True)):
        if index % 15:
            continue
        figure = np.abs(np.asarray(by_herself, dtype=np.int16) - room).max(axis=2) > 20
        columns = np.nonzero(figure)[1] / SIZE[0]
        left, right = columns.min(), columns.max()  # where she is, across the frame
        pose = poser(np.asarray(crowd))
        assert pose.found
        x0, _, x1, _ = pose.dancer.box
        overlap = (min(x1, right) - max(x0, left)) / (max(x1, right) - min(x0, left))
        assert overlap > 0.6, (index, (x0, x1), (left, right))


def test_the_silhouette_keeps_the_dancer_and_paints_the_room_grey(poser):
    from dance_assets.core.learning.frame_images import BACKGROUND, Dancer, prepare

    room, frame = _scene(2, 3.0)
    pose = poser(frame)
    dancer = Dancer(pose.dancer.box, tuple(pose.dancer.x), tuple(pose.dancer.y))
    shown = prepare(Image.fromarray(frame), 96, "silhouette", dancer)
    crop = prepare(Image.fromarray(frame), 96, "dancer", dancer)
    empty = prepare(Image.fromarray(room), 96, "dancer", dancer)  # the same square, no one
    grey = (shown == np.array(BACKGROUND, dtype=np.uint8)).all(axis=2)
    room_here = (np.abs(crop.astype(int) - empty.astype(int)).max(axis=2) < 10) & (
        empty.sum(axis=2) > 0)  # inside the frame, and no dancer there
    assert grey[room_here].mean() > 0.7  # most of the room is gone; a halo around her stays
    body = ~room_here & (empty.sum(axis=2) > 0)
    assert (shown[body] == crop[body]).all(axis=1).mean() > 0.9  # the dancer is untouched
    # Without a pose the frame is shown whole, as for the dancer crop.
    assert (prepare(Image.fromarray(frame), 96, "silhouette", None)
            == prepare(Image.fromarray(frame), 96, "frame", None)).all()


def test_a_graph_starting_drops_only_mediapipes_start_up_lines(capfd):
    """While a graph starts, file descriptor 2 is a filtering pipe, not /dev/null: what
    another thread writes meanwhile still arrives; MediaPipe's start-up lines do not."""
    import os
    import threading

    from dance_assets.core.ingest.pose import native_start_up_quiet

    others = threading.Event()

    def another_thread() -> None:
        os.write(2, b"another thread's line\n")
        others.set()

    with native_start_up_quiet():
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
        os.write(2, b"W0000 00:00:1796441084.110704   20220 inference_feedback_manager.cc:114] "
                    b"Feedback manager requires a model with a single signature inference. "
                    b"Disabling support for feedback tensors.\n")
        threading.Thread(target=another_thread).start()
        assert others.wait(5)
        os.write(2, b"a line of its own\nand one unfinished")
    assert capfd.readouterr().err == (
        "another thread's line\na line of its own\nand one unfinished")


def test_an_estimator_starting_up_prints_nothing(capfd):
    PoseEstimator(PoseSettings()).close()
    assert capfd.readouterr().err == ""


def test_posing_warns_of_no_protobuf_deprecation_once_an_estimator_started():
    """MediaPipe calls protobuf's deprecated GetPrototype on each frame with someone in
    it; the estimator ignores that one warning when it starts (not when imported)."""
    import warnings

    _, frame = _scene(0, 0.5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimator = PoseEstimator(PoseSettings())
        try:
            assert estimator(frame).found
        finally:
            estimator.close()
    assert not [w for w in caught if "GetPrototype" in str(w.message)]
