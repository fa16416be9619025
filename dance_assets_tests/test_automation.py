"""The declarative automation conditions, evaluated for real against a Dagster instance."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from dance_assets.definitions import defs

MANIFEST = dg.AssetKey("frame_manifest")
MODELS = [dg.AssetKey(["models", a])
          for a in ("alexnet", "resnet18", "squeezenet1_0", "pose_sequence")]
COMPARISON = dg.AssetKey("model_comparison")


def _materialized(instance: dg.DagsterInstance, key: dg.AssetKey,
                  partition: str | None = None, data_version: str | None = None) -> None:
    tags = {"dagster/data_version": data_version} if data_version else None
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key,
                                                                partition=partition, tags=tags))


class Clock:
    """Evaluates the conditions tick after tick, carrying the cursor like the daemon."""

    def __init__(self, instance: dg.DagsterInstance, selection: dg.AssetSelection):
        self.instance, self.selection, self.cursor = instance, selection, None

    def at(self, day: int, hour: int, minute: int = 0) -> dg.EvaluateAutomationConditionsResult:
        result = dg.evaluate_automation_conditions(
            defs=defs, instance=self.instance, asset_selection=self.selection,
            evaluation_time=datetime(2026, 3, day, hour, minute, tzinfo=UTC),
            cursor=self.cursor)
        self.cursor = result.cursor
        return result


def _requested_models(result: dg.EvaluateAutomationConditionsResult) -> dict[str, set[str]]:
    return {key.to_user_string(): set(result.get_requested_partitions(key))
            for key in MODELS if result.get_requested_partitions(key)}


def test_models_retrain_at_night_and_only_on_changed_data(instance):
    clock = Clock(instance, dg.AssetSelection.assets(*MODELS))
    clock.at(1, 10)
    _materialized(instance, MANIFEST, data_version="first")
    for key in MODELS:
        for protocol in ("random_frames", "by_participant"):
            _materialized(instance, key, protocol)
    assert _requested_models(clock.at(1, 12)) == {}  # daytime: never
    assert _requested_models(clock.at(2, 2, 5)) == {}  # the tick, but nothing changed
    _materialized(instance, MANIFEST, data_version="first")  # rebuilt, same content
    assert _requested_models(clock.at(2, 10)) == {}
    assert _requested_models(clock.at(3, 2, 5)) == {}  # nothing to learn from

    _materialized(instance, MANIFEST, data_version="second")  # new videos curated
    assert _requested_models(clock.at(3, 10)) == {}  # waits for the night
    night = _requested_models(clock.at(4, 2, 5))
    assert night == {key.to_user_string(): {"random_frames", "by_participant"}
                     for key in MODELS}
    assert _requested_models(clock.at(4, 2, 35)) == {}  # once per night


def test_manifest_follows_new_frames(instance):
    instance.add_dynamic_partitions("dance_classes", ["renegade", "savage"])
    clock = Clock(instance, dg.AssetSelection.assets(MANIFEST))
    for dance_class in ("renegade", "savage"):
        _materialized(instance, dg.AssetKey("video_frames"), dance_class)
    clock.at(1, 10)
    _materialized(instance, MANIFEST)
    assert clock.at(1, 11).total_requested == 0
    _materialized(instance, dg.AssetKey("video_frames"), "savage")
    assert clock.at(1, 12).total_requested == 1


def test_music_follows_a_class_once_its_videos_are_ingested(instance):
    music = dg.AssetKey("music")
    instance.add_dynamic_partitions("dance_classes", ["renegade", "savage"])
    clock = Clock(instance, dg.AssetSelection.assets(music))
    for dance_class in ("renegade", "savage"):
        _materialized(instance, dg.AssetKey("raw_videos"), dance_class)
        _materialized(instance, music, dance_class)
    clock.at(1, 10)
    assert clock.at(1, 11).total_requested == 0
    _materialized(instance, dg.AssetKey("raw_videos"), "savage")
    assert clock.at(1, 12).get_requested_partitions(music) == {"savage"}


def test_comparison_does_not_wait_for_blocked_evaluations(instance):
    clock = Clock(instance, dg.AssetSelection.assets(COMPARISON))
    clock.at(1, 10)
    _materialized(instance, COMPARISON)
    assert clock.at(1, 11).total_requested == 0
    # Only one of six evaluation partitions exists (the others were blocked).
    _materialized(instance, dg.AssetKey(["evaluation", "alexnet"]), "by_participant")
    assert clock.at(1, 12).total_requested == 1


def test_the_review_queue_follows_evaluations_not_a_new_manifest(instance):
    """The queue takes the frames' paths from frame_manifest, an input since it is handed
    its tables; a rebuilt manifest changes no model's losses, so it does not requeue."""
    queue = dg.AssetKey("review_queue")
    clock = Clock(instance, dg.AssetSelection.assets(queue))
    clock.at(1, 10)
    _materialized(instance, queue)
    _materialized(instance, MANIFEST, data_version="second")
    assert clock.at(1, 11).total_requested == 0
    _materialized(instance, dg.AssetKey(["evaluation", "resnet18"]), "by_participant")
    assert clock.at(1, 12).total_requested == 1


def test_every_stage_has_its_condition_and_sensors_run_by_default():
    graph = defs.resolve_asset_graph()
    conditions = {key.to_user_string(): graph.get(key).automation_condition
                  for key in graph.get_all_asset_keys()}
    assert conditions["raw_videos"] is None and conditions["video_frames"] is None
    assert "nightly" in conditions["models/resnet18"].get_label()
    assert conditions["evaluation/resnet18"].get_label().startswith("eager, once blocking")
    assert conditions["model_comparison"].get_label() == "after any evaluation"
    assert {s.name: s.default_status for s in defs.sensors} == {
        "new_videos_sensor": dg.DefaultSensorStatus.RUNNING,
        "automation": dg.DefaultSensorStatus.RUNNING}
