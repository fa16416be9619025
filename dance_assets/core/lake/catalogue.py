"""The catalogue: the models the lake trains, the split protocols they train under, and
the defaults several stages share, each named once.

Everything else derives from it: the Dagster assets and partitions, the CLI's choices and
help text, training's per-architecture tables, score's default. It lives in core/lake,
the first stage, so that every stage may import it (dance_assets_tests/test_house.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from dance_assets.core.lake.errors import DanceAssetsError


@dataclass(frozen=True)
class Cnn:
    """A frame CNN: a torchvision architecture the study trained."""

    name: str
    # The smallest square image, in px, its layers do not shrink to nothing: AlexNet's
    # stride-4 stem and three poolings need 63, SqueezeNet's stem and poolings 21,
    # ResNet18's padded convolutions and adaptive pooling take any. A table, so that
    # refusing a size (in the run coordinator, before every run) builds no model;
    # dance_assets_tests/test_run_coordinator.py checks it against torchvision's models.
    min_image_size: int
    # The peak learning rate that trains it well when a run names none (measured on the
    # demo profile; core/learning/training.py has the rate for a body given batch norm).
    default_lr: float
    # Whether its body has a BatchNorm after every convolution already; from scratch,
    # training gives one to a body that has none (TrainSettings.batch_norm).
    own_batch_norm: bool


CNNS = (
    Cnn("alexnet", min_image_size=63, default_lr=3e-4, own_batch_norm=False),
    Cnn("resnet18", min_image_size=1, default_lr=3e-3, own_batch_norm=True),
    Cnn("squeezenet1_0", min_image_size=21, default_lr=3e-3, own_batch_norm=False),
)
ARCHITECTURES = tuple(cnn.name for cnn in CNNS)  # the frame CNNs
# The skeleton model: windows of normalised skeletons in, no image, no room, no outfit.
POSE_MODEL = "pose_sequence"
POSE_INPUT = "pose"  # its input, as its model card names it
MODEL_NAMES = (*ARCHITECTURES, POSE_MODEL)  # every classifier the lake trains

# The two split protocols. Each names a column of frame_manifest (split_<protocol>), a
# partition of every model and a folder of models.
RANDOM_FRAMES = "random_frames"  # the study's: each frame to a side at random
BY_PARTICIPANT = "by_participant"  # every dancer on one side: the honest test
PROTOCOLS = (RANDOM_FRAMES, BY_PARTICIPANT)
DEFAULT_PROTOCOL = BY_PARTICIPANT  # score's: a model that never saw the dancer
VALID_SHARE = 0.2  # of frames (random_frames) or of participants (by_participant)

# The longest ffmpeg may take over one video (probe, frames or sound) in ingest and score.
FFMPEG_TIMEOUT_S = 300.0
# Reading a teacher's or a lake video densely, or a whole song, on one thread.
FFMPEG_DENSE_TIMEOUT_S = 600.0


def cnn(name: str) -> Cnn:
    for known in CNNS:
        if known.name == name:
            return known
    raise DanceAssetsError(f"unknown architecture {name!r}; choose from "
                           f"{in_words(ARCHITECTURES)}")


def in_words(names: tuple[str, ...]) -> str:
    """'a, b or c': names as a sentence lists them."""
    return f"{', '.join(names[:-1])} or {names[-1]}" if len(names) > 1 else "".join(names)


def duration_in_words(seconds: float) -> str:
    """'45 s', '3 min 10 s', '1 h 05 min': a wait as a person reads it, to the second
    under a minute, to ten seconds under an hour."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    tens = round(seconds / 10) * 10
    if tens < 3600:
        minutes, rest = divmod(tens, 60)
        return f"{minutes} min {rest:02d} s" if rest else f"{minutes} min"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes:02d} min"
