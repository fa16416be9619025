"""new_videos_sensor with a real Dagster instance over a real tiny lake."""

from __future__ import annotations

import json
import shutil

import dagster as dg
import pytest

from dance_assets.core.lake import tables
from dance_assets.core.synthetic.plans import plan_videos
from dance_assets.core.synthetic.specs import video_path
from dance_assets.core.synthetic.writing import write_video
from dance_assets.partitions import dance_class_partitions
from dance_assets.resources import LakeResource
from dance_assets.sensors import new_videos_sensor
from dance_assets_tests.helpers import TINY, materialize_ingest


def _tick(instance, lake, cursor=None) -> dg.SensorResult:
    context = dg.build_sensor_context(instance=instance, cursor=cursor,
                                      resources={"lake": LakeResource(root=str(lake.root))})
    return new_videos_sensor(context)


def _requested(result: dg.SensorResult) -> list[str]:
    return sorted(r.partition_key for r in result.run_requests)


def _register(instance, result: dg.SensorResult) -> None:
    for request in result.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))


def test_first_tick_requests_every_class_and_registers_them(instance, tiny_lake):
    first = _tick(instance, tiny_lake)
    assert _requested(first) == ["renegade", "savage", "say_so"]
    (added,) = first.dynamic_partitions_requests
    assert added.partition_keys == ["renegade", "savage", "say_so"]
    assert all(r.job_name in (None, "ingest") for r in first.run_requests)


def test_nothing_new_requests_nothing_and_ticks_are_idempotent(instance, tiny_lake):
    first = _tick(instance, tiny_lake)
    _register(instance, first)
    again = _tick(instance, tiny_lake, first.cursor)
    assert again.run_requests == [] and again.dynamic_partitions_requests == []
    replay = _tick(instance, tiny_lake)  # a lost cursor: same run keys, so no duplicate runs
    assert sorted(r.run_key for r in replay.run_requests) == sorted(
        r.run_key for r in first.run_requests)


def test_added_video_requests_only_its_class(instance, tiny_lake, ffmpeg_binary):
    first = _tick(instance, tiny_lake)
    _register(instance, first)
    spec = plan_videos(["savage"], 4, TINY.seconds, TINY.video_size, seed=0)[-1]
    write_video(spec, video_path(tiny_lake.raw, spec), ffmpeg_binary)
    after = _tick(instance, tiny_lake, first.cursor)
    assert _requested(after) == ["savage"]
    assert after.run_requests[0].run_key != next(
        r.run_key for r in first.run_requests if r.partition_key == "savage")


def test_removed_video_requests_its_class_and_its_frames_go(instance, tiny_lake):
    first = _tick(instance, tiny_lake)
    _register(instance, first)
    assert materialize_ingest(instance, tiny_lake, "renegade").success
    before = tables.read_table(tiny_lake, "frames", dance_class="renegade")
    (tiny_lake.raw / "renegade" / "p02.mp4").unlink()
    after = _tick(instance, tiny_lake, first.cursor)
    assert _requested(after) == ["renegade"]
    assert materialize_ingest(instance, tiny_lake, after.run_requests[0].partition_key).success
    frames = tables.read_table(tiny_lake, "frames", dance_class="renegade")
    assert len(frames) == len(before) - int(TINY.seconds)
    assert "p02" not in set(frames["participant"])


def test_new_class_folder_adds_a_partition(instance, tiny_lake):
    first = _tick(instance, tiny_lake)
    _register(instance, first)
    shutil.copytree(tiny_lake.raw / "say_so", tiny_lake.raw / "wap")
    after = _tick(instance, tiny_lake, first.cursor)
    assert _requested(after) == ["wap"]
    (added,) = after.dynamic_partitions_requests
    assert added.partition_keys == ["wap"]
    _register(instance, after)
    assert "wap" in instance.get_dynamic_partitions(dance_class_partitions.name)


def test_vanished_class_folder_is_reported_and_kept(instance, tiny_lake):
    first = _tick(instance, tiny_lake)
    _register(instance, first)
    shutil.rmtree(tiny_lake.raw / "savage")
    after = _tick(instance, tiny_lake, first.cursor)
    assert after.run_requests == []
    assert json.loads(after.cursor)["missing"] == ["savage"]
    assert "savage" in instance.get_dynamic_partitions(dance_class_partitions.name)
    quiet = _tick(instance, tiny_lake, after.cursor)  # reported once, not every tick
    assert json.loads(quiet.cursor)["missing"] == ["savage"] and quiet.run_requests == []


def test_first_tick_after_the_lake_was_filled_launches_nothing(instance, ingested_tiny_lake,
                                                               ffmpeg_binary):
    """Opening the UI after `demo`: the sensor has no cursor yet, but the lake has every
    video; only a video added since then starts a run."""
    lake = ingested_tiny_lake
    first = _tick(instance, lake)
    assert first.run_requests == [] and first.dynamic_partitions_requests == []
    spec = plan_videos(["say_so"], 4, TINY.seconds, TINY.video_size, seed=0)[-1]
    write_video(spec, video_path(lake.raw, spec), ffmpeg_binary)
    assert _requested(_tick(instance, lake)) == ["say_so"]


def test_class_sync_is_one_rule_for_the_cli_and_the_sensor():
    from dance_assets.partitions import class_sync

    sync = class_sync(["renegade", "new_dance", "two...dots"], {"renegade", "gone"})
    assert (sync.added, sync.present, sync.missing) == (["new_dance"], ["renegade"], ["gone"])
    assert list(sync.invalid) == ["two...dots"]
    assert "cannot be a partition key" in sync.invalid["two...dots"]


def test_the_sensor_looks_every_30_s_unless_the_deployment_says_otherwise(monkeypatch):
    from dance_assets.core.lake.errors import DanceAssetsError
    from dance_assets.sensors import INTERVAL_VAR, interval_s

    monkeypatch.delenv(INTERVAL_VAR, raising=False)
    assert interval_s() == new_videos_sensor.minimum_interval_seconds == 30
    monkeypatch.setenv(INTERVAL_VAR, "5")
    assert interval_s() == 5
    for wrong in ("0", "half a minute", "-5"):
        monkeypatch.setenv(INTERVAL_VAR, wrong)
        with pytest.raises(DanceAssetsError, match=f"{INTERVAL_VAR} must be a whole number"):
            interval_s()
