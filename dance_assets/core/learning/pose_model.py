"""pose_sequence: a small network that tells dances apart from skeletons alone.

Frame CNNs see the room and the outfit as readily as the dance, so they learn who
dances as well as what. This model sees neither: its input is a short window of
normalised skeletons (core/ingest/pose_features.py) centred on each second, and it classifies
the second; a video is the mean of its seconds, as for the CNNs. Trained through
fastai (Learner, one-cycle, label smoothing, fastai's Adam) on a CPU in seconds, and
exported to ONNX like the CNNs, with the mirror image averaged in, so a dancer who
performs the dance as in a mirror is the same dance.

torch and fastai are imported inside functions, for the reasons core/learning/training.py gives.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from dance_assets.core.ingest.pose_features import STEP_FEATURES, frame_windows, mirror_permutation
from dance_assets.core.lake.artifacts import CARD_NAME, PROGRAM_NAME, WEIGHTS_NAME
from dance_assets.core.lake.errors import DanceAssetsError
from dance_assets.core.lake.lake import atomic_path
from dance_assets.core.learning.card import ModelCard, write_card
from dance_assets.core.learning.learners import (
    FrameSet,
    TrainResult,
    import_fastai,
    quiet,
    tensor_batch_loader,
    videos_correct,
)

if TYPE_CHECKING:
    import torch

INPUT_NAME = "windows"  # the ONNX input: N × window × STEP_FEATURES float32


@dataclass(kw_only=True, frozen=True)
class PoseModelSettings:
    """Hyperparameters; the defaults were measured on demo lakes of two generator seeds
    (docs/pose-model.md)."""

    epochs: int = 30
    lr: float = 3e-3
    batch_size: int = 64
    window: int = 3  # seconds per input, centred on the second classified
    hidden: int = 256
    dropout: float = 0.3
    # Training blanks each neighbouring second with this probability: tempos differ
    # between dancers, so a neighbour is a hint, never a certainty.
    step_dropout: float = 0.3
    augment: bool = True
    seed: int = 0


def pose_sets(skeletons: pd.DataFrame, manifest: pd.DataFrame, protocol_column: str,
              classes: list[str], window: int) -> tuple[FrameSet, FrameSet]:
    """Skeleton windows of the kept frames on each side of `protocol_column`."""
    import torch

    kept = manifest[manifest["keep"]].sort_values("frame_id")
    index = {name: i for i, name in enumerate(classes)}
    sets = []
    for side in ("train", "valid"):
        rows = kept[kept[protocol_column] == side]
        sets.append(FrameSet(
            torch.from_numpy(frame_windows(skeletons, rows, window)),
            torch.tensor([index[c] for c in rows["dance_class"]], dtype=torch.long),
            list(rows["frame_id"])))
    return sets[0], sets[1]


def pose_network(window: int, n_classes: int, hidden: int, dropout: float) -> torch.nn.Module:
    """Window of skeletons → class scores: two hidden layers, batch norm, dropout."""
    from torch import nn

    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(window * STEP_FEATURES, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(hidden, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(hidden, n_classes),
    )


def mirror_averaged(network: torch.nn.Module) -> torch.nn.Module:
    """Probabilities averaged over the windows and their mirror images: what is exported."""
    import torch

    index, sign = mirror_permutation()

    class MirrorAveraged(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.network = network
            self.register_buffer("index", torch.from_numpy(index))
            self.register_buffer("sign", torch.from_numpy(sign))

        def forward(self, windows: torch.Tensor) -> torch.Tensor:
            mirrored = windows.index_select(-1, self.index) * self.sign
            return (torch.softmax(self.network(windows), dim=1) +
                    torch.softmax(self.network(mirrored), dim=1)) / 2

    return MirrorAveraged().eval()


def _pose_dataloaders(train_set: FrameSet, valid_set: FrameSet, batch_size: int):
    """fastai DataLoaders over the skeleton windows, on the CPU, in this process.

    No worker processes: the windows are in memory, and fastai's default of one worker
    per core forked four processes an epoch, which cost more than the training itself
    (a fit took 4.8 s instead of 0.7 alone, 17 s inside the demo's larger process).
    """
    from fastai.data.core import DataLoaders

    loader = tensor_batch_loader()
    batch_size = min(batch_size, len(train_set))  # a tiny lake: one batch of all
    return DataLoaders(
        loader(train_set, bs=batch_size, shuffle=True, drop_last=True, device="cpu",
               num_workers=0),
        loader(valid_set, bs=512, shuffle=False, device="cpu", num_workers=0), device="cpu")


def train_pose_model(train_set: FrameSet, valid_set: FrameSet, classes: list[str],
                     settings: PoseModelSettings, report: Callable[[str], None] = print,
                     show_progress: bool = False) -> TrainResult:
    """Seeded fastai one-cycle training on the CPU (the network is too small to gain
    from an accelerator)."""
    import_fastai()
    import fastai.callback.schedule  # noqa: F401  (adds Learner.fit_one_cycle)
    import torch
    from fastai.learner import Learner
    from fastai.metrics import accuracy
    from fastai.torch_core import set_seed

    from dance_assets.core.learning.callbacks import EpochReporter, SkeletonAugment
    from dance_assets.core.learning.losses import SmoothedCrossEntropy

    if len(train_set) < 2:
        raise DanceAssetsError(f"only {len(train_set)} training seconds: the pose model "
                               "needs at least two")
    set_seed(settings.seed, reproducible=True)
    dls = _pose_dataloaders(train_set, valid_set, settings.batch_size)
    network = pose_network(settings.window, len(classes), settings.hidden, settings.dropout)
    learn = Learner(dls, network, loss_func=SmoothedCrossEntropy(),
                    metrics=accuracy)
    quiet(learn, show_progress)
    if settings.augment:
        learn.add_cb(SkeletonAugment(settings.step_dropout))
    reporter = EpochReporter(report, settings.epochs)
    learn.add_cb(reporter)
    started = time.perf_counter()
    learn.fit_one_cycle(settings.epochs, settings.lr)
    seconds = time.perf_counter() - started
    learn.remove_cb(reporter)
    with torch.no_grad():
        probabilities = mirror_averaged(learn.model.eval())(valid_set.inputs).numpy()
    labels = valid_set.labels.numpy()
    correct, n_videos = videos_correct(probabilities, labels, valid_set.frame_ids)
    frame_accuracy = float((probabilities.argmax(axis=1) == labels).mean()) if len(labels) else 0.0
    history = pd.DataFrame(reporter.rows)
    return TrainResult(history=history, classes=classes, device="cpu", fast_path="off",
                       seconds=seconds, first_batch_loss=reporter.first_batch_loss,
                       accuracy=frame_accuracy, valid_loss=float(history["valid_loss"].iloc[-1]),
                       n_train=len(train_set), n_valid=len(valid_set), lr=settings.lr,
                       video_correct=correct, n_valid_videos=n_videos, learner=learn)


def export_pose_model(result: TrainResult, window: int, out_dir: Path,
                      card: ModelCard) -> dict[str, Path]:
    """model.onnx (windows to mirror-averaged probabilities), weights.pth, model_card.json."""
    import torch

    out_dir.mkdir(parents=True, exist_ok=True)
    network = result.learner.model.to("cpu").eval()
    example = torch.zeros((2, window, STEP_FEATURES), dtype=torch.float32)
    program = torch.onnx.export(
        mirror_averaged(network), (example,), dynamo=True, verbose=False,
        input_names=[INPUT_NAME], output_names=["probabilities"],
        dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=1 << 20)},))
    with atomic_path(out_dir / PROGRAM_NAME) as tmp:
        program.save(tmp)
    with atomic_path(out_dir / WEIGHTS_NAME) as tmp:
        torch.save(network.state_dict(), tmp)
    write_card(out_dir / CARD_NAME, card)
    return {"program": out_dir / PROGRAM_NAME, "weights": out_dir / WEIGHTS_NAME,
            "card": out_dir / CARD_NAME}
