"""A trained frame CNN's files: learner.pkl (fastai's, with a standard image-file pipeline,
so `load_learner(...).predict("frame.jpg")` works anywhere), model.onnx (images to
probabilities, with training's input scaling and a softmax inside, for ONNX Runtime),
weights.pth and model_card.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from dance_assets.core.lake.artifacts import CARD_NAME, EXPORT_NAME, PROGRAM_NAME, WEIGHTS_NAME
from dance_assets.core.lake.lake import atomic_path
from dance_assets.core.learning.card import ModelCard, write_card
from dance_assets.core.learning.learners import TrainResult

if TYPE_CHECKING:
    import torch


def export_dataloaders(classes: list[str], image_size: int, sample_image: Path):
    """A standard file-based fastai pipeline with our vocab, for the exported learner."""
    from fastai.vision.all import (
        CategoryBlock,
        ColReader,
        DataBlock,
        ImageBlock,
        IntToFloatTensor,
        Normalize,
        Resize,
        ResizeMethod,
        imagenet_stats,
    )

    block = DataBlock(
        blocks=(ImageBlock, CategoryBlock(vocab=classes)),
        get_x=ColReader("path"), get_y=ColReader("label"),
        item_tfms=Resize(image_size, method=ResizeMethod.Squish),
        batch_tfms=[IntToFloatTensor(), Normalize.from_stats(*imagenet_stats)],
        splitter=lambda items: (list(range(len(items))), []),
    )
    frame = pd.DataFrame({"path": [str(sample_image)], "label": [classes[0]]})
    return block.dataloaders(frame, bs=1, num_workers=0, device="cpu")


def images_to_probabilities(network: torch.nn.Module) -> torch.nn.Module:
    """The network with the input scaling of training and a softmax around it."""
    import torch
    from fastai.vision.all import imagenet_stats

    class ImagesToProbabilities(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.network = network
            mean, std = (torch.tensor(stats).view(1, 3, 1, 1) * 255 for stats in imagenet_stats)
            self.register_buffer("mean", mean)
            self.register_buffer("std", std)

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            return torch.softmax(self.network((images.float() - self.mean) / self.std), dim=1)

    return ImagesToProbabilities().eval()


def export(result: TrainResult, out_dir: Path, image_size: int, sample_image: Path,
           card: ModelCard) -> dict[str, Path]:
    """learner.pkl (file-based, predicts from paths), model.onnx (images to probabilities,
    for ONNX Runtime), weights.pth and model_card.json."""
    import torch

    learn = result.learner
    out_dir.mkdir(parents=True, exist_ok=True)
    learn.model.to("cpu")
    learn.dls = export_dataloaders(result.classes, image_size, sample_image)
    with atomic_path(out_dir / EXPORT_NAME) as tmp:
        learn.export(tmp)
    example = torch.zeros((2, 3, image_size, image_size), dtype=torch.uint8)
    program = torch.onnx.export(
        images_to_probabilities(learn.model.eval()), (example,), dynamo=True, verbose=False,
        input_names=["images"], output_names=["probabilities"],
        dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=65536)},))
    with atomic_path(out_dir / PROGRAM_NAME) as tmp:
        program.save(tmp)
    with atomic_path(out_dir / WEIGHTS_NAME) as tmp:
        torch.save(learn.model.state_dict(), tmp)
    write_card(out_dir / CARD_NAME, card)
    return {"learner": out_dir / EXPORT_NAME, "program": out_dir / PROGRAM_NAME,
            "weights": out_dir / WEIGHTS_NAME, "card": out_dir / CARD_NAME}
