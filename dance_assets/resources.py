"""Configurable resources: the lake, ffmpeg, and the torch compute a run trains on."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
from pydantic import Field

from dance_assets.core.ingest.ingest import ProbeLimits
from dance_assets.core.ingest.video import FfmpegSettings, find_ffmpeg
from dance_assets.core.lake.catalogue import FFMPEG_TIMEOUT_S
from dance_assets.core.lake.lake import Lake
from dance_assets.core.learning.compute import ComputeSettings


class LakeResource(dg.ConfigurableResource):
    """The lake's root: this setting, else $DANCE_LAKE, else ./data_lake."""

    root: str | None = Field(default=None, description="Lake folder; empty uses $DANCE_LAKE.")
    min_free_gb: float = Field(default=1.0, ge=0, description="Frame extraction refuses to "
                               "start if it would leave less free disk than this.")

    def lake(self) -> Lake:
        return Lake.resolve(self.root)

    def reserve_bytes(self) -> int:
        return int(self.min_free_gb * 1e9)


class FfmpegResource(dg.ConfigurableResource):
    """How ffmpeg runs: which binary, threads, parallel videos, and protective limits."""

    binary: str | None = Field(
        default=None, description="ffmpeg path; empty uses the one on PATH, else imageio-ffmpeg's."
    )
    threads: int = Field(default=1, description="Threads per ffmpeg process.")
    workers: int = Field(default=0, description="Videos processed at once; 0 means one per core.")
    timeout_s: float = Field(default=FFMPEG_TIMEOUT_S,
                             description="Longest one video may take, in seconds.")
    max_duration_s: float = Field(default=3600.0, description="Longer videos are rejected.")
    max_side: int = Field(default=7680, description="Videos with a larger side are rejected.")
    videos_per_step: int = Field(
        default=0, ge=0, description="Videos one frame-extraction step takes; a class with "
        "more is split over several steps (on Kubernetes, pods). 0: a class in one step, "
        "right on one machine, where a step already keeps every core busy.")

    def settings(self) -> FfmpegSettings:
        return FfmpegSettings(find_ffmpeg(self.binary), self.threads, self.timeout_s)

    def limits(self) -> ProbeLimits:
        return ProbeLimits(self.max_duration_s, self.max_side)

    def parallelism(self) -> int:
        return self.workers or os.cpu_count() or 1


@dg.io_manager(required_resource_keys={"lake"})
def step_outputs_io_manager(init_context: dg.InitResourceContext) -> dg.IOManager:
    """Values passed between the steps of one asset (video_frames' batches), pickled under
    the lake's cache/steps/<run id>/: on a cluster every step pod mounts the lake, while
    Dagster's default keeps them on the local disk of the pod that made them."""
    base = init_context.resources.lake.lake().step_outputs
    return dg.FilesystemIOManager(base_dir=str(base)).create_io_manager(init_context)


class TorchComputeResource(dg.ConfigurableResource):
    """Where training runs; set per run (e.g. device: cuda on a GPU node).

    Nothing here touches torch until a step asks for settings, so loading the code
    location never initialises CUDA.
    """

    device: str = Field(default="auto", description="auto (cuda if present), cpu or cuda.")
    num_workers: int = Field(default=0, description="DataLoader worker processes.")
    fast_path: bool = Field(
        default=True, description="channels_last and bfloat16 autocast on CPUs with native "
        "bf16 (AVX512-BF16/AMX); mixed precision on CUDA. Off: plain float32.")
    threads: int = Field(default=0, description="torch threads on CPU; 0 = all cores.")
    deterministic: bool = Field(
        default=False, description="On CUDA, the same cuDNN kernels every run (slower); "
        "off: cuDNN times its kernels and keeps the fastest.")
    weights_dir: str | None = Field(
        default=None, description="Folder with torchvision's pretrained weight files, e.g. "
        "resnet18-f37072fd.pth; looked in first when TrainConfig.pretrained is on, then "
        "torch's hub cache ($TORCH_HOME/hub/checkpoints).")
    allow_download: bool = Field(
        default=True, description="When the weights are in neither place, download "
        "torchvision's file into the hub cache, its hash checked. Off: fail with one line.")
    weights_base_url: str | None = Field(
        default=None, description="A mirror of torchvision's weight files (same names); "
        "empty: torchvision's own address.")

    def settings(self) -> ComputeSettings:
        return ComputeSettings(device=self.device, num_workers=self.num_workers,
                               fast_path=self.fast_path,
                               deterministic=self.deterministic, threads=self.threads,
                               weights_dir=Path(self.weights_dir) if self.weights_dir else None,
                               allow_download=self.allow_download,
                               weights_base_url=self.weights_base_url)
