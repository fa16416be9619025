"""The two split protocols, side by side.

The study dropped empty and noisy frames, partly by hand, then split the remaining
frames at random 80/20. That random split puts frames of the same dancer and video
on both sides, so its accuracy overstates how well a model recognises a dance by
someone new. Both are built here:

- split_random_frames: the study's, 80/20 over kept frames regardless of who or which video;
- split_by_participant: whole participants go to validation (about 20 % of them).

Both are stable under growth: a frame's side depends only on the seed and its frame id
(or its participant), so adding videos never moves an existing frame to the other side,
and rebuilding from scratch gives the same split. One exception is unavoidable for any
rule that depends on the item alone: when the seed puts nobody on one side (a class
with a handful of frames, a lake with few participants), the frame or participant
nearest the threshold is moved across so both sides exist, and may move back once
others arrive and fill that side naturally.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from dance_assets.core.lake.catalogue import BY_PARTICIPANT, RANDOM_FRAMES, VALID_SHARE
from dance_assets.core.lake.errors import DanceAssetsError

TRAIN, VALID = "train", "valid"


def _uniform(keys: pd.Series, seed: int, salt: str) -> np.ndarray:
    """A number in [0, 1) per key that depends only on the key, the seed and the salt."""
    key = hashlib.sha256(f"{salt}:{seed}".encode()).hexdigest()[:16]
    hashed = pd.util.hash_pandas_object(keys.astype(str), index=False, hash_key=key)
    return (hashed.to_numpy(dtype=np.uint64) >> np.uint64(11)).astype(np.float64) / 2.0**53


def _force_both_sides(side: pd.Series, score: pd.Series) -> pd.Series:
    """If one side is empty, move the item(s) nearest the threshold across."""
    if len(side) < 2:
        return side
    side = side.copy()
    if not (side == VALID).any():  # every score is at or above the threshold
        side.loc[score.idxmin()] = VALID
    if not (side == TRAIN).any():  # every score is below it
        side.loc[score.idxmax()] = TRAIN
    return side


def split_random_frames(kept: pd.DataFrame, seed: int,
                        share: float = VALID_SHARE) -> pd.Series:
    """The study's split: each kept frame to validation with probability `share`."""
    score = pd.Series(_uniform(kept["frame_id"], seed, "frames"), index=kept.index)
    side = pd.Series(np.where(score < share, VALID, TRAIN), index=kept.index, dtype="object")
    sides = (side == VALID).groupby(kept["dance_class"]).agg(["any", "all"])
    for dance_class in sides.index[~sides["any"] | sides["all"]]:  # one side empty: rare
        members = kept.index[kept["dance_class"] == dance_class]
        side.loc[members] = _force_both_sides(side.loc[members], score.loc[members])
    return side


def split_by_participant(kept: pd.DataFrame, seed: int,
                         share: float = VALID_SHARE) -> pd.Series:
    """Whole participants to validation, each with probability `share`, at least one."""
    people = pd.Series(sorted(kept["participant"].unique()))
    if len(people) < 2:
        raise DanceAssetsError(
            f"split_by_participant needs at least 2 participants with kept frames; found "
            f"{len(people)} ({', '.join(people) or 'none'}). Add videos of another participant.")
    score = pd.Series(_uniform(people, seed, "people"), index=people.values)
    side = _force_both_sides(
        pd.Series(np.where(score < share, VALID, TRAIN), index=score.index, dtype="object"),
        score)
    return kept["participant"].map(side).astype("object")




SPLITTERS = {RANDOM_FRAMES: split_random_frames, BY_PARTICIPANT: split_by_participant}


def split_column(protocol: str) -> str:
    """frame_manifest's column holding each kept frame's side under `protocol`."""
    return f"split_{protocol}"
