"""Running a trained model's model.onnx with ONNX Runtime: what evaluation and scoring use.

The exported graph takes uint8 frames and returns class probabilities, input scaling
included, so predicting needs neither torch nor fastai. Importing torch alone costs
seconds, which the scoring command, a fresh process per video, cannot afford; and
evaluation thereby measures exactly the artifact that scores dancers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dance_assets.core.lake.artifacts import CARD_NAME, PROGRAM_NAME
from dance_assets.core.lake.errors import DanceAssetsError
from dance_assets.core.learning.card import ModelCard, read_card

if TYPE_CHECKING:
    import onnxruntime


@dataclass(frozen=True)
class Network:
    """A trained model ready to predict: its ONNX Runtime session and its card."""

    session: onnxruntime.InferenceSession
    card: ModelCard

    @property
    def classes(self) -> list[str]:
        return self.card.classes


def load_network(model_dir: Path) -> Network:
    """model.onnx and the model card of a trained model, on the CPU."""
    import onnxruntime

    path = model_dir / PROGRAM_NAME
    if not path.is_file() or not (model_dir / CARD_NAME).is_file():
        raise DanceAssetsError(f"no trained model in {model_dir} (no {PROGRAM_NAME}): "
                               "train it again")
    card = read_card(model_dir / CARD_NAME)  # refused before the session is built
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return Network(session, card)


def predict_images(network: Network, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Class probabilities (N × classes) for N×S×S×3 uint8 frames."""
    channels_first = np.ascontiguousarray(images.transpose(0, 3, 1, 2))
    outputs = [network.session.run(None, {"images": channels_first[i:i + batch_size]})[0]
               for i in range(0, len(channels_first), batch_size)]
    if not outputs:
        return np.zeros((0, len(network.classes)), dtype=np.float32)
    return np.concatenate(outputs)


def predict_windows(network: Network, windows: np.ndarray,
                    batch_size: int = 4096) -> np.ndarray:
    """Class probabilities (N × classes) for N skeleton windows of a pose model."""
    name = network.session.get_inputs()[0].name
    outputs = [network.session.run(None, {name: windows[i:i + batch_size]})[0]
               for i in range(0, len(windows), batch_size)]
    if not outputs:
        return np.zeros((0, len(network.classes)), dtype=np.float32)
    return np.concatenate(outputs)
