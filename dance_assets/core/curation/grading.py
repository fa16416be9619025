"""Grading the automatic cleaning against the generator's sidecars (ground truth)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from dance_assets.core.lake.lake import Lake

# What the generator's sidecars list as seconds a perfect cleaning drops; a "still"
# second (somebody standing, waiting to dance) must be kept.
BAD_SECONDS = ("empty", "noise", "card")
GOOD_KINDS = ("dancer", "still")


def read_ground_truth(lake: Lake, videos: pd.DataFrame) -> pd.DataFrame:
    """The generator's sidecars as (video_id, second, kind) rows for the videos present."""
    rows = []
    for video in videos[videos["status"] == "ok"].itertuples():
        sidecar = lake.absolute(video.path).with_name(
            Path(video.path).stem + ".truth.json")
        if not sidecar.is_file():
            continue
        truth = json.loads(sidecar.read_text())
        for kind in (*BAD_SECONDS, "still"):
            rows += [(video.video_id, s, kind) for s in truth.get(f"{kind}_seconds", [])]
        rows.append((video.video_id, -1, "covered"))
    return pd.DataFrame(rows, columns=["video_id", "second", "kind"])


@dataclass(kw_only=True, frozen=True)
class CleaningQuality:
    """Automatic cleaning against ground truth, over the frames of videos that have it.

    pose_found_on_dancers: share of the frames that show a dancer (by the sidecars) in
    which the pose step found a person; None when the frames carry no pose.
    """

    frames: int
    truly_bad: int
    dropped: int
    correctly_dropped: int
    precision: float
    recall: float
    pose_found_on_dancers: float | None

    def as_dict(self) -> dict:
        return asdict(self)


def truth_kinds(manifest: pd.DataFrame, truth: pd.DataFrame) -> pd.Series:
    """Per frame of the videos with a sidecar: dancer, still, or a kind of BAD_SECONDS
    (frames of videos without a sidecar are left out)."""
    covered = set(truth.loc[truth["kind"] == "covered", "video_id"])
    scope = manifest[manifest["video_id"].isin(covered)]
    bad = truth[truth["kind"] != "covered"].set_index(["video_id", "second"])["kind"]
    keys = pd.MultiIndex.from_arrays([scope["video_id"], scope["second"]])
    return pd.Series(bad.reindex(keys).fillna("dancer").to_numpy(), index=scope.index,
                     dtype="object")


def cleaning_quality(manifest: pd.DataFrame, truth: pd.DataFrame) -> CleaningQuality | None:
    """Precision and recall of the automatic verdicts for the bad seconds in the sidecars."""
    kinds = truth_kinds(manifest, truth)
    if kinds.empty:
        return None
    scope = manifest.loc[kinds.index]
    is_bad = ~kinds.isin(GOOD_KINDS)
    dropped = scope["auto_reason"].notna()
    hits = int((dropped & is_bad).sum())
    pose_found = None
    if "person_found" in scope and scope["person_found"].notna().any():
        pose_found = float(scope.loc[~is_bad, "person_found"].fillna(False).astype(bool).mean())
    return CleaningQuality(
        frames=len(scope), truly_bad=int(is_bad.sum()), dropped=int(dropped.sum()),
        correctly_dropped=hits,
        precision=hits / int(dropped.sum()) if dropped.any() else 1.0,
        recall=hits / int(is_bad.sum()) if is_bad.any() else 1.0,
        pose_found_on_dancers=pose_found,
    )


def reason_confusion(manifest: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Frames by what the sidecar says they show (rows) and the automatic verdict."""
    kinds = truth_kinds(manifest, truth)
    verdicts = manifest.loc[kinds.index, "auto_reason"].fillna("kept")
    table = pd.crosstab(kinds.rename("truth"), verdicts.rename("verdict"))
    return table.reset_index().rename_axis(columns=None)
