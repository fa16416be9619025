"""What the two learners share: the frame CNNs (core/learning/training.py) and the
skeleton model (core/learning/pose_model.py) both train on a FrameSet fed by one
tensor-indexing loader, with fastai kept quiet while an EpochReporter speaks, vote per
video by mean probability, report a TrainResult and are judged against chance by one
test. Kept here so that neither learner reaches into the other, and evaluation counts a
video's vote the same way training did.

torch and fastai are imported inside functions, for the reasons core/learning/training.py
gives.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dance_assets.core.lake.catalogue import cnn
from dance_assets.core.lake.errors import DanceAssetsError

if TYPE_CHECKING:
    import torch
    from fastai.learner import Learner



def import_fastai() -> None:
    """Import fastai without the FutureWarnings its import raises on torch 2.14 (fastai's
    layers script four functions with the now deprecated torch.jit.script), ignored for
    the import alone. Each learner's training calls this before its first fastai import
    (every fastai module it uses loads fastai.layers); once fastai is in, it does nothing."""
    if "fastai.layers" in sys.modules:
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated",
                                category=FutureWarning)
        import fastai.layers  # noqa: F401


def check_image_size(arch: str, image_size: int) -> None:
    """Refuse, in one sentence, an image size the architecture's layers shrink to nothing
    (the catalogue's smallest size: no model is built)."""
    smallest = cnn(arch).min_image_size
    if image_size < smallest:
        raise DanceAssetsError(
            f"image_size {image_size} is too small for {arch}: its layers shrink the input "
            f"to nothing below {smallest} px; set image_size to at least {smallest}")


def mean_by_video(probabilities: np.ndarray, video_ids: Sequence[str],
                  classes: Sequence[object]) -> pd.DataFrame:
    """Each video's mean class probabilities over its frames: how a video votes."""
    frame = pd.DataFrame(probabilities, columns=list(classes))
    return frame.groupby(np.asarray(video_ids)).mean()


@dataclass
class FrameSet:
    """One side of a split: a tensor of inputs per kept frame (its decoded image, or its
    skeleton window for the pose model) and their class indices."""

    inputs: torch.Tensor
    labels: torch.Tensor
    frame_ids: list[str]

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.inputs[i], self.labels[i]


def tensor_batch_loader(prepare: Callable[[torch.Tensor], torch.Tensor] | None = None):
    """A fastai TfmdDL over a FrameSet that fetches a whole batch with one tensor index.

    fastai's default builds a batch item by item and collates it; on preloaded tensors
    that is all overhead, and so is routing each op through its typed tensors. The index
    goes to wherever the frames are, so frames kept on a GPU are gathered there;
    `prepare` then turns the gathered inputs into what the network takes
    (core/learning/augment.py: scaling, augmentation, normalisation, memory layout).
    """
    from fastai.data.core import TfmdDL

    class TensorBatchDL(TfmdDL):
        def create_item(self, s: int | None) -> int:
            return 0 if s is None else s  # fastai probes one item with None at setup

        def create_batch(self, b: list[int]) -> tuple[Any, Any]:
            import torch

            # non_blocking: a blocking copy to the GPU would wait for every queued step.
            index = torch.tensor(b).to(self.dataset.inputs.device, non_blocking=True)
            inputs, labels = self.dataset.inputs[index], self.dataset.labels[index]
            return (prepare(inputs) if prepare else inputs), labels

    return TensorBatchDL


@dataclass(kw_only=True)
class TrainResult:
    history: pd.DataFrame
    classes: list[str]
    device: str
    fast_path: str
    seconds: float
    first_batch_loss: float | None
    accuracy: float
    valid_loss: float
    n_train: int
    n_valid: int
    lr: float
    video_correct: int  # validation videos whose mean probability picks the right class
    n_valid_videos: int
    learner: Any = field(repr=False, default=None)

    @property
    def video_accuracy(self) -> float:
        return self.video_correct / self.n_valid_videos if self.n_valid_videos else 0.0


def quiet(learn: Learner, show_progress: bool) -> None:
    """fastai's own logger off and, unless asked for, its progress bar: the EpochReporter
    (core/learning/callbacks.py) says how each epoch went instead."""
    from fastai.callback.progress import ProgressCallback
    from fastcore.basics import noop

    learn.logger = noop
    if not show_progress:
        learn.remove_cb(ProgressCallback)


def video_of(frame_id: str) -> str:
    """A frame id is <video_id>_<second>."""
    return frame_id.rsplit("_", 1)[0]


def videos_correct(probabilities: np.ndarray, labels: np.ndarray,
                   frame_ids: list[str]) -> tuple[int, int]:
    """(videos right, videos) when each video's frames vote by their mean probability."""
    videos = [video_of(f) for f in frame_ids]
    if not videos:
        return 0, 0
    mean = mean_by_video(probabilities, videos, range(probabilities.shape[1]))
    truth = pd.Series(labels).groupby(np.asarray(videos)).first().loc[mean.index]
    return int((mean.to_numpy().argmax(axis=1) == truth.to_numpy()).sum()), len(mean)


def significantly_above_chance(correct: int, total: int, n_classes: int,
                               alpha: float) -> tuple[bool, float]:
    """One-sided binomial test against guessing: (clearly above chance?, p-value).

    Passes when p <= alpha, so alpha = 1 lets any model with validation frames through.
    """
    from scipy.stats import binomtest

    if total == 0 or n_classes < 2:
        return False, 1.0
    p_value = float(binomtest(correct, total, 1 / n_classes, alternative="greater").pvalue)
    return p_value <= alpha, p_value
