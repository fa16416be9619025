"""Train/serve parity: the model card records how its frames were made, and score follows it.

A lake extracted every 2 s, posed and cleaned with settings other than the defaults, must
be scored the same way: every 2 s, with its pose settings and cleaning thresholds.
"""

from __future__ import annotations

import dataclasses
import shutil

import dagster as dg
import pandas as pd
import pytest

from dance_assets.core.curation.cleaning import CleaningThresholds
from dance_assets.core.curation.manifest import (
    CLEANING_RECORD,
    record_thresholds,
    recorded_thresholds,
)
from dance_assets.core.ingest.frames import fingerprint
from dance_assets.core.ingest.pose import PoseSettings
from dance_assets.core.ingest.video import ExtractionParams, FfmpegSettings, find_ffmpeg
from dance_assets.core.lake import tables
from dance_assets.core.lake.lake import Lake
from dance_assets.core.learning.card import FrameSetting, MadeWith, read_card
from dance_assets.core.learning.registry import extraction_fields, frames_made_with, pose_fields
from dance_assets.core.scoring import verdict
from dance_assets_tests.helpers import (
    materialize,
    model_card,
    register_classes,
    resources_for,
)

EVERY_2_S = ExtractionParams(interval_s=2)
TWO_PEOPLE = PoseSettings(max_people=2)
BLUR_RATIO = 0.1  # CleaningThresholds' default is 0.15
# The settings above as the frame_manifest and video_frames assets take them.
INGEST_CONFIG = {"interval_s": 2, "pose_max_people": 2}
CURATION_CONFIG = {"blur_ratio": BLUR_RATIO}


# --- fingerprints back to fields -------------------------------------------------------

def _none_default(kind: type) -> object:
    """`kind` with every field off its default, so each must be parsed back to match."""
    def other(value: object) -> object:
        if isinstance(value, bool):
            return not value
        return value + 1 if isinstance(value, int) else value / 2 + 0.01
    default = kind()
    return kind(**{f.name: other(getattr(default, f.name)) for f in dataclasses.fields(kind)})


def test_fingerprints_parse_back_to_the_settings_that_wrote_them():
    # A field added to ExtractionParams or PoseSettings fails here until registry.py's
    # fingerprint keys name it.
    for params in (ExtractionParams(), EVERY_2_S, _none_default(ExtractionParams)):
        assert extraction_fields(fingerprint(params)) == dataclasses.asdict(params)
    for settings in (PoseSettings(), TWO_PEOPLE, _none_default(PoseSettings)):
        assert pose_fields(settings.fingerprint()) == dataclasses.asdict(settings)


def test_a_pose_code_version_is_no_setting():
    stored = TWO_PEOPLE.fingerprint().replace("pose=v", "pose=v9")
    assert pose_fields(stored) == dataclasses.asdict(TWO_PEOPLE)


@pytest.mark.parametrize("stored", [
    None, float("nan"), "", "interval=2", "interval=two;short_side=256;q=3;skip_nonref=1",
    "interval=2;short_side=256;q=3;skip_nonref=yes",
    # a field this code does not know: the settings would be a guess
    "interval=2;short_side=256;q=3;skip_nonref=1;fps=30",
])
def test_an_unknown_extraction_fingerprint_gives_no_settings(stored):
    assert extraction_fields(stored) is None


def test_a_pose_fingerprint_with_a_field_of_another_format_gives_no_settings():
    assert pose_fields(TWO_PEOPLE.fingerprint() + ";tracker=1") is None


# --- the card's record of the training frames --------------------------------------------

def _extractions(*rows: tuple[str, ExtractionParams | None, PoseSettings | None]) -> pd.DataFrame:
    return pd.DataFrame([{
        "video_id": video_id, "status": "extracted" if params else "failed",
        "params": fingerprint(params) if params else None,
        "pose_params": pose.fingerprint() if pose else None} for video_id, params, pose in rows])


def test_mixed_settings_are_listed_and_the_majority_is_the_setting():
    extractions = _extractions(("a", EVERY_2_S, TWO_PEOPLE), ("b", ExtractionParams(), None),
                               ("c", EVERY_2_S, TWO_PEOPLE), ("d", None, None))
    made_with = frames_made_with(pd.Series(["b", "a", "a", "c", "b", "c", "d"]), extractions,
                                 {"blur_ratio": BLUR_RATIO})
    assert made_with == MadeWith(EVERY_2_S, TWO_PEOPLE, CleaningThresholds(blur_ratio=BLUR_RATIO), [
        FrameSetting(extraction=fingerprint(EVERY_2_S), pose=TWO_PEOPLE.fingerprint(),
                     training_frames=4),
        FrameSetting(extraction=fingerprint(ExtractionParams()), pose=None, training_frames=2),
        FrameSetting(extraction=None, pose=None, training_frames=1),  # no extraction record
    ])


def test_no_training_frames_record_no_settings():
    made_with = frames_made_with(pd.Series([], dtype=object), tables.empty_frame("extractions"),
                                 None)
    assert made_with == MadeWith(None, None, None, [])


def test_a_cleaning_record_of_another_version_keeps_what_this_one_knows():
    # A record from before a threshold existed, or naming one this version dropped.
    made_with = frames_made_with(pd.Series([], dtype=object), tables.empty_frame("extractions"),
                                 {"blur_ratio": BLUR_RATIO, "a_later_threshold": 1.0})
    assert made_with.cleaning_thresholds == CleaningThresholds(blur_ratio=BLUR_RATIO)


# --- the card's settings --------------------------------------------------------------------

def test_a_card_holds_the_defaults_for_what_the_lake_did_not_record():
    card = model_card()  # trained on frames whose pose settings the lake did not record
    assert card.extraction_params == EVERY_2_S
    assert card.pose_settings == PoseSettings() and card.training.defaulted == ["pose_settings"]
    assert card.cleaning_thresholds == CleaningThresholds(blur_ratio=BLUR_RATIO)


# --- frame_manifest's record of its thresholds ----------------------------------------------

def test_the_thresholds_record_belongs_to_the_manifest_it_built(tmp_path):
    lake = Lake.resolve(tmp_path / "lake")
    manifest = pd.DataFrame({"frame_id": ["v_00001", "v_00000"], "auto_reason": [None, "empty"]})
    assert recorded_thresholds(lake, manifest) is None  # a lake curated before the record
    thresholds = CleaningThresholds(blur_ratio=BLUR_RATIO)
    record_thresholds(lake, manifest, thresholds)
    assert recorded_thresholds(lake, manifest) == dataclasses.asdict(thresholds)
    rebuilt = manifest.assign(auto_reason=[None, None])  # another build's verdicts
    assert recorded_thresholds(lake, rebuilt) is None
    (lake.tables / CLEANING_RECORD).write_text("{half written")
    assert recorded_thresholds(lake, manifest) is None


# --- end to end: a lake extracted every 2 s is scored every 2 s ------------------------------

@pytest.mark.slow
def test_score_follows_the_card_of_a_lake_extracted_every_2_s(tmp_path, instance, tiny_raw,
                                                              monkeypatch):
    from dance_assets.assets.choreography import choreography
    from dance_assets.assets.curation import frame_manifest
    from dance_assets.assets.ingest import raw_videos, video_frames
    from dance_assets.assets.models import pose_sequence_model

    lake = Lake.resolve(tmp_path / "lake")
    shutil.copytree(tiny_raw, lake.raw)
    resources = resources_for(lake)
    for dance_class in register_classes(instance, lake):
        assert dg.materialize([raw_videos, video_frames], partition_key=dance_class,
                              instance=instance, resources=resources,
                              run_config={"ops": {"video_frames": {"config": INGEST_CONFIG}}},
                              ).success
    assert sorted(tables.read_table(lake, "frames")["second"].unique()) == [0, 2]
    assert materialize(
        [frame_manifest, choreography], instance=instance, resources=resources,
        run_config={"ops": {"frame_manifest": {"config": CURATION_CONFIG},
                            "choreography": {"config": {"min_seconds": 2}}}}).success
    assert materialize(
        [pose_sequence_model], partition_key="by_participant", instance=instance,
        resources=resources, run_config={"ops": {pose_sequence_model.op.name: {
            "config": {"epochs": 3, "significance": 1.0}}}}).success

    model = verdict.choose_model(lake, "pose_sequence", "by_participant")
    card = read_card(model.folder / "model_card.json")
    assert card == model.card and not card.training.defaulted
    assert card.extraction_params == EVERY_2_S and card.pose_settings == TWO_PEOPLE
    assert card.cleaning_thresholds == CleaningThresholds(blur_ratio=BLUR_RATIO)
    assert [s.extraction for s in card.training.frame_settings] == [fingerprint(EVERY_2_S)]

    used = _spy_on_scoring(monkeypatch)
    video = lake.raw / "savage" / "p01.mp4"
    result = verdict.classify(video, model, FfmpegSettings(find_ffmpeg()))
    assert result.per_second()["second"].tolist() == [0, 2]  # not 0, 1, 2, 3
    assert used == [TWO_PEOPLE, CleaningThresholds(blur_ratio=BLUR_RATIO)]
    # The same model with the default settings on its card: read with the defaults.
    defaults = card.model_copy(update={"extraction_params": ExtractionParams(),
                                       "pose_settings": PoseSettings(),
                                       "cleaning_thresholds": CleaningThresholds()})
    used.clear()
    result = verdict.classify(video, dataclasses.replace(model, card=defaults),
                              FfmpegSettings(find_ffmpeg()))
    assert result.per_second()["second"].tolist() == [0, 1, 2, 3]
    assert used == [PoseSettings(), CleaningThresholds()]


def _spy_on_scoring(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The pose settings and cleaning thresholds classify hands on, in order."""
    used: list[object] = []
    estimator, verdicts = verdict.estimator, verdict.automatic_verdicts

    def spy_estimator(settings):
        used.append(settings)
        return estimator(settings)

    def spy_verdicts(features, limits):
        used.append(limits)
        return verdicts(features, limits)

    monkeypatch.setattr(verdict, "estimator", spy_estimator)
    monkeypatch.setattr(verdict, "automatic_verdicts", spy_verdicts)
    return used
