"""The code location loads the way `dagster dev -w workspace.yaml` loads it."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import yaml

from dance_assets.definitions import defs


def test_definitions_load_and_validate():
    dg.Definitions.validate_loadable(defs)
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"raw_videos", "video_frames"} <= keys
    assert defs.resolve_job_def("ingest").partitions_def.name == "dance_classes"


def test_workspace_points_at_the_definitions_module():
    workspace = yaml.safe_load((Path(__file__).parents[1] / "workspace.yaml").read_text())
    (entry,) = workspace["load_from"]
    assert entry["python_module"]["module_name"] == "dance_assets.definitions"
