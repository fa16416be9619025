"""The model card: everything prediction depends on, once, and the record of the training.

Training writes it beside model.onnx (artifacts.CARD_NAME); evaluation, the registry of
current models (core/learning/registry.py) and `score` read it, by attribute. What a model
needs to be run: its classes, its input (frame, dancer, silhouette, or pose windows), the
image size (CNNs) or the window (the pose model), and how its training frames were
extracted, posed and cleaned, so that a dancer's video is read the same way. The rest,
`training`, says how it was trained: architecture, protocol, when, the settings, the
scores, the history, what it trained on, the package versions.

Version 1 was the untyped dictionary that kept `input` and `image_size` twice (top level
and inside its config) and let each reader fill in what it lacked; it is refused, as is a
card with a field missing or of the wrong type: one line names the file and the field,
and retraining the model writes a card of this version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Literal, NoReturn, TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, model_validator

from dance_assets.core.curation.cleaning import CleaningThresholds
from dance_assets.core.ingest.pose import PoseSettings
from dance_assets.core.ingest.video import ExtractionParams
from dance_assets.core.lake.catalogue import POSE_INPUT
from dance_assets.core.lake.errors import DanceAssetsError
from dance_assets.core.lake.lake import atomic_write_text
from dance_assets.core.learning.frame_images import INPUT_MODES
from dance_assets.core.learning.learners import TrainResult

CARD_VERSION = 2
Input = Literal[(*INPUT_MODES, POSE_INPUT)]  # type: ignore[valid-type]
Settings = TypeVar("Settings", ExtractionParams, PoseSettings, CleaningThresholds)
RECORDED_SETTINGS = ("extraction_params", "pose_settings", "cleaning_thresholds")


class _Part(BaseModel):
    """Every part of a card: no field it does not declare, NaN written as NaN (a history
    can hold one) so that what is read back is what was written."""

    model_config = ConfigDict(extra="forbid", frozen=True, ser_json_inf_nan="constants")


class FinalScores(_Part):
    accuracy: float  # validation frames
    valid_loss: float
    video_accuracy: float  # a video's frames vote by mean probability
    video_correct: int  # what the accuracy check tests: videos, not frames
    valid_videos: int


class Epoch(_Part):
    """One row of the training history (core/learning/callbacks.py EpochReporter)."""

    epoch: int
    frozen: bool  # head-only (fine_tune's first epochs)
    train_loss: float
    valid_loss: float
    accuracy: float
    seconds: float


class FrameSetting(_Part):
    """One way the training frames were made (fingerprints of the `extractions` table)
    and how many training frames were made that way; None where the lake has no record."""

    extraction: str | None
    pose: str | None
    training_frames: int


class TrainingRecord(_Part):
    """How the model was trained: nothing here changes how it predicts."""

    arch: str
    protocol: str
    trained_at: str  # ISO 8601, UTC; model_metrics ties an evaluation to it
    # The Launchpad config's other fields (epochs, lr asked for, batch_size, seed...).
    settings: dict[str, JsonValue]
    significance: float  # the accuracy check's p-value (evaluation checks it again)
    pretrained: bool  # from ImageNet weights
    lr_used: float
    train_frames: int
    valid_frames: int
    device: str
    seconds: float
    first_batch_loss: float | None
    final: FinalScores
    history: list[Epoch]
    manifest_sha256: str  # frame_manifest's kept frames and this protocol's sides
    # Every way the training frames were made, most frames first; the card's settings
    # are those of the first.
    frame_settings: list[FrameSetting]
    # Settings the lake had no record of (frames ingested or curated by an older
    # version): the card holds their defaults, which is what score uses.
    defaulted: list[Literal[RECORDED_SETTINGS]]  # type: ignore[valid-type]
    versions: dict[str, str]  # package → version


class ModelCard(_Part):
    """Everything prediction depends on, each once, and the training record."""

    version: Literal[2] = CARD_VERSION
    classes: list[str] = Field(min_length=1)  # in the order of the model's outputs
    input: Input
    image_size: int | None = Field(ge=1)  # square input of a CNN; None for the pose model
    window: int | None = Field(ge=1)  # seconds per window of the pose model; else None
    fast_path: str  # how training ran: compute.fast_path_mode's word for it
    extraction_params: ExtractionParams
    pose_settings: PoseSettings
    cleaning_thresholds: CleaningThresholds
    training: TrainingRecord

    @model_validator(mode="after")
    def _sized_for_its_input(self) -> ModelCard:
        pose = self.input == POSE_INPUT
        if pose and (self.window is None or self.image_size is not None):
            raise ValueError("field 'window' must be set and 'image_size' empty for pose input")
        if not pose and (self.image_size is None or self.window is not None):
            raise ValueError(f"field 'image_size' must be set and 'window' empty for "
                             f"{self.input} input")
        return self


@dataclass(frozen=True)
class MadeWith:
    """How a model's training frames were made, as the lake recorded it (registry.py
    frames_made_with); a setting is None where the lake has no record of it."""

    extraction_params: ExtractionParams | None
    pose_settings: PoseSettings | None
    cleaning_thresholds: CleaningThresholds | None
    frame_settings: list[FrameSetting]


def settings_from(recorded: dict, kind: type[Settings]) -> Settings:
    """`kind` from a record of its fields; a field the record lacks keeps its default,
    one this code does not know is left out."""
    return kind(**{f.name: recorded[f.name] for f in fields(kind) if f.name in recorded})


def trained_card(result: TrainResult, config: dict, made_with: MadeWith, *, arch: str,
                 protocol: str, manifest_sha256: str, packages: tuple[str, ...],
                 input: str, image_size: int | None = None,
                 window: int | None = None) -> ModelCard:
    """The card of a model just trained. `config`: its Launchpad config, whose fields the
    card holds elsewhere (input, image_size, window, significance, pretrained) are not
    repeated in `training.settings`."""
    held = set(ModelCard.model_fields) | set(TrainingRecord.model_fields)
    defaults = {"extraction_params": ExtractionParams(), "pose_settings": PoseSettings(),
                "cleaning_thresholds": CleaningThresholds()}
    recorded = {name: getattr(made_with, name) for name in RECORDED_SETTINGS}
    return ModelCard(
        classes=result.classes, input=input, image_size=image_size, window=window,
        fast_path=result.fast_path,
        **{name: value or defaults[name] for name, value in recorded.items()},
        training=TrainingRecord(
            arch=arch, protocol=protocol,
            trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
            settings={k: v for k, v in config.items() if k not in held},
            significance=config["significance"], pretrained=config.get("pretrained", False),
            lr_used=result.lr, train_frames=result.n_train, valid_frames=result.n_valid,
            device=result.device, seconds=round(result.seconds, 2),
            first_batch_loss=result.first_batch_loss,
            final=FinalScores(accuracy=result.accuracy, valid_loss=result.valid_loss,
                              video_accuracy=result.video_accuracy,
                              video_correct=result.video_correct,
                              valid_videos=result.n_valid_videos),
            history=result.history.to_dict("records"), manifest_sha256=manifest_sha256,
            frame_settings=made_with.frame_settings,
            defaulted=[name for name, value in recorded.items() if value is None],
            versions={package: version(package) for package in packages}))


def write_card(path: Path, card: ModelCard) -> None:
    atomic_write_text(path, card.model_dump_json(indent=2) + "\n")


def read_card(path: Path) -> ModelCard:
    """The card at `path`, or a DanceAssetsError in one line naming the file and the
    field when it is no card of this version."""
    try:
        text = path.read_text()
    except OSError as exc:
        _refuse(path, f"cannot be read ({exc.strerror})")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        _refuse(path, f"not JSON ({exc.msg}, line {exc.lineno})")
    if not isinstance(data, dict):
        _refuse(path, "not a JSON object")
    if "version" not in data:
        _refuse(path, "field 'version' is missing (a card from before cards had versions)")
    if data["version"] != CARD_VERSION:
        _refuse(path, f"field 'version' is {data['version']!r}, which this version of "
                f"dance-assets does not read (it reads {CARD_VERSION})")
    try:
        return ModelCard.model_validate_json(text, strict=True)
    except ValidationError as exc:
        errors = exc.errors()
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        _refuse(path, _problem(errors[0]) + more)


def _problem(error: dict) -> str:
    """One pydantic error as a phrase naming the field."""
    field = ".".join(str(part) for part in error["loc"])
    if error["type"] == "missing":
        return f"field '{field}' is missing"
    if error["type"] == "extra_forbidden":
        return f"field '{field}' is not one a card of version {CARD_VERSION} has"
    if not field:  # a check across fields names them itself
        return error["msg"].removeprefix("Value error, ")
    found = error.get("input")
    shown = "" if isinstance(found, dict | list) else f", found {json.dumps(found)[:40]}"
    return f"field '{field}' is invalid ({error['msg'].lower()}{shown})"


def _refuse(path: Path, problem: str) -> NoReturn:
    raise DanceAssetsError(f"{path}: {problem}: train this model again")
