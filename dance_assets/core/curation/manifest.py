"""frame_manifest: every extracted frame with its verdict, the human decision, `keep`
and its side under each split protocol; and the hashes that say when it changed."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dance_assets.core.curation.cleaning import CleaningThresholds, automatic_verdicts
from dance_assets.core.curation.splits import SPLITTERS, TRAIN, VALID, split_column
from dance_assets.core.lake.catalogue import PROTOCOLS, VALID_SHARE
from dance_assets.core.lake.lake import Lake, atomic_write_text

# Beside the frame_manifest table: the cleaning thresholds that built it.
CLEANING_RECORD = "frame_manifest.cleaning.json"


@dataclass(frozen=True)
class ManifestSettings:
    thresholds: CleaningThresholds
    seed: int = 0
    valid_share: float = VALID_SHARE


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
    for protocol in PROTOCOLS:
        manifest[split_column(protocol)] = None
        if not kept.empty:
            manifest.loc[kept.index, split_column(protocol)] = SPLITTERS[protocol](
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
    for protocol in PROTOCOLS:
        counts = pd.crosstab(manifest["dance_class"], manifest[split_column(protocol)])
        for side in (TRAIN, VALID):
            table[f"{protocol}_{side}"] = counts.get(side, 0)
    return table.fillna(0).astype(int).reset_index()


def verdicts_sha256(manifest: pd.DataFrame) -> str:
    """A hash of the automatic verdicts, which the cleaning thresholds decide.

    It ties the record of the thresholds to the manifest they built: the two are separate
    files, and a crash between their writes must not pass one build's thresholds off as
    another's.
    """
    canonical = manifest[["frame_id", "auto_reason"]].sort_values("frame_id").to_csv(
        index=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def record_thresholds(lake: Lake, manifest: pd.DataFrame,
                      thresholds: CleaningThresholds) -> Path:
    """Write the thresholds that built `manifest` beside its table, atomically.

    The models trained on the manifest copy them onto their cards, so that `score` cleans
    a dancer's video as their training frames were cleaned. A JSON file rather than
    Parquet metadata: tables.write_table keeps the schema's, and a person can read it.
    """
    record = {"verdicts_sha256": verdicts_sha256(manifest), "thresholds": asdict(thresholds)}
    return atomic_write_text(lake.tables / CLEANING_RECORD, json.dumps(record, indent=2))


def recorded_thresholds(lake: Lake, manifest: pd.DataFrame) -> dict | None:
    """The cleaning thresholds that built `manifest`, field by field, as recorded.

    None when there is no record of them: a lake curated before they were recorded, an
    unreadable record, or one written for another build of the manifest.
    """
    try:
        record = json.loads((lake.tables / CLEANING_RECORD).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if not isinstance(record, dict) or record.get("verdicts_sha256") != verdicts_sha256(manifest):
        return None
    return record.get("thresholds")
