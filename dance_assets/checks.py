"""Asset checks: the specs that assets declare, and how each verdict is reached.

Checks are emitted by the assets themselves (they already hold the data), which lets
blocking checks stop downstream steps within the same run.
"""

from __future__ import annotations

import dagster as dg
import pandas as pd

from dance_assets.core.curation.splits import split_column
from dance_assets.core.lake.catalogue import BY_PARTICIPANT, PROTOCOLS
from dance_assets.core.lake.reports import markdown_table
from dance_assets.core.learning.learners import TrainResult, significantly_above_chance

VIDEOS_READABLE = "check_videos_readable"
FRAMES_PER_VIDEO = "check_frames_per_video"
CLASSES_ON_BOTH_SIDES = "check_classes_on_both_sides"
NO_PARTICIPANT_LEAK = "check_no_participant_leak"
DROPPED_SHARE = "check_dropped_share"
ACCURACY_ABOVE_CHANCE = "check_accuracy_above_chance"


def videos_readable(videos: pd.DataFrame) -> dg.AssetCheckResult:
    """Warn, listing them, when any file of the class was rejected or duplicated."""
    bad = videos[videos["status"] != "ok"][["path", "status", "reason"]]
    return dg.AssetCheckResult(
        check_name=VIDEOS_READABLE,
        passed=bad.empty,
        severity=dg.AssetCheckSeverity.WARN,
        description=None if bad.empty else f"{len(bad)} of {len(videos)} files not usable",
        metadata={
            "not_usable": len(bad),
            "files": dg.MetadataValue.md(markdown_table(bad)),
        },
    )


def frames_per_video(extractions: pd.DataFrame) -> dg.AssetCheckResult:
    """Each video yields floor(duration / interval) frames, give or take one."""
    done = extractions[extractions["status"] == "extracted"]
    off = done[(done["n_frames"] - done["expected_frames"]).abs() > 1]
    failed = extractions[extractions["status"] == "failed"]
    problems = pd.concat([
        off.assign(problem="frame count off")[["path", "n_frames", "expected_frames", "problem"]],
        failed.assign(problem=failed["reason"])[["path", "n_frames", "expected_frames",
                                                 "problem"]],
    ])
    return dg.AssetCheckResult(
        check_name=FRAMES_PER_VIDEO,
        passed=problems.empty,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "videos_checked": len(extractions),
            "problems": dg.MetadataValue.md(markdown_table(problems)),
        },
    )


RAW_VIDEOS_CHECKS = [
    dg.AssetCheckSpec(VIDEOS_READABLE, asset="raw_videos",
                      description="Every file of the class is a usable, unique video. When it "
                      "fails, not_usable in the metadata names each file and why; the "
                      "other videos went through. Fix or remove those files in raw/."),
]
VIDEO_FRAMES_CHECKS = [
    dg.AssetCheckSpec(FRAMES_PER_VIDEO, asset="video_frames",
                      description="floor(duration / interval) frames per video, within one. A "
                      "shortfall means a damaged or cut-short video: failed_videos in "
                      "the metadata names it; re-encode or replace it."),
]


def classes_on_both_sides(manifest: pd.DataFrame) -> dg.AssetCheckResult:
    """Every class needs kept frames in train and validation under both protocols."""
    kept = manifest[manifest["keep"]]
    classes = sorted(manifest["dance_class"].unique())
    gaps = []
    for protocol in PROTOCOLS:
        sides = kept.groupby("dance_class")[split_column(protocol)].agg(set)
        for dance_class in classes:
            missing = {"train", "valid"} - sides.get(dance_class, set())
            gaps += [(protocol, dance_class, side) for side in sorted(missing)]
    problems = pd.DataFrame(gaps, columns=["protocol", "dance_class", "missing_side"])
    return dg.AssetCheckResult(
        check_name=CLASSES_ON_BOTH_SIDES,
        passed=problems.empty,
        severity=dg.AssetCheckSeverity.ERROR,
        description=None if problems.empty else "; ".join(
            f"{r.dance_class} has no {r.missing_side} frames under {r.protocol}"
            for r in problems.itertuples()),
        metadata={"classes": len(classes), "gaps": dg.MetadataValue.md(markdown_table(problems))},
    )


def no_participant_leak(manifest: pd.DataFrame) -> dg.AssetCheckResult:
    """Under split_by_participant nobody may dance on both sides."""
    kept = manifest[manifest["keep"]]
    sides = kept.groupby("participant")[split_column(BY_PARTICIPANT)].nunique()
    leaking = sorted(sides[sides > 1].index)
    return dg.AssetCheckResult(
        check_name=NO_PARTICIPANT_LEAK,
        passed=not leaking,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"on both sides: {', '.join(leaking)}" if leaking else None,
        metadata={"participants": len(sides), "leaking": len(leaking)},
    )


def dropped_share(manifest: pd.DataFrame, limit: float) -> dg.AssetCheckResult:
    """Warn, naming them, about classes that lost more than `limit` of their frames."""
    share = (~manifest["keep"]).groupby(manifest["dance_class"]).mean()
    over = share[share > limit].sort_values(ascending=False)
    return dg.AssetCheckResult(
        check_name=DROPPED_SHARE,
        passed=over.empty,
        severity=dg.AssetCheckSeverity.WARN,
        description=None if over.empty else "dropped more than {:.0%}: {}".format(
            limit, ", ".join(f"{c} ({v:.0%})" for c, v in over.items())),
        metadata={"limit": limit, "highest": float(share.max()) if len(share) else 0.0},
    )


FRAME_MANIFEST_CHECKS = [
    dg.AssetCheckSpec(CLASSES_ON_BOTH_SIDES, asset="frame_manifest", blocking=True,
                      description="Every class has kept train and validation frames under "
                      "both protocols. When it fails, add videos of more participants to "
                      "the classes it names (or relax the cleaning in CurationConfig)."),
    dg.AssetCheckSpec(NO_PARTICIPANT_LEAK, asset="frame_manifest", blocking=True,
                      description="No participant on both sides of "
                      f"{split_column(BY_PARTICIPANT)}. When "
                      "it fails, it names them: check that their files are named "
                      "<participant>[__<take>] the same way in every class."),
    dg.AssetCheckSpec(DROPPED_SHARE, asset="frame_manifest",
                      description="No class loses more than the configured share of frames. "
                      "When it fails, look at dropped_frames in the metadata: poor "
                      "footage, or a CurationConfig threshold too strict for it."),
]


def accuracy_check_spec(model_key: dg.AssetKey) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        ACCURACY_ABOVE_CHANCE, asset=model_key, blocking=True,
        description="Video-level validation accuracy beats guessing (one-sided binomial "
        "test over videos: a video's frames are not independent, so many frames of a few "
        "videos prove little). Evaluation never runs on a model that fails it; retrain "
        "with more epochs or data, or, for smoke runs, raise TrainConfig.significance (it "
        "passes when p <= significance: 1 lets every model through).")


def accuracy_above_chance(model_key: dg.AssetKey, result: TrainResult,
                          alpha: float) -> dg.AssetCheckResult:
    """Blocking: videos classified right must be significantly more than guessing gives."""
    passed, p_value = significantly_above_chance(result.video_correct, result.n_valid_videos,
                                                 len(result.classes), alpha)
    chance = 1 / len(result.classes)
    return dg.AssetCheckResult(
        asset_key=model_key,
        check_name=ACCURACY_ABOVE_CHANCE,
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"{result.video_correct} of {result.n_valid_videos} validation videos "
        f"right ({result.video_accuracy:.1%}) vs chance {chance:.1%}: p = {p_value:.2g} "
        f"(needs <= {alpha:g}); frame accuracy {result.accuracy:.1%}",
        metadata={"video_accuracy": result.video_accuracy, "accuracy": result.accuracy,
                  "chance": chance, "p_value": p_value, "valid_videos": result.n_valid_videos,
                  "valid_frames": result.n_valid},
    )
