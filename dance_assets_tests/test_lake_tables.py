"""The lake_tables IO manager: where an asset's tables land, what SQL sees after a
materialization, what a failed store leaves, and what a downstream asset is handed.

A process killed in the middle of the manager's write is test_reliability's
test_killed_manifest_write_keeps_the_previous_manifest_whole (a real SIGKILL, slow).
"""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pyarrow as pa
import pytest

from dance_assets.assets.curation import frame_manifest
from dance_assets.assets.evaluation import EVALUATION_TABLES, evaluation_assets
from dance_assets.assets.ingest import raw_videos, video_frames
from dance_assets.core.lake import tables
from dance_assets.core.lake.lake import Lake
from dance_assets.core.lake.warehouse import publish_tables, query
from dance_assets.lake_tables import LakeTableIOManager
from dance_assets_tests.helpers import materialize, resources_for, small_video_frames

RESNET18, ALEXNET = (next(a for a in evaluation_assets if a.key.path[-1] == arch)
                     for arch in ("resnet18", "alexnet"))


def _metadata(asset: dg.AssetsDefinition) -> dict:
    return dict(asset.specs_by_key[asset.key].metadata)


def _stored(asset: dg.AssetsDefinition, partition: str | None = None) -> dg.OutputContext:
    return dg.build_output_context(asset_key=asset.key, definition_metadata=_metadata(asset),
                                   partition_key=partition)


def _rows(name: str, rows: list[dict]) -> pd.DataFrame:
    """Rows of table `name` with its columns and types, null where a row says nothing."""
    return pa.Table.from_pylist(rows, schema=tables.SCHEMAS[name]).to_pandas()


def _evaluation_rows(arch: str, protocol: str, frames: list[str]) -> dict[str, pd.DataFrame]:
    """An evaluation's five tables, as the asset returns them: predictions of `frames`."""
    keys = {"arch": arch, "protocol": protocol}
    rows = {name: _rows(name, []) for name in EVALUATION_TABLES}
    rows["predictions"] = _rows("predictions", [{**keys, "frame_id": f, "loss": 1.0}
                                                for f in frames])
    rows["model_metrics"] = _rows("model_metrics", [{**keys, "frame_accuracy": 0.5}])
    return rows


def _publish_frames(lake: Lake, frame_tables: dict[str, pd.DataFrame]) -> None:
    """video_frames' tables in the lake, a partition per class, as its publish step writes."""
    for dance_class in ("renegade", "savage"):
        publish_tables(lake, {name: frame[frame["dance_class"] == dance_class]
                              for name, frame in frame_tables.items()}, dance_class=dance_class)


def test_sql_sees_a_materialized_table_and_its_replacement(instance, tmp_path):
    lake = Lake.resolve(tmp_path / "lake")
    _publish_frames(lake, small_video_frames(lake, dark_second=0))
    assert materialize([frame_manifest], instance=instance, resources=resources_for(lake)).success
    dropped = "SELECT DISTINCT second FROM frame_manifest WHERE NOT keep"
    assert query(lake, dropped)["second"].tolist() == [0]

    _publish_frames(lake, small_video_frames(lake, dark_second=3))
    assert materialize([frame_manifest], instance=instance, resources=resources_for(lake)).success
    assert query(lake, dropped)["second"].tolist() == [3]  # no refresh of anyone's own
    folder = tables.table_dir(lake, "frame_manifest")
    assert sorted(p.name for p in folder.iterdir()) == [tables.PART_FILE]  # no temporaries


def test_partitioned_tables_land_where_sql_users_query_them(tmp_path):
    lake = Lake.resolve(tmp_path / "lake")
    manager = LakeTableIOManager(lake)
    manager.handle_output(_stored(RESNET18, "by_participant"),
                          _evaluation_rows("resnet18", "by_participant", ["a", "b"]))
    for name in EVALUATION_TABLES:
        assert tables.partition_file(lake, name, protocol="by_participant",
                                     arch="resnet18").is_file(), name
    assert (lake.tables / "predictions" / "protocol=by_participant" / "arch=resnet18"
            / "part-0.parquet").is_file()
    counted = query(lake, "SELECT arch, protocol, count(*) AS n FROM predictions GROUP BY ALL")
    assert counted.to_dict("records") == [
        {"arch": "resnet18", "protocol": "by_participant", "n": 2}]


def test_a_store_that_fails_leaves_every_table_as_it_was(tmp_path):
    """Rows that do not fit one table's schema fail the step before any file is replaced,
    and an output that is not the tables its asset declares is refused."""
    lake = Lake.resolve(tmp_path / "lake")
    manager = LakeTableIOManager(lake)
    manager.handle_output(_stored(RESNET18, "by_participant"),
                          _evaluation_rows("resnet18", "by_participant", ["a", "b"]))
    before = {name: tables.read_table(lake, name) for name in EVALUATION_TABLES}

    broken = _evaluation_rows("resnet18", "by_participant", ["c"])
    broken["model_metrics"] = broken["model_metrics"].drop(columns=["evaluated_at"])
    with pytest.raises(ValueError, match="missing columns"):
        manager.handle_output(_stored(RESNET18, "by_participant"), broken)
    missing = _evaluation_rows("resnet18", "by_participant", ["c"])
    del missing["confusion"]
    with pytest.raises(dg.DagsterInvariantViolationError, match="declares"):
        manager.handle_output(_stored(RESNET18, "by_participant"), missing)
    for name, frame in before.items():
        pd.testing.assert_frame_equal(tables.read_table(lake, name), frame)
    assert query(lake, "SELECT frame_id FROM predictions ORDER BY 1")["frame_id"].tolist() == [
        "a", "b"]


def test_a_downstream_asset_is_handed_its_upstream_tables(tmp_path):
    """Unpartitioned downstream: the whole table, only the upstream asset's own rows (an
    evaluation's arch). Partitioned alike: its own partition (music's class of videos)."""
    lake = Lake.resolve(tmp_path / "lake")
    manager = LakeTableIOManager(lake)
    for asset, arch in ((RESNET18, "resnet18"), (ALEXNET, "alexnet")):
        for protocol in ("by_participant", "random_frames"):
            manager.handle_output(_stored(asset, protocol),
                                  _evaluation_rows(arch, protocol, [f"{arch}-{protocol}"]))
    handed = manager.load_input(dg.build_input_context(
        upstream_output=_stored(RESNET18), definition_metadata={
            "dance_assets/tables": ["predictions"]}))
    assert sorted(handed["frame_id"]) == ["resnet18-by_participant", "resnet18-random_frames"]

    for dance_class in ("renegade", "savage"):
        manager.handle_output(_stored(raw_videos, dance_class), _rows("videos", [
            {"dance_class": dance_class, "video_id": f"{dance_class}{n}"} for n in (1, 2)]))
    savage = dg.build_input_context(
        upstream_output=_stored(raw_videos), partition_key="savage",
        asset_partitions_def=dg.StaticPartitionsDefinition(["renegade", "savage"]),
        asset_partition_key_range=dg.PartitionKeyRange("savage", "savage"))
    assert manager.load_input(savage)["video_id"].tolist() == ["savage1", "savage2"]
    whole = manager.load_input(dg.build_input_context(upstream_output=_stored(raw_videos)))
    assert sorted(whole["video_id"]) == ["renegade1", "renegade2", "savage1", "savage2"]
    frames = small_video_frames(lake)
    _publish_frames(lake, frames)
    handed = manager.load_input(dg.build_input_context(upstream_output=_stored(video_frames)))
    assert sorted(handed) == ["extractions", "frames", "poses"]
    assert len(handed["frames"]) == len(frames["frames"])
