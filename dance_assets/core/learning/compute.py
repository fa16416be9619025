"""Where and how a frame CNN trains: the device (a CUDA GPU when there is one), the fast
path (channels_last, with bfloat16 autocast on a CPU that computes it natively, mixed
precision on a GPU), threads, and where pretrained weights come from. Settled at run
time, never at import: torch is imported inside functions, as core/learning/training.py
explains.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dance_assets.core.lake.errors import DanceAssetsError
from dance_assets.core.learning.weights import WeightsPlaces


@dataclass(kw_only=True, frozen=True)
class ComputeSettings:
    """Where and how to train: resolved at run time, never at import."""

    device: str = "auto"  # auto | cpu | cuda
    num_workers: int = 0
    fast_path: bool = True  # channels_last + bf16 autocast (CPU) / mixed precision (CUDA)
    deterministic: bool = False  # CUDA: fixed cuDNN kernels instead of autotuned ones
    threads: int = 0  # torch intra-op threads on CPU; 0 = all cores
    weights_dir: Path | None = None
    allow_download: bool = True  # fetch missing ImageNet weights into torch's hub cache
    weights_base_url: str | None = None  # a mirror of torchvision's weight files

    def weights_places(self) -> WeightsPlaces:
        return WeightsPlaces(self.weights_dir, self.allow_download, self.weights_base_url)


def resolve_device(requested: str) -> str:
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise DanceAssetsError("device 'cuda' was requested but no CUDA GPU is available")
    if requested not in ("cpu", "cuda"):
        raise DanceAssetsError(f"device must be auto, cpu or cuda, got {requested!r}")
    return requested


def cpu_supports_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX) and torch may use
    it: ATEN_CPU_CAPABILITY=avx2 holds torch to AVX2 (how an AVX2-only CPU is measured
    on one that has more: docs/training.md), and bf16 autocast there is slower than
    float32."""
    import torch

    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return (torch.backends.cpu.get_cpu_capability().startswith("AVX512")
            and any(flag in flags for flag in (" avx512_bf16", " amx_bf16")))


def fast_path_mode(compute: ComputeSettings, device: str) -> str:
    """Which fast path applies: 'cuda-amp', 'cpu-bf16', 'cpu-channels-last' or 'off'.

    Without native bf16 (an AVX2-only CPU) the network still trains in channels_last, in
    float32: oneDNN's convolutions are as fast or faster in that layout there (SqueezeNet
    1.19x, ResNet18 1.04x, AlexNet 1.00x: benchmarks/results/README.md, training speed)."""
    if not compute.fast_path:
        return "off"
    if device == "cuda":
        return "cuda-amp"
    return "cpu-bf16" if cpu_supports_bf16() else "cpu-channels-last"
