"""Which models exist in the lake, which of them are evaluated as they are now, and how
their training frames were made.

A retrain that its accuracy check blocks leaves a new model card beside the old
model's evaluation rows (predictions, metrics). Everything that reads evaluations
(the comparison, the review queue, the choice of a model for scoring) must keep only
rows of the models as they are now; this module is where that is decided.

A model only knows frames made one way: extracted at one interval and size, posed with
one set of pose settings, cleaned with one set of thresholds. `frames_made_with` reads
them back from the lake's records for the card (core/learning/card.py), and `score`
reads a dancer's video with the card's.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TypeVar

import pandas as pd

from dance_assets.core.curation.cleaning import CleaningThresholds
from dance_assets.core.ingest.pose import PoseSettings
from dance_assets.core.ingest.video import ExtractionParams
from dance_assets.core.lake import tables
from dance_assets.core.lake.artifacts import CARD_NAME
from dance_assets.core.lake.catalogue import MODEL_NAMES, PROTOCOLS
from dance_assets.core.lake.lake import Lake
from dance_assets.core.learning.card import (
    FrameSetting,
    MadeWith,
    ModelCard,
    read_card,
    settings_from,
)
from dance_assets.core.learning.learners import significantly_above_chance

ModelKey = tuple[str, str]  # (protocol, arch)
Fingerprinted = TypeVar("Fingerprinted", ExtractionParams, PoseSettings)


def read_cards(lake: Lake) -> dict[ModelKey, ModelCard]:
    """Every trained model's card, keyed by (protocol, arch); a card this version cannot
    read is refused in one line (card.read_card)."""
    cards = {}
    for protocol in PROTOCOLS:
        for arch in MODEL_NAMES:
            path = lake.model_dir(protocol, arch) / CARD_NAME
            if path.is_file():
                cards[(protocol, arch)] = read_card(path)
    return cards


def current_evaluations(metrics: pd.DataFrame,
                        cards: dict[ModelKey, ModelCard]) -> pd.DataFrame:
    """Rows of `model_metrics` that evaluate the models as they are now."""
    if metrics.empty:
        return metrics
    trained_at = {key: card.training.trained_at for key, card in cards.items()}
    trained = metrics.apply(lambda r: trained_at.get((r["protocol"], r["arch"])), axis=1)
    return metrics[metrics["model_trained_at"] == trained]


def of_current_models(rows: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """The rows (predictions, confusion...) of the models that `current` evaluates."""
    keys = current[["protocol", "arch"]].drop_duplicates()
    return rows.merge(keys, on=["protocol", "arch"])[rows.columns]


def current_models(lake: Lake) -> pd.DataFrame:
    """`model_metrics` rows of the lake's models as they are now."""
    return current_evaluations(tables.read_table(lake, "model_metrics"), read_cards(lake))


def model_status(cards: dict[ModelKey, ModelCard], current: pd.DataFrame, protocol: str,
                 arch: str) -> str:
    """Whether a model is trained, and evaluated as it is now, in words for a person."""
    if (protocol, arch) not in cards:
        return "not trained"
    if ((current["protocol"] == protocol) & (current["arch"] == arch)).any():
        return "evaluated"
    return "not evaluated (accuracy not clearly above chance)"


# How ExtractionParams.fingerprint() and PoseSettings.fingerprint() name each field. The
# `extractions` table keeps only those strings; parsed back, each is checked by
# rebuilding it, so a format this code does not know yields no settings, never a guess.
_EXTRACTION_KEYS = {"interval": "interval_s", "short_side": "short_side",
                    "q": "jpeg_quality", "skip_nonref": "skip_nonref"}
_POSE_KEYS = {"det": "min_detection_confidence", "torso": "min_torso_visibility",
              "people": "max_people", "zoom": "zoom_when_missed",
              "inside": "min_inside_share", "height": "min_height"}
# Keys that are code versions, no settings: frames.fingerprint's feature version after the
# extraction settings, the pose code's version before the pose settings.
_EXTRACTION_VERSIONS = frozenset({"features"})
_POSE_VERSIONS = frozenset({"pose"})


def _pairs(fingerprint: str) -> dict[str, str]:
    """A fingerprint's key=value parts, so that two compare whatever their order."""
    return dict(part.split("=", 1) for part in fingerprint.split(";") if "=" in part)


def _typed(default: object, text: str) -> object:
    """A fingerprint's value as its field's type (booleans are written 0 or 1)."""
    if isinstance(default, bool):
        if text not in ("0", "1"):
            raise ValueError(text)
        return text == "1"
    return type(default)(text)


def _settings_fields(fingerprint: str | None, kind: type[Fingerprinted], keys: dict[str, str],
                    versions: frozenset[str]) -> dict | None:
    """The fields of `kind` that a fingerprint string names; None when it cannot say.

    The settings parsed must write the very fingerprint stored, code versions aside: a key
    this code does not know, or a field it does not parse, gives None, never a guess.
    """
    if not isinstance(fingerprint, str):
        return None
    stored, default = _pairs(fingerprint), kind()
    try:
        settings = kind(**{field: _typed(getattr(default, field), stored[key])
                           for key, field in keys.items()})
    except (KeyError, ValueError, TypeError):
        return None
    rebuilt = _pairs(settings.fingerprint())
    for pairs in (stored, rebuilt):
        for version in versions:
            pairs.pop(version, None)
    return asdict(settings) if rebuilt == stored else None


def extraction_fields(fingerprint: str | None) -> dict | None:
    """ExtractionParams' fields from an `extractions.params` string."""
    return _settings_fields(fingerprint, ExtractionParams, _EXTRACTION_KEYS, _EXTRACTION_VERSIONS)


def pose_fields(fingerprint: str | None) -> dict | None:
    """PoseSettings' fields from an `extractions.pose_params` string."""
    return _settings_fields(fingerprint, PoseSettings, _POSE_KEYS, _POSE_VERSIONS)


def frames_made_with(training_videos: pd.Series, extractions: pd.DataFrame,
                     cleaning: dict | None) -> MadeWith:
    """How a model's training frames were extracted, posed and cleaned, for its card.

    `training_videos` holds the video_id of each training frame. Frames of one lake may
    have been extracted or posed with different settings (a config changed between two
    ingests): `frame_settings` lists every combination with its training frames, most
    first, and `extraction_params` and `pose_settings` are those of most training frames.
    Score reads a dancer's video as most of what the model learned from was made, rather
    than refusing: the card shows the mixture for whoever wants to retrain on one setting.
    `cleaning`: frame_manifest's record of its thresholds, None where the lake has none.
    """
    done = (extractions[extractions["status"] == "extracted"]
            .drop_duplicates("video_id").set_index("video_id"))
    frames = pd.DataFrame({"extraction": training_videos.map(done["params"]),
                           "pose": training_videos.map(done["pose_params"])})
    counts = (frames.groupby(["extraction", "pose"], dropna=False).size()
              .sort_values(ascending=False, kind="stable"))
    listed = [FrameSetting(extraction=_text(extraction), pose=_text(pose),
                           training_frames=int(n))
              for (extraction, pose), n in counts.items()]
    most = listed[0] if listed else FrameSetting(extraction=None, pose=None, training_frames=0)
    extraction, pose = extraction_fields(most.extraction), pose_fields(most.pose)
    return MadeWith(
        extraction_params=ExtractionParams(**extraction) if extraction else None,
        pose_settings=PoseSettings(**pose) if pose else None,
        cleaning_thresholds=(settings_from(cleaning, CleaningThresholds)
                             if cleaning is not None else None),
        frame_settings=listed)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None  # NaN: a frame with no such record


def accuracy_check(card: ModelCard) -> tuple[bool, float]:
    """The blocking accuracy check's verdict on a trained model, read from its card:
    whether its validation videos beat guessing at the card's significance, and p."""
    final = card.training.final
    return significantly_above_chance(final.video_correct, final.valid_videos,
                                      len(card.classes), card.training.significance)


def trained_as_asked(card: ModelCard, config: dict[str, object], manifest_sha256: str) -> bool:
    """Whether the model of `card` was trained on exactly these frames and sides
    (`manifest_sha256`: manifest.manifest_fingerprint) with every setting of `config` (a
    Launchpad config, every field): seeded, training it again gives the same model."""
    recorded = {**card.training.settings, "input": card.input, "image_size": card.image_size,
                "window": card.window, "significance": card.training.significance,
                "pretrained": card.training.pretrained}
    missing = object()
    return card.training.manifest_sha256 == manifest_sha256 and all(
        recorded.get(name, missing) == value for name, value in config.items())
