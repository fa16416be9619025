"""The training loss: label-smoothed cross-entropy on plain tensors.

fastai's LabelSmoothingCrossEntropyFlat computes the same thing (eps/c times the summed
negative log-probabilities plus 1-eps times the negative log-likelihood), but wraps its
input in fastai's typed tensor, so every op of the loss and the backward call goes
through Python-level dispatch: a measurable share of a GPU step on small networks.
PyTorch's `label_smoothing` is that formula in one kernel. `activation` and `decodes`
are what fastai's `Learner.predict` and `get_preds` look for on a loss, so an exported
learner still returns probabilities and a class.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

LABEL_SMOOTHING = 0.1  # a frame caught between two moves is not a certain label


class SmoothedCrossEntropy(torch.nn.CrossEntropyLoss):
    def __init__(self, eps: float = LABEL_SMOOTHING):
        super().__init__(label_smoothing=eps)

    def activation(self, logits: torch.Tensor) -> torch.Tensor:
        return F.softmax(logits, dim=-1)

    def decodes(self, logits: torch.Tensor) -> torch.Tensor:
        return logits.argmax(dim=-1)
