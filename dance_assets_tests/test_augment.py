"""Batch augmentation on the device, and the plain-tensor loss that replaced fastai's."""

from __future__ import annotations

import torch

from dance_assets.core.learning.augment import Augmentation, augment, colour_matrices, image_batch
from dance_assets.core.learning.losses import SmoothedCrossEntropy

NOTHING = Augmentation(flip=0, p_affine=0, min_crop_area=1.0, p_lighting=0, p_hue=0,
                       p_saturation=0)


def _frames(n: int = 6, size: int = 32) -> torch.Tensor:
    return torch.randint(0, 256, (n, 3, size, size), generator=torch.Generator().manual_seed(1),
                         dtype=torch.uint8)


def test_augmenting_never_reads_a_value_back_to_the_host():
    # Tensors on the meta device have shapes and no values: any .item(), bool(tensor) or
    # data-dependent shape (each a wait for the GPU) fails there.
    out = image_batch(torch.empty(8, 3, 64, 64, dtype=torch.uint8, device="meta"),
                      augmented=True, channels_last=True)
    assert out.shape == (8, 3, 64, 64) and out.device.type == "meta"


def test_with_every_probability_zero_the_batch_is_unchanged():
    x = _frames().float() / 255
    assert torch.allclose(augment(x, NOTHING), x, atol=1e-4)


def test_a_flip_mirrors_and_nothing_else_changes():
    x = _frames().float() / 255
    flipped = augment(x, Augmentation(**{**NOTHING.__dict__, "flip": 1.0}))
    assert torch.allclose(flipped, x.flip(-1), atol=1e-4)


def test_hue_and_saturation_leave_grey_grey_and_vary_each_image_on_its_own():
    torch.manual_seed(0)
    matrices = colour_matrices(64, Augmentation(p_hue=1.0, p_saturation=1.0), torch.device("cpu"))
    grey = torch.full((3,), 0.5)
    assert torch.allclose(matrices @ grey, grey.expand(64, 3), atol=1e-5)
    assert len({round(float(m[0, 1]), 4) for m in matrices}) > 32


def test_augmented_batches_vary_with_the_seed_and_repeat_with_it():
    x = _frames()

    def batch(seed: int) -> torch.Tensor:
        torch.manual_seed(seed)
        return image_batch(x, augmented=True, channels_last=False)

    assert torch.equal(batch(3), batch(3)) and not torch.equal(batch(3), batch(4))
    plain = image_batch(x, augmented=False, channels_last=True)
    assert plain.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(plain.mean(), image_batch(x, False, False).mean())


def test_the_loss_is_fastais_label_smoothing_on_plain_tensors():
    from fastai.losses import LabelSmoothingCrossEntropyFlat

    logits = torch.randn(16, 12, generator=torch.Generator().manual_seed(2))
    labels = torch.arange(16) % 12
    ours = SmoothedCrossEntropy()
    assert torch.allclose(ours(logits, labels),
                          LabelSmoothingCrossEntropyFlat()(logits, labels).as_subclass(
                              torch.Tensor), atol=1e-6)
    assert torch.allclose(ours.activation(logits).sum(1), torch.ones(16))
    assert torch.equal(ours.decodes(logits), logits.argmax(1))
