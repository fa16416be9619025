"""The demo's clock: training time measured on this machine before the CNNs start."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dance_assets.core.lake.catalogue import duration_in_words
from dance_assets.core.learning.compute import ComputeSettings
from dance_assets.core.learning.estimate import TrainingPace, measure_pace
from dance_assets.core.learning.training import TrainSettings


def test_a_pace_is_multiplied_out_over_the_epochs_and_frames():
    pace = TrainingPace(arch="resnet18", batch_s=0.25, valid_frame_s=0.01)
    settings = TrainSettings(epochs=30, batch_size=32)
    # 700 training frames: 21 whole batches (the loader drops the rest), 180 validated
    # after each epoch and once more for the result.
    assert pace.seconds(settings, 700, 180) == pytest.approx(30 * (21 * 0.25 + 1.8) + 1.8)
    assert pace.seconds(replace(settings, epochs=60), 700, 180) > 1.9 * pace.seconds(
        settings, 700, 180)


def test_the_pace_of_a_real_learner_is_measured():
    settings = TrainSettings(epochs=1, image_size=64, batch_size=8, augment=True)
    pace = measure_pace("alexnet", settings, ComputeSettings(device="cpu"), n_classes=3)
    assert 0 < pace.batch_s < 10 and 0 < pace.valid_frame_s < pace.batch_s


@pytest.mark.parametrize(("seconds", "words"), [
    (3.2, "3 s"), (59.4, "59 s"), (61, "1 min"), (128, "2 min 10 s"), (3599, "1 h 00 min"),
    (5000, "1 h 23 min")])
def test_a_wait_in_words(seconds, words):
    assert duration_in_words(seconds) == words
