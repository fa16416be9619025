"""The three sizes of the pipeline: tiny for tests, demo for a laptop, paper for a GPU."""

from __future__ import annotations

from dataclasses import dataclass

from dance_assets.core.lake.errors import DanceAssetsError


@dataclass(kw_only=True, frozen=True)
class Profile:
    name: str
    classes: int
    participants: int
    seconds: float
    video_size: tuple[int, int]  # width, height: 9:16 like a phone held upright
    image_size: int  # training resolution
    epochs: int
    batch_size: int
    augment: bool
    meant_for: str
    input: str = "frame"  # what the CNNs see: frame, dancer or silhouette (frame_images)
    pretrained: bool = False  # fine-tune ImageNet weights (core/learning/weights.py finds them)
    # Architectures that need larger inputs than image_size (from scratch, SqueezeNet's
    # early pooling leaves a 96-pixel input too little: benchmarks/results/README.md).
    image_size_for: tuple[tuple[str, int], ...] = ()
    head_dropout: float = 0.5  # fastai's default, made for fine-tuning

    def train_config(self, arch: str) -> dict[str, object]:
        """TrainConfig values this profile trains `arch` with."""
        return {"epochs": self.epochs,
                "image_size": dict(self.image_size_for).get(arch, self.image_size),
                "batch_size": self.batch_size, "augment": self.augment, "input": self.input,
                "pretrained": self.pretrained, "head_dropout": self.head_dropout}


PROFILES: dict[str, Profile] = {
    "tiny": Profile(name="tiny", classes=3, participants=3, seconds=4, video_size=(180, 320),
                    image_size=64, epochs=1, batch_size=8, augment=False, meant_for="tests"),
    # From scratch on a 2-core CPU in minutes: the dancer's silhouette in a small square
    # (measured against whole frames and plain crops under by_participant: see
    # benchmarks/results/README.md), augmented; SqueezeNet's pooling needs more pixels
    # than the others. Half fastai's head dropout: with 0.5 the networks still underfit
    # after 30 epochs.
    "demo": Profile(name="demo", classes=12, participants=8, seconds=10, video_size=(360, 640),
                    image_size=96, epochs=30, batch_size=32, augment=True,
                    meant_for="the README's demo command on a CPU", input="silhouette",
                    image_size_for=(("squeezenet1_0", 112),), head_dropout=0.25),
    # The study's setting: whole frames, 224 px, ImageNet weights, fine_tune(10).
    "paper": Profile(name="paper", classes=12, participants=20, seconds=70, video_size=(720, 1280),
                     image_size=224, epochs=10, batch_size=64, augment=True,
                     meant_for="a GPU, the paper's setting", input="frame", pretrained=True),
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise DanceAssetsError(
            f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}"
        ) from None
