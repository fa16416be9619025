"""Configurable resources: where the lake is and how ffmpeg runs on this machine."""

from __future__ import annotations

import os

import dagster as dg
from pydantic import Field

from dance_assets.core.ingest import ProbeLimits
from dance_assets.core.lake import Lake
from dance_assets.core.video import FfmpegSettings, find_ffmpeg


class LakeResource(dg.ConfigurableResource):
    """The lake's root: this setting, else $DANCE_LAKE, else ./data_lake."""

    root: str | None = Field(default=None, description="Lake folder; empty uses $DANCE_LAKE.")

    def lake(self) -> Lake:
        return Lake.resolve(self.root)


class FfmpegResource(dg.ConfigurableResource):
    """How ffmpeg runs: which binary, threads, parallel videos, and protective limits."""

    binary: str | None = Field(
        default=None, description="ffmpeg path; empty uses the one on PATH, else imageio-ffmpeg's."
    )
    threads: int = Field(default=1, description="Threads per ffmpeg process.")
    workers: int = Field(default=0, description="Videos processed at once; 0 means one per core.")
    timeout_s: float = Field(default=300.0, description="Longest one video may take, in seconds.")
    max_duration_s: float = Field(default=3600.0, description="Longer videos are rejected.")
    max_side: int = Field(default=7680, description="Videos with a larger side are rejected.")

    def settings(self) -> FfmpegSettings:
        return FfmpegSettings(find_ffmpeg(self.binary), self.threads, self.timeout_s)

    def limits(self) -> ProbeLimits:
        return ProbeLimits(self.max_duration_s, self.max_side)

    def parallelism(self) -> int:
        return self.workers or os.cpu_count() or 1
