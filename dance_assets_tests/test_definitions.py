"""The code location loads the way `dagster dev -w workspace.yaml` loads it."""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

import dagster as dg
import pytest
import yaml

from dance_assets.core.lake.catalogue import MODEL_NAMES, PROTOCOLS
from dance_assets.definitions import defs


def test_definitions_load_and_validate():
    dg.Definitions.validate_loadable(defs)
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    models = {f"models/{m}" for m in MODEL_NAMES}
    assert keys == {"raw_videos", "video_frames", "music", "frame_manifest", "choreography",
                    "model_comparison", "review_queue", *models,
                    *(m.replace("models/", "evaluation/") for m in models)}
    jobs = {name: defs.resolve_job_def(name) for name in ("ingest", "beats", "curation",
                                                           "training", "reports")}
    assert jobs["ingest"].partitions_def.name == jobs["beats"].partitions_def.name == \
        "dance_classes"
    assert jobs["training"].partitions_def.get_partition_keys() == list(PROTOCOLS)
    assert {s.name for s in defs.sensors} == {"new_videos_sensor", "automation"}
    for sensor in defs.sensors:
        assert defs.resolve_sensor_def(sensor.name).name == sensor.name
    assert not defs.schedules  # nightly retraining is an automation condition, not a schedule


def test_workspace_points_at_the_definitions_module():
    workspace = yaml.safe_load((Path(__file__).parents[1] / "workspace.yaml").read_text())
    (entry,) = workspace["load_from"]
    assert entry["python_module"]["module_name"] == "dance_assets.definitions"


def test_the_ui_shows_each_tables_columns_and_where_each_asset_is_defined():
    from dance_assets.core.lake.tables import SCHEMAS

    graph = defs.resolve_asset_graph()
    writes = {"raw_videos": "videos", "video_frames": "frames", "music": "music",
              "frame_manifest": "frame_manifest", "choreography": "choreography",
              "models/resnet18": "training_history", "models/pose_sequence":
              "training_history", "evaluation/pose_sequence": "predictions",
              "review_queue": "review_queue"}
    for key, table in writes.items():
        metadata = graph.get(dg.AssetKey.from_user_string(key)).metadata
        columns = [c.name for c in metadata["dagster/column_schema"].columns]
        assert columns == SCHEMAS[table].names, key
    for key in graph.get_all_asset_keys():
        references = graph.get(key).metadata["dagster/code_references"].code_references
        assert references and Path(references[0].file_path).is_file(), key
        assert graph.get(key).owners == ["team:dance-ml"], key


def _core_defaults(settings: type) -> dict[str, object]:
    return {f.name: f.default for f in dataclasses.fields(settings)
            if f.default is not dataclasses.MISSING}


@pytest.mark.parametrize(("config", "settings", "renamed"), [
    ("dance_assets.assets.models:TrainConfig",
     "dance_assets.core.learning.training:TrainSettings", {}),
    ("dance_assets.assets.models:PoseModelConfig",
     "dance_assets.core.learning.pose_model:PoseModelSettings", {}),
    ("dance_assets.assets.curation:CurationConfig",
     "dance_assets.core.curation.cleaning:CleaningThresholds", {}),
    ("dance_assets.assets.curation:CurationConfig",
     "dance_assets.core.curation.manifest:ManifestSettings", {"seed": "split_seed"}),
    ("dance_assets.assets.ingest:FrameExtractionConfig",
     "dance_assets.core.ingest.video:ExtractionParams", {"skip_nonref": "skip_nonref_frames"}),
    ("dance_assets.assets.ingest:FrameExtractionConfig",
     "dance_assets.core.ingest.pose:PoseSettings",
     {"min_detection_confidence": "pose_min_confidence", "max_people": "pose_max_people",
      "zoom_when_missed": "pose_zoom_when_missed"}),
])
def test_launchpad_defaults_are_the_core_defaults(config, settings, renamed):
    """A Config class shows the Launchpad what its core settings would do by default."""
    def load(spec: str) -> type:
        module, name = spec.split(":")
        return getattr(importlib.import_module(module), name)

    fields = load(config).model_fields
    shared = {renamed.get(name, name): default
              for name, default in _core_defaults(load(settings)).items()
              if renamed.get(name, name) in fields}
    assert shared, "nothing in common: the pairing is wrong"
    assert {name: fields[name].default for name in shared} == shared
