"""What decides one generated video: a VideoSpec (the dance, the dancer, the
frames' troubles, the sound, and for teachers and students the lesson's timing), and
where its file and its sidecar of truth are written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dance_assets.core.ingest.ingest import SIDECAR_SUFFIX
from dance_assets.core.synthetic.dancers import Participant
from dance_assets.core.synthetic.sound import Soundtrack


@dataclass(frozen=True)
class Splice:
    """Seconds [start_s, end_s) in which the dancer dances another dance's moves on her own
    clock, then picks her routine up again where her clock has got to (friends keep to
    the routine): a lapse a scorer should find, not a shift of her timing."""

    start_s: float
    end_s: float
    dance: str


@dataclass(frozen=True)
class Lesson:
    """A teacher's or a student's video: the timing truth its sidecar adds.

    The student's video at time t shows the teacher's routine at the teacher's time
    tau = tempo * (t - offset_s). A positive offset means she is late; a tempo above 1
    that she dances faster. In beats: her bpm is tempo * the teacher's, and her phase
    the teacher's minus tempo * offset_s * the teacher's bpm / 60 (often negative).
    """

    role: str  # "teacher" or "student"
    teacher: str | None = None  # the teacher video's file name, beside the student's
    offset_s: float | None = None
    tempo: float | None = None


@dataclass(kw_only=True, frozen=True)
class VideoSpec:
    """Everything that decides one generated video's frames, and its lesson truth."""

    dance: str
    participant: Participant
    seconds: float
    width: int
    height: int
    style: str = "none"  # none | clone | disco
    empty_seconds: tuple[int, ...] = ()
    noise_seconds: tuple[int, ...] = ()
    noise_seed: int = 0
    handheld: bool = False  # the camera drifts, shakes, rolls and zooms
    others: tuple[Participant, ...] = ()  # people dancing the same dance beside the dancer
    card_seconds: tuple[int, ...] = ()  # a title or outro card: no scene at all
    still_seconds: tuple[int, ...] = ()  # the dancer stands still, waiting to start
    motion_blur: bool = False  # fast limbs smear over the shutter time
    bitrate_kbps: int | None = None  # a phone's bitrate instead of constant quality
    splice: Splice | None = None  # the dancer's seconds of another dance's moves
    lesson: Lesson | None = None  # teachers and students only: sidecar keys of their own
    sound: Soundtrack | None = None  # the music it carries; None: no audio stream


def video_path(raw: Path, spec: VideoSpec) -> Path:
    return raw / spec.dance / f"{spec.participant.name}.mp4"


def sidecar_path(video: Path) -> Path:
    return video.with_name(video.stem + SIDECAR_SUFFIX)
