"""Training the study's three classifiers with fastai, fast on CPU and ready for a GPU.

Frames are decoded once into a uint8 array in the lake's cache
(core/learning/frame_cache.py), the whole frame squished or a square around the dancer,
so an epoch costs model compute and batch augmentation (core/learning/augment.py), not
JPEG decoding. On a GPU the array sits in GPU memory and the loss and metrics stay there
until the epoch ends, so the host never waits for a step (core/learning/compute.py says
where a run trains; core/learning/cnn_export.py writes what it trained).

torch and fastai are imported inside functions: importing this module (as Dagster
does when it loads the code location) must not initialise CUDA, and the
multiprocess executor forks.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from dance_assets.core.lake.catalogue import ARCHITECTURES, CNNS
from dance_assets.core.lake.errors import DanceAssetsError
from dance_assets.core.learning.compute import ComputeSettings, fast_path_mode, resolve_device
from dance_assets.core.learning.frame_cache import CachedFrames
from dance_assets.core.learning.host_memory import keep_freed_memory
from dance_assets.core.learning.learners import (
    FrameSet,
    TrainResult,
    import_fastai,
    quiet,
    tensor_batch_loader,
    videos_correct,
)
from dance_assets.core.learning.weights import WeightsPlaces, pretrained_weights

if TYPE_CHECKING:
    import torch
    from fastai.learner import Learner

# Peak learning rates that train each architecture well (the catalogue's, measured on the
# demo profile); AlexNet without batch norm in its body needs a gentler one.
DEFAULT_LR = {cnn.name: cnn.default_lr for cnn in CNNS}
# Bodies with no batch norm of their own (ResNet18 has one after every convolution).
# From scratch (TrainSettings.batch_norm) they get one, and then train at this rate.
BODIES_WITHOUT_BATCH_NORM = tuple(cnn.name for cnn in CNNS if not cnn.own_batch_norm)
LR_WITH_ADDED_BATCH_NORM = 3e-3


@dataclass(kw_only=True, frozen=True)
class TrainSettings:
    """Hyperparameters; see docs/training.md for how `epochs` maps onto fastai calls."""

    epochs: int = 10
    lr: float | None = None  # None: default_lr(arch)
    find_lr: bool = False  # pick the learning rate with fastai's lr_find instead
    batch_size: int = 32
    image_size: int = 224
    augment: bool = True
    seed: int = 0
    pretrained: bool = False
    freeze_epochs: int = 1  # only with pretrained weights: head-only epochs first
    input: str = "frame"  # frame | dancer | silhouette (core/learning/frame_images.py)
    # From scratch: a BatchNorm after every convolution of a body that has none.
    batch_norm: bool = True
    # fastai's `ps`: dropout in the head it puts on the body (half before the hidden
    # layer, all of it before the last). Its default, 0.5, is for fine-tuning.
    head_dropout: float = 0.5

    def adds_batch_norm(self, arch: str) -> bool:
        """Whether `arch` trains with batch norm added to its body: only from scratch,
        since ImageNet's weights were learned without it."""
        return self.batch_norm and not self.pretrained and arch in BODIES_WITHOUT_BATCH_NORM

    def default_lr(self, arch: str) -> float:
        """The peak learning rate when the run names none."""
        return LR_WITH_ADDED_BATCH_NORM if self.adds_batch_norm(arch) else DEFAULT_LR[arch]


def with_batch_norm(module: torch.nn.Module) -> torch.nn.Module:
    """Follow every convolution inside `module` with a BatchNorm over its channels, in
    place (as torchvision's VGG-BN does for VGG). Each convolution becomes a two-layer
    Sequential at the same position, so fastai's cut and splitter index the body as
    before."""
    import torch

    for name, child in module.named_children():
        if isinstance(child, torch.nn.Conv2d):
            setattr(module, name, torch.nn.Sequential(
                child, torch.nn.BatchNorm2d(child.out_channels)))
        else:
            with_batch_norm(child)
    return module


class TorchvisionBuilder:
    """Builds a torchvision architecture with ImageNet weights found as
    core/learning/weights.py says.

    fastai would call torchvision with weights='DEFAULT', which looks only in the hub
    cache and downloads without asking; this picklable stand-in is what fastai calls
    instead (and what the export records).
    """

    def __init__(self, arch: str, places: WeightsPlaces,
                 report: Callable[[str], None] | None = None, batch_norm: bool = False):
        self.arch, self.places, self.report = arch, places, report
        self.batch_norm = batch_norm

    def __call__(self, pretrained: bool = False) -> torch.nn.Module:
        import torch
        import torchvision

        model = torchvision.models.get_model(self.arch, weights=None)
        if pretrained:
            path = pretrained_weights(self.arch, self.places, self.report or print)
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        elif self.batch_norm:
            with_batch_norm(model.features)  # the body fastai keeps; its head is its own
        return model

    def __getstate__(self) -> dict:  # the exported learner keeps no logger
        return {**self.__dict__, "report": None}


def frame_sets(cache: CachedFrames, manifest: pd.DataFrame, protocol_column: str,
               classes: list[str]) -> tuple[FrameSet, FrameSet]:
    """The kept frames on each side of `protocol_column`, taken from the decoded cache."""
    import torch

    kept = manifest[manifest["keep"]].sort_values("frame_id")
    index = {name: i for i, name in enumerate(classes)}
    sets = []
    for side in ("train", "valid"):
        rows = kept[kept[protocol_column] == side]
        images = np.ascontiguousarray(cache.images[cache.rows(list(rows["frame_id"]))])
        sets.append(FrameSet(
            torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(),
            torch.tensor([index[c] for c in rows["dance_class"]], dtype=torch.long),
            list(rows["frame_id"])))
    return sets[0], sets[1]


def on_device(frame_set: FrameSet, device: str) -> FrameSet:
    """The frame set moved to `device` once, so that each batch is a gather there.

    On a GPU this keeps the host out of the step: no per-batch copy over PCIe, and
    augmentation runs on the batch where it lies. The caller checks it fits.
    """
    return FrameSet(frame_set.inputs.to(device), frame_set.labels.to(device),
                    frame_set.frame_ids)


def fits_on_gpu(*frame_sets: FrameSet, share: float = 0.5) -> bool:
    """Whether the frames take at most `share` of the GPU's free memory (the rest is for
    the network, its activations and cuDNN's workspace)."""
    import torch

    free, _ = torch.cuda.mem_get_info()
    return sum(s.inputs.nbytes + s.labels.nbytes for s in frame_sets) <= share * free


def dataloaders(train: FrameSet, valid: FrameSet, settings: TrainSettings, device: str,
                num_workers: int, report: Callable[[str], None] | None = None,
                channels_last: bool = False):
    """fastai DataLoaders over the two frame sets; on a GPU the frames move there first
    when they fit (else each batch is copied over, as on the CPU)."""
    from functools import partial

    from fastai.data.core import DataLoaders

    from dance_assets.core.learning.augment import image_batch

    if device == "cuda":
        if fits_on_gpu(train, valid):
            train, valid = on_device(train, device), on_device(valid, device)
        elif report:
            report("the frames do not fit in half the GPU's free memory: each batch is "
                   "copied from the host")
    prepare = partial(image_batch, channels_last=channels_last)
    train_dl = tensor_batch_loader(partial(prepare, augmented=settings.augment))(
        train, bs=settings.batch_size, shuffle=True, drop_last=True,
        num_workers=num_workers, device=device)
    valid_dl = tensor_batch_loader(partial(prepare, augmented=False))(
        valid, bs=settings.batch_size * 2, shuffle=False, num_workers=num_workers,
        device=device)
    return DataLoaders(train_dl, valid_dl, device=device)


def build_learner(arch: str, dls, n_classes: int, settings: TrainSettings,
                  compute: ComputeSettings,
                  report: Callable[[str], None] | None = None) -> Learner:
    """fastai's vision_learner on a torchvision architecture (weights: core/learning/weights.py)."""
    from functools import partial

    import torch
    import torchvision
    from fastai.learner import CastToTensor
    from fastai.optimizer import OptimWrapper
    from fastai.vision.all import accuracy, model_meta, vision_learner

    from dance_assets.core.learning.losses import SmoothedCrossEntropy

    if arch not in ARCHITECTURES:
        raise DanceAssetsError(f"unknown architecture {arch!r}; choose from "
                               f"{', '.join(ARCHITECTURES)}")
    meta = model_meta[getattr(torchvision.models, arch)]
    learn = vision_learner(
        dls, TorchvisionBuilder(arch, compute.weights_places(), report,
                                batch_norm=settings.adds_batch_norm(arch)), normalize=False,
        n_out=n_classes,
        pretrained=settings.pretrained, cut=meta["cut"], splitter=meta["split"],
        ps=settings.head_dropout,
        loss_func=SmoothedCrossEntropy(), metrics=accuracy,
        # torch's multi-tensor Adam: same algorithm as fastai's, much less Python per step.
        opt_func=partial(OptimWrapper, opt=partial(torch.optim.AdamW, foreach=True)),
    )
    learn.remove_cb(CastToTensor)  # the loader already hands over plain tensors
    return learn


def _peak_lr(learn: Learner, arch: str, settings: TrainSettings,
             report: Callable[[str], None]) -> float:
    """The run's peak learning rate: fastai's lr_find suggestion when asked for, else the
    run's own or the architecture's default."""
    if settings.find_lr:
        lr = float(learn.lr_find(show_plot=False).valley)
        report(f"lr_find suggests {lr:.2e}")
        return lr
    return settings.lr if settings.lr is not None else settings.default_lr(arch)


def _fit(learn: Learner, settings: TrainSettings, lr: float, frozen_epochs: int) -> None:
    """fine_tune with pretrained weights (head-only epochs first, when there are any),
    one-cycle from scratch; the metrics stay on the device meanwhile (not during
    lr_find, which reads every loss)."""
    from dance_assets.core.learning.callbacks import metrics_on_device

    with metrics_on_device(learn):
        if settings.pretrained and frozen_epochs:
            learn.fine_tune(settings.epochs, base_lr=lr, freeze_epochs=frozen_epochs)
        elif settings.pretrained:  # no head-only phase: fine_tune's second half alone
            learn.unfreeze()
            learn.fit_one_cycle(settings.epochs, slice(lr / 200, lr / 2))
        else:
            learn.fit_one_cycle(settings.epochs, lr)


def prepared_device(compute: ComputeSettings, own_process: bool) -> str:
    """The device the run trains on; on a CPU, torch given the run's threads and, in a
    process of the step's own, glibc told to keep freed memory (see train); on CUDA,
    autotuned convolutions unless the run asks for the same ones every time."""
    import torch

    device = resolve_device(compute.device)
    if device == "cpu":
        torch.set_num_threads(compute.threads or os.cpu_count() or 1)
        if own_process:
            keep_freed_memory()  # each batch reuses the last one's pages
    if device == "cuda":
        torch.backends.cudnn.benchmark = not compute.deterministic
        torch.backends.cudnn.deterministic = compute.deterministic
    return device


def train(arch: str, train_set: FrameSet, valid_set: FrameSet, classes: list[str],
          settings: TrainSettings, compute: ComputeSettings,
          report: Callable[[str], None] = print, show_progress: bool = False,
          own_process: bool = False) -> TrainResult:
    """Seeded fastai training: fine_tune with pretrained weights, one-cycle otherwise.

    `own_process`: the process is the training step's alone (a multiprocess child, a
    pod), so on a CPU glibc is told to keep freed memory for the next batch
    (core/learning/host_memory.py), a setting that lasts as long as the process; never
    in a caller's process (execute_in_process, tests, notebooks)."""
    import_fastai()
    import torch
    from fastai.torch_core import set_seed

    from dance_assets.core.learning.callbacks import EpochReporter, use_fast_path

    device = prepared_device(compute, own_process)
    if len(train_set.labels) < settings.batch_size:
        raise DanceAssetsError(f"only {len(train_set.labels)} training frames for a batch of "
                               f"{settings.batch_size}: lower batch_size")
    set_seed(settings.seed)
    mode = fast_path_mode(compute, device)
    dls = dataloaders(train_set, valid_set, settings, device, compute.num_workers, report,
                      channels_last=mode != "off")
    learn = build_learner(arch, dls, len(classes), settings, compute, report)
    quiet(learn, show_progress)
    speed = use_fast_path(learn, mode)
    lr = _peak_lr(learn, arch, settings, report)
    frozen_epochs = settings.freeze_epochs if settings.pretrained else 0
    reporter = EpochReporter(report, frozen_epochs + settings.epochs)
    learn.add_cb(reporter)  # after lr_find, whose batches are not training
    started = time.perf_counter()
    _fit(learn, settings, lr, frozen_epochs)
    seconds = time.perf_counter() - started
    learn.remove_cbs([*speed, reporter])
    # After the reporter is gone: get_preds runs epoch events of its own.
    probabilities = learn.get_preds(dl=dls.valid, reorder=False)[0].float().numpy()
    video_correct, n_videos = videos_correct(probabilities, valid_set.labels.numpy(),
                                             valid_set.frame_ids)
    if mode == "cuda-amp":
        learn.to_fp32()
    learn.model.to(memory_format=torch.contiguous_format)
    history = pd.DataFrame(reporter.rows)
    last = reporter.rows[-1]
    return TrainResult(history=history, classes=classes, device=device, fast_path=mode,
                       seconds=seconds, first_batch_loss=reporter.first_batch_loss,
                       accuracy=last["accuracy"], valid_loss=last["valid_loss"],
                       n_train=len(train_set.labels), n_valid=len(valid_set.labels), lr=lr,
                       video_correct=video_correct,
                       n_valid_videos=n_videos, learner=learn)


