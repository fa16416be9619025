"""Automatic cleaning verdicts: which extracted frames to drop, and why.

Whether a person is there is the pose model's question; the pixels (quality.py's
features) judge exposure, static, cards and blur, and get a veto where the pose model
seems to have missed a dancer. Each video is its own yardstick (docs/cleaning.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(kw_only=True, frozen=True)
class CleaningThresholds:
    """When a frame is dropped automatically (see docs/cleaning.md)."""

    # Nobody found by the pose model, and the pixels agree: the frame differs from the
    # room less than this share of what the video's frames with a person do. Both must
    # hold, so one missed skeleton never drops a dancing second.
    empty_relative: float = 0.7
    # In a video where the pose model found nobody at all there is no such yardstick:
    # there a frame is empty when less than this share of it differs from the room.
    empty_below_without_anyone: float = 0.1
    noise_above: float = 2.0  # noise (Immerkaer's pixel std, 0-255) with nobody found: static
    # Static that a phone's low bitrate has smoothed falls below noise_above, yet with
    # nobody found it is this many times grainier than the video's frames with a person,
    # and further from the room than they are; a missed dancer is about as grainy.
    static_relative: float = 2.0
    dark_below: float = 25.0  # brightness (mean luma)
    bright_above: float = 235.0  # brightness: washed out
    flat_below: float = 6.0  # contrast (luma std): nothing to see
    # Nobody found and most of the frame one flat colour: a title or outro card.
    card_above: float = 0.6  # uniform_share (share of the frame in one luma band)
    blur_ratio: float = 0.15  # sharpness below this share of the video's median: blurred
    drop_near_duplicates: bool = True  # keep only the first frame of a run of look-alikes


def automatic_verdicts(frames: pd.DataFrame, limits: CleaningThresholds) -> pd.Series:
    """The reason each frame should be dropped, or None; the first reason that applies.

    `frames` carries the pose step's `person_found` (null where the frame was not posed:
    then nobody is called missing).
    """
    video_sharpness = frames.groupby("video_id")["sharpness"].transform("median")
    subject = frames["subject_score"]
    person = (frames["person_found"] if "person_found" in frames
              else pd.Series(pd.NA, index=frames.index)).astype("boolean")
    # How much of the frame a person takes, judged on this video's frames with a person:
    # the room estimate and the camera differ from video to video.
    by_video = frames["video_id"]
    with_person = subject.where(person.fillna(False)).groupby(by_video).transform("median")
    noise_with_person = frames["noise"].where(person.fillna(False)).groupby(by_video).transform(
        "median")
    nobody = person.eq(False).fillna(False)  # not posed (null) is not "nobody"
    somebody = person.eq(True).fillna(False)
    yardstick = (limits.empty_relative * with_person).fillna(
        limits.empty_below_without_anyone)
    empty = nobody & (subject < yardstick)
    smoothed_static = ((frames["noise"] > limits.static_relative * noise_with_person)
                       & (subject > with_person))
    rules: list[tuple[str, pd.Series]] = [  # exposure first: a black frame is "too dark"
        ("too dark", frames["brightness"] < limits.dark_below),
        ("washed out", frames["brightness"] > limits.bright_above),
        ("flat", frames["contrast"] < limits.flat_below),
        # Static, snow or heavy grain, unless a person is plainly there (real phone
        # footage in low light is grainy and still shows the dance).
        ("noise", ((frames["noise"] > limits.noise_above) & ~somebody)
         | (smoothed_static & nobody)),
        ("empty", empty),  # before "card": an empty room with a plain wall is empty
        ("card", nobody & (frames["uniform_share"] > limits.card_above)),
        ("blurred", frames["sharpness"] < limits.blur_ratio * video_sharpness),
    ]
    if limits.drop_near_duplicates:
        rules.append(("near duplicate", frames["near_duplicate_of"].notna()))
    verdict = np.full(len(frames), None, dtype=object)
    for reason, applies in reversed(rules):  # earlier rules win
        verdict[applies.fillna(False).to_numpy(dtype=bool)] = reason
    return pd.Series(verdict, index=frames.index, dtype="object")


def with_poses(frames: pd.DataFrame, poses: pd.DataFrame) -> pd.DataFrame:
    """Frames with the pose step's person_found and people (null where not posed)."""
    found = poses.set_index("frame_id")[["person_found", "people"]]
    joined = frames.join(found, on="frame_id")
    joined["person_found"] = joined["person_found"].astype("boolean")
    return joined
