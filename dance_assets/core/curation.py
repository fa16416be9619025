"""The cleaned-frame manifest: automatic verdicts, human decisions, two split protocols.

The study dropped empty and noisy frames, partly by hand, then split the remaining
frames at random 80/20. That random split puts frames of the same dancer and video
on both sides, so its accuracy overstates how well a model recognises a dance by
someone new. Both protocols are built here, side by side:

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

import contextlib
import csv
import fcntl
import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dance_assets.core.errors import DanceAssetsError
from dance_assets.core.lake import Lake, atomic_write_text

TRAIN, VALID = "train", "valid"
DECISIONS = ("include", "exclude")
DECISION_COLUMNS = ("frame_id", "decision", "note")


@dataclass(frozen=True)
class CleaningThresholds:
    """When a frame is dropped automatically (see README: "Cleaning")."""

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


def read_decisions(path: Path) -> pd.DataFrame:
    """review/decisions.csv (frame_id, decision, note); the last line for a frame wins."""
    if not path.exists():
        return pd.DataFrame(columns=list(DECISION_COLUMNS))
    rows = []
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"frame_id", "decision"} <= set(reader.fieldnames):
            raise DanceAssetsError(f"{path}: expected a header with frame_id,decision,note")
        for line, row in enumerate(reader, start=2):
            decision = (row.get("decision") or "").strip().lower()
            if decision not in DECISIONS:
                raise DanceAssetsError(
                    f"{path}:{line}: decision must be include or exclude, got {decision!r}")
            rows.append({"frame_id": row["frame_id"].strip(), "decision": decision,
                         "note": (row.get("note") or "").strip()})
    decisions = pd.DataFrame(rows, columns=list(DECISION_COLUMNS))
    return decisions.drop_duplicates("frame_id", keep="last").reset_index(drop=True)


def write_decisions(path: Path, decisions: pd.DataFrame) -> None:
    buffer = io.StringIO()
    decisions[list(DECISION_COLUMNS)].sort_values("frame_id").to_csv(buffer, index=False)
    atomic_write_text(path, buffer.getvalue())


def unknown_frames(frame_ids: Iterable[str], known: pd.Series) -> list[str]:
    return sorted(set(frame_ids) - set(known))


def record_decisions(lake: Lake, frame_ids: list[str], decision: str, note: str,
                     known: pd.Series) -> pd.DataFrame:
    """Add or replace human decisions; an unknown frame id is an error that names it."""
    if decision not in DECISIONS:
        raise DanceAssetsError(f"decision must be include or exclude, got {decision!r}")
    missing = unknown_frames(frame_ids, known)
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5
                                          else "")
        raise DanceAssetsError(f"unknown frame id(s): {shown} (see the frames view)")
    path = decisions_path(lake)
    with _exclusive(path.with_name(".decisions.lock")):  # concurrent `review` commands
        current = read_decisions(path)
        new = pd.DataFrame({"frame_id": frame_ids, "decision": decision, "note": note})
        merged = pd.concat([current[~current["frame_id"].isin(frame_ids)], new],
                           ignore_index=True)
        write_decisions(path, merged)
    return merged


@contextlib.contextmanager
def _exclusive(lock_file: Path) -> Iterator[None]:
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def decisions_path(lake: Lake) -> Path:
    return lake.review / "decisions.csv"


def _uniform(keys: pd.Series, seed: int, salt: str) -> np.ndarray:
    """A number in [0, 1) per key that depends only on the key, the seed and the salt."""
    key = hashlib.sha256(f"{salt}:{seed}".encode()).hexdigest()[:16]
    hashed = pd.util.hash_pandas_object(keys.astype(str), index=False, hash_key=key)
    return (hashed.to_numpy(dtype=np.uint64) >> np.uint64(11)).astype(np.float64) / 2.0**53


def _force_both_sides(side: pd.Series, score: pd.Series, share: float) -> pd.Series:
    """If one side is empty, move the item(s) nearest the threshold across."""
    if len(side) < 2:
        return side
    side = side.copy()
    if not (side == VALID).any():  # every score is at or above the threshold
        side.loc[score.idxmin()] = VALID
    if not (side == TRAIN).any():  # every score is below it
        side.loc[score.idxmax()] = TRAIN
    return side


def split_random_frames(kept: pd.DataFrame, seed: int, share: float = 0.2) -> pd.Series:
    """The study's split: each kept frame to validation with probability `share`."""
    score = pd.Series(_uniform(kept["frame_id"], seed, "frames"), index=kept.index)
    side = pd.Series(np.where(score < share, VALID, TRAIN), index=kept.index, dtype="object")
    sides = (side == VALID).groupby(kept["dance_class"]).agg(["any", "all"])
    for dance_class in sides.index[~sides["any"] | sides["all"]]:  # one side empty: rare
        members = kept.index[kept["dance_class"] == dance_class]
        side.loc[members] = _force_both_sides(side.loc[members], score.loc[members], share)
    return side


def split_by_participant(kept: pd.DataFrame, seed: int, share: float = 0.2) -> pd.Series:
    """Whole participants to validation, each with probability `share`, at least one."""
    people = pd.Series(sorted(kept["participant"].unique()))
    if len(people) < 2:
        raise DanceAssetsError(
            f"split_by_participant needs at least 2 participants with kept frames; found "
            f"{len(people)} ({', '.join(people) or 'none'}). Add videos of another participant.")
    score = pd.Series(_uniform(people, seed, "people"), index=people.values)
    side = _force_both_sides(
        pd.Series(np.where(score < share, VALID, TRAIN), index=score.index, dtype="object"),
        score, share)
    return kept["participant"].map(side).astype("object")


@dataclass(frozen=True)
class ManifestSettings:
    thresholds: CleaningThresholds
    seed: int = 0
    valid_share: float = 0.2


def build_manifest(frames: pd.DataFrame, decisions: pd.DataFrame,
                   settings: ManifestSettings) -> pd.DataFrame:
    """One row per extracted frame: keep, why not, and its side under each protocol.

    Linear in the number of frames: 5 million build in seconds (benchmarks/scale.py).
    """
    frames = frames.reset_index(drop=True)
    manifest = frames[["frame_id", "path", "dance_class", "participant", "video_id",
                       "second"]].copy()
    manifest["auto_reason"] = automatic_verdicts(frames, settings.thresholds).values
    manifest["decision"] = pd.Series(None, index=manifest.index, dtype="object")
    manifest["note"] = pd.Series(None, index=manifest.index, dtype="object")
    decided = manifest["frame_id"].isin(decisions["frame_id"])  # few rows: map only those
    if decided.any():
        by_frame = decisions.set_index("frame_id")
        for column in ("decision", "note"):
            manifest.loc[decided, column] = manifest.loc[decided, "frame_id"].map(
                by_frame[column]).to_numpy()
    excluded = manifest["decision"] == "exclude"
    included = manifest["decision"] == "include"
    manifest["keep"] = (manifest["auto_reason"].isna() | included) & ~excluded
    reviewer = "excluded by reviewer" + manifest["note"].fillna("").map(
        lambda note: f": {note}" if note else "")
    manifest["reason"] = pd.Series(
        np.where(excluded, reviewer, np.where(manifest["keep"], None, manifest["auto_reason"])),
        index=manifest.index, dtype="object")
    kept = manifest[manifest["keep"]]
    manifest["split_random_frames"] = None
    manifest["split_by_participant"] = None
    if not kept.empty:
        manifest.loc[kept.index, "split_random_frames"] = split_random_frames(
            kept, settings.seed, settings.valid_share)
        manifest.loc[kept.index, "split_by_participant"] = split_by_participant(
            kept, settings.seed, settings.valid_share)
    return manifest  # in the frames table's order: class, video, second


def manifest_fingerprint(manifest: pd.DataFrame, protocol_column: str) -> str:
    """A hash of exactly what a model trains on: kept frames, labels and their sides."""
    kept = manifest.loc[manifest["keep"], ["frame_id", "dance_class", protocol_column]]
    canonical = kept.sort_values("frame_id").to_csv(index=False, header=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def manifest_version(manifest: pd.DataFrame, pose_params: list[str]) -> str:
    """frame_manifest's data version: a hash of its content and of how its frames were posed.

    A rebuild that changes nothing (new ingest runs over the same videos, a repeated
    curation) keeps the version, so nothing downstream retrains on unchanged data.
    """
    columns = [c for c in manifest.columns if c != "note"]  # a note changes no frame
    canonical = manifest[columns].sort_values("frame_id").to_csv(index=False)
    return hashlib.sha256("\n".join([canonical, *sorted(pose_params)]).encode()).hexdigest()[:24]


def class_table(manifest: pd.DataFrame) -> pd.DataFrame:
    """The study's Table 1 and more: kept frames per class, drops by reason, split sizes."""
    table = manifest.groupby("dance_class").agg(
        frames=("frame_id", "size"), kept=("keep", "sum"))
    dropped = manifest[~manifest["keep"]].assign(
        why=lambda d: d["reason"].str.replace(r":.*", "", regex=True))
    if not dropped.empty:
        table = table.join(pd.crosstab(dropped["dance_class"], dropped["why"]))
    for protocol in ("split_random_frames", "split_by_participant"):
        counts = pd.crosstab(manifest["dance_class"], manifest[protocol])
        for side in (TRAIN, VALID):
            short = protocol.removeprefix("split_")
            table[f"{short}_{side}"] = counts.get(side, 0)
    return table.fillna(0).astype(int).reset_index()


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


@dataclass(frozen=True)
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
