"""The model card: typed, versioned, each setting prediction depends on held once, and a
card this version cannot read refused in one line that names the file and the field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from dance_assets.cli import main
from dance_assets.core.curation.cleaning import CleaningThresholds
from dance_assets.core.ingest.pose import PoseSettings
from dance_assets.core.ingest.video import ExtractionParams
from dance_assets.core.lake.artifacts import CARD_NAME, PROGRAM_NAME
from dance_assets.core.lake.catalogue import POSE_INPUT
from dance_assets.core.lake.errors import DanceAssetsError
from dance_assets.core.lake.lake import Lake
from dance_assets.core.learning.card import CARD_VERSION, read_card, write_card
from dance_assets.core.learning.inference import load_network
from dance_assets_tests.helpers import model_card

# What training wrote before the card had a type (version 1), abridged: `input` and
# `image_size` twice, the Launchpad config whole.
VERSION_1 = {"arch": "resnet18", "protocol": "by_participant", "classes": ["renegade"],
             "config": {"epochs": 1, "image_size": 64, "input": "frame"},
             "input": "frame", "image_size": 64, "extraction": []}


def _keys(value: object) -> Iterator[str]:
    """Every key of a JSON document, at any depth."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from _keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _keys(inner)


def _written(tmp_path: Path, document: object) -> Path:
    path = tmp_path / CARD_NAME
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def _refusal(path: Path) -> str:
    with pytest.raises(DanceAssetsError) as caught:
        read_card(path)
    message = str(caught.value)
    assert len(message.splitlines()) == 1 and message.startswith(f"{path}: "), message
    assert message.endswith(": train this model again"), message
    return message


def test_a_card_reads_back_as_it_was_written(tmp_path):
    card = model_card()
    write_card(tmp_path / CARD_NAME, card)
    assert read_card(tmp_path / CARD_NAME) == card
    assert card.version == CARD_VERSION == 2
    assert card.extraction_params == ExtractionParams(interval_s=2)
    assert card.cleaning_thresholds == CleaningThresholds(blur_ratio=0.1)
    # The lake had no record of the pose settings: the card holds the defaults and says so.
    assert card.pose_settings == PoseSettings()
    assert card.training.defaulted == ["pose_settings"]


def test_a_nan_in_the_history_reads_back_as_nan(tmp_path):
    epochs = model_card().training.history
    nan = epochs[0].model_copy(update={"valid_loss": float("nan")})
    write_card(tmp_path / CARD_NAME, model_card(training={"history": [nan, *epochs[1:]]}))
    history = read_card(tmp_path / CARD_NAME).training.history
    assert history[0].valid_loss != history[0].valid_loss and history[1] == epochs[1]


def test_what_prediction_depends_on_is_held_once():
    card = model_card()
    keys = list(_keys(json.loads(card.model_dump_json())))
    for name in ("input", "image_size", "window", "classes", "significance", "pretrained",
                 "extraction_params", "pose_settings", "cleaning_thresholds"):
        assert keys.count(name) == 1, name
    assert (card.input, card.image_size, card.window) == ("frame", 64, None)
    # The Launchpad config's other fields are the record's settings.
    assert card.training.settings == {"epochs": 1, "batch_size": 8, "augment": False,
                                      "lr": None}
    assert (card.training.significance, card.training.pretrained) == (1.0, False)


def test_a_pose_model_has_a_window_and_no_image_size(tmp_path):
    card = model_card(input=POSE_INPUT, image_size=None, window=3)
    write_card(tmp_path / CARD_NAME, card)
    assert read_card(tmp_path / CARD_NAME).window == 3
    document = json.loads(card.model_dump_json())
    path = _written(tmp_path, {**document, "window": None})
    assert "'window' must be set" in _refusal(path)
    path = _written(tmp_path, {**document, "input": "frame"})
    assert "'image_size' must be set" in _refusal(path)


def _document(**changes: object) -> dict:
    return {**json.loads(model_card().model_dump_json()), **changes}


def test_a_missing_field_is_named(tmp_path):
    document = _document()
    del document["classes"]
    path = _written(tmp_path, document)
    assert _refusal(path) == f"{path}: field 'classes' is missing: train this model again"
    document = _document()
    del document["training"]["trained_at"]
    message = _refusal(_written(tmp_path, document))
    assert f"{path}: field 'training.trained_at' is missing:" in message


@pytest.mark.parametrize(("changes", "field"), [
    ({"classes": "renegade"}, "classes"),
    ({"image_size": "64"}, "image_size"),  # a string is no number, however it reads
    ({"image_size": 0}, "image_size"),
    ({"input": "video"}, "input"),
    ({"pose_settings": {"max_people": 2.5}}, "pose_settings.max_people"),
])
def test_a_field_of_the_wrong_type_is_named(tmp_path, changes, field):
    message = _refusal(_written(tmp_path, _document(**changes)))
    assert f"field '{field}' is invalid" in message


def test_a_field_no_card_has_is_named(tmp_path):
    message = _refusal(_written(tmp_path, _document(config={"epochs": 1})))
    assert "field 'config' is not one a card of version 2 has" in message


def test_an_unknown_version_is_named(tmp_path):
    message = _refusal(_written(tmp_path, _document(version=3)))
    assert "field 'version' is 3" in message
    message = _refusal(_written(tmp_path, VERSION_1))  # the untyped card had no version
    assert "field 'version' is missing" in message


@pytest.mark.parametrize("text", ["{half written", "", "[1, 2]"])
def test_what_is_not_a_json_object_is_refused(tmp_path, text):
    message = _refusal(_written(tmp_path, text))
    assert "not JSON" in message or "not a JSON object" in message


def test_an_unreadable_card_stops_loading_the_model(tmp_path):
    (tmp_path / PROGRAM_NAME).write_bytes(b"no network: the card is read first")
    path = _written(tmp_path, VERSION_1)
    with pytest.raises(DanceAssetsError, match=f"^{path}: field 'version' is missing"):
        load_network(tmp_path)


def test_score_says_in_one_line_which_card_to_retrain(tmp_path, capsys):
    lake = Lake.resolve(tmp_path / "lake")
    folder = lake.model_dir("by_participant", "resnet18")
    folder.mkdir(parents=True)
    (folder / CARD_NAME).write_text(json.dumps(VERSION_1))
    video = tmp_path / "her.mp4"
    video.write_bytes(b"")
    assert main(["score", str(video), "--lake", str(lake.root)]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error == [f"error: {folder / CARD_NAME}: field 'version' is missing (a card from "
                     "before cards had versions): train this model again"]

