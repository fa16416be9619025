"""The three sizes of the pipeline: tiny for tests, demo for a laptop, paper for a GPU."""

from __future__ import annotations

from dataclasses import dataclass

from dance_assets.core.errors import DanceAssetsError


@dataclass(frozen=True)
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

    def train_config(self) -> dict[str, object]:
        """TrainConfig values this profile runs with."""
        return {"epochs": self.epochs, "image_size": self.image_size,
                "batch_size": self.batch_size, "augment": self.augment}


PROFILES: dict[str, Profile] = {
    "tiny": Profile("tiny", 3, 3, 4, (180, 320), 64, 1, 8, False, "tests"),
    # From scratch on a CPU (no pretrained weights can be downloaded): more, smaller
    # steps than the study's, and no augmentation, which only slows such short training.
    "demo": Profile("demo", 12, 8, 10, (360, 640), 128, 8, 16, False,
                    "the README's first command on a CPU"),
    "paper": Profile("paper", 12, 20, 70, (720, 1280), 224, 10, 64, True,
                     "a GPU, the paper's setting"),
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise DanceAssetsError(
            f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}"
        ) from None
