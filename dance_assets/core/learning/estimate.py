"""How long the frame CNNs will take to train on this machine, measured before they start.

Training time depends on the CPU far more than on anything the project sets: the same
epoch of ResNet18 at 96 px takes about 5 s on a 2-core CPU with AVX512-BF16 and 12-14 s
on one with AVX2 only. So the estimate is a measurement, not a table: the learner each
model trains (core/learning/training.py, with its fast path, augmentation and loaders)
runs a few batches of random frames of the model's input size, and the time of a
training batch and of a validation frame is multiplied out over the epochs ahead. The
throughput does not depend on what the pixels show (benchmarks/train.py measures on
random images for the same reason).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

from dance_assets.core.learning.compute import ComputeSettings, fast_path_mode
from dance_assets.core.learning.learners import FrameSet, import_fastai, quiet
from dance_assets.core.learning.training import (
    TrainSettings,
    build_learner,
    dataloaders,
    prepared_device,
)

# Batches timed after the warm-up ones (the first allocates, the second settles oneDNN's
# kernel choice).
_WARM_UP_BATCHES = 2
_TIMED_BATCHES = 4


@dataclass(frozen=True)
class TrainingPace:
    """One architecture's measured pace on this machine, at its settings."""

    arch: str
    batch_s: float  # one training batch: forward, backward, the optimiser step
    valid_frame_s: float  # one validation frame: forward only

    def seconds(self, settings: TrainSettings, n_train: int, n_valid: int) -> float:
        """Training and validating every epoch, and the last pass over the validation
        frames that the model's result is read from."""
        batches = n_train // settings.batch_size  # the loader drops the last partial one
        epoch = batches * self.batch_s + n_valid * self.valid_frame_s
        return settings.epochs * epoch + n_valid * self.valid_frame_s


def synthetic_sets(n: int, image_size: int, n_classes: int = 12) -> tuple[FrameSet, FrameSet]:
    """n random uint8 images and labels, 80 % for training: the shape of real frames."""
    import torch

    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 3, image_size, image_size), dtype=torch.uint8,
                           generator=generator)
    labels = torch.randint(0, n_classes, (n,), generator=generator)
    ids = [f"synthetic_{i}" for i in range(n)]
    cut = int(0.8 * n)
    return (FrameSet(images[:cut], labels[:cut], ids[:cut]),
            FrameSet(images[cut:], labels[cut:], ids[cut:]))


def measure_pace(arch: str, settings: TrainSettings, compute: ComputeSettings,
                 n_classes: int) -> TrainingPace:
    """A few batches of `arch`'s learner as training builds it, on random frames."""
    import_fastai()
    from fastai.callback.core import Callback

    from dance_assets.core.learning.callbacks import use_fast_path

    device = prepared_device(compute, own_process=False)
    mode = fast_path_mode(compute, device)
    batches = _WARM_UP_BATCHES + _TIMED_BATCHES
    n = math.ceil(batches * settings.batch_size / 0.8) + 1
    train_set, valid_set = synthetic_sets(n, settings.image_size, n_classes)
    dls = dataloaders(train_set, valid_set, replace(settings, pretrained=False), device,
                      compute.num_workers, channels_last=mode != "off")
    learn = build_learner(arch, dls, n_classes, replace(settings, pretrained=False), compute)
    quiet(learn, show_progress=False)
    use_fast_path(learn, mode)

    class Clock(Callback):
        def before_fit(self) -> None:
            self.train_times: list[float] = []

        def before_batch(self) -> None:
            self.started = time.perf_counter()

        def after_batch(self) -> None:
            if self.training:
                self.train_times.append(time.perf_counter() - self.started)

        def before_validate(self) -> None:
            self.valid_started = time.perf_counter()

        def after_validate(self) -> None:
            self.valid_s = time.perf_counter() - self.valid_started

    clock = Clock()
    learn.fit(1, settings.default_lr(arch), cbs=clock)
    timed = sorted(clock.train_times[_WARM_UP_BATCHES:])
    return TrainingPace(arch=arch, batch_s=timed[len(timed) // 2],
                        valid_frame_s=clock.valid_s / len(valid_set))
