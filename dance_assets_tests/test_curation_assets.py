"""frame_manifest called as a function on small tables, and on a real Dagster instance
over a real tiny lake."""

from __future__ import annotations

import dagster as dg

from dance_assets.assets.curation import CurationConfig, frame_manifest
from dance_assets.checks import CLASSES_ON_BOTH_SIDES, NO_PARTICIPANT_LEAK
from dance_assets.cli import main
from dance_assets.core.lake import tables
from dance_assets.core.lake.lake import Lake
from dance_assets.core.lake.warehouse import query
from dance_assets.resources import LakeResource
from dance_assets_tests.helpers import (
    checks_of,
    materialize_ingest,
    materialize_manifest,
    metadata_of,
    small_video_frames,
)


def _curated(lake: Lake, video_frames: dict,
             **config: object) -> tuple[dg.MaterializeResult, dict[str, bool]]:
    """frame_manifest called directly: its result and its checks' verdicts by name."""
    result = frame_manifest(
        context=dg.build_asset_context(), config=CurationConfig(**config),
        lake=LakeResource(root=str(lake.root)), video_frames=video_frames)
    return result, {check.check_name: check.passed for check in result.check_results}


def test_the_manifest_is_a_function_of_video_frames_tables(tmp_path):
    """No lake tables: the frames, poses and extractions are DataFrames, and storing the
    manifest is the IO manager's, so the call writes no table."""
    lake = Lake.resolve(tmp_path / "lake")
    output, passed = _curated(lake, small_video_frames(lake, dark_second=0))
    manifest = output.value
    assert len(manifest) == 24 and output.metadata["dagster/row_count"] == 24
    dropped = manifest[~manifest["keep"]]
    assert set(dropped["second"]) == {0} and set(dropped["reason"]) == {"too dark"}
    kept = manifest[manifest["keep"]]
    assert kept["split_by_participant"].isin(["train", "valid"]).all()
    assert (kept.groupby("participant")["split_by_participant"].nunique() == 1).all()
    assert passed[NO_PARTICIPANT_LEAK] and passed[CLASSES_ON_BOTH_SIDES]
    assert "data:image/png;base64," in output.metadata["dropped_frames"].value
    assert not list(lake.root.rglob("*.parquet")) and not lake.warehouse.exists()


def test_the_manifest_version_follows_its_inputs(tmp_path):
    """The data version the models' nightly retraining watches: the same tables give the
    same version; another dark second, or frames posed another way, another."""
    lake = Lake.resolve(tmp_path / "lake")
    version = _curated(lake, small_video_frames(lake))[0].data_version
    assert _curated(lake, small_video_frames(lake))[0].data_version == version
    assert _curated(lake, small_video_frames(lake, dark_second=1))[0].data_version != version
    reposed = small_video_frames(lake, pose_params="pose-v2")
    assert _curated(lake, reposed)[0].data_version != version


def test_a_lake_without_frames_fails_in_one_line(tmp_path):
    lake = Lake.resolve(tmp_path / "lake")
    empty = {name: tables.empty_frame(name) for name in ("frames", "poses", "extractions")}
    try:
        _curated(lake, empty)
    except dg.Failure as failure:
        assert failure.description.startswith("no frames yet")
    else:
        raise AssertionError("an empty frames table was curated")


def test_manifest_keeps_cleans_and_splits(instance, ingested_tiny_lake):
    lake = ingested_tiny_lake
    result = materialize_manifest(instance, lake)
    assert result.success
    assert all(check.passed for name, check in checks_of(result).items()
               if name != "check_dropped_share")
    meta = metadata_of(result, "frame_manifest")
    assert meta["dagster/row_count"] == 36
    assert "| dance_class | frames | kept |" in meta["frames_per_class"]
    assert "data:image/png;base64," in meta["dropped_frames"]
    assert meta["cleaning_precision"] >= 0.9 and meta["cleaning_recall"] >= 0.9
    manifest = query(lake, "SELECT * FROM frame_manifest")
    kept = manifest[manifest["keep"]]
    assert kept["split_random_frames"].isin(["train", "valid"]).all()
    assert (~manifest["keep"]).any()  # the tiny lake has empty and static seconds
    assert manifest.loc[~manifest["keep"], "reason"].notna().all()
    assert (lake.reports / "dropped_frames.png").is_file()


def test_blocking_check_fails_when_a_class_loses_its_validation_participant(
        instance, ingested_tiny_lake):
    lake = ingested_tiny_lake
    assert materialize_manifest(instance, lake).success
    manifest = tables.read_table(lake, "frame_manifest")
    kept = manifest[manifest["keep"]]
    validation = kept.loc[kept["split_by_participant"] == "valid", "participant"].unique()
    dance_class = "savage"
    for person in validation:
        (lake.raw / dance_class / f"{person}.mp4").unlink()
    assert materialize_ingest(instance, lake, dance_class).success
    result = materialize_manifest(instance, lake)
    assert not result.success  # the blocking check stops the run
    check = checks_of(result)["check_classes_on_both_sides"]
    assert not check.passed
    assert f"{dance_class} has no valid frames under by_participant" in check.description


def _data_version(instance) -> str:
    import dagster as dg

    event = instance.get_latest_materialization_event(dg.AssetKey("frame_manifest"))
    return event.asset_materialization.tags["dagster/data_version"]


def test_review_exclusion_flows_into_the_next_manifest(instance, ingested_tiny_lake, capsys):
    lake = ingested_tiny_lake
    materialize_manifest(instance, lake)
    unchanged = _data_version(instance)
    materialize_manifest(instance, lake)  # rebuilt on the same frames: the same version
    assert _data_version(instance) == unchanged
    kept = tables.read_table(lake, "frame_manifest").query("keep")
    frame = kept["frame_id"].iloc[0]
    assert main(["review", "exclude", frame, "--note", "two dancers", "--lake",
                 str(lake.root)]) == 0
    assert main(["review", "list", "--lake", str(lake.root)]) == 0
    assert frame in capsys.readouterr().out
    assert main(["review", "exclude", "not_a_frame", "--lake", str(lake.root)]) == 2
    assert "not_a_frame" in capsys.readouterr().err
    assert materialize_manifest(instance, lake).success
    row = tables.read_table(lake, "frame_manifest").set_index("frame_id").loc[frame]
    assert not row["keep"] and row["reason"] == "excluded by reviewer: two dancers"
    assert _data_version(instance) != unchanged  # so the models retrain on the next night
    assert metadata_of(materialize_manifest(instance, lake), "frame_manifest")[
        "human_decisions"] == 1


def test_too_few_participants_fails_with_a_clear_message(instance, ingested_tiny_lake):
    lake = ingested_tiny_lake
    for dance_class in ("renegade", "savage", "say_so"):
        for person in ("p02", "p03"):
            (lake.raw / dance_class / f"{person}.mp4").unlink()
        materialize_ingest(instance, lake, dance_class)
    result = materialize_manifest(instance, lake)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "needs at least 2 participants" in failure.event_specific_data.error.message
