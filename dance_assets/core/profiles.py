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
    meant_for: str


PROFILES: dict[str, Profile] = {
    "tiny": Profile("tiny", 3, 3, 4, (180, 320), 64, 1, "tests"),
    "demo": Profile("demo", 12, 8, 10, (360, 640), 128, 3, "the README's first command on a CPU"),
    "paper": Profile("paper", 12, 20, 70, (720, 1280), 224, 10, "a GPU, the paper's setting"),
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise DanceAssetsError(
            f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}"
        ) from None
