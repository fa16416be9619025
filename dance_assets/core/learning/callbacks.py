"""What training adds to fastai: the fast path (channels_last, CPU bf16 autocast),
losses and metrics kept on the device, the training-time augmentation of skeleton
windows, and one report line per epoch.

Imported only where a model trains (this module imports fastai and torch), so that
reading tables, scoring and the Dagster definitions never pay for them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch
from fastai.callback.core import Callback
from fastai.learner import AvgLoss, AvgMetric, AvgSmoothLoss, Learner
from fastai.torch_core import find_bs, to_float

from dance_assets.core.ingest.pose_features import mirror_permutation
from dance_assets.core.lake.catalogue import duration_in_words


class CpuBf16Autocast(Callback):
    """bfloat16 autocast on CPU (fastai's MixedPrecision only autocasts CUDA)."""

    order = 10

    def before_batch(self) -> None:
        self.autocast = torch.autocast("cpu", dtype=torch.bfloat16)
        self.autocast.__enter__()

    def after_pred(self) -> None:
        self.learn.pred = to_float(self.pred)

    def after_loss(self) -> None:
        self.autocast.__exit__(None, None, None)


class DeviceAvgLoss(AvgLoss):
    """fastai's AvgLoss without the copy to the host after every batch."""

    def accumulate(self, learn) -> None:
        size = find_bs(learn.yb)
        self.total += learn.loss.detach().mean() * size
        self.count += size


class DeviceAvgSmoothLoss(AvgSmoothLoss):
    """fastai's AvgSmoothLoss, its running value left where the loss is."""

    def accumulate(self, learn) -> None:
        self.count += 1
        loss = learn.loss.detach().mean().float()
        self.val = torch.lerp(loss, self.val.to(loss.device), self.beta)


class DeviceAvgMetric(AvgMetric):
    """fastai's AvgMetric without the copy to the host after every batch."""

    def accumulate(self, learn) -> None:
        size = find_bs(learn.yb)
        self.total += self.func(learn.pred, *learn.yb).detach() * size
        self.count += size


@contextmanager
def metrics_on_device(learn: Learner) -> Iterator[None]:
    """Keep the loss and metrics on the device while fitting, read once per epoch.

    fastai's Recorder copies every batch's loss and metric to the host, which on a GPU
    makes Python wait for each step to finish before queueing the next. The same sums,
    kept on the device, let the GPU run ahead; the Recorder reads them (`.item()`) once
    at the end of each phase. fastai's own accumulators return afterwards, so lr_find,
    get_preds and an exported learner see fastai as shipped. (A context, not a callback:
    every callback costs each batch event a lookup through fastai's attribute
    delegation.)
    """
    recorder = learn.recorder
    saved = recorder.loss, recorder.smooth_loss, learn.metrics
    _set_metrics(learn, DeviceAvgLoss(), DeviceAvgSmoothLoss(recorder.smooth_loss.beta),
                 [DeviceAvgMetric(m.func) if type(m) is AvgMetric else m
                  for m in learn.metrics])
    try:
        yield
    finally:
        _set_metrics(learn, *saved)


def _set_metrics(learn: Learner, loss, smooth_loss, metrics) -> None:
    """The Recorder's own accumulators, set while it is off the learner (remove_cb,
    add_cb): on it, fastai would warn that a callback's `loss` and `smooth_loss` shadow
    the learner's, which these are not. fastai runs callbacks by their `order`, not by
    when they were added, so the Recorder runs where it did."""
    recorder = learn.recorder
    learn.remove_cb(recorder)
    recorder.loss, recorder.smooth_loss = loss, smooth_loss
    learn.add_cb(recorder)
    learn.metrics = metrics


class EpochReporter(Callback):
    """One line per epoch through `report`, and the rows of the training history."""

    order = 90

    def __init__(self, report: Callable[[str], None], total_epochs: int):
        self.report, self.total_epochs = report, total_epochs
        self.rows: list[dict] = []
        self.first_batch_loss: float | None = None

    def before_epoch(self) -> None:
        self.started = time.perf_counter()

    def after_loss(self) -> None:
        if self.training and self.first_batch_loss is None:
            self.first_batch_loss = float(self.loss.detach().float())

    def after_epoch(self) -> None:
        values = dict(zip(self.recorder.metric_names[1:], self.recorder.log[1:],
                          strict=False))
        row = {
            "epoch": len(self.rows) + 1,
            "frozen": getattr(self.opt, "frozen_idx", 0) > 0,
            "train_loss": float(values.get("train_loss", np.nan)),
            "valid_loss": float(values.get("valid_loss", np.nan)),
            "accuracy": float(values.get("accuracy", np.nan)),
            "seconds": time.perf_counter() - self.started,
        }
        self.rows.append(row)
        left = self.total_epochs - row["epoch"]
        remaining = np.mean([r["seconds"] for r in self.rows[-3:]]) * left
        self.report(
            f"epoch {row['epoch']}/{self.total_epochs}{' (head only)' if row['frozen'] else ''}"
            f": train_loss {row['train_loss']:.4f}, valid_loss {row['valid_loss']:.4f}, "
            f"accuracy {row['accuracy']:.4f}, {row['seconds']:.1f} s"
            + (f"; about {duration_in_words(remaining)} left" if left else ""))


def use_fast_path(learn: Learner, mode: str) -> list[Callback]:
    """Set a Learner up for a fast-path mode (core/learning/compute.fast_path_mode): nothing
    when off; else the network in channels_last (the loader hands over NHWC batches), the
    layout oneDNN and cuDNN convolutions are fastest in, and bf16 autocast: on a CPU that
    has it this module's callback, on CUDA fastai's own mixed precision. Returns the
    callbacks to remove after fitting."""
    if mode == "off":
        return []
    learn.model.to(memory_format=torch.channels_last)
    if mode == "cpu-bf16":
        autocast = CpuBf16Autocast()
        learn.add_cb(autocast)
        return [autocast]
    if mode == "cuda-amp":
        learn.to_bf16() if torch.cuda.is_bf16_supported() else learn.to_fp16()
    return []


class SkeletonAugment(Callback):
    """Vary training windows of skeletons the way dancers vary: mirror half of them,
    jitter size and joints a little, blank neighbouring seconds (never the one being
    classified)."""

    order = 5

    def __init__(self, step_dropout: float):
        self.step_dropout = step_dropout
        self.index, self.sign = (torch.from_numpy(a) for a in mirror_permutation())

    def before_batch(self) -> None:
        if not self.training:
            return
        windows = self.xb[0].clone()
        n, steps, _ = windows.shape
        flip = torch.rand(n) < 0.5
        windows[flip] = windows[flip].index_select(-1, self.index) * self.sign
        blank = (torch.rand(n, steps, 1) < self.step_dropout).float()
        blank[:, steps // 2] = 0
        windows = windows * (1 - blank)
        found = windows[..., -1:]
        joints = windows[..., :-1] * (1 + 0.1 * torch.randn(n, 1, 1))
        windows[..., :-1] = (joints + 0.05 * torch.randn_like(joints)) * found
        self.learn.xb = (windows,)
