"""Asset checks: the specs that assets declare, and how each verdict is reached.

Checks are emitted by the assets themselves (they already hold the data), which lets
blocking checks stop downstream steps within the same run.
"""

from __future__ import annotations

import dagster as dg
import pandas as pd

from dance_assets.core.reports import markdown_table

VIDEOS_READABLE = "check_videos_readable"
FRAMES_PER_VIDEO = "check_frames_per_video"


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
                      description="Every file of the class is a usable, unique video."),
]
VIDEO_FRAMES_CHECKS = [
    dg.AssetCheckSpec(FRAMES_PER_VIDEO, asset="video_frames",
                      description="floor(duration / interval) frames per video, within one."),
]
